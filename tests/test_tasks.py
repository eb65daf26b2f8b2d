"""The GUI's task layer: lanes, latest request wins, shutdown, leases held by running tasks."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from app.tasks import BACKGROUND, INTERACTIVE, TaskGroup, active_tasks, pool
from backend.errors import StudioError
from backend.registry import DatasetRegistry


def _blocking(gate: threading.Event, *, progress) -> str:
    while not gate.is_set():
        progress.report(0, 1, "waiting")
        time.sleep(0.005)
    return "done"


def test_interactive_work_does_not_wait_behind_exports(qtbot) -> None:
    group = TaskGroup()
    gate = threading.Event()
    exports = [group.run(_blocking, gate, lane=BACKGROUND) for _ in range(pool(BACKGROUND).maxThreadCount() + 2)]
    got: list[str] = []
    group.run(lambda *, progress: "thumbs", lane=INTERACTIVE, on_done=got.append)
    qtbot.waitUntil(lambda: got == ["thumbs"], timeout=3000)
    assert all(task.running or not task.ended.is_set() for task in exports)
    gate.set()
    assert group.shutdown(5.0)


def test_latest_request_wins_and_stale_results_are_dropped(qtbot) -> None:
    group = TaskGroup()
    gate = threading.Event()
    shown: list[str] = []
    first = group.run(_blocking, gate, key="frame", lane=INTERACTIVE, on_done=shown.append)
    second = group.run(lambda *, progress: "second", key="frame", lane=INTERACTIVE, on_done=shown.append)
    qtbot.waitUntil(lambda: shown == ["second"], timeout=3000)
    assert first.stale and first.progress.cancelled and not second.stale
    qtbot.waitUntil(lambda: first.ended.is_set(), timeout=3000)
    qtbot.wait(50)
    assert shown == ["second"]
    assert group.shutdown(1.0)


def test_shutdown_cancels_and_waits(qtbot) -> None:
    group = TaskGroup()
    cancelled: list[bool] = []
    task = group.run(_blocking, threading.Event(), on_cancelled=lambda: cancelled.append(True))
    qtbot.waitUntil(lambda: task.progress.done == 0 and task.progress.text == "waiting", timeout=3000)
    assert group.shutdown(5.0)
    assert task.ended.is_set() and task not in active_tasks()
    assert cancelled == []  # the owner is gone: its callbacks are not called any more
    with pytest.raises(RuntimeError):
        group.run(lambda *, progress: None)


def test_signals_are_connected_before_start_so_nothing_is_lost(qtbot) -> None:
    group = TaskGroup()
    seen: list[str] = []

    def quick(*, progress) -> int:
        progress.warn("first warning")
        progress.report(1, 1, "one")
        return 7

    done: list[int] = []
    group.run(quick, on_warning=seen.append, on_progress=lambda d, t, s: seen.append(s), on_done=done.append)
    qtbot.waitUntil(lambda: done == [7], timeout=3000)
    assert seen == ["first warning", "one"]


def test_a_users_problem_is_one_sentence_without_a_traceback(qtbot, tmp_path: Path) -> None:
    group = TaskGroup()
    failed: list[tuple[str, str]] = []

    def bad(*, progress) -> None:
        raise StudioError("not a dataset the studio knows", tmp_path / "notes.txt")

    group.run(bad, on_error=lambda m, d: failed.append((m, d)))
    qtbot.waitUntil(lambda: bool(failed), timeout=3000)
    message, details = failed[0]
    assert "notes.txt" in message and "not a dataset" in message
    assert "Traceback" not in details


def test_a_running_task_keeps_its_dataset_open_after_the_pane_lets_go(qtbot, tmp_path: Path) -> None:
    class Opened:
        def __init__(self, path: Path) -> None:
            self.closed = False

        def close(self) -> None:
            self.closed = True

    registry = DatasetRegistry(opener=Opened)
    pane_lease = registry.open(tmp_path / "d")
    gate = threading.Event()
    read_while_open: list[bool] = []

    def export(dataset, *, progress) -> None:
        gate.wait(5)
        read_while_open.append(not dataset.closed)

    group = TaskGroup()
    task = group.run(export, pane_lease.dataset, holds=[pane_lease.share()])
    dataset = pane_lease.dataset
    pane_lease.release()
    assert not dataset.closed and registry.users(tmp_path / "d") == 1
    gate.set()
    qtbot.waitUntil(lambda: task.ended.is_set(), timeout=3000)
    assert read_while_open == [True] and dataset.closed
