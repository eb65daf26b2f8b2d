"""The Qt-free state of Browse's subtask track: the shown episode's segments (kept in the curation
decisions, so every edit is undoable there), the selected segment, and suggestions from motion.

The track widget forwards here; ``listeners`` hear about every change (edits, undo, another episode).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from backend import subtasks as ops
from backend.subtasks import Segment, Segments


class SubtaskSession:
    def __init__(self, browse: Any) -> None:
        self.browse = browse  # the BrowseSession: dataset, shown episode, curation
        self.selected: int | None = None
        self.suggestions: Segments = ()
        self._suggested_for: int | None = None
        self._offered: dict[int, Segments] = {}  # the dataset's own subtasks, per episode (``offer``)
        self._listeners: list[Callable[[], None]] = []
        browse.add_listener(self._curation_changed)

    # -- reading ------------------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return bool(self.browse.can_curate)

    @property
    def length(self) -> int:
        episode = self.browse.episode
        return int(episode.length) if episode is not None else 0

    def segments(self) -> Segments:
        decision = self.browse.decision()
        return decision.subtasks if decision is not None else ()

    def selected_segment(self) -> Segment | None:
        segments = self.segments()
        return segments[self.selected] if self.selected is not None and self.selected < len(segments) else None

    def add_listener(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()

    def _curation_changed(self, episodes: list[int]) -> None:
        episode = self.browse.episode
        if episode is not None and episode.index in episodes:
            self._clamp_selection()
            self._notify()

    def episode_shown(self) -> None:
        """Another episode is shown: nothing selected, suggestions of the old one dropped."""
        self.selected = None
        episode = self.browse.episode
        if episode is not None and episode.index in self._offered:
            self.suggestions, self._suggested_for = self._offered[episode.index], episode.index
        elif episode is None or episode.index != self._suggested_for:
            self.suggestions, self._suggested_for = (), None
        self._notify()

    def offer(self, found: dict[int, Segments]) -> Segments:
        """Segments found elsewhere (the dataset's own subtasks, ``backend.subtask_import``) become the
        suggestions of each episode as it is shown; returns the shown episode's."""
        self._offered = dict(found)
        self.episode_shown()
        return self.suggestions

    def _clamp_selection(self) -> None:
        if self.selected is not None and self.selected >= len(self.segments()):
            self.selected = len(self.segments()) - 1 if self.segments() else None

    # -- editing (each one undoable command in the curation) ----------------------------------------
    def _write(self, segments: Segments, label: str) -> bool:
        if not self.active:
            return False
        index = self.browse.episode.index
        return self.browse.curation.set(index, f"{label} (episode {index})", subtasks=segments)

    def create(self, first: int, last: int, text: str = "") -> int | None:
        """A segment over frames ``first .. last`` (either order), selected; returns its index."""
        if not self.active:
            return None
        segments = ops.add(self.segments(), first, last, text, self.length)
        if self._write(segments, "Add subtask"):
            self.selected = ops.segment_at(segments, min(first, last))
            self._notify()
        return self.selected

    def set_text(self, text: str, index: int | None = None) -> bool:
        index = self.selected if index is None else index
        if index is None or index >= len(self.segments()):
            return False
        return self._write(ops.set_text(self.segments(), index, text), "Name subtask")

    def resize(self, index: int, start: int, end: int) -> bool:
        return self._write(ops.resize(self.segments(), index, start, end, self.length), "Move subtask edge")

    def split_at(self, frame: int) -> bool:
        """Split the segment under ``frame`` there; the second part is selected."""
        done = self._write(ops.split(self.segments(), frame), "Split subtask")
        if done:
            self.select(ops.segment_at(self.segments(), frame))
        return done

    def join_next(self, index: int | None = None) -> bool:
        index = self.selected if index is None else index
        return index is not None and self._write(ops.join(self.segments(), index), "Join subtasks")

    def delete(self, index: int | None = None) -> bool:
        index = self.selected if index is None else index
        if index is None or index >= len(self.segments()):
            return False
        return self._write(ops.remove(self.segments(), index), "Delete subtask")

    def snap(self, tolerance_s: float = 0.25) -> bool:
        """Move the edges onto the suggested boundaries within ``tolerance_s`` seconds."""
        if not self.suggestions:
            return False
        marks = [s.start for s in self.suggestions] + [s.end + 1 for s in self.suggestions]
        fps = float(self.browse.dataset.fps or 30.0)
        return self._write(ops.snap(self.segments(), marks, max(1, int(round(tolerance_s * fps)))), "Snap subtasks")

    def copy_to_same_task(self, targets: Iterable[int] | None = None) -> list[int]:
        """Copy the shown episode's segments to the other episodes of its task, or to ``targets``
        among them (a selection in the table or the review grid); returns the episodes changed."""
        if not self.active:
            return []
        episode = self.browse.episode.index
        return ops.copy_to_same_task(self.browse.curation, self.browse.dataset, episode, targets)

    # -- selection ----------------------------------------------------------------------------------
    def select(self, index: int | None) -> None:
        count = len(self.segments())
        self.selected = None if index is None or not count else max(0, min(int(index), count - 1))
        self._notify()

    def select_at(self, frame: int) -> None:
        self.select(ops.segment_at(self.segments(), frame))

    def select_step(self, delta: int) -> None:
        count = len(self.segments())
        if count:
            self.select(0 if self.selected is None else (self.selected + delta) % count)

    # -- suggestions from motion --------------------------------------------------------------------
    def suggest(self, values: np.ndarray, names: list[str]) -> Segments:
        """Compute suggestions for the shown episode from its joint positions (T, joints)."""
        if not self.active:
            return ()
        self.suggestions = ops.suggest(values, names, float(self.browse.dataset.fps or 30.0))
        self._suggested_for = self.browse.episode.index
        self._notify()
        return self.suggestions

    def accept_suggestions(self) -> bool:
        """Replace the episode's segments by the suggestions (one undoable command)."""
        return bool(self.suggestions) and self._write(self.suggestions, "Accept suggested subtasks")
