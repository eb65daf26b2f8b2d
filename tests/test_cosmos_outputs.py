"""A folder of Cosmos outputs reads as a dataset: one episode per video, prompt as task."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from backend.errors import FormatError
from backend.formats import detect_format, open_dataset, validate_path
from backend.media import VideoEncoder
from backend.model import DatasetFormat


def _video(path: Path, frames: int, fps: float = 16.0, size: tuple[int, int] = (64, 48)) -> None:
    with VideoEncoder(path, size[0], size[1], fps, gop=8) as writer:
        for i in range(frames):
            writer.write(np.full((size[1], size[0], 3), (10 + 3 * i) % 250, np.uint8))


@pytest.fixture()
def outputs(tmp_path: Path) -> Path:
    folder = tmp_path / "cosmos_out"
    folder.mkdir()
    _video(folder / "sample_10.mp4", 93)
    (folder / "sample_10.json").write_text(
        json.dumps({"name": "sample_10", "prompt": "Pick the rubik's cube.", "seed": 21})
    )
    _video(folder / "sample_2.mp4", 77)
    (folder / "sample_2.json").write_text(json.dumps({"name": "sample_2", "seed": 0}))  # no prompt
    _video(folder / "sample_3_seed7.mp4", 93)
    (folder / "sample_3.json").write_text(json.dumps({"name": "sample_3", "prompt": "Lift the cube."}))
    (folder / "config.yaml").write_text("x: 1\n")
    return folder


def test_reads_episodes_in_natural_order_with_prompts(outputs: Path) -> None:
    assert detect_format(outputs)[0] is DatasetFormat.COSMOS_OUTPUTS
    with open_dataset(outputs) as dataset:
        assert dataset.fps == pytest.approx(16.0)
        assert [e.source for e in dataset.episodes] == ["sample_2.mp4", "sample_3_seed7.mp4", "sample_10.mp4"]
        assert [e.length for e in dataset.episodes] == [77, 93, 93]
        assert [e.task for e in dataset.episodes] == [None, "Lift the cube.", "Pick the rubik's cube."]
        assert dataset.episodes[1].extra["seed"] == 7
        stream = dataset.episodes[2].stream("video")
        assert stream.num_frames == 93
        assert abs(int(stream.frame(40)[10, 10, 0]) - (10 + 3 * 40)) <= 2
        assert stream.timestamps()[16] == pytest.approx(1.0)


def test_validate_reports_missing_prompt_and_short_clip(outputs: Path) -> None:
    problems = validate_path(outputs)
    text = "\n".join(p.line() for p in problems)
    assert "sample_2.json: sample json has no prompt" in text
    assert "77 frames, the IDM expects at least 93" in text
    assert all(p.severity == "warning" for p in problems)


def test_corrupt_video_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "a.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video")
    with pytest.raises(FormatError, match="a.mp4"):
        open_dataset(folder)
