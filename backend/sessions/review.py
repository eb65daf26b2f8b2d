"""What Browse's review grid knows: the episodes in review order (sorted and filtered by any score,
the predicted rating or a decision), the page shown, the current cell, the camera shown, what each
key does, and generated variants grouped under their source with the best of N marked.

    review = ReviewSession(page_size=200)
    review.load(episodes=[0, 1, 2], lengths={0: 40, ...}, curation=curation, scores=table_or_None)
    review.set_sort("jerk", descending=True)
    review.set_filter("jerk>0.5 and not frozen_camera")   # curate --where's language
    review.set_decision_filter("unrated")      # any | unrated | good | bad | flagged
    review.page_cells()                        # the cells of the page shown
    review.key("A")                            # accept the current cell: rating good (one undo)
    review.key("Right", columns=5)             # move; "PgDn" pages
    review.open_target()                       # (episode, frame where its selected finding fires)

Decisions are the ordinary curation decisions of the ``Curation`` given (Browse's): undo, redo and
export see them like any other. The session never reads frames; thumbnails are the view's work
(``backend.sessions.review_thumbs``).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from backend.errors import StudioError
from backend.scores.table import SEVERITIES, EpisodeScores, Finding, ScoreTable
from backend.scores.where import parse_where

ALL_CAMERAS = ""  # camera choice: every camera side by side
SORT_BUILTIN = ("episode", "length", "findings", "predicted_rating", "uncertainty", "rating")
KEY_ACTIONS = {
    "A": "accept",
    "R": "reject",
    "F": "flag",
    "U": "undo",
    "Enter": "open",
    "Return": "open",
    "Left": "move",
    "Right": "move",
    "Up": "move",
    "Down": "move",
    "PgUp": "page",
    "PgDown": "page",
    "PgDn": "page",
    "B": "best",
}
KEY_HELP = (
    ("A", "accept (rate good)"),
    ("R", "reject (rate bad)"),
    ("F", "flag / unflag"),
    ("U", "undo"),
    ("B", "best of N: accept the best variant, reject the others"),
    ("Enter", "open in the player at the finding"),
    ("Arrows", "move"),
    ("PgUp/PgDn", "page"),
)
DECISION_FILTERS = ("any", "unrated", "good", "bad", "flagged")
_SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}


@dataclass(frozen=True)
class ReviewCell:
    """One thumbnail of the grid: ``episode``; for a generated one its ``source`` and ``variant``;
    ``group`` the source episode its group is under (itself for a source or a lone episode);
    ``best`` when it is the best of its group's N variants."""

    episode: int
    group: int
    source: int | None = None
    variant: int | None = None
    best: bool = False


@dataclass
class ReviewSession:
    """The Qt-free state of the review grid; the view lays out thumbnails and forwards keys to it."""

    page_size: int = 200
    episodes: list[int] = field(default_factory=list)
    lengths: dict[int, int] = field(default_factory=dict)
    curation: Any = None
    scores: ScoreTable | None = None
    sort_key: str = "episode"
    descending: bool = False
    filter_text: str = ""
    grouped: bool = True
    camera: str = ALL_CAMERAS
    page: int = 0
    current: int = 0  # index into the page's cells
    finding: int = 0  # the finding of the current cell that Enter opens at
    advance: bool = True  # a decision moves to the next cell
    cells: list[ReviewCell] = field(default_factory=list)
    filter_error: str = ""
    decision_filter: str = "any"
    _predicate: Callable[[EpisodeScores], bool] | None = None
    _listeners: list[Callable[[], None]] = field(default_factory=list)
    _entries: dict[int, EpisodeScores] = field(default_factory=dict)
    _own_edit: bool = False
    _variants: bool = False  # the table has generated episodes (grouping has something to do)

    # -- what is reviewed ---------------------------------------------------------------------------
    def load(
        self,
        episodes: Iterable[int],
        lengths: dict[int, int] | None = None,
        curation: Any = None,
        scores: ScoreTable | None = None,
    ) -> None:
        """The dataset's episodes (and their lengths), its curation and its score table (or None);
        the sort stays, the filter (of another table's signals) goes."""
        self.episodes = [int(e) for e in episodes]
        self.filter_text, self._predicate, self.filter_error = "", None, ""
        self.lengths = dict(lengths or {})
        self.curation = curation
        self._set_table(scores)
        self.page = self.current = self.finding = 0
        self.refresh()

    def set_scores(self, scores: ScoreTable | None) -> None:
        self._set_table(scores)
        self.refresh(keep_current=True)

    def _set_table(self, scores: ScoreTable | None) -> None:
        self.scores = scores
        self._entries = {item.episode: item for item in scores.episodes} if scores is not None else {}
        self._variants = any(item.source is not None for item in self._entries.values())

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Called after the cells, the page or the current cell changed."""
        self._listeners.append(listener)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()

    def entry(self, episode: int) -> EpisodeScores | None:
        return self._entries.get(episode)

    def sort_keys(self) -> list[str]:
        """Every key the grid can sort or filter by: the built-ins, then each signal of the table."""
        names: list[str] = list(SORT_BUILTIN)
        if self.scores is not None:
            found = list(self.scores.signals)
            for item in self.scores.episodes:
                found.extend(k for k in item.scores if k not in found)
            names.extend(k for k in found if k not in names)
        return names

    def value(self, episode: int, key: str) -> float:
        """The number ``key`` means for ``episode`` (NaN when it has none: sorted last)."""
        entry = self.entry(episode)
        if key == "episode":
            return float(episode)
        if key == "length":
            return float(self.lengths.get(episode, math.nan))
        if key == "findings":
            return float(len(entry.findings)) if entry is not None else math.nan
        if key == "rating":
            rating = self.decision_of(episode).rating if self.curation is not None else None
            return {None: 0.5, "good": 1.0, "bad": 0.0}[rating]
        if entry is None:
            return math.nan
        if key == "predicted_rating":
            return math.nan if entry.predicted_rating is None else float(entry.predicted_rating)
        if key == "uncertainty":  # closest to 0.5 first when descending
            p = entry.predicted_rating
            return math.nan if p is None else 1.0 - abs(float(p) - 0.5) * 2.0
        return float(entry.scores.get(key, math.nan))

    def decision_of(self, episode: int) -> Any:
        return self.curation.decision(episode)

    def findings(self, episode: int) -> list[Finding]:
        """The episode's findings, the most severe first (then by first frame)."""
        entry = self.entry(episode)
        if entry is None:
            return []
        return sorted(entry.findings, key=lambda f: (-_SEVERITY_RANK.get(f.severity, 0), f.frames[0]))

    # -- sort, filter, group ------------------------------------------------------------------------
    def set_sort(self, key: str, descending: bool = False) -> None:
        if key not in self.sort_keys():
            raise ValueError(f"unknown sort key {key!r}")
        self.sort_key, self.descending = key, descending
        self.page = self.current = 0
        self.refresh()

    def set_filter(self, text: str) -> bool:
        """Only episodes whose scores pass ``text`` (``curate --where``'s language, e.g.
        ``jerky>5000 and not frozen_camera``; empty: every episode). False, with ``filter_error``
        saying why, when it is not understood: then the previous filter stays."""
        predicate: Callable[[EpisodeScores], bool] | None = None
        if text.strip() and self.scores is None:
            self.filter_error = "this dataset has no scores yet: score it to filter by its signals"
            return False
        if text.strip():
            try:
                predicate = parse_where(text, self.scores)
            except StudioError as error:
                self.filter_error = error.problem
                return False
        self.filter_error = ""
        self.filter_text, self._predicate = text, predicate
        self.page = self.current = 0
        self.refresh()
        return True

    def set_decision_filter(self, which: str) -> None:
        """``DECISION_FILTERS``: any, unrated, good, bad or flagged episodes only."""
        if which not in DECISION_FILTERS:
            raise ValueError(f"unknown decision filter {which!r}")
        self.decision_filter = which
        self.page = self.current = 0
        self.refresh()

    def _passes(self, episode: int) -> bool:
        if self._predicate is not None:
            entry = self.entry(episode)
            if entry is None or not self._predicate(entry):
                return False
        which = self.decision_filter
        if which == "any" or self.curation is None:
            return True
        decision = self.decision_of(episode)
        if which == "flagged":
            return bool(decision.flagged)
        return decision.rating == (None if which == "unrated" else which)

    def set_grouped(self, grouped: bool) -> None:
        self.grouped = grouped
        self.refresh(keep_current=True)

    def _order(self, episodes: list[int]) -> list[int]:
        def key(episode: int) -> tuple[int, float, int]:
            value = self.value(episode, self.sort_key)
            if value != value:  # NaN: always last
                return (1, 0.0, episode)
            return (0, -value if self.descending else value, episode)

        return sorted(episodes, key=key)

    def refresh(self, keep_current: bool = False, notify: bool = True) -> None:
        """Compute the cells again (after a decision, new scores, a sort or filter change)."""
        shown = self.current_cell().episode if keep_current and self.current_cell() else None
        passing = [e for e in self.episodes if self._passes(e)]
        self.cells = (
            self._grouped(passing)
            if self.grouped and self._variants
            else [ReviewCell(e, e) for e in self._order(passing)]
        )
        if shown is not None:
            self.go_to_episode(shown, notify=False)
        self._clamp()
        if notify:
            self._notify()

    def _grouped(self, passing: list[int]) -> list[ReviewCell]:
        """Sources (and lone episodes) in sort order, each followed by its variants in sort order;
        a variant whose source is filtered out still shows, under its source's number."""
        members: dict[int, list[int]] = {}
        heads: list[int] = []
        shown = set(passing)
        for episode in self._order(passing):
            entry = self.entry(episode)
            source = entry.source if entry is not None else None
            if source is None or source == episode:
                heads.append(episode)
                members.setdefault(episode, [])
            else:
                if source not in members:
                    members[source] = []
                    if source not in shown:
                        heads.append(source)  # placeholder: the group's place, not shown itself
                members[source].append(episode)
        cells: list[ReviewCell] = []
        for head in heads:
            variants = members.get(head, [])
            best = self.best_of(variants)
            if head in shown:
                cells.append(ReviewCell(head, head))
            for episode in variants:
                entry = self.entry(episode)
                cells.append(
                    ReviewCell(
                        episode,
                        head,
                        head,
                        entry.variant if entry is not None else None,
                        episode == best,
                    )
                )
        return cells

    def best_of(self, variants: list[int]) -> int | None:
        """The best of N generated variants: the highest predicted rating, else the fewest and least
        severe findings (then the lowest episode number); None for fewer than two."""
        if len(variants) < 2:
            return None

        def badness(episode: int) -> tuple[float, int, int, int]:
            entry = self.entry(episode)
            predicted = entry.predicted_rating if entry is not None else None
            findings = self.findings(episode)
            worst = max((_SEVERITY_RANK.get(f.severity, 0) for f in findings), default=-1)
            return (-(predicted if predicted is not None else -1.0), worst, len(findings), episode)

        return min(variants, key=badness)

    def group_of(self, cell: ReviewCell) -> list[int]:
        """Every generated variant of ``cell``'s group (empty for a lone episode)."""
        return [c.episode for c in self.cells if c.group == cell.group and c.source is not None]

    # -- pages and the current cell -----------------------------------------------------------------
    @property
    def page_count(self) -> int:
        return max(1, math.ceil(len(self.cells) / self.page_size))

    def page_cells(self) -> list[ReviewCell]:
        start = self.page * self.page_size
        return self.cells[start : start + self.page_size]

    def _clamp(self) -> None:
        self.page = min(max(0, self.page), self.page_count - 1)
        count = len(self.page_cells())
        self.current = min(max(0, self.current), max(0, count - 1))
        self.finding = min(self.finding, max(0, len(self._current_findings()) - 1))

    def current_cell(self) -> ReviewCell | None:
        cells = self.page_cells()
        return cells[self.current] if 0 <= self.current < len(cells) else None

    def _current_findings(self) -> list[Finding]:
        cell = self.current_cell()
        return self.findings(cell.episode) if cell is not None else []

    def set_current(self, index: int) -> None:
        if index != self.current:
            self.current, self.finding = index, 0
            self._clamp()
            self._notify()

    def go_to_episode(self, episode: int, notify: bool = True) -> bool:
        """Show the page holding ``episode`` with it current; False when it is not among the cells."""
        for position, cell in enumerate(self.cells):
            if cell.episode == episode:
                self.page, self.current = divmod(position, self.page_size)
                self.finding = 0
                if notify:
                    self._notify()
                return True
        return False

    def set_page(self, page: int) -> None:
        page = min(max(0, page), self.page_count - 1)
        if page != self.page:
            self.page, self.current, self.finding = page, 0, 0
            self._clamp()
            self._notify()

    def move(self, dx: int, dy: int, columns: int) -> None:
        """Arrows: ``dx`` cells, ``dy`` rows of ``columns``; past the page's ends to the next page."""
        columns = max(1, columns)
        target = self.page * self.page_size + self.current + dx + dy * columns
        if not self.cells:
            return
        target = min(max(0, target), len(self.cells) - 1)
        page, current = divmod(target, self.page_size)
        if (page, current) != (self.page, self.current):
            self.page, self.current, self.finding = page, current, 0
            self._notify()

    def select_finding(self, index: int) -> None:
        findings = self._current_findings()
        self.finding = index % len(findings) if findings else 0

    def open_target(self) -> tuple[int, int] | None:
        """(episode, frame) that Enter opens: the first frame where the selected finding fires (0)."""
        cell = self.current_cell()
        if cell is None:
            return None
        findings = self._current_findings()
        if not findings:
            return cell.episode, 0
        return cell.episode, max(0, int(findings[min(self.finding, len(findings) - 1)].frames[0]))

    # -- decisions (Browse's curation: undo and export see them) ------------------------------------
    def accept(self) -> None:
        self._rate("good")

    def reject(self) -> None:
        self._rate("bad")

    def _rate(self, rating: str) -> None:
        cell = self.current_cell()
        if cell is None or self.curation is None:
            return
        verb = "Accept" if rating == "good" else "Reject"
        with self._deciding():
            self.curation.set(cell.episode, f"{verb} episode {cell.episode}", rating=rating)
        self._after_decision()

    def toggle_flag(self) -> None:
        cell = self.current_cell()
        if cell is None or self.curation is None:
            return
        with self._deciding():
            self.curation.set(cell.episode, None, flagged=not self.decision_of(cell.episode).flagged)
        self._after_decision(advance=False)

    def accept_best(self) -> bool:
        """Best of N: the current cell's group's best variant good, its other variants bad (one undo)."""
        cell = self.current_cell()
        if cell is None or self.curation is None:
            return False
        variants = self.group_of(cell)
        best = self.best_of(variants)
        if best is None:
            return False
        values = {e: {"rating": "good" if e == best else "bad"} for e in variants}
        with self._deciding():
            self.curation.set_each(values, f"Best of {len(variants)}: keep episode {best}")
        self._after_decision(advance=False)
        return True

    def undo(self) -> None:
        if self.curation is None:
            return
        with self._deciding():
            undone = self.curation.undo()
        if undone is not None:
            self._after_decision(advance=False)

    @contextlib.contextmanager
    def _deciding(self) -> Iterator[None]:
        """The session's own curation edits: ``decisions_changed`` from the curation's listeners
        waits for ``_after_decision`` (one update of the cells per key)."""
        self._own_edit = True
        try:
            yield
        finally:
            self._own_edit = False

    def decisions_changed(self) -> None:
        """Decisions changed elsewhere (Browse's table, its Undo): the cells are computed again only
        when the filter or the sort reads decisions; the listeners are told either way."""
        if self._own_edit:
            return
        if self._reads_decisions():
            self.refresh(keep_current=True)
        else:
            self._notify()

    def _reads_decisions(self) -> bool:
        return self.decision_filter != "any" or self.sort_key == "rating"

    def _after_decision(self, advance: bool = True) -> None:
        """A filter or the sort may read decisions: the cells are computed again, and the next cell
        (in the order before the decision) becomes current."""
        cell = self.current_cell()
        following = None
        if advance and self.advance and cell is not None:
            position = self.page * self.page_size + self.current
            following = next((c.episode for c in self.cells[position + 1 :]), None)
        if self._reads_decisions():
            self.refresh(keep_current=True, notify=False)
        if following is None or not self.go_to_episode(following, notify=False):
            if cell is not None:
                self.go_to_episode(cell.episode, notify=False)
        self._clamp()
        self._notify()

    def key(self, name: str, columns: int = 1) -> str | None:
        """Do what key ``name`` means (``KEY_ACTIONS``); the action's name, None for other keys."""
        action = KEY_ACTIONS.get(name)
        if action == "accept":
            self.accept()
        elif action == "reject":
            self.reject()
        elif action == "flag":
            self.toggle_flag()
        elif action == "undo":
            self.undo()
        elif action == "best":
            self.accept_best()
        elif action == "move":
            dx, dy = {"Left": (-1, 0), "Right": (1, 0), "Up": (0, -1), "Down": (0, 1)}[name]
            self.move(dx, dy, columns)
        elif action == "page":
            self.set_page(self.page + (-1 if name == "PgUp" else 1))
        return action

    # -- what a cell shows --------------------------------------------------------------------------
    def caption(self, cell: ReviewCell) -> str:
        """The cell's title: the episode, its variant and the sort key's value."""
        text = f"ep {cell.episode}"
        if cell.source is not None:
            text += f" · v{cell.variant if cell.variant is not None else '?'} of {cell.source}"
        if self.sort_key not in ("episode", "rating"):
            value = self.value(cell.episode, self.sort_key)
            if value == value:
                text += f" · {self.sort_key} {format_number(value)}"
        return text

    def badges(self, episode: int) -> list[tuple[str, str]]:
        """(signal name, severity) of each finding, the most severe first, one per signal."""
        seen: dict[str, str] = {}
        for finding in self.findings(episode):
            seen.setdefault(finding.signal, finding.severity)
        return list(seen.items())

    def status_text(self) -> str:
        total = len(self.cells)
        if not total:
            filtered = self._predicate is not None or self.decision_filter != "any"
            return "No episodes pass the filter" if filtered else "No episodes"
        start = self.page * self.page_size
        return (
            f"{start + 1}–{min(total, start + self.page_size)} of {total} · page {self.page + 1}/"
            f"{self.page_count}"
        )


def visible_first(episodes: list[int], visible: Iterable[int]) -> list[int]:
    """``episodes`` to decode, those in view first (each group in its page order)."""
    seen = set(visible)
    return [e for e in episodes if e in seen] + [e for e in episodes if e not in seen]


def format_number(value: float) -> str:
    """A number for the user: whole above 1000, else 3 significant digits; never '-0'."""
    if value == 0 or value != value:
        return "0" if value == 0 else "–"
    if abs(value) >= 1000:
        text = f"{value:.0f}"
    elif abs(value) >= 0.001:
        text = f"{value:.3g}"
    else:
        text = f"{value:.1e}"
    return "0" if text.strip("-0.") == "" else text
