"""Browse's review grid (pytest-qt, offscreen): looping thumbnails decoded off the GUI thread and
painted by the delegate, sort by a stored score, keys that decide through Browse's curation (undo),
Enter opening the player at the finding, and the grid following decisions made in the table."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from backend.scores.store import save_scores
from backend.scores.table import EpisodeScores, Finding, ScoreTable
from backend.sessions.review_work import camera_size
from tests.browse_data import frame_value, make_window, memory_dataset

LENGTHS = (20, 24, 30, 22, 26)
JERK = (5.0, 40.0, 10.0, 30.0, 20.0)


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    win = make_window(qtbot, tmp_path, monkeypatch)
    yield win
    win.close()


def _open(qtbot, window, tmp_path):
    path = tmp_path / "d.hdf5"
    episodes = [EpisodeScores(i, scores={"jerky": value}) for i, value in enumerate(JERK)]
    episodes[3].findings = [Finding("jerky", "error", (11, 13), "a jerk at 11")]
    save_scores(ScoreTable(str(path), episodes, signals=["jerky"]), path)
    dataset = memory_dataset(path, lengths=LENGTHS)
    browse = window.browse
    with qtbot.waitSignal(browse.firstFrameShown, timeout=10000):
        browse.show_dataset(dataset)
    review = browse.review
    qtbot.waitUntil(lambda: review.session.scores is not None, timeout=5000)
    return browse, review


def _loops(review, episodes) -> bool:
    """The page's loops (not only its posters) arrived for exactly ``episodes``."""
    return sorted(review.cache) == sorted(episodes) and all(len(v) > 1 for v in review.cache.values())


def _loop_indices(length: int, count: int = 8) -> list[int]:
    return sorted({int(round(x)) for x in np.linspace(0, length - 1, min(count, length))})


def test_grid_loops_sorts_and_keys_decide(qtbot, window, tmp_path):
    browse, review = _open(qtbot, window, tmp_path)
    assert not review.cache  # nothing decoded while the Table tab shows
    review.tabs.setCurrentIndex(1)
    assert not browse.inner.isVisible() and review.isVisible()
    grid = review.grid
    qtbot.waitUntil(lambda: _loops(review, range(5)), timeout=10000)
    assert grid.model.rowCount() == 5 and review.page_label.text() == "1–5 of 5 · page 1/1"
    assert grid.visible_rows() == [0, 1, 2, 3, 4]

    # loops: 8 frames, both cameras side by side (front left), each the episode's frame
    frames = grid.model.frames[2]
    indices = _loop_indices(LENGTHS[2])
    assert len(frames) == 8 and (frames[0].width(), frames[0].height()) == (240, 90)
    for k in (0, 5, 7):
        assert frames[k].pixelColor(10, 10).red() == frame_value(2, indices[k], 0)
        assert frames[k].pixelColor(200, 10).red() == frame_value(2, indices[k], 1)
    # the delegate paints the frame of the grid's tick
    grid.tick = 5
    shot = grid.viewport().grab().toImage()
    rect = grid.visualRect(grid.model.index(2))
    assert shot.pixelColor(rect.x() + 10, rect.y() + 30).red() == frame_value(2, indices[5], 0)
    tick = grid.tick
    qtbot.waitUntil(lambda: grid.tick > tick, timeout=2000)  # the loop goes on by itself

    # sort by the stored score, most jerky first
    review.sort_combo.setCurrentText("jerky")
    review.descending.setChecked(True)
    assert [c.episode for c in review.session.page_cells()] == [1, 3, 4, 2, 0]
    assert grid.model.items[0].title == "ep 1 · jerky 40"
    assert grid.model.items[1].badges == [("jerky", "error")]

    # keys (they beat Browse's own G/B/F shortcuts while the grid has focus)
    grid.setFocus()
    shown = browse.episode.index
    qtbot.keyClick(grid, Qt.Key.Key_A)
    assert browse.curation.decision(1).rating == "good" and review.session.current_cell().episode == 3
    assert grid.model.items[0].decision == "good" and grid.currentIndex().row() == 1
    qtbot.keyClick(grid, Qt.Key.Key_F)
    assert browse.curation.decision(3).flagged
    assert shown == 3 or not browse.curation.decision(shown).flagged
    qtbot.keyClick(grid, Qt.Key.Key_U)
    assert not browse.curation.decision(3).flagged and browse.undo_button.isEnabled()
    qtbot.keyClick(grid, Qt.Key.Key_R)
    assert browse.curation.decision(3).rating == "bad" and grid.model.items[1].decision == "bad"
    qtbot.keyClick(grid, Qt.Key.Key_Left)
    assert review.session.current_cell().episode == 3

    # Enter: the player at the frame where the finding fires
    with qtbot.waitSignal(browse.episodeShown, timeout=5000):
        qtbot.keyClick(grid, Qt.Key.Key_Return)
    assert review.tabs.currentIndex() == 0 and browse.inner.isVisible() and not review.isVisible()
    assert browse.episode.index == 3 and browse.position == 11

    # a decision made in the table shows in the grid; Browse's undo reverts the grid's decision
    browse.rate("good")
    assert browse.curation.decision(3).rating == "good"
    browse.undo()
    browse.undo()
    assert browse.curation.decision(3).rating is None
    review.tabs.setCurrentIndex(1)
    assert grid.model.items[1].decision is None


def test_grid_without_scores_and_paging(qtbot, window, tmp_path):
    dataset = memory_dataset(tmp_path / "plain.hdf5", lengths=(20, 21, 22, 23, 24))
    browse = window.browse
    with qtbot.waitSignal(browse.firstFrameShown, timeout=10000):
        browse.show_dataset(dataset)
    review = browse.review
    qtbot.waitUntil(
        lambda: review.score_button.text() == "Score this dataset" and bool(review.message.text()),
        timeout=5000,
    )
    review.session.page_size = 2
    review.camera_combo.setCurrentIndex(review.camera_combo.findData("wrist"))
    review.camera_combo.activated.emit(review.camera_combo.currentIndex())
    review.tabs.setCurrentIndex(1)
    grid = review.grid
    qtbot.waitUntil(lambda: _loops(review, [0, 1]), timeout=10000)
    assert grid.model.frames[1][0].width() == 160  # one camera: 160x120
    assert grid.model.frames[1][0].pixelColor(5, 5).red() == frame_value(1, 0, 1)
    grid.setFocus()
    qtbot.keyClick(grid, Qt.Key.Key_PageDown)
    assert review.session.page == 1 and [item.title for item in grid.model.items] == ["ep 2", "ep 3"]
    qtbot.waitUntil(lambda: _loops(review, [2, 3]), timeout=10000)  # only the page shown is kept
    review.filter_edit.setText("jerky>3")
    review.filter_edit.editingFinished.emit()
    assert "no scores" in review.message.text() and len(review.session.cells) == 5


def test_grid_of_a_real_lerobot_dataset(qtbot, window, shared_data):
    """Video cameras (H.264, LeRobot v3.0) loop through the media layer's keyframe thumbnails."""
    path = shared_data / "lerobot061_so101_v30_h264"
    browse = window.browse
    with qtbot.waitSignal(browse.firstFrameShown, timeout=20000):
        browse.open_path(path)
    review = browse.review
    review.tabs.setCurrentIndex(1)
    episodes = browse.session.table.index.tolist()
    qtbot.waitUntil(lambda: _loops(review, episodes), timeout=20000)
    loop = review.cache[episodes[0]]
    cameras = browse.session.cameras()
    width, height = camera_size(len(cameras))
    assert (loop[0].width(), loop[0].height()) == (width * len(cameras), height)
    pixels = [loop[k].pixelColor(width // 2, height // 2).getRgb()[:3] for k in range(len(loop))]
    assert len(set(pixels)) > 1  # the frames differ: a loop, not a still
