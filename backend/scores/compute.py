"""Compute every signal of every episode into a :class:`ScoreTable` (``rollout-studio score``).

The signals are those of ``backend/signals`` (the doctor's and the quality ones): each episode gets
every measured value in ``scores`` (the worst over joints and cameras) and a :class:`Finding` for each
signal that fired, with its severity, the first and last frame where it shows and its sentence.
Generated episodes (paired with their source by provenance, ``backend/compare/pairing.py``) get
``source``/``variant`` and the generated-video signals against that source.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from backend import signals as sig
from backend.model import Dataset, DatasetFormat
from backend.progress import Progress, ensure_progress
from backend.scores import measure
from backend.scores.table import EpisodeScores, Finding, ScoreTable
from backend.signals.reason import read_reason_scores, reason_readings
from backend.signals.specs import TRAJECTORY_POINTS
from backend.signals.trajectory import resample, trajectory_outliers

MOTION_SIGNALS = (
    "non_finite", "shorter_than_chunk", "short_episode", "long_episode", "idle_episode", "frozen_action",
    "jerky", "velocity_spike", "joint_jump", "joint_out_of_range", "saturated_joint", "stuck_joint",
    "action_state_divergence", "gripper_never_moves", "gripper_chatter", "near_duplicate_episodes",
    "dropped_frames", "chunk_boundary_jumps", "trajectory_outlier",
)
CAMERA_SIGNALS = (
    "black_frames", "saturated_frames", "blank_camera", "frozen_camera", "repeated_frames",
    "identical_cameras", "blurred_frames", "exposure_change", "length_mismatch",
)
GENERATED_SIGNALS = (
    "flicker", "frame_diff_spikes", "conditioning_drift", "source_psnr", "source_ssim", "idm_envelope",
)
IMPORTED_SIGNALS = ("reason_score",)
SIGNAL_NAMES: tuple[str, ...] = MOTION_SIGNALS + CAMERA_SIGNALS + GENERATED_SIGNALS + IMPORTED_SIGNALS
# signals whose small values are the bad ones: the episode's score is the lowest reading
LOWER_IS_WORSE = frozenset({"idle_episode", "gripper_never_moves", "blank_camera", "source_psnr",
                            "source_ssim", "reason_score"})
@dataclass
class _Episode:
    """What one episode measured: its readings, and what the dataset-level passes need."""

    index: int
    length: int
    task: str
    readings: list[sig.Reading] = field(default_factory=list)
    main: sig.JointTrack | None = None
    resampled: np.ndarray | None = None  # the main track's body joints at TRAJECTORY_POINTS points


def resolve_device(device: str = "auto") -> str:
    """``auto`` -> ``cuda`` when torch sees a GPU, else ``cpu``; ``cpu``/``cuda`` as given."""
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, not {device!r}")
    if device == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def _duplicates(measured: list[_Episode], refs: dict[int, Any]) -> dict[int, list[sig.Reading]]:
    """near_duplicate_episodes: the later episode of each pair (by index) gets the reading; generated
    variants of one source episode are alike by design and not compared with each other."""
    tracks = [(m.index, m.length, m.main) for m in measured if m.main is not None and len(m.main.values)]
    if len(tracks) < 2:
        return {}
    degrees = all(t.degrees for _, _, t in tracks)
    widths = {t.values.shape[1] for _, _, t in tracks}
    if len(widths) != 1:
        return {}
    prints = np.stack([sig.action_fingerprint(t.values) for _, _, t in tracks])
    if degrees:
        tolerance = sig.DUPLICATE_DEGREES
    else:
        span = float(np.percentile(prints, 99) - np.percentile(prints, 1)) if prints.size else 0.0
        tolerance = sig.DUPLICATE_RELATIVE * span
    if tolerance <= 0:
        return {}
    pairs = sig.near_duplicates([str(i) for i, _, _ in tracks], [n for _, n, _ in tracks], prints, tolerance)
    out: dict[int, list[sig.Reading]] = {}
    for a, b, rms in pairs:
        first, second = tracks[a][0], tracks[b][0]
        if first in refs and second in refs and _same_source(refs[first], refs[second]):
            continue
        out.setdefault(second, []).append(sig.Reading(
            "near_duplicate_episodes", rms, tolerance, True,
            f"the actions repeat episode {first}'s ({rms:.3g} RMS apart over {sig.DUPLICATE_POINTS} "
            "resampled points)", (), str(first)))
    return out


def _same_source(a: Any, b: Any) -> bool:
    return str(a.path) == str(b.path) and a.episode == b.episode


def _aggregate(index: int, length: int, readings: Iterable[sig.Reading], names: set[str]) -> EpisodeScores:
    scores: dict[str, float] = {}
    findings: list[Finding] = []
    for reading in readings:
        name = reading.signal
        if name not in names:
            continue
        value = float(reading.value)
        if not np.isfinite(value):
            value = 0.0
        if name not in scores:
            scores[name] = value
        elif name in LOWER_IS_WORSE:
            scores[name] = min(scores[name], value)
        else:
            scores[name] = max(scores[name], value)
        if reading.fired:
            spec = sig.ALL_SIGNALS[name]
            frames = reading.frames
            span = (int(min(frames)), int(max(frames))) if frames else (0, max(length - 1, 0))
            findings.append(Finding(name, reading.severity or spec.severity, span, reading.sentence))
    # one length finding: too short for a chunk says more than short
    if any(f.signal == "shorter_than_chunk" for f in findings):
        findings = [f for f in findings if f.signal != "short_episode"]
    return EpisodeScores(index, findings, scores)


def _trajectories(measured: list[_Episode], refs: dict[int, Any]) -> dict[int, sig.Reading]:
    """trajectory_outlier of every recorded episode, against the medoid of the episodes of its task
    (generated episodes are near copies of their sources: ``idm_envelope`` judges them instead)."""
    groups: dict[tuple[str, int, bool], dict[int, np.ndarray]] = {}
    for item in measured:
        if item.resampled is not None and item.main is not None and item.index not in refs:
            key = (item.task, item.resampled.shape[1], item.main.degrees)
            groups.setdefault(key, {})[item.index] = item.resampled
    out: dict[int, sig.Reading] = {}
    for (task, _, _), group in groups.items():
        out.update(trajectory_outliers(group, task))
    return out


def _variants(refs: dict[int, Any]) -> dict[int, int]:
    """Episode -> its position among the generated episodes of the same source episode."""
    counts: dict[tuple[str, int], int] = {}
    out: dict[int, int] = {}
    for index in sorted(refs):
        ref = refs[index]
        key = (str(ref.path), ref.episode)
        out[index] = counts.get(key, 0)
        counts[key] = out[index] + 1
    return out


def compute_scores(
    dataset: Dataset,
    episodes: Sequence[int] | None = None,
    signals: Sequence[str] | None = None,
    device: str = "auto",
    progress: Progress | None = None,
    reason: str | Path | None = None,
    sources: measure.Sources | None = None,
) -> ScoreTable:
    """Score ``episodes`` (default all) of ``dataset`` on ``signals`` (default :data:`SIGNAL_NAMES`).

    ``device``: where the video signals run (``auto``: CUDA when present). ``reason``: a
    ``cosmos-reason-score`` job's output (file or folder) whose 1..5 ratings become ``reason_score``.
    Raises ValueError for an unknown signal name or episode index, StudioError for unreadable
    Cosmos-Reason outputs. ``sources``: who the generated episodes' sources are (default: what the
    dataset's provenance records and Cosmos names say, ``measure.Sources``).
    """
    progress = ensure_progress(progress)
    wanted = list(SIGNAL_NAMES if signals is None else signals)
    unknown = [n for n in wanted if n not in SIGNAL_NAMES]
    if unknown:
        raise ValueError(f"unknown signal(s) {', '.join(unknown)}; known: {', '.join(SIGNAL_NAMES)}")
    names = set(wanted)
    indices = list(range(dataset.num_episodes) if episodes is None else episodes)
    for index in indices:
        if not 0 <= index < dataset.num_episodes:
            raise ValueError(f"episode {index} is not in {dataset.path} ({dataset.num_episodes} episodes)")
    video = bool(names & set(CAMERA_SIGNALS + GENERATED_SIGNALS)) and bool(dataset.cameras)
    resolved = resolve_device(device) if video else ("cpu" if device == "auto" else device)
    reason_scores = read_reason_scores(reason) if reason is not None and "reason_score" in names else {}
    fps = float(dataset.fps or 0) or 30.0
    lengths = [e.length for e in dataset.episodes]
    median = float(np.median(lengths)) if lengths else 0.0
    cameras = sorted(dataset.cameras)
    sources = sources if sources is not None else measure.Sources(dataset)
    refs: dict[int, Any] = {}
    measured: list[_Episode] = []
    try:
        for done, index in enumerate(indices):
            progress.report(done, len(indices), f"episode {index}")
            episode = dataset.episode(index)
            found = measure.tracks(episode)
            item = _Episode(index, episode.length, episode.task or "")
            item.main = found.get("action") or found.get("state")
            if item.main is not None and len(item.main.values) >= 2:
                body = item.main.values[:, item.main.body]
                if np.all(np.isfinite(body)):
                    item.resampled = resample(body, TRAJECTORY_POINTS)
            item.readings = measure.motion(episode, fps, median, dataset.num_episodes, found)
            ref = sources.ref(episode)
            generated = ref is not None or dataset.format is DatasetFormat.COSMOS_OUTPUTS
            if ref is not None:
                refs[index] = ref
            if video:
                motion_track = found.get("state") or found.get("action")
                readings, stats = measure.cameras(episode, cameras, motion_track, resolved, generated)
                item.readings += readings
                if ref is not None and names & set(GENERATED_SIGNALS):
                    source = sources.open(ref.path)
                    item.readings += measure.against_source(episode, found, stats, ref, source, resolved)
            elif ref is not None and "action" in found:
                item.readings += measure.against_source(episode, found, {}, ref, sources.open(ref.path), "cpu")
            measured.append(item)
            episode.unload()
    finally:
        sources.close()
    progress.report(len(indices), len(indices), "comparing episodes")
    duplicates = _duplicates(measured, refs) if "near_duplicate_episodes" in names else {}
    trajectories = _trajectories(measured, refs) if "trajectory_outlier" in names else {}
    imported = reason_readings([dataset.episode(i) for i in indices], reason_scores) if reason_scores else {}
    variants = _variants(refs)
    table = ScoreTable(str(dataset.path), signals=wanted, device=resolved)
    for item in measured:
        readings = item.readings + duplicates.get(item.index, [])
        readings += [r for r in (trajectories.get(item.index), imported.get(item.index)) if r is not None]
        scores = _aggregate(item.index, item.length, readings, names)
        if item.index in refs:
            scores.source = refs[item.index].episode
            scores.variant = variants[item.index]
        table.episodes.append(scores)
    return table


def describe(names: Sequence[str] = SIGNAL_NAMES) -> list[dict[str, Any]]:
    """Each signal's name, unit, threshold, severity and sentence (for ``score --list`` and docs)."""
    return [
        {"signal": n, "unit": sig.ALL_SIGNALS[n].unit, "threshold": sig.ALL_SIGNALS[n].threshold,
         "severity": sig.ALL_SIGNALS[n].severity, "measures": sig.ALL_SIGNALS[n].measures}
        for n in names
    ]
