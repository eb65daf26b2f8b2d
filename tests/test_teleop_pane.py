"""The Teleop pane on the demo (virtual arms, file-backed cameras) and the calibration wizard."""

from __future__ import annotations

import os
import time

import h5py
import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.context import AppContext
from app.panes.teleop import pane as teleop_pane
from app.panes.teleop.calibration_wizard import CalibrationWizard
from app.settings import make_settings
from backend.teleop.calibration import JOINTS, load_calibration
from backend.teleop.hdf5_recorder import Hdf5Recorder, find_unfinished
from backend.teleop.motions import MID_POSE
from backend.teleop.steps import EpisodeMeta
from backend.teleop.virtual_arm import VirtualSO101, ideal_calibration


@pytest.fixture
def context(tmp_path, monkeypatch):
    monkeypatch.setenv("ROLLOUT_STUDIO_SETTINGS", str(tmp_path / "settings.ini"))
    return AppContext(make_settings(), tmp_path / "workspace")


@pytest.fixture
def pane(qtbot, context):
    widget = teleop_pane.TeleopPane(context)
    widget.recording.demo_video_size = (160, 120)
    qtbot.addWidget(widget)
    widget.resize(1300, 760)
    widget.show()
    yield widget
    widget.shutdown()


@pytest.mark.parametrize("mode", ["process", "thread"])
def test_demo_records_with_keys_and_buttons(qtbot, pane, context, mode):
    """process: the session in its own process (the default); thread: in the GUI process."""
    pane.recording.mode = mode
    statuses = []
    context.statusChanged.connect(lambda field, text: statuses.append((field, text)))
    pane.start_demo()
    qtbot.waitUntil(lambda: pane.session is not None, timeout=30000)
    qtbot.waitUntil(
        lambda: all(t.index >= 0 for t in pane.video.tiles.values()) and len(pane.video.tiles) == 2,
        timeout=20000,
    )
    qtbot.waitUntil(
        lambda: "loop" in pane.stats_label.text() and pane.plots.curve_data(0)[0].size > 10, timeout=20000
    )
    assert pane.showing_live()
    assert pane.start_button.isEnabled()
    task = pane.task_edit.text()
    pane.task_edit.setText("Pick\tthe orange")  # pasted with a tab: refused with the CLI's sentence
    pane.start_episode()
    assert "a tab at character 5" in pane.banner.text() and pane.session.state == "idle"
    pane.task_edit.setText(task)
    pane.setFocus()
    qtbot.keyClick(pane, Qt.Key.Key_B)
    qtbot.waitUntil(lambda: pane.session.state == "recording", timeout=20000)
    qtbot.waitUntil(lambda: "RECORDING" in pane.record_indicator.text(), timeout=20000)
    assert pane.success_button.isEnabled() and not pane.start_button.isEnabled()
    qtbot.wait(600)
    qtbot.keyClick(pane, Qt.Key.Key_N)
    qtbot.waitUntil(lambda: any(r.success for r in pane.session.results()), timeout=20000)
    # the buttons follow the session's state on the pane's 30 Hz timer: click once it is ready
    qtbot.waitUntil(lambda: pane.start_button.isEnabled() and pane.session.state == "idle", timeout=20000)
    qtbot.mouseClick(pane.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pane.session.state == "recording", timeout=20000)
    qtbot.wait(300)
    qtbot.mouseClick(pane.fail_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(pane.session.results()) == 2, timeout=20000)
    qtbot.waitUntil(lambda: "kept 2 (success 1, fail 1)" in pane.counter_label.text(), timeout=20000)
    assert any(f == "arm" and "connected" in t for f, t in statuses)
    # typing B in the task field types a letter, it does not start an episode
    pane.task_edit.setFocus()
    qtbot.keyClick(pane.task_edit, Qt.Key.Key_B)
    qtbot.wait(100)
    assert pane.session.state != "recording" and pane.task_edit.text().endswith("b")
    session = pane.session
    assert type(session).__name__ == ("SessionProcess" if mode == "process" else "TeleopSession")
    out = session.recorder.output_path
    follower_values = session.snapshot().state_lerobot
    assert np.all(np.isfinite(follower_values))
    pane.disconnect_session()
    qtbot.waitUntil(
        lambda: pane.connect_button.text() == "Connect" and pane.connect_button.isEnabled(), timeout=20000
    )
    if mode == "process":
        assert not session.alive and session.state == "stopped"
    with h5py.File(out) as f:
        demos = f["data"]
        assert [bool(demos[d].attrs["success"]) for d in ("demo_0", "demo_1")] == [True, False]
        assert demos["demo_0/obs/front"].shape[1:] == (120, 160, 3)
        assert demos["demo_0"].attrs["task"] == "Pick up the orange and place it on the plate."


def test_closing_the_pane_stops_the_session_process(qtbot, pane):
    pane.start_demo()
    qtbot.waitUntil(lambda: pane.session is not None, timeout=30000)
    session = pane.session
    qtbot.waitUntil(lambda: session.snapshot() is not None and session.snapshot().tick > 10, timeout=20000)
    pane.start_episode()
    qtbot.waitUntil(lambda: session.state == "recording", timeout=20000)
    qtbot.wait(300)
    pid = session._proc.pid
    pane.shutdown()  # what the main window calls on close
    assert not session.alive and session.state == "stopped"
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with h5py.File(session.recorder.output_path) as f:  # the running demo was closed as interrupted
        assert f["data/demo_0"].attrs["rs_status"] == "interrupted"
    assert not find_unfinished(session.recorder.output_path)


def test_closing_while_the_demo_connects_leaves_nothing_running(qtbot, pane):
    """The connect task is cancelled; the session it was starting is stopped when it arrives, the
    virtual arms are stopped, and no callback touches the closed pane."""
    import multiprocessing as mp

    from backend.teleop import demo_rig

    pane.start_demo()
    qtbot.waitUntil(lambda: pane.tasks.busy("connect"), timeout=30000)
    pane.close()
    assert not pane.tasks.busy() and pane.session is None and pane.recording.demo is None
    assert not demo_rig._LIVE_DEMO_ARMS
    assert not [p for p in mp.active_children() if p.name == "teleop-session"]
    assert not pane.connect_status.text().startswith("Connected")  # the dropped result was never shown


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)])
def test_nothing_is_cut_at_common_window_sizes(qtbot, context, size):
    widget = teleop_pane.TeleopPane(context)
    qtbot.addWidget(widget)
    widget.resize(size[0] - 80, size[1] - 60)  # the rail, menu and status bar take the rest
    widget.show()
    qtbot.waitExposed(widget)
    widget.connection.connect_status.setText(
        "Connected: leader calibration from /a/very/long/workspace/path/calibration/virtual_leader.json"
    )
    qtbot.wait(50)
    panel = widget.connection
    assert panel.widget().minimumSizeHint().width() <= panel.viewport().width()  # no sideways scrolling
    for button in (widget.start_button, widget.success_button, widget.fail_button, widget.rerecord_button,
                   widget.connect_button, panel.calibrate_button):
        assert button.isVisible() and button.width() >= button.sizeHint().width(), button.text()
    assert widget.task_edit.width() > 400
    widget.shutdown()


def test_recovery_banner_closes_a_crashed_recording(qtbot, context, monkeypatch):
    folder = context.workspace / "recordings"
    path = folder / "crashed.hdf5"
    rec = Hdf5Recorder(path)
    rec.open()
    rec.begin_episode(EpisodeMeta(0, "t", 60, time.time(), 1, {}, False))
    rec._file.close()  # as if the process died: demo_0 stays "recording"
    widget = teleop_pane.TeleopPane(context)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitUntil(lambda: widget.recover_box.isVisible(), timeout=15000)
    assert "crashed.hdf5" in widget.recover_label.text()
    qtbot.mouseClick(widget.recover_keep, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Recovered" in widget.connect_status.text(), timeout=20000)
    assert not find_unfinished(path)
    with h5py.File(path) as f:
        assert f["data/demo_0"].attrs["rs_status"] == "interrupted"
    widget.shutdown()


def test_calibration_wizard_with_live_gauges(qtbot, tmp_path):
    arm = VirtualSO101("still", wire_delay=False).start()
    try:
        out = tmp_path / "leader.json"
        wizard = CalibrationWizard(arm.port, "leader", "my_leader", str(out))
        qtbot.addWidget(wizard)
        wizard.show()
        qtbot.mouseClick(wizard.next_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: wizard.step == 1, timeout=20000)
        arm.set_pose(MID_POSE)
        qtbot.waitUntil(lambda: wizard.middle_gauges.raw.get("gripper") is not None, timeout=20000)
        qtbot.mouseClick(wizard.next_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: wizard.step == 2, timeout=20000)
        for u in (-1.0, 1.0):
            pose = np.full(6, u)
            pose[5] = (u + 1) / 2
            arm.set_pose(pose)
            expected = arm.expected_present(pose)
            qtbot.waitUntil(
                lambda e=expected: [wizard.sweep_gauges.raw.get(j) for j in JOINTS] == e.tolist(),
                timeout=20000,
            )
            qtbot.wait(60)
        assert "[" in wizard.sweep_gauges.text_for("elbow_flex")
        qtbot.mouseClick(wizard.next_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: wizard.step == 3, timeout=20000)
        assert wizard.saved_path == str(out)
        assert load_calibration(out) == ideal_calibration(arm)
        assert "homing offset" in wizard.done_label.text()
        wizard.accept()
        # loading an existing LeRobot file writes it to the servos
        other = VirtualSO101("still", wire_delay=False).start()
        try:
            loader = CalibrationWizard(other.port, "leader", save_path=str(tmp_path / "unused.json"))
            qtbot.addWidget(loader)
            with qtbot.waitSignal(loader.calibrationSaved, timeout=20000):
                loader.load_file(str(out))
            assert other.register(3, "Homing_Offset") == ideal_calibration(arm)["elbow_flex"].homing_offset
            loader.reject()
        finally:
            other.stop()
    finally:
        arm.stop()
