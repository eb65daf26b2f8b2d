"""LeIsaac / Isaac Lab recording HDF5 (formats.md section 1): detect, open, validate, write, copy.

    detect(path) -> DatasetFormat.LEISAAC_HDF5 | None
    open(path, fps=None) -> Dataset          features keep the HDF5 keys; joints in RADIANS
    validate(path) -> list[Problem]
    create_writer(fmt, out, spec, overwrite) -> LeIsaacHDF5Writer
    copy_to_hdf5(dataset, out, progress=None) -> Path
    read_initial_state(episode) -> nested dict of arrays
    live.LiveFile(path, ...)                 a recording appended in place, crash-safe (the teleop
                                             recorder streams its steps into it)
    recovery.find_unfinished / recover / check_readable   after a crash

See docs/formats-hdf5.md for the mapping to the data model.
"""

from __future__ import annotations

from pathlib import Path

import h5py

from backend.errors import StudioError
from backend.formats.base import WriterSpec
from backend.formats.leisaac_hdf5._common import DEFAULT_FPS, SUFFIXES, demo_number, has_hdf5_signature
from backend.formats.leisaac_hdf5.copy import copy_to_hdf5, writer_spec_for
from backend.formats.leisaac_hdf5.reader import LeIsaacReader, open_dataset, read_initial_state
from backend.formats.leisaac_hdf5.validate import validate
from backend.formats.leisaac_hdf5.writer import LeIsaacEpisodeWriter, LeIsaacHDF5Writer, default_provenance
from backend.model import Dataset, DatasetFormat

WRITABLE = (DatasetFormat.LEISAAC_HDF5,)

__all__ = [
    "DEFAULT_FPS",
    "WRITABLE",
    "LeIsaacEpisodeWriter",
    "LeIsaacHDF5Writer",
    "LeIsaacReader",
    "copy_to_hdf5",
    "create_writer",
    "default_provenance",
    "detect",
    "open",
    "read_initial_state",
    "validate",
    "writer_spec_for",
]

def detect(path: Path) -> DatasetFormat | None:
    """A file with a /data group of demo_N groups; a broken .hdf5/.h5 is claimed by its name."""
    path = Path(path)
    if not path.is_file():
        return None
    named = path.suffix.lower() in SUFFIXES
    if not named and not has_hdf5_signature(path):
        return None
    try:
        with h5py.File(path, "r") as h5:
            data = h5.get("data")
            if not isinstance(data, h5py.Group):
                return None
            if any(demo_number(name) is not None for name in data.keys()) or "env_args" in data.attrs:
                return DatasetFormat.LEISAAC_HDF5
            return DatasetFormat.LEISAAC_HDF5 if named and len(data) == 0 else None
    except (OSError, ValueError):
        # truncated or corrupt: claim it by extension so that open() can say what is wrong
        return DatasetFormat.LEISAAC_HDF5 if named else None


def open(path: Path, fps: float | None = None) -> Dataset:  # noqa: A001 - registry contract name
    """Open a LeIsaac HDF5 file read-only (kept open until ``Dataset.close()``)."""
    return open_dataset(Path(path), fps=fps)


def create_writer(
    fmt: DatasetFormat | str, out: Path, spec: WriterSpec, overwrite: bool = False
) -> LeIsaacHDF5Writer:
    if DatasetFormat(fmt) is not DatasetFormat.LEISAAC_HDF5:
        raise StudioError(
            f"this module writes {DatasetFormat.LEISAAC_HDF5.value}, not {DatasetFormat(fmt).value}"
        )
    return LeIsaacHDF5Writer(out, spec, overwrite=overwrite)
