"""Evaluation episodes in the teleop recorder's crash-safe LeIsaac HDF5 (``Hdf5Recorder``).

An evaluation row is a teleop row without a leader: ``actions`` are the policy's actions (radians),
and ``extras/`` holds ``action_lerobot`` (the policy's action exactly as the server sent it),
``state_lerobot``, ``follower_raw`` (Present_Position ticks), ``goal_raw`` (the Goal_Position ticks
written after the step limit), ``chunk`` / ``chunk_step`` (which chunk and which of its rows) and
``latency_ms`` (that chunk's round trip). Each demo carries ``rs_eval_label`` (success / failure /
aborted) and ``rs_eval_reason``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from backend.formats.leisaac_hdf5.live import Column
from backend.teleop.hdf5_recorder import EE_SOURCE, JOINT_UNITS, Hdf5Recorder
from backend.teleop.steps import EpisodeMeta, Step

RECORDED_BY = "rollout-studio eval"
LABELS = ("success", "failure", "aborted")

EVAL_EXTRAS = {
    "t": Column(0, "float64"),
    "action_lerobot": Column(6),
    "state_lerobot": Column(6),
    "follower_raw": Column(6, "int16"),
    "goal_raw": Column(6, "int16"),
    "chunk": Column(0, "int32"),
    "chunk_step": Column(0, "int16"),
    "latency_ms": Column(0, "float32"),
}


@dataclass(slots=True)
class EvalStep(Step):
    goal_raw: np.ndarray | None = None
    chunk: int = 0
    chunk_step: int = 0
    latency_ms: float = 0.0


class _DemoWithExtras:
    """The live demo, with the evaluation columns added to each ``append``."""

    def __init__(self, demo: Any, recorder: EvalRecorder) -> None:
        self._demo = demo
        self._recorder = recorder

    def __getattr__(self, name: str) -> Any:
        return getattr(self._demo, name)

    def append(self, **kwargs: Any) -> None:
        kwargs["extras"] = {**kwargs["extras"], **self._recorder._pending}
        self._demo.append(**kwargs)


class EvalRecorder(Hdf5Recorder):
    """``Hdf5Recorder`` whose rows are ``EvalStep`` and whose episodes end with a label."""

    def provenance(self) -> dict:
        record = super().provenance()
        record["recorded_by"] = RECORDED_BY
        return record

    def begin_episode(self, meta: EpisodeMeta) -> str:
        self._file.check_rate(meta.rate_hz)
        demo = self._file.begin_demo(
            seed=meta.seed, task=meta.task, started_wall=meta.started_wall, joint_units=JOINT_UNITS,
            recorded_by=RECORDED_BY, cameras=meta.cameras, extras=EVAL_EXTRAS,
            extras_attrs={"lerobot_units": meta.lerobot_units}, ee_source=EE_SOURCE,
        )
        self._demo = _DemoWithExtras(demo, self)
        self._meta = meta
        self._prev_pos = None
        self._prev_t = 0.0
        self._pending: dict[str, np.ndarray] = {}
        return demo.name

    def append(self, steps: list[Step]) -> None:
        if not steps:
            return
        self._pending = {
            "goal_raw": np.array([getattr(s, "goal_raw", None) if getattr(s, "goal_raw", None) is not None
                                  else np.zeros(6) for s in steps], dtype=np.int16),
            "chunk": np.array([getattr(s, "chunk", 0) for s in steps], dtype=np.int32),
            "chunk_step": np.array([getattr(s, "chunk_step", 0) for s in steps], dtype=np.int16),
            "latency_ms": np.array([getattr(s, "latency_ms", 0.0) for s in steps], dtype=np.float32),
        }
        super().append(steps)

    def end_episode(self, success: bool | None, reason: str = "") -> tuple[str, int]:
        demo = self._demo
        if demo is not None:
            label = reason.split(":", 1)[0].strip()
            demo.group.attrs["rs_eval_label"] = label if label in LABELS else "aborted"
            demo.group.attrs["rs_eval_reason"] = reason
        return super().end_episode(success, reason)
