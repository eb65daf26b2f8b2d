"""The learned judgement: fitted on curation ratings, cross-validated, saved as plain tensors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from backend.curation import Curation
from backend.errors import StudioError
from backend.formats import open_dataset
from backend.scores.judgement import (
    MIN_PER_CLASS,
    Judgement,
    fit,
    folds,
    judge,
    judge_dataset,
    load_judgement,
    ratings_of,
    review_order,
    trajectory_features,
)
from backend.scores.store import judgement_path
from backend.scores.table import EpisodeScores, ScoreTable
from tests.browse_data import write_hdf5

EPISODES = 24


def _inputs(seed: int = 3) -> tuple[dict[int, dict[str, float]], dict[int, int]]:
    """Good episodes have a low 'jerky' value, bad ones a high one; 'noise' carries nothing."""
    rng = np.random.default_rng(seed)
    labels = {e: int(e % 3 != 0) for e in range(EPISODES)}
    inputs = {
        e: {"score:jerky": float(rng.normal(1000.0 if good else 9000.0, 800.0)), "score:noise": float(rng.normal())}
        for e, good in labels.items()
    }
    return inputs, labels


@pytest.fixture(scope="module")
def fitted() -> Judgement:
    inputs, labels = _inputs()
    return fit(inputs, {e: labels[e] for e in range(16)})


def test_learns_a_separable_rule_and_says_how_well(fitted: Judgement) -> None:
    inputs, labels = _inputs()
    rated = {e: labels[e] for e in range(16)}
    judgement = fitted
    assert judgement.accuracy == 1.0
    assert judgement.folds == 5 and (judgement.good, judgement.bad) == (10, 6)
    assert judgement.features == ["score:jerky", "score:noise"]
    predicted = judgement.predict(inputs, list(range(16, EPISODES)))
    assert all((p >= 0.5) == bool(labels[e]) for e, p in predicted.items())
    again = fit(inputs, rated).predict(inputs, list(range(16, EPISODES)))
    assert again == predicted  # seeded, CPU: the same ratings give the same numbers


def test_one_hidden_layer_too() -> None:
    inputs, labels = _inputs()
    judgement = fit(inputs, {e: labels[e] for e in range(16)}, hidden=4)
    assert judgement.info()["kind"] == "mlp(4)"
    assert judgement.accuracy >= 0.9
    predicted = judgement.predict(inputs, list(range(16, EPISODES)))
    assert sum((p >= 0.5) == bool(labels[e]) for e, p in predicted.items()) >= 7


def test_cross_validation_is_honest_on_labels_it_cannot_learn() -> None:
    rng = np.random.default_rng(7)
    inputs = {e: {"score:noise": float(rng.normal())} for e in range(40)}
    judgement = fit(inputs, {e: int(rng.integers(0, 2)) for e in range(40)})
    assert 0.2 <= judgement.accuracy <= 0.75  # chance, not the training fit


def test_folds_are_stratified() -> None:
    assert folds([1, 1, 0, 1, 0, 0, 1, 0], 4) == [0, 1, 0, 2, 1, 2, 3, 3]


def test_too_few_ratings_say_why_and_predict_nothing() -> None:
    inputs, labels = _inputs()
    table = ScoreTable("d", [EpisodeScores(e, [], {"jerky": inputs[e]["score:jerky"]}, 0.4) for e in range(8)])
    rated = {0: 0, 3: 0, 6: 0, 1: 1, 2: 1, 4: 1, 5: 1}  # 3 bad
    assert judge(table, {}, rated) is None
    assert table.model == {
        "reason": f"no model yet: it needs at least {MIN_PER_CLASS} good and {MIN_PER_CLASS} bad ratings, "
        "there are 4 good and 3 bad"
    }
    assert all(item.predicted_rating is None for item in table.episodes)  # stale predictions are cleared
    with pytest.raises(StudioError, match="there are 4 good and 3 bad"):
        fit(inputs, rated)
    # ratings of episodes the table no longer has (a decision kept from before an edit) do not count
    assert judge(table, {}, {**rated, 40: 0, 41: 0}) is None
    assert table.model["reason"].endswith("there are 4 good and 3 bad")


def test_review_order_puts_the_most_uncertain_first() -> None:
    table = ScoreTable(
        "d",
        [EpisodeScores(0, predicted_rating=0.9), EpisodeScores(1, predicted_rating=0.45),
         EpisodeScores(2), EpisodeScores(3, predicted_rating=0.1), EpisodeScores(4, predicted_rating=0.55)],
    )
    assert review_order(table) == [1, 4, 0, 3]


class _NotATensor:
    pass


def test_saved_as_plain_tensors_and_loaded_safely(fitted: Judgement, tmp_path: Path) -> None:
    inputs, _ = _inputs()
    judgement = fitted
    path = judgement.save(tmp_path / "d.hdf5.judgement.pt")
    raw = torch.load(path, weights_only=True)
    assert raw["features"] == ["score:jerky", "score:noise"] and raw["hidden"] == 0
    assert sorted(raw["state_dict"]) == ["body.bias", "body.weight", "mean", "scale"]
    assert all(isinstance(v, torch.Tensor) for v in raw["state_dict"].values())
    loaded = load_judgement(path)
    unrated = list(range(16, EPISODES))
    assert loaded.predict(inputs, unrated) == judgement.predict(inputs, unrated)
    assert loaded.accuracy == judgement.accuracy
    path.write_bytes(b"left by a copy from another machine")
    judgement.save(path)  # a state file, like the curation sidecar: replaced whoever wrote it
    assert load_judgement(path).features == judgement.features
    evil = tmp_path / "evil.pt"
    torch.save({"schema": "x", "payload": _NotATensor()}, evil)
    with pytest.raises(StudioError, match="cannot load the learned judgement"):
        load_judgement(evil)
    with pytest.raises(StudioError, match="no learned judgement saved"):
        load_judgement(tmp_path / "missing.pt")


@pytest.fixture(scope="module")
def hdf5(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("judged")
    return write_hdf5(folder / "d.hdf5", lengths=tuple(20 + 2 * (e % 5) for e in range(16)))


def test_trajectory_features_of_a_real_episode(hdf5: Path) -> None:
    with open_dataset(hdf5) as dataset:
        features = trajectory_features(dataset.episode(2))
    assert features["traj:length"] == 24.0
    assert features["traj:duration_s"] == pytest.approx(0.8)
    # tests/browse_data.py: 0.3 rad sines with a 60-frame period over 24 frames, in degrees
    assert 15.0 < features["traj:range:shoulder_pan"] < 35.0
    assert features["traj:mean_speed:gripper"] > 0.0
    assert features["traj:peak_speed"] >= features["traj:mean_speed"] > 0.0


def test_judge_dataset_learns_from_curation_and_saves_beside_it(hdf5: Path) -> None:
    inputs, labels = _inputs()
    table = ScoreTable("d", [EpisodeScores(e, [], {"jerky": inputs[e]["score:jerky"]}) for e in range(16)], ["jerky"])
    curation = Curation.load(hdf5)
    curation.autosave = False
    curation.set_many([e for e in range(12) if labels[e]], rating="good")
    curation.set_many([e for e in range(12) if not labels[e]], rating="bad")
    assert ratings_of(curation) == {e: labels[e] for e in range(12)}
    with open_dataset(hdf5) as dataset:
        judgement = judge_dataset(table, dataset, curation)
    assert judgement is not None
    assert table.model["path"] == str(judgement_path(hdf5)) == str(hdf5) + ".judgement.pt"
    assert table.model["ratings"] == 12 and table.model["good"] == 8 and table.model["bad"] == 4
    assert table.model["folds"] == 4 and 0.0 <= table.model["accuracy"] <= 1.0
    assert any(name.startswith("traj:range:") for name in judgement.features)
    predicted = {item.episode: item.predicted_rating for item in table.episodes}
    assert all(predicted[e] is None for e in range(12))  # rated: the operator's word stands
    assert all(0.0 <= predicted[e] <= 1.0 for e in range(12, 16))
    # the unrated bad ones (12, 15: high jerk) rank below the unrated good ones (13, 14)
    assert max(predicted[12], predicted[15]) < min(predicted[13], predicted[14])
    assert load_judgement(table.model["path"]).features == judgement.features
