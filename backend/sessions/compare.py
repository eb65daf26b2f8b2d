"""What the Compare pane knows, without Qt: the sides, how they pair with A, the choices, the playhead.

    session = CompareSession()
    session.set_dataset(0, src, session.open_lease(src))   # A (a registry lease, one per side)
    session.set_dataset(1, gen, session.open_lease(gen))   # B; replacing a side releases its lease
    session.sides[1].episode = 0
    session.after_change(1)                  # A follows B's provenance record, offsets from the pairing
    view = build_view(session.requests(), session.feature, session.align, session.band_s)
    session.accept_view(view)                # shown now: its datasets stay open while it is shown
    session.set_time(1.5)                    # the playhead (a PlaybackClock at A's rate)
    session.pair_state()                     # a plain dict the pane keeps in its settings
    session.close()                          # every lease released

A side is "PATH[:EPISODE]" with a camera and, for B-D, an offset in seconds (how late it is against
A). Side A is the reference. The pane lays out widgets and forwards what the user does to this object;
tests drive it with real datasets and no Qt.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.compare.batch import BatchResult, compare_batch
from backend.compare.pairing import RECORDED, Pair, disagreement, pair_episodes, pairing_sentence
from backend.compare.sources import SourceSpec, parse_source
from backend.compare.view import LETTERS, CompareView, SideRequest
from backend.errors import Cancelled
from backend.model import Dataset
from backend.numbers import fixed
from backend.progress import Progress
from backend.registry import DatasetRegistry, Lease, registry
from backend.sessions.playback import PlaybackClock

FEATURES = ("action", "state")


@dataclass
class Side:
    """One source: the dataset open for it (a lease), the episode, the camera and the offset."""

    letter: str
    path: str | None = None  # the path as the user named it (None: no dataset yet)
    episode: int | None = None
    camera: str | None = None
    offset_s: float = 0.0  # B-D: how late this side is against A (align "none"; else estimated)
    lease: Lease | None = field(default=None, repr=False)

    @property
    def dataset(self) -> Dataset | None:
        return None if self.lease is None or self.lease.released else self.lease.dataset

    def spec(self) -> str | None:
        if self.path is None:
            return None
        return self.path if self.episode is None else f"{self.path}:{self.episode}"


def is_generated(path: str | Path) -> bool:
    """True for what the pipeline generated rather than recorded (a folder of Cosmos outputs)."""
    from backend.errors import StudioError
    from backend.formats import detect_format

    try:
        fmt, _module = detect_format(path)
    except (StudioError, OSError):
        return False
    return "cosmos" in str(getattr(fmt, "value", fmt))


class CompareSession:
    """The state of one Compare pane (2-4 sides, choices, the view shown, the batch)."""

    def __init__(self, datasets: DatasetRegistry | None = None) -> None:
        self.registry = datasets or registry()
        self.sides: list[Side] = [Side(LETTERS[0]), Side(LETTERS[1])]
        self.feature = "action"
        self.align = "none"
        self.band_s = 1.0
        self.follow = True  # A's episode follows B's provenance record
        self.manual_pairs: dict[tuple[str, int], int] = {}  # (B path, B episode) -> A episode by hand
        self.known_paths: list[str] = []
        self.view: CompareView | None = None
        self.clock = PlaybackClock()  # frames of A's rate over the whole view
        self.time = 0.0  # the instant shown, in seconds on A's clock (between frames after a seek)
        self.batch_source: str | None = None
        self.batch_generated: str | None = None
        self.batch: BatchResult | None = None
        self.closed = False
        self._view_leases: list[Lease] = []
        self._pairs: dict[tuple[str, str], list[Pair] | None] = {}
        self._lock = threading.Lock()
        self._unclaimed: list[Lease] = []  # opened by a task, not yet given to a side

    # -- datasets ---------------------------------------------------------------------------------
    def remember(self, path: str | Path) -> bool:
        """Add ``path`` to the datasets offered; True when it is new."""
        path = str(Path(path))
        if path in self.known_paths:
            return False
        self.known_paths.append(path)
        return True

    def slot_for(self, path: str | Path) -> int | None:
        """The free side a dataset opened with Open… / Open folder… goes to, None when all are taken.

        A is the source: a generated dataset (Cosmos outputs) goes to the first free side after A
        when there is one, so it never takes the source's place."""
        free = [i for i, side in enumerate(self.sides) if side.path is None]
        if not free:
            return None
        if free[0] == 0 and len(free) > 1 and is_generated(path):
            return free[1]
        return free[0]

    def offer_recent(self, paths: list[str]) -> None:
        """Offer datasets opened before (the window's recent list) on every side, not only Browse's."""
        for path in paths:
            if Path(path).exists():
                self.remember(path)

    def open_lease(self, path: str | Path, progress: Progress | None = None) -> Lease:
        """Open ``path`` through the registry (a task's thread); the lease waits for ``claim``."""
        lease = self.registry.open(path)
        with self._lock:
            if self.closed:
                lease.release()
                raise Cancelled()
            self._unclaimed.append(lease)
        return lease

    def claim(self, lease: Lease) -> Lease:
        """Take a lease ``open_lease`` gave (on the GUI thread); the caller owns it now."""
        with self._lock:
            if lease in self._unclaimed:
                self._unclaimed.remove(lease)
        return lease

    def set_dataset(
        self,
        index: int,
        path: str | None,
        lease: Lease | None,
        episode: int | None = None,
        camera: str | None = None,
    ) -> None:
        """Side ``index`` shows ``path`` (opened as ``lease``); the side's previous lease is released.

        The episode and camera asked for (else the ones shown before) are kept where the dataset has
        them; otherwise its first episode and first camera."""
        side = self.sides[index]
        if episode is not None:
            side.episode = int(episode)
        if camera is not None:
            side.camera = camera
        old, side.lease = side.lease, lease
        side.path = None if path is None else str(Path(path))
        if lease is None:
            side.episode = side.camera = None
        else:
            self.remember(side.path)
            dataset = lease.dataset
            episodes = [e.index for e in dataset.episodes]
            if side.episode not in episodes:
                side.episode = episodes[0] if episodes else None
            if side.camera not in dataset.cameras:
                side.camera = sorted(dataset.cameras)[0] if dataset.cameras else None
        if old is not None and old is not lease:
            old.release()
        self._pairs.clear()

    def add_side(self) -> int | None:
        """A new side (C, D) showing what B shows; its index, or None when four are shown."""
        if len(self.sides) >= len(LETTERS):
            return None
        self.sides.append(Side(LETTERS[len(self.sides)]))
        return len(self.sides) - 1

    def remove_last_side(self) -> bool:
        if len(self.sides) <= 2:
            return False
        side = self.sides.pop()
        if side.lease is not None:
            side.lease.release()
        return True

    def ready(self) -> bool:
        """A and B have a dataset and an episode: there is something to compare."""
        return len(self.requests()) >= 2

    def requests(self) -> list[SideRequest]:
        out = []
        for n, side in enumerate(self.sides):
            if side.dataset is None or side.episode is None:
                break
            out.append(SideRequest(side.dataset, side.episode, side.camera, side.offset_s if n else None))
        return out

    def leases(self, count: int | None = None) -> list[Lease]:
        """Another reference to each side's dataset (for a task that reads them)."""
        sides = self.sides[: len(self.sides) if count is None else count]
        return [side.lease.share() for side in sides if side.lease is not None]

    # -- pairing ----------------------------------------------------------------------------------
    def pairs(self, index: int) -> list[Pair] | None:
        """Every episode of side ``index`` paired with A's dataset (cached until a dataset changes)."""
        a, other = self.sides[0], self.sides[index]
        if a.dataset is None or other.dataset is None:
            return None
        key = (str(other.path), str(a.path))
        if key not in self._pairs:
            try:
                self._pairs[key] = pair_episodes(other.dataset, a.dataset)
            except Exception:  # noqa: BLE001 - a broken record must not break the pane
                self._pairs[key] = None
        return self._pairs[key]

    def pairing(self, index: int) -> Pair | None:
        """Pairing of side ``index``'s episode with A's dataset (provenance, else same index)."""
        other = self.sides[index]
        pairs = self.pairs(index) if other.episode is not None else None
        if pairs is None:
            return None
        return next((p for p in pairs if p.generated == other.episode), None)

    def _has_episode(self, index: int, episode: int) -> bool:
        dataset = self.sides[index].dataset
        return dataset is not None and any(e.index == episode for e in dataset.episodes)

    def apply_pairing(self, index: int) -> None:
        """A follows B's partner (B only, when ``follow``); with align "none" the recorded offset."""
        a, other = self.sides[0], self.sides[index]
        pair = self.pairing(index)
        if pair is None:
            return
        manual = self.manual_pairs.get((str(other.path), int(other.episode or 0)))
        if index == 1 and self.follow:
            wanted = manual if manual is not None else pair.source
            if wanted is not None and a.episode != wanted and self._has_episode(0, wanted):
                a.episode = wanted
        if self.align == "none" and a.dataset is not None:
            other.offset_s = pair.offset_s(a.dataset.fps) if pair.source == a.episode else 0.0

    def after_change(self, index: int) -> None:
        """Side ``index`` changed: pair again what depends on it."""
        for other in [index] if index >= 1 else range(1, len(self.sides)):
            self.apply_pairing(other)

    def choose_a_episode(self, episode: int) -> None:
        """The user picked A's episode by hand: B's episode is paired with it from now on."""
        a = self.sides[0]
        a.episode = episode
        if len(self.sides) > 1:
            b = self.sides[1]
            if b.dataset is not None and b.episode is not None:
                self.manual_pairs[(str(b.path), b.episode)] = episode

    def pick_generated_for(self, index: int) -> None:
        """Side ``index``'s episode: the one made from A's episode (recorded pairings first)."""
        a, other = self.sides[0], self.sides[index]
        pairs = self.pairs(index)
        if pairs is None or a.episode is None:
            return
        match = next((p for p in pairs if p.source == a.episode and p.method != "index"), None)
        match = match or next((p for p in pairs if p.source == a.episode), None)
        if match is not None:
            other.episode = match.generated

    def resolve_named(self, specs: list[SourceSpec]) -> None:
        """Once every side of ``specs`` is open: fill the episodes left out and pair as the CLI does."""
        for i in range(1, len(specs)):
            if specs[i].episode is None and self.sides[0].episode is not None:
                self.pick_generated_for(i)
        if specs[0].episode is not None and len(specs) > 1 and self.sides[1].dataset is not None:
            # both named, as in the CLI: "A:N B:N" (the same-number guess) follows B's record when it
            # names another partner; different numbers are kept as asked (the label then warns)
            pair = self.pairing(1)
            b = self.sides[1]
            key = (str(b.path), int(b.episode or 0))
            if pair is not None and pair.method in RECORDED and specs[1].episode == specs[0].episode:
                self.manual_pairs.pop(key, None)
                if pair.source is not None and self._has_episode(0, pair.source):
                    self.sides[0].episode = pair.source
            elif pair is not None and pair.source != specs[0].episode:
                self.manual_pairs[key] = int(specs[0].episode)
        for i in range(1, len(specs)):
            self.apply_pairing(i)

    def pair_label(self, index: int) -> tuple[str, str]:
        """How side ``index`` is paired with A, as the CLI says it (text, tooltip); ("", "") if unpaired."""
        a, side = self.sides[0], self.sides[index]
        pair = self.pairing(index)
        if pair is None or a.episode is None:
            return "", ""
        shown, letter = int(a.episode), side.letter
        manual = self.manual_pairs.get((str(side.path), int(side.episode or 0)))
        if pair.source == shown and pair.method in RECORDED:
            text = pairing_sentence(pair, a.dataset, letter)
        elif pair.method in RECORDED and pair.source is not None:
            text = "warning: " + disagreement(shown, pair, a.dataset, letter)
        elif manual == shown:
            text = pairing_sentence(Pair(pair.generated, shown, "override"), a.dataset, letter)
            text = text.replace("paired as asked", "paired by hand", 1)
        elif pair.source == shown or pair.source is None:
            text = pairing_sentence(pair, a.dataset, letter)
        else:
            given = Pair(pair.generated, shown, "given", "no provenance record says where it came from")
            text = pairing_sentence(given, a.dataset, letter)
        return text, (f"{text}\n{pair.note}" if pair.note else text)

    # -- the comparison shown ---------------------------------------------------------------------
    def accept_view(self, view: CompareView) -> bool:
        """Show ``view`` if it still matches the sides (False: a side changed since it was asked for).

        The view's datasets stay open (leases) until another view replaces it or the session closes;
        estimated offsets are written back to the sides."""
        sides = self.sides[: len(view.sides)]
        if len(sides) < len(view.sides) or any(
            s.dataset is not v.dataset for s, v in zip(sides, view.sides, strict=False)
        ):
            return False
        leases = [side.lease.share() for side in sides if side.lease is not None]
        old, self._view_leases = self._view_leases, leases
        self.view = view
        for lease in old:
            lease.release()
        if view.align != "none":
            for side, shown in zip(sides[1:], view.sides[1:], strict=True):
                if shown.result is not None:
                    side.offset_s = float(shown.alignment.offset_s)
        self.clock.length, self.clock.fps = int(view.num_frames), float(view.fps)
        self.set_time(min(max(self.time, 0.0), self.end))
        return True

    # -- the playhead -----------------------------------------------------------------------------
    @property
    def end(self) -> float:
        """The last instant the view covers (seconds on A's clock)."""
        return self.clock.last_frame / self.clock.fps if self.clock.fps else 0.0

    @property
    def frame(self) -> int:
        return int(round(self.time * self.clock.fps))

    def set_time(self, t: float) -> None:
        """Show A time ``t`` (a plot click lands between frames; the clock keeps the nearest)."""
        self.time = float(t)
        self.clock.seek(int(round(self.time * self.clock.fps)))

    def seek_frame(self, frame: int) -> None:
        self.time = self.clock.seek(frame) / self.clock.fps

    def step(self, frames: int) -> None:
        """Pause and move by ``frames``."""
        self.clock.position = self.frame
        self.time = self.clock.step(frames) / self.clock.fps

    def toggle_play(self) -> bool:
        """Play (from the start when at the end) or pause; whether it plays now."""
        if self.clock.toggle():
            self.time = self.clock.position / self.clock.fps
        return self.clock.playing

    def advance(self, seconds: float) -> bool:
        """Wall time passed while playing; False once playing stopped at the end."""
        self.time = self.clock.advance(seconds) / self.clock.fps
        return self.clock.playing

    def clear_view(self) -> None:
        self.view = None
        self.clock.pause()
        old, self._view_leases = self._view_leases, []
        for lease in old:
            lease.release()

    def view_lease(self, side: int) -> Lease | None:
        """The lease that keeps side ``side`` of the view open (a frame stream shares it)."""
        return self._view_leases[side] if side < len(self._view_leases) else None

    def summary_text(self) -> str:
        view = self.view
        if view is None or len(view.sides) < 2 or view.sides[1].result is None:
            return ""
        result = view.sides[1].result
        s = result.summary()
        text = f"B vs A: RMSE {fixed(s['rmse'], '.2f')} {result.unit.label}"
        worst = worst_joint(s)
        return text + (f", worst {worst}" if worst else "")

    def report_extra(self) -> dict[str, Any] | None:
        if self.view is None:
            return None
        return {
            "sources": [
                {
                    "letter": s.letter,
                    "path": str(s.dataset.path),
                    "episode": s.episode,
                    "camera": s.camera,
                    "error": s.error,
                }
                for s in self.view.sides
            ],
            "playhead_s": self.time,
        }

    # -- batch ------------------------------------------------------------------------------------
    def compare_all(
        self,
        source: str,
        generated: str,
        feature: str,
        align: str,
        band_s: float,
        progress: Progress | None = None,
    ) -> BatchResult:
        """Every episode of ``generated`` against its source episode in ``source`` (a task's thread)."""
        with self.registry.open(source) as a, self.registry.open(generated) as b:
            return compare_batch(a.dataset, b.dataset, feature, align, band_s=band_s, progress=progress)

    # -- persisted pair ---------------------------------------------------------------------------
    def pair_state(self) -> dict[str, Any]:
        """The pair and the choices, as plain values (the pane keeps them in its settings)."""
        return {
            "sources": [s.spec() for s in self.sides if s.spec() is not None],
            "cameras": [s.camera for s in self.sides if s.spec() is not None],
            "feature": self.feature,
            "align": self.align,
            "band_s": self.band_s,
            "follow": self.follow,
            "batch": [self.batch_source, self.batch_generated],
        }

    def restore_choices(self, state: dict[str, Any]) -> list[str]:
        """Take the choices of ``pair_state``; return the sources to open again (those that exist)."""
        if state.get("feature") in FEATURES:
            self.feature = str(state["feature"])
        if isinstance(state.get("align"), str):
            self.align = state["align"]
        if isinstance(state.get("band_s"), (int, float)) and state["band_s"] > 0:
            self.band_s = float(state["band_s"])
        if isinstance(state.get("follow"), bool):
            self.follow = state["follow"]
        batch = state.get("batch")
        if isinstance(batch, list) and len(batch) == 2:
            self.batch_source, self.batch_generated = (str(p) if p else None for p in batch)
        sources = [str(s) for s in state.get("sources") or [] if isinstance(s, str)][: len(LETTERS)]
        try:
            exist = all(parse_source(s).path.exists() for s in sources)
        except Exception:  # noqa: BLE001 - a stale setting is dropped, not shown
            exist = False
        return sources if exist and len(sources) >= 2 else []

    # -- closing ----------------------------------------------------------------------------------
    def close(self) -> None:
        """Release every lease (sides, the view, leases a task opened that nobody took)."""
        with self._lock:
            self.closed = True
            unclaimed, self._unclaimed = self._unclaimed, []
        self.clear_view()
        for side in self.sides:
            if side.lease is not None:
                side.lease.release()
                side.lease = None
        for lease in unclaimed:
            lease.release()
        self._pairs.clear()


def worst_joint(summary: dict[str, Any], tolerance: float = 5e-4) -> str | None:
    """The joint with the largest RMSE, or None when every error rounds to zero (nothing is worst)."""
    rmse = summary.get("worst_rmse")
    if rmse is None or not rmse >= tolerance:
        return None
    return summary.get("worst_joint")
