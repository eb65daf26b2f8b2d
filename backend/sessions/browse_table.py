"""The Browse episode table as column arrays: sorted and filtered with numpy, no object per row.

    table = EpisodeTable()
    table.load(dataset.episodes, dataset.fps, curation)   # a task can do this (10,000 rows: ms)
    table.set_sort("length", descending=True)
    table.set_filters(text="wobbly", excluded="hide")
    table.apply(table.compute_order())                    # the rows shown, in order
    table.episode_at(0), table.row_of(17), table.text(table.order[0], "task")

Positions (``pos``) index the columns in the dataset's order; rows (``row``) index ``order``, the
positions shown. Curation edits update their episodes' columns (``set_decisions``); the order is
computed again only when asked (``compute_order``), so a view can tell its rows moved.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

ANY = "any"
KEYS = ("index", "task", "length", "duration", "success", "flagged", "rating", "hints", "note", "source")
_RATING_CODE = {None: 0, "good": 1, "bad": 2}
_RATING_NAME = (None, "good", "bad")
# the decision fields the table shows, and those in a row's searchable text (``_haystacks``)
_DECISION_FIELDS = frozenset({"rating", "flagged", "note", "trim_in", "trim_out", "task", "excluded"})
_SEARCHED_FIELDS = frozenset({"rating", "note", "task"})
_RATING_SORT = np.array([1, 2, 0], dtype=np.int64)  # unrated between bad (0) and good (2)


@dataclass(frozen=True)
class Filters:
    """What the filter bar asks for (``any`` lets every row through)."""

    text: str = ""  # every word must appear in the index, task, note, source, rating or hints
    success: str = ANY  # any | yes | no | unknown
    flag: str = ANY  # any | flagged | unflagged
    rating: str = ANY  # any | good | bad | unrated
    task: str = ANY  # any | a task text (as shown, relabelled or recorded)
    hints: str = ANY  # any | with | without
    excluded: str = ANY  # any | hide | only
    length_range: tuple[int, int] | None = None  # frames, inclusive


FILTER_NAMES = tuple(f.name for f in fields(Filters))


class EpisodeTable:
    """Columns of every episode plus the sort and filters; ``order`` holds the positions shown."""

    def __init__(self) -> None:
        self.filters = Filters()
        self.sort_key = "index"
        self.descending = False
        self.load([], 0.0)

    # -- columns ------------------------------------------------------------------------------------
    def load(self, episodes: Sequence[Any], fps: float, curation: Any | None = None) -> None:
        """Columns from ``episodes`` (``backend.model.Episode``) and the decisions of ``curation``."""
        n = len(episodes)
        self.index = np.fromiter((e.index for e in episodes), np.int64, n)
        self.length = np.fromiter((e.length for e in episodes), np.int64, n)
        self.duration = self.length / float(fps) if fps else np.zeros(n)
        self.success = np.fromiter(
            (-1 if e.success is None else int(bool(e.success)) for e in episodes), np.int8, n
        )
        self.recorded_task = [e.task or "" for e in episodes]
        self.source = [e.source or "" for e in episodes]
        self.position = {episode: pos for pos, episode in enumerate(self.index.tolist())}
        self.lengths = dict(zip(self.position, self.length.tolist(), strict=True))  # episode -> length
        self.task = list(self.recorded_task)  # as shown: relabelled or recorded
        self.note = [""] * n
        self.flagged = np.zeros(n, bool)
        self.excluded = np.zeros(n, bool)
        self.trimmed = np.zeros(n, bool)
        self.task_edited = np.zeros(n, bool)
        self.rating = np.zeros(n, np.int8)  # 0 unrated, 1 good, 2 bad
        self.hints: list[list[tuple[str, str, str]] | None] = [None] * n  # None: not computed yet
        self.hint_count = np.zeros(n, np.int32)
        self._haystack: list[str | None] = [None] * n  # each row's text, lower case (None: made again)
        self._haystack_array: np.ndarray | None = None  # the same as one numpy array (None: made again)
        self.order = np.arange(n, dtype=np.int64)
        self._rows: np.ndarray | None = None
        if curation is not None:
            self.set_decisions(curation, list(curation.decisions))
        self.order = self.compute_order()

    def __len__(self) -> int:
        return len(self.index)

    def set_decisions(
        self, curation: Any, episodes: Iterable[int], changed_fields: Collection[str] | None = None
    ) -> list[int]:
        """Copy the decisions of ``episodes`` from ``curation``; the positions that changed.

        Column by column (10,000 episodes rated at once: a few ms, not one Python pass per cell), and
        only the columns of ``changed_fields`` (the decision fields that changed; None: every one)."""
        position, decisions = self.position, curation.decisions
        pairs = [(pos, decisions.get(e)) for e in map(int, episodes) if (pos := position.get(e)) is not None]
        if not pairs:
            return []
        changed = [pos for pos, _ in pairs]
        found = [d for _, d in pairs]
        at, n = np.array(changed, dtype=np.int64), len(pairs)
        wanted = set(_DECISION_FIELDS if changed_fields is None else changed_fields)
        if "flagged" in wanted:
            self.flagged[at] = np.fromiter((d is not None and bool(d.flagged) for d in found), bool, n)
        if "excluded" in wanted:
            self.excluded[at] = np.fromiter((d is not None and bool(d.excluded) for d in found), bool, n)
        if wanted & {"trim_in", "trim_out"}:
            self.trimmed[at] = np.fromiter(
                (d is not None and (d.trim_in is not None or d.trim_out is not None) for d in found), bool, n
            )
        if "task" in wanted:
            self.task_edited[at] = np.fromiter((d is not None and d.task is not None for d in found), bool, n)
        if "rating" in wanted:
            self.rating[at] = np.fromiter(
                (_RATING_CODE.get(d.rating, 0) if d else 0 for d in found), np.int8, n
            )
        note, task, recorded = self.note, self.task, self.recorded_task
        if "note" in wanted:
            for pos, decision in pairs:
                note[pos] = (decision.note or "") if decision is not None else ""
        if "task" in wanted:
            for pos, decision in pairs:
                task[pos] = (decision.task or recorded[pos]) if decision is not None else recorded[pos]
        if wanted & _SEARCHED_FIELDS:  # the row's searchable text is made again
            haystack = self._haystack
            for pos in changed:
                haystack[pos] = None
            self._haystack_array = None
        return changed

    def set_hints(self, episode: int, hints: list[tuple[str, str, str]]) -> int | None:
        """The quality hints (code, label, detail) of ``episode``; its position (None: not here)."""
        pos = self.position.get(int(episode))
        if pos is not None:
            self.hints[pos] = list(hints)
            self.hint_count[pos] = len(hints)
            self._haystack[pos] = None
            self._haystack_array = None
        return pos

    # -- sort and filters ---------------------------------------------------------------------------
    def set_sort(self, key: str, descending: bool = False) -> None:
        if key not in KEYS:
            raise KeyError(key)
        self.sort_key, self.descending = key, bool(descending)

    def set_filters(self, **values: Any) -> None:
        for name in values:
            if name not in FILTER_NAMES:
                raise KeyError(name)
        self.filters = replace(self.filters, **values)

    def reset_filters(self) -> None:
        self.filters = Filters()

    def compute_order(self) -> np.ndarray:
        """The positions that pass the filters, sorted (ties keep the dataset's order)."""
        candidates = np.flatnonzero(self._mask())
        keys = self._sort_values()[candidates]
        return candidates[np.argsort(-keys if self.descending else keys, kind="stable")]

    def apply(self, order: np.ndarray) -> None:
        """Show ``order`` (from ``compute_order``)."""
        self.order = np.asarray(order, dtype=np.int64)
        self._rows = None

    def _mask(self) -> np.ndarray:
        f, n = self.filters, len(self.index)
        mask = np.ones(n, bool)
        if f.success != ANY:
            mask &= self.success == {"yes": 1, "no": 0, "unknown": -1}[f.success]
        if f.flag != ANY:
            mask &= self.flagged if f.flag == "flagged" else ~self.flagged
        if f.rating != ANY:
            mask &= self.rating == _RATING_CODE.get(None if f.rating == "unrated" else f.rating, -1)
        if f.task != ANY:
            mask &= np.fromiter((t == f.task for t in self.task), bool, n)
        if f.hints != ANY:
            mask &= self.hint_count > 0 if f.hints == "with" else self.hint_count == 0
        if f.excluded != ANY:
            mask &= ~self.excluded if f.excluded == "hide" else self.excluded
        if f.length_range is not None:
            low, high = f.length_range
            mask &= (self.length >= low) & (self.length <= high)
        words = f.text.lower().split()
        if words:
            haystack = self._haystacks()
            for word in words:  # numpy's string search: 10,000 rows in ~1 ms a word
                mask &= np.strings.find(haystack, word) >= 0
        return mask

    def _haystacks(self) -> np.ndarray:
        """Each row's searchable text in lower case; only rows whose values changed are made again."""
        if self._haystack_array is not None:
            return self._haystack_array
        stack = self._haystack
        for pos, text in enumerate(stack):
            if text is None:
                labels = " ".join(label for _, label, _ in self.hints[pos] or ())
                rating = _RATING_NAME[self.rating[pos]] or ""
                stack[pos] = " ".join(
                    (str(self.index[pos]), self.task[pos], self.note[pos], self.source[pos], rating, labels)
                ).lower()
        self._haystack_array = np.array(stack, dtype=str)
        return self._haystack_array

    def _sort_values(self) -> np.ndarray:
        key = self.sort_key
        if key in ("index", "length", "duration", "success", "flagged"):
            return np.asarray(getattr(self, key), dtype=np.float64)
        if key == "rating":
            return _RATING_SORT[self.rating].astype(np.float64)
        if key == "hints":
            return self.hint_count.astype(np.float64)
        texts = getattr(self, key)  # task, note, source: case-insensitive
        if not texts:
            return np.zeros(0)
        _, ranks = np.unique(np.array([t.lower() for t in texts], dtype=str), return_inverse=True)
        return ranks.astype(np.float64)

    # -- rows shown ---------------------------------------------------------------------------------
    def row_count(self) -> int:
        return len(self.order)

    def episode_at(self, row: int) -> int:
        """The episode index shown at ``row`` (-1 outside)."""
        return int(self.index[self.order[row]]) if 0 <= row < len(self.order) else -1

    def episodes_at(self, rows: np.ndarray) -> np.ndarray:
        """The episode indices shown at ``rows`` (each inside ``0..row_count()-1``)."""
        return self.index[self.order[np.asarray(rows, dtype=np.int64)]]

    def rows_of(self, episodes: Iterable[int]) -> np.ndarray:
        """The rows showing ``episodes`` (-1: filtered out or not in the dataset)."""
        self.row_of(-1)  # the row of each position, made once per order
        get = self.position.get
        pos = np.fromiter((get(int(e), -1) for e in episodes), np.int64)
        rows = np.full(len(pos), -1, dtype=np.int64)
        known = pos >= 0
        if self._rows is not None:
            rows[known] = self._rows[pos[known]]
        return rows

    def row_of(self, episode: int) -> int:
        """The row showing ``episode`` (-1: filtered out or not in the dataset)."""
        if self._rows is None:
            self._rows = np.full(len(self.index), -1, dtype=np.int64)
            self._rows[self.order] = np.arange(len(self.order))
        pos = self.position.get(int(episode))
        return -1 if pos is None else int(self._rows[pos])

    def visible_episodes(self) -> list[int]:
        return self.index[self.order].tolist()

    def summary(self, curation: Any) -> dict[str, int]:
        """``Curation.summary`` from the columns (numpy counts; only trimmed rows are looked at)."""
        kept = ~self.excluded
        frames = int(self.length[kept].sum())
        for pos in np.flatnonzero(kept & self.trimmed).tolist():
            decision = curation.decisions.get(int(self.index[pos]))
            if decision is not None:
                start, stop = decision.kept_range(int(self.length[pos]))
                frames -= int(self.length[pos]) - (stop - start)
        return {
            "episodes": len(self.index),
            "kept": int(kept.sum()),
            "excluded": int(self.excluded.sum()),
            "trimmed": int((self.trimmed & kept).sum()),
            "relabelled": int((self.task_edited & kept).sum()),
            "good": int((self.rating == 1).sum()),
            "bad": int((self.rating == 2).sum()),
            "flagged": int(self.flagged.sum()),
            "noted": sum(1 for note in self.note if note),
            "frames_kept": frames,
        }

    def tasks(self) -> list[str]:
        """The tasks shown, in first-seen order."""
        return [t for t in dict.fromkeys(self.task) if t]

    # -- what a cell shows --------------------------------------------------------------------------
    def text(self, pos: int, key: str) -> str:
        if key == "index":
            return str(self.index[pos])
        if key == "task":
            return self.task[pos]
        if key == "length":
            return f"{self.length[pos]}{' ✂' if self.trimmed[pos] else ''}"
        if key == "duration":
            return f"{float(self.duration[pos]) + 0.0:.1f} s"  # + 0.0: never "-0.0"
        if key == "success":
            return ("", "no", "yes")[self.success[pos] + 1]
        if key == "flagged":
            return "⚑" if self.flagged[pos] else ""
        if key == "rating":
            return _RATING_NAME[self.rating[pos]] or ""
        if key == "hints":
            hints = self.hints[pos]
            return "…" if hints is None else ", ".join(label for _, label, _ in hints)
        if key == "note":
            return self.note[pos].replace("\n", " ")
        if key == "source":
            return self.source[pos]
        return ""

    def values(self, episode: int) -> dict[str, Any] | None:
        """Everything about one row as plain values (the fields of ``widgets.episode_table.EpisodeRow``)."""
        pos = self.position.get(int(episode))
        if pos is None:
            return None
        hints = self.hints[pos]
        return {
            "index": int(self.index[pos]),
            "task": self.task[pos],
            "length": int(self.length[pos]),
            "duration": float(self.duration[pos]),
            "success": None if self.success[pos] < 0 else bool(self.success[pos]),
            "source": self.source[pos],
            "flagged": bool(self.flagged[pos]),
            "rating": _RATING_NAME[self.rating[pos]],
            "note": self.note[pos],
            "excluded": bool(self.excluded[pos]),
            "trimmed": bool(self.trimmed[pos]),
            "task_edited": bool(self.task_edited[pos]),
            "hints": list(hints or []),
            "hints_ready": hints is not None,
        }
