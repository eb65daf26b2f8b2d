"""Curation decisions for a dataset, kept in a sidecar file: the source is never edited.

Per episode: rating (good/bad), flag, note, trim in/out points, a task override, excluded, and
subtask segments (``backend.subtasks``: start and end frames, inclusive, and a text). Every
change is a command on an undo/redo stack; the stack is saved with the decisions, so undo works
after a restart too. Saves are atomic (write beside, rename).

Where the sidecar lives (``sidecar_path``):
  * next to the dataset, named ``<dataset name>.curation.json``: ``pick.hdf5`` ->
    ``pick.hdf5.curation.json``; a folder ``so101_pick/`` -> ``so101_pick.curation.json`` beside
    the folder (never inside a folder or file the dataset owns, so format tools do not trip on it);
  * when that folder is not writable (a read-only share), in
    ``$XDG_DATA_HOME/rollout-studio/curation/<name>-<hash of the absolute path>.curation.json``.

Trim points are frame indices within the episode: ``trim_in`` is the first kept frame, ``trim_out``
the last kept frame (inclusive). ``None`` means the episode's start / end.

``export_curated`` writes a new dataset with exclusions, trims and task edits applied, streaming
frame by frame through ``backend.formats.open_writer``; ``export_decisions_json`` writes the
decisions alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from backend import __version__
from backend.atomic import atomic_file, check_output, write_text_atomic
from backend.errors import StudioError
from backend.progress import Progress, ensure_progress
from backend.subtasks import Segment, check_segments, segments_json
from backend.task_text import check_task_text

SCHEMA = "rollout-studio/curation/1"
SIDECAR_SUFFIX = ".curation.json"
MAX_HISTORY = 500  # commands kept for undo (and redo)
MAX_HISTORY_CHANGES = 50_000  # and at most this many changes in them: rating 10,000 episodes at once
# is one command of 10,000 changes (~0.6 MB of sidecar); the latest command is always kept
RATINGS = ("good", "bad")


# -- decisions ------------------------------------------------------------------------------------
@dataclass
class EpisodeDecision:
    rating: str | None = None  # "good" | "bad" | None
    flagged: bool = False
    note: str = ""
    trim_in: int | None = None  # first kept frame
    trim_out: int | None = None  # last kept frame, inclusive
    task: str | None = None  # replaces the episode's task on export
    excluded: bool = False
    subtasks: tuple[Segment, ...] = ()  # sorted, not overlapping; frames of the source episode

    FIELDS = ("rating", "flagged", "note", "trim_in", "trim_out", "task", "excluded", "subtasks")

    def is_default(self) -> bool:
        return self.values() == _DEFAULT_VALUES

    def kept_range(self, length: int) -> tuple[int, int]:
        """(start, stop) of the frames kept on export, stop exclusive, clipped to the episode."""
        start = 0 if self.trim_in is None else max(0, min(int(self.trim_in), length))
        stop = length if self.trim_out is None else max(0, min(int(self.trim_out) + 1, length))
        return start, max(start, stop)

    @property
    def trimmed(self) -> bool:
        return self.trim_in is not None or self.trim_out is not None

    def values(self) -> tuple[Any, ...]:
        """The fields in ``FIELDS`` order (cheaper than ``asdict``)."""
        return (
            self.rating, self.flagged, self.note, self.trim_in, self.trim_out, self.task, self.excluded,
            self.subtasks,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            k: _json_value(k, v) for k, v, d in zip(self.FIELDS, self.values(), _DEFAULT_VALUES, strict=True) if v != d
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EpisodeDecision:
        decision = cls()
        for name in cls.FIELDS:
            if name in data:
                setattr(decision, name, _check_value(name, data[name]))
        return decision


_DEFAULT = EpisodeDecision()  # never changed: read only
_DEFAULT_VALUES = _DEFAULT.values()
_FIELD_DEFAULTS = dict(zip(EpisodeDecision.FIELDS, _DEFAULT_VALUES, strict=True))


def _check_value(name: str, value: Any) -> Any:
    """Validate one field value (from the GUI, the CLI or a sidecar someone edited by hand)."""
    if name == "rating":
        if value in (None, ""):
            return None
        if value not in RATINGS:
            raise StudioError(f"rating must be one of {', '.join(RATINGS)} or empty, not {value!r}")
        return str(value)
    if name in ("flagged", "excluded"):
        return bool(value)
    if name == "note":
        return "" if value is None else str(value)
    if name in ("trim_in", "trim_out"):
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise StudioError(f"{name} must be a frame index >= 0, not {value!r}")
        return int(value)
    if name == "task":
        if value is None:
            return None
        text = str(value).strip()
        check_task_text(text)  # one line of plain text: it goes into tasks.jsonl, parquet and prompts
        return text or None
    if name == "subtasks":
        return check_segments(value)
    raise StudioError(f"unknown curation field {name!r}")


def _json_value(name: str, value: Any) -> Any:
    """A field's value as JSON (subtask segments as {start, end, text} objects)."""
    return segments_json(value) if name == "subtasks" else value


# -- where the sidecar lives ----------------------------------------------------------------------
def _fallback_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "rollout-studio" / "curation"


def preferred_sidecar(dataset_path: str | Path, suffix: str = SIDECAR_SUFFIX) -> Path:
    path = Path(dataset_path).absolute()
    return path.parent / f"{path.name}{suffix}"


def fallback_sidecar(dataset_path: str | Path, suffix: str = SIDECAR_SUFFIX) -> Path:
    path = Path(dataset_path).absolute()
    digest = hashlib.sha1(str(path).encode("utf-8")).hexdigest()[:10]
    return _fallback_dir() / f"{path.name}-{digest}{suffix}"


def sidecar_path(dataset_path: str | Path, suffix: str = SIDECAR_SUFFIX) -> Path:
    """Where the decisions of ``dataset_path`` are (or will be) stored; another ``suffix`` names
    another sidecar kept the same way (the scores, the learned judgement)."""
    preferred = preferred_sidecar(dataset_path, suffix)
    if preferred.exists():
        return preferred
    fallback = fallback_sidecar(dataset_path, suffix)
    if fallback.exists():
        return fallback
    if _writable(preferred.parent):
        return preferred
    return fallback


def _writable(folder: Path) -> bool:
    """Writable for us, and not marked read-only (root may write anywhere; a r-x share means no)."""
    try:
        mode = folder.stat().st_mode
    except OSError:
        return False
    return os.access(folder, os.W_OK) and bool(mode & 0o222)


# -- commands -------------------------------------------------------------------------------------
@dataclass
class Change:
    episode: int
    field: str
    old: Any
    new: Any


@dataclass
class Command:
    label: str
    changes: list[Change]
    time: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        return {  # not asdict: it deep-copies every value (10,000 changes: ~1 s)
            "label": self.label, "time": self.time,
            "changes": [
                {"episode": c.episode, "field": c.field, "old": _json_value(c.field, c.old),
                 "new": _json_value(c.field, c.new)}
                for c in self.changes
            ],
        }

    def text(self) -> str:
        """``to_json`` as one line of JSON, made once (a command never changes after it is made)."""
        cached = self.__dict__.get("_text")
        if cached is None:
            cached = self.__dict__["_text"] = json.dumps(self.to_json(), ensure_ascii=False)
        return cached

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Command:
        changes = []
        for c in data["changes"]:
            name, old, new = str(c["field"]), c.get("old"), c.get("new")
            checked = _check_value(name, old), _check_value(name, new)
            if name == "subtasks":  # stored as tuples of segments, not JSON lists
                old, new = checked
            changes.append(Change(int(c["episode"]), name, old, new))
        return cls(str(data.get("label", "")), changes, float(data.get("time", 0.0)))


def dataset_fingerprint(dataset: Any) -> dict[str, Any]:
    """What identifies a dataset's episodes, to notice a sidecar that no longer matches."""
    return {
        "path": str(Path(dataset.path).absolute()),
        "format": getattr(dataset.format, "value", str(dataset.format)),
        "num_episodes": dataset.num_episodes,
        "lengths": {str(e.index): e.length for e in dataset.episodes},
    }


class Curation:
    """Decisions for one dataset plus their undo/redo history. Not thread-safe: one owner.

    Saving: every change saves the sidecar at once (``autosave``), or, after ``defer_saves(schedule)``,
    builds the text at once (cheap: each episode's and each command's JSON is kept from the last
    save) and hands ``flush`` to ``schedule`` to write it on another thread; ``flush()`` called again
    (closing) writes whatever is still pending. Writes never overlap; the latest text wins.
    """

    def __init__(self, dataset_path: str | Path, sidecar: str | Path | None = None) -> None:
        self.dataset_path = Path(dataset_path).absolute()
        self.path = Path(sidecar) if sidecar else sidecar_path(self.dataset_path)
        self.decisions: dict[int, EpisodeDecision] = {}
        self.fingerprint: dict[str, Any] = {}
        self.autosave = True
        self.warnings: list[str] = []
        self._undo: list[Command] = []
        self._redo: list[Command] = []
        self._listeners: list[Callable[[list[int]], None]] = []
        # the fields the last edit, undo or redo changed (listeners may update only those)
        self.changed_fields: frozenset[str] = frozenset()
        # the sidecar's lines, kept between saves: episode -> its line (non-default decisions only)
        self._lines: dict[int, str] = {}
        self._lines_of: dict[int, EpisodeDecision] | None = None  # the decisions they were made from
        self._dirty: set[int] = set()  # episodes changed since
        self._order: list[int] | None = None  # sorted keys of _lines (None: to sort again)
        self._fingerprint_text: tuple[dict[str, Any] | None, str] = (None, "")
        self._schedule: Callable[[Callable[..., Path | None]], None] | None = None
        self._pending: tuple[str, str, list[str], list[Command], list[Command]] | None = None  # not written yet
        self._queued = False  # a flush was handed to the schedule and has not started
        self._writing = False  # a flush is writing
        self._pending_lock = threading.Lock()
        self._write_lock = threading.Lock()

    # -- loading / saving -------------------------------------------------------------------------
    @classmethod
    def load(
        cls, dataset_path: str | Path, dataset: Any | None = None, sidecar: str | Path | None = None
    ) -> Curation:
        """The decisions stored for ``dataset_path`` (empty when there are none yet).

        With ``dataset`` the stored episodes are checked against it: decisions for episodes that
        no longer exist or changed length are kept but reported in ``warnings``.
        """
        curation = cls(dataset_path, sidecar)
        if curation.path.exists():
            try:
                data = json.loads(curation.path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
                raise StudioError(
                    f"curation file is unreadable ({error})",
                    curation.path,
                    "fix or move the file away; the dataset itself is untouched",
                ) from error
            curation._from_json(data)
        if dataset is not None:
            curation.attach(dataset)
        return curation

    def attach(self, dataset: Any) -> None:
        """Record the dataset's fingerprint and warn about decisions that no longer fit it."""
        current = dataset_fingerprint(dataset)
        old_lengths = (self.fingerprint or {}).get("lengths", {})
        known = {e.index: e.length for e in dataset.episodes}
        for index in sorted(self.decisions):
            if index not in known:
                self.warnings.append(f"episode {index} has decisions but is not in the dataset any more")
            elif str(index) in old_lengths and int(old_lengths[str(index)]) != known[index]:
                self.warnings.append(
                    f"episode {index} changed length ({old_lengths[str(index)]} -> {known[index]}) "
                    "since it was curated: check its trim points"
                )
        self.fingerprint = current

    def _from_json(self, data: dict[str, Any]) -> None:
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            raise StudioError(
                f"not a curation file (schema {data.get('schema') if isinstance(data, dict) else None!r})",
                self.path,
                f"expected schema {SCHEMA}",
            )
        try:
            self.decisions = {
                int(k): EpisodeDecision.from_json(v) for k, v in (data.get("episodes") or {}).items()
            }
            self.fingerprint = dict(data.get("dataset") or {})
            history = data.get("history") or {}
            self._undo = _kept([Command.from_json(c) for c in history.get("undo", [])])
            self._redo = _kept([Command.from_json(c) for c in history.get("redo", [])])
        except (KeyError, TypeError, ValueError) as error:
            raise StudioError(f"curation file is malformed ({error})", self.path) from error

    def to_json(self, with_history: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "schema": SCHEMA,
            "tool": f"rollout-studio {__version__}",
            "saved": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "dataset": self.fingerprint or {"path": str(self.dataset_path)},
            "episodes": {
                str(k): d.to_json() for k, d in sorted(self.decisions.items()) if not d.is_default()
            },
        }
        if with_history:
            data["history"] = {
                "undo": [c.to_json() for c in _kept(self._undo)],
                "redo": [c.to_json() for c in _kept(self._redo)],
            }
        return data

    def text(self) -> str:
        """The sidecar's text: ``to_json()`` as JSON, one episode and one command a line.

        Only what changed since the last call is encoded again (10,000 decisions: a few ms)."""
        return _assemble(self._text_parts())

    def _text_parts(self) -> tuple[str, str, list[str], list[Command], list[Command]]:
        """What the text is made of, read on the thread that changes the decisions; commands never
        change once made, so encoding them (10,000 changes: tens of ms) can wait for ``_assemble``
        on the thread that writes."""
        fingerprint = self.fingerprint or {"path": str(self.dataset_path)}
        if self._fingerprint_text[0] is not fingerprint:
            self._fingerprint_text = (fingerprint, json.dumps(fingerprint, ensure_ascii=False))
        head = {"schema": SCHEMA, "tool": f"rollout-studio {__version__}", "saved": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        return (
            json.dumps(head, ensure_ascii=False), self._fingerprint_text[1], self._episode_lines(),
            _kept(self._undo), _kept(self._redo),
        )

    def _episode_lines(self) -> list[str]:
        if self._lines_of is not self.decisions:  # first save, or the decisions were replaced
            self._lines, self._lines_of, self._order = {}, self.decisions, None
            self._dirty = set(self.decisions)
        encoded: dict[tuple[Any, ...], str] = {}  # equal decisions (10,000 rated at once) encoded once
        for index in self._dirty:
            decision = self.decisions.get(index)
            values = None if decision is None else decision.values()
            if values is None or values == _DEFAULT_VALUES:
                if self._lines.pop(index, None) is not None:
                    self._order = None
            else:
                if index not in self._lines:
                    self._order = None
                text = encoded.get(values)
                if text is None:
                    text = encoded[values] = json.dumps(decision.to_json(), ensure_ascii=False)
                self._lines[index] = f'  "{index}": {text}'
        self._dirty.clear()
        if self._order is None:
            self._order = sorted(self._lines)
        return [self._lines[i] for i in self._order]

    def save(self) -> Path:
        """Write the sidecar now (atomically); what was pending is written with it."""
        text = self.text()
        with self._pending_lock:
            self._pending = None
        with self._write_lock:
            self._write(text)
        return self.path

    def _write(self, text: str) -> None:
        try:
            write_text_atomic(self.path, text)
        except OSError as error:
            raise StudioError(
                f"cannot save curation ({error.strerror or error})",
                self.path,
                "check that the folder is writable",
            ) from error

    def defer_saves(self, schedule: Callable[[Callable[..., Path | None]], None] | None) -> None:
        """Autosaves hand ``flush`` to ``schedule`` (which runs it on another thread) instead of
        writing on the caller's thread; None writes at once again (after writing what is pending)."""
        if schedule is None:
            self.flush()
        self._schedule = schedule

    @property
    def save_pending(self) -> bool:
        """A change is not on disk yet (pending, or being written)."""
        with self._pending_lock:
            return self._pending is not None or self._writing

    def flush(self, progress: Progress | None = None) -> Path | None:
        """Write the latest pending text (any thread); None when nothing was pending."""
        with self._write_lock:
            with self._pending_lock:
                parts, self._pending, self._queued = self._pending, None, False
                self._writing = parts is not None
            if parts is None:
                return None
            try:
                self._write(_assemble(parts))
            finally:
                with self._pending_lock:
                    self._writing = False
            return self.path

    def _autosave(self) -> None:
        schedule = self._schedule
        if schedule is None:
            self.save()
            return
        parts = self._text_parts()  # the text itself is put together by flush, on the saving thread
        with self._pending_lock:
            self._pending, queued, self._queued = parts, self._queued, True
        if not queued:
            schedule(self.flush)

    def snapshot(self) -> Curation:
        """A frozen copy of the decisions (no history, no autosave) for work on another thread."""
        copy = Curation(self.dataset_path, self.path)
        copy.decisions = {k: EpisodeDecision(**asdict(d)) for k, d in self.decisions.items()}
        copy.fingerprint = dict(self.fingerprint)
        copy.autosave = False
        return copy

    # -- reading ----------------------------------------------------------------------------------
    def decision(self, episode: int) -> EpisodeDecision:
        """A copy of the decisions for ``episode`` (defaults when none)."""
        current = self.decisions.get(int(episode))
        return EpisodeDecision(**asdict(current)) if current else EpisodeDecision()

    def curated_episodes(self) -> list[int]:
        return sorted(k for k, d in self.decisions.items() if not d.is_default())

    def task_for(self, episode: Any) -> str:
        override = self.decision(episode.index).task
        return override if override else (episode.task or "")

    def summary(self, dataset: Any, lengths: dict[int, int] | None = None) -> dict[str, int]:
        """Counts over the dataset's episodes (decisions for other episodes are left out).

        ``lengths`` (episode -> length), when the caller has it, spares a pass over the episodes."""
        if lengths is None:
            lengths = {e.index: e.length for e in dataset.episodes}
        counts = dict.fromkeys(("excluded", "trimmed", "relabelled", "good", "bad", "flagged", "noted"), 0)
        frames = sum(lengths.values())
        for index, d in self.decisions.items():
            length = lengths.get(index)
            if length is None:
                continue
            counts["good"] += d.rating == "good"
            counts["bad"] += d.rating == "bad"
            counts["flagged"] += d.flagged
            counts["noted"] += bool(d.note)
            if d.excluded:
                counts["excluded"] += 1
                frames -= length
                continue
            counts["trimmed"] += d.trimmed
            counts["relabelled"] += d.task is not None
            start, stop = d.kept_range(length)
            frames -= length - (stop - start)
        return {
            "episodes": dataset.num_episodes,
            "kept": len(lengths) - counts["excluded"],
            "excluded": counts["excluded"],
            "trimmed": counts["trimmed"],
            "relabelled": counts["relabelled"],
            "good": counts["good"],
            "bad": counts["bad"],
            "flagged": counts["flagged"],
            "noted": counts["noted"],
            "frames_kept": frames,
        }

    # -- changing ---------------------------------------------------------------------------------
    def add_listener(self, listener: Callable[[list[int]], None]) -> None:
        """``listener(episodes)`` runs after every change, undo and redo."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[list[int]], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def set(self, episode: int, label: str | None = None, **values: Any) -> bool:
        """Change fields of one episode as one undoable command; False when nothing changed."""
        return self.set_many([episode], label, **values)

    def set_many(self, episodes: Iterable[int], label: str | None = None, **values: Any) -> bool:
        changes: list[Change] = []
        checked = {name: _check_value(name, value) for name, value in values.items()}
        for episode in episodes:
            current = self.decisions.get(int(episode), _DEFAULT)
            for name, value in checked.items():
                old = getattr(current, name)
                if old != value:
                    changes.append(Change(int(episode), name, old, value))
        return self._commit(changes, label)

    def set_each(self, values: dict[int, dict[str, Any]], label: str | None = None) -> bool:
        """Each episode its own values (episode -> field -> value), as ONE undoable command: a batch
        of predicted ratings, some good and some bad, that one undo reverts."""
        changes: list[Change] = []
        for episode, fields in values.items():
            current = self.decisions.get(int(episode), _DEFAULT)
            for name, value in fields.items():
                value = _check_value(name, value)
                if getattr(current, name) != value:
                    changes.append(Change(int(episode), name, getattr(current, name), value))
        return self._commit(changes, label)

    def _commit(self, changes: list[Change], label: str | None) -> bool:
        if not changes:
            return False
        self._apply(changes, forward=True)
        self._undo.append(Command(label or _describe(changes), changes))
        del self._undo[: len(self._undo) - len(_kept(self._undo))]
        self._redo.clear()
        self._changed(changes)
        return True

    def set_trim_in(self, episode: int, frame: int | None, length: int) -> bool:
        """Set the first kept frame; a trim_out before it is cleared in the same command."""
        current = self.decision(episode)
        values: dict[str, Any] = {"trim_in": None if not frame else min(int(frame), length - 1)}
        if (
            values["trim_in"] is not None
            and current.trim_out is not None
            and current.trim_out < values["trim_in"]
        ):
            values["trim_out"] = None
        return self.set(episode, f"Trim in of episode {episode} at frame {frame}", **values)

    def set_trim_out(self, episode: int, frame: int | None, length: int) -> bool:
        """Set the last kept frame; a trim_in after it is cleared in the same command."""
        current = self.decision(episode)
        out = None if frame is None or frame >= length - 1 else max(0, int(frame))
        values: dict[str, Any] = {"trim_out": out}
        if out is not None and current.trim_in is not None and current.trim_in > out:
            values["trim_in"] = None
        return self.set(episode, f"Trim out of episode {episode} at frame {frame}", **values)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_label(self) -> str:
        return self._undo[-1].label if self._undo else ""

    @property
    def redo_label(self) -> str:
        return self._redo[-1].label if self._redo else ""

    def undo(self) -> Command | None:
        if not self._undo:
            return None
        command = self._undo.pop()
        self._apply(command.changes, forward=False)
        self._redo.append(command)
        self._changed(command.changes)
        return command

    def redo(self) -> Command | None:
        if not self._redo:
            return None
        command = self._redo.pop()
        self._apply(command.changes, forward=True)
        self._undo.append(command)
        self._changed(command.changes)
        return command

    def _apply(self, changes: list[Change], forward: bool) -> None:
        decisions, dirty = self.decisions, self._dirty
        for change in changes if forward else reversed(changes):
            dirty.add(change.episode)
            decision = decisions.get(change.episode)
            if decision is None:
                decision = decisions[change.episode] = EpisodeDecision()
            value = change.new if forward else change.old
            setattr(decision, change.field, value)
            # only a field set back to its default can make the whole decision the default one
            # (10,000 episodes rated at once: no 10,000 comparisons of every field)
            if value == _FIELD_DEFAULTS[change.field] and decision.is_default():
                del decisions[change.episode]

    def _changed(self, changes: list[Change]) -> None:
        episodes = sorted({c.episode for c in changes})
        self.changed_fields = frozenset(c.field for c in changes)
        try:
            for listener in list(self._listeners):
                listener(episodes)
        finally:  # saved after the listeners: a save on another thread would share the GIL with them
            if self.autosave:
                self._autosave()


def _kept(commands: list[Command]) -> list[Command]:
    """The newest commands within MAX_HISTORY commands and MAX_HISTORY_CHANGES changes (the newest
    one always), oldest first."""
    total, first = 0, len(commands)
    while first > 0 and len(commands) - first < MAX_HISTORY:
        total += len(commands[first - 1].changes)
        if total > MAX_HISTORY_CHANGES and first < len(commands):
            break
        first -= 1
    return commands[first:]


def _assemble(parts: tuple[str, str, list[str], list[Command], list[Command]]) -> str:
    head, fingerprint, lines, undo, redo = parts
    undo_text = ",\n  ".join(c.text() for c in undo)
    redo_text = ",\n  ".join(c.text() for c in redo)
    return (
        head[:-1]
        + f',\n "dataset": {fingerprint},\n "episodes": {{\n'
        + ",\n".join(lines)
        + f'\n }},\n "history": {{"undo": [\n  {undo_text}\n ], "redo": [\n  {redo_text}\n ]}}\n}}\n'
    )


def _describe(changes: list[Change]) -> str:
    episodes = sorted({c.episode for c in changes})
    names = sorted({c.field for c in changes})
    first = changes[0]
    where = f"episode {episodes[0]}" if len(episodes) == 1 else f"{len(episodes)} episodes"
    if names == ["rating"]:
        return f"Rate {where} {first.new or 'unrated'}"
    if names == ["flagged"]:
        return f"{'Flag' if first.new else 'Unflag'} {where}"
    if names == ["excluded"]:
        return f"{'Exclude' if first.new else 'Include'} {where}"
    if names == ["note"]:
        return f"Note on {where}"
    if names == ["task"]:
        return f"Relabel task of {where}"
    if names == ["subtasks"]:
        return f"Edit subtasks of {where}"
    return f"Edit {', '.join(names)} of {where}"


# -- export ---------------------------------------------------------------------------------------
def export_decisions_json(dataset: Any, curation: Curation, out: str | Path) -> Path:
    """Write the decisions (no history) with what each means for the export, atomically."""
    data = curation.to_json(with_history=False)
    data["dataset"] = dataset_fingerprint(dataset)
    data["summary"] = curation.summary(dataset)
    data["plan"] = [
        {
            "episode": e.index,
            "keep": not curation.decision(e.index).excluded,
            "frames": list(curation.decision(e.index).kept_range(e.length)),
            "task": curation.task_for(e),
        }
        for e in dataset.episodes
    ]
    out = Path(out)
    # the file dialog asked before replacing; still, only a decisions file the studio wrote is replaced
    with atomic_file(out, overwrite=True, inputs=[dataset.path]) as tmp:
        tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return out


# LeRobot writes these per-frame columns itself; they are never copied as features.
_BOOKKEEPING = {"timestamp", "frame_index", "episode_index", "index", "task_index"}
# written from the subtask segments (backend/subtask_export.py), never copied as features
_SUBTASK_COLUMNS = {"subtask_index", "language_persistent", "language_events"}
_HDF5_TARGETS = {"action": ("actions", "processed_actions"), "state": ("obs/joint_pos",)}
_LEROBOT_TARGETS = {"action": ("action",), "state": ("observation.state",)}


@dataclass
class _Plan:
    """How source features become the output's: target key -> (source key, conversion or None)."""

    fmt: Any
    spec: Any
    mapping: dict[str, tuple[str, Callable[[np.ndarray], np.ndarray] | None]]
    cameras: list[str]
    same_family: bool
    notes: list[str] = field(default_factory=list)


def _family(fmt: Any) -> str:
    from backend.model import DatasetFormat

    if fmt is DatasetFormat.LEISAAC_HDF5:
        return "hdf5"
    if fmt is DatasetFormat.COSMOS_OUTPUTS:
        return "cosmos"
    return "lerobot"


def _plan_export(dataset: Any, fmt: Any, options: dict[str, Any] | None) -> _Plan:
    from backend.formats.base import CameraSpec, WriterSpec
    from backend.media.encoder import CODECS
    from backend.model import Feature, FeatureKind
    from backend.units import JointSpace, Unit, lerobot_joint_names

    source, target = _family(dataset.format), _family(fmt)
    vector_kinds = (FeatureKind.VECTOR, FeatureKind.SCALAR)
    camera_keys = set(dataset.cameras.values())
    synthetic = set((dataset.info.get("synthetic_features") or {}).keys())
    mapping: dict[str, tuple[str, Callable[[np.ndarray], np.ndarray] | None]] = {}
    notes: list[str] = []
    opts: dict[str, Any] = {}
    if source == target == "hdf5":
        from backend.formats.leisaac_hdf5 import writer_spec_for

        spec = writer_spec_for(dataset)
        mapping = {key: (key, None) for key in spec.vector_keys()}
        spec.options.update(options or {})
        cameras = [c.name for c in spec.cameras]
        return _Plan(fmt, spec, mapping, cameras, True, notes)
    features: dict[str, Feature] = {}
    if source == target:
        for key, feature in dataset.features.items():
            if (
                feature.kind in vector_kinds
                and feature.has_files
                and key not in _BOOKKEEPING | _SUBTASK_COLUMNS | camera_keys | synthetic
            ):
                features[key] = feature
                mapping[key] = (key, None)
    else:
        # across families only the joint roles travel, converted to the target's unit
        targets = _HDF5_TARGETS if target == "hdf5" else _LEROBOT_TARGETS
        for role, target_keys in targets.items():
            key = dataset.roles.get(role)
            if key is None or key not in dataset.features:
                continue
            space = dataset.features[key].space
            if space is None or not space.is_so101 or Unit.RADIANS not in space.convertible_units():
                raise StudioError(
                    f"{key} is not SO-101 joint positions in a known unit, so it cannot be written as {fmt.value}",
                    dataset.path,
                    f"export to {dataset.format.value} instead",
                )
            unit = Unit.RADIANS if target == "hdf5" else Unit.LEROBOT_RANGE
            names = list(space.names) if target == "hdf5" else lerobot_joint_names(space.names)
            for target_key in target_keys:
                features[target_key] = Feature(
                    target_key,
                    FeatureKind.VECTOR,
                    "float32",
                    (space.width,),
                    names,
                    JointSpace(space.names, unit),
                )
                mapping[target_key] = (key, lambda v, s=space, u=unit: s.convert(v, u).astype(np.float32))
            notes.append(f"{key} ({space.unit.value}) -> {', '.join(target_keys)} ({unit.value})")
        skipped = [
            k
            for k, f in dataset.features.items()
            if f.kind in vector_kinds and k not in _BOOKKEEPING | _SUBTASK_COLUMNS
            and k not in {s for s, _ in mapping.values()}
        ]
        if skipped:
            notes.append(f"not carried across formats: {', '.join(sorted(skipped))}")
    if target == "lerobot":
        opts["tasks"] = list(dataset.tasks)
        codecs = [dataset.features[k].video.codec for k in camera_keys if dataset.features[k].video]
        opts["codec"] = next((c for c in codecs if c in CODECS), "h264")
    elif "env_name" in dataset.info:
        opts["env_name"] = dataset.info["env_name"]
    opts.update(options or {})
    cameras = []
    camera_specs = []
    for camera, key in dataset.cameras.items():
        feature = dataset.features[key]
        if not feature.has_files:
            continue
        width = feature.video.width if feature.video else int(feature.shape[1])
        height = feature.video.height if feature.video else int(feature.shape[0])
        cameras.append(camera)
        camera_specs.append(CameraSpec(camera, int(width), int(height)))
    spec = WriterSpec(
        fps=dataset.fps, robot_type=dataset.robot_type, features=features, cameras=camera_specs, options=opts
    )
    return _Plan(fmt, spec, mapping, cameras, source == target, notes)


def _initial_state_at(episode: Any, start: int) -> dict[str, Any]:
    """An HDF5 episode's initial_state; after a trim-in, the simulator state just before ``start``.

    ``states[t]`` is the state after step ``t`` and ``initial_state`` has the same tree with a leading
    dimension of 1, so the state a trimmed episode starts from is ``states[start - 1]``.
    """
    from backend.formats.leisaac_hdf5 import read_initial_state

    tree = read_initial_state(episode)
    if not tree or start <= 0:
        return tree

    def rebuild(node: dict[str, Any], prefix: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in node.items():
            path = f"{prefix}/{name}"
            if isinstance(value, dict):
                out[name] = rebuild(value, path)
            elif f"states{path}" in episode.dataset.features:
                out[name] = np.asarray(episode.array(f"states{path}")[start - 1 : start])
            else:
                out[name] = value
        return out

    return rebuild(tree, "")


def export_curated(
    dataset: Any,
    curation: Curation,
    out: str | Path,
    fmt: Any = None,
    progress: Progress | None = None,
    options: dict[str, Any] | None = None,
    overwrite: bool = False,
    jobs: int | None = None,
    subtasks: str | None = None,
) -> Path:
    """Write a new dataset with exclusions, trims and task edits applied; returns its path.

    Subtask segments travel as ``backend.subtask_export`` says: ``subtasks`` is "auto" (None),
    "none", "index", "language" or "both" for LeRobot outputs; HDF5 demos get a ``subtasks`` attribute.

    Same family (HDF5 -> HDF5, LeRobot -> LeRobot): every vector feature is kept as stored. Across
    families the action and state travel, converted (radians <-> LeRobot range). Frames stream from
    the source to the writer one at a time, never a whole episode of images in memory. The output
    appears only when complete; on error or cancel nothing is left behind. LeRobot outputs: the
    cameras are encoded by ``jobs`` worker processes (``backend.curation_export``; None: one per
    core), the same bytes for any ``jobs``.
    """
    from backend.curation_export import start_videos, write_videos
    from backend.formats import open_writer
    from backend.model import DatasetFormat

    progress = ensure_progress(progress)
    fmt = DatasetFormat(fmt or dataset.format)
    source = Path(dataset.path).absolute()
    out = check_output(out, [source, curation.path], overwrite)
    plan = _plan_export(dataset, fmt, options)
    kept = [e for e in dataset.episodes if not curation.decision(e.index).excluded]
    if not kept:
        raise StudioError(
            "every episode is excluded: nothing to export", dataset.path, "include some episodes"
        )
    ranges = {e.index: curation.decision(e.index).kept_range(e.length) for e in kept}
    empty = [i for i, (a, b) in ranges.items() if b - a < 1]
    if empty:
        raise StudioError(
            f"trim leaves no frame in episode {empty[0]}", dataset.path, "move its in/out points"
        )
    total = sum(b - a for a, b in ranges.values())
    plan.spec.provenance = {
        "operation": "curate export",
        "tool_version": __version__,
        "inputs": [{"path": str(source), "format": dataset.format.value, "episodes": dataset.num_episodes}],
        "curation": str(curation.path),
        "parameters": {
            "format": fmt.value,
            "excluded": [e.index for e in dataset.episodes if curation.decision(e.index).excluded],
            "trims": {
                str(i): [a, b] for i, (a, b) in ranges.items() if (a, b) != (0, dataset.episode(i).length)
            },
            "tasks": {str(e.index): curation.task_for(e) for e in kept if curation.decision(e.index).task},
            "options": dict(options or {}),
            "mapping": plan.notes,
        },
        "episodes": [
            {"output_episode": n, "source_episode": e.index, "frame_offset": ranges[e.index][0],
             "frames": list(ranges[e.index])}
            for n, e in enumerate(kept)
        ],
    }
    for note in plan.notes:
        if note.startswith("not carried"):
            progress.warn(note)
    segments_of = _subtask_source(dataset, curation)
    labels = _subtask_columns(plan, fmt, kept, segments_of, subtasks)
    done = 0
    progress.report(0, total, "starting")
    writer = open_writer(fmt, out, plan.spec, overwrite=overwrite)
    videos = None
    try:
        if labels is not None:
            labels.attach(writer)
        videos = start_videos(dataset, writer, plan.cameras, kept, ranges, jobs)
        for number, episode in enumerate(kept):
            start, stop = ranges[episode.index]
            task = curation.task_for(episode)
            values = {
                target: (
                    conv(episode.array(src)[start:stop])
                    if conv
                    else np.asarray(episode.array(src)[start:stop])
                )
                for target, (src, conv) in plan.mapping.items()
            }
            if labels is not None:
                values.update(labels.episode(number, segments_of(episode.index), start, stop))
            extra = _episode_extra(episode, plan, start, curation, segments_of(episode.index))
            ep_writer = writer.begin_episode(task, **extra)
            streams: dict[str, Any] = {}
            try:
                if videos is not None:  # rows here, cameras from the workers
                    text = f"episode {episode.index} ({number + 1}/{len(kept)})"
                    report = partial(_report_encoded, progress, total, text)
                    write_videos(videos, number, episode, ep_writer, values, stop - start, plan.cameras, report)
                    done += stop - start
                else:
                    streams = {camera: episode.stream(camera) for camera in plan.cameras}
                    for t in range(stop - start):
                        images = {camera: stream.frame(start + t) for camera, stream in streams.items()}
                        ep_writer.add_frame({k: v[t] for k, v in values.items()}, images)
                        done += 1
                        if done % 10 == 0 or t == stop - start - 1:
                            progress.report(done, total, f"episode {episode.index} ({number + 1}/{len(kept)})")
                ep_writer.end(success=episode.success)
            except BaseException:
                ep_writer.discard()
                raise
            finally:
                for stream in streams.values():
                    stream.close()
                episode.unload()
        progress.report(done, total, "writing metadata")
        result = writer.finish()
    except BaseException:
        if videos is not None:
            videos.close()  # before the writer's folder goes: a worker still encoding would refill it
        writer.abort()
        raise
    finally:
        if videos is not None:
            videos.close()
    progress.report(total, total, "done")
    return Path(result) if result else out


def _subtask_source(dataset: Any, curation: Curation) -> Callable[[int], tuple[Any, ...]]:
    """Each episode's segments: the curation's, else those the dataset carries (a LeRobot dataset's
    subtask columns, an HDF5 demo's ``subtasks`` attribute), so an export keeps them."""
    from backend.subtask_import import segments_source

    return segments_source(dataset, curation)


def _subtask_columns(
    plan: _Plan, fmt: Any, kept: list[Any], segments_of: Callable[[int], Any], mode: str | None
) -> Any:
    """The LeRobot subtask columns of this export (``backend.subtask_export``), None when none."""
    from backend.subtask_export import LeRobotSubtasks, resolve_mode

    if _family(fmt) != "lerobot":
        return None
    index, language = resolve_mode(mode, fmt.value, any(segments_of(e.index) for e in kept))
    if not (index or language):
        return None
    plan.spec.provenance["parameters"]["subtasks"] = {"index": index, "language": language}
    return LeRobotSubtasks(plan.spec, index, language)


def _report_encoded(progress: Progress, total: int, text: str, encoded: int) -> None:
    progress.report(min(encoded, total), total, text)


def _episode_extra(
    episode: Any, plan: _Plan, start: int, curation: Curation, segments: tuple[Any, ...] = ()
) -> dict[str, Any]:
    """Per-episode extras for the writer: HDF5 attributes/seed/initial state, LeRobot tasks."""
    from backend.model import DatasetFormat
    from backend.subtask_export import hdf5_attrs

    extra: dict[str, Any] = {}
    if plan.fmt is DatasetFormat.LEISAAC_HDF5:
        attrs = dict(episode.extra.get("attrs") or {}) if plan.same_family else {}
        attrs["source_episode"] = int(episode.index)
        if start:
            attrs["source_first_frame"] = int(start)
        attrs.pop("subtasks", None)  # the source's own, before the trim: written again below
        attrs.update(hdf5_attrs(segments, *curation.decision(episode.index).kept_range(episode.length)))
        extra["attrs"] = attrs
        if episode.extra.get("seed") is not None:
            extra["seed"] = episode.extra["seed"]
        if plan.same_family:
            initial_state = _initial_state_at(episode, start)
            if initial_state:
                extra["initial_state"] = initial_state
    else:
        relabelled = curation.decision(episode.index).task is not None
        tasks = [] if relabelled else list(episode.extra.get("tasks") or [])
        if tasks:
            extra["tasks"] = tasks
    return extra


def format_summary(summary: dict[str, int]) -> str:
    return (
        f"{summary['kept']} of {summary['episodes']} episodes kept "
        f"({summary['excluded']} excluded, {summary['trimmed']} trimmed, {summary['relabelled']} relabelled), "
        f"{summary['frames_kept']} frames"
    )
