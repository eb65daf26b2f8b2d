"""Compare: a source demonstration and what the pipeline made of it, on one playhead.

Pair tab: 2-4 sources (A is the reference; B, C, D are aligned to A), their camera tiles, per-joint
overlay plots with the difference shaded, the metrics table, a 3D SO-101 (solid A, ghost B) and a
transport bar. Batch tab: every generated episode against its source, worst first; a click opens
the pair. Everything heavy (opening datasets, loading joints, alignment, DTW, batches) runs in
workers; frames come from one ``FrameLoader`` per tile, latest request wins.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.error_dialog import show_error
from app.tasks import run_task
from backend.compare.align import ALIGN_MODES
from backend.compare.batch import COLUMNS as BATCH_COLUMNS
from backend.compare.batch import BatchResult, BatchRow, compare_batch
from backend.compare.pairing import RECORDED, Pair, disagreement, pair_episodes, pairing_sentence
from backend.compare.report import write_report
from backend.compare.view import LETTERS, CompareView, SideRequest, build_view
from backend.compare.sources import parse_source
from backend.formats import open_dataset
from backend.kinematics import TIP
from backend.model import Dataset
from widgets import palette
from widgets.arm_view import ArmView
from widgets.compare_batch import RowTable
from widgets.compare_plots import CompareJointPlots
from app.frame_loader import FrameLoader
from widgets.shortcuts import add_transport_shortcuts
from widgets.timeline import TransportBar
from widgets.video_tile import VideoTile

SIDE_COLORS = ["#e8a33d", "#4e9bff", "#2ec27e", "#b48ead"]
METRIC_HEADERS = ["joint", "MAE", "RMSE", "max dev", "at s", "DTW", "corr", "bias"]
NO_DATASET = "Pick a dataset…"
MAX_PLOTS = 8  # joint plots stacked at most


def _open(path: str, progress=None) -> Dataset:
    return open_dataset(path)


class SourceSlot(QFrame):
    """One source: dataset, episode, camera; B-D also an offset and their pairing with A."""

    changed = Signal(int)  # slot index
    removeRequested = Signal(int)

    def __init__(self, index: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.index = index
        self.letter = LETTERS[index]
        self.dataset: Dataset | None = None
        self._quiet = False
        self._offset_exact = 0.0
        self.setObjectName("compareSlot")
        row = QHBoxLayout(self)
        row.setContentsMargins(2, 1, 2, 1)
        badge = QLabel(self.letter)
        badge.setFixedWidth(18)
        badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        badge.setStyleSheet(f"background:{SIDE_COLORS[index]};color:#111;font-weight:bold;border-radius:3px")
        badge.setToolTip("A: the source (reference)" if index == 0 else f"{self.letter}: compared with A")
        row.addWidget(badge)
        self.dataset_combo = QComboBox()
        self.dataset_combo.setMinimumWidth(220)
        self.dataset_combo.setToolTip("Dataset of this source (open more with Open…)")
        self.dataset_combo.addItem(NO_DATASET, None)
        row.addWidget(self.dataset_combo, 2)
        row.addWidget(QLabel("episode"))
        self.episode_combo = QComboBox()
        self.episode_combo.setMinimumWidth(110)
        row.addWidget(self.episode_combo)
        row.addWidget(QLabel("camera"))
        self.camera_combo = QComboBox()
        self.camera_combo.setMinimumWidth(80)
        row.addWidget(self.camera_combo)
        self.offset_spin = QDoubleSpinBox()
        self.offset_spin.setRange(-600.0, 600.0)
        self.offset_spin.setDecimals(3)
        self.offset_spin.setSingleStep(0.033)
        self.offset_spin.setSuffix(" s")
        self.offset_spin.setToolTip(
            "How late this source is compared with A (seconds). Edit it with alignment 'none'; "
            "the other alignments estimate it."
        )
        self.pair_label = QLabel("")
        self.pair_label.setObjectName("mutedLabel")
        if index:
            row.addWidget(QLabel("offset"))
            row.addWidget(self.offset_spin)
            row.addWidget(self.pair_label, 1)
        else:
            self.offset_spin.hide()
            self.follow_check = QCheckBox("A follows B's source")
            self.follow_check.setChecked(True)
            self.follow_check.setToolTip(
                "When B changes, pick A's episode from B's provenance (or the same index). "
                "Choose A's episode by hand to override."
            )
            row.addWidget(self.follow_check)
            row.addWidget(self.pair_label, 1)
        self.remove_button = QToolButton()
        self.remove_button.setText("×")
        self.remove_button.setToolTip(f"Remove source {self.letter}")
        self.remove_button.setVisible(index >= 2)
        self.remove_button.clicked.connect(lambda: self.removeRequested.emit(self.index))
        row.addWidget(self.remove_button)
        self.dataset_combo.currentIndexChanged.connect(lambda _i: self._emit())
        self.episode_combo.currentIndexChanged.connect(lambda _i: self._emit())
        self.camera_combo.currentIndexChanged.connect(lambda _i: self._emit())
        self.offset_spin.valueChanged.connect(lambda _v: self._emit())

    def _emit(self) -> None:
        if not self._quiet:
            self.changed.emit(self.index)

    def set_paths(self, paths: list[str]) -> None:
        current = self.path()
        self._quiet = True
        self.dataset_combo.clear()
        self.dataset_combo.addItem(NO_DATASET, None)
        for path in paths:
            self.dataset_combo.addItem(Path(path).name, path)
            self.dataset_combo.setItemData(self.dataset_combo.count() - 1, path, Qt.ItemDataRole.ToolTipRole)
        if current:
            self.dataset_combo.setCurrentIndex(max(0, self.dataset_combo.findData(current)))
        self._quiet = False

    def path(self) -> str | None:
        value = self.dataset_combo.currentData()
        return str(value) if value else None

    def set_dataset(
        self, dataset: Dataset | None, episode: int | None = None, camera: str | None = None
    ) -> None:
        """Fill episodes and cameras of ``dataset`` (keeps the choices it can)."""
        self._quiet = True
        old_episode, old_camera = self.episode(), self.camera()
        self.dataset = dataset
        if dataset is not None:
            found = self.dataset_combo.findData(str(dataset.path))
            if found >= 0:
                self.dataset_combo.setCurrentIndex(found)
        self.episode_combo.clear()
        self.camera_combo.clear()
        if dataset is not None:
            for ep in dataset.episodes:
                mark = "" if ep.success is None else (" ✓" if ep.success else " ✗")
                self.episode_combo.addItem(f"{ep.index} · {ep.length} fr{mark}", ep.index)
            for name in sorted(dataset.cameras):
                self.camera_combo.addItem(name, name)
            self.camera_combo.addItem("no camera", None)
            wanted = episode if episode is not None else old_episode
            pos = self.episode_combo.findData(wanted) if wanted is not None else -1
            self.episode_combo.setCurrentIndex(pos if pos >= 0 else 0)
            wanted_cam = camera if camera is not None else old_camera
            pos = self.camera_combo.findData(wanted_cam) if wanted_cam else -1
            self.camera_combo.setCurrentIndex(pos if pos >= 0 else 0)
        self._quiet = False

    def episode(self) -> int | None:
        value = self.episode_combo.currentData()
        return None if value is None else int(value)

    def set_episode(self, index: int) -> bool:
        pos = self.episode_combo.findData(index)
        if pos < 0:
            return False
        self._quiet = True
        self.episode_combo.setCurrentIndex(pos)
        self._quiet = False
        return True

    def camera(self) -> str | None:
        value = self.camera_combo.currentData()
        return str(value) if value else None

    def offset(self) -> float:
        """The offset in seconds: the exact value set by the pane unless the user edited the box."""
        shown = float(self.offset_spin.value())
        if abs(shown - round(self._offset_exact, self.offset_spin.decimals())) < 1e-9:
            return self._offset_exact
        return shown

    def set_offset(self, value: float, editable: bool = True) -> None:
        self._quiet = True
        self._offset_exact = float(value)
        self.offset_spin.setValue(float(value))
        self.offset_spin.setReadOnly(not editable)
        self._quiet = False


class ComparePane(QWidget):
    comparisonReady = Signal()  # a comparison landed and the views show it
    batchReady = Signal()
    frameShown = Signal(int, int)  # side, frame index handed to its tile

    def __init__(self, context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setObjectName("ComparePane")
        self.datasets: dict[str, Dataset] = {}  # path -> Dataset this pane opened
        self.known_paths: list[str] = []
        self._waiting: dict[str, list] = {}  # path -> callbacks waiting for it to open
        self.view: CompareView | None = None
        self.batch: BatchResult | None = None
        self.time = 0.0
        self.playing = False
        self.speed = 1.0
        self._generation = 0
        self._task = None
        self._batch_task = None
        self._manual_pairs: dict[tuple[str, int], int] = {}  # (generated path, episode) -> source episode
        self.loaders: list[FrameLoader] = []
        self.tiles: list[VideoTile] = []
        self._recompute = QTimer(self)
        self._recompute.setSingleShot(True)
        self._recompute.setInterval(150)
        self._recompute.timeout.connect(self.compute)
        self._play_timer = QTimer(self)
        self._play_timer.setInterval(33)
        self._play_timer.timeout.connect(self._tick)
        self._play_clock = time.monotonic()
        self._build()
        self._shortcuts()
        context.datasetOpened.connect(self._on_context_dataset)
        context.compareRequested.connect(self.open_sources)
        for path in getattr(context, "datasets", {}):
            self._remember(str(path))
        self._show_empty()

    # -- building ---------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)

        # sources and options
        self.slots: list[SourceSlot] = []
        self.slot_box = QVBoxLayout()
        self.slot_box.setSpacing(1)
        for i in range(2):
            self._add_slot(i)
        layout.addLayout(self.slot_box)
        options = QHBoxLayout()
        self.add_button = QPushButton("Add source")
        self.add_button.setToolTip("Compare up to four sources (C and D are compared with A too)")
        self.add_button.clicked.connect(lambda: self._add_slot(len(self.slots)))
        options.addWidget(self.add_button)
        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip("Open a LeIsaac .hdf5 file")
        self.open_button.clicked.connect(self.open_file_dialog)
        options.addWidget(self.open_button)
        self.open_folder_button = QPushButton("Open folder…")
        self.open_folder_button.setToolTip("Open a LeRobot, IDM or Cosmos output folder")
        self.open_folder_button.clicked.connect(self.open_folder_dialog)
        options.addWidget(self.open_folder_button)
        options.addSpacing(12)
        options.addWidget(QLabel("compare"))
        self.feature_combo = QComboBox()
        self.feature_combo.addItem("actions", "action")
        self.feature_combo.addItem("states", "state")
        options.addWidget(self.feature_combo)
        options.addWidget(QLabel("align"))
        self.align_combo = QComboBox()
        tips = {
            "none": "none: both start together (a recorded frame offset still applies; edit offsets by hand)",
            "offset": "offset: estimate a constant delay",
            "scale": "scale: estimate a delay and a speed difference (e.g. frames at the wrong fps)",
            "dtw": "dtw: a time warp (dynamic time warping within a band)",
        }
        for mode in ALIGN_MODES:
            self.align_combo.addItem(mode, mode)
            self.align_combo.setItemData(
                self.align_combo.count() - 1, tips[mode], Qt.ItemDataRole.ToolTipRole
            )
        options.addWidget(self.align_combo)
        options.addWidget(QLabel("DTW band"))
        self.band_spin = QDoubleSpinBox()
        self.band_spin.setRange(0.1, 30.0)
        self.band_spin.setValue(1.0)
        self.band_spin.setSuffix(" s")
        self.band_spin.setToolTip("How far DTW may warp time, in seconds")
        options.addWidget(self.band_spin)
        options.addStretch(1)
        self.status_label = QLabel("")
        self.status_label.setObjectName("mutedLabel")
        options.addWidget(self.status_label)
        self.export_button = QPushButton("Export report…")
        self.export_button.setToolTip(
            "A folder with report.html, a picture of the view, metrics.csv and summary.json"
        )
        self.export_button.clicked.connect(self.export_dialog)
        options.addWidget(self.export_button)
        layout.addLayout(options)
        self.feature_combo.currentIndexChanged.connect(lambda _i: self.schedule_compute())
        self.align_combo.currentIndexChanged.connect(lambda _i: self._on_align_changed())
        self.band_spin.valueChanged.connect(lambda _v: self.schedule_compute())

        self.tabs = QTabWidget()
        layout.addWidget(self.tabs, 1)

        # pair tab
        pair = QWidget()
        pair_layout = QVBoxLayout(pair)
        pair_layout.setContentsMargins(0, 0, 0, 0)
        self.vertical = QSplitter(Qt.Orientation.Vertical)
        self.tiles_box = QWidget()
        self.tiles_layout = QGridLayout(self.tiles_box)
        self.tiles_layout.setContentsMargins(0, 0, 0, 0)
        self.tiles_layout.setSpacing(4)
        self.vertical.addWidget(self.tiles_box)
        self.horizontal = QSplitter(Qt.Orientation.Horizontal)
        self.plots = CompareJointPlots()
        self.plots.seekRequested.connect(self.set_time)
        self.horizontal.addWidget(self.plots)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        metrics_row = QHBoxLayout()
        metrics_row.addWidget(QLabel("metrics of"))
        self.metrics_side = QComboBox()
        self.metrics_side.currentIndexChanged.connect(lambda _i: self._show_metrics())
        metrics_row.addWidget(self.metrics_side, 1)
        right_layout.addLayout(metrics_row)
        self.metrics = QTableWidget(0, len(METRIC_HEADERS))
        self.metrics.setHorizontalHeaderLabels(METRIC_HEADERS)
        self.metrics.verticalHeader().setVisible(False)
        self.metrics.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.metrics.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.metrics.setMinimumHeight(150)
        right_layout.addWidget(self.metrics, 3)  # six joints and the mean readable without scrolling
        self.summary_label = QLabel("")
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        right_layout.addWidget(self.summary_label)
        self.arm = ArmView()
        right_layout.addWidget(self.arm, 2)
        self.horizontal.addWidget(right)
        self.horizontal.setStretchFactor(0, 3)
        self.horizontal.setStretchFactor(1, 2)
        self.horizontal.setSizes([600, 400])  # 60/40: the metrics table's columns fit beside the plots
        self.vertical.addWidget(self.horizontal)
        self.vertical.setStretchFactor(0, 2)
        self.vertical.setStretchFactor(1, 3)
        pair_layout.addWidget(self.vertical, 1)
        self.transport = TransportBar()
        self.transport.in_button.hide()
        self.transport.out_button.hide()
        self.transport.trim_label.hide()
        self.transport.seekRequested.connect(self.seek_frame)
        self.transport.stepRequested.connect(self.step)
        self.transport.playToggled.connect(self.toggle_play)
        self.transport.speedChanged.connect(self._set_speed)
        pair_layout.addWidget(self.transport)
        self.tabs.addTab(pair, "Pair")

        # batch tab
        batch = QWidget()
        batch_layout = QVBoxLayout(batch)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("source (A)"))
        self.batch_source = QComboBox()
        self.batch_source.setMinimumWidth(200)
        controls.addWidget(self.batch_source, 1)
        controls.addWidget(QLabel("generated (B)"))
        self.batch_generated = QComboBox()
        self.batch_generated.setMinimumWidth(200)
        controls.addWidget(self.batch_generated, 1)
        self.batch_button = QPushButton("Compare all episodes")
        self.batch_button.setToolTip(
            "Every episode of B against its source episode in A (paired by provenance)"
        )
        self.batch_button.clicked.connect(self.run_batch_from_ui)
        controls.addWidget(self.batch_button)
        self.batch_cancel = QPushButton("Cancel")
        self.batch_cancel.setEnabled(False)
        self.batch_cancel.clicked.connect(self.cancel_batch)
        controls.addWidget(self.batch_cancel)
        batch_layout.addLayout(controls)
        self.batch_progress = QProgressBar()
        self.batch_progress.setVisible(False)
        batch_layout.addWidget(self.batch_progress)
        self.batch_label = QLabel(
            "Pick a source and a generated dataset, then compare all episodes. "
            "The worst pairs come first; click a row to open it."
        )
        self.batch_label.setWordWrap(True)
        self.batch_label.setObjectName("mutedLabel")
        batch_layout.addWidget(self.batch_label)
        self.batch_table = RowTable(BATCH_COLUMNS)
        self.batch_table.rowActivated.connect(self.open_batch_row)
        batch_layout.addWidget(self.batch_table, 1)
        self.tabs.addTab(batch, "Batch")

    def _add_slot(self, index: int) -> None:
        if index >= len(LETTERS) or index != len(self.slots):
            return
        slot = SourceSlot(index, self)
        slot.set_paths(self.known_paths)
        slot.changed.connect(self._on_slot_changed)
        slot.removeRequested.connect(self._remove_slot)
        slot.dataset_combo.currentIndexChanged.connect(lambda _i, s=slot: self._on_dataset_picked(s))
        self.slots.append(slot)
        self.slot_box.addWidget(slot)
        if hasattr(self, "add_button"):
            self.add_button.setEnabled(len(self.slots) < len(LETTERS))
        if index >= 2 and self.slots[0].path():
            self._select(slot, self.slots[1].path() or self.slots[0].path())

    def _remove_slot(self, index: int) -> None:
        if index < 2 or index != len(self.slots) - 1:
            return
        slot = self.slots.pop()
        slot.setParent(None)
        slot.deleteLater()
        self.add_button.setEnabled(True)
        self.schedule_compute()

    def _shortcuts(self) -> None:
        add_transport_shortcuts(self, self.toggle_play, self.step, self.seek_frame, self._last_frame)

    def _show_empty(self) -> None:
        self._set_tiles([])
        self.plots.show_message(
            "Pick a dataset and an episode for A (the source) and B (what was made of it), "
            "or use File > Open and Compare from Browse"
        )
        self.arm.clear("The 3D arm shows A (solid) and B (ghost) once both have SO-101 joints")
        self.metrics.setRowCount(0)
        self.summary_label.setText("")
        self.transport.timeline.set_range(0)

    # -- datasets ---------------------------------------------------------------------------------
    def _remember(self, path: str) -> None:
        path = str(Path(path))
        if path in self.known_paths:
            return
        self.known_paths.append(path)
        for slot in self.slots:
            slot.set_paths(self.known_paths)
        for combo in (self.batch_source, self.batch_generated):
            current = combo.currentData()
            combo.clear()
            for p in self.known_paths:
                combo.addItem(Path(p).name, p)
            if current:
                combo.setCurrentIndex(max(0, combo.findData(current)))
        if (
            self.batch_generated.count() > 1
            and self.batch_generated.currentIndex() == 0
            and self.batch_source.currentIndex() == 0
        ):
            self.batch_generated.setCurrentIndex(1)

    def _on_context_dataset(self, dataset: Any) -> None:
        path = getattr(dataset, "path", None)
        if path is not None:
            self._remember(str(path))

    def with_dataset(self, path: str, callback) -> None:
        """Call ``callback(dataset)`` once ``path`` is open (opened off the GUI thread by this pane)."""
        path = str(Path(path))
        self._remember(path)
        if path in self.datasets:
            callback(self.datasets[path])
            return
        if path in self._waiting:
            self._waiting[path].append(callback)
            return
        self._waiting[path] = [callback]
        self.status_label.setText(f"opening {Path(path).name}…")

        def done(dataset: Dataset) -> None:
            self.datasets[path] = dataset
            self.status_label.setText("")
            for cb in self._waiting.pop(path, []):
                cb(dataset)

        def failed(message: str, details: str) -> None:
            self._waiting.pop(path, None)
            self.status_label.setText("")
            show_error(self, "Could not open the dataset", message, details, path)

        run_task(_open, path, on_done=done, on_error=failed)

    def open_file_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Open a dataset",
            self.context.last_folder("compare"),
            "LeIsaac HDF5 (*.hdf5 *.h5);;All files (*)",
        )
        if path:
            self.context.set_last_folder("compare", str(Path(path).parent))
            self._open_into_free_slot(path)

    def open_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(
            self, "Open a dataset folder", self.context.last_folder("compare")
        )
        if path:
            self.context.set_last_folder("compare", str(Path(path).parent))
            self._open_into_free_slot(path)

    def _open_into_free_slot(self, path: str) -> None:
        target = next((s for s in self.slots if not s.path()), None)
        self.with_dataset(path, lambda ds: self._select(target, str(ds.path)) if target else None)

    def _select(
        self,
        slot: SourceSlot,
        path: str | None,
        episode: int | None = None,
        camera: str | None = None,
        then=None,
    ) -> None:
        if not path:
            return

        def fill(dataset: Dataset) -> None:
            slot.set_dataset(dataset, episode, camera)
            if then is not None:
                then()
            else:
                self._after_slot_change(slot.index)

        self.with_dataset(path, fill)

    def _on_dataset_picked(self, slot: SourceSlot) -> None:
        if slot._quiet:
            return
        path = slot.path()
        if not path:
            slot.set_dataset(None)
            self.schedule_compute()
            return
        if slot.dataset is not None and str(slot.dataset.path) == path:
            return
        self._select(slot, path)

    # -- pairing ----------------------------------------------------------------------------------
    def _on_slot_changed(self, index: int) -> None:
        slot = self.slots[index]
        if slot.dataset is None or (slot.path() and str(slot.dataset.path) != slot.path()):
            return  # a dataset is opening; _select calls back
        if index == 0 and len(self.slots) > 1 and self.slots[1].dataset is not None:
            b = self.slots[1]
            if b.episode() is not None and slot.episode() is not None:
                self._manual_pairs[(str(b.dataset.path), b.episode())] = slot.episode()
        self._after_slot_change(index)

    def _after_slot_change(self, index: int) -> None:
        for other in [index] if index >= 1 else range(1, len(self.slots)):
            self._apply_pairing(other)
        self._update_pair_labels()
        self.schedule_compute()

    def pairing(self, index: int) -> Pair | None:
        """Pairing of slot ``index``'s episode with A's dataset (provenance, else same index)."""
        a, other = self.slots[0], self.slots[index]
        if a.dataset is None or other.dataset is None or other.episode() is None:
            return None
        try:
            pairs = pair_episodes(other.dataset, a.dataset)
        except Exception:  # noqa: BLE001 - a broken record must not break the pane
            return None
        return next((p for p in pairs if p.generated == other.episode()), None)

    def _apply_pairing(self, index: int) -> None:
        a, other = self.slots[0], self.slots[index]
        pair = self.pairing(index)
        if pair is None:
            self._update_pair_labels()
            return
        manual = self._manual_pairs.get((str(other.dataset.path), other.episode()))
        if index == 1 and self.slots[0].follow_check.isChecked():
            wanted = manual if manual is not None else pair.source
            if wanted is not None and a.episode() != wanted:
                a.set_episode(wanted)
        if self.align_mode() == "none" and a.dataset is not None:
            other.set_offset(
                pair.offset_s(a.dataset.fps) if pair.source == a.episode() else 0.0, editable=True
            )
        self._update_pair_labels()

    def _update_pair_labels(self) -> None:
        """The same sentences as the CLI: how each side is paired with A, and a warning where the pair
        shown is not the one a record states."""
        a = self.slots[0]
        for slot in self.slots[1:]:
            pair = self.pairing(slot.index)
            if pair is None or a.episode() is None:
                slot.pair_label.setText("")
                continue
            shown, letter = int(a.episode()), slot.letter
            manual = self._manual_pairs.get((str(slot.dataset.path), slot.episode()))
            if pair.source == shown and pair.method in RECORDED:
                text = pairing_sentence(pair, a.dataset, letter)
            elif pair.method in RECORDED and pair.source is not None:
                text = "warning: " + disagreement(shown, pair, a.dataset, letter)
            elif manual == shown:
                text = pairing_sentence(Pair(pair.generated, shown, "override"), a.dataset, letter)
                text = text.replace("paired as asked", "paired by hand", 1)
            elif pair.source == shown or pair.source is None:
                text = pairing_sentence(pair, a.dataset, letter)
            else:
                given = Pair(pair.generated, shown, "given", "no provenance record says where it came from")
                text = pairing_sentence(given, a.dataset, letter)
            slot.pair_label.setText(text)
            slot.pair_label.setToolTip(f"{text}\n{pair.note}" if pair.note else text)
        if a.episode() is not None and len(self.slots) > 1 and self.slots[1].dataset is not None:
            a.pair_label.setText("")

    # -- comparing --------------------------------------------------------------------------------
    def align_mode(self) -> str:
        return str(self.align_combo.currentData())

    def _on_align_changed(self) -> None:
        editable = self.align_mode() == "none"
        for slot in self.slots[1:]:
            slot.offset_spin.setReadOnly(not editable)
            if editable:
                self._apply_pairing(slot.index)
        self.schedule_compute()

    def schedule_compute(self) -> None:
        self._recompute.start()

    def requests(self) -> list[SideRequest]:
        out = []
        for slot in self.slots:
            if slot.dataset is None or slot.episode() is None:
                break
            out.append(
                SideRequest(
                    slot.dataset, slot.episode(), slot.camera(), slot.offset() if slot.index else None
                )
            )
        return out

    def compute(self) -> None:
        requests = self.requests()
        if len(requests) < 2:
            self._generation += 1  # a comparison still running is no longer wanted
            self.view = None
            self.pause()
            self._show_empty()
            return
        self._generation += 1
        generation = self._generation
        if self._task is not None:
            self._task.cancel()
        self.status_label.setText("comparing…")
        feature = str(self.feature_combo.currentData())
        align = self.align_mode()

        def done(view: CompareView) -> None:
            if generation != self._generation:
                return
            self._task = None
            self.status_label.setText("")
            self.apply_view(view)

        def failed(message: str, details: str) -> None:
            if generation != self._generation:
                return
            self._task = None
            self.status_label.setText("")
            show_error(self, "Could not compare", message, details)

        self._task = run_task(
            build_view, requests, feature, align, float(self.band_spin.value()), on_done=done, on_error=failed
        )

    def apply_view(self, view: CompareView) -> None:
        self.view = view
        self._set_tiles(view.sides)
        self.metrics_side.blockSignals(True)
        self.metrics_side.clear()
        for i, side in enumerate(view.sides[1:], start=1):
            self.metrics_side.addItem(f"{side.letter} vs A", i)
        self.metrics_side.blockSignals(False)
        for slot, side in zip(self.slots[1:], view.sides[1:], strict=False):
            if view.align != "none" and side.result is not None:
                slot.set_offset(side.alignment.offset_s, editable=False)
        self._show_plots()
        self._show_metrics()
        a = view.reference
        self.arm.set_labels(
            f"A {a.dataset.path.name}:{a.episode}",
            f"B {view.sides[1].dataset.path.name}:{view.sides[1].episode}",
        )
        self.arm.set_paths(view.tip_path(0), view.tip_path(1))
        if view.reference.points is None and view.sides[1].points is None:
            self.arm.clear("No SO-101 joint positions to draw for these sources")
        self.transport.timeline.set_range(view.num_frames, view.fps)
        self.set_time(min(max(self.time, 0.0), (view.num_frames - 1) / view.fps))
        self.context.set_status("compare", self.summary_text())
        self.comparisonReady.emit()

    def _set_tiles(self, sides: list) -> None:
        for loader in self.loaders:
            loader.clear()  # workers stop (and close their streams) in their own threads
            loader.deleteLater()
        for tile in self.tiles:
            self.tiles_layout.removeWidget(tile)
            tile.deleteLater()
        self.loaders, self.tiles = [], []
        if not sides:
            tile = VideoTile("")
            tile.empty_text = "Camera tiles of every source appear here, on one playhead"
            self.tiles_layout.addWidget(tile, 0, 0)
            self.tiles.append(tile)
            return
        columns = 2 if len(sides) == 4 else len(sides)
        for n, side in enumerate(sides):
            tile = VideoTile(f"{side.label}" + (f" · {side.camera}" if side.camera else ""))
            tile.empty_text = "No camera picked" if not side.camera else "Loading…"
            self.tiles_layout.addWidget(tile, n // columns, n % columns)
            self.tiles.append(tile)
            loader = FrameLoader(self)
            if side.camera:
                episode = side.dataset.episode(side.episode)
                loader.set_sources({side.camera: lambda ep=episode, cam=side.camera: ep.stream(cam)})
            loader.frameReady.connect(lambda _cam, index, rgb, n=n: self._on_frame(n, index, rgb))
            loader.failed.connect(
                lambda _cam, _i, message, _d, n=n: self.tiles[n].clear(f"Cannot show: {message}")
            )
            self.loaders.append(loader)

    def _on_frame(self, side: int, index: int, rgb: np.ndarray) -> None:
        if self.view is None or side >= len(self.tiles):
            return
        s = self.view.sides[side]
        count = s.video_frames or s.length
        t_side = index / (s.video_fps or s.fps)
        _, state = self.view.frame_of(side, self.time)
        note = {"before": " · not started", "after": " · ended"}.get(state, "")
        self.tiles[side].set_frame(rgb, index, f"frame {index}/{count - 1} · {t_side:.2f} s{note}")
        self.frameShown.emit(side, index)

    def _show_plots(self) -> None:
        view = self.view
        if view is None:
            return
        b = view.sides[1]
        if b.result is None:
            reason = b.error or "no joint values to compare"
            self.plots.show_message(f"No joint comparison: {reason}")
            return
        r = b.result
        names = list(r.names)
        columns = list(range(len(names)))
        note = ""
        if len(names) > MAX_PLOTS:  # humanoid-size vectors: the joints that diverge most
            worst = sorted(columns, key=lambda j: -r.joints[names[j]].rmse)[:MAX_PLOTS]
            columns = sorted(worst)
            note = f"{MAX_PLOTS} of {len(names)} dimensions, largest RMSE"
        extras = [
            (s.letter, s.result.times, s.result.b[:, columns]) for s in view.sides[2:] if s.result is not None
        ]
        self.plots.set_comparison(
            r.times,
            [names[j] for j in columns],
            r.unit.label or r.unit.value,
            r.a[:, columns],
            r.b[:, columns],
            ("A", "B"),
            extras,
            note,
        )

    def _show_metrics(self) -> None:
        self.metrics.setRowCount(0)
        view = self.view
        if view is None or self.metrics_side.count() == 0:
            self.summary_label.setText("")
            return
        side = view.sides[int(self.metrics_side.currentData() or 1)]
        if side.result is None:
            self.summary_label.setText(side.error or "No joint comparison")
            return
        r = side.result
        unit = r.unit.label or r.unit.value
        rows = list(r.joints.items())
        self.metrics.setRowCount(len(rows) + 1)
        worst = r.summary()["worst_joint"]
        for row, (name, m) in enumerate(rows):
            values = [name, m.mae, m.rmse, m.max_abs, m.t_max_abs_s, m.dtw, m.corr, m.bias]
            for col, value in enumerate(values):
                text = value if isinstance(value, str) else ("–" if value is None else f"{value:.3f}")
                item = QTableWidgetItem(text)
                if col:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                else:
                    item.setForeground(palette.joint_color(name, row))
                if name == worst and col == 2 and (m.rmse or 0.0) >= 5e-4:
                    item.setForeground(palette.color("bad"))
                self.metrics.setItem(row, col, item)
        s = r.summary()
        mean = ["mean", s["mae"], s["rmse"], s["max_abs"], None, s["dtw"], s["corr"], None]
        for col, value in enumerate(mean):
            text = value if isinstance(value, str) else ("" if value is None else f"{value:.3f}")
            item = QTableWidgetItem(text)
            font = item.font()
            font.setBold(True)
            item.setFont(font)
            if col:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.metrics.setItem(len(rows), col, item)
        self.metrics.setHorizontalHeaderLabels(
            [METRIC_HEADERS[0]]
            + [
                f"{h}\n({unit})"
                if h in ("MAE", "RMSE", "max dev", "DTW", "bias")
                else h.replace("at s", "at\n(s)")
                for h in METRIC_HEADERS[1:]
            ]
        )
        parts = [f"alignment {r.alignment.mode}: offset {r.alignment.offset_s:+.3f} s"]
        if r.alignment.scale != 1.0:
            parts.append(f"scale {r.alignment.scale:.3f} ({side.fps * r.alignment.scale:.1f} fps effective)")
        parts.append(f"compared over {r.overlap_s:.2f} s ({100 * r.coverage:.0f}% of A)")
        for name, grip in r.gripper.items():
            if grip.thresholds is not None:
                parts.append(
                    f"{name}: {len(grip.matched)} events matched, max |dt| "
                    f"{'–' if grip.max_abs_dt_s is None else f'{grip.max_abs_dt_s:.3f} s'}, "
                    f"missed {grip.unmatched_a}, extra {grip.unmatched_b}"
                )
        if s["jerk_ratio"] is not None:
            parts.append(f"jerk {side.letter}/A ×{s['jerk_ratio']:.2f}")
        if r.ee:
            parts.append(
                f"gripper tip: mean {r.ee['mean_mm']:.1f} mm, max {r.ee['max_mm']:.1f} mm "
                f"at {r.ee['t_max_s']:.2f} s"
            )
        parts += r.warnings
        self.summary_label.setText(" · ".join(parts))

    def summary_text(self) -> str:
        if self.view is None or len(self.view.sides) < 2 or self.view.sides[1].result is None:
            return ""
        s = self.view.sides[1].result.summary()
        unit = self.view.sides[1].result.unit.label
        return f"B vs A: RMSE {s['rmse']:.2f} {unit}, worst {s['worst_joint']}"

    # -- playhead ---------------------------------------------------------------------------------
    def _last_frame(self) -> int:
        return max(0, self.view.num_frames - 1) if self.view else 0

    def seek_frame(self, frame: int) -> None:
        if self.view is None:
            return
        self.set_time(int(np.clip(frame, 0, self._last_frame())) / self.view.fps)

    def step(self, frames: int) -> None:
        if self.view is None:
            return
        self.pause()
        self.seek_frame(int(round(self.time * self.view.fps)) + frames)

    def set_time(self, t: float) -> None:
        """Show A time ``t`` everywhere: tiles, plots, arm, transport."""
        self.time = float(t)
        view = self.view
        if view is None:
            return
        frame = int(round(self.time * view.fps))
        self.transport.set_position(frame, view.num_frames, view.fps)
        playing = 4 if self.playing else 0
        for n, loader in enumerate(self.loaders):
            index, _ = view.frame_of(n, self.time)
            loader.request(index, lookahead=playing)
        self.plots.set_playhead(self.time)
        pa = view.arm_points(0, self.time)
        pb = view.arm_points(1, self.time) if len(view.sides) > 1 else None
        if pa is not None or pb is not None:
            self.arm.set_arms(pa, pb)
            _, b_state = view.frame_of(1, self.time) if len(view.sides) > 1 else (0, "")
            if b_state:
                self.arm.caption = (
                    f"t = {self.time:.2f} s · B {'not started' if b_state == 'before' else 'ended'}"
                )
            elif pa is not None and pb is not None:
                gap = float(np.linalg.norm(pa[TIP] - pb[TIP]) * 1000.0)
                self.arm.caption = f"t = {self.time:.2f} s · gripper tips {gap:.0f} mm apart"
            else:
                self.arm.caption = f"t = {self.time:.2f} s"
        self.context.set_status("frame", f"compare {frame}/{view.num_frames - 1} · {self.time:.2f} s")

    def toggle_play(self) -> None:
        if self.playing:
            self.pause()
        elif self.view is not None:
            if self.time >= (self.view.num_frames - 1) / self.view.fps - 1e-9:
                self.set_time(0.0)
            self.playing = True
            self._play_clock = time.monotonic()
            self._play_timer.start()
            self.transport.set_playing(True)

    def pause(self) -> None:
        self.playing = False
        self._play_timer.stop()
        self.transport.set_playing(False)

    def _set_speed(self, value: float) -> None:
        self.speed = float(value)

    def _tick(self) -> None:
        if self.view is None:
            self.pause()
            return
        now = time.monotonic()
        dt, self._play_clock = now - self._play_clock, now
        end = (self.view.num_frames - 1) / self.view.fps
        t = self.time + dt * self.speed
        if t >= end:
            self.set_time(end)
            self.pause()
            return
        self.set_time(t)

    # -- requests from other panes ----------------------------------------------------------------
    def open_sources(self, specs: list) -> None:
        """Compare ``["PATH[:EPISODE]", ...]`` (2-4): A first. Missing episodes come from the pairing."""
        specs = [parse_source(str(s)) for s in list(specs)[: len(LETTERS)]]
        if not specs:
            return
        while len(self.slots) < max(2, len(specs)):
            self._add_slot(len(self.slots))
        self.tabs.setCurrentIndex(0)
        pending = {"left": len(specs)}

        def one_done() -> None:
            pending["left"] -= 1
            if pending["left"] == 0:
                for i in range(1, len(specs)):
                    if specs[i].episode is None and self.slots[0].episode() is not None:
                        self._pick_generated_for(i)
                if specs[0].episode is not None and len(specs) > 1:
                    # both named, as in the CLI: "A:N B:N" (the same-number guess) follows B's record
                    # when it names another partner; different numbers are kept as asked (the label
                    # then warns what the record says)
                    pair = self.pairing(1)
                    b = self.slots[1]
                    key = (str(b.dataset.path), b.episode())
                    same_number = specs[1].episode == specs[0].episode
                    if pair is not None and pair.method in RECORDED and same_number:
                        self._manual_pairs.pop(key, None)
                        if pair.source is not None:
                            self.slots[0].set_episode(pair.source)
                    elif pair is not None and pair.source != specs[0].episode:
                        self._manual_pairs[key] = specs[0].episode
                for i in range(1, len(specs)):
                    self._apply_pairing(i)
                self._update_pair_labels()
                self.schedule_compute()

        for i, spec in enumerate(specs):
            self._select(self.slots[i], str(spec.path), spec.episode, then=one_done)

    def _pick_generated_for(self, index: int) -> None:
        a, other = self.slots[0], self.slots[index]
        if a.dataset is None or other.dataset is None:
            return
        try:
            pairs = pair_episodes(other.dataset, a.dataset)
        except Exception:  # noqa: BLE001
            return
        match = next((p for p in pairs if p.source == a.episode() and p.method != "index"), None)
        match = match or next((p for p in pairs if p.source == a.episode()), None)
        if match is not None:
            other.set_episode(match.generated)

    def open_pair(
        self, source: str, source_episode: int | None, generated: str, generated_episode: int
    ) -> None:
        self.open_sources(
            [
                f"{source}:{source_episode}" if source_episode is not None else source,
                f"{generated}:{generated_episode}",
            ]
        )

    # -- batch ------------------------------------------------------------------------------------
    def run_batch_from_ui(self) -> None:
        source, generated = self.batch_source.currentData(), self.batch_generated.currentData()
        if not source or not generated:
            self.batch_label.setText("Open a source and a generated dataset first (Open… / Open folder…).")
            return
        self.run_batch(str(source), str(generated))

    def run_batch(self, source: str, generated: str) -> None:
        self.tabs.setCurrentIndex(1)
        for combo, path in ((self.batch_source, source), (self.batch_generated, generated)):
            self._remember(path)
            combo.setCurrentIndex(max(0, combo.findData(str(Path(path)))))
        feature, align = str(self.feature_combo.currentData()), self.align_mode()
        band = float(self.band_spin.value())

        state = {"started": False}

        def start(_ds=None) -> None:
            if str(Path(source)) not in self.datasets or str(Path(generated)) not in self.datasets:
                return
            if state["started"]:
                return
            state["started"] = True
            src, gen = self.datasets[str(Path(source))], self.datasets[str(Path(generated))]
            self.batch_button.setEnabled(False)
            self.batch_cancel.setEnabled(True)
            self.batch_progress.setVisible(True)
            self.batch_progress.setRange(0, max(1, gen.num_episodes))
            self.batch_progress.setValue(0)
            self.batch_label.setText(
                f"Comparing {gen.num_episodes} episodes of {gen.path.name} with {src.path.name}…"
            )

            def progress(done: int, total: int, text: str) -> None:
                self.batch_progress.setRange(0, max(1, total))
                self.batch_progress.setValue(done)

            def finished() -> None:
                self._batch_task = None
                self.batch_button.setEnabled(True)
                self.batch_cancel.setEnabled(False)
                self.batch_progress.setVisible(False)

            def done(result: BatchResult) -> None:
                finished()
                self.batch = result
                self.batch_table.set_rows(result.rows, result.sort_key, descending=True)
                failed = sum(1 for r in result.rows if r.error)
                self.batch_label.setText(
                    f"{len(result.rows)} episodes of {Path(result.generated).name} against "
                    f"{Path(result.source).name} ({result.feature} in {result.units or '?'}, align {result.align})"
                    + (f", {failed} could not be compared" if failed else "")
                    + ". Worst first; click a column to sort, a row to open the pair."
                    + "".join(f"\nwarning: {w}" for w in result.pairing_warnings)
                )
                self.batchReady.emit()

            def failed(message: str, details: str) -> None:
                finished()
                show_error(self, "The batch comparison failed", message, details)

            def cancelled() -> None:
                finished()
                self.batch_label.setText("Cancelled.")

            self._batch_task = run_task(
                compare_batch,
                src,
                gen,
                feature,
                align,
                band_s=band,
                on_done=done,
                on_error=failed,
                on_progress=progress,
                on_cancelled=cancelled,
            )

        self.with_dataset(source, start)
        self.with_dataset(generated, start)

    def cancel_batch(self) -> None:
        if self._batch_task is not None:
            self._batch_task.cancel()

    def open_batch_row(self, row: BatchRow) -> None:
        if self.batch is None or row.source is None:
            return
        self.open_pair(self.batch.source, row.source, self.batch.generated, row.generated)

    # -- export -----------------------------------------------------------------------------------
    def picture_png(self) -> bytes:
        """A PNG of the pair view (tiles, plots, metrics, arm)."""
        pixmap = self.vertical.grab()
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        pixmap.save(buffer, "PNG")
        buffer.close()
        return bytes(data.data())

    def export_report(self, folder: str | Path) -> Path:
        result = None
        if self.view is not None and len(self.view.sides) > 1:
            result = self.view.sides[1].result
        extra = None
        if self.view is not None:
            extra = {
                "sources": [
                    {
                        "letter": s.letter,
                        "path": str(s.dataset.path),
                        "episode": s.episode,
                        "camera": s.camera,
                        "error": s.error,
                    }
                    for s in self.view.sides
                ],
                "playhead_s": self.time,
            }
        return write_report(
            folder,
            result,
            picture_png=self.picture_png() if self.view else None,
            batch=self.batch,
            overwrite=True,
            extra=extra,
        )

    def export_dialog(self) -> None:
        if self.view is None and self.batch is None:
            show_error(self, "Nothing to export", "Compare two sources (or run a batch) first.")
            return
        base = QFileDialog.getExistingDirectory(
            self, "Export the comparison into…", self.context.last_folder("reports")
        )
        if not base:
            return
        self.context.set_last_folder("reports", base)
        folder = Path(base) / f"compare_{datetime.now().strftime('%Y%m%d_%H%M%S')}"
        try:
            out = self.export_report(folder)
        except Exception as error:  # noqa: BLE001 - shown to the user
            show_error(self, "Could not write the report", str(error), path=str(folder))
            return
        self.status_label.setText(f"report written to {out}")

    # -- pane protocol ----------------------------------------------------------------------------
    def status_fields(self) -> dict[str, str]:
        return {"compare": self.summary_text()} if self.summary_text() else {}

    def save_state(self) -> dict:
        return {
            "vertical": bytes(self.vertical.saveState().toBase64()).decode("ascii"),
            "horizontal": bytes(self.horizontal.saveState().toBase64()).decode("ascii"),
            "feature": self.feature_combo.currentData(),
            "align": self.align_mode(),
            "band_s": float(self.band_spin.value()),
            "arm": [self.arm.azimuth, self.arm.elevation, self.arm.distance],
        }

    def restore_state(self, state: dict) -> None:
        for key, splitter in (("vertical", self.vertical), ("horizontal", self.horizontal)):
            if state.get(key):
                splitter.restoreState(QByteArray.fromBase64(str(state[key]).encode("ascii")))
        for combo, key in ((self.feature_combo, "feature"), (self.align_combo, "align")):
            pos = combo.findData(state.get(key))
            if pos >= 0:
                combo.setCurrentIndex(pos)
        if state.get("band_s"):
            self.band_spin.setValue(float(state["band_s"]))
        if isinstance(state.get("arm"), list) and len(state["arm"]) == 3:
            self.arm.azimuth, self.arm.elevation, self.arm.distance = (float(x) for x in state["arm"])

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        self.pause()
        for loader in self.loaders:
            loader.shutdown(0.5)
        self.loaders = []
        for task in (self._task, self._batch_task):
            if task is not None:
                task.cancel()
        self.view = None
        datasets, self.datasets = list(self.datasets.values()), {}
        # close after in-flight readers finish with them (as Browse does)
        QTimer.singleShot(2000, lambda: [d.close() for d in datasets])
