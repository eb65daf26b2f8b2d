"""The demo dataset (`rollout-studio demo-data`), written once per test run and read by every test that
only reads it (generating it costs ~7 s of CPU). Never write into it."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from tests.run_once import once_per_run, run_root


def shared_demo_file(factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """(the demo HDF5, the folder given to the command, what the command printed)."""
    folder = run_root(factory) / "demo-data"

    def make() -> str:
        from backend.cli import main

        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main(["demo-data", str(folder / "data"), "--quiet"]) == 0
        return out.getvalue()

    printed = once_per_run(factory, "demo-data", make)
    return Path(printed.strip()), folder, printed
