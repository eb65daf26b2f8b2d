"""Calibration wizard: LeRobot's procedure with live gauges per joint.

1 connect (port, leader/follower, arm id, where to save) -> 2 hold the middle pose, "Set middle"
(homing offsets = raw - 2047) -> 3 sweep every joint while the gauges show the range -> 4 done: the
calibration is written to the servos and saved as LeRobot JSON. "Load file..." writes an existing
LeRobot calibration to the servos instead. Bus work runs as tasks of the wizard's own group (one
at a time, key "bus"); a 30 Hz timer polls the procedure's snapshot. Closing the wizard stops the
procedure and lets go of the arm in a last task; ``shutdown()`` waits for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.tasks import BACKGROUND, TaskGroup
from backend.progress import Progress
from backend.teleop.arm import SO101Arm
from backend.teleop.calibration import JOINTS, default_path, load_calibration, save_calibration
from backend.teleop.calibration_procedure import CalibrationProcedure
from widgets.joint_gauges import JointGauges

STEPS = ["Connect", "Middle pose", "Sweep", "Done"]


def _connect(port: str, role: str, full_turn: tuple[str, ...], progress: Progress) -> CalibrationProcedure:
    """Open the arm (torque off) and start reading it; an arm opened after a cancel is let go."""
    arm = SO101Arm(port, role=role)
    try:
        procedure = CalibrationProcedure(arm, full_turn=full_turn).start()
    except BaseException:
        arm.disconnect(disable_torque=False)
        raise
    if progress.cancelled:
        _release(procedure)
        progress.check_cancelled()
    return procedure


def _release(procedure: CalibrationProcedure, progress: Progress | None = None) -> None:
    procedure.stop()
    procedure.arm.disconnect(disable_torque=False)


def _finish(procedure: CalibrationProcedure, path: str, progress: Progress) -> str:
    return str(save_calibration(procedure.finish(), path))


def _write_file(port: str, role: str, path: str, progress: Progress) -> str:
    calibration = load_calibration(path)
    arm = SO101Arm(port, role=role).connect()
    try:
        arm.apply_calibration(calibration)
    finally:
        arm.disconnect(disable_torque=False)
    return path


class CalibrationWizard(QDialog):
    calibrationSaved = Signal(str)  # path of the saved JSON

    def __init__(
        self,
        port: str = "",
        role: str = "leader",
        arm_id: str = "",
        save_path: str = "",
        ports: list[str] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Calibrate an SO-101 arm")
        self.setObjectName("calibrationWizard")
        self.resize(760, 440)
        self.procedure: CalibrationProcedure | None = None
        self.saved_path = ""
        self.tasks = TaskGroup(self)
        self._busy = False

        layout = QVBoxLayout(self)
        self.step_label = QLabel()
        self.step_label.setObjectName("stepLabel")
        layout.addWidget(self.step_label)
        self.stack = QStackedWidget()
        layout.addWidget(self.stack, 1)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setObjectName("wizardMessage")
        layout.addWidget(self.message)
        buttons = QHBoxLayout()
        self.load_button = QPushButton("Load file…")
        self.load_button.setToolTip("Write an existing LeRobot calibration file to the servos")
        self.back_button = QPushButton("Cancel")
        self.next_button = QPushButton("Connect")
        self.next_button.setDefault(True)
        buttons.addWidget(self.load_button)
        buttons.addStretch(1)
        buttons.addWidget(self.back_button)
        buttons.addWidget(self.next_button)
        layout.addLayout(buttons)

        # 1 connect
        page = QWidget()
        form = QFormLayout(page)
        self.port_edit = QComboBox()
        self.port_edit.setEditable(True)
        self.port_edit.addItems(ports or [])
        self.port_edit.setCurrentText(port)
        self.role_combo = QComboBox()
        self.role_combo.addItems(["leader", "follower"])
        self.role_combo.setCurrentText(role)
        self.id_edit = QLineEdit(arm_id or f"so101_{role}")
        self.path_edit = QLineEdit(save_path)
        self.full_turn = QCheckBox("wrist_roll turns fully (0..4095)")
        form.addRow("Port", self.port_edit)
        form.addRow("Arm", self.role_combo)
        form.addRow("Arm id", self.id_edit)
        form.addRow("Save to", self.path_edit)
        form.addRow("", self.full_turn)
        form.addRow(
            QLabel("Torque is switched off: the arm can be moved by hand. Support it before you connect.")
        )
        self.stack.addWidget(page)
        self.role_combo.currentTextChanged.connect(self._default_path)
        self.id_edit.textChanged.connect(self._default_path)
        if not save_path:
            self._default_path()

        # 2 middle, 3 sweep (same gauges)
        for text in (
            "Move the arm to the middle of its range of motion (every joint), hold it, then press Set middle.",
            "Move every joint slowly through its full range of motion. The shaded part of each bar is the "
            "range recorded so far. Press Finish when every joint has gone end to end.",
        ):
            page = QWidget()
            box = QVBoxLayout(page)
            label = QLabel(text)
            label.setWordWrap(True)
            box.addWidget(label)
            gauges = JointGauges(JOINTS)
            box.addWidget(gauges, 1)
            self.stack.addWidget(page)
            if self.stack.count() == 2:
                self.middle_gauges = gauges
            else:
                self.sweep_gauges = gauges

        # 4 done
        page = QWidget()
        box = QVBoxLayout(page)
        self.done_label = QLabel()
        self.done_label.setWordWrap(True)
        self.done_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.addWidget(self.done_label)
        box.addStretch(1)
        self.stack.addWidget(page)

        self.timer = QTimer(self)
        self.timer.setInterval(33)
        self.timer.timeout.connect(self._poll)
        self.next_button.clicked.connect(self._next)
        self.back_button.clicked.connect(self.reject)
        self.load_button.clicked.connect(self._load_file)
        self._show_step(0)

    # -- steps ------------------------------------------------------------------------------------
    def _default_path(self) -> None:
        role = self.role_combo.currentText()
        self.path_edit.setText(str(default_path(role, self.id_edit.text().strip() or f"so101_{role}")))

    def _show_step(self, index: int) -> None:
        self.stack.setCurrentIndex(index)
        self.step_label.setText("  →  ".join(f"<b>{s}</b>" if i == index else s for i, s in enumerate(STEPS)))
        self.next_button.setText(["Connect", "Set middle", "Finish", "Close"][index])
        self.back_button.setVisible(index < 3)
        self.load_button.setVisible(index == 0)

    @property
    def step(self) -> int:
        return self.stack.currentIndex()

    def _set_busy(self, busy: bool, text: str = "") -> None:
        self._busy = busy
        self.next_button.setEnabled(not busy)
        self.load_button.setEnabled(not busy)
        self.message.setText(text)

    def _error(self, message: str) -> None:
        self._set_busy(False)
        self.message.setText(f"<span style='color:#f25f5c'>{message}</span>")

    def _next(self) -> None:
        if self._busy:
            return
        step = self.step
        if step == 0:
            port, role = self.port_edit.currentText().strip(), self.role_combo.currentText()
            full_turn = ("wrist_roll",) if self.full_turn.isChecked() else ()
            if not port:
                self._error("Choose the arm's serial port first.")
                return
            self._set_busy(True, f"Connecting to {port}…")
            self._run(_connect, port, role, full_turn, on_done=self._connected)
        elif step == 1:
            self._set_busy(True, "Reading the middle pose…")
            procedure = self.procedure
            self._run(lambda progress: procedure.set_middle(), on_done=self._middle_set)
        elif step == 2:
            self._set_busy(True, "Writing the calibration to the servos…")
            self._run(_finish, self.procedure, self.path_edit.text().strip(), on_done=self._finished)
        else:
            self.accept()

    def _connected(self, procedure: CalibrationProcedure) -> None:
        self.procedure = procedure
        self._set_busy(False, "Torque is off.")
        self.timer.start()
        self._show_step(1)

    def _middle_set(self, offsets: dict[str, int]) -> None:
        self._set_busy(False, "Homing offsets written: " + ", ".join(f"{k} {v}" for k, v in offsets.items()))
        self._show_step(2)

    def _finished(self, path: str) -> None:
        self.timer.stop()
        self.saved_path = path
        cal = self.procedure.calibration
        rows = "".join(
            f"<tr><td>{j}</td><td align=right>{m.homing_offset}</td><td align=right>{m.range_min}</td>"
            f"<td align=right>{m.range_max}</td></tr>"
            for j, m in cal.items()
        )
        self.done_label.setText(
            f"Calibration written to the servos and saved to<br><b>{path}</b><br><br>"
            f"<table cellspacing=6><tr><th>joint</th><th>homing offset</th><th>range min</th><th>range max</th></tr>"
            f"{rows}</table>"
        )
        self._set_busy(False, "")
        self._show_step(3)
        self.calibrationSaved.emit(path)

    def _load_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "LeRobot calibration file", self.path_edit.text(), "JSON (*.json)"
        )
        if path:
            self.load_file(path)

    def load_file(self, path: str) -> None:
        """Write an existing LeRobot calibration file to the servos of the chosen port."""
        port, role = self.port_edit.currentText().strip(), self.role_combo.currentText()

        def done(saved: str) -> None:
            self._set_busy(False, f"Wrote {Path(saved).name} to the servos on {port}.")
            self.saved_path = saved
            self.calibrationSaved.emit(saved)

        self._set_busy(True, f"Writing {Path(path).name} to the servos…")
        self._run(_write_file, port, role, path, on_done=done)

    def _run(self, fn: Any, *args: Any, on_done: Any) -> None:
        """One bus task at a time (the buttons are off while it runs)."""
        self.tasks.run(fn, *args, key="bus", lane=BACKGROUND, on_done=on_done,
                       on_error=lambda message, details: self._error(message))

    # -- live -------------------------------------------------------------------------------------
    def _poll(self) -> None:
        if self.procedure is None:
            return
        snap = self.procedure.snapshot()
        gauges = self.middle_gauges if self.step == 1 else self.sweep_gauges
        if self.step == 1:
            gauges.set_values(snap.raw)
        else:
            gauges.set_values(snap.raw, snap.mins, snap.maxs)
        if snap.error and not self._busy:
            self.message.setText(f"<span style='color:#ff9f1c'>{snap.error}</span>")

    def done(self, result: int) -> None:  # noqa: D401 - Qt API: closes the dialog
        self.timer.stop()
        self.tasks.cancel()  # a result that comes now is dropped (an arm it opened is let go)
        procedure, self.procedure = self.procedure, None
        if procedure is not None and not self.tasks.closed:
            self.tasks.run(_release, procedure, key="release", lane=BACKGROUND)
        super().done(result)

    def shutdown(self) -> None:
        """Close and wait for the last bus work (the owner's close)."""
        if self.isVisible():
            self.reject()
        self.tasks.shutdown()

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        super().closeEvent(event)
        self.tasks.shutdown()
