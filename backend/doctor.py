"""The dataset doctor behind ``rollout-studio validate``: what silently ruins training data.

``diagnose(path)`` runs, on every format the studio reads (LeRobot v2.0/v2.1/v3.0, LeIsaac HDF5,
Cosmos output folders):

1. the format's own consistency checks (``backend.formats.<format>.validate``: metadata, totals,
   timestamps, indices, tasks, video frame counts and times, NaN/inf);
2. the signals of ``backend/signals/`` over every episode: lengths, motion (idle, frozen action,
   jumps, speed, acceleration, range, saturation, stuck joints, action/state divergence, gripper),
   and cameras from ``sample_frames`` decoded positions per episode per camera (black, white, blank,
   frozen, repeated frames, two cameras showing the same picture);
3. dataset-wide signals: dead joints, near-duplicate episodes, stored stats against the data
   (LeRobot, ``backend/formats/lerobot/stats_check.py``), stale staging and files the format does not
   name (``backend/doctor_files.py``).

Findings are ``backend.validation.Problem`` s: severity, episode (``episode 3`` / ``demo_3`` / a
Cosmos sample name), what (with numbers), fix, a machine-readable ``code`` and ``fixable``. Only
genuine corruption is an error. The report's JSON form is documented in docs/validate.md.

Cost: metadata is read once, each episode's arrays once (numpy, vectorised), and each camera of
each episode decodes ``2 * sample_frames`` frames at most (each sampled frame and the next one).
"""

from __future__ import annotations

import os
import time
import unicodedata
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from backend import signals
from backend.doctor_files import file_findings, staging_findings
from backend.errors import Cancelled, StudioError, UnitError
from backend.formats import detect_format
from backend.media.sample import keep_open
from backend.model import Dataset, DatasetFormat, Episode
from backend.progress import Progress, ensure_progress
from backend.validation import DEFAULT_SAMPLE_FRAMES, SEVERITIES, Problem

SCHEMA = "rollout_studio.validate/1"
SCHEMA_VERSION = 1
LINES_PER_CODE = 10  # text output: episodes listed per finding code before the rest are summed up
_LEROBOT = (DatasetFormat.LEROBOT_V20, DatasetFormat.LEROBOT_V21, DatasetFormat.LEROBOT_V30)
_READ_ERRORS = (StudioError, UnitError, OSError, KeyError, ValueError, IndexError)


@dataclass
class DoctorOptions:
    sample_frames: int = DEFAULT_SAMPLE_FRAMES  # positions decoded per episode per camera (0: no video)
    signals: bool = True  # False: the format's consistency checks only


@dataclass
class DoctorReport:
    path: str
    format: str
    findings: list[Problem] = field(default_factory=list)
    readable: bool = True
    episodes: int = 0
    frames: int = 0
    sample_frames: int = 0
    seconds: float = 0.0

    def count(self, severity: str) -> int:
        return sum(1 for p in self.findings if p.severity == severity)

    @property
    def ok(self) -> bool:
        return self.count("error") == 0

    def lines(self, per_code: int = LINES_PER_CODE) -> list[str]:
        """One line per finding for a terminal; past ``per_code`` episodes of one code (and severity) the
        rest are summed up in one line (``--json`` lists them all)."""
        shown: dict[tuple[str, str], int] = {}
        hidden: dict[tuple[str, str], list[Problem]] = {}
        out: list[str] = []
        for problem in self.findings:
            key = (problem.code, problem.severity)
            if problem.episode is not None and shown.get(key, 0) >= per_code:
                hidden.setdefault(key, []).append(problem)
                continue
            if problem.episode is not None:
                shown[key] = shown.get(key, 0) + 1
            out.append(problem.text())
        for (code, severity), rest in hidden.items():
            names = ", ".join(p.episode or "" for p in rest[:5]) + (" ..." if len(rest) > 5 else "")
            out.append(f"{severity}: {len(rest)} more episodes with [{code}] ({names}): {rest[0].fix}")
        return out

    def to_dict(self, strict: bool = False) -> dict[str, Any]:
        """The ``validate --json`` document (docs/validate.md)."""
        failing = self.count("error") + (self.count("warning") if strict else 0)
        return {
            "schema": SCHEMA,
            "version": SCHEMA_VERSION,
            "path": self.path,
            "format": self.format,
            "ok": failing == 0,
            "readable": self.readable,
            "episodes": self.episodes,
            "frames": self.frames,
            "sample_frames": self.sample_frames,
            "seconds": round(self.seconds, 3),
            "counts": {s: self.count(s) for s in SEVERITIES},
            "findings": [p.to_dict() for p in self.findings],
        }


def episode_name(dataset: Dataset, episode: Episode) -> str:
    """The episode in the format's own naming: ``demo_3``, ``episode 3`` or the Cosmos sample name."""
    if dataset.format is DatasetFormat.LEISAAC_HDF5:
        return str(episode.extra.get("demo") or f"demo_{episode.index}")
    if dataset.format is DatasetFormat.COSMOS_OUTPUTS:
        return str(episode.extra.get("name") or episode.source or episode.index)
    return f"episode {episode.index}"


def _episode_file(dataset: Dataset, episode: Episode, key: str | None = None, camera: str | None = None) -> str:
    if dataset.format is DatasetFormat.LEISAAC_HDF5:
        where = f"/data/{episode_name(dataset, episode)}"
        target = dataset.cameras.get(camera, key) if camera else key
        return f"{dataset.path}:{where}" + (f"/{target}" if target else "")
    if dataset.format is DatasetFormat.COSMOS_OUTPUTS:
        return str(episode.extra.get("video") or dataset.path)
    reader: Any = dataset.reader
    try:
        if camera is not None:
            return str(reader.episode_video_path(episode, dataset.cameras[camera]))
        return str(reader.episode_data_path(episode))
    except (StudioError, KeyError, AttributeError):
        return str(dataset.path)


def _finding(reading: signals.Reading, file: str, episode: str | None, prefix: str = "") -> Problem:
    spec = signals.SIGNALS[reading.signal]
    severity = reading.severity or spec.severity
    return Problem(
        file, prefix + reading.sentence, spec.fix, severity, reading.signal, episode, spec.fixable, reading.frames
    )


def _chunk_rows(dataset: Dataset) -> int:
    if dataset.format is not DatasetFormat.LEISAAC_HDF5:
        return 1
    from backend.formats.leisaac_hdf5.validate import image_chunk_rows

    return image_chunk_rows(Path(dataset.path))


class _Extremes:
    """Per-joint min/max of one role over the dataset (for dead joints)."""

    def __init__(self) -> None:
        self.names: tuple[str, ...] = ()
        self.degrees = False
        self.low: np.ndarray | None = None
        self.high: np.ndarray | None = None
        self.consistent = True

    def add(self, track: signals.JointTrack) -> None:
        values = track.values
        if not len(values) or not np.all(np.isfinite(values)):
            return
        low, high = values.min(axis=0), values.max(axis=0)
        if self.low is None or self.high is None:
            self.names, self.degrees, self.low, self.high = track.names, track.degrees, low, high
        elif self.names != track.names or self.low.shape != low.shape:
            self.consistent = False
        else:
            self.low, self.high = np.minimum(self.low, low), np.maximum(self.high, high)


class _Doctor:
    def __init__(self, dataset: Dataset, options: DoctorOptions, progress: Progress) -> None:
        self.dataset = dataset
        self.options = options
        self.progress = progress
        self.findings: list[Problem] = []
        lengths = [e.length for e in dataset.episodes]
        self.median = float(np.median(lengths)) if lengths else None
        self.fps = float(dataset.fps or 0) or 30.0
        self.block = _chunk_rows(dataset) if options.sample_frames > 0 and dataset.cameras else 1
        self.extremes: dict[str, _Extremes] = {"action": _Extremes(), "state": _Extremes()}
        self.prints: list[tuple[int, str, int, np.ndarray, bool]] = []  # (position, name, length, print, deg)
        self.same_picture: dict[tuple[str, str], list[tuple[str, float]]] = {}
        self.pairs_checked: dict[tuple[str, str], int] = {}
        self.stats: Any = None
        if dataset.format in _LEROBOT:
            from backend.formats.lerobot.stats_check import StatsCheck

            self.stats = StatsCheck(dataset)

    # -- per episode ------------------------------------------------------------------------------
    def episode(self, position: int, episode: Episode) -> None:
        name = episode_name(self.dataset, episode)
        data_file = _episode_file(self.dataset, episode)
        add = self.findings.append
        chunk = signals.shorter_than_chunk(episode.length)
        if chunk.fired:
            add(_finding(chunk, data_file, name))
        else:
            short = signals.short_episode(episode.length, self.fps, self.median)
            if short.fired:
                add(_finding(short, data_file, name))
        long = signals.long_episode(episode.length, self.median, self.dataset.num_episodes)
        if long.fired:
            add(_finding(long, data_file, name))
        if self.dataset.format is DatasetFormat.LEISAAC_HDF5 and episode.task:  # LeRobot / Cosmos: their checks
            bad = sorted({f"U+{ord(c):04X}" for c in episode.task if unicodedata.category(c) == "Cc"})
            if bad:
                add(Problem(f"{self.dataset.path}:/data/{name}", f"task {episode.task!r} contains control "
                            f"characters ({', '.join(bad)})", "retype the task text: tokenizers and prompts "
                            "see these characters", "warning", "control_characters", name, True))
        tracks = self._tracks(episode)
        self._motion(episode, name, tracks)
        if self.stats is not None:
            self.stats.add(episode, self._arrays(episode))
        motion = tracks.get("state") or tracks.get("action")
        if self.options.sample_frames > 0 and self.dataset.cameras:
            self._cameras(episode, name, motion)
        episode.unload()

    def _tracks(self, episode: Episode) -> dict[str, signals.JointTrack]:
        tracks: dict[str, signals.JointTrack] = {}
        for role in ("action", "state"):
            try:
                track = signals.joint_track(episode, role)
            except _READ_ERRORS:  # unreadable or NaN: the format checks report it
                continue
            if track is None or track.values.ndim != 2 or not np.all(np.isfinite(track.values)):
                continue
            if track.placeholder:
                # all zeros: a placeholder (GR00T-Dreams IDM inputs), not motion; dead_joint says so once
                self.extremes[role].add(track)
                continue
            tracks[role] = track
        return tracks

    def _arrays(self, episode: Episode) -> dict[str, np.ndarray] | None:
        arrays: dict[str, np.ndarray] = {}
        for key in self.stats.keys:
            try:
                arrays[key] = episode.array(key)
            except _READ_ERRORS:
                return None
        return arrays

    def _motion(self, episode: Episode, name: str, tracks: dict[str, signals.JointTrack]) -> None:
        add = self.findings.append
        main = tracks.get("action") or tracks.get("state")
        if main is None or len(main.values) < 2:
            return
        files = {role: _episode_file(self.dataset, episode, track.key) for role, track in tracks.items()}
        where = files[main.role]
        idle = signals.idle(main)
        if idle.fired:
            add(_finding(idle, where, name, f"{main.role}: "))
        else:
            for reading in (signals.frozen_action(tracks["action"]) if "action" in tracks else None,
                            signals.acceleration(main), signals.gripper_travel(main)):
                if reading is not None and reading.fired:
                    add(_finding(reading, where, name, f"{main.role}: " if reading.signal == "jerky" else ""))
        chatter = signals.gripper_chatter(main)
        if chatter.fired:
            add(_finding(chatter, where, name))
        # the servo's speed bounds what the arm did (the state); the action only when there is no state
        paced = "state" if "state" in tracks else "action"
        for role, track in tracks.items():
            jumps = signals.joint_jumps(track)
            skip = sorted({f for r in jumps for f in r.frames})
            speed = signals.velocity_spikes(track, skip) if role == paced else []
            for reading in [*jumps, *speed, *signals.out_of_range(track), *signals.saturation(track)]:
                add(_finding(reading, files[role], name))
            self.extremes[role].add(track)
        if "action" in tracks and "state" in tracks:
            state_file = files["state"]
            for reading in [*signals.stuck_joints(tracks["action"], tracks["state"]),
                            *signals.divergence(tracks["action"], tracks["state"])]:
                add(_finding(reading, state_file, name))
        self.prints.append((len(self.prints), name, episode.length, signals.action_fingerprint(main.values),
                            main.degrees))

    def _cameras(self, episode: Episode, name: str, motion: signals.JointTrack | None) -> None:
        add = self.findings.append
        samples: dict[str, signals.CameraSample] = {}
        blank: set[str] = set()
        for camera in sorted(self.dataset.cameras):
            try:
                stream = episode.stream(camera)
            except _READ_ERRORS:
                continue
            try:
                positions = signals.sample_positions(stream.num_frames, self.options.sample_frames, self.block)
                sample = signals.sample_camera(stream, camera, positions)
            except _READ_ERRORS:
                continue  # an unreadable video: the format checks report it
            finally:
                stream.close()
            if not len(sample.indices):
                continue
            samples[camera] = sample
            where = _episode_file(self.dataset, episode, camera=camera)
            black, white = signals.black_frames(sample), signals.saturated_frames(sample)
            flat = signals.blank_camera(sample)
            every = len(sample.indices)
            for reading in (black, white):
                if reading.fired:
                    add(_finding(reading, where, name))
            if flat.fired:
                blank.add(camera)
                if black.value < every and white.value < every:
                    add(_finding(flat, where, name))
                continue
            frozen = signals.frozen_camera(sample, motion)
            if frozen.fired:  # a frozen camera repeats every frame: one finding says it
                add(_finding(frozen, where, name))
                continue
            repeated = signals.repeated_frames(sample, motion)
            if repeated.fired:
                add(_finding(repeated, where, name))
        for a, b in combinations(sorted(samples), 2):
            if a in blank or b in blank:
                continue
            reading = signals.identical_cameras(samples[a], samples[b])
            self.pairs_checked[(a, b)] = self.pairs_checked.get((a, b), 0) + 1
            if reading.fired:
                self.same_picture.setdefault((a, b), []).append((name, reading.value))

    # -- dataset ----------------------------------------------------------------------------------
    def finish(self) -> None:
        add = self.findings.append
        for (a, b), hits in self.same_picture.items():
            checked = self.pairs_checked.get((a, b), 0)
            spec = signals.SIGNALS["identical_cameras"]
            names = [name for name, _ in hits]
            # the same pixels in both: one camera's frames were written into the other (a writer bug)
            exact = all(distance <= signals.EXACT_LEVELS for _, distance in hits)
            severity = "error" if exact else spec.severity
            what = (
                f"{a} and {b} hold exactly the same pictures"
                if exact
                else f"{a} and {b} show the same picture (8x8 signatures within {spec.threshold:g} grey levels)"
            )
            if len(names) == checked and checked > 1:
                add(Problem(str(self.dataset.path), f"{what} in all {checked} episodes sampled", spec.fix,
                            severity, spec.name, None, spec.fixable))
            else:
                for name in names:
                    add(Problem(str(self.dataset.path), what, spec.fix, severity, spec.name, name, spec.fixable))
        for role, extremes in self.extremes.items():
            if extremes.low is None or extremes.high is None or not extremes.consistent:
                continue
            unit = " deg" if extremes.degrees else ""
            reading = signals.dead_joints(role, extremes.names, extremes.low, extremes.high, unit)
            if reading.fired:
                add(_finding(reading, str(self.dataset.path), None))
        self._duplicates()
        if self.stats is not None:
            self.findings.extend(self.stats.finish())

    def _duplicates(self) -> None:
        groups: dict[tuple[int, bool], list[tuple[int, str, int, np.ndarray, bool]]] = {}
        for entry in self.prints:
            groups.setdefault((len(entry[3]), entry[4]), []).append(entry)
        spec = signals.SIGNALS["near_duplicate_episodes"]
        for (_, degrees), entries in groups.items():
            prints = np.stack([e[3] for e in entries])
            if degrees:
                tolerance = signals.DUPLICATE_DEGREES
            else:
                span = float(np.ptp(prints)) if prints.size else 0.0
                if span <= 0:
                    continue  # constant placeholders: reported as dead joints
                tolerance = signals.DUPLICATE_RELATIVE * span
            pairs = signals.near_duplicates([e[1] for e in entries], [e[2] for e in entries], prints, tolerance)
            unit = " deg" if degrees else ""
            for i, j, rms in pairs:
                first, second = entries[i], entries[j]
                same = "the same actions as" if rms == 0 else "nearly the same actions as"
                self.findings.append(Problem(
                    str(self.dataset.path),
                    f"{same} {first[1]} ({second[2]} and {first[2]} frames, RMS difference {rms:.3g}{unit} "
                    f"over {signals.DUPLICATE_POINTS} resampled points)",
                    spec.fix, spec.severity, spec.name, second[1], spec.fixable,
                ))


def diagnose(
    path: str | Path, options: DoctorOptions | None = None, progress: Progress | None = None
) -> DoctorReport:
    """Check a dataset; raises StudioError only when the path is missing or of no known format."""
    started = time.monotonic()
    options = options or DoctorOptions()
    progress = ensure_progress(progress)
    path = Path(os.path.abspath(Path(path).expanduser()))  # relative, ~: like the absolute path
    fmt, module = detect_format(path)
    report = DoctorReport(str(path), fmt.value, sample_frames=max(options.sample_frames, 0))
    progress.report(0, 1, "checking the format")
    report.findings.extend(module.validate(path))
    try:
        dataset = module.open(path)
    except StudioError:
        report.readable = False
        report.findings.extend(staging_findings(path, [path] if path.is_dir() else []))
        report.seconds = time.monotonic() - started
        return report
    with dataset, keep_open():  # v3.0 videos hold many episodes: opened once, not once per episode
        report.episodes, report.frames = dataset.num_episodes, dataset.num_frames
        if options.signals:
            doctor = _Doctor(dataset, options, progress)
            total = dataset.num_episodes
            for position, episode in enumerate(dataset.episodes):
                progress.report(position, total, f"checking {episode_name(dataset, episode)}")
                try:
                    doctor.episode(position, episode)
                except Cancelled:
                    raise
                except Exception as error:  # noqa: BLE001 - one episode's signals must not stop the check
                    report.findings.append(Problem(
                        str(dataset.path), f"the signals of this episode could not be computed "
                        f"({type(error).__name__}: {' '.join(str(error).split())[:200]})",
                        "the format checks above still hold; report this as a bug", "info", "signals_failed",
                        episode_name(dataset, episode),
                    ))
                    episode.unload()
            doctor.finish()
            report.findings.extend(doctor.findings)
            progress.report(total, total, "done")
        report.findings.extend(file_findings(dataset))
    report.findings.sort(key=lambda p: SEVERITIES.index(p.severity) if p.severity in SEVERITIES else 9)
    report.seconds = time.monotonic() - started
    return report
