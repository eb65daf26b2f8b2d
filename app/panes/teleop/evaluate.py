"""Teleop's Evaluate mode: run a GR00T policy on the follower arm and label each episode.

Left: the form (policy server, or a running ``gr00t-inference-server`` job; follower port and
calibration; cameras; training dataset; output recording; episodes and seconds). Right: the live line
(episode, chunk, round trip, how far ahead the next chunk is requested), the episodes so far and the
report. Bottom: Start, Success (S), Failure (F) and Stop (A: holds the arm and ends the run).

What the mode knows lives in ``backend.sessions.evaluate.EvaluateSession``; the run (connect, the
loop, the report) is one BACKGROUND task of this panel; every safety rule is enforced in the backend
loop, never here. A ~30 Hz timer shows the loop's snapshot.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app import async_loop
from app.tasks import BACKGROUND, INTERACTIVE, TaskGroup
from backend.policy.demo import start_eval_demo
from backend.sessions.evaluate import EvaluateSession, run_evaluation, server_jobs
from widgets.video_tile import VideoGrid

POLL_MS = 33


class EvaluatePanel(QWidget):
    def __init__(self, session: EvaluateSession | None = None, workspace: str | Path = ".",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("evaluatePanel")
        self.session = session or EvaluateSession()
        self.workspace = Path(workspace)
        self.tasks = TaskGroup(self)
        self.report_path: str | None = None
        self._watch: async_loop.Handle | None = None  # looks for listening server jobs while shown
        self._last_seq: dict[str, int] = {}
        self.blocked_reason: Callable[[], str] = lambda: ""  # the pane: why not now (the follower is busy)
        self._build()
        self.session.listen(self._changed)
        self.show_form()
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self._poll)
        for key, letter in (("S", "s"), ("F", "f"), ("A", "a")):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda letter=letter: self.session.press(letter))
        self._show_state()

    # -- layout -----------------------------------------------------------------------------------------
    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setChildrenCollapsible(False)
        root.addWidget(splitter, 1)

        form_box = QWidget()
        form = QFormLayout(form_box)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.server_edit = QLineEdit()
        self.server_edit.setPlaceholderText("tcp://HOST:5555 or http://HOST:8000")
        self.jobs_combo = QComboBox()
        self.jobs_combo.setPlaceholderText("Connect to a running server job")
        self.jobs_combo.activated.connect(self._job_chosen)
        self.find_button = QPushButton("Find")
        self.find_button.setToolTip("List the running gr00t-inference-server jobs that listen")
        self.find_button.clicked.connect(self.find_jobs)
        jobs_row = QHBoxLayout()
        jobs_row.addWidget(self.jobs_combo, 1)
        jobs_row.addWidget(self.find_button)
        self.follower_edit = QLineEdit()
        self.follower_edit.setPlaceholderText("/dev/ttyACM1")
        self.calibration_edit = QLineEdit()
        self.calibration_edit.setPlaceholderText("LeRobot calibration file (default: its usual place)")
        self.cameras_edit = QLineEdit()
        self.cameras_edit.setToolTip("NAME=SOURCE, comma separated: the training dataset's camera names")
        self.training_edit = QLineEdit()
        self.training_edit.setPlaceholderText("training dataset (fps, cameras, modality.json, task)")
        self.out_edit = QLineEdit()
        self.out_edit.setPlaceholderText("evaluation recording .hdf5 (episodes are appended)")
        self.task_edit = QLineEdit()
        self.task_edit.setPlaceholderText("default: the training dataset's task")
        self.episodes_spin = QSpinBox()
        self.episodes_spin.setRange(1, 1000)
        self.seconds_spin = QDoubleSpinBox()
        self.seconds_spin.setRange(0.1, 3600.0)
        self.seconds_spin.setSuffix(" s")
        for label, widget in (("Policy server", self.server_edit), ("", jobs_row),
                              ("Follower port", self.follower_edit), ("Calibration", self.calibration_edit),
                              ("Cameras", self.cameras_edit), ("Training data", self.training_edit),
                              ("Output", self.out_edit), ("Task", self.task_edit),
                              ("Episodes", self.episodes_spin), ("Per episode", self.seconds_spin)):
            form.addRow(label, widget)
        safety = self.session.safety
        self.safety_label = QLabel(
            f"Safety (enforced by the loop): goals stay inside the calibration's joint ranges and move at most "
            f"{safety.max_step:g} units per step; NaN, wrong shapes or values out of range hold the arm; "
            f"no action for {safety.hold_after_ms:.0f} ms holds it, for {safety.torque_off_after_ms:.0f} ms "
            "turns torque off. Stop (A) holds the arm and ends the run.")
        self.safety_label.setWordWrap(True)
        self.safety_label.setObjectName("evaluateSafety")
        form.addRow(self.safety_label)
        self.demo_button = QPushButton("Try with a virtual arm and the reference server")
        self.demo_button.setToolTip("No GPU, no arm: a virtual follower and a server replaying episode 0 of the "
                                    "training data (the demo dataset when none is given)")
        self.demo_button.clicked.connect(self.start_demo)
        form.addRow(self.demo_button)
        form_box.setMinimumWidth(300)
        splitter.addWidget(form_box)

        right = QWidget()
        column = QVBoxLayout(right)
        self.status_label = QLabel()
        self.status_label.setObjectName("evaluateStatus")
        self.status_label.setWordWrap(True)
        column.addWidget(self.status_label)
        self.video = VideoGrid()
        self.video.set_empty_text("The cameras the policy sees appear here during a run")
        column.addWidget(self.video, 3)
        self.report_view = QPlainTextEdit()
        self.report_view.setObjectName("evaluateReport")
        self.report_view.setReadOnly(True)
        column.addWidget(self.report_view, 2)
        splitter.addWidget(right)
        splitter.setSizes([380, 700])

        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start evaluation")
        self.success_button = QPushButton("Success (S)")
        self.failure_button = QPushButton("Failure (F)")
        self.stop_button = QPushButton("Stop (A)")
        self.stop_button.setToolTip("Abort the episode: the arm holds where it is and the run ends")
        self.start_button.clicked.connect(self.start)
        self.success_button.clicked.connect(lambda: self.session.press("s"))
        self.failure_button.clicked.connect(lambda: self.session.press("f"))
        self.stop_button.clicked.connect(lambda: self.session.press("a"))
        for button in (self.start_button, self.success_button, self.failure_button, self.stop_button):
            buttons.addWidget(button)
        root.addLayout(buttons)

    # -- form ---------------------------------------------------------------------------------------------
    def show_form(self) -> None:
        f = self.session.form
        for edit, value in ((self.server_edit, f.server), (self.follower_edit, f.follower),
                            (self.calibration_edit, f.follower_calibration), (self.cameras_edit, f.cameras),
                            (self.training_edit, f.training), (self.out_edit, f.out), (self.task_edit, f.task)):
            edit.setText(value)
            edit.setCursorPosition(0)  # a long path shows its start
        self.episodes_spin.setValue(int(f.episodes))
        self.seconds_spin.setValue(float(f.episode_seconds))

    def store_form(self) -> None:
        f = self.session.form
        f.server, f.follower = self.server_edit.text(), self.follower_edit.text()
        f.follower_calibration, f.cameras = self.calibration_edit.text(), self.cameras_edit.text()
        f.training, f.out, f.task = self.training_edit.text(), self.out_edit.text(), self.task_edit.text()
        f.episodes, f.episode_seconds = self.episodes_spin.value(), self.seconds_spin.value()

    def find_jobs(self) -> None:
        if not self.tasks.closed:
            self.tasks.run(server_jobs, key="jobs", lane=INTERACTIVE, on_done=self._show_jobs)

    def _show_jobs(self, servers: list[tuple[str, str]]) -> None:
        if servers == [(self.jobs_combo.itemText(i), self.jobs_combo.itemData(i))
                       for i in range(self.jobs_combo.count())]:
            return
        self.jobs_combo.clear()
        for label, address in servers:
            self.jobs_combo.addItem(label, address)
        self.jobs_combo.setCurrentIndex(-1)
        self.jobs_combo.setPlaceholderText(f"{len(servers)} server job(s) listen: pick one" if servers
                                           else "no running server job listens yet")

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        """While shown, a server job that starts listening is offered without pressing Find."""
        super().showEvent(event)
        if self._watch is None and not self.tasks.closed:
            self.find_jobs()
            self._watch = async_loop.start(async_loop.every, 3.0, self.find_jobs, name="evaluate-server-jobs")

    def hideEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        self._stop_watch()
        super().hideEvent(event)

    def _stop_watch(self) -> None:
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.cancel()

    def _job_chosen(self, index: int) -> None:
        address = self.jobs_combo.itemData(index)
        if address:
            self.server_edit.setText(str(address))

    def start_demo(self) -> None:
        if self.session.running or self.tasks.closed or self.tasks.busy("demo"):
            return
        self.store_form()
        self.session.demo_starting()
        self.tasks.run(start_eval_demo, str(self.workspace), self.session.form.training.strip() or None,
                       key="demo", lane=BACKGROUND, on_done=lambda demo: self.session.demo_ready(demo, self.workspace),
                       on_error=self._run_failed)

    # -- run ------------------------------------------------------------------------------------------------
    def start(self) -> None:
        if self.session.running or self.tasks.closed:
            return
        self.store_form()
        if reason := self.blocked_reason():
            self.session.failed(reason)
            return
        try:
            settings = self.session.settings()
        except Exception as error:  # noqa: BLE001 - a StudioError sentence, shown in the status line
            self.session.failed(str(getattr(error, "message", error)))
            return
        self.session.starting()
        self.tasks.run(run_evaluation, settings, self.session.keys, self.session.attach, self.report_path,
                       key="run", lane=BACKGROUND, on_done=self.session.finished, on_error=self._run_failed)
        self.timer.start()

    def _run_failed(self, message: str, _details: str) -> None:
        self.session.failed(message)

    def _changed(self, what: str) -> None:
        if what == "form":
            self.show_form()
        else:
            self._show_state()

    def _show_state(self) -> None:
        running = self.session.running
        self.start_button.setEnabled(not running)
        for button in (self.success_button, self.failure_button, self.stop_button):
            button.setEnabled(running)
        self.status_label.setText(self.session.status_text())
        lines = self.session.episodes_text()
        report = self.session.report_text()
        self.report_view.setPlainText("\n".join(lines) + ("\n\n" + report if report else ""))
        if not running:
            self.timer.stop()

    def _poll(self) -> None:
        self.session.poll()
        self.status_label.setText(self.session.status_text())
        frames = self.session.frames()
        if frames and set(frames) != set(self.video.tiles):
            self.video.set_cameras(sorted(frames))
        for name, frame in frames.items():
            tile = self.video.tiles.get(name)
            if tile is not None and frame is not None and self._last_seq.get(name) != frame.seq:
                self._last_seq[name] = frame.seq
                tile.set_frame(frame.image, frame.seq)

    # -- shutdown -----------------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Abort a running evaluation (the arm holds) and wait for its task to release the hardware."""
        self.timer.stop()
        self._stop_watch()
        self.session.press("a")
        self.tasks.shutdown(timeout=60.0)
        self.session.stop_demo()

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        self.shutdown()
        super().closeEvent(event)
