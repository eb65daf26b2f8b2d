"""Browse's subtask track under the timeline: the widget (``widgets.subtask_track``) forwards to the
``SubtaskSession`` (``backend/sessions/subtasks.py``); the segments live in the curation decisions,
so the curation bar's undo/redo (and Ctrl+Z on the track) undo them too. Right-click for suggestions
from motion, snapping and copying to the episodes of the same task (all of them, or the selected ones:
the table's, or the review grid's while the grid is shown, where its right-click offers the copy too)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction

from app.panes.browse.review import selected_episodes
from app.tasks import INTERACTIVE
from backend.errors import StudioError
from backend.sessions.subtasks import SubtaskSession
from backend.subtask_import import dataset_subtasks
from widgets.subtask_track import SubtaskTrack


class BrowseSubtasks(QObject):
    def __init__(self, pane: Any) -> None:
        super().__init__(pane)
        self.pane = pane
        self.session = SubtaskSession(pane.session)
        self.track = SubtaskTrack()
        self.track.setObjectName("subtaskTrack")
        pane.transport.layout().insertWidget(1, self.track)  # right under the timeline
        track, session = self.track, self.session
        track.createRequested.connect(self._create)
        track.resizeRequested.connect(lambda i, a, b: self._guard(session.resize, i, a, b))
        track.selectRequested.connect(lambda i: session.select(i if i >= 0 else None))
        track.textEdited.connect(lambda i, text: self._guard(session.set_text, text, i))
        track.splitRequested.connect(lambda frame: self._guard(session.split_at, frame))
        track.joinRequested.connect(lambda i: self._guard(session.join_next, i))
        track.deleteRequested.connect(lambda i: self._guard(session.delete, i))
        track.seekRequested.connect(pane.set_position)
        track.undoRequested.connect(pane.undo)
        track.redoRequested.connect(pane.redo)
        track.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        for text, slot in (
            ("Suggest subtasks from motion", self.suggest),
            ("Suggest the dataset's own subtasks (LeRobot)", self.offer_dataset_subtasks),
            ("Accept suggestions", lambda: self._guard(session.accept_suggestions)),
            ("Snap edges to suggestions", lambda: self._guard(session.snap)),
            ("Copy subtasks to episodes of the same task", self.copy_to_same_task),
            ("Copy subtasks to the selected episodes of the same task", self.copy_to_selection),
            ("Split at playhead (S)", lambda: self._guard(session.split_at, pane.position)),
            ("Join with next (J)", lambda: self._guard(session.join_next)),
            ("Delete subtask (Del)", lambda: self._guard(session.delete)),
        ):
            action = QAction(text, track)
            action.triggered.connect(slot)
            track.addAction(action)
        self.grid_copy: QAction | None = None
        session.add_listener(self.refresh)
        self.refresh()

    def attach_grid(self, grid: Any) -> None:
        """The review grid's right-click copies the player's subtasks to the grid's selection."""
        grid.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.grid_copy = QAction("Copy the player's subtasks to this episode", grid)
        self.grid_copy.triggered.connect(self.copy_to_selection)
        grid.addAction(self.grid_copy)

    def refresh(self) -> None:
        session = self.session
        self.track.set_range(session.length)
        self.track.set_segments(session.segments(), session.selected)
        self.track.set_suggestions(session.suggestions)

    def episode_shown(self) -> None:
        self.session.episode_shown()

    def set_position(self, frame: int) -> None:
        self.track.set_position(frame)

    def _create(self, first: int, last: int) -> None:
        index = self._guard(self.session.create, first, last)
        if index is not None:
            self.track.edit_text(index)  # type its text right away

    def _guard(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except StudioError as error:
            self.pane.toast.show_message(error.problem)
            return None

    def suggest(self) -> None:
        data = self.pane.joint_data.get("state") or self.pane.joint_data.get("action")
        if data is None:
            self.pane.toast.show_message("The joint values of this episode are not loaded yet.")
            return
        found = self.session.suggest(data.values, list(data.space.names))
        self.pane.toast.show_message(
            f"{len(found)} suggested subtasks (dashed): right-click > Accept suggestions, or snap your own edges."
        )

    def offer_dataset_subtasks(self) -> None:
        """Read the subtasks the dataset carries (a task: it reads the data files) and offer them."""
        if self.pane.dataset is None:
            return
        self.pane.tasks.run(
            dataset_subtasks, self.pane.dataset, key="subtasks-import", lane=INTERACTIVE,
            holds=[self.pane.session.share()], on_done=self._offered,
            on_error=lambda message, details: self.pane.toast.show_message(message),
        )

    def _offered(self, found: dict) -> None:
        shown = self.session.offer(found)
        self.pane.toast.show_message(
            f"The dataset has subtasks in {len(found)} episodes ({len(shown)} here, dashed): "
            "right-click > Accept suggestions." if found else "This dataset carries no subtasks."
        )

    def copy_to_same_task(self) -> None:
        changed = self._guard(self.session.copy_to_same_task)
        if changed is not None:
            self.pane.toast.show_message(
                f"Subtasks copied to {len(changed)} episodes of the same task" if changed
                else "No other episode has this task."
            )

    def copy_to_selection(self) -> None:
        """The shown episode's segments to the selected episodes of its task (``selected_episodes``)."""
        targets = [e for e in selected_episodes(self.pane) if e != getattr(self.pane.session.episode, "index", None)]
        if not targets:
            self.pane.toast.show_message("Select other episodes of the same task first.")
            return
        changed = self._guard(self.session.copy_to_same_task, targets)
        if changed is not None:
            self.pane.toast.show_message(
                f"Subtasks copied to {len(changed)} of {len(targets)} selected episodes" if changed
                else "No selected episode has this episode's task."
            )


def attach_subtasks(pane: Any) -> BrowseSubtasks:
    return BrowseSubtasks(pane)
