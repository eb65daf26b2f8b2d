"""The recorder thread: takes steps from the control loop and streams them into a ``Recorder``.

The loop never touches the disk: it queues ``Step`` objects (camera frames by reference, no copy)
and episode commands; this thread appends them in batches (every ``batch_s``), flushes at least
every ``flush_s`` and finalises episodes. h5py and PyAV release the GIL while they compress and
encode, so the loop keeps its timing.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from backend.teleop.steps import EpisodeMeta, EpisodeResult, Step


class Recorder(Protocol):
    """What a recorder thread or process streams steps into: ``Hdf5Recorder``, ``LeRobotRecorder``."""

    path: Any

    def open(self) -> None: ...
    def close(self) -> None: ...
    def begin_episode(self, meta: EpisodeMeta) -> str: ...
    def append(self, steps: list[Step]) -> None: ...
    def flush(self) -> None: ...
    def end_episode(self, success: bool | None, reason: str = "") -> tuple[str, int]: ...
    def drop_episode(self) -> None: ...
    def size_bytes(self) -> int: ...


class RecorderThread:
    """Streams the loop's steps into ``recorder`` on a thread of its own."""

    def __init__(
        self,
        recorder: Recorder,
        batch_s: float = 0.1,
        flush_s: float = 0.25,
        on_result: Callable[[EpisodeResult], None] | None = None,
    ) -> None:
        self.recorder = recorder
        self.batch_s = batch_s
        self.flush_s = flush_s
        self.on_result = on_result
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._queued_steps = 0
        self._lock = threading.Lock()
        self.error = ""
        self.results: list[EpisodeResult] = []
        self._episode_index = -1
        self._rates: deque[tuple[float, int]] = deque(maxlen=20)
        self.bytes_written = 0

    # -- called by the loop -----------------------------------------------------------------------
    def start(self) -> RecorderThread:
        self.recorder.open()
        self.bytes_written = self.recorder.size_bytes()
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
        self._thread.start()
        return self

    def begin(self, meta: EpisodeMeta) -> None:
        self._queue.put(("begin", meta))

    def step(self, step: Step) -> None:
        with self._lock:
            self._queued_steps += 1
        self._queue.put(("step", step))

    def end(self, success: bool | None, reason: str = "", requested: float | None = None) -> None:
        self._queue.put(("end", success, reason, requested or time.perf_counter()))

    def drop(self, requested: float | None = None) -> None:
        self._queue.put(("drop", requested or time.perf_counter()))

    def stop(self, timeout: float = 30.0) -> None:
        if self._thread is None:
            return
        self._queue.put(("close",))
        self._thread.join(timeout=timeout)
        self._thread = None

    @property
    def output_path(self) -> str:
        """The file or folder the episodes go into."""
        return str(getattr(self.recorder, "path", ""))

    @property
    def existing_episodes(self) -> int:
        return int(getattr(self.recorder, "existing_episodes", 0))

    frames_dropped_backlog = 0  # frames are passed by reference: never dropped for lack of room

    @property
    def lag_steps(self) -> int:
        return self._queued_steps

    def disk_rate(self) -> float:
        """Bytes per second written over the last few flushes."""
        if len(self._rates) < 2:
            return 0.0
        (t0, b0), (t1, b1) = self._rates[0], self._rates[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0

    # -- thread -----------------------------------------------------------------------------------
    def _run(self) -> None:
        batch: list[Step] = []
        last_write = last_flush = time.perf_counter()
        recording = False
        while True:
            try:
                item = self._queue.get(timeout=self.batch_s)
            except queue.Empty:
                item = None
            now = time.perf_counter()
            try:
                if item is not None and item[0] == "step":
                    batch.append(item[1])
                    with self._lock:
                        self._queued_steps -= 1
                    if now - last_write < self.batch_s:
                        continue
                if batch:
                    if recording:
                        self.recorder.append(batch)
                    batch = []
                    last_write = now
                if recording and now - last_flush >= self.flush_s:
                    self._flush(now)
                    last_flush = now
                if item is None or item[0] == "step":
                    continue
                kind = item[0]
                if kind == "begin":
                    meta: EpisodeMeta = item[1]
                    self.recorder.begin_episode(meta)
                    self._episode_index = meta.index
                    recording = True
                    self._flush(time.perf_counter())
                    last_flush = time.perf_counter()
                elif kind == "end":
                    _, success, reason, requested = item
                    if recording:
                        name, length = self.recorder.end_episode(success, reason)
                        recording = False
                        self._finished(name, length, success, reason, requested)
                elif kind == "drop":
                    if recording:
                        self.recorder.drop_episode()
                        recording = False
                        self._finished("", 0, None, "dropped", item[1])
                elif kind == "close":
                    self.recorder.close()
                    self._flush(time.perf_counter())
                    return
            except Exception as error:  # noqa: BLE001 - surfaced in the GUI/CLI as a banner
                self.error = f"{type(error).__name__}: {error}"
                recording = False
                batch = []
                if item is not None and item[0] == "close":
                    return

    def _flush(self, now: float) -> None:
        self.recorder.flush()
        self.bytes_written = self.recorder.size_bytes()
        self._rates.append((now, self.bytes_written))

    def _finished(self, name: str, length: int, success: bool | None, reason: str, requested: float) -> None:
        path = getattr(self.recorder, "path", "")
        result = EpisodeResult(
            self._episode_index, name, length, success, reason, time.perf_counter() - requested, str(path)
        )
        self.bytes_written = self.recorder.size_bytes()
        self._rates.append((time.perf_counter(), self.bytes_written))
        self.results.append(result)
        if self.on_result is not None:
            self.on_result(result)
