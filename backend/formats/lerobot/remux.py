"""Packet-level video copies with PyAV: cut an episode's window out of an mp4 and append it to another.

No pixel is re-encoded, so copies are frame-identical. A window can be copied when it starts on a
keyframe and its packets are in presentation order (no B-frame reordering): then the packets from
the keyframe to the window's last frame decode on their own. LeRobot's own files qualify (every
episode is encoded separately and starts with a keyframe; GOP 2, no B-frames) and so do the files
the studio writes. Anything else is decoded and encoded again by the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from backend.errors import FormatError
from backend.media import VideoProbe

FrameSink = Callable[[int, av.VideoFrame], None]


class NeedsNewFile(Exception):
    """The window cannot follow what the file holds; nothing of it was written. Start a new file."""


def _open_input(path: Path) -> av.container.InputContainer:
    try:
        return av.open(str(path))
    except (av.error.FFmpegError, OSError) as error:
        raise FormatError(f"cannot open video ({error})", path) from error


def _window_packets(
    container: av.container.InputContainer, info: VideoProbe, first: int, count: int
) -> Iterator[av.Packet]:
    """Packets whose pts lies in the window, in decode order, after seeking to its keyframe."""
    stream = container.streams.video[0]
    time_base = stream.time_base
    times = info.frame_times
    t_first, t_last = float(times[first]), float(times[first + count - 1])
    slack = 0.25 / info.fps if info.fps else 1e-3
    if first > 0:
        container.seek(int(round(t_first / float(time_base))), stream=stream, backward=True, any_frame=False)
    for packet in container.demux(stream):
        if packet.pts is None or packet.size == 0:
            continue
        seconds = float(packet.pts * time_base)
        if seconds < t_first - slack:
            continue
        if seconds > t_last + slack:
            break
        yield packet


def remux_problem(path: Path, info: VideoProbe, first: int, count: int) -> str | None:
    """Why the window cannot be copied packet by packet (None when it can).

    The window must start on a keyframe, and its packets (in decode order, from that keyframe until
    the first packet shown after the window) must be exactly its frames. With B-frames the window must
    also end on a keyframe or at the end of the file, so no frame of it references a frame outside.
    """
    if count <= 0 or first < 0 or first + count > info.num_frames:
        return f"window {first}..{first + count - 1} is outside the {info.num_frames} frames of the file"
    keyframes = {int(k) for k in info.keyframes}
    if first not in keyframes:
        return f"frame {first} is not a keyframe"
    container = _open_input(path)
    try:
        time_base = float(container.streams.video[0].time_base)
        pts_seen: list[int] = []
        reordered = False
        for number, packet in enumerate(_window_packets(container, info, first, count)):
            if number == 0 and not packet.is_keyframe:
                return "the window does not start with a keyframe packet"
            if pts_seen and packet.pts < pts_seen[-1]:
                reordered = True
            pts_seen.append(packet.pts)
    except av.error.FFmpegError as error:
        return f"cannot demux ({error})"
    finally:
        container.close()
    if len(pts_seen) != count:
        return f"found {len(pts_seen)} packets for {count} frames"
    seconds = np.sort(np.array(pts_seen, dtype=np.float64) * time_base)
    if np.abs(seconds - info.frame_times[first : first + count]).max() > 1e-6:
        return "the packets do not match the window's frames"
    if reordered and first + count != info.num_frames and first + count not in keyframes:
        return "packets are reordered (B-frames) and the window does not end before a keyframe"
    return None


def stream_signature(stream: av.video.stream.VideoStream) -> tuple:
    ctx = stream.codec_context
    return (ctx.name, ctx.width, ctx.height, ctx.pix_fmt, bytes(ctx.extradata or b""))


class PacketFile:
    """An mp4 assembled from copied windows, one after another on the time line."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._container: av.container.OutputContainer | None = None
        self._stream = None
        self.signature: tuple | None = None
        self.end = Fraction(0)  # seconds where the next window starts
        self.bytes = 0
        self.frames = 0
        self.codec: str | None = None
        self.last_dts: Fraction | None = None

    @property
    def empty(self) -> bool:
        return self._container is None

    def accepts(self, path: Path) -> bool:
        """True when windows of ``path`` can go into this file (same codec, size, pixel format, headers)."""
        if self._container is None:
            return True
        container = _open_input(path)
        try:
            return stream_signature(container.streams.video[0]) == self.signature
        finally:
            container.close()

    def append(
        self,
        path: Path,
        info: VideoProbe,
        first: int,
        count: int,
        fps: float,
        on_frame: FrameSink | None = None,
    ) -> tuple[float, float]:
        """Copy frames ``first .. first + count - 1`` of ``path``; returns the window's (from, to) seconds here.

        ``on_frame(i, frame)`` sees every decoded frame of the window (for statistics) when given.
        """
        source = _open_input(path)
        try:
            src = source.streams.video[0]
            if self._container is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._container = av.open(str(self.path), mode="w", format="mp4")
                self._stream = self._container.add_stream_from_template(template=src, opaque=True)
                self._stream.time_base = src.time_base
                self.signature = stream_signature(src)
                self.codec = src.codec_context.name
            elif stream_signature(src) != self.signature:
                raise FormatError("video does not match the file it is appended to", path)
            time_base = src.time_base
            offset = round(self.end / Fraction(time_base))  # whole ticks of the source time base
            first_pts = None
            last_pts = None
            decoded = 0
            decoder = src.codec_context if on_frame is not None else None
            for packet in _window_packets(source, info, first, count):
                if first_pts is None:
                    first_pts = packet.pts
                pts = packet.pts - first_pts + offset
                dts = pts if packet.dts is None else packet.dts - first_pts + offset
                dts_seconds = Fraction(dts) * Fraction(time_base)
                if self.last_dts is not None and dts_seconds <= self.last_dts:
                    raise NeedsNewFile("decode times would go back (another B-frame delay)")
                if decoder is not None:
                    for frame in decoder.decode(packet):
                        on_frame(decoded, frame)
                        decoded += 1
                packet.pts = pts
                packet.dts = dts
                packet.stream = self._stream
                self.last_dts = dts_seconds
                self.bytes += packet.size
                self._container.mux(packet)
                last_pts = pts if last_pts is None else max(last_pts, pts)
                self.frames += 1
            if decoder is not None:
                for frame in decoder.decode(None):
                    on_frame(decoded, frame)
                    decoded += 1
        except av.error.FFmpegError as error:
            raise FormatError(f"copying video packets failed ({error})", path) from error
        finally:
            source.close()
        if first_pts is None:
            raise FormatError(f"no packets found for frames {first}..{first + count - 1}", path)
        start = Fraction(offset) * Fraction(time_base)
        frame = Fraction(1) / Fraction(fps).limit_denominator(1_000_000)
        stop = max(start + count * frame, Fraction(last_pts) * Fraction(time_base) + frame)
        self.end = stop
        return float(start), float(start + count * frame)

    def close(self) -> None:
        if self._container is not None:
            self._container.close()

    def abort(self) -> None:
        if self._container is not None:
            try:
                self._container.close()
            except Exception:  # noqa: BLE001, S110 - the file is thrown away
                pass
            self._container = None
