"""The Jobs pane: the queue, a live log, the loss curve, artifacts and chains.

Everything comes from the job store (SQLite) that the CLI and the background supervisor share, so
jobs started from a terminal show up here and jobs started here go on when the window is closed.
The pane polls the store with timers (only rows whose revision changed are read) and reads only
the new bytes of the selected job's log. Actions that may take time (cancel on Slurm, checks that
start interpreters, submitting) run through ``app.tasks.run_task``.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shlex
import time
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QRect,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    QUrl,
)
from PySide6.QtGui import QAction, QColor, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolBar,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.context import AppContext
from app.tasks import run_task
from backend.errors import StudioError
from backend.jobs import service
from backend.jobs.logtail import LogTail
from backend.jobs.profiles import TOOLS, Profile, check_profile
from backend.jobs.store import ACTIVE_STATES, FINAL_STATES, QUEUED, RUNNING, Job, JobStore
from backend.jobs.supervisor import ensure_supervisor
from backend.jobs.templates import Template, build_command, load_templates
from widgets.log_view import LogView
from widgets.param_form import ParamForm

COLUMNS = ("ID", "Name", "Template", "Runner", "State", "Progress", "ETA", "GPU", "Started", "Elapsed")
(
    COL_ID,
    COL_NAME,
    COL_TEMPLATE,
    COL_RUNNER,
    COL_STATE,
    COL_PROGRESS,
    COL_ETA,
    COL_GPU,
    COL_STARTED,
    COL_ELAPSED,
) = range(10)
STATE_COLOURS = {
    "queued": QColor("#9aa4b2"),
    "running": QColor("#4aa3ff"),
    "succeeded": QColor("#48b26b"),
    "failed": QColor("#e06c5a"),
    "cancelled": QColor("#a08c70"),
}
LOG_BYTES_PER_TICK = 64 << 10
LOG_BACKLOG_SKIP = 512 << 10
LOG_INITIAL_BYTES = 256 << 10
OPENABLE_IN_BROWSE = {"dataset", "videos"}


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds}s"


def _when(ts: float | None) -> str:
    if not ts:
        return ""
    moment = dt.datetime.fromtimestamp(ts)
    return moment.strftime("%H:%M:%S" if moment.date() == dt.date.today() else "%Y-%m-%d %H:%M")


def state_text(job: Job) -> str:
    if job.state == QUEUED and job.external_state:
        return f"queued (Slurm {job.external_state})"
    if job.state == RUNNING and job.cancel_requested:
        return "stopping"
    if job.state == "failed" and job.exit_code is not None:
        return f"failed ({job.exit_code})"
    return job.state


# -- model ------------------------------------------------------------------------------------------
class JobsModel(QAbstractTableModel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.jobs: list[Job] = []
        self.rows: dict[int, int] = {}

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802 - Qt API
        return 0 if parent.isValid() else len(self.jobs)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        job = self.jobs[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == COL_ID:
                return job.id
            if column == COL_NAME:
                return job.name
            if column == COL_TEMPLATE:
                return job.template
            if column == COL_RUNNER:
                return job.runner
            if column == COL_STATE:
                return state_text(job)
            if column == COL_PROGRESS:
                return job.progress_text or ""
            if column == COL_ETA:
                return _duration(job.eta())
            if column == COL_GPU:
                if not job.gpus:
                    return ""
                return f"{job.gpus} ({job.gpu_ids})" if job.gpu_ids else str(job.gpus)
            if column == COL_STARTED:
                return _when(job.started_at)
            if column == COL_ELAPSED:
                return _duration(job.elapsed())
        elif role == Qt.ItemDataRole.UserRole:
            if column == COL_PROGRESS:
                return job.fraction
            if column == COL_STARTED:
                return job.started_at or 0.0
            if column == COL_ELAPSED:
                return job.elapsed() or 0.0
            if column == COL_ETA:
                return job.eta() or 0.0
            return job.id if column == COL_ID else self.data(index)
        elif role == Qt.ItemDataRole.ForegroundRole and column == COL_STATE:
            return STATE_COLOURS.get(job.state)
        elif role == Qt.ItemDataRole.ToolTipRole:
            if column == COL_STATE and job.error:
                return job.error
            if column == COL_PROGRESS and job.progress_text:
                return job.progress_text
        elif role == Qt.ItemDataRole.TextAlignmentRole and column in (COL_ID, COL_ETA, COL_ELAPSED):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    # Sorting happens here with key functions (a proxy would call data() ~150,000 times for 10,000
    # jobs); the filter proxy in front of this model does not sort.
    sort_column = COL_ID
    sort_order = Qt.SortOrder.DescendingOrder
    sort_dirty = False
    SORT_KEYS = {
        COL_ID: lambda j: j.id,
        COL_NAME: lambda j: (j.name.lower(), j.id),
        COL_TEMPLATE: lambda j: (j.template, j.id),
        COL_RUNNER: lambda j: (j.runner, j.id),
        COL_STATE: lambda j: (j.state, j.id),
        COL_PROGRESS: lambda j: (j.fraction if j.fraction is not None else -1.0, j.id),
        COL_ETA: lambda j: (j.eta() or 0.0, j.id),
        COL_GPU: lambda j: (j.gpus, j.id),
        COL_STARTED: lambda j: (j.started_at or 0.0, j.id),
        COL_ELAPSED: lambda j: (j.elapsed() or 0.0, j.id),
    }

    def _sorted(self, jobs: list[Job]) -> list[Job]:
        key = self.SORT_KEYS.get(self.sort_column, self.SORT_KEYS[COL_ID])
        return sorted(jobs, key=key, reverse=self.sort_order == Qt.SortOrder.DescendingOrder)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.sort_column, self.sort_order = column, order
        self.layoutAboutToBeChanged.emit()
        old = {job.id: row for row, job in enumerate(self.jobs)}
        self.jobs = self._sorted(self.jobs)
        self.rows = {job.id: i for i, job in enumerate(self.jobs)}
        moved_from, moved_to = [], []
        persistent = self.persistentIndexList()
        by_old_row = {row: job_id for job_id, row in old.items()}
        for index in persistent:
            job_id = by_old_row.get(index.row())
            if job_id is None:
                continue
            moved_from.append(index)
            moved_to.append(self.index(self.rows[job_id], index.column()))
        self.changePersistentIndexList(moved_from, moved_to)
        self.layoutChanged.emit()

    @property
    def default_order(self) -> bool:
        return self.sort_column == COL_ID and self.sort_order == Qt.SortOrder.DescendingOrder

    def reset(self, jobs: list[Job]) -> None:
        self.beginResetModel()
        self.jobs = list(jobs) if self.default_order else self._sorted(jobs)
        self.rows = {job.id: i for i, job in enumerate(self.jobs)}
        self.endResetModel()

    def apply(self, changed: list[Job]) -> None:
        """Update rows in place; new jobs go on top (newest first)."""
        new = []
        last = len(COLUMNS) - 1
        for job in changed:
            row = self.rows.get(job.id)
            if row is None:
                new.append(job)
            else:
                self.jobs[row] = job
                self.dataChanged.emit(self.index(row, 0), self.index(row, last))
        if new:
            new.sort(key=lambda j: -j.id)
            self.beginInsertRows(QModelIndex(), 0, len(new) - 1)
            self.jobs[0:0] = new
            self.rows = {job.id: i for i, job in enumerate(self.jobs)}
            self.endInsertRows()
        if (new or changed) and not self.default_order:
            self.sort_dirty = True  # re-sorted at most once a second (refresh_times)

    def refresh_times(self) -> None:
        """ETA and elapsed move on without the store changing: repaint those cells of running jobs."""
        if self.sort_dirty or (not self.default_order and self.sort_column in (COL_ETA, COL_ELAPSED)):
            self.sort_dirty = False
            self.sort(self.sort_column, self.sort_order)
        rows = [row for row, job in enumerate(self.jobs) if job.state == RUNNING]
        if rows:  # one signal for the span: the view repaints only what it shows
            self.dataChanged.emit(self.index(rows[0], COL_ETA), self.index(rows[-1], COL_ELAPSED))

    def job(self, job_id: int) -> Job | None:
        row = self.rows.get(job_id)
        return self.jobs[row] if row is not None else None


class JobsFilter(QSortFilterProxyModel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = ""
        self.states: set[str] = set()

    def set_filter(self, text: str, states: set[str]) -> None:
        self.text = text.lower().strip()
        self.states = states
        self.invalidateFilter()

    def filterAcceptsRow(self, row: int, parent: QModelIndex) -> bool:  # noqa: N802 - Qt API
        model: JobsModel = self.sourceModel()  # type: ignore[assignment]
        job = model.jobs[row]
        if self.states and job.state not in self.states:
            return False
        if self.text:
            hay = f"{job.id} {job.name} {job.template} {job.runner} {job.profile or ''}".lower()
            return self.text in hay
        return True


class ProgressDelegate(QStyledItemDelegate):
    def paint(self, painter, option, index) -> None:  # noqa: ANN001
        fraction = index.data(Qt.ItemDataRole.UserRole)
        text = index.data(Qt.ItemDataRole.DisplayRole) or ""
        if fraction is None:
            super().paint(painter, option, index)
            return
        bar = QStyleOptionProgressBar()
        bar.rect = QRect(option.rect.adjusted(2, 3, -2, -3))
        bar.minimum, bar.maximum = 0, 1000
        bar.progress = int(fraction * 1000)
        bar.text = f"{100 * fraction:.0f}%  {text}"
        bar.textVisible = True
        bar.state = option.state
        QApplication.style().drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter)


# -- background work (runs on worker threads: each opens its own store connection) ----------------------
def _submit(db: str, template: str, params: dict[str, Any], options: dict[str, Any], progress=None) -> int:  # noqa: ANN001
    with JobStore(db) as store:
        return service.submit(store, template, params, **options)


def _edit(db: str, job_id: int, params: dict[str, Any], options: dict[str, Any], progress=None) -> None:  # noqa: ANN001
    with JobStore(db) as store:
        service.edit(store, job_id, params, **options)


def _action(db: str, action: str, job_ids: list[int], progress=None) -> list[str]:  # noqa: ANN001
    problems = []
    with JobStore(db) as store:
        for job_id in job_ids:
            try:
                if action == "cancel":
                    service.cancel(store, job_id)
                elif action == "retry":
                    service.retry(store, job_id)
                elif action == "duplicate":
                    service.duplicate(store, job_id)
                elif action == "remove":
                    if store.get(job_id).state not in FINAL_STATES:
                        raise StudioError(f"job {job_id} is not finished")
                    store.delete(job_id)
            except StudioError as error:
                problems.append(error.message)
    return problems


def _preflight(
    template: Template,
    values: dict[str, Any],
    profile: Profile | None,
    runner: str,
    check_inputs: bool,
    progress=None,
) -> list[Any]:  # noqa: ANN001
    return service.preflight(template, values, profile, runner, check_inputs=check_inputs)


def _check_profile(profile: Profile, progress=None) -> list[Any]:  # noqa: ANN001
    return check_profile(profile, needs_repo=bool(profile.repo or profile.tool))


def template_fields(template: Template) -> list[dict[str, Any]]:
    return [
        {
            "name": p.name,
            "type": p.type,
            "label": p.title,
            "help": p.help,
            "default": p.default,
            "required": p.is_required,
            "choices": p.choices,
            "exists": p.exists,
            "advanced": p.advanced,
        }
        for p in template.params
    ]


# -- dialogs -------------------------------------------------------------------------------------------
class SubmitDialog(QDialog):
    """Pick a template, fill its typed parameters (checked as you type), then submit."""

    def __init__(
        self,
        pane: JobsPane,
        template: str | None = None,
        after: list[int] | None = None,
        job: Job | None = None,
    ) -> None:
        super().__init__(pane)
        self.pane = pane
        self.job = job
        self.templates = load_templates()
        self.setWindowTitle(f"Edit job {job.id}" if job else "New job")
        self.resize(760, 720)
        self._task = None

        self.template_combo = QComboBox(self)
        for t in self.templates:
            self.template_combo.addItem(f"{t.category}: {t.title}" if t.category else t.title, t.name)
        self.description = QLabel(self, wordWrap=True)
        self.description.setStyleSheet("color: palette(mid);")
        self.profile_combo = QComboBox(self)
        self.profile_hint = QLabel(self, wordWrap=True)
        self.runner_combo = QComboBox(self)
        self.runner_combo.addItems(["local", "slurm"])
        self.name_edit = QLineEdit(self, placeholderText="defaults to the template name")
        self.after_edit = QLineEdit(self, placeholderText="job ids, e.g. 12, 13 (starts when they succeed)")
        self.priority = QSpinBox(self, minimum=-100, maximum=100)
        self.retries = QSpinBox(self, minimum=0, maximum=20)
        self.form = ParamForm(parent=self)
        self.preview = QPlainTextEdit(self, readOnly=True)
        self.preview.setMaximumHeight(130)
        self.buttons = QDialogButtonBox(self)
        self.check_button = self.buttons.addButton("Check", QDialogButtonBox.ButtonRole.ActionRole)
        self.submit_button = self.buttons.addButton(
            "Save" if job else "Submit", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.submit_button.setDefault(True)

        top = self._top = QFormLayout()
        top.addRow("Template", self.template_combo)
        top.addRow("", self.description)
        top.addRow("Environment", self.profile_combo)
        top.addRow("", self.profile_hint)
        runner_row = QHBoxLayout()
        runner_row.addWidget(self.runner_combo)
        runner_row.addWidget(QLabel("Priority"))
        runner_row.addWidget(self.priority)
        runner_row.addWidget(QLabel("Retries"))
        runner_row.addWidget(self.retries)
        runner_row.addStretch(1)
        top.addRow("Runner", runner_row)
        top.addRow("Name", self.name_edit)
        top.addRow("After", self.after_edit)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(scroll, 1)
        layout.addWidget(QLabel("Command"))
        layout.addWidget(self.preview)
        layout.addWidget(self.buttons)

        self.template_combo.currentIndexChanged.connect(self._template_changed)
        self.profile_combo.currentIndexChanged.connect(self._validate)
        self.runner_combo.currentIndexChanged.connect(self._validate)
        self.after_edit.textChanged.connect(self._validate)
        self.form.changed.connect(self._validate)
        self.check_button.clicked.connect(self._check)
        self.submit_button.clicked.connect(self._submit)
        self.buttons.rejected.connect(self.reject)

        if job is not None:
            template = job.template
            self.template_combo.setEnabled(False)
            self.after_edit.setEnabled(False)
        index = self.template_combo.findData(template) if template else 0
        self.template_combo.setCurrentIndex(max(0, index))
        self._template_changed()
        if after:
            self.after_edit.setText(", ".join(str(a) for a in after))
        if job is not None:
            self.form.set_values(job.params or {})
            self.name_edit.setText(job.name)
            self.priority.setValue(job.priority)
            self.retries.setValue(job.max_retries)
            self.retries.setEnabled(False)
            self.runner_combo.setCurrentText(job.runner)
            if job.profile:
                self.profile_combo.setCurrentIndex(max(0, self.profile_combo.findData(job.profile)))
            self.after_edit.setText(", ".join(str(d) for d in job.deps))
        self._validate()

    @property
    def template(self) -> Template:
        return self.templates.get(self.template_combo.currentData())

    def _template_changed(self) -> None:
        template = self.template
        self.description.setText(template.description)
        self.form.set_params(template_fields(template))
        self.profile_combo.blockSignals(True)
        self.profile_combo.clear()
        matching, others = [], []
        for name in self.pane.store.profile_names():
            data = self.pane.store.load_profile(name) or {}
            (matching if data.get("tool") == template.tool else others).append(name)
        if not template.tool:
            self.profile_combo.addItem("(none: this studio's Python, the workspace folder)", None)
        for name in matching + others:
            self.profile_combo.addItem(name, name)
        self.profile_combo.blockSignals(False)
        self._top.setRowVisible(self.profile_hint, bool(template.tool and not matching))
        if template.tool and not matching:
            self.profile_hint.setText(
                f"No {template.tool} profile yet: create one with Profiles... (where the checkout is and "
                "which Python runs it)."
            )
        else:
            self.profile_hint.setText("")
        self._validate()

    def _profile(self) -> Profile | None:
        name = self.profile_combo.currentData()
        if not name:
            return None
        data = self.pane.store.load_profile(name)
        return Profile.from_dict(data) if data else None

    def _after(self) -> list[int]:
        text = self.after_edit.text().replace(",", " ").split()
        return [int(t.lstrip("#")) for t in text if t.lstrip("#").isdigit()]

    def _validate(self) -> bool:
        template = self.template
        values, errors = template.coerce_params(self.form.values(), base=self.pane.context.workspace)
        self.form.set_errors(errors)
        ok = not errors
        if template.tool and self._profile() is None:
            ok = False
            self.preview.setPlainText(f"Choose a {template.tool} environment profile.")
        elif errors:
            self.preview.setPlainText("Fix the marked fields.")
        else:
            try:
                command = build_command(
                    template, values, self._profile(), submit_cwd=str(self.pane.context.workspace)
                )
            except StudioError as error:
                self.preview.setPlainText(error.message)
                ok = False
            else:
                env = command.extra_env(self._profile())
                lines = [f"cd {shlex.quote(command.cwd)}"]
                lines += [f"{k}={shlex.quote(v)}" for k, v in env.items()]
                lines.append(shlex.join(command.argv))
                if command.gpus:
                    lines.append(f"# {command.gpus} GPU(s)")
                self.preview.setPlainText("\n".join(lines))
        bad_after = [a for a in self._after() if not self.pane.store.exists(a)]
        if bad_after:
            ok = False
            self.preview.setPlainText(f"No job {bad_after[0]} to wait for.")
        self.submit_button.setEnabled(ok and self._task is None)
        self.check_button.setEnabled(ok and self._task is None)
        return ok

    def _check(self) -> None:
        template = self.template
        values, errors = template.coerce_params(self.form.values(), base=self.pane.context.workspace)
        if errors:
            return
        self.preview.setPlainText("Checking...")
        self.check_button.setEnabled(False)

        def done(checks: list[Any]) -> None:
            self.check_button.setEnabled(True)
            self.preview.setPlainText(
                "\n".join(f"{'ok ' if c.ok else 'BAD'} {c.what}: {c.detail}" for c in checks)
                or "Nothing to check."
            )

        run_task(
            _preflight,
            template,
            values,
            self._profile(),
            self.runner_combo.currentText(),
            not self._after(),
            on_done=done,
            on_error=lambda message, _details: self.preview.setPlainText(message),
        )

    def _submit(self) -> None:
        if not self._validate():
            return
        params = self.form.values()
        self._task = True
        self.submit_button.setEnabled(False)
        self.preview.setPlainText("Checking the environment and queueing...")

        def failed(message: str, _details: str) -> None:
            self._task = None
            self.preview.setPlainText(message)
            self._validate()

        def done(result: Any) -> None:
            self._task = None
            self.result_id = result
            self.accept()

        db = str(self.pane.store.path)
        if self.job is not None:
            options = {
                "priority": self.priority.value(),
                "name": self.name_edit.text().strip() or None,
                "profile": self.profile_combo.currentData(),
                "runner": self.runner_combo.currentText(),
            }
            run_task(_edit, db, self.job.id, params, options, on_done=done, on_error=failed)
            return
        options = {
            "profile": self.profile_combo.currentData(),
            "runner": self.runner_combo.currentText(),
            "after": self._after(),
            "priority": self.priority.value(),
            "name": self.name_edit.text().strip() or None,
            "max_retries": self.retries.value(),
            "submit_cwd": str(self.pane.context.workspace),
        }
        run_task(_submit, db, self.template.name, params, options, on_done=done, on_error=failed)


PROFILE_FIELDS = [
    {"name": "name", "type": "string", "required": True, "help": "letters, digits, '.', '_' or '-'"},
    {"name": "tool", "type": "string", "help": "Tool this profile runs: " + ", ".join(TOOLS)},
    {
        "name": "repo",
        "type": "path",
        "label": "Repository",
        "exists": "dir",
        "help": "The tool's checkout; jobs run in this folder.",
    },
    {
        "name": "python",
        "type": "string",
        "label": "Interpreter",
        "required": True,
        "help": 'e.g. /home/me/cosmos/.venv/bin/python, "conda run --no-capture-output -n cosmos python", '
        '"~/IsaacSim/_build/linux-x86_64/release/python.sh" or "uv run python"',
    },
    {
        "name": "env",
        "type": "list",
        "label": "Variables",
        "help": "KEY=VALUE, one per line ({repo} is replaced)",
    },
    {
        "name": "gpus",
        "type": "string",
        "label": "Pin GPUs",
        "help": "CUDA_VISIBLE_DEVICES for every job, e.g. 0,1",
    },
    {
        "name": "slurm",
        "type": "list",
        "label": "Slurm options",
        "help": "KEY=VALUE: partition, time, cpus_per_task, mem, account, qos, constraint",
    },
    {"name": "description", "type": "string"},
]


class ProfilesDialog(QDialog):
    """Create, edit, check and delete environment profiles."""

    def __init__(self, pane: JobsPane) -> None:
        super().__init__(pane)
        self.pane = pane
        self.setWindowTitle("Environment profiles")
        self.resize(820, 520)
        self.list = QListWidget(self)
        self.form = ParamForm(PROFILE_FIELDS, self)
        self.result_text = QPlainTextEdit(self, readOnly=True)
        self.result_text.setMaximumHeight(110)
        new_button = QPushButton("New", self)
        delete_button = QPushButton("Delete", self)
        save_button = QPushButton("Save", self)
        check_button = QPushButton("Check", self)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.rejected.connect(self.reject)
        left = QVBoxLayout()
        left.addWidget(self.list, 1)
        row = QHBoxLayout()
        row.addWidget(new_button)
        row.addWidget(delete_button)
        left.addLayout(row)
        right = QVBoxLayout()
        right.addWidget(self.form, 1)
        actions = QHBoxLayout()
        actions.addStretch(1)
        actions.addWidget(check_button)
        actions.addWidget(save_button)
        right.addLayout(actions)
        right.addWidget(self.result_text)
        body = QHBoxLayout()
        body.addLayout(left, 1)
        body.addLayout(right, 3)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(close)
        new_button.clicked.connect(self._new)
        delete_button.clicked.connect(self._delete)
        save_button.clicked.connect(self.save)
        check_button.clicked.connect(self._check)
        self.list.currentTextChanged.connect(self._show)
        self._reload()
        if self.list.count():
            self.list.setCurrentRow(0)
        else:
            self._new()

    def _reload(self, select: str | None = None) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        self.list.addItems(self.pane.store.profile_names())
        self.list.blockSignals(False)
        if select:
            items = self.list.findItems(select, Qt.MatchFlag.MatchExactly)
            if items:
                self.list.setCurrentItem(items[0])

    def _new(self) -> None:
        self.list.clearSelection()
        self.form.set_values(
            {
                "name": "",
                "tool": "",
                "repo": "",
                "python": "python3",
                "env": [],
                "gpus": "",
                "slurm": [],
                "description": "",
            }
        )
        self.result_text.clear()

    def _show(self, name: str) -> None:
        data = self.pane.store.load_profile(name) if name else None
        if not data:
            return
        profile = Profile.from_dict(data)
        slurm = [f"{k}={v}" for k, v in profile.slurm.items() if k != "extra"]
        self.form.set_values(
            {
                "name": profile.name,
                "tool": profile.tool or "",
                "repo": profile.repo or "",
                "python": shlex.join(profile.python),
                "env": [f"{k}={v}" for k, v in profile.env.items()],
                "gpus": profile.gpus or "",
                "slurm": slurm,
                "description": profile.description,
            }
        )
        self.result_text.clear()

    def profile(self) -> Profile:
        values = self.form.values()
        env, slurm = {}, {}
        errors = {}
        for key, target in (("env", env), ("slurm", slurm)):
            for line in values.get(key, []):
                name, sep, value = line.partition("=")
                if not sep:
                    errors[key] = f"{line!r} is not KEY=VALUE"
                else:
                    target[name.strip()] = value.strip() if key == "slurm" else value
        try:
            python = shlex.split(values.get("python", ""))
        except ValueError as error:
            errors["python"] = str(error)
            python = []
        self.form.set_errors(errors)
        if errors:
            raise StudioError("; ".join(f"{k}: {v}" for k, v in errors.items()))
        repo = values.get("repo")
        profile = Profile(
            name=values.get("name", ""),
            tool=values.get("tool") or None,
            repo=str(Path(repo).expanduser()) if repo else None,
            python=python,
            env=env,
            gpus=values.get("gpus") or None,
            slurm=slurm,
            description=values.get("description", ""),
        )
        old = self.pane.store.load_profile(profile.name)
        if old and old.get("slurm", {}).get("extra"):
            profile.slurm["extra"] = old["slurm"]["extra"]
        profile.validate()
        return profile

    def save(self) -> bool:
        try:
            profile = self.profile()
        except StudioError as error:
            self.result_text.setPlainText(error.message)
            return False
        self.pane.store.save_profile(profile.name, profile.to_dict())
        self._reload(select=profile.name)
        self.result_text.setPlainText(f"Saved {profile.name}.")
        return True

    def _delete(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        self.pane.store.delete_profile(item.text())
        self._reload()
        self._new()

    def _check(self) -> None:
        try:
            profile = self.profile()
        except StudioError as error:
            self.result_text.setPlainText(error.message)
            return
        self.result_text.setPlainText("Checking...")
        run_task(
            _check_profile,
            profile,
            on_done=lambda checks: self.result_text.setPlainText(
                "\n".join(f"{'ok ' if c.ok else 'BAD'} {c.what}: {c.detail}" for c in checks)
            ),
            on_error=lambda message, _d: self.result_text.setPlainText(message),
        )


# -- the pane --------------------------------------------------------------------------------------------
class JobsPane(QWidget):
    """Queue table, live log with search, loss curve, artifacts, chain view and job actions."""

    def __init__(self, context: AppContext, parent: QWidget | None = None, poll_ms: int = 100) -> None:
        super().__init__(parent)
        self.context = context
        db = Path(context.jobs_db)
        self.store = JobStore(db)
        self._data_version = -1
        self._rev = 0
        self._epoch = -1
        self._selected: int | None = None
        self._selected_attempt = 0
        self._selected_rev = -1
        self._tail: LogTail | None = None
        self._last_step: float | None = None
        self._plot_x: list[float] = []
        self._plot_y: list[float] = []
        self._status = ""
        self._last_supervisor_check = 0.0
        self._chain_ids: set[int] = set()

        # toolbar
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
        self.duplicate_action = self._action("Duplicate", lambda: self.act("duplicate"), "Queue a copy")
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

        # queue table
        self.model = JobsModel(self)
        self.proxy = JobsFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView(self)
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        # sorting is done by the model itself (see JobsModel.sort), not by the filter proxy
        self.table.horizontalHeader().setSortIndicatorShown(True)
        self.table.horizontalHeader().setSectionsClickable(True)
        self.table.horizontalHeader().setSortIndicator(COL_ID, Qt.SortOrder.DescendingOrder)
        self.table.horizontalHeader().sortIndicatorChanged.connect(self.model.sort)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setAlternatingRowColors(True)
        self.table.setItemDelegateForColumn(COL_PROGRESS, ProgressDelegate(self.table))
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.doubleClicked.connect(lambda _i: self.tabs.setCurrentWidget(self.details))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        for column, width in (
            (COL_ID, 56),
            (COL_NAME, 200),
            (COL_TEMPLATE, 150),
            (COL_RUNNER, 72),
            (COL_STATE, 130),
            (COL_PROGRESS, 240),
            (COL_ETA, 70),
            (COL_GPU, 50),
            (COL_STARTED, 80),
            (COL_ELAPSED, 80),
        ):
            header.resizeSection(column, width)
        header.setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        delete_shortcut = QAction(self.table, shortcut=QKeySequence.StandardKey.Delete)
        delete_shortcut.triggered.connect(lambda: self.act("cancel"))
        self.table.addAction(delete_shortcut)

        self.empty = QLabel(
            "No jobs yet.\n\nUse New job to queue a Cosmos post-training, an IDM run, a LeIsaac session or any "
            "command,\nor from a terminal: rollout-studio jobs submit TEMPLATE ...\n\n"
            "Jobs keep running when this window is closed.",
            self,
        )
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.queue_stack = QStackedWidget(self)
        self.queue_stack.addWidget(self.empty)
        self.queue_stack.addWidget(self.table)

        # log
        self.log = LogView(self)
        self.log_title = QLabel("Log", self)
        log_box = QWidget(self)
        log_layout = QVBoxLayout(log_box)
        log_layout.setContentsMargins(0, 0, 0, 0)
        log_layout.addWidget(self.log_title)
        log_layout.addWidget(self.log, 1)

        # progress / loss
        self.plot = pg.PlotWidget(self)
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", "loss")
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.curve = self.plot.plot([], [], pen=pg.mkPen("#4aa3ff", width=2), symbol=None)
        self.curve.setDownsampling(auto=True, method="peak")
        self.log_y = QCheckBox("Log scale", self)
        self.log_y.toggled.connect(lambda on: self.plot.setLogMode(y=on))
        self.progress_label = QLabel("Select a job to see its progress.", self, wordWrap=True)
        progress_tab = QWidget(self)
        progress_layout = QVBoxLayout(progress_tab)
        progress_layout.addWidget(self.progress_label)
        progress_layout.addWidget(self.plot, 1)
        progress_layout.addWidget(self.log_y)

        # artifacts
        self.artifacts = QTreeWidget(self)
        self.artifacts.setHeaderLabels(["Kind", "Path"])
        self.artifacts.setRootIsDecorated(False)
        self.artifacts.itemDoubleClicked.connect(
            lambda item, _c: self.open_artifact(item.data(1, Qt.ItemDataRole.UserRole))
        )
        open_browse = QPushButton("Open in Browse", self)
        open_browse.clicked.connect(lambda: self.open_artifact(self._current_artifact(), browse=True))
        show_folder = QPushButton("Show folder", self)
        show_folder.clicked.connect(lambda: self.open_artifact(self._current_artifact(), browse=False))
        copy_path = QPushButton("Copy path", self)
        copy_path.clicked.connect(lambda: QApplication.clipboard().setText(self._current_artifact() or ""))
        self.table_preview = QTableWidget(self)
        self.table_preview.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table_preview.hide()
        self.artifacts.currentItemChanged.connect(lambda *_: self._preview_artifact())
        artifacts_tab = QWidget(self)
        artifacts_layout = QVBoxLayout(artifacts_tab)
        artifacts_layout.addWidget(self.artifacts, 1)
        artifacts_layout.addWidget(self.table_preview, 2)
        row = QHBoxLayout()
        for button in (open_browse, show_folder, copy_path):
            row.addWidget(button)
        row.addStretch(1)
        artifacts_layout.addLayout(row)

        # chain
        self.chain = QTreeWidget(self)
        self.chain.setHeaderLabels(["Job", "Template", "State"])
        self.chain.itemDoubleClicked.connect(
            lambda item, _c: self.select_job(item.data(0, Qt.ItemDataRole.UserRole))
        )

        # details
        self.details = QPlainTextEdit(self, readOnly=True)
        self.details.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)

        self.tabs = QTabWidget(self)
        self.tabs.addTab(progress_tab, "Progress")
        self.tabs.addTab(artifacts_tab, "Artifacts")
        self.tabs.addTab(self.chain, "Chain")
        self.tabs.addTab(self.details, "Details")

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

        self.poll_timer = QTimer(self)
        self.poll_timer.setInterval(poll_ms)
        self.poll_timer.timeout.connect(self.poll)
        self.slow_timer = QTimer(self)
        self.slow_timer.setInterval(1000)
        self.slow_timer.timeout.connect(self.slow_poll)
        self.poll()
        self.slow_poll()
        self.poll_timer.start()
        self.slow_timer.start()

    # -- helpers ------------------------------------------------------------------------------------
    def _action(self, text: str, slot, tip: str) -> QAction:  # noqa: ANN001
        action = QAction(text, self)
        action.setToolTip(tip)
        action.triggered.connect(slot)
        self.toolbar.addAction(action)
        return action

    def _fill_template_menu(self) -> None:
        self.template_menu.clear()
        templates = load_templates()
        category = None
        for template in templates:
            if template.category != category:
                category = template.category
                self.template_menu.addSection(category or "Other")
            action = self.template_menu.addAction(template.title)
            action.setToolTip(template.description)
            action.triggered.connect(lambda _=False, name=template.name: self.open_submit(name))

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
        jobs = [self.model.job(i) for i in self.selected_ids()]
        jobs = [j for j in jobs if j is not None]
        self.cancel_action.setEnabled(any(j.state in ACTIVE_STATES for j in jobs))
        self.retry_action.setEnabled(any(j.state in FINAL_STATES for j in jobs))
        self.duplicate_action.setEnabled(bool(jobs))
        self.remove_action.setEnabled(any(j.state in FINAL_STATES for j in jobs))
        self.edit_action.setEnabled(len(jobs) == 1 and jobs[0].state == QUEUED and not jobs[0].external_id)
        self.after_action.setEnabled(len(jobs) == 1)

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

    # -- polling --------------------------------------------------------------------------------------
    def poll(self) -> None:
        """Cheap: a pragma tells whether anything changed; only changed rows are read."""
        version = self.store.data_version()
        if version != self._data_version:
            self._data_version = version
            self._refresh_jobs()
        self._read_log()

    def _refresh_jobs(self) -> None:
        rev, epoch = self.store.revision()
        if epoch != self._epoch:
            self._epoch = epoch
            selected = self._selected
            self.model.reset(self.store.list_jobs())
            self._rev = rev
            self.select_job(selected)
        elif rev != self._rev:
            changed = self.store.changed_since(self._rev)
            self._rev = max([rev] + [j.rev for j in changed])
            self.model.apply(changed)
            if self._selected is not None and any(j.id in self._chain_ids for j in changed):
                self._fill_chain(self.model.job(self._selected) or self.store.get(self._selected))
        else:
            return
        self.queue_stack.setCurrentWidget(self.table if self.model.jobs else self.empty)
        self._update_actions()
        self._update_status()
        if self._selected is not None:
            job = self.model.job(self._selected)
            if job is not None and job.rev != self._selected_rev:
                self._show_job(job.id)

    def slow_poll(self) -> None:
        self.model.refresh_times()
        if self._selected is not None:
            self._read_points()
        active = any(j.state in ACTIVE_STATES for j in self.model.jobs[:200]) or self.store.count(
            ACTIVE_STATES
        )
        now = time.monotonic()
        if active and now - self._last_supervisor_check > 5.0:
            self._last_supervisor_check = now
            ensure_supervisor(self.store.path)  # a restarted app re-attaches to every job

    def _update_status(self) -> None:
        counts = service.state_counts(self.store)
        running, queued = counts["running"], counts["queued"]
        parts = []
        if running:
            parts.append(f"{running} job{'s' if running != 1 else ''} running")
        if queued:
            parts.append(f"{queued} queued")
        total = self.store.get_setting("gpus_total")
        if running and total and total != "0":
            used = sum(j.gpus for j in self.model.jobs if j.state == RUNNING and j.runner == "local")
            parts.append(f"GPU {used}/{total}")
        text = ", ".join(parts) or "no jobs running"
        if text != self._status:
            self._status = text
            self.context.set_status("jobs", text)

    def status_fields(self) -> dict[str, str]:
        return {"jobs": self._status}

    # -- selected job ------------------------------------------------------------------------------------
    def _selection_changed(self, *_args: Any) -> None:
        self._update_actions()
        ids = self.selected_ids()
        job_id = ids[0] if ids else None
        if job_id != self._selected:
            self._selected = job_id
            self._selected_attempt = 0
            if job_id is None:
                self.log.clear()
                self._tail = None
                self.log_title.setText("Log")
            self._show_job(job_id)

    def _show_job(self, job_id: int | None) -> None:
        if job_id is None:
            self.details.clear()
            self.artifacts.clear()
            self.chain.clear()
            self.curve.setData([], [])
            self.progress_label.setText("Select a job to see its progress.")
            return
        job = self.store.get(job_id)
        self._selected_rev = job.rev
        if (
            job.attempt != self._selected_attempt
            or self._tail is None
            or str(self._tail.path) != job.log_path
        ):
            self._selected_attempt = job.attempt
            self._start_log(job)
            self._plot_x, self._plot_y, self._last_step = [], [], None
        self._read_points()
        self.log_title.setText(f"Log of job {job.id} (attempt {job.attempt}): {job.log_path}")
        self._fill_progress(job)
        self._fill_artifacts(job)
        self._fill_chain(job)
        self._fill_details(job)

    def _start_log(self, job: Job) -> None:
        self.log.clear()
        self._tail = LogTail(job.log_path or "")
        skipped = self._tail.skip_to_end(keep=LOG_INITIAL_BYTES)
        if skipped:
            self.log.append_notice(f"[... {skipped / 1e6:.1f} MB earlier in {job.log_path} ...]")
        self._read_log(limit=LOG_INITIAL_BYTES)

    def _read_log(self, limit: int = LOG_BYTES_PER_TICK) -> None:
        if self._tail is None:
            return
        pending = self._tail.pending()
        if pending <= 0:
            return
        if pending > LOG_BACKLOG_SKIP:  # more than anyone can read: jump to the newest output
            skipped = self._tail.skip_to_end(keep=LOG_BYTES_PER_TICK)
            self.log.append_notice(f"[... {skipped / 1e6:.1f} MB skipped: the full log is on disk ...]")
        job = self.model.job(self._selected) if self._selected is not None else None
        text = self._tail.read(final=bool(job and job.final), limit=limit)
        if text:
            self.log.append_text(text)

    def _read_points(self) -> None:
        if self._selected is None:
            return
        points = self.store.points(self._selected, self._selected_attempt or None, after_step=self._last_step)
        if not points:
            return
        for point in points:
            if point.loss is not None:
                self._plot_x.append(point.step)
                self._plot_y.append(point.loss)
        self._last_step = points[-1].step
        self.curve.setData(self._plot_x, self._plot_y)

    def _fill_progress(self, job: Job) -> None:
        lines = [f"Job {job.id} · {state_text(job)}"]
        if job.progress_text:
            lines.append(f"Progress: {job.progress_text}")
        if job.loss is not None:
            lines.append(f"Loss: {job.loss:.5g}")
        eta = job.eta()
        if eta is not None:
            lines.append(f"ETA: {_duration(eta)} (done about {_when(time.time() + eta)})")
        if job.elapsed() is not None:
            lines.append(f"Elapsed: {_duration(job.elapsed())}")
        if job.error and job.state != "succeeded":
            lines.append(f"Problem: {job.error}")
        self.progress_label.setText("\n".join(lines))

    def _fill_artifacts(self, job: Job) -> None:
        current = self._current_artifact()
        self.artifacts.clear()
        for artifact in self.store.artifacts(job.id):
            item = QTreeWidgetItem([artifact.kind, artifact.path])
            item.setToolTip(1, artifact.label or artifact.path)
            item.setData(1, Qt.ItemDataRole.UserRole, artifact.path)
            item.setData(0, Qt.ItemDataRole.UserRole, artifact.kind)
            self.artifacts.addTopLevelItem(item)
            if artifact.path == current:
                self.artifacts.setCurrentItem(item)
        self.artifacts.resizeColumnToContents(0)
        self.tabs.setTabText(1, f"Artifacts ({self.artifacts.topLevelItemCount()})")

    def _fill_chain(self, job: Job) -> None:
        self.chain.clear()
        ids = self.store.chain_of(job.id)
        self._chain_ids = set(ids) if len(ids) > 1 else set()
        self.tabs.setTabText(2, f"Chain ({len(ids)})" if len(ids) > 1 else "Chain")
        if len(ids) <= 1:
            return
        jobs = {i: self.model.job(i) or self.store.get(i) for i in ids}
        deps = {i: [d for d in self.store.deps_of(i) if d in jobs] for i in ids}
        children: dict[int, list[int]] = {i: [] for i in ids}
        for child, parents in deps.items():
            for parent in parents:
                children[parent].append(child)

        def add(parent_item: QTreeWidgetItem | None, job_id: int, depth: int = 0) -> None:
            other = jobs[job_id]
            item = QTreeWidgetItem([f"#{other.id} {other.name}", other.template, state_text(other)])
            item.setData(0, Qt.ItemDataRole.UserRole, other.id)
            item.setForeground(2, STATE_COLOURS.get(other.state, QColor()))
            if other.id == job.id:
                font = item.font(0)
                font.setBold(True)
                item.setFont(0, font)
            if parent_item is None:
                self.chain.addTopLevelItem(item)
            else:
                parent_item.addChild(item)
            if depth < 50:
                for child in sorted(children[job_id]):
                    add(item, child, depth + 1)

        for root in sorted(i for i in ids if not deps[i]):
            add(None, root)
        self.chain.expandAll()
        self.chain.resizeColumnToContents(0)

    def _fill_details(self, job: Job) -> None:
        lines = [
            f"Job {job.id}: {job.name}",
            f"Template: {job.template}    Runner: {job.runner}    Profile: {job.profile or '-'}",
            f"State: {state_text(job)}"
            + (f"    exit code {job.exit_code}" if job.exit_code is not None else ""),
            f"Attempt: {job.attempt} (automatic retries {job.max_retries})    Priority: {job.priority}",
            f"Created: {_when(job.created_at)}    Started: {_when(job.started_at)}    Ended: {_when(job.ended_at)}",
        ]
        if job.error:
            lines.append(f"Problem: {job.error}")
        if job.external_id:
            lines.append(f"Slurm job: {job.external_id}")
        if job.deps:
            lines.append("After: " + ", ".join(f"#{d}" for d in job.deps))
        lines += ["", f"cd {shlex.quote(job.cwd or '')}"]
        lines += [f"{k}={shlex.quote(v)}" for k, v in (job.env or {}).items()]
        lines.append(shlex.join(job.argv or []))
        lines += ["", "Parameters:", json.dumps(job.params or {}, indent=2, ensure_ascii=False)]
        lines += ["", f"Log: {job.log_path}"]
        if job.run_spec and job.run_spec.get("slurm_script"):
            lines.append(f"Batch script: {job.run_spec['slurm_script']}")
        self.details.setPlainText("\n".join(lines))

    def _preview_artifact(self, max_rows: int = 500) -> None:
        """A CSV result (e.g. DreamGen Bench scores) is shown as a table."""
        path = self._current_artifact()
        if not path or not path.lower().endswith(".csv") or not Path(path).is_file():
            self.table_preview.hide()
            return
        try:
            with open(path, newline="", encoding="utf-8", errors="replace") as handle:
                rows = [row for _, row in zip(range(max_rows + 1), csv.reader(handle), strict=False)]
        except OSError:
            self.table_preview.hide()
            return
        header, body = (rows[0], rows[1:]) if rows else ([], [])
        self.table_preview.clear()
        self.table_preview.setColumnCount(len(header))
        self.table_preview.setHorizontalHeaderLabels(header)
        self.table_preview.setRowCount(len(body))
        for r, row in enumerate(body):
            for c, value in enumerate(row[: len(header)]):
                self.table_preview.setItem(r, c, QTableWidgetItem(value))
        self.table_preview.resizeColumnsToContents()
        self.table_preview.show()

    def _current_artifact(self) -> str | None:
        item = self.artifacts.currentItem()
        return item.data(1, Qt.ItemDataRole.UserRole) if item else None

    def open_artifact(self, path: str | None, browse: bool | None = None) -> None:
        if not path:
            return
        kind = None
        for i in range(self.artifacts.topLevelItemCount()):
            item = self.artifacts.topLevelItem(i)
            if item.data(1, Qt.ItemDataRole.UserRole) == path:
                kind = item.data(0, Qt.ItemDataRole.UserRole)
        if browse is None:
            browse = kind in OPENABLE_IN_BROWSE
        if browse:
            self.context.openDatasetRequested.emit(path)
            self.context.showPaneRequested.emit("browse")
            return
        target = Path(path)
        folder = target if target.is_dir() else target.parent
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    # -- actions --------------------------------------------------------------------------------------------
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

        run_task(
            _action,
            str(self.store.path),
            action,
            ids,
            on_done=done,
            on_error=lambda message, _details: QMessageBox.warning(self, "Jobs", message),
        )

    def open_submit(self, template: str | None = None, after_selected: bool = False) -> SubmitDialog:
        after = self.selected_ids()[:1] if after_selected else None
        dialog = SubmitDialog(self, template=template, after=after)
        dialog.accepted.connect(lambda: (self.poll(), self.select_job(getattr(dialog, "result_id", None))))
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

    # -- layout persistence ------------------------------------------------------------------------------
    def save_state(self) -> dict[str, Any]:
        return {
            "split": [int(s) for s in self.split.sizes()],
            "bottom": [int(s) for s in self.bottom.sizes()],
            "header": bytes(self.table.horizontalHeader().saveState()).hex(),
            "tab": self.tabs.currentIndex(),
        }

    def restore_state(self, state: dict[str, Any]) -> None:
        from PySide6.QtCore import QByteArray

        if state.get("split"):
            self.split.setSizes([int(s) for s in state["split"]])
        if state.get("bottom"):
            self.bottom.setSizes([int(s) for s in state["bottom"]])
        if state.get("header"):
            self.table.horizontalHeader().restoreState(QByteArray(bytes.fromhex(state["header"])))
        if "tab" in state:
            self.tabs.setCurrentIndex(int(state["tab"]))

    def closeEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt API
        self.poll_timer.stop()
        self.slow_timer.stop()
        super().closeEvent(event)
