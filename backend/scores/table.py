"""The score table: what each signal measured and found in each episode, and the predicted rating.

Kept in a sidecar beside the dataset, like the curation decisions (``backend/curation.py``):
``pick.hdf5`` -> ``pick.hdf5.scores.json``; a folder ``so101_pick/`` -> ``so101_pick.scores.json``
beside it; in ``$XDG_DATA_HOME/rollout-studio/curation/`` when that folder is not writable. The
dataset itself is never written.

``to_json()`` is exactly what ``rollout-studio score --json`` prints::

    {"episodes": [{"episode": N, "findings": [{"signal": NAME, "severity": "info"|"warning"|"error",
      "frames": [FIRST, LAST], "message": TEXT}], "scores": {NAME: VALUE}, "predicted_rating": ...}]}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SCHEMA = "rollout-studio/scores/1"
SIDECAR_SUFFIX = ".scores.json"
SEVERITIES = ("info", "warning", "error")


@dataclass(frozen=True)
class Finding:
    """One signal that fired in one episode: where (first and last frame, inclusive) and why."""

    signal: str
    severity: str  # one of SEVERITIES
    frames: tuple[int, int]
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"signal": self.signal, "severity": self.severity, "frames": list(self.frames),
                "message": self.message}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Finding:
        first, last = data["frames"]
        return cls(str(data["signal"]), str(data["severity"]), (int(first), int(last)), str(data["message"]))


@dataclass
class EpisodeScores:
    """Every signal's value for one episode (``scores``: name -> number), the findings among them,
    and the learned judgement: ``predicted_rating`` is the probability that the operator would rate
    the episode good (None before a model exists), ``source`` the source episode of a generated one
    (paired by provenance), ``variant`` its index among the source's generated variants."""

    episode: int
    findings: list[Finding] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    predicted_rating: float | None = None
    source: int | None = None
    variant: int | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "episode": self.episode,
            "findings": [finding.to_json() for finding in self.findings],
            "scores": dict(self.scores),
            "predicted_rating": self.predicted_rating,
        }
        if self.source is not None:
            data["source"] = self.source
            data["variant"] = self.variant
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EpisodeScores:
        return cls(
            episode=int(data["episode"]),
            findings=[Finding.from_json(item) for item in data.get("findings", [])],
            scores={str(k): float(v) for k, v in data.get("scores", {}).items()},
            predicted_rating=data.get("predicted_rating"),
            source=data.get("source"),
            variant=data.get("variant"),
        )


@dataclass
class ScoreTable:
    """The scores of one dataset: ``episodes`` in episode order; ``signals`` the names computed;
    ``device`` where the video signals ran (cpu / cuda); ``model`` what the learned judgement
    reported (its cross-validated accuracy, the number of ratings it learned from), or empty."""

    dataset: str
    episodes: list[EpisodeScores] = field(default_factory=list)
    signals: list[str] = field(default_factory=list)
    device: str = "cpu"
    model: dict[str, Any] = field(default_factory=dict)

    def episode(self, index: int) -> EpisodeScores | None:
        for item in self.episodes:
            if item.episode == index:
                return item
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "dataset": self.dataset,
            "signals": list(self.signals),
            "device": self.device,
            "model": dict(self.model),
            "episodes": [item.to_json() for item in self.episodes],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ScoreTable:
        return cls(
            dataset=str(data.get("dataset", "")),
            episodes=[EpisodeScores.from_json(item) for item in data.get("episodes", [])],
            signals=[str(name) for name in data.get("signals", [])],
            device=str(data.get("device", "cpu")),
            model=dict(data.get("model", {})),
        )
