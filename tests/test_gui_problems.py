"""Browse's Problems view: the doctor runs when a dataset opens, double-click goes to the episode and
frame, the latest dataset wins, and "Repair copy..." writes a copy it offers to open (pytest-qt)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from tests.browse_data import make_window
from tests.cosmos_data import write_small_lerobot

TIMEOUT = 60000  # a loaded 2-core machine: generous, never a timing assertion


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    win = make_window(qtbot, tmp_path, monkeypatch)
    yield win
    win.close()


def _frame_index_gap(root: Path, episode: int, at: int) -> None:
    """frame_index of one episode skips ``at``: rows from ``at`` on are numbered one too high."""
    path = root / f"data/chunk-000/episode_{episode:06d}.parquet"
    table = pq.read_table(path)
    position = table.schema.get_field_index("frame_index")
    values = [f + (f >= at) for f in table.column("frame_index").to_pylist()]
    pq.write_table(table.set_column(position, table.schema.field(position), pa.array(values, pa.int64())), path)


def _open(qtbot, window, path: Path):
    browse = window.browse
    with qtbot.waitSignal(browse.problems.checked, timeout=TIMEOUT) as checked:
        browse.open_path(path)
    return browse, checked.args[0]


def test_problems_list_the_fault_and_double_click_moves_browse_there(qtbot, window, tmp_path):
    source = write_small_lerobot(tmp_path / "faulty", [20, 25, 30])
    _frame_index_gap(source, 2, 7)
    browse, report = _open(qtbot, window, source)
    view = browse.problems.view
    assert browse.episode.index == 0
    rows = view.findings()
    gap = [f for f in rows if f.problem.code == "frame_index"]
    assert len(gap) == 1 and gap[0].episode == 2 and gap[0].frame == 7
    assert "frame_index of episode 2" in gap[0].problem.problem
    assert view.counts()["error"] == report.count("error") >= 1
    assert view.repair_button.isEnabled()

    # the severity filter hides warnings and info, errors stay
    view.set_shown({"error"})
    assert {f.problem.severity for f in view.findings()} == {"error"}
    row = next(r for r, f in enumerate(view.findings()) if f.problem.code == "frame_index")
    table = view.table
    table.scrollTo(view.proxy.index(row, 2))
    center = table.visualRect(view.proxy.index(row, 2)).center()
    with qtbot.waitSignal(browse.episodeShown, timeout=TIMEOUT):
        qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=center)
        qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=center)
    assert browse.episode.index == 2 and browse.position == 7


def test_latest_dataset_wins_and_repair_copy_is_offered_to_open(qtbot, window, tmp_path, monkeypatch):
    first = write_small_lerobot(tmp_path / "first", [20, 22])
    second = write_small_lerobot(tmp_path / "second", [20, 25, 30])
    _frame_index_gap(second, 1, 5)
    browse = window.browse
    problems = browse.problems
    browse.open_path(first)
    with qtbot.waitSignal(problems.checked, timeout=TIMEOUT) as checked:
        browse.open_path(second)  # before the first check could finish: only the second one counts
    assert Path(checked.args[0].path) == second
    qtbot.wait(200)
    assert problems.report is checked.args[0]
    assert any(f.problem.code == "frame_index" and f.episode == 1 for f in problems.view.findings())

    out = tmp_path / "second repaired"
    monkeypatch.setattr(
        "app.panes.browse.problems.QFileDialog.getSaveFileName", lambda *a, **k: (str(out), "")
    )
    with qtbot.waitSignal(problems.repairFinished, timeout=TIMEOUT) as finished:
        problems.view.repair_button.click()
        assert problems.view.cancel_button.isVisibleTo(problems.view)  # progress and cancel while it runs
    report = finished.args[0]
    assert report.written and Path(report.output) == out
    assert "frame_index" in {f.code for f in report.fixes}
    assert "frame_index" not in {p.code for p in report.remaining}
    assert (second / "data/chunk-000/episode_000001.parquet").is_file()  # the input is still there
    assert pq.read_table(out / "data/chunk-000/episode_000001.parquet").column("frame_index").to_pylist() == list(
        range(25)
    )
    # the toast offers to open the copy; doing so opens it in Browse and checks it
    buttons = [b for b in browse.toast.findChildren(QPushButton) if b.text() == "Open the copy"]
    assert len(buttons) == 1
    with qtbot.waitSignal(problems.checked, timeout=TIMEOUT) as rechecked:
        buttons[0].click()
    assert Path(rechecked.args[0].path) == out and Path(browse.dataset.path) == out
    assert not [f for f in problems.view.findings() if f.problem.code == "frame_index"]
