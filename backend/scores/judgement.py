"""The learned judgement: a small torch model that predicts the operator's rating of an episode.

Inputs of one episode, compressed (sign(x) log(1 + |x|): peaks and counts have heavy tails) and
standardised: every signal value of the score table (``score:NAME``) and
summary statistics of its joint trajectory (``traj:...``: length, duration, per-joint range, mean
and peak speed, overall mean and peak speed, path length), from the action (the state when there is no action), in SO-101 degrees
when the joints convert. Labels: the curation ratings (good = 1, bad = 0). The model is a logistic
regression (``hidden=0``, the default: a few dozen ratings do not feed more) or a one-hidden-layer
MLP, fitted full batch (Adam, a fixed number of steps) with an L2 penalty, classes weighted equally; seeded and on the
CPU, so the same ratings give the same model.

Reported with every prediction (``ScoreTable.model``): the stratified k-fold cross-validated
accuracy (k = min(5, the smaller class)), the number of ratings of each class. A model needs at
least :data:`MIN_PER_CLASS` ratings of each class; below that ``model["reason"]`` says why there is
none. The unrated episodes get ``predicted_rating`` = P(good); :func:`review_order` puts the most
uncertain first (closest to 0.5: the ratings that teach the model most).

Saved beside the curation decisions (``backend.scores.store.judgement_path``) with ``torch.save``
of plain values and tensors (feature names, hidden width, the state dict), loaded with
``weights_only=True``.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from backend import signals
from backend.atomic import write_bytes_atomic
from backend.errors import StudioError
from backend.progress import Progress, ensure_progress
from backend.scores.table import ScoreTable
from backend.torch_threads import torch_threads

MIN_PER_CLASS = 4
MAX_FOLDS = 5
SEED = 0
L2 = 0.1  # penalty on the weights (features are standardised)
STEPS = 200  # full-batch Adam steps
LEARNING_RATE = 0.1
BETAS = (0.9, 0.999)
SCHEMA = "rollout-studio/judgement/1"


# -- features -------------------------------------------------------------------------------------
def trajectory_features(episode: Any) -> dict[str, float]:
    """Summary statistics of one episode's joint trajectory (action, else state)."""
    track = signals.joint_track(episode, "action") or signals.joint_track(episode, "state")
    length = int(episode.length)
    out: dict[str, float] = {"traj:length": float(length)}
    if track is None or len(track.values) == 0:
        return out
    values = np.nan_to_num(np.asarray(track.values, dtype=np.float64))
    out["traj:duration_s"] = length / track.fps
    steps = np.abs(np.diff(values, axis=0)) * track.fps if len(values) > 1 else np.zeros((1, values.shape[1]))
    for j, name in enumerate(track.names):
        out[f"traj:range:{name}"] = float(values[:, j].max() - values[:, j].min())
        out[f"traj:mean_speed:{name}"] = float(steps[:, j].mean())
        out[f"traj:peak_speed:{name}"] = float(steps[:, j].max())
    speed = np.linalg.norm(steps, axis=1)
    out["traj:mean_speed"] = float(speed.mean())
    out["traj:peak_speed"] = float(speed.max())
    out["traj:path"] = float(speed.sum() / track.fps)
    return out


def dataset_trajectories(
    dataset: Any, episodes: Sequence[int] | None = None, progress: Progress | None = None
) -> dict[int, dict[str, float]]:
    """``trajectory_features`` of each episode (all, or ``episodes``)."""
    progress = ensure_progress(progress)
    wanted = list(episodes) if episodes is not None else [e.index for e in dataset.episodes]
    out: dict[int, dict[str, float]] = {}
    for number, index in enumerate(wanted):
        episode = dataset.episode(index)
        out[index] = trajectory_features(episode)
        episode.unload()
        progress.report(number + 1, len(wanted), f"trajectory of episode {index}")
    return out


def episode_inputs(table: ScoreTable, trajectories: Mapping[int, Mapping[str, float]]) -> dict[int, dict[str, float]]:
    """Every model input of each episode of ``table``: its signal values and trajectory features."""
    out: dict[int, dict[str, float]] = {}
    for item in table.episodes:
        values = {f"score:{name}": float(value) for name, value in item.scores.items()}
        values.update(trajectories.get(item.episode, {}))
        out[item.episode] = values
    return out


def _matrix(inputs: Mapping[int, Mapping[str, float]], episodes: Sequence[int], names: Sequence[str]) -> np.ndarray:
    rows = np.full((len(episodes), len(names)), np.nan)
    for r, episode in enumerate(episodes):
        values = inputs.get(episode, {})
        for c, name in enumerate(names):
            value = values.get(name)
            if value is not None:
                rows[r, c] = float(value)
    rows[~np.isfinite(rows)] = np.nan
    return np.sign(rows) * np.log1p(np.abs(rows))  # heavy tails (a peak, a count) compressed


# -- the model ------------------------------------------------------------------------------------
def _net(width: int, hidden: int) -> Any:
    import torch
    from torch import nn

    class Net(nn.Module):
        """Standardise, then a linear layer (logistic regression) or one tanh hidden layer."""

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("mean", torch.zeros(width, dtype=torch.float64))
            self.register_buffer("scale", torch.ones(width, dtype=torch.float64))
            if hidden:
                self.body = nn.Sequential(nn.Linear(width, hidden), nn.Tanh(), nn.Linear(hidden, 1))
            else:
                self.body = nn.Linear(width, 1)
            self.double()

        def forward(self, x: Any) -> Any:
            x = torch.nan_to_num((x - self.mean) / self.scale, nan=0.0)  # a missing value: the mean
            return self.body(x).squeeze(-1)

    return Net()


def _train(rows: np.ndarray, labels: np.ndarray, hidden: int) -> Any:
    import torch

    with torch.random.fork_rng(devices=[]):  # seeded without touching the caller's generator
        torch.manual_seed(SEED)
        net = _net(rows.shape[1], hidden)
        std = np.nan_to_num(np.nanstd(rows, axis=0))
        net.mean.copy_(torch.from_numpy(np.nan_to_num(np.nanmean(rows, axis=0))))
        net.scale.copy_(torch.from_numpy(np.where(std > 1e-12, std, 1.0)))
        x = torch.from_numpy(rows)
        y = torch.from_numpy(labels.astype(np.float64))
        positives = float(labels.sum())  # classes weighted equally
        balance = np.where(labels == 1, len(labels) / (2 * positives), len(labels) / (2 * (len(labels) - positives)))
        weight = torch.from_numpy(balance.astype(np.float64))
        weights = [p for name, p in net.named_parameters() if name.endswith("weight")]
        params = list(net.parameters())
        # full-batch Adam written out: torch.optim imports torch._dynamo (seconds) on first use
        first = [torch.zeros_like(p) for p in params]
        second = [torch.zeros_like(p) for p in params]
        for step in range(1, STEPS + 1):
            loss = torch.nn.functional.binary_cross_entropy_with_logits(net(x), y, weight=weight)
            loss = loss + L2 * sum((w**2).sum() for w in weights) / 2
            grads = torch.autograd.grad(loss, params)
            with torch.no_grad():
                for p, g, m, v in zip(params, grads, first, second, strict=True):
                    m.mul_(BETAS[0]).add_(g, alpha=1 - BETAS[0])
                    v.mul_(BETAS[1]).addcmul_(g, g, value=1 - BETAS[1])
                    m_hat = m / (1 - BETAS[0] ** step)
                    v_hat = v / (1 - BETAS[1] ** step)
                    p.sub_(LEARNING_RATE * m_hat / (v_hat.sqrt() + 1e-8))
    net.eval()
    return net


def _probabilities(net: Any, rows: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        return torch.sigmoid(net(torch.from_numpy(rows))).numpy().astype(np.float64)


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Tiny tensors: one intra-op thread (two threads on a busy 2-core machine are 10x slower)."""
    with torch_threads(1):  # shared with other overlapping users (backend/torch_threads.py)
        yield


def folds(labels: Sequence[int], k: int) -> list[int]:
    """Stratified fold of each sample: each class dealt round-robin in order (deterministic)."""
    fold = [0] * len(labels)
    for value in (0, 1):
        members = [i for i, label in enumerate(labels) if label == value]
        for n, i in enumerate(members):
            fold[i] = n % k
    return fold


@dataclass
class Judgement:
    """A fitted model: its input names, its net, and how well it did in cross-validation."""

    features: list[str]
    net: Any
    hidden: int = 0
    accuracy: float = float("nan")
    folds: int = 0
    good: int = 0
    bad: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def predict(self, inputs: Mapping[int, Mapping[str, float]], episodes: Sequence[int]) -> dict[int, float]:
        """P(good) of each of ``episodes`` (their inputs in ``inputs``)."""
        if not episodes:
            return {}
        rows = _matrix(inputs, episodes, self.features)
        return {e: float(p) for e, p in zip(episodes, _probabilities(self.net, rows), strict=True)}

    def info(self) -> dict[str, Any]:
        """What ``ScoreTable.model`` shows."""
        return {
            "kind": f"mlp({self.hidden})" if self.hidden else "logistic",
            "accuracy": round(self.accuracy, 4),
            "folds": self.folds,
            "ratings": self.good + self.bad,
            "good": self.good,
            "bad": self.bad,
            "features": len(self.features),
            **self.extra,
        }

    def save(self, path: str | Path) -> Path:
        """``torch.save`` of plain values and the state dict; a state file of the studio (like the
        curation sidecar: replaced atomically, whoever wrote the previous one)."""
        import torch

        data = {
            "schema": SCHEMA,
            "features": list(self.features),
            "hidden": int(self.hidden),
            "accuracy": float(self.accuracy),
            "folds": int(self.folds),
            "good": int(self.good),
            "bad": int(self.bad),
            "state_dict": {k: v.detach().clone() for k, v in self.net.state_dict().items()},
        }
        buffer = io.BytesIO()
        torch.save(data, buffer)
        path = Path(path)
        write_bytes_atomic(path, buffer.getvalue())
        return path


def load_judgement(path: str | Path) -> Judgement:
    """A saved model (``torch.load(weights_only=True)``: plain values and tensors only)."""
    import torch

    try:
        data = torch.load(Path(path), weights_only=True, map_location="cpu")
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            raise ValueError(f"not a judgement of schema {SCHEMA}")
        features = [str(name) for name in data["features"]]
        hidden = int(data["hidden"])
        net = _net(len(features), hidden)
        net.load_state_dict(data["state_dict"])
    except FileNotFoundError:
        raise StudioError("no learned judgement saved", path, "run `rollout-studio score` with ratings") from None
    except Exception as error:  # noqa: BLE001 - unpickling refuses, shapes differ, keys missing
        raise StudioError(f"cannot load the learned judgement ({error})", path, "run `rollout-studio score` again") from None
    net.eval()
    return Judgement(
        features, net, hidden, float(data.get("accuracy", float("nan"))), int(data.get("folds", 0)),
        int(data.get("good", 0)), int(data.get("bad", 0)),
    )


def ratings_of(curation: Any) -> dict[int, int]:
    """The operator's ratings in ``curation``: episode -> 1 (good) / 0 (bad)."""
    return {
        int(episode): int(decision.rating == "good")
        for episode, decision in curation.decisions.items()
        if decision.rating in ("good", "bad")
    }


def why_no_model(ratings: Mapping[int, int]) -> str | None:
    """Why there are too few ratings to learn from (None when there are enough)."""
    good = sum(1 for v in ratings.values() if v)
    bad = len(ratings) - good
    if good >= MIN_PER_CLASS and bad >= MIN_PER_CLASS:
        return None
    return (
        f"no model yet: it needs at least {MIN_PER_CLASS} good and {MIN_PER_CLASS} bad ratings, "
        f"there are {good} good and {bad} bad"
    )


def fit(
    inputs: Mapping[int, Mapping[str, float]], ratings: Mapping[int, int], hidden: int = 0
) -> Judgement:
    """Fit on the rated episodes of ``inputs`` and cross-validate; raises StudioError when too few."""
    ratings = {e: r for e, r in ratings.items() if e in inputs}
    reason = why_no_model(ratings)
    if reason is not None:
        raise StudioError(reason)
    episodes = sorted(ratings)
    labels = np.array([ratings[e] for e in episodes], dtype=np.int64)
    names = sorted({name for e in episodes for name in inputs[e]})
    rows = _matrix(inputs, episodes, names)
    good = int(labels.sum())
    k = min(MAX_FOLDS, good, len(labels) - good)
    fold = np.array(folds(labels.tolist(), k))
    correct = 0
    with _one_thread():
        for f in range(k):
            train, test = fold != f, fold == f
            net = _train(rows[train], labels[train], hidden)
            correct += int(((_probabilities(net, rows[test]) >= 0.5) == (labels[test] == 1)).sum())
        net = _train(rows, labels, hidden)
    return Judgement(names, net, hidden, correct / len(labels), k, good, len(labels) - good)


def judge(
    table: ScoreTable,
    trajectories: Mapping[int, Mapping[str, float]],
    ratings: Mapping[int, int],
    hidden: int = 0,
) -> Judgement | None:
    """Refit on the ratings and write the predictions into ``table`` (``predicted_rating`` of every
    unrated episode, ``model``). None, with ``table.model["reason"]``, when there are too few."""
    for item in table.episodes:
        item.predicted_rating = None
    scored = {item.episode for item in table.episodes}
    ratings = {e: r for e, r in ratings.items() if e in scored}  # decisions of episodes gone since
    reason = why_no_model(ratings)
    if reason is not None:
        table.model = {"reason": reason}
        return None
    inputs = episode_inputs(table, trajectories)
    judgement = fit(inputs, ratings, hidden)
    unrated = [item.episode for item in table.episodes if item.episode not in ratings]
    predictions = judgement.predict(inputs, unrated)
    for item in table.episodes:
        if item.episode in predictions:
            item.predicted_rating = round(predictions[item.episode], 4)
    table.model = judgement.info()
    return judgement


def review_order(table: ScoreTable) -> list[int]:
    """The episodes with a prediction, most uncertain first (P(good) closest to 0.5), then by index."""
    predicted = [item for item in table.episodes if item.predicted_rating is not None]
    predicted.sort(key=lambda item: (abs(float(item.predicted_rating) - 0.5), item.episode))
    return [item.episode for item in predicted]


def judge_dataset(
    table: ScoreTable, dataset: Any, curation: Any, hidden: int = 0, progress: Progress | None = None
) -> Judgement | None:
    """``judge`` with the dataset's trajectories and ``curation``'s ratings; a fitted model is saved
    beside the decisions (``store.judgement_path``). None (``table.model["reason"]``) when too few."""
    from backend.scores.store import judgement_path

    ratings = ratings_of(curation)
    if why_no_model(ratings) is not None:
        return judge(table, {}, ratings, hidden)
    trajectories = dataset_trajectories(dataset, [item.episode for item in table.episodes], progress)
    judgement = judge(table, trajectories, ratings, hidden)
    if judgement is not None:
        path = judgement.save(judgement_path(dataset.path))
        table.model["path"] = str(path)
    return judgement
