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
from itertools import combinations
from typing import Any

import numpy as np

from backend import signals as sig
from backend.model import Dataset, Episode
from backend.progress import Progress, ensure_progress
from backend.scores.table import EpisodeScores, Finding, ScoreTable

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
CAMERA_FRAMES = 48  # frames measured per camera and episode (each with its next frame)
_READ_ERRORS = (OSError, ValueError, KeyError, RuntimeError, IndexError)


@dataclass
class _Episode:
    """What one episode measured: its readings, and the tracks the dataset-level passes need."""

    index: int
    length: int
    readings: list[sig.Reading] = field(default_factory=list)
    main: sig.JointTrack | None = None


def resolve_device(device: str = "auto") -> str:
    """``auto`` -> ``cuda`` when torch sees a GPU, else ``cpu``; ``cpu``/``cuda`` as given."""
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, not {device!r}")
    if device == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def _tracks(episode: Episode) -> dict[str, sig.JointTrack]:
    tracks: dict[str, sig.JointTrack] = {}
    for role in ("action", "state"):
        try:
            track = sig.joint_track(episode, role)
        except _READ_ERRORS:
            continue
        if track is None or track.values.ndim != 2 or track.placeholder:
            continue
        tracks[role] = track
    return tracks


def _motion(episode: Episode, fps: float, median: float, count: int, tracks: dict[str, sig.JointTrack]
            ) -> list[sig.Reading]:
    readings = [sig.shorter_than_chunk(episode.length), sig.short_episode(episode.length, fps, median),
                sig.long_episode(episode.length, median, count)]
    finite: dict[str, sig.JointTrack] = {}
    for role, track in tracks.items():
        reading = sig.non_finite(track.values, track.key)
        readings.append(reading)
        if not reading.fired:
            finite[role] = track
    main = finite.get("action") or finite.get("state")
    if main is None or len(main.values) < 2:
        return readings
    idle = sig.idle(main)
    readings.append(idle)
    quiet = [sig.acceleration(main), sig.gripper_travel(main), sig.gripper_chatter(main)]
    if "action" in finite:
        quiet.append(sig.frozen_action(finite["action"]))
    if idle.fired:  # an idle episode: the rest of its motion says nothing new (as in the doctor)
        quiet = [_silenced(r) for r in quiet]
    readings += quiet
    paced = "state" if "state" in finite else "action"
    for role, track in finite.items():
        jumps = sig.joint_jumps(track)
        skip = sorted({f for r in jumps for f in r.frames})
        readings += jumps + sig.out_of_range(track) + sig.saturation(track)
        if role == paced:
            readings += sig.velocity_spikes(track, skip)
    if "action" in finite and "state" in finite:
        readings += sig.stuck_joints(finite["action"], finite["state"])
        readings += sig.divergence(finite["action"], finite["state"])
    return readings


def _silenced(reading: sig.Reading) -> sig.Reading:
    return sig.Reading(reading.signal, reading.value, reading.threshold, False, reading.sentence,
                       reading.frames, reading.subject)


def _cameras(episode: Episode, cameras: Sequence[str], motion: sig.JointTrack | None) -> list[sig.Reading]:
    readings: list[sig.Reading] = []
    samples: dict[str, sig.CameraSample] = {}
    for camera in cameras:
        try:
            stream = episode.stream(camera)
        except _READ_ERRORS:
            continue
        try:
            positions = sig.sample_positions(stream.num_frames, CAMERA_FRAMES)
            sample = sig.sample_camera(stream, camera, positions)
        except _READ_ERRORS:
            continue
        finally:
            stream.close()
        if not len(sample.indices):
            continue
        samples[camera] = sample
        readings += [sig.black_frames(sample), sig.saturated_frames(sample)]
        flat = sig.blank_camera(sample)
        readings.append(flat)
        if flat.fired:
            continue
        readings += [sig.frozen_camera(sample, motion), sig.repeated_frames(sample, motion)]
    for a, b in combinations(sorted(samples), 2):
        readings.append(sig.identical_cameras(samples[a], samples[b]))
    return readings


def _duplicates(measured: list[_Episode]) -> dict[int, list[sig.Reading]]:
    """near_duplicate_episodes: the later episode of each pair (by index) gets the reading."""
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
        out.setdefault(second, []).append(sig.Reading(
            "near_duplicate_episodes", rms, tolerance, True,
            f"the actions repeat episode {first}'s ({rms:.3g} RMS apart over {sig.DUPLICATE_POINTS} "
            "resampled points)", (), str(first)))
    return out


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


def compute_scores(
    dataset: Dataset,
    episodes: Sequence[int] | None = None,
    signals: Sequence[str] | None = None,
    device: str = "auto",
    progress: Progress | None = None,
) -> ScoreTable:
    """Score ``episodes`` (default all) of ``dataset`` on ``signals`` (default :data:`SIGNAL_NAMES`).

    ``device``: where the video signals run (``auto``: CUDA when present). Raises ValueError for an
    unknown signal name or episode index.
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
    fps = float(dataset.fps or 0) or 30.0
    lengths = [e.length for e in dataset.episodes]
    median = float(np.median(lengths)) if lengths else 0.0
    cameras = sorted(dataset.cameras)
    measured: list[_Episode] = []
    for done, index in enumerate(indices):
        progress.report(done, len(indices), f"episode {index}")
        episode = dataset.episode(index)
        tracks = _tracks(episode)
        item = _Episode(index, episode.length)
        item.main = tracks.get("action") or tracks.get("state")
        item.readings = _motion(episode, fps, median, dataset.num_episodes, tracks)
        if video:
            item.readings += _cameras(episode, cameras, tracks.get("state") or tracks.get("action"))
        measured.append(item)
        episode.unload()
    progress.report(len(indices), len(indices), "dataset")
    duplicates = _duplicates(measured) if "near_duplicate_episodes" in names else {}
    table = ScoreTable(str(dataset.path), signals=wanted, device=resolved)
    for item in measured:
        readings = item.readings + duplicates.get(item.index, [])
        table.episodes.append(_aggregate(item.index, item.length, readings, names))
    return table


def describe(names: Sequence[str] = SIGNAL_NAMES) -> list[dict[str, Any]]:
    """Each signal's name, unit, threshold, severity and sentence (for ``score --list`` and docs)."""
    return [
        {"signal": n, "unit": sig.ALL_SIGNALS[n].unit, "threshold": sig.ALL_SIGNALS[n].threshold,
         "severity": sig.ALL_SIGNALS[n].severity, "measures": sig.ALL_SIGNALS[n].measures}
        for n in names
    ]
