"""Browse's Curation dock: rating, flag, exclude, note, task, trim, undo/redo, export and its progress."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from backend.sessions.browse import BrowseSession
from widgets import palette
from widgets.elided_label import ElidedLabel
from widgets.icons import media_icon


def _tool_button(text: str) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return button


def _curation_button(text: str, icon: str | None, tip: str) -> QToolButton:
    button = _tool_button(text)
    button.setCheckable(True)
    button.setToolTip(tip)
    button.setObjectName(f"{text.lower()}Button")
    if icon:
        button.setIcon(media_icon(icon, palette.color(icon)))
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    return button


class CurationBar(QWidget):
    """The widgets; the pane connects them and calls ``refresh`` after every change."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("curationBar")
        self.good_button = _curation_button("Good", "good", "Rate good (G)")
        self.bad_button = _curation_button("Bad", "bad", "Rate bad (B)")
        self.flag_button = _curation_button("Flag", "flag", "Flag for review (F)")
        self.exclude_button = _curation_button("Exclude", None, "Leave this episode out of the export (X)")
        self.note_edit = QLineEdit()
        self.note_edit.setPlaceholderText("Note on this episode")
        self.task_edit = QLineEdit()
        self.task_edit.setPlaceholderText("Task")
        self.task_edit.setToolTip("Relabel the task (empty: keep the recorded task)")
        self.clear_trim_button = _tool_button("Clear trim")
        self.undo_button = _tool_button("Undo")
        self.redo_button = _tool_button("Redo")
        self.export_button = QPushButton("Export curated…")
        self.export_button.setObjectName("primaryButton")
        self.export_button.setToolTip("Write a new dataset with trims, exclusions and task edits (Ctrl+E)")
        self.summary_label = ElidedLabel("")  # long texts shorten (whole in the tooltip), never widen the dock
        self.summary_label.setObjectName("mutedLabel")
        self.sidecar_label = ElidedLabel("")
        self.sidecar_label.setObjectName("mutedLabel")
        self.sidecar_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # progress row for long work (export), with cancel
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(220)
        self.progress_text = QLabel("")
        self.progress_cancel = QPushButton("Cancel")
        top = QHBoxLayout()
        top.setSpacing(6)
        top.addWidget(QLabel("Rating"))
        for button in (self.good_button, self.bad_button, self.flag_button, self.exclude_button):
            top.addWidget(button)
        top.addSpacing(10)
        top.addWidget(QLabel("Note"))
        top.addWidget(self.note_edit, 3)
        top.addWidget(QLabel("Task"))
        top.addWidget(self.task_edit, 3)
        top.addWidget(self.clear_trim_button)
        bottom = QHBoxLayout()
        bottom.setSpacing(6)
        bottom.addWidget(self.summary_label, 1)
        for widget in (
            self.progress_text, self.progress_bar, self.progress_cancel,
            self.undo_button, self.redo_button, self.export_button,
        ):
            bottom.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addLayout(bottom)
        layout.addWidget(self.sidecar_label)
        layout.addStretch(1)
        self.set_progress_visible(False)

    def set_progress_visible(self, visible: bool) -> None:
        for widget in (self.progress_bar, self.progress_text, self.progress_cancel):
            widget.setVisible(visible)

    def show_progress(self, done: int, total: int, text: str) -> None:
        self.progress_bar.setRange(0, max(1, total))
        self.progress_bar.setValue(done)
        self.progress_text.setText(text)

    def refresh(self, session: BrowseSession, extra: tuple[QWidget, ...] = ()) -> None:
        """Show the shown episode's decision, undo/redo and the summary; disabled without one."""
        enabled = session.can_curate
        buttons = (self.good_button, self.bad_button, self.flag_button, self.exclude_button)
        for widget in (*buttons, self.note_edit, self.task_edit, self.clear_trim_button, self.export_button,
                       *extra):
            widget.setEnabled(enabled)
        curation = session.curation
        self.undo_button.setEnabled(bool(curation and curation.can_undo))
        self.redo_button.setEnabled(bool(curation and curation.can_redo))
        if curation is not None:
            self.undo_button.setToolTip(f"Undo: {curation.undo_label}" if curation.can_undo else "Nothing to undo")
            self.redo_button.setToolTip(f"Redo: {curation.redo_label}" if curation.can_redo else "Nothing to redo")
        self.summary_label.setText(session.summary_text())
        decision = session.decision()
        if decision is None:
            for button in buttons:
                button.setChecked(False)
            self.note_edit.clear()
            self.task_edit.clear()
            return
        self.good_button.setChecked(decision.rating == "good")
        self.bad_button.setChecked(decision.rating == "bad")
        self.flag_button.setChecked(decision.flagged)
        self.exclude_button.setChecked(decision.excluded)
        if not self.note_edit.hasFocus():
            self.note_edit.setText(decision.note)
        recorded = session.episode.task if session.episode is not None else ""
        if not self.task_edit.hasFocus():
            self.task_edit.setText(session.task_text())
            self.task_edit.setCursorPosition(0)  # the start of a long task, not its end
            self.task_edit.setPlaceholderText(recorded or "Task")
        self.task_edit.setToolTip(
            f"Relabelled; recorded task: {recorded!r}" if decision.task
            else "Relabel the task (empty: keep the recorded task)"
        )
