"""Streaming LeIsaac HDF5 writer (the layout of LeIsaac's StreamingHDF5DatasetFileHandler).

Every per-frame dataset is created with ``maxshape=(None, ...)`` and ``chunks=(100, ...)`` and is
appended 100 frames at a time from a fixed buffer, so an episode is never held in memory. Images
are lzf-compressed. ``end()`` sets ``num_samples``, ``seed`` and ``success`` on the demo; ``finish()``
sets ``/data`` attrs ``total`` (sum of num_samples of ended demos), ``env_args`` (JSON string),
``fps`` and ``rollout_studio_provenance`` (JSON) and renames the temporary sibling into place.

``begin_episode(task, seed=..., initial_state={...}, attrs={...}, states={...})``: mappings other
than ``attrs`` are written as whole groups (``initial_state`` with leading dimension 1); ``attrs``
are copied onto the demo group (the writer's own num_samples/seed/success/task win).

A write that fails (full disk, file-size limit) raises one ``StudioError`` naming the output, and
the hidden temporary file is removed as on any abort. HDF5 itself never sees the failure (see
``_Storage``): a failed write inside the library (even one it makes on its own, when Python frees
a dataset object) leaves objects it cannot close, and the process then crashed with SIGSEGV or
SIGBUS when the library shut down at exit.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from backend import __version__
from backend.atomic import atomic_file
from backend.errors import Cancelled, StudioError
from backend.formats.base import Capability, DatasetWriter, EpisodeWriter, WriterSpec
from backend.formats.leisaac_hdf5._common import (
    CHUNK_FRAMES,
    FPS_ATTR,
    OWN_DATA_ATTRS,
    OWN_DEMO_ATTRS,
    PROVENANCE_ATTR,
    TASK_ATTR,
    env_args_json,
    set_end_attrs,
    short_error,
)
from backend.model import FeatureKind
from backend.output_faults import FAULTS, fault_errno

# what h5py raises when the HDF5 library fails (a failed write is an OSError or a RuntimeError)
_H5_ERRORS = (OSError, RuntimeError)


def _dtype(text: str) -> np.dtype:
    try:
        dtype = np.dtype(text)
    except TypeError:
        return np.dtype(np.float32)
    return dtype if dtype.kind in "biuf" else np.dtype(np.float32)


def env_args_text(spec: WriterSpec) -> str:
    """env_args as LeIsaac writes it: JSON ``{"env_name": ..., "type": 2}`` (or the given value)."""
    given = spec.options.get("env_args")
    if isinstance(given, str):
        return given
    if isinstance(given, Mapping):
        return json.dumps(dict(given))
    return env_args_json(str(spec.options.get("env_name", "") or ""))


def write_tree(group: h5py.Group, tree: Mapping[str, Any]) -> None:
    """Nested dicts of arrays as groups and datasets (initial_state, whole states trees)."""
    for name, value in tree.items():
        if isinstance(value, Mapping):
            existing = group.get(name)
            if existing is not None and not isinstance(existing, h5py.Group):
                raise StudioError(f"{group.name}/{name} is both a dataset and a group")
            write_tree(group.require_group(name), value)
        else:
            if name in group:
                raise StudioError(f"{group.name}/{name} is written twice (a feature and an extra tree?)")
            group.create_dataset(name, data=np.asarray(value))


class _Storage:
    """The bytes of the HDF5 file, written through h5py's file-object driver.

    A write the disk refuses (full, file-size limit) is remembered in ``failure`` and NOT reported
    to HDF5: the library cannot recover from a failed write (the objects it then fails to close
    stay half-open, and it crashes with SIGSEGV/SIGBUS when it shuts down at exit). From the first
    failure on, writes are dropped (the file is garbage and will be removed); the writer checks
    ``failure`` after each step and raises one error naming the output.
    """

    def __init__(self, path: Path) -> None:
        self._file = open(path, "w+b", buffering=0)  # noqa: SIM115 - closed by close()
        self.failure: OSError | None = None

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        if self.failure is None:
            try:
                done = 0
                while done < len(view):
                    done += self._file.write(view[done:]) or 0
            except OSError as error:
                self.failure = error
        return len(view)

    def readinto(self, buffer: Any) -> int:
        return self._file.readinto(buffer) or 0

    def read(self, size: int = -1) -> bytes:
        return self._file.read(size) or b""

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def truncate(self, size: int | None = None) -> int:
        if self.failure is None:
            try:
                return self._file.truncate(size)
            except OSError as error:
                self.failure = error
        return self._file.tell() if size is None else size

    def flush(self) -> None:
        """Nothing is buffered here (the file is unbuffered)."""

    def close(self) -> None:
        self._file.close()


def _create_file(storage: _Storage) -> h5py.File:
    """A new HDF5 file on ``storage`` whose close closes every object still open in it
    (``H5F_CLOSE_STRONG``): with the default (weak) a close with an object left open returns
    without writing anything, so the last metadata would not be written when the writer checks."""
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_fclose_degree(h5py.h5f.CLOSE_STRONG)
    fapl.set_fileobj_driver(h5py.h5fd.fileobj_driver, storage)
    return h5py.File(h5py.h5f.create(b"rollout-studio-output", h5py.h5f.ACC_TRUNC, fapl=fapl))


def release_file(h5: h5py.File) -> None:
    """Close an HDF5 file after a failure, whatever its state; never raises."""
    with contextlib.suppress(Exception):
        h5.close()


def _set_attr(obj: h5py.Group, name: str, value: Any) -> None:
    if value is None:
        return
    try:
        obj.attrs[name] = value
    except (TypeError, ValueError):
        obj.attrs[name] = json.dumps(value, default=str)


class _Column:
    """One appended dataset and its 100-frame buffer."""

    def __init__(
        self,
        group: h5py.Group,
        key: str,
        shape: tuple[int, ...],
        dtype: np.dtype,
        compression: str | None,
        chunk_frames: int,
        buffers: dict[tuple[str, tuple[int, ...], str], np.ndarray] | None = None,
        writing: Any = None,
    ) -> None:
        self.key = key
        self._writing = writing if writing is not None else contextlib.nullcontext
        self.shape = tuple(shape)
        self.dtype = dtype
        self.chunk = chunk_frames
        self.dataset = group.create_dataset(
            key,
            shape=(0, *self.shape),
            maxshape=(None, *self.shape),
            chunks=(chunk_frames, *self.shape),
            dtype=dtype,
            compression=compression,
        )
        # one buffer per key reused from episode to episode (a 100-frame camera block is 92 MB)
        pool = buffers if buffers is not None else {}
        slot = (key, (chunk_frames, *self.shape), dtype.str)
        if slot not in pool:
            pool[slot] = np.empty((chunk_frames, *self.shape), dtype=dtype)
        self.buffer = pool[slot]
        self.filled = 0
        self.written = 0

    def coerce(self, value: Any) -> np.ndarray:
        array = np.asarray(value)
        if array.shape != self.shape:
            if array.size != int(np.prod(self.shape, dtype=np.int64)):
                raise StudioError(f"{self.key}: a frame of shape {array.shape}, expected {self.shape}")
            array = array.reshape(self.shape)
        return array

    def coerce_block(self, values: Any) -> np.ndarray:
        values = np.asarray(values)
        if values.shape[1:] != self.shape:
            per_frame = int(np.prod(self.shape, dtype=np.int64))
            if values.ndim == 0 or values.size != len(values) * per_frame:
                raise StudioError(f"{self.key}: a block of shape {values.shape}, expected (T, *{self.shape})")
            values = values.reshape(len(values), *self.shape)
        return values

    def add(self, value: Any) -> None:
        self.buffer[self.filled] = self.coerce(value)
        self.filled += 1
        if self.filled == self.chunk:
            self.flush()

    def add_block(self, values: np.ndarray) -> None:
        values = self.coerce_block(values)
        start = 0
        while start < len(values):
            take = min(self.chunk - self.filled, len(values) - start)
            self.buffer[self.filled : self.filled + take] = values[start : start + take]
            self.filled += take
            start += take
            if self.filled == self.chunk:
                self.flush()

    def flush(self) -> None:
        if not self.filled:
            return
        end = self.written + self.filled
        with self._writing():
            self.dataset.resize((end, *self.shape))
            self.dataset[self.written : end] = self.buffer[: self.filled]
        self.written, self.filled = end, 0

    @property
    def length(self) -> int:
        return self.written + self.filled


class LeIsaacEpisodeWriter(EpisodeWriter):
    def __init__(
        self, writer: LeIsaacHDF5Writer, index: int, group: h5py.Group, task: str, extra: dict[str, Any]
    ) -> None:
        self._writer = writer
        self.index = index
        self.name = group.name.rsplit("/", 1)[-1]
        self._group = group
        self._seed = extra.pop("seed", None)
        attrs = dict(extra.pop("attrs", None) or {})
        if self._seed is None:
            self._seed = attrs.get("seed")
        spec = writer.spec
        chunk = writer.chunk_frames
        self._columns: dict[str, _Column] = {}
        for key in spec.vector_keys():
            feature = spec.features[key]
            self._columns[key] = _Column(
                group,
                key,
                tuple(feature.shape),
                _dtype(feature.dtype),
                writer.vector_compression,
                chunk,
                writer.buffers,
                writer.writing,
            )
        self._images: dict[str, _Column] = {}
        for camera in spec.cameras:
            self._images[camera.name] = _Column(
                group,
                f"obs/{camera.name}",
                (camera.height, camera.width, 3),
                np.dtype(np.uint8),
                writer.image_compression,
                chunk,
                writer.buffers,
                writer.writing,
            )
        for name, value in extra.items():
            if isinstance(value, Mapping):
                write_tree(group.require_group(name), value)
            elif value is not None:
                attrs.setdefault(name, value)
        for name, value in attrs.items():
            if name not in OWN_DEMO_ATTRS:
                _set_attr(group, name, value)
        if task:
            group.attrs[TASK_ATTR] = str(task)
        self._open = True

    def _check_open(self) -> None:
        if not self._open:
            raise StudioError(f"episode {self.name} is already ended")

    def add_frame(
        self, values: Mapping[str, np.ndarray], images: Mapping[str, np.ndarray] | None = None
    ) -> None:
        self._check_open()
        self._check_keys(values, images)
        # check every value before appending any, so a bad frame leaves the columns aligned
        rows = {key: column.coerce(values[key]) for key, column in self._columns.items()}
        frames = {name: column.coerce(images[name]) for name, column in self._images.items()}  # type: ignore[index]
        for key, column in self._columns.items():
            column.add(rows[key])
        for name, column in self._images.items():
            column.add(frames[name])

    def add_frames(
        self, values: Mapping[str, np.ndarray], images: Mapping[str, Iterable[np.ndarray]] | None = None
    ) -> None:
        self._check_open()
        self._check_keys(values, images)
        blocks = {key: column.coerce_block(values[key]) for key, column in self._columns.items()}
        lengths = {len(v) for v in blocks.values()}
        arrays = {name: frames for name, frames in (images or {}).items() if isinstance(frames, np.ndarray)}
        lengths |= {len(v) for v in arrays.values()}
        if len(lengths) > 1:
            raise StudioError(f"a block of frames with different lengths {sorted(lengths)}")
        for name, frames in arrays.items():
            arrays[name] = self._images[name].coerce_block(frames)
        for key, column in self._columns.items():
            column.add_block(blocks[key])
        for name, column in self._images.items():
            if name in arrays:
                column.add_block(arrays[name])
            else:
                for frame in images[name]:  # type: ignore[index]
                    column.add(frame)

    def _check_keys(self, values: Mapping[str, Any], images: Mapping[str, Any] | None) -> None:
        missing = [k for k in self._columns if k not in values]
        unknown = [k for k in values if k not in self._columns]
        missing_cams = [n for n in self._images if n not in (images or {})]
        unknown_cams = [n for n in (images or {}) if n not in self._images]
        if missing or unknown or missing_cams or unknown_cams:
            parts = []
            if missing:
                parts.append(f"missing {missing}")
            if unknown:
                parts.append(f"unknown {unknown}")
            if missing_cams:
                parts.append(f"missing cameras {missing_cams}")
            if unknown_cams:
                parts.append(f"unknown cameras {unknown_cams}")
            raise StudioError(f"frame does not match the writer's spec: {'; '.join(parts)}")

    @property
    def length(self) -> int:
        columns = list(self._columns.values()) + list(self._images.values())
        return columns[0].length if columns else 0

    def end(self, success: bool | None = True) -> int:
        self._check_open()
        columns = list(self._columns.values()) + list(self._images.values())
        for column in columns:
            column.flush()
        lengths = {c.key: c.length for c in columns}
        if len(set(lengths.values())) > 1:
            raise StudioError(f"episode {self.name}: features got different numbers of frames {lengths}")
        length = self.length
        with self._writer.writing():
            set_end_attrs(self._group, length, self._seed, success)
        self._open = False
        self._writer._episode_ended(self, length, success)
        return self.index

    def discard(self) -> None:
        if not self._open:
            return
        self._open = False
        self._columns.clear()
        self._images.clear()
        self._writer._episode_discarded(self)


class LeIsaacHDF5Writer(DatasetWriter):
    """Write a LeIsaac HDF5 file; see the module docstring. Options (``spec.options``):

    env_args (dict or JSON string), env_name, data_attrs (dict copied onto /data),
    compression (images, default "lzf"; None for none), vector_compression (default None),
    chunk_frames (default 100).
    """

    capabilities = Capability.IMAGES | Capability.SUCCESS_FLAGS | Capability.INITIAL_STATE | Capability.TASKS

    def __init__(self, out: str | Path, spec: WriterSpec, overwrite: bool = False) -> None:
        super().__init__(out, spec, overwrite)
        options = spec.options
        self.chunk_frames = int(options.get("chunk_frames") or CHUNK_FRAMES)
        self.image_compression: str | None = options.get("compression", "lzf")
        self.vector_compression: str | None = options.get("vector_compression")
        for key in spec.vector_keys():
            feature = spec.features[key]
            if key.startswith("obs/") and key[4:] in {c.name for c in spec.cameras}:
                raise StudioError(f"feature {key} clashes with camera {key[4:]}")
            if feature.kind is FeatureKind.VECTOR and not feature.shape:
                raise StudioError(f"vector feature {key} has no shape")
        self.buffers: dict[tuple[str, tuple[int, ...], str], np.ndarray] = {}
        self._stack = contextlib.ExitStack()
        self._tmp = self._stack.enter_context(atomic_file(self.out, overwrite=overwrite))
        self._h5: h5py.File | None = None
        self._storage: _Storage | None = None
        try:
            try:
                self._storage = _Storage(self._tmp)
                self._h5 = _create_file(self._storage)
            except OSError as error:  # h5py names the hidden temporary file: name the output instead
                if fault_errno(error) is not None:
                    raise self._fault(error) from None
                reason = os.strerror(error.errno) if error.errno else "the file cannot be created"
                raise StudioError(
                    f"cannot write the output here ({reason})",
                    self.out,
                    "choose an output in a writable folder",
                ) from None
            with self.writing():
                self._data = self._h5.create_group("data")
                self._data.attrs["total"] = 0
                self._data.attrs["env_args"] = env_args_text(spec)
                self._h5.flush()  # a flushed skeleton survives a crash (environment-notes.md)
        except BaseException:
            self._close_file()
            self._stack.__exit__(Cancelled, Cancelled(), None)
            raise
        self._next = 0
        self._total = 0
        self._episodes = 0
        self._current: LeIsaacEpisodeWriter | None = None
        self._done = False

    # -- episodes -------------------------------------------------------------------------------------
    def begin_episode(self, task: str = "", **extra: Any) -> LeIsaacEpisodeWriter:
        if self._h5 is None or self._done:
            raise StudioError("writer is finished", self.out)
        if self._current is not None:
            raise StudioError(
                f"episode {self._current.name} is still open: end() or discard() it first", self.out
            )
        name = f"demo_{self._next}"
        with self.writing():
            group = self._data.create_group(name)
        try:
            with self.writing():
                self._current = LeIsaacEpisodeWriter(self, self._next, group, task, dict(extra))
        except BaseException:
            if self._h5 is not None:  # still sound (a bad value, not a failed write)
                with self.writing():
                    del self._data[name]
            raise
        return self._current

    def _episode_ended(self, episode: LeIsaacEpisodeWriter, length: int, success: bool | None) -> None:
        if success is not None:
            self._total += length
        self._episodes += 1
        self._next += 1
        self._current = None
        if self._h5 is None:
            raise StudioError("writer was aborted", self.out)
        with self.writing():
            self._data.attrs["total"] = self._total
            self._h5.flush()

    def _episode_discarded(self, episode: LeIsaacEpisodeWriter) -> None:
        self._current = None
        if self._h5 is not None:  # after a failed write the file is gone already
            with self.writing():
                del self._data[episode.name]

    # -- failed writes ----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def writing(self) -> Any:
        """Around every HDF5 call that writes: a write the disk refused (now or earlier, when HDF5
        wrote on its own) or an HDF5 failure lets the file go and becomes one ``StudioError``
        naming the output."""
        try:
            yield
        except _H5_ERRORS as error:
            raise self._fault(self._storage_failure() or error) from None
        failure = self._storage_failure()
        if failure is not None:
            raise self._fault(failure) from None

    def _storage_failure(self) -> OSError | None:
        storage = getattr(self, "_storage", None)
        return storage.failure if storage is not None else None

    def _fault(self, error: BaseException) -> StudioError:
        self._close_file()
        code = fault_errno(error)
        if code is not None:
            problem, hint = FAULTS[code]
            return StudioError(problem, self.out, hint)
        return StudioError(f"cannot write the HDF5 file ({short_error(error)})", self.out)

    @property
    def num_episodes(self) -> int:
        return self._episodes

    # -- publish / roll back --------------------------------------------------------------------------
    def finish(self) -> Path:
        if self._done:
            return self.out.absolute()
        if self._h5 is None:
            raise StudioError("writer was aborted", self.out)
        try:
            if self._current is not None:  # like Ctrl+C in LeIsaac: kept, no success attribute
                if self._current.length:
                    self._current.end(success=None)
                else:
                    self._current.discard()
            if self._h5 is None:
                raise StudioError("writer was aborted", self.out)
            with self.writing():
                self._data.attrs["total"] = self._total
                self._data.attrs[FPS_ATTR] = float(self.spec.fps)
                for name, value in (self.spec.options.get("data_attrs") or {}).items():
                    if name not in OWN_DATA_ATTRS:
                        _set_attr(self._data, name, value)
                if self.spec.provenance is not None:
                    self._data.attrs[PROVENANCE_ATTR] = json.dumps(self.spec.provenance, default=str)
                # the last metadata reaches the disk here: a failure must not publish the file
                self._h5.flush()
                self._h5.close()
            self._close_file()
        except BaseException:
            self.abort()
            raise
        self._done = True
        self._stack.close()  # renames the temporary sibling onto self.out
        return self.out.absolute()

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        self._current = None
        self._close_file()
        self._stack.__exit__(Cancelled, Cancelled(), None)

    def _close_file(self) -> None:
        """Let the file go (done, or aborting: then the temporary file is removed next)."""
        self.buffers = {}
        h5, self._h5 = getattr(self, "_h5", None), None
        if h5 is not None:
            release_file(h5)
        storage, self._storage = getattr(self, "_storage", None), None
        if storage is not None:
            with contextlib.suppress(OSError):
                storage.close()


def default_provenance(
    operation: str, inputs: list[str], parameters: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "tool": "rollout-studio",
        "version": __version__,
        "operation": operation,
        "inputs": inputs,
        "parameters": parameters or {},
    }
