"""A folder of Cosmos-Predict outputs: ``<name>.mp4`` + ``<name>.json`` per sample (formats.md 5).

Each video is an episode; its task is the sample's prompt. Several generations of one input are
``<name>_seed<s>.mp4``; they share the json of ``<name>`` when they have none of their own.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np

from backend.errors import FormatError, StudioError
from backend.formats.base import Capability
from backend.media.probe import VideoProbe, probe
from backend.media.reader import VideoReader
from backend.model import (
    Dataset,
    DatasetFormat,
    DatasetReader,
    Episode,
    Feature,
    FeatureKind,
    Stream,
    VideoInfo,
)
from backend.validation import Problem

CAMERA = "video"
FEATURE_KEY = "observation.images.video"
_SEED_SUFFIX = re.compile(r"^(?P<base>.+)_seed(?P<seed>\d+)$")
# Cosmos writes 16 fps; IDM preprocessing expects 93-frame clips (formats.md 5).
IDM_FRAMES = 93
IDM_FPS = 16.0


def _videos(path: Path) -> list[Path]:
    return sorted((p for p in path.glob("*.mp4") if p.is_file()), key=lambda p: _natural_key(p.stem))


def _natural_key(text: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def detect(path: Path) -> DatasetFormat | None:
    if not path.is_dir() or (path / "meta" / "info.json").exists():
        return None
    return DatasetFormat.COSMOS_OUTPUTS if _videos(path) else None


def sample_json(video: Path) -> tuple[Path | None, dict[str, Any] | None]:
    """The sample arguments of a video: its own json, else the json of its seedless name."""
    candidates = [video.with_suffix(".json")]
    match = _SEED_SUFFIX.match(video.stem)
    if match:
        candidates.append(video.with_name(match["base"] + ".json"))
    for candidate in candidates:
        if candidate.is_file():
            try:
                value = json.loads(candidate.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                raise FormatError(f"sample json is not valid JSON ({error})", candidate) from error
            if not isinstance(value, dict):
                raise FormatError("sample json is not an object", candidate)
            return candidate, value
    return None, None


def prompt_of(sample: dict[str, Any] | None, video: Path) -> str | None:
    if not sample:
        return None
    prompt = sample.get("prompt")
    if isinstance(prompt, str) and prompt.strip():
        return prompt.strip()
    prompt_path = sample.get("prompt_path")
    if isinstance(prompt_path, str):
        candidate = (video.parent / prompt_path) if not Path(prompt_path).is_absolute() else Path(prompt_path)
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8").strip() or None
    return None


class _VideoFileStream(Stream):
    def __init__(self, name: str, reader: VideoReader, lock: threading.Lock) -> None:
        self.name = name
        self.path = reader.path  # the clip: episode frame i is file frame i (``file_index``)
        self._reader = reader
        self._lock = lock
        self.fps = reader.fps
        self.num_frames = reader.num_frames
        self.width, self.height = reader.width, reader.height
        self.codec = reader.codec

    def frame(self, index: int) -> np.ndarray:
        index = self._check_index(index)
        with self._lock:
            return self._reader.frame(index)

    def timestamps(self) -> np.ndarray:
        return self._reader.frame_times.copy()

    def file_index(self, index: int) -> int:
        return self._check_index(index)


class CosmosOutputsReader(DatasetReader):
    capabilities = Capability.VIDEO | Capability.TASKS  # a prompt per video is its task

    def __init__(self) -> None:
        self._readers: dict[str, tuple[VideoReader, threading.Lock]] = {}
        self._lock = threading.Lock()

    def read_array(self, episode: Episode, key: str) -> np.ndarray:
        raise KeyError(f"{key!r}: Cosmos outputs have video only")

    def open_stream(self, episode: Episode, camera: str) -> Stream:
        video = episode.extra["video"]
        with self._lock:
            if video not in self._readers:
                self._readers[video] = (VideoReader(video), threading.Lock())
            reader, lock = self._readers[video]
        return _VideoFileStream(camera, reader, lock)

    def close(self) -> None:
        with self._lock:
            for reader, _ in self._readers.values():
                reader.close()
            self._readers.clear()


def open(path: Path) -> Dataset:  # noqa: A001 - registry contract name
    path = Path(path)
    videos = _videos(path)
    if not videos:
        raise StudioError("folder has no <name>.mp4 Cosmos outputs", path)
    reader = CosmosOutputsReader()
    probes: list[VideoProbe] = [probe(v) for v in videos]
    first = probes[0]
    fps = first.fps
    dataset = Dataset(
        path=path,
        format=DatasetFormat.COSMOS_OUTPUTS,
        fps=fps,
        robot_type="",
        features={
            FEATURE_KEY: Feature(
                FEATURE_KEY,
                FeatureKind.VIDEO,
                "video",
                (first.height, first.width, 3),
                ["height", "width", "channels"],
                video=VideoInfo(first.codec, first.width, first.height, fps, first.pix_fmt),
            )
        },
        tasks=[],
        reader=reader,
        cameras={CAMERA: FEATURE_KEY},
    )
    tasks: list[str] = []
    for index, (video, info) in enumerate(zip(videos, probes, strict=True)):
        json_path, sample = sample_json(video)
        prompt = prompt_of(sample, video)
        if prompt and prompt not in tasks:
            tasks.append(prompt)
        seed_match = _SEED_SUFFIX.match(video.stem)
        dataset.episodes.append(
            Episode(
                dataset,
                index,
                info.num_frames,
                task=prompt,
                success=None,
                source=video.name,
                extra={
                    "name": video.stem,
                    "video": str(video),
                    "json": str(json_path) if json_path else None,
                    "sample": sample or {},
                    "seed": int(seed_match["seed"]) if seed_match else (sample or {}).get("seed"),
                    "fps": info.fps,
                    "codec": info.codec,
                    "width": info.width,
                    "height": info.height,
                },
            )
        )
    dataset.tasks = tasks
    dataset.info = {"num_videos": len(videos), "config_yaml": (path / "config.yaml").is_file()}
    return dataset


def _duplicate_clips(videos: list[Path]) -> list[Problem]:
    """Samples whose mp4 files are byte-identical (hashed only where sizes agree)."""
    import hashlib

    by_size: dict[int, list[Path]] = {}
    for video in videos:
        with contextlib.suppress(OSError):
            by_size.setdefault(video.stat().st_size, []).append(video)
    problems = []
    for same_size in by_size.values():
        if len(same_size) < 2:
            continue
        by_hash: dict[str, list[Path]] = {}
        for video in same_size:
            with contextlib.suppress(OSError):
                by_hash.setdefault(hashlib.sha256(video.read_bytes()).hexdigest(), []).append(video)
        for group in by_hash.values():
            for copy in group[1:]:
                problems.append(Problem(str(copy), f"the same file as {group[0].name}",
                                        "a copied sample: remove one before IDM prepare", "warning",
                                        "near_duplicate_episodes", copy.stem))
    return problems


def validate(path: Path) -> list[Problem]:
    problems: list[Problem] = []
    videos = _videos(Path(path))
    if not videos:
        return [Problem(str(path), "no <name>.mp4 files", "point at the Cosmos inference output folder",
                        code="missing_file")]
    sizes: set[tuple[int, int]] = set()
    for video in videos:
        name = video.stem
        try:
            info = probe(video)
        except FormatError as error:
            problems.append(Problem(str(video), error.problem, "re-run inference for this sample or remove it",
                                    code="unreadable", episode=name))
            continue
        sizes.add((info.width, info.height))
        try:
            json_path, sample = sample_json(video)
        except FormatError as error:
            problems.append(Problem(error.path or str(video), error.problem, "fix or delete the json",
                                    code="unreadable", episode=name))
            continue
        if json_path is None:
            problems.append(
                Problem(str(video), "no <name>.json next to the video (prompt unknown)",
                        "IDM prepare will take the task from the source dataset's episode", "warning",
                        "no_prompt", name)
            )
        elif prompt_of(sample, video) is None:
            problems.append(
                Problem(str(json_path), "sample json has no prompt",
                        "IDM prepare will take the task from the source dataset's episode", "warning",
                        "no_prompt", name)
            )
        else:
            bad = sorted({f"U+{ord(c):04X}" for c in prompt_of(sample, video) or "" if unicodedata.category(c) == "Cc"})
            if bad:
                problems.append(Problem(str(json_path), f"the prompt contains control characters ({', '.join(bad)})",
                                        "retype the prompt", "warning", "control_characters", name, True))
        if info.codec != "h264":
            problems.append(Problem(str(video), f"codec is {info.codec}, not h264",
                                    "transcode to H.264 for IDM/decord", "warning", "video_codec", name, True))
        if abs(info.fps - IDM_FPS) > 1e-3:
            problems.append(Problem(str(video), f"fps is {info.fps:g}, the IDM expects {IDM_FPS:g}",
                                    "check the inference settings", "warning", "video_fps", name))
        asked = sample.get("num_output_frames") if isinstance(sample, dict) else None
        if isinstance(asked, int) and not isinstance(asked, bool) and 0 < info.num_frames < asked:
            problems.append(Problem(str(video), f"{info.num_frames} frames, its json asked for {asked}",
                                    "the clip was cut short (inference stopped?): re-run this sample",
                                    "error", "video_frames", name))
        elif info.num_frames < IDM_FRAMES:
            problems.append(Problem(str(video), f"{info.num_frames} frames, the IDM expects at least {IDM_FRAMES}",
                                    "generate with num_output_frames >= 93", "warning", "too_few_frames", name))
    problems += _duplicate_clips(videos)
    if len(sizes) > 1:
        problems.append(Problem(str(path), f"videos have different sizes {sorted(sizes)}",
                                "generate all samples at one resolution", "warning", "video_size"))
    return problems
