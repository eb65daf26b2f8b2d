"""Atomic outputs and the guarded delete: nothing half-written appears, nothing foreign is destroyed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

from backend.atomic import (
    OWNER_RECORD,
    PARTIAL_MARK,
    UnsafeDelete,
    atomic_dir,
    atomic_file,
    check_output,
    place_link,
    remove_link,
    remove_path,
    remove_stale_partials,
    stale_partials,
    studio_wrote,
    write_text_atomic,
)
from backend.errors import Cancelled, StudioError


def _studio_folder(target: Path, files: dict[str, str]) -> None:
    with atomic_dir(target) as tmp:
        for name, text in files.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_text(text)


def test_failed_build_leaves_no_output_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with pytest.raises(Cancelled), atomic_dir(target) as tmp:
        (tmp / "half.txt").write_text("x")
        raise Cancelled()
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_published_folder_carries_its_ownership_record(tmp_path: Path) -> None:
    target = tmp_path / "out"
    _studio_folder(target, {"a.txt": "a", "sub/b.txt": "b"})
    record = json.loads((target / OWNER_RECORD).read_text())
    assert record["schema"] == "rollout_studio.output/1"
    assert record["files"] == ["a.txt", "sub/b.txt"]
    assert studio_wrote(target) is None


def test_overwrite_replaces_a_studio_output_and_keeps_old_until_done(tmp_path: Path) -> None:
    target = tmp_path / "out"
    _studio_folder(target, {"old.txt": "old"})
    with atomic_dir(target, overwrite=True) as tmp:
        assert (target / "old.txt").read_text() == "old"  # old content intact while building
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == [OWNER_RECORD, "new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_overwrite_refuses_a_folder_the_studio_did_not_write(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "mine.txt").write_text("the user's")
    with pytest.raises(UnsafeDelete, match="did not write"), atomic_dir(target, overwrite=True) as tmp:
        (tmp / "x").write_text("x")
    assert (target / "mine.txt").read_text() == "the user's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_overwrite_refuses_a_studio_folder_holding_a_foreign_file(tmp_path: Path) -> None:
    target = tmp_path / "out"
    _studio_folder(target, {"a.txt": "a"})
    (target / "notes.md").write_text("added by the user")
    assert "notes.md" in (studio_wrote(target) or "")
    with pytest.raises(UnsafeDelete, match="notes.md"):
        check_output(target, [], overwrite=True)
    with pytest.raises(UnsafeDelete):
        remove_path(target)
    assert (target / "notes.md").exists()


def test_existing_output_is_refused_without_overwrite(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    with pytest.raises(StudioError, match="already exists"), atomic_dir(tmp_path / "out"):
        pass


@pytest.mark.parametrize("where", ["same", "parent", "grandparent", "inside"])
def test_output_overlapping_an_input_is_refused(tmp_path: Path, where: str) -> None:
    source = tmp_path / "data" / "set" / "demo.hdf5"
    source.parent.mkdir(parents=True)
    source.write_bytes(b"precious")
    out = {
        "same": source,
        "parent": source.parent,
        "grandparent": tmp_path / "data",
        "inside": source / "x",
    }[where]
    with pytest.raises(StudioError, match="input"):
        check_output(out, [source], overwrite=True)
    assert source.read_bytes() == b"precious"


def test_overlap_is_seen_through_links_and_relative_spellings(tmp_path: Path, monkeypatch) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "demo.hdf5").write_bytes(b"x")
    (tmp_path / "alias").symlink_to(data)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StudioError, match="contain the input"):
        check_output("alias", ["data/demo.hdf5"], overwrite=True)
    with pytest.raises(StudioError, match="contain the input"):
        check_output("./alias/..", [str(data / "demo.hdf5")], overwrite=True)


def test_remove_path_refuses_what_the_studio_did_not_write(tmp_path: Path) -> None:
    folder = tmp_path / "user"
    folder.mkdir()
    (folder / "f").write_text("x")
    with pytest.raises(UnsafeDelete):
        remove_path(folder)
    with pytest.raises(UnsafeDelete):
        remove_path(folder / "f")
    assert (folder / "f").exists()
    staging = tmp_path / f".out{PARTIAL_MARK}{os.getpid()}"
    (staging / "deep").mkdir(parents=True)
    remove_path(staging / "deep")  # inside staging: ours
    remove_path(staging)
    assert not staging.exists()


def test_an_hdf5_is_the_studios_only_as_the_studio_left_it(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours.hdf5", tmp_path / "theirs.hdf5"
    with atomic_file(ours) as tmp, h5py.File(tmp, "w") as handle:
        handle.create_group("data").attrs["rollout_studio_provenance"] = "{}"
    with h5py.File(theirs, "w") as handle:  # same content, written by another tool
        handle.create_group("data").attrs["rollout_studio_provenance"] = "{}"
    assert studio_wrote(ours) is None
    assert studio_wrote(theirs) is not None
    with pytest.raises(UnsafeDelete):
        check_output(theirs, [], overwrite=True)
    with h5py.File(ours, "a") as handle:  # another tool added a demo
        handle["data"].create_group("demo_9")
    assert studio_wrote(ours) is not None


def test_stale_partials_of_dead_runs_are_removed_for_any_target_in_the_folder(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    stale_a = tmp_path / f".out{PARTIAL_MARK}{dead_pid}"
    stale_b = tmp_path / f".other.hdf5{PARTIAL_MARK}{dead_pid}"
    live = tmp_path / f".out{PARTIAL_MARK}{os.getppid()}"
    stale_a.mkdir()
    stale_b.write_bytes(b"half")
    live.mkdir()
    assert stale_partials(tmp_path) == sorted([stale_a, stale_b])
    # a write of another output into the same folder cleans them
    with atomic_file(tmp_path / "new.json") as tmp:
        tmp.write_text("{}")
    assert not stale_a.exists() and not stale_b.exists() and live.exists()
    assert remove_stale_partials(tmp_path) == []


def test_atomic_file_replaces_only_its_own_file(tmp_path: Path) -> None:
    target = tmp_path / "a.jsonl"
    with atomic_file(target) as tmp:
        tmp.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_file(target, overwrite=True) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("boom")
    assert target.read_text() == "old\n"
    with atomic_file(target, overwrite=True) as tmp:
        tmp.write_text("new\n")
    assert target.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.jsonl"]
    target.write_text("edited by hand\n")  # changed since: no longer the studio's
    with pytest.raises(UnsafeDelete), atomic_file(target, overwrite=True) as tmp:
        tmp.write_text("x")
    assert target.read_text() == "edited by hand\n"


def test_state_files_are_replaced(tmp_path: Path) -> None:
    target = tmp_path / "settings.json"
    write_text_atomic(target, "1")
    write_text_atomic(target, "2")
    assert target.read_text() == "2"
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]


def test_links_replace_and_remove_only_links(tmp_path: Path) -> None:
    link = tmp_path / "arm"
    place_link(link, "/dev/null")
    assert os.readlink(link) == "/dev/null"
    assert not remove_link(link, "/dev/zero") and link.is_symlink()
    assert remove_link(link, "/dev/null") and not link.exists()
    link.write_text("a user's file")
    with pytest.raises(UnsafeDelete):
        place_link(link, "/dev/null")
    assert link.read_text() == "a user's file"
