"""`convert joint-to-eef` / `eef-to-joint` on a small LeIsaac HDF5: the keys Isaac Lab Mimic's
DataGenInfoPool reads, the subtask signal edges, the IK round trip, one-line CLI errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from backend.cli import main
from backend.formats.base import CameraSpec, WriterSpec
from backend.formats.leisaac_hdf5 import LeIsaacHDF5Writer
from backend.ik import TCP_LINK, ArmChain, poses_from_vectors
from backend.jobs.parsers import ProgressParser
from backend.jobs.profiles import Profile
from backend.jobs.templates import build_command, load_templates
from backend.model import Feature, FeatureKind
from backend.units import SO101_JOINTS

REPO = Path(__file__).resolve().parents[1]
LENGTH = 40
GRASP, RELEASE = 12, 30
DATAGEN = "data/demo_0/obs/datagen_info"


def _joints(demo: int) -> np.ndarray:
    t = np.arange(LENGTH)[:, None]
    arm = 0.4 * np.sin(2 * np.pi * (t / 60.0 + 0.1 * np.arange(5) + 0.05 * demo))
    gripper = np.where((t >= GRASP) & (t < RELEASE), 0.1, 1.2)
    return np.concatenate([arm, gripper], axis=1).astype(np.float32)


def _write_source(path: Path) -> Path:
    tool = ArmChain(tip=TCP_LINK)
    vec = {
        "actions": Feature("actions", FeatureKind.VECTOR, "float32", (6,), names=list(SO101_JOINTS)),
        "obs/joint_pos": Feature(
            "obs/joint_pos", FeatureKind.VECTOR, "float32", (6,), names=list(SO101_JOINTS)
        ),
        "obs/datagen_info/object_pose/cube": Feature(
            "obs/datagen_info/object_pose/cube", FeatureKind.VECTOR, "float32", (4, 4)
        ),
    }
    spec = WriterSpec(
        30.0, "so101_follower", vec, [CameraSpec("front", 64, 48)], {"env_name": "LeIsaac-X-v0"}
    )
    with LeIsaacHDF5Writer(path, spec) as writer:
        for demo in range(3):  # demo 2 failed: left out
            joints = _joints(demo)
            cube = tool.fk_many(joints[:, :5])  # the cube sits between the jaws: the grasp is near it
            if demo == 1:
                cube[:, :3, 3] += 1.0  # ... except in demo 1: far away, so no grasp there
            episode = writer.begin_episode("lift the cube", seed=7 + demo)
            frames = np.full((LENGTH, 48, 64, 3), 40 + demo, np.uint8)
            episode.add_frames(
                {"actions": joints, "obs/joint_pos": joints, "obs/datagen_info/object_pose/cube": cube},
                {"front": frames},
            )
            episode.end(success=demo < 2)
    return path


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("eef")
    source = _write_source(folder / "src.hdf5")
    eef, back = folder / "eef.hdf5", folder / "back.hdf5"
    args = ["--signals", "pick_cube,release_cube", "--env-name", "LeIsaac-X-Mimic-v0", "--quiet"]
    assert main(["convert", "joint-to-eef", str(source), "--out", str(eef), *args]) == 0
    assert main(["convert", "eef-to-joint", str(eef), "--out", str(back), "--quiet"]) == 0
    return source, eef, back


def test_eef_file_has_the_keys_isaac_lab_mimic_reads(converted):
    _, eef, _ = converted
    chain = ArmChain()
    with h5py.File(eef, "r") as h5:
        assert json.loads(h5["data"].attrs["env_args"])["env_name"] == "LeIsaac-X-Mimic-v0"
        demo = h5["data/demo_0"]
        actions = demo["actions"][:]
        assert actions.shape == (LENGTH, 8) and demo.attrs["num_samples"] == LENGTH
        joints = _joints(0)
        assert np.abs(actions[:, 7] - joints[:, 5]).max() == 0  # the gripper, unchanged
        target = chain.fk_many(joints[:, :5])
        assert np.abs(poses_from_vectors(actions[:, :7]) - target).max() < 1e-5
        assert np.allclose(np.linalg.norm(actions[:, 3:7], axis=1), 1.0, atol=1e-6)
        assert np.abs(demo["obs/joint_pos_target"][:] - joints).max() == 0
        assert demo["obs/ee_frame_state"].shape == (LENGTH, 7)
        for group in ("eef_pose", "target_eef_pose"):
            assert h5[f"{DATAGEN}/{group}/so101_follower"].shape == (LENGTH, 4, 4)
        assert np.abs(h5[f"{DATAGEN}/target_eef_pose/so101_follower"][:] - target).max() < 1e-5
        assert h5[f"{DATAGEN}/object_pose/cube"].shape == (LENGTH, 4, 4)
        signals = h5[f"{DATAGEN}/subtask_term_signals"]
        assert sorted(signals) == ["pick_cube", "release_cube"] and signals["pick_cube"].dtype == bool
        # first 0 -> 1 edge = the boundary Isaac Lab Mimic cuts at
        assert int(np.argmax(signals["pick_cube"][:])) == GRASP and signals["pick_cube"][GRASP:].all()
        assert int(np.argmax(signals["release_cube"][:])) == RELEASE
        assert demo["obs/front"].shape == (LENGTH, 48, 64, 3) and demo["obs/front"][0, 0, 0, 0] == 40
        # demo 1: the cube is far from the gripper, so no grasp: all False (and a warning)
        assert not h5["data/demo_1/obs/datagen_info/subtask_term_signals/pick_cube"][:].any()
        assert h5["data/demo_1"].attrs["seed"] == 8 and sorted(h5["data"]) == ["demo_0", "demo_1"]


def test_eef_to_joint_recovers_the_joint_actions(converted):
    source, _, back = converted
    with h5py.File(source, "r") as src, h5py.File(back, "r") as out:
        for demo in ("demo_0", "demo_1"):
            joints, recovered = src[f"data/{demo}/actions"][:], out[f"data/{demo}/actions"][:]
            assert recovered.shape == (LENGTH, 6)
            assert np.abs(recovered - joints).max() < 1e-4  # radians, float32 storage included
        assert out["data/demo_0/obs/datagen_info/subtask_term_signals/pick_cube"].shape == (LENGTH,)
        record = json.loads(out["data"].attrs["rollout_studio_provenance"])
        assert (
            record["conversion"] == "eef_to_joint"
            and record["inputs"][0]["provenance"]["conversion"] == "joint_to_eef"
        )


def test_round_trip_stats_in_the_json_summary(converted, tmp_path, capsys):
    _, eef, _ = converted
    assert (
        main(["convert", "eef-to-joint", str(eef), "--out", str(tmp_path / "b.hdf5"), "--json", "--quiet"])
        == 0
    )
    details = json.loads(capsys.readouterr().out)["details"]
    assert details["max_position_error_mm"] < 0.01 and details["max_rotation_error_deg"] < 0.01
    assert details["max_joint_error_deg"] < 0.01


def test_curation_segments_become_signals(converted, tmp_path):
    from backend.curation import Curation, EpisodeDecision

    if "subtasks" not in EpisodeDecision.FIELDS:
        pytest.skip("curation decisions have no subtasks field yet (#19)")
    from backend.subtasks import check_segments

    source = tmp_path / "src.hdf5"
    source.write_bytes(converted[0].read_bytes())
    curation = Curation.load(source)
    segments = check_segments([[0, 9, "reach the cube"], [10, 25, "lift it"], [26, 39, "rest"]])
    curation.set(0, subtasks=segments)
    curation.flush()
    out = tmp_path / "eef.hdf5"
    assert main(["convert", "joint-to-eef", str(source), "--out", str(out), "--quiet"]) == 0
    with h5py.File(out, "r") as h5:
        signals = h5[f"{DATAGEN}/subtask_term_signals"]
        assert sorted(signals) == ["lift_it", "reach_the_cube"]
        assert (
            int(np.argmax(signals["reach_the_cube"][:])) == 9 and int(np.argmax(signals["lift_it"][:])) == 25
        )


def test_cli_errors_are_one_line(converted, tmp_path, capsys):
    source, eef, _ = converted
    cases = [
        (["joint-to-eef", str(tmp_path / "missing.hdf5"), "--out", str(tmp_path / "o.hdf5")], "missing.hdf5"),
        (["eef-to-joint", str(source), "--out", str(tmp_path / "o.hdf5")], "not 8-D end-effector poses"),
        (["joint-to-eef", str(eef), "--out", str(tmp_path / "o.hdf5")], "not single-arm SO-101 joint"),
        (["joint-to-eef", str(source), "--out", str(source)], "src.hdf5"),
        (
            ["joint-to-eef", str(source), "--out", str(tmp_path / "o.hdf5"), "--subtasks", "curation"],
            "subtask",
        ),
    ]
    for argv, needle in cases:
        capsys.readouterr()
        assert main(["convert", *argv, "--quiet"]) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error:") and needle in err[0], (argv, err)
    assert not (tmp_path / "o.hdf5").exists()


def test_entry_point_plan(converted, tmp_path):
    _, eef, _ = converted
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "backend.cli",
            "convert",
            "eef-to-joint",
            str(eef),
            "--out",
            str(tmp_path / "x.hdf5"),
            "--plan",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["details"] == {"episodes": 2, "frames": 2 * LENGTH}


def test_mimicgen_generate_template():
    template = load_templates().get("mimicgen-generate")
    values, errors = template.coerce_params(
        {"input_file": str(REPO / "README.md"), "output_file": "/tmp/g.hdf5"}
    )
    assert errors == {}
    profile = Profile(name="p", tool="leisaac", repo="/repos/leisaac", python=["/envs/l/bin/python"], env={})
    command = build_command(template, values, profile)
    assert command.argv[:3] == [
        "/envs/l/bin/python",
        "scripts/mimic/generate_dataset.py",
        "--task=LeIsaac-SO101-PickOrange-Mimic-v0",
    ]
    assert (
        f"--input_file={REPO / 'README.md'}" in command.argv and "--generation_num_trials=10" in command.argv
    )
    parser = ProgressParser(template.progress["parsers"], command.total, template.progress.get("unit", ""))
    update = parser.feed("*****\n3/4 (75.0%) successful demos generated by mimic\x1b[K\n")
    assert update.done == 3 and update.total == 10


def test_plan_previews_the_signal_frames_and_writes_nothing(converted, tmp_path, capsys):
    source, _, _ = converted
    out = tmp_path / "p.hdf5"
    argv = ["convert", "joint-to-eef", str(source), "--out", str(out), "--signals", "pick_cube", "--plan"]
    assert main(argv) == 0
    plan = json.loads(capsys.readouterr().out)
    assert [e["extra"] for e in plan["episodes"] if e["kept"]] == [
        {"subtasks_from": "gripper", "signals": {"pick_cube": GRASP}},
        {"subtasks_from": "gripper", "signals": {}},
    ]
    assert [(e["source_index"], e["reason"]) for e in plan["episodes"] if not e["kept"]] == [
        (2, "failed demo")
    ]
    assert plan["warnings"] == ["demo_1: signal 'pick_cube' has no boundary (found 0)"]
    assert not out.exists()


def test_provenance_names_the_source_demos(converted):
    source, eef, _ = converted
    with h5py.File(eef, "r") as h5:
        record = json.loads(h5["data"].attrs["rollout_studio_provenance"])
    assert record["conversion"] == "joint_to_eef" and record["inputs"][0]["path"] == str(source)
    assert [(e["source_episode"], e["signals"]) for e in record["episodes"]] == [
        (0, {"pick_cube": GRASP, "release_cube": RELEASE}),
        (1, {}),
    ]


def test_tcp_frame_is_remembered_by_eef_to_joint(converted, tmp_path, capsys):
    """--frame tcp writes the jaw point's pose; eef-to-joint reads the frame from the provenance."""
    source, _, _ = converted
    eef, back = tmp_path / "tcp.hdf5", tmp_path / "tcp_back.hdf5"
    assert main(["convert", "joint-to-eef", str(source), "--out", str(eef), "--frame", "tcp", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["convert", "eef-to-joint", str(eef), "--out", str(back), "--json", "--quiet"]) == 0
    details = json.loads(capsys.readouterr().out)["details"]
    assert details["frame"] == "tcp" and details["max_joint_error_deg"] < 0.01
    with h5py.File(eef, "r") as h5:
        actions = h5["data/demo_0/actions"][:]
    tool = ArmChain(tip=TCP_LINK).fk_many(_joints(0)[:, :5])
    assert np.abs(poses_from_vectors(actions[:, :7]) - tool).max() < 1e-5


def test_recorded_objects_become_object_poses_in_the_base_frame(tmp_path):
    """A LeIsaac recording's states/rigid_object/<name>/root_pose (after each step, env frame)
    become obs/datagen_info/object_pose/<name>: before each step, in the robot's base frame."""
    from tests.recordings import DemoSpec, RecordingSpec, write_recording

    source = write_recording(tmp_path / "rec.hdf5", RecordingSpec([DemoSpec(20)], cameras=()))
    with h5py.File(source, "r+") as h5:  # the test data's robot stands at (1, 0.5, 0.1), turned 90 degrees
        pose = np.array([1.0, 0.5, 0.1, np.cos(np.pi / 4), 0.0, 0.0, np.sin(np.pi / 4)], np.float32)
        h5["data/demo_0/states/articulation/robot/root_pose"][:] = pose
        h5["data/demo_0/initial_state/articulation/robot/root_pose"][:] = pose
    out = tmp_path / "eef.hdf5"
    assert main(["convert", "joint-to-eef", str(source), "--out", str(out), "--quiet"]) == 0
    with h5py.File(source, "r") as src, h5py.File(out, "r") as h5:
        demo = src["data/demo_0"]
        obj = np.r_[
            demo["initial_state/rigid_object/orange/root_pose"][:],
            demo["states/rigid_object/orange/root_pose"][:-1],
        ]
        robot = np.r_[
            demo["initial_state/articulation/robot/root_pose"][:],
            demo["states/articulation/robot/root_pose"][:-1],
        ]
        expected = np.linalg.inv(poses_from_vectors(robot)) @ poses_from_vectors(obj)
        written = h5["data/demo_0/obs/datagen_info/object_pose/orange"][:]
        assert written.shape == (20, 4, 4) and np.abs(written - expected).max() < 1e-5
        # the orange at (0.3, 0, 0.02) in the env is at (-0.5, 0.7, -0.08) from the robot
        assert np.allclose(written[0, :3, 3], [-0.5, 0.7, -0.08], atol=1e-6)
