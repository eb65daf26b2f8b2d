"""The LeRobot writer's publish-each-episode mode: each episode final at end(), kill -9, resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from backend.errors import StudioError
from backend.formats import lerobot, open_writer
from backend.formats.base import CameraSpec, WriterSpec
from backend.formats.lerobot.writer import LeRobotWriter, has_unfinished_append, recover_append
from backend.model import DatasetFormat, Feature, FeatureKind

REPO = Path(__file__).resolve().parents[1]
NAMES = [f"j{i}.pos" for i in range(6)]
W, H, FPS = 64, 48, 30


def spec(fps: float = FPS, cameras=("front", "wrist"), **options) -> WriterSpec:
    return WriterSpec(
        fps=fps,
        robot_type="so101_follower",
        features={
            "action": Feature("action", FeatureKind.VECTOR, "float32", (6,), NAMES),
            "observation.state": Feature("observation.state", FeatureKind.VECTOR, "float32", (6,), NAMES),
        },
        cameras=[CameraSpec(name, W, H) for name in cameras],
        options={"crf": 23, "preset": "ultrafast", "gop": 2, **options},
    )


def frame(t: int, camera: int) -> np.ndarray:
    image = np.full((H, W, 3), (40 + 5 * t + 15 * camera) % 220, np.uint8)
    image[:, t % W] = 250
    return image


def values(t: int, episode: int) -> dict[str, np.ndarray]:
    base = (np.sin(t / 7.0 + np.arange(6) + episode) * 60).astype(np.float32)
    return {"action": base, "observation.state": base * np.float32(0.5)}


def record(writer: LeRobotWriter, episode: int, length: int, task: str = "pick", success=True):
    ew = writer.begin_episode(task)
    for t in range(length):
        ew.add_frame(values(t, episode), {"front": frame(t, 0), "wrist": frame(t, 1)})
    if success is not None:
        assert ew.end(success) == ew.index
    return ew


def errors(path: Path) -> list[str]:
    return [p.problem for p in lerobot.validate(path) if p.severity == "error"]


def check_episodes(path: Path, lengths: list[int], first: int = 0) -> None:
    with lerobot.open(path) as ds:
        assert [e.length for e in ds.episodes] == lengths
        for episode in ds.episodes:
            e = episode.index
            expected = np.stack([values(t, e - first)["action"] for t in range(episode.length)])
            assert np.array_equal(episode.array("action"), expected)
            assert episode.stream("front").num_frames == episode.length


def test_each_episode_is_final_at_end(tmp_path):
    out = tmp_path / "ds"
    writer = LeRobotWriter.open_append(out, spec())
    assert writer.num_episodes == 0  # meta/ from the first moment
    assert json.loads((out / "meta/info.json").read_text())["total_episodes"] == 0
    record(writer, 0, 12)
    # no finish(): episode 0 is already complete on disk
    assert errors(out) == []
    check_episodes(out, [12])
    assert not (out / ".staging").exists() or not any((out / ".staging").iterdir())
    record(writer, 1, 7, task="place", success=False)
    rows = [json.loads(line) for line in (out / "meta/episodes.jsonl").read_text().splitlines()]
    assert [r["success"] for r in rows] == [True, False] and [r["tasks"] for r in rows] == [
        ["pick"],
        ["place"],
    ]
    # a running episode is staged out of sight; meta/ still lists the finished ones only
    running = record(writer, 2, 5, success=None)
    assert errors(out) == [] and json.loads((out / "meta/info.json").read_text())["total_episodes"] == 2
    assert has_unfinished_append(out)
    assert not list((out / "videos").rglob("episode_000002.mp4"))
    running.discard()
    writer.finish()
    info = json.loads((out / "meta/info.json").read_text())
    assert (info["total_episodes"], info["total_frames"], info["total_videos"]) == (2, 19, 4)
    assert not has_unfinished_append(out) and errors(out) == []
    assert json.loads((out / "meta/rollout_studio_provenance.json").read_text())["tool"] == "rollout-studio"
    assert sorted(p.name for p in out.iterdir()) == ["data", "meta", "videos"]


def test_the_option_through_the_registry_and_abort_keeps_finished_episodes(tmp_path):
    out = tmp_path / "ds"
    writer = open_writer(DatasetFormat.LEROBOT_V21, out, spec(publish_each_episode=True))
    record(writer, 0, 6)
    ew = writer.begin_episode("pick")
    ew.add_frame(values(0, 1), {"front": frame(0, 0), "wrist": frame(0, 1)})
    writer.abort()  # drops the running episode only
    assert errors(out) == [] and not has_unfinished_append(out)
    check_episodes(out, [6])
    with pytest.raises(StudioError, match="v2.1 only"):
        open_writer(DatasetFormat.LEROBOT_V30, tmp_path / "v30", spec(publish_each_episode=True))


CHILD = """
import sys, time
sys.path.insert(0, {tests!r})
from test_lerobot_append import LeRobotWriter, record, spec, values, frame
writer = LeRobotWriter.open_append({out!r}, spec())
for e in range(2):
    record(writer, e, 10 + e)
ew = writer.begin_episode("pick")
for t in range(8):
    ew.add_frame(values(t, 2), {{"front": frame(t, 0), "wrist": frame(t, 1)}})
print("READY", flush=True)
time.sleep(60)
"""


def test_kill_9_mid_episode_then_validate_and_resume(tmp_path):
    out = tmp_path / "ds"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(tests=str(REPO / "tests"), out=str(out))],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "READY"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    assert has_unfinished_append(out)  # the running episode's staged files
    result = subprocess.run(
        [sys.executable, "-m", "backend.cli", "validate", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    check_episodes(out, [10, 11])

    # resume: the half-written episode goes, numbering and the global index continue
    writer = LeRobotWriter.open_append(out, spec())
    assert writer.num_episodes == 2 and not has_unfinished_append(out)
    record(writer, 0, 9, task="stack")
    writer.finish()
    assert errors(out) == []
    with lerobot.open(out) as ds:
        assert [e.length for e in ds.episodes] == [10, 11, 9]
        last = ds.episodes[2]
        assert last.index == 2 and last.extra["tasks"] == ["stack"]
        assert last.array("index")[0] == 21 and last.array("episode_index")[0] == 2
        expected = np.stack([values(t, 0)["action"] for t in range(9)])
        assert np.array_equal(last.array("action"), expected)
    assert sorted(p.name for p in (out / "videos/chunk-000/observation.images.front").iterdir()) == [
        f"episode_{i:06d}.mp4" for i in range(3)
    ]


def test_recovery_of_a_cut_short_meta_swap_and_unlisted_files(tmp_path):
    out = tmp_path / "ds"
    writer = LeRobotWriter.open_append(out, spec())
    record(writer, 0, 5)
    writer.finish()
    # as if the writer died between the two renames of the fallback swap (new meta complete)
    new = out / ".meta.new"
    new.mkdir()
    os.replace(out / "meta", out / ".meta.old")
    (new / "meta").mkdir()
    for path in (out / ".meta.old").iterdir():
        (new / "meta" / path.name).write_bytes(path.read_bytes())
    # and after an episode's files were moved into place, before meta/ listed it
    stray = out / "data/chunk-000/episode_000001.parquet"
    stray.write_bytes((out / "data/chunk-000/episode_000000.parquet").read_bytes())
    assert has_unfinished_append(out)
    done = recover_append(out)
    assert "finished an interrupted metadata update" in done and any("episode_000001" in d for d in done)
    assert not stray.exists() and errors(out) == [] and not has_unfinished_append(out)
    # only the old meta left: restored
    os.replace(out / "meta", out / ".meta.old")
    assert recover_append(out) == ["restored the previous metadata"]
    check_episodes(out, [5])


def test_resume_refuses_a_different_dataset(tmp_path):
    out = tmp_path / "ds"
    LeRobotWriter.open_append(out, spec()).finish()
    with pytest.raises(StudioError, match="fps"):
        LeRobotWriter.open_append(out, spec(fps=60))
    with pytest.raises(StudioError, match="cameras"):
        LeRobotWriter.open_append(out, spec(cameras=("front",)))
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(StudioError, match="not empty"):
        LeRobotWriter.open_append(other, spec())
    assert (other / "notes.txt").read_text() == "mine"


def test_a_dataset_before_its_first_episode_is_valid_and_empty(tmp_path):
    out = tmp_path / "ds"
    writer = LeRobotWriter.open_append(out, spec())
    assert writer.num_episodes == 0
    assert errors(out) == []  # its cameras have no video files yet: that is no problem
    record(writer, 0, 12)
    assert errors(out) == []
    check_episodes(out, [12])
