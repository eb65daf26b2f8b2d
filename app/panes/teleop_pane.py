"""Teleop: connect a leader (and follower) arm and cameras, calibrate, and record episodes.

Left: connection (ports, calibration files, cameras, rate, output) and calibration; centre: live
camera tiles; right: live joint plots (leader solid, follower dashed), loop rate and jitter, camera
fps, dropped frames, disk rate; bottom: task text, episode timer, counters, Start (B) / Success (N)
/ Fail (R) / Re-record buttons and a RECORDING indicator. Banners say when an arm or a camera is lost.

The session (control loop, cameras) runs in its own process (backend.teleop.session_process), the
writer in another: a busy GUI thread cannot delay the loop's ticks. This pane polls the latest
snapshot, plot history and camera previews from shared memory with a ~30 Hz timer. With
``SESSION_MODE = "thread"`` the session runs in this process instead (threads; tests, comparisons).
Connecting (ports, first camera frames) runs on a worker. ``start_demo()`` starts two virtual SO-101 arms on pseudo-terminals and two
file-backed cameras and connects to them. On start the pane looks for recordings a crash left
unfinished in the workspace and offers to recover them.
"""

from __future__ import annotations

import atexit
import contextlib
import time
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.error_dialog import show_error
from app.settings import get_json, set_json
from app.tasks import run_task
from backend.task_text import HINT as TASK_HINT
from backend.task_text import task_text_problem
from backend.teleop.calibration import JOINTS
from widgets import palette
from widgets.calibration_wizard import CalibrationWizard
from widgets.live_joint_plots import LiveJointPlots
from widgets.video_tile import VideoGrid

POLL_MS = 33
SESSION_MODE = "process"  # "process": the session in its own process; "thread": in the GUI process
DEMO_VIDEO_SIZE = (640, 480)  # the demo's file-backed cameras (tests make them smaller)
SETTINGS_KEY = "teleop/form"
UNITS = [("LeRobot", "lerobot"), ("rad", "rad")]


# -- work done in worker threads ----------------------------------------------------------------
def _connect_job(settings: Any, recover_mode: str | None, mode: str = "process", progress=None) -> Any:
    if mode == "process":
        from backend.teleop.session_process import SessionProcess

        progress.report(0, 1, "starting the session process: connecting the arms and cameras")
        session = SessionProcess(settings, recover_mode)
        notes = session.start()
        return session, notes
    from backend.teleop.factory import build_session

    progress.report(0, 2, "connecting the arms and cameras")
    session, notes = build_session(settings, recover_mode)
    progress.report(1, 2, "starting the control loop")
    session.start()
    return session, notes


def _stop_job(session: Any, progress=None) -> None:
    session.stop()


def _scan_unfinished(folder: str, progress=None) -> list[str]:
    from backend.teleop.hdf5_recorder import find_unfinished
    from backend.teleop.lerobot_recorder import find_unfinished_lerobot

    root = Path(folder)
    found = []
    if not root.is_dir():
        return found
    for path in sorted(root.iterdir()):
        if path.suffix.lower() in (".hdf5", ".h5") and find_unfinished(path):
            found.append(str(path))
        elif path.is_dir() and (path / "meta").exists() and find_unfinished_lerobot(path):
            found.append(str(path))
    return found


def _recover_job(paths: list[str], mode: str, progress=None) -> list[str]:
    from backend.teleop.hdf5_recorder import recover
    from backend.teleop.lerobot_recorder import recover_lerobot

    lines = []
    for path in paths:
        if Path(path).is_dir():
            lines += [f"{Path(path).name}: {x}" for x in recover_lerobot(path)]
        else:
            lines += [
                f"{Path(path).name}: {r.name} {r.action} ({r.length} steps)" for r in recover(path, mode)
            ]
    return lines


# Demo arm processes still running: stopped at interpreter exit even if the pane never got to it
# (e.g. the window closed while the demo was still starting).
_LIVE_DEMO_ARMS: set[Any] = set()


@atexit.register
def _stop_demo_arms() -> None:
    for proc in list(_LIVE_DEMO_ARMS):
        if proc.poll() is None:
            proc.terminate()
    for proc in list(_LIVE_DEMO_ARMS):
        with contextlib.suppress(Exception):
            proc.wait(timeout=3)


def _demo_job(workspace: str, size: tuple[int, int] = DEMO_VIDEO_SIZE, progress=None) -> dict[str, Any]:
    """Two calibrated virtual arms, each served by its own `rollout-studio virtual-arm` process (as
    real servos would be: outside the studio's process), and two demo videos."""
    import subprocess
    import sys

    from backend.teleop.demo_media import ensure_demo_videos

    root = Path(workspace)
    progress.report(0, 3, "preparing demo camera videos")
    videos = ensure_demo_videos(root / "demo-media", *size)
    progress.report(1, 3, "starting virtual arms")
    arms, devices, files = [], {}, {}
    calibration_dir = root / "calibration"
    calibration_dir.mkdir(parents=True, exist_ok=True)
    for name, motion, assembly in (("leader", "pick", "0"), ("follower", "still", "1")):
        files[name] = str(calibration_dir / f"virtual_{name}.json")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "backend.cli",
                "virtual-arm",
                "--name",
                f"demo {name}",
                "--motion",
                motion,
                "--assembly",
                assembly,
                "--calibrated",
                "--write-calibration",
                files[name],
                "--realtime",
                "--exit-with-parent",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            text=True,
            cwd=str(Path(__file__).resolve().parents[2]),
        )
        arms.append(proc)
        _LIVE_DEMO_ARMS.add(proc)
        devices[name] = proc.stdout.readline().strip()
        if not devices[name]:
            for other in arms:
                other.terminate()
            raise RuntimeError("the virtual arm did not start")
    progress.report(2, 3, "ready")
    return {
        "arms": arms,
        "leader": devices["leader"],
        "follower": devices["follower"],
        "videos": videos,
        "calibration": files,
    }


class TeleopPane(QWidget):
    def __init__(self, context: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("teleopPane")
        self.context = context
        self.session: Any = None
        self._demo_arms: list[Any] = []
        self._connect_task: Any = None
        self._unfinished: list[str] = []
        self._last_seq: dict[str, int] = {}
        self._last_status = 0.0
        self._last_numbers = 0.0
        self._last_state = ""
        self._closing = False
        self._build()
        self._restore_form()
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self._poll)
        for key, slot in (("B", self.start_episode), ("N", self.success), ("R", self.fail)):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        self._update_controls()
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
        root.addWidget(splitter, 1)

        # left: connection and calibration
        left = QWidget()
        left_box = QVBoxLayout(left)
        left_box.setContentsMargins(0, 0, 0, 0)
        conn = QGroupBox("Connection")
        form = QFormLayout(conn)
        self.leader_port = self._port_combo()
        self.leader_cal = QLineEdit()
        self.leader_cal.setPlaceholderText("LeRobot calibration (default place, else the servos)")
        self.follower_port = self._port_combo(optional=True)
        self.follower_cal = QLineEdit()
        self.follower_cal.setPlaceholderText("follower calibration")
        refresh = QToolButton()
        refresh.setText("↻")
        refresh.setToolTip("Look for serial ports again")
        refresh.clicked.connect(self.refresh_ports)
        leader_row = QHBoxLayout()
        leader_row.addWidget(self.leader_port, 1)
        leader_row.addWidget(refresh)
        form.addRow("Leader port", leader_row)
        form.addRow("Leader calibration", self._with_browse(self.leader_cal, "json"))
        form.addRow("Follower port", self.follower_port)
        form.addRow("Follower calibration", self._with_browse(self.follower_cal, "json"))
        self.cameras_edit = QPlainTextEdit()
        self.cameras_edit.setPlaceholderText("one per line: NAME=SOURCE\nfront=/dev/video0\nwrist=/dev/wrist")
        self.cameras_edit.setFixedHeight(64)
        form.addRow("Cameras", self.cameras_edit)
        self.rate_combo = QComboBox()
        self.rate_combo.addItems(["60 Hz", "30 Hz"])
        form.addRow("Loop rate", self.rate_combo)
        self.format_combo = QComboBox()
        self.format_combo.addItem("LeIsaac HDF5", "hdf5")
        self.format_combo.addItem("LeRobot v2.1 (H.264)", "lerobot")
        self.format_combo.currentIndexChanged.connect(self._format_changed)
        form.addRow("Format", self.format_combo)
        self.out_edit = QLineEdit()
        form.addRow("Output", self._with_browse(self.out_edit, "out"))
        self.connect_button = QPushButton("Connect")
        self.connect_button.setObjectName("connectButton")
        self.connect_button.clicked.connect(self.toggle_connection)
        form.addRow(self.connect_button)
        self.connect_status = QLabel(
            "Not connected. Choose the leader port, or File > Demo for virtual arms."
        )
        self.connect_status.setWordWrap(True)
        form.addRow(self.connect_status)
        left_box.addWidget(conn)
        cal_box = QGroupBox("Calibration")
        cal_layout = QVBoxLayout(cal_box)
        self.calibrate_button = QPushButton("Calibrate an arm…")
        self.calibrate_button.clicked.connect(self.open_calibration)
        cal_layout.addWidget(self.calibrate_button)
        cal_layout.addWidget(QLabel("Middle pose → sweep → saved as LeRobot JSON and written to the servos."))
        left_box.addWidget(cal_box)
        left_box.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(390)  # ports, calibration paths and buttons readable without scrolling
        splitter.addWidget(scroll)

        # centre: cameras
        self.video = VideoGrid()
        self.video.set_empty_text("Cameras appear here once connected")
        splitter.addWidget(self.video)

        # right: plots and numbers
        right = QWidget()
        right_box = QVBoxLayout(right)
        right_box.setContentsMargins(0, 0, 0, 0)
        unit_row = QHBoxLayout()
        unit_row.addWidget(QLabel("Joints"))
        self.unit_combo = QComboBox()
        for text, key in UNITS:
            self.unit_combo.addItem(text, key)
        unit_row.addWidget(self.unit_combo)
        unit_row.addStretch(1)
        right_box.addLayout(unit_row)
        self.plots = LiveJointPlots(JOINTS)
        right_box.addWidget(self.plots, 1)
        self.stats_label = QLabel("loop —")
        self.stats_label.setObjectName("teleopStats")
        self.stats_label.setTextFormat(Qt.TextFormat.RichText)
        self.stats_label.setWordWrap(True)
        right_box.addWidget(self.stats_label)
        splitter.addWidget(right)
        splitter.setSizes([400, 620, 420])

        # bottom: task, timer, counters, buttons
        bottom = QHBoxLayout()
        bottom.addWidget(QLabel("Task"))
        self.task_edit = QLineEdit()
        self.task_edit.setPlaceholderText("e.g. Pick up the orange and place it on the plate.")
        self.task_edit.editingFinished.connect(self._task_changed)
        bottom.addWidget(self.task_edit, 2)
        self.record_indicator = QLabel("●  IDLE")
        self.record_indicator.setObjectName("recordIndicator")
        bottom.addWidget(self.record_indicator)
        self.timer_label = QLabel("0.0 s")
        self.timer_label.setObjectName("episodeTimer")
        self.timer_label.setMinimumWidth(70)
        bottom.addWidget(self.timer_label)
        self.counter_label = QLabel("episode 0 · kept 0")
        self.counter_label.setObjectName("episodeCounters")
        bottom.addWidget(self.counter_label, 1)
        self.start_button = QPushButton("Start (B)")
        self.success_button = QPushButton("Success (N)")
        self.fail_button = QPushButton("Fail (R)")
        self.rerecord_button = QPushButton("Re-record")
        for button, colour in (
            (self.start_button, "accent"),
            (self.success_button, "good"),
            (self.fail_button, "bad"),
            (self.rerecord_button, "muted"),
        ):
            button.setMinimumHeight(36)
            button.setStyleSheet(
                f"QPushButton {{ font-weight: bold; border: 2px solid {palette.color(colour).name()}; "
                "padding: 4px 12px; }"
            )
            bottom.addWidget(button)
        self.start_button.clicked.connect(self.start_episode)
        self.success_button.clicked.connect(self.success)
        self.fail_button.clicked.connect(self.fail)
        self.rerecord_button.clicked.connect(self.rerecord)
        root.addLayout(bottom)

    def _port_combo(self, optional: bool = False) -> QComboBox:
        combo = QComboBox()
        combo.setEditable(True)
        combo.setMinimumContentsLength(14)
        combo.setProperty("optional", optional)
        self._fill_ports(combo)
        return combo

    def _fill_ports(self, combo: QComboBox) -> None:
        from backend.teleop.ports import list_arm_ports

        current = combo.currentText()
        combo.clear()
        if combo.property("optional"):
            combo.addItem("")
        for port in list_arm_ports():
            combo.addItem(port.device)
            combo.setItemData(combo.count() - 1, port.label, Qt.ItemDataRole.ToolTipRole)
        combo.setCurrentText(current)

    def refresh_ports(self) -> None:
        self._fill_ports(self.leader_port)
        self._fill_ports(self.follower_port)

    def _with_browse(self, edit: QLineEdit, kind: str) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(edit, 1)
        button = QToolButton()
        button.setText("…")
        row.addWidget(button)

        def browse() -> None:
            if kind == "json":
                path, _ = QFileDialog.getOpenFileName(
                    self, "LeRobot calibration", edit.text(), "JSON (*.json)"
                )
            elif self.format_combo.currentData() == "hdf5":
                path, _ = QFileDialog.getSaveFileName(
                    self, "Record to", edit.text() or self._recordings_dir(), "LeIsaac HDF5 (*.hdf5)"
                )
            else:
                path = QFileDialog.getExistingDirectory(self, "Record into folder", self._recordings_dir())
            if path:
                edit.setText(path)

        button.clicked.connect(browse)
        return box

    # -- form state -------------------------------------------------------------------------------
    def _recordings_dir(self) -> str:
        return str(Path(self.context.workspace) / "recordings")

    def _default_output(self) -> str:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        suffix = ".hdf5" if self.format_combo.currentData() == "hdf5" else ""
        return str(Path(self._recordings_dir()) / f"teleop-{stamp}{suffix}")

    def _format_changed(self) -> None:
        text = self.out_edit.text()
        if not text or Path(text).parent == Path(self._recordings_dir()):
            self.out_edit.setText(self._default_output())
        self.rate_combo.setCurrentIndex(0 if self.format_combo.currentData() == "hdf5" else 1)

    def _form(self) -> dict[str, Any]:
        return {
            "leader": self.leader_port.currentText().strip(),
            "leader_cal": self.leader_cal.text().strip(),
            "follower": self.follower_port.currentText().strip(),
            "follower_cal": self.follower_cal.text().strip(),
            "cameras": self.cameras_edit.toPlainText(),
            "rate": self.rate_combo.currentIndex(),
            "format": self.format_combo.currentData(),
            "task": self.task_edit.text(),
        }

    def _restore_form(self) -> None:
        form = get_json(self.context.settings, SETTINGS_KEY, {}) or {}
        self.leader_port.setCurrentText(form.get("leader", ""))
        self.leader_cal.setText(form.get("leader_cal", ""))
        self.follower_port.setCurrentText(form.get("follower", ""))
        self.follower_cal.setText(form.get("follower_cal", ""))
        self.cameras_edit.setPlainText(form.get("cameras", ""))
        index = self.format_combo.findData(form.get("format", "hdf5"))
        self.format_combo.setCurrentIndex(max(0, index))
        self.rate_combo.setCurrentIndex(int(form.get("rate", 0)))
        self.task_edit.setText(form.get("task", ""))
        self.out_edit.setText(self._default_output())

    def save_state(self) -> dict[str, Any]:
        set_json(self.context.settings, SETTINGS_KEY, self._form())
        return {}

    def restore_state(self, state: dict[str, Any]) -> None:
        pass

    def status_fields(self) -> dict[str, str]:
        return {"arm": "arm: not connected"}

    def _settings(self) -> Any:
        from backend.errors import StudioError
        from backend.teleop.cameras import parse_camera_arg
        from backend.teleop.factory import RecordSettings
        from backend.teleop.session import SessionConfig

        form = self._form()
        if not form["leader"]:
            raise StudioError(
                "choose the leader arm's port", None, "plug the arm in and press ↻, or use the demo"
            )
        cameras = dict(parse_camera_arg(line) for line in form["cameras"].splitlines() if line.strip())
        out = self.out_edit.text().strip() or self._default_output()
        self.out_edit.setText(out)
        fmt = form["format"]
        config = SessionConfig(rate_hz=60.0 if form["rate"] == 0 else 30.0, task=form["task"])
        return RecordSettings(
            leader_port=form["leader"],
            out=out,
            follower_port=form["follower"] or None,
            leader_calibration=form["leader_cal"] or None,
            follower_calibration=form["follower_cal"] or None,
            cameras=cameras,
            fmt=fmt,
            config=config,
        )

    # -- connecting -------------------------------------------------------------------------------
    def toggle_connection(self) -> None:
        if self.session is not None:
            self.disconnect_session()
        else:
            self.connect_session()

    def connect_session(self, recover_mode: str | None = None) -> None:
        if self.session is not None or self._connect_task is not None:
            return
        try:
            settings = self._settings()
        except Exception as error:  # noqa: BLE001 - shown to the user
            show_error(self, "Cannot connect", str(getattr(error, "message", error)))
            return
        self.save_state()
        self.connect_status.setText("Connecting…")
        self.connect_button.setEnabled(False)
        self._connect_task = run_task(
            _connect_job,
            settings,
            recover_mode,
            SESSION_MODE,
            on_done=self._connected,
            on_error=self._connect_failed,
        )

    def _connected(self, result: Any) -> None:
        self._connect_task = None
        session, notes = result
        if self._closing:
            session.stop()
            return
        self.session = session
        self._last_seq = {}
        self._last_state = ""
        self.video.set_cameras(list(session.cameras))
        text = f"Connected: leader calibration from {notes.get('leader_calibration', '?')}"
        if notes.get("follower_calibration"):
            text += f"; follower from {notes['follower_calibration']}"
        if notes.get("recovered"):
            text += "; recovered: " + "; ".join(notes["recovered"])
        self.connect_status.setText(text)
        self.connect_button.setText("Disconnect")
        self.connect_button.setEnabled(True)
        self.timer.start()
        self._update_controls()

    def _connect_failed(self, message: str, details: str) -> None:
        self._connect_task = None
        self.connect_button.setEnabled(True)
        self.connect_status.setText(f"Not connected: {message}")
        if not self._closing:
            show_error(self, "Could not connect", message, details)

    def disconnect_session(self) -> None:
        session = self.session
        if session is None:
            return
        self.session = None
        self.timer.stop()
        self.connect_button.setEnabled(False)
        self.connect_status.setText("Disconnecting…")

        def done(_: Any) -> None:
            self.connect_button.setText("Connect")
            self.connect_button.setEnabled(True)
            self.connect_status.setText("Not connected.")
            self.context.set_status("arm", "arm: not connected")
            self._update_controls()
            self.check_unfinished()

        run_task(_stop_job, session, on_done=done, on_error=lambda m, d: done(None))
        self.out_edit.setText(self._default_output())

    def _session_lost(self, message: str) -> None:
        """The session process died (the writer process closes a running episode by itself)."""
        self.banner.setText(f"The recording session stopped: {message}. Connect again to go on.")
        self.banner.setVisible(True)
        self.disconnect_session()

    # -- episode controls ---------------------------------------------------------------------------
    def _task_text(self) -> str | None:
        """The task field's text, or None (and the reason in the banner) when it is not one line of
        plain text: it goes into the recording's task attributes, tasks.jsonl and prompts."""
        problem = task_text_problem(self.task_edit.text())
        if problem is not None:
            self.banner.setText(f"{problem[0].upper()}{problem[1:]}: {TASK_HINT}.")
            self.banner.setVisible(True)
            return None
        return self.task_edit.text()

    def start_episode(self) -> None:
        if self.session is not None and (task := self._task_text()) is not None:
            self.session.begin_episode(task)

    def success(self) -> None:
        if self.session is not None:
            self.session.end_episode(True)

    def fail(self) -> None:
        if self.session is not None:
            self.session.end_episode(False)

    def rerecord(self) -> None:
        if self.session is not None:
            self.session.rerecord()

    def _task_changed(self) -> None:
        if self.session is not None and (task := self._task_text()) is not None:
            self.session.set_task(task)

    def _update_controls(self, state: str | None = None) -> None:
        connected = self.session is not None
        recording = state == "recording"
        self.start_button.setEnabled(connected and not recording)
        self.success_button.setEnabled(recording)
        self.fail_button.setEnabled(recording)
        self.rerecord_button.setEnabled(recording)
        for widget in (
            self.leader_port,
            self.follower_port,
            self.leader_cal,
            self.follower_cal,
            self.cameras_edit,
            self.rate_combo,
            self.format_combo,
            self.out_edit,
        ):
            widget.setEnabled(not connected)
        self.calibrate_button.setEnabled(not connected)

    # -- live view ------------------------------------------------------------------------------------
    def _poll(self) -> None:
        session = self.session
        if session is None:
            return
        if getattr(session, "error", "") and getattr(session, "alive", True) is False:
            self._session_lost(session.error)
            return
        snap = session.snapshot()
        if snap is None:
            return
        # cameras: repaint only new frames
        for name, frame in snap.frames.items():
            tile = self.video.tiles.get(name)
            if tile is None or frame is None or self._last_seq.get(name) == frame.seq:
                continue
            self._last_seq[name] = frame.seq
            cam = snap.cameras.get(name)
            caption = f"{cam.stats.fps:4.1f} fps · {cam.stats.dropped} dropped" if cam else ""
            tile.set_frame(frame.image, frame.seq, caption)
        # plots
        hist = session.history()
        rad = self.unit_combo.currentData() == "rad"
        t = hist["t"] - snap.time
        self.plots.set_unit("rad" if rad else "LeRobot")
        self.plots.set_data(
            t,
            hist["leader_rad" if rad else "leader"],
            hist["follower_rad" if rad else "follower"] if session.follower else None,
        )
        recording = snap.state == "recording"
        self.timer_label.setText(f"{snap.episode_elapsed:5.1f} s")
        if snap.state != self._last_state:  # controls and indicator only when the state changes
            self._last_state = snap.state
            self._update_controls(snap.state)
            self.record_indicator.setText("●  RECORDING" if recording else f"●  {snap.state.upper()}")
            self.record_indicator.setStyleSheet(
                f"QLabel {{ color: {'#ffffff' if recording else palette.color('muted').name()}; font-weight: bold;"
                f" background: {'#c62828' if recording else 'transparent'}; padding: 4px 8px; border-radius: 3px; }}"
            )
        now = time.monotonic()
        if now - self._last_numbers < 0.2:  # numbers at 5 Hz: the GUI thread shares the GIL with the loop
            return
        self._last_numbers = now
        self._show_numbers(snap)

    def _show_numbers(self, snap: Any) -> None:
        recording = snap.state == "recording"
        colours = {"good": palette.color("good").name(), "bad": palette.color("bad").name()}
        jitter_colour = colours["good"] if snap.jitter_p99_ms < 2.0 else colours["bad"]
        parts = [
            f"<b>loop</b> {snap.loop_hz:5.1f} Hz (target {snap.rate_hz:g}) · period p50 {snap.period_p50_ms:5.2f} ms"
            f" · p99 {snap.period_p99_ms:5.2f} ms · <span style='color:{jitter_colour}'>jitter p99 "
            f"{snap.jitter_p99_ms:4.2f} ms</span> · overruns {snap.overruns}",
            f"<b>leader</b> {'connected' if snap.leader.connected else 'DISCONNECTED'} · read {snap.leader_latency_ms:4.2f} ms"
            f" · retries {snap.leader.retries} · bad packets {snap.leader.checksum_errors} · timeouts {snap.leader.timeouts}",
        ]
        if snap.follower is not None:
            parts.append(
                f"<b>follower</b> {'connected' if snap.follower.connected else 'DISCONNECTED'}"
                f" · retries {snap.follower.retries} · timeouts {snap.follower.timeouts}"
            )
        for name, cam in snap.cameras.items():
            parts.append(
                f"<b>{name}</b> {cam.stats.fps:4.1f} fps · dropped {cam.stats.dropped} · "
                f"missed by loop {cam.missed} · repeats {cam.duplicates} · age {cam.age_ms:4.0f} ms"
            )
        parts.append(
            f"<b>disk</b> {snap.disk_bytes_per_s / 1e6:5.1f} MB/s · {snap.bytes_written / 1e6:7.1f} MB"
            f" · writer lag {snap.writer_lag_steps} steps"
        )
        if snap.last_result is not None and snap.last_result.name:
            r = snap.last_result
            parts.append(
                f"last: {r.name} {r.length} steps, {'success' if r.success else 'failure'}, "
                f"final in {r.finalize_s * 1000:.0f} ms"
            )
        self.stats_label.setText("<br>".join(parts))
        self.counter_label.setText(
            f"episode {snap.episode_index} · kept {snap.episodes_kept} (success {snap.successes}, "
            f"fail {snap.failures}) · dropped {snap.dropped}"
        )
        banners = list(snap.banners)
        if snap.writer_error:
            banners.append(f"Writing failed: {snap.writer_error}")
        self.banner.setVisible(bool(banners))
        self.banner.setText("\n".join(banners))
        now = time.monotonic()
        if now - self._last_status > 0.5:
            self._last_status = now
            state = "connected" if snap.leader.connected else "DISCONNECTED"
            rec = " · REC" if recording else ""
            self.context.set_status("arm", f"arm: {state} {snap.loop_hz:4.1f} Hz{rec}")

    # -- calibration ----------------------------------------------------------------------------------
    def open_calibration(self) -> CalibrationWizard:
        ports = [self.leader_port.itemText(i) for i in range(self.leader_port.count())]
        wizard = CalibrationWizard(self.leader_port.currentText().strip(), "leader", ports=ports, parent=self)
        wizard.calibrationSaved.connect(self._calibration_saved)
        wizard.open()
        self.calibration_wizard = wizard
        return wizard

    def _calibration_saved(self, path: str) -> None:
        wizard = self.sender() if isinstance(self.sender(), CalibrationWizard) else None
        role = wizard.role_combo.currentText() if wizard is not None else "leader"
        (self.follower_cal if role == "follower" else self.leader_cal).setText(path)

    # -- recovery -------------------------------------------------------------------------------------
    def check_unfinished(self) -> None:
        run_task(_scan_unfinished, self._recordings_dir(), on_done=self._show_unfinished)

    def _show_unfinished(self, paths: list[str]) -> None:
        self._unfinished = paths
        self.recover_box.setVisible(bool(paths))
        if paths:
            names = ", ".join(Path(p).name for p in paths[:3]) + ("…" if len(paths) > 3 else "")
            self.recover_label.setText(
                f"A recording was interrupted (crash or power loss): {names}. Finished episodes are safe; "
                "the unfinished one can be closed as interrupted or dropped."
            )

    def recover(self, mode: str) -> None:
        if not self._unfinished:
            return
        paths = list(self._unfinished)
        self.recover_box.setVisible(False)

        def done(lines: list[str]) -> None:
            self.connect_status.setText("Recovered: " + "; ".join(lines))
            self.check_unfinished()

        run_task(
            _recover_job,
            paths,
            mode,
            on_done=done,
            on_error=lambda m, d: show_error(self, "Recovery failed", m, d),
        )

    # -- demo and shutdown ----------------------------------------------------------------------------
    def start_demo(self) -> None:
        """Virtual leader and follower arms and two file-backed cameras, then connect."""
        if self.session is not None or self._demo_arms:
            return
        self.connect_status.setText("Starting the demo: virtual arms and camera videos…")
        run_task(
            _demo_job,
            str(self.context.workspace),
            DEMO_VIDEO_SIZE,
            on_done=self._demo_ready,
            on_error=lambda m, d: show_error(self, "The Teleop demo could not start", m, d),
        )

    def _demo_ready(self, demo: dict[str, Any]) -> None:
        self._demo_arms = demo["arms"]
        if self._closing:
            self.stop_demo()
            return
        self.refresh_ports()
        self.leader_port.setCurrentText(demo["leader"])
        self.follower_port.setCurrentText(demo["follower"])
        self.leader_cal.setText(demo["calibration"]["leader"])
        self.follower_cal.setText(demo["calibration"]["follower"])
        self.cameras_edit.setPlainText("\n".join(f"{k}={v}" for k, v in demo["videos"].items()))
        self.format_combo.setCurrentIndex(0)
        self.rate_combo.setCurrentIndex(0)
        if not self.task_edit.text():
            self.task_edit.setText("Pick up the orange and place it on the plate.")
        self.out_edit.setText(self._default_output())
        self.connect_session()

    def stop_demo(self) -> None:
        self.shutdown()

    def shutdown(self) -> None:
        """Stop the loop (an episode being recorded is closed as interrupted) and the virtual arms."""
        self._closing = True
        self.timer.stop()
        session, self.session = self.session, None
        if session is not None:
            session.stop()
        arms, self._demo_arms = self._demo_arms, []
        for arm in arms:  # virtual-arm processes
            arm.terminate()
            _LIVE_DEMO_ARMS.discard(arm)
        for arm in arms:
            try:
                arm.wait(timeout=5)
            except Exception:  # noqa: BLE001 - last resort
                arm.kill()

    def current_snapshot(self) -> Any:
        return self.session.snapshot() if self.session is not None else None

    def plot_values(self) -> np.ndarray:
        """The leader values drawn last (tests)."""
        return np.array([self.plots.curve_data(k)[1][-1:] for k in range(len(JOINTS))]).ravel()
