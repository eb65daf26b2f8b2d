"""The demo dataset (`rollout-studio demo-data`), written once per test run and read by every test that
only reads it (generating it costs ~7 s of CPU). xdist workers share it through a file lock under the
run's temporary root, as the walk's report is shared (tests/test_walk.py). Never write into it."""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
from pathlib import Path

import pytest


def shared_demo_file(factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """(the demo HDF5, the folder given to the command, what the command printed)."""
    root = factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # this run's root, shared by its workers (popen-gwN are inside)
    folder, record = root / "demo-data", root / "demo-data.printed"
    with open(root / "demo-data.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not record.exists():
            from backend.cli import main

            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                assert main(["demo-data", str(folder / "data"), "--quiet"]) == 0
            record.write_text(out.getvalue(), encoding="utf-8")
    printed = record.read_text(encoding="utf-8")
    return Path(printed.strip()), folder, printed
