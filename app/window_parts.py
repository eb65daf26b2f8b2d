"""Parts of the studio window: the pane rail's buttons, the placeholder of a pane that cannot load,
and the keyboard-shortcut list (F1)."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.panes import PaneSpec
from widgets.icons import pane_icon

SHORTCUTS = [
    ("Space", "Play / pause"),
    ("Left / Right", "Previous / next frame"),
    ("Shift+Left / Shift+Right", "10 frames back / forward"),
    ("Up / Down", "Previous / next episode (in the table's order)"),
    ("Home / End", "First / last frame"),
    ("I / O", "Trim in / out at the playhead"),
    ("F", "Flag the episode"),
    ("G / B", "Rate good / bad"),
    ("X", "Exclude from the curated export"),
    ("Ctrl+Z / Ctrl+Shift+Z", "Undo / redo a curation change"),
    ("Ctrl+O", "Open a dataset"),
    ("Ctrl+E", "Export the curated dataset"),
    ("Ctrl+1 … Ctrl+5", "Teleop, Browse, Convert, Jobs, Compare"),
    ("F1", "This list"),
    ("B / N / R (Teleop)", "Start / success / fail (only while Teleop has focus)"),
]


class PlaceholderPane(QWidget):
    """Shown where a pane is not available: says why, with the error folded below."""

    def __init__(
        self, spec: PaneSpec, error: str = "", details: str = "", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.spec = spec
        self.error = error
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        title = QLabel(f"{spec.title} is not available yet")
        title.setObjectName("emptyTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(title)
        text = QLabel(
            f"The {spec.title} pane could not be loaded: {error}"
            if error
            else f"The {spec.title} pane is not part of this build."
        )
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text.setObjectName("mutedLabel")
        layout.addWidget(text)
        if details:
            box = QPlainTextEdit(details)
            box.setReadOnly(True)
            box.setMaximumHeight(220)
            box.setVisible(False)
            toggle = QToolButton()
            toggle.setText("Show details")
            toggle.setCheckable(True)
            toggle.toggled.connect(box.setVisible)
            toggle.toggled.connect(lambda on: toggle.setText("Hide details" if on else "Show details"))
            row = QHBoxLayout()
            row.addStretch(1)
            row.addWidget(toggle)
            row.addStretch(1)
            layout.addLayout(row)
            layout.addWidget(box)
        layout.addStretch(2)


class RailButton(QToolButton):
    def __init__(self, spec: PaneSpec, number: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.setText(spec.title)
        self.setIcon(pane_icon(spec.key))
        self.setIconSize(QSize(26, 26))
        self.setCheckable(True)
        self.setToolTip(f"{spec.title} (Ctrl+{number})")
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setObjectName("railButton")
        self.setFixedSize(76, 58)


def shortcuts_dialog(parent: QWidget) -> QDialog:
    """The list of keyboard shortcuts, shown without blocking."""
    dialog = QDialog(parent)
    dialog.setWindowTitle("Keyboard shortcuts")
    table = QTableWidget(len(SHORTCUTS), 2)
    table.setHorizontalHeaderLabels(["Keys", "Action"])
    for row, (keys, text) in enumerate(SHORTCUTS):
        table.setItem(row, 0, QTableWidgetItem(keys))
        table.setItem(row, 1, QTableWidgetItem(text))
    table.verticalHeader().hide()
    table.horizontalHeader().setStretchLastSection(True)
    table.resizeColumnToContents(0)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    layout = QVBoxLayout(dialog)
    layout.addWidget(table)
    dialog.resize(560, 480)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog
