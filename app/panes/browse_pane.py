"""Browse: the episode table, the viewer (cameras + joint plots + transport) and curation.

Everything slow happens off the GUI thread: opening the dataset, loading an episode's arrays,
decoding frames (one thread per camera, latest request wins), thumbnails, quality hints, export.
The playhead moves the plots at once; frames follow as they are decoded. Playback follows a
monotonic clock and skips frames rather than drifting.

Curation decisions go to the sidecar file (backend.curation) after every change, with undo.
"""

from __future__ import annotations

import base64
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QByteArray, QElapsedTimer, Qt, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.error_dialog import show_error, show_exception
from app.panes.browse_problems import BrowseProblems
from app.settings import get_json, set_json
from app.tasks import run_task
from backend.curation import Curation, export_curated, export_decisions_json, format_summary
from backend.errors import UnitError
from backend.model import Dataset, DatasetFormat, Episode, FeatureKind, Role
from backend.quality import compute_hints
from backend.units import Unit, base_joint_name
from widgets import palette
from widgets.episode_table import (
    EpisodeFilterBar,
    EpisodeFilterProxy,
    EpisodeRow,
    EpisodeTableModel,
    EpisodeTableView,
)
from app.frame_loader import FrameLoader
from widgets.icons import media_icon
from widgets.joint_plots import JointPlotStack
from widgets.shortcuts import add_pane_shortcut, add_transport_shortcuts
from widgets.timeline import TransportBar
from widgets.toast import Toast
from widgets.video_tile import VideoGrid

UNIT_CHOICES = [(Unit.RADIANS, "rad"), (Unit.SIM_DEGREES, "deg"), (Unit.LEROBOT_RANGE, "LeRobot")]
THUMBNAILS = 24
THUMB_WIDTH = 112
WRITABLE_FORMATS = [
    (DatasetFormat.LEISAAC_HDF5, "LeIsaac HDF5 (.hdf5)"),
    (DatasetFormat.LEROBOT_V30, "LeRobot v3.0 (folder)"),
    (DatasetFormat.LEROBOT_V21, "LeRobot v2.1 (folder)"),
]


# -- work done in worker threads ----------------------------------------------------------------
def _open_job(path: str, progress=None) -> tuple[Dataset, Curation]:
    from backend.formats import open_dataset

    progress.report(0, 2, "reading metadata")
    dataset = open_dataset(path)
    progress.report(1, 2, "reading curation")
    curation = Curation.load(dataset.path, dataset)
    return dataset, curation


def _load_job(episode: Episode, progress=None) -> dict[str, Any]:
    """Joint values of an episode (action and state with their spaces)."""
    out: dict[str, Any] = {}
    for role in (Role.ACTION, Role.STATE):
        try:
            out[role.value] = episode.joints(role)
        except KeyError:
            out[role.value] = None
    return out


def _thumbnail_job(
    episode: Episode, camera: str, count: int, width: int, progress=None
) -> list[tuple[int, np.ndarray]]:
    import cv2

    stream = episode.stream(camera)
    try:
        n = stream.num_frames
        indices = sorted({int(round(x)) for x in np.linspace(0, max(0, n - 1), min(count, n))})
        thumbs = []
        for number, index in enumerate(indices):
            progress.report(number, len(indices), "thumbnails")
            rgb = stream.frame(index)
            height = max(1, int(round(rgb.shape[0] * width / rgb.shape[1])))
            thumbs.append(
                (index, np.ascontiguousarray(cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)))
            )
        return thumbs
    finally:
        stream.close()


def _close_job(dataset: Dataset, progress=None) -> None:
    dataset.close()


def _resolve_dataset_path(path: str | Path) -> Path:
    """A picked file inside a dataset means the dataset: meta/info.json -> its folder, etc."""
    path = Path(path)
    if path.name == "info.json" and path.parent.name == "meta":
        return path.parent.parent
    if (
        path.is_file()
        and path.suffix.lower() in (".mp4", ".json", ".txt")
        and path.parent.name in ("videos", "metas")
    ):
        return path.parent.parent
    if path.is_file() and path.suffix.lower() in (".mp4", ".json"):
        return path.parent
    return path


class ExportDialog(QDialog):
    """Where and in which format to write the curated dataset."""

    def __init__(self, parent: QWidget, dataset: Dataset, summary_text: str, default_out: Path) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export curated dataset")
        self.format = QComboBox()
        for fmt, label in WRITABLE_FORMATS:
            self.format.addItem(label, fmt.value)
        same = self.format.findData(dataset.format.value)
        self.format.setCurrentIndex(
            same if same >= 0 else 1 if dataset.format is not DatasetFormat.LEISAAC_HDF5 else 0
        )
        self.out = QLineEdit(str(default_out))
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._choose)
        row = QHBoxLayout()
        row.addWidget(self.out, 1)
        row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Format", self.format)
        form.addRow("Output", row)
        summary = QLabel(summary_text + "\nThe source dataset is not changed.")
        summary.setWordWrap(True)
        summary.setObjectName("mutedLabel")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(summary)
        layout.addWidget(buttons)
        self.format.currentIndexChanged.connect(self._format_changed)
        self.resize(620, 200)

    def _format_changed(self) -> None:
        out = Path(self.out.text())
        if self.chosen_format() is DatasetFormat.LEISAAC_HDF5:
            self.out.setText(str(out.with_suffix(".hdf5")))
        elif out.suffix == ".hdf5":
            self.out.setText(str(out.with_suffix("")))

    def _choose(self) -> None:
        if self.chosen_format() is DatasetFormat.LEISAAC_HDF5:
            path, _ = QFileDialog.getSaveFileName(self, "Export to", self.out.text(), "HDF5 (*.hdf5)")
        else:
            path = QFileDialog.getExistingDirectory(
                self, "Export into folder", str(Path(self.out.text()).parent)
            )
            if path:
                path = str(Path(path) / Path(self.out.text()).name)
        if path:
            self.out.setText(path)

    def chosen_format(self) -> DatasetFormat:
        return DatasetFormat(self.format.currentData())

    def output(self) -> Path:
        return Path(self.out.text()).expanduser()


class BrowsePane(QWidget):
    """Dataset browser and curation."""

    datasetLoaded = Signal(object)  # Dataset
    episodeShown = Signal(int)  # episode index, arrays plotted
    frameShown = Signal(int)  # every camera shows this frame
    firstFrameShown = Signal()  # once per opened dataset: first frame of every camera painted
    undoStateChanged = Signal()
    openFailed = Signal(str)
    exportFinished = Signal(object)  # output Path
    thumbnailsReady = Signal(int)  # number of thumbnails on the timeline
    _hintReady = Signal(int, object)

    def __init__(self, context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.dataset: Dataset | None = None
        self.curation: Curation | None = None
        self.episode: Episode | None = None
        self.position = 0
        self.playing = False
        self.speed = 1.0
        self.unit = Unit(str(context.settings.value("browse/unit", Unit.RADIANS.value)))
        self.joint_data: dict[str, Any] = {}
        self.hints: dict[int, list] = {}
        self.skipped_frames = 0
        self._pending_first_frame = False
        self._plot_after_first_frame: int | None = None
        self._load_token = 0
        self._open_task = None
        self._hint_task = None
        self._thumb_task = None
        self._export_task = None
        self._requested: tuple[int, int] | None = None  # (episode, frame) to show after open
        self._play_clock = QElapsedTimer()
        self._play_origin = 0
        self._play_timer = QTimer(self)
        self._play_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._play_timer.timeout.connect(self._tick)
        self.loader = FrameLoader(self)
        self.loader.frameReady.connect(self._on_frame)
        self.loader.failed.connect(self._on_frame_failed)
        self._hintReady.connect(self._on_hint)
        self._build()
        self._shortcuts()
        self._show_empty()

    # -- layout -----------------------------------------------------------------------------------
    def _build(self) -> None:
        self.inner = QMainWindow()
        self.inner.setWindowFlags(Qt.WindowType.Widget)
        self.inner.setDockOptions(
            QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowNestedDocks
        )
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.inner)

        # episodes dock: filters + table
        self.model = EpisodeTableModel(self)
        self.proxy = EpisodeFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.table = EpisodeTableView()
        self.table.setModel(self.proxy)
        self.table.episodeActivated.connect(self._on_table_episode)
        self.filters = EpisodeFilterBar(self.proxy)
        self.filters.changed.connect(self._on_filters_changed)
        episodes = QWidget()
        episodes_layout = QVBoxLayout(episodes)
        episodes_layout.setContentsMargins(0, 0, 0, 0)
        episodes_layout.setSpacing(2)
        episodes_layout.addWidget(self.filters)
        episodes_layout.addWidget(self.table, 1)
        self.episodes_dock = QDockWidget("Episodes", self.inner)
        self.episodes_dock.setObjectName("browse.episodes")
        self.episodes_dock.setWidget(episodes)
        self.episodes_dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.inner.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.episodes_dock)

        # viewer: videos / plots / transport
        self.videos = VideoGrid()
        self.plots = JointPlotStack()
        self.plots.seekRequested.connect(self._seek_seconds)
        self.unit_buttons = QButtonGroup(self)
        self.unit_buttons.setExclusive(True)
        unit_row = QHBoxLayout()
        unit_row.setContentsMargins(6, 2, 6, 0)
        self.joints_title = QLabel("Joints")
        self.joints_title.setObjectName("sectionLabel")
        unit_row.addWidget(self.joints_title)
        unit_row.addSpacing(8)
        for unit, label in UNIT_CHOICES:
            button = QToolButton()
            button.setText(label)
            button.setCheckable(True)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setObjectName("segment")
            button.setProperty("unit", unit.value)
            self.unit_buttons.addButton(button)
            unit_row.addWidget(button)
            if unit is self.unit:
                button.setChecked(True)
        self.unit_buttons.buttonClicked.connect(lambda b: self.set_unit(Unit(b.property("unit"))))
        self.native_unit_label = QLabel("")
        self.native_unit_label.setObjectName("mutedLabel")
        unit_row.addSpacing(8)
        unit_row.addWidget(self.native_unit_label)
        unit_row.addStretch(1)
        legend = QLabel("action ── solid    state - - dashed")
        legend.setObjectName("mutedLabel")
        unit_row.addWidget(legend)
        plots_box = QWidget()
        plots_layout = QVBoxLayout(plots_box)
        plots_layout.setContentsMargins(0, 0, 0, 0)
        plots_layout.setSpacing(0)
        plots_layout.addLayout(unit_row)
        plots_layout.addWidget(self.plots, 1)
        self.transport = TransportBar()
        self.transport.seekRequested.connect(self.set_position)
        self.transport.stepRequested.connect(self.step)
        self.transport.playToggled.connect(self.toggle_play)
        self.transport.speedChanged.connect(self.set_speed)
        self.transport.trimInRequested.connect(self.trim_in_here)
        self.transport.trimOutRequested.connect(self.trim_out_here)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("browse.viewerSplitter")
        self.splitter.addWidget(self.videos)
        self.splitter.addWidget(plots_box)
        self.splitter.setStretchFactor(0, 5)
        self.splitter.setStretchFactor(1, 4)
        self.splitter.setChildrenCollapsible(False)
        self._splitter_fixed = False  # True once the user moved it or a saved layout set it
        self.splitter.splitterMoved.connect(lambda *_: setattr(self, "_splitter_fixed", True))
        viewer = QWidget()
        viewer.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        viewer_layout = QVBoxLayout(viewer)
        viewer_layout.setContentsMargins(4, 4, 4, 0)
        viewer_layout.setSpacing(2)
        viewer_layout.addWidget(self.splitter, 1)
        viewer_layout.addWidget(self.transport)
        self.viewer = viewer
        self.inner.setCentralWidget(viewer)

        # curation dock
        self.curation_dock = QDockWidget("Curation", self.inner)
        self.curation_dock.setObjectName("browse.curation")
        self.curation_dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.curation_dock.setWidget(self._build_curation_bar())
        self.inner.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.curation_dock)
        self.problems = BrowseProblems(self)  # the doctor's findings, tabbed with Curation
        self.inner.resizeDocks([self.episodes_dock], [540], Qt.Orientation.Horizontal)
        self._default_state = self.inner.saveState()
        self.toast = Toast(self)

    def _build_curation_bar(self) -> QWidget:
        bar = QWidget()
        bar.setObjectName("curationBar")
        self.good_button = self._curation_button("Good", "good", "Rate good (G)")
        self.bad_button = self._curation_button("Bad", "bad", "Rate bad (B)")
        self.flag_button = self._curation_button("Flag", "flag", "Flag for review (F)")
        self.exclude_button = self._curation_button(
            "Exclude", None, "Leave this episode out of the export (X)"
        )
        self.good_button.clicked.connect(lambda: self.rate("good"))
        self.bad_button.clicked.connect(lambda: self.rate("bad"))
        self.flag_button.clicked.connect(self.toggle_flag)
        self.exclude_button.clicked.connect(self.toggle_excluded)
        self.note_edit = QLineEdit()
        self.note_edit.setPlaceholderText("Note on this episode")
        self.note_edit.editingFinished.connect(self._commit_note)
        self.task_edit = QLineEdit()
        self.task_edit.setPlaceholderText("Task")
        self.task_edit.setToolTip("Relabel the task (empty: keep the recorded task)")
        self.task_edit.editingFinished.connect(self._commit_task)
        self.clear_trim_button = QToolButton()
        self.clear_trim_button.setText("Clear trim")
        self.clear_trim_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.clear_trim_button.clicked.connect(self.clear_trim)
        self.undo_button = QToolButton()
        self.undo_button.setText("Undo")
        self.undo_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.undo_button.clicked.connect(self.undo)
        self.redo_button = QToolButton()
        self.redo_button.setText("Redo")
        self.redo_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.redo_button.clicked.connect(self.redo)
        self.export_button = QPushButton("Export curated…")
        self.export_button.setObjectName("primaryButton")
        self.export_button.setToolTip("Write a new dataset with trims, exclusions and task edits (Ctrl+E)")
        self.export_button.clicked.connect(self.export_curated_dialog)
        self.summary_label = QLabel("")
        self.summary_label.setObjectName("mutedLabel")
        self.sidecar_label = QLabel("")
        self.sidecar_label.setObjectName("mutedLabel")
        self.sidecar_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # progress row for long work (export), with cancel
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(220)
        self.progress_text = QLabel("")
        self.progress_cancel = QPushButton("Cancel")
        self.progress_cancel.clicked.connect(self.cancel_export)
        top = QHBoxLayout()
        top.setSpacing(6)
        top.addWidget(QLabel("Rating"))
        top.addWidget(self.good_button)
        top.addWidget(self.bad_button)
        top.addWidget(self.flag_button)
        top.addWidget(self.exclude_button)
        top.addSpacing(10)
        top.addWidget(QLabel("Note"))
        top.addWidget(self.note_edit, 3)
        top.addWidget(QLabel("Task"))
        top.addWidget(self.task_edit, 3)
        top.addWidget(self.clear_trim_button)
        bottom = QHBoxLayout()
        bottom.setSpacing(6)
        bottom.addWidget(self.summary_label, 1)
        bottom.addWidget(self.progress_text)
        bottom.addWidget(self.progress_bar)
        bottom.addWidget(self.progress_cancel)
        bottom.addWidget(self.undo_button)
        bottom.addWidget(self.redo_button)
        bottom.addWidget(self.export_button)
        layout = QVBoxLayout(bar)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addLayout(bottom)
        layout.addWidget(self.sidecar_label)
        self._set_progress_visible(False)
        return bar

    def _curation_button(self, text: str, icon: str | None, tip: str) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setCheckable(True)
        button.setToolTip(tip)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.setObjectName(f"{text.lower()}Button")
        if icon:
            colors = {
                "good": palette.color("good"),
                "bad": palette.color("bad"),
                "flag": palette.color("flag"),
            }
            button.setIcon(media_icon(icon, colors.get(icon)))
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        return button

    def _shortcuts(self) -> None:
        add_transport_shortcuts(self, self.toggle_play, self.step, self.set_position, self._last_frame)

        def add(keys: str, slot) -> None:
            add_pane_shortcut(self, keys, slot)

        add("Up", lambda: self.next_episode(-1))
        add("Down", lambda: self.next_episode(1))
        add("I", self.trim_in_here)
        add("O", self.trim_out_here)
        add("F", self.toggle_flag)
        add("G", lambda: self.rate("good"))
        add("B", lambda: self.rate("bad"))
        add("X", self.toggle_excluded)
        add("Escape", lambda: self.table.setFocus())

    def _show_empty(self) -> None:
        self.videos.set_cameras([])
        self.videos.set_empty_text("Drop a dataset here or use File > Open dataset (Ctrl+O)")
        self.plots.show_message("Open a dataset to see its episodes, cameras and joints")
        self.transport.timeline.set_range(0)
        self.transport.position_label.setText("–")
        self._update_curation_widgets()

    # -- opening ----------------------------------------------------------------------------------
    def open_path(self, path: str | Path, episode: int | None = None, frame: int | None = None) -> None:
        """Open a dataset in the background; ``episode``/``frame`` are shown first when given."""
        path = _resolve_dataset_path(path)
        self.close_dataset()
        self._requested = (episode if episode is not None else -1, frame or 0)
        self._pending_first_frame = True
        self.videos.set_empty_text(f"Opening {path.name}…")
        self.plots.show_message(f"Opening {path}…")
        self.context.set_status("dataset", f"opening {path.name}…")
        self._open_task = run_task(
            _open_job,
            str(path),
            on_done=self._on_opened,
            on_error=lambda m, d: self._on_open_failed(str(path), m, d),
        )

    def show_dataset(self, dataset: Dataset, episode: int | None = None, frame: int = 0) -> None:
        """Show a dataset that is already open (its curation is read here)."""
        self.close_dataset()
        self._requested = (episode if episode is not None else -1, frame)
        self._pending_first_frame = True
        self._on_opened((dataset, Curation.load(dataset.path, dataset)))

    def _on_open_failed(self, path: str, message: str, details: str) -> None:
        self._open_task = None
        self._pending_first_frame = False
        self._show_empty()
        self.context.set_status("dataset", "no dataset")
        show_error(self, "Could not open the dataset", message, details, path)
        self.openFailed.emit(message)

    def _on_opened(self, result: tuple[Dataset, Curation]) -> None:
        self._open_task = None
        dataset, curation = result
        self.dataset, self.curation = dataset, curation
        curation.add_listener(self._on_curation_changed)
        self.plots.reset_ranges()
        self.context.datasets[str(dataset.path)] = dataset
        self.hints = {}
        self.model.set_rows([self._row_for(e) for e in dataset.episodes])
        lengths = [e.length for e in dataset.episodes] or [0]
        self.filters.set_dataset_values(self._task_options(), min(lengths), max(lengths))
        self.sidecar_label.setText(f"Decisions are saved to {curation.path}")
        self.context.set_status(
            "dataset", f"{dataset.path.name} ({dataset.format.value}, {dataset.num_episodes} episodes)"
        )
        self._update_summary()
        self.undoStateChanged.emit()
        self.datasetLoaded.emit(dataset)
        self.problems.dataset_opened(dataset)
        self.context.datasetOpened.emit(dataset)
        if curation.warnings:
            self.toast.show_message("Curation notes:\n" + "\n".join(curation.warnings[:5]))
        if not dataset.episodes:
            self.videos.set_empty_text("This dataset has no episodes")
            self.plots.show_message("This dataset has no episodes")
            self._pending_first_frame = False
            return
        wanted_episode, wanted_frame = self._requested or (-1, 0)
        self._requested = None
        target = (
            wanted_episode
            if any(e.index == wanted_episode for e in dataset.episodes)
            else dataset.episodes[0].index
        )
        self.show_episode(target, wanted_frame)
        self._start_hints(dataset)

    def _task_options(self) -> list[str]:
        tasks = list(self.dataset.tasks) if self.dataset else []
        for row in self.model.rows:
            if row.task and row.task not in tasks:
                tasks.append(row.task)
        return tasks

    def close_dataset(self) -> None:
        self.pause()
        self.loader.clear()
        for task in (self._open_task, self._hint_task, self._thumb_task):
            if task is not None:
                task.cancel()
        self._open_task = self._hint_task = self._thumb_task = None
        self.problems.dataset_closed()
        if self.curation is not None:
            self.curation.remove_listener(self._on_curation_changed)
        if self.dataset is not None:
            self.context.datasets.pop(str(self.dataset.path), None)
            dataset = self.dataset
            self.dataset = None
            # close in the background once in-flight readers are done with it (never on the GUI thread)
            QTimer.singleShot(2000, lambda: run_task(_close_job, dataset))
        self.curation = None
        self.episode = None
        self.joint_data = {}
        self.model.set_rows([])
        self.filters.update_count()

    # -- episodes ---------------------------------------------------------------------------------
    def _row_for(self, episode: Episode) -> EpisodeRow:
        decision = self.curation.decision(episode.index) if self.curation else None
        hints = self.hints.get(episode.index)
        row = EpisodeRow(
            index=episode.index,
            task=(decision.task if decision and decision.task else episode.task) or "",
            length=episode.length,
            duration=episode.duration,
            success=episode.success,
            source=episode.source,
            hints=[(h.code, h.label, h.text) for h in hints] if hints else [],
            hints_ready=hints is not None,
        )
        if decision is not None:
            row.flagged, row.rating, row.note = decision.flagged, decision.rating, decision.note
            row.excluded, row.trimmed, row.task_edited = (
                decision.excluded,
                decision.trimmed,
                decision.task is not None,
            )
        return row

    def _on_table_episode(self, index: int) -> None:
        if self.episode is None or index != self.episode.index:
            self.show_episode(index, 0)

    def show_episode(self, index: int, frame: int = 0) -> None:
        """Show episode ``index``: cameras and timeline at once, arrays and frames in the background."""
        if self.dataset is None:
            return
        was_playing = self.playing
        self.pause()
        episode = self.dataset.episode(index)
        self.episode = episode
        self._load_token += 1
        token = self._load_token
        self.position = max(0, min(int(frame), episode.length - 1))
        self.table.blockSignals(True)
        self.table.select_episode(index)
        self.table.blockSignals(False)
        cameras = [
            c for c in self.dataset.cameras if self.dataset.features[self.dataset.cameras[c]].has_files
        ]
        if list(self.videos.tiles) != cameras:
            self.videos.set_cameras(cameras, "Decoding…")
            QTimer.singleShot(0, self.fit_splitter)
        else:
            for tile in self.videos.tiles.values():
                tile.clear("Decoding…")
        if not cameras:
            self.videos.set_empty_text("This dataset has no cameras")
            if self._pending_first_frame:
                self._pending_first_frame = False
                self.firstFrameShown.emit()
        self.loader.set_sources({c: (lambda c=c, e=episode: e.stream(c)) for c in cameras})
        self.transport.timeline.set_range(episode.length, self.dataset.fps)
        self._update_trim_markers()
        self._set_position(self.position, request=True)
        if self.plots.showing_message():  # keep the previous plots until the new values arrive
            self.plots.show_message(f"Loading episode {index}…")
        self.joint_data = {}
        run_task(
            _load_job,
            episode,
            on_done=lambda data, t=token: self._on_loaded(t, data),
            on_error=lambda m, d, t=token: self._on_load_failed(t, m, d),
        )
        if self._thumb_task is not None:
            self._thumb_task.cancel()
        self._thumb_task = None
        if cameras:
            self._thumb_task = run_task(
                _thumbnail_job,
                episode,
                cameras[0],
                THUMBNAILS,
                THUMB_WIDTH,
                on_done=lambda thumbs, t=token: self._on_thumbs(t, thumbs),
            )
        self._update_curation_widgets()
        n = self.proxy.visible_episodes()
        number = n.index(index) + 1 if index in n else 0
        self.context.set_status(
            "episode", f"episode {index} ({number}/{len(n)} shown)" if number else f"episode {index}"
        )
        if was_playing:
            self.play()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        if not self._splitter_fixed and self.videos.tiles:
            QTimer.singleShot(0, self.fit_splitter)

    def fit_splitter(self) -> None:
        """Give the cameras the height their aspect ratio needs, the joints the rest (>= 45 %)."""
        if self._splitter_fixed or self.dataset is None or not self.videos.tiles:
            return
        total = sum(self.splitter.sizes())
        if total <= 0:
            return
        names = list(self.videos.tiles)
        columns = 2 if len(names) == 2 else max(1, math.ceil(math.sqrt(len(names))))
        rows = math.ceil(len(names) / columns)
        info = self.dataset.camera_info(names[0])
        aspect = (info.height / info.width) if info and info.width else 0.75
        tile_width = (self.videos.width() - 4 * (columns - 1)) / columns
        wanted = int(rows * tile_width * aspect + 4 * (rows - 1))
        videos = max(140, min(wanted, int(total * 0.55)))
        self.splitter.setSizes([videos, total - videos])

    def _on_loaded(self, token: int, data: dict[str, Any]) -> None:
        if token != self._load_token or self.episode is None:
            return
        self.joint_data = data
        if self._pending_first_frame:
            # plotting builds the plots (and imports pyqtgraph the first time): the video goes first
            self._plot_after_first_frame = token
            return
        self._replot()
        self.episodeShown.emit(self.episode.index)

    def _plot_deferred(self) -> None:
        token, self._plot_after_first_frame = self._plot_after_first_frame, None
        if token is not None and token == self._load_token and self.episode is not None:
            self._replot()
            self.episodeShown.emit(self.episode.index)

    def _on_load_failed(self, token: int, message: str, details: str) -> None:
        if token != self._load_token:
            return
        self.plots.show_message(f"Could not read the joint values: {message}")

    def _on_thumbs(self, token: int, thumbs: list[tuple[int, np.ndarray]]) -> None:
        if token == self._load_token:
            self.transport.timeline.set_thumbnails(thumbs)
            self.thumbnailsReady.emit(len(thumbs))

    def _replot(self) -> None:
        action, state = self.joint_data.get("action"), self.joint_data.get("state")
        series = [v for v in (action, state) if v is not None]
        if not series:
            self.plots.show_message("This episode has no joint values")
            return
        if action is not None and state is not None and action.space.width != state.space.width:
            # e.g. keyboard/IK actions next to joint states: show the joint positions
            action, state = (action, None) if action.space.is_so101 else (None, state)
            series = [v for v in (action, state) if v is not None]
        space = series[0].space
        units = space.convertible_units()
        unit = self.unit if self.unit in units else space.unit
        for button in self.unit_buttons.buttons():
            button.setEnabled(Unit(button.property("unit")) in units)
            button.setChecked(Unit(button.property("unit")) is unit)
        native = ", ".join(sorted({s.space.unit.label or "no unit" for s in series}))
        self.native_unit_label.setText(f"stored as {native}")
        converted: list[np.ndarray | None] = []
        left_out = []
        for role, values in (("action", action), ("state", state)):
            try:
                converted.append(None if values is None else values.to(unit).values)
            except UnitError as error:  # e.g. action and state stored in units that do not convert
                converted.append(None)
                left_out.append(f"{role} not shown in {unit.label}: {error.problem}")
        if all(v is None for v in converted):
            self.plots.show_message(f"Cannot plot in {unit.label}: " + "; ".join(left_out))
            return
        if left_out:
            self.native_unit_label.setText(f"stored as {native} ({'; '.join(left_out)})")
        names = [base_joint_name(n) for n in space.names]
        times = np.arange(self.episode.length, dtype=np.float64) / (self.dataset.fps or 1.0)
        self.plots.set_series(times, names, unit.label, converted[0], converted[1])
        self.plots.set_playhead(self.position)
        self._update_trim_markers()

    def set_unit(self, unit: Unit) -> None:
        self.unit = unit
        self.context.settings.setValue("browse/unit", unit.value)
        if self.joint_data:
            self._replot()

    def next_episode(self, delta: int) -> None:
        visible = self.proxy.visible_episodes()
        if not visible:
            return
        if self.episode is None or self.episode.index not in visible:
            target = visible[0]
        else:
            pos = visible.index(self.episode.index) + delta
            if not 0 <= pos < len(visible):
                return
            target = visible[pos]
        self.show_episode(target, 0)

    def _on_filters_changed(self) -> None:
        if self.episode is not None:
            self.table.blockSignals(True)
            self.table.select_episode(self.episode.index)
            self.table.blockSignals(False)

    # -- hints ------------------------------------------------------------------------------------
    def _start_hints(self, dataset: Dataset) -> None:
        emit = self._hintReady.emit
        self._hint_task = run_task(compute_hints, dataset, on_result=lambda i, h: emit(i, h))

    def _on_hint(self, index: int, hints: list) -> None:
        self.hints[index] = hints
        self.model.update_row(index, hints=[(h.code, h.label, h.text) for h in hints], hints_ready=True)

    # -- playhead ---------------------------------------------------------------------------------
    def _last_frame(self) -> int:
        return max(0, self.episode.length - 1) if self.episode else 0

    def set_position(self, frame: int) -> None:
        if self.episode is None:
            return
        self._set_position(frame, request=True)
        if self.playing:  # a seek while playing restarts the clock from here
            self._play_origin = self.position
            self._play_clock.restart()

    def _set_position(self, frame: int, request: bool, lookahead: int = 0) -> None:
        frame = max(0, min(int(frame), self._last_frame()))
        self.position = frame
        fps = self.dataset.fps if self.dataset else 30.0
        self.transport.set_position(frame, self.episode.length if self.episode else 0, fps)
        self.plots.set_playhead(frame)
        if request:
            self.loader.request(frame, lookahead)
        self.context.set_status("frame", f"frame {frame}/{self._last_frame()} · {frame / fps:.2f} s")

    def step(self, delta: int) -> None:
        self.pause()
        self.set_position(self.position + delta)

    def _seek_seconds(self, seconds: float) -> None:
        if self.dataset is not None:
            self.set_position(int(round(seconds * self.dataset.fps)))

    def _on_frame(self, camera: str, index: int, rgb: np.ndarray) -> None:
        tile = self.videos.tiles.get(camera)
        if tile is None:
            return
        fps = self.dataset.fps if self.dataset else 30.0
        tile.set_frame(rgb, index, f"frame {index} · {index / fps:.2f} s")
        if all(t.index == self.position for t in self.videos.tiles.values()):
            self.frameShown.emit(self.position)
            if self._pending_first_frame:
                self._pending_first_frame = False
                self.firstFrameShown.emit()
                if self._plot_after_first_frame is not None:
                    QTimer.singleShot(0, self._plot_deferred)

    def _on_frame_failed(self, camera: str, index: int, message: str, details: str) -> None:
        tile = self.videos.tiles.get(camera)
        if tile is not None:
            tile.clear(
                f"Cannot show frame {index}: {message}" if index >= 0 else f"Cannot open video: {message}"
            )
        if self._pending_first_frame:
            self._pending_first_frame = False
            self.firstFrameShown.emit()
            if self._plot_after_first_frame is not None:
                QTimer.singleShot(0, self._plot_deferred)

    # -- playback ---------------------------------------------------------------------------------
    def toggle_play(self) -> None:
        self.pause() if self.playing else self.play()

    def play(self) -> None:
        if self.episode is None or self.playing:
            return
        end = self._play_end()
        if self.position >= end:
            start = self.curation.decision(self.episode.index).trim_in if self.curation else None
            self._set_position(start or 0, request=True)
        self.playing = True
        self.skipped_frames = 0
        self._play_origin = self.position
        self._play_clock.start()
        fps = (self.dataset.fps or 30.0) * self.speed
        self._play_timer.start(max(4, min(16, int(500 / fps))))
        self.transport.set_playing(True)
        self.loader.request(self.position, self._lookahead())

    def pause(self) -> None:
        if not self.playing:
            return
        self.playing = False
        self._play_timer.stop()
        self.transport.set_playing(False)

    def set_speed(self, speed: float) -> None:
        self.speed = float(speed)
        self.transport.set_speed(self.speed)
        if self.playing:
            self._play_origin = self.position
            self._play_clock.restart()
            fps = (self.dataset.fps or 30.0) * self.speed
            self._play_timer.start(max(4, min(16, int(500 / fps))))

    def _lookahead(self) -> int:
        """Frames to decode ahead while playing: ~0.5 s of video; 1.5 s of HDF5 images, which come
        in lzf chunks of 100 frames that one lock per file decompresses camera after camera."""
        if self.dataset is None:
            return 4
        images = any(
            self.dataset.features[k].kind is FeatureKind.IMAGE for k in self.dataset.cameras.values()
        )
        seconds = 1.5 if images else 0.5
        return int(min(60, max(4, (self.dataset.fps or 30.0) * self.speed * seconds)))

    def _play_end(self) -> int:
        if self.episode is None:
            return 0
        out = self.curation.decision(self.episode.index).trim_out if self.curation else None
        return self._last_frame() if out is None else min(out, self._last_frame())

    def _tick(self) -> None:
        if self.episode is None:
            self.pause()
            return
        fps = self.dataset.fps or 30.0
        elapsed = self._play_clock.nsecsElapsed() / 1e9
        target = self._play_origin + int(elapsed * fps * self.speed)
        end = self._play_end()
        if target >= end:
            target = end
        if target != self.position:
            if target > self.position + 1:
                self.skipped_frames += target - self.position - 1
            self._set_position(target, request=True, lookahead=self._lookahead())
        if target >= end:
            self.pause()

    # -- curation ---------------------------------------------------------------------------------
    def _targets(self) -> list[int]:
        """Episodes an action applies to: the selected rows (or the shown episode)."""
        selected = self.table.selected_episodes()
        if self.episode is not None and self.episode.index not in selected:
            return [self.episode.index]
        return selected or ([self.episode.index] if self.episode else [])

    def _guard(self) -> bool:
        return self.curation is not None and self.episode is not None

    def _curate(self, fn, *args, **kwargs) -> None:
        try:
            fn(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - shown to the user
            show_exception(self, "Could not save the curation", error)

    def rate(self, rating: str) -> None:
        if not self._guard():
            return
        targets = self._targets()
        current = self.curation.decision(self.episode.index).rating
        value = None if current == rating else rating
        self._curate(self.curation.set_many, targets, None, rating=value)

    def toggle_flag(self) -> None:
        if self._guard():
            value = not self.curation.decision(self.episode.index).flagged
            self._curate(self.curation.set_many, self._targets(), None, flagged=value)

    def toggle_excluded(self) -> None:
        if self._guard():
            value = not self.curation.decision(self.episode.index).excluded
            self._curate(self.curation.set_many, self._targets(), None, excluded=value)

    def trim_in_here(self) -> None:
        if self._guard():
            self._curate(self.curation.set_trim_in, self.episode.index, self.position, self.episode.length)

    def trim_out_here(self) -> None:
        if self._guard():
            self._curate(self.curation.set_trim_out, self.episode.index, self.position, self.episode.length)

    def clear_trim(self) -> None:
        if self._guard():
            self._curate(
                self.curation.set,
                self.episode.index,
                f"Clear trim of episode {self.episode.index}",
                trim_in=None,
                trim_out=None,
            )

    def set_note(self, text: str) -> None:
        if self._guard():
            self._curate(self.curation.set, self.episode.index, None, note=text)

    def set_task(self, text: str) -> None:
        if self._guard():
            original = self.episode.task or ""
            value = None if not text.strip() or text.strip() == original else text
            self._curate(self.curation.set, self.episode.index, None, task=value)

    def _commit_note(self) -> None:
        if self._guard() and self.note_edit.text() != self.curation.decision(self.episode.index).note:
            self.set_note(self.note_edit.text())

    def _commit_task(self) -> None:
        if self._guard():
            current = self.curation.task_for(self.episode)
            if self.task_edit.text().strip() != current:
                self.set_task(self.task_edit.text())

    def undo(self) -> None:
        if self.curation is not None:
            self._curate(self.curation.undo)

    def redo(self) -> None:
        if self.curation is not None:
            self._curate(self.curation.redo)

    def _on_curation_changed(self, episodes: list[int]) -> None:
        if self.dataset is None:
            return
        for index in episodes:
            try:
                row = self._row_for(self.dataset.episode(index))
            except Exception:  # noqa: BLE001 - decisions for an episode no longer in the dataset
                continue
            self.model.update_row(
                index,
                task=row.task,
                flagged=row.flagged,
                rating=row.rating,
                note=row.note,
                excluded=row.excluded,
                trimmed=row.trimmed,
                task_edited=row.task_edited,
            )
        self.proxy.refilter()
        self.filters.update_count()
        self._update_curation_widgets()
        self._update_trim_markers()
        self._update_summary()
        self.undoStateChanged.emit()

    def _update_trim_markers(self) -> None:
        if self.episode is None or self.curation is None:
            self.transport.set_trim(None, None)
            return
        decision = self.curation.decision(self.episode.index)
        self.transport.set_trim(decision.trim_in, decision.trim_out)
        self.plots.set_trim(decision.trim_in, decision.trim_out)

    def _update_curation_widgets(self) -> None:
        enabled = self._guard()
        for widget in (
            self.good_button,
            self.bad_button,
            self.flag_button,
            self.exclude_button,
            self.note_edit,
            self.task_edit,
            self.clear_trim_button,
            self.export_button,
            self.transport.in_button,
            self.transport.out_button,
        ):
            widget.setEnabled(enabled)
        self.undo_button.setEnabled(bool(self.curation and self.curation.can_undo))
        self.redo_button.setEnabled(bool(self.curation and self.curation.can_redo))
        if self.curation is not None:
            self.undo_button.setToolTip(
                f"Undo: {self.curation.undo_label}" if self.curation.can_undo else "Nothing to undo"
            )
            self.redo_button.setToolTip(
                f"Redo: {self.curation.redo_label}" if self.curation.can_redo else "Nothing to redo"
            )
        if not enabled:
            for button in (self.good_button, self.bad_button, self.flag_button, self.exclude_button):
                button.setChecked(False)
            self.note_edit.clear()
            self.task_edit.clear()
            return
        decision = self.curation.decision(self.episode.index)
        self.good_button.setChecked(decision.rating == "good")
        self.bad_button.setChecked(decision.rating == "bad")
        self.flag_button.setChecked(decision.flagged)
        self.exclude_button.setChecked(decision.excluded)
        if not self.note_edit.hasFocus():
            self.note_edit.setText(decision.note)
        if not self.task_edit.hasFocus():
            self.task_edit.setText(self.curation.task_for(self.episode))
            self.task_edit.setPlaceholderText(self.episode.task or "Task")
        self.task_edit.setToolTip(
            f"Relabelled; recorded task: {self.episode.task!r}"
            if decision.task
            else "Relabel the task (empty: keep the recorded task)"
        )

    def _update_summary(self) -> None:
        if self.dataset is None or self.curation is None:
            self.summary_label.setText("")
            return
        self.summary_label.setText(format_summary(self.curation.summary(self.dataset)))

    # -- export -----------------------------------------------------------------------------------
    def default_export_path(self, fmt: DatasetFormat) -> Path:
        assert self.dataset is not None
        base = Path(self.context.workspace) / "exports"
        stem = self.dataset.path.name.split(".")[0] if self.dataset.path.is_file() else self.dataset.path.name
        name = f"{stem}-curated"
        candidate = base / (name + (".hdf5" if fmt is DatasetFormat.LEISAAC_HDF5 else ""))
        n = 2
        while candidate.exists():
            candidate = base / (f"{name}-{n}" + (".hdf5" if fmt is DatasetFormat.LEISAAC_HDF5 else ""))
            n += 1
        return candidate

    def export_curated_dialog(self) -> ExportDialog | None:
        if self.dataset is None or self.curation is None:
            return None
        fmt = (
            self.dataset.format
            if self.dataset.format in dict(WRITABLE_FORMATS)
            else DatasetFormat.LEROBOT_V30
        )
        dialog = ExportDialog(
            self,
            self.dataset,
            format_summary(self.curation.summary(self.dataset)),
            self.default_export_path(fmt),
        )
        dialog.accepted.connect(lambda: self.start_export(dialog.output(), dialog.chosen_format()))
        dialog.open()
        return dialog

    def start_export(self, out: Path, fmt: DatasetFormat) -> None:
        """Export in the background with progress and cancel; validate the result when done."""
        if self.dataset is None or self.curation is None or self._export_task is not None:
            return
        snapshot = self.curation.snapshot()
        self._set_progress_visible(True)
        self.progress_text.setText("Exporting…")
        self.progress_bar.setRange(0, 0)
        self._export_started = time.monotonic()
        self._export_task = run_task(
            export_curated,
            self.dataset,
            snapshot,
            str(out),
            fmt.value,
            outputs=[out],
            on_progress=self._on_export_progress,
            on_done=self._on_exported,
            on_error=self._on_export_failed,
            on_cancelled=self._on_export_cancelled,
        )

    def cancel_export(self) -> None:
        if self._export_task is not None:
            self.progress_text.setText("Cancelling…")
            self._export_task.cancel()

    def _on_export_progress(self, done: int, total: int, text: str) -> None:
        self.progress_bar.setRange(0, max(1, total))
        self.progress_bar.setValue(done)
        self.progress_text.setText(text)

    def _on_exported(self, out: Path) -> None:
        self._export_task = None
        self._set_progress_visible(False)
        seconds = time.monotonic() - self._export_started

        def validated(problems) -> None:
            errors = [p for p in problems if p.severity == "error"]
            verdict = (
                "validate: OK" if not errors else f"validate: {len(errors)} problem(s): {errors[0].line()}"
            )
            self.toast.show_message(
                f"Exported to {out} in {seconds:.1f} s ({verdict})",
                [("Open in Browse", lambda: self.context.openDatasetRequested.emit(str(out)))],
                timeout_ms=20000,
            )
            self.exportFinished.emit(Path(out))

        def validate_job(path: str, progress=None):
            from backend.formats import validate_path

            return validate_path(path)

        run_task(
            validate_job,
            str(out),
            on_done=validated,
            on_error=lambda m, d: (
                self.toast.show_message(f"Exported to {out}; validate failed: {m}"),
                self.exportFinished.emit(Path(out)),
            ),
        )

    def _on_export_failed(self, message: str, details: str) -> None:
        self._export_task = None
        self._set_progress_visible(False)
        show_error(self, "Export failed (nothing was written)", message, details)

    def _on_export_cancelled(self) -> None:
        self._export_task = None
        self._set_progress_visible(False)
        self.toast.show_message("Export cancelled; nothing was written.")

    def _set_progress_visible(self, visible: bool) -> None:
        for widget in (self.progress_bar, self.progress_text, self.progress_cancel):
            widget.setVisible(visible)

    def export_decisions_dialog(self) -> None:
        if self.dataset is None or self.curation is None:
            return
        start = str(Path(self.context.last_folder("decisions")) / f"{self.dataset.path.name}.decisions.json")
        path, _ = QFileDialog.getSaveFileName(self, "Export decisions as JSON", start, "JSON (*.json)")
        if path:
            self.export_decisions(Path(path))

    def export_decisions(self, path: Path) -> Path | None:
        try:
            out = export_decisions_json(self.dataset, self.curation, path)
        except Exception as error:  # noqa: BLE001 - shown to the user
            show_exception(self, "Could not export the decisions", error)
            return None
        self.context.set_last_folder("decisions", str(Path(path).parent))
        self.toast.show_message(f"Decisions written to {out}")
        return out

    def validate_current(self) -> None:
        if self.dataset is None:
            return
        path = str(self.dataset.path)

        def job(p: str, progress=None):
            from backend.formats import validate_path

            return validate_path(p)

        def done(problems) -> None:
            errors = [p for p in problems if p.severity == "error"]
            warnings = [p for p in problems if p.severity != "error"]
            if not problems:
                self.toast.show_message(f"{Path(path).name}: valid, no problems found.")
            elif not errors:
                self.toast.show_message(
                    f"{Path(path).name}: valid with {len(warnings)} warning(s):\n"
                    + "\n".join(w.line() for w in warnings[:5])
                )
            else:
                show_error(
                    self,
                    f"{Path(path).name} has {len(errors)} problem(s)",
                    "\n".join(p.line() for p in errors[:8]),
                    "\n".join(p.line() for p in problems),
                    path,
                )

        run_task(
            job, path, on_done=done, on_error=lambda m, d: show_error(self, "Validate failed", m, d, path)
        )

    # -- pane protocol ----------------------------------------------------------------------------
    def status_fields(self) -> dict[str, str]:
        if self.dataset is None:
            return {"dataset": "no dataset"}
        return {"dataset": self.dataset.path.name}

    def save_state(self) -> dict[str, Any]:
        return {
            "docks": base64.b64encode(bytes(self.inner.saveState().data())).decode("ascii"),
            "splitter": self.splitter.sizes(),
            "header": base64.b64encode(bytes(self.table.horizontalHeader().saveState().data())).decode(
                "ascii"
            ),
            "speed": self.speed,
        }

    def restore_state(self, state: dict[str, Any]) -> None:
        try:
            if state.get("docks"):
                self.inner.restoreState(QByteArray(base64.b64decode(state["docks"])))
            if state.get("splitter"):
                self.splitter.setSizes([int(x) for x in state["splitter"]])
                self._splitter_fixed = True
            if state.get("header"):
                self.table.horizontalHeader().restoreState(QByteArray(base64.b64decode(state["header"])))
            if state.get("speed"):
                self.set_speed(float(state["speed"]))
        except (ValueError, TypeError):
            pass  # a layout from another version: keep the default

    def reset_layout(self) -> None:
        self.inner.restoreState(self._default_state)
        self.episodes_dock.show()
        self.curation_dock.show()
        self._splitter_fixed = False
        self.fit_splitter()

    def remember_position(self) -> None:
        """Store the episode/frame per dataset so reopening shows the same place."""
        if self.dataset is None or self.episode is None:
            return
        places = get_json(self.context.settings, "browse/places", {}) or {}
        places[str(Path(self.dataset.path).absolute())] = [self.episode.index, self.position]
        set_json(self.context.settings, "browse/places", dict(list(places.items())[-50:]))

    def remembered_position(self, path: str) -> tuple[int, int] | None:
        places = get_json(self.context.settings, "browse/places", {}) or {}
        value = places.get(str(_resolve_dataset_path(path).absolute()))
        return (int(value[0]), int(value[1])) if value else None

    def shutdown(self) -> None:
        """Stop playback and background work, then close the dataset (window closing)."""
        self.remember_position()
        self.pause()
        for task in (self._open_task, self._hint_task, self._thumb_task, self._export_task):
            if task is not None:
                task.cancel()
        self.problems.shutdown()
        self.loader.shutdown()
        QThreadPool.globalInstance().waitForDone(3000)
        if self.dataset is not None:
            self.dataset.close()
