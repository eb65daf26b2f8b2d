"""Subtask segments of an episode: operations on them, per-frame labels, and copies by relative time.

A segment is ``Segment(start, end, text)``: frames ``start .. end`` of the source episode (both
inclusive) and one line of text ("grasp the cube"). An episode's segments are a tuple sorted by
start that never overlap; gaps are allowed (frames without a subtask). They are stored with the
curation decisions (``backend.curation``, field ``subtasks``), so every edit is one undoable
command there. The functions here are pure: they take segments and return new ones.

``copy_to_same_task`` copies one episode's segmentation to the other episodes of the same task,
scaled by relative time (a boundary at 40 % of a 100-frame episode lands at 40 % of a 150-frame one).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np

from backend.errors import StudioError
from backend.task_text import check_task_text


class Segment(NamedTuple):
    start: int  # first frame
    end: int  # last frame, inclusive
    text: str

    @property
    def length(self) -> int:
        return self.end - self.start + 1


Segments = tuple[Segment, ...]


# -- checking and JSON --------------------------------------------------------------------------------
def _frame(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise StudioError(f"subtask {what} must be a frame index >= 0, not {value!r}")
    return int(value)


def check_segments(value: Any) -> Segments:
    """Segments from JSON ({start, end, text} objects or [start, end, text] lists), checked.

    Raises StudioError on a bad frame, an end before its start, text of more than one line, or
    overlapping segments. Returns them sorted by start."""
    if value is None:
        return ()
    if isinstance(value, (str, bytes, dict)):
        raise StudioError(f"subtasks must be a list of segments, not {type(value).__name__}")
    out = []
    for item in value:
        if isinstance(item, dict):
            start, end, text = item.get("start"), item.get("end"), item.get("text", "")
        elif isinstance(item, (list, tuple)) and len(item) == 3:
            start, end, text = item
        else:
            raise StudioError(f"a subtask segment is {{start, end, text}}, not {item!r}")
        start, end = _frame(start, "start"), _frame(end, "end")
        if end < start:
            raise StudioError(f"subtask segment ends (frame {end}) before it starts (frame {start})")
        text = "" if text is None else str(text).strip()
        if text:
            check_task_text(text)
        out.append(Segment(start, end, text))
    out.sort()
    for before, after in zip(out, out[1:], strict=False):
        if after.start <= before.end:
            raise StudioError(
                f"subtask segments overlap: frames {before.start}-{before.end} and {after.start}-{after.end}"
            )
    return tuple(out)


def segments_json(segments: Iterable[Segment]) -> list[dict[str, Any]]:
    return [{"start": int(s.start), "end": int(s.end), "text": s.text} for s in segments]


# -- finding ------------------------------------------------------------------------------------------
def segment_at(segments: Sequence[Segment], frame: int) -> int | None:
    """Index of the segment covering ``frame``, None in a gap."""
    for index, segment in enumerate(segments):
        if segment.start <= frame <= segment.end:
            return index
    return None


def frame_labels(segments: Sequence[Segment], start: int, stop: int) -> np.ndarray:
    """For frames ``start .. stop - 1``: the index of the segment covering each, -1 in a gap."""
    labels = np.full(max(0, stop - start), -1, dtype=np.int64)
    for index, segment in enumerate(segments):
        a, b = max(segment.start, start), min(segment.end + 1, stop)
        if b > a:
            labels[a - start : b - start] = index
    return labels


def clip(segments: Sequence[Segment], start: int, stop: int) -> Segments:
    """The segments seen by frames ``start .. stop - 1``, renumbered so ``start`` is frame 0
    (a trimmed export). Segments cut by the trim keep their text; those outside are dropped."""
    out = []
    for segment in segments:
        a, b = max(segment.start, start), min(segment.end, stop - 1)
        if b >= a:
            out.append(Segment(a - start, b - start, segment.text))
    return tuple(out)


# -- editing (pure: new tuples) -----------------------------------------------------------------------
def add(segments: Sequence[Segment], start: int, end: int, text: str = "", length: int | None = None) -> Segments:
    """A new segment over ``start .. end`` (either order); overlapped parts of others give way."""
    start, end = sorted((int(start), int(end)))
    start = max(0, start)
    if length is not None:
        end = min(end, length - 1)
    if end < start:
        return tuple(segments)
    kept: list[Segment] = []
    for segment in segments:
        if segment.end < start or segment.start > end:
            kept.append(segment)
            continue
        if segment.start < start:
            kept.append(segment._replace(end=start - 1))
        if segment.end > end:
            kept.append(segment._replace(start=end + 1))
    kept.append(Segment(start, end, text.strip()))
    return check_segments(kept)


def remove(segments: Sequence[Segment], index: int) -> Segments:
    return tuple(s for i, s in enumerate(segments) if i != index)


def set_text(segments: Sequence[Segment], index: int, text: str) -> Segments:
    out = list(segments)
    out[index] = out[index]._replace(text=text.strip())
    return check_segments(out)


def resize(segments: Sequence[Segment], index: int, start: int, end: int, length: int | None = None) -> Segments:
    """Move segment ``index``'s edges, stopped by its neighbours and the episode's ends."""
    out = list(segments)
    low = out[index - 1].end + 1 if index > 0 else 0
    high = out[index + 1].start - 1 if index + 1 < len(out) else (length - 1 if length else 1 << 62)
    start, end = sorted((int(start), int(end)))
    start, end = max(low, start), min(high, end)
    if end < start:
        return tuple(segments)
    out[index] = out[index]._replace(start=start, end=end)
    return tuple(out)


def split(segments: Sequence[Segment], frame: int) -> Segments:
    """Split the segment covering ``frame`` so the second part starts at ``frame``; both keep the
    text. Nothing changes in a gap or at a segment's first frame."""
    index = segment_at(segments, frame)
    if index is None or segments[index].start == frame:
        return tuple(segments)
    segment = segments[index]
    out = list(segments)
    out[index : index + 1] = [segment._replace(end=frame - 1), segment._replace(start=frame)]
    return tuple(out)


def join(segments: Sequence[Segment], index: int) -> Segments:
    """Join segment ``index`` with the next one (over the gap between them); the text is the first's,
    or both texts joined by "; " when the first is not empty and they differ."""
    if not 0 <= index < len(segments) - 1:
        return tuple(segments)
    first, second = segments[index], segments[index + 1]
    text = first.text or second.text
    if first.text and second.text and first.text != second.text:
        text = f"{first.text}; {second.text}"
    out = list(segments)
    out[index : index + 2] = [Segment(first.start, second.end, text)]
    return tuple(out)


def snap(segments: Sequence[Segment], targets: Iterable[int], tolerance: int) -> Segments:
    """Move every boundary to the nearest of ``targets`` (e.g. suggested boundaries) within
    ``tolerance`` frames; a move that would overlap a neighbour or empty a segment is skipped."""
    marks = np.asarray(sorted(set(int(t) for t in targets)), dtype=np.int64)
    if not len(marks):
        return tuple(segments)

    def nearest(frame: int) -> int:
        i = int(np.argmin(np.abs(marks - frame)))
        return int(marks[i]) if abs(int(marks[i]) - frame) <= tolerance else frame

    # nearest() never reverses order, so touching segments still touch and others never overlap;
    # only a segment squeezed to nothing (and what it touches) keeps its old edges
    out = [segment._replace(start=nearest(segment.start), end=nearest(segment.end + 1) - 1) for segment in segments]
    for _ in range(len(out) + 1):
        bad = {i for i, s in enumerate(out) if s.end < s.start}
        bad |= {j for i in range(len(out) - 1) if out[i].end >= out[i + 1].start for j in (i, i + 1)}
        if not bad:
            break
        for i in bad:
            out[i] = segments[i]
    return check_segments(out)


# -- copying ------------------------------------------------------------------------------------------
def scale(segments: Sequence[Segment], source_length: int, target_length: int) -> Segments:
    """The segments at the same relative times in an episode of ``target_length`` frames.

    Boundaries are scaled as positions between frames (``start / length``), so segments that touch
    still touch and a segmentation covering the whole episode still covers it."""
    if source_length <= 0 or target_length <= 0:
        return ()
    ratio = target_length / source_length
    out = []
    for segment in segments:
        start = int(round(segment.start * ratio))
        stop = int(round((segment.end + 1) * ratio))
        start, stop = min(start, target_length - 1), min(max(stop, start + 1), target_length)
        if out and start <= out[-1].end:
            start = out[-1].end + 1
        if stop > start:
            out.append(Segment(start, stop - 1, segment.text))
    return tuple(out)


def copy_to_same_task(
    curation: Any, dataset: Any, source: int, targets: Iterable[int] | None = None
) -> list[int]:
    """Copy episode ``source``'s segments to the other episodes with the same task (after task
    edits), or to ``targets`` among them, scaled by relative time; one undoable command.
    Returns the episodes changed."""
    episodes = {e.index: e for e in dataset.episodes}
    if source not in episodes:
        raise StudioError(f"no episode {source}", dataset.path)
    segments = curation.decision(source).subtasks
    if not segments:
        raise StudioError(f"episode {source} has no subtasks to copy", dataset.path)
    task = curation.task_for(episodes[source])
    wanted = set(episodes) if targets is None else {int(t) for t in targets}
    values = {}
    for index in sorted(wanted - {source}):
        episode = episodes.get(index)
        if episode is None or curation.task_for(episode) != task:
            continue
        values[index] = {"subtasks": scale(segments, episodes[source].length, episode.length)}
    if not values:
        return []
    label = f"Copy subtasks of episode {source} to {len(values)} episode{'s' if len(values) != 1 else ''}"
    return sorted(values) if curation.set_each(values, label) else []


# -- suggestions from motion --------------------------------------------------------------------------
def _smooth(values: np.ndarray, width: int) -> np.ndarray:
    if width <= 1 or len(values) < width:
        return values
    kernel = np.ones(width) / width
    padded = np.pad(values, (width // 2, width - 1 - width // 2), mode="edge")
    return np.convolve(padded, kernel, mode="valid")


def gripper_events(gripper: np.ndarray, fps: float, min_range: float = 0.05) -> list[int]:
    """Frames where the gripper crosses half-way between its extremes (opens or closes); none when
    it hardly moves (``min_range`` of its unit). Crossings closer than 0.3 s count once."""
    signal = _smooth(np.asarray(gripper, dtype=np.float64), max(1, int(fps * 0.1)))
    low, high = float(np.min(signal)), float(np.max(signal))
    if high - low < min_range:
        return []
    above = signal > (low + high) / 2
    events = (np.flatnonzero(above[1:] != above[:-1]) + 1).tolist()
    kept: list[int] = []
    for frame in events:
        if not kept or frame - kept[-1] >= fps * 0.3:
            kept.append(int(frame))
    return kept


def velocity_minima(arm: np.ndarray, fps: float, fraction: float = 0.2, min_gap_s: float = 0.5) -> list[int]:
    """Frames where the arm's joint speed has a local minimum below ``fraction`` of its peak (the arm
    pauses between motions), at least ``min_gap_s`` apart, away from the episode's ends."""
    arm = np.asarray(arm, dtype=np.float64).reshape(len(arm), -1)
    if len(arm) < 3:
        return []
    speed = _smooth(np.linalg.norm(np.diff(arm, axis=0), axis=1) * fps, max(1, int(fps * 0.2)))
    peak = float(np.max(speed)) if len(speed) else 0.0
    if peak <= 0:
        return []
    gap = max(1, int(fps * min_gap_s))
    found: list[int] = []
    for t in range(1, len(speed) - 1):
        if speed[t] <= speed[t - 1] and speed[t] < speed[t + 1] and speed[t] < fraction * peak:
            if gap <= t <= len(arm) - gap and (not found or t - found[-1] >= gap):
                found.append(t + 1)  # speed[t] is between frames t and t + 1
    return found


def suggest(values: np.ndarray, names: Sequence[str], fps: float) -> Segments:
    """Suggested segments of one episode from its joint positions (T, joints): boundaries where the
    gripper opens or closes and where the arm pauses. Texts: "reach" before the gripper first
    changes, "grasp and move" while it is in its other state, "release" after it is back, "" where
    only a pause splits; the operator accepts or edits them."""
    values = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
    length = len(values)
    if length < 2:
        return ()
    lowered = [str(n).lower() for n in names]
    grip = next((i for i, n in enumerate(lowered) if "gripper" in n), values.shape[1] - 1 if values.shape[1] >= 6 else None)
    arm = values if grip is None else np.delete(values, grip, axis=1)
    events = gripper_events(values[:, grip], fps) if grip is not None else []
    pauses = velocity_minima(arm, fps)
    min_gap = max(1, int(fps * 0.3))
    bounds: list[int] = []
    for frame in sorted(set(events) | {p for p in pauses if all(abs(p - e) >= min_gap for e in events)}):
        if min_gap <= frame <= length - min_gap and (not bounds or frame - bounds[-1] >= min_gap):
            bounds.append(frame)
    starts = [0, *bounds]
    stops = [*bounds, length]
    out = []
    for start, stop in zip(starts, stops, strict=True):
        changes = sum(1 for e in events if e <= start)
        text = "reach" if not changes and events else ("grasp and move" if changes % 2 else "release") if events else ""
        out.append(Segment(start, stop - 1, text))
    return tuple(out)
