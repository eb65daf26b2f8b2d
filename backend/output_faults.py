"""Write failures that are the output location's fault, told as one sentence naming the OUTPUT.

A full disk (ENOSPC, EDQUOT), a file-size limit (EFBIG), a read-only file system (EROFS) or a folder
the user may not write to (EACCES, EPERM) surface from many layers: an ``OSError`` from Python, a
``RuntimeError`` from HDF5 ("errno = 28"), an ``OSError`` from Arrow ("[errno 28]"), an FFmpeg error
wrapped in a ``StudioError`` about the video, a camera process's report. Whatever the layer, the
user should read ``<out>: no space left on the device (free some space or choose another output)``,
never the input it happened to be copying from nor the hidden staging folder.

``fault_errno`` finds the errno in an exception (its causes and its text); ``output_fault`` turns an
exception into that one ``StudioError`` when it is such a fault of the given output.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from backend.errors import StudioError

# errno -> (problem, hint)
FAULTS: dict[int, tuple[str, str]] = {
    errno.ENOSPC: ("no space left on the device", "free some space or choose another output"),
    errno.EDQUOT: ("disk quota exceeded", "free some space or choose another output"),
    errno.EFBIG: (
        "file too large for this location (a file-size limit)",
        "choose an output on another file system or raise the limit",
    ),
    errno.EROFS: ("cannot write here (read-only file system)", "choose an output in a writable folder"),
    errno.EACCES: ("cannot write here (permission denied)", "choose an output in a writable folder"),
    errno.EPERM: ("cannot write here (operation not permitted)", "choose an output in a writable folder"),
}
# faults that only a write causes: no path is needed to blame the output
WRITE_ONLY = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})

_TEXT_PATTERNS = (
    re.compile(r"\[errno (\d+)\]", re.IGNORECASE),  # Python, Arrow
    re.compile(r"\berrno = (\d+)"),  # HDF5
)
_STRERRORS = {os.strerror(code).lower(): code for code in FAULTS}


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def fault_errno(error: BaseException) -> int | None:
    """The output-fault errno carried by ``error`` or its causes (attribute or text), else None."""
    for item in _chain(error):
        code = getattr(item, "errno", None)
        if isinstance(code, int) and code in FAULTS:
            return code
    for item in _chain(error):
        text = str(item)
        for pattern in _TEXT_PATTERNS:
            for match in pattern.finditer(text):
                if int(match.group(1)) in FAULTS:
                    return int(match.group(1))
        lowered = text.lower()
        for message, code in _STRERRORS.items():
            if message in lowered:
                return code
    return None


def _paths(error: BaseException) -> list[str]:
    found: list[str] = []
    for item in _chain(error):
        for name in ("filename", "filename2"):
            value = getattr(item, name, None)
            if isinstance(value, (str, bytes, os.PathLike)):
                found.append(os.fsdecode(value))
        if isinstance(item, StudioError) and item.path:
            found.append(item.path)
    return found


def _absolute(path: str | Path) -> Path:
    return Path(os.path.abspath(os.path.expanduser(os.fspath(path))))


def in_output_area(path: str | Path, out: str | Path) -> bool:
    """``path`` is ``out``, inside it, or its hidden staging sibling (``.<name>.partial-<pid>``...)."""
    path, out = _absolute(path), _absolute(out)
    if path == out or out in path.parents:
        return True
    staging = f".{out.name}."
    return any(p.parent == out.parent and p.name.startswith(staging) for p in (path, *path.parents))


def _mentions_output(text: str, out: Path) -> bool:
    return str(out) in text or str(out.parent / f".{out.name}.") in text


def output_fault(error: BaseException, outputs: Iterable[str | Path | None]) -> StudioError | None:
    """The one error to show when ``error`` is a write fault of one of ``outputs``; else None.

    The output is blamed when the failing path lies in its area (itself, inside, its staging), when
    the message names that area, or, for faults only a write can cause (full disk, file-size limit,
    read-only file system), in any case (shutil and converters name the input being copied).
    """
    code = fault_errno(error)
    if code is None:
        return None
    targets = [_absolute(o) for o in outputs if o is not None and str(o) != ""]
    problem, hint = FAULTS[code]
    paths = _paths(error)
    text = " ".join(str(item) for item in _chain(error))
    for out in targets:
        if any(in_output_area(p, out) for p in paths) or _mentions_output(text, out):
            return StudioError(problem, out, hint)
    if code not in WRITE_ONLY:
        return None  # permission denied on some other path (an input?): not the output's fault
    if targets:  # only writing fills a disk: the output, even when an input was being copied
        return StudioError(problem, targets[0], hint)
    return StudioError(problem, paths[-1] if paths else None, hint)
