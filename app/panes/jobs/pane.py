"""The Jobs pane: the queue, a live log, the loss curve, artifacts and chains.

Everything comes from the job store (SQLite) that the CLI and the background supervisor share, so
jobs started from a terminal show up here and jobs started here go on when the window is closed.
What the pane knows lives in ``backend.sessions.jobs.JobsSession``; the pane lays out widgets and
forwards. Watching the store and following the selected job's log are coroutines on the
application's asyncio loop (``app.async_loop``); actions that may take time (cancel on Slurm,
checks that start interpreters, submitting) are tasks of the pane (``app.tasks``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app import async_loop
from app.context import AppContext
from app.panes.jobs.job_tabs import JobTabs
from app.panes.jobs.model import JobsFilter, JobsModel, make_table
from app.panes.jobs.profiles_dialog import ProfilesDialog
from app.panes.jobs.submit_dialog import SubmitDialog
from app.tasks import BACKGROUND, TaskGroup
from backend.jobs.store import ACTIVE_STATES, FINAL_STATES, QUEUED, JobStore
from backend.jobs.templates import load_templates
from backend.sessions import jobs_forms
from backend.sessions.jobs import (
    OPENABLE_IN_BROWSE,
    JobsSession,
    Piece,
)
from widgets.log_view import LogView

EMPTY_TEXT = (
    "No jobs yet.\n\nUse New job to queue a Cosmos post-training, an IDM run, a LeIsaac session or any "
    "command,\nor from a terminal: rollout-studio jobs submit TEMPLATE ...\n\n"
    "Jobs keep running when this window is closed."
)
FINISHED_LOG_POLL_S = 1.0  # a finished job's log is read to its end, then looked at now and then


class JobsPane(QWidget):
    """Queue table, live log with search, loss curve, artifacts, chain view and job actions."""

    def __init__(self, context: AppContext, parent: QWidget | None = None, poll_ms: int = 100) -> None:
        super().__init__(parent)
        self.context = context
        self.poll_ms = poll_ms
        db = Path(context.jobs_db)
        self.store = JobStore(db)
        self.session = JobsSession(self.store)
        self.tasks = TaskGroup(self)
        self._log_stream: async_loop.Handle | None = None
        self._handles: list[async_loop.Handle] = []  # every coroutine started, cancelled with the pane

        self._build_toolbar()
        self._build_table()
        self.empty = QLabel(EMPTY_TEXT, self)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.queue_stack = QStackedWidget(self)
        self.queue_stack.addWidget(self.empty)
        self.queue_stack.addWidget(self.table)

        self.log = LogView(self)
        self.log_title = QLabel("Log", self)
        log_box = QWidget(self)
        log_layout = QVBoxLayout(log_box)
        log_layout.setContentsMargins(0, 0, 0, 0)
        log_layout.addWidget(self.log_title)
        log_layout.addWidget(self.log, 1)

        self.tabs = JobTabs(self)
        self.tabs.openArtifact.connect(self.open_artifact)
        self.tabs.jobActivated.connect(self.select_job)
        # the tabs' widgets, as the pane's (tests and the benchmark read them)
        self.progress_label, self.details = self.tabs.progress_label, self.tabs.details
        self.artifacts, self.chain = self.tabs.artifacts, self.tabs.chain
        self.table_preview, self.plot, self.curve = self.tabs.table_preview, self.tabs.plot, self.tabs.curve

        self.bottom = QSplitter(Qt.Orientation.Horizontal, self)
        self.bottom.addWidget(log_box)
        self.bottom.addWidget(self.tabs)
        self.bottom.setStretchFactor(0, 3)
        self.bottom.setStretchFactor(1, 2)
        self.split = QSplitter(Qt.Orientation.Vertical, self)
        self.split.addWidget(self.queue_stack)
        self.split.addWidget(self.bottom)
        self.split.setStretchFactor(0, 2)
        self.split.setStretchFactor(1, 3)
        self.db_label = QLabel(f"Job store: {db}", self)
        self.db_label.setStyleSheet("color: palette(mid);")
        self.db_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QVBoxLayout(self)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.split, 1)
        layout.addWidget(self.db_label)

        self.filter_edit.textChanged.connect(self._filter_changed)
        self.state_filter.currentIndexChanged.connect(self._filter_changed)
        self._fill_template_menu()
        self._update_actions()

        self.poll()
        self.slow_poll()
        # job monitoring: the store is watched for state changes; times and loss points each second
        self._watchers = [
            async_loop.start(async_loop.every, poll_ms / 1000, self.poll, name="jobs-watch-store"),
            async_loop.start(async_loop.every, 1.0, self.slow_poll, name="jobs-every-second"),
        ]
        # a pane deleted without being closed must not leave coroutines calling it
        handles = self._handles
        handles += self._watchers
        self.destroyed.connect(lambda *_: [handle.cancel() for handle in handles])

    # -- building ------------------------------------------------------------------------------------
    def _build_toolbar(self) -> None:
        self.toolbar = QToolBar(self)
        self.new_button = QToolButton(
            self, text="New job", popupMode=QToolButton.ToolButtonPopupMode.MenuButtonPopup
        )
        self.new_button.setToolTip("Queue a job from a template (Ctrl+N)")
        self.new_button.clicked.connect(lambda: self.open_submit())
        self.template_menu = QMenu(self)
        self.new_button.setMenu(self.template_menu)
        self.toolbar.addWidget(self.new_button)
        self.after_action = self._action(
            "Run after selected...",
            lambda: self.open_submit(after_selected=True),
            "Queue a job that starts when the selected job succeeds",
        )
        self.toolbar.addSeparator()
        self.cancel_action = self._action(
            "Cancel", lambda: self.act("cancel"), "Stop the selected jobs (Del)"
        )
        self.retry_action = self._action(
            "Retry", lambda: self.act("retry"), "Run the selected finished jobs again"
        )
        self.duplicate_action = self._action(
            "Duplicate...", self.open_duplicate, "Queue a copy: the New job dialog, filled in from this job"
        )
        self.edit_action = self._action("Edit...", self.open_edit, "Change a queued job")
        self.remove_action = self._action(
            "Remove", lambda: self.act("remove"), "Remove finished jobs from the list"
        )
        self.toolbar.addSeparator()
        self._action("Profiles...", self.open_profiles, "Where each tool lives and which Python runs it")
        self.filter_edit = QLineEdit(self, placeholderText="Filter jobs", clearButtonEnabled=True)
        self.filter_edit.setMaximumWidth(260)
        self.state_filter = QComboBox(self)
        self.state_filter.addItem("All states", set())
        self.state_filter.addItem("Active", set(ACTIVE_STATES))
        self.state_filter.addItem("Finished", set(FINAL_STATES))
        for state in ("queued", "running", "succeeded", "failed", "cancelled"):
            self.state_filter.addItem(state.capitalize(), {state})
        spacer = QWidget(self)
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.toolbar.addWidget(spacer)
        self.toolbar.addWidget(self.filter_edit)
        self.toolbar.addWidget(self.state_filter)
        new_shortcut = QAction(self, shortcut=QKeySequence.StandardKey.New)
        new_shortcut.triggered.connect(lambda: self.open_submit())
        self.addAction(new_shortcut)

    def _build_table(self) -> None:
        self.model = JobsModel(self.session.rows, self)
        self.proxy = JobsFilter(self.session.filter, self)
        self.proxy.setSourceModel(self.model)
        self.table = make_table(self.proxy, self)
        self.table.horizontalHeader().sortIndicatorChanged.connect(self.model.sort)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.doubleClicked.connect(lambda _i: self.tabs.setCurrentWidget(self.details))
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        delete_shortcut = QAction(self.table, shortcut=QKeySequence.StandardKey.Delete)
        delete_shortcut.triggered.connect(lambda: self.act("cancel"))
        self.table.addAction(delete_shortcut)

    def _action(self, text: str, slot, tip: str) -> QAction:  # noqa: ANN001
        action = QAction(text, self)
        action.setToolTip(tip)
        action.triggered.connect(slot)
        self.toolbar.addAction(action)
        return action

    def _fill_template_menu(self) -> None:
        self.template_menu.clear()
        category = None
        for template in load_templates():
            if template.category != category:
                category = template.category
                self.template_menu.addSection(category or "Other")
            action = self.template_menu.addAction(template.title)
            action.setToolTip(template.description)
            action.triggered.connect(lambda _=False, name=template.name: self.open_submit(name))

    # -- the table ------------------------------------------------------------------------------------
    def selected_ids(self) -> list[int]:
        rows = self.table.selectionModel().selectedRows()
        return [int(self.proxy.data(index, Qt.ItemDataRole.UserRole)) for index in rows]

    def select_job(self, job_id: int | None) -> None:
        if job_id is None:
            return
        row = self.model.rows.get(int(job_id))
        if row is None:
            return
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if not index.isValid():
            self.filter_edit.clear()
            self.state_filter.setCurrentIndex(0)
            index = self.proxy.mapFromSource(self.model.index(row, 0))
        self.table.selectRow(index.row())
        self.table.scrollTo(index)

    def _filter_changed(self) -> None:
        self.proxy.set_filter(self.filter_edit.text(), self.state_filter.currentData() or set())

    def _update_actions(self) -> None:
        self.session.selected_ids = self.selected_ids()
        allowed = self.session.actions()
        for name, action in (
            ("cancel", self.cancel_action),
            ("retry", self.retry_action),
            ("duplicate", self.duplicate_action),
            ("remove", self.remove_action),
            ("edit", self.edit_action),
            ("after", self.after_action),
        ):
            action.setEnabled(allowed[name])

    def _context_menu(self, pos) -> None:  # noqa: ANN001
        menu = QMenu(self)
        for action in (
            self.cancel_action,
            self.retry_action,
            self.duplicate_action,
            self.edit_action,
            self.after_action,
            self.remove_action,
        ):
            menu.addAction(action)
        menu.exec(self.table.viewport().mapToGlobal(pos))

    # -- watching the store ---------------------------------------------------------------------------
    def poll(self) -> None:
        """One look at the store (cheap when nothing changed); the rows update themselves."""
        result = self.session.poll()
        if not result.changed:
            return
        if result.reset:
            self.select_job(self.session.selected)
        if result.chain and self.session.selected is not None:
            job = self.model.job(self.session.selected) or self.store.get(self.session.selected)
            self.tabs.show_chain(self.session.chain(job), self.session.chain_size())
        self.queue_stack.setCurrentWidget(self.table if self.model.jobs else self.empty)
        self._update_actions()
        self._update_status()
        if result.selected:
            self._show_job()

    def slow_poll(self) -> None:
        """Once a second: times move on (the table and the Progress tab at the same clock), loss points."""
        gained = self.session.tick()
        job = self.model.job(self.session.selected) if self.session.selected is not None else None
        if job is not None and job.state in ACTIVE_STATES:
            self.progress_label.setText(self.session.progress())
        if gained:
            self.tabs.show_curve(self.session.curve, self.session.loss_note())

    def _update_status(self) -> None:
        if self.session.update_status():
            self.context.set_status("jobs", self.session.status)

    def status_fields(self) -> dict[str, str]:
        return {"jobs": self.session.status}

    # -- the selected job -----------------------------------------------------------------------------
    def _selection_changed(self, *_args: Any) -> None:
        self._update_actions()
        if self.session.select(self.session.selected_ids):
            if self.session.selected is None:
                self._stop_log()
                self.log.clear()
                self.log_title.setText("Log")
            self._show_job()

    def _show_job(self) -> None:
        job, restart = self.session.show()
        if job is None:
            self.tabs.clear_job()
            return
        if restart:
            self.log.clear()
            self._show_pieces(self.session.follow_log())
            self._stop_log()
            self._log_stream = async_loop.start(self._follow_log, name=f"jobs-log-{job.id}")
            self._handles[:] = [h for h in self._handles if not h.done] + [self._log_stream]
        self.tabs.show_curve(self.session.curve, self.session.loss_note())
        self.log_title.setText(f"Log of job {job.id} (attempt {job.attempt}): {job.log_path}")
        chain = self.session.chain(job)
        artifacts = self.store.artifacts(job.id)
        self.tabs.show_job(job, artifacts, chain, self.session.chain_size(), self.session.rows.now)

    async def _follow_log(self) -> None:
        """Log streaming: what the shown job's log gains, as it is written (a finished job's log is
        read to its end, then looked at only now and then)."""
        while True:
            done = self.session.log_done()
            await asyncio.sleep(FINISHED_LOG_POLL_S if done else self.poll_ms / 1000)
            self._show_pieces(self.session.read_log())

    def _show_pieces(self, pieces: list[Piece]) -> None:
        for kind, text in pieces:
            if kind == "notice":
                self.log.append_notice(text)
            else:
                self.log.append_text(text)

    def _stop_log(self) -> None:
        if self._log_stream is not None:
            self._log_stream.cancel()
            self._log_stream = None

    def open_artifact(self, path: str | None, browse: bool | None = None) -> None:
        if not path:
            return
        if browse is None:
            browse = self.tabs.artifact_kind(path) in OPENABLE_IN_BROWSE
        if browse:
            self.context.openDatasetRequested.emit(path)
            self.context.showPaneRequested.emit("browse")
            return
        target = Path(path)
        folder = target if target.is_dir() else target.parent
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    # -- actions --------------------------------------------------------------------------------------
    def act(self, action: str) -> None:
        ids = self.selected_ids()
        if not ids:
            return
        if action == "cancel":
            running = [i for i in ids if (j := self.model.job(i)) and j.state in ACTIVE_STATES]
            if not running:
                return
            answer = QMessageBox.question(
                self,
                "Cancel jobs",
                f"Stop {len(running)} job{'s' if len(running) > 1 else ''}? Jobs waiting for "
                f"{'them' if len(running) > 1 else 'it'} are cancelled too.",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
            ids = running

        def done(problems: list[str]) -> None:
            if problems:
                QMessageBox.warning(self, "Jobs", "\n".join(problems))
            self.poll()

        self.tasks.run(
            jobs_forms.act,
            str(self.store.path),
            action,
            ids,
            key=f"{action} {' '.join(map(str, ids))}",  # the same action on the same jobs: latest wins
            lane=BACKGROUND,
            on_done=done,
            on_error=lambda message, _details: QMessageBox.warning(self, "Jobs", message),
        )

    def open_submit(self, template: str | None = None, after_selected: bool = False) -> SubmitDialog:
        after = self.selected_ids()[:1] if after_selected else None
        dialog = SubmitDialog(self, template=template or self.session.last_template, after=after)
        dialog.accepted.connect(lambda: (self.poll(), self.select_job(dialog.result_id)))
        dialog.open()
        return dialog

    def open_duplicate(self) -> SubmitDialog | None:
        """One job: the New job dialog holding its values (nothing is queued until OK). Several: ask,
        then queue a copy of each."""
        ids = self.selected_ids()
        if len(ids) > 1:
            answer = QMessageBox.question(
                self, "Duplicate jobs", f"Queue a copy of each of the {len(ids)} selected jobs?"
            )
            if answer == QMessageBox.StandardButton.Yes:
                self.act("duplicate")
            return None
        if not ids:
            return None
        dialog = SubmitDialog(self, copy_of=self.store.get(ids[0]))
        dialog.accepted.connect(lambda: (self.poll(), self.select_job(dialog.result_id)))
        dialog.open()
        return dialog

    def open_edit(self) -> SubmitDialog | None:
        ids = self.selected_ids()
        if len(ids) != 1:
            return None
        job = self.store.get(ids[0])
        if job.state != QUEUED:
            return None
        dialog = SubmitDialog(self, job=job)
        dialog.accepted.connect(self.poll)
        dialog.open()
        return dialog

    def open_profiles(self) -> ProfilesDialog:
        dialog = ProfilesDialog(self)
        dialog.open()
        return dialog

    # -- layout persistence and closing -------------------------------------------------------------
    def save_state(self) -> dict[str, Any]:
        return {
            "split": [int(s) for s in self.split.sizes()],
            "bottom": [int(s) for s in self.bottom.sizes()],
            "header": bytes(self.table.horizontalHeader().saveState()).hex(),
            "tab": self.tabs.currentIndex(),
            "last_template": self.session.last_template,
        }

    def restore_state(self, state: dict[str, Any]) -> None:
        for splitter, key in ((self.split, "split"), (self.bottom, "bottom")):
            sizes = [int(s) for s in state.get(key) or []]
            if sizes and min(sizes) > 0:  # a side saved at 0 (a pane never shown) stays visible
                splitter.setSizes(sizes)
        if state.get("header"):
            self.table.horizontalHeader().restoreState(QByteArray(bytes.fromhex(state["header"])))
        if "tab" in state:
            self.tabs.setCurrentIndex(int(state["tab"]))
        if isinstance(state.get("last_template"), str):
            self.session.last_template = state["last_template"]

    def start_demo(self) -> None:
        """The demo workspace shows the newest job (its log, curve and details) when there is one."""
        if self.model.jobs and not self.selected_ids():
            self.select_job(self.model.jobs[0].id)

    def shutdown(self) -> None:
        """Stop watching and streaming, cancel the pane's tasks and wait for them (jobs go on)."""
        for handle in self._handles:
            handle.cancel()
        self._stop_log()
        self.tasks.shutdown()

    def closeEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt API
        self.shutdown()
        super().closeEvent(event)
