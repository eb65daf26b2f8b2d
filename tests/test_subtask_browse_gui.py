"""Subtasks in Browse's GUI: the export dialog's subtask schema (remembered in the settings), and the
review grid's selection as the target of Edit dataset and of copying subtasks while the grid shows."""

from __future__ import annotations

import json

import pytest

from app.panes.browse.export import SUBTASKS_SETTING
from app.panes.browse.review import selected_episodes
from backend.model import DatasetFormat
from tests.browse_data import make_window, write_hdf5

TIMEOUT = 30000


@pytest.fixture
def browse(qtbot, tmp_path, monkeypatch):
    window = make_window(qtbot, tmp_path, monkeypatch)
    path = write_hdf5(tmp_path / "rec.hdf5", lengths=(20, 30, 24), tasks=("Pick the orange",), width=64, height=48)
    pane = window.browse
    with qtbot.waitSignals([pane.firstFrameShown, pane.episodeShown], timeout=TIMEOUT):
        window.open_dataset(str(path))
    pane.session.curation.set(0, subtasks=[[0, 9, "reach"], [10, 19, "grasp"]])
    yield window, pane
    window.close()


def test_export_dialog_offers_the_subtask_schema_and_remembers_it(qtbot, browse, tmp_path):
    window, pane = browse
    dialog = pane.export_curated_dialog()
    qtbot.waitExposed(dialog)
    assert dialog.chosen_subtasks() == "auto"
    assert not dialog.subtasks.isEnabled()  # HDF5: the demos' subtasks attribute, always
    dialog.format.setCurrentIndex(dialog.format.findData(DatasetFormat.LEROBOT_V21.value))
    model = dialog.subtasks.model()
    enabled = {dialog.subtasks.itemData(r): model.item(r).isEnabled() for r in range(dialog.subtasks.count())}
    assert dialog.subtasks.isEnabled()
    assert enabled == {"auto": True, "none": True, "index": True, "language": False, "both": False}
    dialog.format.setCurrentIndex(dialog.format.findData(DatasetFormat.LEROBOT_V30.value))
    dialog.subtasks.setCurrentIndex(dialog.subtasks.findData("index"))
    out = tmp_path / "exported"
    dialog.out.setText(str(out))
    with qtbot.waitSignal(pane.exporter.finished, timeout=TIMEOUT):
        dialog.accept()
    info = json.loads((out / "meta" / "info.json").read_text())
    assert "subtask_index" in info["features"] and "language_persistent" not in info["features"]
    assert (out / "meta" / "subtasks.parquet").is_file()
    assert window.context.settings.value(SUBTASKS_SETTING) == "index"

    dialog = pane.export_curated_dialog()  # the choice comes back; v2.1 cannot take "both"
    assert dialog.chosen_subtasks() == "index"
    dialog.subtasks.setCurrentIndex(dialog.subtasks.findData("both"))
    dialog.format.setCurrentIndex(dialog.format.findData(DatasetFormat.LEROBOT_V21.value))
    assert dialog.chosen_subtasks() == "index"
    dialog.reject()


def test_edit_dataset_and_copying_subtasks_act_on_the_review_grids_selection(qtbot, browse):
    _, pane = browse
    pane.table.selectRow(0)
    assert selected_episodes(pane) == [0]  # the table's, while the grid is hidden
    review = pane.review
    with qtbot.waitSignal(review.pageShown, timeout=TIMEOUT):
        review.tabs.setCurrentIndex(1)
    review.grid.set_current_row(2)
    assert review.session.current_cell().episode == 2
    assert selected_episodes(pane) == [2]
    assert [a.text() for a in review.grid.actions()] == [
        "Copy the player's subtasks to this episode", "Edit dataset… (Ctrl+Shift+E)"
    ]
    review.grid.actions()[1].trigger()
    dialog = pane.surgery.dialog
    assert dialog.session.selection == [2] and "1 episode(s) selected" in dialog.selection_label.text()
    dialog.reject()
    assert pane.session.episode.index == 0  # the player still shows episode 0: its subtasks go to 2
    pane.subtasks.grid_copy.trigger()
    copied = pane.session.curation.decision(2).subtasks
    assert [(s.start, s.end, s.text) for s in copied] == [(0, 11, "reach"), (12, 23, "grasp")]
    assert pane.session.curation.decision(1).subtasks == ()  # not selected: unchanged
