"""LeIsaac / Isaac Lab HDF5: every layout variant read through the model, validate, the streaming
writer, and the HDF5 -> model -> HDF5 round trip. Files are built with plain h5py, as LeIsaac does."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from backend.errors import FormatError, StudioError, UnitError
from backend.formats import detect_format, open_dataset, open_writer, validate_path
from backend.formats import leisaac_hdf5 as hdf5
from backend.formats.base import CameraSpec, WriterSpec
from backend.model import DatasetFormat, Feature, FeatureKind, Role
from backend.progress import Progress
from backend.units import SO101_JOINTS, JointSpace, Unit

H, W = 12, 16  # tiny images keep the tests fast
ENV_ARGS = json.dumps({"env_name": "LeIsaac-SO101-PickOrange-v0", "type": 2})


def _values(t: int, width: int, base: float) -> np.ndarray:
    return (base + np.arange(t * width, dtype=np.float32).reshape(t, width) * 0.01).astype(np.float32)


def _frames(t: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (t, H, W, 3), dtype=np.uint8)


def _demo(
    data: h5py.Group,
    name: str,
    t: int,
    *,
    action_width: int = 6,
    cameras: tuple[str, ...] = ("front", "wrist"),
    bi: bool = False,
    success: bool | None = True,
    seed: int = 7,
    num_samples: int | None = None,
    states: bool = True,
    base: float = 0.0,
) -> h5py.Group:
    g = data.create_group(name)
    g.create_dataset("actions", data=_values(t, action_width, base))
    g.create_dataset("processed_actions", data=_values(t, action_width, base))
    g.create_dataset("obs/actions", data=_values(t, action_width, base - 1))
    if bi:
        g.create_dataset("obs/left_joint_pos", data=_values(t, 6, base + 0.5))
        g.create_dataset("obs/right_joint_pos", data=_values(t, 6, base + 0.7))
    else:
        g.create_dataset("obs/joint_pos", data=_values(t, 6, base + 0.5))
        g.create_dataset("obs/joint_vel", data=_values(t, 6, base + 0.3))
        g.create_dataset("obs/ee_frame_state", data=_values(t, 7, base))
    for i, cam in enumerate(cameras):
        g.create_dataset(
            f"obs/{cam}",
            data=_frames(t, seed * 10 + i),
            chunks=(min(t, 100), H, W, 3),
            maxshape=(None, H, W, 3),
            compression="lzf",
        )
    arts = ("left_arm", "right_arm") if bi else ("robot",)
    if states:
        for art in arts:
            g.create_dataset(f"states/articulation/{art}/joint_position", data=_values(t, 6, base + 0.6))
            g.create_dataset(f"states/articulation/{art}/root_pose", data=_values(t, 7, 1.0))
            g.create_dataset(
                f"initial_state/articulation/{art}/joint_position", data=_values(1, 6, base + 0.4)
            )
            g.create_dataset(f"initial_state/articulation/{art}/root_pose", data=_values(1, 7, 1.0))
        g.create_dataset("states/rigid_object/orange/root_pose", data=_values(t, 7, 2.0))
        g.create_dataset("initial_state/rigid_object/orange/root_pose", data=_values(1, 7, 2.0))
    g.attrs["num_samples"] = t if num_samples is None else num_samples
    g.attrs["seed"] = seed
    if success is not None:
        g.attrs["success"] = success
    return g


def _file(
    path: Path,
    demos: list[tuple[str, int, dict[str, Any]]],
    env_args: str | None = ENV_ARGS,
    total: int | None = None,
) -> Path:
    with h5py.File(path, "w") as f:
        data = f.create_group("data")
        finished = 0
        for name, t, kwargs in demos:
            g = _demo(data, name, t, **kwargs)
            if "success" in g.attrs:
                finished += t
        data.attrs["total"] = finished if total is None else total
        if env_args is not None:
            data.attrs["env_args"] = env_args
    return path


@pytest.fixture()
def single(tmp_path: Path) -> Path:
    return _file(
        tmp_path / "single.hdf5",
        [("demo_0", 5, {"seed": 3}), ("demo_1", 7, {"success": False, "seed": 4, "base": 1.0})],
    )


# -- reading --------------------------------------------------------------------------------------
def test_single_arm_values_units_cameras(single: Path) -> None:
    assert hdf5.detect(single) is DatasetFormat.LEISAAC_HDF5
    assert detect_format(single)[0] is DatasetFormat.LEISAAC_HDF5
    with open_dataset(single) as ds:
        assert ds.format is DatasetFormat.LEISAAC_HDF5
        assert ds.fps == 30.0
        assert ds.robot_type == "so101_follower"
        assert ds.roles == {"action": "actions", "state": "obs/joint_pos"}
        assert ds.cameras == {"front": "obs/front", "wrist": "obs/wrist"}
        assert ds.tasks == ["LeIsaac-SO101-PickOrange-v0"]
        assert ds.info["total"] == 12 and ds.info["env_args"] == {
            "env_name": "LeIsaac-SO101-PickOrange-v0",
            "type": 2,
        }
        for key in (
            "actions",
            "processed_actions",
            "obs/actions",
            "obs/joint_pos",
            "states/articulation/robot/joint_position",
        ):
            assert ds.features[key].space == JointSpace.so101(Unit.RADIANS), key
            assert ds.features[key].names == list(SO101_JOINTS)
        assert ds.features["obs/joint_vel"].space.unit is Unit.OTHER  # velocities are not rescalable
        assert ds.features["obs/ee_frame_state"].names == ["x", "y", "z", "qw", "qx", "qy", "qz"]
        assert ds.features["obs/front"].kind is FeatureKind.IMAGE and ds.features["obs/front"].shape == (
            H,
            W,
            3,
        )
        assert ds.camera_info("front").width == W and ds.camera_info("front").height == H
        assert not any(k.startswith("initial_state") for k in ds.features)

        assert [(e.index, e.length, e.success, e.source) for e in ds.episodes] == [
            (0, 5, True, "demo_0"),
            (1, 7, False, "demo_1"),
        ]
        e1 = ds.episode(1)
        assert e1.extra["seed"] == 4 and e1.extra["num_samples"] == 7 and e1.extra["demo"] == "demo_1"
        assert e1.extra["attrs"] == {"num_samples": 7, "seed": 4, "success": False}
        np.testing.assert_array_equal(e1.array("actions"), _values(7, 6, 1.0))
        np.testing.assert_array_equal(e1.array("states/rigid_object/orange/root_pose"), _values(7, 7, 2.0))
        state = e1.joints(Role.STATE)
        assert state.unit is Unit.RADIANS
        np.testing.assert_allclose(
            state.to(Unit.SIM_DEGREES).values, _values(7, 6, 1.5) * 180.0 / math.pi, rtol=1e-6
        )
        stream = e1.stream("wrist")
        assert (stream.num_frames, stream.width, stream.height, stream.fps) == (7, W, H, 30.0)
        np.testing.assert_array_equal(stream.frame(6), _frames(7, 41)[6])
        assert stream.timestamp(3) == pytest.approx(0.1)
        with pytest.raises(IndexError):
            stream.frame(7)
        initial = hdf5.read_initial_state(e1)
        np.testing.assert_array_equal(initial["articulation"]["robot"]["joint_position"], _values(1, 6, 1.4))
        np.testing.assert_array_equal(
            e1.dataset.reader.read_block(e1, "obs/front", 2, 4), _frames(7, 40)[2:4]
        )


def test_liftcube_has_front_camera_only(tmp_path: Path) -> None:
    path = _file(
        tmp_path / "lift.h5",
        [("demo_0", 4, {"cameras": ("front",)})],
        env_args=json.dumps({"env_name": "LeIsaac-SO101-LiftCube-v0", "type": 2}),
    )
    with hdf5.open(path) as ds:
        assert ds.cameras == {"front": "obs/front"}
        np.testing.assert_array_equal(ds.episodes[0].stream("front").frame(3), _frames(4, 70)[3])
        with pytest.raises(KeyError):
            ds.episodes[0].stream("wrist")


def test_bi_arm_state_is_left_then_right(tmp_path: Path) -> None:
    path = _file(
        tmp_path / "bi.hdf5",
        [("demo_0", 6, {"action_width": 12, "bi": True, "cameras": ("left_wrist", "right_wrist", "top")})],
    )
    with hdf5.open(path) as ds:
        assert ds.robot_type == "bi_so101_follower"
        assert ds.cameras == {
            "left_wrist": "obs/left_wrist",
            "right_wrist": "obs/right_wrist",
            "top": "obs/top",
        }
        bi_space = JointSpace.so101(Unit.RADIANS, ("left_", "right_"))
        assert ds.features["actions"].space == bi_space
        assert ds.features["obs/joint_pos"].space == bi_space
        assert ds.features["obs/joint_pos"].names[:2] == ["left_shoulder_pan", "left_shoulder_lift"]
        assert ds.features["obs/joint_pos"].names[6] == "right_shoulder_pan"
        assert ds.features["obs/left_joint_pos"].space == JointSpace.so101(Unit.RADIANS, ("left_",))
        assert ds.features["states/articulation/right_arm/joint_position"].names[0] == "right_shoulder_pan"
        assert ds.info["synthetic_features"] == {
            "obs/joint_pos": ["obs/left_joint_pos", "obs/right_joint_pos"]
        }
        assert ds.roles == {"action": "actions", "state": "obs/joint_pos"}
        episode = ds.episodes[0]
        state = episode.joints("state")
        np.testing.assert_array_equal(state.values, np.hstack([_values(6, 6, 0.5), _values(6, 6, 0.7)]))
        lerobot = state.to(Unit.LEROBOT_RANGE).values
        assert lerobot.shape == (6, 12)
        np.testing.assert_array_equal(episode.joints("action").values, _values(6, 12, 0.0))


def test_keyboard_actions_are_not_joints(tmp_path: Path) -> None:
    path = _file(tmp_path / "kbd.hdf5", [("demo_0", 5, {"action_width": 8})])
    with hdf5.open(path) as ds:
        for key in ("actions", "processed_actions", "obs/actions"):
            assert ds.features[key].space.unit is Unit.OTHER, key
            assert ds.features[key].space.width == 8
        assert ds.features["obs/joint_pos"].space.unit is Unit.RADIANS
        actions = ds.episodes[0].joints("action")
        np.testing.assert_array_equal(actions.values, _values(5, 8, 0.0))
        with pytest.raises(UnitError):
            actions.to(Unit.LEROBOT_RANGE)
    problems = validate_path(path)
    assert [p.severity for p in problems] == ["warning"]
    assert "actions have width 8, not 6 or 12: not joint positions" in problems[0].problem


def test_cut_off_last_demo_is_listed_but_not_counted(tmp_path: Path) -> None:
    path = _file(tmp_path / "cut.hdf5", [("demo_0", 5, {}), ("demo_1", 3, {"success": None})])
    with hdf5.open(path) as ds:
        assert [e.success for e in ds.episodes] == [True, None]
        assert ds.episodes[1].extra["interrupted"] is True and ds.episodes[1].length == 3
        assert ds.info["total"] == 5
    problems = validate_path(path)
    assert len(problems) == 1 and problems[0].severity == "warning"
    assert problems[0].file.endswith("cut.hdf5:/data/demo_1")
    assert "no success attribute: the recording was interrupted" in problems[0].problem


def test_demos_are_ordered_by_number(tmp_path: Path) -> None:
    names = ["demo_0", "demo_1", "demo_10", "demo_2", "demo_9"]
    path = _file(tmp_path / "order.hdf5", [(n, 2 + int(n[5:]), {"base": float(n[5:])}) for n in names])
    with hdf5.open(path) as ds:
        assert [e.index for e in ds.episodes] == [0, 1, 2, 9, 10]
        assert [e.source for e in ds.episodes] == ["demo_0", "demo_1", "demo_2", "demo_9", "demo_10"]
        assert ds.episode(10).length == 12
        np.testing.assert_array_equal(ds.episode(10).array("actions"), _values(12, 6, 10.0))
    text = " ".join(p.problem for p in validate_path(path))
    assert "demo numbers are not 0..4 (LeIsaac resume would write demo_5)" in text


def test_fps_from_attribute_or_override(tmp_path: Path, single: Path) -> None:
    with hdf5.open(single, fps=60) as ds:
        assert ds.fps == 60.0 and ds.episodes[1].duration == pytest.approx(7 / 60)
        assert ds.episodes[0].stream("front").fps == 60.0
    with h5py.File(single, "a") as f:
        f["data"].attrs["fps"] = 15.0
    with hdf5.open(single) as ds:
        assert ds.fps == 15.0


def test_concurrent_frame_reads_from_threads(single: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with hdf5.open(single) as ds:
        episode = ds.episodes[1]
        streams = [episode.stream("front"), episode.stream("wrist")]
        jobs = [(s, i) for _ in range(5) for s in streams for i in range(7)]
        with ThreadPoolExecutor(4) as pool:
            frames = list(pool.map(lambda job: job[0].frame(job[1]), jobs))
        for (stream, i), frame in zip(jobs, frames, strict=True):
            seed = 40 if stream.name == "front" else 41
            np.testing.assert_array_equal(frame, _frames(7, seed)[i])


# -- broken files -----------------------------------------------------------------------------------
def test_truncated_and_garbage_files_give_one_clear_error(tmp_path: Path, single: Path) -> None:
    truncated = tmp_path / "truncated.hdf5"
    truncated.write_bytes(single.read_bytes()[: single.stat().st_size // 2])
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"not an hdf5 file at all" * 10)
    # a file with the HDF5 signature that cannot be read is broken; one without is no HDF5 at all
    for path, problem in ((truncated, "cannot read the HDF5 file ("), (garbage, "not an HDF5 file")):
        assert hdf5.detect(path) is DatasetFormat.LEISAAC_HDF5
        with pytest.raises(FormatError) as info:
            open_dataset(path)
        message = str(info.value)
        assert message.startswith(f"{path}: {problem}")
        assert "\n" not in message and "Traceback" not in message
        problems = validate_path(path)
        assert len(problems) == 1 and problems[0].severity == "error"
        assert problems[0].file == str(path) and problems[0].problem.startswith(problem)
    # truncated files say what is wrong
    with pytest.raises(FormatError, match="truncated"):
        hdf5.open(truncated)


def test_detect_ignores_other_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.create_dataset("images", data=np.zeros(3))
    assert hdf5.detect(tmp_path / "notes.txt") is None
    assert hdf5.detect(other) is None
    assert hdf5.detect(tmp_path) is None
    renamed = tmp_path / "recording.data"
    _file(renamed, [("demo_0", 2, {})])
    assert hdf5.detect(renamed) is DatasetFormat.LEISAAC_HDF5  # by content, whatever the name
    with pytest.raises(FormatError, match="no /data group"):
        hdf5.open(other)


def test_nan_joint_values(tmp_path: Path) -> None:
    path = _file(tmp_path / "nan.hdf5", [("demo_0", 5, {})])
    with h5py.File(path, "a") as f:
        f["data/demo_0/obs/joint_pos"][2, 1] = np.nan
        f["data/demo_0/actions"][4, 0] = np.inf
    problems = validate_path(path)
    lines = [p.line() for p in problems if p.severity == "error"]
    assert any("/data/demo_0: obs/joint_pos has 1 NaN/inf values (first at frame 2)" in x for x in lines)
    assert any("/data/demo_0: actions has 1 NaN/inf values (first at frame 4)" in x for x in lines)
    with hdf5.open(path) as ds:
        with pytest.raises(FormatError, match="demo_0: obs/joint_pos has NaN at frame 2"):
            ds.episodes[0].array("obs/joint_pos")


def test_length_mismatch_num_samples_and_total(tmp_path: Path) -> None:
    path = _file(tmp_path / "len.hdf5", [("demo_0", 6, {"num_samples": 5}), ("demo_1", 4, {})], total=99)
    with h5py.File(path, "a") as f:
        f["data/demo_1/obs/front"].resize((3, H, W, 3))
    problems = validate_path(path)
    by_text = {p.problem: p for p in problems}
    assert by_text["num_samples is 5 but the demo has 6 frames"].file.endswith(":/data/demo_0")
    mismatch = [p for p in problems if p.problem.startswith("arrays have different lengths")]
    assert (
        len(mismatch) == 1 and mismatch[0].problem == "arrays have different lengths: actions 4, obs/front 3"
    )
    assert mismatch[0].severity == "error"
    assert by_text["total is 99 but the finished demos have 9 samples"].severity == "warning"
    with hdf5.open(path) as ds:
        assert ds.episodes[0].length == 6  # the stored arrays, not the attribute
        assert ds.episodes[1].stream("front").num_frames == 3
        with pytest.raises(FormatError, match="obs/front has 3 frames, the demo has 4"):
            ds.episodes[1].dataset.reader.read_frames(ds.episodes[1], "front", 0, 4)


def test_validate_image_dtype_and_missing_env_args(tmp_path: Path) -> None:
    path = _file(tmp_path / "img.hdf5", [("demo_0", 3, {"cameras": ("wrist",)})], env_args=None)
    with h5py.File(path, "a") as f:
        f["data/demo_0"].create_dataset("obs/front", data=np.zeros((3, H, W, 3), np.float32))
    problems = validate_path(path)
    texts = {p.problem: p.severity for p in problems}
    assert texts[f"obs/front has shape (3, {H}, {W}, 3) float32, expected (T, H, W, 3) uint8 RGB"] == "error"
    assert texts["no env_args attribute on /data (the task id for replay is unknown)"] == "warning"


def test_clean_file_validates_clean(single: Path) -> None:
    assert validate_path(single) == []


# -- writer ---------------------------------------------------------------------------------------
def _spec(**options: Any) -> WriterSpec:
    joints = JointSpace.so101(Unit.RADIANS)
    features = {
        key: Feature(key, FeatureKind.VECTOR, "float32", (6,), list(joints.names), joints)
        for key in ("actions", "processed_actions", "obs/joint_pos")
    }
    features["states/rigid_object/orange/root_pose"] = Feature(
        "states/rigid_object/orange/root_pose", FeatureKind.VECTOR, "float64", (7,)
    )
    return WriterSpec(
        fps=30.0,
        robot_type="so101_follower",
        features=features,
        cameras=[CameraSpec("front", W, H)],
        options=options,
        provenance={"tool": "test", "inputs": ["x"]},
    )


def test_writer_streams_in_blocks_with_leisaac_layout(tmp_path: Path) -> None:
    out = tmp_path / "out" / "rec.hdf5"
    frames = _frames(130, 1)
    writer = open_writer(DatasetFormat.LEISAAC_HDF5, out, _spec(env_name="LeIsaac-SO101-PickOrange-v0"))
    assert isinstance(writer, hdf5.LeIsaacHDF5Writer)
    initial = {"articulation": {"robot": {"joint_position": np.ones((1, 6), np.float32)}}}
    episode = writer.begin_episode(
        "Pick the orange", seed=11, initial_state=initial, attrs={"operator": "ana"}
    )
    actions = _values(130, 6, 0.0)
    for t in range(100):
        episode.add_frame(
            {
                "actions": actions[t],
                "processed_actions": actions[t],
                "obs/joint_pos": actions[t] + 1,
                "states/rigid_object/orange/root_pose": np.arange(7.0) + t,
            },
            {"front": frames[t]},
        )
    column = episode._columns["actions"].dataset
    assert column.shape == (100, 6)  # appended at the 100th frame
    episode.add_frames(
        {
            "actions": actions[100:],
            "processed_actions": actions[100:],
            "obs/joint_pos": actions[100:] + 1,
            "states/rigid_object/orange/root_pose": np.arange(7.0)[None] + np.arange(100, 130)[:, None],
        },
        {"front": list(frames[100:])},
    )
    assert column.shape == (100, 6)  # the rest waits in the buffer
    assert episode.end(success=True) == 0
    second = writer.begin_episode("", seed=12)
    second.add_frames(
        {k: np.zeros((3, 7 if "pose" in k else 6)) for k in _spec().features},
        {"front": np.zeros((3, H, W, 3), np.uint8)},
    )
    second.end(success=None)
    assert not out.exists()  # nothing appears before finish()
    assert writer.finish() == out.absolute()
    assert [p.name for p in out.parent.iterdir()] == ["rec.hdf5"]

    with h5py.File(out, "r") as f:
        data = f["data"]
        assert data.attrs["total"] == 130
        assert json.loads(data.attrs["env_args"]) == {"env_name": "LeIsaac-SO101-PickOrange-v0", "type": 2}
        assert json.loads(data.attrs["rollout_studio_provenance"]) == {"tool": "test", "inputs": ["x"]}
        demo = data["demo_0"]
        assert (
            demo.attrs["num_samples"] == 130
            and demo.attrs["seed"] == 11
            and bool(demo.attrs["success"]) is True
        )
        assert demo.attrs["operator"] == "ana" and demo.attrs["task"] == "Pick the orange"
        assert "success" not in data["demo_1"].attrs and data["demo_1"].attrs["num_samples"] == 3
        for key, shape in (("actions", (6,)), ("obs/joint_pos", (6,)), ("obs/front", (H, W, 3))):
            assert demo[key].maxshape == (None, *shape) and demo[key].chunks == (100, *shape)
        assert demo["obs/front"].compression == "lzf" and demo["obs/front"].dtype == np.uint8
        assert demo["states/rigid_object/orange/root_pose"].dtype == np.float64
        np.testing.assert_array_equal(demo["actions"][()], actions)
        np.testing.assert_array_equal(demo["obs/front"][()], frames)
        np.testing.assert_array_equal(demo["states/rigid_object/orange/root_pose"][129], np.arange(7.0) + 129)
        np.testing.assert_array_equal(
            demo["initial_state/articulation/robot/joint_position"][()], np.ones((1, 6))
        )
    with hdf5.open(out) as ds:
        assert [e.success for e in ds.episodes] == [True, None]
        assert [e.task for e in ds.episodes] == [
            "Pick the orange",
            "LeIsaac-SO101-PickOrange-v0",
        ]  # env name as fallback
        assert ds.info["provenance"] == {"tool": "test", "inputs": ["x"]}


def test_writer_rejects_wrong_frames_and_second_open_episode(tmp_path: Path) -> None:
    writer = hdf5.create_writer(DatasetFormat.LEISAAC_HDF5, tmp_path / "x.hdf5", _spec())
    episode = writer.begin_episode("")
    with pytest.raises(StudioError, match="missing \\['obs/joint_pos'"):
        episode.add_frame(
            {"actions": np.zeros(6), "processed_actions": np.zeros(6)}, {"front": np.zeros((H, W, 3))}
        )
    good = {k: np.zeros(7 if "pose" in k else 6) for k in _spec().features}
    with pytest.raises(StudioError, match="obs/front: a frame of shape \\(3, 3\\)"):
        episode.add_frame(good, {"front": np.zeros((3, 3))})
    episode.add_frame(good, {"front": np.zeros((H, W, 3), np.uint8)})
    assert episode.length == 1 and {c.length for c in episode._columns.values()} == {1}  # still aligned
    with pytest.raises(StudioError, match="still open"):
        writer.begin_episode("")
    writer.abort()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(StudioError, match="already exists"):
        (tmp_path / "y.hdf5").write_bytes(b"x")
        hdf5.create_writer(DatasetFormat.LEISAAC_HDF5, tmp_path / "y.hdf5", _spec())


def test_abort_and_exceptions_leave_nothing(tmp_path: Path) -> None:
    out = tmp_path / "a.hdf5"
    writer = hdf5.create_writer(DatasetFormat.LEISAAC_HDF5, out, _spec())
    episode = writer.begin_episode("x")
    episode.add_frames(
        {k: np.zeros((120, 7 if "pose" in k else 6)) for k in _spec().features},
        {"front": np.zeros((120, H, W, 3), np.uint8)},
    )
    writer.abort()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RuntimeError):
        with hdf5.create_writer(DatasetFormat.LEISAAC_HDF5, out, _spec()) as writer:
            writer.begin_episode("x")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_discarded_episode_is_not_written(tmp_path: Path) -> None:
    out = tmp_path / "d.hdf5"
    with hdf5.create_writer(DatasetFormat.LEISAAC_HDF5, out, _spec()) as writer:
        first = writer.begin_episode("x")
        first.add_frames(
            {k: np.ones((5, 7 if "pose" in k else 6)) for k in _spec().features},
            {"front": np.ones((5, H, W, 3), np.uint8)},
        )
        first.discard()
        kept = writer.begin_episode("x")
        kept.add_frames(
            {k: np.full((2, 7 if "pose" in k else 6), 2.0) for k in _spec().features},
            {"front": np.full((2, H, W, 3), 2, np.uint8)},
        )
        assert kept.end(True) == 0
    with h5py.File(out, "r") as f:
        assert list(f["data"].keys()) == ["demo_0"]
        assert f["data"].attrs["total"] == 2
        np.testing.assert_array_equal(f["data/demo_0/actions"][()], np.full((2, 6), 2.0, np.float32))


# -- round trip -----------------------------------------------------------------------------------
def _tree(path: Path) -> dict[str, Any]:
    """Every dataset (values + dtype) and attribute of a file, by path."""
    out: dict[str, Any] = {}
    with h5py.File(path, "r") as f:

        def visit(name: str, obj: Any) -> None:
            if isinstance(obj, h5py.Dataset):
                out[name] = (obj.dtype.str, obj[()])
            for attr, value in obj.attrs.items():
                out[f"{name}@{attr}"] = value

        f.visititems(visit)
    return out


@pytest.mark.parametrize("variant", ["single", "bi"])
def test_round_trip_keeps_every_value(tmp_path: Path, variant: str) -> None:
    kwargs: dict[str, Any] = (
        {"action_width": 12, "bi": True, "cameras": ("left_wrist", "right_wrist", "top")}
        if variant == "bi"
        else {}
    )
    source = _file(
        tmp_path / "src.hdf5",
        [
            ("demo_0", 130, {**kwargs, "seed": 1}),
            ("demo_1", 9, {**kwargs, "success": False, "seed": 2, "base": 3.0}),
            ("demo_2", 4, {**kwargs, "success": None, "seed": 3}),
        ],
    )
    with h5py.File(source, "a") as f:
        f["data/demo_1"].attrs["operator"] = "ana"
        f["data"].attrs["note"] = "kept"
    reports: list[tuple[int, int]] = []
    with hdf5.open(source) as ds:
        out = hdf5.copy_to_hdf5(ds, tmp_path / "copy.hdf5", Progress(lambda d, t, _: reports.append((d, t))))
    assert reports[-1] == (143, 143)
    before, after = _tree(source), _tree(out)
    for key, value in before.items():
        assert key in after, key
        if isinstance(value, tuple):
            assert value[0] == after[key][0], key
            np.testing.assert_array_equal(value[1], after[key][1], err_msg=key)
        else:
            assert value == after[key], key
    added = sorted(set(after) - set(before))
    assert added == ["data@fps", "data@rollout_studio_provenance"]
    with h5py.File(out, "r") as f:
        assert (
            f[
                "data/demo_0/obs/joint_pos" if variant == "single" else "data/demo_0/obs/left_joint_pos"
            ].chunks[0]
            == 100
        )
        provenance = json.loads(f["data"].attrs["rollout_studio_provenance"])
        assert provenance["operation"] == "copy_to_hdf5" and provenance["inputs"] == [str(source)]


def test_copy_selected_episodes_renumbers(tmp_path: Path) -> None:
    source = _file(
        tmp_path / "src.hdf5",
        [("demo_0", 3, {}), ("demo_2", 4, {"base": 2.0}), ("demo_10", 5, {"base": 10.0})],
    )
    with hdf5.open(source) as ds:
        out = hdf5.copy_to_hdf5(ds, tmp_path / "sel.hdf5", episodes=[2, 10])
    with hdf5.open(out) as ds:
        assert [(e.index, e.length) for e in ds.episodes] == [(0, 4), (1, 5)]
        np.testing.assert_array_equal(ds.episodes[1].array("actions"), _values(5, 6, 10.0))
        assert ds.info["total"] == 9


def test_finish_keeps_an_open_episode_as_interrupted_and_drops_an_empty_one(tmp_path: Path) -> None:
    spec = _spec()
    spec.cameras = []
    with hdf5.create_writer(DatasetFormat.LEISAAC_HDF5, tmp_path / "a.hdf5", spec) as writer:
        episode = writer.begin_episode("x", states={"extra": {"pose": np.zeros((2, 3))}})
        episode.add_frames({k: np.ones((2, 7 if "pose" in k else 6)) for k in spec.features})
    with hdf5.create_writer(DatasetFormat.LEISAAC_HDF5, tmp_path / "b.hdf5", spec) as writer:
        writer.begin_episode("x")
    with h5py.File(tmp_path / "a.hdf5", "r") as f:
        demo = f["data/demo_0"]
        assert demo.attrs["num_samples"] == 2 and "success" not in demo.attrs
        assert f["data"].attrs["total"] == 0
        assert demo["states/extra/pose"].shape == (2, 3) and demo[
            "states/rigid_object/orange/root_pose"
        ].shape == (2, 7)
    with h5py.File(tmp_path / "b.hdf5", "r") as f:
        assert list(f["data"].keys()) == []
    assert validate_path(tmp_path / "b.hdf5")[0].problem == "no demo_N groups in /data"
