"""Beside a wizard's preview: the offer to replace an output that is already there. Shown only when
the owner says replacing is allowed (an earlier output of the studio); the sentence says why."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from widgets.elided_label import WrapLabel
from widgets.palette import color


class ReplaceBar(QWidget):
    replaceRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = WrapLabel("")
        self.text.setWordWrap(True)
        self.text.setStyleSheet(f"color: {color('flag').name()};")
        self.button = QPushButton("Replace")
        self.button.setToolTip("Write the new output in its place (only an earlier output of the studio)")
        self.button.clicked.connect(self.replaceRequested.emit)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.text, 1)
        row.addWidget(self.button)
        self.setVisible(False)

    def offer(self, sentence: str) -> None:
        """Show the offer with ``sentence``; an empty sentence hides it."""
        self.text.setText(sentence)
        self.setVisible(bool(sentence))
