"""What keeps a policy from hurting the arm, enforced in the backend loop, never in a pane.

- **Envelope**: each joint's range from the follower's calibration (``range_min``..``range_max``
  through LeRobot's normalisation, in the action's units). A chunk with a value beyond it by more
  than ``tolerance`` is refused whole; values within the tolerance are clipped onto it.
- **Step limit**: a goal moves at most ``max_step`` units from the previous goal per tick.
- **Chunk check**: NaN/inf or a wrong shape -> the chunk is refused (``ActionFault``).
- **Watchdog**: no action executed for ``hold_after_ms`` -> hold position (goal = present
  position); still none after ``torque_off_after_ms`` -> torque off.

A refused chunk or a tripped watchdog never moves the arm: the loop holds and shows one message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from backend.numbers import fixed
from backend.policy.modality import ActionFault
from backend.teleop.calibration import JOINTS, LEISAAC_NORM_MODES, Calibration, Normalizer, NormMode

__all__ = ["ActionFault", "Envelope", "Safety", "SafetyConfig"]


@dataclass(frozen=True)
class SafetyConfig:
    max_step: float = 8.0  # action units per tick (LeRobot -100..100: 8 per tick = 240/s at 30 fps)
    tolerance: float = 2.0  # beyond the envelope by less than this: clipped, not refused
    hold_after_ms: float = 250.0
    torque_off_after_ms: float = 1500.0


@dataclass(frozen=True)
class Envelope:
    low: np.ndarray
    high: np.ndarray
    joints: tuple[str, ...] = JOINTS

    @classmethod
    def from_calibration(cls, calibration: Calibration, modes: Mapping[str, NormMode] = LEISAAC_NORM_MODES,
                         joints: Sequence[str] = JOINTS) -> Envelope:
        normalizer = Normalizer(calibration, modes, joints)
        ends = np.stack([normalizer.normalize(normalizer.min), normalizer.normalize(normalizer.max)])
        return cls(ends.min(axis=0), ends.max(axis=0), tuple(joints))

    def outside(self, chunk: np.ndarray, tolerance: float) -> list[str]:
        """'joint value (envelope lo..hi)' for the first offending value of each joint."""
        out = []
        for j, name in enumerate(self.joints):
            column = chunk[:, j]
            bad = (column < self.low[j] - tolerance) | (column > self.high[j] + tolerance)
            if bad.any():
                value = column[np.argmax(bad)]
                out.append(f"{name} {fixed(value, '.1f')} (allowed {fixed(self.low[j], '.1f')}.."
                           f"{fixed(self.high[j], '.1f')})")
        return out


class Safety:
    """The checks of one evaluation run; the loop calls them every tick."""

    def __init__(self, envelope: Envelope, config: SafetyConfig | None = None) -> None:
        self.envelope = envelope
        self.config = config or SafetyConfig()
        self._last_action: float | None = None
        self.state = "ok"  # ok | hold | torque_off

    def check_chunk(self, chunk: np.ndarray) -> np.ndarray:
        """The chunk clipped onto the envelope, or ``ActionFault`` (NaN/inf, out of range)."""
        chunk = np.asarray(chunk, dtype=np.float64)
        if chunk.ndim != 2 or chunk.shape[1] != len(self.envelope.joints):
            raise ActionFault(f"action chunk of shape {chunk.shape}, expected (N, {len(self.envelope.joints)})")
        finite = np.isfinite(chunk)
        if not finite.all():
            step, joint = np.argwhere(~finite)[0]
            raise ActionFault(f"the policy sent {chunk[step, joint]} for {self.envelope.joints[joint]} "
                              f"(step {step} of the chunk)")
        outside = self.envelope.outside(chunk, self.config.tolerance)
        if outside:
            raise ActionFault("the policy sent values outside the joint envelope: " + "; ".join(outside))
        return np.clip(chunk, self.envelope.low, self.envelope.high)

    def limit(self, target: np.ndarray, previous: np.ndarray | None) -> np.ndarray:
        """``target`` moved at most ``max_step`` from ``previous`` on every joint."""
        target = np.clip(np.asarray(target, dtype=np.float64), self.envelope.low, self.envelope.high)
        if previous is None:
            return target
        step = self.config.max_step
        return np.asarray(previous, dtype=np.float64) + np.clip(target - previous, -step, step)

    # -- watchdog ------------------------------------------------------------------------------------
    def fed(self, now: float) -> None:
        self._last_action = now
        self.state = "ok"

    def start(self, now: float) -> None:
        self._last_action = now
        self.state = "ok"

    def watchdog(self, now: float) -> str:
        """``ok``, ``hold`` (no action for hold_after_ms) or ``torque_off`` (for torque_off_after_ms)."""
        if self._last_action is None:
            return "ok"
        idle_ms = 1000.0 * (now - self._last_action)
        if idle_ms >= self.config.torque_off_after_ms:
            self.state = "torque_off"
        elif idle_ms >= self.config.hold_after_ms:
            self.state = "hold"
        return self.state

    def torque_off_at(self) -> float:
        """When the watchdog turns torque off if nothing is executed before (perf_counter seconds)."""
        last = self._last_action if self._last_action is not None else 0.0
        return last + self.config.torque_off_after_ms / 1000.0

    def idle_ms(self, now: float) -> float:
        return 0.0 if self._last_action is None else 1000.0 * (now - self._last_action)
