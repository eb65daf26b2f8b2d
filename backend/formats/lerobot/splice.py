"""Cut a video window that starts inside a GOP: re-encode only up to the next keyframe, copy the rest.

A window whose first frame is not a keyframe cannot be copied packet by packet (its first frames
reference frames before it). Instead of decoding and encoding the whole window, ``write_spliced``
re-encodes only the frames from the cut to the first keyframe at or after it, with the source's own
encoder settings, and copies the packets from that keyframe on. Both parts go into one stream that
keeps the source's codec parameters (its ``avcC`` extradata), so the result can be appended to files
that hold copied windows of the same source.

That only works when the re-encoded part's stream headers (SPS/PPS) equal the source's byte for byte:
``matching_settings`` opens libx264 with candidate settings (the dataset's ``video.crf`` / ``video.g``
/ ``video.preset`` hints, the crf and keyint the source's x264 wrote into its first packet, every x264
preset) and compares the headers, without encoding anything. Sources with B-frames, codecs other than
h264, or headers no setting reproduces are refused (``cut_plan`` says why) and the caller re-encodes
the whole window as before.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from backend.errors import FormatError
from backend.media import VideoProbe

X264_PRESETS = (
    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo",
)  # fmt: skip


@dataclass(frozen=True)
class CutPlan:
    """What happens to one window of one video: ``copy`` (packets only), ``splice`` (``encoded``
    frames re-encoded up to a keyframe, ``copied`` frames copied) or ``encode`` (the whole window
    decoded and encoded again, ``reason`` says why)."""

    mode: str
    encoded: int
    copied: int
    reason: str = ""

    def describe(self) -> str:
        if self.mode == "copy":
            return f"{self.copied} frames copied"
        if self.mode == "splice":
            return f"{self.encoded} frame(s) re-encoded to the next keyframe, {self.copied} copied"
        return f"all {self.encoded} frames re-encoded ({self.reason})"


# -- h264 headers ---------------------------------------------------------------------------------
def _annexb_units(data: bytes) -> list[bytes]:
    """NAL units of an Annex B byte stream (start codes 00 00 01 / 00 00 00 01)."""
    starts = [m.end() for m in re.finditer(b"\x00\x00\x01", data)]
    units = []
    for number, start in enumerate(starts):
        stop = starts[number + 1] - 3 if number + 1 < len(starts) else len(data)
        units.append(data[start:stop].rstrip(b"\x00") if number + 1 < len(starts) else data[start:stop])
    return [u for u in units if u]


def _avcc_headers(extradata: bytes) -> tuple[int, list[bytes]] | None:
    """(NAL length size, SPS + PPS units) of an ``avcC`` record; None when it is not one."""
    if len(extradata) < 7 or extradata[0] != 1:
        return None
    length_size = (extradata[4] & 3) + 1
    units: list[bytes] = []
    at = 5
    try:
        for kind in ("sps", "pps"):
            count = extradata[at] & (0x1F if kind == "sps" else 0xFF)
            at += 1
            for _ in range(count):
                size = int.from_bytes(extradata[at : at + 2], "big")
                units.append(bytes(extradata[at + 2 : at + 2 + size]))
                at += 2 + size
    except IndexError:
        return None
    return length_size, units


def _x264_options(path: Path) -> dict[str, str]:
    """The ``options:`` x264 writes into the first packet's SEI (``crf=30.0 keyint=2 bframes=0 ...``)."""
    container = av.open(str(path))
    try:
        for packet in container.demux(container.streams.video[0]):
            if packet.size:
                text = bytes(packet)[:4096]
                found = re.search(rb"options: ([ -~]*)", text)
                if not found:
                    return {}
                pairs = (item.split("=", 1) for item in found[1].decode("ascii").split() if "=" in item)
                return dict(pairs)
    finally:
        container.close()
    return {}


def _encoder(info: VideoProbe, rate: Fraction, options: dict[str, str]) -> av.CodecContext:
    context = av.CodecContext.create("libx264", "w")
    context.width, context.height = info.width, info.height
    context.pix_fmt = info.pix_fmt or "yuv420p"
    context.time_base = 1 / rate
    context.framerate = rate
    context.flags |= av.codec.context.Flags.global_header  # headers in extradata, not in packets
    context.options = dict(options)
    return context


def _trial_headers(info: VideoProbe, rate: Fraction, options: dict[str, str]) -> list[bytes] | None:
    try:
        context = _encoder(info, rate, options)
        context.open()
    except (av.error.FFmpegError, ValueError):
        return None
    return [u for u in _annexb_units(bytes(context.extradata or b"")) if u[0] & 0x1F in (7, 8)]


_SETTINGS: dict[tuple[str, int, int], tuple[dict[str, Any] | None, str]] = {}
_SETTINGS_LOCK = threading.Lock()


def matching_settings(
    path: Path, info: VideoProbe, hints: dict[str, Any] | None = None
) -> tuple[dict[str, Any] | None, str]:
    """Encoder settings whose stream headers equal ``path``'s (None and the reason when none do).

    ``hints``: the dataset's video info (``video.crf``, ``video.g``, ``video.preset``). Cached per file.
    """
    stat = os.stat(path)
    key = (str(Path(path).absolute()), stat.st_size, stat.st_mtime_ns)
    with _SETTINGS_LOCK:
        if key in _SETTINGS:
            return _SETTINGS[key]
    found = _search_settings(Path(path), info, hints or {})
    with _SETTINGS_LOCK:
        _SETTINGS[key] = found
    return found


def _search_settings(
    path: Path, info: VideoProbe, hints: dict[str, Any]
) -> tuple[dict[str, Any] | None, str]:
    if info.codec != "h264":
        return None, f"splicing needs h264, the source is {info.codec}"
    if info.reordered:
        return None, "the source has B-frames (frames reordered)"
    container = av.open(str(path))
    try:
        headers = _avcc_headers(bytes(container.streams.video[0].codec_context.extradata or b""))
    finally:
        container.close()
    if headers is None:
        return None, "the source's h264 headers are not in avcC form"
    length_size, wanted = headers
    written = _x264_options(path)
    if not written:
        return None, "the source was not written by x264 (its settings are unknown)"
    bframes = written.get("bframes", "0")  # allowed when no frame is reordered (GOP 2: B-frames unused)
    crfs = [f"{float(v):g}" for v in (hints.get("video.crf"), written.get("crf")) if v not in (None, "")]
    gops = [str(v) for v in (hints.get("video.g"), written.get("keyint")) if v not in (None, "")]
    presets = [str(hints["video.preset"])] if hints.get("video.preset") else []
    presets += [p for p in ("veryfast", "medium", *X264_PRESETS) if p not in presets]
    fps = Fraction(info.fps).limit_denominator(1001)
    rates = [fps] + ([1 / info.time_base] if info.time_base else [])
    matches: list[dict[str, Any]] = []
    for crf in dict.fromkeys(crfs or ["30"]):
        for gop in dict.fromkeys(gops or ["2"]):
            for preset in presets:
                for rate in rates:
                    options = {"crf": crf, "preset": preset, "g": gop, "bf": bframes}
                    if _trial_headers(info, rate, options) == wanted:
                        matches.append({"options": options, "rate": rate, "length_size": length_size})
    if not matches:
        return None, "no x264 setting reproduces the source's stream headers"
    for match in matches:  # several presets share headers: prefer the one x264 wrote the same options for
        if _same_options(_trial_options(info, match["rate"], match["options"]), written):
            return match, ""
    return matches[0], ""


def _same_options(a: dict[str, str], b: dict[str, str]) -> bool:
    def kept(options: dict[str, str]) -> dict[str, str]:
        return {k: v for k, v in options.items() if "thread" not in k}

    return bool(a) and kept(a) == kept(b)


def _trial_options(info: VideoProbe, rate: Fraction, options: dict[str, str]) -> dict[str, str]:
    """The options x264 writes into its first packet for ``options`` (one grey frame encoded)."""
    context = _encoder(info, rate, options)
    context.open()
    frame = av.VideoFrame(info.width, info.height, info.pix_fmt or "yuv420p")
    for plane in frame.planes:
        plane.update(bytes([128]) * plane.buffer_size)
    frame.pts = 0
    for packet in [*context.encode(frame), *context.encode(None)]:
        found = re.search(rb"options: ([ -~]*)", bytes(packet)[:4096])
        if found:
            return dict(i.split("=", 1) for i in found[1].decode("ascii").split() if "=" in i)
    return {}


# -- planning ---------------------------------------------------------------------------------------
def cut_plan(
    path: Path, info: VideoProbe, first: int, count: int, hints: dict[str, Any] | None = None
) -> CutPlan:
    """How frames ``first .. first + count - 1`` of ``path`` can be cut (see ``CutPlan``)."""
    from backend.formats.lerobot.remux import remux_problem

    problem = remux_problem(path, info, first, count)
    if problem is None:
        return CutPlan("copy", 0, count)
    keyframes = [int(k) for k in info.keyframes if first < k < first + count]
    if first in {int(k) for k in info.keyframes} or not keyframes:
        reason = problem if keyframes else "no keyframe inside the window"
        return CutPlan("encode", count, 0, reason)
    settings, reason = matching_settings(path, info, hints)
    if settings is None:
        return CutPlan("encode", count, 0, reason)
    key = keyframes[0]
    rest = remux_problem(path, info, key, first + count - key)
    if rest is not None:
        return CutPlan("encode", count, 0, rest)
    return CutPlan("splice", key - first, first + count - key)


# -- writing ----------------------------------------------------------------------------------------
def _to_length_prefixed(data: bytes, length_size: int) -> bytes:
    return b"".join(len(u).to_bytes(length_size, "big") + u for u in _annexb_units(data))


def _decode_range(path: Path, info: VideoProbe, first: int, stop: int) -> list[np.ndarray]:
    """yuv420p planes (as one array each) of frames ``first .. stop - 1``, decoded from the keyframe before."""
    container = av.open(str(path))
    try:
        stream = container.streams.video[0]
        start = info.keyframe_before(first)
        if start > 0:
            container.seek(int(info.pts[start]), stream=stream, backward=True, any_frame=False)
        wanted = {int(info.pts[i]): i for i in range(first, stop)}
        frames: dict[int, np.ndarray] = {}
        for frame in container.decode(stream):
            index = wanted.get(int(frame.pts)) if frame.pts is not None else None
            if index is not None:
                frames[index] = frame.to_ndarray(format=info.pix_fmt or "yuv420p")
            if len(frames) == len(wanted) or (frame.pts is not None and frame.pts > info.pts[stop - 1]):
                break
    finally:
        container.close()
    if len(frames) != stop - first:
        raise FormatError(f"decoded {len(frames)} of frames {first}..{stop - 1}", path)
    return [frames[i] for i in range(first, stop)]


def _decode_delay(container: av.container.InputContainer, info: VideoProbe, key: int) -> int:
    """dts - pts of the keyframe packet ``key`` (0, or minus a frame when x264 kept a B-frame delay)."""
    from backend.formats.lerobot.remux import _window_packets

    for packet in _window_packets(container, info, key, 1):
        return 0 if packet.dts is None else int(packet.dts) - int(packet.pts)
    return 0


def write_spliced(
    path: Path, info: VideoProbe, first: int, count: int, out: Path, hints: dict[str, Any] | None = None
) -> CutPlan:
    """Write frames ``first .. first + count - 1`` of ``path`` to the mp4 ``out`` as one stream: the
    frames before the first keyframe re-encoded, the rest copied. Raises FormatError when the window
    cannot be spliced (``cut_plan`` says why); frame times start at 0 on the source's time grid."""
    from backend.formats.lerobot.remux import _window_packets

    plan = cut_plan(path, info, first, count, hints)
    if plan.mode != "splice":
        raise FormatError(f"cannot splice frames {first}..{first + count - 1}: {plan.reason}", path)
    settings, _ = matching_settings(path, info, hints)
    assert settings is not None
    key = first + plan.encoded
    try:
        pictures = _decode_range(path, info, first, key)
    except (av.error.FFmpegError, ValueError) as error:
        raise FormatError(f"decoding frames {first}..{key - 1} failed ({error})", path) from error
    origin = int(info.pts[first])
    source = av.open(str(path))
    output = av.open(str(out), mode="w", format="mp4")
    try:
        src = source.streams.video[0]
        target = output.add_stream_from_template(template=src, opaque=True)
        target.time_base = src.time_base
        encoder = _encoder(info, settings["rate"], settings["options"])
        encoder.open()
        packets: list[av.Packet] = []
        for number, picture in enumerate(pictures):
            frame = av.VideoFrame.from_ndarray(picture, format=info.pix_fmt or "yuv420p")
            frame.pts = number
            if number:  # P-frames only (keyframes where the GOP says): decode order is display order
                frame.pict_type = av.video.frame.PictureType.P
            packets += encoder.encode(frame)
        packets += encoder.encode(None)
        order = [int(packet.pts) for packet in packets]
        if order != list(range(len(pictures))):
            raise FormatError(f"the encoder gave frames {order} for {len(pictures)} frames in order", path)
        delay = _decode_delay(source, info, key)
        for packet in packets:
            copy = av.Packet(_to_length_prefixed(bytes(packet), settings["length_size"]))
            copy.pts = int(info.pts[first + int(packet.pts)]) - origin
            copy.dts = copy.pts + delay  # the source's decode delay (x264 with bframes > 0 keeps one)
            copy.time_base = src.time_base
            copy.is_keyframe = packet.is_keyframe
            copy.stream = target
            output.mux(copy)
        for packet in _window_packets(source, info, key, first + count - key):
            packet.pts -= origin
            packet.dts = packet.pts if packet.dts is None else packet.dts - origin
            packet.stream = target
            output.mux(packet)
    except BaseException as error:
        source.close()
        with contextlib.suppress(Exception):  # the half file is thrown away by the caller
            output.close()
        if isinstance(error, (av.error.FFmpegError, ValueError)):
            raise FormatError(f"splicing the video failed ({error})", path) from error
        raise
    source.close()
    try:
        output.close()
    except av.error.FFmpegError as error:
        raise FormatError(f"finishing the spliced video failed ({error})", path) from error
    return plan
