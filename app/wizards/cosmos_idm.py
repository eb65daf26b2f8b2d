"""Wizards for the Cosmos-Predict 2.5 and GR00T-Dreams IDM inputs (pipeline steps 4, 7, 10 and 12).

Four flows of the Convert pane's shape: 1 inputs (drag and drop or pick) -> 2 options with a live
preview -> 3 run (progress, cancel, log) -> 4 done (open the result in Browse, open its folder):

    cosmos_trainset   a LeRobot dataset (or its curated selection) -> videos/<n>.mp4 + metas/<n>.txt
    cosmos_batch      a dataset -> a JSONL batch inference file, with an editable, live-checked settings form
    idm_prepare       Cosmos outputs -> the IDM's input dataset, previewing grouping and skipped samples
    idm_kit           a dataset + an embodiment preset (editable) -> modality.json, stats.json,
                      DataConfig, conf.yaml (installed into a chosen checkpoint)

The backend does the work (backend.cosmos, backend.idm); previews run in workers (latest request
wins), so the GUI thread never waits. ``WIZARD_FAMILIES`` lists them for the Convert pane.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QBrush, QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.tasks import Task, run_task
from app.wizards.plumbing import WizardRunEndings, WizardSteps, watch_changes
from backend.cosmos.batch import (
    COSMOS_FPS,
    DEFAULTS,
    HELP,
    IDM_FRAMES,
    INFERENCE_TYPES,
    BatchOptions,
    build_batch,
    check_batch_file,
    check_settings,
    plan_batch,
)
from backend.cosmos.selection import parse_indices
from backend.cosmos.trainset import (
    DEFAULT_PROMPT_TEMPLATE,
    TRAIN_WINDOW_FRAMES,
    TrainsetOptions,
    build_trainset,
    plan_trainset,
)
from backend.errors import StudioError
from backend.idm.kit import KitOptions, build_kit, builtin_presets, load_preset, plan_kit, slices
from backend.idm.prepare import PrepareOptions, plan_prepare, prepare_idm_dataset
from widgets.palette import color
from widgets.wizard_done import DoneView
from widgets.wizard_frame import WizardFrame
from widgets.wizard_inputs import DropPath
from widgets.wizard_run import RunView

STEPS = ["Inputs", "Options", "Run", "Done"]
PREVIEW_DELAY_MS = 300
NORMALIZATIONS = ("min_max", "mean_std", "q99", "binary")


def _call(fn: Callable[..., Any], *args: Any, progress: Any = None) -> Any:
    """Run a preview function (which takes no progress) in a worker."""
    return fn(*args)


def _is_dataset(path: Path) -> bool:
    return (path.is_dir() and (path / "meta" / "info.json").is_file()) or (
        path.is_file() and path.suffix.lower() in (".hdf5", ".h5", ".he5")
    )


def _escape(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _item(value: Any, editable: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem("" if value is None else str(value))
    if not editable:
        item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    return item


def fill_table(
    table: QTableWidget, headers: list[str], rows: list[list[Any]], bad: set[int] | None = None
) -> None:
    table.setColumnCount(len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().setVisible(False)  # row numbers from 1 beside episode numbers from 0 confuse
    table.setRowCount(len(rows))
    red = QBrush(color("bad"))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            cell = _item(value)
            if bad and r in bad:
                cell.setForeground(red)
            table.setItem(r, c, cell)
    table.resizeColumnsToContents()
    table.horizontalHeader().setSectionResizeMode(len(headers) - 1, QHeaderView.ResizeMode.Stretch)


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_") or "data"


def _spin(minimum: int, maximum: int, value: int) -> QSpinBox:
    box = QSpinBox()
    box.setRange(minimum, maximum)
    box.setValue(value)
    return box


# --------------------------------------------------------------------------------------------------
# the shared wizard


class CosmosIdmWizard(WizardSteps, WizardRunEndings, QWidget):
    """Inputs -> options with live preview -> run -> done. Subclasses fill in the hooks."""

    key = ""
    title = ""
    summary = ""
    finished = Signal(object)  # the backend's result when a run completes

    def __init__(self, context: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.workspace = Path(getattr(context, "workspace", Path.home()))
        self.frame = WizardFrame(STEPS)
        self.inputs_page = QWidget()
        self.inputs_form = QFormLayout(self.inputs_page)
        self.options_widget = QWidget()
        self.options_form = QFormLayout()
        options_column = QVBoxLayout(self.options_widget)
        options_column.addLayout(self.options_form)
        options_column.addStretch(1)
        self.status = QLabel("Add inputs to see what will be written.")
        self.status.setWordWrap(True)
        self.messages = QLabel("")
        self.messages.setWordWrap(True)
        self.messages.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.tabs = QTabWidget()
        preview = QWidget()
        column = QVBoxLayout(preview)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.status)
        column.addWidget(self.messages)
        column.addWidget(self.tabs, 1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.options_widget)
        options = QSplitter(Qt.Orientation.Horizontal)
        options.addWidget(scroll)
        options.addWidget(preview)
        options.setStretchFactor(1, 2)
        scroll.setMinimumWidth(380)
        options.setSizes([460, 740])
        self.run_view = RunView()
        self.done_view = DoneView()
        self.done_view.again_button.setText("Start again")
        self.frame.addPage(self.inputs_page)
        self.frame.addPage(options)
        self.frame.addPage(self.run_view)
        self.frame.addPage(self.done_view)
        heading = QLabel(f"<b>{_escape(self.title)}</b> — {_escape(self.summary)}")
        heading.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(heading)
        layout.addWidget(self.frame, 1)

        self._generation = 0
        self._plan_generation = -1
        self._plan: dict[str, Any] = {}
        self._preview_task: Task | None = None
        self._run_task: Task | None = None
        self._out_touched = False
        self._started = 0.0
        self.result: Any = None
        self.last_error: str | None = None
        self.result_dataset: str | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(PREVIEW_DELAY_MS)
        self._timer.timeout.connect(self.refresh_preview)

        self.out = self.make_out()
        self.out.edit.textEdited.connect(lambda _t: setattr(self, "_out_touched", True))
        self.build()
        self.options_form.addRow("Output", self.out)
        self.watch(self.out)

        self.connect_steps()

    # -- hooks ------------------------------------------------------------------------------------
    def make_out(self) -> DropPath:
        return DropPath("output folder", folder=True)

    def build(self) -> None:
        raise NotImplementedError

    def ready(self) -> tuple[bool, str]:
        return False, "add inputs"

    def default_out(self) -> Path | None:
        return None

    def local_problems(self) -> tuple[list[str], list[str]]:
        """Instant checks of the options (no worker): (errors, warnings)."""
        return [], []

    def plan_call(self) -> tuple[Callable[..., Any], tuple]:
        raise NotImplementedError

    def show_plan(self, plan: dict[str, Any]) -> None:
        raise NotImplementedError

    def run_call(self) -> tuple[Callable[..., Any], tuple]:
        raise NotImplementedError

    def done_summary(self, result: Any) -> tuple[dict[str, Any], str | None]:
        """(dict for the done page, dataset path to open in Browse or None)."""
        raise NotImplementedError

    # -- helpers for subclasses -------------------------------------------------------------------
    def watch(self, *widgets: QWidget) -> None:
        watch_changes(widgets, self._changed)

    def add_tab(self, widget: QWidget, title: str) -> QWidget:
        self.tabs.addTab(widget, title)
        return widget

    def out_path(self) -> Path:
        return Path(self.out.path())

    # -- navigation (WizardSteps) ------------------------------------------------------------------
    def entering_options(self) -> None:
        if not self._out_touched:
            default = self.default_out()
            if default is not None and self.out.path() != str(default):
                self.out.setPath(default)
        self.schedule_preview(immediate=True)

    def inputs_ready(self) -> tuple[bool, str]:
        return self.ready()

    def options_ready(self) -> tuple[bool, str]:
        return self.can_run()

    def can_run(self) -> tuple[bool, str]:
        if not self.out.path():
            return False, "choose an output"
        errors, _ = self.local_problems()
        if errors:
            return False, "fix the options shown in red"
        if not self.preview_ready():
            return False, "computing the preview…"
        if self._plan.get("errors"):
            return False, "fix the problems shown in the preview"
        return True, ""

    # -- preview ----------------------------------------------------------------------------------
    def _changed(self, *_args: Any) -> None:
        self._generation += 1
        self._show_messages()
        self._update_next()
        if self.frame.current() == 1:
            self.schedule_preview()

    def refresh_preview(self) -> None:
        ok, note = self.ready()
        if not ok:
            self.status.setText(note)
            return
        errors, _ = self.local_problems()
        if errors:
            self._show_messages()
            return
        try:
            fn, args = self.plan_call()
        except (StudioError, ValueError) as error:
            self._plan_failed(self._generation, str(error))
            return
        generation = self._generation
        self.status.setText("Computing the preview…")
        if self._preview_task is not None:
            self._preview_task.cancel()
        self._preview_task = run_task(
            _call,
            fn,
            *args,
            on_done=lambda plan, g=generation: self._plan_done(g, plan),
            on_error=lambda message, _details, g=generation: self._plan_failed(g, message),
        )

    def _plan_done(self, generation: int, plan: dict[str, Any]) -> None:
        if generation != self._generation:
            return  # a newer request is on its way: latest wins
        self._plan = plan or {}
        self._plan_generation = generation
        self.status.setText("")
        self.show_plan(self._plan)
        self._show_messages()
        self._update_next()

    def _plan_failed(self, generation: int, message: str) -> None:
        if generation != self._generation:
            return
        self._plan = {"errors": [message], "warnings": []}
        self._plan_generation = generation
        self.status.setText("The preview failed.")
        self._show_messages()
        self._update_next()

    def _show_messages(self) -> None:
        local_errors, local_warnings = self.local_problems()
        fresh = self._plan_generation == self._generation
        errors = local_errors + (self._plan.get("errors", []) if fresh else [])
        warnings = local_warnings + (self._plan.get("warnings", []) if fresh else [])
        lines = [f"<span style='color:{color('bad').name()}'>✗ {_escape(e)}</span>" for e in errors]
        lines += [f"<span style='color:{color('flag').name()}'>⚠ {_escape(w)}</span>" for w in warnings]
        self.messages.setText("<br>".join(lines))

    def message_texts(self) -> tuple[list[str], list[str]]:
        """(errors, warnings) shown now (for tests and the status bar)."""
        local_errors, local_warnings = self.local_problems()
        fresh = self._plan_generation == self._generation
        return (
            local_errors + (self._plan.get("errors", []) if fresh else []),
            local_warnings + (self._plan.get("warnings", []) if fresh else []),
        )

    # -- run --------------------------------------------------------------------------------------
    def start_run(self) -> None:
        if self._run_task is not None and self.run_view.running:
            return
        ok, note = self.can_run()
        if not ok:
            self.frame.setNextEnabled(False, note)
            return
        fn, args = self.run_call()
        self.result, self.last_error, self.result_dataset = None, None, None
        self._go(2)
        self.run_view.start(f"{self.title} → {self.out.path()}")
        for warning in self._plan.get("warnings", []):
            self.run_view.appendLog(warning, "warning")
        self._started = time.monotonic()
        task = run_task(
            fn,
            *args,
            outputs=[self.out.path()],
            on_done=self._run_done,
            on_error=self._run_failed,
            on_progress=self.run_view.setProgress,
            on_cancelled=self._run_cancelled,
        )
        task.signals.warning.connect(lambda text: self.run_view.appendLog(text, "warning"))
        self._run_task = task
        self._update_next()
        self._status(f"running: {self.title}")

    def cancel(self) -> None:
        if self._run_task is not None:
            self._run_task.cancel()

    def _run_done(self, result: Any) -> None:
        self.result = result
        summary, dataset = self.done_summary(result)
        summary.setdefault("seconds", time.monotonic() - self._started)
        self.result_dataset = dataset
        self.run_view.finish(True, f"wrote {summary.get('output')}")
        self.done_view.setResult(summary)
        if summary.get("details"):
            self.done_view.details.setText(summary["details"])
        self.done_view.open_button.setVisible(dataset is not None)
        if dataset is not None:
            self.done_view._output = dataset  # noqa: SLF001 - the button opens the dataset
        self._done_folder = str(summary.get("output", ""))
        self._go(3)
        self._status("")
        self.finished.emit(result)

    # -- done -------------------------------------------------------------------------------------
    def failure_title(self) -> str:
        return f"{self.title} failed"

    def _open_folder(self, _path: str) -> None:
        target = Path(getattr(self, "_done_folder", "") or self.out.path())
        folder = target if target.is_dir() else target.parent
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


# --------------------------------------------------------------------------------------------------
# 1. Cosmos post-training set


class _DatasetInput:
    """A dropped dataset plus 'use its curation', shared by the dataset-based flows."""

    def add_dataset_inputs(self: Any, note: str) -> None:
        self.dataset = DropPath(
            "Drop a LeRobot dataset folder (or a LeIsaac .hdf5) here, or browse",
            accept=lambda p: p.exists(),
            folder=True,
        )
        self.curated = QCheckBox("Use the curation made in Browse (excluded episodes, trims, task edits)")
        hint = QLabel(note)
        hint.setWordWrap(True)
        self.inputs_form.addRow("Dataset", self.dataset)
        self.inputs_form.addRow("", self.curated)
        self.inputs_form.addRow("", hint)
        self.dataset.pathChanged.connect(lambda _p: (self._changed(), self._update_next()))
        self.curated.toggled.connect(self._changed)

    def dataset_ready(self: Any) -> tuple[bool, str]:
        path = self.dataset.path()
        if not path:
            return False, "drop a dataset"
        if not Path(path).exists():
            return False, f"{path} does not exist"
        if not _is_dataset(Path(path)):
            return False, "not a LeRobot dataset folder (meta/info.json) or a LeIsaac .hdf5"
        return True, ""


def _camera_combo() -> QComboBox:
    box = QComboBox()
    box.addItem("front (or the first camera)", None)
    return box


def _set_cameras(box: QComboBox, cameras: list[str], current: str | None) -> None:
    if [box.itemData(i) for i in range(1, box.count())] == cameras:
        return
    chosen = box.currentData()
    box.blockSignals(True)
    box.clear()
    box.addItem(f"{current} (default)" if current else "default", None)
    for camera in cameras:
        box.addItem(camera, camera)
    index = box.findData(chosen)
    box.setCurrentIndex(index if index >= 0 else 0)
    box.blockSignals(False)


class CosmosTrainsetWizard(_DatasetInput, CosmosIdmWizard):
    key = "cosmos_trainset"
    title = "Cosmos post-training set"
    summary = (
        f"videos/<n>.mp4 + metas/<n>.txt from a dataset's episodes: one camera, one prompt per "
        f"episode, H.264, episodes of more than {TRAIN_WINDOW_FRAMES} frames"
    )

    def build(self) -> None:
        self.add_dataset_inputs("Each episode becomes one training video; its task fills the prompt.")
        self.camera = _camera_combo()
        self.template = QLineEdit(DEFAULT_PROMPT_TEMPLATE)
        self.template.setToolTip("{task} is replaced by the episode's task")
        self.episodes = QLineEdit()
        self.episodes.setPlaceholderText("all (e.g. 0,2,5-9)")
        self.keep_short = QCheckBox(f"Keep episodes of {TRAIN_WINDOW_FRAMES} frames or fewer")
        self.keep_short.setToolTip(
            f"The GR00T post-training experiment samples {TRAIN_WINDOW_FRAMES}-frame "
            "windows: shorter clips cannot be used."
        )
        for label, widget in (
            ("Camera", self.camera),
            ("Prompt template", self.template),
            ("Episodes", self.episodes),
            ("", self.keep_short),
        ):
            self.options_form.addRow(label, widget)
        self.watch(self.camera, self.template, self.episodes, self.keep_short)
        self.table = self.add_tab(QTableWidget(), "Episodes")
        self.tree = self.add_tab(QPlainTextEdit(), "Output")
        self.tree.setReadOnly(True)

    def ready(self) -> tuple[bool, str]:
        return self.dataset_ready()

    def default_out(self) -> Path | None:
        path = Path(self.dataset.path())
        return self.workspace / "cosmos" / f"{_safe_name(path.stem)}_trainset"

    def options(self) -> TrainsetOptions:
        return TrainsetOptions(
            camera=self.camera.currentData(),
            prompt_template=self.template.text(),
            episodes=parse_indices(self.episodes.text()),
            keep_short=self.keep_short.isChecked(),
            curation=True if self.curated.isChecked() else None,
        )

    def local_problems(self) -> tuple[list[str], list[str]]:
        errors = []
        if "{task}" not in self.template.text():
            return [], ["the prompt template has no {task}: every video gets the same prompt"]
        try:
            parse_indices(self.episodes.text())
        except StudioError as error:
            errors.append(error.problem)
        return errors, []

    def plan_call(self) -> tuple[Callable[..., Any], tuple]:
        return plan_trainset, (self.dataset.path(), self.options())

    def show_plan(self, plan: dict[str, Any]) -> None:
        if "cameras" in plan:
            _set_cameras(self.camera, plan["cameras"], plan.get("camera"))
        rows = plan.get("episodes", [])
        kept = [r for r in rows if r.get("kept")]
        self.status.setText(
            f"{len(kept)} of {len(rows)} episodes → {len(kept)} videos from camera {plan.get('camera', '')}"
        )
        fill_table(
            self.table,
            ["episode", "frames", "kept", "video", "prompt", "how", "reason"],
            [
                [
                    r["episode"],
                    r["frames"],
                    "✓" if r["kept"] else "✗",
                    f"{r['stem']}.mp4" if r["kept"] else "",
                    r.get("prompt", ""),
                    r.get("video", ""),
                    r.get("reason", ""),
                ]
                for r in rows
            ],
            bad={i for i, r in enumerate(rows) if not r["kept"]},
        )
        self.tree.setPlainText("\n".join(plan.get("tree", [])))

    def run_call(self) -> tuple[Callable[..., Any], tuple]:
        return build_trainset, (self.dataset.path(), self.out.path(), self.options())

    def done_summary(self, result: Any) -> tuple[dict[str, Any], str | None]:
        data = result.to_dict()
        details = [f"{len(data['written'])} videos + prompts from camera {data['camera']}"]
        details += [f"⚠ {w}" for w in data["warnings"]]
        return {
            "output": data["out"],
            "output_format": "Cosmos post-training set",
            "episodes_written": len(data["written"]),
            "frames_written": sum(w["frames"] for w in data["written"]),
            "skipped": [] if self.keep_short.isChecked() else data["too_short"],
            "warnings": data["warnings"],
            "provenance": data,
            "details": "\n".join(details),
        }, None


# --------------------------------------------------------------------------------------------------
# 2. Cosmos batch inference file


class CosmosBatchWizard(_DatasetInput, CosmosIdmWizard):
    key = "cosmos_batch"
    title = "Cosmos batch inference file"
    summary = "a JSONL file with one sample per episode: unique name, the episode's video or first frame, its prompt"

    def make_out(self) -> DropPath:
        return DropPath("batch file (.jsonl)", save=True, file_filter="JSON lines (*.jsonl)")

    def build(self) -> None:
        self.add_dataset_inputs(
            "One sample per episode; inputs that are not plain per-episode H.264 files are "
            "written beside the batch file."
        )
        self.camera = _camera_combo()
        self.episodes = QLineEdit()
        self.episodes.setPlaceholderText("all (e.g. 0,2,5-9)")
        self.prefix = QLineEdit()
        self.prefix.setPlaceholderText("the dataset's name")
        self.template = QLineEdit(DEFAULT_PROMPT_TEMPLATE)
        for label, widget in (
            ("Camera", self.camera),
            ("Episodes", self.episodes),
            ("Name prefix", self.prefix),
            ("Prompt template", self.template),
        ):
            self.options_form.addRow(label, widget)
        group = QGroupBox("Sample settings (defaults: the LeIsaac tutorial's)")
        form = QFormLayout(group)
        self.settings_widgets: dict[str, QWidget] = {}
        inference = QComboBox()
        for kind in INFERENCE_TYPES:
            inference.addItem(kind, kind)
        inference.setCurrentIndex(inference.findData(DEFAULTS["inference_type"]))
        self.settings_widgets["inference_type"] = inference
        self.settings_widgets["seed"] = _spin(0, 2**31 - 1, DEFAULTS["seed"])
        self.settings_widgets["guidance"] = _spin(0, 7, DEFAULTS["guidance"])
        self.settings_widgets["resolution"] = QLineEdit(DEFAULTS["resolution"])
        self.settings_widgets["num_output_frames"] = _spin(1, 100_000, DEFAULTS["num_output_frames"])
        self.settings_widgets["num_steps"] = _spin(1, 1000, DEFAULTS["num_steps"])
        auto = QCheckBox("")
        auto.setChecked(DEFAULTS["enable_autoregressive"])
        self.settings_widgets["enable_autoregressive"] = auto
        self.settings_widgets["chunk_size"] = _spin(1, 10_000, DEFAULTS["chunk_size"])
        self.settings_widgets["chunk_overlap"] = _spin(0, 10_000, DEFAULTS["chunk_overlap"])
        negative = QPlainTextEdit(DEFAULTS["negative_prompt"])
        negative.setMaximumHeight(80)
        self.settings_widgets["negative_prompt"] = negative
        self.same_prompt = QLineEdit()
        self.same_prompt.setPlaceholderText("empty: the template above, per episode")
        self.frames_note = QLabel("")
        for key, widget in self.settings_widgets.items():
            widget.setToolTip(HELP.get(key, ""))
            form.addRow(key, widget)
            if key == "num_output_frames":
                form.addRow("", self.frames_note)
        form.addRow("prompt (all samples)", self.same_prompt)
        self.options_form.addRow(group)
        self.watch(
            self.camera,
            self.episodes,
            self.prefix,
            self.template,
            self.same_prompt,
            *[w for k, w in self.settings_widgets.items() if k != "negative_prompt"],
        )
        negative.textChanged.connect(self._changed)
        self.table = self.add_tab(QTableWidget(), "Samples")
        self.first_line = self.add_tab(QPlainTextEdit(), "First line")
        self.first_line.setReadOnly(True)
        self._update_frames_note()
        self.settings_widgets["num_output_frames"].valueChanged.connect(self._update_frames_note)

    def _update_frames_note(self, *_args: Any) -> None:
        frames = self.settings_widgets["num_output_frames"].value()
        verdict = (
            "enough for the IDM" if frames >= IDM_FRAMES else f"too short for the IDM ({IDM_FRAMES} needed)"
        )
        self.frames_note.setText(f"{frames / COSMOS_FPS:.1f} s at {COSMOS_FPS} fps, {verdict}")

    def ready(self) -> tuple[bool, str]:
        return self.dataset_ready()

    def default_out(self) -> Path | None:
        path = Path(self.dataset.path())
        return self.workspace / "cosmos" / f"{_safe_name(path.stem)}_batch.jsonl"

    def settings(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for key, widget in self.settings_widgets.items():
            if isinstance(widget, QComboBox):
                values[key] = widget.currentData()
            elif isinstance(widget, QSpinBox):
                values[key] = widget.value()
            elif isinstance(widget, QCheckBox):
                values[key] = widget.isChecked()
            elif isinstance(widget, QPlainTextEdit):
                values[key] = widget.toPlainText().strip()
            else:
                values[key] = widget.text().strip()
        if self.same_prompt.text().strip():
            values["prompt"] = self.same_prompt.text().strip()
        return values

    def options(self) -> BatchOptions:
        return BatchOptions(
            camera=self.camera.currentData(),
            episodes=parse_indices(self.episodes.text()),
            name_prefix=self.prefix.text().strip(),
            prompt_template=self.template.text(),
            settings=self.settings(),
            curation=True if self.curated.isChecked() else None,
        )

    def local_problems(self) -> tuple[list[str], list[str]]:
        errors: list[str] = []
        warnings: list[str] = []
        try:
            warnings += check_settings({**DEFAULTS, **self.settings()})
        except StudioError as error:
            errors.append(error.problem + (f" ({error.hint})" if error.hint else ""))
        try:
            parse_indices(self.episodes.text())
        except StudioError as error:
            errors.append(error.problem)
        out = self.out.path()
        if out and not out.endswith(".jsonl"):
            errors.append("the batch file must end in .jsonl")
        return errors, warnings

    def plan_call(self) -> tuple[Callable[..., Any], tuple]:
        return plan_batch, (self.dataset.path(), self.options())

    def show_plan(self, plan: dict[str, Any]) -> None:
        if "cameras" in plan:
            _set_cameras(self.camera, plan["cameras"], plan.get("camera"))
        samples = plan.get("samples", [])
        how = {"reference": "its own mp4", "encode": "encoded mp4", "png": "first frame (PNG)", "none": "—"}
        self.status.setText(f"{len(samples)} samples")
        fill_table(
            self.table,
            ["name", "episode", "frames", "input", "prompt"],
            [
                [s["name"], s["episode"], s["frames"], how.get(s["input"], s["input"]), s["prompt"]]
                for s in samples
            ],
        )
        if samples:
            settings = {k: v for k, v in plan.get("settings", {}).items() if k != "prompt"}
            first = {"name": samples[0]["name"], "prompt": samples[0]["prompt"], **settings}
            if samples[0]["input"] != "none":
                first["input_path"] = samples[0]["reference"] or f"<batch>_inputs/{samples[0]['name']}…"
            self.first_line.setPlainText(json.dumps(first, indent=2, ensure_ascii=False))

    def run_call(self) -> tuple[Callable[..., Any], tuple]:
        return build_batch, (self.dataset.path(), self.out.path(), self.options())

    def done_summary(self, result: Any) -> tuple[dict[str, Any], str | None]:
        errors, warnings = check_batch_file(result["out"])
        details = [f"{result['samples']} samples"]
        if result.get("inputs_dir"):
            details.append(f"inputs in {result['inputs_dir']} (copy it with the batch file)")
        details.append("checked as Cosmos reads it: " + ("clean" if not errors else "; ".join(errors)))
        details += [f"⚠ {w}" for w in dict.fromkeys(result["warnings"] + warnings)]
        return {
            "output": result["out"],
            "output_format": "Cosmos batch file",
            "episodes_written": result["samples"],
            "warnings": result["warnings"],
            "provenance": result,
            "details": "\n".join(details),
        }, None


# --------------------------------------------------------------------------------------------------
# 3. Cosmos outputs -> IDM input dataset


class IdmPrepareWizard(CosmosIdmWizard):
    key = "idm_prepare"
    title = "IDM input dataset from Cosmos outputs"
    summary = (
        "group generated videos by prompt, letterbox to 256x256 at 16 fps and write the raw LeRobot "
        "v2.1 dataset the IDM dump reads"
    )

    def build(self) -> None:
        self.cosmos = DropPath(
            "Drop the Cosmos inference output folder (<name>.mp4 + <name>.json) here", folder=True
        )
        self.source = DropPath("optional: the LeRobot dataset the IDM was trained on", folder=True)
        self.metadata = DropPath("optional: a kit's global_metadata/<embodiment> folder", folder=True)
        note = QLabel(
            "Samples whose json has no prompt take the task of the source dataset's episode named by "
            "the number ending the sample name. stats.json comes from the metadata folder, else from "
            "the source dataset."
        )
        note.setWordWrap(True)
        self.inputs_form.addRow("Cosmos outputs", self.cosmos)
        self.inputs_form.addRow("Source dataset", self.source)
        self.inputs_form.addRow("Metadata", self.metadata)
        self.inputs_form.addRow("", note)
        for widget in (self.cosmos, self.source, self.metadata):
            widget.pathChanged.connect(lambda _p: (self._changed(), self._update_next()))
        self.embodiment = QComboBox()
        for key in builtin_presets():
            self.embodiment.addItem(key, key)
        self.min_frames = _spin(1, 100_000, IDM_FRAMES)
        self.split = QCheckBox("One dataset per task (<embodiment>.<Task_Folder>)")
        self.options_form.addRow("Embodiment", self.embodiment)
        self.options_form.addRow("Minimum frames", self.min_frames)
        self.options_form.addRow("", self.split)
        self.watch(self.embodiment, self.min_frames, self.split)
        self.split.toggled.connect(lambda _c: setattr(self, "_out_touched", False) or self._refresh_out())
        self.samples = self.add_tab(QTableWidget(), "Samples")
        self.task_table = self.add_tab(QTableWidget(), "Tasks")
        self.tree = self.add_tab(QPlainTextEdit(), "Output")
        self.tree.setReadOnly(True)

    def _refresh_out(self) -> None:
        default = self.default_out()
        if default is not None:
            self.out.setPath(default)

    def ready(self) -> tuple[bool, str]:
        path = self.cosmos.path()
        if not path:
            return False, "drop the Cosmos output folder"
        if not Path(path).is_dir():
            return False, f"{path} is not a folder"
        if not any(Path(path).glob("*.mp4")):
            return False, "the folder has no <name>.mp4"
        for label, widget in (("source dataset", self.source), ("metadata folder", self.metadata)):
            if widget.path() and not Path(widget.path()).exists():
                return False, f"the {label} does not exist"
        return True, ""

    def default_out(self) -> Path | None:
        key = self.embodiment.currentData() or "so101"
        name = _safe_name(Path(self.cosmos.path()).name.replace(".", "_"))
        if self.split.isChecked():
            return self.workspace / "idm" / f"{name}_idm_inputs"
        return self.workspace / "idm" / f"{key}.{name}"

    def options(self) -> PrepareOptions:
        return PrepareOptions(
            embodiment=self.embodiment.currentData() or "so101",
            source_dataset=self.source.path() or None,
            metadata_dir=self.metadata.path() or None,
            min_frames=self.min_frames.value(),
            split_tasks=self.split.isChecked(),
        )

    def plan_call(self) -> tuple[Callable[..., Any], tuple]:
        return plan_prepare, (self.cosmos.path(), self.out.path() or None, self.options())

    def show_plan(self, plan: dict[str, Any]) -> None:
        samples = plan.get("samples", [])
        kept = [s for s in samples if s.get("kept")]
        self.status.setText(
            f"{len(kept)} samples in {len(plan.get('tasks', {}))} task(s), "
            f"{len(samples) - len(kept)} skipped → {plan.get('size', [256, 256])[0]}x"
            f"{plan.get('size', [256, 256])[1]} at {plan.get('fps', 16):g} fps"
        )
        fill_table(
            self.samples,
            ["sample", "frames", "kept", "task folder", "prompt from", "prompt / reason"],
            [
                [
                    s["sample"],
                    s.get("frames", ""),
                    "✓" if s["kept"] else "✗",
                    s.get("task_folder", ""),
                    s.get("prompt_from", ""),
                    s["prompt"] if s["kept"] else s["reason"],
                ]
                for s in samples
            ],
            bad={i for i, s in enumerate(samples) if not s["kept"]},
        )
        counts: dict[str, int] = {}
        for s in kept:
            counts[s["task_folder"]] = counts.get(s["task_folder"], 0) + 1
        tasks = plan.get("tasks", {})
        fill_table(
            self.task_table,
            ["task folder", "episodes", "prompt"],
            [[folder, counts.get(folder, 0), prompt] for folder, prompt in tasks.items()],
        )
        self.tree.setPlainText("\n".join(plan.get("datasets", [])))

    def run_call(self) -> tuple[Callable[..., Any], tuple]:
        return prepare_idm_dataset, (self.cosmos.path(), self.out.path(), self.options())

    def done_summary(self, result: Any) -> tuple[dict[str, Any], str | None]:
        data = result.to_dict()
        details = [
            f"{len(data['episodes'])} episodes in {len(data['tasks'])} task(s) → "
            + ", ".join(Path(d).name for d in data["datasets"])
        ]
        details += [f"skipped {s['sample']}: {s['reason']}" for s in data["skipped"]]
        details.append("next: run the IDM dump job on the dataset (Jobs › GR00T-Dreams IDM action dump)")
        return {
            "output": data["datasets"][0] if len(data["datasets"]) == 1 else data["out"],
            "output_format": "LeRobot v2.1 (IDM input)",
            "episodes_written": len(data["episodes"]),
            "frames_written": sum(e["frames"] for e in data["episodes"]),
            "skipped": data["skipped"],
            "warnings": data["warnings"],
            "provenance": data,
            "details": "\n".join(details),
        }, data["datasets"][0]


# --------------------------------------------------------------------------------------------------
# 4. IDM embodiment kit


class IdmKitWizard(_DatasetInput, CosmosIdmWizard):
    key = "idm_kit"
    title = "IDM embodiment kit"
    summary = (
        "modality.json, stats.json, the DataConfig class and experiment_cfg/conf.yaml for a GR00T-Dreams "
        "embodiment, from a dataset and an editable preset"
    )
    SLICE_COLUMNS = ["group", "name", "start", "end"]

    def build(self) -> None:
        self.add_dataset_inputs(
            "The dataset the IDM is fine-tuned on: its state/action vectors, cameras and statistics."
        )
        self.curated.hide()
        self.preset_box = QComboBox()
        for key in builtin_presets():
            self.preset_box.addItem(key, key)
        self.inputs_form.addRow("Embodiment preset", self.preset_box)
        self.key_edit = QLineEdit()
        self.slices_table = QTableWidget(0, len(self.SLICE_COLUMNS))
        self.slices_table.setHorizontalHeaderLabels(self.SLICE_COLUMNS)
        self.slices_table.verticalHeader().setVisible(False)
        self.slices_table.setMinimumHeight(220)
        self.slices_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.slices_table.verticalHeader().setDefaultSectionSize(22)
        add_row = QPushButton("Add slice")
        add_row.clicked.connect(self._add_slice)
        remove_row = QPushButton("Remove slice")
        remove_row.clicked.connect(self._remove_slice)
        save = QPushButton("Save preset…")
        save.clicked.connect(self._save_preset)
        buttons = QHBoxLayout()
        buttons.addWidget(add_row)
        buttons.addWidget(remove_row)
        buttons.addStretch(1)
        buttons.addWidget(save)
        table_box = QWidget()
        column = QVBoxLayout(table_box)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.slices_table)
        column.addLayout(buttons)
        self.cameras = QListWidget()
        self.cameras.setMaximumHeight(90)
        self.delta_edits = {group: QLineEdit() for group in ("video", "state", "action", "language")}
        self.normalization = QComboBox()
        for mode in NORMALIZATIONS:
            self.normalization.addItem(mode, mode)
        self.relative = QCheckBox('Actions are relative ("absolute": false)')
        self.checkpoint = DropPath(
            "optional: IDM checkpoint folder (e.g. checkpoint-10000) for conf.yaml", folder=True
        )
        self.overwrite = QCheckBox("Replace an existing experiment_cfg/conf.yaml")
        self.options_form.addRow("Embodiment key", self.key_edit)
        self.options_form.addRow("Slices", table_box)
        self.options_form.addRow("Cameras", self.cameras)
        for group, edit in self.delta_edits.items():
            edit.setPlaceholderText("e.g. 0,16 or 0-15")
            self.options_form.addRow(f"{group} delta indices", edit)
        self.options_form.addRow("Normalization", self.normalization)
        self.options_form.addRow("", self.relative)
        self.options_form.addRow("Checkpoint", self.checkpoint)
        self.options_form.addRow("", self.overwrite)
        self.watch(
            self.key_edit,
            self.slices_table,
            self.cameras,
            self.normalization,
            self.relative,
            self.checkpoint,
            self.overwrite,
            *self.delta_edits.values(),
        )
        self.preset_box.currentIndexChanged.connect(lambda _i: self.load_preset_into_form())
        self.modality_text = self._text_tab("modality.json")
        self.data_config_text = self._text_tab("DataConfig")
        self.conf_text = self._text_tab("conf.yaml")
        self._base_preset: dict[str, Any] = {}
        self._dataset_cameras: list[str] = []
        self.load_preset_into_form()

    def _text_tab(self, title: str) -> QPlainTextEdit:
        edit = QPlainTextEdit()
        edit.setReadOnly(True)
        edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        return self.add_tab(edit, title)

    # preset <-> form -------------------------------------------------------------------------------
    def load_preset_into_form(self) -> None:
        preset = load_preset(self.preset_box.currentData() or "so101")
        self._base_preset = preset
        self.slices_table.blockSignals(True)
        self.slices_table.setRowCount(0)
        for group in ("state", "action"):
            for name, (start, end) in slices(preset, group).items():
                self._append_slice(group, name, start, end)
        self.slices_table.blockSignals(False)
        self.key_edit.setText(preset["key"])
        for group, edit in self.delta_edits.items():
            values = preset["delta_indices"].get(group, [0] if group == "language" else [])
            edit.setText(_indices_text(values))
        self.normalization.setCurrentIndex(
            max(0, self.normalization.findData(preset.get("normalization", "min_max")))
        )
        self.relative.setChecked(preset.get("action_absolute") is False)
        self._set_camera_items(self._dataset_cameras or list(preset["video_keys"]), preset["video_keys"])
        self._changed()

    def _set_camera_items(self, cameras: list[str], checked: list[str]) -> None:
        self.cameras.blockSignals(True)
        self.cameras.clear()
        for camera in cameras:
            item = QListWidgetItem(camera)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if camera in checked else Qt.CheckState.Unchecked)
            self.cameras.addItem(item)
        self.cameras.blockSignals(False)

    def _append_slice(self, group: str, name: str, start: int, end: int) -> None:
        row = self.slices_table.rowCount()
        self.slices_table.insertRow(row)
        for column, value in enumerate((group, name, start, end)):
            self.slices_table.setItem(row, column, _item(value, editable=True))

    def _add_slice(self) -> None:
        rows = self.slices_table.rowCount()
        end = 0
        for row in range(rows):
            if (self.slices_table.item(row, 0) or QTableWidgetItem("")).text() == "action":
                try:
                    end = max(end, int(self.slices_table.item(row, 3).text()))
                except (AttributeError, ValueError):
                    pass
        self._append_slice("action", f"joint_{end}", end, end + 1)
        self._changed()

    def _remove_slice(self) -> None:
        rows = sorted({index.row() for index in self.slices_table.selectedIndexes()}, reverse=True)
        for row in rows or [self.slices_table.rowCount() - 1]:
            if row >= 0:
                self.slices_table.removeRow(row)
        self._changed()

    def form_preset(self) -> dict[str, Any]:
        """The preset as edited in the form (raises ValueError with what is wrong)."""
        preset = json.loads(json.dumps(self._base_preset))
        groups: dict[str, dict[str, list[int]]] = {"state": {}, "action": {}}
        for row in range(self.slices_table.rowCount()):
            cells = [
                (self.slices_table.item(row, c) or QTableWidgetItem("")).text().strip() for c in range(4)
            ]
            group, name, start, end = cells
            if group not in groups:
                raise ValueError(f"row {row + 1}: group must be state or action, not {group!r}")
            if not name:
                raise ValueError(f"row {row + 1}: the slice needs a name")
            try:
                groups[group][name] = [int(start), int(end)]
            except ValueError as error:
                raise ValueError(f"row {row + 1}: start and end must be integers") from error
        preset["state_slices"], preset["action_slices"] = groups["state"], groups["action"]
        preset.pop("joints", None)
        preset["key"] = self.key_edit.text().strip()
        delta = {}
        for group, edit in self.delta_edits.items():
            try:
                values = parse_indices(edit.text().strip())
            except StudioError as error:
                raise ValueError(f"{group} delta indices: {error.problem}") from error
            delta[group] = values or []
        preset["delta_indices"] = delta
        preset["normalization"] = self.normalization.currentData()
        preset["action_absolute"] = not self.relative.isChecked()
        checked = self.checked_cameras()
        if checked:
            preset["video_keys"] = checked
        return preset

    def checked_cameras(self) -> list[str]:
        return [
            self.cameras.item(i).text()
            for i in range(self.cameras.count())
            if self.cameras.item(i).checkState() == Qt.CheckState.Checked
        ]

    def _save_preset(self) -> None:
        try:
            preset = self.form_preset()
        except ValueError as error:
            self.messages.setText(_escape(str(error)))
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Save embodiment preset", f"{preset['key']}.json", "Preset (*.json)"
        )
        if path:
            Path(path).write_text(json.dumps(preset, indent=2) + "\n", encoding="utf-8")

    # hooks ----------------------------------------------------------------------------------------
    def ready(self) -> tuple[bool, str]:
        return self.dataset_ready()

    def default_out(self) -> Path | None:
        return self.workspace / "idm" / f"{_safe_name(self.key_edit.text() or 'embodiment')}_kit"

    def local_problems(self) -> tuple[list[str], list[str]]:
        try:
            preset = self.form_preset()
            load_preset(preset)
        except (ValueError, StudioError) as error:
            return [getattr(error, "problem", str(error))], []
        if not self.checked_cameras() and self.cameras.count():
            return ["check at least one camera"], []
        return [], []

    def options(self) -> KitOptions:
        return KitOptions(
            embodiment=self.form_preset(),
            cameras=self.checked_cameras() or None,
            checkpoint=self.checkpoint.path() or None,
            overwrite_conf=self.overwrite.isChecked(),
        )

    def plan_call(self) -> tuple[Callable[..., Any], tuple]:
        return plan_kit, (self.dataset.path(), self.options())

    def show_plan(self, plan: dict[str, Any]) -> None:
        cameras = plan.get("dataset_cameras")
        if cameras and cameras != self._dataset_cameras:
            self._dataset_cameras = cameras
            self._set_camera_items(cameras, plan.get("cameras") or self.checked_cameras())
        widths = plan.get("widths", {})
        self.status.setText("vector widths: " + ", ".join(f"{g} {w}" for g, w in widths.items()))
        self.modality_text.setPlainText(json.dumps(plan.get("modality", {}), indent=4))
        self.data_config_text.setPlainText(plan.get("data_config", ""))
        self.conf_text.setPlainText(plan.get("conf_yaml", ""))

    def run_call(self) -> tuple[Callable[..., Any], tuple]:
        return build_kit, (self.dataset.path(), self.out.path(), self.options())

    def done_summary(self, result: Any) -> tuple[dict[str, Any], str | None]:
        data = result.to_dict()
        details = [f"{name}" for name in data["files"]]
        if data.get("conf_yaml"):
            details.append(f"installed {data['conf_yaml']}")
        details += [f"⚠ {w}" for w in data["warnings"]]
        return {
            "output": data["out"],
            "output_format": "IDM embodiment kit",
            "warnings": data["warnings"],
            "provenance": data,
            "details": "\n".join(details),
        }, None


def _indices_text(values: list[int]) -> str:
    if len(values) > 2 and values == list(range(values[0], values[-1] + 1)):
        return f"{values[0]}-{values[-1]}"
    return ",".join(str(v) for v in values)


# --------------------------------------------------------------------------------------------------

WIZARD_FAMILIES: list[tuple[str, str, Callable[[Any, QWidget | None], QWidget]]] = [
    (CosmosTrainsetWizard.key, CosmosTrainsetWizard.title, CosmosTrainsetWizard),
    (CosmosBatchWizard.key, CosmosBatchWizard.title, CosmosBatchWizard),
    (IdmPrepareWizard.key, IdmPrepareWizard.title, IdmPrepareWizard),
    (IdmKitWizard.key, IdmKitWizard.title, IdmKitWizard),
]
