"""Each fault injector (tests/fault_injection.py) injects exactly its fault into a copy, and the
original stays byte for byte as it was. Small real datasets: LeRobot v3.0 / v2.1 written by the
studio's writer (two 64x48 H.264 cameras), a LeIsaac HDF5 recording and Cosmos stand-in clips."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import fault_injection as fi
import h5py
import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cosmos_data import StandinSample, write_small_lerobot, write_standin_outputs
from tests.recordings import DemoSpec, RecordingSpec, write_recording

LENGTHS = [12, 16, 14]
FRONT, WRIST = "observation.images.front", "observation.images.wrist"


def digest(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (or of ``root`` itself), by relative path."""
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    return {
        str(p.relative_to(root) if p != root else p.name): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in files
    }


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bases")
    found = {}
    for fmt in ("lerobot_v3.0", "lerobot_v2.1"):
        found[fmt] = write_small_lerobot(root / fmt, LENGTHS, fmt=fmt, cameras=("front", "wrist"))
    found["hdf5"] = write_recording(
        root / "rec.hdf5", RecordingSpec([DemoSpec(20), DemoSpec(24), DemoSpec(22)])
    )
    found["cosmos"] = write_standin_outputs(
        found["lerobot_v3.0"],
        root / "cosmos",
        [StandinSample(f"sample_{i}", i, 20, prompt="Pick up the orange.") for i in range(3)],
    )
    return found


@pytest.fixture
def copy(bases: dict[str, Path], tmp_path: Path):
    """copy(kind) -> (copy, original); checks at teardown that no original changed."""
    before = {kind: digest(path) for kind, path in bases.items()}

    def make(kind: str) -> tuple[Path, Path]:
        return fi.copy_dataset(bases[kind], tmp_path / f"copy-{kind}{bases[kind].suffix}"), bases[kind]

    yield make
    assert {kind: digest(path) for kind, path in bases.items()} == before


def vectors(root: Path, key: str) -> tuple[np.ndarray, np.ndarray]:
    values, episodes = zip(*(fi.read_vectors(p, key) for p in fi.data_files(root)), strict=True)
    return np.concatenate(values), np.concatenate(episodes)


def column(root: Path, key: str) -> np.ndarray:
    return np.concatenate(
        [pq.read_table(p, columns=[key]).column(key).to_numpy() for p in fi.data_files(root)]
    )


def video_pts(path: Path) -> list[int]:
    import av

    with av.open(str(path)) as container:
        return [int(f.pts) for f in container.decode(container.streams.video[0])]


VERSIONS = ["lerobot_v3.0", "lerobot_v2.1"]


# -- LeRobot --------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", VERSIONS)
def test_identical_cameras_copies_front_over_wrist(copy, fmt):
    root, original = copy(fmt)
    fault = fi.lerobot_identical_cameras(root)
    assert (fault.details["source"], fault.details["target"]) == (FRONT, WRIST)
    front, wrist = fi.video_files(root, FRONT), fi.video_files(root, WRIST)
    assert len(wrist) == (1 if fmt == "lerobot_v3.0" else 3)
    for f, w, w0 in zip(front, wrist, fi.video_files(original, WRIST), strict=True):
        got, want = fi.decode_rgb(w), fi.decode_rgb(f)
        assert len(got) == len(want) and all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))
        assert not np.array_equal(got[0], fi.decode_rgb(w0)[0])  # the wrist camera did differ


@pytest.mark.parametrize("fmt", VERSIONS)
def test_frozen_camera_every_frame_equals_the_first(copy, fmt):
    root, original = copy(fmt)
    fi.lerobot_frozen_camera(root)
    for path, source in zip(fi.video_files(root, FRONT), fi.video_files(original, FRONT), strict=True):
        frames, before = fi.decode_rgb(path), fi.decode_rgb(source)
        assert len(frames) == len(before) > 10
        assert all(np.array_equal(frame, before[0]) for frame in frames)  # lossless: exactly the first
        assert not np.array_equal(before[0], before[-1])
        assert video_pts(path) == video_pts(source)  # same times
    assert digest(root / "videos") != digest(original / "videos")
    for wrist, wrist0 in zip(fi.video_files(root, WRIST), fi.video_files(original, WRIST), strict=True):
        assert wrist.read_bytes() == wrist0.read_bytes()


@pytest.mark.parametrize("fmt", VERSIONS)
def test_fps_doubled_only_in_info(copy, fmt):
    root, original = copy(fmt)
    fi.lerobot_fps_doubled(root)
    info, before = fi.read_info(root), fi.read_info(original)
    assert (before["fps"], info["fps"]) == (30, 60)
    assert {k: v for k, v in info.items() if k != "fps"} == {k: v for k, v in before.items() if k != "fps"}
    assert digest(root / "data") == digest(original / "data")


@pytest.mark.parametrize("fmt", VERSIONS)
def test_nan_action_is_one_value(copy, fmt):
    root, original = copy(fmt)
    fault = fi.lerobot_nan_action(root)
    assert fault.details["episode"] == 2 and fault.details["frame"] == LENGTHS[2] // 2
    got, episodes = vectors(root, "action")
    want, _ = vectors(original, "action")
    nan = np.argwhere(np.isnan(got))
    row = sum(LENGTHS[:2]) + LENGTHS[2] // 2
    assert nan.tolist() == [[row, 2]]
    assert episodes[row] == 2
    assert math.isclose(fault.details["before"], want[row, 2])
    mask = ~np.isnan(got)
    assert np.array_equal(got[mask], want[mask])
    assert np.array_equal(vectors(root, "observation.state")[0], vectors(original, "observation.state")[0])


@pytest.mark.parametrize("fmt", VERSIONS)
def test_action_spike_is_plus_90_on_one_joint_for_one_frame(copy, fmt):
    root, original = copy(fmt)
    fault = fi.lerobot_action_spike(root)
    got, _ = vectors(root, "action")
    want, _ = vectors(original, "action")
    diff = got - want
    changed = np.argwhere(diff != 0)
    assert changed.tolist() == [[sum(LENGTHS[:2]) + LENGTHS[2] // 2, 1]]
    assert diff[tuple(changed[0])] == pytest.approx(90.0, abs=1e-4)
    assert fault.details["after"] == pytest.approx(fault.details["before"] + 90, abs=1e-4)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(episode=st.integers(0, 2), frac=st.floats(0, 0.999), joint=st.integers(0, 5))
def test_one_value_faults_hit_exactly_the_chosen_cell(bases, tmp_path_factory, episode, frac, joint):
    root = fi.copy_dataset(bases["lerobot_v2.1"], tmp_path_factory.mktemp("h") / "copy")
    frame = int(frac * LENGTHS[episode])
    fi.lerobot_action_spike(root, episode=episode, frame=frame, joint=joint, spike=-90)
    got, episodes = vectors(root, "action")
    want, _ = vectors(bases["lerobot_v2.1"], "action")
    row = sum(LENGTHS[:episode]) + frame
    assert np.argwhere(got != want).tolist() == [[row, joint]]
    assert episodes[row] == episode
    assert got[row, joint] == pytest.approx(want[row, joint] - 90, abs=1e-4)


@pytest.mark.parametrize("fmt", VERSIONS)
def test_idle_episode_rows_constant(copy, fmt):
    root, original = copy(fmt)
    fi.lerobot_idle_episode(root)
    for key in ("action", "observation.state"):
        got, episodes = vectors(root, key)
        want, _ = vectors(original, key)
        rows = episodes == 2
        assert np.array_equal(got[rows], np.broadcast_to(want[rows][0], got[rows].shape))
        assert np.ptp(want[rows], axis=0).min() > 1  # it moved before
        assert np.array_equal(got[~rows], want[~rows])


@pytest.mark.parametrize("fmt", VERSIONS)
def test_stats_10x(copy, fmt):
    root, original = copy(fmt)
    fi.lerobot_stats_10x(root)
    got = json.loads((root / "meta/stats.json").read_text())
    want = json.loads((original / "meta/stats.json").read_text())
    assert got.keys() == want.keys()
    for key in want:
        for stat, value in want[key].items():
            expected = np.asarray(value, float) * (10 if key in fi.VECTOR_KEYS and stat != "count" else 1)
            assert np.allclose(got[key][stat], expected), (key, stat)
    assert np.allclose(got["action"]["max"], np.asarray(want["action"]["max"]) * 10)


@pytest.mark.parametrize("fmt", VERSIONS)
def test_index_gap_skips_one_frame_index(copy, fmt):
    root, original = copy(fmt)
    fi.lerobot_index_gap(root)
    got, want = column(root, "frame_index"), column(original, "frame_index")
    episodes = column(root, "episode_index")
    last = episodes == 2
    n = LENGTHS[2]
    assert sorted(set(range(n + 1)) - set(got[last].tolist())) == [n // 2]
    assert got[last].tolist() == list(range(n // 2)) + list(range(n // 2 + 1, n + 1))
    assert np.array_equal(got[~last], want[~last])
    for key in ("index", "timestamp", "episode_index"):
        assert np.array_equal(column(root, key), column(original, key))


@pytest.mark.parametrize("fmt", VERSIONS)
def test_short_video_drops_the_last_frames_of_the_last_episode(copy, fmt):
    root, original = copy(fmt)
    fault = fi.lerobot_short_video(root)
    path = fi.video_files(root, FRONT)[-1]
    source = fi.video_files(original, FRONT)[-1]
    frames, before = fi.decode_rgb(path), fi.decode_rgb(source)
    assert len(frames) == len(before) - fi.SHORT_BY
    assert len(before) == (sum(LENGTHS) if fmt == "lerobot_v3.0" else LENGTHS[2])
    assert (fault.details["frames_before"], fault.details["frames_after"]) == (len(before), len(frames))
    assert video_pts(path) == video_pts(source)[: -fi.SHORT_BY]
    # the frames kept are the same pictures (re-encoded: close, not bit-exact)
    assert max(np.abs(a.astype(int) - b).mean() for a, b in zip(frames, before, strict=False)) < 4
    assert digest(root / "data") == digest(original / "data") and digest(root / "meta") == digest(
        original / "meta"
    )


def test_injectors_refuse_the_shared_data(shared_data):
    dataset = shared_data / "lerobot061_so101_v30_h264"
    for name, injector in fi.LEROBOT_INJECTORS.items():
        with pytest.raises(ValueError, match="shared"):
            injector(dataset)
        assert name


def test_copy_refuses_overlap_and_existing(bases, tmp_path):
    with pytest.raises(ValueError):
        fi.copy_dataset(bases["lerobot_v3.0"], bases["lerobot_v3.0"] / "inside")
    (tmp_path / "taken").mkdir()
    with pytest.raises(FileExistsError):
        fi.copy_dataset(bases["lerobot_v3.0"], tmp_path / "taken")


def test_real_lerobot_dataset_one_row_fault_and_one_video_fault(shared_data, tmp_path):
    root = fi.copy_dataset(shared_data / "lerobot061_so101_v30_h264", tmp_path / "real")
    fault = fi.lerobot_nan_action(root)
    got, episodes = vectors(root, "action")
    assert np.argwhere(np.isnan(got)).tolist() == [[90, 2]] and episodes[90] == 1
    fi.lerobot_identical_cameras(root)
    assert fi.video_files(root, WRIST)[0].read_bytes() == fi.video_files(root, FRONT)[0].read_bytes()
    assert fault.to_dict()["files"] == [
        "data/chunk-000/file-000.parquet",
        "meta/stats.json",
        "meta/episodes/chunk-000/file-000.parquet",
    ]
    assert np.isnan(json.loads((root / "meta/stats.json").read_text())["action"]["mean"][2])


# -- LeIsaac HDF5 ---------------------------------------------------------------------------------


def read_h5(path: Path, name: str) -> np.ndarray:
    with h5py.File(path, "r") as f:
        return f[name][...]


def test_hdf5_identical_and_frozen_cameras(copy):
    path, original = copy("hdf5")
    fi.hdf5_identical_cameras(path)
    for demo in ("demo_0", "demo_2"):
        assert np.array_equal(
            read_h5(path, f"data/{demo}/obs/wrist"), read_h5(original, f"data/{demo}/obs/front")
        )
        assert not np.array_equal(
            read_h5(original, f"data/{demo}/obs/wrist"), read_h5(original, f"data/{demo}/obs/front")
        )
    path2 = fi.copy_dataset(original, path.with_name("frozen.hdf5"))
    fi.hdf5_frozen_camera(path2)
    frames = read_h5(path2, "data/demo_1/obs/front")
    before = read_h5(original, "data/demo_1/obs/front")
    assert frames.shape == before.shape and (frames == before[0]).all() and not (before == before[0]).all()
    assert np.array_equal(read_h5(path2, "data/demo_1/obs/wrist"), read_h5(original, "data/demo_1/obs/wrist"))


def test_hdf5_nan_and_spike(copy):
    path, original = copy("hdf5")
    fi.hdf5_nan_action(path)
    got, want = read_h5(path, "data/demo_2/actions"), read_h5(original, "data/demo_2/actions")
    assert np.argwhere(np.isnan(got)).tolist() == [[11, 2]]
    assert np.array_equal(got[~np.isnan(got)], want[~np.isnan(got)])
    assert np.array_equal(read_h5(path, "data/demo_2/processed_actions"), want)
    fi.hdf5_action_spike(path, demo="demo_1", frame=3, joint=4)
    diff = read_h5(path, "data/demo_1/actions") - read_h5(original, "data/demo_1/actions")
    assert np.argwhere(diff != 0).tolist() == [[3, 4]]
    assert diff[3, 4] == pytest.approx(math.pi / 2, abs=1e-6)  # +90 degrees in the file's radians


def test_hdf5_idle_episode(copy):
    path, original = copy("hdf5")
    fault = fi.hdf5_idle_episode(path)
    assert {
        "actions",
        "processed_actions",
        "obs/joint_pos",
        "states/articulation/robot/joint_position",
        "obs/joint_vel",
    } <= set(fault.details["datasets"])
    for name in ("actions", "obs/joint_pos", "states/articulation/robot/joint_position"):
        got, want = read_h5(path, f"data/demo_2/{name}"), read_h5(original, f"data/demo_2/{name}")
        assert (got == want[0]).all() and np.ptp(want, axis=0).max() > 0.01, name
    assert (read_h5(path, "data/demo_2/obs/joint_vel") == 0).all()
    assert np.array_equal(read_h5(path, "data/demo_1/actions"), read_h5(original, "data/demo_1/actions"))
    assert np.array_equal(
        read_h5(path, "data/demo_2/initial_state/articulation/robot/joint_position"),
        read_h5(original, "data/demo_2/initial_state/articulation/robot/joint_position"),
    )


def test_hdf5_index_gap_and_short_video(copy):
    path, original = copy("hdf5")
    fi.hdf5_index_gap(path)
    with h5py.File(path, "r") as f:
        assert sorted(f["data"]) == ["demo_0", "demo_1", "demo_4"]
        assert np.array_equal(f["data/demo_4/actions"][...], read_h5(original, "data/demo_2/actions"))
    fault = fi.hdf5_short_video(path, demo="demo_1")
    assert read_h5(path, "data/demo_1/obs/front").shape[0] == 24 - fi.SHORT_BY
    assert np.array_equal(
        read_h5(path, "data/demo_1/obs/front"), read_h5(original, "data/demo_1/obs/front")[:-5]
    )
    assert read_h5(path, "data/demo_1/actions").shape[0] == 24
    assert fault.details["frames_after"] == 19


def test_hdf5_short_video_of_a_fixed_size_dataset(tmp_path):
    path = tmp_path / "fixed.hdf5"
    images = (np.arange(10 * 4 * 4 * 3) % 251).astype(np.uint8).reshape(10, 4, 4, 3)
    with h5py.File(path, "w") as f:
        f.create_dataset("data/demo_0/actions", data=np.zeros((10, 6), np.float32))
        cam = f.create_dataset("data/demo_0/obs/front", data=images, chunks=(5, 4, 4, 3), compression="lzf")
        cam.attrs["note"] = "kept"
    fi.hdf5_short_video(path, drop=3)
    with h5py.File(path, "r") as f:
        cam = f["data/demo_0/obs/front"]
        assert cam.shape == (7, 4, 4, 3) and cam.compression == "lzf" and cam.attrs["note"] == "kept"
        assert cam.maxshape[0] == 7 and np.array_equal(cam[...], images[:7])


# -- Cosmos outputs -------------------------------------------------------------------------------


def test_cosmos_faults(copy, tmp_path):
    root, original = copy("cosmos")
    fi.cosmos_identical_cameras(root)
    assert (root / "sample_1.mp4").read_bytes() == (original / "sample_0.mp4").read_bytes()
    frozen = fi.copy_dataset(original, tmp_path / "frozen")
    fi.cosmos_frozen_camera(frozen)
    frames = fi.decode_rgb(frozen / "sample_2.mp4")
    assert len(frames) == 20 and all(np.array_equal(f, frames[0]) for f in frames)
    fast = fi.copy_dataset(original, tmp_path / "fast")
    fi.cosmos_fps_doubled(fast)
    assert (fi.video_rate(original / "sample_2.mp4"), fi.video_rate(fast / "sample_2.mp4")) == (16, 32)
    assert len(fi.decode_rgb(fast / "sample_2.mp4")) == 20
    short = fi.copy_dataset(original, tmp_path / "short")
    fi.cosmos_short_video(short)
    assert len(fi.decode_rgb(short / "sample_2.mp4")) == 20 - fi.SHORT_BY
    assert json.loads((short / "sample_2.json").read_text())["num_output_frames"] == 20


def test_inject_dispatch_and_not_applicable(copy):
    root, _ = copy("lerobot_v3.0")
    assert fi.inject("lerobot", "fps_doubled", root).details == {"before": 30, "after": 60}
    with pytest.raises(ValueError, match="does not apply"):
        fi.inject("hdf5", "stats_10x", root)
    assert set(fi.HDF5_FAULTS) == set(fi.HDF5_INJECTORS) and set(fi.COSMOS_FAULTS) == set(fi.COSMOS_INJECTORS)
    assert set(fi.LEROBOT_FAULTS) == set(fi.LEROBOT_INJECTORS) and len(fi.LEROBOT_FAULTS) == 9


# -- stats kept consistent with the faulty data -----------------------------------------------------


def stored_episode_stats(root: Path, episode: int, key: str) -> dict[str, list]:
    jsonl = root / "meta" / "episodes_stats.jsonl"
    if jsonl.is_file():
        rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
        return next(r["stats"][key] for r in rows if r["episode_index"] == episode)
    row = next(r for r in fi.episodes(root) if r["episode_index"] == episode)
    return {k.split("/")[2]: v for k, v in row.items() if k.startswith(f"stats/{key}/")}


@pytest.mark.parametrize("fmt", VERSIONS)
def test_spike_recomputes_the_stats_it_changes(copy, fmt):
    root, original = copy(fmt)
    fault = fi.lerobot_action_spike(root)
    assert fault.details["stats"] == "recomputed"
    values, episodes = vectors(root, "action")
    stats = json.loads((root / "meta/stats.json").read_text())["action"]
    assert np.allclose(stats["max"], values.max(0)) and np.allclose(stats["min"], values.min(0))
    assert np.allclose(stats["mean"], values.mean(0), atol=1e-5) and np.allclose(stats["std"], values.std(0))
    assert stats["count"] == [sum(LENGTHS)]
    before = json.loads((original / "meta/stats.json").read_text())["action"]
    assert stats["max"][1] > before["max"][1] + 1  # the spike shows in the stats now
    last = stored_episode_stats(root, 2, "action")
    assert np.allclose(last["max"], values[episodes == 2].max(0))
    assert stored_episode_stats(root, 0, "action") == stored_episode_stats(original, 0, "action")
    assert (
        json.loads((root / "meta/stats.json").read_text())["observation.state"]
        == json.loads((original / "meta/stats.json").read_text())["observation.state"]
    )


@pytest.mark.parametrize("fmt", VERSIONS)
def test_idle_episode_stats_show_no_motion(copy, fmt):
    root, _ = copy(fmt)
    fi.lerobot_idle_episode(root)
    for key in ("action", "observation.state"):
        last = stored_episode_stats(root, 2, key)
        assert np.allclose(last["std"], 0) and np.allclose(last["min"], last["max"]), key


def test_restat_false_keeps_the_stats_stale(copy):
    root, original = copy("lerobot_v3.0")
    fault = fi.lerobot_action_spike(root, restat=False)
    assert fault.details["stats"] == "stale"
    assert digest(root / "meta") == digest(original / "meta")


def test_restat_reproduces_lerobots_own_stats(shared_data, tmp_path):
    """On data LeRobot 0.6.1 wrote, recomputing leaves min/max/mean/std/count as LeRobot stored them."""
    import fault_stats

    root = fi.copy_dataset(shared_data / "lerobot061_so101_v30_h264", tmp_path / "real")
    before = json.loads((root / "meta/stats.json").read_text())
    episode_before = stored_episode_stats(root, 1, "action")
    fault_stats.restat(root, ["action", "frame_index"], [1], fi.data_files(root))
    after = json.loads((root / "meta/stats.json").read_text())
    for key in ("action", "frame_index"):
        for stat in ("min", "max", "mean", "std", "count"):
            assert np.allclose(after[key][stat], before[key][stat], rtol=1e-5, atol=1e-4), (key, stat)
        assert np.allclose(after[key]["q50"], before[key]["q50"], atol=2.0)  # LeRobot's are approximate
    episode_after = stored_episode_stats(root, 1, "action")
    for stat in ("min", "max", "mean", "std", "count"):
        assert np.allclose(episode_after[stat], episode_before[stat], rtol=1e-5, atol=1e-4), stat
