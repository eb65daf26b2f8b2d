"""Browse's "Edit dataset…" dialog: selection -> operation -> plan -> run as a task; drops merge."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from backend.formats import open_dataset
from backend.model import DatasetFormat
from tests.browse_data import make_window
from tests.surgery_data import write_lerobot


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("surgery_gui")
    return {
        "ds": write_lerobot(root / "ds", DatasetFormat.LEROBOT_V30, (20, 22, 24), ("pick", "place", "pick")),
        "other": write_lerobot(root / "other", DatasetFormat.LEROBOT_V30, (20,), ("stack",), seed=5),
    }


def test_select_plan_run_and_drop_to_merge(qtbot, tmp_path, monkeypatch, sources) -> None:
    window = make_window(qtbot, tmp_path, monkeypatch)
    browse = window.browse
    with qtbot.waitSignal(browse.firstFrameShown, timeout=15000):
        window.open_dataset(str(sources["ds"]))
    browse.table.selectRow(1)
    browse.surgery.button.click()
    dialog = browse.surgery.dialog
    assert dialog is not None and dialog.session.selection == [1]
    assert "1 episode(s) selected of 3" in dialog.selection_label.text()
    dialog.operation.setCurrentIndex(dialog.operation.findData("delete"))
    out = tmp_path / "without-1"
    dialog.fields["out"].setText(str(out))
    dialog.fields["out"].textEdited.emit(str(out))
    assert not dialog.run_button.isEnabled()
    inside = str(sources["ds"] / "inner")  # refused: the message shows, nothing runs
    dialog.fields["out"].setText(inside)
    dialog.fields["out"].textEdited.emit(inside)
    dialog.plan_button.click()
    qtbot.waitUntil(lambda: dialog.session.state in ("planned", "failed"), timeout=10000)
    assert dialog.session.state == "failed" and "inside the input" in dialog.message.text()
    assert not dialog.run_button.isEnabled()
    assert not (sources["ds"] / "inner").exists()
    dialog.fields["out"].setText(str(out))
    dialog.fields["out"].textEdited.emit(str(out))
    dialog.plan_button.click()
    qtbot.waitUntil(lambda: dialog.session.state == "planned", timeout=10000)
    assert "2 episodes, 44 frames" in dialog.plan_view.toPlainText() and dialog.run_button.isEnabled()
    dialog.run_button.click()
    qtbot.waitUntil(lambda: dialog.session.state in ("done", "failed"), timeout=20000)
    assert dialog.session.state == "done", dialog.session.message
    assert "Written and validated" in dialog.message.text()
    with open_dataset(out) as result:
        assert [e.task for e in result.episodes] == ["pick", "pick"]
    # a dataset dropped on the episode table: the dialog switches to merge with it listed
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(sources["other"]))])
    viewport = browse.table.viewport()
    enter = QDragEnterEvent(
        QPoint(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(viewport, drop)
    assert browse.surgery.dialog is dialog and dialog.session.operation == "merge"
    assert dialog.fields["merge_with"].count() == 1 and dialog.fields["merge_with"].isVisibleTo(dialog)
    assert not dialog.fields["task"].isVisibleTo(dialog)
    dialog.plan_button.click()  # the output is still the delete's, which exists now: refused
    qtbot.waitUntil(lambda: dialog.session.state in ("planned", "failed"), timeout=10000)
    assert dialog.session.state == "failed" and "already exists" in dialog.message.text()
    dialog.fields["out"].setText(str(tmp_path / "merged"))
    dialog.fields["out"].textEdited.emit(str(tmp_path / "merged"))
    dialog.plan_button.click()
    qtbot.waitUntil(lambda: dialog.session.state == "planned", timeout=10000)
    assert "4 episodes" in dialog.plan_view.toPlainText()
    dialog.close_button.click()
    assert browse.surgery.dialog is None
    window.close()
