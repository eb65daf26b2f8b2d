"""Teleop: connect a leader (and follower) arm and cameras, calibrate, and record episodes.

Left: connection and calibration (``connection.ConnectionPanel``); centre: live camera tiles; right:
live joint plots (leader solid, follower dashed), loop rate and jitter, camera fps, dropped frames,
disk rate (``live.LivePanel``); bottom: task text, episode timer, counters, Start (B) / Success (N)
/ Fail (R) / Re-record buttons, a RECORDING indicator and "Open in Browse" (the last recording with a
kept episode: the loop stops first so the file is whole) (``live.RecordBar``). Banners say when an
arm or a camera is lost, and offer to close recordings a crash left unfinished.

What the pane knows lives in ``backend.sessions.recording.RecordingSession``; the pane lays out
widgets, forwards clicks to it and runs its slow work as tasks (connect, disconnect, scan, recover,
demo). The loop runs in its own process by default (``RecordingSession.mode``): a busy GUI thread
cannot delay its ticks; a ~30 Hz timer polls its snapshot. ``start_demo()`` (the "Start virtual arms"
button) starts two virtual SO-101 arms and two file-backed cameras and connects to them.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTabBar,
    QVBoxLayout,
    QWidget,
)

from app.error_dialog import show_error
from app.panes.teleop.calibration_wizard import CalibrationWizard
from app.panes.teleop.connection import ConnectionPanel
from app.panes.teleop.evaluate import EvaluatePanel
from app.panes.teleop.live import LivePanel, RecordBar, stats_html
from app.settings import get_json, set_json
from app.tasks import BACKGROUND, TaskGroup
from backend.sessions.recording import (
    RecordingSession,
    open_live,
    recover_recordings,
    scan_unfinished,
    stop_live,
)
from backend.teleop.calibration import JOINTS
from backend.teleop.demo_rig import start_demo_rig
from widgets.video_tile import VideoGrid

POLL_MS = 33
SETTINGS_KEY = "teleop/form"
EVALUATE_KEY = "teleop/evaluate"
MODES = ("record", "evaluate")


class TeleopPane(QWidget):
    def __init__(self, context: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("teleopPane")
        self.context = context
        self.recording = RecordingSession(context.workspace)
        self.tasks = TaskGroup(self)
        self.calibration_wizard: CalibrationWizard | None = None
        self._last_seq: dict[str, int] = {}
        self._last_status = 0.0
        self._last_numbers = 0.0
        self._build()
        self.recording.listen(self._session_changed)
        self.recording.restore_form(get_json(context.settings, SETTINGS_KEY, {}) or {})
        self.evaluate.session.restore_form(get_json(context.settings, EVALUATE_KEY, {}) or {})
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self._poll)
        for key, slot in (("B", self.start_episode), ("N", self.success), ("R", self.fail)):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        self.connection.show_connection()
        QTimer.singleShot(0, self.check_unfinished)

    # -- layout -----------------------------------------------------------------------------------
    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(6, 6, 6, 6)
        self.banner = QLabel()
        self.banner.setObjectName("teleopBanner")
        self.banner.setWordWrap(True)
        self.banner.setVisible(False)
        self.banner.setStyleSheet(
            "QLabel { background: #5a2a28; color: #ffffff; padding: 6px; border-radius: 3px; }"
        )
        root.addWidget(self.banner)
        self.recover_box = QFrame()
        self.recover_box.setObjectName("recoverBox")
        self.recover_box.setStyleSheet("QFrame#recoverBox { background: #4a3b16; border-radius: 3px; }")
        recover_row = QHBoxLayout(self.recover_box)
        self.recover_label = QLabel()
        self.recover_label.setWordWrap(True)
        self.recover_keep = QPushButton("Close as interrupted")
        self.recover_keep.setToolTip(
            "Keep the recorded steps; the demo gets no success flag (like Ctrl+C in LeIsaac)"
        )
        self.recover_drop = QPushButton("Drop unfinished")
        recover_row.addWidget(self.recover_label, 1)
        recover_row.addWidget(self.recover_keep)
        recover_row.addWidget(self.recover_drop)
        self.recover_keep.clicked.connect(lambda: self.recover("keep"))
        self.recover_drop.clicked.connect(lambda: self.recover("drop"))
        self.recover_box.setVisible(False)
        root.addWidget(self.recover_box)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setObjectName("teleopSplitter")
        splitter.setChildrenCollapsible(False)
        root.addWidget(splitter, 1)
        self.connection = ConnectionPanel(self.recording)
        self.connection.on_connect(self.toggle_connection)
        self.connection.on_calibrate(self.open_calibration)
        self.connection.on_start_virtual(self.start_demo)
        splitter.addWidget(self.connection)
        self.video = VideoGrid()
        self.video.set_empty_text("Cameras appear here once connected")
        self.video.setMinimumWidth(240)
        splitter.addWidget(self.video)
        self.live = LivePanel()
        self.live.setMinimumWidth(280)
        splitter.addWidget(self.live)
        for index, stretch in enumerate((1, 3, 2)):  # a larger window widens all three, cameras and plots most
            splitter.setStretchFactor(index, stretch)
        splitter.setSizes([370, 520, 380])
        self.splitter = splitter

        self.bar = RecordBar()
        self.bar.task_edit.editingFinished.connect(self._task_changed)
        self.bar.start_button.clicked.connect(self.start_episode)
        self.bar.success_button.clicked.connect(self.success)
        self.bar.fail_button.clicked.connect(self.fail)
        self.bar.rerecord_button.clicked.connect(self.rerecord)
        self.bar.open_button.clicked.connect(self.open_in_browse)
        root.addWidget(self.bar)
        self.evaluate = EvaluatePanel(workspace=self.context.workspace, parent=self)  # a policy drives the arm
        self.evaluate.setVisible(False)
        self.evaluate.blocked_reason = lambda: (
            "Disconnect the Record mode first: it holds the arms' ports" if self.recording.connected else "")
        root.addWidget(self.evaluate, 1)
        self.mode_tabs = QTabBar()
        for title in ("Record", "Evaluate"):
            self.mode_tabs.addTab(title)
        self.mode_tabs.currentChanged.connect(lambda index: self.show_mode(MODES[index]))
        root.insertWidget(0, self.mode_tabs)
        # the names tests and benchmarks use
        self.connect_button = self.connection.connect_button
        self.connect_status = self.connection.connect_status
        self.plots, self.stats_label = self.live.plots, self.live.stats_label
        self.task_edit, self.record_indicator = self.bar.task_edit, self.bar.record_indicator
        self.timer_label, self.counter_label = self.bar.timer_label, self.bar.counter_label
        self.start_button, self.success_button = self.bar.start_button, self.bar.success_button
        self.fail_button, self.rerecord_button = self.bar.fail_button, self.bar.rerecord_button
        self.open_button = self.bar.open_button

    def show_mode(self, mode: str) -> None:
        """``record`` (teleoperation) or ``evaluate`` (a policy on the follower)."""
        evaluate = mode == "evaluate"
        self.mode_tabs.setCurrentIndex(MODES.index(mode))
        for widget in (self.splitter, self.bar):
            widget.setVisible(not evaluate)
        self.evaluate.setVisible(evaluate)

    @property
    def session(self) -> Any:
        """The live loop (TeleopSession or SessionProcess) while connected, else None."""
        return self.recording.live

    def _session_changed(self, what: str) -> None:
        if what == "form":
            self.connection.show_form()
            self.task_edit.setText(self.recording.form.task)
        elif what == "connection":
            self.connection.show_connection()
            self._show_state()
        elif what in ("state", "kept"):
            self._show_state()
        elif what == "unfinished":
            self.recover_box.setVisible(bool(self.recording.unfinished))
            self.recover_label.setText(self.recording.unfinished_text())

    def _show_state(self) -> None:
        self.bar.show_state(self.recording.state, self.recording.connected)
        self.bar.show_open(self.recording.can_open_recording, self.recording.kept_output)

    def _run(self, fn: Any, *args: Any, key: str, **kwargs: Any) -> None:
        if not self.tasks.closed:
            self.tasks.run(fn, *args, key=key, lane=BACKGROUND, **kwargs)

    # -- state kept between runs ----------------------------------------------------------------
    def _store_form(self) -> None:
        self.connection.store()
        self.recording.form.task = self.task_edit.text()

    def save_state(self) -> dict[str, Any]:
        self._store_form()
        set_json(self.context.settings, SETTINGS_KEY, self.recording.form.to_json())
        self.evaluate.store_form()
        set_json(self.context.settings, EVALUATE_KEY, self.evaluate.session.form.to_json())
        return {}

    def restore_state(self, state: dict[str, Any]) -> None:
        pass

    def status_fields(self) -> dict[str, str]:
        return {"arm": "arm: not connected"}

    # -- connecting -------------------------------------------------------------------------------
    def toggle_connection(self) -> None:
        if self.recording.connected:
            self.disconnect_session()
        else:
            self.connect_session()

    def connect_session(self, recover_mode: str | None = None) -> None:
        self.save_state()
        try:
            settings = self.recording.begin_connect()
        except Exception as error:  # noqa: BLE001 - shown to the user
            show_error(self, "Cannot connect", str(getattr(error, "message", error)))
            return
        if settings is None:
            return
        self.connection.out_edit.setText(self.recording.form.out)
        self._run(open_live, settings, recover_mode, self.recording.mode, key="connect",
                  on_done=self._connected, on_error=self._connect_failed)

    def _connected(self, result: Any) -> None:
        if not self.recording.connected_to(result):
            return
        self._last_seq = {}
        self.video.set_cameras(list(self.session.cameras))
        self.timer.start()

    def _connect_failed(self, message: str, details: str) -> None:
        self.recording.connect_failed(message)
        show_error(self, "Could not connect", message, details)

    def disconnect_session(self) -> None:
        live = self.recording.begin_disconnect()
        if live is None:
            return
        self.timer.stop()

        def done(*_: Any) -> None:
            self.recording.disconnected()
            self.context.set_status("arm", "arm: not connected")
            self.check_unfinished()
            if path := self.recording.take_open_request():
                self._show_in_browse(path)

        self._run(stop_live, live, key="disconnect", on_done=done, on_error=done)

    def _session_lost(self, message: str) -> None:
        """The session process died (the writer process closes a running episode by itself)."""
        self._show_banner(message)
        self.disconnect_session()

    def _show_banner(self, text: str) -> None:
        self.banner.setText(text)
        self.banner.setVisible(bool(text))

    # -- episode controls ---------------------------------------------------------------------------
    def start_episode(self) -> None:
        if self.recording.connected:
            problem = self.recording.start_episode(self.task_edit.text())
            if problem:
                self._show_banner(problem)

    def success(self) -> None:
        self.recording.success()

    def fail(self) -> None:
        self.recording.fail()

    def rerecord(self) -> None:
        self.recording.rerecord()

    def _task_changed(self) -> None:
        if self.recording.connected and (problem := self.recording.set_task(self.task_edit.text())):
            self._show_banner(problem)

    def open_in_browse(self) -> None:
        """Open the last recording with a kept episode in Browse (stopping the loop first, so the
        recorder has closed the file)."""
        path, stop_first = self.recording.open_recording()
        if stop_first:
            self.disconnect_session()
        elif path:
            self._show_in_browse(path)

    def _show_in_browse(self, path: str) -> None:
        self.context.openDatasetRequested.emit(path)
        self.context.showPaneRequested.emit("browse")

    # -- live view ------------------------------------------------------------------------------------
    def _poll(self) -> None:
        if lost := self.recording.lost_reason():
            self._session_lost(lost)
            return
        snap = self.recording.poll()  # tells _session_changed when the loop's state changed
        if snap is None:
            return
        for name, frame in snap.frames.items():  # cameras: repaint only new frames
            tile = self.video.tiles.get(name)
            if tile is None or frame is None or self._last_seq.get(name) == frame.seq:
                continue
            self._last_seq[name] = frame.seq
            cam = snap.cameras.get(name)
            caption = f"{cam.stats.fps:4.1f} fps · {cam.stats.dropped} dropped" if cam else ""
            tile.set_frame(frame.image, frame.seq, caption)
        self.live.show_history(self.recording)
        self.bar.show_timer(snap)
        now = time.monotonic()
        if now - self._last_numbers < 0.2:  # numbers at 5 Hz: the GUI thread shares the GIL with the loop
            return
        self._last_numbers = now
        self.stats_label.setText(stats_html(snap))
        self.bar.show_counters(snap)
        banners = self.recording.banners(snap)
        self._show_banner("\n".join(banners))
        if now - self._last_status > 0.5:
            self._last_status = now
            self.context.set_status("arm", self.recording.arm_status(snap))

    # -- calibration ----------------------------------------------------------------------------------
    def open_calibration(self) -> CalibrationWizard:
        port = self.connection.leader_device()
        wizard = CalibrationWizard(port, "leader", ports=self.connection.ports(), parent=self)
        wizard.calibrationSaved.connect(lambda path: self._calibration_saved(wizard, path))
        wizard.open()
        self.calibration_wizard = wizard
        return wizard

    def _calibration_saved(self, wizard: CalibrationWizard, path: str) -> None:
        role = wizard.role_combo.currentText()
        (self.connection.follower_cal if role == "follower" else self.connection.leader_cal).setText(path)

    # -- recovery -------------------------------------------------------------------------------------
    def check_unfinished(self) -> None:
        self._run(scan_unfinished, self.recording.recordings_dir, key="scan",
                  on_done=self.recording.set_unfinished)

    def recover(self, mode: str) -> None:
        paths = self.recording.take_unfinished()
        if not paths:
            return

        def done(lines: list[str]) -> None:
            self.recording.recovered(lines)
            self.check_unfinished()

        self._run(recover_recordings, paths, mode, key="recover", on_done=done,
                  on_error=lambda m, d: show_error(self, "Recovery failed", m, d))

    # -- demo and shutdown ----------------------------------------------------------------------------
    def start_demo(self) -> None:
        """Virtual leader and follower arms and two file-backed cameras, then connect."""
        if self.recording.connected or self.tasks.busy("demo"):
            return
        if self.recording.demo is not None:  # still running after a disconnect: connect to it again
            self._demo_ready(self.recording.demo)
            return
        self.recording.demo_starting()
        self._run(start_demo_rig, str(self.context.workspace), self.recording.demo_video_size, key="demo",
                  on_done=self._demo_ready,
                  on_error=lambda m, d: show_error(self, "The Teleop demo could not start", m, d))

    def _demo_ready(self, rig: Any) -> None:
        self.connection.refresh_ports()
        if self.recording.demo_ready(rig):  # fills the form (the pane hears "form")
            self.connect_session()

    def stop_demo(self) -> None:
        self.shutdown()

    def shutdown(self) -> None:
        """Stop the loop (an episode being recorded is closed as interrupted), the tasks and the
        virtual arms; waits for them."""
        self.timer.stop()
        if self.calibration_wizard is not None:
            self.calibration_wizard.shutdown()
        self.recording.closing = True
        self.evaluate.shutdown()
        self.tasks.shutdown(timeout=70.0)  # a connect or demo that ends now stops what it started
        self.recording.shutdown()

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        self.shutdown()
        super().closeEvent(event)

    def showing_live(self) -> bool:
        """Connected, with a frame in every camera tile and the joint plots drawn (screenshots wait
        for this)."""
        tiles = self.video.tiles.values()
        return (self.session is not None and all(t.index >= 0 for t in tiles)
                and self.plots.curve_data(0)[0].size > 10)

    def current_snapshot(self) -> Any:
        return self.session.snapshot() if self.session is not None else None

    def plot_values(self) -> np.ndarray:
        """The leader values drawn last (tests)."""
        return np.array([self.plots.curve_data(k)[1][-1:] for k in range(len(JOINTS))]).ravel()
