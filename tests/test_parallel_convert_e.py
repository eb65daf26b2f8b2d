"""Episode-level worker processes for transcode, the LeRobot version conversions and lerobot-to-hdf5:
the same output for any --jobs, a failing episode named, a cancel that leaves nothing behind."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from backend import provenance as prov
from backend.convert import hdf5_to_lerobot as h2l
from backend.convert import lerobot_to_hdf5 as l2h
from backend.convert import lerobot_versions as lv
from backend.convert import transcode as tc
from backend.errors import Cancelled, StudioError
from backend.formats import open_dataset
from backend.progress import Progress
from tests.recordings import DemoSpec, RecordingSpec, write_recording
from tests.video_diff import describe

VOLATILE = ("created", "written_at")  # clock readings in the provenance records


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A recording (3 demos, 2 cameras, every frame's level distinct per demo and camera) and its
    LeRobot v2.1 / v3.0 conversions (H.264)."""
    folder = tmp_path_factory.mktemp("parallel_e")
    recording = write_recording(
        folder / "r.hdf5", RecordingSpec([DemoSpec(25), DemoSpec(22), DemoSpec(28)], width=64, height=48)
    )
    out = {"hdf5": recording}
    for fmt in ("v2.1", "v3.0"):
        out[fmt] = folder / fmt
        h2l.run([recording], h2l.Hdf5ToLerobotOptions(out=out[fmt], task="t", format=fmt, jobs=2))
    return out


def _scrub(value: Any, root: str) -> Any:
    if isinstance(value, dict):
        return {k: _scrub(v, root) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_scrub(v, root) for v in value]
    return value.replace(root, "OUT") if isinstance(value, str) else value


def _files(root: Path) -> dict[str, bytes]:
    """Every file's bytes; the JSON records without their clock readings and output path."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            relative = path.relative_to(root).as_posix()
            data = path.read_bytes()
            if relative in (prov.LEROBOT_FILE, ".rollout_studio_output.json"):
                data = json.dumps(_scrub(json.loads(data), str(root)), sort_keys=True).encode()
            out[relative] = data
    return out


def _assert_same_files(one: Path, three: Path) -> None:
    """Byte-identical outputs; when an mp4 differs, the message says how (tests/video_diff.py)."""
    a, b = _files(one), _files(three)
    assert sorted(a) == sorted(b)
    differing = [name for name in a if a[name] != b[name]]
    details = [describe(one / name, three / name) for name in differing if name.endswith(".mp4")]
    assert differing == [], "\n".join([*differing, *details])


def _first_frames(path: Path) -> dict[tuple[int, str], np.ndarray]:
    with open_dataset(path) as dataset:
        frames = {}
        for episode in dataset.episodes:
            for camera in dataset.cameras:
                stream = episode.stream(camera)
                frames[(episode.index, camera)] = stream.frame(0).astype(np.int16)
                stream.close()
        return frames


def _assert_same_pictures(source: Path, out: Path) -> None:
    """Each output (episode, camera) shows its own source frames, not another episode's or camera's."""
    before, after = _first_frames(source), _first_frames(out)
    assert set(before) == set(after) and len(before) == 6
    for where, frame in after.items():
        nearest = min(before, key=lambda k: float(np.abs(before[k] - frame).mean()))
        assert nearest == where and float(np.abs(before[where] - frame).mean()) < 3


def _children() -> list[str]:
    """Command lines of this process's video worker children still alive."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and "video_worker" in command:
            found.append(command)
    return found


class _CancelWhileEncoding(Progress):
    """Cancels at the first report made while workers encode; notes the workers alive then."""

    def __init__(self) -> None:
        super().__init__()
        self.workers_seen: list[str] = []

    def report(self, done: int, total: int, text: str = "") -> None:
        if "encoding" in text and not self.cancelled:
            self.workers_seen = _children()
            self.cancel()
        super().report(done, total, text)


def _corrupt_frames(video: Path) -> None:
    """Overwrite the last two thirds of the mp4's frame data: it still opens, its frames don't decode."""
    data = bytearray(video.read_bytes())
    at = data.index(b"mdat") + 4
    size = int.from_bytes(data[at - 8 : at - 4], "big")
    data[at + size // 3 : at - 8 + size] = b"\x55" * (at - 8 + size - at - size // 3)
    video.write_bytes(bytes(data))


def _transcode(src: Path, out: Path, jobs: int, progress: Progress | None = None) -> Any:
    return tc.run(src, tc.TranscodeOptions(out=out, force=True, jobs=jobs, hash_mode="fast"), progress)


def _versions(src: Path, out: Path, target: str, jobs: int, progress: Progress | None = None) -> Any:
    options = lv.LerobotVersionOptions(out=out, target=target, reencode=True, jobs=jobs, hash_mode="fast")
    return lv.run(src, options, progress)


# -- the same output for any number of workers ------------------------------------------------------


def test_transcode_gives_the_same_bytes_for_any_jobs(sources, tmp_path: Path) -> None:
    one, three = tmp_path / "j1", tmp_path / "j3"
    _transcode(sources["v2.1"], one, 1)
    _transcode(sources["v2.1"], three, 3)
    files = _files(one)
    assert len([f for f in files if f.endswith(".mp4")]) == 6
    _assert_same_files(one, three)
    _assert_same_pictures(sources["v2.1"], three)


@pytest.mark.parametrize(("source", "target"), [("v3.0", "v2.1"), ("v2.1", "v3.0")])
def test_version_change_reencodes_the_same_bytes_for_any_jobs(
    sources, tmp_path: Path, source: str, target: str
) -> None:
    one, three = tmp_path / "j1", tmp_path / "j3"
    _versions(sources[source], one, target, 1)
    _versions(sources[source], three, target, 3)
    files = _files(one)
    assert any(f.endswith(".mp4") for f in files) and any(f.endswith(".parquet") for f in files)
    _assert_same_files(one, three)
    _assert_same_pictures(sources[source], three)
    with open_dataset(three) as dataset:
        assert dataset.format is lv.TARGETS[target] and dataset.num_episodes == 3


def test_lerobot_to_hdf5_writes_the_same_datasets_for_any_jobs(sources, tmp_path: Path) -> None:
    outs = []
    for jobs in (1, 3):
        out = tmp_path / f"j{jobs}.hdf5"
        options = l2h.LerobotToHdf5Options(
            out=out, template=sources["hdf5"], copy_states=True, jobs=jobs, hash_mode="fast"
        )
        l2h.run(sources["v2.1"], options)
        outs.append(out)
    contents = []
    for out in outs:
        arrays: dict[str, bytes] = {}
        with h5py.File(out, "r") as handle:
            handle.visititems(
                lambda name, obj, arrays=arrays: arrays.__setitem__(name, obj[()].tobytes())
                if isinstance(obj, h5py.Dataset)
                else None
            )
        contents.append(arrays)
    assert len([k for k in contents[0] if k.endswith("/actions")]) >= 3
    assert contents[0] == contents[1]


# -- a failing episode is named --------------------------------------------------------------------


def test_a_corrupt_video_names_its_file_and_episode(sources, tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(sources["v2.1"], src)
    bad = src / "videos/chunk-000/observation.images.wrist/episode_000001.mp4"
    _corrupt_frames(bad)
    with pytest.raises(StudioError) as transcoding:
        _transcode(src, tmp_path / "tc", 1)
    assert str(bad) in str(transcoding.value) and "episode_000001" in transcoding.value.message
    with pytest.raises(StudioError) as changing:
        _versions(src, tmp_path / "v3", "v3.0", 1)
    assert str(bad) in str(changing.value) and "episode 1 camera 'wrist'" in changing.value.message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]  # no output, no staging
    assert _children() == []


# -- a cancel leaves nothing -----------------------------------------------------------------------


@pytest.mark.parametrize("conversion", ["transcode", "v3-to-v2"])
def test_cancel_while_encoding_leaves_no_output_staging_or_child(
    sources, tmp_path: Path, conversion: str
) -> None:
    out = tmp_path / "out"
    progress = _CancelWhileEncoding()
    with pytest.raises(Cancelled):
        if conversion == "transcode":
            _transcode(sources["v2.1"], out, 2, progress)
        else:
            _versions(sources["v3.0"], out, "v2.1", 2, progress)
    assert progress.workers_seen  # the cancel came while worker processes ran
    assert list(tmp_path.iterdir()) == []
    assert _children() == []
