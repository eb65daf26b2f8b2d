"""Format registry: probe a path, open it as a Dataset, validate it, create writers.

Each format module in this package exposes:
    detect(path: Path) -> DatasetFormat | None
    open(path: Path) -> backend.model.Dataset
    validate(path: Path) -> list[backend.validation.Problem]
    create_writer(fmt, out, spec, overwrite) -> backend.formats.base.DatasetWriter   (writable formats)
A new format is one new module added to FORMAT_MODULES. Its reader and writer classes declare
``capabilities`` (``backend.formats.base.Capability``); converters read ``reader_capabilities(dataset)``
and ``writer.capabilities`` instead of probing for methods.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from types import ModuleType

from backend.errors import StudioError, UnknownFormatError
from backend.formats.base import DatasetWriter, WriterSpec
from backend.model import Dataset, DatasetFormat
from backend.paths import file_problem, folder_problem
from backend.validation import Problem

FORMAT_MODULES = [
    "backend.formats.leisaac_hdf5",
    "backend.formats.lerobot",
    "backend.formats.cosmos_outputs",
]


def _modules() -> list[ModuleType]:
    return [importlib.import_module(n) for n in FORMAT_MODULES if importlib.util.find_spec(n) is not None]


def detect_format(path: str | Path) -> tuple[DatasetFormat, ModuleType]:
    path = Path(path)
    problem = folder_problem(path) if path.is_dir() else file_problem(path)
    if problem is not None:  # not found, permission denied: said as such, not "unknown format"
        raise problem
    for name in FORMAT_MODULES:  # imported one by one: an HDF5 file never loads LeRobot's modules
        if importlib.util.find_spec(name) is None:
            continue
        module = importlib.import_module(name)
        fmt = module.detect(path)
        if fmt is not None:
            return fmt, module
    raise UnknownFormatError(
        "not a dataset the studio knows",
        path,
        "expected a LeIsaac .hdf5, a LeRobot folder (meta/info.json) or a folder of Cosmos <name>.mp4 + <name>.json",
    )


def open_dataset(path: str | Path) -> Dataset:
    """Open any supported dataset; raises StudioError with the file and the problem."""
    _, module = detect_format(path)
    return module.open(Path(path))


def validate_path(path: str | Path) -> list[Problem]:
    _, module = detect_format(path)
    return module.validate(Path(path))


def open_writer(fmt: DatasetFormat | str, out: str | Path, spec: WriterSpec, overwrite: bool = False) -> DatasetWriter:
    fmt = DatasetFormat(fmt)
    for module in _modules():
        if fmt in getattr(module, "WRITABLE", ()):
            return module.create_writer(fmt, Path(out), spec, overwrite)
    raise StudioError(f"cannot write {fmt.value}")
