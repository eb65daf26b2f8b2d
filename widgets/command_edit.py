"""A command typed as one line, shown split into the arguments it runs with (no shell runs it).

The widget knows no splitting rules: its owner splits the text and calls ``show_split`` with the
arguments, a warning (shell syntax that stays plain text) and an optional fix (the line through
``sh -c``) that a button applies.
"""

from __future__ import annotations

import shlex

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

PLACEHOLDER = "program and arguments, e.g. python train.py --steps 100"


class CommandEdit(QWidget):
    """A line edit over the arguments it splits into; ``textChanged`` on every edit."""

    textChanged = Signal(str)

    def __init__(self, note: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = QLineEdit(self, placeholderText=PLACEHOLDER)
        self.edit.textChanged.connect(self.textChanged)
        self.parts = QListWidget(self)
        self.parts.setFlow(QListView.Flow.LeftToRight)
        self.parts.setWrapping(True)
        self.parts.setSpacing(3)
        self.parts.setResizeMode(QListView.ResizeMode.Adjust)
        self.parts.setFixedHeight(52)
        self.parts.setStyleSheet(
            "QListWidget::item { border: 1px solid palette(mid); border-radius: 3px; padding: 0px 4px; }"
        )
        self.parts.setToolTip("The program and each argument it gets, exactly as shown")
        self.note = QLabel(note, self, wordWrap=True)
        self.note.setStyleSheet("color: palette(mid);")
        self.warning = QLabel("", self, wordWrap=True)
        self.warning.setStyleSheet("color: #e0a040;")
        self.fix_button = QPushButton("Run it through sh -c", self)
        self.fix_button.setToolTip("Let a shell read the line (its ; | > and $ then work)")
        self.fix_button.clicked.connect(self._apply_fix)
        self._fix = ""
        warning_row = QHBoxLayout()
        warning_row.setContentsMargins(0, 0, 0, 0)
        warning_row.addWidget(self.warning, 1)
        warning_row.addWidget(self.fix_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.edit)
        layout.addWidget(self.parts)
        layout.addWidget(self.note)
        layout.addLayout(warning_row)
        self.show_split([], "")

    def text(self) -> str:
        return self.edit.text()

    def setText(self, text: str) -> None:  # noqa: N802 - Qt naming
        self.edit.setText(text)

    def set_arguments(self, argv: list[str]) -> None:
        """Show a list of arguments as the line that splits back into it."""
        self.edit.setText(shlex.join(argv))

    def arguments(self) -> list[str]:
        """The arguments shown, in order."""
        return [self.parts.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.parts.count())]

    def show_split(self, argv: list[str], warning: str, fix: str = "") -> None:
        self.parts.clear()
        for i, arg in enumerate(argv):
            item = QListWidgetItem(arg or "''", self.parts)
            item.setData(Qt.ItemDataRole.UserRole, arg)
            item.setToolTip("the program" if i == 0 else f"argument {i}")
            if i == 0:
                font = QFont(item.font())
                font.setBold(True)
                item.setFont(font)
        self.parts.setVisible(bool(argv))
        self.warning.setText(warning)
        self.warning.setVisible(bool(warning))
        self._fix = fix
        self.fix_button.setVisible(bool(fix))

    def _apply_fix(self) -> None:
        if self._fix:
            self.edit.setText(self._fix)
