"""Crash reports: what went wrong, on what versions, after which log lines; offered at the next start.

``install()`` (the GUI calls it first thing) keeps the process's last log lines (``logging`` records,
warnings and whatever is written to stderr) in ``<studio home>/crashes/session-PID.log``, and makes
any uncaught exception (main thread or another thread) write ``crash-STAMP-PID.txt``: the traceback,
the versions (``backend.versions``) and the last log lines. A hard crash (a segfault, an abort in a
library) leaves Python's fault dump (``faulthandler``) in ``fault-PID.log``; the next start turns it
into a report too. ``pending()`` lists the reports not offered yet; ``mark_offered`` records that
the user saw one. A clean exit removes its session files.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import datetime as _dt
import faulthandler
import json
import logging
import os
import sys
import threading
import traceback
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from backend.atomic import remove_path, write_text_atomic
from backend.home import studio_home

KEEP_LINES = 200  # the last log lines a report carries
SESSION_LIMIT = 1 << 20  # the session log starts over (from its last lines) past this size
OFFERED = "offered.json"

_state: dict[str, Any] = {}
_recent: collections.deque[str] = collections.deque(maxlen=KEEP_LINES)
_lock = threading.Lock()


def crash_dir() -> Path:
    return studio_home() / "crashes"


def _stamp() -> str:
    return _dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def recent_lines() -> list[str]:
    with _lock:
        return list(_recent)


def note(line: str) -> None:
    """Add a line to the log a report carries (in memory and in the session file)."""
    line = line.rstrip("\n")
    if not line:
        return
    with _lock:
        _recent.append(line)
        handle = _state.get("session")
        if handle is None:
            return
        with contextlib.suppress(OSError, ValueError):
            handle.write(line + "\n")
            handle.flush()
            if handle.tell() > SESSION_LIMIT:
                handle.seek(0)
                handle.truncate()
                handle.write("\n".join(_recent) + "\n")
                handle.flush()


class _Lines(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            note(self.format(record))


class _Tee:
    """stderr that also notes each line it writes."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._partial = ""

    def write(self, text: str) -> int:
        self._partial += text
        *lines, self._partial = self._partial.split("\n")
        for line in lines:
            note(line)
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def write_report(
    exc_type: type[BaseException] | None,
    exc: BaseException | None,
    tb: TracebackType | None,
    *,
    what: str = "an uncaught error",
    trace_text: str | None = None,
    log_lines: list[str] | None = None,
    qt_runtime: str | None = None,
) -> Path:
    """Write one report into ``crash_dir()`` and return its path."""
    from backend.versions import collect, format_text  # noqa: PLC0415 - only when it happens

    if trace_text is None:
        trace_text = "".join(traceback.format_exception(exc_type, exc, tb)) if exc_type else "(no traceback)"
    try:
        versions = format_text(collect(qt_runtime or _state.get("qt_runtime")))
    except Exception as error:  # noqa: BLE001 - a report must be written even then
        versions = f"(versions unavailable: {error})"
    lines = recent_lines() if log_lines is None else log_lines
    text = (
        f"Rollout Studio crash report\n"
        f"when: {_dt.datetime.now().isoformat(timespec='seconds')}\n"
        f"what: {what}\n"
        f"process: {os.getpid()} {' '.join(sys.argv)}\n\n"
        f"== traceback\n{trace_text.rstrip()}\n\n"
        f"== versions\n{versions}\n\n"
        f"== last log lines ({len(lines)})\n" + "\n".join(lines) + "\n"
    )
    folder = crash_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"crash-{_stamp()}-{os.getpid()}.txt"
    write_text_atomic(path, text)
    return path


def _excepthook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if not issubclass(exc_type, KeyboardInterrupt):
        with contextlib.suppress(Exception):
            path = write_report(exc_type, exc, tb)
            print(f"rollout-studio: crash report written to {path}", file=sys.__stderr__)
    _state["previous_hook"](exc_type, exc, tb)


def _thread_hook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is not SystemExit:
        name = args.thread.name if args.thread else "a thread"
        with contextlib.suppress(Exception):
            write_report(args.exc_type, args.exc_value, args.exc_traceback, what=f"an uncaught error in {name}")
    _state["previous_thread_hook"](args)


def install(*, qt_runtime: str | None = None, capture_stderr: bool = True) -> None:
    """Keep the last log lines and write a report on any uncaught error or hard crash (once)."""
    if _state.get("installed"):
        return
    folder = crash_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        pid = os.getpid()
        _state["session"] = open(folder / f"session-{pid}.log", "w", encoding="utf-8")  # noqa: SIM115
        _state["fault"] = open(folder / f"fault-{pid}.log", "w", encoding="utf-8")  # noqa: SIM115
        faulthandler.enable(_state["fault"], all_threads=True)
    except OSError:  # a read-only home: reports of uncaught errors are still tried
        _state.pop("session", None)
    _state.update(installed=True, qt_runtime=qt_runtime)
    handler = _Lines()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    if logging.getLogger().level > logging.INFO or logging.getLogger().level == logging.NOTSET:
        logging.getLogger().setLevel(logging.INFO)
    logging.captureWarnings(True)
    if capture_stderr and sys.stderr is not None and not isinstance(sys.stderr, _Tee):
        sys.stderr = _Tee(sys.stderr)
    _state["previous_hook"] = sys.excepthook
    _state["previous_thread_hook"] = threading.excepthook
    sys.excepthook = _excepthook
    threading.excepthook = _thread_hook
    atexit.register(_clean_exit)


def set_qt_runtime(version: str) -> None:
    _state["qt_runtime"] = version


def _clean_exit() -> None:
    """A normal exit: this process's session and fault files go (nothing crashed)."""
    pid = os.getpid()
    with contextlib.suppress(Exception):
        faulthandler.disable()
    for key in ("session", "fault"):
        handle = _state.pop(key, None)
        if handle is not None:
            with contextlib.suppress(OSError):
                handle.close()
        with contextlib.suppress(Exception):
            path = crash_dir() / f"{key}-{pid}.log"
            if path.exists():
                remove_path(path)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _adopt_hard_crashes(folder: Path) -> None:
    """Fault dumps of processes that are gone become reports (with their session's last lines)."""
    for fault in sorted(folder.glob("fault-*.log")):
        pid_text = fault.stem.split("-", 1)[1]
        if not pid_text.isdigit() or int(pid_text) == os.getpid() or _pid_alive(int(pid_text)):
            continue
        session = folder / f"session-{pid_text}.log"
        text = fault.read_text(encoding="utf-8", errors="replace").strip()
        if text:
            lines = session.read_text(encoding="utf-8", errors="replace").splitlines()[-KEEP_LINES:] \
                if session.exists() else []
            write_report(None, None, None, what=f"a hard crash of process {pid_text} (fault dump)",
                         trace_text=text, log_lines=lines)
        for path in (fault, session):
            if path.exists():
                remove_path(path)
    for session in folder.glob("session-*.log"):  # killed without a fault: nothing to report
        pid_text = session.stem.split("-", 1)[1]
        if pid_text.isdigit() and int(pid_text) != os.getpid() and not _pid_alive(int(pid_text)):
            remove_path(session)


def _offered(folder: Path) -> list[str]:
    try:
        names = json.loads((folder / OFFERED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [str(n) for n in names] if isinstance(names, list) else []


def pending() -> list[Path]:
    """Reports not offered to the user yet, oldest first (hard crashes of gone processes included)."""
    folder = crash_dir()
    if not folder.is_dir():
        return []
    with contextlib.suppress(OSError):
        _adopt_hard_crashes(folder)
    seen = set(_offered(folder))
    return sorted(p for p in folder.glob("crash-*.txt") if p.name not in seen)


def mark_offered(paths: list[Path]) -> None:
    folder = crash_dir()
    names = _offered(folder)
    names += [p.name for p in paths if p.name not in names]
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(folder / OFFERED, json.dumps(names, indent=1))
