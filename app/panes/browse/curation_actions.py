"""Browse's curation actions: what the keys, the Curation dock and the menus do to the decisions.

A mixin of ``BrowsePane``: each action hands the table's selection to the ``BrowseSession`` and calls
it; the session's listener (``_on_curation_changed``) then updates the rows, the trim marks, the
Curation dock and the window's Undo/Redo. A save that fails is told to the user, never raised.
"""

from __future__ import annotations

from typing import Any

from app.error_dialog import show_exception


class CurationActions:
    """Needs ``session``, ``table``, ``model``, ``filters``, ``bar``, ``transport``, ``plots``,
    ``clock``, ``position``, ``episode``, ``dataset`` and the ``undoStateChanged`` signal."""

    session: Any
    table: Any
    model: Any
    filters: Any
    bar: Any
    transport: Any
    plots: Any
    clock: Any
    undoStateChanged: Any

    def _curate(self, fn, *args: Any) -> None:
        self.session.selection = self.table.selected_episodes()
        try:
            fn(*args)
        except Exception as error:  # noqa: BLE001 - shown to the user
            show_exception(self, "Could not save the curation", error)

    def rate(self, rating: str) -> None:
        self._curate(self.session.rate, rating)

    def toggle_flag(self) -> None:
        self._curate(self.session.toggle_flag)

    def toggle_excluded(self) -> None:
        self._curate(self.session.toggle_excluded)

    def trim_in_here(self) -> None:
        self._curate(self.session.trim_in, self.position)

    def trim_out_here(self) -> None:
        self._curate(self.session.trim_out, self.position)

    def clear_trim(self) -> None:
        self._curate(self.session.clear_trim)

    def set_note(self, text: str) -> None:
        self._curate(self.session.set_note, text)

    def set_task(self, text: str) -> None:
        self._curate(self.session.set_task, text)

    def undo(self) -> None:
        self._curate(self.session.undo)

    def redo(self) -> None:
        self._curate(self.session.redo)

    def _on_curation_changed(self, episodes: list[int]) -> None:
        if self.dataset is None:
            return
        self.model.update_episodes(episodes)  # the session's table has their new values
        self.model.refilter()  # a filter or the sort may read them
        self.filters.update_count()
        self.clock.set_marks(*self.session.marks())
        self._refresh_curation()
        self._update_trim_markers()
        self.undoStateChanged.emit()

    def _update_trim_markers(self) -> None:
        trim_in, trim_out = self.session.marks()
        self.transport.set_trim(trim_in, trim_out)
        if self.episode is not None:
            self.plots.set_trim(trim_in, trim_out)

    def _refresh_curation(self) -> None:
        self.bar.refresh(self.session, (self.transport.in_button, self.transport.out_button))
