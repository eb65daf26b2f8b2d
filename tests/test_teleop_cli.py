"""The teleop commands as real subprocesses against a virtual arm served by `virtual-arm`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

from backend.teleop.calibration import JOINTS, load_calibration
from backend.teleop.hdf5_recorder import check_readable

REPO = Path(__file__).resolve().parents[1]


def cli(*args: str, timeout: float = 60, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env=env,
    )


@pytest.fixture
def virtual_arm(tmp_path):
    procs = []

    def start(*extra: str) -> str:
        proc = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "virtual-arm", *extra],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        procs.append(proc)
        device = proc.stdout.readline().strip()
        assert device, "virtual-arm printed no device path"
        return device

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)


def test_virtual_arm_prints_its_device_and_is_listed(virtual_arm, tmp_path):
    device = virtual_arm("--motion", "still", "--name", "leader", "--link", str(tmp_path / "leader"))
    assert device == str(tmp_path / "leader") and Path(device).resolve().as_posix().startswith("/dev/pts/")
    result = cli("ports", "--probe", "--json")
    rows = json.loads(result.stdout)
    row = next(r for r in rows if r["device"] == device)
    assert row["kind"] == "virtual" and row["likely_arm"]
    assert sorted(int(k) for k in row["servos"]) == [1, 2, 3, 4, 5, 6]


def test_record_hdf5_and_lerobot_headless(virtual_arm, tmp_path):
    cal = tmp_path / "leader.json"
    leader = virtual_arm("--calibrated", "--write-calibration", str(cal))
    follower = virtual_arm(
        "--calibrated", "--assembly", "1", "--write-calibration", str(tmp_path / "follower.json")
    )
    out = tmp_path / "rec.hdf5"
    result = cli(
        "record",
        "--leader",
        leader,
        "--leader-calibration",
        str(cal),
        "--follower",
        follower,
        "--follower-calibration",
        str(tmp_path / "follower.json"),
        "--camera",
        "front=pattern:64x48@30",
        "--out",
        str(out),
        "--episodes",
        "2",
        "--episode-seconds",
        "0.5",
        "--task",
        "Lift the cube",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert [e["success"] for e in summary["episodes"]] == [True, True]
    assert all(e["finalize_s"] < 1.0 for e in summary["episodes"])
    assert check_readable(out)["finished"] == 2
    with h5py.File(out) as f:
        assert f["data/demo_1"].attrs["task"] == "Lift the cube"
        assert f["data/demo_0/obs/front"].shape[1:] == (48, 64, 3)
        assert "follower_raw" in f["data/demo_0/extras"]

    lerobot = tmp_path / "lerobot"
    result = cli(
        "record",
        "--leader",
        leader,
        "--leader-calibration",
        str(cal),
        "--camera",
        "front=pattern:64x48@30",
        "--out",
        str(lerobot),
        "--format",
        "lerobot",
        "--episodes",
        "1",
        "--episode-seconds",
        "0.5",
        "--units",
        "degrees",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    info = json.loads((lerobot / "meta/info.json").read_text())
    assert info["fps"] == 30 and info["total_episodes"] == 1
    assert info["features"]["observation.images.front"]["info"]["video.codec"] == "h264"
    # a second run appends to the same dataset
    result = cli(
        "record",
        "--leader",
        leader,
        "--leader-calibration",
        str(cal),
        "--camera",
        "front=pattern:64x48@30",
        "--out",
        str(lerobot),
        "--episodes",
        "1",
        "--episode-seconds",
        "0.4",
        "--units",
        "degrees",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads((lerobot / "meta/info.json").read_text())["total_episodes"] == 2


def test_record_errors_are_one_line(tmp_path):
    result = cli(
        "record",
        "--leader",
        str(tmp_path / "ttyACM9"),
        "--out",
        str(tmp_path / "x.hdf5"),
        "--episode-seconds",
        "1",
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "serial port not found" in result.stderr
    result = cli("record", "--leader", "/dev/null", "--out", str(tmp_path / "x.hdf5"))
    assert result.returncode == 2 and "--episode-seconds" in result.stderr


def test_uncalibrated_arm_is_refused_with_a_hint(virtual_arm, tmp_path):
    leader = virtual_arm()
    env = {**__import__("os").environ, "HF_LEROBOT_CALIBRATION": str(tmp_path / "cal")}
    result = cli(
        "record", "--leader", leader, "--out", str(tmp_path / "x.hdf5"), "--episode-seconds", "1", env=env
    )
    assert (
        result.returncode == 2
        and "not calibrated" in result.stderr
        and "rollout-studio calibrate" in result.stderr
    )


def test_calibrate_command_writes_servos_and_lerobot_json(virtual_arm, tmp_path):
    # the 'calibrate' motion rests in the middle 4 s, then sweeps each joint; 3x faster here
    device = virtual_arm("--motion", "calibrate", "--speed", "3", "--start-on-connect")
    out = tmp_path / "cal" / "my_leader.json"
    result = cli(
        "calibrate",
        "--port",
        device,
        "--out",
        str(out),
        "--no-prompt",
        "--middle-delay",
        "0.2",
        "--sweep-seconds",
        "5.5",
        "--json",
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    cal = load_calibration(out)
    assert list(cal) == list(JOINTS)
    assert [cal[j].homing_offset for j in JOINTS] == [-156, 89, 210, -120, 40, -60]
    for j in JOINTS:
        assert cal[j].range_min < 2047 - 500 and cal[j].range_max > 2047 + 500
    shown = json.loads(cli("calibrate", "--port", device, "--show").stdout)
    assert (
        shown["elbow_flex"]["homing_offset"] == 210
        and shown["elbow_flex"]["range_max"] == cal["elbow_flex"].range_max
    )


def test_recover_recording_command(tmp_path):
    from backend.teleop.hdf5_recorder import Hdf5Recorder
    from backend.teleop.steps import EpisodeMeta

    path = tmp_path / "r.hdf5"
    rec = Hdf5Recorder(path)
    rec.open()
    rec.begin_episode(EpisodeMeta(0, "t", 60, 0.0, 1, {}, False))
    rec._file.flush()
    rec._file.close()  # as if killed: the demo stays "recording"
    result = cli("recover-recording", str(path), "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["actions"] == ["demo_0: closed (0 steps)"]
