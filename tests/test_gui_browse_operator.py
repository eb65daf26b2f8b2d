"""Issue #16, Browse and the window, as an operator meets them (pytest-qt driving the real widgets):

- a failed open changes nothing: the dataset shown stays open and shown, the error names the file
  the user picked, gives the cause in words (no traceback) and the bad path stays out of Open recent;
- notices time out and never cover the curation bar's controls;
- the export dialog shows the whole output path;
- the joint readouts sit beside the curves, not on them;
- the window reopens the last dataset at start (a setting, on by default);
- a pane's own status fields show only while that pane is current.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QRect, Qt

from tests.browse_data import make_window, write_hdf5

TIMEOUT = 30000


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    win = make_window(qtbot, tmp_path, monkeypatch)
    yield win
    win.close()


def _open(qtbot, window, path, **kwargs):
    browse = window.browse
    with qtbot.waitSignals([browse.firstFrameShown, browse.episodeShown], timeout=TIMEOUT):
        window.open_dataset(str(path), **kwargs)
    return browse


def _close_dialogs() -> None:
    from app.error_dialog import open_dialogs

    for dialog in open_dialogs():
        dialog.close()


@pytest.mark.parametrize("bad_name", ["notes.json", "broken.hdf5"])
def test_a_failed_open_changes_nothing_and_names_the_file(qtbot, window, tmp_path, bad_name):
    from app.error_dialog import open_dialogs

    good = write_hdf5(tmp_path / "rec.hdf5", lengths=(20, 15))
    browse = _open(qtbot, window, good)
    browse.show_episode(1)
    browse.rate("good")
    title, status = window.windowTitle(), window.status_text("dataset")
    sidecar, summary = browse.sidecar_label.text(), browse.summary_label.text()
    recent = window.context.recent_datasets()
    assert title.startswith("rec.hdf5") and "rec.hdf5" in status and recent == [str(good)]

    folder = tmp_path / "elsewhere"
    folder.mkdir()
    bad = folder / bad_name
    bad.write_text("{}" if bad_name.endswith(".json") else "not a dataset")
    with qtbot.waitSignal(browse.openFailed, timeout=TIMEOUT):
        window.open_dataset(str(bad))
    dialog = open_dialogs()[-1]
    assert dialog.isVisible() and dialog.text() == "Could not open the dataset"
    assert f"{bad}:" in dialog.informativeText()  # the file picked, not its folder
    assert f"{folder}:" not in dialog.informativeText()
    details = dialog.detailedText()
    assert details and "Traceback" not in details and 'File "' not in details
    assert "not" in details  # the cause, in words

    # nothing changed: the dataset is open and shown, its curation and the window describe it
    assert browse.dataset is not None and browse.dataset.path == good
    assert browse.episode.index == 1 and browse.model.rowCount() == 2
    assert browse.good_button.isChecked() and browse.good_button.isEnabled()
    assert (browse.sidecar_label.text(), browse.summary_label.text()) == (sidecar, summary)
    assert window.windowTitle() == title and window.status_text("dataset") == status
    assert window.context.recent_datasets() == recent  # the bad path is not offered again
    qtbot.waitUntil(  # its frames are shown again (decoded on the frame loader's lane)
        lambda: browse.videos.tiles and all(t.index >= 0 for t in browse.videos.tiles.values()),
        timeout=TIMEOUT,
    )
    _close_dialogs()
    browse.step(1)  # still playing along
    qtbot.waitUntil(lambda: all(t.index == browse.position for t in browse.videos.tiles.values()))


def test_a_failed_first_open_shows_the_empty_pane(qtbot, window, tmp_path):
    from app.error_dialog import open_dialogs

    bad = tmp_path / "notes.hdf5"
    bad.write_text("not a dataset")
    browse = window.browse
    with qtbot.waitSignal(browse.openFailed, timeout=TIMEOUT):
        window.open_dataset(str(bad))
    dialog = open_dialogs()[-1]
    assert str(bad) in dialog.informativeText() and "Traceback" not in dialog.detailedText()
    assert browse.dataset is None and "Drop a dataset here" in browse.videos._placeholder.empty_text
    assert window.status_text("dataset") == "no dataset" and window.context.recent_datasets() == []
    assert window.windowTitle().startswith("Rollout Studio")
    _close_dialogs()


def _intersects(widget, rect: QRect, host) -> bool:
    top_left = widget.mapTo(host, widget.rect().topLeft())
    return QRect(top_left, widget.size()).intersects(rect)


def test_the_export_notice_times_out_and_covers_no_control(qtbot, window, tmp_path, monkeypatch):
    import widgets.toast

    assert widgets.toast.TIMEOUT_MS <= 8000 and widgets.toast.ACTION_TIMEOUT_MS <= 20000  # a few seconds
    monkeypatch.setattr(widgets.toast, "ACTION_TIMEOUT_MS", 1500)  # (the test need not wait 15 s)
    window.resize(1280, 800)
    path = write_hdf5(tmp_path / "a-long-recording-name-for-the-notice.hdf5", lengths=(20, 15))
    browse = _open(qtbot, window, path)
    dialog = browse.export_curated_dialog()
    with qtbot.waitSignal(browse.exportFinished, timeout=60000):
        qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Ok), Qt.MouseButton.LeftButton)
    toast = browse.toast
    assert toast.isVisible() and "Exported to" in toast.label.text()
    assert toast.timeout_ms == 1500 and toast._timer.isActive()
    shown = QRect(toast.pos(), toast.size())
    assert browse.rect().contains(shown)
    transport = browse.transport
    controls = [
        transport.in_button, transport.out_button, transport.play_button, browse.task_edit, browse.note_edit,
        browse.undo_button, browse.redo_button, browse.export_button, browse.good_button, browse.bad_button,
    ]
    for control in controls:
        assert control.isVisible()
        assert not _intersects(control, shown, browse), control.objectName() or control.text()
    qtbot.waitUntil(lambda: not toast.isVisible(), timeout=5000)  # gone by itself

    window.toast.show_message("Layout reset to the default.")  # the window's notices too
    shown = QRect(window.toast.pos(), window.toast.size())
    for control in controls:
        assert not _intersects(control, shown, window)
    assert window.toast.timeout_ms == widgets.toast.TIMEOUT_MS


def test_the_export_dialog_shows_the_whole_output_path(qtbot, window, tmp_path):
    import tempfile

    path = write_hdf5(tmp_path / "so101_pick_orange_teleop_session_2025-06-01_long_name.hdf5", lengths=(12,))
    browse = _open(qtbot, window, path)
    window.context.workspace = Path(tempfile.gettempdir()) / "ws"  # a path that fits the (800 px) screen
    dialog = browse.export_curated_dialog()
    qtbot.waitExposed(dialog)
    out = dialog.out
    text = out.text()
    assert text.startswith(str(window.context.workspace)) and text.endswith("long_name-curated.hdf5")
    assert out.isVisible() and out.toolTip() == text and not dialog.path_label.isVisible()
    assert out.width() >= out.fontMetrics().horizontalAdvance(text) + 8  # nothing scrolled out of view
    screen = dialog.screen().availableGeometry()
    assert dialog.width() <= screen.width()
    dialog.format.setCurrentIndex(dialog.format.findData("lerobot_v3.0"))  # a new name fits as well
    assert out.text().endswith("long_name-curated") and out.toolTip() == out.text()
    assert out.width() >= out.fontMetrics().horizontalAdvance(out.text()) + 8
    dialog.reject()

    long_out = tmp_path / ("deep-folder-" * 30) / "exports" / "so101_pick_orange-curated.hdf5"
    dialog = browse.export_curated_dialog()
    qtbot.waitExposed(dialog)
    dialog.out.setText(str(long_out))
    assert dialog.out.fontMetrics().horizontalAdvance(str(long_out)) > screen.width()  # (the case)
    shown = dialog.path_label.text()
    assert dialog.path_label.isVisible() and dialog.path_label.toolTip() == str(long_out)
    assert "…" in shown and shown.startswith(str(tmp_path)[:10]) and shown.endswith("curated.hdf5")
    assert dialog.out.cursorPosition() == 0 and dialog.width() <= screen.width()
    dialog.reject()


def test_a_panes_status_fields_show_only_while_it_is_current(qtbot, window, tmp_path):
    path = write_hdf5(tmp_path / "rec.hdf5", lengths=(20, 15))
    browse = _open(qtbot, window, path)
    window.context.set_status("jobs", "2 jobs running")
    browse.set_position(5)
    assert window.status_text("frame").startswith("frame 5/19")
    assert window.status_text("episode").startswith("episode 0")

    qtbot.mouseClick(window.rail_buttons["compare"], Qt.MouseButton.LeftButton)
    compare = window.pane("compare")
    assert window.current_key == "compare"
    compare.context.set_status("frame", "compare 0/111 · 0.00 s")  # what Compare reports
    compare.context.set_status("compare", "B vs A: RMSE 0.000 deg")
    assert window.status_text("frame") == "compare 0/111 · 0.00 s"
    assert window.status_text("compare") == "B vs A: RMSE 0.000 deg"
    assert window.status_text("episode") == ""  # Browse's field waits for Browse
    assert window.status_text("dataset").startswith("rec.hdf5") and window.status_text("jobs") == "2 jobs running"

    qtbot.mouseClick(window.rail_buttons["browse"], Qt.MouseButton.LeftButton)
    assert window.status_text("frame").startswith("frame 5/19")
    assert window.status_text("episode").startswith("episode 0")
    assert window.status_text("compare") == "" and not window.status_labels["compare"].isVisible()
    assert window.status_text("dataset").startswith("rec.hdf5") and window.status_text("jobs") == "2 jobs running"
    compare.context.set_status("compare", "B vs A: RMSE 1.000 deg")  # set while not current: kept, not shown
    assert window.status_text("compare") == ""
    window.show_pane("compare")
    assert window.status_text("compare") == "B vs A: RMSE 1.000 deg"
    bar = window.statusBar()
    for label in window.status_labels.values():
        if label.isVisible():
            assert label.mapTo(bar, label.rect().topRight()).x() <= bar.width()


def test_the_last_dataset_reopens_at_start_unless_the_setting_is_off(qtbot, tmp_path, monkeypatch):
    path = write_hdf5(tmp_path / "rec.hdf5", lengths=(20, 15))
    first = make_window(qtbot, tmp_path, monkeypatch)
    assert first.reopen_action.isChecked() and first.last_dataset() is None  # on by default; none yet
    _open(qtbot, first, path, episode=1, frame=7)
    first.close()

    second = make_window(qtbot, tmp_path, monkeypatch)
    assert second.reopen_action.isChecked() and second.last_dataset() == str(path)
    file_menu = second.menuBar().actions()[0].menu()
    assert second.reopen_action in file_menu.actions() and second.reopen_action.isEnabled()
    second.reopen_action.trigger()  # the user turns it off
    assert not second.reopen_action.isChecked() and second.last_dataset() is None
    second.close()

    third = make_window(qtbot, tmp_path, monkeypatch)
    assert not third.reopen_action.isChecked() and third.last_dataset() is None  # remembered
    third.reopen_action.trigger()
    assert third.last_dataset() == str(path)
    third.close()


def test_joint_readouts_sit_beside_the_curves_and_y_labels_never_touch(qtbot, window, tmp_path):
    window.resize(1280, 800)
    path = write_hdf5(tmp_path / "rec.hdf5", lengths=(40,))
    browse = _open(qtbot, window, path)
    browse.set_position(17)
    plots = browse.plots
    qtbot.waitUntil(lambda: plots.side_texts[2].value == plots.short_readout(2, 17))
    assert len(plots.plots) == 6
    label_height = 14  # px of an axis label
    for j, (plot, side) in enumerate(zip(plots.plots, plots.side_texts, strict=True)):
        curves = plot.vb.sceneBoundingRect()
        beside = side.label.sceneBoundingRect()
        assert not curves.intersects(beside), (j, curves, beside)  # never on the curves
        assert beside.left() >= curves.right() and beside.right() <= plots.view.width() + 1
        assert side.title == f"{plots.names[j]} (rad)"
        assert side.value.startswith("a ") and " s " in side.value and "-0.000" not in side.value
        ticks = plot.getAxis("left")._studio_ticks
        assert 1 <= len(ticks) <= 2
        if len(ticks) == 2:  # two labels only where they do not touch
            low, high = plot.vb.viewRange()[1]
            gap = abs(ticks[0][0] - ticks[1][0]) * plot.vb.height() / (high - low)
            assert gap >= label_height, (j, gap)
    assert "wrist_flex" in plots.side_texts[3].text()
