"""LeRobot v3.0 -> v2.1 (what GR00T and the IDM tools read) and v2.x -> v3.0.

v2.1 output: meta/episodes.jsonl, tasks.jsonl, episodes_stats.jsonl, one parquet and one mp4 per
episode (each episode's frames cut out of the shared v3.0 file at its from/to timestamps, frame
exactly), optional meta/modality.json, task indices kept. Videos are copied packet by packet
(bit-identical frames) unless a re-encode is asked for or needed: with ``codec="h264"`` (the
default towards v2.1, because decord and older torchcodec cannot read AV1) videos that are not H.264
are re-encoded to H.264; ``reencode`` re-encodes all of them.

Subtasks travel (docs/subtasks.md): the source's ``subtask_index`` + ``meta/subtasks.parquet`` or
LeRobot 0.6 language columns are read as segments and written afresh, by default as ``subtask_index``
+ ``meta/subtasks.parquet`` (the one schema both versions hold; ``subtasks`` asks for another).

The copy itself is ``backend.formats.lerobot.copy_dataset``; this module adds the plan, the
modality.json, the subtasks, the provenance record and one atomic publish of the whole folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend import provenance as prov
from backend.atomic import atomic_dir, remove_empty_dir
from backend.convert import versions_copy, video_worker
from backend.convert.common import (
    ConversionSummary,
    EpisodePlan,
    Plan,
    Timer,
    check_output_target,
    lerobot_tree,
    options_dict,
)
from backend.errors import StudioError
from backend.formats import open_dataset
from backend.formats.lerobot.meta import declared_joint_unit
from backend.model import Dataset, DatasetFormat, FeatureKind
from backend.progress import Progress, ensure_progress
from backend.units import SO101_JOINTS, base_joint_name

KIND = "lerobot_versions"
TARGETS = {"v2.1": DatasetFormat.LEROBOT_V21, "v3.0": DatasetFormat.LEROBOT_V30}
SOURCES = {
    "v2.1": (DatasetFormat.LEROBOT_V30,),
    "v3.0": (DatasetFormat.LEROBOT_V20, DatasetFormat.LEROBOT_V21),
}
MODALITY_FILE = "meta/modality.json"


@dataclass
class LerobotVersionOptions:
    out: Path
    target: str = "v2.1"  # "v2.1" | "v3.0"
    codec: str = "h264"  # "keep": copy packets; "h264": re-encode videos that are not H.264
    reencode: bool = False  # re-encode every video (to H.264, or the source codec with codec="keep")
    crf: int | None = None
    gop: int | None = None
    preset: str | None = None
    modality: str = "auto"  # "auto" | "none" | path to a modality.json (v2.1 only)
    jobs: int | None = None  # re-encoding worker processes (None: the usable cores); same output for any
    overwrite: bool = False
    hash_mode: str = "auto"
    subtasks: str = "auto"  # auto (= index) | none | index | language | both (v3.0 only), as curate export


def kind_for(target: str) -> str:
    return "lerobot_v3_to_v2" if target == "v2.1" else "lerobot_v2_to_v3"


def so101_modality(dataset: Dataset) -> dict[str, Any] | None:
    """A GR00T modality.json for SO-101 datasets (arm + gripper slices per arm), else None."""
    groups: dict[str, dict[str, Any]] = {}
    for role, key in (("state", "observation.state"), ("action", "action")):
        feature = dataset.features.get(key)
        names = [base_joint_name(n) for n in (feature.names or [])] if feature else []
        if not names or len(names) % 6 or any(n not in SO101_JOINTS for n in names):
            return None
        arms = len(names) // 6
        slices: dict[str, Any] = {}
        for arm in range(arms):
            prefix = "" if arms == 1 else ("left_" if arm == 0 else "right_")
            base = 6 * arm
            slices[f"{prefix}arm" if arms > 1 else "single_arm"] = {"start": base, "end": base + 5}
            slices[f"{prefix}gripper"] = {"start": base + 5, "end": base + 6}
        groups[role] = slices
    videos = {name: {"original_key": key} for name, key in dataset.cameras.items()}
    return {
        "state": groups["state"],
        "action": groups["action"],
        "video": videos,
        "annotation": {"human.task_description": {"original_key": "task_index"}},
    }


def _modality(dataset: Dataset, options: LerobotVersionOptions) -> tuple[dict[str, Any] | None, str]:
    """(modality to write or None, where it comes from)."""
    source = dataset.path / MODALITY_FILE
    if options.target != "v2.1":
        return None, "copied from the source" if source.is_file() else "none"
    if options.modality == "none":
        return None, "none"
    if options.modality not in ("auto", "none"):
        path = Path(options.modality)
        if not path.is_file():
            raise StudioError("modality.json not found", path)
        import json

        try:
            return json.loads(path.read_text(encoding="utf-8")), f"from {path}"
        except ValueError as error:
            raise StudioError(f"not valid JSON ({error})", path) from None
    if source.is_file():
        return None, "copied from the source"
    made = so101_modality(dataset)
    return made, ("made for SO-101" if made else "none (not an SO-101 dataset: give --modality FILE)")


def _subtasks(dataset: Dataset, options: LerobotVersionOptions) -> tuple[Any, str]:
    """(the copy's ``CarriedSubtasks`` or None, what happens to the source's subtasks)."""
    from backend.subtask_export import CarriedSubtasks, resolve_mode, written_schemas
    from backend.subtask_import import dataset_subtasks, has_subtasks

    if options.subtasks not in ("auto", "none", "index", "language", "both"):
        raise StudioError(f"subtasks must be auto, none, index, language or both, not {options.subtasks!r}")
    if not has_subtasks(dataset):
        return None, "none in the source"
    segments = dataset_subtasks(dataset)
    mode = "index" if options.subtasks == "auto" else options.subtasks
    index, language = resolve_mode(mode, TARGETS[options.target].value, bool(segments))
    written = written_schemas(index, language)
    if written:
        note = f"{len(segments)} episodes' subtasks -> {' and '.join(written)}"
    else:
        note = "not written" if segments else "the source's subtask columns hold no subtasks: not written"
    return CarriedSubtasks(segments, index, language), note


def _video_plan(dataset: Dataset, options: LerobotVersionOptions) -> tuple[str | None, dict[str, str]]:
    """(codec for copy_dataset or None to copy packets, what happens per camera)."""
    codecs = {
        name: (dataset.features[key].video.codec if dataset.features[key].video else None) or "?"
        for name, key in dataset.cameras.items()
    }
    if options.reencode:
        target = "h264" if options.codec == "h264" else next(iter(codecs.values()), "h264")
        target = target if target in ("h264", "av1", "hevc") else "h264"
        return target, {name: f"re-encode {codec} -> {target}" for name, codec in codecs.items()}
    if options.codec == "h264" and any(c != "h264" for c in codecs.values()):
        return "h264", {
            name: (
                f"re-encode {c} -> h264"
                if c != "h264"
                else "re-encode h264 -> h264 (another camera needs it)"
            )
            for name, c in codecs.items()
        }
    return None, {name: f"copy {codec} packets (frames identical)" for name, codec in codecs.items()}


def _open(source: Path, options: LerobotVersionOptions) -> Dataset:
    if options.target not in TARGETS:
        raise StudioError(f"unknown target {options.target!r}", hint="use v2.1 or v3.0")
    if options.codec not in ("keep", "h264"):
        raise StudioError(f"unknown codec {options.codec!r}", hint="use keep or h264")
    dataset = open_dataset(source)
    if dataset.format not in SOURCES[options.target]:
        dataset.close()
        wanted = " or ".join(f.value for f in SOURCES[options.target])
        raise StudioError(
            f"is {dataset.format.value}; this conversion reads {wanted}",
            source,
            "use lerobot-v2-to-v3 / lerobot-v3-to-v2 for the other direction",
        )
    return dataset


def plan(source: Path, options: LerobotVersionOptions) -> Plan:
    source = Path(source)
    result = Plan(
        kind_for(options.target),
        str(Path(options.out).absolute()),
        TARGETS.get(options.target, DatasetFormat.LEROBOT_V21).value,
    )
    try:
        check_output_target(Path(options.out), options.overwrite, [source])
    except StudioError as error:
        result.errors.append(error.message)
    try:
        dataset = _open(source, options)
    except StudioError as error:
        result.errors.append(error.message)
        return result
    try:
        for number, episode in enumerate(dataset.episodes):
            result.episodes.append(
                EpisodePlan(
                    source=str(source),
                    source_index=episode.index,
                    source_name=f"episode {episode.index}",
                    length=episode.length,
                    kept=True,
                    output_index=number,
                    frames_out=episode.length,
                    task=episode.task or "",
                )
            )
        missing = [k for k, f in dataset.features.items() if f.kind is FeatureKind.VIDEO and not f.has_files]
        if missing:
            result.warnings.append(
                f"features listed without video files are not written: {', '.join(missing)}"
            )
        codec, videos = _video_plan(dataset, options)
        try:
            modality, modality_note = _modality(dataset, options)
        except StudioError as error:
            result.errors.append(error.message)
            modality, modality_note = None, "error"
        try:
            carried, subtasks_note = _subtasks(dataset, options)
        except StudioError as error:
            result.errors.append(error.message)
            carried, subtasks_note = None, "error"
        extra = [prov.LEROBOT_FILE]
        if options.target == "v2.1" and (modality is not None or modality_note.startswith("copied")):
            extra.insert(0, MODALITY_FILE)
        if carried is not None and carried.index:
            extra.insert(0, "meta/subtasks.parquet")
        keys = [dataset.cameras[c] for c in sorted(dataset.cameras)]
        result.tree = lerobot_tree(options.target, dataset.num_episodes, keys, extra)
        result.details = {
            "videos": videos,
            "reencode_codec": codec,
            "modality": modality_note,
            "subtasks": subtasks_note,
            "source_format": dataset.format.value,
            "tasks": list(dataset.tasks),
        }
        if not dataset.episodes:
            result.errors.append("the dataset has no episodes")
    finally:
        dataset.close()
    return result


def run(source: Path, options: LerobotVersionOptions, progress: Progress | None = None) -> ConversionSummary:
    from backend.formats.lerobot import copy_dataset

    progress = ensure_progress(progress)
    timer = Timer()
    source = Path(source)
    out = Path(options.out)
    check_output_target(out, options.overwrite, [source])
    dataset = _open(source, options)
    fmt = TARGETS[options.target]
    summary = ConversionSummary(kind_for(options.target), str(out.absolute()), fmt.value)
    try:
        codec, videos = _video_plan(dataset, options)
        modality, modality_note = _modality(dataset, options)
        carried, subtasks_note = _subtasks(dataset, options)
        progress.report(0, dataset.num_episodes, "hashing the input")
        record = prov.new_record(
            kind_for(options.target),
            [(source, "source")],
            options_dict(options),
            out,
            fmt.value,
            options.hash_mode,
        )
        declared = declared_joint_unit(Path(source))
        if declared is not None:  # a unit the source declares stays declared (never guessed again)
            record["joint_units"] = declared.value
        for number, episode in enumerate(dataset.episodes):  # the writer numbers episodes 0..N-1
            prov.add_episode(record, number, 0, episode.index, f"episode {episode.index}", 0, episode.length)
        writer_options: dict[str, Any] = {
            k: getattr(options, k) for k in ("crf", "gop", "preset") if getattr(options, k) is not None
        }
        if modality is not None:
            writer_options["modality"] = modality
        elif options.modality == "none" and options.target == "v2.1":  # v3.0 keeps the source's
            writer_options["modality"] = None
        with atomic_dir(out, overwrite=options.overwrite, inputs=[source]) as tmp:
            inner = tmp / "dataset"
            if video_worker.available():  # re-encodes in worker processes, the same output for any jobs
                versions_copy.copy_dataset(
                    dataset, inner, fmt, progress, codec, options=writer_options, jobs=options.jobs,
                    extras=carried,
                )
            else:
                copy_dataset(dataset, inner, fmt, progress, codec, options=writer_options, extras=carried)
            for entry in os.listdir(inner):
                os.replace(inner / entry, tmp / entry)
            remove_empty_dir(inner)
            provenance = _merge_provenance(tmp, record)
            prov.write_lerobot_provenance(tmp, provenance)
        summary.episodes_written = dataset.num_episodes
        summary.frames_written = dataset.num_frames
        summary.provenance = provenance
        summary.details = {
            "videos": "; ".join(f"{k}: {v}" for k, v in videos.items()),
            "modality": modality_note,
            "subtasks": subtasks_note,
        }
        summary.seconds = timer.seconds
        return summary
    finally:
        dataset.close()


def _merge_provenance(folder: Path, record: dict[str, Any]) -> dict[str, Any]:
    """Our record, keeping what the writer noted (video settings) under "writer"."""
    written = prov.read_provenance(folder)
    if written:
        record = dict(record)
        record["writer"] = {
            k: v for k, v in written.items() if k in ("format", "video", "written_at", "version")
        }
    return record
