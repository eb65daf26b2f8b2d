"""Cosmos outputs -> the raw v2.1-style dataset GR00T-Dreams' IDM dump reads, in one step.

Replaces the tutorial's grouping script, split_video_instruction.py, preprocess_video.py and
raw_to_lerobot.py: samples are grouped by prompt (task folders with safe names), videos are
letterboxed to the embodiment's 256x256 at 16 fps, and a LeRobot v2.1 dataset is written with zero
state/action placeholders, tasks/episodes jsonl and the embodiment's modality.json + stats.json.
The IDM takes the embodiment from the folder name up to the first dot, so the output folder must
start with the embodiment key (``so101.cosmos_pick``).
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from backend import __version__
from backend.atomic import atomic_dir
from backend.errors import StudioError
from backend.formats import open_dataset, open_writer
from backend.formats.base import CameraSpec, WriterSpec
from backend.formats.cosmos_outputs import open as open_cosmos_outputs
from backend.idm.kit import build_modality, build_stats, load_preset
from backend.idm.names import task_folder_name
from backend.media.export import letterbox
from backend.model import DatasetFormat, Feature, FeatureKind
from backend.progress import Progress, ensure_progress

_TRAILING_NUMBER = re.compile(r"(\d+)(?:_seed\d+)?$")


@dataclass
class PrepareOptions:
    embodiment: str = "so101"
    source_dataset: str | None = None  # prompt fallback and stats source
    metadata_dir: str | None = None  # a folder with modality.json + stats.json (e.g. a kit's global_metadata/<emb>)
    min_frames: int = 93
    fps: float = 16.0
    camera: str | None = None  # the embodiment video key to write (default: the preset's first)


@dataclass
class PrepareSummary:
    out: str
    episodes: list[dict[str, Any]] = field(default_factory=list)  # {episode, name, task, task_folder, frames}
    skipped: list[dict[str, str]] = field(default_factory=list)  # {sample, reason}
    tasks: dict[str, str] = field(default_factory=dict)  # task folder -> prompt

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def source_index_of(name: str, position: int) -> int:
    """The source episode a Cosmos sample came from: the trailing number of its name, else its position."""
    match = _TRAILING_NUMBER.search(name)
    return int(match.group(1)) if match else position


def prepare_idm_dataset(
    cosmos_out: str | Path, out: str | Path, options: PrepareOptions | None = None,
    progress: Progress | None = None,
) -> PrepareSummary:
    options = options or PrepareOptions()
    progress = ensure_progress(progress)
    preset = load_preset(options.embodiment)
    key = preset["key"]
    out = Path(out).absolute()
    if out.name.split(".")[0] != key:
        raise StudioError(
            f"IDM dataset folder must start with the embodiment key '{key}' (the IDM reads it from the name)",
            out, f"name it e.g. {key}.{out.name}",
        )
    camera = options.camera or preset["video_keys"][0]

    with contextlib.ExitStack() as stack:
        source = stack.enter_context(open_dataset(options.source_dataset)) if options.source_dataset else None
        cosmos = stack.enter_context(open_cosmos_outputs(Path(cosmos_out)))
        summary = _prepare(cosmos, source, preset, camera, out, options, progress)
    for skipped in summary.skipped:
        progress.warn(f"skipped {skipped['sample']}: {skipped['reason']}")
    return summary


def _prepare(cosmos, source, preset, camera, out: Path, options: PrepareOptions, progress: Progress) -> PrepareSummary:
    key = preset["key"]
    joints = preset["joints"]
    width, height = preset.get("idm_size", [256, 256])
    modality, stats = _metadata(preset, camera, source, options.metadata_dir, progress)
    summary = PrepareSummary(out=str(out))
    # group samples by task, as the IDM pipeline's task folders would
    groups: dict[str, list[tuple[Any, str]]] = {}
    for position, episode in enumerate(cosmos.episodes):
        name = episode.extra["name"]
        prompt = episode.task
        if not prompt and source is not None:
            index = source_index_of(name, position)
            try:
                prompt = source.episode(index).task
            except StudioError:
                prompt = None
        if not prompt:
            summary.skipped.append({"sample": name, "reason": "no prompt in its json and no source episode task"})
            continue
        if abs(episode.extra["fps"] - options.fps) > 1e-3:
            summary.skipped.append({"sample": name, "reason": f"fps {episode.extra['fps']:g}, the IDM expects {options.fps:g}"})
            continue
        if episode.length < options.min_frames:
            summary.skipped.append({"sample": name, "reason": f"{episode.length} frames, the IDM expects at least {options.min_frames}"})
            continue
        groups.setdefault(prompt, []).append((episode, name))
    if not groups:
        raise StudioError("no usable sample", cosmos.path, "; ".join(f"{s['sample']}: {s['reason']}" for s in summary.skipped[:5]))

    folders: dict[str, str] = {}
    for prompt in groups:
        folder = task_folder_name(prompt)
        base, n = folder, 2
        while folder in folders.values():  # two prompts that differ only in punctuation
            folder, n = f"{base}_{n}", n + 1
        folders[prompt] = folder
    summary.tasks = {folders[p]: p for p in groups}

    vector = lambda name: Feature(name, FeatureKind.VECTOR, "float32", (len(joints),),  # noqa: E731
                                  [f"{j}.pos" for j in joints])
    spec = WriterSpec(
        fps=options.fps,
        robot_type=key,
        features={"observation.state": vector("observation.state"), "action": vector("action")},
        cameras=[CameraSpec(camera, width, height)],
        options={"codec": "h264", "gop": 30, "crf": 18},
        provenance={"tool": f"rollout-studio {__version__}", "operation": "idm prepare",
                    "inputs": [str(cosmos.path.absolute())] + ([str(options.source_dataset)] if source else []),
                    "embodiment": key},
    )
    total = sum(len(v) for v in groups.values())
    zeros = np.zeros(len(joints), dtype=np.float32)
    with atomic_dir(out, overwrite=True) as tmp:
        dataset_dir = tmp / "dataset"
        writer = open_writer(DatasetFormat.LEROBOT_V21, dataset_dir, spec)
        try:
            done = 0
            for prompt in sorted(groups, key=lambda p: folders[p]):
                for episode, name in groups[prompt]:
                    progress.report(done, total, name)
                    sink = writer.begin_episode(prompt)
                    stream = episode.stream("video")
                    try:
                        for index in range(stream.num_frames):
                            frame = letterbox(stream.frame(index), width, height)
                            sink.add_frame({"observation.state": zeros, "action": zeros}, {camera: frame})
                    finally:
                        stream.close()
                    out_index = sink.end(success=True)
                    summary.episodes.append({"episode": out_index, "name": name, "task": prompt,
                                             "task_folder": folders[prompt], "frames": episode.length,
                                             "source_episode": source_index_of(name, episode.index)})
                    done += 1
            writer.finish()
        except BaseException:
            writer.abort()
            raise
        for item in dataset_dir.iterdir():
            shutil.move(str(item), tmp / item.name)
        dataset_dir.rmdir()
        meta = tmp / "meta"
        (meta / "modality.json").write_text(json.dumps(modality, indent=4) + "\n", encoding="utf-8")
        (meta / "stats.json").write_text(json.dumps(stats, indent=4) + "\n", encoding="utf-8")
        (meta / "rollout_studio_idm_prepare.json").write_text(
            json.dumps(summary.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return summary


def _metadata(preset: dict[str, Any], camera: str, source, metadata_dir: str | None,
              progress: Progress) -> tuple[dict[str, Any], dict[str, Any]]:
    if metadata_dir:
        folder = Path(metadata_dir)
        try:
            modality = json.loads((folder / "modality.json").read_text(encoding="utf-8"))
            stats = json.loads((folder / "stats.json").read_text(encoding="utf-8"))
        except FileNotFoundError as error:
            raise StudioError(f"missing {Path(error.filename).name}", folder,
                              "point --metadata at a folder with modality.json and stats.json") from error
        except json.JSONDecodeError as error:
            raise StudioError(f"invalid JSON ({error})", folder) from error
        return modality, stats
    if source is None:
        raise StudioError(
            "stats.json needs the real dataset's statistics",
            hint="pass --source-dataset (the LeRobot dataset the IDM was trained on) or --metadata DIR",
        )
    return build_modality(preset, [camera]), build_stats(source, preset["state_key"], preset["action_key"], progress)
