"""`rollout-studio score` and `curate --where / apply-predictions`, run in-process on a real HDF5 file
(one subprocess run proves the entry point); the score sidecar's store."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from backend.cli import main
from backend.curation import Curation
from backend.errors import StudioError
from backend.scores.store import judgement_path, load_scores, save_scores, scores_path
from backend.scores.table import SCHEMA, EpisodeScores, Finding, ScoreTable
from tests.browse_data import write_hdf5
from tests.cli_harness import run_cli

EPISODES = 12


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("scored")
    return write_hdf5(folder / "d.hdf5", lengths=tuple(20 + 2 * (e % 4) for e in range(EPISODES)))


@pytest.fixture
def dataset(source: Path, tmp_path: Path) -> Path:
    """A private copy: each test writes its own sidecars."""
    return Path(shutil.copy(source, tmp_path / "d.hdf5"))


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _table(dataset: Path) -> ScoreTable:
    """A hand-made table with predictions: 0,1 sure good, 2,3 sure bad, 4 unsure, 5 rated by the operator."""
    predicted = {0: 0.95, 1: 0.81, 2: 0.05, 3: 0.2, 4: 0.5, 5: 0.02}
    frozen = Finding("frozen_camera", "warning", (2, 9), "front frozen")
    episodes = [
        EpisodeScores(e, [frozen] if e in (1, 2) else [], {"jerky": 1000.0 * e, "frozen_camera": 0.6 * (e in (1, 2))},
                      predicted.get(e))
        for e in range(EPISODES)
    ]
    table = ScoreTable(str(dataset), episodes, ["jerky", "frozen_camera"], "cpu",
                       {"kind": "logistic", "accuracy": 0.875, "folds": 4, "ratings": 8, "good": 4, "bad": 4})
    save_scores(table, dataset)
    return table


def test_score_json_writes_the_sidecar(dataset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "score", dataset, "--json", "--quiet", "--signals", "jerky,short_episode")
    assert code == 0
    printed = json.loads(out)
    assert printed["schema"] == SCHEMA and printed["signals"] == ["jerky", "short_episode"]
    assert [e["episode"] for e in printed["episodes"]] == list(range(EPISODES))
    first = printed["episodes"][0]
    # (source and variant too: the copy's provenance pairs it with the episodes it was exported from)
    assert {"episode", "findings", "scores", "predicted_rating"} <= set(first)
    assert first["predicted_rating"] is None and set(first["scores"]) == {"jerky", "short_episode"}
    assert [f["signal"] for f in first["findings"]] == ["short_episode"]  # 20 frames at 30 fps
    for finding in first["findings"]:
        assert set(finding) == {"signal", "severity", "frames", "message"} and len(finding["frames"]) == 2
    assert printed["model"] == {
        "reason": "no model yet: it needs at least 4 good and 4 bad ratings, there are 0 good and 0 bad"
    }
    assert scores_path(dataset) == Path(str(dataset) + ".scores.json")
    assert load_scores(dataset).to_json() == printed
    assert not judgement_path(dataset).exists()


def test_score_refits_on_ratings_and_summarises(dataset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    curation = Curation.load(dataset)
    curation.set_many([0, 1, 2, 3], rating="good")
    curation.set_many([4, 5, 6, 7], rating="bad")
    code, out, _ = _run(capsys, "score", dataset, "--quiet", "--signals", "jerky,short_episode")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"{dataset} (leisaac_hdf5): {EPISODES} episodes scored on cpu (jerky, short_episode)"
    assert lines[1].startswith("findings: ")
    model = next(line for line in lines if line.startswith("model: "))
    assert "cross-validated accuracy" in model and "on 8 ratings (4 good, 4 bad, 4 folds)" in model
    assert next(line for line in lines if line.startswith("review first: ")).count("(p=") == 4
    assert lines[-1] == f"scores written to {scores_path(dataset)}"
    assert "-0.0" not in out
    table = load_scores(dataset)
    assert [e.episode for e in table.episodes if e.predicted_rating is not None] == [8, 9, 10, 11]
    assert table.model["path"] == str(judgement_path(dataset)) and judgement_path(dataset).exists()


def test_score_errors_are_one_line(dataset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv, message in (
        (["--signals", "jerk"], "error: --signals: unknown signal jerk (known: non_finite,"),
        (["--signals", ","], "error: --signals names no signal"),
        (["--device", "cuda"], "error: --device cuda: torch sees no CUDA GPU here (use --device cpu or auto)"),
    ):
        code, out, err = _run(capsys, "score", dataset, "--quiet", *argv)
        assert (code, out) == (2, "") and err.startswith(message) and err.count("\n") == 1
    code, _, err = _run(capsys, "score", dataset.parent / "missing.hdf5")
    assert code == 2 and err == f"error: {dataset.parent / 'missing.hdf5'}: no such file or folder\n"


def test_curate_show_and_set_where(dataset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "curate", "show", dataset, "--where", "jerky>1")
    assert code == 2 and err == (
        f"error: {dataset}: has no score table yet (run `rollout-studio score DATASET` first)\n"
    )
    _table(dataset)
    code, out, _ = _run(capsys, "curate", "show", dataset, "--json", "--where", "jerky>=2000 and not frozen_camera")
    shown = json.loads(out)
    assert code == 0 and [row["episode"] for row in shown["episodes"]] == list(range(3, EPISODES))
    assert shown["where"] == "jerky>=2000 and not frozen_camera"
    code, out, _ = _run(capsys, "curate", "show", dataset, "--where", "frozen_camera")
    assert code == 0 and "   1 (22 frames): no decisions" in out and "2 episodes where frozen_camera" in out
    code, out, _ = _run(capsys, "curate", "set", dataset, "--where", "frozen_camera or jerky>10000", "--flag",
                        "--rating", "bad")
    assert code == 0 and out.startswith("changed: 3 episodes where frozen_camera or jerky>10000")
    curation = Curation.load(dataset)
    assert sorted(curation.decisions) == [1, 2, 11]
    assert all(curation.decision(e).flagged and curation.decision(e).rating == "bad" for e in (1, 2, 11))
    code, out, _ = _run(capsys, "curate", "undo", dataset)
    assert code == 0 and out.startswith("undid: Set rating='bad', flagged=True on 3 episodes where")
    assert Curation.load(dataset).decisions == {}
    for argv, message in (
        (["--where", "jerk>1", "--flag"], "error: --where: unknown signal 'jerk' (known: episode, errors,"),
        (["3", "--where", "jerky>1", "--flag"], "error: give one EPISODE or --where, not both"),
        (["--where", "jerky>1", "--trim-in", "2"], "error: trims are per episode"),
        (["--flag"], "error: give an EPISODE or --where EXPR"),
    ):
        code, _, err = _run(capsys, "curate", "set", dataset, *argv)
        assert code == 2 and err.startswith(message) and err.count("\n") == 1


def test_apply_predictions_is_one_undoable_change(dataset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _table(dataset)
    Curation.load(dataset).set(5, rating="good")  # the operator disagrees with the model: kept
    code, out, _ = _run(capsys, "curate", "apply-predictions", dataset, "--dry-run", "--json")
    assert code == 0 and json.loads(out)["good"] == [0, 1] and json.loads(out)["bad"] == [2, 3]
    assert json.loads(out)["applied"] is False and set(Curation.load(dataset).decisions) == {5}
    code, out, _ = _run(capsys, "curate", "apply-predictions", dataset)
    assert code == 0
    assert "model: cross-validated accuracy 87.5% on 8 ratings" in out
    assert "applied as one change (Apply predicted ratings: 2 good, 2 bad (model accuracy 87.5%))" in out
    curation = Curation.load(dataset)
    assert {e: d.rating for e, d in curation.decisions.items()} == {0: "good", 1: "good", 2: "bad", 3: "bad", 5: "good"}
    code, out, _ = _run(capsys, "curate", "undo", dataset)
    assert code == 0 and out == "undid: Apply predicted ratings: 2 good, 2 bad (model accuracy 87.5%)\n"
    assert {e: d.rating for e, d in Curation.load(dataset).decisions.items()} == {5: "good"}
    code, out, _ = _run(capsys, "curate", "apply-predictions", dataset, "--where", "frozen_camera", "--json",
                        "--good-above", "0.9", "--bad-below", "0.1")
    assert code == 0 and (json.loads(out)["good"], json.loads(out)["bad"]) == ([], [2])
    code, _, err = _run(capsys, "curate", "apply-predictions", dataset, "--good-above", "0.2", "--bad-below", "0.3")
    assert code == 2 and err.startswith("error: need 0 <= --bad-below < --good-above <= 1")
    code, _, err = _run(capsys, "curate", "apply-predictions", dataset, "--min-accuracy", "0.9")
    assert code == 2 and err == (
        f"error: {dataset}: the learned judgement's cross-validated accuracy is 87.5%, under 90% (rate more "
        "episodes and run `rollout-studio score` again, or lower --min-accuracy)\n"
    )


def test_apply_predictions_without_a_model_says_why(dataset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    save_scores(ScoreTable(str(dataset), [EpisodeScores(0)], model={"reason": "no model yet: it needs more"}), dataset)
    code, _, err = _run(capsys, "curate", "apply-predictions", dataset)
    assert code == 2 and err == (
        f"error: {dataset}: no model yet: it needs more (rate more episodes, then run `rollout-studio score` again)\n"
    )


def test_store_falls_back_beside_the_curation_and_refuses_damage(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    shared = tmp_path / "share"
    shared.mkdir()
    dataset = Path(shutil.copy(source, shared / "d.hdf5"))
    shared.chmod(0o555)
    try:
        table = ScoreTable(str(dataset), [EpisodeScores(0, [], {"jerky": 1.5})], ["jerky"])
        path = save_scores(table, dataset)
        fallback = tmp_path / "data-home" / "rollout-studio" / "curation"
        assert path.parent == fallback and path.name.startswith("d.hdf5-") and path.name.endswith(".scores.json")
        assert Curation.load(dataset).path.parent == judgement_path(dataset).parent == fallback
        assert load_scores(dataset).to_json() == table.to_json()
    finally:
        shared.chmod(0o755)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(StudioError, match="cannot read the score table"):
        load_scores(dataset)
    path.write_text(json.dumps({"schema": "other"}), encoding="utf-8")
    with pytest.raises(StudioError, match="not a score table of schema rollout-studio/scores/1"):
        load_scores(dataset)


def test_entry_point(dataset: Path) -> None:
    result = run_cli("score", dataset, "--signals", "jerky", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["signals"] == ["jerky"]
    assert load_scores(dataset) is not None


def test_real_dataset_scores_into_the_fallback(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = shared_data / "lerobot061_so101_v30_h264"
    if not real.is_dir():
        pytest.skip(f"{real} is absent")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    code, out, _ = _run(capsys, "score", real, "--json", "--quiet", "--signals", "jerky,idle_episode,joint_jump")
    assert code == 0
    printed = json.loads(out)
    assert [e["episode"] for e in printed["episodes"]] == [0, 1]
    assert all(f["severity"] != "error" for e in printed["episodes"] for f in e["findings"])  # a clean dataset
    path = scores_path(real)
    assert path.parent == tmp_path / "data-home" / "rollout-studio" / "curation"  # the share is read-only
    assert load_scores(real).to_json() == printed
