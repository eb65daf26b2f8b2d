"""Evaluation runs against the reference policy server (real ZeroMQ) and a virtual follower arm on a
pseudo-terminal: a 3-episode run through the CLI, its recording and report, and every misbehaviour
of the server ending in a held arm and one clear message."""

from __future__ import annotations

import json
import time

import h5py
import numpy as np
import pytest

from backend.cli import main as cli_main
from backend.errors import Cancelled
from backend.policy.client import connect
from backend.policy.evaluation import EvalConfig, EvaluationLoop, ScriptedKeys
from backend.policy.modality import Modality
from backend.policy.recording import EvalRecorder
from backend.policy.reference_server import ReferenceHttpServer, ReferencePolicy, ReferenceServer
from backend.policy.report import build_report, percentiles, wilson_interval
from backend.policy.run import episode_actions
from backend.policy.safety import Envelope, Safety, SafetyConfig
from backend.progress import Progress
from backend.teleop.arm import SO101Arm
from backend.teleop.cameras import Camera, PatternSource
from backend.teleop.recorder import RecorderThread
from backend.teleop.virtual_arm import VirtualSO101, ideal_calibration, preload_calibration
from tests.recordings import DemoSpec, RecordingSpec, write_recording

pytestmark = pytest.mark.realtime

MODALITY = Modality.default(["front", "wrist"])


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    """A calibrated virtual follower, its calibration file and a small training recording."""
    root = tmp_path_factory.mktemp("eval")
    arm = VirtualSO101("still", assembly=1, follow_tau=0.0, wire_delay=False)
    calibration = ideal_calibration(arm)
    preload_calibration(arm, calibration)
    arm.start()
    calibration_file = root / "follower.json"
    calibration_file.write_text(json.dumps(calibration.to_dict()))
    training = write_recording(root / "train.hdf5", RecordingSpec([DemoSpec(60), DemoSpec(60)]))
    yield {"arm": arm, "calibration": calibration, "calibration_file": calibration_file,
           "training": training, "root": root}
    arm.stop()


@pytest.fixture(scope="module")
def cli_run(rig):
    """``rollout-studio eval run`` in-process: 3 episodes, keys s (ep 0), f (ep 1), time limit (ep 2)."""
    actions, _ = episode_actions(rig["training"], 0)
    policy = ReferencePolicy(actions, MODALITY)
    out, report = rig["root"] / "eval.hdf5", rig["root"] / "report.json"
    with ReferenceServer(policy) as server:
        code = cli_main([
            "eval", "run", "--server", server.address, "--follower", rig["arm"].device,
            "--follower-calibration", str(rig["calibration_file"]), "--training", str(rig["training"]),
            "--out", str(out), "--camera", "front=pattern:64x48", "--camera", "wrist=pattern:64x48",
            "--episodes", "3", "--episode-seconds", "1.0", "--keys", "0:8:s,1:10:f",
            "--report", str(report), "--json",
        ])
    return {"code": code, "policy": policy, "out": out, "report": json.loads(report.read_text())}


def test_cli_runs_three_episodes_and_records_what_the_server_sent(cli_run):
    assert cli_run["code"] == 0
    sent = cli_run["policy"].sent
    with h5py.File(cli_run["out"], "r") as f:
        demos = [f["data"][f"demo_{i}"] for i in range(3)]
        assert [d.attrs["rs_eval_label"] for d in demos] == ["success", "failure", "failure"]
        assert demos[2].attrs["rs_eval_reason"] == "failure: time limit"
        chunks_seen = set()
        for demo in demos:
            n = int(demo.attrs["num_samples"])
            assert n > 0 and demo["obs/front"].shape == (n, 48, 64, 3)
            action = demo["extras/action_lerobot"][:n]
            chunk, row = demo["extras/chunk"][:n], demo["extras/chunk_step"][:n]
            # chunk by chunk: every executed row is the server's row, in order, whole chunks from row 0
            np.testing.assert_array_equal(action, np.array([sent[c][r] for c, r in zip(chunk, row, strict=True)]))
            for c in np.unique(chunk):
                rows = row[chunk == c]
                np.testing.assert_array_equal(rows, np.arange(len(rows)))
            assert np.all(np.diff(chunk) >= 0)
            chunks_seen.update(int(c) for c in np.unique(chunk))
            # actions/ in radians are the same values through LeIsaac's map
            assert demo["actions"].shape == (n, 6)
        assert len(chunks_seen) >= 3 and max(chunks_seen) < len(sent)


def test_report_numbers(cli_run):
    report = cli_run["report"]
    steps = [e["steps"] for e in report["episodes"]]
    assert report["success"]["episodes"] == 3 and report["success"]["successes"] == 1
    assert report["success"]["rate"] == pytest.approx(1 / 3)
    # Wilson 95 % for 1 of 3: 0.0615 .. 0.7923
    assert report["success"]["ci95"] == pytest.approx([0.06149, 0.79234], abs=1e-4)
    assert [e["duration_s"] for e in report["episodes"]] == pytest.approx([s / 30.0 for s in steps])
    assert report["duration_s"]["mean"] == pytest.approx(np.mean(steps) / 30.0)
    with h5py.File(cli_run["out"], "r") as f:
        per_chunk = []
        for i in range(3):
            demo = f["data"][f"demo_{i}"]
            chunk, latency = demo["extras/chunk"][:], demo["extras/latency_ms"][:]
            per_chunk += [float(latency[np.argmax(chunk == c)]) for c in np.unique(chunk)]
    assert report["latency_ms"]["count"] == len(per_chunk)
    assert report["latency_ms"]["p50"] == pytest.approx(np.percentile(per_chunk, 50))
    assert report["latency_ms"]["p99"] == pytest.approx(np.percentile(per_chunk, 99))
    # episode 0 replays training episode 0 from its start: nearest, and the same trajectory
    first = report["training"]["episodes"][0]
    assert first["nearest"] == 0 and first["rmse_deg"] < 0.01
    assert report["run"]["fault"] == "" and report["run"]["arm"] == "moving"


def test_wilson_and_percentiles():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(8, 10)
    assert (low, high) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    assert percentiles([10.0, 20.0, 30.0])["p50"] == 20.0


def test_report_cli_on_the_recording(cli_run, capsys):
    assert cli_main(["eval", "report", str(cli_run["out"])]) == 0
    text = capsys.readouterr().out
    assert "success 1/3 = 33 % (95 % CI 6-79 %), aborted 0" in text
    assert build_report(cli_run["out"])["success"]["successes"] == 1


# -- misbehaving servers ------------------------------------------------------------------------------
def run_misbehaving(rig, misbehave: str, after: int, delay_s: float = 0.6, http: bool = False,
                    episodes: int = 2, seconds: float = 2.0, recorder=None, progress=None):
    t = np.arange(120)[:, None]
    actions = (20 * np.sin(t / 15.0 + np.arange(6))).astype(np.float32)
    actions[:, 5] = 40.0
    policy = ReferencePolicy(actions, MODALITY, misbehave=misbehave, after=after, delay_s=delay_s)
    arm = SO101Arm(rig["arm"].device, rig["calibration"], role="follower", timeout=0.05).connect(check_motors=False)
    arm.set_torque(True)
    cameras = {n: Camera(n, PatternSource(64, 48, 50.0), realtime=False).start() for n in ("front", "wrist")}
    for camera in cameras.values():
        camera.wait_first_frame()
    before = arm.read_raw()
    try:
        with (ReferenceHttpServer if http else ReferenceServer)(policy) as server:
            client = connect(server.address)
            safety = Safety(Envelope.from_calibration(rig["calibration"]),
                            SafetyConfig(hold_after_ms=100, torque_off_after_ms=250))
            loop = EvaluationLoop(client, arm, cameras, MODALITY, safety,
                                  EvalConfig(episodes=episodes, episode_seconds=seconds, fps=50.0, first_chunk_s=1.0),
                                  recorder, ScriptedKeys({}))
            try:
                result = loop.run(progress)
            except Cancelled:
                result = loop.result
            goal = np.array([rig["arm"].register(i, "Goal_Position") for i in range(1, 7)])
            torque = [rig["arm"].register(i, "Torque_Enable") for i in range(1, 7)]
            time.sleep(0.05)
            goal_later = np.array([rig["arm"].register(i, "Goal_Position") for i in range(1, 7)])
            client.close()
    finally:
        for camera in cameras.values():
            camera.stop()
        arm.disconnect(disable_torque=False)
    return {"result": result, "policy": policy, "before": before, "goal": goal, "goal_later": goal_later, "torque": torque,
            "address": server.address, "snapshot": loop.snapshot}


@pytest.mark.parametrize("misbehave, message", [
    ("nan", "the policy sent nan for shoulder_lift (step 3 of the chunk)"),
    ("shape", "action.single_arm has shape (15, 5), expected (16, 5)"),
    ("range", "the policy sent values outside the joint envelope: shoulder_pan 1000.0 (allowed -100.0..100.0)"),
])
def test_bad_first_chunk_never_moves_the_arm(rig, misbehave, message):
    run = run_misbehaving(rig, misbehave, after=0)
    result = run["result"]
    assert result.fault == message and result.arm == "held"
    assert [e.label for e in result.episodes] == ["aborted"] and result.episodes[0].steps == 0
    assert len(run["policy"].sent) == 1  # one request, never retried
    assert len(result.chunks) == (0 if misbehave == "shape" else 1)  # a refused chunk is counted once
    np.testing.assert_allclose(run["goal"], run["before"], atol=1)  # held where it stood: no motion
    np.testing.assert_array_equal(run["goal_later"], run["goal"])
    assert run["torque"] == [1] * 6
    assert run["snapshot"].state == "holding" and run["snapshot"].message == message


@pytest.mark.parametrize("misbehave", ["slow", "dies"])
def test_silent_server_trips_the_watchdog(rig, misbehave):
    run = run_misbehaving(rig, misbehave, after=1, delay_s=0.8)
    result = run["result"]
    assert result.fault.startswith(f"no action from the policy server at {run['address']} for ")
    assert result.fault.endswith("ms: arm held, torque off after 250 ms")
    assert result.arm == "torque_off" and run["torque"] == [0] * 6
    assert result.episodes[0].label == "aborted" and result.episodes[0].steps == 16  # the one good chunk
    np.testing.assert_array_equal(run["goal_later"], run["goal"])
    assert len(result.episodes) == 1  # the run ends at the fault


def test_cli_refuses_an_output_that_is_not_an_evaluation_recording(rig, capsys):
    code = cli_main(["eval", "run", "--server", "tcp://127.0.0.1:9", "--follower", rig["arm"].device,
                     "--training", str(rig["training"]), "--out", str(rig["training"]),
                     "--camera", "front=pattern", "--camera", "wrist=pattern"])
    assert code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"error: {rig['training']}: the output is the input itself (choose another output)")
    other = rig["root"] / "teleop.hdf5"
    write_recording(other, RecordingSpec([DemoSpec(5)]))
    code = cli_main(["eval", "run", "--server", "tcp://127.0.0.1:9", "--follower", rig["arm"].device,
                     "--training", str(rig["training"]), "--out", str(other),
                     "--camera", "front=pattern", "--camera", "wrist=pattern"])
    assert code == 2
    assert "is not an evaluation recording of the studio" in capsys.readouterr().err


def test_cli_unreachable_server_is_one_error_line(rig, capsys):
    code = cli_main(["eval", "run", "--server", "tcp://127.0.0.1:9", "--timeout-ms", "200",
                     "--follower", rig["arm"].device, "--training", str(rig["training"]),
                     "--out", str(rig["root"] / "never.hdf5"), "--camera", "front=pattern", "--camera", "wrist=pattern"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err == ["error: tcp://127.0.0.1:9: the policy server does not answer ping (start it "
                                 "(jobs template gr00t-inference-server) and check host and port)"]
    assert not (rig["root"] / "never.hdf5").exists()


def test_http_variant_drives_the_arm(rig):
    run = run_misbehaving(rig, "none", after=0, http=True, episodes=1, seconds=0.5)
    result = run["result"]
    assert result.fault == "" and [e.label for e in result.episodes] == ["failure"]  # the time limit
    assert result.episodes[0].steps >= 16
    np.testing.assert_array_equal(np.concatenate(result.chunks), np.concatenate(run["policy"].sent))
    np.testing.assert_array_equal(result.chunks[0], run["policy"].chunk(0))


def test_cancelling_the_run_holds_the_arm_and_closes_the_episode(rig):
    """What closing the pane does: the task's progress is cancelled mid-episode."""
    out = rig["root"] / "cancelled.hdf5"
    recorder = RecorderThread(EvalRecorder(out, fps=50.0)).start()

    def cancel_after_steps(done: int, total: int, text: str) -> None:
        if text.endswith(": 20 steps"):
            progress.cancel()

    progress = Progress(cancel_after_steps)
    try:
        run = run_misbehaving(rig, "none", after=0, episodes=1, seconds=5.0, recorder=recorder, progress=progress)
    finally:
        recorder.stop()
    assert run["result"].arm == "held" and run["snapshot"].state == "holding"
    np.testing.assert_array_equal(run["goal_later"], run["goal"])
    with h5py.File(out, "r") as f:
        demo = f["data"]["demo_0"]
        assert demo.attrs["rs_eval_label"] == "aborted" and demo.attrs["rs_eval_reason"] == "aborted: cancelled"
        assert demo.attrs["num_samples"] == 20 and demo.attrs["rs_status"] == "finished"
