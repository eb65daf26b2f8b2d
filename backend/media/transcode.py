"""Whole-file and segment conversions that keep frame counts and frame times exact.

``transcode`` decodes and re-encodes (H.264 by default): frame i of the output is at i / fps.
``remux_segment`` cuts frames [start, stop) out of a file by copying packets (no re-encode, so the
frames are bit-identical) when ``start`` is a keyframe, and re-encodes otherwise (or raises).
This is what a LeRobot v3.0 -> v2.1 conversion needs: one mp4 per episode, same pixels.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import av
import numpy as np

from backend.atomic import atomic_file
from backend.errors import FormatError, StudioError
from backend.media.encoder import CODECS, VideoEncoder
from backend.media.probe import VideoProbe, probe
from backend.media.reader import VideoReader
from backend.progress import Progress, ensure_progress

REMUX = "remux"
REENCODE = "reencode"


def _grid_error(info: VideoProbe, start: int, stop: int) -> float:
    """Largest distance (s) of frames start..stop-1 from the exact grid (i - start) / fps."""
    times = info.frame_times[start:stop] - info.frame_times[start]
    grid = np.arange(stop - start, dtype=np.float64) / info.fps
    return float(np.max(np.abs(times - grid))) if len(times) else 0.0


def transcode(
    src: str | Path,
    dst: str | Path,
    codec: str = "h264",
    crf: int | None = None,
    gop: int | None = None,
    preset: str | int | None = None,
    pix_fmt: str = "yuv420p",
    start: int = 0,
    stop: int | None = None,
    fps: float | None = None,
    progress: Progress | None = None,
    threads: int | None = None,
) -> dict[str, Any]:
    """Re-encode frames [start, stop) of ``src`` to ``dst`` (atomic). Frame i lands at i / fps.

    ``threads``: encoder threads, on this thread (None: the encoder's own thread and the codec's
    default count). A fixed count gives the same bytes on any machine: worker pools use 1.

    Returns {"method": "reencode", "frames", "fps", "codec", "crf", "gop", "preset", "retimed"};
    ``retimed`` is True when the source frames were not on an exact 1/fps grid (variable frame rate).
    """
    progress = ensure_progress(progress)
    info = probe(src)
    stop = info.num_frames if stop is None else int(stop)
    start = int(start)
    if not 0 <= start < stop <= info.num_frames:
        raise StudioError(f"frames {start}..{stop - 1} outside the video's 0..{info.num_frames - 1}", src)
    out_fps = float(fps or info.fps)
    retimed = fps is None and _grid_error(info, start, stop) > 1e-4
    if retimed:
        progress.warn(f"{src}: frames are not on an exact 1/{info.fps:g} s grid; output is constant-rate")
    total = stop - start
    reader = VideoReader(src, cache_frames=1)
    try:
        with atomic_file(dst, overwrite=True, inputs=[src]) as tmp:  # replaces only its own earlier file
            writer = VideoEncoder(
                tmp,
                info.width,
                info.height,
                out_fps,
                codec=codec,
                crf=crf,
                gop=gop,
                preset=preset,
                pix_fmt=pix_fmt,
                threaded=threads is None,
                options=None if threads is None else {"threads": str(int(threads))},
            )
            try:
                for done, rgb in enumerate(reader.frames(start, stop), start=1):
                    writer.write(rgb)
                    if done % 16 == 0 or done == total:
                        progress.report(done, total, f"encoding {Path(dst).name}")
                if writer.frames_written != total:
                    raise FormatError(f"decoded {writer.frames_written} of {total} frames", src)
                writer.close()
            except BaseException:
                writer.abort()
                raise
            result = probe(tmp)
            if result.num_frames != total:
                raise StudioError(f"encoder wrote {result.num_frames} frames instead of {total}", dst)
    finally:
        reader.close()
    return {
        "method": REENCODE,
        "frames": total,
        "fps": out_fps,
        "codec": codec,
        "crf": writer.crf,
        "gop": writer.gop,
        "preset": writer.preset,
        "retimed": retimed,
    }


class _CannotRemux(Exception):
    pass


def can_remux(info: VideoProbe, start: int, stop: int) -> str | None:
    """None when packets [start, stop) can be copied as they are; else the reason why not."""
    keys = set(int(k) for k in info.keyframes)
    if start not in keys:
        return f"frame {start} is not a keyframe (keyframes near it: {info.keyframe_before(start)})"
    if info.reordered and stop != info.num_frames and stop not in keys:
        return f"the video has B-frames and frame {stop} (the end) is not a keyframe"
    return None


def remux_segment(
    src: str | Path,
    dst: str | Path,
    start_index: int,
    stop_index: int,
    fallback: bool = True,
    codec: str | None = None,
    crf: int | None = None,
    gop: int | None = None,
    preset: str | int | None = None,
    progress: Progress | None = None,
) -> str:
    """Write frames [start_index, stop_index) of ``src`` to ``dst`` (atomic), first frame at t=0.

    Copies the packets when ``start_index`` is a keyframe (frames stay bit-identical) and returns
    "remux"; otherwise re-encodes (codec: the source's when the writer has it, else H.264) and
    returns "reencode", or raises FormatError with ``fallback=False``.
    """
    info = probe(src)
    start, stop = int(start_index), int(stop_index)
    if not 0 <= start < stop <= info.num_frames:
        raise StudioError(f"frames {start}..{stop - 1} outside the video's 0..{info.num_frames - 1}", src)
    reason = can_remux(info, start, stop)
    if reason is None:
        try:
            _remux(info, Path(src), Path(dst), start, stop)
            ensure_progress(progress).report(stop - start, stop - start, f"copied {Path(dst).name}")
            return REMUX
        except _CannotRemux as error:
            reason = str(error)
    if not fallback:
        raise FormatError(f"cannot copy frames {start}..{stop - 1} without re-encoding: {reason}", src)
    out_codec = codec or (info.codec if info.codec in CODECS else "h264")
    transcode(
        src, dst, codec=out_codec, crf=crf, gop=gop, preset=preset, start=start, stop=stop, progress=progress
    )
    return REENCODE


def _remux(info: VideoProbe, src: Path, dst: Path, start: int, stop: int) -> None:
    assert info.pts is not None
    start_pts = int(info.pts[start])
    stop_pts = int(info.pts[stop]) if stop < info.num_frames else math.inf
    with atomic_file(dst, overwrite=True, inputs=[src]) as tmp:  # replaces only its own earlier file
        try:
            source = av.open(str(src))
        except (av.error.FFmpegError, OSError) as error:
            raise FormatError(f"cannot open video ({error})", src) from error
        try:
            in_stream = source.streams.video[0]
            with av.open(str(tmp), mode="w", format="mp4") as target:
                out_stream = target.add_stream_from_template(in_stream)
                if start > 0:
                    source.seek(start_pts, stream=in_stream, backward=True, any_frame=False)
                copied = 0
                started = False
                for packet in source.demux(in_stream):
                    if packet.pts is None or packet.size == 0:
                        continue
                    if not started:
                        if packet.pts < start_pts:
                            continue  # the seek landed early: skip to the keyframe
                        if packet.pts != start_pts or not packet.is_keyframe:
                            raise _CannotRemux(f"packets do not start at keyframe {start}")
                        started = True
                    if packet.pts >= stop_pts:
                        if not info.reordered or packet.is_keyframe:
                            break
                        raise _CannotRemux("a frame of the segment references frames after its end")
                    if packet.pts < start_pts:
                        raise _CannotRemux("a frame of the segment references frames before its start")
                    packet.pts -= start_pts
                    if packet.dts is not None:
                        packet.dts -= start_pts
                    packet.stream = out_stream
                    target.mux(packet)
                    copied += 1
        except av.error.FFmpegError as error:
            raise FormatError(f"copying frames {start}..{stop - 1} failed ({error})", src) from error
        finally:
            source.close()
        if copied != stop - start:
            raise _CannotRemux(f"copied {copied} packets for {stop - start} frames")
        out = probe(tmp)
        expected = info.frame_times[start:stop] - info.frame_times[start]
        if out.num_frames != stop - start or float(np.max(np.abs(out.frame_times - expected))) > 1e-6:
            raise _CannotRemux("the copy's frame times differ from the source's")
