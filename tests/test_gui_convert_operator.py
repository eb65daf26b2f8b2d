"""The Convert wizard as a first-time operator meets it (issue 16): "Convert another" proposes a
fresh output instead of running into the last one; an earlier output of the studio may be replaced
from the window, a user's folder never; no label speaks in command-line flags; the Run page has no
Next that does nothing and no ETA once the run ended."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QLabel

from app.context import AppContext
from app.panes.convert import ConvertPane
from backend.formats import validate_path
from tests.recordings import DemoSpec, RecordingSpec, write_recording

WAIT_MS = 60_000


@pytest.fixture()
def context(tmp_path: Path, qtbot) -> AppContext:
    return AppContext(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), tmp_path / "ws")


@pytest.fixture()
def recording(tmp_path: Path) -> Path:
    return write_recording(tmp_path / "teleop.hdf5", RecordingSpec([DemoSpec(12), DemoSpec(14)]))


def _labels(wizard) -> list[str]:
    """Every text the wizard shows in a label (the frame's note included)."""
    return [label.text() for label in wizard.findChildren(QLabel) if label.text()]


def _cli_words(texts: list[str]) -> list[str]:
    return [t for t in texts if "--" in t or "pass " in t or "overwrite" in t]


def _click(qtbot, button) -> None:
    assert button.isVisible() and button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def _ready(qtbot, wizard) -> None:
    qtbot.waitUntil(lambda: wizard.preview_ready() and wizard.frame.next_button.isEnabled(), timeout=WAIT_MS)


def _convert(qtbot, wizard) -> None:
    _click(qtbot, wizard.frame.next_button)
    qtbot.waitUntil(lambda: wizard.step() == 3 or wizard.last_error is not None, timeout=WAIT_MS)
    assert wizard.last_error is None


def _tasks(dataset: Path) -> list[str]:
    lines = (dataset / "meta" / "tasks.jsonl").read_text().splitlines()
    return [json.loads(line)["task"] for line in lines]


def _type_out(qtbot, wizard, path: Path) -> None:
    wizard.family.out.edit.clear()
    qtbot.keyClicks(wizard.family.out.edit, str(path))


def test_convert_another_proposes_a_fresh_name_and_replace_is_offered_for_the_studios_output(
    qtbot, context: AppContext, recording: Path
) -> None:
    pane = ConvertPane(context)
    qtbot.addWidget(pane)
    pane.resize(1280, 760)
    pane.show()
    wizard = pane.show_input(str(recording))
    family = wizard.family
    first = context.workspace / "datasets" / "teleop_lerobot"
    assert family.out.path() == str(first)
    qtbot.keyClicks(family.task, "Pick the orange")
    _ready(qtbot, wizard)
    _convert(qtbot, wizard)
    assert first.is_dir()

    # "Convert another": the same recording again proposes a fresh name, and Convert works
    _click(qtbot, wizard.done_view.again_button)
    assert wizard.step() == 0
    _click(qtbot, wizard.frame.next_button)
    second = context.workspace / "datasets" / "teleop_lerobot_2"
    assert family.out.path() == str(second)
    _ready(qtbot, wizard)
    assert wizard.plan()["errors"] == []
    assert not wizard.replace_bar.isVisible()
    _convert(qtbot, wizard)
    assert [p for p in validate_path(second) if p.severity == "error"] == []

    # the old name typed back: the window offers Replace (the studio wrote it), in its own words
    _click(qtbot, wizard.done_view.again_button)
    _click(qtbot, wizard.frame.next_button)
    assert family.out.path() == str(context.workspace / "datasets" / "teleop_lerobot_3")
    _type_out(qtbot, wizard, first)
    family.task.clear()
    qtbot.keyClicks(family.task, "Place the orange")
    qtbot.waitUntil(wizard.preview_ready, timeout=WAIT_MS)
    qtbot.waitUntil(wizard.replace_bar.isVisible, timeout=WAIT_MS)
    assert not wizard.frame.next_button.isEnabled()
    assert wizard.frame.note.text() == "press Replace, or choose another output"
    errors = wizard.plan()["errors"]
    assert errors == [
        f"{first} already exists (an earlier output of the studio): Replace it, or choose another output"
    ]
    assert errors[0] in wizard.preview.messages.text()
    assert wizard.replace_bar.button.isEnabled()
    assert _cli_words(_labels(wizard)) == []
    _click(qtbot, wizard.replace_bar.button)
    _ready(qtbot, wizard)
    assert not wizard.replace_bar.isVisible()
    assert wizard.plan()["errors"] == []
    assert f"{first} will be replaced" in wizard.preview.messages.text()
    assert _cli_words(_labels(wizard)) == []
    _convert(qtbot, wizard)
    assert _tasks(first) == ["Place the orange"]  # replaced by the new run
    assert [p for p in validate_path(first) if p.severity == "error"] == []
    assert _tasks(second) == ["Pick the orange"]


def test_a_folder_the_studio_did_not_write_is_never_offered_for_replace(
    qtbot, context: AppContext, recording: Path, tmp_path: Path
) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("precious")
    pane = ConvertPane(context)
    qtbot.addWidget(pane)
    pane.show()
    wizard = pane.show_input(str(recording))
    qtbot.keyClicks(wizard.family.task, "Pick the orange")
    _type_out(qtbot, wizard, mine)
    qtbot.waitUntil(lambda: wizard.preview_ready() and bool(wizard.plan()["errors"]), timeout=WAIT_MS)
    errors = wizard.plan()["errors"]
    assert len(errors) == 1 and str(mine) in errors[0] and "the studio did not write" in errors[0], errors
    assert "choose another output" in errors[0] and "Replace" not in errors[0]
    assert not wizard.replace_bar.isVisible()
    assert not wizard.frame.next_button.isEnabled()
    assert not wizard.session.allow_replace() and not wizard.session.overwrite
    assert _cli_words(_labels(wizard)) == []
    assert (mine / "notes.txt").read_text() == "precious"


def test_run_page_has_no_idle_next_and_no_eta_after_cancel_or_the_end(
    qtbot, context: AppContext, recording: Path, tmp_path: Path
) -> None:
    big = write_recording(
        tmp_path / "big.hdf5", RecordingSpec([DemoSpec(300) for _ in range(8)], width=160, height=120)
    )
    pane = ConvertPane(context)
    qtbot.addWidget(pane)
    pane.show()
    wizard = pane.show_input(str(big))
    qtbot.keyClicks(wizard.family.task, "t")
    _ready(qtbot, wizard)
    _click(qtbot, wizard.frame.next_button)
    assert wizard.step() == 2
    assert not wizard.frame.next_button.isVisible()  # nothing for it to do while the run goes on
    assert wizard.frame.note.text() == ""
    run = wizard.run_view
    qtbot.waitUntil(lambda: "left" in run.rate.text() or not run.running, timeout=WAIT_MS)
    assert run.running and wizard.step() == 2, (wizard.step(), wizard.last_error, run.text.text())
    _click(qtbot, run.cancel_button)
    qtbot.waitUntil(lambda: not run.running, timeout=WAIT_MS)
    assert wizard.last_error == "cancelled"
    assert run.rate.text() == "" and "left" not in run.text.text()
    assert not wizard.frame.next_button.isVisible()
    assert wizard.frame.back_button.isEnabled()

    # back to the options and a whole run: the done page has no Next, the run page no ETA
    _click(qtbot, wizard.frame.back_button)
    assert wizard.step() == 1 and wizard.frame.next_button.isVisible()
    wizard.family.sources.setPaths([str(recording)])
    _ready(qtbot, wizard)
    _convert(qtbot, wizard)
    assert not wizard.frame.next_button.isVisible()
    assert "left" not in run.rate.text() and run.rate.text().startswith("took ")


def _columns_fit(table) -> bool:
    shown = [c for c in range(table.columnCount()) if not table.isColumnHidden(c)]
    right = max(table.columnViewportPosition(c) + table.columnWidth(c) for c in shown)
    return right <= table.viewport().width() and not table.horizontalScrollBar().isVisible()


def test_at_1280_the_values_and_the_prompt_columns_fit_their_tables(
    qtbot, context: AppContext, recording: Path, shared_data: Path
) -> None:
    pane = ConvertPane(context)
    qtbot.addWidget(pane)
    pane.resize(1190, 740)  # what a 1280x800 window leaves the pane
    pane.show()
    wizard = pane.show_input(str(recording))
    qtbot.keyClicks(wizard.family.task, "Pick the orange")
    _ready(qtbot, wizard)
    view = wizard.preview
    view.tabs.setCurrentIndex(1)  # Values
    qtbot.waitUntil(lambda: view.values.rowCount() == 12, timeout=WAIT_MS)
    qtbot.wait(50)
    values = view.values
    headers = [values.horizontalHeaderItem(c).text() for c in range(values.columnCount())]
    assert (
        headers[-1] == "written" and "the output" in values.horizontalHeaderItem(len(headers) - 1).toolTip()
    )
    assert _columns_fit(values), [values.columnWidth(c) for c in range(values.columnCount())]

    cosmos = pane.select("cosmos_trainset")
    cosmos.dataset.setPath(shared_data / "lerobot061_so101_v30_h264")
    _click(qtbot, cosmos.frame.next_button)
    qtbot.waitUntil(lambda: cosmos.preview_ready() and cosmos.table.rowCount() == 2, timeout=WAIT_MS)
    cosmos.keep_short.setChecked(True)
    qtbot.waitUntil(lambda: cosmos.preview_ready() and cosmos.table.item(0, 4).text() != "", timeout=WAIT_MS)
    table = cosmos.table
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    prompt = table.item(0, headers.index("prompt"))
    assert prompt.toolTip() == prompt.text() and len(prompt.text()) > 20  # whole in the tooltip
    assert _columns_fit(table), [table.columnWidth(c) for c in range(table.columnCount())]


def test_a_camera_the_first_demo_lacks_stops_the_run_before_it_starts(
    qtbot, context: AppContext, tmp_path: Path
) -> None:
    """demo_1 has a front camera, demo_0 has not: the preview says so in the CLI's sentence and Convert
    stays off (the run would have left the camera out without a word)."""
    source = write_recording(tmp_path / "late.hdf5", RecordingSpec([DemoSpec(12), DemoSpec(14)]))
    with h5py.File(source, "a") as handle:
        del handle["data/demo_0/obs/front"]
    pane = ConvertPane(context)
    qtbot.addWidget(pane)
    pane.show()
    wizard = pane.show_input(str(source))
    qtbot.keyClicks(wizard.family.task, "Pick the orange")
    qtbot.waitUntil(lambda: wizard.preview_ready() and bool(wizard.plan()["errors"]), timeout=WAIT_MS)
    errors = wizard.plan()["errors"]
    assert len(errors) == 1 and errors[0].startswith(f"{source}: demo_1 has camera front, which demo_0 has not")
    assert "demo_1 has camera front" in wizard.preview.messages.text()
    assert not wizard.frame.next_button.isEnabled()
    assert _cli_words(_labels(wizard)) == []  # the hint names the Cameras field, not --cameras
    assert not Path(wizard.family.out.path()).exists()
    # the Cameras list shows the camera too: left out there, the run goes on without it
    cameras = wizard.family.cameras
    assert [cameras.item(i).text() for i in range(cameras.count())] == ["front", "wrist"]
    cameras.item(0).setCheckState(Qt.CheckState.Unchecked)
    _ready(qtbot, wizard)
    assert wizard.plan()["errors"] == []
    _convert(qtbot, wizard)
    info = json.loads((Path(wizard.family.out.path()) / "meta" / "info.json").read_text())
    assert [k for k in info["features"] if "images" in k] == ["observation.images.wrist"]
    assert info["total_episodes"] == 2
