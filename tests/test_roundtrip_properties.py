"""Property-based round trips: LeIsaac HDF5 -> LeRobot v2.1 / v3.0 -> HDF5, and v2.1 <-> v3.0.

Over random recordings (1-4 demos of 1-40 frames, 0-3 cameras with random names written in a random
order, random fps and random joint values inside the SO-101 limits):

- joint arrays are VALUE-exact: the LeRobot vectors are bit for bit ``float32(JointSpace.convert(...))``
  of the source (radians -> LeRobot range), the replayed HDF5 actions are bit for bit the conversion
  back, and the round trip radians -> float32 LeRobot range -> float32 radians is off by no more than
  the two float32 roundings it contains: ``ulp(lerobot) / 2 * d(rad)/d(lerobot) + ulp(rad) / 2``
  (at most ~2.3e-7 rad, ~1.3e-5 degrees, for SO-101 ranges);
- cameras are CAMERA-exact: every decoded output frame is nearest to its own source frame (same demo,
  same camera, same index) among ALL source frames of the recording, within a tight codec tolerance
  (x264 at crf 0: the only loss is RGB -> yuv420p), so a camera can never carry another camera's,
  another demo's or a shifted frame;
- v2.1 <-> v3.0 copies video packets: the decoded frames and every parquet column are identical, and
  replaying either version gives the same HDF5 actions.

Frame (demo d, camera c, index t): a flat colour unique to (d, c) (colours of {50, 110, 170}^3, any two
differ by >= 60 in some channel), brightened by 10 per 12 frames, with a light 8x8 square at one of 12
non-overlapping places chosen by t % 12, so any two source frames differ by >= 9 grey levels on average.
"""

from __future__ import annotations

import itertools
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from backend.convert import hdf5_to_lerobot as h2l
from backend.convert import lerobot_to_hdf5 as l2h
from backend.convert import lerobot_versions as lv
from backend.formats import open_dataset, validate_path
from backend.units import SO101_JOINTS, SO101_RANGES, JointSpace, Unit
from tests.recordings import DemoSpec, RecordingSpec, write_recording

WIDTH, HEIGHT = 32, 24
BLOCK = 8
FPS_CHOICES = (10.0, 15.0, 16.0, 20.0, 30.0, 60.0)
# obs/ datasets of a LeIsaac recording: a camera of that name would shadow them
RESERVED = {"actions", "joint_pos", "joint_vel", "joint_pos_rel", "joint_vel_rel", "joint_pos_target"}
COLOURS = [c for c in itertools.product((50, 110, 170), repeat=3)]
OWN_TOLERANCE = 3.0  # mean |decoded - source| of a frame; measured <= ~1.5 (yuv420p chroma at the square)
MARGIN = 2.0  # every other source frame is at least this much farther than the frame's own source
RAD = JointSpace.so101(Unit.RADIANS)
PROPERTY_SETTINGS = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@dataclass
class Recording:
    lengths: list[int]
    cameras: list[str]  # in the order the datasets are created in the file
    fps: float
    actions: list[np.ndarray]  # per demo (T, 6) float32 radians
    states: list[np.ndarray]  # per demo (T, 6) float32 radians (obs/joint_pos)
    colours: list[int]  # COLOURS index per (demo, camera): demo * 3 + camera


def _limits() -> tuple[np.ndarray, np.ndarray]:
    lo = np.array([SO101_RANGES[j][0][0] for j in SO101_JOINTS]) * math.pi / 180.0
    hi = np.array([SO101_RANGES[j][0][1] for j in SO101_JOINTS]) * math.pi / 180.0
    return lo, hi


def _joints(fractions: list[list[float]]) -> np.ndarray:
    """Fractions -1..1 per joint -> radians inside (or on) the SO-101 limits, float32."""
    lo, hi = _limits()
    f = np.asarray(fractions, dtype=np.float64).reshape(-1, 6)
    return (lo + (f + 1.0) / 2.0 * (hi - lo)).astype(np.float32)


fraction = st.floats(-1.0, 1.0, allow_nan=False, width=32)
camera_name = st.from_regex(r"[a-z][a-z0-9_]{0,7}", fullmatch=True).filter(lambda n: n not in RESERVED)


@st.composite
def recordings(draw: st.DrawFn) -> Recording:
    lengths = draw(st.lists(st.integers(1, 40), min_size=1, max_size=4))
    cameras = draw(st.lists(camera_name, min_size=0, max_size=3, unique=True))
    fps = draw(st.sampled_from(FPS_CHOICES))
    row = st.lists(fraction, min_size=6, max_size=6)
    actions = [_joints(draw(st.lists(row, min_size=n, max_size=n))) for n in lengths]
    states = [_joints(draw(st.lists(row, min_size=n, max_size=n))) for n in lengths]
    colours = draw(st.permutations(range(len(COLOURS))))[: 3 * len(lengths)]
    return Recording(lengths, cameras, fps, actions, states, colours)


def source_frame(rec: Recording, demo: int, camera: int, t: int) -> np.ndarray:
    colour = np.array(COLOURS[rec.colours[3 * demo + camera]], dtype=np.int16) + 10 * (t // 12)
    frame = np.empty((HEIGHT, WIDTH, 3), dtype=np.uint8)
    frame[:] = colour.astype(np.uint8)
    place = t % 12
    y, x = BLOCK * (place // 4), BLOCK * (place % 4)
    frame[y : y + BLOCK, x : x + BLOCK] = 235
    return frame


def write_source(rec: Recording, path: Path) -> Path:
    """A LeIsaac recording (the studio's synthetic layout) carrying ``rec``'s values and frames."""
    spec = RecordingSpec(
        [DemoSpec(n) for n in rec.lengths], cameras=tuple(rec.cameras), width=WIDTH, height=HEIGHT
    )
    write_recording(path, spec)
    with h5py.File(path, "r+") as handle:
        for d, n in enumerate(rec.lengths):
            demo = handle[f"data/demo_{d}"]
            _rewrite(demo, "actions", rec.actions[d])
            _rewrite(demo, "processed_actions", rec.actions[d])
            previous = np.vstack([np.zeros((1, 6), np.float32), rec.actions[d][:-1]])
            _rewrite(demo, "obs/actions", previous)  # Isaac Lab's last_action: actions[t - 1]
            _rewrite(demo, "obs/joint_pos", rec.states[d])
            for c, cam in enumerate(rec.cameras):
                _rewrite(demo, f"obs/{cam}", np.stack([source_frame(rec, d, c, t) for t in range(n)]))
    return path


def _rewrite(group: h5py.Group, key: str, values: np.ndarray) -> None:
    """Replace a dataset's values by a new dataset with the same layout, never in place: HDF5 (1.14 and
    2.0, h5py's optional LZF filter) keeps a chunk's "filter skipped" mark when the chunk is written
    again, so a chunk that once did not compress and then does reads back as garbage (found by this
    test: a 3-frame demo's actions; tests/test_hdf5_lzf_rewrite.py pins it)."""
    old = group[key]
    layout = {"chunks": old.chunks, "maxshape": old.maxshape, "compression": old.compression,
              "dtype": old.dtype}  # fmt: skip
    attrs = dict(old.attrs)
    del group[key]
    new = group.create_dataset(key, data=np.asarray(values, dtype=layout.pop("dtype")), **layout)
    new.attrs.update(attrs)


# -- checks ----------------------------------------------------------------------------------------


def lerobot_of(radians: np.ndarray) -> np.ndarray:
    return RAD.convert(radians, Unit.LEROBOT_RANGE).astype(np.float32)


def radians_of(lerobot: np.ndarray) -> np.ndarray:
    return RAD.with_unit(Unit.LEROBOT_RANGE).convert(lerobot, Unit.RADIANS).astype(np.float32)


def round_trip_bound(lerobot: np.ndarray, back: np.ndarray) -> np.ndarray:
    """Largest |back - original| two float32 roundings allow (LeRobot value, then radians)."""
    lo, hi = _limits()
    mmin = np.array([SO101_RANGES[j][1][0] for j in SO101_JOINTS])
    mmax = np.array([SO101_RANGES[j][1][1] for j in SO101_JOINTS])
    slope = (hi - lo) / (mmax - mmin)  # radians per LeRobot unit
    half_ulp = lambda v: np.spacing(np.abs(v).astype(np.float32)).astype(np.float64) / 2  # noqa: E731
    return (half_ulp(lerobot) * slope + half_ulp(back)) * (1 + 1e-9) + 1e-15


def assert_bits_equal(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype and actual.shape == expected.shape, (what, actual.shape, expected.shape)
    assert actual.tobytes() == expected.tobytes(), (what, np.abs(actual - expected).max())


def decoded(dataset_path: Path) -> dict[tuple[int, str], np.ndarray]:
    """(episode, camera) -> decoded frames (T, H, W, 3)."""
    frames: dict[tuple[int, str], np.ndarray] = {}
    with open_dataset(dataset_path) as dataset:
        for episode in dataset.episodes:
            for cam in dataset.cameras:
                stream = episode.stream(cam)
                try:
                    assert stream.num_frames == episode.length, (episode.index, cam)
                    frames[episode.index, cam] = np.stack([stream.frame(t) for t in range(episode.length)])
                finally:
                    stream.close()
    return frames


def kept_demos(rec: Recording, skip: int) -> list[int]:
    """Demos that keep frames after skipping the first ``skip`` (in output episode order)."""
    return [d for d, n in enumerate(rec.lengths) if n > skip]


def assert_camera_exact(rec: Recording, frames: dict[tuple[int, str], np.ndarray], skip: int = 0) -> float:
    """Output episode k, camera c, frame t is nearest to source demo kept[k], camera c, frame skip + t
    among ALL source frames of the recording; returns the largest own error."""
    kept = kept_demos(rec, skip)
    assert set(frames) == {(k, cam) for k in range(len(kept)) for cam in rec.cameras}
    keys = [(d, c, t) for d, n in enumerate(rec.lengths) for c in range(len(rec.cameras)) for t in range(n)]
    if not frames:
        return 0.0
    # frames are constant on the 8x8 blocks, so the mean |difference| of two frames is that of their
    # block means: compare 3x4x3 block means instead of 24x32x3 pixels
    def blocks(images: np.ndarray) -> np.ndarray:
        shape = (len(images), HEIGHT // BLOCK, BLOCK, WIDTH // BLOCK, BLOCK, 3)
        return images.astype(np.float32).reshape(shape).mean(axis=(2, 4)).reshape(len(images), -1)

    sources = np.stack([source_frame(rec, d, c, t) for d, c, t in keys]).astype(np.float32)
    worst = 0.0
    for (k, cam), video in frames.items():
        d, c = kept[k], rec.cameras.index(cam)
        assert len(video) == rec.lengths[d] - skip, (k, cam)
        for t, image in enumerate(video):
            own = keys.index((d, c, skip + t))
            own_error = float(np.abs(sources[own] - image.astype(np.float32)).mean())
            assert own_error <= OWN_TOLERANCE, (k, cam, t, own_error)
            # every other source frame is farther: the distance of block means is a lower bound of the
            # pixel distance (|mean(x)| <= mean(|x|)), so only frames it cannot rule out are compared
            coarse = np.abs(blocks(sources) - blocks(image[None])).mean(axis=1)
            coarse[own] = np.inf
            for other in np.flatnonzero(coarse < own_error + MARGIN):
                distance = float(np.abs(sources[other] - image.astype(np.float32)).mean())
                assert distance >= own_error + MARGIN, ((k, cam, t), keys[other], own_error, distance)
            worst = max(worst, own_error)
    return worst


def assert_replayed(rec: Recording, hdf5: Path, skip: int = 0) -> float:
    """Replayed demo k is source demo kept[k] from frame ``skip`` on (paired by provenance): its actions
    are the bit-exact conversion back of the LeRobot values and within two float32 roundings of the
    source; returns the largest |error| in radians."""
    kept = kept_demos(rec, skip)
    worst = 0.0
    with h5py.File(hdf5) as handle:
        demos = sorted(handle["data"], key=lambda name: int(name.split("_")[1]))
        assert demos == [f"demo_{k}" for k in range(len(kept))]
        for name, d in zip(demos, kept, strict=True):
            demo = handle["data"][name]
            assert demo.attrs["rollout_studio_source_demo"] == f"demo_{d}"
            assert int(demo.attrs["rollout_studio_frame_offset"]) == skip
            assert int(demo.attrs["num_samples"]) == rec.lengths[d] - skip
            source = rec.actions[d][skip:]
            lerobot = lerobot_of(source)
            back = demo["actions"][()]
            assert_bits_equal(back, radians_of(lerobot), f"{name}/actions")
            assert_bits_equal(demo["processed_actions"][()], back, f"{name}/processed_actions")
            error = np.abs(back.astype(np.float64) - source.astype(np.float64))
            assert np.all(error <= round_trip_bound(lerobot, back)), (name, error.max())
            worst = max(worst, float(error.max()))
            every = rec.actions[d]
            if len(every) >= 3 and not np.allclose(every[1:], every[:-1], atol=1e-6):
                # obs/actions keeps the template's convention: the previous action (the template's
                # obs/actions[skip] first, zeros when skip is 0)
                first = np.zeros(6, np.float32) if skip == 0 else every[skip - 1]
                expected = np.vstack([first[None, :], back[:-1]])
                assert_bits_equal(demo["obs/actions"][()], expected, f"{name}/obs/actions")
    return worst


def lerobot_columns(dataset_path: Path) -> list[dict[str, np.ndarray]]:
    with open_dataset(dataset_path) as dataset:
        return [
            {
                "action": episode.array("action"),
                "observation.state": episode.array("observation.state"),
                "timestamps": np.asarray(episode.timestamps()),
                "task": np.array([episode.task or ""]),
                "length": np.array([episode.length]),
            }
            for episode in dataset.episodes
        ]


def errors_of(path: Path) -> list[str]:
    return [p.line() for p in validate_path(path) if p.severity == "error"]


# -- properties ------------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(rec=recordings(), fmt=st.sampled_from(["v2.1", "v3.0"]), skip=st.integers(0, 3))
def test_hdf5_to_lerobot_and_back_is_value_and_camera_exact(rec: Recording, fmt: str, skip: int) -> None:
    kept = kept_demos(rec, skip)
    assume(kept)
    with tempfile.TemporaryDirectory(prefix="rs-prop-") as tmp:
        root = Path(tmp)
        source = write_source(rec, root / "rec.hdf5")
        before = source.read_bytes()
        out = root / "ds"
        summary = h2l.run(
            [source],
            h2l.Hdf5ToLerobotOptions(
                out=out, task="Pick", format=fmt, fps=rec.fps, skip_frames=skip, min_length=0, crf=0
            ),
        )
        assert summary.episodes_written == len(kept)
        assert summary.frames_written == sum(rec.lengths[d] - skip for d in kept)
        assert errors_of(out) == []
        columns = lerobot_columns(out)
        assert [int(c["length"][0]) for c in columns] == [rec.lengths[d] - skip for d in kept]
        for k, (d, episode) in enumerate(zip(kept, columns, strict=True)):
            action, state = lerobot_of(rec.actions[d][skip:]), lerobot_of(rec.states[d][skip:])
            assert_bits_equal(episode["action"], action, f"episode {k} action")
            assert_bits_equal(episode["observation.state"], state, f"episode {k} state")
            np.testing.assert_allclose(episode["timestamps"], np.arange(len(action)) / rec.fps, atol=1e-6)
        assert assert_camera_exact(rec, decoded(out), skip) <= OWN_TOLERANCE

        back = root / "back.hdf5"
        replayed = l2h.run(out, l2h.LerobotToHdf5Options(out=back, template=source))
        assert replayed.episodes_written == len(kept)
        assert "provenance" in replayed.details["mapping_note"]
        assert replayed.details["replay_fps"] == rec.fps  # one HDF5 step per LeRobot frame: no resampling
        assert errors_of(back) == []
        assert assert_replayed(rec, back, skip) <= 2.5e-7
        assert source.read_bytes() == before  # the input is never modified


@PROPERTY_SETTINGS
@given(rec=recordings(), fmt=st.sampled_from(["v2.1", "v3.0"]))
def test_lerobot_versions_round_trip_copies_frames_and_values(rec: Recording, fmt: str) -> None:
    other = "v3.0" if fmt == "v2.1" else "v2.1"
    with tempfile.TemporaryDirectory(prefix="rs-prop-") as tmp:
        root = Path(tmp)
        source = write_source(rec, root / "rec.hdf5")
        first = root / "first"
        h2l.run(
            [source],
            h2l.Hdf5ToLerobotOptions(
                out=first, task="Pick", format=fmt, fps=rec.fps, skip_frames=0, min_length=0, crf=0
            ),
        )
        converted = root / "converted"
        lv.run(first, lv.LerobotVersionOptions(out=converted, target=other))
        again = root / "again"
        lv.run(converted, lv.LerobotVersionOptions(out=again, target=fmt))
        original_frames = decoded(first)
        original_columns = lerobot_columns(first)
        for path, version in ((converted, other), (again, fmt)):
            assert errors_of(path) == []
            with open_dataset(path) as dataset:
                assert dataset.format.value.endswith(version.lstrip("v")), (dataset.format, version)
                assert dataset.fps == rec.fps
                assert sorted(dataset.cameras) == sorted(rec.cameras)
            frames = decoded(path)
            assert frames.keys() == original_frames.keys()
            for key, video in frames.items():
                assert np.array_equal(video, original_frames[key]), (path.name, key)  # packets copied
            columns = lerobot_columns(path)
            assert len(columns) == len(original_columns)
            for mine, theirs in zip(columns, original_columns, strict=True):
                for name, values in theirs.items():
                    assert_bits_equal(mine[name], values, f"{path.name} {name}")
        assert_camera_exact(rec, decoded(again))
        # replaying the converted version gives the same actions (paired through the provenance chain)
        back = root / "back.hdf5"
        replayed = l2h.run(converted, l2h.LerobotToHdf5Options(out=back, template=source))
        assert "provenance" in replayed.details["mapping_note"], replayed.details
        assert_replayed(rec, back)


def test_frames_of_the_property_recordings_are_pairwise_distinct() -> None:
    """The camera check relies on every two source frames differing by >= 9 levels on average."""
    rec = Recording([40] * 4, ["a", "b", "c"], 30.0, [], [], list(range(12)))
    frames = np.stack([source_frame(rec, d, c, t) for d in range(4) for c in range(3) for t in range(40)])
    # constant on 8x8 blocks: the mean over pixels is the mean over block values
    values = frames[:, ::BLOCK, ::BLOCK].reshape(len(frames), -1).astype(np.int16)
    assert np.array_equal(np.repeat(np.repeat(frames[:, ::BLOCK, ::BLOCK], BLOCK, 1), BLOCK, 2), frames)
    distance = np.abs(values[:, None, :] - values[None, :, :]).mean(axis=2)
    np.fill_diagonal(distance, np.inf)
    assert distance.min() >= 9.0


def test_round_trip_error_bound_is_reached_but_never_exceeded() -> None:
    """Dense values over every joint's whole range: the float32 bound holds and is tight."""
    lo, hi = _limits()
    grid = np.linspace(0, 1, 4001)[:, None]
    values = (lo + grid * (hi - lo)).astype(np.float32)
    lerobot = lerobot_of(values)
    back = radians_of(lerobot)
    error = np.abs(back.astype(np.float64) - values.astype(np.float64))
    bound = round_trip_bound(lerobot, back)
    assert np.all(error <= bound)
    assert error.max() > 0.25 * bound.max()  # not an exact round trip: the bound is what is achievable
    assert error.max() <= 2.5e-7
