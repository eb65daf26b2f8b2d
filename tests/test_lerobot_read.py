"""LeRobot readers and validation on the real datasets (LeRobot 0.6.1 v3.0, GR00T PickNPlace v2.0)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import av
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from backend.errors import FormatError, UnknownFormatError
from backend.formats import detect_format, lerobot, open_dataset, validate_path
from backend.formats.base import CameraSpec, WriterSpec
from backend.model import DatasetFormat, Feature, FeatureKind
from backend.units import Unit

SO_NAMES = [
    f"{j}.pos" for j in ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper")
]


@pytest.fixture(scope="module")
def v30(shared_data: Path) -> Path:
    return shared_data / "lerobot061_so101_v30_h264"


@pytest.fixture(scope="module")
def pnp(shared_data: Path) -> Path:
    return shared_data / "gr00t_dreams_robot_sim.PickNPlace"


def decode_all(path: Path) -> dict[int, np.ndarray]:
    """Every frame of an mp4 by PyAV, keyed by its presentation time in microseconds."""
    frames = {}
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            frames[round(float(frame.pts * stream.time_base) * 1e6)] = frame.to_ndarray(format="rgb24")
    return frames


# -- detection ----------------------------------------------------------------------------------------
def test_detect_versions(v30: Path, pnp: Path, tmp_path: Path) -> None:
    assert lerobot.detect(v30) is DatasetFormat.LEROBOT_V30
    assert lerobot.detect(pnp) is DatasetFormat.LEROBOT_V20
    assert detect_format(v30)[0] is DatasetFormat.LEROBOT_V30
    assert lerobot.detect(tmp_path) is None
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "info.json").write_text(json.dumps({"codebase_version": "v2.1"}))
    assert lerobot.detect(tmp_path) is DatasetFormat.LEROBOT_V21


# -- the LeRobot 0.6.1 v3.0 dataset -------------------------------------------------------------------
def test_v30_metadata(v30: Path) -> None:
    with lerobot.open(v30) as ds:
        assert ds.format is DatasetFormat.LEROBOT_V30
        assert ds.fps == 30.0 and ds.robot_type == "so101_follower"
        assert [e.index for e in ds.episodes] == [0, 1] and [e.length for e in ds.episodes] == [60, 60]
        assert ds.tasks == ["Pick up the orange and place it on the plate.", "Lift the red cube up."]
        assert [e.task for e in ds.episodes] == ds.tasks
        assert ds.roles == {"action": "action", "state": "observation.state"}
        assert ds.cameras == {"front": "observation.images.front", "wrist": "observation.images.wrist"}
        space = ds.joint_space("action")
        assert space is not None and list(space.names) == SO_NAMES and space.unit is Unit.LEROBOT_RANGE
        front = ds.camera_info("front")
        assert (front.codec, front.width, front.height, front.fps) == ("h264", 640, 480, 30.0)
        assert ds.features["timestamp"].kind is FeatureKind.SCALAR


def test_v30_arrays_equal_pyarrow(v30: Path) -> None:
    table = pq.read_table(v30 / "data/chunk-000/file-000.parquet")
    with lerobot.open(v30) as ds:
        for episode in ds.episodes:
            rows = table.filter(pa.compute.equal(table["episode_index"], episode.index))
            for key in ("action", "observation.state"):
                expected = np.array(rows[key].to_pylist(), dtype=np.float32)
                got = episode.array(key)
                assert got.dtype == np.float32 and np.array_equal(got, expected)
            assert np.array_equal(episode.array("timestamp"), rows["timestamp"].to_numpy())
            assert np.array_equal(episode.array("index"), np.arange(60) + 60 * episode.index)
            np.testing.assert_allclose(episode.timestamps(), np.arange(60) / 30.0)
            joints = episode.joints("state")
            assert joints.values.shape == (60, 6) and joints.unit is Unit.LEROBOT_RANGE


def test_v30_frames_are_frame_exact(v30: Path) -> None:
    """Every frame equals PyAV's own decode at from_timestamp + i/fps, and shows the documented level."""
    episodes = pq.read_table(v30 / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
    with lerobot.open(v30) as ds:
        for camera, extra in (("front", 0), ("wrist", 1)):
            key = f"observation.images.{camera}"
            direct = decode_all(v30 / f"videos/{key}/chunk-000/file-000.mp4")
            for episode in ds.episodes:
                start = episodes[episode.index][f"videos/{key}/from_timestamp"]
                stream = episode.stream(camera)
                assert stream.num_frames == 60 and (stream.width, stream.height) == (640, 480)
                for t in range(60):
                    frame = stream.frame(t)
                    assert np.array_equal(frame, direct[round((start + t / 30.0) * 1e6)])
                    # static noise (0..39, median 19) + gray level (20 + 7t + 2e (+1 wrist)) % 200
                    level = (20 + 7 * t + 2 * episode.index + extra) % 200
                    assert abs(float(np.median(frame[20:, 200:, 1])) - 19 - level) <= 2, (
                        camera,
                        episode.index,
                        t,
                    )
                stream.close()


def test_v30_random_access_order_does_not_matter(v30: Path) -> None:
    with lerobot.open(v30) as ds:
        stream = ds.episodes[1].stream("front")
        forward = [stream.frame(i) for i in range(60)]
        for i in np.random.default_rng(3).permutation(60):
            assert np.array_equal(stream.frame(int(i)), forward[int(i)])
        stream.close()


def test_v30_validates_clean(v30: Path) -> None:
    problems = lerobot.validate(v30)
    assert problems == [], [p.line() for p in problems]
    assert validate_path(v30) == []


# -- GR00T PickNPlace (v2.0 flavour) ------------------------------------------------------------------
def test_picknplace_values_equal_pyarrow(pnp: Path) -> None:
    with open_dataset(pnp) as ds:
        assert ds.format is DatasetFormat.LEROBOT_V20
        assert ds.fps == 20.0 and ds.num_episodes == 5 and ds.num_frames == 2096
        for episode in ds.episodes:
            table = pq.read_table(pnp / f"data/chunk-000/episode_{episode.index:06d}.parquet")
            for key, feature in ds.features.items():
                if feature.kind is FeatureKind.VECTOR:
                    expected = np.array(table[key].to_pylist(), dtype=np.float64)
                    assert episode.array(key).dtype == np.float64
                    assert np.array_equal(episode.array(key), expected)
                elif feature.kind is FeatureKind.SCALAR:
                    assert np.array_equal(episode.array(key), table[key].to_numpy()), key
            # the parquet's own timestamps stay readable ((i+1)/20); the model's are frame_index / fps
            np.testing.assert_allclose(
                episode.array("timestamp"), (np.arange(episode.length) + 1) / 20, atol=1e-4
            )
            np.testing.assert_allclose(episode.timestamps(), np.arange(episode.length) / 20)
            assert "frame_index" not in ds.features  # GR00T's demo data has no such column
        assert ds.episodes[1].extra["tasks"] == [
            "pick the sweet potato from the counter and place it in the plate",
            "valid",
        ]


def test_picknplace_phantom_feature_and_units(pnp: Path) -> None:
    with lerobot.open(pnp) as ds:
        assert ds.features["observation.images.egoview"].has_files is False
        assert ds.features["observation.images.ego_view"].has_files is True
        assert ds.cameras == {"ego_view": "observation.images.ego_view"}
        space = ds.joint_space("action")
        assert space.unit is Unit.OTHER and space.width == 44 and space.names[0] == "motor_0"
        with pytest.raises(KeyError):
            ds.episodes[0].stream("egoview")


def test_picknplace_frames_equal_direct_decode(pnp: Path) -> None:
    path = pnp / "videos/chunk-000/observation.images.ego_view/episode_000003.mp4"
    direct = decode_all(path)
    ordered = [direct[k] for k in sorted(direct)]
    with lerobot.open(pnp) as ds:
        stream = ds.episodes[3].stream("ego_view")
        assert stream.num_frames == 412 == len(ordered)
        for i in (411, 0, 1, 249, 250, 251, 100, 5, 410):
            assert np.array_equal(stream.frame(i), ordered[i]), i
        stream.close()


def test_picknplace_validation_reports_quirks(pnp: Path) -> None:
    problems = lerobot.validate(pnp)
    # the two quirks LeRobot's own loader trips over are errors (validate exits 1), the rest warnings
    errors = sorted(p.problem.split(" ")[0] for p in problems if p.severity == "error")
    assert errors == ["feature", "timestamps"]
    text = "\n".join(p.line() for p in problems)
    assert "total_chunks is 0" in text
    assert "(frame_index + 1) / fps" in text and "episodes 0, 1, 2, 3, 4" in text
    assert "'observation.images.egoview' is listed as a video but has no video files" in text
    assert "no frame_index column" in text


# -- broken inputs ------------------------------------------------------------------------------------
def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    for path in dst.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return dst


def test_missing_info_and_unknown_folder(tmp_path: Path, pnp: Path) -> None:
    with pytest.raises(FormatError) as error:
        lerobot.open(tmp_path)
    assert "info.json" in str(error.value)
    with pytest.raises(UnknownFormatError):
        open_dataset(tmp_path)
    broken = _copy(pnp, tmp_path / "pnp")
    (broken / "meta/info.json").unlink()
    assert lerobot.detect(broken) is DatasetFormat.LEROBOT_V21  # claimed, so the error names the file
    with pytest.raises(FormatError) as error:
        open_dataset(broken)
    assert error.value.path.endswith("meta/info.json")
    assert any(p.file.endswith("meta/info.json") for p in lerobot.validate(broken))


def test_truncated_parquet_names_the_file(tmp_path: Path, pnp: Path) -> None:
    broken = _copy(pnp, tmp_path / "pnp")
    target = broken / "data/chunk-000/episode_000002.parquet"
    target.write_bytes(target.read_bytes()[:5000])
    with lerobot.open(broken) as ds:
        ds.episodes[1].array("action")  # other episodes still read
        with pytest.raises(FormatError) as error:
            ds.episodes[2].array("action")
    assert error.value.path == str(target)
    errors = [p for p in lerobot.validate(broken) if p.severity == "error"]
    assert any(p.file == str(target) for p in errors)


def test_corrupt_mp4_names_the_file(tmp_path: Path, v30: Path) -> None:
    broken = _copy(v30, tmp_path / "v30")
    target = broken / "videos/observation.images.wrist/chunk-000/file-000.mp4"
    target.write_bytes(b"\0" * 1000 + target.read_bytes()[1000:30000])
    with lerobot.open(broken) as ds:
        with pytest.raises(FormatError) as error:
            ds.episodes[0].stream("wrist")
        assert error.value.path == str(target)
        ds.episodes[0].stream("front").close()
    errors = [p for p in lerobot.validate(broken) if p.severity == "error"]
    assert errors and all(p.file == str(target) for p in errors)


def test_v30_window_off_by_a_frame_is_reported(tmp_path: Path, v30: Path) -> None:
    broken = _copy(v30, tmp_path / "v30")
    meta = broken / "meta/episodes/chunk-000/file-000.parquet"
    table = pq.read_table(meta)
    column = "videos/observation.images.front/from_timestamp"
    shifted = pa.array([0.0, 2.0 + 0.5 / 30], pa.float64())
    table = table.set_column(table.schema.get_field_index(column), column, shifted)
    pq.write_table(table, meta)
    problems = [p for p in lerobot.validate(broken) if p.severity == "error"]
    assert any("episode 1" in p.problem and "LeRobot allows 0.0001 s" in p.problem for p in problems), [
        p.line() for p in problems
    ]


def _write_small(out: Path, actions: np.ndarray, modality: dict | None = None) -> None:
    spec = WriterSpec(
        fps=10,
        robot_type="so101_follower",
        features={"action": Feature("action", FeatureKind.VECTOR, "float32", (6,), SO_NAMES)},
        cameras=[CameraSpec("front", 32, 24)],
        options={"modality": modality} if modality else {},
    )
    with lerobot.create_writer(DatasetFormat.LEROBOT_V21, out, spec) as writer:
        episode = writer.begin_episode("task")
        for t in range(len(actions)):
            episode.add_frame({"action": actions[t]}, {"front": np.full((24, 32, 3), 10 * t, np.uint8)})
        episode.end()


def test_nan_joint_values(tmp_path: Path) -> None:
    actions = np.zeros((5, 6), np.float32)
    actions[3, 2] = np.nan
    _write_small(tmp_path / "nan", actions)
    with lerobot.open(tmp_path / "nan") as ds:
        with pytest.raises(FormatError, match="NaN"):
            ds.episodes[0].array("action")
    problems = [p for p in lerobot.validate(tmp_path / "nan") if p.severity == "error"]
    assert any("NaN" in p.problem and "frame 3" in p.problem for p in problems)


def test_modality_slices_checked(tmp_path: Path) -> None:
    modality = {
        "action": {
            "arm": {"start": 0, "end": 5},
            "gripper": {"start": 4, "end": 6},
            "extra": {"start": 6, "end": 8},
        },
        "video": {
            "front": {"original_key": "observation.images.front"},
            "side": {"original_key": "observation.images.side"},
        },
    }
    _write_small(tmp_path / "mod", np.zeros((4, 6), np.float32), modality)
    text = "\n".join(p.line() for p in lerobot.validate(tmp_path / "mod") if p.severity == "error")
    assert "overlap" in text and "arm (0:5)" in text
    assert "slice 6:8 is outside action of width 6" in text
    assert "observation.images.side" in text and "observation.images.front" not in text


def test_picknplace_modality_is_valid(pnp: Path) -> None:
    assert not any("modality" in p.file for p in lerobot.validate(pnp))


def test_image_features_stored_in_parquet(tmp_path: Path) -> None:
    """dtype "image" (PNG bytes in the parquet) is a camera; copying it encodes a video."""
    import cv2

    out = tmp_path / "img"
    _write_small(out, np.zeros((4, 6), np.float32))
    info = json.loads((out / "meta/info.json").read_text())
    del info["features"]["observation.images.front"]
    info["video_path"] = None
    info["features"]["observation.images.top"] = {
        "dtype": "image",
        "shape": [24, 32, 3],
        "names": ["height", "width", "channels"],
    }
    (out / "meta/info.json").write_text(json.dumps(info))
    shutil.rmtree(out / "videos")
    frames = [
        np.dstack(
            [
                np.full((24, 32), 60 * t, np.uint8),
                np.zeros((24, 32), np.uint8),
                np.full((24, 32), 255 - 60 * t, np.uint8),
            ]
        )
        for t in range(4)
    ]
    cells = [
        {"bytes": cv2.imencode(".png", cv2.cvtColor(f, cv2.COLOR_RGB2BGR))[1].tobytes(), "path": None}
        for f in frames
    ]
    path = out / "data/chunk-000/episode_000000.parquet"
    table = pq.read_table(path)
    table = table.append_column("observation.images.top", pa.array(cells))
    pq.write_table(table, path)
    with lerobot.open(out) as ds:
        assert ds.cameras == {"top": "observation.images.top"}
        assert ds.features["observation.images.top"].kind is FeatureKind.IMAGE
        stream = ds.episodes[0].stream("top")
        assert (stream.num_frames, stream.width, stream.height) == (4, 32, 24)
        for t in range(4):
            assert np.array_equal(stream.frame(t), frames[t])
        copied = lerobot.copy_dataset(ds, tmp_path / "copied", DatasetFormat.LEROBOT_V30, options={"crf": 0})
    with lerobot.open(copied) as ds:
        assert ds.features["observation.images.top"].kind is FeatureKind.VIDEO
        stream = ds.episodes[0].stream("top")
        assert all(np.abs(stream.frame(t).astype(int) - frames[t]).max() <= 3 for t in range(4))
        stream.close()
    assert lerobot.validate(copied) == []
