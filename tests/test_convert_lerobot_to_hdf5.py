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

from backend.convert import hdf5_to_lerobot as h2l
from backend.convert import lerobot_to_hdf5 as l2h
from backend.convert import provenance as prov
from backend.convert.testdata import DemoSpec, RecordingSpec, write_recording
from backend.errors import StudioError
from backend.formats import validate_path


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


def test_offset_is_detected_without_provenance(pipeline, tmp_path: Path) -> None:
    src, dataset = pipeline
    copy = tmp_path / "no_provenance"
    shutil.copytree(dataset, copy)
    (copy / prov.LEROBOT_FILE).unlink()
    plan = l2h.plan(copy, l2h.LerobotToHdf5Options(out=tmp_path / "x.hdf5", template=src))
    assert "by episode index" in plan.details["mapping_note"]
    first = plan.kept[0]
    assert first.extra["demo"] == 0 and first.frame_offset == 5 and first.extra["offset_from"] == "detected"
    # episode 1 is matched to demo_1 by index (the failed one): its state does not match, offset 0
    second = plan.kept[1]
    assert second.extra["demo"] == 1 and second.extra["offset_from"] == "default" and second.frame_offset == 0


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
    summary = l2h.run(
        idm, l2h.LerobotToHdf5Options(out=out, template=src, action_unit="lerobot", frame_offset=5)
    )
    assert summary.episodes_written == 4  # by index: episode k -> demo_k
    with h5py.File(src) as a, h5py.File(out) as b:
        # by index: episode 1 -> demo_1 (the failed demo), whose actions differ from episode 1's
        np.testing.assert_allclose(b["data/demo_0/actions"][:], a["data/demo_0/actions"][5:], atol=4e-7)
        assert b["data/demo_1"].attrs["rollout_studio_source_demo"] == "demo_1"
        np.testing.assert_array_equal(
            b["data/demo_1/initial_state/articulation/robot/joint_position"][:],
            a["data/demo_1/states/articulation/robot/joint_position"][4:5],
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
