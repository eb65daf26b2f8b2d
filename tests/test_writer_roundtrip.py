"""Every attribute a writer writes reads back, equal, through ``backend.formats``' readers.

Writers: the studio's recorder in its two modes (LeIsaac HDF5, LeRobot v2.1 recording), the LeIsaac
HDF5 writer, the LeRobot v2.1 and v3.0 writers. Attributes: fps, task(s), robot type, joint names and
units, camera names and shapes, episode lengths, success flags, seeds, initial_state, timestamps,
provenance. The recorder is also run end to end (`rollout-studio record` against a virtual arm):
what ``inspect`` says is what the command was asked to record.

Task texts are any printable text (non-ASCII included, no control characters).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.errors import StudioError
from backend.formats import open_dataset, open_writer, validate_path
from backend.formats.base import CameraSpec, WriterSpec
from backend.formats.leisaac_hdf5 import read_initial_state
from backend.model import DatasetFormat, Feature, FeatureKind
from backend.provenance import read_provenance
from backend.teleop.cameras import Frame
from backend.teleop.hdf5_recorder import Hdf5Recorder
from backend.teleop.lerobot_recorder import LeRobotRecorder
from backend.teleop.steps import EpisodeMeta, Step
from backend.units import SO101_JOINTS, Unit

REPO = Path(__file__).resolve().parents[1]
LEROBOT_NAMES = [f"{j}.pos" for j in SO101_JOINTS]
SETTINGS = settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
TASK = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=24)
CAMERA_NAME = st.sampled_from(["front", "wrist", "top", "left_wrist", "caméra"])
SIZES = st.sampled_from([(32, 24), (48, 32), (64, 48)])  # (width, height), even for yuv420p
RATES = st.sampled_from([10.0, 15.0, 16.0, 20.0, 25.0, 30.0, 50.0, 60.0, 100.0])
SUCCESS = st.sampled_from([True, False, None])


def cameras_strategy(max_cameras: int = 2) -> st.SearchStrategy[dict[str, tuple[int, int]]]:
    """camera name -> (width, height), 0..max_cameras cameras with distinct names."""
    return st.dictionaries(CAMERA_NAME, SIZES, max_size=max_cameras)


def image(width: int, height: int, episode: int, camera: int, t: int) -> np.ndarray:
    frame = np.full((height, width, 3), (30 + 40 * camera + 17 * episode + 3 * t) % 220, np.uint8)
    frame[:, t % width] = 250
    return frame


# -- the recorder, HDF5 mode ------------------------------------------------------------------------
def recorder_steps(
    n: int, rate: float, cameras: dict[str, tuple[int, int]], episode: int, lerobot: float = 1.0
) -> list[Step]:
    steps = []
    for t in range(n):
        rad = (np.sin(np.arange(6) + t / 5.0 + episode) * 0.5).astype(np.float64)
        frames = {
            name: Frame(image(w, h, episode, c, t // 2), t // 2, 100.0 + t / rate)
            for c, (name, (w, h)) in enumerate(cameras.items())
        }
        steps.append(
            Step(
                t=t / rate + 0.0003 * (t % 3),  # tick times with jitter: stored as they were
                action_rad=rad,
                state_rad=rad * 0.9,
                action_lerobot=rad * 50 * lerobot,
                state_lerobot=rad * 45 * lerobot,
                leader_raw=np.arange(6) + 2000 + t,
                follower_raw=None,
                leader_ok=True,
                frames=frames,
            )
        )
    return steps


def meta(index: int, task: str, rate: float, cameras: dict[str, tuple[int, int]], units: str = "range"):
    return EpisodeMeta(
        index=index,
        task=task,
        rate_hz=rate,
        started_wall=time.time(),
        seed=1000 + index,
        cameras={name: (h, w) for name, (w, h) in cameras.items()},
        has_follower=False,
        lerobot_units=units,
    )


@SETTINGS
@given(
    rate=RATES,
    episodes=st.lists(st.tuples(TASK, st.integers(1, 9), SUCCESS), min_size=1, max_size=3),
    cameras=cameras_strategy(),
    env_name=st.sampled_from(["", "LeIsaac-SO101-PickOrange-v0"]),
)
def test_hdf5_recording_reads_back_as_recorded(rate, episodes, cameras, env_name) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rec.hdf5"
        recorder = Hdf5Recorder(out, env_name=env_name, fsync=False)
        recorder.open()
        written = []
        for e, (task, length, success) in enumerate(episodes):
            recorder.begin_episode(meta(e, task, rate, cameras))
            steps = recorder_steps(length, rate, cameras, e)
            recorder.append(steps[:1])
            recorder.append(steps[1:])
            recorder.end_episode(success, "test")
            written.append(steps)
        recorder.close()
        assert [p.line() for p in validate_path(out) if p.severity == "error"] == []
        with open_dataset(out) as ds:
            assert ds.format is DatasetFormat.LEISAAC_HDF5
            assert ds.fps == rate and ds.info["fps_from"] == "fps attribute"
            assert ds.robot_type == "so101_follower"
            assert ds.info["env_name"] == env_name
            assert ds.info["provenance"] == recorder.provenance()
            assert ds.info["provenance"]["joint_units"] == "rad"
            assert [e.length for e in ds.episodes] == [length for _, length, _ in episodes]
            assert [e.task for e in ds.episodes] == [task for task, _, _ in episodes]
            assert ds.tasks == list(dict.fromkeys(task for task, _, _ in episodes))
            assert [e.success for e in ds.episodes] == [success for _, _, success in episodes]
            assert [e.extra["seed"] for e in ds.episodes] == [1000 + e for e in range(len(episodes))]
            assert ds.info["total"] == sum(n for _, n, s in episodes if s is not None)
            for key in ("actions", "obs/joint_pos"):
                assert ds.features[key].space.names == tuple(SO101_JOINTS)
                assert ds.features[key].space.unit is Unit.RADIANS
            assert ds.cameras == {name: f"obs/{name}" for name in cameras}
            for name, (w, h) in cameras.items():
                info = ds.camera_info(name)
                assert (info.width, info.height, info.fps) == (w, h, rate)
            for episode, steps in zip(ds.episodes, written, strict=True):
                assert episode.duration == pytest.approx(len(steps) / rate)
                assert np.array_equal(episode.timestamps(), np.arange(len(steps)) / rate)
                assert np.array_equal(episode.array("extras/t"), [s.t for s in steps])
                assert np.array_equal(
                    episode.array("actions"), np.array([s.action_rad for s in steps], np.float32)
                )
                initial = read_initial_state(episode)
                assert np.array_equal(
                    initial["articulation"]["robot"]["joint_position"],
                    np.array([steps[0].state_rad], np.float32),
                )
                for c, (name, (w, h)) in enumerate(cameras.items()):
                    stream = episode.stream(name)
                    try:
                        last = len(steps) - 1
                        assert np.array_equal(stream.frame(last), image(w, h, episode.index, c, last // 2))
                    finally:
                        stream.close()


def _legacy_recording(out: Path, rate: float, task: str) -> None:
    """A recording as the studio wrote it before it used the format's names: rs_rate_hz, rs_task."""
    recorder = Hdf5Recorder(out, fsync=False)
    recorder.open()
    recorder.begin_episode(meta(0, task, rate, {}))
    recorder.append(recorder_steps(6, rate, {}, 0))
    recorder.end_episode(True)
    recorder.close()
    with h5py.File(out, "a") as f:
        data = f["data"]
        del data.attrs["fps"]
        del data.attrs["rollout_studio_provenance"]
        demo = data["demo_0"]
        del demo.attrs["task"]
        demo.attrs["rs_task"] = task
        demo.attrs["rs_rate_hz"] = rate


def test_older_recordings_keep_their_rate_and_task(tmp_path: Path) -> None:
    out = tmp_path / "old.hdf5"
    _legacy_recording(out, 60.0, "Pick the cube.")
    with open_dataset(out) as ds:
        assert ds.fps == 60.0 and ds.info["fps_from"].startswith("demo_0.rs_rate_hz")
        assert ds.episodes[0].task == "Pick the cube." and ds.tasks == ["Pick the cube."]
        assert ds.episodes[0].duration == pytest.approx(0.1)
    # more episodes at the same rate: the file gets the format's fps attribute; the old demo keeps its own
    recorder = Hdf5Recorder(out, fsync=False, fps=60.0)
    recorder.open()
    recorder.begin_episode(meta(1, "Lift it.", 60.0, {}))
    recorder.append(recorder_steps(4, 60.0, {}, 1))
    recorder.end_episode(False)
    recorder.close()
    with open_dataset(out) as ds:
        assert ds.fps == 60.0 and ds.info["fps_from"] == "fps attribute"
        assert [(e.task, e.length, e.success) for e in ds.episodes] == [
            ("Pick the cube.", 6, True),
            ("Lift it.", 4, False),
        ]


def test_a_recording_keeps_one_rate(tmp_path: Path) -> None:
    out = tmp_path / "rec.hdf5"
    first = Hdf5Recorder(out, fsync=False, fps=60.0)
    first.open()
    first.begin_episode(meta(0, "Pick", 60.0, {}))
    first.append(recorder_steps(3, 60.0, {}, 0))
    first.end_episode(True)
    first.close()
    before = out.read_bytes()
    with pytest.raises(StudioError, match="the recording is at 60 fps, this session at 30") as caught:
        Hdf5Recorder(out, fsync=False, fps=30.0).open()
    assert caught.value.path == str(out) and "--rate 60" in caught.value.hint
    assert out.read_bytes() == before
    # without a rate up front, the episode's own rate is checked before anything is written
    recorder = Hdf5Recorder(out, fsync=False)
    recorder.open()
    with pytest.raises(StudioError, match="at 60 fps, this session at 30"):
        recorder.begin_episode(meta(1, "Pick", 30.0, {}))
    recorder.close()
    with open_dataset(out) as ds:
        assert ds.num_episodes == 1 and ds.fps == 60.0
    # an old LeIsaac file has no rate: readers take 30 fps, so only 30 fps episodes may join it
    leisaac = tmp_path / "leisaac.hdf5"
    with h5py.File(leisaac, "w") as f:
        demo = f.create_group("data").create_group("demo_0")
        demo.attrs["num_samples"] = 2
        demo.create_dataset("actions", data=np.zeros((2, 6), np.float32))
    with pytest.raises(StudioError, match="at 30 fps, this session at 60"):
        Hdf5Recorder(leisaac, fsync=False, fps=60.0).open()


def _recording(out: Path, rate: float, task: str, cameras: dict[str, tuple[int, int]]) -> Path:
    recorder = Hdf5Recorder(out, fsync=False, fps=rate)
    recorder.open()
    for e, success in enumerate((True, False, True)):
        recorder.begin_episode(meta(e, task, rate, cameras))
        recorder.append(recorder_steps(6, rate, cameras, e))
        recorder.end_episode(success)
    recorder.close()
    return out


def test_conversion_keeps_the_recorded_rate_and_task(tmp_path: Path) -> None:
    from backend.convert import hdf5_to_lerobot as h2l

    rec = _recording(tmp_path / "rec.hdf5", 60.0, "Pick the cube.", {"front": (32, 24)})
    options = h2l.Hdf5ToLerobotOptions(out=tmp_path / "out", skip_frames=0, min_length=0)
    assert options.fps is None  # the default: the recording's own rate, not a constant
    plan = h2l.plan([rec], options)
    assert plan.errors == [] and plan.details["fps"] == 60.0
    assert plan.details["tasks"] == {str(rec): "Pick the cube."}
    h2l.run([rec], options)
    with open_dataset(tmp_path / "out") as ds:
        assert ds.fps == 60.0 and ds.camera_info("front").fps == 60.0
        assert [(e.length, e.task) for e in ds.episodes] == [(6, "Pick the cube."), (6, "Pick the cube.")]
        assert read_provenance(tmp_path / "out")["options"]["fps"] == 60.0
    # an older recording: its rs_rate_hz and rs_task, recordings of different rates refused together
    old = tmp_path / "old.hdf5"
    _legacy_recording(old, 50.0, "Lift it.")
    plan = h2l.plan([old], h2l.Hdf5ToLerobotOptions(out=tmp_path / "o2", skip_frames=0, min_length=0))
    assert (
        plan.errors == [] and plan.details["fps"] == 50.0 and plan.details["tasks"] == {str(old): "Lift it."}
    )
    both = [_recording(tmp_path / "rec60.hdf5", 60.0, "Lift it.", {}), old]
    plan = h2l.plan(both, h2l.Hdf5ToLerobotOptions(out=tmp_path / "o3", skip_frames=0, min_length=0))
    assert plan.errors == [
        f"{old}: was recorded at 50 fps, rec60.hdf5 at 60 "
        "(convert them separately, or give the rate to write (--fps))"
    ]
    given = h2l.Hdf5ToLerobotOptions(out=tmp_path / "o4", fps=30.0, skip_frames=0, min_length=0)
    plan = h2l.plan(both, given)
    assert plan.errors == [] and plan.details["fps"] == 30.0


def test_convert_wizard_offers_the_recorded_rate(qtbot, tmp_path: Path) -> None:
    from PySide6.QtCore import QSettings, Qt

    from app.context import AppContext
    from app.panes.convert import ConvertPane
    from app.panes.convert.hdf5_to_lerobot import RECORDED_RATE

    rec = _recording(tmp_path / "rec.hdf5", 60.0, "Pick the cube.", {})
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    pane = ConvertPane(AppContext(settings, tmp_path / "workspace"))
    qtbot.addWidget(pane)
    wizard = pane.select("hdf5_to_lerobot")
    family = wizard.family
    assert family.fps.value() == 0 and family.fps.text() == RECORDED_RATE
    family.sources.setPaths([str(rec)])
    qtbot.mouseClick(wizard.frame.next_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(wizard.preview_ready, timeout=60_000)
    assert wizard.plan()["details"]["fps"] == 60.0 and family.options().fps is None
    assert family.fps.text() == f"{RECORDED_RATE} (60)"
    family.fps.setValue(25)
    assert family.options().fps == 25.0


# -- the recorder, LeRobot mode ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("units", "unit"),
    [
        pytest.param("range", Unit.LEROBOT_RANGE, id="range"),
        pytest.param("degrees", Unit.LEROBOT_DEGREES, id="degrees"),
    ],
)
def test_lerobot_recording_reads_back_as_recorded(tmp_path: Path, units: str, unit: Unit) -> None:
    rate, cameras = 60.0, {"front": (64, 48), "wrist": (32, 24)}
    out = tmp_path / "rec"
    recorder = LeRobotRecorder(out, rate, {n: (h, w) for n, (w, h) in cameras.items()}, units=units)
    recorder.open()
    plan = [
        ("Pick the cube.", 9, True),
        ("Lift the cube, then put it down.", 5, None),
        ("Pick it.", 7, False),
    ]
    kept = []
    for e, (task, length, success) in enumerate(plan):
        recorder.begin_episode(meta(e, task, rate, cameras, units))
        steps = recorder_steps(length, rate, cameras, e, lerobot=1.2 if units == "degrees" else 1.0)
        recorder.append(steps)
        name, n = recorder.end_episode(success, "test")
        if success is None:  # stopped mid-episode: LeRobot has no "interrupted" episodes, it is dropped
            assert (name, n) == ("", 0)
        else:
            kept.append((task, success, steps))
    recorder.close()
    with open_dataset(out) as ds:
        assert ds.format is DatasetFormat.LEROBOT_V21
        assert ds.fps == rate and ds.robot_type == "so101_follower"
        assert [e.length for e in ds.episodes] == [len(s) for _, _, s in kept]
        assert [e.task for e in ds.episodes] == [t for t, _, _ in kept]
        assert [e.extra["tasks"] for e in ds.episodes] == [[t] for t, _, _ in kept]
        assert [e.success for e in ds.episodes] == [s for _, s, _ in kept]
        for key in ("action", "observation.state"):
            assert ds.features[key].names == LEROBOT_NAMES
            assert ds.features[key].space.unit is unit, f"{key} was recorded in {units}"
        assert ds.cameras == {n: f"observation.images.{n}" for n in cameras}
        for name, (w, h) in cameras.items():
            info = ds.camera_info(name)
            assert (info.width, info.height, info.fps) == (w, h, rate)
        for episode, (_, _, steps) in zip(ds.episodes, kept, strict=True):
            assert np.allclose(episode.array("timestamp"), np.arange(len(steps)) / rate)
            assert np.array_equal(
                episode.array("action"), np.array([s.action_lerobot for s in steps], np.float32)
            )
            stream = episode.stream("front")
            try:
                assert stream.num_frames == len(steps) and stream.fps == rate
                assert (stream.width, stream.height) == cameras["front"]
            finally:
                stream.close()
    provenance = read_provenance(out)
    assert provenance["recorded_by"] == "rollout-studio teleop"
    assert provenance["joint_units"] == unit.value


def test_a_dropped_lerobot_episode_leaves_no_task(tmp_path: Path) -> None:
    recorder = LeRobotRecorder(tmp_path / "rec", 30.0, {})
    recorder.open()
    for e, (task, success) in enumerate([("Pick it.", True), ("Stopped early.", None)]):
        recorder.begin_episode(meta(e, task, 30.0, {}))
        recorder.append(recorder_steps(3, 30.0, {}, e))
        recorder.end_episode(success)
    recorder.close()
    with open_dataset(tmp_path / "rec") as ds:
        assert ds.tasks == ["Pick it."]


# -- the recorder end to end ------------------------------------------------------------------------
@pytest.fixture
def virtual_arm(tmp_path: Path):
    cal = tmp_path / "leader.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "virtual-arm", "--calibrated", "--write-calibration", str(cal)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        device = proc.stdout.readline().strip()
        assert device, "virtual-arm printed no device path"
        yield device, cal
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_record_then_inspect_says_what_was_recorded(virtual_arm, tmp_path: Path, capsys) -> None:
    device, cal = virtual_arm
    out = tmp_path / "rec.hdf5"

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "backend.cli", *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )

    record = ["record", "--leader", device, "--leader-calibration", str(cal), "--out", str(out)]
    record += ["--episodes", "1", "--quiet"]
    result = cli(*record, "--rate", "60", "--episode-seconds", "0.5", "--task", "Pick the cube.", "--json")
    assert result.returncode == 0, result.stderr
    length = json.loads(result.stdout)["episodes"][0]["length"]
    from backend.cli import main

    assert main(["inspect", str(out), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["fps"] == 60 and shown["tasks"] == ["Pick the cube."]
    assert shown["episodes"][0]["length"] == length and shown["episodes"][0]["task"] == "Pick the cube."
    with open_dataset(out) as ds:
        assert ds.episodes[0].duration == pytest.approx(length / 60)
    # adding episodes at another rate is refused before anything moves, naming the file
    result = cli(*record, "--rate", "30", "--episode-seconds", "0.2")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {out}: the recording is at 60 fps, this session at 30 (record at --rate 60 or into a new file)"
    ]


# -- the LeIsaac HDF5 writer ------------------------------------------------------------------------
def _tree(draw_seed: int) -> dict:
    rng = np.random.default_rng(draw_seed)
    return {
        "articulation": {
            "robot": {
                "joint_position": rng.normal(size=(1, 6)).astype(np.float32),
                "root_pose": rng.normal(size=(1, 7)).astype(np.float64),
            }
        },
        "rigid_object": {"orange": {"root_pose": rng.normal(size=(1, 7)).astype(np.float32)}},
    }


@SETTINGS
@given(
    fps=RATES,
    episodes=st.lists(
        st.tuples(TASK, st.integers(1, 8), SUCCESS, st.integers(0, 2**31 - 1)), min_size=1, max_size=3
    ),
    cameras=cameras_strategy(),
    env_name=st.sampled_from(["", "LeIsaac-SO101-LiftCube-v0"]),
)
def test_hdf5_writer_attributes_read_back(fps, episodes, cameras, env_name) -> None:
    features = {
        "actions": Feature("actions", FeatureKind.VECTOR, "float32", (6,)),
        "obs/joint_pos": Feature("obs/joint_pos", FeatureKind.VECTOR, "float32", (6,)),
        "obs/ee_frame_state": Feature("obs/ee_frame_state", FeatureKind.VECTOR, "float32", (7,)),
    }
    provenance = {"operation": "round trip", "inputs": ["ünïcode/päth.hdf5"], "parameters": {"n": 3}}
    spec = WriterSpec(
        fps=fps,
        robot_type="so101_follower",
        features=features,
        cameras=[CameraSpec(name, w, h) for name, (w, h) in cameras.items()],
        options={"env_name": env_name, "data_attrs": {"studio_note": "kept"}},
        provenance=provenance,
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.hdf5"
        values = []
        with open_writer(DatasetFormat.LEISAAC_HDF5, out, spec) as writer:
            for e, (task, length, success, seed) in enumerate(episodes):
                episode = writer.begin_episode(
                    task, seed=seed, initial_state=_tree(e), attrs={"source_episode": e, "label": task}
                )
                rows = {
                    key: np.random.default_rng(e).normal(size=(length, *f.shape)).astype(np.float32)
                    for key, f in features.items()
                }
                images = {
                    name: [image(w, h, e, c, t) for t in range(length)]
                    for c, (name, (w, h)) in enumerate(cameras.items())
                }
                episode.add_frames(rows, images)
                episode.end(success=success)
                values.append(rows)
        with open_dataset(out) as ds:
            assert ds.fps == fps and ds.info["fps_from"] == "fps attribute"
            assert ds.robot_type == spec.robot_type
            assert ds.info["env_name"] == env_name and ds.info["attrs"]["studio_note"] == "kept"
            assert ds.info["provenance"] == provenance
            assert read_provenance(out) == provenance
            assert [e.length for e in ds.episodes] == [n for _, n, _, _ in episodes]
            assert [e.task for e in ds.episodes] == [t for t, _, _, _ in episodes]
            assert [e.success for e in ds.episodes] == [s for _, _, s, _ in episodes]
            assert [e.extra["seed"] for e in ds.episodes] == [seed for _, _, _, seed in episodes]
            assert [e.extra["attrs"]["label"] for e in ds.episodes] == [t for t, _, _, _ in episodes]
            assert ds.info["total"] == sum(n for _, n, s, _ in episodes if s is not None)
            assert ds.features["actions"].space.names == tuple(SO101_JOINTS)
            assert ds.features["obs/joint_pos"].space.unit is Unit.RADIANS
            assert ds.features["obs/ee_frame_state"].names == ["x", "y", "z", "qw", "qx", "qy", "qz"]
            assert ds.cameras == {name: f"obs/{name}" for name in cameras}
            for name, (w, h) in cameras.items():
                info = ds.camera_info(name)
                assert (info.width, info.height, info.fps) == (w, h, fps)
            for episode, rows in zip(ds.episodes, values, strict=True):
                assert np.array_equal(episode.timestamps(), np.arange(episode.length) / fps)
                for key, array in rows.items():
                    assert np.array_equal(episode.array(key), array)
                expected = _tree(episode.index)
                initial = read_initial_state(episode)
                assert np.array_equal(
                    initial["articulation"]["robot"]["root_pose"],
                    expected["articulation"]["robot"]["root_pose"],
                )
                assert initial["articulation"]["robot"]["root_pose"].dtype == np.float64
                assert np.array_equal(
                    initial["rigid_object"]["orange"]["root_pose"],
                    expected["rigid_object"]["orange"]["root_pose"],
                )


# -- the LeRobot writers ----------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", [DatasetFormat.LEROBOT_V21, DatasetFormat.LEROBOT_V30])
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fps=st.sampled_from([10.0, 15.0, 16.0, 20.0, 30.0, 60.0]),
    episodes=st.lists(
        st.tuples(st.lists(TASK, min_size=1, max_size=2, unique=True), st.integers(1, 6), SUCCESS),
        min_size=1,
        max_size=3,
    ),
    cameras=cameras_strategy(),
    robot_type=st.sampled_from(["so101_follower", "koch_follower", "bi_so101_follower"]),
)
def test_lerobot_writer_attributes_read_back(fmt, fps, episodes, cameras, robot_type) -> None:
    features = {
        "action": Feature("action", FeatureKind.VECTOR, "float32", (6,), list(LEROBOT_NAMES)),
        "observation.state": Feature(
            "observation.state", FeatureKind.VECTOR, "float32", (6,), list(LEROBOT_NAMES)
        ),
    }
    provenance = {"operation": "round trip", "inputs": ["ünïcode/päth"], "parameters": {"crf": 0}}
    spec = WriterSpec(
        fps=fps,
        robot_type=robot_type,
        features=features,
        cameras=[CameraSpec(name, w, h) for name, (w, h) in cameras.items()],
        options={"crf": 0, "preset": "ultrafast"},
        provenance=provenance,
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        values = []
        with open_writer(fmt, out, spec) as writer:
            for e, (tasks, length, success) in enumerate(episodes):
                episode = writer.begin_episode(tasks[0], tasks=tasks[1:])
                rows = {
                    key: (np.random.default_rng(e).uniform(-90, 90, size=(length, 6))).astype(np.float32)
                    for key in features
                }
                images = {
                    name: [image(w, h, e, c, t) for t in range(length)]
                    for c, (name, (w, h)) in enumerate(cameras.items())
                }
                episode.add_frames(rows, images)
                episode.end(success=success)
                values.append(rows)
        with open_dataset(out) as ds:
            assert ds.format is fmt
            assert ds.fps == fps and ds.robot_type == robot_type
            assert [e.length for e in ds.episodes] == [n for _, n, _ in episodes]
            assert [e.extra["tasks"] for e in ds.episodes] == [tasks for tasks, _, _ in episodes]
            assert [e.task for e in ds.episodes] == [tasks[0] for tasks, _, _ in episodes]
            assert ds.tasks == list(dict.fromkeys(t for tasks, _, _ in episodes for t in tasks))
            for key in features:
                assert ds.features[key].names == LEROBOT_NAMES
                assert ds.features[key].space.unit is Unit.LEROBOT_RANGE
            assert ds.cameras == {name: f"observation.images.{name}" for name in cameras}
            for name, (w, h) in cameras.items():
                info = ds.camera_info(name)
                assert (info.width, info.height, info.fps) == (w, h, fps)
            for episode, rows in zip(ds.episodes, values, strict=True):
                assert np.array_equal(
                    episode.array("timestamp"), (np.arange(episode.length) / fps).astype(np.float32)
                )
                for key, array in rows.items():
                    assert np.array_equal(episode.array(key), array)
                for name, (w, h) in cameras.items():
                    stream = episode.stream(name)
                    try:
                        assert (stream.num_frames, stream.width, stream.height) == (episode.length, w, h)
                        assert np.allclose(stream.timestamps(), np.arange(episode.length) / fps, atol=1e-4)
                    finally:
                        stream.close()
        stored = read_provenance(out)
        assert {k: stored[k] for k in provenance} == provenance
        assert stored["format"] == fmt.value and stored["tool"] == "rollout-studio"


@pytest.mark.parametrize(
    "fmt",
    [
        pytest.param(DatasetFormat.LEROBOT_V21, id="v2.1"),
        pytest.param(DatasetFormat.LEROBOT_V30, id="v3.0"),
        pytest.param("publish_each_episode", id="v2.1-recording"),
    ],
)
def test_lerobot_writers_keep_success_flags(tmp_path: Path, fmt) -> None:
    options = {}
    if fmt == "publish_each_episode":
        fmt, options = DatasetFormat.LEROBOT_V21, {"publish_each_episode": True}
    features = {"action": Feature("action", FeatureKind.VECTOR, "float32", (6,), list(LEROBOT_NAMES))}
    spec = WriterSpec(fps=30.0, robot_type="so101_follower", features=features, options=options)
    with open_writer(fmt, tmp_path / "out", spec) as writer:
        for success in (True, False, None):
            episode = writer.begin_episode("Pick it.")
            episode.add_frames({"action": np.zeros((2, 6), np.float32)})
            episode.end(success=success)
    with open_dataset(tmp_path / "out") as ds:
        assert [e.success for e in ds.episodes] == [True, False, None]
