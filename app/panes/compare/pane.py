"""Compare: a source demonstration and what the pipeline made of it, on one playhead.

Pair tab: 2-4 sources (A is the reference; B, C, D are aligned to A), their camera tiles, per-joint
overlay plots with the difference shaded, the metrics table, a 3D SO-101 (solid A, ghost B) and a
transport bar. Batch tab: every generated episode against its source, worst first; a click opens
the pair. What the pane knows lives in ``backend.sessions.compare.CompareSession``; the pane lays
out widgets and forwards. Opening datasets (registry leases) and building the view run as the pane's
tasks on the interactive lane (latest request wins), the batch on the background lane.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.error_dialog import show_error
from app.panes.compare.batch_tab import BatchTab
from app.panes.compare.export import export_dialog, export_report
from app.panes.compare.opening import Openings
from app.panes.compare.options import OptionsBar
from app.panes.compare.pair_tab import PairTab
from app.panes.compare.playhead import PlayheadControls
from app.panes.compare.slot import SourceSlot
from app.tasks import INTERACTIVE, TaskGroup
from backend.compare.batch import BatchResult, BatchRow
from backend.compare.sources import parse_source
from backend.compare.view import LETTERS, CompareView, build_view
from backend.registry import Lease
from backend.sessions.compare import CompareSession
from widgets.shortcuts import add_transport_shortcuts


class ComparePane(PlayheadControls, QWidget):
    comparisonReady = Signal()  # a comparison landed and the views show it
    batchReady = Signal()
    frameShown = Signal(int, int)  # side, frame index handed to its tile

    def __init__(self, context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setObjectName("ComparePane")
        self.session = CompareSession()
        self.session.offer_recent(context.recent_datasets())  # every side offers the recent datasets
        self.tasks = TaskGroup(self)
        self.openings = Openings(self.session, self.tasks, self._open_failed)
        self._recompute = QTimer(self)
        self._recompute.setSingleShot(True)
        self._recompute.setInterval(150)
        self._recompute.timeout.connect(self.compute)
        self._init_playhead()
        self._last_opened: str | None = None  # the dataset the window opened last
        self._demo_wanted = False
        self._build()
        add_transport_shortcuts(self, self.toggle_play, self.step, self.seek_frame, self._last_frame)
        context.datasetOpened.connect(self._on_context_dataset)
        context.compareRequested.connect(self.open_sources)
        for path in getattr(context, "datasets", {}):
            self._remember(str(path))
        self.pair.show_empty()

    # -- what tests and other panes read ----------------------------------------------------------
    @property
    def view(self) -> CompareView | None:
        return self.session.view

    @property
    def batch(self) -> BatchResult | None:
        return self.session.batch

    @property
    def time(self) -> float:
        return self.session.time

    @property
    def tiles(self) -> list:
        return self.pair.tiles

    @property
    def playing(self) -> bool:
        return self.session.clock.playing

    # -- building ---------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        self.slots: list[SourceSlot] = []
        self.slot_box = QVBoxLayout()
        self.slot_box.setSpacing(1)
        layout.addLayout(self.slot_box)
        layout.addWidget(self._options())
        for i in range(2):
            self._add_slot_widget(i)
        self.tabs = QTabWidget()
        layout.addWidget(self.tabs, 1)
        self.pair = PairTab(self.session)
        self.pair.plots.seekRequested.connect(self.set_time)
        self.pair.frameShown.connect(self.frameShown)
        transport = self.pair.transport
        transport.seekRequested.connect(self.seek_frame)
        transport.stepRequested.connect(self.step)
        transport.playToggled.connect(self.toggle_play)
        transport.speedChanged.connect(lambda v: self.session.clock.set_speed(v))
        self.tabs.addTab(self.pair, "Pair")
        self.batch_tab = BatchTab()
        self.batch_tab.button.clicked.connect(self.run_batch_from_ui)
        self.batch_tab.cancel.clicked.connect(self.cancel_batch)
        self.batch_tab.table.rowActivated.connect(self.open_batch_row)
        self.tabs.addTab(self.batch_tab, "Batch")
        # the widgets tests and the window reach
        self.tiles_box, self.plots, self.arm = self.pair.tiles_box, self.pair.plots, self.pair.arm
        self.metrics, self.metrics_side = self.pair.metrics, self.pair.metrics_side
        self.summary_label, self.transport = self.pair.summary_label, self.pair.transport
        self.vertical, self.horizontal = self.pair.vertical, self.pair.horizontal
        self.batch_table, self.batch_label = self.batch_tab.table, self.batch_tab.label

    def _options(self) -> OptionsBar:
        bar = OptionsBar()
        for name in OptionsBar.PARTS:
            setattr(self, name, getattr(bar, name))
        bar.add_button.clicked.connect(self.add_source)
        bar.open_button.clicked.connect(self.open_file_dialog)
        bar.open_folder_button.clicked.connect(self.open_folder_dialog)
        bar.export_button.clicked.connect(lambda: export_dialog(self))
        bar.feature_combo.currentIndexChanged.connect(lambda _i: self._on_choice())
        bar.align_combo.currentIndexChanged.connect(lambda _i: self._on_align_changed())
        bar.band_spin.valueChanged.connect(lambda _v: self._on_choice())
        return bar

    def _add_slot_widget(self, index: int) -> SourceSlot:
        slot = SourceSlot(index, self)
        slot.set_paths(self.session.known_paths)
        slot.edited.connect(self._on_slot_edited)
        slot.datasetPicked.connect(self._on_dataset_picked)
        slot.removeRequested.connect(self._remove_slot)
        self.slots.append(slot)
        self.slot_box.addWidget(slot)
        self.add_button.setEnabled(len(self.slots) < len(LETTERS))
        return slot

    def add_source(self) -> None:
        """Another source (C, D) showing B's dataset to start with."""
        index = self.session.add_side()
        if index is None:
            return
        self._add_slot_widget(index)
        path = self.session.sides[1].path or self.session.sides[0].path
        if path and self.session.sides[0].path:
            self._select(index, path)

    def _remove_slot(self, index: int) -> None:
        if index != len(self.slots) - 1 or not self.session.remove_last_side():
            return
        slot = self.slots.pop()
        slot.setParent(None)
        slot.deleteLater()
        self.add_button.setEnabled(True)
        self.schedule_compute()

    # -- datasets ---------------------------------------------------------------------------------
    def _remember(self, path: str) -> None:
        if self.session.remember(path):
            for slot in self.slots:
                slot.set_paths(self.session.known_paths)
            self.batch_tab.set_paths(self.session.known_paths)

    def _on_context_dataset(self, dataset: Any) -> None:
        path = getattr(dataset, "path", None)
        if path is not None:
            self._remember(str(path))
            self._last_opened = str(path)
            if self._demo_wanted:
                self.start_demo()

    def _open_failed(self, path: str, message: str, details: str) -> None:
        self.status_label.setText("")
        show_error(self, "Could not open the dataset", message, details, path)

    def _select(
        self, index: int, path: str, episode: int | None = None, camera: str | None = None, then=None
    ) -> None:
        """Side ``index`` shows ``path`` once it is open (a newer choice for that side wins)."""
        self._remember(path)
        self.status_label.setText(f"opening {Path(path).name}…")

        def fill(lease: Lease) -> None:
            self.status_label.setText("")
            if index >= len(self.session.sides):
                lease.release()
                return
            self.session.set_dataset(index, path, lease, episode, camera)
            self._show_slots()
            if then is not None:
                then()
            else:
                self._after_change(index)

        self.openings.open(index, path, fill)

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
        free = self.session.slot_for(path)
        if free is None:
            self._remember(path)
        else:
            self._select(free, path)

    def _on_dataset_picked(self, index: int, path: str | None) -> None:
        if path is None:
            self.openings.forget(index)
            self.session.set_dataset(index, None, None)
            self._after_change(index)
        elif path != self.session.sides[index].path:
            self._select(index, path)

    # -- what the user changed --------------------------------------------------------------------
    def _on_slot_edited(self, index: int, what: str) -> None:
        slot, side = self.slots[index], self.session.sides[index]
        if what == "follow":
            self.session.follow = slot.follows()
        if side.dataset is None or slot.dataset is not side.dataset:
            return  # a dataset is opening; _select calls back
        if what == "episode" and index == 0:
            self.session.choose_a_episode(slot.episode())
        elif what == "episode":
            side.episode = slot.episode()
        elif what == "camera":
            side.camera = slot.camera()
        elif what == "offset":
            side.offset_s = slot.offset()
        self._after_change(index)

    def _after_change(self, index: int) -> None:
        self.session.after_change(index)
        self._show_slots()
        self.schedule_compute()

    def _show_slots(self) -> None:
        editable = self.session.align == "none"
        for n, slot in enumerate(self.slots):
            pair_text = self.session.pair_label(n) if n else ("", "")
            slot.show_side(self.session.sides[n], pair_text, editable)

    def _on_choice(self) -> None:
        self.session.feature = str(self.feature_combo.currentData())
        self.session.band_s = float(self.band_spin.value())
        self.schedule_compute()

    def align_mode(self) -> str:
        return str(self.align_combo.currentData())

    def _on_align_changed(self) -> None:
        self.session.align = self.align_mode()
        if self.session.align == "none":
            for index in range(1, len(self.session.sides)):
                self.session.apply_pairing(index)
        self._show_slots()
        self.schedule_compute()

    # -- comparing --------------------------------------------------------------------------------
    def schedule_compute(self) -> None:
        if not self.tasks.closed:
            self._recompute.start()

    def compute(self) -> None:
        requests = self.session.requests()
        if len(requests) < 2:
            self.tasks.cancel("view")  # a comparison still running is no longer wanted
            self.pause()
            self.session.clear_view()
            self.pair.show_empty()
            return
        self.status_label.setText("comparing…")
        self.tasks.run(
            build_view,
            requests,
            self.session.feature,
            self.session.align,
            self.session.band_s,
            key="view",
            lane=INTERACTIVE,
            holds=self.session.leases(len(requests)),
            on_done=self.apply_view,
            on_error=self._compare_failed,
        )

    def _compare_failed(self, message: str, details: str) -> None:
        self.status_label.setText("")
        show_error(self, "Could not compare", message, details)

    def apply_view(self, view: CompareView) -> None:
        self.status_label.setText("")
        if not self.session.accept_view(view):
            return  # a side changed since: its own comparison follows
        self.pair.show_view(view)
        self._show_slots()  # offsets estimated by the alignment
        self._show_time()
        self.context.set_status("compare", self.summary_text())
        self.comparisonReady.emit()

    def summary_text(self) -> str:
        return self.session.summary_text()

    # -- requests from other panes ----------------------------------------------------------------
    def open_sources(self, specs: list, cameras: list | None = None) -> None:
        """Compare ``["PATH[:EPISODE]", ...]`` (2-4): A first. Missing episodes come from the pairing."""
        try:
            parsed = [parse_source(str(s)) for s in list(specs)[: len(LETTERS)]]
        except Exception as error:  # noqa: BLE001 - a bad spec from another pane is told, not raised
            show_error(self, "Cannot compare", str(error))
            return
        if not parsed:
            return
        while len(self.slots) < max(2, len(parsed)):
            self.session.add_side()
            self._add_slot_widget(len(self.slots))
        self.tabs.setCurrentIndex(0)
        pending = {"left": len(parsed)}

        def one_done() -> None:
            pending["left"] -= 1
            if pending["left"] == 0:
                self.session.resolve_named(parsed)
                self._show_slots()
                self.schedule_compute()

        for i, spec in enumerate(parsed):
            camera = cameras[i] if cameras and i < len(cameras) else None
            self._select(i, str(spec.path), spec.episode, camera, then=one_done)

    def show_pair(self, sources: list[str]) -> None:
        """Show the pair ``sources`` ("PATH[:EPISODE]", A first) on the Pair tab (the demo workspace)."""
        self.open_sources(sources)

    def start_demo(self) -> None:
        """The demo workspace: its first two demonstrations, once the window has opened its dataset."""
        path = self._last_opened
        self._demo_wanted = path is None
        if path is not None:
            self.show_pair([f"{path}:0", f"{path}:1"])

    def open_pair(
        self, source: str, source_episode: int | None, generated: str, generated_episode: int
    ) -> None:
        a = f"{source}:{source_episode}" if source_episode is not None else source
        self.open_sources([a, f"{generated}:{generated_episode}"])

    # -- batch ------------------------------------------------------------------------------------
    def run_batch_from_ui(self) -> None:
        source, generated = self.batch_tab.source.currentData(), self.batch_tab.generated.currentData()
        if not source or not generated:
            self.batch_label.setText("Open a source and a generated dataset first (Open… / Open folder…).")
            return
        self.run_batch(str(source), str(generated))

    def run_batch(self, source: str, generated: str) -> None:
        self.tabs.setCurrentIndex(1)
        for path in (source, generated):
            self._remember(path)
        self.batch_tab.choose(source, generated)
        self.batch_tab.start(self.tasks, self.session, source, generated, self._batch_done)

    def _batch_done(self, result: BatchResult) -> None:
        self.session.batch = result
        self.batch_tab.show_result(result)
        self.batchReady.emit()

    def cancel_batch(self) -> None:
        self.batch_tab.stop(self.tasks)

    def open_batch_row(self, row: BatchRow) -> None:
        if self.batch is None or row.source is None:
            return
        self.open_pair(self.batch.source, row.source, self.batch.generated, row.generated)

    # -- export -----------------------------------------------------------------------------------
    def picture_png(self) -> bytes:
        return self.pair.picture_png()

    def export_report(self, folder: str | Path) -> Path:
        """A report folder (report.html, a picture of the view, metrics.csv, summary.json)."""
        return export_report(self, folder)

    # -- pane protocol ----------------------------------------------------------------------------
    def status_fields(self) -> dict[str, str]:
        text = self.summary_text()
        return {"compare": text} if text else {}

    def save_state(self) -> dict:
        return {
            "vertical": bytes(self.vertical.saveState().toBase64()).decode("ascii"),
            "horizontal": bytes(self.horizontal.saveState().toBase64()).decode("ascii"),
            "feature": self.session.feature,
            "align": self.session.align,
            "band_s": self.session.band_s,
            "arm": [self.arm.azimuth, self.arm.elevation, self.arm.distance],
            "pair": self.session.pair_state(),
        }

    def restore_state(self, state: dict) -> None:
        """Layout, choices and the pair shown last (opened again when its files still exist)."""
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
        pair = state.get("pair")
        if isinstance(pair, dict):
            sources = self.session.restore_choices(pair)
            self.slots[0].follow_check.setChecked(self.session.follow)
            if sources and self.session.sides[0].path is None:
                self.open_sources(sources, pair.get("cameras"))

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop playing and every task and frame loop (waiting for them), then release the datasets."""
        self._recompute.stop()
        self.pause()
        self.tasks.shutdown()
        self.pair.shutdown()
        self.session.close()
