"""Cameras, each in its own thread, publishing the latest frame with its capture time.

Sources: an OpenCV device (index ``0`` or a path such as ``/dev/video0`` / ``/dev/wrist``), a video
file played in real time and looped (PyAV; for tests and the demo), or ``pattern:`` (synthetic
frames whose pixels encode the frame number). Each camera measures its fps, counts dropped frames
(gaps in arrival longer than 1.5 periods, or frames a file-backed camera had to skip to keep up)
and reconnects after a failure. Consumers call ``latest()`` and compare ``Frame.seq`` to find
duplicates and gaps on their side.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backend.errors import StudioError

VIDEO_SUFFIXES = {".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v"}


@dataclass(frozen=True)
class Frame:
    image: np.ndarray  # (H, W, 3) uint8 RGB, never modified after publication
    seq: int  # 0, 1, 2... per camera, across reconnects
    capture_time: float  # time.monotonic() when the frame was captured/published
    source_index: int = -1  # frame number inside a file source


@dataclass(frozen=True)
class CameraStats:
    name: str
    state: str  # connecting | streaming | disconnected | stopped
    fps: float
    frames: int
    dropped: int
    reconnects: int
    width: int
    height: int
    error: str = ""


class CameraSource:
    """Blocking frame source used by ``Camera``'s thread."""

    nominal_fps: float = 30.0
    paced = False  # True: the camera thread must pace reads itself (files, patterns)

    def open(self) -> None:
        raise NotImplementedError

    def read(self) -> tuple[np.ndarray, int] | None:
        """Next RGB frame and its index in the source, or None when the source failed."""
        raise NotImplementedError

    def close(self) -> None:
        pass

    def describe(self) -> str:
        return type(self).__name__


class OpenCVSource(CameraSource):
    def __init__(self, index_or_path: int | str, width: int, height: int, fps: float) -> None:
        self.index_or_path = index_or_path
        self.width, self.height, self.nominal_fps = width, height, fps
        self._cap = None
        self._count = 0

    def open(self) -> None:
        import cv2

        target = self.index_or_path
        if isinstance(target, str) and not Path(target).exists():
            raise StudioError("camera not found", target, "check the cable; udev names need their rule")
        cap = cv2.VideoCapture(target, cv2.CAP_V4L2) if isinstance(target, str) else cv2.VideoCapture(target)
        if not cap.isOpened():
            cap.release()
            raise StudioError("camera could not be opened", str(target), "is another program using it?")
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        cap.set(cv2.CAP_PROP_FPS, self.nominal_fps)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        self._cap = cap

    def read(self) -> tuple[np.ndarray, int] | None:
        import cv2

        if self._cap is None:
            return None
        ok, bgr = self._cap.read()
        if not ok or bgr is None:
            return None
        if bgr.shape[1] != self.width or bgr.shape[0] != self.height:
            bgr = cv2.resize(bgr, (self.width, self.height), interpolation=cv2.INTER_AREA)
        self._count += 1
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), self._count - 1

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def describe(self) -> str:
        return f"OpenCV {self.index_or_path}"


class FileSource(CameraSource):
    """A video file played at its own (or a given) frame rate, looped; decoded frames are cached
    in memory when the whole file fits in ``cache_mb`` (then looping costs no decoding)."""

    paced = True

    def __init__(
        self,
        path: str | Path,
        width: int | None = None,
        height: int | None = None,
        fps: float | None = None,
        loop: bool = True,
        cache_mb: float = 256.0,
    ) -> None:
        self.path = Path(path)
        self.width, self.height = width, height
        self._fps = fps
        self.loop = loop
        self.cache_mb = cache_mb
        self._container = None
        self._iter = None
        self._cache: list[np.ndarray] | None = None
        self._index = 0
        self._count = 0

    def open(self) -> None:
        import av

        if not self.path.is_file():
            raise StudioError("video file not found", self.path)
        try:
            container = av.open(str(self.path))
        except av.error.FFmpegError as error:
            raise StudioError(f"cannot open video ({error})", self.path) from error
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or 30
        self.nominal_fps = float(self._fps or rate)
        self.width = self.width or stream.codec_context.width
        self.height = self.height or stream.codec_context.height
        frames = stream.frames or 0
        fits = frames and frames * self.width * self.height * 3 <= self.cache_mb * 1e6
        self._container = container
        self._iter = container.decode(stream)
        self._index = 0
        if fits and self._cache is None:
            cache = []
            while (item := self._decode_next()) is not None:
                cache.append(item)
            self._cache = cache or None
            container.close()
            self._container = self._iter = None

    def _decode_next(self) -> np.ndarray | None:
        try:
            frame = next(self._iter)
        except StopIteration:
            return None
        if frame.width != self.width or frame.height != self.height:
            frame = frame.reformat(width=self.width, height=self.height)
        # PyAV's array is a view of the decoder's plane; own the pixels (the plane must not travel
        # to other threads: sharing it with the GUI thread crashed PySide6/PyAV in tests)
        return np.array(frame.to_ndarray(format="rgb24"), copy=True)

    def read(self) -> tuple[np.ndarray, int] | None:
        if self._cache is not None:
            if self._index >= len(self._cache):
                if not self.loop:
                    return None
                self._index = 0
            image = self._cache[self._index]
            self._index += 1
            return image, self._index - 1
        if self._iter is None:
            return None
        image = self._decode_next()
        if image is None:
            if not self.loop:
                return None
            self.close()
            self.open()
            image = self._decode_next()
            if image is None:
                return None
        self._index += 1
        return image, self._index - 1

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
        self._container = self._iter = None

    def describe(self) -> str:
        return f"file {self.path.name}"


class PatternSource(CameraSource):
    """Synthetic frames: every pixel of frame n is ``(n % 256, (n // 256) % 256, tag)``, plus a
    moving bar, so a test can tell from the pixels which frame it got."""

    paced = True

    def __init__(self, width: int = 64, height: int = 48, fps: float = 30.0, tag: int = 0) -> None:
        self.width, self.height, self.nominal_fps, self.tag = width, height, fps, tag
        self._n = 0

    def open(self) -> None:
        pass

    def read(self) -> tuple[np.ndarray, int]:
        n = self._n
        self._n += 1
        image = np.empty((self.height, self.width, 3), dtype=np.uint8)
        image[..., 0] = n % 256
        image[..., 1] = (n // 256) % 256
        image[..., 2] = self.tag
        return image, n

    @staticmethod
    def frame_number(image: np.ndarray) -> int:
        return int(image[0, 0, 0]) + 256 * int(image[0, 0, 1])

    def describe(self) -> str:
        return "pattern"


def make_source(
    spec: str, width: int | None = None, height: int | None = None, fps: float | None = None
) -> CameraSource:
    """``0`` / ``/dev/video0`` -> OpenCV (640x480 at 30 fps unless told); a video file -> FileSource
    (its own size and rate unless told); ``pattern[:WxH[@FPS]]`` -> PatternSource."""
    text = spec.strip()
    if text.startswith("pattern"):
        rest = text.partition(":")[2]
        w, h, f = width or 64, height or 48, fps or 30.0
        if rest:
            size, _, rate = rest.partition("@")
            if size:
                w, h = (int(x) for x in size.lower().split("x"))
            if rate:
                f = float(rate)
        return PatternSource(w, h, f)
    if text.isdigit():
        return OpenCVSource(int(text), width or 640, height or 480, fps or 30.0)
    path = Path(text)
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return FileSource(path, width, height, fps=fps)
    return OpenCVSource(text, width or 640, height or 480, fps or 30.0)


def parse_camera_arg(arg: str) -> tuple[str, str]:
    """``NAME=SOURCE`` -> (name, source)."""
    name, sep, source = arg.partition("=")
    if not sep or not name or not source:
        raise StudioError(
            f"camera {arg!r} is not NAME=SOURCE", None, "e.g. front=/dev/video0 or wrist=demo.mp4"
        )
    return name.strip(), source.strip()


class Camera:
    """One camera thread: open, read, publish the latest frame; reconnect after failures."""

    def __init__(
        self, name: str, source: CameraSource, reconnect_s: float = 1.0, realtime: bool = True
    ) -> None:
        self.name = name
        self.realtime = realtime  # best effort: SCHED_FIFO 5 (below the control loop's 10)
        self.source = source
        self.reconnect_s = reconnect_s
        self._latest: Frame | None = None
        self._state = "stopped"
        self._error = ""
        self._frames = 0
        self._dropped = 0
        self._reconnects = 0
        self._seq = 0
        self._arrivals: deque[float] = deque(maxlen=90)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._opened_once = False
        self.failing = False  # tests: make reads fail as if the cable was pulled

    # -- public -----------------------------------------------------------------------------------
    def start(self) -> Camera:
        self._stop.clear()
        self._state = "connecting"
        self._thread = threading.Thread(target=self._run, name=f"camera-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=3.0)
            self._thread = None
        self.source.close()
        self._state = "stopped"

    def latest(self) -> Frame | None:
        return self._latest

    def wait_first_frame(self, timeout: float = 5.0) -> Frame | None:
        deadline = time.monotonic() + timeout
        while self._latest is None and time.monotonic() < deadline and not self._stop.is_set():
            time.sleep(0.005)
        return self._latest

    @property
    def nominal_fps(self) -> float:
        return float(self.source.nominal_fps)

    @property
    def size(self) -> tuple[int, int]:
        return int(self.source.width or 0), int(self.source.height or 0)

    def stats(self) -> CameraStats:
        arrivals = list(self._arrivals)
        fps = 0.0
        if len(arrivals) >= 2 and time.monotonic() - arrivals[-1] < 1.0:
            window = [t for t in arrivals if t >= arrivals[-1] - 2.0]
            if len(window) >= 2 and window[-1] > window[0]:
                fps = (len(window) - 1) / (window[-1] - window[0])
        w, h = self.size
        return CameraStats(
            self.name, self._state, fps, self._frames, self._dropped, self._reconnects, w, h, self._error
        )

    # -- thread -----------------------------------------------------------------------------------
    def _run(self) -> None:
        if self.realtime:
            try:
                os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(5))
            except (OSError, AttributeError):
                pass
        while not self._stop.is_set():
            try:
                self.source.open()
            except Exception as error:  # noqa: BLE001 - any failure means "not connected yet"
                self._state, self._error = "disconnected", str(getattr(error, "message", error))
                self._stop.wait(self.reconnect_s)
                continue
            if self._opened_once:
                self._reconnects += 1
            self._opened_once = True
            self._state, self._error = "streaming", ""
            if self.source.paced:
                self._stream_paced()
            else:
                self._stream_device()
            self.source.close()
            if not self._stop.is_set():
                self._state = "disconnected"
                self._error = self._error or "camera stopped delivering frames"
                self._stop.wait(self.reconnect_s)

    def _publish(self, image: np.ndarray, index: int, when: float) -> None:
        self._latest = Frame(image, self._seq, when, index)
        self._seq += 1
        self._frames += 1
        self._arrivals.append(when)

    def _stream_device(self) -> None:
        period = 1.0 / max(self.source.nominal_fps, 1e-3)
        last = None
        while not self._stop.is_set():
            item = None if self.failing else self.source.read()
            if item is None:
                self._error = "camera read failed"
                return
            now = time.monotonic()
            if last is not None and now - last > 1.5 * period:
                self._dropped += int(round((now - last) / period)) - 1
            last = now
            self._publish(item[0], item[1], now)

    def _stream_paced(self) -> None:
        period = 1.0 / max(self.source.nominal_fps, 1e-3)
        next_time = time.monotonic()
        while not self._stop.is_set():
            item = None if self.failing else self.source.read()  # decode ahead of the deadline
            if item is None:
                self._error = "video source ended or failed"
                return
            delay = next_time - time.monotonic()
            if delay > 0:
                if self._stop.wait(delay):
                    return
            now = time.monotonic()
            self._publish(item[0], item[1], now)
            next_time += period
            behind = int((now - next_time) // period)
            if behind > 0:  # we fell behind: skip frames like a real camera would
                for _ in range(behind):
                    if self.source.read() is None:
                        break
                self._dropped += behind
                next_time += behind * period


def open_cameras(
    specs: dict[str, str], width: int | None = None, height: int | None = None, fps: float | None = None
) -> dict[str, Camera]:
    return {name: Camera(name, make_source(src, width, height, fps)) for name, src in specs.items()}
