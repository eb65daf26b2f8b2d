"""LeRobot writers (v2.1, v3.0) and copies: layouts, schemas, timestamps, round trips."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from backend.errors import StudioError
from backend.formats import lerobot, open_writer
from backend.formats.base import CameraSpec, WriterSpec
from backend.media import probe
from backend.model import DatasetFormat, Feature, FeatureKind
from backend.progress import Progress
from backend.units import Unit

V21, V30 = DatasetFormat.LEROBOT_V21, DatasetFormat.LEROBOT_V30
SO_NAMES = [
    f"{j}.pos" for j in ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper")
]
W, H, FPS = 64, 48, 30


def spec(**options) -> WriterSpec:
    return WriterSpec(
        fps=FPS,
        robot_type="so101_follower",
        features={
            "action": Feature("action", FeatureKind.VECTOR, "float32", (6,), SO_NAMES),
            "observation.state": Feature("observation.state", FeatureKind.VECTOR, "float32", (6,), SO_NAMES),
        },
        cameras=[CameraSpec("front", W, H), CameraSpec("wrist", W, H)],
        options=options,
        provenance={"inputs": ["synthetic"], "operation": "test"},
    )


def frame(t: int, episode: int, camera: int) -> np.ndarray:
    """Flat gray with a bright bar at column t: survives lossy coding well."""
    image = np.full((H, W, 3), (40 + 5 * t + 30 * episode + 15 * camera) % 220, np.uint8)
    image[:, t % W] = 250
    return image


def values(t: np.ndarray, episode: int) -> dict[str, np.ndarray]:
    base = np.sin(t[:, None] / 7.0 + np.arange(6)[None] + episode) * 60
    return {"action": base.astype(np.float32), "observation.state": (base * 0.98).astype(np.float32)}


def write(
    out: Path, fmt: DatasetFormat, lengths=(12, 7, 9), tasks=("pick", "place", "pick"), **options
) -> Path:
    with open_writer(fmt, out, spec(**options)) as writer:
        for e, (length, task) in enumerate(zip(lengths, tasks, strict=True)):
            ew = writer.begin_episode(task)
            vals = values(np.arange(length), e)
            if e % 2 == 0:  # frame by frame
                for t in range(length):
                    ew.add_frame(
                        {k: v[t] for k, v in vals.items()}, {"front": frame(t, e, 0), "wrist": frame(t, e, 1)}
                    )
            else:  # a block
                ew.add_frames(
                    vals,
                    {
                        "front": [frame(t, e, 0) for t in range(length)],
                        "wrist": [frame(t, e, 1) for t in range(length)],
                    },
                )
            assert ew.end() == e
    return out


def check_read_back(out: Path, lengths=(12, 7, 9)) -> None:
    with lerobot.open(out) as ds:
        assert [e.length for e in ds.episodes] == list(lengths)
        assert ds.joint_space("action").unit is Unit.LEROBOT_RANGE
        for e, episode in enumerate(ds.episodes):
            expected = values(np.arange(episode.length), e)
            for key, array in expected.items():
                assert np.array_equal(episode.array(key), array)
            np.testing.assert_array_equal(
                episode.array("timestamp"), (np.arange(episode.length) / FPS).astype(np.float32)
            )
            for c, camera in enumerate(("front", "wrist")):
                stream = episode.stream(camera)
                assert stream.num_frames == episode.length
                for t in range(episode.length):
                    diff = np.abs(stream.frame(t).astype(int) - frame(t, e, c).astype(int))
                    assert np.median(diff) <= 2 and np.argmax(stream.frame(t)[H // 2, :, 0]) == t % W
                stream.close()


# -- v2.1 -------------------------------------------------------------------------------------------------
def test_v21_layout_info_and_schema(tmp_path: Path) -> None:
    out = write(tmp_path / "ds", V21)
    info = json.loads((out / "meta/info.json").read_text())
    assert list(info) == [
        "codebase_version",
        "robot_type",
        "total_episodes",
        "total_frames",
        "total_tasks",
        "total_videos",
        "total_chunks",
        "chunks_size",
        "fps",
        "splits",
        "data_path",
        "video_path",
        "features",
    ]
    assert info["codebase_version"] == "v2.1" and info["fps"] == 30
    assert (info["total_episodes"], info["total_frames"], info["total_tasks"]) == (3, 28, 2)
    assert (info["total_videos"], info["total_chunks"], info["chunks_size"]) == (6, 1, 1000)
    assert info["splits"] == {"train": "0:3"}
    assert info["data_path"] == "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet"
    assert (
        info["video_path"] == "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4"
    )
    assert list(info["features"]) == [
        "action",
        "observation.state",
        "observation.images.front",
        "observation.images.wrist",
        "timestamp",
        "frame_index",
        "episode_index",
        "index",
        "task_index",
    ]
    assert info["features"]["action"] == {"dtype": "float32", "shape": [6], "names": SO_NAMES}
    assert info["features"]["timestamp"] == {"dtype": "float32", "shape": [1], "names": None}
    video = info["features"]["observation.images.front"]
    assert video["shape"] == [H, W, 3] and video["names"] == ["height", "width", "channels"]
    assert video["info"] == {
        "video.fps": 30.0,
        "video.height": H,
        "video.width": W,
        "video.channels": 3,
        "video.codec": "h264",
        "video.pix_fmt": "yuv420p",
        "video.is_depth_map": False,
        "has_audio": False,
    }

    schema = pq.read_schema(out / "data/chunk-000/episode_000001.parquet")
    assert [(f.name, f.type) for f in schema] == [
        ("action", pa.list_(pa.float32(), 6)),
        ("observation.state", pa.list_(pa.float32(), 6)),
        ("timestamp", pa.float32()),
        ("frame_index", pa.int64()),
        ("episode_index", pa.int64()),
        ("index", pa.int64()),
        ("task_index", pa.int64()),
    ]
    table = pq.read_table(out / "data/chunk-000/episode_000002.parquet")
    assert table["index"].to_pylist() == list(range(19, 28))
    assert table["task_index"].to_pylist() == [0] * 9 and table["episode_index"].to_pylist() == [2] * 9

    lines = lambda name: [json.loads(x) for x in (out / "meta" / name).read_text().splitlines()]  # noqa: E731
    assert lines("tasks.jsonl") == [{"task_index": 0, "task": "pick"}, {"task_index": 1, "task": "place"}]
    assert lines("episodes.jsonl") == [
        {"episode_index": 0, "tasks": ["pick"], "length": 12},
        {"episode_index": 1, "tasks": ["place"], "length": 7},
        {"episode_index": 2, "tasks": ["pick"], "length": 9},
    ]
    stats = lines("episodes_stats.jsonl")
    assert [s["episode_index"] for s in stats] == [0, 1, 2]
    first = stats[0]["stats"]
    assert list(first) == list(info["features"])
    assert set(first["action"]) == {"min", "max", "mean", "std", "count"} and first["action"]["count"] == [12]
    np.testing.assert_allclose(
        first["action"]["max"], values(np.arange(12), 0)["action"].max(axis=0), rtol=1e-6
    )
    image = np.array(first["observation.images.front"]["mean"])
    assert image.shape == (3, 1, 1) and np.all((image > 0) & (image < 1))
    glob = json.loads((out / "meta/stats.json").read_text())
    # stats.json carries the quantiles GR00T's loader reads; episodes_stats.jsonl keeps LeRobot's keys
    assert glob["action"]["count"] == [28] and {"q01", "q99"} <= set(glob["action"])
    assert glob["frame_index"]["max"] == [11.0]
    prov = json.loads((out / "meta/rollout_studio_provenance.json").read_text())
    assert (
        prov["tool"] == "rollout-studio" and prov["operation"] == "test" and prov["inputs"] == ["synthetic"]
    )

    for e, length in enumerate((12, 7, 9)):
        video = probe(out / f"videos/chunk-000/observation.images.wrist/episode_{e:06d}.mp4")
        assert video.num_frames == length and video.codec == "h264"
        np.testing.assert_allclose(video.frame_times, np.arange(length) / FPS, atol=1e-6)
    assert lerobot.validate(out) == []
    check_read_back(out)


# -- v3.0 -------------------------------------------------------------------------------------------------
def test_v30_layout_matches_lerobot(tmp_path: Path, shared_data: Path) -> None:
    real = shared_data / "lerobot061_so101_v30_h264"
    out = write(tmp_path / "ds", V30)
    info = json.loads((out / "meta/info.json").read_text())
    real_info = json.loads((real / "meta/info.json").read_text())
    assert list(info) == list(real_info)
    assert list(info["features"]) == list(real_info["features"])
    assert info["features"]["action"] == real_info["features"]["action"]
    assert list(info["features"]["observation.images.front"]["info"]) == list(
        real_info["features"]["observation.images.front"]["info"]
    )
    assert info["features"]["observation.images.front"]["info"]["video.g"] == 2
    for key in ("data_files_size_in_mb", "video_files_size_in_mb", "data_path", "video_path", "chunks_size"):
        assert info[key] == real_info[key], key
    assert (info["total_episodes"], info["total_frames"], info["total_tasks"]) == (3, 28, 2)

    # parquet schemas equal the ones LeRobot 0.6.1 wrote (same features)
    for rel in (
        "data/chunk-000/file-000.parquet",
        "meta/episodes/chunk-000/file-000.parquet",
        "meta/tasks.parquet",
    ):
        ours, theirs = pq.read_schema(out / rel), pq.read_schema(real / rel)
        assert ours.remove_metadata().equals(theirs.remove_metadata()), rel
    assert pq.ParquetFile(out / "data/chunk-000/file-000.parquet").metadata.num_row_groups == 3
    tasks = pq.read_table(out / "meta/tasks.parquet").to_pylist()
    assert tasks == [{"task_index": 0, "task": "pick"}, {"task_index": 1, "task": "place"}]

    episodes = pq.read_table(out / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
    assert [(e["dataset_from_index"], e["dataset_to_index"]) for e in episodes] == [
        (0, 12),
        (12, 19),
        (19, 28),
    ]
    assert [e["tasks"] for e in episodes] == [["pick"], ["place"], ["pick"]]
    assert episodes[1]["stats/action/count"] == [7] and len(episodes[1]["stats/action/q50"]) == 6
    assert np.array(episodes[1]["stats/observation.images.wrist/q99"]).shape == (3, 1, 1)
    for key in ("observation.images.front", "observation.images.wrist"):
        times = probe(out / f"videos/{key}/chunk-000/file-000.mp4").frame_times
        assert len(times) == 28
        for e in episodes:
            start, stop = e[f"videos/{key}/from_timestamp"], e[f"videos/{key}/to_timestamp"]
            assert stop - start == pytest.approx(e["length"] / FPS, abs=1e-9)
            window = times[(times >= start - 1e-4) & (times < stop - 1e-4)]
            assert len(window) == e["length"]
            # parquet timestamps + from_timestamp hit the frame times within LeRobot's 1e-4 s
            ts = (
                pq.read_table(out / "data/chunk-000/file-000.parquet")
                .slice(e["dataset_from_index"], e["length"])["timestamp"]
                .to_numpy()
            )
            assert np.abs(window - (start + ts)).max() < 1e-4
    stats = json.loads((out / "meta/stats.json").read_text())
    assert set(stats["action"]) == {"min", "max", "mean", "std", "count", "q01", "q10", "q50", "q90", "q99"}
    assert stats["action"]["count"] == [28]
    assert np.array(stats["observation.images.front"]["q50"]).shape == (3, 1, 1)
    assert lerobot.validate(out) == []
    check_read_back(out)


def test_v30_file_rollover(tmp_path: Path) -> None:
    out = write(
        tmp_path / "ds",
        V30,
        lengths=(10, 10, 10, 10),
        tasks=("a", "b", "a", "c"),
        data_files_size_in_mb=0.0005,
        video_files_size_in_mb=0.001,
        chunks_size=2,
        threaded=True,
    )
    episodes = pq.read_table(out / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
    data_files = {(e["data/chunk_index"], e["data/file_index"]) for e in episodes}
    video_files = {
        (e["videos/observation.images.front/chunk_index"], e["videos/observation.images.front/file_index"])
        for e in episodes
    }
    assert len(data_files) > 1 and len(video_files) > 1
    assert (1, 0) in data_files  # chunks_size 2 files per chunk, then the next chunk
    assert lerobot.validate(out) == []
    check_read_back(out, lengths=(10, 10, 10, 10))


def test_av1_output(tmp_path: Path) -> None:
    out = write(tmp_path / "ds", V30, lengths=(6, 5), tasks=("a", "b"), codec="av1")
    info = json.loads((out / "meta/info.json").read_text())
    assert info["features"]["observation.images.front"]["info"]["video.codec"] == "av1"
    problems = lerobot.validate(out)
    assert [p.severity for p in problems] == ["warning"] and "AV1" in problems[0].problem
    with lerobot.open(out) as ds:
        stream = ds.episodes[1].stream("front")
        assert stream.num_frames == 5 and np.argmax(stream.frame(4)[H // 2, :, 0]) == 4
        stream.close()


# -- discard, abort, bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", [V21, V30])
def test_discard_and_abort(tmp_path: Path, fmt: DatasetFormat) -> None:
    out = tmp_path / "ds"
    writer = lerobot.create_writer(fmt, out, spec())
    keep = writer.begin_episode("keep")
    keep.add_frames(
        values(np.arange(4), 0),
        {"front": [frame(t, 0, 0) for t in range(4)], "wrist": [frame(t, 0, 1) for t in range(4)]},
    )
    keep.end()
    drop = writer.begin_episode("drop")
    drop.add_frame(
        {k: v[0] for k, v in values(np.arange(1), 1).items()},
        {"front": frame(0, 1, 0), "wrist": frame(0, 1, 1)},
    )
    drop.discard()
    again = writer.begin_episode("again")
    again.add_frames(
        values(np.arange(3), 2),
        {"front": [frame(t, 2, 0) for t in range(3)], "wrist": [frame(t, 2, 1) for t in range(3)]},
    )
    assert again.end() == 1
    assert not out.exists()
    writer.finish()
    with lerobot.open(out) as ds:
        assert [e.length for e in ds.episodes] == [4, 3] and ds.tasks == ["keep", "again"]  # the discarded episode's task is not kept
        assert np.array_equal(ds.episodes[1].array("action"), values(np.arange(3), 2)["action"])
    assert lerobot.validate(out) == []

    aborted = tmp_path / "aborted"
    writer = lerobot.create_writer(fmt, aborted, spec())
    ew = writer.begin_episode("x")
    ew.add_frame(
        {k: v[0] for k, v in values(np.arange(1), 0).items()},
        {"front": frame(0, 0, 0), "wrist": frame(0, 0, 1)},
    )
    ew.end()
    writer.abort()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_bad_input_is_refused(tmp_path: Path) -> None:
    writer = lerobot.create_writer(V21, tmp_path / "ds", spec())
    ew = writer.begin_episode("x")
    with pytest.raises(StudioError, match="shape"):
        ew.add_frame({"action": np.zeros(5), "observation.state": np.zeros(6)})
    with pytest.raises(StudioError, match="missing"):
        ew.add_frame({"action": np.zeros(6)})
    with pytest.raises(StudioError, match="expected"):
        ew.add_frame(
            {"action": np.zeros(6), "observation.state": np.zeros(6)}, {"front": np.zeros((4, 4, 3))}
        )
    ew.add_frame({"action": np.zeros(6), "observation.state": np.zeros(6)}, {"front": frame(0, 0, 0)})
    with pytest.raises(StudioError, match="wrist"):
        ew.end()  # one camera got no frame
    with pytest.raises(StudioError, match="still open"):
        writer.begin_episode("y")
    writer.abort()
    assert not (tmp_path / "ds").exists()
    with pytest.raises(StudioError, match="cannot write"):
        lerobot.create_writer(DatasetFormat.LEROBOT_V20, tmp_path / "v20", spec())


# -- copies / round trips ---------------------------------------------------------------------------------
def assert_same(
    a_path: Path, b_path: Path, frames_equal: bool = True, skip=("timestamp",), stride: int = 1
) -> None:
    with lerobot.open(a_path) as a, lerobot.open(b_path) as b:
        assert a.tasks == b.tasks and a.num_episodes == b.num_episodes
        assert [e.extra["tasks"] for e in a.episodes] == [e.extra["tasks"] for e in b.episodes]
        keys = [
            k
            for k, f in a.features.items()
            if f.kind in (FeatureKind.VECTOR, FeatureKind.SCALAR) and k not in skip
        ]
        for ea, eb in zip(a.episodes, b.episodes, strict=True):
            assert ea.length == eb.length
            for key in keys:
                va, vb = ea.array(key), eb.array(key)
                assert va.dtype == vb.dtype and np.array_equal(va, vb), key
            for camera in a.cameras:
                sa, sb = ea.stream(camera), eb.stream(camera)
                assert sa.num_frames == sb.num_frames == ea.length
                for t in [*range(0, ea.length, stride), ea.length - 1]:
                    fa, fb = sa.frame(t), sb.frame(t)
                    if frames_equal:
                        assert np.array_equal(fa, fb), (camera, ea.index, t)
                    else:
                        assert np.abs(fa.astype(int) - fb.astype(int)).mean() < 6, (camera, ea.index, t)
                sa.close()
                sb.close()


def test_real_v30_round_trip_is_exact(tmp_path: Path, shared_data: Path) -> None:
    real = shared_data / "lerobot061_so101_v30_h264"
    with lerobot.open(real) as ds:
        v21 = lerobot.copy_dataset(ds, tmp_path / "v21", V21)
    with lerobot.open(v21) as ds:
        v30 = lerobot.copy_dataset(ds, tmp_path / "v30", V30)
    assert_same(real, v21, skip=())
    assert_same(real, v30, skip=())
    for path in (v21, v30):
        assert lerobot.validate(path) == []
    # the same encoded bytes: the copied shared mp4 equals LeRobot's frame for frame, packet for packet
    key = "observation.images.front"
    ours, theirs = (
        probe(v30 / f"videos/{key}/chunk-000/file-000.mp4"),
        probe(real / f"videos/{key}/chunk-000/file-000.mp4"),
    )
    assert np.array_equal(ours.frame_times, theirs.frame_times) and np.array_equal(
        ours.keyframes, theirs.keyframes
    )
    with lerobot.open(real) as ds:
        direct = lerobot.copy_dataset(ds, tmp_path / "direct", V30)
    info = json.loads((direct / "meta/info.json").read_text())["features"][key]["info"]
    assert (info["video.g"], info["video.crf"]) == (2, 30)  # carried over from the copied source


def packets(path: Path) -> list[tuple[int, bytes]]:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [(p.pts, bytes(p)) for p in container.demux(stream) if p.size]


def test_picknplace_round_trip(tmp_path: Path, shared_data: Path) -> None:
    """v2.0 (B-frames, float64, extra columns) -> v2.1 -> v3.0 -> v2.1: values and frames identical."""
    source = shared_data / "gr00t_dreams_robot_sim.PickNPlace"
    reports = []
    progress = Progress(on_report=lambda done, total, text: reports.append((done, total)))
    with lerobot.open(source) as ds:
        v21 = lerobot.copy_dataset(ds, tmp_path / "v21", V21, progress=progress)
    assert reports[0] == (0, 5) and reports[-1] == (5, 5)
    with lerobot.open(v21) as ds:
        v30 = lerobot.copy_dataset(ds, tmp_path / "v30", V30)
    with lerobot.open(v30) as ds:
        back = lerobot.copy_dataset(ds, tmp_path / "back", V21)
    for path in (v21, v30, back):
        assert lerobot.validate(path) == [], path
    assert_same(source, v30, stride=5)
    for path in (v21, back):  # identical packets (so identical frames) in per-episode files
        assert_same(source, path, stride=10**6)
        for e in range(5):
            rel = f"videos/chunk-000/observation.images.ego_view/episode_{e:06d}.mp4"
            assert packets(source / rel) == packets(path / rel)
    with lerobot.open(v21) as ds:
        assert ds.features["observation.state"].dtype == "float64"
        assert ds.features["next.done"].dtype == "bool"
        np.testing.assert_array_equal(
            ds.episodes[0].array("timestamp"), (np.arange(416) / 20).astype(np.float32)
        )
        assert np.array_equal(ds.episodes[0].array("frame_index"), np.arange(416))
        assert ds.episodes[4].array("task_index")[0] == 5  # task indices kept
    assert (v21 / "meta/modality.json").is_file()
    assert json.loads((back / "meta/info.json").read_text())["total_chunks"] == 1
    for e in range(5):
        a = source / f"videos/chunk-000/observation.images.ego_view/episode_{e:06d}.mp4"
        b = back / f"videos/chunk-000/observation.images.ego_view/episode_{e:06d}.mp4"
        assert np.array_equal(probe(a).frame_times, probe(b).frame_times)


def test_copy_with_reencode(tmp_path: Path, shared_data: Path) -> None:
    real = shared_data / "lerobot061_so101_v30_h264"
    with lerobot.open(real) as ds:
        out = lerobot.copy_dataset(ds, tmp_path / "v21", V21, codec="h264", options={"crf": 18})
    assert lerobot.validate(out) == []
    assert_same(real, out, frames_equal=False)
    with pytest.raises(StudioError, match="output already exists"), lerobot.open(real) as ds:
        lerobot.copy_dataset(ds, out, V30)


def test_cancel_leaves_nothing(tmp_path: Path, shared_data: Path) -> None:
    progress = Progress(on_report=lambda done, total, text: progress.cancel() if done == 1 else None)
    with lerobot.open(shared_data / "lerobot061_so101_v30_h264") as ds:
        with pytest.raises(Exception) as error:
            lerobot.copy_dataset(ds, tmp_path / "out", V30, progress=progress)
    assert type(error.value).__name__ == "Cancelled"
    assert list(tmp_path.iterdir()) == []
