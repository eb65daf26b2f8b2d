"""What a compare side is: ``PATH[:EPISODE]``, opened through the format registry.

A path may itself contain colons (``C:\\data``, ``run:3/out.hdf5``): the text after the LAST colon
is an episode number only when it is all digits and the path before it exists (or the whole
string does not exist as a path).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from backend.errors import StudioError
from backend.formats import open_dataset
from backend.model import Dataset, Episode


@dataclass(frozen=True)
class SourceSpec:
    path: Path
    episode: int | None = None

    def __str__(self) -> str:
        return f"{self.path}" if self.episode is None else f"{self.path}:{self.episode}"


def parse_source(text: str | Path) -> SourceSpec:
    """``"data/run.hdf5:3"`` -> (data/run.hdf5, 3); ``"data/run.hdf5"`` -> (data/run.hdf5, None)."""
    if isinstance(text, Path):
        return SourceSpec(text, None)
    text = str(text)
    head, sep, tail = text.rpartition(":")
    if sep and tail.strip().isdigit() and head:
        whole_exists = Path(text).exists()
        if Path(head).exists() or not whole_exists:
            return SourceSpec(Path(head), int(tail))
    if sep and tail.strip().lstrip("-").isdigit() and head and not Path(text).exists():
        raise StudioError(f"episode {tail} is not a valid episode number", head)
    if sep and head and Path(head).exists() and not Path(text).exists():
        raise StudioError(f"{tail!r} is not an episode number", head, f"write {head}:EPISODE, e.g. {head}:0")
    return SourceSpec(Path(text), None)


class DatasetCache:
    """Opened datasets by resolved path (the CLI and batch open each file once). Thread-safe."""

    def __init__(self) -> None:
        self._open: dict[str, Dataset] = {}
        self._lock = threading.Lock()

    def get(self, path: str | Path) -> Dataset:
        key = str(Path(path).resolve())
        with self._lock:
            if key not in self._open:
                self._open[key] = open_dataset(path)
            return self._open[key]

    def add(self, dataset: Dataset) -> None:
        with self._lock:
            self._open[str(Path(dataset.path).resolve())] = dataset

    def close(self) -> None:
        with self._lock:
            for dataset in self._open.values():
                dataset.close()
            self._open.clear()

    def __enter__(self) -> DatasetCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def episode_of(dataset: Dataset, index: int | None) -> Episode:
    """Episode ``index`` (by its index, not list position); the only episode when ``index`` is None."""
    if index is None:
        if dataset.num_episodes == 1:
            return dataset.episodes[0]
        raise StudioError(
            f"has {dataset.num_episodes} episodes: say which one",
            dataset.path,
            f"write {dataset.path}:EPISODE",
        )
    return dataset.episode(index)
