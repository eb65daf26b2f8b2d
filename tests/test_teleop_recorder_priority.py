"""The writer process runs at normal, niced priority even when started from a real-time thread."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from backend.teleop.recorder_process import RECORDER_NICE, RecorderProcess, RecorderSpec

pytestmark = pytest.mark.skipif(not hasattr(os, "sched_setscheduler"), reason="needs Linux scheduling")


def _threads(pid: int) -> list[tuple[int, int, int]]:
    """(policy, rt priority, nice) of every thread of ``pid``, from /proc."""
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        stat = (task / "stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        out.append((int(fields[38]), int(fields[37]), int(fields[16])))
    return out


def test_writer_started_from_a_fifo_thread_runs_sched_other_niced(tmp_path: Path) -> None:
    result: dict = {}

    def start_from_realtime() -> None:
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
        except PermissionError:
            result["skip"] = True
            return
        result["writer"] = RecorderProcess(RecorderSpec("hdf5", str(tmp_path / "rec.hdf5"), {}), slots=4).start()

    thread = threading.Thread(target=start_from_realtime)
    thread.start()
    thread.join()
    if result.get("skip"):
        pytest.skip("no permission for SCHED_FIFO here: nothing to inherit")
    writer = result["writer"]
    try:
        threads = _threads(writer._proc.pid)
        assert threads, "the writer process has no threads?"
        for policy, rt_priority, nice in threads:
            assert (policy, rt_priority) == (os.SCHED_OTHER, 0)
            assert nice >= RECORDER_NICE
    finally:
        writer.stop()
