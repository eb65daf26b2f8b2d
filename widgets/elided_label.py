"""A one-line label that shortens its text with "…" to the width it gets (the whole text in its
tooltip), so a long status never pushes other fields off a small screen."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class ElidedLabel(QLabel):
    """``grow_only``: the width it asks for is the widest text it showed since ``release_width``, so
    a field whose text narrows and widens again (a frame counter, "episode 1 (2/1000 shown)" ->
    "episode 1") does not move its neighbours at every change."""

    def __init__(
        self, text: str = "", parent: QWidget | None = None, minimum_chars: int = 8, *, grow_only: bool = False
    ) -> None:
        super().__init__(text, parent)
        self._minimum_chars = minimum_chars
        self._grow_only = grow_only
        self._held = 0
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setToolTip(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt API
        super().setText(text)
        self.setToolTip(text)
        if self._grow_only and text:
            self._held = max(self._held, super().sizeHint().width())

    def release_width(self) -> None:
        """Ask for the current text's width again (``grow_only``)."""
        self._held = 0
        self.updateGeometry()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        hint = super().minimumSizeHint()
        width = self.fontMetrics().horizontalAdvance("M" * self._minimum_chars)
        return QSize(min(width, super().sizeHint().width()), hint.height())

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        hint = super().sizeHint()
        return QSize(max(hint.width(), self._held), hint.height()) if self._grow_only else hint

    def shown_text(self) -> str:
        """The text as painted at the current width."""
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, self.contentsRect().width())

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(self.contentsRect(), int(self.alignment() | Qt.AlignmentFlag.AlignVCenter), self.shown_text())


class WrapLabel(QLabel):
    """A word-wrapped label whose minimum width stays small: a long path (one unbreakable word) is
    cut at the label's edge instead of widening the window past the screen; the whole text is in the
    tooltip."""

    def __init__(self, text: str = "", parent: QWidget | None = None, minimum_width: int = 160) -> None:
        super().__init__(text, parent)
        self._minimum_width = minimum_width
        self.setWordWrap(True)
        self.setToolTip(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt API
        super().setText(text)
        self.setToolTip(text if len(text) > 40 else "")

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        hint = super().minimumSizeHint()
        return QSize(min(hint.width(), self._minimum_width), hint.height())
