"""What Browse knows: the open dataset (a registry lease), the episode shown, the selection, the
curation decisions with undo/redo, and the quality hints found so far.

    session = BrowseSession()
    opening = session.begin_open("pick.hdf5")     # GUI thread; what is shown stays shown
    opening.run()                                 # a task: opens through the registry, reads curation
    session.adopt(opening)                        # GUI thread: now it is the dataset shown
    session.open_failed(opening)                  # or, when run() failed: nothing changed
    session.show_episode(3)
    session.rate("good")                          # the selection, or the episode shown
    session.close()                               # lets go of the lease; running tasks keep theirs

The episode table (``session.table``, ``backend.sessions.browse_table.EpisodeTable``) holds every
episode as column arrays, built by the opening's task; curation edits update its columns. Saves of
the decisions go to ``save_later`` when the pane gives one (a task off the GUI thread); closing the
dataset writes what is still pending.

Work that reads the dataset off the GUI thread holds its own lease (``share()``); camera streams
opened through ``stream_opener`` hold one until they are closed, so the dataset closes only when
its last reader is done. An opening replaced before it finished releases what it opened. A failed
opening changes nothing: the dataset shown stays open, and the error names the file the user picked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from backend.curation import Curation, EpisodeDecision, format_summary
from backend.errors import Cancelled, StudioError
from backend.model import Dataset, Episode, FeatureKind
from backend.progress import Progress, ensure_progress
from backend.registry import DatasetRegistry, Lease, registry
from backend.sessions.browse_table import EpisodeTable


def resolve_dataset_path(path: str | Path) -> Path:
    """A picked file inside a dataset means the dataset: meta/info.json -> its folder, etc."""
    path = Path(path)
    if path.name == "info.json" and path.parent.name == "meta":
        return path.parent.parent
    if (
        path.is_file()
        and path.suffix.lower() in (".mp4", ".json", ".txt")
        and path.parent.name in ("videos", "metas")
    ):
        return path.parent.parent
    if path.is_file() and path.suffix.lower() in (".mp4", ".json"):
        return path.parent
    return path


class Opening:
    """One request to open a dataset: ``run`` in a task, ``take`` on the GUI thread, or ``abandon``."""

    def __init__(self, path: Path, datasets: DatasetRegistry, requested: Path | None = None) -> None:
        self.path = path
        self.requested = requested or path  # what the user picked (a file inside a dataset, say)
        self._registry = datasets
        self._lock = threading.Lock()
        self._lease: Lease | None = None
        self._curation: Curation | None = None
        self.table: EpisodeTable | None = None  # built by run() (off the GUI thread)
        self.abandoned = False

    def run(self, progress: Progress | None = None) -> Opening:
        progress = ensure_progress(progress)
        progress.report(0, 2, "reading metadata")
        lease: Lease | None = None
        cause: Exception | None = None
        try:
            lease = self._registry.open(self.path)
        except Cancelled:
            raise
        except Exception as error:  # noqa: BLE001 - told to the user in words, naming their file
            cause = error
        if lease is None:  # raised here, not in the except block: the details hold no repeated chain
            assert cause is not None
            raise self._failure(cause) from (None if isinstance(cause, StudioError) else cause)
        try:
            progress.report(1, 2, "reading curation")
            curation = Curation.load(lease.dataset.path, lease.dataset)
            curation.text()  # encoded here, off the GUI thread: the first save re-encodes only what changed
            table = EpisodeTable()
            table.load(lease.dataset.episodes, lease.dataset.fps, curation)
        except BaseException:
            lease.release()
            raise
        with self._lock:
            if not self.abandoned:
                self._lease, self._curation, self.table = lease, curation, table
                return self
        lease.release()
        raise Cancelled()

    def _failure(self, error: Exception) -> StudioError:
        """The error as one sentence about the file the user picked (never a traceback)."""
        if isinstance(error, StudioError):
            problem, hint = error.problem, error.hint
        else:
            problem, hint = f"cannot be read as a dataset ({_words(error)})", None
        if self.requested != self.path and hint is None:
            hint = f"it was read as part of {self.path}"
        return StudioError(problem, self.requested, hint)

    def take(self) -> tuple[Lease, Curation] | None:
        """The opened lease and curation, once (None when abandoned or not opened)."""
        with self._lock:
            if self.abandoned or self._lease is None or self._curation is None:
                return None
            found = (self._lease, self._curation)
            self._lease = self._curation = None
            self.abandoned = True
            return found

    def abandon(self) -> None:
        """Not wanted any more: a lease already opened is released, one opened later too."""
        with self._lock:
            self.abandoned = True
            lease, self._lease, self._curation = self._lease, None, None
        if lease is not None:
            lease.release()


def _words(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class LeasedStream:
    """A camera stream that keeps the dataset open until it is closed."""

    def __init__(self, stream: Any, lease: Lease) -> None:
        self._stream = stream
        self._lease = lease

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def frame(self, index: int) -> Any:
        return self._stream.frame(index)

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            self._lease.release()


class BrowseSession:
    """The Qt-free state of the Browse pane; the pane lays out widgets and forwards to it."""

    def __init__(self, datasets: DatasetRegistry | None = None) -> None:
        self.registry = datasets or registry()
        self.lease: Lease | None = None
        self.curation: Curation | None = None
        self.episode: Episode | None = None
        self.selection: list[int] = []  # episodes selected in the table (the shown one when empty)
        self.hints: dict[int, list[Any]] = {}
        self.opening: Opening | None = None
        self.table = EpisodeTable()
        # runs a curation flush off the GUI thread (the pane gives one); None: saves write at once
        self.save_later: Callable[[Callable[..., Any]], None] | None = None
        self.save_error: StudioError | None = None  # a pending save that failed when closing
        self._listeners: list[Callable[[list[int]], None]] = []

    # -- the dataset ----------------------------------------------------------------------------
    @property
    def dataset(self) -> Dataset | None:
        return self.lease.dataset if self.lease is not None else None

    def begin_open(self, path: str | Path) -> Opening:
        """Start a new opening (run it in a task, then ``adopt`` it); what is shown stays until then.

        An opening still under way is abandoned (the latest request wins)."""
        if self.opening is not None:
            self.opening.abandon()
        self.opening = Opening(resolve_dataset_path(path), self.registry, Path(path))
        return self.opening

    def adopt(self, opening: Opening) -> bool:
        """Show what ``opening`` opened instead of what was shown; False when it was replaced or
        abandoned meanwhile (then nothing changes)."""
        if opening is not self.opening:
            opening.abandon()
            return False
        self.opening = None
        table = opening.table
        taken = opening.take()
        if taken is None:
            return False
        self.close()
        self._show(*taken, table=table)
        return True

    def open_failed(self, opening: Opening) -> bool:
        """``opening`` failed: forget it; the dataset shown (if any) stays. False when it was replaced."""
        opening.abandon()
        if opening is not self.opening:
            return False
        self.opening = None
        return True

    def show_dataset(self, dataset: Dataset) -> None:
        """Show a dataset opened elsewhere (registered with the registry, which closes it at the end)."""
        self.close()
        lease = self.registry.adopt(dataset)
        try:
            curation = Curation.load(dataset.path, dataset)
        except BaseException:
            lease.release()
            raise
        self._show(lease, curation)

    def _show(self, lease: Lease, curation: Curation, table: EpisodeTable | None = None) -> None:
        self.lease, self.curation = lease, curation
        self.hints = {}
        if table is None:
            table = EpisodeTable()
            table.load(lease.dataset.episodes, lease.dataset.fps, curation)
        self.table = table
        if self.save_later is not None:
            curation.defer_saves(self.save_later)
        curation.add_listener(self._changed)

    def close(self) -> None:
        """Let go of the dataset (an opening under way is abandoned); readers keep their leases."""
        if self.opening is not None:
            self.opening.abandon()
            self.opening = None
        if self.curation is not None:
            self.curation.remove_listener(self._changed)
            try:
                self.curation.defer_saves(None)  # writes what is still pending
            except StudioError as error:
                self.save_error = error
        self.table = EpisodeTable()
        lease, self.lease = self.lease, None
        self.curation = self.episode = None
        self.selection = []
        self.hints = {}
        if lease is not None:
            lease.release()

    def share(self) -> Lease:
        """A lease for a task that reads the dataset (released when the task ends)."""
        if self.lease is None:
            raise RuntimeError("no dataset is open")
        return self.lease.share()

    def stream_opener(self, episode: Episode, camera: str) -> Callable[[], LeasedStream]:
        """Opens ``camera`` of ``episode`` (in a loader thread) holding the dataset until closed."""
        lease = self.lease
        if lease is None:
            raise RuntimeError("no dataset is open")

        def open_stream() -> LeasedStream:
            held = lease.share()  # raises once the dataset was let go: nothing is opened then
            try:
                return LeasedStream(episode.stream(camera), held)
            except BaseException:
                held.release()
                raise

        return open_stream

    def first_episode(self, wanted: int | None) -> int | None:
        """``wanted`` when the dataset has it, else its first episode (None: no episodes)."""
        dataset = self.dataset
        if dataset is None or not dataset.episodes:
            return None
        if wanted is not None and wanted in self.table.position:
            return wanted
        return dataset.episodes[0].index

    def show_episode(self, index: int) -> Episode:
        if self.dataset is None:
            raise RuntimeError("no dataset is open")
        pos = self.table.position.get(int(index))
        self.episode = self.dataset.episodes[pos] if pos is not None else self.dataset.episode(index)
        return self.episode

    def cameras(self) -> list[str]:
        """Cameras with frames to show."""
        dataset = self.dataset
        if dataset is None:
            return []
        return [c for c in dataset.cameras if dataset.features[dataset.cameras[c]].has_files]

    def has_images(self) -> bool:
        dataset = self.dataset
        return dataset is not None and any(
            dataset.features[k].kind is FeatureKind.IMAGE for k in dataset.cameras.values()
        )

    def tasks(self, shown: Iterable[str] = ()) -> list[str]:
        """The dataset's tasks, then tasks of rows not among them (relabelled)."""
        found = list(self.dataset.tasks) if self.dataset is not None else []
        for task in shown:
            if task and task not in found:
                found.append(task)
        return found

    # -- rows of the table ----------------------------------------------------------------------
    def row_values(self, episode: Episode) -> dict[str, Any]:
        """What the episode table shows for ``episode`` (the fields of ``EpisodeRow``)."""
        decision = self.curation.decision(episode.index) if self.curation else None
        hints = self.hints.get(episode.index)
        values: dict[str, Any] = {
            "index": episode.index,
            "task": (decision.task if decision and decision.task else episode.task) or "",
            "length": episode.length,
            "duration": episode.duration,
            "success": episode.success,
            "source": episode.source,
            "hints": [(h.code, h.label, h.text) for h in hints] if hints else [],
            "hints_ready": hints is not None,
        }
        if decision is not None:
            values.update(
                flagged=decision.flagged,
                rating=decision.rating,
                note=decision.note,
                excluded=decision.excluded,
                trimmed=decision.trimmed,
                task_edited=decision.task is not None,
            )
        return values

    def rows(self) -> list[dict[str, Any]]:
        return [self.row_values(e) for e in self.dataset.episodes] if self.dataset is not None else []

    def add_hints(self, index: int, hints: list[Any]) -> None:
        self.hints[index] = hints
        self.table.set_hints(index, [(h.code, h.label, h.text) for h in hints])

    # -- curation -------------------------------------------------------------------------------
    def add_listener(self, listener: Callable[[list[int]], None]) -> None:
        """Called with the episodes whose decisions changed (after every edit, undo and redo)."""
        self._listeners.append(listener)

    def _changed(self, episodes: list[int]) -> None:
        if self.curation is not None:
            self.table.set_decisions(self.curation, episodes, self.curation.changed_fields or None)
        for listener in list(self._listeners):
            listener(episodes)

    @property
    def can_curate(self) -> bool:
        return self.curation is not None and self.episode is not None

    def decision(self) -> EpisodeDecision | None:
        """The shown episode's decision."""
        return self.curation.decision(self.episode.index) if self.can_curate else None

    def targets(self) -> list[int]:
        """Episodes an action applies to: the selected rows when they include the shown episode."""
        if self.episode is None:
            return list(self.selection)
        if self.episode.index not in self.selection:
            return [self.episode.index]
        return list(self.selection)

    def rate(self, rating: str) -> None:
        """Rate the targets ``rating``; rating the shown episode as it is rated clears it."""
        if self.can_curate:
            value = None if self.decision().rating == rating else rating
            self.curation.set_many(self.targets(), None, rating=value)

    def toggle_flag(self) -> None:
        if self.can_curate:
            self.curation.set_many(self.targets(), None, flagged=not self.decision().flagged)

    def toggle_excluded(self) -> None:
        if self.can_curate:
            self.curation.set_many(self.targets(), None, excluded=not self.decision().excluded)

    def trim_in(self, frame: int) -> None:
        if self.can_curate:
            self.curation.set_trim_in(self.episode.index, frame, self.episode.length)

    def trim_out(self, frame: int) -> None:
        if self.can_curate:
            self.curation.set_trim_out(self.episode.index, frame, self.episode.length)

    def clear_trim(self) -> None:
        if self.can_curate:
            index = self.episode.index
            self.curation.set(index, f"Clear trim of episode {index}", trim_in=None, trim_out=None)

    def set_note(self, text: str) -> None:
        if self.can_curate and text != self.decision().note:
            self.curation.set(self.episode.index, None, note=text)

    def set_task(self, text: str) -> None:
        """Relabel the shown episode's task; empty or the recorded task keeps the recorded one."""
        if not self.can_curate or text.strip() == self.task_text():
            return
        original = self.episode.task or ""
        value = None if not text.strip() or text.strip() == original else text
        self.curation.set(self.episode.index, None, task=value)

    def task_text(self) -> str:
        return self.curation.task_for(self.episode) if self.can_curate else ""

    def undo(self) -> None:
        if self.curation is not None:
            self.curation.undo()

    def redo(self) -> None:
        if self.curation is not None:
            self.curation.redo()

    def marks(self) -> tuple[int | None, int | None]:
        """The shown episode's trim (in, out) for the playhead."""
        decision = self.decision()
        return (decision.trim_in, decision.trim_out) if decision is not None else (None, None)

    def summary_text(self) -> str:
        if self.dataset is None or self.curation is None:
            return ""
        return format_summary(self.table.summary(self.curation))
