"""HDF5 -> LeRobot: selection, unit mapping, streaming output that validates, provenance."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from backend import provenance as prov
from backend.convert import hdf5_to_lerobot as h2l
from backend.errors import StudioError
from backend.formats import open_dataset, validate_path
from backend.progress import Progress
from backend.units import JointSpace, Unit
from tests.recordings import DemoSpec, RecordingSpec, write_recording


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 demos (demo_10 sorts before demo_2 in h5py), one failed, one short, one interrupted."""
    demos = [DemoSpec(24) for _ in range(12)]
    demos[1] = DemoSpec(24, success=False)
    demos[2] = DemoSpec(8)
    demos[3] = DemoSpec(24, success=None)
    demos[10] = DemoSpec(31)
    return write_recording(tmp_path_factory.mktemp("rec") / "teleop.hdf5", RecordingSpec(demos))


@pytest.fixture(scope="module")
def converted(
    recording: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, h2l.ConversionSummary]:
    out = tmp_path_factory.mktemp("out") / "ds"
    warnings: list[str] = []
    summary = h2l.run(
        [recording],
        h2l.Hdf5ToLerobotOptions(out=out, task="Pick the orange"),
        Progress(on_warning=warnings.append),
    )
    assert warnings == []
    return out, summary


def test_plan_lists_every_demo_with_reasons_and_writes_nothing(recording: Path, tmp_path: Path) -> None:
    out = tmp_path / "never"
    plan = h2l.plan([recording], h2l.Hdf5ToLerobotOptions(out=out, task="Pick the orange"))
    assert not out.exists()
    assert plan.ok, plan.errors
    names = [e.source_name for e in plan.episodes]
    assert names == [f"demo_{i}" for i in range(12)]  # by number, not h5py's order
    reasons = {e.source_name: e.reason for e in plan.skipped}
    assert set(reasons) == {"demo_1", "demo_2", "demo_3"}
    assert "success = False" in reasons["demo_1"]
    assert "8 frames < minimum length 10" in reasons["demo_2"]
    assert "interrupted" in reasons["demo_3"]
    kept = plan.kept
    assert [e.output_index for e in kept] == list(range(9))
    assert kept[0].frame_offset == 5 and kept[0].frames_out == 19
    assert plan.frames_out == 8 * 19 + 26
    # sample values: the action at frame 5 of demo_0, in every unit, output = JointSpace.convert
    sample = next(s for s in plan.samples if s.role == "action")
    with h5py.File(recording) as handle:
        raw = handle["data/demo_0/actions"][5]
    assert sample.frame == 5 and sample.source_unit == "rad" and sample.target_unit == "lerobot"
    np.testing.assert_allclose(sample.source_values, raw, rtol=0, atol=1e-7)
    expected = JointSpace.so101(Unit.RADIANS).convert(raw[None], Unit.LEROBOT_RANGE)[0]
    np.testing.assert_allclose(sample.output_values, expected, atol=1e-4)
    np.testing.assert_allclose(sample.values["deg"], np.degrees(raw), atol=1e-4)
    assert any(s.role == "state" for s in plan.samples)
    assert "meta/rollout_studio_provenance.json" in plan.tree
    assert any("observation.images.front/episode_000000.mp4" in line for line in plan.tree)
    data = plan.to_dict()
    assert data["summary"]["episodes_kept"] == 9 and json.dumps(data)


def test_output_validates_and_values_follow_the_joint_mapping(recording: Path, converted) -> None:
    out, summary = converted
    assert summary.episodes_written == 9
    assert summary.frames_written == 8 * 19 + 26
    assert [p for p in validate_path(out) if p.severity == "error"] == []
    info = json.loads((out / "meta/info.json").read_text())
    assert info["codebase_version"] == "v2.1"
    assert info["robot_type"] == "so101_follower"
    assert info["features"]["observation.images.front"]["info"]["video.codec"] == "h264"
    assert info["features"]["action"]["names"][0] == "shoulder_pan.pos"
    space = JointSpace.so101(Unit.RADIANS)
    with open_dataset(out) as dataset, h5py.File(recording) as handle:
        assert dataset.tasks == ["Pick the orange"]
        # output episode 7 is demo_10 (the 8th kept demo), the longer one
        episode = dataset.episode(7)
        assert episode.length == 26
        src_actions = handle["data/demo_10/actions"][5:]
        src_state = handle["data/demo_10/obs/joint_pos"][5:]
        np.testing.assert_allclose(
            episode.array("action"), space.convert(src_actions, Unit.LEROBOT_RANGE), atol=1e-4
        )
        np.testing.assert_allclose(
            episode.array("observation.state"), space.convert(src_state, Unit.LEROBOT_RANGE), atol=1e-4
        )
        # output frame t is source frame 5 + t (mean level of the synthetic image)
        stream = episode.stream("front")
        try:
            for t in (0, 13, 25):
                source = _source_frame(handle, 10, 5 + t).astype(np.float64)
                assert np.abs(stream.frame(t).astype(np.float64) - source).mean() < 4
                # and it is not the neighbouring frame (levels step by 7 per frame)
                neighbour = _source_frame(handle, 10, 4 + t).astype(np.float64)
                assert np.abs(stream.frame(t).astype(np.float64) - neighbour).mean() > 5
        finally:
            stream.close()


def _source_frame(handle: h5py.File, demo: int, t: int) -> np.ndarray:
    return handle[f"data/demo_{demo}/obs/front"][t]


def test_provenance_maps_output_episodes_to_demos(recording: Path, converted) -> None:
    out, _ = converted
    record = prov.read_provenance(out)
    assert record is not None and record["schema"] == prov.SCHEMA
    assert record["conversion"] == "hdf5_to_lerobot"
    source = record["inputs"][0]
    assert source["path"] == str(recording.absolute()) and source["hash_mode"] == "full"
    assert source["sha256"] == prov.hash_input(recording, "full")["sha256"]
    assert record["options"]["skip_frames"] == 5 and record["options"]["codec"] == "h264"
    mapping = prov.episode_map(record)
    assert sorted(mapping) == list(range(9))
    assert [mapping[i]["source_name"] for i in range(9)] == [
        f"demo_{d}" for d in (0, 4, 5, 6, 7, 8, 9, 10, 11)
    ]
    assert all(m["frame_offset"] == 5 for m in mapping.values())
    assert mapping[7]["length"] == 26
    traced = prov.trace(record, 7)
    assert traced["source_episode"] == 10 and traced["frame_offset"] == 5


def test_options_change_selection_and_tasks(recording: Path, tmp_path: Path) -> None:
    second = write_recording(
        tmp_path / "second.hdf5",
        RecordingSpec([DemoSpec(15), DemoSpec(15, success=False)], cameras=("front",)),
    )
    first_only_front = h2l.Hdf5ToLerobotOptions(
        out=tmp_path / "multi",
        task="Pick the orange",
        tasks={"second.hdf5": "Lift the cube"},
        cameras=["front"],
        skip_frames=0,
        min_length=20,
        include_failed=True,
        include_incomplete=True,
        demos={str(recording): [0, 1, 2, 3]},
        format="v3.0",
    )
    plan = h2l.plan([recording, second], first_only_front)
    assert plan.ok, plan.errors
    kept = [(Path(e.source).name, e.source_name) for e in plan.kept]
    # demo_2 is too short (8 < 20); second.hdf5's demos are 15 < 20
    assert kept == [("teleop.hdf5", "demo_0"), ("teleop.hdf5", "demo_1"), ("teleop.hdf5", "demo_3")]
    first_only_front.min_length = 10
    summary = h2l.run([recording, second], first_only_front)
    assert summary.episodes_written == 5
    assert [p for p in validate_path(tmp_path / "multi") if p.severity == "error"] == []
    with open_dataset(tmp_path / "multi") as dataset:
        assert dataset.format.value == "lerobot_v3.0"
        assert sorted(dataset.cameras) == ["front"]
        assert [e.task for e in dataset.episodes] == ["Pick the orange"] * 3 + ["Lift the cube"] * 2
        assert dataset.episodes[0].length == 24  # skip 0


def test_keyboard_actions_are_copied_unscaled_with_a_warning(tmp_path: Path) -> None:
    src = write_recording(
        tmp_path / "kb.hdf5", RecordingSpec([DemoSpec(16)], cameras=("front",), action_width=8)
    )
    warnings: list[str] = []
    out = tmp_path / "kb"
    summary = h2l.run(
        [src],
        h2l.Hdf5ToLerobotOptions(out=out, task="t", skip_frames=2),
        Progress(on_warning=warnings.append),
    )
    assert any("not joint positions" in w for w in warnings) and summary.warnings
    with open_dataset(out) as dataset, h5py.File(src) as handle:
        np.testing.assert_array_equal(dataset.episodes[0].array("action"), handle["data/demo_0/actions"][2:])
        state = dataset.episodes[0].array("observation.state")
        assert np.abs(state).max() > 1.5  # joint positions are still rescaled


def test_bi_arm_recording(tmp_path: Path) -> None:
    src = write_recording(
        tmp_path / "bi.hdf5", RecordingSpec([DemoSpec(14)], cameras=("left_wrist", "top"), bi_arm=True)
    )
    out = tmp_path / "bi"
    h2l.run([src], h2l.Hdf5ToLerobotOptions(out=out, task="Fold the cloth"))
    info = json.loads((out / "meta/info.json").read_text())
    assert info["robot_type"] == "bi_so101_follower"
    assert info["features"]["action"]["shape"] == [12]
    assert info["features"]["observation.state"]["names"][6] == "right_shoulder_pan.pos"
    space = JointSpace.so101(Unit.RADIANS, ("left_", "right_"))
    with open_dataset(out) as dataset, h5py.File(src) as handle:
        left, right = (
            handle["data/demo_0/obs/left_joint_pos"][5:],
            handle["data/demo_0/obs/right_joint_pos"][5:],
        )
        expected = space.convert(np.hstack([left, right]), Unit.LEROBOT_RANGE)
        np.testing.assert_allclose(dataset.episodes[0].array("observation.state"), expected, atol=1e-4)


def test_av1_codec(tmp_path: Path) -> None:
    src = write_recording(
        tmp_path / "a.hdf5", RecordingSpec([DemoSpec(20)], cameras=("front",), width=64, height=64)
    )
    out = tmp_path / "av1"
    h2l.run([src], h2l.Hdf5ToLerobotOptions(out=out, task="t", codec="av1", crf=40, gop=8))
    info = json.loads((out / "meta/info.json").read_text())
    assert info["features"]["observation.images.front"]["info"]["video.codec"] == "av1"
    assert [p for p in validate_path(out) if p.severity == "error"] == []


def test_bad_inputs_give_clear_errors(recording: Path, tmp_path: Path) -> None:
    options = h2l.Hdf5ToLerobotOptions(out=tmp_path / "o", task="t")
    with pytest.raises(StudioError, match="no such file"):
        h2l.run([tmp_path / "missing.hdf5"], options)
    garbage = tmp_path / "garbage.hdf5"
    garbage.write_bytes(b"not an hdf5 file at all")
    with pytest.raises(StudioError):
        h2l.run([garbage], options)
    with pytest.raises(StudioError, match="no task text"):
        h2l.run([recording], h2l.Hdf5ToLerobotOptions(out=tmp_path / "o", task=" "))
    with pytest.raises(StudioError, match="no camera"):
        h2l.run([recording], h2l.Hdf5ToLerobotOptions(out=tmp_path / "o", task="t", cameras=["left"]))
    with pytest.raises(StudioError, match="robot"):
        h2l.run([recording], h2l.Hdf5ToLerobotOptions(out=tmp_path / "o", task="t", robot="bi_so101"))
    (tmp_path / "exists").mkdir()
    with pytest.raises(StudioError, match="already exists"):
        h2l.run([recording], h2l.Hdf5ToLerobotOptions(out=tmp_path / "exists", task="t"))
    with pytest.raises(StudioError, match="no demo is kept"):
        h2l.run([recording], h2l.Hdf5ToLerobotOptions(out=tmp_path / "o", task="t", min_length=1000))
    plan = h2l.plan([recording], h2l.Hdf5ToLerobotOptions(out=tmp_path / "exists", task="t", codec="vp9"))
    assert not plan.ok
    assert not (tmp_path / "o").exists()


def test_a_camera_of_another_shape_in_one_demo_names_the_file_and_the_demo(tmp_path: Path) -> None:
    """demo_1's wrist camera is grey (T, H, W): one error naming the file, the demo and the camera,
    and nothing written."""
    src = write_recording(
        tmp_path / "grey.hdf5", RecordingSpec([DemoSpec(20), DemoSpec(20)], cameras=("front", "wrist"), width=32, height=24)
    )
    with h5py.File(src, "r+") as handle:
        grey = handle["data/demo_1/obs/wrist"][:, :, :, 0]
        del handle["data/demo_1/obs/wrist"]
        handle.create_dataset("data/demo_1/obs/wrist", data=grey, chunks=(10, 24, 32), compression="lzf")
    out = tmp_path / "o"
    with pytest.raises(StudioError) as raised:
        h2l.run([src], h2l.Hdf5ToLerobotOptions(out=out, task="t"))
    assert raised.value.path == str(src)
    # found before anything is written, in the validator's words, with what to do
    assert raised.value.problem == "demo_1/obs/wrist has shape (20, 24, 32): an image without a channel axis"
    assert raised.value.hint == "re-record the camera as (T, H, W, 3) RGB uint8, or convert without it: --cameras front"
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["grey.hdf5"]
