"""The LeRobot calibration procedure as a small state machine with a polling thread.

    proc = CalibrationProcedure(arm).start()   # torque off, offsets 0, limits 0..4095, polling 50 Hz
    proc.set_middle()                          # operator holds the middle pose: offsets = raw - 2047
    ...operator sweeps every joint...          # proc.snapshot() shows live min/max per joint
    calibration = proc.finish()                # limits written to the servos, Calibration returned
    save_calibration(calibration, path)

The GUI polls ``snapshot()`` with a timer; the CLI prints it. Nothing blocks on the operator.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from backend.teleop.arm import SO101Arm
from backend.teleop.bus import BusError
from backend.teleop.calibration import (
    Calibration,
    CalibrationError,
    RangeRecorder,
    build_calibration,
    homing_offsets_from_middle,
)
from backend.teleop.protocol import MAX_RAW


@dataclass(frozen=True)
class CalibrationSnapshot:
    state: str  # "idle", "middle", "sweep", "done", "failed"
    raw: dict[str, int] = field(default_factory=dict)
    mins: dict[str, int] = field(default_factory=dict)
    maxs: dict[str, int] = field(default_factory=dict)
    offsets: dict[str, int] = field(default_factory=dict)
    samples: int = 0
    error: str = ""
    updated: float = 0.0


class CalibrationProcedure:
    def __init__(self, arm: SO101Arm, full_turn: tuple[str, ...] = (), poll_hz: float = 50.0) -> None:
        self.arm = arm
        self.full_turn = tuple(full_turn)
        self.poll_hz = poll_hz
        self._state = "idle"
        self._offsets: dict[str, int] = {}
        self._recorder = RangeRecorder(arm.joints, self.full_turn)
        self._raw: dict[str, int] = {}
        self._error = ""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._updated = 0.0
        self._generation = 0  # bumped when offsets change: polls started before are discarded
        self.calibration: Calibration | None = None

    # -- control (any thread) ---------------------------------------------------------------------
    def start(self) -> CalibrationProcedure:
        if not self.arm.bus.is_open:
            self.arm.connect()
        self.arm.prepare_calibration()
        with self._lock:
            self._state = "middle"
        self._stop.clear()
        self._thread = threading.Thread(target=self._poll, name="calibration-poll", daemon=True)
        self._thread.start()
        return self

    def set_middle(self) -> dict[str, int]:
        """Read the middle pose (offsets are 0 now), write ``raw - 2047``, start the sweep."""
        with self._lock:
            if self._state not in ("middle", "sweep"):
                raise CalibrationError(f"cannot set the middle pose in state {self._state!r}")
            self._state = "middle"
            self._generation += 1
        self.arm.write_offsets({j: 0 for j in self.arm.joints})
        raw = self.arm.read_raw()
        offsets = homing_offsets_from_middle(dict(zip(self.arm.joints, raw.tolist(), strict=True)))
        self.arm.write_offsets(offsets)
        with self._lock:
            self._offsets = offsets
            self._recorder = RangeRecorder(self.arm.joints, self.full_turn)
            self._state = "sweep"
            self._generation += 1
        return offsets

    def finish(self) -> Calibration:
        """End the sweep; write limits and offsets to the servos; return the calibration."""
        with self._lock:
            if self._state != "sweep":
                raise CalibrationError("set the middle pose and sweep the joints first")
            ranges = self._recorder.ranges()
            offsets = dict(self._offsets)
        calibration = build_calibration(
            offsets, ranges, motor_ids=dict(zip(self.arm.joints, self.arm.ids, strict=True))
        )
        self.stop()
        self.arm.apply_calibration(calibration)
        with self._lock:
            self._state = "done"
        self.calibration = calibration
        return calibration

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        self._thread = None

    def snapshot(self) -> CalibrationSnapshot:
        with self._lock:
            rec = self._recorder
            mins = {j: (0 if j in self.full_turn else v) for j, v in rec.mins.items()}
            maxs = {j: (MAX_RAW if j in self.full_turn else v) for j, v in rec.maxs.items()}
            return CalibrationSnapshot(
                self._state,
                dict(self._raw),
                mins,
                maxs,
                dict(self._offsets),
                rec.samples,
                self._error,
                self._updated,
            )

    # -- polling thread ---------------------------------------------------------------------------
    def _poll(self) -> None:
        period = 1.0 / self.poll_hz
        next_time = time.perf_counter()
        while not self._stop.is_set():
            with self._lock:
                generation = self._generation
            try:
                raw = self.arm.read_raw()
                values = dict(zip(self.arm.joints, np.asarray(raw).tolist(), strict=True))
                with self._lock:
                    self._raw = values
                    self._error = ""
                    self._updated = time.monotonic()
                    if self._state == "sweep" and generation == self._generation:
                        self._recorder.update(values)
            except BusError as error:
                with self._lock:
                    self._error = error.message
            next_time += period
            delay = next_time - time.perf_counter()
            if delay < 0:
                next_time = time.perf_counter()
                delay = 0
            self._stop.wait(delay)
