"""Which episodes, frames and camera of a dataset a Cosmos/IDM step works on.

A selection is either the episodes of a dataset (all, or by index) or a *curated* selection: the
decisions the user made in Browse (``backend.curation``: excluded episodes are left out, trim points
cut each episode to its kept frames, a task edit replaces the episode's task).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from backend.curation import Curation
from backend.errors import StudioError
from backend.model import Dataset, Episode


@dataclass
class Selected:
    """One episode as a step sees it: frames ``start .. stop - 1`` and its task."""

    episode: Episode
    start: int
    stop: int
    task: str | None
    segment: int | None = None  # the subtask segment this is (``by_subtasks``); its text is ``task``

    @property
    def index(self) -> int:
        return self.episode.index

    @property
    def length(self) -> int:
        return self.stop - self.start

    @property
    def whole(self) -> bool:
        return self.start == 0 and self.stop == self.episode.length


def pick_camera(dataset: Dataset, camera: str | None) -> str:
    if not dataset.cameras:
        raise StudioError("dataset has no camera videos", dataset.path)
    if camera is None:
        return "front" if "front" in dataset.cameras else next(iter(dataset.cameras))
    name = camera.removeprefix("observation.images.").removeprefix("obs/")
    if name not in dataset.cameras:
        raise StudioError(f"no camera {camera!r}; cameras are {sorted(dataset.cameras)}", dataset.path)
    return name


def pick_episodes(dataset: Dataset, indices: Sequence[int] | None) -> list[Episode]:
    if indices is None:
        return list(dataset.episodes)
    known = {e.index: e for e in dataset.episodes}
    missing = [i for i in indices if i not in known]
    if missing:
        raise StudioError(f"no episodes {missing} (dataset has {dataset.num_episodes})", dataset.path)
    return [known[i] for i in dict.fromkeys(indices)]


def load_curation(dataset: Dataset, curation: bool | str | Path | None) -> Curation | None:
    """``True``: the dataset's own sidecar; a path: that curation file; falsy: none."""
    if not curation:
        return None
    sidecar = None if curation is True else Path(curation)
    if sidecar is not None and not sidecar.is_file():
        raise StudioError("curation file not found", sidecar)
    return Curation.load(dataset.path, dataset, sidecar=sidecar)


def select(
    dataset: Dataset,
    indices: Sequence[int] | None = None,
    curation: bool | str | Path | None = None,
) -> list[Selected]:
    """The episodes to use, in dataset order (or the order of ``indices``), curation applied."""
    episodes = pick_episodes(dataset, indices)
    decisions = load_curation(dataset, curation)
    selected = []
    for episode in episodes:
        if decisions is None:
            selected.append(Selected(episode, 0, episode.length, episode.task))
            continue
        decision = decisions.decision(episode.index)
        if decision.excluded:
            continue
        start, stop = decision.kept_range(episode.length)
        if stop > start:
            selected.append(Selected(episode, start, stop, decisions.task_for(episode) or None))
    if not selected:
        raise StudioError(
            "no episode is selected",
            dataset.path,
            "every episode is excluded by the curation" if decisions is not None else None,
        )
    return selected


def by_subtasks(dataset: Dataset, selection: list[Selected], curation: bool | str | Path | None) -> list[Selected]:
    """Each selected episode cut into its subtask segments (from the curation decisions: the given
    file, else the dataset's own sidecar), the segment's text as its task; an episode without
    segments stays whole, a segment without text takes the episode's task."""
    decisions = load_curation(dataset, curation or True) if curation or _has_sidecar(dataset) else None
    out: list[Selected] = []
    for item in selection:
        segments = decisions.decision(item.index).subtasks if decisions is not None else ()
        parts = [
            Selected(item.episode, max(s.start, item.start), min(s.end + 1, item.stop), s.text or item.task, n)
            for n, s in enumerate(segments)
            if min(s.end + 1, item.stop) > max(s.start, item.start)
        ]
        out.extend(parts or [item])
    return out


def _has_sidecar(dataset: Dataset) -> bool:
    from backend.curation import sidecar_path

    return sidecar_path(dataset.path).exists()


def parse_indices(text: str | None) -> list[int] | None:
    """'0,2,5-7' -> [0, 2, 5, 6, 7]."""
    if not text:
        return None
    out: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part[1:]:
                lo, hi = part.split("-", 1)
                if int(hi) < int(lo):
                    raise ValueError(part)
                out.extend(range(int(lo), int(hi) + 1))
            elif part:
                out.append(int(part))
    except ValueError as error:
        raise StudioError(f"episode list {text!r} is not like 0,2,5-9") from error
    return out
