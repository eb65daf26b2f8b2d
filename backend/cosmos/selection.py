"""Which episodes and camera of a dataset a Cosmos/IDM step works on."""

from __future__ import annotations

from collections.abc import Sequence

from backend.errors import StudioError
from backend.model import Dataset, Episode


def pick_camera(dataset: Dataset, camera: str | None) -> str:
    if not dataset.cameras:
        raise StudioError("dataset has no camera videos", dataset.path)
    if camera is None:
        return "front" if "front" in dataset.cameras else next(iter(dataset.cameras))
    name = camera.removeprefix("observation.images.")
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
    return [known[i] for i in indices]


def parse_indices(text: str | None) -> list[int] | None:
    """'0,2,5-7' -> [0, 2, 5, 6, 7]."""
    if not text:
        return None
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if "-" in part:
            lo, hi = part.split("-", 1)
            out.extend(range(int(lo), int(hi) + 1))
        elif part:
            out.append(int(part))
    return out
