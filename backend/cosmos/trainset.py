"""Cosmos-Predict 2.5 post-training set: ``videos/<stem>.mp4`` + ``metas/<stem>.txt``.

The GR00T post-training experiment samples 93-frame windows, so a clip needs MORE than 93 frames;
shorter episodes are listed and left out (or kept on request). Stems are 1..N in episode order, as
the tutorial's users name them by hand; ``episodes.json`` records which episode each stem is.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from backend import __version__
from backend.atomic import atomic_dir
from backend.cosmos.selection import pick_camera, pick_episodes
from backend.errors import StudioError
from backend.formats import open_dataset
from backend.media.export import export_episode_video
from backend.progress import Progress, ensure_progress

DEFAULT_PROMPT_TEMPLATE = "The robot arm is performing a task. {task}"
TRAIN_WINDOW_FRAMES = 93  # predict2_video2world_training_2b_groot_gr1_480 samples 93-frame windows


@dataclass
class TrainsetOptions:
    camera: str | None = None
    prompt_template: str = DEFAULT_PROMPT_TEMPLATE
    episodes: list[int] | None = None
    keep_short: bool = False
    default_task: str = ""


@dataclass
class TrainsetSummary:
    out: str
    camera: str
    written: list[dict] = field(default_factory=list)  # {stem, episode, frames, prompt, copied}
    too_short: list[dict] = field(default_factory=list)  # {episode, frames}

    def to_dict(self) -> dict:
        return asdict(self)


def render_prompt(template: str, task: str | None) -> str:
    try:
        return template.format(task=(task or "").strip()).strip()
    except (KeyError, IndexError, ValueError) as error:
        raise StudioError(f"prompt template {template!r} is invalid ({error}); use {{task}} for the task") from error


def build_trainset(
    dataset_path: str | Path, out: str | Path, options: TrainsetOptions | None = None,
    progress: Progress | None = None,
) -> TrainsetSummary:
    options = options or TrainsetOptions()
    progress = ensure_progress(progress)
    render_prompt(options.prompt_template, "x")  # fail early on a bad template
    with open_dataset(dataset_path) as dataset:
        camera = pick_camera(dataset, options.camera)
        episodes = pick_episodes(dataset, options.episodes)
        summary = TrainsetSummary(out=str(Path(out).absolute()), camera=camera)
        kept = []
        for episode in episodes:
            if episode.length <= TRAIN_WINDOW_FRAMES and not options.keep_short:
                summary.too_short.append({"episode": episode.index, "frames": episode.length})
            else:
                kept.append(episode)
        if not kept:
            raise StudioError(
                f"no episode has more than {TRAIN_WINDOW_FRAMES} frames", dataset_path,
                "record longer episodes or pass --keep-short",
            )
        with atomic_dir(out) as tmp:
            (tmp / "videos").mkdir()
            (tmp / "metas").mkdir()
            for number, episode in enumerate(kept, start=1):
                progress.report(number - 1, len(kept), f"episode {episode.index}")
                stem = str(number)
                prompt = render_prompt(options.prompt_template, episode.task or options.default_task)
                result = export_episode_video(episode, camera, tmp / "videos" / f"{stem}.mp4", progress=progress)
                (tmp / "metas" / f"{stem}.txt").write_text(prompt + "\n", encoding="utf-8")
                summary.written.append({"stem": stem, "episode": episode.index, "frames": result["frames"],
                                        "prompt": prompt, "copied": result["copied"]})
            record = {
                "tool": f"rollout-studio {__version__}",
                "source": str(Path(dataset_path).absolute()),
                "camera": camera,
                "prompt_template": options.prompt_template,
                "episodes": summary.written,
                "too_short": summary.too_short,
            }
            (tmp / "episodes.json").write_text(json.dumps(record, indent=2, ensure_ascii=False), encoding="utf-8")
            progress.report(len(kept), len(kept), "done")
    for short in summary.too_short:
        progress.warn(f"episode {short['episode']} has {short['frames']} frames (needs > {TRAIN_WINDOW_FRAMES}): left out")
    return summary
