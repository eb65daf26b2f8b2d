"""Browse's dataset surgery: the selected episodes -> an operation -> its plan -> a BACKGROUND task
with progress and cancel (``backend/sessions/surgery.py`` holds what the dialog knows).

Open it with the curation bar's "Edit dataset…" button (Ctrl+Shift+E); dropping dataset folders or
files on the episode table opens it to merge them into the dataset shown.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.panes.browse.review import selected_episodes
from app.tasks import BACKGROUND, TaskGroup
from backend.sessions.surgery import OPERATIONS, SurgerySession, build_plan, run_plan
from widgets.shortcuts import add_pane_shortcut

# which rows each operation shows
_ROWS = {
    "keep": ("out",),
    "delete": ("out",),
    "split": ("out", "out2"),
    "trim": ("first", "last", "out"),
    "retask": ("task", "out"),
    "merge": ("merge_with", "out"),
    "rename-feature": ("old", "new", "out"),
    "remove-feature": ("names", "out"),
    "recompute-stats": ("out",),
    "reencode": ("codec", "out"),
    "images-to-video": ("out",),
}


class SurgeryDialog(QDialog):
    """Lays out the choices and forwards them to the session; runs the plan and the edit as tasks."""

    def __init__(self, parent: QWidget, session: SurgerySession, dataset: Any, share: Any) -> None:
        super().__init__(parent)
        self.setWindowTitle("Edit dataset")
        self.session, self.dataset, self.share = session, dataset, share
        self.tasks = TaskGroup(self)
        self.setAcceptDrops(True)
        self.operation = QComboBox()
        for key, text in OPERATIONS.items():
            self.operation.addItem(text, key)
        chosen = (
            f"{len(session.selection)} episode(s) selected" if session.selection else "no episode selected"
        )
        self.selection_label = QLabel(f"{dataset.path.name}: {chosen} of {session.episodes}")
        self.selection_label.setObjectName("mutedLabel")
        self.fields: dict[str, QWidget] = {
            "out": QLineEdit(),
            "out2": QLineEdit(),
            "merge_with": QListWidget(),
            "task": QLineEdit(),
            "first": QSpinBox(),
            "last": QSpinBox(),
            "old": QLineEdit(),
            "new": QLineEdit(),
            "names": QLineEdit(),
            "codec": QComboBox(),
        }
        self.fields["first"].setRange(0, 10**7)
        self.fields["last"].setRange(-1, 10**7)
        self.fields["last"].setSpecialValueText("episode end")
        self.fields["codec"].addItems(["h264", "hevc", "av1"])
        self.fields["names"].setPlaceholderText("names separated by commas")
        self.fields["merge_with"].setMaximumHeight(90)
        self.fields["merge_with"].setToolTip(
            "Drop dataset folders or files here to merge them after this one"
        )
        labels = {
            "out": "Output",
            "out2": "Second output",
            "merge_with": "Merge with",
            "task": "New task",
            "first": "First frame",
            "last": "Last frame",
            "old": "Rename",
            "new": "To",
            "names": "Remove",
            "codec": "Codec",
        }
        self.form = QFormLayout()
        self.form.addRow("Operation", self.operation)
        self.form.addRow("", self.selection_label)
        for key, widget in self.fields.items():
            self.form.addRow(labels[key], widget)
        self.plan_view = QPlainTextEdit()
        self.plan_view.setReadOnly(True)
        self.plan_view.setPlaceholderText("Show the plan to see what goes where, sizes and warnings.")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.progress = QProgressBar()
        self.plan_button = QPushButton("Show plan")
        self.run_button = QPushButton("Run")
        self.run_button.setObjectName("primaryButton")
        self.cancel_button = QPushButton("Cancel run")
        self.close_button = QPushButton("Close")
        buttons = QHBoxLayout()
        buttons.addWidget(self.progress, 1)
        for button in (self.plan_button, self.run_button, self.cancel_button, self.close_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.plan_view, 1)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.resize(760, 560)
        self._load_values()
        self.operation.currentIndexChanged.connect(lambda: self.session.set(self.operation.currentData()))
        for key, widget in self.fields.items():
            if isinstance(widget, QLineEdit):
                widget.textEdited.connect(lambda _t, k=key: self._edited(k))
            elif isinstance(widget, QSpinBox):
                widget.valueChanged.connect(lambda _v, k=key: self._edited(k))
            elif isinstance(widget, QComboBox):
                widget.currentTextChanged.connect(lambda _t, k=key: self._edited(k))
        self.plan_button.clicked.connect(self.show_plan)
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(lambda: self.tasks.cancel("run"))
        self.close_button.clicked.connect(self.reject)
        self.session.listeners.append(self._refresh)
        self._refresh(self.session)

    # -- values <-> session -----------------------------------------------------------------------
    def _value(self, key: str) -> Any:
        widget = self.fields[key]
        if isinstance(widget, QSpinBox):
            return widget.value()
        if isinstance(widget, QComboBox):
            return widget.currentText()
        text = widget.text().strip()  # type: ignore[attr-defined]
        return tuple(n.strip() for n in text.split(",") if n.strip()) if key == "names" else text

    def _edited(self, key: str) -> None:
        self.session.set(**{key: self._value(key)})

    def _load_values(self) -> None:
        values = self.session.values
        for key in ("out", "out2", "task", "old", "new"):
            self.fields[key].setText(str(values.get(key, "")))  # type: ignore[attr-defined]
        self.fields["names"].setText(", ".join(values.get("names", ())))  # type: ignore[attr-defined]
        merge = self.fields["merge_with"]
        merge.clear()  # type: ignore[attr-defined]
        merge.addItems(list(values.get("merge_with", ())))  # type: ignore[attr-defined]

    def _refresh(self, session: SurgerySession) -> None:
        index = self.operation.findData(session.operation)
        if index != self.operation.currentIndex():
            self.operation.blockSignals(True)
            self.operation.setCurrentIndex(index)
            self.operation.blockSignals(False)
        for key in ("out", "out2"):
            if self.fields[key].text() != session.values.get(key, ""):  # type: ignore[attr-defined]
                self.fields[key].setText(str(session.values.get(key, "")))  # type: ignore[attr-defined]
        if self.fields["merge_with"].count() != len(session.values.get("merge_with", ())):  # type: ignore[attr-defined]
            self._load_values()
        for key, widget in self.fields.items():
            self.form.setRowVisible(widget, key in _ROWS[session.operation])
        running = session.state in ("planning", "running")
        self.plan_view.setPlainText(session.plan.text() if session.plan is not None else "")
        self.message.setText(session.message)
        self.run_button.setEnabled(session.can_run and not running)
        self.plan_button.setEnabled(not running)
        self.operation.setEnabled(not running)
        self.cancel_button.setVisible(session.state == "running")
        self.progress.setVisible(session.state == "running")

    # -- tasks ------------------------------------------------------------------------------------
    def show_plan(self) -> None:
        request = self.session.planning()
        self.tasks.run(
            build_plan,
            request,
            self.dataset,
            key="plan",
            lane=BACKGROUND,
            holds=[self.share()],
            on_done=self.session.planned,
            on_error=lambda message, _details: self.session.failed(message),
        )

    def run(self) -> None:
        if not self.session.can_run:
            return
        plan = self.session.running()
        self.progress.setRange(0, 0)
        self.tasks.run(
            run_plan,
            plan,
            self.dataset,
            key="run",
            lane=BACKGROUND,
            holds=[self.share()],
            outputs=[o.path for o in plan.outputs],
            on_progress=self._progress,
            on_done=self.session.finished,
            on_error=lambda message, _details: self.session.failed(message),
            on_cancelled=self.session.cancelled,
        )

    def _progress(self, done: int, total: int, text: str) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self.progress.setFormat(text)

    def dragEnterEvent(self, event: Any) -> None:  # noqa: N802 - Qt API: datasets dropped here merge too
        if event.mimeData().hasUrls() and self.session.state not in ("planning", "running"):
            event.acceptProposedAction()

    def dropEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.session.add_merge_inputs(paths)

    def shutdown(self) -> None:
        if self._refresh in self.session.listeners:
            self.session.listeners.remove(self._refresh)
        self.tasks.shutdown()

    def done(self, result: int) -> None:  # noqa: D401 - Qt API (close, Escape, Close button)
        self.shutdown()
        super().done(result)


class _Drops(QObject):
    """Dataset paths dropped on the episode table open the dialog to merge them."""

    def __init__(self, hook: SurgeryHook) -> None:
        super().__init__(hook.pane)
        self.hook = hook

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if event.type() in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            if self.hook.pane.dataset is not None and event.mimeData().hasUrls():  # type: ignore[attr-defined]
                event.acceptProposedAction()  # type: ignore[attr-defined]
                return True
        elif event.type() == QEvent.Type.Drop and self.hook.pane.dataset is not None:
            paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]  # type: ignore[attr-defined]
            if paths:
                event.acceptProposedAction()  # type: ignore[attr-defined]
                self.hook.merge(paths)
                return True
        return False


class SurgeryHook:
    """What Browse gets: the button, the shortcut, drops on the table, the open dialog."""

    def __init__(self, pane: Any) -> None:
        self.pane = pane
        self.dialog: SurgeryDialog | None = None
        bar = pane.bar
        self.button = QPushButton("Edit dataset…")
        self.button.setToolTip(
            "Merge, split, delete, keep, trim, re-task, rename or re-encode (Ctrl+Shift+E)"
        )
        self.button.clicked.connect(lambda: self.open())
        bottom = bar.layout().itemAt(1).layout()
        bottom.insertWidget(bottom.indexOf(bar.export_button), self.button)
        add_pane_shortcut(pane, "Ctrl+Shift+E", self.open)
        self._drops = _Drops(self)
        pane.table.viewport().setAcceptDrops(True)
        pane.table.viewport().installEventFilter(self._drops)

    def open(self, merge_with: list[str] | None = None) -> SurgeryDialog | None:
        pane = self.pane
        if pane.dataset is None:
            return None
        if self.dialog is not None:
            self.dialog.reject()
        session = SurgerySession(  # the review grid's selection while the grid is shown
            str(pane.dataset.path), pane.dataset.num_episodes, selected_episodes(pane)
        )
        if merge_with:
            session.add_merge_inputs(merge_with)
        self.dialog = SurgeryDialog(pane, session, pane.dataset, pane.session.share)
        self.dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog.finished.connect(self._closed)
        self.dialog.show()  # not modal: more datasets can be dropped on the table
        return self.dialog

    def merge(self, paths: list[str]) -> SurgeryDialog | None:
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.session.add_merge_inputs(paths)
            return self.dialog
        return self.open(paths)

    def _closed(self) -> None:
        self.dialog = None

    def shutdown(self) -> None:
        if self.dialog is not None:
            self.dialog.reject()


def attach_surgery(pane: Any) -> SurgeryHook:
    return SurgeryHook(pane)
