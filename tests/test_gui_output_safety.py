"""The Convert wizards follow the same output rule as the command line: the preview refuses an output
that holds the input or a folder the studio did not write, with the CLI's sentence, and Run stays off."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt

from app.context import AppContext
from app.panes.convert import ConvertPane
from tests.recordings import DemoSpec, RecordingSpec, write_recording

WAIT_MS = 60_000


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture()
def pane(tmp_path: Path, qtbot) -> ConvertPane:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    widget = ConvertPane(AppContext(settings, tmp_path / "workspace"))
    qtbot.addWidget(widget)
    widget.show()
    return widget


@pytest.mark.parametrize("where", ["holder", "user-folder"])
def test_wizard_refuses_an_output_that_would_destroy_data(
    qtbot, pane: ConvertPane, tmp_path: Path, where: str
) -> None:
    holder = tmp_path / "week"
    holder.mkdir()
    (holder / "notes.txt").write_text("precious")
    recording = write_recording(holder / "teleop.hdf5", RecordingSpec([DemoSpec(12), DemoSpec(12)]))
    user = tmp_path / "mine"
    user.mkdir()
    (user / "calibration.json").write_text("{}")
    before = _digest(tmp_path)
    wizard = pane.select("hdf5_to_lerobot")
    wizard.family.sources.setPaths([str(recording)])
    wizard.family.task.setText("Pick the orange")
    out = holder if where == "holder" else user
    wizard.family.out.edit.clear()
    qtbot.keyClicks(wizard.family.out.edit, str(out))  # typed, as a user does
    qtbot.mouseClick(wizard.frame.next_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(wizard.preview_ready, timeout=WAIT_MS)
    plan = wizard.plan()
    errors = plan["errors"]
    assert plan["output"] == str(out)
    expected = "input" if where == "holder" else "already exists"
    assert any(str(out) in e and expected in e for e in errors), errors
    assert not wizard.frame.next_button.isEnabled()
    assert _digest(tmp_path) == before


def test_a_full_disk_in_a_window_task_names_the_output(qtbot, tmp_path: Path) -> None:
    """The task layer tells a write fault as the command line does: the output, not the file that
    happened to be copied when the disk filled up."""
    import errno

    from app.tasks import run_task

    source, out = tmp_path / "input.hdf5", tmp_path / "export"

    def copy(progress=None) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(source))

    failures: list[str] = []
    task = run_task(copy, outputs=[out], on_error=lambda message, details: failures.append(message))
    qtbot.waitUntil(lambda: bool(failures), timeout=5000)
    qtbot.waitUntil(lambda: not task.running, timeout=5000)
    assert failures == [f"{out}: no space left on the device (free some space or choose another output)"]
