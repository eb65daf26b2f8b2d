"""Subtasks through the LeRobot version changes (convert lerobot-v3-to-v2 / lerobot-v2-to-v3): the
source's subtask columns are written afresh, so every frame keeps its subtask text (docs/subtasks.md)."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from backend.cli import main
from backend.convert import lerobot_versions
from backend.curation import Curation, export_curated
from backend.formats import open_dataset, validate_path
from backend.subtask_import import dataset_subtasks
from tests.browse_data import memory_dataset

# episode 0: reach 0-9, grasp 10-19; episode 1: place 0-29 (language columns have no gaps)
EXPECTED = {0: ["reach"] * 10 + ["grasp"] * 10, 1: ["place"] * 30}


def _frame_texts(root) -> dict[int, list[str]]:
    """Each episode's per-frame subtask text, read from the files as LeRobot would."""
    data = pa.concat_tables(pq.read_table(p) for p in sorted((root / "data").rglob("*.parquet")))
    episodes = data.column("episode_index").to_numpy()
    out: dict[int, list[str]] = {}
    if "subtask_index" in data.column_names:
        table = pq.read_table(root / "meta" / "subtasks.parquet")
        texts = dict(zip(table.column("subtask_index").to_pylist(), table.column("subtask").to_pylist(), strict=True))
        index = data.column("subtask_index").to_numpy()
        for e in np.unique(episodes):
            out[int(e)] = [texts[int(i)] for i in index[episodes == e]]
        return out
    rows = data.column("language_persistent").to_pylist()
    times = data.column("timestamp").to_numpy()
    for e in np.unique(episodes):
        picks = np.flatnonzero(episodes == e)
        starts = sorted((r["timestamp"], r["content"]) for r in rows[picks[0]])
        out[int(e)] = [[c for t, c in starts if t <= times[i] + 1e-6][-1] for i in picks]
    return out


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    folder = tmp_path_factory.mktemp("subtask_versions")
    dataset = memory_dataset(folder / "d.hdf5", lengths=(20, 30), width=64, height=48)
    curation = Curation(dataset.path, sidecar=folder / "d.curation.json")
    curation.set(0, subtasks=[[0, 9, "reach"], [10, 19, "grasp"]])
    curation.set(1, subtasks=[[0, 29, "place"]])
    v30 = folder / "v30"
    export_curated(dataset, curation, v30, "lerobot_v3.0", subtasks="language", jobs=1)
    v21 = folder / "v21"
    lerobot_versions.run(v30, lerobot_versions.LerobotVersionOptions(out=v21, target="v2.1", codec="keep"))
    back = folder / "back"
    options = lerobot_versions.LerobotVersionOptions(out=back, target="v3.0", subtasks="language")
    lerobot_versions.run(v21, options)
    return v30, v21, back


def test_language_v30_to_v21_becomes_subtask_index(chain):
    v30, v21, _ = chain
    assert _frame_texts(v30) == EXPECTED
    info = json.loads((v21 / "meta" / "info.json").read_text())
    assert info["features"]["subtask_index"] == {"dtype": "int64", "shape": [1], "names": None}
    assert "language_persistent" not in info["features"]
    assert _frame_texts(v21) == EXPECTED
    stats = [json.loads(line) for line in (v21 / "meta" / "episodes_stats.jsonl").read_text().splitlines()]
    assert all("subtask_index" in s["stats"] for s in stats)


def test_round_trip_back_to_language_keeps_every_frame(chain):
    _, v21, back = chain
    info = json.loads((back / "meta" / "info.json").read_text())
    assert info["features"]["language_persistent"]["dtype"] == "language"
    assert "subtask_index" not in info["features"]
    assert _frame_texts(back) == EXPECTED
    with open_dataset(back) as dataset, open_dataset(v21) as middle:
        assert dataset_subtasks(dataset) == dataset_subtasks(middle)
    assert validate_path(v21) == [] and validate_path(back) == []


def test_v21_to_v30_auto_keeps_subtask_index_and_plan_says_so(chain, tmp_path):
    _, v21, _ = chain
    out = tmp_path / "auto"
    options = lerobot_versions.LerobotVersionOptions(out=out, target="v3.0")
    plan = lerobot_versions.plan(v21, options)
    assert "meta/subtasks.parquet" in plan.tree
    assert plan.details["subtasks"] == "2 episodes' subtasks -> subtask_index + meta/subtasks.parquet"
    summary = lerobot_versions.run(v21, options)
    assert summary.details["subtasks"] == plan.details["subtasks"]
    assert _frame_texts(out) == EXPECTED
    # the CLI's --subtasks: none drops them; language towards v2.1 is one error line
    assert main(["convert", "lerobot-v2-to-v3", str(v21), "--out", str(tmp_path / "none"), "--subtasks", "none"]) == 0
    assert "subtask_index" not in json.loads((tmp_path / "none" / "meta" / "info.json").read_text())["features"]
    assert not (tmp_path / "none" / "meta" / "subtasks.parquet").exists()


def test_language_towards_v21_is_refused(chain, tmp_path, capsys):
    v30, _, _ = chain
    out = tmp_path / "v21"
    assert main(["convert", "lerobot-v3-to-v2", str(v30), "--out", str(out), "--subtasks", "language"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "language columns of LeRobot 0.6 exist in LeRobot v3.0 datasets only" in error[0]
    assert not out.exists()
