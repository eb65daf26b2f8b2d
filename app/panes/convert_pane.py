"""Convert pane: pick a conversion family, then one wizard of the same shape for each:
1 inputs (drag and drop) -> 2 options with a live preview -> 3 run (progress, cancel, log) ->
4 done (open in Browse, open folder, provenance).

The backend does the work (backend/convert: ``plan`` for the preview, ``run`` to write); this pane
only collects options, runs them in workers (latest preview wins) and shows the results.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.tasks import Task, run_task
from app.wizards.cosmos_idm import WIZARD_FAMILIES
from app.wizards.plumbing import WizardRunEndings, WizardSteps, watch_changes
from backend.convert import CONVERSIONS, ConversionInfo, module_for
from backend.output_faults import output_fault
from widgets.wizard_done import DoneView
from widgets.wizard_frame import WizardFrame
from widgets.wizard_inputs import DropList, DropPath
from widgets.wizard_preview import PreviewView
from widgets.wizard_run import RunView

HDF5_SUFFIXES = (".hdf5", ".h5", ".he5")
PREVIEW_DELAY_MS = 300
STEPS = ["Inputs", "Options", "Run", "Done"]
RECORDED_RATE = "as recorded"  # the HDF5 -> LeRobot fps box at 0: the recordings' own rate


def _is_hdf5(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in HDF5_SUFFIXES


def _is_lerobot(path: Path) -> bool:
    return path.is_dir() and (path / "meta" / "info.json").is_file()


def _call_plan(module: Any, inputs: Any, options: Any, progress: Any = None) -> dict[str, Any]:
    return module.plan(inputs, options).to_dict()


def _call_run(module: Any, inputs: Any, options: Any, progress: Any = None) -> dict[str, Any]:
    try:
        return module.run(inputs, options, progress).to_dict()
    except Exception as error:
        # a full disk, a size limit or a read-only folder: said about the output, as the CLI says it
        fault = output_fault(error, [getattr(options, "out", None)])
        if fault is None:
            raise
        raise fault from None


def _spin(minimum: int, maximum: int, value: int, special: str | None = None) -> QSpinBox:
    box = QSpinBox()
    box.setRange(minimum, maximum)
    box.setValue(value)
    if special:
        box.setSpecialValueText(special)
    return box


def _combo(items: list[tuple[str, Any]], current: Any = None) -> QComboBox:
    box = QComboBox()
    for text, data in items:
        box.addItem(text, data)
    if current is not None:
        index = box.findData(current)
        if index >= 0:
            box.setCurrentIndex(index)
    return box


def parse_numbers(text: str) -> list[int] | None:
    """'0-3, 7' -> [0, 1, 2, 3, 7]; '' -> None. Raises ValueError on anything else."""
    numbers: list[int] = []
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        first, sep, last = part.partition("-")
        try:
            numbers.extend(range(int(first), int(last) + 1) if sep else [int(part)])
        except ValueError:
            raise ValueError(f"demos: {part!r} is not a number or a range like 0-4") from None
    return numbers or None


# --------------------------------------------------------------------------------------------------
# families: what is specific to each conversion (inputs, options form, default output)


class Family(QObject):
    """Inputs and options of one conversion. ``changed`` fires on any edit (preview refresh)."""

    changed = Signal()

    def __init__(self, info: ConversionInfo, workspace: Path) -> None:
        super().__init__()
        self.info = info
        self.module = module_for(info.key)
        self.workspace = workspace
        self.inputs_page = QWidget()
        self.options_page = QWidget()
        self.form = QFormLayout(self.options_page)
        self.out = DropPath(
            "output",
            folder=self.out_is_folder(),
            save=not self.out_is_folder(),
            file_filter="HDF5 (*.hdf5 *.h5)",
        )
        self._out_touched = False
        self.out.edit.textEdited.connect(lambda _t: setattr(self, "_out_touched", True))
        self.out.pathChanged.connect(lambda _p: self.changed.emit())

    # to override ----------------------------------------------------------------------------------
    def out_is_folder(self) -> bool:
        return True

    def ready(self) -> tuple[bool, str]:
        return False, "add inputs"

    def inputs(self) -> Any:
        raise NotImplementedError

    def options(self) -> Any:
        raise NotImplementedError

    def default_out(self) -> Path | None:
        return None

    def plan_arrived(self, plan: dict[str, Any]) -> None:  # noqa: B027 - optional hook
        pass

    def blocked(self, plan: dict[str, Any]) -> str:
        """The sentence the Run button shows while ``plan`` has errors ("" for the generic one)."""
        return ""

    # shared ---------------------------------------------------------------------------------------
    def refresh_default_out(self) -> None:
        if self._out_touched:
            return
        default = self.default_out()
        if default is not None and self.out.path() != str(default):
            self.out.setPath(default)

    def watch(self, *widgets: QWidget) -> None:
        watch_changes(widgets, self.changed.emit)

    def out_path(self) -> Path:
        text = self.out.path()
        return Path(text) if text else (self.default_out() or self.workspace / "converted")


class Hdf5ToLerobotFamily(Family):
    def __init__(self, info: ConversionInfo, workspace: Path) -> None:
        super().__init__(info, workspace)
        self.sources = DropList(
            "Drop LeIsaac .hdf5 recordings here, or click Add…",
            accept=_is_hdf5,
            file_filter="HDF5 recordings (*.hdf5 *.h5)",
        )
        layout = QVBoxLayout(self.inputs_page)
        layout.addWidget(QLabel("LeIsaac / Isaac Lab recordings (one or more files, demos in number order)"))
        layout.addWidget(self.sources, 1)
        self.task = QLineEdit()
        self.task.setPlaceholderText("e.g. Pick up the orange and place it on the plate.")
        self.tasks = QTableWidget(0, 2)
        self.tasks.setHorizontalHeaderLabels(["file", "task (empty: as above)"])
        self.tasks.horizontalHeaderItem(1).setToolTip("Leave empty to use the Task above for this file")
        self.tasks.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.tasks.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.tasks.verticalHeader().setVisible(False)
        self.tasks.setMaximumHeight(110)
        self.format = _combo([("LeRobot v2.1 (GR00T, IDM)", "v2.1"), ("LeRobot v3.0", "v3.0")])
        self.robot = _combo([("from the data", "auto"), ("SO-101", "so101"), ("bi-arm SO-101", "bi_so101")])
        self.fps = QDoubleSpinBox()
        self.fps.setRange(0, 240)
        self.fps.setSpecialValueText(RECORDED_RATE)  # 0: the recordings' own rate, as read
        self.fps.setValue(0)
        self.skip = _spin(0, 10000, 5)
        self.min_length = _spin(0, 100000, 10)
        self.demos = QLineEdit()
        self.demos.setPlaceholderText("all demos (or e.g. 0-4, 7, 9)")
        self.include_failed = QCheckBox("include failed demos")
        self.include_failed.setToolTip("demos whose success attribute is False")
        self.include_incomplete = QCheckBox("include interrupted demos")
        self.include_incomplete.setToolTip(
            "demos without a success attribute (recording stopped with Ctrl+C)"
        )
        self.cameras = QListWidget()
        self.cameras.setMaximumHeight(80)
        self.codec = _combo([("H.264 (Cosmos, IDM, GR00T)", "h264"), ("AV1", "av1")])
        self.crf = _spin(-1, 63, -1, "default")
        self.gop = _spin(0, 1000, 0, "default")
        self.preset = _combo(
            [("default", None)]
            + [(p, p) for p in ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium")]
        )
        self.form.addRow("Output folder", self.out)
        self.form.addRow("Task", self.task)
        self.form.addRow("Task per file", self.tasks)
        self.form.addRow("Format", self.format)
        self.form.addRow("Robot", self.robot)
        self.form.addRow("fps", self.fps)
        self.form.addRow("Skip first frames", self.skip)
        self.form.addRow("Minimum length (frames)", self.min_length)
        self.form.addRow("Demos", self.demos)
        self.form.addRow("", self.include_failed)
        self.form.addRow("", self.include_incomplete)
        self.form.addRow("Cameras", self.cameras)
        self.form.addRow("Codec", self.codec)
        self.form.addRow("CRF", self.crf)
        self.form.addRow("GOP (frames)", self.gop)
        self.form.addRow("Preset", self.preset)
        self.sources.pathsChanged.connect(self._sources_changed)
        self.watch(
            self.task,
            self.tasks,
            self.format,
            self.robot,
            self.fps,
            self.skip,
            self.min_length,
            self.demos,
            self.include_failed,
            self.include_incomplete,
            self.cameras,
            self.codec,
            self.crf,
            self.gop,
            self.preset,
        )

    def _sources_changed(self, paths: list[str]) -> None:
        old = {
            self.tasks.item(r, 0).data(Qt.ItemDataRole.UserRole): self.tasks.item(r, 1).text()
            for r in range(self.tasks.rowCount())
            if self.tasks.item(r, 1)
        }
        self.tasks.blockSignals(True)
        self.tasks.setRowCount(len(paths))
        for row, path in enumerate(paths):
            name = QTableWidgetItem(Path(path).name)
            name.setData(Qt.ItemDataRole.UserRole, path)
            name.setFlags(name.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.tasks.setItem(row, 0, name)
            self.tasks.setItem(row, 1, QTableWidgetItem(old.get(path, "")))
        self.tasks.blockSignals(False)
        self.refresh_default_out()
        self.changed.emit()

    def ready(self) -> tuple[bool, str]:
        return (True, "") if self.sources.paths() else (False, "add at least one .hdf5 recording")

    def inputs(self) -> list[Path]:
        return [Path(p) for p in self.sources.paths()]

    def default_out(self) -> Path | None:
        paths = self.sources.paths()
        return self.workspace / "datasets" / f"{Path(paths[0]).stem}_lerobot" if paths else None

    def _chosen_cameras(self) -> list[str] | None:
        if self.cameras.count() == 0:
            return None
        return [
            self.cameras.item(i).text()
            for i in range(self.cameras.count())
            if self.cameras.item(i).checkState() == Qt.CheckState.Checked
        ]

    def plan_arrived(self, plan: dict[str, Any]) -> None:
        rate = (plan.get("details") or {}).get("fps")
        if rate and not self.fps.value():
            self.fps.setSpecialValueText(f"{RECORDED_RATE} ({rate:g})")
        available = (plan.get("details") or {}).get("available_cameras")
        if (
            available is None
            or [self.cameras.item(i).text() for i in range(self.cameras.count())] == available
        ):
            return
        self.cameras.blockSignals(True)
        self.cameras.clear()
        for name in available:
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.cameras.addItem(item)
        self.cameras.blockSignals(False)

    def options(self) -> Any:
        tasks = {}
        for row in range(self.tasks.rowCount()):
            text = self.tasks.item(row, 1).text().strip() if self.tasks.item(row, 1) else ""
            if text:
                tasks[self.tasks.item(row, 0).data(Qt.ItemDataRole.UserRole)] = text
        return self.module.Hdf5ToLerobotOptions(
            out=self.out_path(),
            task=self.task.text().strip(),
            tasks=tasks,
            format=self.format.currentData(),
            robot=self.robot.currentData(),
            fps=float(self.fps.value()) or None,
            skip_frames=self.skip.value(),
            min_length=self.min_length.value(),
            include_failed=self.include_failed.isChecked(),
            include_incomplete=self.include_incomplete.isChecked(),
            cameras=self._chosen_cameras(),
            demos={p: numbers for p in self.sources.paths()}
            if (numbers := parse_numbers(self.demos.text()))
            else None,
            codec=self.codec.currentData(),
            crf=None if self.crf.value() < 0 else self.crf.value(),
            gop=self.gop.value() or None,
            preset=self.preset.currentData(),
        )


class LerobotToHdf5Family(Family):
    def __init__(self, info: ConversionInfo, workspace: Path) -> None:
        super().__init__(info, workspace)
        self.dataset = DropPath(
            "drop a LeRobot dataset folder (or an IDM output) here", accept=_is_lerobot, folder=True
        )
        self.template = DropPath(
            "drop the source LeIsaac .hdf5 here", accept=_is_hdf5, file_filter="HDF5 recordings (*.hdf5 *.h5)"
        )
        layout = QVBoxLayout(self.inputs_page)
        layout.addWidget(QLabel("LeRobot dataset or IDM output (actions to replay)"))
        layout.addWidget(self.dataset)
        layout.addWidget(QLabel("Source HDF5 (initial states, seeds, attributes, env_args)"))
        layout.addWidget(self.template)
        layout.addStretch(1)
        self.offset_auto = QCheckBox("from provenance / detected")
        self.offset_auto.setChecked(True)
        self.offset = _spin(0, 100000, 0)
        self.offset.setEnabled(False)
        self.offset_auto.toggled.connect(lambda on: self.offset.setEnabled(not on))
        offset_row = QWidget()
        row = QHBoxLayout(offset_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.offset_auto)
        row.addWidget(self.offset)
        self.unit = _combo(
            [
                ("as the dataset says", None),
                ("LeRobot -100..100", "lerobot"),
                ("LeRobot degrees", "lerobot_deg"),
                ("degrees", "deg"),
                ("radians", "rad"),
            ]
        )
        self.copy_states = QCheckBox("copy the demo's states for the same frames")
        self.replay_fps = QDoubleSpinBox()
        self.replay_fps.setRange(0.0, 1000.0)
        self.replay_fps.setDecimals(1)
        self.replay_fps.setSuffix(" fps")
        self.replay_fps.setSpecialValueText("auto (the template's rate, from provenance)")
        self.replay_fps.setToolTip(
            "One HDF5 step per action: IDM outputs (16 fps) are resampled to this rate. "
            "auto: the rate of the LeRobot dataset made from the template, when the provenance says it"
        )
        self.replay_rate_note = QLabel("")
        self.replay_rate_note.setWordWrap(True)
        self.mapping = QTableWidget(0, 3)
        self.mapping.setHorizontalHeaderLabels(["LeRobot episode", "template demo", "matched by"])
        header = self.mapping.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.mapping.verticalHeader().setVisible(False)
        self.mapping_note = QLabel("")
        self.mapping_note.setWordWrap(True)
        self._overrides: dict[int, int] = {}
        self.form.addRow("Output file", self.out)
        self.form.addRow("Frame offset", offset_row)
        self.form.addRow("Action unit", self.unit)
        self.form.addRow("", self.copy_states)
        self.form.addRow("Replay rate", self.replay_fps)
        self.form.addRow("", self.replay_rate_note)
        self.form.addRow("Mapping", self.mapping_note)
        self.form.addRow(self.mapping)
        self.dataset.pathChanged.connect(lambda _p: (self._overrides.clear(), self.refresh_default_out()))
        self.watch(
            self.dataset, self.template, self.offset_auto, self.offset, self.unit, self.copy_states, self.replay_fps
        )

    def out_is_folder(self) -> bool:
        return False

    def ready(self) -> tuple[bool, str]:
        if not self.dataset.path():
            return False, "drop the LeRobot dataset"
        if not self.template.path():
            return False, "drop the source .hdf5 (template)"
        return True, ""

    def inputs(self) -> Path:
        return Path(self.dataset.path())

    def default_out(self) -> Path | None:
        path = self.dataset.path()
        return self.workspace / "replay" / f"{Path(path).name}_replay.hdf5" if path else None

    def options(self) -> Any:
        return self.module.LerobotToHdf5Options(
            out=self.out_path(),
            template=Path(self.template.path()),
            mapping=dict(self._overrides),
            frame_offset=None if self.offset_auto.isChecked() else self.offset.value(),
            action_unit=self.unit.currentData(),
            copy_states=self.copy_states.isChecked(),
            replay_fps=self.replay_fps.value() or None,
        )

    def plan_arrived(self, plan: dict[str, Any]) -> None:
        details = plan.get("details") or {}
        self.mapping_note.setText(details.get("mapping_note", ""))
        if details.get("replay_fps"):
            fps_in, fps_out = details.get("dataset_fps"), details["replay_fps"]
            how = {"option": "as set", "provenance": "from provenance", "dataset": "the dataset's"}
            resampled = f"resampled from {fps_in:g} fps" if fps_in != fps_out else "not resampled"
            self.replay_rate_note.setText(
                f"{fps_out:g} actions per second ({how.get(details.get('replay_fps_from'), '')}), {resampled}"
            )
        demos = details.get("template_demos") or []
        episodes = plan.get("episodes") or []
        self.mapping.blockSignals(True)
        self.mapping.setRowCount(len(episodes))
        for row, entry in enumerate(episodes):
            label = QTableWidgetItem(str(entry.get("source_index")))
            label.setFlags(label.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.mapping.setItem(row, 0, label)
            extra = entry.get("extra") or {}
            unpaired = extra.get("matched_by") == "unpaired"
            combo = QComboBox()
            if unpaired:  # nothing pre-chosen: a demo shown here would look paired when it is not
                combo.addItem("choose a demo…", None)
            for demo in demos:
                combo.addItem(f"{demo['name']} ({demo['length']} frames)", demo["index"])
            current = extra.get("demo")
            if current is not None and combo.findData(current) >= 0:
                combo.setCurrentIndex(combo.findData(current))
            episode = int(entry.get("source_index"))
            # the episode number is bound now (default argument), not when the signal fires
            combo.currentIndexChanged.connect(
                lambda _i, e=episode, c=combo: self._override(e, c.currentData())
            )
            self.mapping.setCellWidget(row, 1, combo)
            if unpaired:
                text = "not paired: choose the demo this episode came from"
            else:
                how = entry.get("reason") or extra.get("matched_by", "")
                text = f"{how}, offset {entry.get('frame_offset')}"
            self.mapping.setItem(row, 2, QTableWidgetItem(text))
        self.mapping.blockSignals(False)

    def blocked(self, plan: dict[str, Any]) -> str:
        unpaired = [e for e in plan.get("errors") or [] if self.module.UNPAIRED_HINT in e]
        return unpaired[0] if unpaired else ""

    def _override(self, episode: int, demo: int | None) -> None:
        if demo is None:
            self._overrides.pop(episode, None)
        else:
            self._overrides[episode] = int(demo)
        self.changed.emit()


class VersionsFamily(Family):
    def __init__(self, info: ConversionInfo, workspace: Path) -> None:
        super().__init__(info, workspace)
        self.target = "v2.1" if info.key == "lerobot_v3_to_v2" else "v3.0"
        self.source = DropPath("drop a LeRobot dataset folder here", accept=_is_lerobot, folder=True)
        layout = QVBoxLayout(self.inputs_page)
        layout.addWidget(QLabel(f"LeRobot dataset to write as {self.target}"))
        layout.addWidget(self.source)
        layout.addStretch(1)
        default_codec = "h264" if self.target == "v2.1" else "keep"
        self.codec = _combo(
            [("keep (copy frames, no re-encode)", "keep"), ("H.264 (re-encode other codecs)", "h264")],
            default_codec,
        )
        self.reencode = QCheckBox("re-encode every video, even H.264 ones")
        self.modality = _combo([("keep the source's, or make one for SO-101", "auto"), ("none", "none")])
        self.form.addRow("Output folder", self.out)
        self.form.addRow("Videos", self.codec)
        self.form.addRow("", self.reencode)
        if self.target == "v2.1":
            self.form.addRow("modality.json", self.modality)
        self.source.pathChanged.connect(lambda _p: self.refresh_default_out())
        self.watch(self.source, self.codec, self.reencode, self.modality)

    def ready(self) -> tuple[bool, str]:
        return (True, "") if self.source.path() else (False, "drop a LeRobot dataset folder")

    def inputs(self) -> Path:
        return Path(self.source.path())

    def default_out(self) -> Path | None:
        path = self.source.path()
        suffix = "v21" if self.target == "v2.1" else "v30"
        return self.workspace / "datasets" / f"{Path(path).name}_{suffix}" if path else None

    def options(self) -> Any:
        return self.module.LerobotVersionOptions(
            out=self.out_path(),
            target=self.target,
            codec=self.codec.currentData(),
            reencode=self.reencode.isChecked(),
            modality=self.modality.currentData() if self.target == "v2.1" else "none",
        )


class TranscodeFamily(Family):
    def __init__(self, info: ConversionInfo, workspace: Path) -> None:
        super().__init__(info, workspace)
        self.source = DropPath("drop a LeRobot dataset folder here", accept=_is_lerobot, folder=True)
        layout = QVBoxLayout(self.inputs_page)
        layout.addWidget(QLabel("LeRobot dataset whose videos become H.264"))
        layout.addWidget(self.source)
        layout.addStretch(1)
        self.crf = _spin(-1, 51, -1, "default")
        self.gop = _spin(0, 1000, 0, "default")
        self.preset = _combo(
            [("default", None)]
            + [(p, p) for p in ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium")]
        )
        self.force = QCheckBox("re-encode videos that are already H.264")
        self.form.addRow("Output folder", self.out)
        self.form.addRow("CRF", self.crf)
        self.form.addRow("GOP (frames)", self.gop)
        self.form.addRow("Preset", self.preset)
        self.form.addRow("", self.force)
        self.source.pathChanged.connect(lambda _p: self.refresh_default_out())
        self.watch(self.source, self.crf, self.gop, self.preset, self.force)

    def ready(self) -> tuple[bool, str]:
        return (True, "") if self.source.path() else (False, "drop a LeRobot dataset folder")

    def inputs(self) -> Path:
        return Path(self.source.path())

    def default_out(self) -> Path | None:
        path = self.source.path()
        return self.workspace / "datasets" / f"{Path(path).name}_h264" if path else None

    def options(self) -> Any:
        return self.module.TranscodeOptions(
            out=self.out_path(),
            codec="h264",
            crf=None if self.crf.value() < 0 else self.crf.value(),
            gop=self.gop.value() or None,
            preset=self.preset.currentData(),
            force=self.force.isChecked(),
        )


FAMILIES = {
    "hdf5_to_lerobot": Hdf5ToLerobotFamily,
    "lerobot_to_hdf5": LerobotToHdf5Family,
    "lerobot_v3_to_v2": VersionsFamily,
    "lerobot_v2_to_v3": VersionsFamily,
    "transcode": TranscodeFamily,
}


# --------------------------------------------------------------------------------------------------
# the wizard (same for every family)


class ConversionWizard(WizardSteps, WizardRunEndings, QWidget):
    run_label = "Convert"
    finished = Signal(dict)  # the summary dict when a run completes

    def __init__(self, family: Family, context: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.family = family
        self.context = context
        self.frame = WizardFrame(STEPS)
        self.preview = PreviewView()
        self.run_view = RunView()
        self.done_view = DoneView()
        self._preview_task: Task | None = None
        self._run_task: Task | None = None
        self._generation = 0
        self._plan_generation = -1
        self._plan: dict[str, Any] = {}
        self.last_summary: dict[str, Any] | None = None
        self.last_error: str | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(PREVIEW_DELAY_MS)
        self._timer.timeout.connect(self.refresh_preview)

        self.frame.addPage(family.inputs_page)
        options = QSplitter(Qt.Orientation.Horizontal)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(family.options_page)
        options.addWidget(scroll)
        options.addWidget(self.preview)
        options.setStretchFactor(0, 2)
        options.setStretchFactor(1, 3)
        options.setSizes([500, 650])
        self.frame.addPage(options)
        self.frame.addPage(self.run_view)
        self.frame.addPage(self.done_view)
        title = QLabel(f"<b>{family.info.title}</b> — {family.info.summary}")
        title.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(title)
        layout.addWidget(self.frame, 1)

        family.changed.connect(self._on_changed)
        self.connect_steps()

    # navigation (WizardSteps) ---------------------------------------------------------------------
    def entering_options(self) -> None:
        self.family.refresh_default_out()
        self.schedule_preview(immediate=True)

    def inputs_ready(self) -> tuple[bool, str]:
        return self.family.ready()

    def options_ready(self) -> tuple[bool, str]:
        if not self.preview_ready():
            return False, "computing the preview…"
        if self._plan.get("errors"):
            return False, self.family.blocked(self._plan) or "fix the problems shown in the preview"
        return True, ""

    # preview --------------------------------------------------------------------------------------
    def _on_changed(self) -> None:
        self._generation += 1
        self._update_next()
        if self.frame.current() == 1:
            self.schedule_preview()

    def refresh_preview(self) -> None:
        ok, note = self.family.ready()
        if not ok:
            self.preview.setError(note)
            return
        try:
            inputs, options = self.family.inputs(), self.family.options()
        except (ValueError, TypeError) as error:
            self.preview.setError(str(error))
            return
        generation = self._generation
        self.preview.setBusy()
        if self._preview_task is not None:
            self._preview_task.cancel()
        self._preview_task = run_task(
            _call_plan,
            self.family.module,
            inputs,
            options,
            on_done=lambda plan, g=generation: self._preview_done(g, plan),
            on_error=lambda message, details, g=generation: self._preview_failed(g, message),
        )

    def _preview_done(self, generation: int, plan: dict[str, Any]) -> None:
        if generation != self._generation:
            return  # a newer request is on its way: latest wins
        self._plan = plan
        self._plan_generation = generation
        self.family.plan_arrived(plan)
        self.preview.setPlan(plan)
        self._update_next()

    def _preview_failed(self, generation: int, message: str) -> None:
        if generation != self._generation:
            return
        self._plan = {}
        self._plan_generation = generation
        self.preview.setError(message)
        self.frame.setNextEnabled(False, "fix the problem shown in the preview")

    # run ------------------------------------------------------------------------------------------
    def start_run(self) -> None:
        if self._run_task is not None and self.run_view.running:
            return
        inputs, options = self.family.inputs(), self.family.options()
        self.last_summary, self.last_error = None, None
        self._go(2)
        self.run_view.start(f"{self.family.info.title} → {options.out or inputs}")
        for entry in self._plan.get("episodes", []):
            if not entry.get("kept"):
                self.run_view.appendLog(
                    f"skip {Path(str(entry.get('source'))).name} {entry.get('source_name')}: "
                    f"{entry.get('reason')}"
                )
        task = run_task(
            _call_run,
            self.family.module,
            inputs,
            options,
            on_done=self._run_done,
            on_error=self._run_failed,
            on_progress=self.run_view.setProgress,
            on_cancelled=self._run_cancelled,
        )
        task.signals.warning.connect(lambda text: self.run_view.appendLog(text, "warning"))
        self._run_task = task
        self._update_next()
        if hasattr(self.context, "set_status"):
            self.context.set_status("convert", f"converting: {self.family.info.title}")

    def cancel(self) -> None:
        if self._run_task is not None:
            self._run_task.cancel()

    def _run_done(self, summary: dict[str, Any]) -> None:
        self.last_summary = summary
        self.run_view.finish(True, f"wrote {summary.get('output')}")
        self.done_view.setResult(summary)
        self._go(3)
        self._status("")
        self.finished.emit(summary)

    # done -----------------------------------------------------------------------------------------
    def _open_folder(self, path: str) -> None:
        if not path:
            return
        target = Path(path)
        folder = target if target.is_dir() else target.parent
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


class ConvertPane(QWidget):
    def __init__(self, context: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.chooser = QListWidget()
        self.chooser.setMaximumWidth(300)
        for info in CONVERSIONS:
            item = QListWidgetItem(info.title)
            item.setData(Qt.ItemDataRole.UserRole, info.key)
            item.setToolTip(f"{info.summary}\nInputs: {info.inputs}")
            self.chooser.addItem(item)
        # Cosmos / IDM inputs (issue 5) live in their own module with the same wizard shape
        self.extra_factories = {key: factory for key, _title, factory in WIZARD_FAMILIES}
        for key, title, _factory in WIZARD_FAMILIES:
            item = QListWidgetItem(title)
            item.setData(Qt.ItemDataRole.UserRole, key)
            self.chooser.addItem(item)
        # every title readable, no horizontal scroll bar
        self.chooser.setMinimumWidth(self.chooser.sizeHintForColumn(0) + 2 * self.chooser.frameWidth() + 12)
        self.chooser.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.stack = QStackedWidget()
        self.empty = QLabel(
            "Choose a conversion on the left.\nEvery conversion shows a preview before it writes anything."
        )
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack.addWidget(self.empty)
        self.wizards: dict[str, QWidget] = {}
        splitter = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(QLabel("Conversion"))
        left_layout.addWidget(self.chooser, 1)
        splitter.addWidget(left)
        splitter.addWidget(self.stack)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        self.chooser.currentItemChanged.connect(
            lambda item, _prev: self.select(item.data(Qt.ItemDataRole.UserRole)) if item else None
        )

    def select(self, key: str) -> QWidget:
        wizard = self.wizards.get(key)
        if wizard is None and key in self.extra_factories:
            wizard = self.extra_factories[key](self.context, None)
            self.wizards[key] = wizard
            self.stack.addWidget(wizard)
        elif wizard is None:
            info = next(i for i in CONVERSIONS if i.key == key)
            family = FAMILIES[key](info, Path(getattr(self.context, "workspace", Path.home())))
            wizard = ConversionWizard(family, self.context)
            self.wizards[key] = wizard
            self.stack.addWidget(wizard)
        self.stack.setCurrentWidget(wizard)
        for row in range(self.chooser.count()):
            item = self.chooser.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == key and self.chooser.currentRow() != row:
                self.chooser.setCurrentRow(row)
        return wizard

    def status_fields(self) -> dict[str, str]:
        running = [w.family.info.title for w in self.wizards.values()
                   if isinstance(w, ConversionWizard) and w.run_view.running]
        return {"convert": f"converting: {running[0]}"} if running else {}

    def save_state(self) -> dict[str, Any]:
        current = self.stack.currentWidget()
        key = next((k for k, w in self.wizards.items() if w is current), None)
        return {"family": key}

    def restore_state(self, state: dict[str, Any]) -> None:
        key = (state or {}).get("family")
        if key in FAMILIES or key in self.extra_factories:
            self.select(key)
