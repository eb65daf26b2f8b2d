"""The recording session in its own process, for the GUI: a busy GUI thread cannot delay the loop.

In the GUI process the control loop shares the GIL with Qt painting, plots and everything else the
window does; a long paint holds the GIL and the loop's tick waits for it (p99 jitter of 50-70 ms
measured). ``SessionProcess`` runs ``build_session()`` and the ``TeleopSession`` in a child process
and offers the interface the Teleop pane uses (``start``/``stop``, ``begin_episode``,
``end_episode``, ``rerecord``, ``set_task``, ``state``, ``snapshot()``, ``history()``,
``results()``, ``cameras``, ``follower``, ``recorder.output_path``).

Transport (no pickling; the writer process's patterns):
- commands: JSON over a ``multiprocessing`` Pipe, GUI -> child; events (ready, error, episode
  results): JSON over a second Pipe, read by a thread of the proxy.
- state: one shared-memory block that the child's main thread rewrites ~30 times a second under a
  ``SharedLock`` (a record lock the kernel drops with its process; no named semaphore to leak): the
  snapshot's scalars as JSON plus the plot history arrays. The GUI's
  ~30 Hz timer copies it out (``poll()``), so nothing queues up however busy the GUI is.
- camera previews: one shared-memory block per camera holding its latest frame, downscaled to fit
  ``PREVIEW_MAX`` (width, height), with its sequence number.
- the shared memory is ``SharedBuffer``s (anonymous memory that a ``kill -9`` of either process
  cannot leak), handed to the child in its ``Process`` arguments; the JSON config holds settings.

The loop thread never touches any of this: the child's main thread reads ``session.snapshot()`` and
``session.history()`` as the GUI did. If the GUI dies, the command pipe reaches EOF and the child
stops the session (a running episode is closed as interrupted, the output is closed) and exits; if
the child dies, the writer process closes the running episode on its own.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import multiprocessing as mp  # noqa: F401 - imported first: its exit hooks keep their order
import os
import threading
import time
import traceback
import weakref
from dataclasses import asdict, fields
from typing import Any

import numpy as np

from backend import children
from backend.errors import StudioError
from backend.shared_buffer import SharedBuffer, SharedBufferHandle, SharedLock
from backend.teleop.cameras import CameraStats, Frame
from backend.teleop.steps import EpisodeResult

PUBLISH_HZ = 30.0
PREVIEW_MAX = (640, 480)  # camera previews are downscaled to fit (width, height)
JSON_MAX = 256 * 1024
_HEADER = 16  # int64 version, int64 json length
_HISTORY_KEYS = ("t", "leader", "follower", "leader_rad", "follower_rad")
_live: weakref.WeakSet = weakref.WeakSet()


def _stop_all_at_exit() -> None:  # registered after multiprocessing's own exit hook: runs before it
    for proxy in list(_live):
        with contextlib.suppress(Exception):
            proxy.stop(timeout=20.0)


atexit.register(_stop_all_at_exit)


def preview_size(width: int, height: int, limit: tuple[int, int] = PREVIEW_MAX) -> tuple[int, int]:
    """(width, height) of a frame scaled down to fit ``limit`` (never up), even numbers."""
    scale = min(1.0, limit[0] / max(1, width), limit[1] / max(1, height))
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


def _downscale(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    h, w = image.shape[:2]
    if (w, h) == size:
        return image
    try:
        import cv2

        return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    except ImportError:  # pragma: no cover - opencv is a dependency
        ys = np.linspace(0, h - 1, size[1]).astype(int)
        xs = np.linspace(0, w - 1, size[0]).astype(int)
        return image[ys][:, xs]


class _StateBlock:
    """The shared snapshot: header, JSON, then the history arrays (float64). A new one, or the
    child's view of ``handle``'s."""

    def __init__(self, history_len: int, handle: SharedBufferHandle | None = None) -> None:
        self.n = history_len
        sizes = {"t": history_len, **{k: history_len * 6 for k in _HISTORY_KEYS[1:]}}
        size = _HEADER + JSON_MAX + 8 * sum(sizes.values())
        self.shm = SharedBuffer(size, "state") if handle is None else SharedBuffer.attach(handle)
        buf = self.shm.buf
        self.header = np.ndarray((2,), np.int64, buf, 0)
        self.text = np.ndarray((JSON_MAX,), np.uint8, buf, _HEADER)
        offset = _HEADER + JSON_MAX
        self.arrays: dict[str, np.ndarray] = {}
        for key in _HISTORY_KEYS:
            shape = (history_len,) if key == "t" else (history_len, 6)
            self.arrays[key] = np.ndarray(shape, np.float64, buf, offset)
            offset += 8 * sizes[key]
        if handle is None:
            self.header[:] = 0

    def write(self, payload: bytes, history: dict[str, np.ndarray]) -> None:
        n = min(len(payload), JSON_MAX)
        self.text[:n] = np.frombuffer(payload[:n], np.uint8)
        for key, target in self.arrays.items():
            source = history.get(key)
            if source is not None and source.shape == target.shape:
                target[...] = source
            else:
                target.fill(np.nan)
        self.header[1] = n
        self.header[0] += 1

    def read(self) -> tuple[int, bytes, dict[str, np.ndarray]]:
        version, n = int(self.header[0]), int(self.header[1])
        return version, self.text[:n].tobytes(), {k: v.copy() for k, v in self.arrays.items()}

    def close(self) -> None:
        self.header = self.text = None
        self.arrays = {}
        self.shm.close()


class _Preview:
    """One camera's latest (downscaled) frame: int64 [seq, capture_time_us, height, width], pixels."""

    def __init__(
        self, handle: SharedBufferHandle | None = None, limit: tuple[int, int] = PREVIEW_MAX
    ) -> None:
        w, h = limit
        size = 32 + w * h * 3
        self.shm = SharedBuffer(size, "preview") if handle is None else SharedBuffer.attach(handle)
        self.header = np.ndarray((4,), np.int64, self.shm.buf, 0)
        self.pixels = np.ndarray((w * h * 3,), np.uint8, self.shm.buf, 32)
        if handle is None:
            self.header[:] = [-1, 0, 0, 0]

    def write(self, frame: Frame, limit: tuple[int, int]) -> None:
        h, w = frame.image.shape[:2]
        size = preview_size(w, h, limit)
        image = _downscale(frame.image, size)
        n = image.size
        self.pixels[:n] = image.reshape(-1)
        self.header[1:] = [int(frame.capture_time * 1e6), size[1], size[0]]
        self.header[0] = frame.seq

    def read(self, last_seq: int) -> Frame | None:
        seq = int(self.header[0])
        if seq < 0:
            return None
        t, h, w = (int(x) for x in self.header[1:])
        if seq == last_seq:
            return None
        image = self.pixels[: h * w * 3].reshape(h, w, 3).copy()
        return Frame(image, seq, t / 1e6, -1)

    def close(self) -> None:
        self.header = self.pixels = None
        self.shm.close()


def timing_summary(periods: list[float] | np.ndarray, rate_hz: float, overruns: int = 0) -> dict[str, Any]:
    """Loop periods (s) -> count, p50/p99/p99.9/max period and p50/p99 jitter (|period - 1/rate|), ms."""
    values = np.asarray(periods, dtype=np.float64)
    if values.size == 0:
        return {"ticks": 0}
    ms = values * 1000.0
    jitter = np.abs(values - 1.0 / rate_hz) * 1000.0
    return {
        "ticks": int(values.size),
        "rate_hz": float(rate_hz),
        "loop_hz": float(1.0 / values.mean()),
        "period_p50_ms": float(np.percentile(ms, 50)),
        "period_p99_ms": float(np.percentile(ms, 99)),
        "period_p999_ms": float(np.percentile(ms, 99.9)),
        "period_max_ms": float(ms.max()),
        "jitter_p50_ms": float(np.percentile(jitter, 50)),
        "jitter_p99_ms": float(np.percentile(jitter, 99)),
        "late_over_2ms": int((jitter > 2.0).sum()),
        "late_at_s": [round(float(t), 2) for t in np.cumsum(values)[jitter > 2.0][:20]],
        "overruns": int(overruns),
    }


# -- snapshot <-> JSON ------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def snapshot_to_dict(snap: Any) -> dict[str, Any]:
    """A ``SessionSnapshot`` as plain JSON values (frames are left out: they go through _Preview)."""
    out: dict[str, Any] = {}
    for f in fields(snap):
        if f.name == "frames":
            continue
        value = getattr(snap, f.name)
        if f.name in ("leader", "follower"):
            value = asdict(value) if value is not None else None
        elif f.name == "cameras":
            value = {
                name: {
                    "stats": asdict(c.stats),
                    "duplicates": c.duplicates,
                    "missed": c.missed,
                    "age_ms": c.age_ms,
                }
                for name, c in value.items()
            }
        elif f.name == "last_result":
            value = asdict(value) if value is not None else None
        elif f.name == "banners":
            value = list(value)
        out[f.name] = _plain(value)
    return out


def snapshot_from_dict(data: dict[str, Any], frames: dict[str, Frame | None]) -> Any:
    from backend.teleop.session import ArmStatus, CameraLoopStats, SessionSnapshot

    data = dict(data)
    data["leader"] = ArmStatus(**data["leader"])
    data["follower"] = ArmStatus(**data["follower"]) if data.get("follower") else None
    data["cameras"] = {
        name: CameraLoopStats(CameraStats(**c["stats"]), c["duplicates"], c["missed"], c["age_ms"])
        for name, c in (data.get("cameras") or {}).items()
    }
    data["last_result"] = EpisodeResult(**data["last_result"]) if data.get("last_result") else None
    data["banners"] = tuple(data.get("banners") or ())
    for key in ("action_lerobot", "action_rad", "state_lerobot", "state_rad"):
        data[key] = np.asarray(data[key], dtype=np.float64)
    data["frames"] = dict(frames)
    return SessionSnapshot(**data)


def settings_to_json(settings: Any) -> str:
    return json.dumps(asdict(settings))


def settings_from_json(text: str) -> Any:
    from backend.teleop.factory import RecordSettings
    from backend.teleop.session import SessionConfig

    data = json.loads(text)
    data["config"] = SessionConfig(**data["config"])
    if data.get("camera_size") is not None:
        data["camera_size"] = tuple(data["camera_size"])
    return RecordSettings(**data)


class _Output:
    """``recorder.output_path`` as the in-process session offers it."""

    def __init__(self, path: str) -> None:
        self.output_path = path


# -- the proxy in the GUI process -------------------------------------------------------------------
class SessionProcess:
    """``TeleopSession``'s interface for the pane; the session runs in a child process."""

    def __init__(
        self,
        settings: Any,
        recover_mode: str | None = None,
        preview_limit: tuple[int, int] = PREVIEW_MAX,
        publish_hz: float = PUBLISH_HZ,
    ) -> None:
        self.settings = settings
        self.recover_mode = recover_mode
        self.preview_limit = tuple(preview_limit)
        self.publish_hz = float(publish_hz)
        config = settings.config
        self.history_len = max(2, int(config.history_seconds * config.rate_hz))
        self.cameras: list[str] = list(settings.cameras)
        self.follower: bool = bool(settings.follower_port)
        self.recorder = _Output(str(settings.out))
        self.notes: dict[str, Any] = {}
        self.error = ""
        self.details = ""
        self.priority = ""  # the loop thread's scheduling, as the child reports it
        self.main_priority = ""
        self.timing: dict[str, Any] = {}  # the loop's periods since mark_timing(), sent at the end
        self._results: list[EpisodeResult] = []
        self._results_lock = threading.Lock()
        self._ready = threading.Event()
        self._exited = threading.Event()
        self._proc: Any = None
        self._cmd: Any = None
        self._events: Any = None
        self._lock: Any = None
        self._reader: threading.Thread | None = None
        self._block: _StateBlock | None = None
        self._previews: dict[str, _Preview] = {}
        self._version = -1
        self._snapshot: Any = None
        self._history: dict[str, np.ndarray] | None = None
        self._frames: dict[str, Frame | None] = dict.fromkeys(self.cameras)
        self._state = "starting"
        self._stopped = False

    # -- life cycle -------------------------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> dict[str, Any]:
        """Start the child, connect the arms and cameras there, start the loop; returns the notes."""
        ctx = children.process_context()  # spawn; a bundle re-enters itself (backend/children.py)
        self._block = _StateBlock(self.history_len)
        self._previews = {name: _Preview(limit=self.preview_limit) for name in self.cameras}
        self._lock = SharedLock()
        child_cmd, parent_cmd = ctx.Pipe(duplex=False)
        parent_evt, child_evt = ctx.Pipe(duplex=False)
        self._cmd, self._events = parent_cmd, parent_evt
        config = json.dumps(
            {
                "settings": settings_to_json(self.settings),
                "recover_mode": self.recover_mode,
                "history_len": self.history_len,
                "preview_limit": list(self.preview_limit),
                "publish_hz": self.publish_hz,
            }
        )
        previews = {n: p.shm.handle for n, p in self._previews.items()}
        self._proc = ctx.Process(
            target=_child_main,
            args=(child_cmd, child_evt, self._lock.handle, config, self._block.shm.handle, previews),
            daemon=False,  # it starts the writer process: daemons may not have children
            name="teleop-session",
        )
        try:
            self._proc.start()
        except BaseException:
            self._proc = None
            self._release_shared()
            raise
        child_cmd.close()
        child_evt.close()
        _live.add(self)
        self._reader = threading.Thread(target=self._read_events, name="session-events", daemon=True)
        self._reader.start()
        if not self._ready.wait(timeout):
            self.error = self.error or "the session process did not start"
        self._unlink_shared()  # the child has attached (or is gone): names, where any, can go
        if self.error:
            message = self.error
            self.stop()
            raise StudioError(message)  # already "path: problem (hint)" when the child had a StudioError
        self._state = "idle"
        return self.notes

    def stop(self, timeout: float = 60.0) -> None:
        """End a running episode as interrupted, stop the loop and the child, free shared memory."""
        if self._stopped:
            return
        self._stopped = True
        _live.discard(self)
        proc = self._proc
        if proc is not None:
            self._send({"cmd": "stop"})
            proc.join(timeout)
            if proc.is_alive():
                proc.terminate()
                proc.join(5)
        self.poll()  # the final snapshot
        if self._reader is not None:
            self._reader.join(2.0)
        with contextlib.suppress(OSError):
            self._cmd.close()
        self._release_shared()
        self._proc = None
        if self._state not in ("finished", "stopped"):
            self._state = "stopped"

    def _unlink_shared(self) -> None:
        """Where shared memory is named (no memfd: macOS), remove the names once the child attached."""
        if self._block is not None:
            self._block.shm.unlink()
        for preview in self._previews.values():
            preview.shm.unlink()

    def _release_shared(self) -> None:
        if self._block is not None:
            self._block.close()
            self._block = None
        for preview in self._previews.values():
            preview.close()
        self._previews = {}
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def wait(self, timeout: float | None = None) -> bool:
        return self._exited.wait(timeout)

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.is_alive()

    # -- controls ---------------------------------------------------------------------------------
    def _send(self, payload: dict) -> None:
        if self._cmd is None:
            return
        try:
            self._cmd.send_bytes(json.dumps(payload).encode())
        except (OSError, ValueError) as error:
            self.error = self.error or f"the session process is gone ({error})"

    def begin_episode(self, task: str | None = None) -> None:
        self._send({"cmd": "begin", "task": task})

    def end_episode(self, success: bool = True) -> None:
        self._send({"cmd": "end", "success": bool(success)})

    def rerecord(self) -> None:
        self._send({"cmd": "rerecord"})

    def set_task(self, task: str) -> None:
        self._send({"cmd": "task", "task": task})

    def mark_timing(self) -> None:
        """Benchmarks: ``timing`` (filled at stop()) covers the loop's periods from now on."""
        self._send({"cmd": "mark"})

    # -- state --------------------------------------------------------------------------------------
    def poll(self) -> bool:
        """Copy the latest snapshot, history and new camera previews out of shared memory.

        Never waits for the child more than a few milliseconds; True when something new came."""
        block = self._block
        if block is None or self._lock is None:
            return False
        if not self._lock.acquire(timeout=0.005):
            return False
        try:
            version, text, history = block.read()
            frames = {}
            for name, preview in self._previews.items():
                last = self._frames.get(name)
                frame = preview.read(last.seq if last is not None else -1)
                if frame is not None:
                    frames[name] = frame
        finally:
            self._lock.release()
        if version == self._version or not text:
            return False
        self._version = version
        self._frames.update(frames)
        try:
            data = json.loads(text)
            snap = snapshot_from_dict(data["snapshot"], self._frames)
        except (ValueError, KeyError, TypeError):
            return False
        self.priority = data.get("priority", self.priority)
        self.main_priority = data.get("main_priority", self.main_priority)
        self._snapshot = snap
        self._history = history
        self._state = snap.state
        return True

    @property
    def state(self) -> str:
        self.poll()
        return self._state

    def snapshot(self) -> Any:
        self.poll()
        return self._snapshot

    def history(self) -> dict[str, np.ndarray]:
        if self._history is None:
            nan = np.full(self.history_len, np.nan)
            nan6 = np.full((self.history_len, 6), np.nan)
            return {"t": nan, **{k: nan6.copy() for k in _HISTORY_KEYS[1:]}}
        return self._history

    def results(self) -> list[EpisodeResult]:
        with self._results_lock:
            return list(self._results)

    # -- events from the child ----------------------------------------------------------------------
    def _read_events(self) -> None:
        while True:
            try:
                data = self._events.recv_bytes()
            except (EOFError, OSError):
                if not self._ready.is_set():
                    self.error = self.error or "the session process exited"
                elif not self._stopped:
                    self.error = self.error or "the session process ended unexpectedly"
                self._ready.set()
                self._exited.set()
                with contextlib.suppress(OSError):
                    self._events.close()
                return
            event = json.loads(data)
            kind = event.get("event")
            if kind == "ready":
                self.notes = event.get("notes") or {}
                self.cameras = list(event.get("cameras") or self.cameras)
                self.follower = bool(event.get("follower"))
                self.recorder = _Output(event.get("output") or self.recorder.output_path)
                self._ready.set()
            elif kind == "error":
                self.error = event.get("message") or "error"
                self.details = event.get("details") or ""
                self._ready.set()
            elif kind == "result":
                with self._results_lock:
                    self._results.append(EpisodeResult(**event["result"]))
            elif kind == "timing":
                self.timing = event.get("timing") or {}


# -- the child process ----------------------------------------------------------------------------
def _child_main(
    conn: Any,
    events: Any,
    lock_handle: Any,
    config_text: str,
    state_handle: SharedBufferHandle,
    preview_handles: dict[str, SharedBufferHandle],
) -> None:
    config = json.loads(config_text)

    def emit(payload: dict) -> None:
        with contextlib.suppress(OSError, ValueError):
            events.send_bytes(json.dumps(payload).encode())

    limit = tuple(config["preview_limit"])
    lock = SharedLock.attach(lock_handle)
    block = _StateBlock(config["history_len"], state_handle)
    previews = {n: _Preview(handle, limit) for n, handle in preview_handles.items()}
    session = None
    try:
        from backend.teleop.factory import build_session

        settings = settings_from_json(config["settings"])
        session, notes = build_session(settings, config["recover_mode"])
        if len(session.history()["t"]) != block.n:
            raise StudioError("the plot history has an unexpected length")
        session.start()
    except BaseException as error:  # noqa: BLE001 - reported to the GUI
        emit(
            {
                "event": "error",
                "message": str(getattr(error, "message", error)) or type(error).__name__,
                "details": traceback.format_exc(),
            }
        )
        _close_child(block, previews, events)
        return

    main_priority = _claim_main_priority()
    sent_results = 0
    mark = 0  # index into session.periods where the benchmark's window starts
    mark_overruns = 0
    mark_reads = 0
    last_seq: dict[str, int] = {}

    def publish() -> None:
        nonlocal sent_results
        snap = session.snapshot()
        if snap is None:
            return
        results = session.results()
        for result in results[sent_results:]:
            emit({"event": "result", "result": asdict(result)})
        sent_results = len(results)
        payload = json.dumps(
            {"snapshot": snapshot_to_dict(snap), "priority": session.priority, "main_priority": main_priority}
        ).encode()
        history = session.history()
        new_frames = {}
        for name, frame in snap.frames.items():
            if frame is not None and name in previews and last_seq.get(name) != frame.seq:
                new_frames[name] = frame
        with lock:
            block.write(payload, history)
            for name, frame in new_frames.items():
                previews[name].write(frame, limit)
                last_seq[name] = frame.seq

    emit(
        {
            "event": "ready",
            "notes": _plain_notes(notes),
            "cameras": list(session.cameras),
            "follower": session.follower is not None,
            "output": session.recorder.output_path if session.recorder else "",
        }
    )
    period = 1.0 / max(1.0, float(config["publish_hz"]))
    next_publish = time.perf_counter()
    try:
        while True:
            wait = max(0.0, next_publish - time.perf_counter())
            try:
                data = conn.recv_bytes() if conn.poll(wait) else None
            except (EOFError, OSError):
                break  # the GUI is gone: stop cleanly
            if data is not None:
                cmd = json.loads(data)
                kind = cmd.get("cmd")
                if kind == "stop":
                    break
                if kind == "begin":
                    session.begin_episode(cmd.get("task"))
                elif kind == "end":
                    session.end_episode(bool(cmd.get("success", True)))
                elif kind == "rerecord":
                    session.rerecord()
                elif kind == "task":
                    session.set_task(str(cmd.get("task", "")))
                elif kind == "mark":
                    mark, mark_overruns = len(session.periods), session._overruns
                    mark_reads = len(session.read_latencies)
            now = time.perf_counter()
            if now >= next_publish:
                publish()
                next_publish = max(next_publish + period, now)
    finally:
        try:
            periods = list(session.periods[mark:])
            overruns = session._overruns - mark_overruns
            reads = np.asarray(session.read_latencies[mark_reads:]) * 1000.0
            session.stop()
            publish()
            timing = timing_summary(periods, session.config.rate_hz, overruns)
            if reads.size:
                timing["leader_read_p99_ms"] = float(np.percentile(reads, 99))
                timing["leader_read_max_ms"] = float(reads.max())
            emit({"event": "timing", "timing": timing})
        except Exception:  # noqa: BLE001 - reported; the child ends either way
            emit(
                {
                    "event": "error",
                    "message": "stopping the session failed",
                    "details": traceback.format_exc(),
                }
            )
        _close_child(block, previews, events)


def _claim_main_priority() -> str:
    """SCHED_FIFO 1 for the child's main thread where allowed (as `rollout-studio record` does): it
    publishes snapshots and takes commands, and must not be preempted while it holds the GIL that
    the loop thread (SCHED_FIFO 10) waits for. Called after the session started, so the writer
    process and the camera threads keep their own priorities."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
        return "SCHED_FIFO 1"
    except (OSError, AttributeError):
        return "normal"


def _plain_notes(notes: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(notes, default=str))


def _close_child(block: _StateBlock, previews: dict[str, _Preview], events: Any) -> None:
    block.close()
    for preview in previews.values():
        preview.close()
    with contextlib.suppress(OSError):
        events.close()
