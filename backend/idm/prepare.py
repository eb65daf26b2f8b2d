"""Cosmos outputs -> the raw v2.1-style dataset GR00T-Dreams' IDM dump reads, in one step.

Replaces the tutorial's grouping script, split_video_instruction.py, preprocess_video.py and
raw_to_lerobot.py: samples are grouped by prompt (task folders with safe names), videos are
letterboxed to the embodiment's 256x256 at 16 fps, and a LeRobot v2.1 dataset is written with zero
state/action placeholders, tasks/episodes jsonl and the embodiment's modality.json + stats.json.
The IDM takes the embodiment from the folder name up to the first dot, so the output folder must
start with the embodiment key (``so101.cosmos_pick``). With ``split_tasks`` every task folder
becomes its own dataset ``<out>/<key>.<Task_Folder>`` (what the tutorial's step 4 makes per task).

A sample's prompt is the ``prompt`` (or ``prompt_path``) of its ``<name>.json``; without one, the
task of the source dataset's episode whose index ends the sample name (``..._episode_000012``,
``..._000012_seed3``). Every sample left out is reported with its reason; nothing is dropped silently.
"""

from __future__ import annotations

import copy
import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from backend import provenance as prov
from backend.atomic import atomic_dir, check_output, remove_empty_dir
from backend.convert.common import options_dict
from backend.episode_tasks import EpisodeTasks, Task, TaskFailed, worker_count
from backend.errors import FormatError, StudioError
from backend.formats import open_dataset, open_writer
from backend.formats.base import CameraSpec, WriterSpec
from backend.formats.cosmos_outputs import prompt_of, sample_json
from backend.idm import prepare_worker
from backend.idm.kit import build_modality, build_stats, load_preset
from backend.idm.names import task_folder_name
from backend.media.probe import probe
from backend.model import Dataset, DatasetFormat, Feature, FeatureKind
from backend.progress import Progress, ensure_progress

_TRAILING_NUMBER = re.compile(r"(\d+)(?:_seed\d+)?$")
_SEED_SUFFIX = re.compile(r"^(?P<base>.+)_seed(?P<seed>\d+)$")
SUMMARY_NAME = "rollout_studio_idm_prepare.json"
ENCODING = ".encoding"  # the workers' videos, in the output's temporary folder until adopted
VIDEO = {"codec": "h264", "gop": 30, "crf": 18, "preset": "veryfast"}  # the IDM dataset's encoder


@dataclass
class PrepareOptions:
    embodiment: str | dict[str, Any] = "so101"  # preset key, preset file, or a preset dict
    source_dataset: str | None = None  # prompt fallback and stats source
    metadata_dir: str | None = (
        None  # a folder with modality.json + stats.json (e.g. a kit's global_metadata/<emb>)
    )
    min_frames: int = 93
    fps: float | None = None  # default: the preset's idm_fps (16)
    camera: str | None = None  # the embodiment video key to write (default: the preset's first)
    split_tasks: bool = False  # one dataset per task folder: <out>/<key>.<Task_Folder>
    overwrite: bool = False  # replace an earlier output of the studio (never anything else)
    jobs: int | None = None  # worker processes encoding samples; None: one per usable core


@dataclass
class PrepareSummary:
    out: str
    datasets: list[str] = field(default_factory=list)  # written dataset folders
    episodes: list[dict[str, Any]] = field(
        default_factory=list
    )  # {episode, name, task, task_folder, frames, ...}
    skipped: list[dict[str, str]] = field(default_factory=list)  # {sample, reason}
    tasks: dict[str, str] = field(default_factory=dict)  # task folder -> prompt
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Sample:
    name: str
    video: Path
    frames: int
    fps: float
    width: int
    height: int
    codec: str
    prompt: str
    prompt_from: str  # "json" | "source episode N"
    folder: str = ""


def source_index_of(name: str) -> int | None:
    """The source episode a Cosmos sample came from: the number ending its name, if any."""
    match = _TRAILING_NUMBER.search(name)
    return int(match.group(1)) if match else None


def check_out_name(out: Path, key: str, split_tasks: bool = False) -> None:
    if split_tasks:
        return
    if out.name.split(".")[0] != key or "." not in out.name:
        raise StudioError(
            f"IDM dataset folder must be named '{key}.<name>' (the IDM reads the embodiment from the name up to "
            "the first dot)",
            out,
            f"name it e.g. {key}.{out.name.split('.')[-1] or 'generated'}",
        )


def _scan(
    cosmos_out: Path, source: Dataset | None, fps: float, min_frames: int
) -> tuple[list[_Sample], list[dict[str, str]]]:
    """Every sample of the folder: usable ones with their prompt, and the skipped ones with a reason."""
    if not cosmos_out.is_dir():
        raise StudioError("Cosmos output folder not found", cosmos_out)
    videos = sorted((p for p in cosmos_out.glob("*.mp4") if p.is_file()), key=lambda p: _natural(p.stem))
    samples: list[_Sample] = []
    skipped: list[dict[str, str]] = []
    stems = {v.stem for v in videos}
    for json_path in sorted(cosmos_out.glob("*.json"), key=lambda p: _natural(p.stem)):
        has_seed_videos = any(
            _SEED_SUFFIX.match(s) and _SEED_SUFFIX.match(s)["base"] == json_path.stem for s in stems
        )
        if json_path.stem not in stems and not has_seed_videos:
            skipped.append(
                {
                    "sample": json_path.stem,
                    "reason": f"{json_path.name} has no {json_path.stem}.mp4 beside it",
                }
            )
    source_tasks = {e.index: e.task for e in source.episodes} if source is not None else {}
    for video in videos:
        name = video.stem
        try:
            info = probe(video)
        except FormatError as error:
            skipped.append({"sample": name, "reason": f"unreadable video ({error.problem})"})
            continue
        try:
            _json_path, args = sample_json(video)
        except FormatError as error:
            skipped.append({"sample": name, "reason": f"{Path(error.path or '').name}: {error.problem}"})
            continue
        prompt, prompt_from = prompt_of(args, video), "json"
        if not prompt:
            index = source_index_of(name)
            why = "no <name>.json" if args is None else "its json has no prompt"
            if source is None:
                skipped.append(
                    {"sample": name, "reason": f"{why} and no source dataset to take the task from"}
                )
                continue
            if index is None:
                skipped.append({"sample": name, "reason": f"{why} and its name ends in no episode number"})
                continue
            if index not in source_tasks:
                skipped.append(
                    {"sample": name, "reason": f"{why} and the source dataset has no episode {index}"}
                )
                continue
            if not source_tasks[index]:
                skipped.append({"sample": name, "reason": f"{why} and source episode {index} has no task"})
                continue
            prompt, prompt_from = source_tasks[index].strip(), f"source episode {index}"
        if abs(info.fps - fps) > 1e-3:
            skipped.append({"sample": name, "reason": f"{info.fps:g} fps, the IDM expects {fps:g} fps"})
            continue
        if info.num_frames < min_frames:
            skipped.append(
                {
                    "sample": name,
                    "reason": f"{info.num_frames} frames, the IDM expects at least {min_frames} at {fps:g} fps",
                }
            )
            continue
        samples.append(
            _Sample(
                name,
                video,
                info.num_frames,
                info.fps,
                info.width,
                info.height,
                info.codec,
                prompt,
                prompt_from,
            )
        )
    return samples, skipped


def _natural(text: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def _group(samples: list[_Sample]) -> dict[str, list[_Sample]]:
    """Task folder -> samples, folders named after the prompt; distinct prompts get distinct folders."""
    folder_of: dict[str, str] = {}
    groups: dict[str, list[_Sample]] = {}
    for sample in samples:
        if sample.prompt not in folder_of:
            base = folder = task_folder_name(sample.prompt)
            n = 2
            while folder in groups:  # two prompts that differ only in punctuation
                folder, n = f"{base}_{n}", n + 1
            folder_of[sample.prompt] = folder
            groups[folder] = []
        sample.folder = folder_of[sample.prompt]
        groups[sample.folder].append(sample)
    return dict(sorted(groups.items()))


def _resolve(options: PrepareOptions) -> tuple[dict[str, Any], float, str]:
    preset = load_preset(options.embodiment)
    fps = float(options.fps or preset.get("idm_fps", 16))
    camera = options.camera or preset["video_keys"][0]
    return preset, fps, camera


def plan_prepare(
    cosmos_out: str | Path, out: str | Path | None, options: PrepareOptions | None = None
) -> dict[str, Any]:
    """The wizard's preview: samples kept and skipped (with reasons), task folders, output names."""
    options = options or PrepareOptions()
    preset, fps, camera = _resolve(options)
    key = preset["key"]
    errors: list[str] = []
    warnings: list[str] = []
    source = open_dataset(options.source_dataset) if options.source_dataset else None
    try:
        samples, skipped = _scan(Path(cosmos_out), source, fps, options.min_frames)
        if source is not None and not options.metadata_dir:
            missing = [k for k in (preset["state_key"], preset["action_key"]) if k not in source.features]
            if missing:
                errors.append(
                    f"the source dataset has no {missing} for stats.json: use the LeRobot dataset the IDM was "
                    "trained on, or a kit's global_metadata folder"
                )
    finally:
        if source is not None:
            source.close()
    groups = _group(samples)
    if out is not None:
        try:
            check_out_name(Path(out), key, options.split_tasks)
        except StudioError as error:
            errors.append(f"{error.problem} ({error.hint})")
    if not samples:
        errors.append("no usable sample")
    if not options.metadata_dir and not options.source_dataset:
        errors.append(
            "stats.json needs the training dataset (source dataset) or a kit's global_metadata folder"
        )
    width, height = preset.get("idm_size", [256, 256])
    sizes = {(s.width, s.height) for s in samples}
    for w, h in sorted(sizes):
        if abs(w / h - width / height) > 0.01:
            warnings.append(f"{w}x{h} videos are letterboxed to {width}x{height} with black bars")
    codecs = sorted({s.codec for s in samples} - {"h264"})
    if codecs:
        warnings.append(f"videos in {codecs} are re-encoded to H.264")
    out_path = Path(out) if out is not None else None
    names = (
        [f"{key}.{folder}" for folder in groups]
        if options.split_tasks
        else [out_path.name if out_path is not None else f"{key}.generated"]
    )
    return {
        "embodiment": key,
        "fps": fps,
        "camera": camera,
        "size": [width, height],
        "samples": [
            {
                "sample": s.name,
                "frames": s.frames,
                "fps": s.fps,
                "size": f"{s.width}x{s.height}",
                "prompt": s.prompt,
                "prompt_from": s.prompt_from,
                "task_folder": s.folder,
                "kept": True,
                "reason": "",
            }
            for s in samples
        ]
        + [{"sample": s["sample"], "kept": False, "reason": s["reason"]} for s in skipped],
        "tasks": {folder: group[0].prompt for folder, group in groups.items()},
        "skipped": skipped,
        "datasets": names,
        "errors": errors,
        "warnings": warnings,
    }


def prepare_idm_dataset(
    cosmos_out: str | Path,
    out: str | Path,
    options: PrepareOptions | None = None,
    progress: Progress | None = None,
) -> PrepareSummary:
    options = options or PrepareOptions()
    progress = ensure_progress(progress)
    preset, fps, camera = _resolve(options)
    key = preset["key"]
    out = Path(out).absolute()
    check_out_name(out, key, options.split_tasks)
    check_output(out, [cosmos_out, options.source_dataset, options.metadata_dir], options.overwrite)
    source = open_dataset(options.source_dataset) if options.source_dataset else None
    try:
        samples, skipped = _scan(Path(cosmos_out), source, fps, options.min_frames)
        if not samples:
            raise StudioError(
                "no usable sample",
                cosmos_out,
                "; ".join(f"{s['sample']}: {s['reason']}" for s in skipped[:5])
                or "the folder has no Cosmos <name>.mp4 videos",
            )
        modality, stats = _metadata(preset, camera, source, options.metadata_dir, progress)
    finally:
        if source is not None:
            source.close()
    groups = _group(samples)
    summary = PrepareSummary(
        out=str(out), skipped=skipped, tasks={folder: group[0].prompt for folder, group in groups.items()}
    )
    width, height = preset.get("idm_size", [256, 256])
    total = len(samples)
    done = [0]  # samples written
    # a provenance record that chains to the source dataset's own (and so to the source HDF5), so
    # that the IDM output (which keeps meta/) converts back to HDF5 with the right demos and offsets
    inputs: list[tuple[str | Path, str]] = [(Path(cosmos_out), "cosmos_outputs")]
    if options.source_dataset:
        inputs.append((Path(options.source_dataset), "source"))
    progress.report(0, total, "hashing the inputs")
    record = prov.new_record(
        "idm_prepare", inputs, options_dict(options), out, DatasetFormat.LEROBOT_V21.value
    )
    record.update({"operation": "idm prepare", "embodiment": key})
    with atomic_dir(
        out, overwrite=options.overwrite, inputs=[cosmos_out, options.source_dataset, options.metadata_dir]
    ) as tmp:
        encodes = _start_encoding(groups, tmp / ENCODING, fps, (width, height), options.jobs)
        try:
            written = (tmp, preset, camera, (width, height), fps, modality, stats, record)
            if options.split_tasks:
                for folder, group in groups.items():
                    name = f"{key}.{folder}"
                    _write_dataset(
                        *written,
                        {folder: group},
                        out / name,
                        options,
                        summary,
                        progress,
                        done,
                        total,
                        encodes,
                    )
                    summary.datasets.append(str(out / name))
            else:
                _write_dataset(*written, groups, out, options, summary, progress, done, total, encodes)
                for item in (tmp / ".dataset").iterdir():
                    os.replace(item, tmp / item.name)
                remove_empty_dir(tmp / ".dataset")
                summary.datasets.append(str(out))
        finally:
            encodes.close()  # before the temporary folder goes: a worker still encoding would refill it
        remove_empty_dir(tmp / ENCODING)
        record_path = tmp / SUMMARY_NAME if options.split_tasks else tmp / "meta" / SUMMARY_NAME
        record_path.write_text(
            json.dumps(summary.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    progress.report(total, total, "done")
    for item in skipped:
        progress.warn(f"skipped {item['sample']}: {item['reason']}")
    for warning in summary.warnings:
        progress.warn(warning)
    return summary


def _start_encoding(
    groups: dict[str, list[_Sample]], folder: Path, fps: float, size: tuple[int, int], jobs: int | None
) -> EpisodeTasks:
    """One task per sample, in the order the samples are written: ``folder``/<n>.mp4 (n from 0)."""
    samples = [sample for group in groups.values() for sample in group]
    video = {"width": size[0], "height": size[1], "fps": fps, "image_stats": False, **VIDEO}
    folder = folder.absolute()
    folder.mkdir()
    tasks = [
        Task(k, {"source": str(sample.video.absolute()), "out": str(folder / f"{k:06d}.mp4"), "video": video})
        for k, sample in enumerate(samples)
    ]
    workers = worker_count(jobs, len(samples))
    return EpisodeTasks.started(prepare_worker.MODULE, prepare_worker.run_task, workers, tasks)


def _write_dataset(
    tmp: Path,
    preset: dict[str, Any],
    camera: str,
    size: tuple[int, int],
    fps: float,
    modality: dict[str, Any],
    stats: dict[str, Any],
    base_record: dict[str, Any],
    groups: dict[str, list[_Sample]],
    final_path: Path,
    options: PrepareOptions,
    summary: PrepareSummary,
    progress: Progress,
    done: list[int],
    total: int,
    encodes: EpisodeTasks,
) -> None:
    key = preset["key"]
    target = tmp / (final_path.name if options.split_tasks else ".dataset")
    joints = _joint_names(preset)
    width, height = size

    def vector(name: str) -> Feature:
        return Feature(name, FeatureKind.VECTOR, "float32", (len(joints),), [f"{j}.pos" for j in joints])

    record = copy.deepcopy(base_record)
    record["output"]["path"] = str(final_path)
    spec = WriterSpec(
        fps=fps,
        robot_type=key,
        features={"observation.state": vector("observation.state"), "action": vector("action")},
        cameras=[CameraSpec(camera, width, height)],
        options={
            **VIDEO,
            "modality": modality,
            "tasks": [group[0].prompt for group in groups.values()],
            "image_stats": False,
        },
        provenance=record,
    )
    zeros = np.zeros(len(joints), dtype=np.float32)
    writer = open_writer(DatasetFormat.LEROBOT_V21, target, spec)
    written: list[tuple[int, _Sample]] = []
    try:
        for folder, group in groups.items():
            for sample in group:
                progress.report(done[0], total, sample.name)
                sink = writer.begin_episode(sample.prompt)
                try:
                    video = _encoded(encodes, done[0], sample, progress, total)
                    rows = np.broadcast_to(zeros, (int(video["frames"]), len(joints)))
                    sink.add_frames({"observation.state": rows, "action": rows})
                    sink.add_encoded_video(
                        camera, Path(video["out"]), int(video["frames"]), None, video["settings"]
                    )
                    out_index = sink.end(success=True)
                except BaseException:
                    sink.discard()
                    raise
                written.append((out_index, sample))
                source_episode = source_index_of(sample.name)
                if options.source_dataset and source_episode is not None:
                    # generated frame 0 continues the source episode's first frame: offset 0
                    prov.add_episode(
                        record,
                        out_index,
                        1,
                        source_episode,
                        f"episode {source_episode}",
                        0,
                        sample.frames,
                        sample=sample.name,
                    )
                summary.episodes.append(
                    {
                        "dataset": target.name if options.split_tasks else "",
                        "episode": out_index,
                        "name": sample.name,
                        "task": sample.prompt,
                        "task_folder": folder,
                        "prompt_from": sample.prompt_from,
                        "frames": sample.frames,
                        "source_episode": source_index_of(sample.name),
                    }
                )
                done[0] += 1
        writer.finish()
    except BaseException:
        writer.abort()
        raise
    meta = target / "meta"
    (meta / "stats.json").write_text(json.dumps(stats, indent=4) + "\n", encoding="utf-8")
    _verify(target, camera, fps, written, summary)


def _encoded(
    encodes: EpisodeTasks, number: int, sample: _Sample, progress: Progress, total: int
) -> dict[str, Any]:
    """Sample ``number``'s video from the workers (its path in ``out``), checked against the sample."""
    try:
        (result,) = encodes.results(number, lambda: progress.report(number, total, sample.name))
    except TaskFailed as error:
        raise FormatError(
            f"cannot prepare sample {sample.name} ({error.about(sample.video)})", sample.video
        ) from None
    if int(result["frames"]) != sample.frames:
        raise FormatError(f"gave {result['frames']} frames, {sample.frames} expected", sample.video)
    return result


def _verify(
    target: Path, camera: str, fps: float, written: list[tuple[int, _Sample]], summary: PrepareSummary
) -> None:
    """Frame counts and fps of what was written, against the samples."""
    info = json.loads((target / "meta" / "info.json").read_text(encoding="utf-8"))
    if abs(float(info["fps"]) - fps) > 1e-6:
        raise StudioError(f"wrote fps {info['fps']}, expected {fps:g}", target)
    for index, sample in written:
        video = target / info["video_path"].format(
            episode_chunk=index // int(info.get("chunks_size", 1000)),
            video_key=f"observation.images.{camera}",
            episode_index=index,
        )
        result = probe(video)
        if result.num_frames != sample.frames or abs(result.fps - fps) > 1e-3:
            raise StudioError(
                f"episode {index} has {result.num_frames} frames at {result.fps:g} fps, expected "
                f"{sample.frames} at {fps:g}",
                video,
            )


def _joint_names(preset: dict[str, Any]) -> list[str]:
    slices = preset.get("action_slices")
    if slices:
        width = max(int(v[1]) for v in slices.values())
        names = [""] * width
        for name, (start, end) in slices.items():
            for i in range(int(start), int(end)):
                names[i] = name if end - start == 1 else f"{name}_{i - int(start)}"
        return [n or f"dim_{i}" for i, n in enumerate(names)]
    return list(preset["joints"])


def _metadata(
    preset: dict[str, Any], camera: str, source: Dataset | None, metadata_dir: str | None, progress: Progress
) -> tuple[dict[str, Any], dict[str, Any]]:
    if metadata_dir:
        folder = Path(metadata_dir)
        try:
            modality = json.loads((folder / "modality.json").read_text(encoding="utf-8"))
            stats = json.loads((folder / "stats.json").read_text(encoding="utf-8"))
        except FileNotFoundError as error:
            raise StudioError(
                f"missing {Path(error.filename).name}",
                folder,
                "point --metadata at a kit's global_metadata/<embodiment> folder",
            ) from error
        except json.JSONDecodeError as error:
            raise StudioError(f"invalid JSON ({error})", folder) from error
        return modality, stats
    if source is None:
        raise StudioError(
            "stats.json needs the real dataset's statistics",
            hint="pass --source-dataset (the LeRobot dataset the IDM was trained on) or --metadata DIR",
        )
    return build_modality(preset, [camera]), build_stats(
        source, preset["state_key"], preset["action_key"], progress
    )
