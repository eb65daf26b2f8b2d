"""What ``compute_scores`` measures in one episode: motion, cameras (frames measured in batches with
torch, ``backend/signals/video_batch.py``) and, for a generated episode, its video against the source
episode's (paired by provenance, ``backend/compare/pairing.py``)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from backend import signals as sig
from backend.compare.pairing import SourceRef, cosmos_name_source, dataset_sources
from backend.model import Dataset, Episode
from backend.scores.lineage import is_generated
from backend.signals import generated as gen
from backend.signals import picture, video_batch
from backend.signals.specs import DRIFT_FRAMES

CAMERA_FRAMES = 48  # frames measured per camera and episode (each with its next frame)
FROZEN_SAMPLES = 12  # samples frozen_camera compares, spread over the episode
GENERATED_FRAMES = 128  # consecutive frames measured in a generated video
READ_ERRORS = (OSError, ValueError, KeyError, RuntimeError, IndexError)


def tracks(episode: Episode) -> dict[str, sig.JointTrack]:
    """The episode's action and state tracks (placeholders and unreadable ones left out)."""
    out: dict[str, sig.JointTrack] = {}
    for role in ("action", "state"):
        try:
            track = sig.joint_track(episode, role)
        except READ_ERRORS:
            continue
        if track is None or track.values.ndim != 2 or track.placeholder:
            continue
        out[role] = track
    return out


def _silenced(reading: sig.Reading) -> sig.Reading:
    return sig.Reading(reading.signal, reading.value, reading.threshold, False, reading.sentence,
                       reading.frames, reading.subject)


def motion(episode: Episode, fps: float, median: float, count: int, found: dict[str, sig.JointTrack]
           ) -> list[sig.Reading]:
    """Length, timing and motion readings of one episode (as the doctor measures them)."""
    readings = [sig.shorter_than_chunk(episode.length), sig.short_episode(episode.length, fps, median),
                sig.long_episode(episode.length, median, count)]
    if "timestamp" in episode.dataset.features:
        with contextlib.suppress(*READ_ERRORS):
            readings.append(sig.dropped_frames(episode.array("timestamp"), fps))
    finite: dict[str, sig.JointTrack] = {}
    for role, track in found.items():
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


def _camera_stats(episode: Episode, camera: str, positions_of: Any, device: str, keep: bool
                  ) -> tuple[video_batch.FrameStats | None, int, np.ndarray | None]:
    """(stats, the stream's frame count, its timestamps) of one camera; (None, 0, None) unreadable."""
    try:
        stream = episode.stream(camera)
    except READ_ERRORS:
        return None, 0, None
    try:
        positions = positions_of(stream.num_frames)
        stats = video_batch.frame_stats(stream, camera, positions, device, keep)
        times = stream.timestamps()
        return stats, stream.num_frames, times
    except READ_ERRORS:
        return None, 0, None
    finally:
        stream.close()


def _spread(sample: sig.CameraSample, count: int = FROZEN_SAMPLES) -> sig.CameraSample:
    """``count`` samples evenly spread (frozen_camera compares samples far apart, not neighbours)."""
    step = max(1, len(sample.indices) // count)
    pick = slice(0, None, step)
    return sig.CameraSample(sample.camera, sample.indices[pick], sample.thumbs[pick], sample.signatures[pick],
                            sample.changed[pick])


def cameras(episode: Episode, names: Sequence[str], motion_track: sig.JointTrack | None, device: str,
            generated: bool = False) -> tuple[list[sig.Reading], dict[str, video_batch.FrameStats]]:
    """Camera readings of one episode, and each camera's frame statistics."""
    readings: list[sig.Reading] = []
    measured: dict[str, video_batch.FrameStats] = {}
    if generated:
        def positions_of(n: int) -> list[int]:
            return list(range(min(n, GENERATED_FRAMES)))
    else:
        def positions_of(n: int) -> list[int]:
            return sig.sample_positions(n, CAMERA_FRAMES)
    for camera in names:
        stats, frames, times = _camera_stats(episode, camera, positions_of, device, generated)
        if stats is None or not len(stats.indices):
            continue
        measured[camera] = stats
        readings.append(picture.length_mismatch(camera, frames, episode.length))
        if times is not None and not generated:
            readings.append(sig.dropped_frames(times, float(episode.dataset.fps or 0) or 30.0, camera))
        sample = stats.sample()
        readings += [sig.black_frames(sample), sig.saturated_frames(sample)]
        flat = sig.blank_camera(sample)
        readings.append(flat)
        if flat.fired:
            continue
        readings += [picture.blurred_frames(stats), picture.exposure_change(stats)]
        if generated:
            readings += [picture.flicker(stats), picture.frame_diff_spikes(stats)]
        else:
            readings += [sig.frozen_camera(_spread(sample), motion_track), sig.repeated_frames(sample, motion_track)]
    for a, b in combinations(sorted(measured), 2):
        readings.append(sig.identical_cameras(measured[a].sample(), measured[b].sample()))
    return readings, measured


class Sources:
    """The source of each generated episode (provenance, IDM prepare records, Cosmos names) and the
    source datasets, opened once and closed by :meth:`close`. Only a dataset whose lineage holds
    generated data (``backend/scores/lineage.py``) has any: a conversion or a curated export of a
    recording names its source episodes too, but its episodes are recordings, not variants."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self.generated = is_generated(dataset)
        try:
            self.refs = dataset_sources(dataset) if self.generated else {}
        except READ_ERRORS:
            self.refs = {}
        self._open: dict[Path, Dataset | None] = {}

    def ref(self, episode: Episode) -> SourceRef | None:
        if not self.generated:
            return None
        ref = self.refs.get(episode.index)
        if ref is None:
            with contextlib.suppress(*READ_ERRORS):
                ref = cosmos_name_source(episode)
        return ref

    def open(self, path: Path | None) -> Dataset | None:
        if path is None:
            return None
        path = Path(path)
        if path not in self._open:
            from backend.errors import StudioError
            from backend.formats import open_dataset

            try:
                self._open[path] = open_dataset(path)
            except (StudioError, *READ_ERRORS):
                self._open[path] = None
        return self._open[path]

    def close(self) -> None:
        for dataset in self._open.values():
            if dataset is not None:
                with contextlib.suppress(Exception):
                    dataset.close()
        self._open.clear()


def _source_frames(source: Episode, camera: str, positions: Sequence[int]) -> dict[int, np.ndarray]:
    stream = source.stream(camera)
    try:
        return video_batch.decode_grey(stream, [p for p in positions if p < stream.num_frames], pairs=False)
    finally:
        stream.close()


def against_source(episode: Episode, found: dict[str, sig.JointTrack], measured: dict[str, video_batch.FrameStats],
                   ref: SourceRef, source: Dataset | None, device: str) -> list[sig.Reading]:
    """A generated episode against its source episode: actions (envelope, chunks) and video."""
    readings: list[sig.Reading] = []
    labels = found.get("action")
    if labels is not None:
        readings.append(gen.chunk_boundary_jumps(labels))
    if source is None or not 0 <= ref.episode < source.num_episodes:
        return readings
    origin = source.episode(ref.episode)
    if labels is not None:
        origin_track = tracks(origin).get("action")
        if origin_track is not None and origin_track.degrees == labels.degrees:
            readings.append(gen.idm_envelope(labels, origin_track))
    source_cameras = sorted(source.cameras)
    for camera, stats in measured.items():
        partner = camera if camera in source.cameras else (source_cameras[0] if source_cameras else None)
        if partner is None:
            continue
        ours = stats.grey or {}
        try:
            theirs = _source_frames(origin, partner, [ref.frame_offset + int(i) for i in stats.indices])
        except READ_ERRORS:
            continue
        common = [int(i) for i in stats.indices if int(i) in ours and ref.frame_offset + int(i) in theirs]
        if not common:
            continue
        a = np.stack([ours[i] for i in common])
        b = np.stack([gen.fit(theirs[ref.frame_offset + i], a.shape[1:]) for i in common])
        psnr, ssim = video_batch.similarity(a, b, device)
        readings += gen.source_similarity(psnr, ssim, camera, ref.frame_offset)
        conditioning = theirs.get(ref.frame_offset)
        if conditioning is not None:
            first = a[: DRIFT_FRAMES] if common[0] == 0 else a[:0]
            readings.append(gen.conditioning_drift(first, conditioning, camera))
    origin.unload()
    return readings
