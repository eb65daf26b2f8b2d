"""Browse: the episode table, the viewer (cameras + joint plots + transport) and curation.

The pane lays out widgets and forwards: what is open and decided lives in ``BrowseSession``, the
playhead in ``PlaybackClock``. Everything slow runs as the pane's tasks (``self.tasks``): opening
the dataset, an episode's arrays and thumbnails on the interactive lane; exports, the doctor and
repairs on the background lane. The quality hints (``hints.py``) and the doctor (``problems.py``)
read the whole dataset in a child process: their tasks only wait on its pipe, so no thread of the
GUI's process holds the GIL against scrolling. Frames come from the frame loader (one thread per
camera, latest request wins). Readers hold leases on the dataset, so closing it or opening another
never pulls a file from under a running export; closing the pane cancels its tasks and waits.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QDockWidget, QMainWindow, QVBoxLayout, QWidget

from app.error_dialog import show_error
from app.frame_loader import FrameLoader
from app.panes.browse.curation_actions import CurationActions
from app.panes.browse.curation_bar import CurationBar
from app.panes.browse.export import BrowseExport, ExportDialog
from app.panes.browse.hints import BrowseHints
from app.panes.browse.layout_state import remember_place, remembered_place, restore_layout, save_layout
from app.panes.browse.player import Player
from app.panes.browse.problems import BrowseProblems
from app.panes.browse.review import attach_review
from app.panes.browse.subtasks import attach_subtasks
from app.panes.browse.surgery import attach_surgery
from app.panes.browse.viewer import EpisodesPanel, Viewer
from app.panes.browse.work import load_joints, thumbnails
from app.tasks import INTERACTIVE, TaskGroup
from backend.errors import StudioError
from backend.model import Dataset, Episode
from backend.sessions.browse import BrowseSession, Opening
from backend.sessions.browse_table import EpisodeTable
from backend.sessions.playback import PlaybackClock
from backend.units import Unit
from widgets.shortcuts import add_pane_shortcut, add_transport_shortcuts
from widgets.toast import Toast

_READERS = ("joints", "thumbs", "review.page")  # tasks that read the dataset shown
SAVE_DELAY_MS = 20  # a save starts after the change is painted: its thread would share the GIL with the paint


def _dock(title: str, name: str, parent: QMainWindow, widget: QWidget) -> QDockWidget:
    dock = QDockWidget(title, parent)
    dock.setObjectName(name)
    dock.setWidget(widget)
    dock.setFeatures(
        QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable
    )
    return dock


class BrowsePane(CurationActions, QWidget):
    """Dataset browser and curation."""

    datasetLoaded = Signal(object)  # Dataset
    episodeShown = Signal(int)  # episode index, arrays plotted
    frameShown = Signal(int)  # every camera shows this frame
    firstFrameShown = Signal()  # once per opened dataset: first frame of every camera painted
    undoStateChanged = Signal()
    openFailed = Signal(str)
    exportFinished = Signal(object)  # output Path
    thumbnailsReady = Signal(int)  # number of thumbnails on the timeline

    def __init__(self, context: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.session = BrowseSession()
        self.session.add_listener(self._on_curation_changed)
        self.session.save_later = self._save_later
        self.clock = PlaybackClock()
        self.tasks = TaskGroup(self)
        self.unit = Unit(str(context.settings.value("browse/unit", Unit.RADIANS.value)))
        self.joint_data: dict[str, Any] = {}
        self._pending_first_frame = False
        self._checks_waiting = False  # the doctor and the hints wait for the first frame
        self._plot_after_first_frame = False
        self._requested: tuple[int | None, int] | None = None  # (episode, frame) to show after open
        self._opening_request: tuple[int | None, int] = (None, 0)
        self.loader = FrameLoader(self)
        self.loader.frameReady.connect(self._on_frame)
        self.loader.failed.connect(self._on_frame_failed)
        self._build()
        self.hints = BrowseHints(self)
        self.player = Player(self, self.clock)
        self.review = attach_review(self)  # "Table | Grid": the review grid over the player
        self._shortcuts()
        self._show_empty()

    # -- what the session and the clock know --------------------------------------------------------
    @property
    def dataset(self) -> Dataset | None:
        return self.session.dataset

    @property
    def curation(self) -> Any:
        return self.session.curation

    @property
    def episode(self) -> Episode | None:
        return self.session.episode

    @property
    def position(self) -> int:
        return self.clock.position

    @property
    def playing(self) -> bool:
        return self.clock.playing

    @property
    def speed(self) -> float:
        return self.clock.speed

    @property
    def skipped_frames(self) -> int:
        return self.clock.skipped

    @property
    def fps(self) -> float:
        return (self.dataset.fps if self.dataset else 0.0) or 30.0

    # -- layout -------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.inner = QMainWindow()
        self.inner.setWindowFlags(Qt.WindowType.Widget)
        self.inner.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowNestedDocks)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.inner)

        episodes = EpisodesPanel()
        self.model, self.table, self.filters = episodes.model, episodes.table, episodes.filters
        self.table.episodeActivated.connect(self._on_table_episode)
        self.filters.changed.connect(self._on_filters_changed)
        self.model.layoutChanged.connect(self._episode_status)
        self.episodes_dock = _dock("Episodes", "browse.episodes", self.inner, episodes)
        self.inner.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.episodes_dock)

        self.viewer = Viewer(self.unit)
        self.videos, self.joints, self.transport, self.splitter = (
            self.viewer.videos, self.viewer.joints, self.viewer.transport, self.viewer.splitter
        )
        self.plots = self.joints.plots
        self.unit_buttons, self.native_unit_label = self.joints.unit_buttons, self.joints.native_unit_label
        self.joints.unitChosen.connect(self.set_unit)
        self.plots.seekRequested.connect(self._seek_seconds)
        self.transport.seekRequested.connect(self.set_position)
        self.transport.stepRequested.connect(self.step)
        self.transport.playToggled.connect(self.toggle_play)
        self.transport.speedChanged.connect(self.set_speed)
        self.transport.trimInRequested.connect(self.trim_in_here)
        self.transport.trimOutRequested.connect(self.trim_out_here)
        self.inner.setCentralWidget(self.viewer)

        self.bar = CurationBar()
        self._connect_curation_bar()
        self.curation_dock = _dock("Curation", "browse.curation", self.inner, self.bar)
        self.inner.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.curation_dock)
        self.problems = BrowseProblems(self)  # the doctor's findings, tabbed with Curation
        self.inner.resizeDocks([self.episodes_dock], [540], Qt.Orientation.Horizontal)
        self._default_state = self.inner.saveState()
        self.toast = Toast(self, anchor=self.videos)  # notices over the cameras, never over controls
        self.exporter = BrowseExport(self)
        self.exporter.finished.connect(self.exportFinished.emit)
        self.surgery = attach_surgery(self)  # Edit dataset…: merge, split, delete, ... (#19)
        self.subtasks = attach_subtasks(self)  # the subtask track under the timeline (#19)

    def _connect_curation_bar(self) -> None:
        bar = self.bar
        for name in ("good_button", "bad_button", "flag_button", "exclude_button", "note_edit", "task_edit",
                     "clear_trim_button", "undo_button", "redo_button", "export_button", "summary_label",
                     "sidecar_label"):
            setattr(self, name, getattr(bar, name))
        bar.good_button.clicked.connect(lambda: self.rate("good"))
        bar.bad_button.clicked.connect(lambda: self.rate("bad"))
        bar.flag_button.clicked.connect(self.toggle_flag)
        bar.exclude_button.clicked.connect(self.toggle_excluded)
        bar.note_edit.editingFinished.connect(lambda: self.set_note(bar.note_edit.text()))
        bar.task_edit.editingFinished.connect(lambda: self.set_task(bar.task_edit.text()))
        bar.clear_trim_button.clicked.connect(self.clear_trim)
        bar.undo_button.clicked.connect(self.undo)
        bar.redo_button.clicked.connect(self.redo)
        bar.export_button.clicked.connect(self.export_curated_dialog)

    def _shortcuts(self) -> None:
        add_transport_shortcuts(self, self.toggle_play, self.step, self.set_position, self._last_frame)
        for keys, slot in (
            ("Up", lambda: self.next_episode(-1)),
            ("Down", lambda: self.next_episode(1)),
            ("I", self.trim_in_here),
            ("O", self.trim_out_here),
            ("F", self.toggle_flag),
            ("G", lambda: self.rate("good")),
            ("B", lambda: self.rate("bad")),
            ("X", self.toggle_excluded),
            ("Escape", lambda: self.table.setFocus()),
        ):
            add_pane_shortcut(self, keys, slot)

    def _show_empty(self) -> None:
        self.videos.set_cameras([])
        self.videos.set_empty_text("Drop a dataset here or use File > Open dataset (Ctrl+O)")
        self.plots.show_message("Open a dataset to see its episodes, cameras and joints")
        self.transport.timeline.set_range(0)
        self.subtasks.episode_shown()
        self.transport.position_label.setText("–")
        self._refresh_curation()

    # -- opening ------------------------------------------------------------------------------------
    def open_path(self, path: str | Path, episode: int | None = None, frame: int | None = None) -> None:
        """Open a dataset in the background; ``episode``/``frame`` are shown first when given.

        What is shown stays shown (and curatable) until the new dataset is open; a failed open
        changes nothing but an error naming the file."""
        opening = self.session.begin_open(path)
        self._opening_request = (episode, frame or 0)
        if self.dataset is None:
            self.videos.set_empty_text(f"Opening {opening.path.name}…")
            self.plots.show_message(f"Opening {opening.path}…")
        self.context.set_status("dataset", f"opening {opening.path.name}…")
        self.tasks.run(
            opening.run,
            key="open",
            lane=INTERACTIVE,
            on_done=self._on_opened,
            on_error=lambda m, d: self._on_open_failed(opening, m, d),
        )

    def show_dataset(self, dataset: Dataset, episode: int | None = None, frame: int = 0) -> None:
        """Show a dataset that is already open (its curation is read here)."""
        self.close_dataset()
        self._requested = (episode, frame)
        self._pending_first_frame = True
        self.session.show_dataset(dataset)
        self._populate()

    def _on_open_failed(self, opening: Opening, message: str, details: str) -> None:
        if not self.session.open_failed(opening):
            return  # replaced meanwhile: the newer opening tells its own story
        if self.dataset is None:
            self._show_empty()
        self.context.set_status("dataset", self._dataset_status())
        show_error(self, "Could not open the dataset", message, details, str(opening.requested))
        self.openFailed.emit(message)

    def _on_opened(self, opening: Opening) -> None:
        if opening is not self.session.opening:
            opening.abandon()
            return
        self._clear_shown()
        if self.session.adopt(opening):
            self._requested = self._opening_request
            self._pending_first_frame = True
            self._populate()
        else:
            self._show_empty()

    def _dataset_status(self) -> str:
        dataset = self.dataset
        if dataset is None:
            return "no dataset"
        return f"{dataset.path.name} ({dataset.format.value}, {dataset.num_episodes} episodes)"

    def _populate(self) -> None:
        dataset, curation = self.session.dataset, self.session.curation
        assert dataset is not None and curation is not None
        self.plots.reset_ranges()
        table = self.session.table
        self.model.set_table(table)
        header = self.table.horizontalHeader()
        self.model.sort(header.sortIndicatorSection(), header.sortIndicatorOrder())
        lengths = table.length if len(table) else [0]
        self.filters.set_dataset_values(self.session.tasks(table.tasks()), int(min(lengths)), int(max(lengths)))
        self.table.fit_task_column()
        # What is alive now (the window, the libraries, the dataset's episodes and table) lives until
        # the dataset closes: out of the cycle collector's sight until then. A full collection walks
        # every tracked object (10,000 episodes: ~190,000, 68 ms on the GUI thread), and Python starts
        # one by itself when enough new objects survive: in the middle of rating 10,000 episodes.
        # Collected first, once, so that no garbage (the previous dataset's cycles) is frozen with it.
        gc.collect()
        gc.freeze()
        self.bar.sidecar_label.setText(f"Decisions are saved to {curation.path}")
        self.context.set_status("dataset", self._dataset_status())
        self._refresh_curation()
        self.undoStateChanged.emit()
        self.datasetLoaded.emit(dataset)
        self.problems.dataset_opened(dataset, check=False)  # checked once the first frame is up
        self.context.datasetOpened.emit(dataset)
        if curation.warnings:
            self.toast.show_message("Curation notes:\n" + "\n".join(curation.warnings[:5]))
        wanted_episode, wanted_frame = self._requested or (None, 0)
        self._requested = None
        target = self.session.first_episode(wanted_episode)
        if target is None:
            self.videos.set_empty_text("This dataset has no episodes")
            self.plots.show_message("This dataset has no episodes")
            self._pending_first_frame = False
            return
        self._checks_waiting = True
        self.show_episode(target, wanted_frame)
        if not self._pending_first_frame:
            self._start_checks()

    def _start_checks(self) -> None:
        """The doctor and the quality hints read the whole dataset: they start after the first frame,
        so that (on two cores) it does not wait behind them."""
        if self._checks_waiting and self.dataset is not None:
            self._checks_waiting = False
            self.hints.start()
            self.problems.check()

    def close_dataset(self) -> None:
        """Stop showing the dataset; tasks still reading it (an export) keep it open until they end."""
        self.tasks.cancel("open")
        self._clear_shown()
        self.session.close()

    def _clear_shown(self) -> None:
        """Stop the work and the widgets of the dataset shown (the session still holds it)."""
        gc.unfreeze()  # what the dataset held in cycles is collected again (see _populate)
        self.pause()
        self.loader.clear()
        for key in _READERS:
            self.tasks.cancel(key)
        self.hints.stop()
        self._pending_first_frame = self._checks_waiting = False
        self.problems.dataset_closed()
        self.clock.unload()
        self.joint_data = {}
        self.model.set_table(EpisodeTable())
        self.filters.update_count()

    # -- episodes -----------------------------------------------------------------------------------
    def _on_table_episode(self, index: int) -> None:
        if self.episode is None or index != self.episode.index:
            self.show_episode(index, 0)

    def show_episode(self, index: int, frame: int = 0) -> None:
        """Show episode ``index``: cameras and timeline at once, arrays and frames in the background."""
        if self.dataset is None:
            return
        was_playing = self.playing
        self.pause()
        episode = self.session.show_episode(index)
        self.clock.load(episode.length, self.dataset.fps, frame)
        self.clock.set_marks(*self.session.marks())
        self.table.blockSignals(True)
        self.table.select_episode(index)
        self.table.blockSignals(False)
        cameras = self.session.cameras()
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
        self.loader.set_sources({c: self.session.stream_opener(episode, c) for c in cameras})
        self.transport.timeline.set_range(episode.length, self.dataset.fps)
        self.subtasks.episode_shown()
        self._update_trim_markers()
        self.player.show(self.position)
        if self.plots.showing_message():  # keep the previous plots until the new values arrive
            self.plots.show_message(f"Loading episode {index}…")
        self.joint_data = {}
        self._plot_after_first_frame = False
        self.tasks.run(
            load_joints, episode, key="joints", lane=INTERACTIVE, holds=[self.session.share()],
            on_done=self._on_loaded, on_error=self._on_load_failed,
        )
        self.tasks.cancel("thumbs")
        if cameras:
            self.tasks.run(
                thumbnails, episode, cameras[0], key="thumbs", lane=INTERACTIVE,
                holds=[self.session.share()], on_done=self._on_thumbs,
            )
        self._refresh_curation()
        self._episode_status()
        if was_playing:
            self.play()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        if not self.viewer.splitter_fixed and self.videos.tiles:
            QTimer.singleShot(0, self.fit_splitter)

    def fit_splitter(self) -> None:
        self.viewer.fit_splitter(self.dataset)

    def _on_loaded(self, data: dict[str, Any]) -> None:
        if self.episode is None:
            return
        self.joint_data = data
        if self._pending_first_frame:
            # plotting builds the plots (and imports pyqtgraph the first time): the video goes first
            self._plot_after_first_frame = True
            return
        self._replot()
        self.episodeShown.emit(self.episode.index)

    def _plot_deferred(self) -> None:
        if self._plot_after_first_frame and self.episode is not None and self.joint_data:
            self._plot_after_first_frame = False
            self._replot()
            self.episodeShown.emit(self.episode.index)

    def _on_load_failed(self, message: str, details: str) -> None:
        self.plots.show_message(f"Could not read the joint values: {message}")

    def _on_thumbs(self, thumbs: list[tuple[int, np.ndarray]]) -> None:
        self.transport.timeline.set_thumbnails(thumbs)
        self.thumbnailsReady.emit(len(thumbs))

    def _replot(self) -> None:
        if self.episode is None:
            return
        self.joints.plot(self.joint_data, self.unit, self.episode.length, self.fps, self.position)
        self._update_trim_markers()

    def set_unit(self, unit: Unit) -> None:
        self.unit = unit
        self.context.settings.setValue("browse/unit", unit.value)
        if self.joint_data:
            self._replot()

    def next_episode(self, delta: int) -> None:
        shown = self.model.rowCount()
        if not shown:
            return
        row = self.model.row_of(self.episode.index) if self.episode is not None else -1
        if row < 0:
            target = self.model.episode_at(0)
        elif 0 <= row + delta < shown:
            target = self.model.episode_at(row + delta)
        else:
            return
        self.show_episode(target, 0)

    def _episode_status(self) -> None:
        """The status bar's "episode N (row/rows shown)", again whenever the rows change (a filter,
        a sort, a decision a filter reads)."""
        if self.episode is None:
            return
        index = self.episode.index
        number = self.model.row_of(index) + 1
        self.context.set_status(
            "episode", f"episode {index} ({number}/{self.model.rowCount()} shown)" if number else f"episode {index}"
        )

    def _on_filters_changed(self) -> None:
        if self.episode is not None:
            self.table.blockSignals(True)
            self.table.select_episode(self.episode.index)
            self.table.blockSignals(False)

    def _save_later(self, flush: Any) -> None:
        """The session's curation saves, written by a task (latest text wins). On the interactive lane:
        a save of a few ms must not wait behind the doctor or an export on the background lane."""
        QTimer.singleShot(SAVE_DELAY_MS, lambda: self._save_now(flush))

    def _save_now(self, flush: Any) -> None:
        if self.tasks.closed:  # the window closed meanwhile: written here (usually nothing is left)
            try:
                flush()
            except StudioError as error:
                self._on_save_failed(error.message, str(error))
            return
        self.tasks.run(flush, lane=INTERACTIVE, on_error=self._on_save_failed)

    def _on_save_failed(self, message: str, details: str) -> None:
        show_error(self, "Could not save the curation", message, details)

    # -- playhead (the player shows what the clock says) ----------------------------------------------
    def _last_frame(self) -> int:
        return self.clock.last_frame

    def set_position(self, frame: int) -> None:
        """Move the playhead (a seek while playing goes on playing from there)."""
        if self.episode is not None:
            self.player.seek(frame)

    def step(self, delta: int) -> None:
        if self.episode is not None:
            self.player.step(delta)

    def toggle_play(self) -> None:
        self.pause() if self.playing else self.play()

    def play(self) -> None:
        if self.episode is not None:
            self.player.play()

    def pause(self) -> None:
        self.player.pause()

    def set_speed(self, speed: float) -> None:
        self.player.set_speed(speed)

    def _seek_seconds(self, seconds: float) -> None:
        if self.dataset is not None:
            self.set_position(int(round(seconds * self.fps)))

    def _on_frame(self, camera: str, index: int, rgb: np.ndarray) -> None:
        tile = self.videos.tiles.get(camera)
        if tile is None:
            return
        tile.set_frame(rgb, index, f"frame {index} · {index / self.fps:.2f} s")
        if all(t.index == self.position for t in self.videos.tiles.values()):
            self.frameShown.emit(self.position)
            self._first_frame_done()

    def _on_frame_failed(self, camera: str, index: int, message: str, details: str) -> None:
        tile = self.videos.tiles.get(camera)
        if tile is not None:
            tile.clear(f"Cannot show frame {index}: {message}" if index >= 0 else f"Cannot open video: {message}")
        self._first_frame_done()

    def _first_frame_done(self) -> None:
        if self._pending_first_frame:
            self._pending_first_frame = False
            self.firstFrameShown.emit()
            if self._plot_after_first_frame:
                QTimer.singleShot(0, self._plot_deferred)
            QTimer.singleShot(0, self._start_checks)

    # -- export -------------------------------------------------------------------------------------
    def export_curated_dialog(self) -> ExportDialog | None:
        return self.exporter.dialog()

    def export_decisions_dialog(self) -> None:
        self.exporter.decisions_dialog()

    def validate_current(self) -> None:
        self.exporter.validate_current()

    # -- pane protocol ------------------------------------------------------------------------------
    def status_fields(self) -> dict[str, str]:
        return {"dataset": self.dataset.path.name if self.dataset is not None else "no dataset"}

    def save_state(self) -> dict[str, Any]:
        return save_layout(self)

    def restore_state(self, state: dict[str, Any]) -> None:
        restore_layout(self, state)

    def reset_layout(self) -> None:
        self.inner.restoreState(self._default_state)
        self.episodes_dock.show()
        self.curation_dock.show()
        self.viewer.splitter_fixed = False
        self.fit_splitter()

    def remember_position(self) -> None:
        """Store the episode/frame per dataset so reopening shows the same place."""
        if self.dataset is not None and self.episode is not None:
            remember_place(self.context.settings, self.dataset.path, self.episode.index, self.position)

    def remembered_position(self, path: str) -> tuple[int, int] | None:
        return remembered_place(self.context.settings, path)

    def shutdown(self) -> None:
        """Window closing: remember the place, cancel and wait for every task, let go of the dataset."""
        if self.tasks.closed:
            return
        self.remember_position()
        self.pause()
        self.surgery.shutdown()
        self.tasks.shutdown()
        self.loader.shutdown()
        self.hints.stop()
        self.session.close()
        gc.unfreeze()  # the dataset is let go: what it held in cycles is collected again (see _populate)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.shutdown()
        super().closeEvent(event)
