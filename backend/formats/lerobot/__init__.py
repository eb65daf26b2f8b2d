"""LeRobot datasets: read v2.0 / v2.1 / v3.0, validate, write v2.1 / v3.0, copy any Dataset.

Registry contract (``backend.formats``): ``detect``, ``open``, ``validate``, ``create_writer``,
``WRITABLE``. Also ``copy_dataset(dataset, out, fmt, progress=None, codec=None)``.
See docs/formats-lerobot.md.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backend.errors import FormatError
from backend.formats.base import WriterSpec
from backend.formats.lerobot.common import EPISODES_DIR, EPISODES_JSONL, INFO_PATH, format_for_version
from backend.formats.lerobot.validate import validate_lerobot  # before ``def validate`` below (same name)
from backend.model import Dataset, DatasetFormat
from backend.validation import Problem

if TYPE_CHECKING:
    from backend.formats.lerobot.copy import copy_dataset
    from backend.formats.lerobot.reader import open_lerobot
    from backend.formats.lerobot.stream import VideoWindowStream
    from backend.formats.lerobot.writer import LeRobotEpisodeWriter, LeRobotWriter

# loaded on first use: detecting a folder or reading its metadata (inspect) needs no video or writer code
_LAZY = {
    "copy_dataset": "backend.formats.lerobot.copy",
    "open_lerobot": "backend.formats.lerobot.reader",
    "VideoWindowStream": "backend.formats.lerobot.stream",
    "LeRobotEpisodeWriter": "backend.formats.lerobot.writer",
    "LeRobotWriter": "backend.formats.lerobot.writer",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

WRITABLE = (DatasetFormat.LEROBOT_V21, DatasetFormat.LEROBOT_V30)

__all__ = [
    "WRITABLE",
    "LeRobotEpisodeWriter",
    "LeRobotWriter",
    "VideoWindowStream",
    "copy_dataset",
    "create_writer",
    "detect",
    "open",
    "open_lerobot",
    "validate",
    "validate_lerobot",
]


def detect(path: Path) -> DatasetFormat | None:
    """A folder with meta/info.json (or the rest of a LeRobot layout) -> its LeRobot version."""
    path = Path(path)
    if not path.is_dir():
        return None
    info_path = path / INFO_PATH
    if info_path.is_file():
        try:
            version = json.loads(info_path.read_text(encoding="utf-8")).get("codebase_version")
        except (OSError, UnicodeDecodeError, ValueError, AttributeError):
            version = None
        fmt = format_for_version(version)
        if fmt is not None:
            return fmt
    # a LeRobot layout without a readable info.json: claim it so open() names what is wrong
    if (path / EPISODES_JSONL).is_file():
        return DatasetFormat.LEROBOT_V21
    if (path / EPISODES_DIR).is_dir() or info_path.is_file():
        return DatasetFormat.LEROBOT_V30
    return None


def open(path: Path) -> Dataset:  # noqa: A001 - the registry's name
    """Open a LeRobot folder; FormatError names the file that is missing or broken."""
    path = Path(path)
    if not path.exists():
        raise FormatError("no such folder", path)
    from backend.formats.lerobot.reader import open_lerobot

    return open_lerobot(path)


def validate(path: Path) -> list[Problem]:
    return validate_lerobot(Path(path))


def create_writer(
    fmt: DatasetFormat | str, out: Path, spec: WriterSpec, overwrite: bool = False
) -> LeRobotWriter:
    from backend.formats.lerobot.writer import LeRobotWriter

    return LeRobotWriter(fmt, out, spec, overwrite)
