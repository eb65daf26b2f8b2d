"""Atomic outputs: build beside the destination, rename at the end, never leave half a result.

A temporary sibling (same filesystem, so ``os.replace`` is atomic) is named
``.<name>.partial-<pid>``; stale ones from killed runs are removed on the next run.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

PARTIAL_MARK = ".partial-"


def _partial_sibling(target: Path) -> Path:
    return target.with_name(f".{target.name}{PARTIAL_MARK}{os.getpid()}")


def remove_stale_partials(target: Path) -> None:
    """Delete leftovers of earlier killed runs aimed at ``target``."""
    parent = target.parent
    if not parent.is_dir():
        return
    prefix = f".{target.name}{PARTIAL_MARK}"
    for entry in parent.iterdir():
        if entry.name.startswith(prefix):
            pid_text = entry.name[len(prefix):]
            if pid_text.isdigit() and _pid_alive(int(pid_text)) and int(pid_text) != os.getpid():
                continue  # another live run owns it
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    entry.unlink()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_RENAME_EXCHANGE = 2


def exchange_paths(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE). False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    result = renameat2(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), _RENAME_EXCHANGE)
    return result == 0


def replace_dir(new: Path, target: Path) -> None:
    """Put folder ``new`` at ``target`` (which exists) so that ``target`` is never missing.

    With RENAME_EXCHANGE the swap is one atomic step and the old content ends up at ``new``'s name
    (a ``.partial-`` sibling that the next run removes if we die before deleting it).
    """
    if exchange_paths(new, target):
        shutil.rmtree(new, ignore_errors=True)
        return
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)


def refuse_inside_inputs(target: str | Path, inputs: list[str | Path | None]) -> None:
    """Raise when ``target`` is one of ``inputs`` or lies inside one (inputs are never modified)."""
    from backend.errors import StudioError

    out = Path(target).absolute()
    for source in inputs:
        if source is None:
            continue
        src = Path(source).absolute()
        if out == src or src in out.parents:
            raise StudioError("output would be written inside or over an input", out, "choose another output")


def _make_parents(target: Path) -> list[Path]:
    """Create the missing folders above ``target``; returns those created (outermost first).

    A location where nothing can be written is a user-fixable problem, not a crash.
    """
    from backend.errors import StudioError

    missing = [p for p in reversed(target.parents) if not p.exists()]
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        _remove_created(missing)
        raise StudioError(
            f"cannot create the output folder ({error.strerror or error})",
            target.parent,
            "choose an output in a writable folder",
        ) from None
    return missing


def _remove_created(created: list[Path]) -> None:
    """Remove the (still empty) folders ``_make_parents`` created, innermost first."""
    for folder in reversed(created):
        try:
            folder.rmdir()
        except OSError:
            break


def _unwritable(target: Path, error: OSError) -> Exception:
    from backend.errors import StudioError

    return StudioError(
        f"cannot write the output here ({error.strerror or error})",
        target,
        "choose an output in a writable folder",
    )


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_dir(target: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder; on success it becomes ``target`` in one rename.

    On any exception (including ``Cancelled`` and KeyboardInterrupt) the temporary folder is removed
    and ``target`` is untouched. With ``overwrite`` an existing target is replaced only after the new
    one is complete.
    """
    target = Path(target).absolute()
    if target.exists() and not overwrite:
        from backend.errors import StudioError

        raise StudioError("output already exists", target, "choose another --out or remove it")
    created = _make_parents(target)
    remove_stale_partials(target)
    tmp = _partial_sibling(target)
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        tmp.mkdir()
    except OSError as error:
        _remove_created(created)
        raise _unwritable(target, error) from None
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        _remove_created(created)
        raise
    if target.exists():
        replace_dir(tmp, target)
    else:
        os.replace(tmp, target)
    _fsync_dir(target.parent)


@contextlib.contextmanager
def atomic_file(target: str | Path, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary file path; on success it replaces ``target`` atomically."""
    target = Path(target).absolute()
    if target.exists() and not overwrite:
        from backend.errors import StudioError

        raise StudioError("output already exists", target, "choose another output or remove it")
    created = _make_parents(target)
    remove_stale_partials(target)
    tmp = _partial_sibling(target)
    published = False
    try:
        try:
            yield tmp
        except OSError as error:
            if error.filename is not None and Path(os.fsdecode(error.filename)) == tmp:
                raise _unwritable(target, error) from None  # the folder takes no new file
            raise
        if tmp.exists():
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            try:
                os.replace(tmp, target)
            except OSError as error:
                raise _unwritable(target, error) from None
            published = True
            _fsync_dir(target.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        if not published:
            _remove_created(created)


def write_text_atomic(target: str | Path, text: str) -> None:
    with atomic_file(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
