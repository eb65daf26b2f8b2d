"""Opening reads LeRobot metadata as columns (``episode_list``); ``inspect`` summarises a LeRobot folder
from them without opening the dataset. Both must give what the Episode objects give."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from backend.formats import open_dataset
from backend.formats.lerobot.episode_list import read_meta
from backend.inspect import inspect_path, summarize

REPO = Path(__file__).resolve().parents[1]


def _generator():
    spec = importlib.util.spec_from_file_location("make_large_dataset", REPO / "benchmarks" / "make_large_dataset.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("large") / "v30"
    return _generator().make_large_dataset(out, 9, 12, (32, 24), "v3.0", 4)


def _real(shared_data: Path) -> list[Path]:
    found = [
        p for p in (shared_data / "lerobot061_so101_v30_h264", shared_data / "gr00t_dreams_robot_sim.PickNPlace")
        if (p / "meta" / "info.json").is_file()
    ]
    if not found:
        pytest.skip("no LeRobot dataset in the shared data")
    return found


def _same(path: Path) -> None:
    listed = read_meta(path).episodes
    with open_dataset(path) as dataset:
        assert listed.index.tolist() == [e.index for e in dataset.episodes]
        assert listed.length.tolist() == [e.length for e in dataset.episodes]
        assert listed.task == [e.task for e in dataset.episodes]
        assert listed.success == [e.success for e in dataset.episodes]
        assert listed.source == [e.source for e in dataset.episodes]
        assert dataset.reader.episode_list is not None
        np.testing.assert_array_equal(dataset.reader.episode_list.length, listed.length)
        for position, episode in enumerate(dataset.episodes):
            rows = episode.extra["lerobot"].get("rows")
            if rows is not None:
                assert tuple(listed.rows[position]) == rows
                assert tuple(listed.data_file[position]) == episode.extra["lerobot"]["data_file"]
                for key, video in episode.extra["lerobot"]["videos"].items():
                    assert listed.videos[key]["from_timestamp"][position] == video["from_timestamp"]
        assert inspect_path(path) == summarize(dataset)


def test_episode_list_and_inspect_equal_the_opened_dataset(generated: Path) -> None:
    _same(generated)
    summary = inspect_path(generated)
    assert (summary["num_episodes"], summary["num_frames"]) == (9, 9 * 12)
    assert summary["episodes"][5] == {
        "index": 5, "length": 12, "task": "Stack the blocks.", "success": None,
        "source": "data/chunk-000/file-001.parquet",
    }
    assert summary["cameras"]["front"]["width"] == 32
    assert summary["joints"]["action"]["names"][0] == "shoulder_pan.pos"


def test_episode_list_and_inspect_equal_the_opened_real_datasets(shared_data: Path) -> None:
    for path in _real(shared_data):
        _same(path)


def test_episode_stats_and_arrays_read_after_lazy_open(generated: Path) -> None:
    values = _generator().episode_actions(np.arange(9), 12)
    with open_dataset(generated) as dataset:
        for episode in dataset.episodes[::4]:
            np.testing.assert_array_equal(episode.array("action"), values[episode.index, 1:])
            assert episode.array("frame_index").tolist() == list(range(12))
