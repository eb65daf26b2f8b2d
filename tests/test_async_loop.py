"""The window's coroutines: on the qasync loop when it runs, else on a QTimer-stepped loop; both
cancelled by their handle, nothing left behind."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("PySide6")

from app import async_loop  # noqa: E402


async def _count(ticks: list[float], seconds: float = 0.01) -> None:
    loop = asyncio.get_running_loop()
    while True:
        ticks.append(loop.time())
        await asyncio.sleep(seconds)


def test_without_a_running_loop_a_timer_steps_a_private_one_and_stops_with_its_coroutines(qtbot):
    ticks: list[float] = []
    handle = async_loop.start(_count, ticks, 0.02, name="count")
    assert handle.task is None  # it looks for the application's loop on the next turn of Qt's loop
    qtbot.waitUntil(lambda: len(ticks) >= 5, timeout=3000)
    assert not handle.on_qasync and not handle.done
    steps = sorted(b - a for a, b in zip(ticks, ticks[1:], strict=False))
    assert steps[len(steps) // 2] >= 0.015  # it sleeps between looks: the timer waits for asyncio's timer
    handle.cancel()
    assert handle.done and handle.task.cancelled()
    qtbot.waitUntil(lambda: async_loop._driver.loop is None, timeout=2000)  # no coroutine: no loop, no timer
    seen = len(ticks)
    qtbot.wait(60)
    assert len(ticks) == seen


def test_a_failing_step_is_reported_and_watching_goes_on(qtbot, monkeypatch):
    reported: list[BaseException] = []
    monkeypatch.setattr("sys.excepthook", lambda kind, error, tb: reported.append(error))
    calls: list[int] = []

    def step() -> None:
        calls.append(1)
        if len(calls) == 2:
            raise OSError("the store went away for a moment")

    handle = async_loop.start(async_loop.every, 0.01, step)
    qtbot.waitUntil(lambda: len(calls) >= 4, timeout=3000)
    handle.cancel()
    assert [str(e) for e in reported] == ["the store went away for a moment"]


def test_cancelled_before_it_starts_it_never_runs(qtbot):
    ticks: list[float] = []
    handle = async_loop.start(_count, ticks)
    handle.cancel()
    qtbot.wait(50)
    assert ticks == [] and handle.done and handle.task is None


def test_on_the_running_qasync_loop_it_is_a_task_of_that_loop(qapp):
    import qasync

    loop = qasync.QEventLoop(qapp)
    ticks: list[float] = []

    async def main() -> async_loop.Handle:
        handle = async_loop.start(_count, ticks, name="count")
        assert handle.task is not None and handle.task.get_loop() is loop  # started at once
        while len(ticks) < 3:  # a busy machine may give it fewer turns in a fixed time
            await asyncio.sleep(0.01)
        handle.cancel()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return handle

    try:
        handle = loop.run_until_complete(main())
    finally:
        loop.close()
    assert handle.on_qasync and handle.task.cancelled() and len(ticks) >= 3
