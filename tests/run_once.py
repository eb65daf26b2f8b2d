"""Work done once per test run and shared by every test process of it (xdist workers too): the first
to ask does it while holding a lock under the run's temporary root; the others wait and read its text."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from pathlib import Path

import pytest


def run_root(factory: pytest.TempPathFactory) -> Path:
    """This run's temporary root, the same for all its test processes."""
    root = factory.getbasetemp()
    return root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root  # popen-gwN are inside


def once_per_run(factory: pytest.TempPathFactory, name: str, make: Callable[[], str]) -> str:
    """``make()``'s text, made by the first test process of this run that asks for ``name``."""
    root = run_root(factory)
    saved = root / f"{name}.once"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not saved.exists():
            saved.write_text(make(), encoding="utf-8")
    return saved.read_text(encoding="utf-8")
