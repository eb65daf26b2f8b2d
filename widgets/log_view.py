"""A live log view: append chunks of text, keep the last N lines, follow the end, search.

Carriage-return progress bars (tqdm) are collapsed to their newest state: a line that is still being
redrawn is shown once and replaced in place. Appending a chunk is one edit of the document (not one
per line), and a chunk larger than ``max_chunk_lines`` keeps only its tail, so a program writing
megabytes per second never stalls the GUI.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontDatabase, QKeySequence, QShortcut, QTextCursor, QTextDocument
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)


def collapse_carriage_returns(text: str) -> tuple[list[str], str | None]:
    """Split text into complete lines (each reduced to what a terminal would show after its last
    ``\\r``) and a trailing partial line (None when the text ends with a newline)."""
    segments = text.split("\n")
    tail = segments.pop()
    lines = []
    for segment in segments:
        if "\r" in segment:
            pieces = [p for p in segment.split("\r") if p]
            segment = pieces[-1] if pieces else ""
        lines.append(segment)
    partial = None
    if tail:
        pieces = [p for p in tail.split("\r") if p]
        partial = pieces[-1] if pieces else None
    return lines, partial


class LogView(QWidget):
    """Read-only log with follow and search. Feed it with ``append_text``."""

    followChanged = Signal(bool)

    def __init__(
        self, parent: QWidget | None = None, max_lines: int = 5000, max_chunk_lines: int = 1000
    ) -> None:
        super().__init__(parent)
        self.max_chunk_lines = max_chunk_lines
        self._partial_shown = False
        self._carry = ""
        self.lines_skipped = 0

        self.text = QPlainTextEdit(self)
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setMaximumBlockCount(max_lines)
        self.text.setUndoRedoEnabled(False)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.text.setFont(font)
        self.text.setPlaceholderText("The selected job's output appears here.")

        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search the log")
        self.search.setToolTip("Enter: next match, Shift+Enter: previous")
        self.search.setClearButtonEnabled(True)
        self.search.returnPressed.connect(self.find_next)
        self.search.textChanged.connect(self._highlight)
        QShortcut(QKeySequence("Shift+Return"), self.search, activated=self.find_previous)
        self.matches = QLabel("", self)
        prev_button = QToolButton(self, text="<", toolTip="Previous match")
        prev_button.clicked.connect(self.find_previous)
        next_button = QToolButton(self, text=">", toolTip="Next match")
        next_button.clicked.connect(self.find_next)
        self.follow = QCheckBox("Follow", self)
        self.follow.setChecked(True)
        self.follow.setToolTip("Keep showing the newest lines")
        self.follow.toggled.connect(self._follow_toggled)
        self.wrap = QCheckBox("Wrap", self)
        self.wrap.toggled.connect(
            lambda on: self.text.setLineWrapMode(
                QPlainTextEdit.LineWrapMode.WidgetWidth if on else QPlainTextEdit.LineWrapMode.NoWrap
            )
        )
        QShortcut(QKeySequence.StandardKey.Find, self, activated=self.search.setFocus)

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.search, 1)
        bar.addWidget(prev_button)
        bar.addWidget(next_button)
        bar.addWidget(self.matches)
        bar.addWidget(self.wrap)
        bar.addWidget(self.follow)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.text, 1)
        self.text.verticalScrollBar().valueChanged.connect(self._scrolled)

    # -- content -----------------------------------------------------------------------------------
    def clear(self) -> None:
        self.text.clear()
        self._partial_shown = False
        self._carry = ""
        self.lines_skipped = 0
        self.matches.setText("")

    def append_text(self, text: str) -> None:
        """Append a chunk (any number of lines, ``\\r`` updates included)."""
        if not text:
            return
        lines, partial = collapse_carriage_returns(self._carry + text)
        self._carry = (partial + "\r") if partial is not None else ""
        if len(lines) > self.max_chunk_lines:
            skipped = len(lines) - self.max_chunk_lines
            self.lines_skipped += skipped
            lines = [f"[... {skipped} lines not shown: they are in the log file ...]"] + lines[
                -self.max_chunk_lines :
            ]
        block = "\n".join(lines + ([partial] if partial is not None else []))
        self._append_block(block, replace_partial=self._partial_shown)
        self._partial_shown = partial is not None

    def append_notice(self, text: str) -> None:
        """A line of our own (e.g. skipped output), never merged into a partial line."""
        self._append_block(text, replace_partial=False)
        self._partial_shown = False
        self._carry = ""

    def _append_block(self, block: str, replace_partial: bool) -> None:
        bar = self.text.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 2
        keep = bar.value()
        cursor = QTextCursor(self.text.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.beginEditBlock()
        if replace_partial:
            cursor.movePosition(QTextCursor.MoveOperation.StartOfBlock, QTextCursor.MoveMode.KeepAnchor)
            cursor.removeSelectedText()
            cursor.insertText(block)
        elif self.text.document().isEmpty():
            cursor.insertText(block)
        else:
            cursor.insertText("\n" + block)
        cursor.endEditBlock()
        if self.follow.isChecked() or at_end:
            bar.setValue(bar.maximum())
        else:
            bar.setValue(keep)

    def plain_text(self) -> str:
        return self.text.toPlainText()

    def line_count(self) -> int:
        return self.text.document().blockCount()

    # -- follow ----------------------------------------------------------------------------------
    def _follow_toggled(self, on: bool) -> None:
        if on:
            bar = self.text.verticalScrollBar()
            bar.setValue(bar.maximum())
        self.followChanged.emit(on)

    def _scrolled(self, value: int) -> None:
        bar = self.text.verticalScrollBar()
        if value < bar.maximum() - 2 and self.follow.isChecked() and self.text.underMouse():
            self.follow.setChecked(False)  # the user scrolled up to read

    # -- search ----------------------------------------------------------------------------------
    def find_next(self) -> bool:
        return self._find(QTextDocument.FindFlag(0))

    def find_previous(self) -> bool:
        return self._find(QTextDocument.FindFlag.FindBackward)

    def _find(self, flags: QTextDocument.FindFlag) -> bool:
        needle = self.search.text()
        if not needle:
            return False
        self.follow.setChecked(False)
        if self.text.find(needle, flags):
            return True
        cursor = self.text.textCursor()  # wrap around
        cursor.movePosition(
            QTextCursor.MoveOperation.End
            if flags & QTextDocument.FindFlag.FindBackward
            else QTextCursor.MoveOperation.Start
        )
        self.text.setTextCursor(cursor)
        return self.text.find(needle, flags)

    def _highlight(self, needle: str) -> None:
        selections = []
        if needle:
            doc = self.text.document()
            cursor = QTextCursor(doc)
            colour = QColor(255, 200, 0, 110)
            count = 0
            while count < 1000:
                cursor = doc.find(needle, cursor)
                if cursor.isNull():
                    break
                selection = QTextEdit.ExtraSelection()
                selection.cursor = cursor
                selection.format.setBackground(colour)
                selections.append(selection)
                count += 1
            self.matches.setText(f"{count}{'+' if count >= 1000 else ''} found" if count else "not found")
        else:
            self.matches.setText("")
        self.text.setExtraSelections(selections)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.key() == Qt.Key.Key_Escape and self.search.hasFocus():
            self.search.clear()
            return
        super().keyPressEvent(event)
