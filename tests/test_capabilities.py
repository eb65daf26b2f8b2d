"""Declared capabilities match what each format really does: write a small dataset with every
writable format, read it back, and check each declared (and each undeclared) capability."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from backend.errors import StudioError
from backend.formats import open_dataset, open_writer
from backend.formats.base import CameraSpec, Capability, WriterSpec, reader_capabilities
from backend.formats.leisaac_hdf5 import read_initial_state
from backend.formats.lerobot import LeRobotWriter
from backend.formats.lerobot.layout import writer_capabilities
from backend.formats.lerobot.stream import VideoWindowStream
from backend.media import probe
from backend.model import DatasetFormat, Feature, FeatureKind
from tests.cosmos_data import StandinSample, write_standin_outputs

W, H, FPS = 32, 24, 10
LENGTHS = (6, 4)
SUCCESS = (True, False)
TASKS = ("Pick the orange", "Place it")
INITIAL = {"articulation": {"robot": {"joint_position": np.full((1, 6), 0.25, np.float32)}}}

FEATURES = {
    DatasetFormat.LEISAAC_HDF5: ("actions", "obs/joint_pos"),
    DatasetFormat.LEROBOT_V21: ("action", "observation.state"),
    DatasetFormat.LEROBOT_V30: ("action", "observation.state"),
}


def _frame(episode: int, t: int) -> np.ndarray:
    return np.full((H, W, 3), 40 + 20 * episode + 5 * t, np.uint8)


def _write(fmt: DatasetFormat, out: Path) -> Path:
    keys = FEATURES[fmt]
    spec = WriterSpec(
        fps=FPS,
        robot_type="so101_follower",
        features={key: Feature(key, FeatureKind.VECTOR, "float32", (6,)) for key in keys},
        cameras=[CameraSpec("front", W, H)],
    )
    with open_writer(fmt, out, spec) as writer:
        for e, (length, success, task) in enumerate(zip(LENGTHS, SUCCESS, TASKS, strict=True)):
            episode = writer.begin_episode(task, seed=e, initial_state=INITIAL)
            rows = {key: np.full((length, 6), e + 0.5, np.float32) for key in keys}
            episode.add_frames(rows, {"front": [_frame(e, t) for t in range(length)]})
            episode.end(success=success)
    return out


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[DatasetFormat, Path]:
    root = tmp_path_factory.mktemp("capabilities")
    return {
        DatasetFormat.LEISAAC_HDF5: _write(DatasetFormat.LEISAAC_HDF5, root / "out.hdf5"),
        DatasetFormat.LEROBOT_V21: _write(DatasetFormat.LEROBOT_V21, root / "v21"),
        DatasetFormat.LEROBOT_V30: _write(DatasetFormat.LEROBOT_V30, root / "v30"),
    }


def _writer_capabilities(fmt: DatasetFormat, tmp_path: Path) -> Capability:
    spec = WriterSpec(fps=FPS, robot_type="", features={})
    writer = open_writer(fmt, tmp_path / f"probe-{fmt.value}", spec)
    try:
        return writer.capabilities
    finally:
        writer.abort()


@pytest.mark.parametrize("fmt", list(FEATURES))
def test_writer_declaration_matches_what_reads_back(fmt, written, tmp_path) -> None:
    declared = _writer_capabilities(fmt, tmp_path)
    out = written[fmt]
    with open_dataset(out) as ds:
        camera = ds.features[ds.cameras["front"]]
        assert (camera.kind is FeatureKind.VIDEO) == (Capability.VIDEO in declared)
        assert (camera.kind is FeatureKind.IMAGE) == (Capability.IMAGES in declared)
        for e, episode in enumerate(ds.episodes):
            stream = episode.stream("front")
            try:
                frame = stream.frame(1)
            finally:
                stream.close()
            # lossless arrays give the frame back exactly, video within the codec's error
            assert np.abs(frame.astype(int) - _frame(e, 1).astype(int)).mean() < 3
        flags = tuple(e.success for e in ds.episodes)
        assert (flags == SUCCESS) == (Capability.SUCCESS_FLAGS in declared)
        texts = tuple(e.task for e in ds.episodes)
        assert (texts == TASKS) == (Capability.TASKS in declared)
        initial = read_initial_state(ds.episodes[0])
        kept = bool(initial) and np.array_equal(
            initial["articulation"]["robot"]["joint_position"],
            INITIAL["articulation"]["robot"]["joint_position"],
        )
        assert kept == (Capability.INITIAL_STATE in declared)
    has_stats = out.is_dir() and (out / "meta" / "stats.json").is_file()
    assert has_stats == (Capability.STATS in declared)


@pytest.mark.parametrize("fmt", [DatasetFormat.LEROBOT_V21, DatasetFormat.LEROBOT_V30])
def test_lerobot_append_only_where_declared(fmt, tmp_path) -> None:
    spec = WriterSpec(
        fps=FPS,
        robot_type="so101_follower",
        features={"action": Feature("action", FeatureKind.VECTOR, "float32", (6,))},
        options={"publish_each_episode": True},
    )
    declared = writer_capabilities(fmt)
    if Capability.APPEND not in declared:
        with pytest.raises(StudioError, match="publish_each_episode"):
            LeRobotWriter(fmt, tmp_path / "live", spec)
        return
    for round_ in range(2):  # the second writer resumes the dataset the first one published
        writer = LeRobotWriter(fmt, tmp_path / "live", spec)
        episode = writer.begin_episode(f"task {round_}")
        episode.add_frames({"action": np.full((3, 6), round_, np.float32)})
        episode.end(success=True)
        writer.finish()
    with open_dataset(tmp_path / "live") as ds:
        assert [e.task for e in ds.episodes] == ["task 0", "task 1"]
        assert [float(e.array("action")[0, 0]) for e in ds.episodes] == [0.0, 1.0]


@pytest.mark.parametrize("fmt", [DatasetFormat.LEROBOT_V21, DatasetFormat.LEROBOT_V30])
def test_lerobot_packet_copy_and_encoded_video(fmt, written, tmp_path) -> None:
    """PACKET_COPY: add_video takes an mp4 window as it is; ENCODED_VIDEO: add_encoded_video adopts an
    mp4 made elsewhere. The frames read back are the source's, bit for bit."""
    declared = writer_capabilities(fmt)
    assert Capability.PACKET_COPY in declared and Capability.ENCODED_VIDEO in declared
    source = written[DatasetFormat.LEROBOT_V21]
    spec = WriterSpec(fps=FPS, robot_type="", features={}, cameras=[CameraSpec("front", W, H)])
    with open_dataset(source) as ds:
        windows = []
        for episode in ds.episodes:
            stream = episode.stream("front")
            assert isinstance(stream, VideoWindowStream)
            windows.append((stream.path, [stream.frame(t) for t in range(stream.num_frames)]))
            stream.close()
    writer = LeRobotWriter(fmt, tmp_path / "out", spec)
    first = writer.begin_episode("copied")
    first.add_video("front", windows[0][0], 0, LENGTHS[0], probe(windows[0][0]))
    first.length = LENGTHS[0]
    first.end(True)
    second = writer.begin_episode("adopted")
    target = writer.encode_path(1, "observation.images.front")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(windows[1][0].read_bytes())
    second.add_encoded_video("front", target, LENGTHS[1])
    second.length = LENGTHS[1]
    second.end(False)
    writer.finish()
    with open_dataset(tmp_path / "out") as ds:
        for episode, (_, frames) in zip(ds.episodes, windows, strict=True):
            stream = episode.stream("front")
            try:
                assert all(np.array_equal(stream.frame(t), frame) for t, frame in enumerate(frames))
            finally:
                stream.close()


@pytest.mark.parametrize("fmt", list(FEATURES))
def test_reader_declaration_matches_what_it_does(fmt, written) -> None:
    with open_dataset(written[fmt]) as ds:
        declared = reader_capabilities(ds)
        episode = ds.episodes[0]
        key = FEATURES[fmt][0]
        stream = episode.stream("front")
        try:
            located = stream.h5_location() if Capability.FRAME_LOCATION in declared else None
            assert (located is not None) == (Capability.FRAME_LOCATION in declared)
            if located is not None:
                assert tuple(located[1]) == (LENGTHS[0], H, W, 3)
            copyable = isinstance(stream, VideoWindowStream)
            assert copyable == (Capability.PACKET_COPY in declared)
        finally:
            stream.close()
        if Capability.BLOCK_READ in declared:
            block = ds.reader.read_block(episode, key, 1, 3)
            assert np.array_equal(block, episode.array(key)[1:3])
        else:
            assert not hasattr(ds.reader, "read_block")
        if Capability.INITIAL_STATE in declared:
            assert ds.reader.read_initial_state(episode)["articulation"]["robot"]["joint_position"].shape == (
                1,
                6,
            )
        else:
            assert read_initial_state(episode) == {}
        assert (tuple(e.success for e in ds.episodes) == SUCCESS) == (Capability.SUCCESS_FLAGS in declared)


def test_cosmos_reader_declares_video_and_prompts(written, tmp_path) -> None:
    samples = [StandinSample("clip_0", 0, 5, prompt="Pick the orange")]
    folder = write_standin_outputs(written[DatasetFormat.LEROBOT_V21], tmp_path / "cosmos", samples)
    with open_dataset(folder) as ds:
        declared = reader_capabilities(ds)
        assert declared == Capability.VIDEO | Capability.TASKS
        assert ds.features[ds.cameras[next(iter(ds.cameras))]].kind is FeatureKind.VIDEO
        assert all(e.task for e in ds.episodes) and all(e.success is None for e in ds.episodes)


def test_undeclared_reader_has_no_capabilities() -> None:
    class Plain:
        reader = object()

    assert reader_capabilities(Plain()) == Capability.NONE
