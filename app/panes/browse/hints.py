"""Browse's quality hints: computed in the background for the dataset shown, added to the table in batches.

A dataset on disk is checked in a child process (``backend.quality_worker.hints_in_child``): the task
on the stream lane only waits on its pipe, so no thread of the GUI's process holds the GIL against
scrolling, and no export waits behind it on the background lane. A dataset that is not on disk (built
in memory) is checked here, on the interactive lane. A dataset closed or replaced cancels the task
(the child is killed) and its late answers are dropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.tasks import INTERACTIVE, STREAM
from backend.quality import compute_hints
from backend.quality_worker import hints_in_child


class BrowseHints(QObject):
    """The "hints" task of a Browse pane (``pane.session``, ``pane.tasks``, ``pane.model``, ``pane.filters``)."""

    _ready = Signal(int, object)  # generation, [(episode, hints), ...] (from the task's thread)

    def __init__(self, pane: Any) -> None:
        super().__init__(pane)
        self.pane = pane
        self.generation = 0
        self._arrived: list[int] = []  # episodes whose hints arrived since the table was last ordered
        self._timer = QTimer(self, singleShot=True, interval=250, timeout=self._batch)
        self._ready.connect(self._on_hints)

    def start(self) -> None:
        """Compute the hints of the dataset shown."""
        dataset = self.pane.session.dataset
        if dataset is None:
            return
        generation, emit = self.generation, self._ready.emit
        if Path(dataset.path).exists():  # one signal for each read of the pipe, not one per episode
            self.pane.tasks.run(
                hints_in_child, dataset.path, key="hints", lane=STREAM, holds=[self.pane.session.share()],
                on_batch=lambda batch: emit(generation, batch),
            )
        else:
            self.pane.tasks.run(
                compute_hints, dataset, key="hints", lane=INTERACTIVE, holds=[self.pane.session.share()],
                on_result=lambda index, hints: emit(generation, [(index, hints)]),
            )

    def stop(self) -> None:
        """The dataset shown goes: its hints task is cancelled and what it still sends is dropped."""
        self.pane.tasks.cancel("hints")
        self.generation += 1
        self._timer.stop()
        self._arrived = []

    def _on_hints(self, generation: int, batch: list[tuple[int, list[Any]]]) -> None:
        if generation != self.generation:
            return  # a dataset no longer shown
        for index, hints in batch:
            self.pane.session.add_hints(index, hints)
            self._arrived.append(index)
        if not self._timer.isActive():
            self._timer.start()

    def _batch(self) -> None:
        """Hints come one episode at a time: repaint and re-order (a hints filter or sort) in batches."""
        episodes, self._arrived = self._arrived, []
        self.pane.model.update_episodes(episodes)
        table = self.pane.session.table
        if table.filters.hints != "any" or table.sort_key == "hints":
            self.pane.model.refilter()
            self.pane.filters.update_count()
