"""Publish each episode: the files a v2.1 dataset written in place keeps beside its episodes, and the
repair after a crash.

A writer with ``publish_each_episode`` works inside the destination: frames are encoded into
``<out>/.staging/``, each finished episode is fsynced and renamed into place, and ``meta/`` is rebuilt
in ``.meta.new/meta`` and swapped in (see ``writer.py``). ``recover_append`` undoes what a crash left.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from backend.atomic import OLD_MARK, exchange_paths, remove_path
from backend.errors import StudioError
from backend.formats.lerobot.common import INFO_PATH, read_json

STAGING = ".staging"
META_NEW = ".meta.new"
META_OLD = ".meta.old"


def fsync_file(path: Path) -> None:
    with contextlib.suppress(OSError), open(path, "rb") as handle:
        os.fsync(handle.fileno())


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def swap_meta(root: Path) -> None:
    """``.meta.new/meta`` -> ``meta``: one atomic exchange, or two renames that recovery repairs."""
    new, current = root / META_NEW / "meta", root / "meta"
    if current.exists() and exchange_paths(new, current):
        fsync_dir(root)
        remove_path(root / META_NEW)  # holds the old meta now
        return
    old = root / META_OLD
    remove_path(old)
    if current.exists():
        os.replace(current, old)
    os.replace(new, current)
    fsync_dir(root)
    remove_path(root / META_NEW)
    remove_path(old)


def _discard(path: Path, root: Path) -> None:
    """Remove what an unfinished episode or metadata update left in ``root``: moved into the
    writer's scratch folder first, so the delete goes through the guarded helper."""
    if not (path.exists() or path.is_symlink()):
        return
    scratch = root / STAGING / f".discard{OLD_MARK}{os.getpid()}"
    scratch.mkdir(parents=True, exist_ok=True)
    os.replace(path, scratch / path.name)
    remove_path(scratch)


def _episode_number(path: Path) -> int | None:
    try:
        return int(path.stem.split("_")[-1])
    except ValueError:
        return None


def _unlisted_episode_files(root: Path, total: int) -> list[Path]:
    found = []
    for folder in ("data", "videos"):
        base = root / folder
        if base.is_dir():
            for path in base.rglob("episode_*"):
                number = _episode_number(path)
                if number is not None and number >= total and path.is_file():
                    found.append(path)
    return sorted(found)


def has_unfinished_append(root: str | Path) -> bool:
    """True when a dataset written with publish_each_episode holds what a crash left behind: the
    running episode's staged files, files of an episode that meta/ does not list, a half-done swap."""
    root = Path(root)
    if (root / META_NEW).exists() or (root / META_OLD).exists():
        return True
    staging = root / STAGING
    if staging.is_dir() and any(staging.iterdir()):
        return True
    info_path = root / INFO_PATH
    if not info_path.is_file():
        return (root / "data").is_dir()
    try:
        total = int(read_json(info_path).get("total_episodes", 0))
    except (StudioError, ValueError, TypeError):
        return True
    return bool(_unlisted_episode_files(root, total))


def recover_append(root: str | Path) -> list[str]:
    """Repair a dataset written with publish_each_episode after a crash; returns what was done.

    Finishes or undoes a cut-short meta/ swap, then removes the running episode's staged files and
    any data/video file of an episode that meta/ does not list. Finished episodes are untouched.
    """
    root = Path(root)
    done: list[str] = []
    current, old, new = root / "meta", root / META_OLD, root / META_NEW / "meta"
    if not (current / "info.json").is_file():
        if (new / "info.json").is_file():
            _discard(current, root)
            os.replace(new, current)
            done.append("finished an interrupted metadata update")
        elif (old / "info.json").is_file():
            _discard(current, root)
            os.replace(old, current)
            done.append("restored the previous metadata")
    remove_path(root / META_NEW)
    remove_path(old)
    staging = root / STAGING
    if staging.exists():
        if staging.is_dir() and any(staging.iterdir()):
            done.append("removed the unfinished episode's staged files")
        remove_path(staging)
    if not (current / "info.json").is_file():
        return done
    total = int(read_json(current / "info.json").get("total_episodes", 0))
    for path in _unlisted_episode_files(root, total):
        _discard(path, root)
        done.append(f"removed {path.relative_to(root)} of an unfinished episode")
    return done


def move_into_place(source: Path, target: Path) -> None:
    """Rename a finished file from staging to its place, its bytes on disk first."""
    fsync_file(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)
