"""RecordingSession without Qt: the form, a recording from a virtual arm, the counters, the last
recording, the unfinished recordings found and recovered."""

from __future__ import annotations

import time
from pathlib import Path

import h5py
import pytest

from backend.errors import StudioError
from backend.sessions.recording import (
    NOT_CONNECTED,
    START_VIRTUAL,
    RecordingForm,
    RecordingSession,
    number,
    recover_recordings,
    scan_unfinished,
)
from backend.teleop.calibration import save_calibration
from backend.teleop.hdf5_recorder import Hdf5Recorder, find_unfinished
from backend.teleop.steps import EpisodeMeta
from backend.teleop.virtual_arm import VirtualSO101, ideal_calibration


def wait_until(check, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def test_form_defaults_format_and_saved_form(tmp_path):
    rs = RecordingSession(tmp_path / "ws", mode="thread")
    heard = []
    rs.listen(heard.append)
    assert rs.connection == "disconnected" and not rs.connected
    assert Path(rs.form.out).parent == tmp_path / "ws" / "recordings" and rs.form.out.endswith(".hdf5")
    rs.set_format("lerobot")
    assert not rs.form.out.endswith(".hdf5") and rs.form.rate == 1 and heard == ["form"]
    rs.form.out = str(tmp_path / "mine.hdf5")  # a place the user chose stays
    rs.set_format("hdf5")
    assert rs.form.out == str(tmp_path / "mine.hdf5") and rs.form.rate == 0
    with pytest.raises(StudioError, match="choose the leader arm's port"):
        rs.settings()
    rs.form.leader, rs.form.cameras, rs.form.follower = "/dev/ttyACM0", "front=/dev/video0\n\n", " "
    settings = rs.settings()
    assert settings.leader_port == "/dev/ttyACM0" and settings.follower_port is None
    assert settings.cameras == {"front": "/dev/video0"} and settings.config.rate_hz == 60.0
    saved = rs.form.to_json()
    assert "out" not in saved and saved["leader"] == "/dev/ttyACM0"
    rs.restore_form({**saved, "rate": 7, "format": "avi", "unknown": 1})
    assert rs.form.leader == "/dev/ttyACM0" and rs.form.rate == 0 and rs.form.format == "hdf5"
    assert RecordingForm.from_json(None) == RecordingForm()
    assert "a tab at character 5" in rs.task_problem("Pick\tthe orange")
    assert rs.task_problem("Pick the orange") is None


def test_the_status_line_speaks_in_the_windows_terms(tmp_path):
    rs = RecordingSession(tmp_path / "ws", mode="thread")
    assert rs.status_text == NOT_CONNECTED and START_VIRTUAL in NOT_CONNECTED and "File >" not in NOT_CONNECTED
    with pytest.raises(StudioError) as error:
        rs.settings()
    assert START_VIRTUAL in str(error.value.hint) and "demo" not in str(error.value.hint)


def test_number_never_shows_a_negative_zero():
    assert number(-0.001, ".2f") == "0.00"
    assert number(-0.0, "5.1f") == "  0.0"
    assert number(-0.5, ".2f") == "-0.50"
    assert number(12.345, "4.1f") == "12.3"


def test_records_an_episode_from_a_virtual_arm(tmp_path):
    arm = VirtualSO101("wave", wire_delay=False).start()
    rs = RecordingSession(tmp_path / "ws", mode="thread")
    try:
        cal = tmp_path / "leader.json"
        save_calibration(ideal_calibration(arm), cal)
        heard = []
        rs.listen(heard.append)
        rs.form.leader, rs.form.leader_cal, rs.form.task = arm.port, str(cal), "Wave at the camera."
        out = rs.form.out
        notes = rs.connect_now()
        assert rs.connected and rs.connection == "connected" and str(cal) in notes["leader_calibration"]
        assert not rs.can_open_recording and rs.open_recording() == ("", False)
        assert rs.status_text.startswith("Connected: leader calibration from")
        wait_until(lambda: rs.poll() is not None and rs.state == "idle")
        assert heard[:2] == ["connection", "connection"] and "state" in heard
        assert "a tab" in rs.start_episode("Wave\tnow")  # refused: nothing recorded
        assert rs.live.state == "idle"
        assert rs.start_episode() is None
        wait_until(lambda: rs.poll() is not None and rs.recording)
        assert not rs.can_open_recording  # never while an episode is being recorded
        time.sleep(0.3)
        rs.success()
        wait_until(lambda: rs.poll().episodes_kept == 1 and not rs.recording)
        snap = rs.poll()
        assert rs.counter_text(snap) == "episode 1 · kept 1 (success 1, fail 0) · dropped 0"
        assert rs.arm_status(snap).startswith("arm: connected") and rs.banners(snap) == []
        wait_until(lambda: rs.poll() is not None and rs.last_output == out)
        assert rs.kept_output == out and rs.can_open_recording and "kept" in heard
        assert rs.open_recording() == (out, True)  # connected: the loop stops first
        assert rs.take_open_request() == out and rs.take_open_request() == ""
        t, leader, follower = rs.history(radians=True)
        assert leader.shape[1] == 6 and follower is None and abs(t[-1]) < 1.0
        rs.disconnect_now()
        assert not rs.connected and rs.connection == "disconnected" and rs.status_text == "Not connected."
        assert rs.open_recording() == (out, False)  # disconnected: open it now
    finally:
        rs.shutdown()
        arm.stop()
    with h5py.File(out) as f:
        assert bool(f["data/demo_0"].attrs["success"]) and f["data/demo_0"].attrs["task"] == "Wave at the camera."


def test_unfinished_recordings_found_and_closed(tmp_path):
    rs = RecordingSession(tmp_path / "ws", mode="thread")
    assert scan_unfinished(rs.recordings_dir) == []
    path = rs.recordings_dir / "crashed.hdf5"
    rec = Hdf5Recorder(path)
    rec.open()
    rec.begin_episode(EpisodeMeta(0, "t", 60, time.time(), 1, {}, False))
    rec._file.close()  # as if the process died: demo_0 stays "recording"
    rs.set_unfinished(scan_unfinished(rs.recordings_dir))
    assert rs.unfinished == [str(path)] and "crashed.hdf5" in rs.unfinished_text()
    lines = recover_recordings(rs.take_unfinished(), "keep")
    assert rs.unfinished == [] and rs.unfinished_text() == ""
    rs.recovered(lines)
    assert rs.status_text.startswith("Recovered: crashed.hdf5: demo_0")
    assert not find_unfinished(path) and scan_unfinished(rs.recordings_dir) == []
    with h5py.File(path) as f:
        assert f["data/demo_0"].attrs["rs_status"] == "interrupted"
