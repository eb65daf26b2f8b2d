"""A stepper: a row of numbered step titles over a stack of pages, with Back / Next buttons.

The owner decides what Next does (``nextRequested``) and when it is allowed (``setNextEnabled``);
the frame only shows where the user is. Every wizard of the app has this same shape.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QStackedWidget, QVBoxLayout, QWidget

from widgets.elided_label import WrapLabel
from widgets.palette import color


class WizardFrame(QWidget):
    nextRequested = Signal(int)  # current step
    backRequested = Signal(int)

    def __init__(self, steps: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._titles = list(steps)
        self._labels: list[QLabel] = []
        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 4)
        for number, title in enumerate(self._titles, start=1):
            label = QLabel(f"{number}  {title}")
            label.setObjectName(f"wizardStep{number}")
            self._labels.append(label)
            header.addWidget(label)
            if number < len(self._titles):
                arrow = QLabel("›")
                arrow.setStyleSheet(f"color: {color('muted').name()};")
                header.addWidget(arrow)
        header.addStretch(1)
        self.stack = QStackedWidget()
        self.back_button = QPushButton("Back")
        self.next_button = QPushButton("Next")
        self.next_button.setDefault(True)
        self.back_button.clicked.connect(lambda: self.backRequested.emit(self.current()))
        self.next_button.clicked.connect(lambda: self.nextRequested.emit(self.current()))
        buttons = QHBoxLayout()
        self.note = WrapLabel("")
        self.note.setWordWrap(True)
        self.note.setStyleSheet(f"color: {color('muted').name()};")
        buttons.addWidget(self.note, 1)
        buttons.addWidget(self.back_button)
        buttons.addWidget(self.next_button)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.stack, 1)
        layout.addLayout(buttons)
        self._refresh()

    def addPage(self, page: QWidget) -> int:
        return self.stack.addWidget(page)

    def current(self) -> int:
        return self.stack.currentIndex()

    def setCurrent(self, index: int) -> None:
        self.stack.setCurrentIndex(index)
        self._refresh()

    def setNextEnabled(self, enabled: bool, note: str = "") -> None:
        self.next_button.setEnabled(enabled)
        self.note.setText(note)

    def setNextVisible(self, visible: bool) -> None:
        """Hide Next on a step where it would do nothing (a run going on, the done page)."""
        self.next_button.setVisible(visible)
        if not visible:
            self.note.setText("")

    def setNextText(self, text: str) -> None:
        self.next_button.setText(text)

    def setBackEnabled(self, enabled: bool) -> None:
        self.back_button.setEnabled(enabled)

    def stepTitle(self, index: int) -> str:
        return self._titles[index]

    def _refresh(self) -> None:
        current = self.stack.currentIndex()
        accent, muted, text = color("accent").name(), color("muted").name(), color("text").name()
        for index, label in enumerate(self._labels):
            if index == current:
                label.setStyleSheet(f"color: {accent}; font-weight: bold;")
            elif index < current:
                label.setStyleSheet(f"color: {text};")
            else:
                label.setStyleSheet(f"color: {muted};")
        self.back_button.setEnabled(current > 0)
        self.next_button.setVisible(current < len(self._titles) - 1)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
