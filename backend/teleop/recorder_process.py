"""The recorder in its own process: the control loop's process keeps the GIL to itself.

h5py and PyAV release the GIL while they compress and encode, but the Python around them still
holds it; on a loaded machine a recorder thread that holds the GIL and is then preempted makes the
control loop wait for it (priority inversion: tens of milliseconds measured on 2 busy cores).
A separate process removes that coupling. Same interface as ``RecorderThread``.

Transport, no pickling of data: each ``Step`` is packed into a fixed numpy record and sent with
``send_bytes``; camera frames go through a shared-memory ring per camera (``RING_SLOTS`` frames;
``SharedBuffer``: anonymous memory that even a ``kill -9`` of either process cannot leak, handed to
the child in its ``Process`` arguments).
The loop copies a frame into the ring only when it is new (a 60 Hz loop sees each 30 fps frame
twice), and only into a slot the recorder has finished with; if it is that far behind, the
step reuses the previous frame and the frame is counted in ``frames_dropped_backlog``.
Commands and events are JSON. If the recording process dies, the recorder closes the running
HDF5 demo as interrupted (every step it received is kept) and exits.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing as mp  # noqa: F401 - imported first: its exit hooks keep their order
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from backend import children
from backend.shared_buffer import SharedBuffer, SharedBufferHandle
from backend.teleop.cameras import Frame
from backend.teleop.steps import EpisodeMeta, EpisodeResult, Step

RING_SLOTS = 48  # per camera: 1.6 s of 30 fps frames
BATCH_S = 0.1  # rows are appended this often
FLUSH_S = 0.25  # and the file flushed (and fsynced) this often: what a power cut can lose, plus lag
# shared counters: [steps consumed, bytes written, disk bytes/s * 1000, then per camera: slots released]
_COUNTERS = 3


@dataclass
class RecorderSpec:
    """What the recorder process builds: ``kind`` "hdf5" or "lerobot" and its arguments."""

    kind: str
    path: str
    cameras: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (height, width)
    options: dict[str, Any] = field(default_factory=dict)

    def build(self) -> Any:
        if self.kind == "hdf5":
            from backend.teleop.hdf5_recorder import Hdf5Recorder

            return Hdf5Recorder(self.path, **self.options)
        from backend.teleop.lerobot_recorder import LeRobotRecorder

        return LeRobotRecorder(self.path, cameras=self.cameras, **self.options)


def _step_dtype(cameras: list[str]) -> np.dtype:
    fields = [
        ("t", "f8"),
        ("action_rad", "f8", 6),
        ("state_rad", "f8", 6),
        ("action_lerobot", "f8", 6),
        ("state_lerobot", "f8", 6),
        ("leader_raw", "i8", 6),
        ("follower_raw", "i8", 6),
        ("has_follower", "?"),
        ("leader_ok", "?"),
    ]
    for name in cameras:
        fields += [
            (f"{name}.slot", "i8"),
            (f"{name}.seq", "i8"),
            (f"{name}.time", "f8"),
            (f"{name}.index", "i8"),
        ]
    return np.dtype(fields)


class _Ring:
    """``slots`` frames of one camera; a new one, or the child's view of ``handle``'s."""

    def __init__(self, shape: tuple[int, int], slots: int, handle: SharedBufferHandle | None = None) -> None:
        h, w = shape
        if handle is None:
            self.shm = SharedBuffer(slots * h * w * 3, "ring")
        else:
            self.shm = SharedBuffer.attach(handle)
        self.frames = np.ndarray((slots, h, w, 3), dtype=np.uint8, buffer=self.shm.buf)
        self.slots = slots

    def close(self) -> None:
        self.frames = None
        self.shm.close()


class RecorderProcess:
    """``RecorderThread``'s interface; the recorder lives in a child process."""

    def __init__(
        self,
        spec: RecorderSpec,
        on_result: Callable[[EpisodeResult], None] | None = None,
        slots: int = RING_SLOTS,
    ) -> None:
        self.spec = spec
        self.on_result = on_result
        self.names = list(spec.cameras)
        self.dtype = _step_dtype(self.names)
        self.slots = slots
        self.rings = {n: _Ring(spec.cameras[n], slots) for n in self.names}
        self.counters_shm = SharedBuffer(8 * (_COUNTERS + len(self.names)), "counters")
        self.counters = np.ndarray(
            (_COUNTERS + len(self.names),), dtype=np.int64, buffer=self.counters_shm.buf
        )
        self.counters[:] = 0
        self._written = dict.fromkeys(self.names, 0)  # frames put in each ring
        self._last_seq = dict.fromkeys(self.names, -1)
        self._last_slot = dict.fromkeys(self.names, -1)
        self.frames_dropped_backlog = 0
        self._sent_steps = 0
        self.error = ""
        self._start_error: dict[str, Any] = {}  # a StudioError of the child's open(), in its parts
        self.results: list[EpisodeResult] = []
        self.existing_episodes = 0
        self._final_bytes = 0
        self._rates: deque[tuple[float, int]] = deque(maxlen=20)
        self._proc: Any = None
        self._conn: Any = None
        self._events: Any = None
        self._reader: threading.Thread | None = None
        self._ready = threading.Event()
        self.recorder = _PathOnly(spec.path)

    # -- life cycle -------------------------------------------------------------------------------
    @property
    def output_path(self) -> str:
        """The file or folder the episodes go into."""
        return str(self.recorder.path)

    def start(self, timeout: float = 30.0) -> RecorderProcess:
        ctx = children.process_context()  # spawn; a bundle re-enters itself (backend/children.py)
        parent_cmd, child_cmd = ctx.Pipe(duplex=False)
        child_evt, parent_evt = ctx.Pipe(duplex=False)
        self._conn, self._events = child_cmd, child_evt
        config = json.dumps(
            {
                "spec": asdict(self.spec),
                "slots": self.slots,
            }
        )
        rings = {n: r.shm.handle for n, r in self.rings.items()}
        self._proc = ctx.Process(
            target=_child_main,
            args=(parent_cmd, parent_evt, config, rings, self.counters_shm.handle),
            daemon=False,
            name="recorder",
        )
        try:
            self._proc.start()
        except BaseException:
            self._proc = None
            self._release_shared()
            raise
        parent_cmd.close()
        parent_evt.close()
        self._reader = threading.Thread(target=self._read_events, name="recorder-events", daemon=True)
        self._reader.start()
        if not self._ready.wait(timeout):
            self.error = self.error or "the recorder process did not start"
        self._unlink_shared()  # the child has attached (or is gone): names, where any, can go
        if self.error:
            from backend.errors import StudioError

            self.stop()
            parts = self._start_error
            if parts.get("problem"):  # the child's own error, with its file and hint (not named twice)
                raise StudioError(parts["problem"], parts.get("path"), parts.get("hint"))
            raise StudioError(self.error, self.spec.path)
        return self

    def stop(self, timeout: float = 60.0) -> None:
        if self._proc is None:
            return
        with contextlib.suppress(OSError, ValueError):
            self._conn.send_bytes(b'{"cmd": "close"}')
        self._proc.join(timeout)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(5)
        self._proc = None
        if self._reader is not None:
            self._reader.join(2.0)
        with contextlib.suppress(OSError):
            self._conn.close()
        self._release_shared()

    def _unlink_shared(self) -> None:
        """Where shared memory is named (no memfd: macOS), remove the names once the child attached."""
        for ring in self.rings.values():
            ring.shm.unlink()
        self.counters_shm.unlink()

    def _release_shared(self) -> None:
        for ring in self.rings.values():
            ring.close()
        if self.counters is not None:
            self._final_bytes = int(self.counters[1])
        self.counters = None
        self.counters_shm.close()

    # -- called by the loop -----------------------------------------------------------------------
    def _send(self, payload: dict) -> None:
        try:
            self._conn.send_bytes(json.dumps(payload).encode())
        except (OSError, ValueError) as error:
            self.error = self.error or f"recorder process gone ({error})"

    def begin(self, meta: EpisodeMeta) -> None:
        self._send({"cmd": "begin", "meta": asdict(meta)})

    def end(self, success: bool | None, reason: str = "", requested: float | None = None) -> None:
        self._send(
            {
                "cmd": "end",
                "success": success,
                "reason": reason,
                "requested": requested or time.perf_counter(),
            }
        )

    def drop(self, requested: float | None = None) -> None:
        self._send({"cmd": "drop", "requested": requested or time.perf_counter()})

    def step(self, step: Step) -> None:
        record = np.zeros((), dtype=self.dtype)
        record["t"] = step.t
        record["action_rad"] = step.action_rad
        record["state_rad"] = step.state_rad
        record["action_lerobot"] = step.action_lerobot
        record["state_lerobot"] = step.state_lerobot
        record["leader_raw"] = step.leader_raw
        if step.follower_raw is not None:
            record["follower_raw"] = step.follower_raw
            record["has_follower"] = True
        record["leader_ok"] = step.leader_ok
        for k, name in enumerate(self.names):
            frame = step.frames.get(name)
            slot = self._last_slot[name]
            if frame is not None and frame.seq != self._last_seq[name]:
                released = int(self.counters[_COUNTERS + k])
                ring = self.rings[name]
                if self._written[name] - released < ring.slots and frame.image.shape == ring.frames.shape[1:]:
                    slot = self._written[name] % ring.slots
                    np.copyto(ring.frames[slot], frame.image)
                    self._written[name] += 1
                    self._last_seq[name] = frame.seq
                    self._last_slot[name] = slot
                else:
                    self.frames_dropped_backlog += 1
                    frame = None  # the recorder repeats the previous frame
            if self._last_slot[name] < 0:
                record[f"{name}.slot"] = -1
            else:
                record[f"{name}.slot"] = slot
                record[f"{name}.seq"] = self._last_seq[name]
                record[f"{name}.time"] = frame.capture_time if frame is not None else np.nan
                record[f"{name}.index"] = frame.source_index if frame is not None else -1
        try:
            self._conn.send_bytes(record.tobytes())
            self._sent_steps += 1
        except (OSError, ValueError) as error:
            self.error = self.error or f"recorder process gone ({error})"

    @property
    def bytes_written(self) -> int:
        return int(self.counters[1]) if self.counters is not None else self._final_bytes

    @property
    def lag_steps(self) -> int:
        if self.counters is None:
            return 0
        return max(0, self._sent_steps - int(self.counters[0]))

    def disk_rate(self) -> float:
        return float(self.counters[2]) / 1000.0 if self.counters is not None else 0.0

    # -- events from the child ----------------------------------------------------------------------
    def _read_events(self) -> None:
        while True:
            try:
                data = self._events.recv_bytes()
            except (EOFError, OSError):
                if self._proc is not None and not self._ready.is_set():
                    self.error = self.error or "the recorder process exited"
                self._ready.set()
                return
            event = json.loads(data)
            kind = event.get("event")
            if kind == "ready":
                self.existing_episodes = int(event.get("existing", 0))
                self._ready.set()
            elif kind == "error":
                self.error = event["message"]
                if not self._ready.is_set():
                    self._start_error = {k: event.get(k) for k in ("problem", "path", "hint")}
                self._ready.set()
            elif kind == "result":
                result = EpisodeResult(**event["result"])
                self.results.append(result)
                if self.on_result is not None:
                    self.on_result(result)


class _PathOnly:
    """The inner recorder of the parent side: only its output path (``output_path``)."""

    def __init__(self, path: str) -> None:
        self.path = path


# -- the child process ------------------------------------------------------------------------------
RECORDER_NICE = 5  # yields to the GUI and the kernel's serial/USB workers when the cores are contended


def _normal_priority() -> None:
    """Normal scheduling, a little nicer than the rest, for this process's threads and those to come.

    A spawned child inherits its parent thread's policy: started from a real-time thread (as
    `rollout-studio record` and the benchmark do), a recorder compressing 70 MB/s in SCHED_FIFO kept
    normal threads off both cores for tens of milliseconds, among them the kernel workers that deliver
    serial (pty/USB) bytes, and any GIL holder of the recording process at the same priority (late
    loop ticks, 13-20 ms leader reads measured). Not lower than that: a starved recorder loses more of the
    running episode on a power cut (its ring holds 1.6 s of frames)."""
    try:  # every thread: some (numpy's BLAS pool) start while the spawn bootstrap imports
        threads = [int(name) for name in os.listdir("/proc/self/task")]
    except OSError:
        threads = [0]
    for tid in threads:
        with contextlib.suppress(OSError, AttributeError):
            os.sched_setscheduler(tid, os.SCHED_OTHER, os.sched_param(0))
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, tid, max(RECORDER_NICE, os.getpriority(os.PRIO_PROCESS, tid)))


def _child_main(
    conn: Any,
    events: Any,
    config_text: str,
    ring_handles: dict[str, SharedBufferHandle],
    counters_handle: SharedBufferHandle,
) -> None:
    _normal_priority()
    config = json.loads(config_text)
    spec_data = config["spec"]
    spec = RecorderSpec(
        spec_data["kind"],
        spec_data["path"],
        {k: tuple(v) for k, v in spec_data["cameras"].items()},
        spec_data["options"],
    )
    names = list(spec.cameras)
    dtype = _step_dtype(names)
    rings = {n: _Ring(spec.cameras[n], config["slots"], ring_handles[n]) for n in names}
    counters_shm = SharedBuffer.attach(counters_handle)
    counters = np.ndarray((_COUNTERS + len(names),), dtype=np.int64, buffer=counters_shm.buf)

    def emit(payload: dict) -> None:
        with contextlib.suppress(OSError, ValueError):
            events.send_bytes(json.dumps(payload).encode())

    try:
        recorder = spec.build()
        recorder.open()
    except Exception as error:  # noqa: BLE001 - reported to the recording process
        emit(
            {
                "event": "error",
                "message": str(getattr(error, "message", error)),
                "problem": getattr(error, "problem", None),
                "path": getattr(error, "path", None),
                "hint": getattr(error, "hint", None),
            }
        )
        return
    emit({"event": "ready", "existing": int(getattr(recorder, "existing_episodes", 0))})
    state = {"recording": False, "index": -1, "rates": deque(maxlen=20)}
    batch: list[Step] = []
    last_write = last_flush = time.perf_counter()

    def write_batch() -> None:
        if not batch:
            return
        if state["recording"]:
            recorder.append(list(batch))
        counters[0] += len(batch)
        batch.clear()

    def flush(now: float) -> None:
        recorder.flush()
        size = recorder.size_bytes()
        counters[1] = size
        state["rates"].append((now, size))
        rates = state["rates"]
        if len(rates) >= 2 and rates[-1][0] > rates[0][0]:
            counters[2] = int((rates[-1][1] - rates[0][1]) / (rates[-1][0] - rates[0][0]) * 1000)

    slot_count = dict.fromkeys(names, 0)  # frames taken out of each ring so far
    last_slot = dict.fromkeys(names, -1)
    kind = ""
    while True:
        kind = ""
        try:
            ready = conn.poll(BATCH_S)
            data = conn.recv_bytes() if ready else None
        except (EOFError, OSError):
            data = b'{"cmd": "parent-gone"}'
        now = time.perf_counter()
        try:
            if data is not None and len(data) == dtype.itemsize and not data.startswith(b"{"):
                record = np.frombuffer(data, dtype=dtype)[0]
                frames: dict[str, Frame | None] = {}
                for name in names:
                    slot = int(record[f"{name}.slot"])
                    if slot < 0:
                        frames[name] = None
                        continue
                    if slot != last_slot[name]:
                        slot_count[name] += 1
                        last_slot[name] = slot
                    # copy out of the ring at once: the slot can be reused from now on
                    image = np.array(rings[name].frames[slot], copy=True)
                    counters[_COUNTERS + names.index(name)] = slot_count[name]
                    frames[name] = Frame(
                        image,
                        int(record[f"{name}.seq"]),
                        float(record[f"{name}.time"]),
                        int(record[f"{name}.index"]),
                    )
                step = Step(
                    t=float(record["t"]),
                    action_rad=record["action_rad"].copy(),
                    state_rad=record["state_rad"].copy(),
                    action_lerobot=record["action_lerobot"].copy(),
                    state_lerobot=record["state_lerobot"].copy(),
                    leader_raw=record["leader_raw"].copy(),
                    follower_raw=record["follower_raw"].copy() if record["has_follower"] else None,
                    leader_ok=bool(record["leader_ok"]),
                    frames=frames,
                )
                batch.append(step)
                if now - last_write < BATCH_S:
                    continue
            if batch:
                write_batch()
                last_write = now
            if state["recording"] and now - last_flush >= FLUSH_S:
                flush(now)
                last_flush = now
            if data is None or not data.startswith(b"{"):
                continue
            cmd = json.loads(data)
            kind = cmd["cmd"]
            if kind == "begin":
                meta = EpisodeMeta(
                    **{**cmd["meta"], "cameras": {k: tuple(v) for k, v in cmd["meta"]["cameras"].items()}}
                )
                recorder.begin_episode(meta)
                state["recording"], state["index"] = True, meta.index
                flush(time.perf_counter())
                last_flush = time.perf_counter()
            elif kind in ("end", "drop"):
                if state["recording"]:
                    if kind == "end":
                        name, length = recorder.end_episode(cmd["success"], cmd["reason"])
                        success, reason = cmd["success"], cmd["reason"]
                    else:
                        recorder.drop_episode()
                        name, length, success, reason = "", 0, None, "dropped"
                    state["recording"] = False
                    flush(time.perf_counter())
                    # time.perf_counter is system-wide (CLOCK_MONOTONIC): comparable across processes
                    result = EpisodeResult(
                        state["index"],
                        name,
                        length,
                        success,
                        reason,
                        time.perf_counter() - cmd["requested"],
                        str(spec.path),
                    )
                    emit({"event": "result", "result": asdict(result)})
            elif kind in ("close", "parent-gone"):
                if state["recording"]:
                    recorder.end_episode(
                        None, "recording process ended" if kind == "parent-gone" else "recording closed"
                    )
                recorder.close()
                counters[1] = recorder.size_bytes()
                break
        except Exception as error:  # noqa: BLE001 - reported; recording stops, the file stays readable
            emit({"event": "error", "message": f"{type(error).__name__}: {error}"})
            state["recording"] = False
            batch.clear()
            if kind in ("close", "parent-gone"):
                with contextlib.suppress(Exception):
                    recorder.close()
                break
    for ring in rings.values():
        ring.close()
    counters = None
    counters_shm.close()
