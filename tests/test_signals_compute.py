"""compute_scores: every signal's value per episode and the fired ones as findings (in-memory data)."""

from __future__ import annotations

import pytest

from backend.scores.compute import SIGNAL_NAMES, compute_scores, describe
from backend.scores.table import ScoreTable
from tests.browse_data import memory_dataset


@pytest.fixture(scope="module")
def table() -> ScoreTable:
    return compute_scores(memory_dataset("/nonexistent/mem.hdf5", lengths=(40, 30, 50)), device="cpu")


def test_every_episode_has_every_measured_signal(table: ScoreTable) -> None:
    assert [e.episode for e in table.episodes] == [0, 1, 2]
    assert table.device == "cpu"
    for item in table.episodes:
        assert {"idle_episode", "jerky", "black_frames", "short_episode"} <= set(item.scores)
        assert set(item.scores) <= set(SIGNAL_NAMES)
    assert ScoreTable.from_json(table.to_json()).to_json() == table.to_json()


def test_findings_carry_severity_and_frames(table: ScoreTable) -> None:
    # the memory dataset's cameras are flat grey pictures, the same in both cameras
    first = table.episodes[0]
    fired = {f.signal for f in first.findings}
    assert "blank_camera" in fired and "identical_cameras" in fired
    for finding in first.findings:
        assert finding.severity in ("info", "warning", "error")
        assert 0 <= finding.frames[0] <= finding.frames[1] < 40


def test_signals_subset_and_unknown_names() -> None:
    dataset = memory_dataset("/nonexistent/mem.hdf5", lengths=(40, 30))
    table = compute_scores(dataset, episodes=[1], signals=["idle_episode"], device="cpu")
    assert [e.episode for e in table.episodes] == [1]
    assert set(table.episodes[0].scores) == {"idle_episode"}
    with pytest.raises(ValueError, match="unknown signal"):
        compute_scores(dataset, signals=["nope"])
    with pytest.raises(ValueError, match="episode 5"):
        compute_scores(dataset, episodes=[5])


def test_every_name_is_described() -> None:
    rows = describe()
    assert [r["signal"] for r in rows] == list(SIGNAL_NAMES)
    assert all(r["severity"] in ("info", "warning", "error") and r["unit"] for r in rows)
