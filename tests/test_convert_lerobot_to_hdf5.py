"""LeRobot / IDM -> replayable HDF5: round trip, per-episode initial states at the frame offset,
mapping by provenance / override / detection, recomputed totals, clear errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from backend import provenance as prov
from backend.convert import hdf5_to_lerobot as h2l
from backend.convert import lerobot_to_hdf5 as l2h
from backend.errors import StudioError
from backend.formats import validate_path
from tests.recordings import DemoSpec, RecordingSpec, write_recording


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A recording (demo_1 failed, so LeRobot episode k is not demo_k) and its LeRobot conversion."""
    folder = tmp_path_factory.mktemp("l2h")
    demos = [DemoSpec(22), DemoSpec(22, success=False), DemoSpec(26), DemoSpec(30), DemoSpec(18)]
    src = write_recording(folder / "teleop.hdf5", RecordingSpec(demos, cameras=("front",)))
    h2l.run([src], h2l.Hdf5ToLerobotOptions(out=folder / "lerobot", task="Pick the orange", skip_frames=5))
    return src, folder / "lerobot"


def test_round_trip_returns_the_original_actions(pipeline, tmp_path: Path) -> None:
    src, dataset = pipeline
    out = tmp_path / "replay.hdf5"
    plan = l2h.plan(dataset, l2h.LerobotToHdf5Options(out=out, template=src))
    assert plan.ok, plan.errors
    assert "provenance" in plan.details["mapping_note"]
    assert [e.extra["demo"] for e in plan.kept] == [0, 2, 3, 4]
    assert {e.frame_offset for e in plan.kept} == {5}
    assert not out.exists()
    summary = l2h.run(dataset, l2h.LerobotToHdf5Options(out=out, template=src))
    assert summary.episodes_written == 4
    assert [p for p in validate_path(out) if p.severity == "error"] == []
    with h5py.File(src) as a, h5py.File(out) as b:
        data = b["data"]
        assert sorted(data.keys(), key=lambda n: int(n[5:])) == ["demo_0", "demo_1", "demo_2", "demo_3"]
        assert json.loads(data.attrs["env_args"]) == json.loads(a["data"].attrs["env_args"])
        lengths = [17, 21, 25, 13]
        assert int(data.attrs["total"]) == sum(lengths)
        for k, (demo, length) in enumerate(zip((0, 2, 3, 4), lengths, strict=True)):
            group, source = data[f"demo_{k}"], a[f"data/demo_{demo}"]
            original = source["actions"][5:]
            assert group.attrs["num_samples"] == length
            for key in ("actions", "processed_actions"):
                np.testing.assert_allclose(group[key][:], original, rtol=0, atol=4e-7)
            # obs/actions keeps the recording's "previous action" convention
            np.testing.assert_allclose(group["obs/actions"][:], source["obs/actions"][5:], atol=4e-7)
            assert group.attrs["seed"] == source.attrs["seed"]
            assert group.attrs["success"] == source.attrs["success"]
            # replay starts from the scene at frame 5: states after step 4, not the demo's start
            init = group["initial_state/articulation/robot/joint_position"][:]
            np.testing.assert_array_equal(init, source["states/articulation/robot/joint_position"][4:5])
            np.testing.assert_allclose(init[0], source["obs/joint_pos"][5], atol=1e-7)
            pose = group["initial_state/rigid_object/orange/root_pose"][:]
            np.testing.assert_array_equal(pose, source["states/rigid_object/orange/root_pose"][4:5])
            assert "obs/front" not in group and "states" not in group  # nothing of the wrong length
        record = json.loads(data.attrs[prov.HDF5_ATTR])
    assert record["conversion"] == "lerobot_to_hdf5"
    assert [i["role"] for i in record["inputs"]] == ["source", "template"]
    assert record["inputs"][0]["provenance"]["conversion"] == "hdf5_to_lerobot"
    mapping = prov.episode_map(record)
    assert [(mapping[k]["source_name"], mapping[k]["frame_offset"]) for k in range(4)] == [
        ("demo_0", 5),
        ("demo_2", 5),
        ("demo_3", 5),
        ("demo_4", 5),
    ]
    assert mapping[1]["lerobot_episode"] == 1


def test_offset_zero_keeps_the_initial_state_and_copy_states(pipeline, tmp_path: Path) -> None:
    src, dataset = pipeline
    out = tmp_path / "zero.hdf5"
    l2h.run(
        dataset,
        l2h.LerobotToHdf5Options(
            out=out, template=src, frame_offset=0, mapping={0: 3}, copy_states=True, episodes=[0, 1]
        ),
    )
    with h5py.File(src) as a, h5py.File(out) as b:
        assert list(b["data"].keys()) == ["demo_0", "demo_1"]
        group = b["data/demo_0"]
        np.testing.assert_array_equal(
            group["initial_state/articulation/robot/joint_position"][:],
            a["data/demo_3/initial_state/articulation/robot/joint_position"][:],
        )
        assert group.attrs["seed"] == a["data/demo_3"].attrs["seed"]
        np.testing.assert_array_equal(
            group["states/articulation/robot/joint_position"][:],
            a["data/demo_3/states/articulation/robot/joint_position"][:17],
        )
        assert group["states/rigid_object/orange/root_pose"].shape == (17, 7)


def test_without_provenance_a_mapping_is_needed_and_the_offset_is_detected(pipeline, tmp_path: Path) -> None:
    src, dataset = pipeline
    copy = tmp_path / "no_provenance"
    shutil.copytree(dataset, copy)
    (copy / prov.LEROBOT_FILE).unlink()
    options = l2h.LerobotToHdf5Options(out=tmp_path / "x.hdf5", template=src)
    plan = l2h.plan(copy, options)
    assert not plan.ok and "--map EPISODE=DEMO" in plan.errors[0] and "episodes 0-3" in plan.errors[0]
    assert "by episode index" not in plan.details["mapping_note"]
    with pytest.raises(StudioError, match="no provenance record"):
        l2h.run(copy, options)
    assert not options.out.exists()
    options.mapping = {0: 0, 1: 1, 2: 3, 3: 4}
    plan = l2h.plan(copy, options)
    assert plan.ok and plan.details["mapping_note"] == "matched by the given mapping"
    first = plan.kept[0]
    assert first.extra["demo"] == 0 and first.frame_offset == 5 and first.extra["offset_from"] == "detected"
    # episode 1 mapped to demo_1 (the failed one, not its source): its state does not match, offset 0
    second = plan.kept[1]
    assert second.extra["demo"] == 1 and second.extra["offset_from"] == "default" and second.frame_offset == 0
    assert [e.extra["matched_by"] for e in plan.kept] == ["mapping"] * 4


def _idm_like(dataset: Path, out: Path, names: list[str] | None) -> Path:
    """An IDM output: same layout, zero observation.state, actions rewritten."""
    shutil.copytree(dataset, out)
    (out / prov.LEROBOT_FILE).unlink()
    info = json.loads((out / "meta/info.json").read_text())
    info["features"]["action"]["names"] = names
    (out / "meta/info.json").write_text(json.dumps(info))
    for path in sorted((out / "data").rglob("*.parquet")):
        table = pq.read_table(path)
        state = table.column("observation.state")
        zeros = pa.array([[0.0] * 6] * len(state), type=state.type)
        table = table.set_column(
            table.schema.get_field_index("observation.state"), "observation.state", zeros
        )
        pq.write_table(table, path)
    return out


def test_idm_output_without_joint_names_needs_a_declared_unit(pipeline, tmp_path: Path) -> None:
    src, dataset = pipeline
    idm = _idm_like(dataset, tmp_path / "so101.data_idm", None)
    plan = l2h.plan(idm, l2h.LerobotToHdf5Options(out=tmp_path / "idm.hdf5", template=src))
    assert not plan.ok and "action-unit" in plan.errors[0]
    out = tmp_path / "idm.hdf5"
    options = l2h.LerobotToHdf5Options(out=out, template=src, action_unit="lerobot", frame_offset=5)
    with pytest.raises(StudioError, match="--map EPISODE=DEMO"):  # no record says which demo: never by index
        l2h.run(idm, options)
    options.mapping = {0: 0, 1: 2, 2: 3, 3: 4}
    summary = l2h.run(idm, options)
    assert summary.episodes_written == 4
    with h5py.File(src) as a, h5py.File(out) as b:
        for k, demo in enumerate((0, 2, 3, 4)):
            np.testing.assert_allclose(b[f"data/demo_{k}/actions"][:], a[f"data/demo_{demo}/actions"][5:], atol=4e-7)
            assert b[f"data/demo_{k}"].attrs["rollout_studio_source_demo"] == f"demo_{demo}"
            np.testing.assert_array_equal(
                b[f"data/demo_{k}/initial_state/articulation/robot/joint_position"][:],
                a[f"data/demo_{demo}/states/articulation/robot/joint_position"][4:5],
            )


def test_bad_inputs(pipeline, tmp_path: Path) -> None:
    src, dataset = pipeline
    bi = write_recording(tmp_path / "bi.hdf5", RecordingSpec([DemoSpec(12)], cameras=("top",), bi_arm=True))
    with pytest.raises(StudioError, match="12"):
        l2h.run(dataset, l2h.LerobotToHdf5Options(out=tmp_path / "o.hdf5", template=bi))
    with pytest.raises(StudioError, match="not a LeIsaac HDF5"):
        l2h.run(dataset, l2h.LerobotToHdf5Options(out=tmp_path / "o.hdf5", template=dataset))
    with pytest.raises(StudioError, match="not a LeRobot dataset"):
        l2h.run(src, l2h.LerobotToHdf5Options(out=tmp_path / "o.hdf5", template=src))
    with pytest.raises(StudioError, match="no demo_9|no episode"):
        l2h.run(
            dataset,
            l2h.LerobotToHdf5Options(out=tmp_path / "o.hdf5", template=src, mapping={0: 9}, episodes=[0]),
        )
    plan = l2h.plan(
        dataset, l2h.LerobotToHdf5Options(out=tmp_path / "o.hdf5", template=src, frame_offset=100)
    )
    assert not plan.ok and all("outside" in e.reason for e in plan.skipped)
    assert not (tmp_path / "o.hdf5").exists()


def test_provenance_is_followed_through_a_v3_copy(pipeline, tmp_path: Path) -> None:
    from backend.convert import lerobot_versions as lv

    src, dataset = pipeline
    v3 = tmp_path / "v3"
    lv.run(dataset, lv.LerobotVersionOptions(out=v3, target="v3.0", codec="keep"))
    plan = l2h.plan(v3, l2h.LerobotToHdf5Options(out=tmp_path / "r.hdf5", template=src))
    assert plan.ok and "provenance" in plan.details["mapping_note"]
    assert [(e.extra["demo"], e.frame_offset) for e in plan.kept] == [(0, 5), (2, 5), (3, 5), (4, 5)]
    l2h.run(v3, l2h.LerobotToHdf5Options(out=tmp_path / "r.hdf5", template=src))
    with h5py.File(src) as a, h5py.File(tmp_path / "r.hdf5") as b:
        np.testing.assert_allclose(b["data/demo_3/actions"][:], a["data/demo_4/actions"][5:], atol=4e-7)


def _at_16_fps(dataset: Path, out: Path, keep_provenance: bool) -> tuple[Path, dict[int, np.ndarray]]:
    """The LeRobot dataset as an IDM output at 16 fps: actions a ramp in time (LeRobot units)."""
    shutil.copytree(dataset, out)
    if not keep_provenance:
        (out / prov.LEROBOT_FILE).unlink()
    info = json.loads((out / "meta/info.json").read_text())
    info["fps"] = 16
    (out / "meta/info.json").write_text(json.dumps(info))
    ramps = {}
    for path in sorted((out / "data").rglob("*.parquet")):
        table = pq.read_table(path)
        n = table.num_rows
        t = np.arange(n) / 16.0
        ramp = np.stack([10.0 * j - 20.0 + (5.0 + j) * t for j in range(6)], axis=1).astype(np.float32)
        ramp[:, 5] = 10.0 + 20.0 * t  # gripper 0..100
        ramps[int(table.column("episode_index")[0].as_py())] = ramp
        action = pa.array(ramp.tolist(), type=table.schema.field("action").type)
        table = table.set_column(table.schema.get_field_index("action"), "action", action)
        stamps = pa.array(t.astype(np.float32), type=table.schema.field("timestamp").type)
        table = table.set_column(table.schema.get_field_index("timestamp"), "timestamp", stamps)
        pq.write_table(table, path)
    return out, ramps


def test_16_fps_actions_are_resampled_to_the_templates_rate(pipeline, tmp_path: Path) -> None:
    from backend.units import JointSpace, Unit, lerobot_joint_names

    src, dataset = pipeline
    idm, ramps = _at_16_fps(dataset, tmp_path / "idm16", keep_provenance=True)
    out = tmp_path / "replay.hdf5"
    plan = l2h.plan(idm, l2h.LerobotToHdf5Options(out=out, template=src))
    assert plan.ok, plan.errors
    assert plan.details["replay_fps"] == 30.0 and plan.details["replay_fps_from"] == "provenance"
    assert any("resampled to 30 fps" in w for w in plan.warnings)
    lengths = [int(np.floor((n - 1) * 30 / 16 + 1e-9)) + 1 for n in (17, 21, 25, 13)]
    assert [e.frames_out for e in plan.kept] == lengths
    summary = l2h.run(idm, l2h.LerobotToHdf5Options(out=out, template=src))
    assert summary.frames_written == sum(lengths)
    names = lerobot_joint_names(
        ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper")
    )
    space = JointSpace(tuple(names), Unit.LEROBOT_RANGE)
    record = prov.read_provenance(out)
    with h5py.File(out) as f:
        for k, length in enumerate(lengths):
            t = np.arange(length) / 30.0
            ramp = ramps[k]
            expected_lerobot = np.stack(
                [np.interp(t, np.arange(len(ramp)) / 16.0, ramp[:, j]) for j in range(6)], axis=1
            )
            expected = space.convert(expected_lerobot, Unit.RADIANS)
            got = f[f"data/demo_{k}/actions"][:]
            assert got.shape == (length, 6)
            np.testing.assert_allclose(got, expected, atol=2e-6)
            assert f[f"data/demo_{k}"].attrs["num_samples"] == length
    entry = record["episodes"][0]
    assert entry["resampled_from_fps"] == 16.0 and entry["fps"] == 30.0


def test_replay_rate_option_and_unknown_rate(pipeline, tmp_path: Path) -> None:
    src, dataset = pipeline
    idm, _ = _at_16_fps(dataset, tmp_path / "idm16", keep_provenance=False)
    options = l2h.LerobotToHdf5Options(
        out=tmp_path / "a.hdf5", template=src, frame_offset=5, mapping={0: 0, 1: 2, 2: 3, 3: 4}
    )
    plan = l2h.plan(idm, options)
    assert plan.details["replay_fps"] == 16.0 and plan.details["replay_fps_from"] == "dataset"
    assert any("template's rate is unknown" in w for w in plan.warnings)
    assert [e.frames_out for e in plan.kept] == [17, 21, 25, 13]  # not resampled
    options.replay_fps = 60.0
    plan = l2h.plan(idm, options)
    assert plan.details["replay_fps"] == 60.0 and plan.details["replay_fps_from"] == "option"
    summary = l2h.run(idm, options)
    with h5py.File(options.out) as f:
        n0 = int(np.floor(16 * 60 / 16 + 1e-9)) + 1  # episode 0: 17 frames at 16 fps span 1 s
        assert f["data/demo_0/actions"].shape[0] == n0
    assert summary.frames_written > sum([17, 21, 25, 13])


def test_resample_keeps_the_first_frame_and_the_span() -> None:
    values = np.array([[0.0, 1.0], [1.6, 2.0], [3.2, 3.0]], dtype=np.float32)  # 16 fps, 0.125 s
    out = l2h.resample(values, 16.0, 32.0)
    np.testing.assert_allclose(out, [[0, 1], [0.8, 1.5], [1.6, 2.0], [2.4, 2.5], [3.2, 3.0]], atol=1e-6)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(l2h.resample(values, 30.0, 30.0), values)
    assert l2h.resample(values, 16.0, 8.0).shape == (2, 2)


def test_conversion_fps_follows_records_that_do_not_map_episodes(tmp_path: Path) -> None:
    template = tmp_path / "teleop.hdf5"
    h2l_record = {
        "conversion": "hdf5_to_lerobot",
        "options": {"fps": 25.0},
        "inputs": [{"path": str(template), "role": "source"}],
    }
    idm_record = {  # Cosmos -> IDM prepare: inputs chain back, no episode mapping to the HDF5
        "conversion": "idm_prepare",
        "options": {},
        "inputs": [
            {
                "path": "/x/cosmos_out",
                "provenance": {
                    "conversion": "cosmos_trainset",
                    "options": {},
                    "inputs": [{"path": "/x/lerobot", "provenance": h2l_record}],
                },
            }
        ],
    }
    assert l2h.conversion_fps(idm_record, template) == 25.0
    assert l2h.conversion_fps(idm_record, tmp_path / "elsewhere" / "teleop.hdf5") == 25.0  # moved file
    assert l2h.conversion_fps(idm_record, tmp_path / "other.hdf5") is None
    assert l2h.conversion_fps(None, template) is None
