"""Frames fetched off the GUI thread, one loop per camera on the task layer's STREAM lane, latest
request wins.

    loader = FrameLoader()
    loader.frameReady.connect(lambda camera, index, rgb: ...)
    loader.set_sources({"front": lambda: episode.stream("front"), ...})   # opened in the workers
    loader.request(233)     # all cameras; a newer request replaces one not yet started

Each camera's loop is a task of the loader's own ``TaskGroup`` (``app.tasks``): ``shutdown()`` stops
the loops and waits for them, so a closed pane leaves no thread behind.
Each worker keeps a few recent frames and, while playing forward, decodes the next frames ahead
so playback finds them ready. Streams are opened and closed in their worker threads, so a slow
open (probing a long video) never blocks the GUI.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from app.tasks import STREAM, TaskGroup

RECENT_FRAMES = 12


class _Worker:
    """One camera's thread. It lives across episodes: a new source is swapped in, not a new thread."""

    def __init__(
        self,
        camera: str,
        opener: Callable[[], Any],
        generation: int,
        emit: Callable[..., None],
        tasks: TaskGroup,
    ) -> None:
        self.camera = camera
        self.emit = emit
        self.generation = generation
        self.pending: int | None = None
        self.lookahead = 0
        self.stopped = False
        self.cond = threading.Condition()
        self.recent: OrderedDict[int, Any] = OrderedDict()
        self._new_source: tuple[Callable[[], Any], int] | None = (opener, generation)
        self.task = tasks.run(self._loop, lane=STREAM)
        self.task.name = f"frames-{camera}"

    def _loop(self, *, progress: Any) -> None:
        self._run()

    def set_source(self, opener: Callable[[], Any], generation: int) -> None:
        with self.cond:
            self._new_source = (opener, generation)
            self.pending = None
            self.cond.notify()

    def request(self, index: int, lookahead: int) -> None:
        with self.cond:
            self.pending = int(index)
            self.lookahead = lookahead
            self.cond.notify()

    def stop(self) -> None:
        with self.cond:
            self.stopped = True
            self.cond.notify()

    def _remember(self, index: int, rgb: Any) -> None:
        self.recent[index] = rgb
        self.recent.move_to_end(index)
        while len(self.recent) > max(RECENT_FRAMES, self.lookahead + 8):
            self.recent.popitem(last=False)

    @staticmethod
    def _close(stream: Any) -> None:
        if stream is not None:
            try:
                stream.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass

    def _run(self) -> None:
        stream = None
        num_frames = 0
        ahead_next: int | None = None
        ahead_left = 0
        try:
            while True:
                with self.cond:
                    while (
                        self.pending is None
                        and self._new_source is None
                        and not self.stopped
                        and (ahead_left <= 0 or stream is None)
                    ):
                        self.cond.wait()
                    if self.stopped:
                        return
                    source, self._new_source = self._new_source, None
                    if source is not None:
                        self.generation = source[1]
                    index, self.pending = self.pending, None
                    lookahead = self.lookahead
                    generation = self.generation
                if source is not None:
                    self._close(stream)
                    stream, ahead_next, ahead_left = None, None, 0
                    self.recent.clear()
                    try:
                        stream = source[0]()
                        num_frames = int(getattr(stream, "num_frames", 1 << 30))
                    except Exception as error:  # noqa: BLE001 - reported to the GUI
                        self.emit("failed", self.camera, -1, f"{error}", traceback.format_exc(), generation)
                        stream = None
                    if index is None:
                        continue
                if stream is None:
                    continue
                if index is None:
                    # idle: decode ahead for playback
                    if (
                        ahead_next is not None
                        and 0 <= ahead_next < num_frames
                        and ahead_next not in self.recent
                    ):
                        try:
                            self._remember(ahead_next, stream.frame(ahead_next))
                        except Exception:  # noqa: BLE001 - a frame that fails is reported when asked for
                            ahead_left = 0
                    ahead_next = None if ahead_next is None else ahead_next + 1
                    ahead_left -= 1
                    continue
                index = max(0, min(index, num_frames - 1))
                started = time.perf_counter()
                try:
                    rgb = self.recent.get(index)
                    if rgb is None:
                        rgb = stream.frame(index)
                        self._remember(index, rgb)
                except Exception as error:  # noqa: BLE001 - reported to the GUI
                    self.emit("failed", self.camera, index, f"{error}", traceback.format_exc(), generation)
                    continue
                self.emit("ready", self.camera, index, rgb, time.perf_counter() - started, generation)
                ahead_next, ahead_left = index + 1, lookahead
        finally:
            self._close(stream)


class FrameLoader(QObject):
    """Latest-request-wins frame fetching for a set of cameras."""

    frameReady = Signal(str, int, object)  # camera, frame index, RGB array
    failed = Signal(str, int, str, str)  # camera, frame index, message, details
    _delivered = Signal(str, str, int, object, object, int)  # kind, camera, index, payload, extra, generation

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._workers: dict[str, _Worker] = {}
        self._tasks = TaskGroup(self)
        self._generation = 0
        self.last_request = -1
        self.decode_seconds: list[float] = []
        self._delivered.connect(self._on_delivered)

    def cameras(self) -> list[str]:
        return list(self._workers)

    def set_sources(self, openers: dict[str, Callable[[], Any]]) -> None:
        """Replace the cameras; each opener returns an object with ``frame(i)`` (and ``close()``).

        Workers of cameras that stay are reused (the new stream opens in their thread)."""
        self._generation += 1
        self.last_request = -1
        for camera in [c for c in self._workers if c not in openers]:
            self._workers.pop(camera).stop()
        for camera, opener in openers.items():
            worker = self._workers.get(camera)
            if worker is None:
                self._workers[camera] = _Worker(camera, opener, self._generation, self._emit, self._tasks)
            else:
                worker.set_source(opener, self._generation)

    def clear(self) -> None:
        for worker in self._workers.values():
            worker.stop()
        self._workers = {}
        self._generation += 1
        self.last_request = -1

    def request(self, index: int, lookahead: int = 0) -> None:
        """Ask every camera for frame ``index``; ``lookahead`` frames after it are decoded when idle."""
        self.last_request = int(index)
        for worker in self._workers.values():
            worker.request(index, lookahead)

    def _emit(self, kind: str, camera: str, index: int, payload: Any, extra: Any, generation: int) -> None:
        self._delivered.emit(kind, camera, index, payload, extra, generation)  # queued to the GUI thread

    @Slot(str, str, int, object, object, int)
    def _on_delivered(
        self, kind: str, camera: str, index: int, payload: Any, extra: Any, generation: int
    ) -> None:
        if generation != self._generation:
            return  # a frame of an episode no longer shown
        if kind == "ready":
            self.decode_seconds.append(float(extra))
            del self.decode_seconds[:-2000]
            self.frameReady.emit(camera, index, payload)
        else:
            self.failed.emit(camera, index, str(payload), str(extra))

    def shutdown(self, timeout: float = 5.0) -> bool:
        """Stop every camera's loop and wait for it (a frame being decoded is finished first)."""
        self.clear()
        return self._tasks.wait(timeout)
