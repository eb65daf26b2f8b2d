"""Atomic outputs and the one guarded delete: the only module that removes or replaces a path.

Rules (docs/conventions.md, "Data safety"):

- An output is built in a temporary sibling ``.<name>.partial-<pid>`` (same filesystem, so the final
  rename is atomic) and appears in one step; on any error or cancel the sibling is removed.
- An output may replace only something the studio wrote before, recognised by its ownership record:
  a folder carries ``.rollout_studio_output.json`` listing every file the studio put there (a folder
  holding any other file is refused; a LeRobot folder from before these records counts when it has
  the studio's provenance record and only format folders); a file is listed in the studio's output
  ledger (``<studio home>/outputs.jsonl``: path, size, mtime and inode, so a file changed since, or
  an HDF5 of another tool, is not the studio's).
- An output never equals, contains or lies inside an input (compared after resolving links).
- ``remove_path`` is the only delete: it removes staging (``.partial-``/``.old-`` siblings, the writers'
  ``.staging``/``.meta.new``/``.meta.old`` working folders and anything inside them), the studio's own
  outputs and paths under the studio's home; anything else raises :class:`UnsafeDelete`.
- Staging left by killed processes (their PID is gone) is removed at the start of any write into the
  same folder; ``stale_partials`` lists it (``validate`` reports it).
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as _dt
import json
import os
import re
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from backend.errors import StudioError
from backend.home import studio_home

PARTIAL_MARK = ".partial-"
OLD_MARK = ".old-"
OWNER_RECORD = ".rollout_studio_output.json"
OWNER_SCHEMA = "rollout_studio.output/1"
LEDGER_NAME = "outputs.jsonl"
# working folders the writers keep inside a dataset they append to (backend/formats/lerobot/writer.py)
SCRATCH_NAMES = frozenset({".staging", ".meta.new", ".meta.old"})
# a LeRobot output written before ownership records existed: its provenance record and format folders
_LEGACY_PROVENANCE = "meta/rollout_studio_provenance.json"
_LEGACY_TOP = frozenset({"meta", "data", "videos", "images"})
_STAGING_RE = re.compile(r"^\..+?(\.partial-|\.old-|\.tmp-)(\d+)$")


class UnsafeDelete(StudioError):
    """A delete or replace the data-safety rules forbid (a path the studio did not write)."""


# --------------------------------------------------------------------------------------------------
# paths


def _absolute(path: str | Path) -> Path:
    """``~`` expanded, relative paths made absolute against the current folder (links kept)."""
    return Path(os.path.abspath(os.path.expanduser(os.fspath(path))))


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _inside(child: Path, parent: Path) -> bool:
    return child != parent and parent in child.parents


# --------------------------------------------------------------------------------------------------
# ownership


def _ledger_path() -> Path:
    return studio_home() / LEDGER_NAME


def _file_key(path: Path) -> dict[str, object] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return {"path": str(_real(path)), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "ino": st.st_ino}


def _record_file(path: Path) -> None:
    """Add a published file to the ledger (best effort: an unlisted file is simply never replaced)."""
    key = _file_key(path)
    if key is None:
        return
    with contextlib.suppress(OSError):
        ledger = _ledger_path()
        ledger.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(ledger, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (json.dumps(key) + "\n").encode("utf-8"))
        finally:
            os.close(fd)


def _in_ledger(path: Path) -> bool:
    key = _file_key(path)
    if key is None:
        return False
    try:
        with open(_ledger_path(), encoding="utf-8") as handle:
            for line in handle:
                with contextlib.suppress(ValueError):
                    if json.loads(line) == key:
                        return True
    except OSError:
        return False
    return False


def _files_under(folder: Path) -> list[str]:
    """Every non-folder entry under ``folder`` (hidden ones too), as relative POSIX paths."""
    found = []
    for root, dirs, files in os.walk(folder):
        rel_root = Path(root).relative_to(folder)
        for name in files:
            found.append((rel_root / name).as_posix())
        for name in dirs:  # links to folders are entries the studio never makes
            if (Path(root) / name).is_symlink():
                found.append((rel_root / name).as_posix())
    return sorted(found)


def _is_scratch_rel(rel: str) -> bool:
    return any(part in SCRATCH_NAMES or _STAGING_RE.match(part) for part in rel.split("/"))


def _describe(names: list[str]) -> str:
    shown = ", ".join(names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def studio_wrote(path: str | Path) -> str | None:
    """``None`` when ``path`` is an output the studio wrote and nobody changed since; else why not."""
    path = _absolute(path)
    if path.is_symlink():
        return "is a symbolic link, not an output of the studio"
    if path.is_dir():
        record = path / OWNER_RECORD
        listed: set[str] | None = None
        if record.is_file():
            with contextlib.suppress(OSError, ValueError, TypeError):
                data = json.loads(record.read_text(encoding="utf-8"))
                if data.get("schema") == OWNER_SCHEMA:
                    listed = set(data.get("files", []))
        if listed is None:
            if not (path / _LEGACY_PROVENANCE).is_file():
                return "is a folder the studio did not write (it has no ownership record)"
            files = [f for f in _files_under(path) if not _is_scratch_rel(f)]
            foreign = [f for f in files if f.split("/")[0] not in _LEGACY_TOP]
        else:
            files = [f for f in _files_under(path) if f != OWNER_RECORD and not _is_scratch_rel(f)]
            foreign = [f for f in files if f not in listed]
        if foreign:
            return f"holds files the studio did not write ({_describe(foreign)})"
        return None
    if path.is_file():
        if _in_ledger(path):
            return None
        return "is a file the studio did not write (or it changed since)"
    if path.exists():
        return "is not a regular file or folder"
    return None


def refuse_inside_inputs(target: str | Path, inputs: Iterable[str | Path | None]) -> Path:
    """Raise when ``target`` equals, contains or lies inside one of ``inputs``; returns it absolute."""
    out = _absolute(target)
    real_out = _real(out)
    for source in inputs:
        if source is None or str(source) == "":
            continue
        src = _absolute(source)
        real_src = _real(src)
        if real_out == real_src:
            raise StudioError("the output is the input itself", out, "choose another output")
        if _inside(real_src, real_out):
            raise StudioError(f"the output would contain the input {src}", out, "choose another output")
        if _inside(real_out, real_src):
            raise StudioError(f"the output would lie inside the input {src}", out, "choose another output")
    return out


def check_output(target: str | Path, inputs: Iterable[str | Path | None] = (), overwrite: bool = False) -> Path:
    """Refuse an output that would destroy data; returns the absolute target.

    Refused: a target equal to, containing or inside any input; an existing target without
    ``overwrite``; with ``overwrite``, an existing target the studio did not write.
    """
    out = refuse_inside_inputs(target, inputs)
    if out.exists() or out.is_symlink():
        if not overwrite:
            raise StudioError(
                "output already exists", out, "choose another output, or replace it if the studio wrote it"
            )
        why = studio_wrote(out)
        if why is not None:
            raise UnsafeDelete(f"cannot replace: it {why}", out, "choose another output")
    return out


# --------------------------------------------------------------------------------------------------
# the one delete


def _staging_owner(name: str) -> int | None:
    match = _STAGING_RE.match(name)
    return int(match.group(2)) if match else None


def _is_scratch(path: Path) -> bool:
    return any(part in SCRATCH_NAMES or _STAGING_RE.match(part) for part in path.parts)


_STATE_ROOTS: set[Path] = set()


def register_state_root(folder: str | Path) -> None:
    """Declare a folder of the studio's own state (a job store kept outside the studio's home)."""
    _STATE_ROOTS.add(_real(_absolute(folder)))


def _under_home(path: Path) -> bool:
    real = _real(path)
    return any(_inside(real, root) for root in (_real(studio_home()), *_STATE_ROOTS))


def remove_path(path: str | Path) -> None:
    """Delete a file or folder the studio owns; refuse anything else (:class:`UnsafeDelete`).

    Owned: staging and working folders (or anything inside them), outputs the studio wrote
    (``studio_wrote``), and paths under the studio's home (job store, logs). A missing path is fine.
    """
    path = _absolute(path)
    if not (path.exists() or path.is_symlink()):
        return
    if not (_is_scratch(path) or _under_home(path) or studio_wrote(path) is None):
        raise UnsafeDelete("refusing to delete a path the studio did not write", path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
        if path.exists():  # read-only leftovers: one more try after making them writable
            for root, dirs, _files in os.walk(path):
                for name in dirs:
                    with contextlib.suppress(OSError):
                        os.chmod(os.path.join(root, name), 0o700)
            shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def remove_link(link: str | Path, expected_target: str | Path) -> bool:
    """Remove the symbolic link ``link`` only while it points at ``expected_target``; True if removed."""
    link = _absolute(link)
    try:
        if not link.is_symlink() or os.readlink(link) != os.fspath(expected_target):
            return False
        link.unlink()
    except OSError:
        return False
    return True


def place_link(link: str | Path, target: str | Path) -> None:
    """Make ``link`` a symbolic link to ``target``; replaces only a symbolic link, never a file."""
    link = _absolute(link)
    if (link.exists() or link.is_symlink()) and not link.is_symlink():
        raise UnsafeDelete("is not a symbolic link; refusing to replace it", link, "choose another link path")
    tmp = link.with_name(f".{link.name}{PARTIAL_MARK}{os.getpid()}")
    remove_path(tmp)
    os.symlink(os.fspath(target), tmp)
    os.replace(tmp, link)


def remove_empty_dir(path: str | Path) -> bool:
    """Remove ``path`` if it is an empty folder (never anything with content); True when removed."""
    try:
        _absolute(path).rmdir()
    except OSError:
        return False
    return True


# --------------------------------------------------------------------------------------------------
# stale staging of killed runs


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _process_start(pid: int) -> float | None:
    """Start time of ``pid`` (seconds since the epoch), from /proc; None where unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[19])
        boot = next(
            int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime")
        )
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _owner_gone(entry: Path, pid: int) -> bool:
    if pid == os.getpid():
        return False
    if not _pid_alive(pid):
        return True
    started = _process_start(pid)
    try:
        made = entry.lstat().st_mtime
    except OSError:
        return False
    # the PID was reused by a process that started after the staging was last written to
    return started is not None and started > made + 2.0


def stale_partials(folder: str | Path) -> list[Path]:
    """Staging entries in ``folder`` whose process is gone (left by a kill or a crash)."""
    folder = _absolute(folder)
    try:
        entries = list(folder.iterdir())
    except OSError:
        return []
    stale = []
    for entry in entries:
        pid = _staging_owner(entry.name)
        if pid is not None and _owner_gone(entry, pid):
            stale.append(entry)
    return sorted(stale)


def remove_stale_partials(folder: str | Path) -> list[Path]:
    """Remove the staging that killed runs left in ``folder``; returns what was removed."""
    removed = []
    for entry in stale_partials(folder):
        with contextlib.suppress(OSError, UnsafeDelete):
            remove_path(entry)
            removed.append(entry)
    return removed


# --------------------------------------------------------------------------------------------------
# publishing


def _partial_sibling(target: Path) -> Path:
    return target.with_name(f".{target.name}{PARTIAL_MARK}{os.getpid()}")


_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2


def _renameat2(a: Path, b: Path, flags: int) -> int | None:
    """0 on success, an errno on failure, None where renameat2 is unavailable."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return None
    at_fdcwd = -100
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), flags) == 0:
        return 0
    error = ctypes.get_errno()
    import errno

    return None if error in (errno.ENOSYS, errno.EINVAL) else error


def exchange_paths(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE). False where unsupported."""
    return _renameat2(a, b, _RENAME_EXCHANGE) == 0


def _publish_new(tmp: Path, target: Path) -> None:
    """Rename ``tmp`` to ``target``, which must not exist (never silently replaces a late arrival)."""
    result = _renameat2(tmp, target, _RENAME_NOREPLACE)
    if result == 0:
        return
    if result is None:
        if target.exists():
            raise StudioError("output appeared while it was being written", target, "choose another output")
        os.replace(tmp, target)
        return
    import errno

    if result == errno.EEXIST:
        raise StudioError("output appeared while it was being written", target, "choose another output")
    raise OSError(result, os.strerror(result), str(target))


def replace_dir(new: Path, target: Path) -> None:
    """Put folder ``new`` at ``target`` (which exists and is the studio's) so it is never missing.

    With RENAME_EXCHANGE the swap is one atomic step and the old content ends up at ``new``'s name
    (a ``.partial-`` sibling that the next run removes if we die before deleting it).
    """
    if exchange_paths(new, target):
        remove_path(new)
        return
    old = target.with_name(f".{target.name}{OLD_MARK}{os.getpid()}")
    os.replace(target, old)
    os.replace(new, target)
    remove_path(old)


def _make_parents(target: Path) -> list[Path]:
    """Create the missing folders above ``target``; returns those created (outermost first)."""
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
        if not remove_empty_dir(folder):
            break


def _unwritable(target: Path, error: OSError) -> StudioError:
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


def _write_owner_record(folder: Path) -> None:
    files = [f for f in _files_under(folder) if f != OWNER_RECORD and not _is_scratch_rel(f)]
    from backend import __version__

    record = {
        "schema": OWNER_SCHEMA,
        "tool": "rollout-studio",
        "version": __version__,
        "created": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "files": files,
    }
    (folder / OWNER_RECORD).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


def mark_folder_output(folder: str | Path) -> None:
    """Write (or refresh) the ownership record of a folder output written in place (append mode)."""
    _write_owner_record(_absolute(folder))


@contextlib.contextmanager
def atomic_dir(
    target: str | Path, overwrite: bool = False, inputs: Iterable[str | Path | None] = ()
) -> Iterator[Path]:
    """Yield a temporary folder; on success it becomes ``target`` in one rename.

    On any exception (including ``Cancelled`` and KeyboardInterrupt) the temporary folder is removed
    and ``target`` is untouched. With ``overwrite`` an existing target is replaced, only when the
    studio wrote it, and only after the new one is complete.
    """
    target = check_output(target, inputs, overwrite)
    created = _make_parents(target)
    remove_stale_partials(target.parent)
    tmp = _partial_sibling(target)
    remove_path(tmp)
    try:
        tmp.mkdir()
    except OSError as error:
        _remove_created(created)
        raise _unwritable(target, error) from None
    try:
        yield tmp
        try:
            _write_owner_record(tmp)
        except OSError as error:
            raise _unwritable(target, error) from None
        if target.exists() or target.is_symlink():
            why = studio_wrote(target)
            if why is not None:  # changed while we were writing
                raise UnsafeDelete(f"cannot replace: it {why}", target, "choose another output")
            replace_dir(tmp, target)
        else:
            _publish_new(tmp, target)
    except BaseException:
        remove_path(tmp)
        _remove_created(created)
        raise
    _fsync_dir(target.parent)


@contextlib.contextmanager
def atomic_file(
    target: str | Path, overwrite: bool = False, inputs: Iterable[str | Path | None] = ()
) -> Iterator[Path]:
    """Yield a temporary file path; on success it becomes ``target`` atomically.

    An existing ``target`` is replaced only with ``overwrite`` and only when the studio wrote it.
    """
    target = check_output(target, inputs, overwrite)
    created = _make_parents(target)
    remove_stale_partials(target.parent)
    tmp = _partial_sibling(target)
    published = False
    try:
        try:
            yield tmp
        except OSError as error:
            if error.filename is not None and _absolute(os.fsdecode(error.filename)) == tmp:
                raise _unwritable(target, error) from None  # the folder takes no new file
            raise
        if tmp.exists():
            try:
                with open(tmp, "rb+") as handle:
                    os.fsync(handle.fileno())
                if target.exists() or target.is_symlink():
                    why = studio_wrote(target)
                    if why is not None:
                        raise UnsafeDelete(f"cannot replace: it {why}", target, "choose another output")
                    os.replace(tmp, target)
                else:
                    _publish_new(tmp, target)
            except OSError as error:
                raise _unwritable(target, error) from None
            published = True
            if not _is_scratch(target):  # a file inside another output's staging is that output's
                _record_file(target)
            _fsync_dir(target.parent)
    finally:
        remove_path(tmp)
        if not published:
            _remove_created(created)


def write_text_atomic(target: str | Path, text: str) -> None:
    """Save one of the studio's own state files (settings, curation, calibration): always replaced.

    Not for outputs a user names: those go through :func:`atomic_file` and its ownership rule.
    """
    write_bytes_atomic(target, text.encode("utf-8"))


def write_bytes_atomic(target: str | Path, data: bytes) -> None:
    """:func:`write_text_atomic` for a binary state file (the learned judgement's tensors)."""
    target = _absolute(target)
    created = _make_parents(target)
    remove_stale_partials(target.parent)
    tmp = _partial_sibling(target)
    try:
        tmp.write_bytes(data)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as error:
        remove_path(tmp)
        _remove_created(created)
        raise _unwritable(target, error) from None
    _fsync_dir(target.parent)
