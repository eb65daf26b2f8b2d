"""Cosmos-Predict 2.5 batch inference file (JSONL): one sample per selected episode.

Keys and defaults follow formats.md section 5 with the LeIsaac tutorial's values (video2world,
seed 21, guidance 7, 480x640, 210 frames autoregressive in 77-frame chunks overlapping by 1).
Inputs that are not already a plain per-episode mp4 (v3.0 windows, HDF5 images) are written to
``<file stem>_inputs/`` beside the JSONL; image2world gets the first frame as PNG.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2

from backend.atomic import atomic_dir, atomic_file
from backend.cosmos.selection import pick_camera, pick_episodes
from backend.cosmos.trainset import DEFAULT_PROMPT_TEMPLATE, render_prompt
from backend.errors import StudioError
from backend.formats import open_dataset
from backend.media.export import export_episode_video, whole_file_of
from backend.progress import Progress, ensure_progress

INFERENCE_TYPES = ("text2world", "image2world", "video2world")
IDM_FRAMES, IDM_FPS = 93, 16

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
    "inference_type": str, "seed": int, "guidance": int, "resolution": str, "num_output_frames": int,
    "num_steps": int, "enable_autoregressive": bool, "chunk_size": int, "chunk_overlap": int,
    "negative_prompt": str, "prompt": str,
}


@dataclass
class BatchOptions:
    camera: str | None = None
    episodes: list[int] | None = None
    name_prefix: str = ""
    prompt_template: str = DEFAULT_PROMPT_TEMPLATE
    settings: dict[str, Any] = field(default_factory=dict)  # overrides of DEFAULTS


def parse_setting(text: str) -> tuple[str, Any]:
    """'guidance=5' -> ('guidance', 5), typed by the key; raises StudioError on bad keys/values."""
    if "=" not in text:
        raise StudioError(f"--set expects key=value, got {text!r}")
    key, raw = text.split("=", 1)
    key = key.strip()
    if key not in _TYPES:
        raise StudioError(f"unknown batch key {key!r}; keys are {sorted(_TYPES)}")
    kind = _TYPES[key]
    try:
        if kind is bool:
            if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(raw)
            return key, raw.lower() in ("true", "1", "yes")
        return key, kind(raw)
    except ValueError as error:
        raise StudioError(f"{key} must be {kind.__name__}, got {raw!r}") from error


def check_settings(settings: dict[str, Any]) -> list[str]:
    """Raise on invalid values; return warnings (e.g. output length unsuited to the IDM)."""
    guidance = settings["guidance"]
    if not isinstance(guidance, int) or isinstance(guidance, bool) or not 0 <= guidance <= 7:
        raise StudioError(f"guidance must be an integer 0..7, got {guidance!r}")
    if not re.fullmatch(r"\d+,\d+", str(settings["resolution"])):
        raise StudioError(f'resolution must be "H,W" (e.g. "480,640"), got {settings["resolution"]!r}')
    if settings["inference_type"] not in INFERENCE_TYPES:
        raise StudioError(f"inference_type must be one of {INFERENCE_TYPES}, got {settings['inference_type']!r}")
    for key in ("num_output_frames", "num_steps", "chunk_size"):
        if settings[key] <= 0:
            raise StudioError(f"{key} must be positive, got {settings[key]}")
    if not 0 <= settings["chunk_overlap"] < settings["chunk_size"]:
        raise StudioError(f"chunk_overlap must be in 0..chunk_size-1, got {settings['chunk_overlap']}")
    warnings = []
    frames = settings["num_output_frames"]
    if frames < IDM_FRAMES:
        warnings.append(
            f"num_output_frames {frames} is below the {IDM_FRAMES} frames at {IDM_FPS} fps the IDM expects: "
            "these videos cannot be labelled by the IDM"
        )
    if frames > settings["chunk_size"] and not settings["enable_autoregressive"]:
        warnings.append(f"num_output_frames {frames} > chunk_size {settings['chunk_size']} needs enable_autoregressive")
    return warnings


def build_batch(
    dataset_path: str | Path, out: str | Path, options: BatchOptions | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    options = options or BatchOptions()
    progress = ensure_progress(progress)
    settings = {**DEFAULTS, **options.settings}
    warnings = check_settings(settings)
    out = Path(out).absolute()
    if out.suffix not in (".jsonl", ".json"):
        raise StudioError("batch file must end in .jsonl", out)
    inputs_dir = out.with_name(out.stem + "_inputs")
    samples: list[dict[str, Any]] = []
    with open_dataset(dataset_path) as dataset:
        camera = pick_camera(dataset, options.camera) if settings["inference_type"] != "text2world" else None
        episodes = pick_episodes(dataset, options.episodes)
        prefix = options.name_prefix or re.sub(r"[^A-Za-z0-9_]+", "_", Path(dataset_path).stem).strip("_")
        needs_inputs = camera is not None
        with atomic_dir(inputs_dir, overwrite=True) if needs_inputs else _nullcontext(None) as tmp_inputs:
            for number, episode in enumerate(episodes):
                progress.report(number, len(episodes), f"episode {episode.index}")
                name = f"{prefix}_episode_{episode.index:06d}"
                sample: dict[str, Any] = {"name": name}
                sample["prompt"] = settings.get("prompt") or render_prompt(options.prompt_template, episode.task)
                for key in DEFAULTS:
                    sample[key] = settings[key]
                if camera is not None:
                    final = inputs_dir / f"{name}.{'png' if settings['inference_type'] == 'image2world' else 'mp4'}"
                    sample["input_path"] = str(_write_input(episode, camera, settings["inference_type"],
                                                            tmp_inputs, final, progress))
                samples.append(sample)
        names = [s["name"] for s in samples]
        if len(set(names)) != len(names):
            raise StudioError("sample names are not unique", out)
    if camera is not None and inputs_dir.is_dir() and not any(inputs_dir.iterdir()):
        inputs_dir.rmdir()  # every input was the episode's own mp4
    with atomic_file(out) as tmp:
        tmp.write_text("".join(json.dumps(s, ensure_ascii=False) + "\n" for s in samples), encoding="utf-8")
    for warning in warnings:
        progress.warn(warning)
    progress.report(len(samples), len(samples), "done")
    return {"out": str(out), "samples": len(samples), "warnings": warnings,
            "inputs_dir": str(inputs_dir) if inputs_dir.is_dir() else None}


def _write_input(episode, camera: str, inference_type: str, tmp_dir: Path, final: Path, progress: Progress) -> Path:
    stream = episode.stream(camera)
    try:
        if inference_type == "image2world":
            frame = stream.frame(0)
            cv2.imwrite(str(tmp_dir / final.name), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
            return final
        source = whole_file_of(stream)
    finally:
        stream.close()
    if source is not None:
        return source  # the episode's own mp4: reference it, no copy
    export_episode_video(episode, camera, tmp_dir / final.name, progress=progress)
    return final


class _nullcontext:
    def __init__(self, value: Any) -> None:
        self.value = value

    def __enter__(self) -> Any:
        return self.value

    def __exit__(self, *exc: object) -> None:
        return None


def read_batch(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSONL batch file back (used by the job templates and the tests)."""
    path = Path(path)
    samples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                samples.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise StudioError(f"line {number} is not JSON ({error})", path) from error
    return samples
