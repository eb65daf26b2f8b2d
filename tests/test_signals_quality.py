"""The quality signals find the fault injected into each synthetic episode and nothing in clean ones;
DTW, dropped frames and the Cosmos-Reason importer on their own; real datasets raise no error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from backend.errors import StudioError
from backend.formats import open_dataset
from backend.scores.compute import compute_scores
from backend.scores.table import ScoreTable
from backend.signals import dropped_frames
from backend.signals.reason import read_reason_scores
from backend.signals.trajectory import dtw_to, trajectory_outliers
from tests.quality_data import FAULTS, GENERATED_FAULTS, fault_dataset, generated_dataset

CLEAN = 5
LENGTH = 40


def _fired(table: ScoreTable) -> list[set[str]]:
    return [{f.signal for f in item.findings} for item in table.episodes]


@pytest.fixture(scope="module")
def faults() -> tuple[list[str | None], ScoreTable]:
    names: list[str | None] = [None] * CLEAN + list(FAULTS)
    return names, compute_scores(fault_dataset("/in-memory/faults", names, length=LENGTH), device="cpu")


@pytest.fixture(scope="module")
def generated() -> tuple[list[str | None], ScoreTable]:
    names: list[str | None] = [None] * 3 + list(GENERATED_FAULTS)
    dataset, _, sources = generated_dataset(names, sources=3, length=48)
    return names, compute_scores(dataset, device="cpu", sources=sources)


def test_each_motion_and_camera_fault_fires_its_signal(faults: tuple[list[str | None], ScoreTable]) -> None:
    names, table = faults
    fired = _fired(table)
    assert fired[:CLEAN] == [set()] * CLEAN  # clean episodes raise nothing
    missed = [name for name, got in zip(names[CLEAN:], fired[CLEAN:], strict=True) if name not in got]
    assert missed == []


def test_findings_say_where(faults: tuple[list[str | None], ScoreTable]) -> None:
    names, table = faults
    item = table.episodes[names.index("blurred_frames")]
    blur = next(f for f in item.findings if f.signal == "blurred_frames")
    third = LENGTH // 3
    assert third <= blur.frames[0] <= blur.frames[1] < 2 * third  # the middle third was blurred
    assert item.scores["blurred_frames"] > 0.2 and table.episodes[0].scores["blurred_frames"] == 0.0
    drop = next(f for f in table.episodes[names.index("dropped_frames")].findings if f.signal == "dropped_frames")
    assert drop.frames == (LENGTH // 2, LENGTH // 2) and "6 frames missing" in drop.message


def test_generated_faults_against_their_source(generated: tuple[list[str | None], ScoreTable]) -> None:
    names, table = generated
    fired = _fired(table)
    assert fired[:3] == [set()] * 3
    missed = [name for name, got in zip(names[3:], fired[3:], strict=True) if name not in got]
    assert missed == []
    assert [(e.source, e.variant) for e in table.episodes[:4]] == [(0, 0), (1, 0), (2, 0), (0, 1)]
    clean = table.episodes[0].scores
    assert clean["source_ssim"] > 0.9 and clean["source_psnr"] > 35 and clean["conditioning_drift"] < 10


def test_banded_dtw_is_the_full_dtw_when_the_band_covers_everything() -> None:
    rng = np.random.default_rng(1)
    series, reference = rng.normal(size=(3, 12, 2)), rng.normal(size=(12, 2))
    full = np.full((13, 13), np.inf)
    got = dtw_to(series, reference, band=11)
    for e in range(3):
        full[:] = np.inf
        full[0, 0] = 0
        for i in range(12):
            for j in range(12):
                cost = np.linalg.norm(series[e, i] - reference[j])
                full[i + 1, j + 1] = cost + min(full[i, j], full[i, j + 1], full[i + 1, j])
        assert got[e] == pytest.approx(full[12, 12] / 12)
    assert dtw_to(reference[None], reference, band=2)[0] == 0.0


def test_trajectory_outlier_needs_a_task_of_five() -> None:
    t = np.linspace(0, 1, 50)[:, None]
    tracks = {i: np.sin(2 * np.pi * t + 0.05 * i) * 30 for i in range(6)}
    tracks[6] = t * 90
    readings = trajectory_outliers(tracks, "pick")
    assert [i for i, r in readings.items() if r.fired] == [6]
    assert trajectory_outliers({i: tracks[i] for i in range(4)}) == {}


def test_dropped_frames_counts_missing_frames() -> None:
    times = np.arange(30) / 30.0
    assert not dropped_frames(times, 30.0).fired
    times[10:] += 3 / 30.0
    reading = dropped_frames(times, 30.0, "front")
    assert reading.fired and reading.value == 3 and reading.frames == (10,)


def test_reason_scores_import_in_every_shape(tmp_path: Path) -> None:
    folder = tmp_path / "scores"
    folder.mkdir()
    (folder / "all.json").write_text(json.dumps(
        {"results": [{"video": "videos/episode_000000.mp4", "score": 5, "explanation": "fine"},
                     {"video_name": "episode_000001", "answer": "<answer>2</answer>"}]}))
    (folder / "episode_000002.json").write_text(json.dumps({"score": 1, "reasoning": "the cube floats"}))
    (folder / "more.jsonl").write_text(json.dumps({"name": "episode_000003.mp4", "rating": 4}) + "\n")
    scores = read_reason_scores(folder)
    assert {k: v[0] for k, v in scores.items()} == {
        "episode_000000": 5, "episode_000001": 2, "episode_000002": 1, "episode_000003": 4}
    dataset = fault_dataset("/in-memory/reason", [None] * 4, length=24, cameras=False)
    table = compute_scores(dataset, signals=["reason_score"], reason=folder, device="cpu")
    assert [e.scores["reason_score"] for e in table.episodes] == [5, 2, 1, 4]
    assert [bool(e.findings) for e in table.episodes] == [False, True, True, False]
    assert "the cube floats" in table.episodes[2].findings[0].message
    (folder / "bad.json").write_text("{not json")
    with pytest.raises(StudioError, match="bad.json"):
        read_reason_scores(folder)


def test_real_datasets_raise_no_error(shared_data: Path) -> None:
    """The real datasets are clean: no finding of severity error (warnings are listed in the docs)."""
    for name in ("lerobot061_so101_v30_h264", "gr00t_dreams_robot_sim.PickNPlace"):
        with open_dataset(shared_data / name) as dataset:
            table = compute_scores(dataset, episodes=[0], device="cpu")
        severities = {f.severity for e in table.episodes for f in e.findings}
        assert "error" not in severities, name
        assert table.episodes[0].scores["non_finite"] == 0


def test_cosmos_outputs_are_generated_variants_of_their_source(shared_data: Path, tmp_path: Path) -> None:
    """Real files: Cosmos stand-in clips (H.264, decoded through the media layer) name their source
    episode; each gets ``source``/``variant`` and the generated-video signals."""
    from tests.cosmos_data import StandinSample, write_standin_outputs

    out = write_standin_outputs(shared_data / "lerobot061_so101_v30_h264", tmp_path / "cosmos", [
        StandinSample("pick_episode_000000", 0, 24, "pick", size=(64, 48)),
        StandinSample("pick_episode_000000_seed2", 0, 24, "pick", size=(64, 48)),
        StandinSample("lift_episode_000001", 1, 24, "lift", size=(64, 48)),
    ])
    with open_dataset(out) as dataset:
        table = compute_scores(dataset, device="cpu")
    by_name = {dataset.episodes[e.episode].extra["name"]: e for e in table.episodes}
    assert {n: (e.source, e.variant) for n, e in by_name.items()} == {
        "pick_episode_000000": (0, 0), "pick_episode_000000_seed2": (0, 1), "lift_episode_000001": (1, 0)}
    for item in table.episodes:
        assert {"flicker", "frame_diff_spikes", "black_frames", "length_mismatch"} <= set(item.scores)
        assert item.scores["length_mismatch"] == 0
