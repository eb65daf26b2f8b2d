"""Paths a user gives: made absolute once, at the boundary, and told apart when they cannot be read.

Every path a command receives (a CLI argument, an options field, a job parameter) goes through
``user_path`` before any child process, thread or change of working folder sees it: ``~`` is
expanded and a relative path is joined to the current folder. Nothing else changes: symlinks are
not resolved and ``..`` is not folded, so a message names the path the way the user wrote it, only
absolute (and the OS, not string rules, decides what ``..`` after a symlink means).

``file_problem`` / ``folder_problem`` say why an input cannot be opened, in the user's words: not
found, permission denied, a folder where a file is expected (or the other way round). Format
readers call them before blaming the contents ("truncated or corrupt").
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from backend.errors import StudioError

NOT_FOUND = "no such file or folder"


def user_path(path: str | os.PathLike[str]) -> Path:
    """``path`` with ``~`` expanded, absolute against the current folder; raises ValueError when empty."""
    text = os.path.expanduser(os.fspath(path))
    if not text:
        raise ValueError("empty path")
    return Path(text).absolute()


def optional_user_path(path: str | os.PathLike[str] | None) -> Path | None:
    """``user_path`` of ``path``, None (and '') kept as None."""
    if path is None or os.fspath(path) == "":
        return None
    return user_path(path)


def looks_like_path(text: str) -> bool:
    """Whether a "name or file" value (a preset key or a JSON file, a camera index or a video file)
    names a file: it has a folder part, starts with ``~`` or ``.``, or has a suffix."""
    return os.sep in text or text.startswith(("~", ".")) or bool(Path(text).suffix)


def os_error_problem(error: OSError, path: str | os.PathLike[str]) -> StudioError:
    """An OSError from opening ``path`` as a one-line user error (not found, permission denied, ...)."""
    code = error.errno
    if code == errno.ENOENT:
        return StudioError(NOT_FOUND, path)
    if code == errno.ENOTDIR:
        return StudioError(NOT_FOUND, path, "a part of the path is a file, not a folder")
    if code in (errno.EACCES, errno.EPERM):
        return StudioError("permission denied", path, "you may not read it: check its permissions")
    if code == errno.EISDIR:
        return StudioError("is a folder, not a file", path)
    if code == errno.ELOOP:
        return StudioError("symbolic link loop", path)
    return StudioError(error.strerror or str(error), path)


def file_problem(path: str | os.PathLike[str]) -> StudioError | None:
    """Why ``path`` cannot be opened as a file for reading, or None when it can."""
    try:  # non-blocking: a FIFO must not hang the check
        os.close(os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)))
    except OSError as error:
        return os_error_problem(error, path)
    if os.path.isdir(path):  # Linux opens folders read-only without complaint
        return StudioError("is a folder, not a file", path)
    return None


def folder_problem(path: str | os.PathLike[str]) -> StudioError | None:
    """Why ``path`` cannot be listed as a folder, or None when it can."""
    try:
        with os.scandir(path):
            pass
    except OSError as error:
        if isinstance(error, NotADirectoryError) and os.path.isfile(path):
            return StudioError("is a file, not a folder", path)
        return os_error_problem(error, path)
    return None
