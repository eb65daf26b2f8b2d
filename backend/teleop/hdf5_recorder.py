"""The teleop recorder's LeIsaac HDF5 output: steps of the control loop streamed into a recording.

The layout, its crash safety (flushes, fsync, the ``recording`` status, one image chunk per frame)
and recovery after a crash are the format's: ``backend.formats.leisaac_hdf5.live`` and
``.recovery``. This recorder turns ``Step`` batches into rows: joint radians, velocities from the
tick times, the gripper frame (forward kinematics of the joint positions with the SO-101 URDF,
where LeIsaac reads its simulated frame sensor) and the studio's extras (tick times, raw ticks,
LeRobot units). It is driven by one recording thread or process (``backend.teleop.recorder``,
``recorder_process``), which calls ``flush()`` every 0.25 s.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from backend.formats.leisaac_hdf5.live import Column, LiveDemo, LiveFile, unfinished_demos
from backend.formats.leisaac_hdf5.recovery import RecoveredDemo, check_readable, find_unfinished, recover
from backend.formats.leisaac_hdf5.writer import default_provenance
from backend.kinematics import default_model
from backend.teleop.steps import EpisodeMeta, Step

__all__ = [
    "Hdf5Recorder",
    "RecoveredDemo",
    "check_readable",
    "find_unfinished",
    "recover",
    "unfinished_demos",
]

JOINT_UNITS = "rad"
RECORDED_BY = "rollout-studio teleop"
EE_SOURCE = "forward kinematics of obs/joint_pos (SO-101 URDF)"


def _extras(has_follower: bool) -> dict[str, Column]:
    columns = {
        "t": Column(0, "float64"),  # seconds since the episode started (tick time)
        "leader_raw": Column(6, "int16"),  # Present_Position ticks
        "leader_ok": Column(0, "bool"),  # False where the read failed and the previous values were held
        "action_lerobot": Column(6),
        "state_lerobot": Column(6),
    }
    if has_follower:
        columns["follower_raw"] = Column(6, "int16")
    return columns


class Hdf5Recorder:
    """Owned by one recording thread; not thread-safe by itself."""

    suffix = ".hdf5"

    def __init__(
        self,
        path: str | Path,
        env_name: str = "",
        image_compression: str | None = "lzf",
        fsync: bool = True,
        fps: float | None = None,
    ) -> None:
        """``fps``: the loop rate, checked against an existing file at ``open()`` (each episode's
        ``EpisodeMeta.rate_hz`` is checked at its start anyway)."""
        self.path = Path(path)
        self.env_name = env_name
        self.fps = float(fps) if fps else None
        self.image_compression = image_compression
        self.fsync = fsync
        self._file = LiveFile(
            self.path,
            env_name=env_name,
            fps=self.fps,
            provenance=self.provenance(),
            image_compression=image_compression,
            fsync=fsync,
        )
        self._demo: LiveDemo | None = None
        self._meta: EpisodeMeta | None = None
        self._prev_pos: np.ndarray | None = None  # float64, for the velocity of the next row
        self._prev_t = 0.0

    @property
    def existing_episodes(self) -> int:
        return self._file.existing_episodes

    @property
    def frames_written(self) -> int:
        return self._file.frames_written

    @property
    def chunks_copied(self) -> int:
        return self._file.chunks_copied

    # -- file -------------------------------------------------------------------------------------
    def open(self) -> None:
        self._file.open()

    def provenance(self) -> dict:
        """What ``/data.rollout_studio_provenance`` says about a recording this recorder starts."""
        record = default_provenance("teleop record", [])
        record.update({"recorded_by": RECORDED_BY, "joint_units": JOINT_UNITS})
        return record

    def close(self) -> None:
        if self._file.h5 is not None and self._demo is not None:
            self.end_episode(None, "recording closed")
        self._file.close()

    def flush(self) -> None:
        self._file.flush()

    def size_bytes(self) -> int:
        return self._file.size_bytes()

    # -- episodes ---------------------------------------------------------------------------------
    def begin_episode(self, meta: EpisodeMeta) -> str:
        self._file.check_rate(meta.rate_hz)
        self._demo = self._file.begin_demo(
            seed=meta.seed,
            task=meta.task,
            started_wall=meta.started_wall,
            joint_units=JOINT_UNITS,
            recorded_by=RECORDED_BY,
            cameras=meta.cameras,
            extras=_extras(meta.has_follower),
            extras_attrs={"lerobot_units": meta.lerobot_units},
            ee_source=EE_SOURCE,
        )
        self._meta = meta
        self._prev_pos = None
        self._prev_t = 0.0
        return self._demo.name

    def append(self, steps: list[Step]) -> None:
        demo, meta = self._demo, self._meta
        if demo is None or meta is None or not steps:
            return
        t = np.array([s.t for s in steps], dtype=np.float64)
        action = np.array([s.action_rad for s in steps], dtype=np.float32)
        pos = np.array([s.state_rad for s in steps], dtype=np.float32)
        # velocity: finite differences over the tick times, from the last row of the previous batch
        prev_pos = pos[0] if self._prev_pos is None else self._prev_pos
        prev_t = t[0] if self._prev_pos is None else self._prev_t
        all_pos = np.concatenate([prev_pos[None], pos]).astype(np.float64)
        dt = np.diff(np.concatenate([[prev_t], t]))
        vel = np.where(dt[:, None] > 0, np.diff(all_pos, axis=0) / np.where(dt > 0, dt, 1.0)[:, None], 0.0)
        extras = {
            "t": t,
            "leader_raw": np.array([s.leader_raw for s in steps], dtype=np.int16),
            "leader_ok": np.array([s.leader_ok for s in steps], dtype=bool),
            "action_lerobot": np.array([s.action_lerobot for s in steps], dtype=np.float32),
            "state_lerobot": np.array([s.state_lerobot for s in steps], dtype=np.float32),
        }
        if meta.has_follower:
            extras["follower_raw"] = np.array(
                [s.follower_raw if s.follower_raw is not None else np.zeros(6) for s in steps], dtype=np.int16
            )
        demo.append(
            actions=action,
            joint_pos=pos,
            joint_vel=vel.astype(np.float32),
            ee_frame_state=default_model().ee_frame_state(pos),
            extras=extras,
            frames={camera: [s.frames.get(camera) for s in steps] for camera in meta.cameras},
        )
        self._prev_pos = pos[-1].astype(np.float64)
        self._prev_t = float(t[-1])

    def end_episode(self, success: bool | None, reason: str = "") -> tuple[str, int]:
        demo = self._demo
        if demo is None:
            return "", 0
        self._demo = self._meta = None
        return demo.name, demo.end(success, reason)

    def drop_episode(self) -> None:
        demo = self._demo
        if demo is None:
            return
        self._demo = self._meta = None
        demo.drop()
