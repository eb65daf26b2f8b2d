"""backend.pool: worker processes run tasks side by side; results come back in order, bounded."""

from __future__ import annotations

import os
import time

import pytest

from backend import children
from backend.pool import Pool, PoolError, Task

MODULE = "tests.pool_worker_sample"


def test_results_come_back_per_group_in_order_from_several_workers() -> None:
    with Pool(MODULE, 3) as pool:
        pool.submit([Task(k // 2, {"n": k, "sleep": 0.05 * (k % 3)}) for k in range(12)])
        results = [pool.wait(group, lambda: None) for group in range(6)]
        assert pool.progress() == sum(range(12))
    assert [[r["square"] for r in group] for group in results] == [
        [(2 * g) ** 2, (2 * g + 1) ** 2] for g in range(6)
    ]
    assert len({r["pid"] for group in results for r in group}) == 3  # every worker took some


def test_no_task_goes_out_more_than_window_groups_ahead() -> None:
    with Pool(MODULE, 2, window=1, depth=4) as pool:
        pool.submit([Task(k, {"n": 1}) for k in range(10)])
        assert pool.wait(0, lambda: None)[0]["square"] == 1
        assert pool._next <= 2  # groups 0 and 1 only, whatever the depth
        for k in range(1, 10):
            pool.wait(k, lambda: None)
            assert pool._next <= min(10, k + 2)


def test_a_later_failure_waits_for_its_group() -> None:
    with Pool(MODULE, 2) as pool:
        pool.submit([Task(0, {"n": 2, "sleep": 0.3}), Task(1, {"n": 1, "fail": "bad frame 7"})])
        assert pool.wait(0, lambda: None)[0]["square"] == 4  # group 1 failed first, meanwhile
        with pytest.raises(PoolError) as raised:
            pool.wait(1, lambda: None)
    assert str(raised.value) == "bad frame 7"
    assert raised.value.task == 1


def test_a_worker_killed_mid_task_is_reported_and_close_leaves_no_child() -> None:
    pool = Pool(MODULE, 2)
    pids = [w.proc.pid for w in pool._workers if w.proc is not None]
    try:
        pool.submit([Task(0, {"n": 1, "sleep": 30})])
        time.sleep(0.5)
        busy = next(w for w in pool._workers if w.busy)
        assert busy.proc is not None
        busy.proc.kill()
        with pytest.raises(PoolError, match="ended early"):
            pool.wait(0, lambda: None)
    finally:
        pool.close()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_progress_callback_can_cancel_and_close_kills_working_children() -> None:
    class Stop(Exception):
        pass

    def cancel() -> None:
        raise Stop

    pool = Pool(MODULE, 2)
    try:
        pool.submit([Task(0, {"n": 1, "sleep": 30}), Task(1, {"n": 1, "sleep": 30})])
        with pytest.raises(Stop):
            pool.wait(0, cancel, poll_s=0.05)
    finally:
        started = time.monotonic()
        pool.close()
    assert time.monotonic() - started < 5  # killed, not waited out


def test_children_start_by_module_name_only() -> None:
    argv = children.python_argv("backend.convert.camera_worker", ["x"])
    assert argv[1:] == ["-P", "-m", "backend.convert.camera_worker", "x"]
    with pytest.raises(ValueError):
        children.python_argv("backend; rm -rf /")


def test_a_frozen_bundle_runs_the_module_itself(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    import sys

    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(children, "_DISPATCHES", False)  # run_child_if_asked sets it: restored after
    assert children.python_argv("tests.pool_worker_sample") == [
        sys.executable, children.CHILD_FLAG, "tests.pool_worker_sample"
    ]
    monkeypatch.setattr(sys, "argv", ["studio"])
    with pytest.raises(SystemExit) as done:  # the real module, run as __main__ with its own argv
        children.run_child_if_asked(["studio", children.CHILD_FLAG, "backend.cli", "--version"])
    assert done.value.code in (0, None)
    assert sys.argv == ["backend.cli", "--version"]
    assert "rollout-studio" in capsys.readouterr().out
    children.run_child_if_asked(["studio", "inspect", "x"])  # not a child: returns


def test_tasks_can_be_submitted_in_batches_until_the_last() -> None:
    with Pool(MODULE, 2) as pool:
        pool.submit([Task(0, {"n": 2})], last=False)
        assert pool.wait(0, lambda: None)[0]["square"] == 4
        pool.submit([Task(1, {"n": 3}), Task(2, {"n": 4})], last=False)
        assert pool.wait(1, lambda: None)[0]["square"] == 9
        pool.submit([Task(3, {"n": 5})])
        assert [pool.wait(g, lambda: None)[0]["square"] for g in (2, 3)] == [16, 25]
        with pytest.raises(ValueError):
            pool.submit([Task(4, {"n": 1})])
