"""Cosmos-Predict 2.5 post-training set: ``videos/<stem>.mp4`` + ``metas/<stem>.txt``.

The GR00T post-training experiment samples 93-frame windows, so a clip needs MORE than 93 frames;
shorter episodes are listed and left out (or kept on request). Stems are 1..N in episode order, as
the tutorial's users name them by hand; ``episodes.json`` records which episode each stem is.
Videos must be H.264: a per-episode H.264 file is copied as is, anything else (AV1, a window of a
shared v3.0 file, a trimmed episode, HDF5 images) is encoded to H.264.

``plan_trainset`` says what ``build_trainset`` will do without writing anything (the wizard's
preview); both take the same options.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from backend import __version__
from backend.atomic import atomic_dir, check_output
from backend.cosmos import trainset_worker
from backend.cosmos.selection import Selected, pick_camera, select
from backend.episode_tasks import EpisodeTasks, Task, TaskFailed, worker_count
from backend.errors import FormatError, StudioError
from backend.formats import open_dataset
from backend.media.export import plain_file_of
from backend.progress import Progress, ensure_progress

DEFAULT_PROMPT_TEMPLATE = "The robot arm is performing a task. {task}"
TRAIN_WINDOW_FRAMES = 93  # predict2_video2world_training_2b_groot_gr1_480 samples 93-frame windows


@dataclass
class TrainsetOptions:
    camera: str | None = None
    prompt_template: str = DEFAULT_PROMPT_TEMPLATE
    episodes: list[int] | None = None
    keep_short: bool = False
    default_task: str = ""  # used when an episode has no task
    curation: bool | str | None = None  # True: the dataset's curation sidecar; a path: that file
    overwrite: bool = False  # replace an earlier training set of the studio (never anything else)
    jobs: int | None = None  # worker processes writing episodes; None: one per usable core


@dataclass
class TrainsetSummary:
    out: str
    camera: str
    written: list[dict] = field(default_factory=list)  # {stem, episode, frames, prompt, copied, source_codec}
    too_short: list[dict] = field(default_factory=list)  # {episode, frames}
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def render_prompt(template: str, task: str | None) -> str:
    """``template`` with ``{task}`` replaced by the episode's task (other braces: ``{{`` ``}}``)."""
    try:
        return template.format(task=(task or "").strip()).strip()
    except (KeyError, IndexError, ValueError, AttributeError) as error:
        raise StudioError(
            f"prompt template {template!r} is invalid ({error})",
            hint="use {task} for the episode's task and {{ }} for literal braces",
        ) from error


def short_message(too_short: list[dict]) -> str:
    listed = ", ".join(f"{s['episode']} ({s['frames']} frames)" for s in too_short[:20])
    more = f" and {len(too_short) - 20} more" if len(too_short) > 20 else ""
    return f"episodes with {TRAIN_WINDOW_FRAMES} frames or fewer: {listed}{more}"


def _rows(selection: list[Selected], options: TrainsetOptions) -> list[dict[str, Any]]:
    rows = []
    stem = 0
    for item in selection:
        short = item.length <= TRAIN_WINDOW_FRAMES
        kept = not short or options.keep_short
        row: dict[str, Any] = {
            "episode": item.index,
            "frames": item.length,
            "range": [item.start, item.stop],
            "task": item.task or options.default_task or "",
            "kept": kept,
            "reason": (f"{item.length} frames, needs more than {TRAIN_WINDOW_FRAMES}" if short else ""),
        }
        if kept:
            stem += 1
            row["stem"] = str(stem)
            row["prompt"] = render_prompt(options.prompt_template, row["task"])
        rows.append(row)
    return rows


def _video_plan(selection: list[Selected], camera: str) -> dict[int, str]:
    """episode -> 'copy' (already a per-episode H.264 file) or 'encode' (with the source codec)."""
    plans = {}
    for item in selection:
        stream = item.episode.stream(camera)
        try:
            codec = stream.codec or "images"
            plain = plain_file_of(stream) if item.whole else None
        finally:
            stream.close()
        plans[item.index] = "copy" if plain is not None else f"encode {codec} -> h264"
    return plans


def plan_trainset(dataset_path: str | Path, options: TrainsetOptions | None = None) -> dict[str, Any]:
    """What ``build_trainset`` would write: episodes kept/left out and why, prompts, copy or encode."""
    options = options or TrainsetOptions()
    render_prompt(options.prompt_template, "x")
    with open_dataset(dataset_path) as dataset:
        camera = pick_camera(dataset, options.camera)
        selection = select(dataset, options.episodes, options.curation)
        rows = _rows(selection, options)
        videos = _video_plan(selection, camera)
        for row in rows:
            row["video"] = videos[row["episode"]]
        cameras = sorted(dataset.cameras)
    kept = [r for r in rows if r["kept"]]
    short = [
        {"episode": r["episode"], "frames": r["frames"]} for r in rows if r["frames"] <= TRAIN_WINDOW_FRAMES
    ]
    errors, warnings = [], []
    if not kept:
        errors.append(
            f"no episode has more than {TRAIN_WINDOW_FRAMES} frames ({short_message(short)}); "
            "keep short episodes to write them anyway"
        )
    elif short and not options.keep_short:
        warnings.append(f"left out: {short_message(short)}")
    elif short:
        warnings.append(
            f"kept although too short for the {TRAIN_WINDOW_FRAMES}-frame training window: "
            f"{short_message(short)}"
        )
    for row in kept:
        if not row["task"]:
            warnings.append(f"episode {row['episode']} has no task: its prompt is {row['prompt']!r}")
    return {
        "camera": camera,
        "cameras": cameras,
        "episodes": rows,
        "too_short": short,
        "errors": errors,
        "warnings": warnings,
        "tree": ["videos/" + f"{r['stem']}.mp4" for r in kept[:50]]
        + ["metas/" + f"{r['stem']}.txt" for r in kept[:50]]
        + ["episodes.json"],
    }


def build_trainset(
    dataset_path: str | Path,
    out: str | Path,
    options: TrainsetOptions | None = None,
    progress: Progress | None = None,
) -> TrainsetSummary:
    options = options or TrainsetOptions()
    progress = ensure_progress(progress)
    render_prompt(options.prompt_template, "x")  # fail early on a bad template
    check_output(out, [dataset_path], options.overwrite)
    with open_dataset(dataset_path) as dataset:
        camera = pick_camera(dataset, options.camera)
        selection = select(dataset, options.episodes, options.curation)
        rows = _rows(selection, options)
        summary = TrainsetSummary(out=str(Path(out).absolute()), camera=camera)
        summary.too_short = [
            {"episode": r["episode"], "frames": r["frames"]}
            for r in rows
            if r["frames"] <= TRAIN_WINDOW_FRAMES
        ]
        kept = [(item, row) for item, row in zip(selection, rows, strict=True) if row["kept"]]
        if not kept:
            raise StudioError(
                f"no episode has more than {TRAIN_WINDOW_FRAMES} frames: {short_message(summary.too_short)}",
                dataset_path,
                "record longer episodes, or pass --keep-short",
            )
        with atomic_dir(out, options.overwrite, [dataset_path]) as tmp:
            (tmp / "videos").mkdir()
            (tmp / "metas").mkdir()
            videos = _start_videos(dataset, dataset_path, camera, kept, tmp / "videos", options.jobs)
            try:
                for number, (item, row) in enumerate(kept):
                    text = f"episode {item.index}"
                    progress.report(number, len(kept), text)
                    try:
                        (result,) = videos.results(
                            number, lambda t=text, n=number: progress.report(n, len(kept), t)
                        )
                    except TaskFailed as error:
                        raise FormatError(
                            f"cannot write episode {item.index} ({error.about(dataset_path)})", dataset_path
                        ) from None
                    stem = row["stem"]
                    (tmp / "metas" / f"{stem}.txt").write_text(
                        row["prompt"], encoding="utf-8"
                    )  # no newline: the caption as is
                    summary.written.append(
                        {
                            "stem": stem,
                            "episode": item.index,
                            "frames": result["frames"],
                            "range": row["range"],
                            "prompt": row["prompt"],
                            "copied": result["copied"],
                            "source_codec": result["source_codec"],
                        }
                    )
            finally:
                videos.close()  # before the temporary folder goes: a worker still writing would refill it
            if summary.too_short and not options.keep_short:
                summary.warnings.append(f"left out {short_message(summary.too_short)}")
            elif summary.too_short:
                summary.warnings.append(f"kept although too short: {short_message(summary.too_short)}")
            record = {
                "tool": f"rollout-studio {__version__}",
                "operation": "cosmos trainset",
                "source": str(Path(dataset_path).absolute()),
                "camera": camera,
                "prompt_template": options.prompt_template,
                "curation": str(options.curation) if options.curation else None,
                "episodes": summary.written,
                "too_short": summary.too_short,
                "keep_short": options.keep_short,
            }
            (tmp / "episodes.json").write_text(
                json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
            progress.report(len(kept), len(kept), "done")
    for warning in summary.warnings:
        progress.warn(warning)
    return summary


def _needs_encoding(item: Selected, camera: str) -> bool:
    """Whether the episode's video is encoded (not copied); an unreadable one is left to the task,
    whose error names the episode."""
    try:
        return _video_plan([item], camera)[item.index] != "copy"
    except StudioError:
        return True


def _start_videos(
    dataset: Any,
    path: str | Path,
    camera: str,
    kept: list[tuple[Selected, dict]],
    folder: Path,
    jobs: int | None,
) -> EpisodeTasks:
    """One task per kept episode (``folder``/<stem>.mp4), run by worker processes (each opens the
    dataset itself) or here on the open ``dataset`` (one worker, or nothing to encode)."""
    source, folder = str(Path(path).absolute()), folder.absolute()
    tasks = [
        Task(
            number,
            {
                "dataset": source,
                "episode": item.index,
                "camera": camera,
                "start": item.start,
                "stop": item.stop,
                "out": str(folder / f"{row['stem']}.mp4"),
            },
        )
        for number, (item, row) in enumerate(kept)
    ]
    # a plain copy gains nothing from a worker process (benchmarks/export_parallel_f.py: 2 workers
    # took twice as long as this process): workers only when episodes must be encoded
    workers = worker_count(jobs, sum(1 for item, _ in kept if _needs_encoding(item, camera)))
    return EpisodeTasks.started(
        trainset_worker.MODULE, partial(trainset_worker.run_task, dataset=dataset), workers, tasks
    )


def read_trainset(path: str | Path) -> list[dict[str, Any]]:
    """Check a post-training set folder: one txt per mp4, same stems; returns {stem, frames, prompt}."""
    from backend.media.probe import probe

    path = Path(path)
    videos = {p.stem: p for p in (path / "videos").glob("*.mp4")}
    metas = {p.stem: p for p in (path / "metas").glob("*.txt")}
    if not videos:
        raise StudioError("no videos/*.mp4", path)
    missing = sorted(set(videos) ^ set(metas))
    if missing:
        raise StudioError(f"videos and metas do not pair up: {missing}", path)
    items = []
    for stem in sorted(videos, key=lambda s: (len(s), s)):
        info = probe(videos[stem])
        items.append(
            {
                "stem": stem,
                "frames": info.num_frames,
                "codec": info.codec,
                "fps": info.fps,
                "width": info.width,
                "height": info.height,
                "prompt": metas[stem].read_text(encoding="utf-8").strip(),
            }
        )
    return items
