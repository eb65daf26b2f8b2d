"""Re-encode a LeRobot dataset's videos to H.264 (from AV1, HEVC or anything PyAV decodes).

Frame counts and frame times stay exact (``backend.media.transcode``: frame i at i / fps), so the
parquet timestamps and v3.0 from/to timestamps keep pointing at the same frames; ``info.json`` is
updated to say what the files now are. The result is checked with the LeRobot validator before it
is published.

Into a new folder (``out``) or in place (``out=None``): the new dataset is built in a hidden sibling
and then swapped with the original in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``), so the
dataset path always holds either the old or the new dataset, whatever happens. Videos that already
are H.264 are copied unless ``force``; running again after an interruption finishes the job.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend import provenance as prov
from backend.atomic import atomic_dir
from backend.convert import video_worker
from backend.convert.common import (
    ConversionSummary,
    EpisodePlan,
    Plan,
    Timer,
    check_output_target,
    options_dict,
)
from backend.convert.readable import check_lerobot_files
from backend.errors import Cancelled, StudioError
from backend.formats import open_dataset, validate_path
from backend.media import probe, transcode
from backend.model import DatasetFormat, FeatureKind
from backend.pool import PoolError
from backend.progress import Progress, ensure_progress

KIND = "transcode"
LEROBOT_FORMATS = (DatasetFormat.LEROBOT_V20, DatasetFormat.LEROBOT_V21, DatasetFormat.LEROBOT_V30)
INFO = "meta/info.json"


@dataclass
class TranscodeOptions:
    out: Path | None = None  # None: in place
    codec: str = "h264"
    crf: int | None = None
    gop: int | None = None
    preset: str | None = None
    force: bool = False  # re-encode videos that already are H.264
    overwrite: bool = False  # replace an existing ``out``
    hash_mode: str = "auto"
    jobs: int | None = None  # worker processes (None: the usable cores); the output is the same for any


@dataclass
class _Video:
    relative: str
    key: str | None
    codec: str
    frames: int
    action: str  # "transcode" | "copy"


def _videos(root: Path, keys: list[str], options: TranscodeOptions) -> list[_Video]:
    videos = []
    for path in sorted((root / "videos").rglob("*.mp4")) if (root / "videos").is_dir() else []:
        relative = path.relative_to(root).as_posix()
        key = next((k for k in keys if k in path.relative_to(root).parts), None)
        info = probe(path)
        action = "transcode" if (options.force or info.codec != options.codec) else "copy"
        videos.append(_Video(relative, key, info.codec, info.num_frames, action))
    return videos


def _check(source: Path, options: TranscodeOptions) -> tuple[Any, list[str]]:
    if options.codec != "h264":
        raise StudioError(f"transcoding writes H.264 only, not {options.codec!r}")
    dataset = open_dataset(source)
    if dataset.format not in LEROBOT_FORMATS:
        dataset.close()
        raise StudioError(
            f"is a {dataset.format.value} dataset; transcoding works on LeRobot folders", source
        )
    keys = [k for k, f in dataset.features.items() if f.kind is FeatureKind.VIDEO]
    return dataset, keys


def default_out(source: Path) -> Path:
    """Where a transcode goes without ``--out``: ``<SRC>_h264`` beside the source (never in place)."""
    source = Path(os.path.abspath(os.path.expanduser(source)))
    return source.with_name(f"{source.name}_h264")


def _target(source: Path, options: TranscodeOptions) -> Path:
    return Path(os.path.abspath(os.path.expanduser(options.out))) if options.out else default_out(source)


def plan(source: Path, options: TranscodeOptions) -> Plan:
    source = Path(source)
    target = _target(source, options)
    result = Plan(KIND, str(target), "")
    try:
        check_output_target(target, options.overwrite, [source])
    except StudioError as error:
        result.errors.append(error.message)
    try:
        dataset, keys = _check(source, options)
    except StudioError as error:
        result.errors.append(error.message)
        return result
    try:
        result.output_format = dataset.format.value
        videos = _videos(source, keys, options)
        for episode in dataset.episodes:
            result.episodes.append(
                EpisodePlan(
                    str(source),
                    episode.index,
                    f"episode {episode.index}",
                    episode.length,
                    True,
                    output_index=episode.index,
                    frames_out=episode.length,
                    task=episode.task or "",
                )
            )
        result.tree = [
            f"{v.relative}  ({v.codec} -> h264)"
            if v.action == "transcode"
            else f"{v.relative}  (already {v.codec}: copied)"
            for v in videos
        ]
        result.tree += [INFO + "  (codec updated)", prov.LEROBOT_FILE]
        todo = [v for v in videos if v.action == "transcode"]
        result.details = {
            "videos": len(videos),
            "to_transcode": len(todo),
            "frames_to_encode": sum(v.frames for v in todo),
            "codecs": sorted({v.codec for v in videos}),
        }
        if not videos:
            result.errors.append("the dataset has no video files")
        elif not todo:
            result.warnings.append(
                "every video already is H.264: nothing to re-encode (use force to re-encode)"
            )
    finally:
        dataset.close()
    return result


def _update_info(folder: Path, keys_done: set[str], results: dict[str, dict[str, Any]]) -> None:
    path = folder / INFO
    info = json.loads(path.read_text(encoding="utf-8"))
    for key, feature in info.get("features", {}).items():
        if key not in keys_done or not isinstance(feature, dict):
            continue
        block_name = "info" if isinstance(feature.get("info"), dict) else "video_info"
        block = feature.setdefault(block_name, {})
        result = results.get(key, {})
        block["video.codec"] = "h264"
        block["video.pix_fmt"] = "yuv420p"
        for name, value in (
            ("video.g", result.get("gop")),
            ("video.crf", result.get("crf")),
            ("video.preset", result.get("preset")),
        ):
            if name in block and value is not None:
                block[name] = value
    tmp = path.with_name(".info.json.tmp")
    tmp.write_text(json.dumps(info, indent=4, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def _write(
    source: Path,
    tmp: Path,
    target: Path,
    todo: list[Any],
    total: int,
    known: set[Any],
    record: dict[str, Any],
    summary: ConversionSummary,
    options: TranscodeOptions,
    progress: Progress,
) -> None:
    """Fill ``tmp`` with the transcoded dataset (it becomes ``target`` when this returns)."""
    # everything that is not a video to transcode is copied (never linked: the source stays the user's)
    keep = _copy
    video_paths = {v.relative for v in todo}
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source).as_posix()
        if path.is_dir() or relative in video_paths or relative == prov.LEROBOT_FILE:
            continue
        keep(path, tmp / relative)
    results = _encode_videos(source, tmp, todo, total, options, progress)
    _update_info(tmp, set(results), results)
    prov.write_lerobot_provenance(tmp, record)
    problems = [p for p in validate_path(tmp) if p.severity == "error"]
    new = [p for p in problems if _problem_key(p, tmp) not in known]
    if new:
        line = new[0].line().replace(str(tmp), str(target))
        raise StudioError(f"the transcoded dataset does not validate: {line}", target)
    for problem in problems:
        message = f"{problem.line().replace(str(tmp), str(source))} (carried over from the source)"
        summary.warnings.append(message)
        progress.warn(message)


def run(source: Path, options: TranscodeOptions, progress: Progress | None = None) -> ConversionSummary:
    progress = ensure_progress(progress)
    timer = Timer()
    source = Path(os.path.abspath(os.path.expanduser(source)))
    target = _target(source, options)
    check_output_target(target, options.overwrite, [source])
    dataset, keys = _check(source, options)
    try:
        # files other than the re-encoded videos are copied as they are: a corrupt one stops here
        check_lerobot_files(source)
        fmt = dataset.format.value
        episodes = [(e.index, e.length) for e in dataset.episodes]
    finally:
        dataset.close()
    videos = _videos(source, keys, options)
    summary = ConversionSummary(KIND, str(target), fmt)
    # problems the source already has (e.g. the GR00T demo data's quirks) are carried over, not blamed
    # on the transcode; only new ones stop it
    known = {_problem_key(p, source) for p in validate_path(source) if p.severity == "error"}
    todo = [v for v in videos if v.action == "transcode"]
    total = sum(v.frames for v in todo)
    progress.report(0, total, "hashing the input")
    record = prov.new_record(
        KIND, [(source, "source")], options_dict(options), target, fmt, options.hash_mode
    )
    for index, length in episodes:
        prov.add_episode(record, index, 0, index, f"episode {index}", 0, length)
    with atomic_dir(target, overwrite=options.overwrite, inputs=[source]) as tmp:
        _write(source, tmp, target, todo, total, known, record, summary, options, progress)
    summary.episodes_written = len(episodes)
    summary.frames_written = sum(length for _, length in episodes)
    summary.provenance = record
    summary.details = {
        "videos_transcoded": len(todo),
        "videos_copied": len(videos) - len(todo),
        "video_frames_encoded": total,
    }
    summary.seconds = timer.seconds
    with contextlib.suppress(Cancelled):  # the output is published: too late to cancel
        progress.report(total, total, "done")
    return summary


def _encode_videos(
    source: Path, tmp: Path, todo: list[_Video], total: int, options: TranscodeOptions, progress: Progress
) -> dict[str, dict[str, Any]]:
    """Re-encode ``todo`` into ``tmp`` (one task per video), checked in order; results per camera key."""
    results: dict[str, dict[str, Any]] = {}
    if not todo:
        return results
    if not video_worker.available():  # in-process: here, one after the other
        return _encode_here(source, tmp, todo, total, options, progress)
    jobs = video_worker.VideoJobs(video_worker.workers_for(options.jobs, len(todo)))
    try:
        settings = {"codec": "h264", "crf": options.crf, "gop": options.gop, "preset": options.preset}
        groups = []
        for number, video in enumerate(todo):
            src, dst = source / video.relative, tmp / video.relative
            dst.parent.mkdir(parents=True, exist_ok=True)
            groups.append((number, [{"kind": "transcode", "src": str(src), "dst": str(dst), **settings}]))
        jobs.add_groups(groups)
        for number, video in enumerate(todo):

            def report(name: str = video.relative) -> None:
                progress.report(jobs.progress(), total, f"encoding {Path(name).name}")

            try:
                (result,) = jobs.wait(number, report)
            except PoolError as error:
                failed = todo[error.task] if error.task is not None else video
                raise StudioError(
                    f"cannot transcode {failed.relative} ({error})", source / failed.relative
                ) from None
            _check_result(source, video, result)
            if video.key:
                results[video.key] = result
    finally:
        jobs.close()  # before the staging folder goes: a worker still writing would make it again
    return results


def _encode_here(
    source: Path, tmp: Path, todo: list[_Video], total: int, options: TranscodeOptions, progress: Progress
) -> dict[str, dict[str, Any]]:
    done = 0
    results: dict[str, dict[str, Any]] = {}
    for video in todo:
        offset = done

        class _Sub(Progress):
            def report(self, d: int, t: int, text: str = "", _o: int = offset) -> None:  # noqa: ARG002
                progress.report(_o + d, total, text)

        (tmp / video.relative).parent.mkdir(parents=True, exist_ok=True)
        result = transcode(
            source / video.relative,
            tmp / video.relative,
            codec="h264",
            crf=options.crf,
            gop=options.gop,
            preset=options.preset,
            progress=_Sub(),
            threads=video_worker.ENCODER_THREADS,
        )
        _check_result(source, video, result)
        if video.key:
            results[video.key] = result
        done += video.frames
    return results


def _check_result(source: Path, video: _Video, result: dict[str, Any]) -> None:
    if result.get("retimed"):
        raise StudioError(
            f"{video.relative} has frames off the 1/fps grid: re-encoding would move them",
            source / video.relative,
            "the parquet timestamps would no longer match",
        )


def _problem_key(problem: Any, root: Path) -> tuple[str, str]:
    """A validation problem without the dataset's location, to match source and output problems."""
    where = str(root)
    return problem.file.replace(where, ""), problem.problem.replace(where, "")


def _copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dst)
