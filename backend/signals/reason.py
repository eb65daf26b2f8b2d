"""Imported scores: the ``cosmos-reason-score`` job's outputs (Cosmos Reason as a zero-shot critic, the
cookbook's ``inference_videophy2.py``), a physical-plausibility score 1..5 per video, as readings.

The job writes JSON into its output folder (resources/job_templates/cosmos-reason-score.yaml): one
file per video or one file for all, each entry a score and an explanation. Read tolerantly: a
``.json`` or ``.jsonl`` file or a folder of them; an entry is an object with a score (``score``,
``rating``, ``plausibility``, or an ``<answer>N</answer>`` / first digit 1..5 in ``answer`` /
``output``) naming its video (``video``, ``video_path``, ``video_name``, ``path``, ``file``, ``name``;
else the JSON file's own name), a list of such, an object holding such a list (``results``,
``videos``, ``scores``) or a map ``{video: score | entry}``. Videos match episodes by file stem
(``episode_000003``, a Cosmos sample's name) or by the episode number in the name.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from backend.errors import StudioError
from backend.signals.base import Reading
from backend.signals.specs import REASON_KEEP

_SCORE_KEYS = ("score", "rating", "plausibility", "physical_plausibility", "pred", "prediction")
_TEXT_KEYS = ("answer", "output", "response", "text")
_NAME_KEYS = ("video", "video_path", "video_name", "path", "file", "filename", "name", "id")
_LIST_KEYS = ("results", "videos", "scores", "items", "outputs")
_EXPLAIN_KEYS = ("explanation", "reasoning", "reason", "think", "rationale")
_DIGIT = re.compile(r"<answer>\s*([1-5])(?:\.\d+)?\s*</answer>|\b([1-5])(?:\.\d+)?\b")
_EPISODE = re.compile(r"(?:episode|demo)[_-]?(\d+)")


def _score(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if 1 <= float(value) <= 5 else None
    if isinstance(value, str):
        match = _DIGIT.search(value)
        if match:
            return float(match.group(1) or match.group(2))
    return None


def _entry(item: Any, fallback: str) -> tuple[str, float, str] | None:
    if not isinstance(item, dict):
        score = _score(item)
        return (fallback, score, "") if score is not None and fallback else None
    score = next((s for k in _SCORE_KEYS if (s := _score(item.get(k))) is not None), None)
    if score is None:
        score = next((s for k in _TEXT_KEYS if (s := _score(item.get(k))) is not None), None)
    name = next((str(item[k]) for k in _NAME_KEYS if isinstance(item.get(k), str) and item[k]), fallback)
    if score is None or not name:
        return None
    explanation = next((str(item[k]) for k in _EXPLAIN_KEYS if isinstance(item.get(k), str)), "")
    return Path(name).stem, score, explanation


def _entries(data: Any, fallback: str) -> list[tuple[str, float, str]]:
    if isinstance(data, list):
        return [e for item in data if (e := _entry(item, "")) is not None]
    if not isinstance(data, dict):
        return []
    for key in _LIST_KEYS:
        if isinstance(data.get(key), (list, dict)) and not any(k in data for k in _SCORE_KEYS):
            return _entries(data[key], fallback)
    single = _entry(data, fallback)
    if single is not None:
        return [single]
    out = []
    for key, value in data.items():  # {video: score | entry}
        entry = _entry(value, str(key)) if not isinstance(value, dict) else _entry({"video": key, **value}, key)
        if entry is not None:
            out.append(entry)
    return out


def read_reason_scores(path: str | Path) -> dict[str, tuple[float, str]]:
    """Video stem -> (score 1..5, explanation) from a job output file or folder."""
    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.suffix in (".json", ".jsonl")) if path.is_dir() else [path]
    if not path.exists():
        raise StudioError("no Cosmos-Reason scores there", path, "give the cosmos-reason-score job's output folder")
    out: dict[str, tuple[float, str]] = {}
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
            if file.suffix == ".jsonl":
                items: list[Any] = [json.loads(line) for line in text.splitlines() if line.strip()]
                found = _entries(items, file.stem)
            else:
                found = _entries(json.loads(text), file.stem)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise StudioError(f"cannot read Cosmos-Reason scores: {error}", file) from error
        for stem, score, explanation in found:
            out[stem] = (score, explanation)
    return out


def episode_keys(episode: Any) -> list[str]:
    """Names a video of ``episode`` may carry: its sample name, its video files' stems, episode_NNNNNN."""
    keys = [str(episode.extra.get("name") or ""), str(episode.source or ""),
            f"episode_{episode.index:06d}", f"demo_{episode.index}"]
    for key in ("mp4", "video", "path"):
        value = episode.extra.get(key)
        if isinstance(value, (str, Path)):
            keys.append(Path(value).stem)
    return [k for k in keys if k]


def reason_readings(episodes: list[Any], scores: dict[str, tuple[float, str]]) -> dict[int, Reading]:
    """Episode index -> a ``reason_score`` reading for each episode whose video was scored."""
    by_number: dict[int, tuple[float, str, str]] = {}
    for stem, (score, explanation) in scores.items():
        match = _EPISODE.search(stem)
        if match:
            by_number.setdefault(int(match.group(1)), (score, explanation, stem))
    out: dict[int, Reading] = {}
    for episode in episodes:
        hit = next(((scores[k][0], scores[k][1], k) for k in episode_keys(episode) if k in scores), None)
        if hit is None and not episode.extra.get("name"):
            hit = by_number.get(episode.index)
        if hit is None:
            continue
        score, explanation, stem = hit
        why = f": {explanation.strip()[:160]}" if explanation.strip() else ""
        out[episode.index] = Reading(
            "reason_score", score, REASON_KEEP, score < REASON_KEEP,
            f"Cosmos-Reason rates {stem} {score:g} of 5 for physical plausibility{why}",
        )
    return out
