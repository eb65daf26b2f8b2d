"""The subtask track in Browse (pytest-qt on the real window): drag to create, type the text, split at
the playhead, join, delete, Tab between segments, undo with Ctrl+Z; suggestions from the episode's joints."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt

from tests.browse_data import make_window, write_hdf5

TIMEOUT = 30000


@pytest.fixture
def browse(qtbot, tmp_path, monkeypatch):
    window = make_window(qtbot, tmp_path, monkeypatch)
    path = write_hdf5(tmp_path / "rec.hdf5", lengths=(40, 30, 40))
    pane = window.browse
    with qtbot.waitSignals([pane.firstFrameShown, pane.episodeShown], timeout=TIMEOUT):
        window.open_dataset(str(path))
    yield pane
    window.close()


def _x(track, frame: int) -> int:
    return int(round(track.x_for(frame)))


def test_track_edits_suggests_and_copies(qtbot, browse):
    track = browse.subtasks.track
    assert track.isVisible() and track.num_frames == 40
    assert abs(track.x_for(10) - browse.transport.timeline.x_for(10)) < 1  # lined up with the timeline
    y = track.height() // 2
    qtbot.mousePress(track, Qt.MouseButton.LeftButton, pos=QPoint(_x(track, 5), y))
    qtbot.mouseMove(track, QPoint(_x(track, 24), y))
    qtbot.mouseRelease(track, Qt.MouseButton.LeftButton, pos=QPoint(_x(track, 24), y))
    assert track.editor.isVisible()  # a new segment asks for its text at once
    qtbot.keyClicks(track.editor, "reach the cube")
    qtbot.keyClick(track.editor, Qt.Key.Key_Return)
    curation = browse.session.curation
    assert [tuple(s) for s in curation.decision(0).subtasks] == [(5, 24, "reach the cube")]
    assert track.segments == [(5, 24, "reach the cube")] and track.selected == 0

    browse.set_position(15)
    track.setFocus()
    qtbot.keyClick(track, Qt.Key.Key_S)  # split at the playhead
    assert track.segments == [(5, 14, "reach the cube"), (15, 24, "reach the cube")] and track.selected == 1
    qtbot.keyClick(track, Qt.Key.Key_Tab)
    assert track.selected == 0
    qtbot.keyClick(track, Qt.Key.Key_J)
    assert track.segments == [(5, 24, "reach the cube")]
    qtbot.keyClick(track, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo the join
    assert len(track.segments) == 2
    qtbot.keyClick(track, Qt.Key.Key_Tab)
    qtbot.keyClick(track, Qt.Key.Key_Delete)
    assert len(track.segments) == 1
    # drag the end of the remaining segment to frame 30
    start, end, _ = track.segments[0]
    edge = int(track._rect(start, end).right())
    qtbot.mousePress(track, Qt.MouseButton.LeftButton, pos=QPoint(edge, y))
    qtbot.mouseMove(track, QPoint(_x(track, 30), y))
    qtbot.mouseRelease(track, Qt.MouseButton.LeftButton, pos=QPoint(_x(track, 30), y))
    assert track.segments[0][1] == 30

    browse.show_episode(1)  # another episode: its own (empty) track
    assert track.segments == [] and track.num_frames == 30
    browse.show_episode(0)
    assert track.segments and track.segments[0][1] == 30

    # suggestions from the episode's joints, accepted, then copied to the episodes of the same task
    qtbot.waitUntil(lambda: bool(browse.joint_data), timeout=TIMEOUT)
    subtasks = browse.subtasks
    subtasks.suggest()
    suggested = subtasks.session.suggestions
    assert suggested and suggested[0].start == 0 and suggested[-1].end == 39
    assert subtasks.track.suggestions == [tuple(s) for s in suggested]
    assert subtasks.session.accept_suggestions()
    subtasks.copy_to_same_task()  # episode 2 has episode 0's task and its length
    assert browse.session.curation.decision(2).subtasks == subtasks.session.segments()
