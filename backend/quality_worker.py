"""Browse's background checks in a child process: the quality hints and the doctor, as JSON lines.

    python -m backend.quality_worker hints PATH    {"hints": [episode, [[code, text], ...]]} per episode
    python -m backend.quality_worker doctor PATH   {"report": {...}} at the end (``DoctorReport``'s fields)

Both also print ``{"progress": [done, total, text]}`` (at most ~10 a second), ``{"warn": text}``, and
on failure ``{"error": {"problem", "path", "hint"}}`` (exit 2). Run in the GUI's process, the checks
are Python threads that hold the GIL against the GUI thread (a 10,000-episode dataset: every scroll
stalls ~130 ms); in a child they share nothing with it.

The parent side, ``hints_in_child`` and ``diagnose_in_child``, starts the child through
``backend.children``, waits on its pipe (no GIL held while it waits), gives back what
``backend.quality.compute_hints`` / ``backend.doctor.diagnose`` give in-process, and kills the
child when its ``Progress`` is cancelled (checked every 0.1 s) or the caller fails.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backend import children
from backend.errors import Cancelled, StudioError
from backend.jsonable import json_default
from backend.progress import Progress, ensure_progress

MODULE = "backend.quality_worker"
POLL_S = 0.1  # how often a waiting parent looks at its cancellation
REPORT_EVERY_S = 0.1  # the child's progress lines, at most this often


# -- the parent side --------------------------------------------------------------------------------
def hints_in_child(
    path: str | Path,
    progress: Progress | None = None,
    on_result: Callable[[int, list[Any]], None] | None = None,
    on_batch: Callable[[list[tuple[int, list[Any]]]], None] | None = None,
) -> dict[int, list[Any]]:
    """``compute_hints`` of the dataset at ``path``, computed in a child process; ``on_result(episode,
    hints)`` as each comes, ``on_batch([(episode, hints), ...])`` once for the episodes of each read."""
    from backend.quality import Hint

    results: dict[int, list[Any]] = {}
    batch: list[tuple[int, list[Any]]] = []

    def line(message: dict[str, Any]) -> None:
        if "hints" in message:
            episode, pairs = message["hints"]
            hints = [Hint(str(code), str(text)) for code, text in pairs]
            results[int(episode)] = hints
            if on_result is not None:
                on_result(int(episode), hints)
            batch.append((int(episode), hints))

    def read() -> None:
        if batch and on_batch is not None:
            on_batch(list(batch))
        batch.clear()

    _run("hints", path, ensure_progress(progress), line, read)
    return results


def diagnose_in_child(path: str | Path, progress: Progress | None = None) -> Any:
    """``backend.doctor.diagnose(path)`` (default options) computed in a child process."""
    reports: list[Any] = []

    def line(message: dict[str, Any]) -> None:
        if "report" in message:
            reports.append(report_from_dict(message["report"]))

    _run("doctor", path, ensure_progress(progress), line)
    if not reports:
        raise StudioError("the check ended without a report", path, "run `rollout-studio validate` on it")
    return reports[0]


def _run(
    kind: str, path: str | Path, progress: Progress, on_line: Callable[[dict[str, Any]], None],
    on_read: Callable[[], None] | None = None,
) -> None:
    progress.check_cancelled()
    process = children.start(
        MODULE, [kind, str(path)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert process.stdout is not None
    error: dict[str, Any] | None = None
    try:
        fd, pending = process.stdout.fileno(), b""
        while True:
            progress.check_cancelled()
            if not select.select([fd], [], [], POLL_S)[0]:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            *lines, pending = (pending + chunk).split(b"\n")
            for raw in lines:
                if not raw.strip():
                    continue
                message = json.loads(raw)
                if "progress" in message:
                    done, total, text = message["progress"]
                    progress.report(int(done), int(total), str(text))
                elif "warn" in message:
                    progress.warn(str(message["warn"]))
                elif "error" in message:
                    error = message["error"]
                else:
                    on_line(message)
            if on_read is not None:
                on_read()  # what one read brought, together
        code = process.wait()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
    if error is not None:
        raise StudioError(str(error.get("problem")), error.get("path"), error.get("hint"))
    if code != 0:
        raise StudioError(f"the {kind} check stopped unexpectedly (exit status {code})", path)


def report_from_dict(data: dict[str, Any]) -> Any:
    """A ``DoctorReport`` from the child's ``{"report": ...}``."""
    from backend.doctor import DoctorReport
    from backend.validation import Problem

    findings = [
        Problem(
            p["file"], p["what"], p["fix"], p["severity"], p["code"], p["episode"], bool(p["fixable"]),
            tuple(int(f) for f in p["frames"]),
        )
        for p in data["findings"]
    ]
    return DoctorReport(
        data["path"], data["format"], findings, bool(data["readable"]), int(data["episodes"]),
        int(data["frames"]), int(data["sample_frames"]), float(data["seconds"]),
    )


# -- the child side ---------------------------------------------------------------------------------
class _Lines:
    """JSON lines on stdout; progress at most every ``REPORT_EVERY_S``, flushed as it goes."""

    def __init__(self) -> None:
        self.last = 0.0

    def send(self, message: dict[str, Any], flush: bool = True) -> None:
        sys.stdout.write(json.dumps(message, ensure_ascii=False, default=json_default) + "\n")
        if flush:
            sys.stdout.flush()

    def progress(self, done: int, total: int, text: str) -> None:
        now = time.monotonic()
        if now - self.last >= REPORT_EVERY_S or done >= total:
            self.last = now
            self.send({"progress": [done, total, text]})


def _hints(path: str, out: _Lines, progress: Progress) -> None:
    from backend.formats import open_dataset
    from backend.quality import compute_hints

    with open_dataset(path) as dataset:
        compute_hints(
            dataset, progress,
            on_result=lambda episode, hints: out.send(
                {"hints": [episode, [[h.code, h.text] for h in hints]]}, flush=False  # with the progress
            ),
        )
    sys.stdout.flush()


def _doctor(path: str, out: _Lines, progress: Progress) -> None:
    from backend.doctor import diagnose

    report = diagnose(path, progress=progress)
    out.send({"report": {
        "path": report.path, "format": report.format, "readable": report.readable, "episodes": report.episodes,
        "frames": report.frames, "sample_frames": report.sample_frames, "seconds": report.seconds,
        "findings": [p.to_dict() for p in report.findings],
    }})


def main(argv: list[str] | None = None) -> int:
    children.die_with_parent()
    try:
        os.nice(10)  # the GUI's process goes first: on two busy cores its scrolling must not wait for us
    except OSError:
        pass
    kind, path = (argv if argv is not None else sys.argv[1:])[:2]
    out = _Lines()
    progress = Progress(on_report=out.progress, on_warning=lambda text: out.send({"warn": text}))
    try:
        {"hints": _hints, "doctor": _doctor}[kind](path, out, progress)
    except StudioError as error:
        out.send({"error": {"problem": error.problem, "path": error.path, "hint": error.hint}})
        return 2
    except Cancelled:
        return 2
    except Exception as error:  # noqa: BLE001 - told to the parent as one sentence
        traceback.print_exc()
        out.send({"error": {"problem": f"the {kind} check failed ({type(error).__name__}: {error})",
                            "path": path, "hint": None}})
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
