"""An editor of ``NAME=PATH`` lines (cameras) that shows long paths shortened in the middle while it
is not being edited (``/tmp/…/demo-media/front.mp4``, else ``…/front.mp4``: the file name stays), the
whole text in its tooltip; it shows the whole text while it has the focus. ``value()`` is always the
whole text."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QFocusEvent, QResizeEvent
from PySide6.QtWidgets import QPlainTextEdit, QWidget


def short_source(source: str, room: float, width: Callable[[str], float],
                 elide: Callable[[str, Qt.TextElideMode, int], str]) -> str:
    """``source`` in ``room`` pixels: whole, else its start and its last folder and name
    (``/tmp/…/demo-media/front.mp4``), else ``…/name``, else the name shortened in the middle ("demo_fr…480.mp4")."""
    parts = source.split("/")
    candidates = [source]
    if len(parts) > 3:
        candidates += ["/".join(parts[:2] + ["…"] + parts[-2:]), "…/" + "/".join(parts[-2:])]
    if len(parts) > 1:
        candidates.append("…/" + parts[-1])
    for text in candidates:
        if width(text) <= room:
            return text
    return elide(parts[-1], Qt.TextElideMode.ElideMiddle, int(room))


class PathLinesEdit(QPlainTextEdit):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self._value = ""
        self._editing = False

    def value(self) -> str:
        """The whole text (what the user typed or the form holds), never the shortened one."""
        return self.toPlainText() if self._editing else self._value

    def set_value(self, text: str) -> None:
        self._value = text
        self.setToolTip(text)
        if self._editing:
            self.setPlainText(text)
        else:
            self._show_short()

    def shown_text(self) -> str:
        return self.toPlainText()

    def _show_short(self) -> None:
        metrics = self.fontMetrics()
        room = max(40, self.viewport().width() - 8)
        lines = []
        for line in self._value.splitlines():
            name, sep, source = line.partition("=")
            if not sep:
                lines.append(metrics.elidedText(line, Qt.TextElideMode.ElideMiddle, room))
                continue
            head = f"{name}="
            rest = max(20, room - metrics.horizontalAdvance(head))
            lines.append(head + short_source(source, rest, metrics.horizontalAdvance, metrics.elidedText))
        self.blockSignals(True)
        self.setPlainText("\n".join(lines))
        self.blockSignals(False)

    def focusInEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt API
        if not self._editing:
            self._editing = True
            self.blockSignals(True)
            self.setPlainText(self._value)
            self.blockSignals(False)
        super().focusInEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt API
        if self._editing:
            self._value = self.toPlainText()
            self._editing = False
            self.setToolTip(self._value)
            self._show_short()
        super().focusOutEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        if not self._editing:
            self._show_short()
