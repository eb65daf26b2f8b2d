"""Crash-safe streaming writer of LeIsaac HDF5 recordings (formats.md section 1).

Layout per demo: ``actions``, ``processed_actions`` (T, 6) radians; ``obs/{joint_pos, joint_vel,
joint_pos_rel, joint_vel_rel, joint_pos_target, actions, <camera>}``; ``obs/ee_frame_state`` (T, 7:
gripper frame xyz + quaternion wxyz in the base frame, forward kinematics of ``obs/joint_pos`` with the
SO-101 URDF, where LeIsaac reads its simulated frame sensor); ``states/articulation/robot/
{joint_position, joint_velocity, root_pose, root_velocity}`` (``states[t]`` = the arm after
``actions[t]``, i.e. the next observation); ``initial_state/...`` (leading dimension 1); and the
studio's ``extras/`` (tick times, raw ticks, LeRobot units, camera capture times and frame numbers).

Crash safety (measured, environment-notes.md): default file format (not ``libver="latest"``), groups
and datasets flushed right after creation, datasets appended with ``maxshape=(None, ...)``,
``num_samples`` updated and the file flushed (and fsynced, and its pages dropped from the page cache)
every 0.25 s by the writer. A demo being
recorded carries ``rs_status = "recording"``; at its end ``success``, ``num_samples`` and
``/data.total`` are written and the status becomes ``finished``. ``recover()`` closes or drops
demos a crash left in ``recording``.

Attributes are the format's own, as ``backend.formats.leisaac_hdf5``'s writer writes them and its
reader reads them: ``/data`` ``fps`` (the loop rate: one row per tick), ``env_args``, ``total`` and
``rollout_studio_provenance``; per demo ``task``, ``seed``, ``num_samples``, ``success``. The
``rs_*`` attributes are the recorder's own extras (status, start time, end reason). Recordings made
before carried the rate and task as ``rs_rate_hz`` / ``rs_task`` only: the reader accepts those too.

Images are chunked one frame per chunk (random access for the browser; LeIsaac's 100-frame image
chunks are 92 MB each). A 60 Hz loop sees each 30 fps camera frame twice: the repeat is stored by
copying the already-compressed chunk (``write_direct_chunk``), so lzf runs once per camera frame.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from backend.atomic import atomic_file, remove_stale_partials
from backend.errors import FormatError, StudioError
from backend.formats.leisaac_hdf5._common import DEFAULT_FPS, PROVENANCE_ATTR
from backend.formats.leisaac_hdf5.reader import LEGACY_RATE_ATTR
from backend.formats.leisaac_hdf5.writer import default_provenance
from backend.kinematics import default_model
from backend.teleop.steps import EpisodeMeta, Step

ROBOT = "states/articulation/robot"
INIT = "initial_state/articulation/robot"
ROOT_POSE = np.array([0, 0, 0, 1, 0, 0, 0], dtype=np.float32)  # xyz + quaternion wxyz
LOW_DIM_CHUNK = 100
STATUS_ATTR = "rs_status"
FPS_ATTR = "fps"  # /data: the rate, as the format's writer names it
TASK_ATTR = "task"  # demo: the task text, as the format's writer names it
JOINT_UNITS = "rad"


def _demo_number(name: str) -> int:
    try:
        return int(name.rsplit("_", 1)[1])
    except (IndexError, ValueError):
        return -1


class Hdf5Recorder:
    """Owned by one writer thread; not thread-safe by itself."""

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
        self._file: h5py.File | None = None
        self._demo: h5py.Group | None = None
        self._meta: EpisodeMeta | None = None
        self._n = 0  # rows written
        self._states_n = 0
        self._prev_action = np.zeros(6, dtype=np.float32)
        self._prev_pos: np.ndarray | None = None
        self._prev_t = 0.0
        self._last_unique: dict[str, tuple[int, int]] = {}  # camera -> (frame seq, row)
        self.frames_written = 0
        self.chunks_copied = 0
        self.existing_episodes = 0

    # -- file -------------------------------------------------------------------------------------
    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_partials(self.path.parent)
        exists = self.path.exists()
        if not exists:
            # a new file appears whole (its /data made in a staging sibling): a kill -9 between
            # HDF5's create and its first flush would leave a truncated file nothing can open
            with atomic_file(self.path) as tmp, h5py.File(tmp, "w") as staged:
                self._write_header(staged)
        try:
            # Small chunk cache: image chunks (~1 MB) go straight to the file, low-dim ones stay cached.
            self._file = h5py.File(self.path, "a", rdcc_nbytes=256 * 1024)
        except OSError as error:
            raise FormatError(f"cannot open the HDF5 for recording ({error})", self.path) from error
        f = self._file
        self.existing_episodes = len(f["data"]) if "data" in f else 0
        if "data" not in f:
            self._write_header(f)
            self._flush()
        elif exists and unfinished_demos(f):
            names = ", ".join(unfinished_demos(f))
            f.close()
            self._file = None
            raise StudioError(
                f"the recording has unfinished demos from a crash ({names})",
                self.path,
                "recover them first: Teleop pane > Recover, or `rollout-studio recover-recording`",
            )
        elif self.fps is not None:
            try:
                self._check_rate(self.fps)
            except StudioError:
                f.close()
                self._file = None
                raise

    def _write_header(self, f: h5py.File) -> None:
        data = f.create_group("data")
        data.attrs["total"] = 0
        data.attrs["env_args"] = json.dumps({"env_name": self.env_name, "type": 2})
        data.attrs[PROVENANCE_ATTR] = json.dumps(self.provenance())
        if self.fps is not None:
            data.attrs[FPS_ATTR] = self.fps

    def provenance(self) -> dict:
        """What ``/data.rollout_studio_provenance`` says about a recording this recorder starts."""
        record = default_provenance("teleop record", [])
        record.update({"recorded_by": "rollout-studio teleop", "joint_units": JOINT_UNITS})
        return record

    def _check_rate(self, rate: float) -> None:
        """Episodes of one file share one rate (the reader has one fps per file): set it on a file that
        has none yet, refuse a different one. Older recordings kept it per demo (``rs_rate_hz``);
        files from other tools have none and are read at the default rate."""
        data = self._file["data"]
        if FPS_ATTR in data.attrs:
            stored = float(data.attrs[FPS_ATTR])
        else:
            rates = {
                float(data[n].attrs[LEGACY_RATE_ATTR]) for n in data if LEGACY_RATE_ATTR in data[n].attrs
            }
            if len(rates) > 1:
                raise StudioError(
                    f"the recording mixes rates {sorted(rates)}: new episodes cannot be added",
                    self.path,
                    "record into a new file",
                )
            stored = rates.pop() if rates else (DEFAULT_FPS if len(data) else float(rate))
            if stored == float(rate):
                data.attrs[FPS_ATTR] = stored
        if stored != float(rate):
            raise StudioError(
                f"the recording is at {stored:g} fps, this session at {float(rate):g}",
                self.path,
                f"record at --rate {stored:g} or into a new file",
            )

    def close(self) -> None:
        if self._file is not None:
            if self._demo is not None:
                self.end_episode(None, "recording closed")
            self._flush()
            self._file.close()
            self._file = None

    def _flush(self) -> None:
        f = self._file
        if f is None:
            return
        f.flush()
        if self.fsync:
            try:
                fd = f.id.get_vfd_handle()
                os.fsync(fd)
                # Recorded pages are not read again while recording: dropping them keeps 70 MB/s of
                # images from filling the page cache, after which the kernel reclaims memory while
                # the control loop runs (stalls of 35-97 ms in minutes 3-5 of a 10-minute run).
                if hasattr(os, "posix_fadvise"):
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            except (OSError, ValueError, TypeError):
                pass

    def size_bytes(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0

    # -- episodes ---------------------------------------------------------------------------------
    def begin_episode(self, meta: EpisodeMeta) -> str:
        assert self._file is not None, "open() first"
        self._check_rate(meta.rate_hz)
        data = self._file["data"]
        index = len(data)
        while f"demo_{index}" in data:
            index += 1
        name = f"demo_{index}"
        demo = data.create_group(name)
        demo.attrs["num_samples"] = 0
        demo.attrs["seed"] = int(meta.seed)
        demo.attrs[STATUS_ATTR] = "recording"
        if meta.task:
            demo.attrs[TASK_ATTR] = meta.task
        demo.attrs["rs_started"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(meta.started_wall))
        demo.attrs["rs_started_unix"] = float(meta.started_wall)
        demo.attrs["rs_units"] = JOINT_UNITS
        demo.attrs["rs_writer"] = "rollout-studio teleop"

        def low(path: str, width: int, dtype: str = "float32") -> None:
            shape = (0,) if width == 0 else (0, width)
            maxshape = (None,) if width == 0 else (None, width)
            chunks = (LOW_DIM_CHUNK,) if width == 0 else (LOW_DIM_CHUNK, width)
            demo.create_dataset(path, shape=shape, maxshape=maxshape, chunks=chunks, dtype=dtype)

        for key in (
            "actions",
            "processed_actions",
            "obs/actions",
            "obs/joint_pos",
            "obs/joint_vel",
            "obs/joint_pos_rel",
            "obs/joint_vel_rel",
            "obs/joint_pos_target",
            f"{ROBOT}/joint_position",
            f"{ROBOT}/joint_velocity",
        ):
            low(key, 6)
        low("obs/ee_frame_state", 7)
        demo["obs/ee_frame_state"].attrs["rs_source"] = "forward kinematics of obs/joint_pos (SO-101 URDF)"
        low(f"{ROBOT}/root_pose", 7)
        low(f"{ROBOT}/root_velocity", 6)
        for camera, (height, width) in meta.cameras.items():
            demo.create_dataset(
                f"obs/{camera}",
                shape=(0, height, width, 3),
                maxshape=(None, height, width, 3),
                chunks=(1, height, width, 3),
                dtype="uint8",
                compression=self.image_compression,
            )
            low(f"extras/capture_time/{camera}", 0, "float64")
            low(f"extras/frame_seq/{camera}", 0, "int64")
        low("extras/t", 0, "float64")
        low("extras/leader_raw", 6, "int16")
        low("extras/leader_ok", 0, "bool")
        low("extras/action_lerobot", 6)
        low("extras/state_lerobot", 6)
        if meta.has_follower:
            low("extras/follower_raw", 6, "int16")
        demo["extras"].attrs["lerobot_units"] = meta.lerobot_units
        self._flush()  # a crash before the first append must still leave a readable file
        self._demo, self._meta = demo, meta
        self._n = self._states_n = 0
        self._prev_action = np.zeros(6, dtype=np.float32)
        self._prev_pos = None
        self._prev_t = 0.0
        self._last_unique = {}
        return name

    def append(self, steps: list[Step]) -> None:
        demo, meta = self._demo, self._meta
        if demo is None or meta is None or not steps:
            return
        k, n0 = len(steps), self._n
        n1 = n0 + k
        t = np.array([s.t for s in steps], dtype=np.float64)
        action = np.array([s.action_rad for s in steps], dtype=np.float32)
        pos = np.array([s.state_rad for s in steps], dtype=np.float32)
        prev_pos = pos[0] if self._prev_pos is None else self._prev_pos
        prev_t = t[0] if self._prev_pos is None else self._prev_t
        all_pos = np.concatenate([prev_pos[None], pos]).astype(np.float64)
        all_t = np.concatenate([[prev_t], t])
        dt = np.diff(all_t)
        vel = np.where(dt[:, None] > 0, np.diff(all_pos, axis=0) / np.where(dt > 0, dt, 1.0)[:, None], 0.0)
        vel = vel.astype(np.float32)
        prev_actions = np.concatenate([self._prev_action[None], action[:-1]])

        def put(path: str, values: np.ndarray, start: int = n0) -> None:
            dset = demo[path]
            end = start + len(values)
            if dset.shape[0] < end:
                dset.resize(end, axis=0)
            dset[start:end] = values

        put("actions", action)
        put("processed_actions", action)
        put("obs/actions", prev_actions)
        put("obs/joint_pos", pos)
        put("obs/joint_vel", vel)
        put("obs/joint_pos_rel", pos)
        put("obs/joint_vel_rel", vel)
        put("obs/joint_pos_target", action)
        put("obs/ee_frame_state", default_model().ee_frame_state(pos).astype(np.float32))
        put("extras/t", t)
        put("extras/leader_raw", np.array([s.leader_raw for s in steps], dtype=np.int16))
        put("extras/leader_ok", np.array([s.leader_ok for s in steps], dtype=bool))
        put("extras/action_lerobot", np.array([s.action_lerobot for s in steps], dtype=np.float32))
        put("extras/state_lerobot", np.array([s.state_lerobot for s in steps], dtype=np.float32))
        if meta.has_follower:
            put(
                "extras/follower_raw",
                np.array(
                    [s.follower_raw if s.follower_raw is not None else np.zeros(6) for s in steps],
                    dtype=np.int16,
                ),
            )
        # states[t] is the arm after actions[t]: the next observation (the last row comes at the end).
        if n0 == 0:
            init = demo.require_group(INIT)
            init.create_dataset("joint_position", data=pos[:1])
            init.create_dataset("joint_velocity", data=np.zeros((1, 6), dtype=np.float32))
            init.create_dataset("root_pose", data=ROOT_POSE[None])
            init.create_dataset("root_velocity", data=np.zeros((1, 6), dtype=np.float32))
            state_rows, state_vel = pos[1:], vel[1:]
        else:
            state_rows, state_vel = pos, vel
        self._put_states(state_rows, state_vel)
        for camera, (height, width) in meta.cameras.items():
            self._put_images(camera, height, width, steps, n0)
            put(
                f"extras/capture_time/{camera}",
                np.array(
                    [
                        s.frames[camera].capture_time if s.frames.get(camera) is not None else np.nan
                        for s in steps
                    ]
                ),
            )
            put(
                f"extras/frame_seq/{camera}",
                np.array(
                    [s.frames[camera].seq if s.frames.get(camera) is not None else -1 for s in steps],
                    dtype=np.int64,
                ),
            )
        self._n = n1
        self._prev_action = action[-1]
        self._prev_pos = pos[-1].astype(np.float64)
        self._prev_t = float(t[-1])
        demo.attrs["num_samples"] = self._states_n  # rows complete in every dataset

    def _put_states(self, rows: np.ndarray, vel: np.ndarray) -> None:
        if not len(rows):
            return
        demo = self._demo
        start, end = self._states_n, self._states_n + len(rows)
        for key, values in (
            ("joint_position", rows),
            ("joint_velocity", vel),
            ("root_pose", np.broadcast_to(ROOT_POSE, (len(rows), 7))),
            ("root_velocity", np.zeros((len(rows), 6), dtype=np.float32)),
        ):
            dset = demo[f"{ROBOT}/{key}"]
            dset.resize(end, axis=0)
            dset[start:end] = values
        self._states_n = end

    def _put_images(self, camera: str, height: int, width: int, steps: list[Step], n0: int) -> None:
        dset = self._demo[f"obs/{camera}"]
        dset.resize(n0 + len(steps), axis=0)
        for j, step in enumerate(steps):
            row = n0 + j
            frame = step.frames.get(camera)
            seq = frame.seq if frame is not None else -1
            last = self._last_unique.get(camera)
            if last is not None and last[0] == seq:
                mask, chunk = dset.id.read_direct_chunk((last[1], 0, 0, 0))
                dset.id.write_direct_chunk((row, 0, 0, 0), chunk, mask)
                self.chunks_copied += 1
                continue
            if frame is None:
                image = np.zeros((height, width, 3), dtype=np.uint8)
            else:
                image = frame.image
                if image.shape != (height, width, 3):
                    raise StudioError(
                        f"camera {camera} delivered {image.shape[1]}x{image.shape[0]}, expected {width}x{height}"
                    )
            dset[row] = image
            self.frames_written += 1
            self._last_unique[camera] = (seq, row)

    def flush(self) -> None:
        self._flush()

    def end_episode(self, success: bool | None, reason: str = "") -> tuple[str, int]:
        demo = self._demo
        if demo is None:
            return "", 0
        if self._prev_pos is not None:  # the last state: the arm as it was last seen
            self._put_states(self._prev_pos[None].astype(np.float32), np.zeros((1, 6), dtype=np.float32))
        n = self._n
        demo.attrs["num_samples"] = n
        if success is not None:
            demo.attrs["success"] = bool(success)
            data = self._file["data"]
            data.attrs["total"] = int(data.attrs.get("total", 0)) + n
        demo.attrs[STATUS_ATTR] = "finished" if success is not None else "interrupted"
        demo.attrs["rs_end_reason"] = reason
        name = demo.name.rsplit("/", 1)[-1]
        self._demo = self._meta = None
        self._flush()
        return name, n

    def drop_episode(self) -> None:
        demo = self._demo
        if demo is None:
            return
        name = demo.name
        self._demo = self._meta = None
        del self._file[name]
        self._flush()


# -- inspection and recovery ----------------------------------------------------------------------


def unfinished_demos(f: h5py.File) -> list[str]:
    data = f.get("data")
    if data is None:
        return []
    return sorted((n for n in data if data[n].attrs.get(STATUS_ATTR) == "recording"), key=_demo_number)


def _datasets(group: h5py.Group) -> list[h5py.Dataset]:
    out: list[h5py.Dataset] = []
    group.visititems(lambda _, obj: out.append(obj) if isinstance(obj, h5py.Dataset) else None)
    return out


@dataclass
class RecoveredDemo:
    name: str
    action: str  # "closed" | "dropped"
    length: int


def find_unfinished(path: str | Path) -> list[str]:
    """Names of demos left ``recording`` by a crash (empty if the file cannot be opened)."""
    try:
        with h5py.File(path, "r") as f:
            return unfinished_demos(f)
    except OSError:
        return []


def recover(path: str | Path, mode: str = "keep") -> list[RecoveredDemo]:
    """Close crashed demos as interrupted (no ``success``; not counted in ``total``, as LeIsaac
    leaves a Ctrl+C'd demo) with every dataset trimmed to the rows all of them have, or drop them."""
    if mode not in ("keep", "drop"):
        raise ValueError("mode is 'keep' or 'drop'")
    out = []
    for attempt in range(20):  # another reader may hold HDF5's file lock for a moment
        try:
            f = h5py.File(path, "a")
            break
        except OSError as error:
            locked = "lock" in str(error).lower()
            if locked and attempt < 19:
                time.sleep(0.1)
                continue
            hint = "close it in other programs first" if locked else "it may be damaged beyond recovery"
            raise FormatError(f"the HDF5 cannot be opened ({error})", path, hint) from error
    with f:
        for name in unfinished_demos(f):
            demo = f["data"][name]
            if mode == "drop":
                del f["data"][name]
                out.append(RecoveredDemo(name, "dropped", 0))
                continue
            per_step = [d for d in _datasets(demo) if "/initial_state/" not in d.name]
            length = min((d.shape[0] for d in per_step), default=0)
            for dset in per_step:
                if dset.shape[0] != length:
                    dset.resize(length, axis=0)
            demo.attrs["num_samples"] = length
            demo.attrs[STATUS_ATTR] = "interrupted"
            demo.attrs["rs_end_reason"] = "recovered after a crash"
            if "success" in demo.attrs:
                del demo.attrs["success"]
            out.append(RecoveredDemo(name, "closed", length))
        f.flush()
    return out


def check_readable(path: str | Path) -> dict:
    """Open the file and read every finished demo fully: what the crash benchmark counts."""
    report = {"readable": False, "demos": 0, "finished": 0, "unfinished": 0, "error": ""}
    try:
        with h5py.File(path, "r") as f:
            data = f["data"]
            report["total"] = int(data.attrs.get("total", 0))
            for name in data:
                demo = data[name]
                report["demos"] += 1
                status = demo.attrs.get(STATUS_ATTR)
                if status == "recording":
                    report["unfinished"] += 1
                    continue
                n = int(demo.attrs["num_samples"])
                for dset in _datasets(demo):
                    values = dset[()]
                    if "/initial_state/" not in dset.name and values.shape[0] != n:
                        raise FormatError(f"{dset.name}: {values.shape[0]} rows, num_samples {n}")
                report["finished"] += 1
            report["readable"] = True
    except Exception as error:  # noqa: BLE001 - anything here means "unreadable"
        report["error"] = f"{type(error).__name__}: {error}"
    return report
