"""Cosmos batch inference file (JSONL) from datasets: keys, defaults, inputs, checks, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from backend.cosmos.batch import BatchOptions, build_batch, check_batch_file, plan_batch, read_batch
from backend.errors import StudioError
from backend.formats import open_dataset
from backend.media import probe
from tests.cosmos_data import write_small_lerobot

REAL = "lerobot061_so101_v30_h264"
# formats.md section 5 keys with the LeIsaac tutorial's values (seed 000, step 2.4)
TUTORIAL = {
    "inference_type": "video2world",
    "seed": 21,
    "guidance": 7,
    "resolution": "480,640",
    "num_output_frames": 210,
    "enable_autoregressive": True,
    "chunk_size": 77,
    "chunk_overlap": 1,
}
KEYS = {"name", "prompt", "input_path", "negative_prompt", "num_steps", *TUTORIAL}


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_batch_from_the_real_dataset(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "batch.jsonl"
    result = build_batch(shared_data / REAL, out)
    assert result["samples"] == 2 and result["warnings"] == []
    samples = read_batch(out)
    assert [set(s) for s in samples] == [KEYS, KEYS]
    for sample in samples:
        assert {k: sample[k] for k in TUTORIAL} == TUTORIAL
        assert sample["num_steps"] == 35 and sample["negative_prompt"].strip()
    assert [s["name"] for s in samples] == [
        "lerobot061_so101_v30_h264_episode_000000",
        "lerobot061_so101_v30_h264_episode_000001",
    ]
    assert [s["prompt"] for s in samples] == [
        "The robot arm is performing a task. Pick up the orange and place it on the plate.",
        "The robot arm is performing a task. Lift the red cube up.",
    ]
    # v3.0 episodes are windows of a shared file: each is written beside the batch file, referenced relatively
    for sample in samples:
        assert sample["input_path"] == f"batch_inputs/{sample['name']}.mp4"
        info = probe(tmp_path / sample["input_path"])
        assert (info.codec, info.pix_fmt, info.num_frames, info.width, info.height) == (
            "h264",
            "yuv420p",
            60,
            640,
            480,
        )
    assert check_batch_file(out) == ([], [])


def test_image2world_writes_the_first_frame(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "images.jsonl"
    build_batch(
        shared_data / REAL, out, BatchOptions(settings={"inference_type": "image2world"}, episodes=[1])
    )
    (sample,) = read_batch(out)
    assert (
        sample["inference_type"] == "image2world"
        and sample["input_path"] == f"images_inputs/{sample['name']}.png"
    )
    png = cv2.cvtColor(cv2.imread(str(tmp_path / sample["input_path"])), cv2.COLOR_BGR2RGB)
    with open_dataset(shared_data / REAL) as dataset:
        stream = dataset.episode(1).stream("front")
        try:
            assert np.array_equal(png, stream.frame(0))
        finally:
            stream.close()


def test_text2world_has_no_input(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "text.jsonl"
    result = build_batch(shared_data / REAL, out, BatchOptions(settings={"inference_type": "text2world"}))
    assert result["inputs_dir"] is None and not (tmp_path / "text_inputs").exists()
    assert all("input_path" not in s for s in read_batch(out))
    assert check_batch_file(out) == ([], [])


def test_plain_h264_episodes_are_referenced_av1_encoded(tmp_path: Path) -> None:
    h264 = write_small_lerobot(tmp_path / "h264", [30, 30], tasks=["Lift the red cube up."])
    av1 = write_small_lerobot(tmp_path / "av1", [30], codec="av1")
    build_batch(h264, tmp_path / "a.jsonl", BatchOptions(name_prefix="lift cube!"))
    samples = read_batch(tmp_path / "a.jsonl")
    assert [s["name"] for s in samples] == ["lift_cube_episode_000000", "lift_cube_episode_000001"]
    assert samples[1]["input_path"] == str(
        h264 / "videos" / "chunk-000" / "observation.images.front" / "episode_000001.mp4"
    )
    assert not (tmp_path / "a_inputs").exists()
    build_batch(av1, tmp_path / "b.jsonl")
    (sample,) = read_batch(tmp_path / "b.jsonl")
    assert sample["input_path"] == "b_inputs/av1_episode_000000.mp4"
    assert probe(tmp_path / sample["input_path"]).codec == "h264"


def test_settings_warnings_and_refusals(shared_data: Path, tmp_path: Path) -> None:
    plan = plan_batch(
        shared_data / REAL, BatchOptions(settings={"num_output_frames": 77, "resolution": "480,480"})
    )
    assert plan["errors"] == []
    assert any("93 frames at 16 fps" in w for w in plan["warnings"])
    assert any("aspect ratio" in w for w in plan["warnings"])
    assert [s["input"] for s in plan["samples"]] == ["encode", "encode"]
    bad = plan_batch(shared_data / REAL, BatchOptions(settings={"guidance": 9}))
    assert bad["errors"] == ["guidance must be an integer 0..7, got 9"] and bad["samples"] == []
    with pytest.raises(StudioError, match="must end in .jsonl"):
        build_batch(shared_data / REAL, tmp_path / "batch.json")


def test_cli_set_and_check_batch(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli.jsonl"
    result = _cli(
        "cosmos",
        "batch",
        str(shared_data / REAL),
        "--out",
        str(out),
        "--episodes",
        "1",
        "--set",
        "guidance=5",
        "--set",
        "num_output_frames=77",
        "--set",
        "enable_autoregressive=false",
        "--set",
        "seed=3",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["samples"] == 1
    assert "93 frames at 16 fps" in result.stderr
    (sample,) = read_batch(out)
    assert (
        sample["guidance"],
        sample["num_output_frames"],
        sample["enable_autoregressive"],
        sample["seed"],
    ) == (5, 77, False, 3)
    check = _cli("cosmos", "check-batch", str(out))
    assert check.returncode == 0 and "clean, 1 warning(s)" in check.stdout
    refused = _cli(
        "cosmos", "batch", str(shared_data / REAL), "--out", str(tmp_path / "x.jsonl"), "--set", "guidance=9"
    )
    assert refused.returncode == 2 and "guidance must be an integer 0..7" in refused.stderr
    assert not (tmp_path / "x.jsonl").exists()


def test_check_batch_file_finds_what_cosmos_refuses(tmp_path: Path) -> None:
    (tmp_path / "clip.mp4").write_bytes(b"")
    lines = [
        {"name": "a", "prompt": "p", "inference_type": "video2world", "input_path": "clip.mp4"},
        {"name": "a", "prompt": "p", "inference_type": "video2world", "input_path": "missing.mp4"},
        {"name": "b", "prompt": "", "inference_type": "text2world", "guidance": 8},
        {"name": "c", "prompt": "p", "inference_type": "image2world", "input_path": "clip.mp4", "fps": 16},
        {"name": "d", "prompt": "p", "inference_type": "image2world"},
    ]
    path = tmp_path / "hand.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    errors, _ = check_batch_file(path)
    assert errors == [
        "line 2: name 'a' is not unique",
        "line 2: input_path missing.mp4 does not exist",
        "line 3: no prompt",
        "line 3: guidance must be an integer 0..7, got 8",
        "line 4: unknown keys ['fps'] (Cosmos refuses them)",
        "line 5: image2world needs input_path",
    ]
