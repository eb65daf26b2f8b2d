"""Recording from the virtual arm: exact joint values in the HDF5 and the LeRobot output,
disconnects and bad checksums mid-episode, re-record, and kill -9 with recovery."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import h5py
import numpy as np
import pyarrow.parquet as pq
import pytest

from backend.kinematics import default_model
from backend.teleop.arm import SO101Arm
from backend.teleop.calibration import JOINTS
from backend.teleop.cameras import Camera, PatternSource
from backend.teleop.hdf5_recorder import Hdf5Recorder, check_readable, find_unfinished, recover
from backend.teleop.lerobot_recorder import LeRobotRecorder
from backend.teleop.recorder_process import RecorderSpec
from backend.teleop.session import SessionConfig, TeleopSession
from backend.teleop.virtual_arm import VirtualSO101, ideal_calibration, preload_calibration

REPO = Path(__file__).resolve().parents[1]
USD_DEG = {
    "shoulder_pan": (-110, 110),
    "shoulder_lift": (-100, 100),
    "elbow_flex": (-100, 90),
    "wrist_flex": (-95, 95),
    "wrist_roll": (-160, 160),
    "gripper": (-10, 100),
}


def lerobot_values(raw: np.ndarray, cal) -> np.ndarray:
    """so101-hardware.md: clip, then (b-min)/(max-min)*200-100 (body) or *100 (gripper)."""
    out = np.empty(raw.shape, dtype=np.float64)
    for k, name in enumerate(JOINTS):
        lo, hi = cal[name].range_min, cal[name].range_max
        b = np.clip(raw[..., k], lo, hi)
        out[..., k] = (b - lo) / (hi - lo) * (100.0 if name == "gripper" else 200.0) - (
            0 if name == "gripper" else 100
        )
    return out


def radians(values: np.ndarray) -> np.ndarray:
    """formats.md 2: LeRobot range -> USD degrees (linear) -> radians."""
    out = np.empty(values.shape, dtype=np.float64)
    for k, name in enumerate(JOINTS):
        mmin, mmax = (0.0, 100.0) if name == "gripper" else (-100.0, 100.0)
        jmin, jmax = USD_DEG[name]
        out[..., k] = ((values[..., k] - mmin) / (mmax - mmin) * (jmax - jmin) + jmin) * math.pi / 180
    return out


def goal_ticks(values: np.ndarray, cal) -> np.ndarray:
    out = np.empty(values.shape, dtype=np.int64)
    for k, name in enumerate(JOINTS):
        lo, hi = cal[name].range_min, cal[name].range_max
        v = values[..., k]
        frac = np.clip(v, 0, 100) / 100 if name == "gripper" else (np.clip(v, -100, 100) + 100) / 200
        out[..., k] = np.trunc(frac * (hi - lo) + lo)
    return out


def find_run(served: list[np.ndarray], rows: np.ndarray) -> int:
    """Index where ``rows`` appears as a contiguous run of the served log."""
    log = np.array(served)
    for start in range(len(log) - len(rows) + 1):
        if np.array_equal(log[start], rows[0]) and np.array_equal(log[start : start + len(rows)], rows):
            return start
    raise AssertionError("recorded leader positions are not a contiguous run of what the arm served")


@pytest.fixture
def arms(tmp_path):
    leader_v = VirtualSO101(
        "wave", clock="reads", read_dt=1 / 60, record_served=True, wire_delay=False, link=tmp_path / "leader"
    )
    follower_v = VirtualSO101("still", assembly=1, follow_tau=0.0, wire_delay=False)
    for v in (leader_v, follower_v):
        preload_calibration(v, ideal_calibration(v))
        v.start()
    yield leader_v, follower_v
    leader_v.stop()
    follower_v.stop()


def connect(v: VirtualSO101, role: str, device: str | None = None) -> SO101Arm:
    return SO101Arm(device or v.device, ideal_calibration(v), role=role, timeout=0.05).connect()


def cameras(size=(64, 48)):
    return {
        name: Camera(name, PatternSource(*size, 30.0, tag=i)) for i, name in enumerate(("front", "wrist"))
    }


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def record(session: TeleopSession, plan: list[tuple[float, bool]]):
    for seconds, success in plan:
        assert wait_for(lambda: session.state == "idle")
        session.begin_episode("Pick up the orange")
        assert wait_for(lambda: session.state == "recording")
        time.sleep(seconds)
        session.end_episode(success)
    assert wait_for(lambda: session.state == "idle")


@pytest.mark.parametrize("writer", ["thread", "process"])
def test_hdf5_has_the_exact_joint_values(tmp_path, arms, writer):
    leader_v, follower_v = arms
    leader, follower = connect(leader_v, "leader"), connect(follower_v, "follower")
    out = tmp_path / "rec.hdf5"
    env = {"env_name": "LeIsaac-SO101-PickOrange-v0"}
    if writer == "thread":
        recorder = Hdf5Recorder(out, **env)
    else:  # the default of the CLI and the pane: a writer process fed through shared memory
        recorder = RecorderSpec("hdf5", str(out), {"front": (48, 64), "wrist": (48, 64)}, env)
    session = TeleopSession(leader, follower, cameras(), recorder, SessionConfig(rate_hz=60)).start()
    assert wait_for(lambda: session.snapshot() is not None and session.snapshot().tick > 5)
    record(session, [(0.6, True), (0.3, False)])
    session.stop()
    assert [r.success for r in session.results()] == [True, False]
    report = check_readable(out)
    assert report["readable"] and report["finished"] == 2 and not report["unfinished"]
    lcal, fcal = ideal_calibration(leader_v), ideal_calibration(follower_v)
    with h5py.File(out) as f:
        data = f["data"]
        assert data.attrs["env_args"] == '{"env_name": "LeIsaac-SO101-PickOrange-v0", "type": 2}'
        lengths = []
        for name, success in (("demo_0", True), ("demo_1", False)):
            demo = data[name]
            n = int(demo.attrs["num_samples"])
            lengths.append(n)
            assert bool(demo.attrs["success"]) is success and n > 5
            raw = demo["extras/leader_raw"][()].astype(np.int64)
            find_run(leader_v.served, raw)
            norm = lerobot_values(raw, lcal)
            np.testing.assert_allclose(demo["actions"][()], radians(norm).astype(np.float32), atol=1e-6)
            np.testing.assert_array_equal(demo["processed_actions"][()], demo["actions"][()])
            np.testing.assert_allclose(demo["extras/action_lerobot"][()], norm.astype(np.float32), atol=1e-4)
            # the follower was sent the leader's values and reports exactly that goal (tau 0)
            fraw = demo["extras/follower_raw"][()].astype(np.int64)
            np.testing.assert_array_equal(fraw, goal_ticks(norm, fcal))
            pos = demo["obs/joint_pos"][()]
            np.testing.assert_allclose(pos, radians(lerobot_values(fraw, fcal)).astype(np.float32), atol=1e-6)
            np.testing.assert_array_equal(demo["obs/actions"][0], np.zeros(6, np.float32))
            np.testing.assert_array_equal(demo["obs/actions"][1:], demo["actions"][:-1])
            np.testing.assert_array_equal(demo["obs/joint_pos_target"][()], demo["actions"][()])
            states = demo["states/articulation/robot/joint_position"][()]
            np.testing.assert_array_equal(states[:-1], pos[1:])  # states[t] = the arm after actions[t]
            np.testing.assert_array_equal(states[-1], pos[-1])
            np.testing.assert_array_equal(
                demo["initial_state/articulation/robot/joint_position"][()], pos[:1]
            )
            assert demo["states/articulation/robot/root_pose"].shape == (n, 7)
            ee = demo["obs/ee_frame_state"][()]
            assert ee.shape == (n, 7) and ee.dtype == np.float32
            np.testing.assert_allclose(ee, default_model().ee_frame_state(pos), atol=1e-6)
            np.testing.assert_allclose(np.linalg.norm(ee[:, 3:], axis=1), 1.0, atol=1e-6)
            t = demo["extras/t"][()]
            assert t[0] == 0.0 and np.all(np.diff(t) > 0)
            for cam in ("front", "wrist"):
                images = demo[f"obs/{cam}"]
                seq = demo[f"extras/frame_seq/{cam}"][()]
                assert images.shape == (n, 48, 64, 3) and images.chunks == (1, 48, 64, 3)
                assert images.compression == "lzf"
                got = np.array([PatternSource.frame_number(images[i]) for i in range(n)])
                assert np.all(np.diff(seq) >= 0) and np.all(np.diff(got) >= 0)
                np.testing.assert_array_equal(
                    np.diff(got) > 0, np.diff(seq) > 0
                )  # new image exactly on a new frame
            for key in ("actions", "obs/joint_pos", "obs/front", "states/articulation/robot/joint_velocity"):
                assert demo[key].shape[0] == n
                assert demo[key].maxshape[0] is None
        assert data.attrs["total"] == sum(lengths)


def test_lerobot_output_has_the_exact_joint_values(tmp_path, arms):
    leader_v, follower_v = arms
    leader_v.read_dt = 1 / 30
    leader, follower = connect(leader_v, "leader"), connect(follower_v, "follower")
    out = tmp_path / "lerobot"
    recorder = LeRobotRecorder(out, 30.0, {"front": (48, 64), "wrist": (48, 64)})
    session = TeleopSession(leader, follower, cameras(), recorder, SessionConfig(rate_hz=30)).start()
    assert wait_for(lambda: session.snapshot() is not None and session.snapshot().tick > 3)
    record(session, [(0.5, True), (0.4, True)])
    session.stop()
    lcal, fcal = ideal_calibration(leader_v), ideal_calibration(follower_v)
    starts = []
    for e in range(2):
        table = pq.read_table(out / f"data/chunk-000/episode_{e:06d}.parquet")
        action = np.array(table.column("action").to_pylist(), dtype=np.float32)
        state = np.array(table.column("observation.state").to_pylist(), dtype=np.float32)
        n = len(action)
        assert n >= 5
        np.testing.assert_allclose(table.column("timestamp").to_numpy(), np.arange(n) / 30, atol=1e-6)
        # find the served run whose normalised values are the recorded actions
        log = np.array(leader_v.served)
        expected_all = lerobot_values(log, lcal).astype(np.float32)
        start = next(
            s for s in range(len(log) - n + 1) if np.allclose(expected_all[s : s + n], action, atol=1e-4)
        )
        starts.append(start)
        fraw = goal_ticks(lerobot_values(log[start : start + n], lcal), fcal)
        np.testing.assert_allclose(state, lerobot_values(fraw, fcal).astype(np.float32), atol=1e-4)
        for cam in ("front", "wrist"):
            path = out / f"videos/chunk-000/observation.images.{cam}/episode_{e:06d}.mp4"
            with av.open(str(path)) as container:
                frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
            assert len(frames) == n and frames[0].shape == (48, 64, 3)
    assert starts[1] > starts[0]
    import json

    info = json.loads((out / "meta/info.json").read_text())
    assert info["total_episodes"] == 2 and info["codebase_version"] == "v2.1"
    rows = [json.loads(line) for line in (out / "meta/episodes.jsonl").read_text().splitlines()]
    assert [r["tasks"] for r in rows] == [["Pick up the orange"]] * 2


def test_rerecord_and_timer(tmp_path, arms):
    leader_v, _ = arms
    out = tmp_path / "rec.hdf5"
    session = TeleopSession(
        connect(leader_v, "leader"),
        None,
        {},
        Hdf5Recorder(out),
        SessionConfig(rate_hz=60, episode_seconds=0.5),
    ).start()
    assert wait_for(lambda: session.snapshot() is not None and session.snapshot().tick > 2)
    session.begin_episode()
    time.sleep(0.2)
    session.rerecord()
    assert wait_for(lambda: session.results() and session.results()[-1].success is True, timeout=3)
    session.stop()
    snap = session.snapshot()
    assert snap.dropped == 1 and snap.episodes_kept == 1
    with h5py.File(out) as f:
        assert list(f["data"]) == ["demo_0"]
        n = f["data/demo_0"].attrs["num_samples"]
        assert 15 <= n <= 35  # 0.5 s at 60 Hz (fewer ticks on a busy machine), ended by the timer
        assert f["data/demo_0"].attrs["rs_end_reason"] == "episode timer"


@pytest.mark.parametrize("policy", ["keep", "drop"])
def test_leader_disconnect_mid_episode(tmp_path, arms, policy):
    leader_v, _ = arms
    out = tmp_path / "rec.hdf5"
    leader = connect(leader_v, "leader", device=str(tmp_path / "leader"))
    session = TeleopSession(
        leader, None, {}, Hdf5Recorder(out), SessionConfig(rate_hz=60, on_disconnect=policy, reconnect_s=0.2)
    ).start()
    assert wait_for(lambda: session.snapshot() is not None and session.snapshot().tick > 2)
    session.begin_episode()
    time.sleep(0.3)
    leader_v.disconnect()
    assert wait_for(lambda: session.state == "idle" and not session.snapshot().leader.connected)
    snap = session.snapshot()
    assert any("Leader arm disconnected" in b for b in snap.banners)
    assert any(("kept as a failure" if policy == "keep" else "dropped") in b for b in snap.banners)
    leader_v.reconnect()
    assert wait_for(lambda: session.snapshot().leader.connected, timeout=3)
    assert any("reconnected" in b for b in session.snapshot().banners)
    session.begin_episode()  # recording works again after the replug
    time.sleep(0.2)
    session.end_episode(True)
    assert wait_for(lambda: session.state == "idle")
    session.stop()
    results = [r for r in session.results() if r.name]
    assert check_readable(out)["readable"]
    with h5py.File(out) as f:
        if policy == "keep":
            assert results[0].success is False and results[0].reason == "leader disconnected"
            demo = f["data/demo_0"]
            assert demo.attrs["success"] == False  # noqa: E712 - numpy bool
            assert demo.attrs["num_samples"] >= 10
            assert list(f["data"]) == ["demo_0", "demo_1"]
        else:
            assert list(f["data"]) == ["demo_0"] and f["data/demo_0"].attrs["success"]


def test_bad_checksums_mid_episode_are_retried_and_marked(tmp_path, arms):
    leader_v, _ = arms
    out = tmp_path / "rec.hdf5"
    leader = connect(leader_v, "leader")
    leader.bus.timeout = 0.01
    session = TeleopSession(leader, None, {}, Hdf5Recorder(out), SessionConfig(rate_hz=60)).start()
    assert wait_for(lambda: session.snapshot() is not None and session.snapshot().tick > 2)
    leader_v.fault_rate = 0.03  # per reply: ~17% of 6-servo reads need a retry
    record(session, [(0.6, True)])
    leader_v.fault_rate = 0.0
    session.stop()
    snap = session.snapshot()
    assert snap.leader.checksum_errors + snap.leader.timeouts > 0 and snap.leader.retries > 0
    assert snap.leader.connected
    with h5py.File(out) as f:
        demo = f["data/demo_0"]
        assert demo.attrs["success"]
        ok = demo["extras/leader_ok"][()]
        raw = demo["extras/leader_raw"][()].astype(np.int64)
        expected = radians(lerobot_values(raw, ideal_calibration(leader_v))).astype(np.float32)
        np.testing.assert_allclose(demo["actions"][()], expected, atol=1e-6)  # held values stay consistent
        assert ok.mean() > 0.9


def finished_demos(path: Path) -> int:
    """Peek at a file another process is writing (without HDF5's file lock)."""
    try:
        with h5py.File(path, "r", locking=False) as f:
            return sum(f["data"][d].attrs.get("rs_status") == "finished" for d in f["data"])
    except (OSError, KeyError):
        return 0


def _start_virtual_arm(tmp_path: Path) -> tuple[subprocess.Popen, str, str]:
    cal = tmp_path / "leader.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "virtual-arm", "--calibrated", "--write-calibration", str(cal)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    device = proc.stdout.readline().strip()
    assert device.startswith("/dev/"), device
    return proc, device, str(cal)


@pytest.mark.parametrize("what", ["power-loss", "crash"])
def test_kill_9_mid_recording_leaves_a_readable_file_and_recovery(tmp_path, what):
    """power-loss: kill -9 of the recorder and its writer process together; crash: of the recorder
    alone (its writer process then closes the running demo as interrupted by itself)."""
    arm_proc, device, cal = _start_virtual_arm(tmp_path)
    out = tmp_path / "crash.hdf5"
    argv = [
        sys.executable,
        "-m",
        "backend.cli",
        "record",
        "--leader",
        device,
        "--leader-calibration",
        cal,
        "--camera",
        "front=pattern:64x48@30",
        "--out",
        str(out),
        "--episode-seconds",
        "0.7",
        "--quiet",
    ]
    try:
        rec = subprocess.Popen(
            argv,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # wait for one finished demo, then 0.45 s into the next
            time.sleep(0.05)
            if finished_demos(out) >= 1:
                time.sleep(0.45)
                break
        killed_at = time.time()
        if what == "power-loss":
            os.killpg(rec.pid, signal.SIGKILL)
        else:
            os.kill(rec.pid, signal.SIGKILL)
        rec.wait()
        if what == "power-loss":  # the writer process dies a moment after the recorder
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    os.killpg(rec.pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.01)
        if what == "crash":  # the orphaned writer finishes on its own
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not check_readable(out)["readable"]:
                time.sleep(0.05)
    finally:
        arm_proc.terminate()
        arm_proc.wait()
    report = check_readable(out)
    assert report["readable"], report
    assert report["finished"] >= 1
    unfinished = find_unfinished(out)
    if what == "power-loss":
        assert len(unfinished) == 1
        assert recover(out, "keep")[0].action == "closed"
        name = unfinished[0]
    else:
        assert unfinished == []
        with h5py.File(out) as f:
            name = sorted(f["data"], key=lambda d: int(d.split("_")[1]))[-1]
    with h5py.File(out) as f:
        demo = f["data"][name]
        assert "success" not in demo.attrs and demo.attrs["rs_status"] == "interrupted"
        n = demo.attrs["num_samples"]
        assert demo["actions"].shape[0] == n == demo["obs/front"].shape[0]
        recorded_s = killed_at - demo.attrs["rs_started_unix"]
        assert n >= (recorded_s - 1.0) * 60 - 3  # at most the last second is lost
    assert check_readable(out)["unfinished"] == 0
