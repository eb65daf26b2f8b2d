"""Streaming video encoder: RGB frames in, mp4 out, no PNG detour.

Frame i gets pts i in a 1/fps time base, so frame times are exactly i / fps (what LeRobot's
1e-4 s timestamp check needs). RGB is converted to yuv420p with OpenCV (BT.601 limited range, like
FFmpeg; see ``color.py``), ~6x cheaper than PyAV's own conversion. With ``threaded=True`` the
conversion and encoding run on a worker thread behind a bounded queue, so a recorder loop only pays
for a copy of the frame; an encoder error is raised by the next ``write`` or by ``close``.

Defaults follow LeRobot (``g=2``, ``crf=30``, yuv420p): every other frame is a keyframe, so random
access while training is cheap. ``video_info()`` gives the ``info`` block LeRobot's info.json has
for a video feature (``video.codec``, ``video.g``, ``video.crf``, ``video.preset`` ...).
"""

from __future__ import annotations

import os
import queue
import threading
from fractions import Fraction
from pathlib import Path
from typing import Any

os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 prints a banner per stream otherwise

import av  # noqa: E402
import numpy as np  # noqa: E402

from backend.errors import StudioError  # noqa: E402
from backend.media.color import rgb_to_yuv420p  # noqa: E402

CODECS = {"h264": "libx264", "av1": "libsvtav1", "hevc": "libx265"}
# LeRobot-like defaults (lerobot encode_video_frames: g=2, crf=30); presets chosen for real-time use
# on a small CPU (x264 veryfast ~80 fps, svt-av1 preset 10 ~50-150 fps at 640x480 on 2 cores).
DEFAULT_GOP = 2
DEFAULT_CRF = {"h264": 30, "av1": 30, "hevc": 30}
DEFAULT_PRESET: dict[str, str | int] = {"h264": "veryfast", "av1": 10, "hevc": "veryfast"}
_SENTINEL = None


SMALL_FRAME = 64  # px: frames with a side under this are encoded without x264's mbtree (see below)


class VideoEncoder:
    """Write RGB uint8 frames (H, W, 3) to an mp4, one ``write`` per frame.

    ``codec``: "h264" (libx264, default), "av1" (libsvtav1) or "hevc" (libx265).
    ``crf``/``gop``/``preset``: quality, keyframe interval and speed (None: the defaults above).
    ``threaded``: encode on a worker thread; ``write`` blocks only when ``queue_frames`` frames wait.
    """

    def __init__(
        self,
        path: str | Path,
        width: int,
        height: int,
        fps: float,
        codec: str = "h264",
        crf: int | None = None,
        gop: int | None = None,
        preset: str | int | None = None,
        pix_fmt: str = "yuv420p",
        threaded: bool = False,
        queue_frames: int = 32,
        options: dict[str, str] | None = None,
    ) -> None:
        if codec not in CODECS:
            raise StudioError(f"unknown codec {codec!r}; use one of {sorted(CODECS)}", path)
        self.path = Path(path)
        self.width, self.height = int(width), int(height)
        if self.width <= 0 or self.height <= 0:
            raise StudioError(f"bad video size {width}x{height}", path)
        if pix_fmt.startswith("yuv420") and (self.width % 2 or self.height % 2):
            raise StudioError(
                f"{codec} {pix_fmt} needs an even frame size, got {self.width}x{self.height}",
                path,
                "crop or pad the frames by one pixel",
            )
        if not fps or fps <= 0:
            raise StudioError(f"bad frame rate {fps!r}", path)
        self.fps = float(fps)
        self.codec = codec
        self.pix_fmt = pix_fmt
        self.crf = int(DEFAULT_CRF[codec] if crf is None else crf)
        self.gop = int(DEFAULT_GOP if gop is None else gop)
        self.preset: str | int = DEFAULT_PRESET[codec] if preset is None else preset
        self.frames_written = 0  # frames accepted by write()
        self._muxed: tuple[int | None, int | None] = (None, None)  # (pts, dts) of the last packet muxed
        self._closed = False
        self._error: BaseException | None = None

        rate = Fraction(fps).limit_denominator(1001)
        self._frame_time_base = Fraction(1, 1) / rate
        try:
            self._container = av.open(str(self.path), mode="w", format="mp4")
        except (av.error.FFmpegError, OSError) as error:
            raise StudioError(f"cannot create video ({error})", path) from error
        try:
            self._stream = self._container.add_stream(CODECS[codec], rate=rate)
            self._stream.width, self._stream.height = self.width, self.height
            self._stream.pix_fmt = pix_fmt
            self._stream.codec_context.gop_size = self.gop
            opts: dict[str, str] = {"crf": str(self.crf), "preset": str(self.preset), "g": str(self.gop)}
            if codec == "h264":
                opts["bf"] = "0"  # no B-frames: decode order == display order, cheaper exact seeks
                if min(self.width, self.height) < SMALL_FRAME:
                    # libx264's macroblock-tree rate control gives other bytes from run to run on
                    # frames this small (it reads memory it never wrote: 32x24 frames came out in up
                    # to 6 variants in 40 encodes of the same input, 64x48 in 2 of 200; 96x72 and
                    # up, 640x480 included, always 1): off there, so outputs are reproducible
                    opts["x264-params"] = "mbtree=0"
            elif codec == "av1":
                opts["svtav1-params"] = f"keyint={self.gop}"
            opts.update(options or {})
            self._options = opts
            self._stream.options = opts
        except Exception as error:
            self._container.close()
            raise StudioError(f"cannot set up the {codec} encoder ({error})", path) from error

        self._queue: queue.Queue[np.ndarray | None] | None = None
        self._thread: threading.Thread | None = None
        if threaded:
            self._queue = queue.Queue(maxsize=max(1, int(queue_frames)))
            self._thread = threading.Thread(
                target=self._run, name=f"VideoEncoder:{self.path.name}", daemon=True
            )
            self._thread.start()

    # -- public -----------------------------------------------------------------------------------
    def write(self, frame: np.ndarray) -> None:
        """Append one RGB uint8 frame (H, W, 3)."""
        if self._closed:
            raise StudioError("write after close", self.path)
        self._raise_worker_error()
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.shape[:2] != (self.height, self.width):
            raise StudioError(
                f"frame of shape {tuple(frame.shape)} given to a {self.width}x{self.height} RGB video",
                self.path,
            )
        if self._queue is None:
            self._encode(frame, self.frames_written)
        else:
            copy = np.array(frame, dtype=np.uint8, copy=True)  # the caller may reuse its buffer
            while True:
                try:
                    self._queue.put(copy, timeout=0.2)
                    break
                except queue.Full:
                    self._raise_worker_error()
        self.frames_written += 1

    @property
    def queued(self) -> int:
        """Frames waiting for the encoder thread (0 when not threaded)."""
        return self._queue.qsize() if self._queue is not None else 0

    def close(self) -> None:
        """Flush the encoder and finish the file; raises if encoding failed."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._thread is not None:
                assert self._queue is not None
                while self._thread.is_alive():
                    try:
                        self._queue.put(_SENTINEL, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                self._thread.join()
                if self._error is not None:
                    raise StudioError(f"encoding failed ({self._error})", self.path) from self._error
            else:
                self._flush()
        except BaseException:
            self._close_container(quiet=True)
            raise
        self._close_container(quiet=False)

    def abort(self) -> None:
        """Stop and close without finishing the file (the caller deletes it)."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None and self._queue is not None:
            self._error = self._error or _Aborted()
            while True:  # empty the queue so the worker sees the sentinel at once
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break
            try:
                self._queue.put_nowait(_SENTINEL)
            except queue.Full:
                pass
            self._thread.join(timeout=10)
        self._close_container(quiet=True)

    def video_info(self) -> dict[str, Any]:
        """The ``info`` block LeRobot writes for a video feature in meta/info.json."""
        return {
            "video.height": self.height,
            "video.width": self.width,
            "video.codec": self.codec,
            "video.pix_fmt": self.pix_fmt,
            "video.is_depth_map": False,
            "video.fps": int(self.fps) if float(self.fps).is_integer() else self.fps,
            "video.channels": 3,
            "video.g": self.gop,
            "video.crf": self.crf,
            "video.preset": self.preset,
            "has_audio": False,
        }

    def __enter__(self) -> VideoEncoder:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    # -- encoding ---------------------------------------------------------------------------------
    def _make_frame(self, rgb: np.ndarray) -> av.VideoFrame:
        if self.pix_fmt == "yuv420p":
            return av.VideoFrame.from_ndarray(rgb_to_yuv420p(rgb), format="yuv420p")
        return av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb, dtype=np.uint8), format="rgb24")

    def _encode(self, rgb: np.ndarray, index: int) -> None:
        video_frame = self._make_frame(rgb)
        video_frame.pts = index
        video_frame.time_base = self._frame_time_base
        packet = None
        try:
            for packet in self._stream.encode(video_frame):
                self._container.mux(packet)
                self._muxed = (packet.pts, packet.dts)
        except av.error.FFmpegError as error:
            # the packet's and the previous packet's timestamps: seen once from libsvtav1 on a loaded
            # machine (the muxer refused a packet of frame 90 of 96), not reproduced since
            where = "" if packet is None else f"; packet pts/dts {packet.pts}/{packet.dts}, previous {self._muxed}"
            raise StudioError(f"encoding frame {index} failed ({error}{where})", self.path) from error

    def _flush(self) -> None:
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
        except av.error.FFmpegError as error:
            raise StudioError(f"finishing the video failed ({error})", self.path) from error

    def _run(self) -> None:
        assert self._queue is not None
        index = 0
        while True:
            item = self._queue.get()
            if item is _SENTINEL:
                break
            if self._error is not None:
                continue  # failed or aborted: drain until the sentinel
            try:
                self._encode(item, index)
            except BaseException as error:  # noqa: BLE001 - handed to the producer
                self._error = error
            index += 1
        if self._error is None:
            try:
                self._flush()
            except BaseException as error:  # noqa: BLE001 - handed to close()
                self._error = error

    def _raise_worker_error(self) -> None:
        error = self._error
        if error is not None and not isinstance(error, _Aborted):
            if isinstance(error, StudioError):
                raise StudioError(error.problem, self.path, error.hint) from error
            raise StudioError(f"encoding failed ({error})", self.path) from error

    def _close_container(self, quiet: bool) -> None:
        try:
            self._container.close()
        except Exception as error:
            if not quiet:
                raise StudioError(f"cannot finish video ({error})", self.path) from error


class _Aborted(Exception):
    pass
