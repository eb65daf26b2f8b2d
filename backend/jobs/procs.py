"""Process checks that survive restarts: a pid is only "ours" if its start time still matches."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path


def proc_start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (clock ticks since boot) as text, or None if gone/zombie."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        if not Path("/proc").is_dir():  # pragma: no cover - no procfs (not Linux)
            return "?" if pid_exists(pid) else None
        return None
    # the command name is in parentheses and may itself contain spaces or parentheses
    rest = text[text.rfind(")") + 2 :].split()
    if not rest or rest[0] in ("Z", "X"):
        return None
    return rest[19]  # field 22 overall: starttime


def pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def alive(pid: int | None, start: str | None) -> bool:
    """Is ``pid`` still the same process we started (not a recycled pid, not a zombie)?"""
    if not pid:
        return False
    now = proc_start_time(pid)
    if now is None:
        return False
    return start is None or start == "?" or now == start


def group_alive(pgid: int | None) -> bool:
    """Is any (non-zombie) process left in process group ``pgid``?"""
    if not pgid or pgid <= 1:
        return False
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # killpg succeeds while only zombies remain: look closer where we can
    proc = Path("/proc")
    if not proc.is_dir():  # pragma: no cover
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        rest = text[text.rfind(")") + 2 :].split()
        if len(rest) > 2 and rest[2] == str(pgid) and rest[0] not in ("Z", "X"):
            return True
    return False


def signal_group(pgid: int | None, sig: int) -> bool:
    if not pgid or pgid <= 1 or pgid == os.getpgid(0):
        return False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
        return True
    return False


def signal_number(name: str | int | None, default: int = signal.SIGTERM) -> int:
    if name is None or name == "":
        return int(default)
    if isinstance(name, int):
        return name
    text = str(name).upper()
    if text.isdigit():
        return int(text)
    if not text.startswith("SIG"):
        text = "SIG" + text
    return int(getattr(signal, text))
