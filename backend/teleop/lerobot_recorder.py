"""LeRobot v2.1 recording, encoded while recording, every episode final the moment it ends.

Built on the formats package's streaming ``LeRobotWriter`` (H.264 through ``backend.media``, no
PNG stage), used *live*: it writes inside the destination folder instead of a hidden sibling, and
after every episode the metadata (info.json, episodes.jsonl, episodes_stats.jsonl, tasks.jsonl,
stats.json) is rebuilt in ``.meta.new/`` and swapped with ``meta/`` by two renames. So at any moment
``meta/`` describes only finished episodes, whose parquet and mp4 files are complete.

v2.1 (one parquet and one mp4 per episode) is what GR00T and the IDM tools read and is naturally
append-only; the Convert pane turns it into v3.0. A crash loses the running episode (its mp4 has no
index yet); ``recover_lerobot()`` removes its files and restores ``meta/`` if a swap was cut short.
Episodes ended with R (failure) are kept with ``"success": false`` in episodes.jsonl.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import numpy as np

from backend.errors import StudioError
from backend.formats.base import CameraSpec, WriterSpec
from backend.formats.lerobot.common import (
    INFO_PATH,
    PROVENANCE_PATH,
    read_json,
    read_jsonl,
    write_json,
)
from backend.formats.lerobot.stats import aggregate_all
from backend.formats.lerobot.writer import LeRobotEpisodeWriter, LeRobotWriter
from backend.media import probe
from backend.model import DatasetFormat, Feature, FeatureKind
from backend.teleop.calibration import JOINTS
from backend.teleop.steps import EpisodeMeta, Step
from backend.units import JointSpace, Unit

NAMES = [f"{j}.pos" for j in JOINTS]
META_NEW = ".meta.new"
META_OLD = ".meta.old"


class _LiveWriter(LeRobotWriter):
    """``LeRobotWriter`` (v2.1) writing in place, publishing metadata after each episode."""

    def __init__(self, out: Path, spec: WriterSpec) -> None:
        super().__init__(DatasetFormat.LEROBOT_V21, out, spec, overwrite=True)
        shutil.rmtree(self.tmp, ignore_errors=True)  # not used: we write in place
        self._atomic = None
        self.tmp = Path(out)
        self.staging = self.tmp / ".staging"

    def publish(self) -> None:
        """Rebuild meta/ for the finished episodes and swap it in."""
        root = self.out
        new_root = root / META_NEW
        shutil.rmtree(new_root, ignore_errors=True)
        new_root.mkdir(parents=True)
        keep_tmp = self.tmp
        try:
            self.tmp = new_root  # the parent class writes meta/... under self.tmp
            stats = aggregate_all(self.episode_stats, self.feature_order())
            self._write_meta_v21(stats)
            write_json(new_root / PROVENANCE_PATH, self._provenance())
            write_json(new_root / INFO_PATH, self._info())  # last: marks the new meta complete
        finally:
            self.tmp = keep_tmp
        _fsync_tree(new_root / "meta")
        swap_meta(root)

    def close_live(self) -> None:
        if self._current is not None:
            self._current.discard()
        shutil.rmtree(self.staging, ignore_errors=True)
        self._finished = True


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with contextlib.suppress(OSError), open(path, "rb") as handle:
                os.fsync(handle.fileno())


def swap_meta(root: Path) -> None:
    """``.meta.new/meta`` -> ``meta`` (the old one goes away); two renames, repaired by recovery."""
    new = root / META_NEW / "meta"
    old = root / META_OLD
    current = root / "meta"
    shutil.rmtree(old, ignore_errors=True)
    if current.exists():
        os.replace(current, old)
    os.replace(new, current)
    shutil.rmtree(root / META_NEW, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)


def recover_lerobot(root: str | Path) -> list[str]:
    """Repair a live LeRobot recording after a crash; returns what was done (empty: nothing to do)."""
    root = Path(root)
    done: list[str] = []
    current, old, new = root / "meta", root / META_OLD, root / META_NEW / "meta"
    if not current.exists():
        if (new / "info.json").is_file():
            os.replace(new, current)
            done.append("finished an interrupted metadata update")
        elif old.exists():
            os.replace(old, current)
            done.append("restored the previous metadata")
    shutil.rmtree(root / META_NEW, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)
    if (root / ".staging").exists():
        shutil.rmtree(root / ".staging", ignore_errors=True)
    if not (current / "info.json").is_file():
        return done
    info = read_json(current / "info.json")
    total = int(info.get("total_episodes", 0))
    for folder in ("data", "videos"):
        base = root / folder
        if not base.is_dir():
            continue
        for path in base.rglob("episode_*"):
            try:
                index = int(path.stem.split("_")[-1])
            except ValueError:
                continue
            if index >= total:
                path.unlink()
                done.append(f"removed {path.relative_to(root)} of an unfinished episode")
    return done


def find_unfinished_lerobot(root: str | Path) -> bool:
    """True when a crash left files of an unfinished episode (or a half-swapped meta/)."""
    root = Path(root)
    if (root / META_NEW).exists() or (root / META_OLD).exists():
        return True
    info_path = root / "meta" / "info.json"
    if not info_path.is_file():
        return (root / "data").is_dir()
    total = int(read_json(info_path).get("total_episodes", 0))
    for folder in ("data", "videos"):
        for path in (root / folder).rglob("episode_*") if (root / folder).is_dir() else []:
            with contextlib.suppress(ValueError):
                if int(path.stem.split("_")[-1]) >= total:
                    return True
    return False


class LeRobotRecorder:
    """Recorder for ``RecordingWriter``: one LeRobot v2.1 dataset, episodes appended live."""

    suffix = ""

    def __init__(
        self,
        path: str | Path,
        fps: float,
        cameras: dict[str, tuple[int, int]],
        units: str = "range",
        robot_type: str = "so101_follower",
        codec: str = "h264",
        crf: int | None = 23,
        preset: str | None = "ultrafast",
        gop: int | None = 2,
    ) -> None:
        self.path = Path(path)
        self.fps = float(fps)
        self.cameras = dict(cameras)
        self.units = units
        unit = Unit.LEROBOT_DEGREES if units == "degrees" else Unit.LEROBOT_RANGE
        space = JointSpace(tuple(JOINTS), unit)
        features = {
            "action": Feature("action", FeatureKind.VECTOR, "float32", (6,), list(NAMES), space),
            "observation.state": Feature(
                "observation.state", FeatureKind.VECTOR, "float32", (6,), list(NAMES), space
            ),
        }
        self.spec = WriterSpec(
            fps=self.fps,
            robot_type=robot_type,
            features=features,
            cameras=[CameraSpec(name, w, h) for name, (h, w) in self.cameras.items()],
            options={"codec": codec, "crf": crf, "preset": preset, "gop": gop},
            provenance={"recorded_by": "rollout-studio teleop", "joint_units": unit.value},
        )
        self._writer: _LiveWriter | None = None
        self._episode: LeRobotEpisodeWriter | None = None
        self._success: bool | None = None
        self.existing_episodes = 0

    # -- Recorder protocol --------------------------------------------------------------------------
    def open(self) -> None:
        if self.path.exists() and any(self.path.iterdir()):
            if find_unfinished_lerobot(self.path):
                raise StudioError(
                    "the dataset has an unfinished episode from a crash",
                    self.path,
                    "recover it first: Teleop pane > Recover, or `rollout-studio recover-recording`",
                )
            self._writer = _LiveWriter(self.path, self.spec)
            self._resume()
        else:
            self.path.mkdir(parents=True, exist_ok=True)
            self._writer = _LiveWriter(self.path, self.spec)
            self._writer.publish()  # an empty but valid dataset from the first moment
        self.existing_episodes = len(self._writer.episodes)

    def _resume(self) -> None:
        writer = self._writer
        meta = self.path / "meta"
        info = read_json(meta / "info.json")
        if info.get("codebase_version") != "v2.1":
            raise StudioError("can only add episodes to a LeRobot v2.1 dataset", self.path)
        if float(info.get("fps", 0)) != self.fps:
            raise StudioError(
                f"the dataset is at {info.get('fps')} fps, the recording at {self.fps:g}",
                self.path,
                "use the same --rate or another --out",
            )
        wanted = {f"observation.images.{n}" for n in self.cameras}
        have = {k for k, v in info.get("features", {}).items() if v.get("dtype") == "video"}
        if wanted != have:
            raise StudioError(f"the dataset's cameras {sorted(have)} differ from {sorted(wanted)}", self.path)
        writer.episodes = read_jsonl(meta / "episodes.jsonl")
        stats_rows = read_jsonl(meta / "episodes_stats.jsonl")
        writer.episode_stats = [
            {key: {name: np.asarray(v) for name, v in entry.items()} for key, entry in row["stats"].items()}
            for row in stats_rows
        ]
        for row in read_jsonl(meta / "tasks.jsonl"):
            writer.tasks[str(row["task"])] = int(row["task_index"])
        writer.total_frames = int(info.get("total_frames", 0))
        writer.videos_written = int(info.get("total_videos", 0))
        for key in have:
            first = next(iter(sorted((self.path / "videos").rglob(f"{key}/episode_*.mp4"))), None)
            if first is not None:
                writer.video_info[key] = {"probe": probe(first), "copied": False}

    def close(self) -> None:
        if self._writer is not None:
            if self._episode is not None:
                self.drop_episode()
            self._writer.close_live()
            self._writer = None

    def flush(self) -> None:
        pass  # episodes are published at their end; the running one cannot survive a crash

    def size_bytes(self) -> int:
        total = 0
        for path in self.path.rglob("*"):
            with contextlib.suppress(OSError):
                if path.is_file():
                    total += path.stat().st_size
        return total

    def begin_episode(self, meta: EpisodeMeta) -> str:
        self._episode = self._writer.begin_episode(meta.task or "")
        return f"episode_{self._episode.index:06d}"

    def append(self, steps: list[Step]) -> None:
        episode = self._episode
        if episode is None:
            return
        for step in steps:
            images = {}
            for name, (h, w) in self.cameras.items():
                frame = step.frames.get(name)
                images[name] = frame.image if frame is not None else np.zeros((h, w, 3), np.uint8)
            episode.add_frame(
                {
                    "action": np.asarray(step.action_lerobot, np.float32),
                    "observation.state": np.asarray(step.state_lerobot, np.float32),
                },
                images,
            )

    def end_episode(self, success: bool | None, reason: str = "") -> tuple[str, int]:
        episode = self._episode
        if episode is None:
            return "", 0
        self._episode = None
        if success is None:  # stopped mid-episode: LeRobot has no "interrupted"; drop it
            episode.discard()
            return "", 0
        length = episode.length
        episode.end(success=success)
        self._writer.episodes[-1]["success"] = bool(success)
        self._writer.publish()
        return f"episode_{episode.index:06d}", length

    def drop_episode(self) -> None:
        if self._episode is not None:
            self._episode.discard()
            self._episode = None
