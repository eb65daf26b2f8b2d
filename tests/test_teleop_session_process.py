"""The recording session in its own process (what the Teleop pane drives): snapshots, previews and
plot history through shared memory, commands over a pipe, clean stops, and a GUI killed mid-episode."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from backend.errors import StudioError
from backend.teleop.calibration import save_calibration
from backend.teleop.factory import RecordSettings
from backend.teleop.hdf5_recorder import check_readable, find_unfinished
from backend.teleop.session import SessionConfig
from backend.teleop.session_process import SessionProcess, preview_size
from backend.teleop.virtual_arm import VirtualSO101, ideal_calibration, preload_calibration

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def leader(tmp_path):
    arm = VirtualSO101("wave", wire_delay=False, link=tmp_path / "leader")
    preload_calibration(arm, ideal_calibration(arm))
    arm.start()
    cal = save_calibration(ideal_calibration(arm), tmp_path / "leader.json")
    yield arm, str(cal)
    arm.stop()


def settings(device: str, cal: str, out: Path, **config) -> RecordSettings:
    return RecordSettings(
        leader_port=device,
        out=str(out),
        leader_calibration=cal,
        cameras={"front": "pattern:320x240@30", "wrist": "pattern:64x48@30"},
        config=SessionConfig(rate_hz=60, task="Pick", **config),
    )


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_proxy_drives_the_session_in_its_own_process(tmp_path, leader):
    arm, cal = leader
    out = tmp_path / "rec.hdf5"
    session = SessionProcess(settings(str(arm.link), cal, out), preview_limit=(160, 120))
    notes = session.start()
    try:
        assert notes["leader_calibration"] == cal and session.alive
        assert session.cameras == ["front", "wrist"] and not session.follower
        assert session.recorder.output_path == str(out)
        assert wait_for(lambda: session.snapshot() is not None and session.snapshot().tick > 20)
        snap = session.snapshot()
        assert snap.state == "idle" and snap.rate_hz == 60 and snap.leader.connected
        assert snap.action_lerobot.shape == (6,) and np.all(np.isfinite(snap.action_lerobot))
        assert set(snap.cameras) == {"front", "wrist"} and snap.cameras["front"].stats.width == 320
        assert wait_for(lambda: all(session.snapshot().frames.get(n) is not None for n in ("front", "wrist")))
        frames = session.snapshot().frames
        assert frames["front"].image.shape == (120, 160, 3)  # downscaled to fit the limit
        assert frames["wrist"].image.shape == (48, 64, 3)  # small frames stay as they are
        hist = session.history()
        assert hist["t"].shape == (600,) and hist["leader"].shape == (600, 6)
        assert np.isfinite(hist["leader"][-1]).all() and np.isnan(hist["follower"]).all()
        # the loop's own stats come through
        assert 30 < snap.loop_hz < 70 and snap.period_p50_ms > 0  # ~60; loose: CI machines get loaded

        session.begin_episode("Pick up the orange")
        assert wait_for(lambda: session.state == "recording")
        assert session.snapshot().task == "Pick up the orange"
        time.sleep(0.4)
        session.end_episode(True)
        assert wait_for(lambda: len(session.results()) == 1)
        session.begin_episode()
        assert wait_for(lambda: session.state == "recording")
        time.sleep(0.2)
        session.rerecord()
        time.sleep(0.2)
        session.end_episode(False)
        assert wait_for(lambda: len(session.results()) == 3)  # a drop is a result too
        results = session.results()
        assert [r.success for r in results] == [True, None, False] and results[1].reason == "dropped"
        assert wait_for(lambda: session.snapshot().episodes_kept == 2)
        # the snapshot is republished ~30 times a second: wait for the one that names the last episode
        assert wait_for(lambda: (r := session.snapshot().last_result) is not None and r.name == "demo_1")
        snap = session.snapshot()
        assert (snap.successes, snap.failures, snap.dropped) == (1, 1, 1)
        pid = session._proc.pid
    finally:
        session.stop()
    assert session.state == "stopped" and not session.alive
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with h5py.File(out) as f:
        demos = f["data"]
        assert [bool(demos[d].attrs["success"]) for d in ("demo_0", "demo_1")] == [True, False]
        assert demos["demo_0"].attrs["task"] == "Pick up the orange"
        assert demos["demo_0/obs/front"].shape[1:] == (240, 320, 3)  # full frames recorded
    assert find_unfinished(out) == []


def test_a_connect_error_is_a_studio_error(tmp_path):
    session = SessionProcess(settings(str(tmp_path / "nothing"), "", tmp_path / "x.hdf5"))
    with pytest.raises(StudioError, match="not found|No such|does not exist"):
        session.start()
    assert not session.alive and session._block is None


def test_preview_size():
    assert preview_size(1920, 1080) == (640, 360)
    assert preview_size(640, 480) == (640, 480)
    assert preview_size(64, 48) == (64, 48)


GUI = """
import sys, time
from pathlib import Path
from backend.teleop.factory import RecordSettings
from backend.teleop.session import SessionConfig
from backend.teleop.session_process import SessionProcess

if __name__ == "__main__":
    s = RecordSettings(leader_port=sys.argv[1], out=sys.argv[3], leader_calibration=sys.argv[2],
                       cameras={"front": "pattern:64x48@30"}, config=SessionConfig(rate_hz=60))
    session = SessionProcess(s)
    session.start()
    session.begin_episode("crash")
    while session.state != "recording":
        time.sleep(0.01)
    time.sleep(0.5)
    print(session._proc.pid, flush=True)
    time.sleep(60)
"""


def test_gui_killed_mid_episode_leaves_a_closed_recording(tmp_path, leader):
    arm, cal = leader
    out = tmp_path / "crash.hdf5"
    script = tmp_path / "gui.py"
    script.write_text(GUI)
    gui = subprocess.Popen(
        [sys.executable, str(script), str(arm.link), cal, str(out)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        child = int(gui.stdout.readline().strip())
    finally:
        os.kill(gui.pid, signal.SIGKILL)
        gui.wait(10)

    def gone() -> bool:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return True
        return False

    assert wait_for(gone, timeout=30), "the session process outlived the GUI"
    assert wait_for(lambda: check_readable(out)["readable"] and not find_unfinished(out), timeout=15)
    with h5py.File(out) as f:
        demo = f["data/demo_0"]
        assert demo.attrs["rs_status"] == "interrupted" and "success" not in demo.attrs
        assert demo.attrs["num_samples"] >= 20 and demo["obs/front"].shape[0] == demo.attrs["num_samples"]
