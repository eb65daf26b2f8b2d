"""The Convert pane: inputs by drag and drop, live preview, run with progress, cancel, done page."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDropEvent

from app.context import AppContext
from app.panes.convert import ConvertPane
from backend.formats import validate_path
from tests.recordings import DemoSpec, RecordingSpec, write_recording
from tests.test_convert_cli import _camera_workers, _describe

WAIT_MS = 60_000


@pytest.fixture()
def context(tmp_path: Path, qtbot) -> AppContext:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    return AppContext(settings, tmp_path / "workspace")


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    demos = [DemoSpec(20), DemoSpec(20, success=False), DemoSpec(7), DemoSpec(22)]
    return write_recording(tmp_path_factory.mktemp("pane") / "teleop.hdf5", RecordingSpec(demos))


def _drop(widget, paths: list[Path]) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(
        QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
    )
    widget.dropEvent(event)


def _wait_preview(qtbot, wizard) -> dict:
    qtbot.waitUntil(wizard.preview_ready, timeout=WAIT_MS)
    return wizard.plan()


def test_hdf5_wizard_preview_run_and_open(
    qtbot, context: AppContext, recording: Path, tmp_path: Path
) -> None:
    pane = ConvertPane(context)
    qtbot.addWidget(pane)
    pane.show()
    assert pane.chooser.count() == 7 + 4  # seven conversions, four Cosmos/IDM wizards
    wizard = pane.select("hdf5_to_lerobot")
    family = wizard.family
    assert not wizard.frame.next_button.isEnabled()  # no inputs yet
    (tmp_path / "notes.txt").write_text("x")
    _drop(family.sources, [recording, tmp_path / "notes.txt"])
    assert family.sources.paths() == [str(recording)]
    assert "notes.txt" in family.sources.message.text()
    assert wizard.frame.next_button.isEnabled()
    qtbot.mouseClick(wizard.frame.next_button, Qt.MouseButton.LeftButton)
    assert wizard.step() == 1
    plan = _wait_preview(qtbot, wizard)
    assert any("no task text" in e for e in plan["errors"])
    assert not wizard.frame.next_button.isEnabled()
    family.task.setText("Pick the orange")
    family.out.setPath(tmp_path / "out")
    plan = _wait_preview(qtbot, wizard)
    assert plan["errors"] == [], plan["errors"]
    assert plan["summary"] == {"episodes_kept": 2, "episodes_skipped": 2, "frames_out": 32}
    view = wizard.preview
    assert view.episodes.rowCount() == 4
    reasons = [view.episodes.item(r, view.REASON_COLUMN).text() for r in range(4)]
    assert "failed demo" in reasons[1] and "minimum length" in reasons[2]
    view.filter.setCurrentIndex(2)
    assert view.episodes.rowCount() == 2
    assert view.values.rowCount() == 12  # 6 action + 6 state joints
    headers = [view.values.horizontalHeaderItem(c).text() for c in range(view.values.columnCount())]
    assert "rad" in headers and "LeRobot" in headers and "deg" in headers
    assert view.tree.topLevelItemCount() == 1
    assert [family.cameras.item(i).text() for i in range(family.cameras.count())] == ["front", "wrist"]
    family.demos.setText("0-1, x")
    qtbot.waitUntil(lambda: "not a number" in view.messages.text(), timeout=WAIT_MS)
    assert not wizard.frame.next_button.isEnabled()
    family.demos.setText("3")
    plan = _wait_preview(qtbot, wizard)
    assert plan["summary"]["episodes_kept"] == 1
    family.demos.setText("")
    # a change re-plans (latest wins): skip fewer frames
    family.skip.setValue(2)
    plan = _wait_preview(qtbot, wizard)
    assert plan["summary"]["frames_out"] == 38
    # episodes go to one worker process per usable core unless the user says otherwise
    assert family.jobs.value() == len(os.sched_getaffinity(0))
    family.jobs.setValue(2)
    assert family.options().jobs == 2
    assert wizard.frame.next_button.isEnabled()
    qtbot.mouseClick(wizard.frame.next_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: wizard.step() == 3 or wizard.last_error is not None, timeout=WAIT_MS)
    assert wizard.last_error is None
    assert wizard.last_summary["episodes_written"] == 2
    assert [p for p in validate_path(tmp_path / "out") if p.severity == "error"] == []
    assert "skip teleop.hdf5 demo_1" in wizard.run_view.log.toPlainText()
    record = json.loads(wizard.done_view.provenance.toPlainText())
    assert record["conversion"] == "hdf5_to_lerobot" and len(record["episodes"]) == 2
    with qtbot.waitSignal(context.openDatasetRequested, timeout=2000) as opened:
        qtbot.mouseClick(wizard.done_view.open_button, Qt.MouseButton.LeftButton)
    assert opened.args == [str((tmp_path / "out").absolute())]
    assert pane.save_state() == {"family": "hdf5_to_lerobot"}


def test_cancel_leaves_nothing(qtbot, context: AppContext, tmp_path: Path) -> None:
    big = write_recording(
        tmp_path / "big.hdf5", RecordingSpec([DemoSpec(150) for _ in range(4)], width=160, height=120)
    )
    pane = ConvertPane(context)
    qtbot.addWidget(pane)
    wizard = pane.select("hdf5_to_lerobot")
    wizard.family.sources.addPaths([big])
    wizard.family.task.setText("t")
    wizard.family.out.setPath(tmp_path / "cancelled")
    wizard.family.jobs.setValue(3)  # a parallel run: three worker processes
    earlier = set(_camera_workers())  # this test process's from before this run, if any: not this run's
    qtbot.mouseClick(wizard.frame.next_button, Qt.MouseButton.LeftButton)
    _wait_preview(qtbot, wizard)
    qtbot.mouseClick(wizard.frame.next_button, Qt.MouseButton.LeftButton)
    assert wizard.step() == 2
    qtbot.waitUntil(
        lambda: wizard.run_view.bar.maximum() > 0 and wizard.run_view.bar.value() > 0, timeout=WAIT_MS
    )
    qtbot.mouseClick(wizard.run_view.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not wizard.run_view.running, timeout=WAIT_MS)
    assert wizard.last_error == "cancelled"
    assert not (tmp_path / "cancelled").exists()
    assert [p.name for p in tmp_path.iterdir() if ".partial-" in p.name] == []
    assert wizard.frame.back_button.isEnabled()
    # the worker processes are gone and wrote nothing after the cancel

    qtbot.wait(500)
    left = set(_camera_workers()) - earlier
    assert left == set(), _describe(left)
    assert [p.name for p in tmp_path.iterdir() if ".partial-" in p.name] == []


def test_lerobot_to_hdf5_wizard_mapping(qtbot, context: AppContext, recording: Path, tmp_path: Path) -> None:
    from backend.convert import hdf5_to_lerobot as h2l

    dataset = tmp_path / "lerobot"
    h2l.run([recording], h2l.Hdf5ToLerobotOptions(out=dataset, task="t"))
    pane = ConvertPane(context)
    qtbot.addWidget(pane)
    wizard = pane.select("lerobot_to_hdf5")
    family = wizard.family
    _drop(family.dataset, [dataset])
    _drop(family.template, [recording])
    assert family.dataset.path() == str(dataset) and family.template.path() == str(recording)
    qtbot.mouseClick(wizard.frame.next_button, Qt.MouseButton.LeftButton)
    plan = _wait_preview(qtbot, wizard)
    assert plan["errors"] == [], plan["errors"]
    assert family.out.path().endswith("lerobot_replay.hdf5")
    assert family.mapping.rowCount() == 2
    combo = family.mapping.cellWidget(1, 1)
    assert combo.currentData() == 3  # from the provenance: episode 1 came from demo_3
    combo.setCurrentIndex(combo.findData(0))
    plan = _wait_preview(qtbot, wizard)
    assert (
        plan["episodes"][1]["extra"]["demo"] == 0 and plan["episodes"][1]["extra"]["matched_by"] == "mapping"
    )
    family.out.setPath(tmp_path / "replay.hdf5")
    _wait_preview(qtbot, wizard)
    qtbot.mouseClick(wizard.frame.next_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: wizard.step() == 3 or wizard.last_error is not None, timeout=WAIT_MS)
    assert wizard.last_error is None and (tmp_path / "replay.hdf5").is_file()


def test_other_families_build_and_preview(
    qtbot, context: AppContext, shared_data: Path, tmp_path: Path
) -> None:
    pane = ConvertPane(context)
    qtbot.addWidget(pane)
    wizard = pane.select("lerobot_v3_to_v2")
    wizard.family.source.setPath(shared_data / "lerobot061_so101_v30_h264")
    qtbot.mouseClick(wizard.frame.next_button, Qt.MouseButton.LeftButton)
    plan = _wait_preview(qtbot, wizard)
    assert plan["errors"] == [] and plan["details"]["modality"] == "made for SO-101"
    wizard = pane.select("transcode")
    wizard.family.source.setPath(shared_data / "lerobot061_so101_v30_h264")
    wizard.family.out.edit.clear()
    qtbot.keyClicks(wizard.family.out.edit, str(tmp_path / "transcoded"))
    qtbot.mouseClick(wizard.frame.next_button, Qt.MouseButton.LeftButton)
    plan = _wait_preview(qtbot, wizard)
    assert plan["details"]["to_transcode"] == 0 and plan["output"] == str(tmp_path / "transcoded")
    wizard = pane.select("lerobot_v2_to_v3")
    assert wizard.step() == 0 and not wizard.frame.next_button.isEnabled()
    pane.restore_state({"family": "transcode"})
    assert pane.stack.currentWidget() is pane.wizards["transcode"]


def test_cosmos_and_idm_wizards_are_listed_and_open(qtbot, tmp_path) -> None:
    from PySide6.QtCore import QSettings, Qt

    from app.context import AppContext
    from app.panes.convert import ConvertPane
    from app.wizards.cosmos_idm import WIZARD_FAMILIES

    context = AppContext(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), tmp_path / "ws")
    pane = ConvertPane(context)
    qtbot.addWidget(pane)
    keys = [pane.chooser.item(r).data(Qt.ItemDataRole.UserRole) for r in range(pane.chooser.count())]
    assert keys[-4:] == [key for key, _title, _factory in WIZARD_FAMILIES]
    wizard = pane.select("idm_kit")
    assert pane.stack.currentWidget() is wizard
    assert pane.save_state() == {"family": "idm_kit"}


def test_show_input_opens_the_wizard_with_the_dataset(qtbot, context: AppContext, recording: Path) -> None:
    pane = ConvertPane(context)
    qtbot.addWidget(pane)
    assert pane.show_input(str(recording.parent / "missing.txt")) is None
    wizard = pane.show_input(str(recording))
    assert pane.stack.currentWidget() is wizard and wizard.step() == 1
    assert wizard.family.sources.paths() == [str(recording)]
    assert wizard.family.out.path() == str(context.workspace / "datasets" / "teleop_lerobot")
    plan = _wait_preview(qtbot, wizard)
    assert plan.get("failed") is None and any("no task text" in e for e in plan["errors"]), plan


def test_closing_the_pane_during_a_run_ends_its_tasks(
    qtbot, context: AppContext, recording: Path, tmp_path: Path
) -> None:
    pane = ConvertPane(context)
    qtbot.addWidget(pane)
    wizard = pane.show_input(str(recording))
    wizard.family.task.setText("Pick the orange")
    wizard.family.out.setPath(tmp_path / "closed")
    qtbot.waitUntil(lambda: wizard.preview_ready() and wizard.frame.next_button.isEnabled(), timeout=WAIT_MS)
    wizard.frame.next_button.click()
    assert wizard.session.running and wizard.tasks.busy("run")
    pane.close()  # cancels and waits: nothing runs after, the output is whole or absent
    assert not wizard.tasks.busy()
    leftovers = [p.name for p in tmp_path.iterdir() if ".partial-" in p.name]
    assert leftovers == []
    if (tmp_path / "closed").exists():
        assert [p for p in validate_path(tmp_path / "closed") if p.severity == "error"] == []
