"""Check a LeRobot folder's videos: every file decodes, its frames fall where the episodes say, and
each episode's window (v3.0 shared files) lies inside its file."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import av
import numpy as np

from backend.errors import FormatError
from backend.formats.lerobot.common import EPISODES_DIR, INFO_PATH, TOLERANCE_S, V30
from backend.formats.lerobot.reader import LeRobotReader
from backend.formats.lerobot.stream import window_indices
from backend.formats.lerobot.validate_report import REWRITE, Report
from backend.media import VideoProbe, probe
from backend.model import Dataset, Episode, FeatureKind

# decoder names as codec names (as backend.media.probe reports them)
CODEC_NAMES = {"libdav1d": "av1", "libaom-av1": "av1", "libsvtav1": "av1", "libx264": "h264", "libx265": "hevc"}


def _decode_first(path: Path) -> str | None:
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            for _frame in container.decode(stream):
                return None
        return "no frame could be decoded"
    except (av.error.FFmpegError, OSError, IndexError) as error:
        return str(error)


def _check_video_file(
    report: Report,
    path: Path,
    cache: dict[Path, VideoProbe | None],
    dataset: Dataset,
    key: str,
) -> VideoProbe | None:
    if path in cache:
        return cache[path]
    info = None
    if not path.is_file():
        report.error(path, f"video of {key} is missing", "restore the file or " + REWRITE, "missing_file")
    else:
        try:
            info = probe(path)
        except FormatError as error:
            report.from_error(error, "re-encode or restore the video")
        if info is not None:
            problem = _decode_first(path)
            if problem:
                report.error(
                    path,
                    f"the video cannot be decoded ({problem})",
                    "re-encode or restore the video",
                    "unreadable",
                )
                info = None
    if info is not None:
        _check_rate_and_size(report, path, dataset, key, info)
    cache[path] = info
    return info


def _check_header(report: Report, path: Path, dataset: Dataset, key: str) -> VideoProbe | None:
    """The file's headers as a ``VideoProbe`` without frame times (``num_frames`` and ``start_time``
    from the stream header); None (reported) when it is missing or unreadable."""
    if not path.is_file():
        report.error(path, f"video of {key} is missing", "restore the file or " + REWRITE, "missing_file")
        return None
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            time_base = stream.time_base
            rate = stream.average_rate or stream.guessed_rate or 0
            start = float(stream.start_time * time_base) if stream.start_time is not None else 0.0
            info = VideoProbe(
                str(path), CODEC_NAMES.get(stream.codec_context.name, stream.codec_context.name),
                stream.codec_context.width, stream.codec_context.height, float(rate), int(stream.frames or 0),
                stream.codec_context.format.name if stream.codec_context.format else None,
                np.zeros(0), np.zeros(0, dtype=np.int64), start,
            )
    except (av.error.FFmpegError, OSError, IndexError, UnicodeDecodeError) as error:
        report.error(path, f"the video cannot be read ({error})", "re-encode or restore the video", "unreadable")
        return None
    _check_rate_and_size(report, path, dataset, key, info)
    return info


def _check_rate_and_size(report: Report, path: Path, dataset: Dataset, key: str, info: VideoProbe) -> None:
    """The video's rate against the dataset's (an error) and its size against info.json (a warning)."""
    if abs(info.fps - dataset.fps) > 0.01 * dataset.fps:
        report.error(
            path,
            f"video runs at {info.fps:.3f} fps, the dataset at {dataset.fps:g} fps",
            "re-encode the video at the dataset's fps",
            "video_fps",
        )
    feature = dataset.features[key]
    expected = (feature.video.height, feature.video.width) if feature.video else None
    if expected and expected != (0, 0) and expected != (info.height, info.width):
        report.warn(
            path,
            f"video is {info.width}x{info.height}, info.json says {expected[1]}x{expected[0]}",
            "fix the feature's shape in info.json",
            "video_size",
            fixable=True,
        )


def check_headers(
    report: Report,
    dataset: Dataset,
    key: str,
    cache: dict[Path, VideoProbe | None],
    codecs: dict[str, set[str]],
) -> None:
    """``validate --quick``: each file's headers once; each episode's window lies inside its file
    (its last frame starts before the file's last frame ends) and spans length / fps."""
    reader = dataset.reader
    assert isinstance(reader, LeRobotReader)
    fps = dataset.fps
    for episode in dataset.episodes:
        try:
            path = reader.episode_video_path(episode, key)
        except FormatError as error:
            report.from_error(error)
            continue
        if path not in cache:
            cache[path] = _check_header(report, path, dataset, key)
        info = cache[path]
        if info is None:
            continue
        codecs[key].add(info.codec)
        frame = 1.0 / info.fps if info.fps else 1.0 / fps
        end = info.start_time + info.num_frames * frame  # when the file's last frame ends
        if reader.version != V30:
            if info.num_frames != episode.length:
                report.error(
                    path,
                    f"video of episode {episode.index} has {info.num_frames} frames, "
                    f"the parquet {episode.length} rows",
                    "re-export the episode so every row has a frame",
                    "video_frames",
                    episode=episode.index,
                )
            continue
        video = episode.extra["lerobot"]["videos"].get(key)
        if video is None:
            report.error(
                report.root / EPISODES_DIR, f"episode {episode.index} has no {key} entries", REWRITE,
                "missing_file", episode=episode.index,
            )
            continue
        start, stop = float(video["from_timestamp"]), float(video["to_timestamp"])
        if abs((stop - start) - episode.length / fps) > TOLERANCE_S:
            report.error(
                report.root / EPISODES_DIR,
                f"episode {episode.index} {key}: to - from is {stop - start:.6f} s, length / fps is "
                f"{episode.length / fps:.6f} s",
                "fix to_timestamp",
                "video_timestamps",
                episode=episode.index,
                fixable=True,
            )
        last = start + (episode.length - 1) / fps  # when the episode's last frame is shown
        if episode.length and (last > end - frame + TOLERANCE_S or start < info.start_time - TOLERANCE_S):
            shown = max(0, min(episode.length, int(np.floor((end - start) * fps + 1e-6))))
            report.error(
                path,
                f"episode {episode.index}: the video ends after {shown} of {episode.length} frames "
                f"(the file holds {info.num_frames} frames, {end:.4f} s; the episode's window is "
                f"[{start:.4f}, {stop:.4f}) s)",
                "re-export the episode's video",
                "video_frames",
                episode=episode.index,
            )


def check_videos(report: Report, dataset: Dataset, quick: bool = False) -> None:
    """Every video file against the episodes. ``quick``: headers only (codec, size, rate, duration)
    and each episode's window against its file's duration; otherwise every frame time is read."""
    reader = dataset.reader
    assert isinstance(reader, LeRobotReader)
    cache: dict[Path, VideoProbe | None] = {}
    codecs: dict[str, set[str]] = defaultdict(set)
    for key, feature in dataset.features.items():
        if feature.kind is not FeatureKind.VIDEO or not feature.has_files:
            continue
        declared = feature.video.codec if feature.video else None
        if quick:
            check_headers(report, dataset, key, cache, codecs)
        for episode in () if quick else dataset.episodes:
            try:
                path = reader.episode_video_path(episode, key)
            except FormatError as error:
                report.from_error(error)
                continue
            info = _check_video_file(report, path, cache, dataset, key)
            if info is None:
                continue
            codecs[key].add(info.codec)
            if reader.version == V30:
                _check_window(report, path, info, episode, key, dataset.fps)
            elif info.num_frames != episode.length:
                report.error(
                    path,
                    f"video of episode {episode.index} has {info.num_frames} frames, "
                    f"the parquet {episode.length} rows",
                    "re-export the episode so every row has a frame",
                    "video_frames",
                    episode=episode.index,
                )
            else:
                _check_frame_times(report, path, info, episode, dataset.fps)
        if (
            declared
            and codecs[key]
            and declared not in codecs[key]
            and not (declared in ("av1", "libdav1d", "libaom-av1") and "av1" in codecs[key])
        ):
            report.warn(
                report.root / INFO_PATH,
                f"{key} says codec {declared!r}, the files are {sorted(codecs[key])}",
                "fix video.codec in info.json",
                "video_codec",
                fixable=True,
            )
    declared_videos = dataset.info.get("total_videos")
    files = sum(1 for path, info in cache.items() if info is not None)
    if reader.version != V30 and isinstance(declared_videos, int) and declared_videos != files:
        report.warn(
            report.root / INFO_PATH,
            f"total_videos is {declared_videos} but {files} video files are used",
            f"set total_videos to {files}",
            "totals_mismatch",
            fixable=True,
        )
    av1 = sorted(k for k, c in codecs.items() if "av1" in c)
    if av1:
        report.warn(
            report.root / "videos",
            f"videos of {av1} are AV1: GR00T / IDM tools (decord, older torchcodec) cannot decode AV1",
            "for GR00T or IDM convert to LeRobot v2.1 with codec h264",
            "av1_for_groot",
            fixable=True,
        )
    for key, found in codecs.items():
        unknown = [c for c in found if c not in ("h264", "hevc", "av1", "vp9", "mpeg4")]
        if unknown:
            report.warn(
                report.root / "videos",
                f"{key} uses codec {unknown}, which training tools may not decode",
                "re-encode to h264 or av1",
                "video_codec",
                fixable=True,
            )


def _check_frame_times(report: Report, path: Path, info: VideoProbe, episode: Episode, fps: float) -> None:
    """v2.x: one file per episode, frame i must be shown at i / fps (LeRobot's 1e-4 s check)."""
    times = np.asarray(info.frame_times, dtype=np.float64)
    if not len(times):
        return
    deviation = np.abs(times - times[0] - np.arange(len(times)) / fps)
    if deviation.max() > TOLERANCE_S:
        frame = int(np.argmax(deviation))
        report.error(
            path,
            f"episode {episode.index}: video frame {frame} is shown at {times[frame] - times[0]:.6f} s, "
            f"{frame} / fps is {frame / fps:.6f} s (LeRobot allows {TOLERANCE_S} s)",
            "re-encode the video with frame times at i / fps",
            "video_timestamps",
            episode=episode.index,
            frames=(frame,),
        )


def _check_window(
    report: Report, path: Path, info: VideoProbe, episode: Episode, key: str, fps: float
) -> None:
    video = episode.extra["lerobot"]["videos"].get(key)
    if video is None:
        report.error(
            report.root / EPISODES_DIR,
            f"episode {episode.index} has no {key} entries",
            REWRITE,
            "missing_file",
            episode=episode.index,
        )
        return
    start, stop = float(video["from_timestamp"]), float(video["to_timestamp"])
    times = info.frame_times
    inside = int(np.searchsorted(times, stop - TOLERANCE_S) - np.searchsorted(times, start - TOLERANCE_S))
    if inside != episode.length:
        report.error(
            path,
            f"episode {episode.index}: {inside} video frames lie in [{start:.4f}, {stop:.4f}) s "
            f"for {episode.length} rows",
            "fix from/to_timestamp or re-export the episode",
            "video_frames",
            episode=episode.index,
        )
    if abs((stop - start) - episode.length / fps) > TOLERANCE_S:
        report.error(
            report.root / EPISODES_DIR,
            f"episode {episode.index} {key}: to - from is {stop - start:.6f} s, length / fps is "
            f"{episode.length / fps:.6f} s",
            "fix to_timestamp",
            "video_timestamps",
            episode=episode.index,
            fixable=True,
        )
    indices = window_indices(times, start, episode.length, fps)
    if len(indices) < episode.length:
        report.error(
            path,
            f"episode {episode.index}: the video ends after {len(indices)} of {episode.length} frames",
            "re-export the episode's video",
            "video_frames",
            episode=episode.index,
        )
        return
    deviation = np.abs(times[indices] - (start + np.arange(episode.length) / fps))
    if deviation.max() > TOLERANCE_S:
        frame = int(np.argmax(deviation))
        report.error(
            path,
            f"episode {episode.index}: frame {frame} is {deviation[frame]:.6f} s away from "
            f"from_timestamp + {frame}/fps (LeRobot allows {TOLERANCE_S} s)",
            "fix from_timestamp or re-encode with frame times at i / fps",
            "video_timestamps",
            episode=episode.index,
            frames=(frame,),
        )
