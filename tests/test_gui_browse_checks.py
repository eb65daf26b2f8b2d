"""Browse's background checks on a dataset on disk: the quality hints and the doctor come from child
processes (the GUI's process computes nothing), and closing the window kills them (pytest-qt)."""

from __future__ import annotations

import pytest

from backend import children
from backend.doctor import diagnose
from tests.browse_data import make_window, write_hdf5

TIMEOUT = 60000  # a loaded 2-core machine: generous, never a timing assertion


@pytest.fixture
def started(monkeypatch):
    """Every child process started, recorded (they still start through backend.children)."""
    processes: list = []
    start = children.start

    def recording_start(module, *args, **kwargs):
        processes.append((module, start(module, *args, **kwargs)))
        return processes[-1][1]

    monkeypatch.setattr(children, "start", recording_start)
    return processes


def test_hints_and_findings_come_from_child_processes(qtbot, tmp_path, monkeypatch, started):
    path = write_hdf5(tmp_path / "d.hdf5", lengths=(40, 12, 50))  # demo 1: under 1 s
    window = make_window(qtbot, tmp_path, monkeypatch)
    browse = window.browse
    with qtbot.waitSignal(browse.problems.checked, timeout=TIMEOUT) as checked:
        browse.open_path(path)
    qtbot.waitUntil(lambda: all(r.hints_ready for r in browse.model.rows), timeout=TIMEOUT)
    assert [c for c, _, _ in browse.model.row_for(1).hints] == ["short"]
    assert [c for c, _, _ in browse.model.row_for(0).hints] == []
    assert checked.args[0].findings == diagnose(path).findings
    assert sorted(p.args[-2] for m, p in started if m == "backend.quality_worker") == ["doctor", "hints"]
    qtbot.waitUntil(lambda: not browse.tasks.busy("hints"), timeout=TIMEOUT)  # its last lines came before its exit
    assert all(p.poll() == 0 for _, p in started)
    window.close()


def test_closing_the_window_mid_check_leaves_no_child(qtbot, tmp_path, monkeypatch, started):
    path = write_hdf5(tmp_path / "d.hdf5", lengths=(40, 30, 50))
    window = make_window(qtbot, tmp_path, monkeypatch)
    browse = window.browse
    browse.open_path(path)
    qtbot.waitUntil(lambda: len(started) == 2, timeout=TIMEOUT)  # the checks start after the first frame
    window.close()  # the pane's tasks are cancelled and waited for: their children are killed and reaped
    assert all(p.poll() is not None for _, p in started)
    assert not browse.tasks.busy()
