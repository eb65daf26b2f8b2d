"""Cosmos post-training set: videos/<n>.mp4 + metas/<n>.txt, the > 93-frame check, H.264 copy or encode."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from backend.cosmos.trainset import (
    DEFAULT_PROMPT_TEMPLATE,
    TrainsetOptions,
    build_trainset,
    plan_trainset,
    read_trainset,
    render_prompt,
)
from backend.curation import Curation
from backend.errors import StudioError
from backend.formats import open_dataset
from backend.media import VideoReader, probe
from tests.cosmos_data import frame_gray, write_small_lerobot

REAL = "lerobot061_so101_v30_h264"
TASKS = ["Pick up the orange and place it on the plate.", "Lift the red cube up."]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("small")
    return {
        "h264": write_small_lerobot(
            root / "h264", [100, 40, 94], tasks=["Lift the red cube up.", "Short one.", "Stack the cubes."]
        ),
        "av1": write_small_lerobot(root / "av1", [96], codec="av1"),
    }


def test_default_prompt_template_matches_the_tutorial_caption() -> None:
    assert DEFAULT_PROMPT_TEMPLATE == "The robot arm is performing a task. {task}"
    assert render_prompt(DEFAULT_PROMPT_TEMPLATE, " Lift the red cube up. ") == (
        "The robot arm is performing a task. Lift the red cube up."
    )
    assert render_prompt("{task}", None) == ""
    with pytest.raises(StudioError, match="prompt template"):
        render_prompt("Do {what}", "x")


def test_real_dataset_is_refused_with_the_short_episodes_listed(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "trainset"
    with pytest.raises(StudioError) as caught:
        build_trainset(shared_data / REAL, out)
    assert "no episode has more than 93 frames" in caught.value.problem
    assert "0 (60 frames)" in caught.value.problem and "1 (60 frames)" in caught.value.problem
    assert not out.exists()
    plan = plan_trainset(shared_data / REAL)
    assert [(r["episode"], r["frames"], r["kept"]) for r in plan["episodes"]] == [
        (0, 60, False),
        (1, 60, False),
    ]
    assert plan["too_short"] == [{"episode": 0, "frames": 60}, {"episode": 1, "frames": 60}]
    assert plan["errors"] and "0 (60 frames)" in plan["errors"][0]
    # the CLI: one line, exit 2, the episodes named
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "backend.cli",
            "cosmos",
            "trainset",
            str(shared_data / REAL),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "0 (60 frames), 1 (60 frames)" in result.stderr and "--keep-short" in result.stderr


def test_real_dataset_with_keep_short(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "trainset"
    summary = build_trainset(shared_data / REAL, out, TrainsetOptions(keep_short=True))
    assert summary.camera == "front"
    assert sorted(p.name for p in (out / "videos").iterdir()) == ["1.mp4", "2.mp4"]
    assert sorted(p.name for p in (out / "metas").iterdir()) == ["1.txt", "2.txt"]
    for stem, task in zip(("1", "2"), TASKS, strict=True):
        assert (out / "metas" / f"{stem}.txt").read_text(encoding="utf-8") == (
            f"The robot arm is performing a task. {task}"
        )
    items = read_trainset(out)
    assert [(i["stem"], i["frames"], i["codec"], i["width"], i["height"], i["fps"]) for i in items] == [
        ("1", 60, "h264", 640, 480, 30.0),
        ("2", 60, "h264", 640, 480, 30.0),
    ]
    assert probe(out / "videos" / "1.mp4").pix_fmt == "yuv420p"
    # v3.0 episodes share one mp4: each is cut out and encoded, its frames are the episode's own
    assert [w["copied"] for w in summary.written] == [False, False]
    with open_dataset(shared_data / REAL) as dataset, VideoReader(out / "videos" / "2.mp4") as reader:
        stream = dataset.episode(1).stream("front")
        try:
            for index in (0, 31, 59):
                error = np.abs(reader.frame(index).astype(int) - stream.frame(index).astype(int)).mean()
                assert error < 4.0, (index, error)
        finally:
            stream.close()
    record = json.loads((out / "episodes.json").read_text(encoding="utf-8"))
    assert [(e["stem"], e["episode"], e["frames"]) for e in record["episodes"]] == [
        ("1", 0, 60),
        ("2", 1, 60),
    ]
    assert record["too_short"] == [{"episode": 0, "frames": 60}, {"episode": 1, "frames": 60}]
    assert any("kept although too short" in w for w in summary.warnings)


def test_camera_template_and_episode_choice(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "wrist"
    options = TrainsetOptions(
        camera="observation.images.wrist",
        prompt_template="{task} (wrist view)",
        episodes=[1],
        keep_short=True,
    )
    summary = build_trainset(shared_data / REAL, out, options)
    assert summary.camera == "wrist"
    assert (out / "metas" / "1.txt").read_text(encoding="utf-8") == "Lift the red cube up. (wrist view)"
    with open_dataset(shared_data / REAL) as dataset, VideoReader(out / "videos" / "1.mp4") as reader:
        stream = dataset.episode(1).stream("wrist")
        try:
            assert np.abs(reader.frame(10).astype(int) - stream.frame(10).astype(int)).mean() < 4.0
        finally:
            stream.close()
    with pytest.raises(StudioError, match="no camera 'top'"):
        build_trainset(shared_data / REAL, tmp_path / "x", TrainsetOptions(camera="top", keep_short=True))


def test_long_episodes_h264_copied_short_ones_listed(small: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "trainset"
    summary = build_trainset(small["h264"], out)
    # 100 and 94 frames are kept (> 93), 40 is left out and listed; stems stay 1..N
    assert [(w["stem"], w["episode"], w["frames"], w["copied"]) for w in summary.written] == [
        ("1", 0, 100, True),
        ("2", 2, 94, True),
    ]
    assert summary.too_short == [{"episode": 1, "frames": 40}]
    assert any("1 (40 frames)" in w for w in summary.warnings)
    source = small["h264"] / "videos" / "chunk-000" / "observation.images.front" / "episode_000000.mp4"
    assert (out / "videos" / "1.mp4").read_bytes() == source.read_bytes()
    assert (out / "metas" / "2.txt").read_text(encoding="utf-8") == (
        "The robot arm is performing a task. Stack the cubes."
    )


def test_av1_is_transcoded_to_h264(small: dict[str, Path], tmp_path: Path) -> None:
    plan = plan_trainset(small["av1"])
    assert plan["episodes"][0]["video"] == "encode av1 -> h264"
    summary = build_trainset(small["av1"], tmp_path / "trainset")
    assert summary.written[0]["copied"] is False and summary.written[0]["source_codec"] == "av1"
    info = probe(tmp_path / "trainset" / "videos" / "1.mp4")
    assert (info.codec, info.pix_fmt, info.num_frames) == ("h264", "yuv420p", 96)
    with VideoReader(tmp_path / "trainset" / "videos" / "1.mp4") as reader:
        assert abs(float(reader.frame(50)[30:, :, :].mean()) - frame_gray(0, 50)) < 3


def test_curated_selection(small: dict[str, Path], tmp_path: Path) -> None:
    sidecar = tmp_path / "decisions.curation.json"
    curation = Curation(small["h264"], sidecar)
    curation.set(1, excluded=True)
    curation.set(
        2, trim_in=2, trim_out=97, task="Stack the red cube on the blue one."
    )  # clipped to 94 frames
    curation.set(0, trim_in=10)  # 90 frames left: too short now
    curation.save()
    plan = plan_trainset(small["h264"], TrainsetOptions(curation=str(sidecar)))
    assert [(r["episode"], r["frames"], r["kept"]) for r in plan["episodes"]] == [
        (0, 90, False),
        (2, 92, False),
    ]
    summary = build_trainset(
        small["h264"], tmp_path / "curated", TrainsetOptions(curation=str(sidecar), keep_short=True)
    )
    assert [(w["episode"], w["frames"], w["range"], w["copied"]) for w in summary.written] == [
        (0, 90, [10, 100], False),
        (2, 92, [2, 94], False),
    ]
    assert (tmp_path / "curated" / "metas" / "2.txt").read_text(encoding="utf-8") == (
        "The robot arm is performing a task. Stack the red cube on the blue one."
    )
    with VideoReader(tmp_path / "curated" / "videos" / "1.mp4") as reader:  # starts at frame 10 of episode 0
        assert abs(float(reader.frame(0)[30:, :, :].mean()) - frame_gray(0, 10)) < 3
