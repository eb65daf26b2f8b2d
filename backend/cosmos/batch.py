"""Cosmos-Predict 2.5 batch inference file (JSONL): one sample per selected episode.

Keys and defaults follow formats.md section 5 with the LeIsaac tutorial's values (video2world,
seed 21, guidance 7, 480x640, 210 frames autoregressive in 77-frame chunks overlapping by 1).
Cosmos validates every sample strictly (unknown keys are errors) and resolves relative paths
against the batch file's folder; ``input_path`` must exist. An episode that already is a plain
per-episode H.264 mp4 is referenced where it is; any other input (a window of a shared v3.0 file,
AV1, a trimmed episode, HDF5 images) is written to ``<file stem>_inputs/`` beside the JSONL and
referenced relative to it, so the file and its inputs can be copied to the GPU machine together.
image2world gets the first (kept) frame as PNG.

``plan_batch`` previews the samples and problems without writing; ``check_batch_file`` checks a
JSONL (ours or hand-written) the way Cosmos will.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2

from backend.atomic import atomic_dir, atomic_file, check_output
from backend.cosmos.selection import Selected, by_subtasks, pick_camera, select
from backend.cosmos.trainset import DEFAULT_PROMPT_TEMPLATE, render_prompt
from backend.errors import StudioError
from backend.formats import open_dataset
from backend.media.export import export_episode_video, plain_file_of
from backend.progress import Progress, ensure_progress

INFERENCE_TYPES = ("text2world", "image2world", "video2world")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp")
VIDEO_EXTENSIONS = (".mp4",)
IDM_FRAMES, IDM_FPS = 93, 16
COSMOS_FPS = 16

NEGATIVE_PROMPT = (
    "A low-quality video: static frames without motion, motion blur, shaky camera, low resolution, "
    "grainy or pixelated images, bad lighting, over- or under-exposure, washed-out or oversaturated "
    "colours, choppy or jerky movement, low frame rate, compression artifacts, banding, flicker, "
    "unnatural transitions, fake-looking objects and jump cuts."
)

DEFAULTS: dict[str, Any] = {
    "inference_type": "video2world",
    "seed": 21,
    "guidance": 7,
    "resolution": "480,640",
    "num_output_frames": 210,
    "num_steps": 35,
    "enable_autoregressive": True,
    "chunk_size": 77,
    "chunk_overlap": 1,
    "negative_prompt": NEGATIVE_PROMPT,
}

_TYPES: dict[str, type] = {
    "inference_type": str,
    "seed": int,
    "guidance": int,
    "resolution": str,
    "num_output_frames": int,
    "num_steps": int,
    "enable_autoregressive": bool,
    "chunk_size": int,
    "chunk_overlap": int,
    "negative_prompt": str,
    "prompt": str,
}
# every key Cosmos accepts in a sample (its argument model forbids others)
SAMPLE_KEYS = set(_TYPES) | {"name", "input_path", "prompt_path"}
HELP: dict[str, str] = {
    "inference_type": "text2world (prompt only), image2world (first frame) or video2world (episode video)",
    "seed": "random seed of the generation",
    "guidance": "0..7: how closely the video follows the prompt",
    "resolution": '"H,W" of the generated video, e.g. "480,640"',
    "num_output_frames": "frames to generate (16 fps); the IDM needs at least 93",
    "num_steps": "diffusion steps",
    "enable_autoregressive": "generate longer than chunk_size in overlapping chunks",
    "chunk_size": "frames per forward pass (the model's native length is 77)",
    "chunk_overlap": "frames shared by consecutive chunks",
    "negative_prompt": "what the video should not look like",
    "prompt": "one prompt for every sample instead of the per-episode template",
}


@dataclass
class BatchOptions:
    camera: str | None = None
    episodes: list[int] | None = None
    name_prefix: str = ""
    prompt_template: str = DEFAULT_PROMPT_TEMPLATE
    settings: dict[str, Any] = field(default_factory=dict)  # overrides of DEFAULTS
    curation: bool | str | None = None
    overwrite: bool = False  # replace an earlier batch file (and its inputs folder) of the studio
    per_subtask: bool = False  # one sample per subtask segment, its text as the prompt's {task}


def parse_setting(text: str) -> tuple[str, Any]:
    """'guidance=5' -> ('guidance', 5), typed by the key; raises StudioError on bad keys/values."""
    if "=" not in text:
        raise StudioError(f"--set expects key=value, got {text!r}")
    key, raw = text.split("=", 1)
    key = key.strip()
    if key not in _TYPES:
        raise StudioError(f"unknown batch key {key!r}; keys are {sorted(_TYPES)}")
    return key, coerce_setting(key, raw)


def coerce_setting(key: str, raw: Any) -> Any:
    kind = _TYPES[key]
    if isinstance(raw, kind) and not (kind is int and isinstance(raw, bool)):
        return raw
    text = str(raw).strip() if kind is not str else str(raw)
    try:
        if kind is bool:
            if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(text)
            return text.lower() in ("true", "1", "yes")
        if kind is int:
            return int(text)
        return text
    except ValueError as error:
        raise StudioError(f"{key} must be {kind.__name__}, got {raw!r}") from error


def check_settings(settings: dict[str, Any]) -> list[str]:
    """Raise on invalid values; return warnings (e.g. output length unsuited to the IDM)."""
    for key, kind in _TYPES.items():
        if key in settings and key != "prompt":
            value = settings[key]
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                if key == "guidance":
                    raise StudioError(f"guidance must be an integer 0..7, got {value!r}")
                raise StudioError(f"{key} must be {kind.__name__}, got {value!r}")
    guidance = settings["guidance"]
    if not 0 <= guidance <= 7:
        raise StudioError(f"guidance must be an integer 0..7, got {guidance!r}")
    if not re.fullmatch(r"\d+,\d+", str(settings["resolution"])):
        raise StudioError(f'resolution must be "H,W" (e.g. "480,640"), got {settings["resolution"]!r}')
    if settings["inference_type"] not in INFERENCE_TYPES:
        raise StudioError(
            f"inference_type must be one of {INFERENCE_TYPES}, got {settings['inference_type']!r}"
        )
    for key in ("num_output_frames", "num_steps", "chunk_size"):
        if settings[key] <= 0:
            raise StudioError(f"{key} must be positive, got {settings[key]}")
    if not 0 <= settings["chunk_overlap"] < settings["chunk_size"]:
        raise StudioError(f"chunk_overlap must be in 0..chunk_size-1, got {settings['chunk_overlap']}")
    if "prompt" in settings and not str(settings["prompt"]).strip():
        raise StudioError("prompt is empty", hint="leave it out to use the per-episode template")
    warnings = []
    frames = settings["num_output_frames"]
    if frames < IDM_FRAMES:
        warnings.append(
            f"num_output_frames {frames} is below the {IDM_FRAMES} frames at {IDM_FPS} fps the IDM expects: "
            "these videos cannot be labelled by the IDM"
        )
    if frames > settings["chunk_size"] and not settings["enable_autoregressive"]:
        warnings.append(
            f"num_output_frames {frames} > chunk_size {settings['chunk_size']} needs enable_autoregressive"
        )
    return warnings


def resolution_warning(resolution: str, width: int, height: int) -> str | None:
    """A warning when the camera's aspect ratio differs from the generated one."""
    h, w = (int(v) for v in resolution.split(","))
    if abs(w / h - width / height) > 0.01:
        return (
            f"resolution {resolution} (H,W) has another aspect ratio than the camera's {height},{width}: "
            "the input is resized and the IDM letterboxes the output"
        )
    return None


def _prefix(dataset_path: str | Path, name_prefix: str) -> str:
    text = name_prefix or Path(dataset_path).stem
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_.") or "sample"


def _input_kind(item: Selected, camera: str | None, inference_type: str) -> tuple[str, Path | None]:
    """('none'|'png'|'reference'|'encode', referenced file)."""
    if camera is None or inference_type == "text2world":
        return "none", None
    if inference_type == "image2world":
        return "png", None
    if item.whole:
        stream = item.episode.stream(camera)
        try:
            plain = plain_file_of(stream)
        finally:
            stream.close()
        if plain is not None:
            # absolute: a path relative to the working directory would not resolve against the
            # batch file's folder, which is how Cosmos reads it
            return "reference", Path(plain).absolute()
    return "encode", None


def _samples(
    dataset_path: str | Path,
    selection: list[Selected],
    camera: str | None,
    settings: dict[str, Any],
    options: BatchOptions,
) -> list[dict[str, Any]]:
    prefix = _prefix(dataset_path, options.name_prefix)
    rows = []
    for item in selection:
        name = f"{prefix}_episode_{item.index:06d}"
        if item.segment is not None:
            name += f"_subtask_{item.segment:02d}"
        prompt = settings.get("prompt") or render_prompt(options.prompt_template, item.task)
        kind, reference = _input_kind(item, camera, settings["inference_type"])
        rows.append(
            {
                "name": name,
                "episode": item.index,
                "frames": item.length,
                "range": [item.start, item.stop],
                "prompt": prompt,
                "input": kind,
                "reference": str(reference) if reference else None,
            }
        )
    return rows


def plan_batch(dataset_path: str | Path, options: BatchOptions | None = None) -> dict[str, Any]:
    """Samples and problems of ``build_batch`` without writing: {samples, settings, errors, warnings}."""
    options = options or BatchOptions()
    settings = {**DEFAULTS, **options.settings}
    errors: list[str] = []
    warnings: list[str] = []
    try:
        warnings += check_settings(settings)
        render_prompt(options.prompt_template, "x")
    except StudioError as error:
        errors.append(error.problem + (f" ({error.hint})" if error.hint else ""))
    samples: list[dict[str, Any]] = []
    cameras: list[str] = []
    camera = None
    with open_dataset(dataset_path) as dataset:
        cameras = sorted(dataset.cameras)
        try:
            camera = (
                pick_camera(dataset, options.camera)
                if settings.get("inference_type") != "text2world"
                else None
            )
            selection = select(dataset, options.episodes, options.curation)
            if options.per_subtask:
                selection = by_subtasks(dataset, selection, options.curation)
            if not errors:
                samples = _samples(dataset_path, selection, camera, settings, options)
            if camera is not None and not errors:
                feature = dataset.features[dataset.cameras[camera]]
                if feature.video is not None:
                    warning = resolution_warning(
                        settings["resolution"], feature.video.width, feature.video.height
                    )
                    if warning:
                        warnings.append(warning)
        except StudioError as error:
            errors.append(error.problem)
    for sample in samples:
        if not sample["prompt"]:
            warnings.append(f"episode {sample['episode']} has no task and the prompt is empty")
    return {
        "samples": samples,
        "settings": settings,
        "camera": camera,
        "cameras": cameras,
        "errors": errors,
        "warnings": warnings,
    }


def build_batch(
    dataset_path: str | Path,
    out: str | Path,
    options: BatchOptions | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    options = options or BatchOptions()
    progress = ensure_progress(progress)
    settings = {**DEFAULTS, **options.settings}
    warnings = check_settings(settings)
    out = Path(out).absolute()
    if out.suffix != ".jsonl":
        raise StudioError("a batch file with one sample per line must end in .jsonl", out)
    inputs_dir = out.with_name(out.stem + "_inputs")
    check_output(out, [dataset_path], options.overwrite)
    check_output(inputs_dir, [dataset_path], options.overwrite)
    samples: list[dict[str, Any]] = []
    with open_dataset(dataset_path) as dataset:
        camera = pick_camera(dataset, options.camera) if settings["inference_type"] != "text2world" else None
        selection = select(dataset, options.episodes, options.curation)
        if options.per_subtask:
            selection = by_subtasks(dataset, selection, options.curation)
        rows = _samples(dataset_path, selection, camera, settings, options)
        names = [r["name"] for r in rows]
        if len(set(names)) != len(names):
            raise StudioError("sample names are not unique", out)
        if camera is not None:
            feature = dataset.features[dataset.cameras[camera]]
            if feature.video is not None:
                warning = resolution_warning(
                    settings["resolution"], feature.video.width, feature.video.height
                )
                if warning:
                    warnings.append(warning)
        needs_dir = any(r["input"] in ("png", "encode") for r in rows)
        context = atomic_dir(inputs_dir, options.overwrite, [dataset_path]) if needs_dir else contextlib.nullcontext(None)
        with context as tmp_inputs:
            for number, (item, row) in enumerate(zip(selection, rows, strict=True)):
                progress.report(number, len(rows), f"episode {item.index}")
                sample: dict[str, Any] = {"name": row["name"], "prompt": row["prompt"]}
                for key in DEFAULTS:
                    sample[key] = settings[key]
                if row["input"] == "reference":
                    sample["input_path"] = row["reference"]
                elif row["input"] == "png":
                    frame = _first_frame(item, camera)
                    target = tmp_inputs / f"{row['name']}.png"
                    if not cv2.imwrite(str(target), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)):
                        raise StudioError("cannot write PNG", target)
                    sample["input_path"] = _relative(inputs_dir / target.name, out.parent)
                elif row["input"] == "encode":
                    target = tmp_inputs / f"{row['name']}.mp4"
                    export_episode_video(
                        item.episode, camera, target, frames=(item.start, item.stop), progress=progress
                    )
                    sample["input_path"] = _relative(inputs_dir / target.name, out.parent)
                samples.append(sample)
                item.episode.unload()
    with atomic_file(out, options.overwrite, [dataset_path]) as tmp:
        tmp.write_text("".join(json.dumps(s, ensure_ascii=False) + "\n" for s in samples), encoding="utf-8")
        # checked as Cosmos will read it (relative paths against the file's folder) before it is published
        errors, _ = check_batch_file(tmp, base=out.parent)
        if errors:
            raise StudioError("the batch file would not load in Cosmos: " + "; ".join(errors[:5]), out)
    for warning in warnings:
        progress.warn(warning)
    progress.report(len(samples), len(samples), "done")
    return {
        "out": str(out),
        "samples": len(samples),
        "warnings": warnings,
        "inputs_dir": str(inputs_dir) if needs_dir else None,
        "names": [s["name"] for s in samples],
    }


def _first_frame(item: Selected, camera: str):
    stream = item.episode.stream(camera)
    try:
        return stream.frame(item.start)
    finally:
        stream.close()


def _relative(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` (Cosmos resolves relative paths against the batch file's folder)."""
    try:
        return Path(os.path.relpath(path, base)).as_posix()
    except ValueError:  # another drive (Windows)
        return str(path)


def read_batch(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSONL batch file back (used by the job templates and the tests)."""
    path = Path(path)
    samples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                value = json.loads(line)
            except json.JSONDecodeError as error:
                raise StudioError(f"line {number} is not JSON ({error})", path) from error
            if not isinstance(value, dict):
                raise StudioError(f"line {number} is not a JSON object", path)
            samples.append(value)
    return samples


def check_batch_file(path: str | Path, base: str | Path | None = None) -> tuple[list[str], list[str]]:
    """(errors, warnings) for a JSONL batch file, checked as Cosmos will read it.

    Relative paths resolve against ``base`` (default: the file's folder, as Cosmos does).
    """
    path = Path(path)
    folder = Path(base) if base is not None else path.parent
    errors: list[str] = []
    warnings: list[str] = []
    try:
        samples = read_batch(path)
    except (StudioError, OSError, UnicodeDecodeError) as error:
        return [str(error)], []
    if not samples:
        return ["the batch file has no sample"], []
    names: set[str] = set()
    for number, sample in enumerate(samples, start=1):
        where = f"line {number}"
        name = sample.get("name")
        if not isinstance(name, str) or not name:
            errors.append(f"{where}: no name")
        elif name in names:
            errors.append(f"{where}: name {name!r} is not unique")
        else:
            names.add(name)
        unknown = sorted(set(sample) - SAMPLE_KEYS)
        if unknown:
            errors.append(f"{where}: unknown keys {unknown} (Cosmos refuses them)")
        if not (isinstance(sample.get("prompt"), str) and sample["prompt"].strip()) and not sample.get(
            "prompt_path"
        ):
            errors.append(f"{where}: no prompt")
        settings = {**DEFAULTS, **{k: v for k, v in sample.items() if k in _TYPES}}
        try:
            for warning in check_settings(settings):
                if warning not in warnings:
                    warnings.append(warning)
        except StudioError as error:
            errors.append(f"{where}: {error.problem}")
            continue
        inference_type = settings["inference_type"]
        input_path = sample.get("input_path")
        if inference_type != "text2world":
            if not input_path:
                errors.append(f"{where}: {inference_type} needs input_path")
                continue
            resolved = Path(input_path) if Path(input_path).is_absolute() else folder / input_path
            if not resolved.is_file():
                errors.append(f"{where}: input_path {input_path} does not exist")
            elif resolved.suffix.lower() not in IMAGE_EXTENSIONS + VIDEO_EXTENSIONS:
                errors.append(f"{where}: input_path {input_path} is not a png/jpg/webp/mp4")
        prompt_path = sample.get("prompt_path")
        if (
            prompt_path
            and not (Path(prompt_path) if Path(prompt_path).is_absolute() else folder / prompt_path).is_file()
        ):
            errors.append(f"{where}: prompt_path {prompt_path} does not exist")
    return errors, warnings
