"""Shapes every conversion shares: the preview (``Plan``) and the result (``ConversionSummary``).

A conversion module exposes ``plan(inputs, options) -> Plan`` (reads metadata and a few values,
writes nothing) and ``run(inputs, options, progress) -> ConversionSummary``. Both use the same
selection logic, so what the preview says is kept or skipped is exactly what the run does.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

from backend.atomic import check_output, remove_path
from backend.jsonable import to_jsonable
from backend.units import JointSpace, Unit

# --------------------------------------------------------------------------------------------------
# plan (preview)


@dataclass
class EpisodePlan:
    """One source episode and what the conversion does with it."""

    source: str  # source file or folder
    source_index: int  # demo number / episode index in the source
    source_name: str  # "demo_3" or "episode 3"
    length: int  # frames in the source
    kept: bool
    reason: str = ""  # why it is skipped (empty when kept); notes when kept
    output_index: int | None = None
    frame_offset: int = 0  # first source frame used
    frames_out: int = 0
    task: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class SampleValues:
    """One frame of joint values before and after, in every unit the joint space converts to."""

    role: str  # "action" / "state"
    frame: int  # source frame index
    episode: str  # source episode name
    names: list[str]
    source_unit: str
    target_unit: str
    # unit value ("rad", "deg", "lerobot") -> values (one per joint)
    values: dict[str, list[float]]
    source_values: list[float]  # exactly as stored in the source
    output_values: list[float]  # exactly as the output will store them
    note: str = ""


@dataclass
class Plan:
    kind: str
    output: str
    output_format: str
    episodes: list[EpisodePlan] = field(default_factory=list)
    samples: list[SampleValues] = field(default_factory=list)
    tree: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # problems that stop the run
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def kept(self) -> list[EpisodePlan]:
        return [e for e in self.episodes if e.kept]

    @property
    def skipped(self) -> list[EpisodePlan]:
        return [e for e in self.episodes if not e.kept]

    @property
    def frames_out(self) -> int:
        return sum(e.frames_out for e in self.kept)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        data = to_jsonable(self)
        data["summary"] = {
            "episodes_kept": len(self.kept),
            "episodes_skipped": len(self.skipped),
            "frames_out": self.frames_out,
        }
        return data


@dataclass
class ConversionSummary:
    kind: str
    output: str
    output_format: str
    episodes_written: int = 0
    frames_written: int = 0
    skipped: list[dict[str, Any]] = field(default_factory=list)  # {source, episode, reason}
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    provenance: dict[str, Any] | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(self)


# --------------------------------------------------------------------------------------------------
# helpers


# options that change how fast an output is made, never what it holds: not part of its record
UNRECORDED_OPTIONS = frozenset({"jobs"})


def options_dict(options: Any) -> dict[str, Any]:
    values = to_jsonable(asdict(options)) if is_dataclass(options) else dict(options)
    return {key: value for key, value in values.items() if key not in UNRECORDED_OPTIONS}


def sample_values(
    role: str,
    episode: str,
    frame: int,
    space: JointSpace,
    source_row: np.ndarray,
    target_unit: Unit,
    output_row: np.ndarray | None = None,
) -> SampleValues:
    """Values of one frame in every unit the space knows, for the preview table."""
    row = np.asarray(source_row, dtype=np.float64).reshape(1, -1)
    values: dict[str, list[float]] = {}
    for unit in space.convertible_units():
        values[unit.value] = [float(v) for v in space.convert(row, unit)[0]]
    note = ""
    if target_unit is not space.unit and target_unit not in space.convertible_units():
        note = f"not joint positions ({space.unit.value}): copied unchanged"
        target_unit = space.unit
    if output_row is None:
        output_row = space.convert(row, target_unit)[0].astype(np.float32)
    return SampleValues(
        role=role,
        frame=int(frame),
        episode=episode,
        names=list(space.names),
        source_unit=space.unit.value,
        target_unit=target_unit.value,
        values=values,
        source_values=[float(v) for v in row[0]],
        output_values=[float(v) for v in np.asarray(output_row).reshape(-1)],
        note=note,
    )


def abbreviate(items: list[str], head: int = 3, tail: int = 1) -> list[str]:
    """['a','b','c','d','e','f'] -> ['a','b','c','... (2 more)','f']."""
    if len(items) <= head + tail + 1:
        return items
    folder = os.path.commonpath(items) if all("/" in i for i in items) else ""
    middle = (
        f"{folder}/... ({len(items) - head - tail} more)"
        if folder
        else f"... ({len(items) - head - tail} more)"
    )
    return [*items[:head], middle, *items[-tail:]]


def lerobot_tree(
    version: str, num_episodes: int, video_keys: list[str], extra_meta: list[str] = ()
) -> list[str]:
    """The files a LeRobot dataset of ``version`` with these episodes and cameras will have."""
    lines = ["meta/info.json", "meta/stats.json"]
    episodes = list(range(max(num_episodes, 0)))
    if version == "v3.0":
        lines += ["meta/tasks.parquet", "meta/episodes/chunk-000/file-000.parquet"]
        lines += [*extra_meta, "data/chunk-000/file-000.parquet"]
        lines += [f"videos/{key}/chunk-000/file-000.mp4" for key in video_keys]
        return lines
    lines += ["meta/episodes.jsonl", "meta/tasks.jsonl", "meta/episodes_stats.jsonl", *extra_meta]
    lines += abbreviate([f"data/chunk-{e // 1000:03d}/episode_{e:06d}.parquet" for e in episodes])
    for key in video_keys:
        lines += abbreviate([f"videos/chunk-{e // 1000:03d}/{key}/episode_{e:06d}.mp4" for e in episodes])
    return lines


class Timer:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start


def check_output_target(out: Path, overwrite: bool, inputs: list[Path]) -> None:
    """Refuse outputs that overlap an input, exist (without overwrite) or are not the studio's."""
    check_output(out, inputs, overwrite)


def link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link an unchanged file into a new output (falls back to a copy)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    remove_path(dst)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


# --------------------------------------------------------------------------------------------------
# reading camera frames ahead of the encoder


class FramePrefetcher:
    """Read frames ``start..stop-1`` of several streams ahead of the consumer, in order.

    One thread per stream (cameras decode/decompress in parallel where the reader allows), each with
    a queue of at most ``depth`` frames, so memory stays bounded whatever the episode length while
    decompression overlaps with encoding. Yields ``(t, {camera: frame})``; errors raised while
    reading are re-raised in the consumer.
    """

    _END = object()

    def __init__(self, streams: dict[str, Any], start: int, stop: int, depth: int = 64) -> None:
        import queue
        import threading

        self._start, self._stop = int(start), int(stop)
        self._stop_event = threading.Event()
        self._queues: dict[str, queue.Queue] = {}
        self._threads = []
        for name, stream in streams.items():
            q: queue.Queue = queue.Queue(maxsize=max(1, depth))
            self._queues[name] = q
            thread = threading.Thread(
                target=self._work, args=(stream, q), name=f"prefetch-{name}", daemon=True
            )
            self._threads.append(thread)
        for thread in self._threads:
            thread.start()

    def _put(self, q: Any, item: Any) -> bool:
        import queue

        while not self._stop_event.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _work(self, stream: Any, q: Any) -> None:
        try:
            for t in range(self._start, self._stop):
                if not self._put(q, stream.frame(t)):
                    return
        except BaseException as error:  # noqa: BLE001 - handed to the consumer
            self._put(q, error)
            return
        self._put(q, self._END)

    def __iter__(self):
        for t in range(self._start, self._stop):
            frames = {}
            for name, q in self._queues.items():
                item = q.get()
                if isinstance(item, BaseException):
                    raise item
                if item is self._END:
                    raise RuntimeError(f"stream {name} ended early at frame {t}")
                frames[name] = item
            yield t, frames

    def close(self) -> None:
        self._stop_event.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> FramePrefetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
