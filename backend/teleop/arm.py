"""An SO-101 arm (leader or follower): six STS3215 on one bus, ids 1..6.

Reads positions (raw ticks or normalised with a LeRobot calibration), writes goals, switches
torque, reads and writes the calibration registers. Used by the recording loop, the calibration
procedure and the CLI; nothing here knows about Qt.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from backend.teleop import protocol as P
from backend.teleop.bus import BusError, BusTimeoutError, FeetechBus
from backend.teleop.calibration import (
    JOINTS,
    LEISAAC_NORM_MODES,
    MOTOR_IDS,
    Calibration,
    CalibrationError,
    MotorCalibration,
    Normalizer,
    NormMode,
)


class SO101Arm:
    def __init__(
        self,
        port_or_bus: str | FeetechBus,
        calibration: Calibration | None = None,
        norm_modes: Mapping[str, NormMode] = LEISAAC_NORM_MODES,
        role: str = "leader",
        joints: tuple[str, ...] = JOINTS,
        motor_ids: Mapping[str, int] = MOTOR_IDS,
        timeout: float = 0.02,
        retries: int = 2,
    ) -> None:
        self.bus = (
            port_or_bus
            if isinstance(port_or_bus, FeetechBus)
            else FeetechBus(port_or_bus, timeout=timeout, retries=retries)
        )
        self.role = role
        self.joints = tuple(joints)
        self.ids = [int(motor_ids[j]) for j in self.joints]
        self.norm_modes = {j: NormMode(norm_modes[j]) for j in self.joints}
        self._calibration: Calibration | None = None
        self._normalizer: Normalizer | None = None
        if calibration is not None:
            self.calibration = calibration

    @property
    def port(self) -> str:
        return self.bus.port

    # -- calibration --------------------------------------------------------------------------------
    @property
    def calibration(self) -> Calibration | None:
        return self._calibration

    @calibration.setter
    def calibration(self, calibration: Calibration | None) -> None:
        if calibration is None:
            self._calibration = self._normalizer = None
            return
        calibration.validate(self.joints)
        self._calibration = calibration
        self._normalizer = Normalizer(calibration, self.norm_modes, self.joints)

    @property
    def normalizer(self) -> Normalizer:
        if self._normalizer is None:
            raise CalibrationError(
                f"the {self.role} arm has no calibration",
                self.port,
                "calibrate it or load its LeRobot calibration file",
            )
        return self._normalizer

    # -- connection -------------------------------------------------------------------------------
    def connect(self, check_motors: bool = True) -> SO101Arm:
        self.bus.open()
        if check_motors:
            # setup is not time-critical: wait longer than the control loop does for each reply
            loop_timeout, loop_retries = self.bus.timeout, self.bus.retries
            self.bus.timeout, self.bus.retries = max(loop_timeout, 0.1), max(loop_retries, 4)
            try:
                self.check_motors()
            finally:
                self.bus.timeout, self.bus.retries = loop_timeout, loop_retries
        return self

    def disconnect(self, disable_torque: bool = True) -> None:
        if self.bus.is_open and disable_torque:
            try:
                self.set_torque(False)
            except BusError:
                pass
        self.bus.close()

    def __enter__(self) -> SO101Arm:
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.disconnect()

    def check_motors(self) -> dict[str, int]:
        """PING every motor and read its model; raise one clear error naming the silent ones."""
        missing, models = [], {}
        for name, servo_id in zip(self.joints, self.ids, strict=True):
            try:
                self.bus.ping(servo_id)
                models[name] = self.bus.read_register(servo_id, "Model_Number")
            except BusTimeoutError:
                missing.append(f"{name} (id {servo_id})")
        if missing:
            raise BusError(
                f"motors do not answer: {', '.join(missing)}",
                self.port,
                "check the daisy-chain cables and the power supply; motor ids must be 1..6",
            )
        wrong = [f"{n}: {m}" for n, m in models.items() if m != P.STS3215_MODEL_NUMBER]
        if wrong:
            raise BusError(f"not STS3215 motors ({', '.join(wrong)})", self.port)
        return models

    # -- positions --------------------------------------------------------------------------------
    def read_raw(self, register: str = "Present_Position") -> np.ndarray:
        values = self.bus.sync_read_register(register, self.ids)
        return np.array([values[i] for i in self.ids], dtype=np.int64)

    def read(self) -> np.ndarray:
        """Normalised positions (float64) in this arm's norm modes."""
        return self.normalizer.normalize(self.read_raw())

    def write_goal_raw(self, ticks: np.ndarray) -> None:
        self.bus.sync_write_register(
            "Goal_Position", {i: int(t) for i, t in zip(self.ids, np.asarray(ticks), strict=True)}
        )

    def write_goal(self, values: np.ndarray) -> np.ndarray:
        """Normalised goal -> raw ticks (returned) written with one SYNC_WRITE."""
        ticks = self.normalizer.unnormalize(values)
        self.write_goal_raw(ticks)
        return ticks

    def set_torque(self, enabled: bool) -> None:
        for servo_id in self.ids:
            self.bus.write_register(servo_id, "Torque_Enable", int(enabled))
            self.bus.write_register(servo_id, "Lock", int(enabled))

    # -- registers ----------------------------------------------------------------------------------
    def configure(self) -> None:
        """LeRobot's SO-101 settings: fast replies, position mode; softer gains on a follower."""
        self.set_torque(False)
        for servo_id in self.ids:
            self.bus.write_register(servo_id, "Return_Delay_Time", 0)
            self.bus.write_register(servo_id, "Operating_Mode", 0)
            self.bus.write_register(servo_id, "Maximum_Acceleration", 254)
            self.bus.write_register(servo_id, "Acceleration", 254)
            if self.role == "follower":
                self.bus.write_register(servo_id, "P_Coefficient", 16)
                self.bus.write_register(servo_id, "I_Coefficient", 0)
                self.bus.write_register(servo_id, "D_Coefficient", 32)

    def prepare_calibration(self) -> None:
        """Step 1 of the procedure: torque off, Lock 0, position mode, offsets 0, limits 0..4095."""
        for servo_id in self.ids:
            self.bus.write_register(servo_id, "Torque_Enable", 0)
            self.bus.write_register(servo_id, "Lock", 0)
            self.bus.write_register(servo_id, "Operating_Mode", 0)
        self.write_offsets({j: 0 for j in self.joints})
        self.write_limits({j: (0, P.MAX_RAW) for j in self.joints})

    def write_offsets(self, offsets: Mapping[str, int]) -> None:
        for name, offset in offsets.items():
            servo_id = self.ids[self.joints.index(name)]
            try:
                self.bus.write_register(servo_id, "Homing_Offset", int(offset))
            except P.ProtocolError as error:
                raise CalibrationError(
                    f"{name}: {error}", self.port, "move the joint nearer the middle"
                ) from error

    def write_limits(self, ranges: Mapping[str, tuple[int, int]]) -> None:
        for name, (low, high) in ranges.items():
            servo_id = self.ids[self.joints.index(name)]
            self.bus.write_register(servo_id, "Min_Position_Limit", int(low))
            self.bus.write_register(servo_id, "Max_Position_Limit", int(high))

    def apply_calibration(self, calibration: Calibration | None = None) -> None:
        """Write Homing_Offset and position limits to the servos (torque off, Lock 0 meanwhile)."""
        calibration = calibration or self.calibration
        if calibration is None:
            raise CalibrationError("no calibration to write", self.port)
        calibration.validate(self.joints)
        for servo_id in self.ids:
            self.bus.write_register(servo_id, "Torque_Enable", 0)
            self.bus.write_register(servo_id, "Lock", 0)
        self.write_offsets({j: calibration[j].homing_offset for j in self.joints})
        self.write_limits({j: (calibration[j].range_min, calibration[j].range_max) for j in self.joints})
        for servo_id in self.ids:
            self.bus.write_register(servo_id, "Lock", 1)
        self.calibration = calibration

    def read_calibration(self) -> Calibration:
        """The calibration stored in the servos (drive_mode is not stored there: 0)."""
        out = Calibration()
        for name, servo_id in zip(self.joints, self.ids, strict=True):
            out[name] = MotorCalibration(
                id=servo_id,
                drive_mode=0,
                homing_offset=self.bus.read_register(servo_id, "Homing_Offset"),
                range_min=self.bus.read_register(servo_id, "Min_Position_Limit"),
                range_max=self.bus.read_register(servo_id, "Max_Position_Limit"),
            )
        return out

    def calibration_mismatches(self, calibration: Calibration | None = None) -> list[str]:
        """Differences between a calibration (default: the loaded one) and the servos' registers."""
        calibration = calibration or self.calibration
        if calibration is None:
            return ["no calibration loaded"]
        stored = self.read_calibration()
        out = []
        for name in self.joints:
            a, b = calibration[name], stored[name]
            for field in ("homing_offset", "range_min", "range_max"):
                if getattr(a, field) != getattr(b, field):
                    out.append(f"{name}.{field}: file {getattr(a, field)}, servo {getattr(b, field)}")
        return out
