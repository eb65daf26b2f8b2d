"""Teleop as a first-time operator meets it (issue #16): the status line names a button that exists,
a recording opens in Browse, virtual arms are named in the port lists, long paths and the joint axis
labels fit at 1280x800."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.context import AppContext
from app.panes.teleop import pane as teleop_pane
from app.panes.teleop.connection import ConnectionPanel
from app.settings import make_settings
from backend.sessions.recording import START_VIRTUAL, RecordingSession
from backend.teleop.ports import register_virtual
from tests.browse_data import make_window
from widgets.path_lines_edit import short_source

LONG = "/tmp/pytest-of-operator/pytest-1234/test_a_rather_long_test_name0/workspace"


@pytest.fixture
def context(tmp_path, monkeypatch):
    monkeypatch.setenv("ROLLOUT_STUDIO_SETTINGS", str(tmp_path / "settings.ini"))
    return AppContext(make_settings(), tmp_path / "workspace")


def test_the_status_line_points_to_a_button_that_exists(qtbot, context):
    widget = teleop_pane.TeleopPane(context)
    qtbot.addWidget(widget)
    widget.resize(1200, 740)
    widget.show()
    qtbot.waitExposed(widget)
    status = widget.connect_status.text().replace("\u200b", "")
    assert "File > Demo" not in status and START_VIRTUAL in status
    button = widget.connection.virtual_button
    assert button.text() == START_VIRTUAL and button.isVisible() and button.isEnabled()
    assert not widget.open_button.isEnabled()  # nothing recorded yet
    assert "Keep an episode" in widget.open_button.toolTip()
    widget.shutdown()


def test_virtual_arms_are_named_in_the_port_list(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    master, slave = os.openpty()
    try:
        device = os.ttyname(slave)
        register_virtual(device, "bench leader")
        folder = tmp_path / "run" / "rollout-studio" / "virtual-arms"
        # a gone arm whose pid now belongs to another program (this one): not an arm any more
        reused = folder / "reused.json"
        reused.write_text(json.dumps({"device": device, "name": "old arm", "pid": os.getpid(), "start": "1"}))
        session = RecordingSession(tmp_path / "ws", mode="thread")
        panel = ConnectionPanel(session)
        qtbot.addWidget(panel)
        combo = panel.leader_port
        texts = [combo.itemText(i) for i in range(combo.count())]
        assert f"{device} (virtual arm: bench leader)" in texts
        assert not any("old arm" in t for t in texts) and not reused.exists()
        assert device in panel.ports() and not any("virtual arm" in p for p in panel.ports())
        combo.setCurrentIndex(texts.index(f"{device} (virtual arm: bench leader)"))
        panel.store()
        assert session.form.leader == device  # the label never reaches the connection
        session.form.leader = "/dev/ttyUSB9"  # a port typed by hand stays as typed
        panel.show_form()
        panel.store()
        assert session.form.leader == "/dev/ttyUSB9"
        session.form.leader = device
        panel.show_form()
        assert combo.currentText() == f"{device} (virtual arm: bench leader)"
        panel.refresh_ports()  # a refresh keeps the choice
        panel.store()
        assert session.form.leader == device
    finally:
        os.close(master)
        os.close(slave)


def test_long_paths_are_shortened_and_axis_labels_whole_at_1280x800(qtbot, context):
    widget = teleop_pane.TeleopPane(context)
    qtbot.addWidget(widget)
    widget.resize(1280 - 80, 800 - 60)  # the rail, menu and status bar take the rest
    widget.show()
    qtbot.waitExposed(widget)
    cameras = f"front={LONG}/demo-media/front.mp4\nwrist={LONG}/demo-media/wrist.mp4"
    widget.recording.form.cameras = cameras
    widget.connection.show_form()
    status = f"Connected: leader calibration from {LONG}/calibration/virtual_leader.json"
    widget.recording.status_text = status
    widget.connection.show_connection()
    qtbot.wait(50)
    edit = widget.connection.cameras_edit
    shown = edit.shown_text().splitlines()
    assert [line.split("=")[0] for line in shown] == ["front", "wrist"]
    for line, name in zip(shown, ("front", "wrist"), strict=True):
        assert "…" in line and line.endswith(f"/{name}.mp4"), shown  # the file name stays
    source, cut = "/tmp/ws/demo-media/demo_front_640x480.mp4", lambda t, _mode, _w: t[:3] + "…" + t[-3:]
    assert short_source(source, 50, len, cut) == source
    assert short_source(source, 25, len, cut) == "…/demo_front_640x480.mp4"
    assert short_source(source, 20, len, cut) == "dem…mp4"  # the name alone, shortened in the middle
    room = edit.viewport().width()
    assert all(edit.fontMetrics().horizontalAdvance(line) <= room for line in shown)
    assert edit.toolTip() == cameras and edit.value() == cameras
    widget.connection.store()
    assert widget.recording.form.cameras == cameras  # the shortened text never reaches the form
    edit.setFocus()  # editing shows the whole text
    qtbot.waitUntil(lambda: edit.toPlainText() == cameras, timeout=2000)
    label = widget.connect_status
    assert "…/calibration/virtual_leader.json" in label.text().replace("\u200b", "")
    assert LONG not in label.text().replace("\u200b", "") and label.toolTip() == status
    # connected, the loop's numbers take about twelve lines under the plots
    widget.stats_label.setText("<br>".join(["<b>front</b> 30.0 fps · dropped 0 · missed by loop 0 · "
                                            "repeats 53 · age 17 ms · recorder lag 0 steps"] * 6))
    widget.live.unit_combo.setCurrentIndex(widget.live.unit_combo.findData("lerobot"))
    widget.plots.set_unit("LeRobot")

    def fitted() -> bool:  # the labels refit once the layout gave the axes their heights (a busy machine: later)
        return all(p.getAxis("left").label.boundingRect().width() <= p.getAxis("left").geometry().height()
                   for p in widget.plots.plots)  # fmt: skip

    qtbot.waitUntil(fitted, timeout=5000)
    for plot in widget.plots.plots:
        axis = plot.getAxis("left")
        text = axis.label.toPlainText()
        assert "(LeRobot)" in text
        assert axis.label.boundingRect().width() <= axis.geometry().height(), (text, axis.geometry())
    widget.shutdown()


def test_a_recording_opens_in_browse(qtbot, tmp_path, monkeypatch):
    window = make_window(qtbot, tmp_path, monkeypatch)
    window.show_pane("teleop")
    pane = window.panes["teleop"]
    pane.recording.mode = "thread"
    pane.recording.demo_video_size = (160, 120)
    qtbot.mouseClick(pane.connection.virtual_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pane.session is not None and pane.start_button.isEnabled(), timeout=30000)
    assert not pane.open_button.isEnabled()
    leader = pane.connection.leader_port.currentText()
    assert "(virtual arm: demo leader)" in leader, leader
    out = pane.session.recorder.output_path
    qtbot.mouseClick(pane.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pane.session.state == "recording", timeout=20000)
    assert not pane.open_button.isEnabled()  # never while an episode is being recorded
    qtbot.wait(400)
    qtbot.mouseClick(pane.success_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pane.open_button.isEnabled(), timeout=20000)
    assert out in pane.open_button.toolTip()
    qtbot.mouseClick(pane.open_button, Qt.MouseButton.LeftButton)
    browse = window.browse
    qtbot.waitUntil(lambda: window.current_key == "browse" and browse.dataset is not None, timeout=30000)
    assert Path(browse.dataset.path).resolve() == Path(out).resolve()
    assert browse.isVisible() and browse.model.rowCount() == 1
    assert pane.connect_button.text() == "Connect" and pane.session is None  # the recording was closed
    assert Path(window.dataset_path).name == Path(out).name
    window.close()
