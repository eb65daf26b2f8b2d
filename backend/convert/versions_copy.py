"""``copy_dataset`` (backend.formats.lerobot.copy) with the re-encoding done in worker processes.

Every episode is planned first: per camera, a window that can be cut at packet
level is copied here (cheap), a window of an mp4 that must be re-encoded becomes a task for a
``video_worker`` process (decode + encode on one encoder thread + image statistics, written where
the writer would encode it), anything else (image columns) is encoded here as before. The parent
writes the parquet rows and adopts the encoded files in episode order, so the output is the same
for any number of workers. The pool starts only when some video must be re-encoded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from backend.convert import video_worker
from backend.errors import StudioError
from backend.formats.lerobot import copy as lerobot_copy
from backend.formats.lerobot.stats import ImageStats
from backend.formats.lerobot.stream import VideoWindowStream
from backend.formats.lerobot.writer import LeRobotWriter
from backend.media import VideoProbe
from backend.media.encoder import CODECS
from backend.model import Dataset, DatasetFormat, Episode
from backend.pool import PoolError
from backend.progress import Progress, ensure_progress


@dataclass
class _Plan:
    number: int
    episode: Episode
    copies: dict[str, tuple[Path, VideoProbe, int]] = field(default_factory=dict)
    encoded: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (camera, task)
    here: list[str] = field(default_factory=list)


class _Copier:
    def __init__(self, dataset: Dataset, writer: LeRobotWriter, codec: str | None, jobs: int | None) -> None:
        self.dataset = dataset
        self.writer = writer
        self.codec = codec
        self.jobs = jobs
        self.probes: dict[Path, VideoProbe] = {}
        self.pool: video_worker.VideoJobs | None = None

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()

    # -- planning (ahead of the writer) ---------------------------------------------------------
    def plan(self, number: int, episode: Episode) -> _Plan:
        plan = _Plan(number, episode)
        for name in self.dataset.cameras:
            stream = episode.stream(name)
            try:
                if stream.num_frames != episode.length:
                    raise StudioError(
                        f"episode {episode.index}: camera {name!r} has {stream.num_frames} frames for "
                        f"{episode.length} rows",
                        self.dataset.path,
                        "validate the dataset; fix or drop the episode",
                    )
                window = None if self.codec else lerobot_copy._copyable(stream, episode.length, self.probes)
                if window is not None:
                    plan.copies[name] = window
                elif isinstance(stream, VideoWindowStream) and video_worker.available():
                    plan.encoded.append((name, self._task(number, episode, name, stream)))
                else:
                    plan.here.append(name)
            finally:
                stream.close()
        return plan

    def start(self, plans: list[_Plan]) -> None:
        """Hand every re-encode to the worker processes (started only when there is one)."""
        tasks = sum(len(p.encoded) for p in plans)
        if not tasks:
            return
        # any N gives the same bytes (tests/test_parallel_convert_e.py); the other bytes some full test
        # runs saw came from libx264 itself on tiny frames (backend/media/encoder.py SMALL_FRAME)
        self.pool = video_worker.VideoJobs(video_worker.workers_for(self.jobs, tasks))
        self.pool.add_groups([(p.number, [task for _, task in p.encoded]) for p in plans])

    def _task(self, number: int, episode: Episode, name: str, stream: VideoWindowStream) -> dict[str, Any]:
        key, spec = self.writer.cameras[name]
        options = self.writer.video_options
        task: dict[str, Any] = {
            "kind": "encode",
            "src": str(Path(stream.path).absolute()),
            "out": str(Path(self.writer.encode_path(number, key)).absolute()),
            "width": spec.width,
            "height": spec.height,
            "fps": float(self.writer.spec.fps),
            "codec": options["codec"],
            "crf": options["crf"],
            "gop": options["gop"],
            "preset": options["preset"],
            "image_stats": self.writer.image_stats,
            "episode": episode.index,
            "camera": name,
        }
        if stream.is_contiguous:
            task.update(first=stream.first_file_frame, count=stream.num_frames)
        else:
            task["indices"] = [int(i) for i in stream.indices]
        return task

    # -- writing (in order) ---------------------------------------------------------------------
    def write(
        self, plan: _Plan, progress: Progress, keys: dict[str, str], extras: lerobot_copy.CopyExtras | None
    ) -> None:
        episode, dataset = plan.episode, self.dataset
        tasks = episode.extra.get("tasks") or ([episode.task] if episode.task is not None else [])
        ew = self.writer.begin_episode(episode.task if episode.task is not None else "", tasks=tasks)
        values = {target: episode.array(source) for source, target in keys.items()}
        if extras is not None:
            values.update(extras.columns(plan.number, episode))
        for key, array in values.items():
            if len(array) != episode.length:
                raise StudioError(
                    f"episode {episode.index}: {key} has {len(array)} rows for a length of {episode.length}",
                    dataset.path,
                    "validate the dataset; fix or drop the episode",
                )
        for name, (path, info, first) in plan.copies.items():
            ew.add_video(name, path, first, episode.length, info)
        streams = {name: episode.stream(name) for name in plan.here}
        try:
            images = {name: lerobot_copy._frames_of(stream) for name, stream in streams.items()}
            if values:
                ew.add_frames(values, images)
            else:
                ew.add_frames({}, images)
                ew.length = max(ew.length, episode.length)
        finally:
            for stream in streams.values():
                stream.close()
        if plan.encoded:
            self._adopt(plan, ew, progress)
        ew.end(episode.success)
        episode.unload()

    def _adopt(self, plan: _Plan, ew: Any, progress: Progress) -> None:
        assert self.pool is not None
        pool, total, index = self.pool, self.dataset.num_episodes, plan.episode.index
        try:
            results = pool.wait(
                plan.number, lambda: progress.report(plan.number, total, f"episode {index}: encoding")
            )
        except PoolError as error:
            failed = pool.payload(error)
            raise StudioError(
                f"cannot re-encode episode {failed.get('episode', index)} camera "
                f"{failed.get('camera', '?')!r} ({error})",
                failed.get("src") or self.dataset.path,
            ) from None
        for (name, task), result in zip(plan.encoded, results, strict=True):
            if int(result["frames"]) != plan.episode.length:
                raise StudioError(
                    f"episode {index}: camera {name!r} gave {result['frames']} frames for "
                    f"{plan.episode.length} rows",
                    task["src"],
                )
            hist = result.get("hist")
            ew.add_encoded_video(
                name,
                Path(task["out"]),
                int(result["frames"]),
                ImageStats.from_counts(
                    np.asarray(hist, dtype=np.int64) if hist is not None else None,
                    int(result.get("stats_frames", 0)),
                ),
                result.get("settings"),
            )


def copy_dataset(
    dataset: Dataset,
    out: str | Path,
    fmt: DatasetFormat | str,
    progress: Progress | None = None,
    codec: str | None = None,
    *,
    options: dict[str, Any] | None = None,
    jobs: int | None = None,
    extras: lerobot_copy.CopyExtras | None = None,
) -> Path:
    """``backend.formats.lerobot.copy.copy_dataset`` (same arguments and output) re-encoding in
    ``jobs`` worker processes (None: the usable cores)."""
    fmt = DatasetFormat(fmt)
    if fmt not in (DatasetFormat.LEROBOT_V21, DatasetFormat.LEROBOT_V30):
        raise StudioError(f"copy_dataset writes LeRobot v2.1 or v3.0, not {fmt.value}")
    if codec is not None and codec not in CODECS:
        raise StudioError(f"unknown codec {codec!r}; use one of {sorted(CODECS)}")
    progress = ensure_progress(progress)
    spec, keys = lerobot_copy._spec(dataset, codec, options, extras)
    total = dataset.num_episodes
    writer = LeRobotWriter(fmt, out, spec)
    if extras is not None:
        extras.attach(writer)
    copier = _Copier(dataset, writer, codec, jobs)
    try:
        # every episode is planned first (the pool takes its tasks at once, in order); a plan is small
        plans = [copier.plan(number, episode) for number, episode in enumerate(dataset.episodes)]
        copier.start([p for p in plans if p.encoded])
        for plan in plans:
            progress.report(plan.number, total, f"episode {plan.episode.index}")
            copier.write(plan, progress, keys, extras)
        progress.report(total, total, "writing metadata")
        copier.close()  # nothing left to encode
        return writer.finish()
    except BaseException:
        copier.close()  # before the writer's folder goes: a worker still writing would make it again
        writer.abort()
        raise
