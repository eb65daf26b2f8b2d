"""The studio window: panes, placeholders, menus, persistence, drag and drop, errors, --screenshot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QImage
from PySide6.QtWidgets import QWidget

from app.panes import PANES, PaneSpec
from tests.browse_data import make_window, write_hdf5

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    win = make_window(qtbot, tmp_path, monkeypatch)
    yield win
    win.close()


def _open(qtbot, window, path, **kwargs):
    browse = window.browse
    with qtbot.waitSignals([browse.firstFrameShown, browse.episodeShown], timeout=20000):
        window.open_dataset(str(path), **kwargs)
    return browse


def test_rail_switches_panes_and_missing_panes_say_why(qtbot, tmp_path, monkeypatch):
    specs = list(PANES) + [
        PaneSpec("missing", "Missing", "app.panes.no_such_pane", "NoSuchPane", "?"),
        PaneSpec("broken", "Broken", "tests.test_gui_window", "NotAClass", "!"),
    ]
    monkeypatch.setattr("app.main_window.PANES", specs)
    window = make_window(qtbot, tmp_path, monkeypatch)
    assert list(window.rail_buttons) == [
        "teleop",
        "browse",
        "convert",
        "jobs",
        "compare",
        "missing",
        "broken",
    ]
    assert window.current_key == "browse"
    window.show_pane("missing")
    assert window.stack.currentWidget().error == "" and "not part of this build" in _texts(
        window.stack.currentWidget()
    )
    window.show_pane("broken")
    assert "AttributeError" in window.stack.currentWidget().error
    for number, spec in enumerate(PANES, start=1):  # Ctrl+1..5
        window.pane_actions[spec.key].trigger()
        assert window.current_key == spec.key and window.rail_buttons[spec.key].isChecked()
        assert isinstance(window.stack.currentWidget(), QWidget)
        assert window.pane_actions[spec.key].shortcut().toString() == f"Ctrl+{number}"
    window.close()


def _texts(widget):
    from PySide6.QtWidgets import QLabel

    return " ".join(label.text() for label in widget.findChildren(QLabel))


def test_restart_restores_layout_recent_and_curation(qtbot, tmp_path, monkeypatch):
    path = write_hdf5(tmp_path / "rec.hdf5")
    first = make_window(qtbot, tmp_path, monkeypatch)
    browse = _open(qtbot, first, path, episode=1, frame=12)
    browse.rate("good")
    browse.trim_in_here()
    browse.set_note("keep this one")
    first.browse.splitter.setSizes([300, 500])
    first.resize(1100, 700)
    # what the window became: at least its layout's minimum (a check's progress line in the status
    # bar can make that taller than 700 while the hints still run)
    height = first.height()
    sizes = first.browse.splitter.sizes()
    first.close()  # saves layout, episode and frame

    second = make_window(qtbot, tmp_path, monkeypatch)
    assert second.context.recent_datasets() == [str(path.absolute())]
    assert second.context.last_folder("datasets") == str(tmp_path)
    assert second.height() == height  # (the offscreen screen is 800 wide: Qt fits the width to it)
    assert 700 <= height <= 760
    restored = second.browse.splitter.sizes()  # within a pixel: the splitter rounds its shares
    assert len(restored) == len(sizes) and all(abs(a - b) <= 1 for a, b in zip(restored, sizes, strict=True))
    second._fill_recent()
    recent = [a for a in second.recent_menu.actions() if a.text() == str(path.absolute())]
    browse = second.browse
    with qtbot.waitSignals([browse.firstFrameShown, browse.episodeShown], timeout=20000):
        recent[0].trigger()
    assert browse.episode.index == 1 and browse.position == 12  # where we left it
    decision = browse.curation.decision(1)
    assert (decision.rating, decision.trim_in, decision.note) == ("good", 12, "keep this one")
    row = browse.model.row_for(1)
    assert row.rating == "good" and row.trimmed and row.note == "keep this one"
    assert browse.good_button.isChecked() and browse.note_edit.text() == "keep this one"
    assert second.undo_action.isEnabled()  # the history survived too
    second.undo_action.trigger()
    assert browse.curation.decision(1).note == ""
    second.close()


def test_drop_opens_and_bad_files_show_one_clear_dialog(qtbot, window, tmp_path):
    from app.error_dialog import open_dialogs

    path = write_hdf5(tmp_path / "dropped.hdf5", lengths=(20,))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(
        QPointF(50, 50),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    browse = window.browse
    with qtbot.waitSignal(browse.firstFrameShown, timeout=20000):
        window.dropEvent(event)
    assert browse.dataset.path == path.absolute() or browse.dataset.path == path

    bad = tmp_path / "notes.hdf5"
    bad.write_text("not a dataset")
    with qtbot.waitSignal(browse.openFailed, timeout=20000):
        window.open_dataset(str(bad))
    dialogs = open_dialogs()
    assert dialogs and dialogs[-1].text() == "Could not open the dataset"
    assert str(bad) in dialogs[-1].informativeText()
    assert dialogs[-1].detailedText() and "Traceback" not in dialogs[-1].detailedText()  # words only
    assert browse.dataset is not None and browse.dataset.path.name == "dropped.hdf5"  # still shown
    dialogs[-1].close()


def test_gui_export_is_validated_and_offered_to_open(qtbot, window, tmp_path):
    path = write_hdf5(tmp_path / "rec.hdf5")
    browse = _open(qtbot, window, path)
    browse.show_episode(1)
    browse.toggle_excluded()
    dialog = browse.export_curated_dialog()
    assert dialog.chosen_format().value == "leisaac_hdf5"
    assert dialog.output() == tmp_path / "workspace" / "exports" / "rec-curated.hdf5"
    dialog.format.setCurrentIndex(dialog.format.findData("lerobot_v3.0"))
    assert dialog.output() == tmp_path / "workspace" / "exports" / "rec-curated"
    with qtbot.waitSignal(browse.exportFinished, timeout=60000) as blocker:
        dialog.accept()
    out = blocker.args[0]
    assert out == tmp_path / "workspace" / "exports" / "rec-curated"
    assert "validate: OK" in browse.toast.label.text()
    assert browse.toast.action_titles() == ["Open in Browse"]
    with qtbot.waitSignal(browse.firstFrameShown, timeout=20000):
        browse.toast.trigger("Open in Browse")
    assert browse.dataset.format.value == "lerobot_v3.0" and browse.dataset.num_episodes == 2


def test_shortcuts_help_and_status_bar(qtbot, window):
    from PySide6.QtWidgets import QTableWidget

    from app.window_parts import SHORTCUTS

    dialog = window.show_shortcuts()
    table = dialog.findChild(QTableWidget)
    assert dialog.isVisible() and table.rowCount() == len(SHORTCUTS)
    assert [table.item(r, 0).text() for r in range(3)] == [
        "Space",
        "Left / Right",
        "Shift+Left / Shift+Right",
    ]
    assert window.status_text("dataset") == "no dataset"
    window.context.set_status("jobs", "3 jobs running")
    assert window.status_text("jobs") == "3 jobs running"
    dialog.close()


def test_qt_binding_keeps_reference_counts(qtbot):
    """PySide6 6.12.0 on Python 3.11 decrefs None on every void call: windows crash after a while."""
    widget = QWidget()
    qtbot.addWidget(widget)
    widget.show()
    before = sys.getrefcount(None)
    for _ in range(300):
        widget.repaint()
        widget.move(1, 1)
    assert sys.getrefcount(None) >= before - 20, "the Qt binding leaks None references: use PySide6 < 6.12"


def _run_gui(args, tmp_path, timeout=120):
    env = dict(os.environ)
    env.update(
        {
            "QT_QPA_PLATFORM": "offscreen",
            "ROLLOUT_STUDIO_SETTINGS": str(tmp_path / "gui-settings.ini"),
            "XDG_DATA_HOME": str(tmp_path / "data-home"),
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "app.entry", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_screenshot_of_the_real_dataset(tmp_path, shared_data):
    shot = tmp_path / "browse.png"
    result = _run_gui(
        [
            str(shared_data / "lerobot061_so101_v30_h264"),
            "--workspace",
            str(tmp_path / "ws"),
            "--screenshot",
            str(shot),
            "--size",
            "1280x800",
            "--episode",
            "1",
            "--frame",
            "20",
            "--timing",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    image = QImage(str(shot))
    assert (image.width(), image.height()) == (1280, 800)
    timings = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert timings and "first_frame_s" in timings[0]


def test_demo_workspace_opens_its_sample(tmp_path):
    workspace = tmp_path / "demo-ws"
    workspace.mkdir()
    sample = write_hdf5(workspace / "datasets" / "so101_pick_orange.hdf5", lengths=(30, 20))
    (workspace / ".demo-dataset").write_text(str(sample))  # generated on an earlier first use
    shot = tmp_path / "demo.png"
    result = _run_gui(["--demo", "--workspace", str(workspace), "--screenshot", str(shot)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert QImage(str(shot)).width() == 1480
    assert "first frame" in result.stderr


def test_no_arguments_reopen_the_last_dataset_where_it_was_left(tmp_path):
    from PySide6.QtCore import QSettings

    path = write_hdf5(tmp_path / "last.hdf5", lengths=(20, 25))
    settings = QSettings(str(tmp_path / "gui-settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("recent/datasets", [str(path)])
    settings.sync()
    shot = tmp_path / "reopened.png"
    args = ["--workspace", str(tmp_path / "ws"), "--screenshot", str(shot), "--timing", "--size", "1280x800"]
    result = _run_gui(args, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "first frame" in result.stderr  # a dataset was opened and shown
    timings = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert timings and "first_frame_s" in timings[0]
    settings.sync()
    assert QSettings(str(tmp_path / "gui-settings.ini"), QSettings.Format.IniFormat).value(
        "recent/datasets"
    ) in ([str(path)], str(path))


def test_no_display_is_a_clear_message(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")}
    result = subprocess.run(
        [sys.executable, "-m", "app.entry"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "no display" in result.stderr
