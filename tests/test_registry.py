"""The dataset registry: opened once, shared by reference count, closed by the last user."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from backend.registry import DatasetRegistry


class Opened:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_open_twice_shares_one_dataset_and_closes_after_the_last_release(tmp_path: Path) -> None:
    opened: list[Opened] = []
    registry = DatasetRegistry(opener=lambda p: opened.append(Opened(p)) or opened[-1])
    first = registry.open(tmp_path / "a.hdf5")
    second = registry.open(str(tmp_path / "." / "a.hdf5"))
    assert len(opened) == 1 and first.dataset is second.dataset
    assert registry.users(tmp_path / "a.hdf5") == 2
    task = first.share()
    first.release()
    second.release()
    assert not opened[0].closed and registry.is_open(tmp_path / "a.hdf5")
    task.release()
    assert opened[0].closed and not registry.is_open(tmp_path / "a.hdf5")
    assert registry.closed == [str((tmp_path / "a.hdf5").resolve())]
    task.release()  # a second release is a no-op
    assert registry.closed == [str((tmp_path / "a.hdf5").resolve())]
    with pytest.raises(RuntimeError):
        _ = task.dataset


def test_relative_and_tilde_paths_are_the_same_dataset(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    registry = DatasetRegistry(opener=Opened)
    with registry.open("~/d.hdf5") as a, registry.open("d.hdf5") as b:
        assert a.dataset is b.dataset
        assert registry.open_paths() == [str((tmp_path / "d.hdf5").resolve())]
    assert registry.open_paths() == []


def test_concurrent_opens_of_one_path_open_it_once(tmp_path: Path) -> None:
    calls: list[Path] = []
    gate = threading.Barrier(4)

    def slow_open(path: Path) -> Opened:
        calls.append(path)
        return Opened(path)

    registry = DatasetRegistry(opener=slow_open)
    leases = []

    def worker() -> None:
        gate.wait()
        leases.append(registry.open(tmp_path / "x"))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len({id(lease.dataset) for lease in leases}) == 1
    assert registry.users(tmp_path / "x") == 4


def test_a_failed_open_leaves_nothing_registered(tmp_path: Path) -> None:
    from backend.errors import StudioError

    registry = DatasetRegistry()
    bad = tmp_path / "notes.txt"
    bad.write_text("not a dataset")
    with pytest.raises(StudioError) as info:
        registry.open(bad)
    assert "notes.txt" in str(info.value.path)
    assert registry.open_paths() == []


def test_real_dataset_is_closed_by_the_last_lease(tmp_path: Path) -> None:
    from tests.recordings import DemoSpec, RecordingSpec, write_recording

    path = write_recording(tmp_path / "rec.hdf5", RecordingSpec(demos=[DemoSpec(length=4)]))
    registry = DatasetRegistry()
    lease = registry.open(path)
    assert len(lease.dataset.episodes) == 1
    other = lease.share()
    lease.release()
    assert other.dataset.episodes[0].timestamps().shape == (4,)
    other.release()
    assert registry.closed and not registry.is_open(path)
