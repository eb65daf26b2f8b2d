"""Browse pane: table, viewer, playhead, plots, filters, curation (pytest-qt, offscreen)."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt

from backend.units import Unit
from tests.browse_data import frame_value, joint_values, make_window, memory_dataset


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    win = make_window(qtbot, tmp_path, monkeypatch)
    yield win
    win.close()


def _open_memory(qtbot, window, tmp_path, **kwargs):
    dataset = memory_dataset(tmp_path / "d.hdf5", **kwargs)
    browse = window.browse
    with qtbot.waitSignal(browse.firstFrameShown, timeout=10000):
        with qtbot.waitSignal(browse.episodeShown, timeout=10000):
            browse.show_dataset(dataset)
    return browse, dataset


def _wait_frame(qtbot, browse, frame):
    qtbot.waitUntil(lambda: all(t.index == frame for t in browse.videos.tiles.values()), timeout=5000)


def test_playhead_moves_frames_and_plots(qtbot, window, tmp_path):
    browse, dataset = _open_memory(qtbot, window, tmp_path)
    assert list(browse.videos.tiles) == ["front", "wrist"]
    assert browse.model.rowCount() == 3
    browse.set_position(17)
    _wait_frame(qtbot, browse, 17)
    assert browse.videos.tiles["front"].frame()[0, 0, 0] == frame_value(0, 17, 0)
    assert browse.videos.tiles["wrist"].frame()[0, 0, 0] == frame_value(0, 17, 1)
    # plots: radians as stored, playhead at 17 / fps seconds
    x, y = browse.plots.curve_data(2, "action")
    assert np.allclose(y, joint_values(0, 40, "action")[:, 2], atol=1e-6)
    assert browse.plots.playhead_x() == pytest.approx(17 / 30.0)
    assert "action" in browse.plots.readout(2, 17) and "rad" in browse.plots.readout(2, 17)
    # unit switch converts the plotted values
    browse.set_unit(Unit.SIM_DEGREES)
    x, y = browse.plots.curve_data(2, "state")
    assert np.allclose(y, np.degrees(joint_values(0, 40, "state")[:, 2]), atol=1e-4)
    # keys: Right, Shift+Right, Down (next episode)
    browse.step(1)
    browse.step(10)
    _wait_frame(qtbot, browse, 28)
    with qtbot.waitSignal(browse.episodeShown, timeout=5000):
        browse.next_episode(1)
    assert browse.episode.index == 1 and browse.position == 0
    _wait_frame(qtbot, browse, 0)
    assert browse.videos.tiles["front"].frame()[0, 0, 0] == frame_value(1, 0, 0)
    assert window.status_text("frame").startswith("frame 0/29")


def test_filters_narrow_the_table(qtbot, window, tmp_path):
    browse, dataset = _open_memory(
        qtbot, window, tmp_path, lengths=(40, 30, 50, 20, 60), tasks=("Pick the orange", "Lift the cube")
    )
    bar = browse.filters
    assert bar.count.text() == "5 episodes"
    bar.success.setCurrentIndex(bar.success.findData("yes"))  # episodes 0, 2, 4 succeed
    assert browse.model.visible_episodes() == [0, 2, 4]
    bar.task.setCurrentIndex(bar.task.findData("Pick the orange"))  # tasks alternate: 0, 2, 4
    assert browse.model.visible_episodes() == [0, 2, 4]
    bar.set_length_range(35, 55)
    assert browse.model.visible_episodes() == [0, 2]
    assert bar.count.text() == "2 of 5 episodes"
    bar.text.setText("demo_2")  # source column
    assert browse.model.visible_episodes() == [2]
    bar.text.clear()
    bar.set_length_range(20, 60)
    bar.success.setCurrentIndex(0)
    bar.task.setCurrentIndex(0)
    assert browse.model.visible_episodes() == [0, 1, 2, 3, 4]
    # flag episode 3 through the curation, then filter on flags and notes
    browse.show_episode(3)
    browse.toggle_flag()
    browse.set_note("wobbly grasp")
    bar.flag.setCurrentIndex(bar.flag.findData("flagged"))
    assert browse.model.visible_episodes() == [3]
    bar.flag.setCurrentIndex(0)
    bar.text.setText("wobbly")
    assert browse.model.visible_episodes() == [3]
    bar.text.clear()
    # quality hints arrive in the background: episode 3 is 20 frames at 30 fps (< 1 s)
    qtbot.waitUntil(lambda: all(r.hints_ready for r in browse.model.rows), timeout=10000)
    assert [c for c, _, _ in browse.model.row_for(3).hints] == ["short"]
    bar.hints.setCurrentIndex(bar.hints.findData("with"))
    assert browse.model.visible_episodes() == [3]
    # sorting by length, descending; Up/Down follow the table's order
    bar.hints.setCurrentIndex(0)
    browse.table.sortByColumn(2, Qt.SortOrder.DescendingOrder)
    assert browse.model.visible_episodes() == [4, 2, 0, 1, 3]
    browse.show_episode(4)
    browse.next_episode(1)
    assert browse.episode.index == 2


def test_curation_keys_undo_and_sidecar(qtbot, window, tmp_path):
    browse, dataset = _open_memory(qtbot, window, tmp_path)
    browse.table.setFocus()
    qtbot.keyClick(browse.table, Qt.Key.Key_G)
    qtbot.keyClick(browse.table, Qt.Key.Key_F)
    browse.set_position(5)
    qtbot.keyClick(browse.table, Qt.Key.Key_I)
    browse.set_position(30)
    qtbot.keyClick(browse.table, Qt.Key.Key_O)
    decision = browse.curation.decision(0)
    assert (decision.rating, decision.flagged, decision.trim_in, decision.trim_out) == ("good", True, 5, 30)
    assert browse.transport.timeline.trim_in == 5 and browse.transport.timeline.trim_out == 30
    assert browse.transport.trim_label.text() == "keep 5–30"
    row = browse.model.row_for(0)
    assert row.rating == "good" and row.flagged and row.trimmed
    # typing in the note field does not trigger the letter shortcuts
    browse.note_edit.setFocus()
    qtbot.keyClicks(browse.note_edit, "gripper slips")
    qtbot.keyClick(browse.note_edit, Qt.Key.Key_Return)
    assert browse.curation.decision(0).note == "gripper slips"
    assert browse.curation.decision(0).rating == "good"  # the "g" in the note did not re-rate
    browse.task_edit.setText("Pick the orange slowly")
    browse.task_edit.editingFinished.emit()
    assert browse.model.row_for(0).task == "Pick the orange slowly" and browse.model.row_for(0).task_edited
    # Up/Down move between episodes; X excludes
    browse.table.setFocus()
    qtbot.keyClick(browse.table, Qt.Key.Key_Down)
    assert browse.episode.index == 1
    qtbot.keyClick(browse.table, Qt.Key.Key_X)
    assert browse.curation.decision(1).excluded
    assert browse.summary_label.text().startswith(
        "2 of 3 episodes kept (1 excluded, 1 trimmed, 1 relabelled)"
    )
    # Edit > Undo in the window undoes the last change
    assert window.undo_action.isEnabled() and "Exclude episode 1" in window.undo_action.text()
    window.undo_action.trigger()
    assert not browse.curation.decision(1).excluded
    window.redo_action.trigger()
    assert browse.curation.decision(1).excluded
    qtbot.waitUntil(lambda: not browse.curation.save_pending, timeout=5000)  # saved by a background task
    data = json.loads(browse.curation.path.read_text())
    assert data["episodes"]["0"]["note"] == "gripper slips" and data["episodes"]["1"] == {"excluded": True}
    assert browse.curation.path == tmp_path / "d.hdf5.curation.json"


def test_playback_follows_the_clock(qtbot, window, tmp_path):
    browse, dataset = _open_memory(qtbot, window, tmp_path, lengths=(90,))
    browse.set_speed(2.0)
    started = time.monotonic()
    browse.play()
    qtbot.wait(500)
    elapsed = time.monotonic() - started
    position = browse.position
    # 2x at 30 fps: about 60 frames per second of wall time
    assert abs(position - elapsed * 60) <= 8, (position, elapsed)
    qtbot.waitUntil(lambda: not browse.playing, timeout=5000)  # stops at the last frame
    assert browse.position == 89
    _wait_frame(qtbot, browse, 89)


def test_scrubbing_shows_the_latest_request(qtbot, window, tmp_path):
    browse, dataset = _open_memory(qtbot, window, tmp_path, lengths=(90,))
    shown = []
    browse.videos.tiles["front"].frameShown.connect(shown.append)
    timeline = browse.transport.timeline
    for x in range(10, timeline.width() - 10, 3):  # drag the playhead across the bar
        timeline.scrubbed.emit(timeline.frame_at(x))
    last = browse.position
    assert last == timeline.frame_at(timeline.width() - 11)
    _wait_frame(qtbot, browse, last)
    assert browse.videos.tiles["front"].frame()[0, 0, 0] == frame_value(0, last, 0)
    assert shown[-1] == last


def test_timeline_hover_preview_and_length_slider(qtbot):
    from PySide6.QtCore import QPoint

    from widgets.range_slider import RangeSlider
    from widgets.timeline import TimelineBar

    bar = TimelineBar()
    qtbot.addWidget(bar)
    bar.resize(400, 52)
    bar.show()
    bar.set_range(100, 30.0)
    thumbs = [(i, np.full((9, 12, 3), i, np.uint8)) for i in (0, 25, 50, 75, 99)]
    bar.set_thumbnails(thumbs)
    hovered = []
    bar.hovered.connect(hovered.append)
    x = int(bar.x_for(52))
    qtbot.mouseMove(bar, QPoint(x, 20))
    assert hovered and abs(hovered[-1] - 52) <= 1
    assert bar.nearest_thumbnail(hovered[-1])[0] == 50
    assert bar._preview.isVisible() and not bar._preview.pixmap().isNull()
    with qtbot.waitSignal(bar.scrubbed) as blocker:
        qtbot.mousePress(bar, Qt.MouseButton.LeftButton, pos=QPoint(int(bar.x_for(80)), 20))
    assert abs(blocker.args[0] - 80) <= 1 and bar.position == blocker.args[0]

    slider = RangeSlider()
    qtbot.addWidget(slider)
    slider.resize(200, 22)
    slider.setRange(10, 110)
    slider.setValue((10, 110))
    values = []
    slider.valueChanged.connect(values.append)
    qtbot.mousePress(slider, Qt.MouseButton.LeftButton, pos=QPoint(slider.width() - 2, 11))
    qtbot.mouseMove(slider, QPoint(slider.width() // 2, 11))
    assert values[-1][0] == 10 and 55 <= values[-1][1] <= 65  # the high handle followed the mouse
    slider.setValue((90, 30))  # reversed: sorted
    assert slider.value() == (30, 90)


def test_transport_keys_move_the_playhead(qtbot, window, tmp_path):
    browse, _dataset = _open_memory(qtbot, window, tmp_path)
    browse.table.setFocus()
    browse.set_position(20)
    qtbot.keyClick(browse.table, Qt.Key.Key_Right)
    assert browse.position == 21
    qtbot.keyClick(browse.table, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert browse.position == 31
    qtbot.keyClick(browse.table, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(browse.table, Qt.Key.Key_Left)
    assert browse.position == 20
    qtbot.keyClick(browse.table, Qt.Key.Key_End)
    assert browse.position == browse._last_frame()
    qtbot.keyClick(browse.table, Qt.Key.Key_Home)
    assert browse.position == 0


def test_theme_switch_recolours_the_plots_in_place(qtbot, window, tmp_path):
    from widgets import palette
    from widgets.plot_parts import few_ticks

    browse, _ = _open_memory(qtbot, window, tmp_path)
    browse.set_position(12)
    plots = browse.plots
    names = list(plots.names)
    before = plots.action_curves[0].opts["pen"].color().name()
    assert before == palette.joint_color(names[0], 0).name()
    window.set_theme("light")
    try:
        assert plots.view.backgroundBrush().color().name() == palette.THEMES["light"]["plot_bg"]
        after = [curve.opts["pen"].color().name() for curve in plots.action_curves]
        assert after == [palette.joint_color(n, j).name() for j, n in enumerate(names)]
        assert after[0] != before  # the light theme has its own joint colours
        assert plots.playhead_x() == pytest.approx(float(plots.t[12]))
        # a few round ticks per short plot
        for plot in plots.plots:
            ticks = plot.getAxis("left")._tickLevels[0]
            assert 1 <= len(ticks) <= 3
    finally:
        window.set_theme("dark")
    assert few_ticks(0.35, 1.25) == [(0.5, "0.5"), (1.0, "1.0")]
    assert few_ticks(-0.2, 0.2) == [(-0.2, "-0.2"), (0.0, "0.0"), (0.2, "0.2")]
    assert few_ticks(-100.0, 100.0) == [(-100.0, "-100"), (0.0, "0"), (100.0, "100")]
    # joint readouts never show "-0.000"
    from backend.numbers import fixed

    assert (fixed(-0.0004, ".3f"), fixed(-0.0, ".2f"), fixed(-0.5, ".3f")) == ("0.000", "0.00", "-0.500")
