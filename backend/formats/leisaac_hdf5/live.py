"""A LeIsaac HDF5 file recorded into in place, demo by demo, rows appended as they come.

The format side of the teleop recorder (``backend.teleop.hdf5_recorder`` streams steps into it):
this module alone knows the layout it writes (formats.md section 1). Per demo of one joint-space
arm: ``actions``, ``processed_actions`` (T, J); ``obs/{joint_pos, joint_vel, joint_pos_rel,
joint_vel_rel, joint_pos_target, actions, ee_frame_state, <camera>}``;
``states/articulation/robot/{joint_position, joint_velocity, root_pose, root_velocity}``
(``states[t]`` = the arm after ``actions[t]``, i.e. the next observation; the last row is written
when the demo ends); ``initial_state/...`` (leading dimension 1); and the studio's ``extras/``
(the caller's columns, plus each camera's capture times and frame numbers).

Crash safety (measured, environment-notes.md): default file format (not ``libver="latest"``), a
new file appears whole (its ``/data`` made in a staging sibling), groups and datasets flushed right
after creation, datasets appended with ``maxshape=(None, ...)``, ``num_samples`` kept at the rows
complete in every dataset, and ``flush()`` (which the recorder calls every 0.25 s) fsyncs and drops
the written pages from the page cache. A demo being recorded carries ``rs_status = "recording"``;
at its end ``success``, ``num_samples`` and ``/data.total`` are written and the status becomes
``finished`` (``interrupted`` without a verdict). ``backend.formats.leisaac_hdf5.recovery`` closes
or drops demos a crash left in ``recording``.

Attributes: ``/data`` ``fps``, ``env_args``, ``total``, ``rollout_studio_provenance``; per demo
``task``, ``seed``, ``num_samples``, ``success`` (as the format's writer writes them, the reader
reads them). The ``rs_*`` attributes are the recording's own (status, start time, units, end
reason).

Images are chunked one frame per chunk (random access for the browser; LeIsaac's 100-frame image
chunks are 92 MB each). A row whose camera frame is the one of an earlier row (same frame number:
a 60 Hz loop sees each 30 fps frame twice) is stored by copying that row's compressed chunk
(``write_direct_chunk``), so compression runs once per camera frame.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import h5py
import numpy as np

from backend.atomic import atomic_file, remove_stale_partials
from backend.errors import FormatError, StudioError
from backend.formats.leisaac_hdf5._common import (
    DEFAULT_FPS,
    FPS_ATTR,
    PROVENANCE_ATTR,
    TASK_ATTR,
    env_args_json,
    set_end_attrs,
)
from backend.formats.leisaac_hdf5.reader import LEGACY_RATE_ATTR

ROBOT = "states/articulation/robot"
INIT = "initial_state/articulation/robot"
ROOT_POSE = np.array([0, 0, 0, 1, 0, 0, 0], dtype=np.float32)  # xyz + quaternion wxyz
LOW_DIM_CHUNK = 100
STATUS_ATTR = "rs_status"
RECORDING, FINISHED, INTERRUPTED = "recording", "finished", "interrupted"
END_REASON_ATTR = "rs_end_reason"
JOINTS = 6
# the per-row joint datasets, created in this order
_JOINT_KEYS = (
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
)


class CameraFrame(Protocol):
    """What a row carries of one camera (``backend.teleop.cameras.Frame`` is one)."""

    image: np.ndarray  # (H, W, 3) uint8
    seq: int  # the camera's frame number: equal numbers are the same image
    capture_time: float


@dataclass(frozen=True)
class Column:
    """One of the caller's ``extras/`` columns: ``width`` values per row (0: one scalar)."""

    width: int
    dtype: str = "float32"


def unfinished_demos(f: h5py.File) -> list[str]:
    """Demos a crash left ``recording``, in demo order."""
    data = f.get("data")
    if data is None:
        return []
    return sorted((n for n in data if data[n].attrs.get(STATUS_ATTR) == RECORDING), key=_demo_number)


def _demo_number(name: str) -> int:
    try:
        return int(name.rsplit("_", 1)[1])
    except (IndexError, ValueError):
        return -1


class LiveFile:
    """One recording file, open for appending demos; owned by one thread (not thread-safe)."""

    def __init__(
        self,
        path: str | Path,
        *,
        env_name: str = "",
        fps: float | None = None,
        provenance: Mapping[str, Any] | None = None,
        image_compression: str | None = "lzf",
        fsync: bool = True,
    ) -> None:
        """``fps``: the loop rate, checked against an existing file at ``open()``; ``provenance``
        goes on a new file's ``/data``."""
        self.path = Path(path)
        self.env_name = env_name
        self.fps = float(fps) if fps else None
        self.provenance = dict(provenance or {})
        self.image_compression = image_compression
        self.fsync = fsync
        self.h5: h5py.File | None = None
        self.existing_episodes = 0
        self.frames_written = 0  # camera frames compressed
        self.chunks_copied = 0  # repeated camera frames stored by copying a chunk

    # -- file -------------------------------------------------------------------------------------
    def open(self) -> None:
        """Create the file (whole, or not at all) or open an existing one; refuse one with demos a
        crash left unfinished, or recorded at another rate than ``fps``."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_partials(self.path.parent)
        exists = self.path.exists()
        if not exists:
            # a kill -9 between HDF5's create and its first flush would leave a truncated file
            with atomic_file(self.path) as tmp, h5py.File(tmp, "w") as staged:
                self._write_header(staged)
        try:
            # Small chunk cache: image chunks (~1 MB) go straight to the file, low-dim ones stay cached.
            self.h5 = h5py.File(self.path, "a", rdcc_nbytes=256 * 1024)
        except OSError as error:
            raise FormatError(f"cannot open the HDF5 for recording ({error})", self.path) from error
        f = self.h5
        self.existing_episodes = len(f["data"]) if "data" in f else 0
        if "data" not in f:
            self._write_header(f)
            self.flush()
        elif exists and unfinished_demos(f):
            names = ", ".join(unfinished_demos(f))
            self._let_go()
            raise StudioError(
                f"the recording has unfinished demos from a crash ({names})",
                self.path,
                "recover them first: Teleop pane > Recover, or `rollout-studio recover-recording`",
            )
        elif self.fps is not None:
            try:
                self.check_rate(self.fps)
            except StudioError:
                self._let_go()
                raise

    def _let_go(self) -> None:
        if self.h5 is not None:
            self.h5.close()
            self.h5 = None

    def _write_header(self, f: h5py.File) -> None:
        data = f.create_group("data")
        data.attrs["total"] = 0
        data.attrs["env_args"] = env_args_json(self.env_name)
        data.attrs[PROVENANCE_ATTR] = json.dumps(self.provenance)
        if self.fps is not None:
            data.attrs[FPS_ATTR] = self.fps

    def check_rate(self, rate: float) -> None:
        """Demos of one file share one rate (the reader has one fps per file): set it on a file that
        has none yet, refuse a different one. Older recordings kept it per demo (``rs_rate_hz``);
        files from other tools have none and are read at the default rate."""
        data = self._data()
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

    def _data(self) -> h5py.Group:
        assert self.h5 is not None, "open() first"
        return self.h5["data"]

    def flush(self) -> None:
        """Everything written so far onto the disk (fsynced unless ``fsync`` is off)."""
        f = self.h5
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

    def close(self) -> None:
        """Flush and close (end a demo still open first: ``LiveDemo.end(None, ...)``)."""
        if self.h5 is not None:
            self.flush()
            self._let_go()

    def size_bytes(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0

    # -- demos ------------------------------------------------------------------------------------
    def begin_demo(
        self,
        *,
        seed: int,
        task: str = "",
        started_wall: float,
        joint_units: str,
        recorded_by: str,
        cameras: Mapping[str, tuple[int, int]] | None = None,
        extras: Mapping[str, Column] | None = None,
        extras_attrs: Mapping[str, Any] | None = None,
        ee_source: str = "",
    ) -> LiveDemo:
        """A new ``demo_N`` (N: the first free number from the count of demos), flushed before the
        first row. ``started_wall``: ``time.time()`` at its start; ``cameras``: name -> (height,
        width); ``extras``: the caller's ``extras/`` columns, ``extras_attrs`` on that group;
        ``ee_source``: how ``obs/ee_frame_state`` was made."""
        data = self._data()
        index = len(data)
        while f"demo_{index}" in data:
            index += 1
        demo = data.create_group(f"demo_{index}")
        demo.attrs["num_samples"] = 0
        demo.attrs["seed"] = int(seed)
        demo.attrs[STATUS_ATTR] = RECORDING
        if task:
            demo.attrs[TASK_ATTR] = task
        demo.attrs["rs_started"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started_wall))
        demo.attrs["rs_started_unix"] = float(started_wall)
        demo.attrs["rs_units"] = joint_units
        demo.attrs["rs_writer"] = recorded_by
        live = LiveDemo(self, demo, dict(cameras or {}), dict(extras or {}))
        if ee_source:
            demo["obs/ee_frame_state"].attrs["rs_source"] = ee_source
        for name, value in (extras_attrs or {}).items():
            demo.require_group("extras").attrs[name] = value
        self.flush()  # a crash before the first row must still leave a readable file
        return live


class LiveDemo:
    """One demo being recorded: ``append`` rows, then ``end`` or ``drop`` it."""

    def __init__(
        self,
        file: LiveFile,
        group: h5py.Group,
        cameras: dict[str, tuple[int, int]],
        extras: dict[str, Column],
    ) -> None:
        self.file = file
        self.group = group
        self.name = group.name.rsplit("/", 1)[-1]
        self.cameras = cameras
        self.extras = extras
        self.rows = 0  # rows appended
        self._states = 0  # rows of states/ (one behind: states[t] is the next observation)
        self._prev_action = np.zeros(JOINTS, dtype=np.float32)
        self._last_pos: np.ndarray | None = None
        self._last_unique: dict[str, tuple[int, int]] = {}  # camera -> (frame seq, row)
        for key in _JOINT_KEYS:
            self._low(key, JOINTS)
        self._low("obs/ee_frame_state", 7)
        self._low(f"{ROBOT}/root_pose", 7)
        self._low(f"{ROBOT}/root_velocity", 6)
        for camera, (height, width) in cameras.items():
            group.create_dataset(
                f"obs/{camera}",
                shape=(0, height, width, 3),
                maxshape=(None, height, width, 3),
                chunks=(1, height, width, 3),
                dtype="uint8",
                compression=file.image_compression,
            )
            self._low(f"extras/capture_time/{camera}", 0, "float64")
            self._low(f"extras/frame_seq/{camera}", 0, "int64")
        for name, column in extras.items():
            self._low(f"extras/{name}", column.width, column.dtype)

    def _low(self, path: str, width: int, dtype: str = "float32") -> None:
        shape = (0,) if width == 0 else (0, width)
        maxshape = (None,) if width == 0 else (None, width)
        chunks = (LOW_DIM_CHUNK,) if width == 0 else (LOW_DIM_CHUNK, width)
        self.group.create_dataset(path, shape=shape, maxshape=maxshape, chunks=chunks, dtype=dtype)

    def _put(self, path: str, values: np.ndarray, start: int) -> None:
        dset = self.group[path]
        end = start + len(values)
        if dset.shape[0] < end:
            dset.resize(end, axis=0)
        dset[start:end] = values

    def append(
        self,
        *,
        actions: np.ndarray,
        joint_pos: np.ndarray,
        joint_vel: np.ndarray,
        ee_frame_state: np.ndarray,
        extras: Mapping[str, np.ndarray],
        frames: Mapping[str, Sequence[CameraFrame | None]] | None = None,
    ) -> None:
        """K rows: ``actions``, ``joint_pos``, ``joint_vel`` (K, J) radians, ``ee_frame_state`` (K, 7),
        ``extras`` one (K, ...) array per declared column, ``frames`` K frames (or None: a black
        image) per camera. ``obs/actions`` is the previous row's action (zeros before the first)."""
        k, n0 = len(actions), self.rows
        if not k:
            return
        action = np.asarray(actions, dtype=np.float32)
        pos = np.asarray(joint_pos, dtype=np.float32)
        vel = np.asarray(joint_vel, dtype=np.float32)
        prev_actions = np.concatenate([self._prev_action[None], action[:-1]])
        for key, values in (
            ("actions", action),
            ("processed_actions", action),
            ("obs/actions", prev_actions),
            ("obs/joint_pos", pos),
            ("obs/joint_vel", vel),
            ("obs/joint_pos_rel", pos),
            ("obs/joint_vel_rel", vel),
            ("obs/joint_pos_target", action),
            ("obs/ee_frame_state", np.asarray(ee_frame_state, dtype=np.float32)),
        ):
            self._put(key, values, n0)
        for name, column in self.extras.items():
            self._put(f"extras/{name}", np.asarray(extras[name], dtype=column.dtype), n0)
        # states[t] is the arm after actions[t]: the next observation (the last row comes at the end)
        if n0 == 0:
            init = self.group.require_group(INIT)
            init.create_dataset("joint_position", data=pos[:1])
            init.create_dataset("joint_velocity", data=np.zeros((1, JOINTS), dtype=np.float32))
            init.create_dataset("root_pose", data=ROOT_POSE[None])
            init.create_dataset("root_velocity", data=np.zeros((1, 6), dtype=np.float32))
            self._put_states(pos[1:], vel[1:])
        else:
            self._put_states(pos, vel)
        for camera, (height, width) in self.cameras.items():
            rows = list((frames or {}).get(camera) or [None] * k)
            self._put_images(camera, height, width, rows, n0)
            self._put(
                f"extras/capture_time/{camera}",
                np.array([f.capture_time if f is not None else np.nan for f in rows]),
                n0,
            )
            self._put(
                f"extras/frame_seq/{camera}",
                np.array([f.seq if f is not None else -1 for f in rows], dtype=np.int64),
                n0,
            )
        self.rows = n0 + k
        self._prev_action = action[-1]
        self._last_pos = pos[-1]
        self.group.attrs["num_samples"] = self._states  # rows complete in every dataset

    def _put_states(self, rows: np.ndarray, vel: np.ndarray) -> None:
        if not len(rows):
            return
        start, end = self._states, self._states + len(rows)
        for key, values in (
            ("joint_position", rows),
            ("joint_velocity", vel),
            ("root_pose", np.broadcast_to(ROOT_POSE, (len(rows), 7))),
            ("root_velocity", np.zeros((len(rows), 6), dtype=np.float32)),
        ):
            dset = self.group[f"{ROBOT}/{key}"]
            dset.resize(end, axis=0)
            dset[start:end] = values
        self._states = end

    def _put_images(
        self, camera: str, height: int, width: int, frames: list[CameraFrame | None], n0: int
    ) -> None:
        dset = self.group[f"obs/{camera}"]
        dset.resize(n0 + len(frames), axis=0)
        for j, frame in enumerate(frames):
            row = n0 + j
            seq = frame.seq if frame is not None else -1
            last = self._last_unique.get(camera)
            if last is not None and last[0] == seq:
                mask, chunk = dset.id.read_direct_chunk((last[1], 0, 0, 0))
                dset.id.write_direct_chunk((row, 0, 0, 0), chunk, mask)
                self.file.chunks_copied += 1
                continue
            if frame is None:
                image = np.zeros((height, width, 3), dtype=np.uint8)
            else:
                image = frame.image
                if image.shape != (height, width, 3):
                    got = f"{image.shape[1]}x{image.shape[0]}"
                    raise StudioError(f"camera {camera} delivered {got}, expected {width}x{height}")
            dset[row] = image
            self.file.frames_written += 1
            self._last_unique[camera] = (seq, row)

    def end(self, success: bool | None, reason: str = "") -> int:
        """Close the demo: the last state row (the arm as last seen), ``num_samples``, ``success``
        and ``/data.total`` when the verdict is known (``finished``), else ``interrupted``.
        Returns the number of rows."""
        if self._last_pos is not None:
            self._put_states(self._last_pos[None], np.zeros((1, JOINTS), dtype=np.float32))
        n = self.rows
        set_end_attrs(self.group, n, None, success)
        if success is not None:
            data = self.file._data()
            data.attrs["total"] = int(data.attrs.get("total", 0)) + n
        self.group.attrs[STATUS_ATTR] = FINISHED if success is not None else INTERRUPTED
        self.group.attrs[END_REASON_ATTR] = reason
        self.file.flush()
        return n

    def drop(self) -> None:
        """Remove the demo from the file."""
        del self.file._data()[self.name]
        self.file.flush()
