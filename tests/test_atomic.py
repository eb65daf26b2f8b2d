"""Atomic outputs: nothing half-written ever appears at the destination."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from backend.atomic import PARTIAL_MARK, atomic_dir, atomic_file, remove_stale_partials
from backend.errors import Cancelled, StudioError


def test_failed_build_leaves_no_output_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with pytest.raises(Cancelled), atomic_dir(target) as tmp:
        (tmp / "half.txt").write_text("x")
        raise Cancelled()
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_overwrite_replaces_whole_folder_and_keeps_old_until_done(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with atomic_dir(target, overwrite=True) as tmp:
        assert (target / "old.txt").read_text() == "old"  # old content intact while building
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_existing_output_is_refused_without_overwrite(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    with pytest.raises(StudioError, match="already exists"), atomic_dir(tmp_path / "out"):
        pass


def test_stale_partials_of_dead_runs_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "out"
    dead = tmp_path / f".out{PARTIAL_MARK}999999999"
    dead.mkdir()
    live = tmp_path / f".out{PARTIAL_MARK}{os.getppid()}"
    live.mkdir()
    remove_stale_partials(target)
    assert not dead.exists() and live.exists()


def test_atomic_file_replaces_in_one_step(tmp_path: Path) -> None:
    target = tmp_path / "a.jsonl"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_file(target) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("boom")
    assert target.read_text() == "old\n"
    with atomic_file(target) as tmp:
        tmp.write_text("new\n")
    assert target.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.jsonl"]
