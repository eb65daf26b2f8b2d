"""Episode-level worker processes of curate export, cosmos trainset and idm prepare.

For each: ``jobs=1`` (the task function run in this process) and ``jobs=3`` (worker processes)
write the same bytes (every file; only the records' timestamps differ), with content distinct per
episode and per camera so a swap would show; a corrupt episode names the file and the episode;
a cancel mid-run leaves no output, no staging and no child process.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from backend.cosmos.trainset import TrainsetOptions, build_trainset
from backend.curation import Curation, export_curated
from backend.errors import Cancelled, StudioError
from backend.formats import open_dataset
from backend.idm.prepare import PrepareOptions, prepare_idm_dataset
from backend.media.reader import VideoReader
from backend.progress import Progress
from tests.cosmos_data import StandinSample, frame_gray, write_small_lerobot, write_standin_outputs
from tests.test_idm_kit import seed_modality

VOLATILE = {"written_at", "created", "finished", "started", "seconds", "time", "timestamp_utc", "date"}


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("*" if k in VOLATILE else _masked(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by relative path; JSON files with their timestamps masked and
    paths that name ``root`` itself made relative."""
    files = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.suffix == ".json":
            text = data.decode("utf-8").replace(str(root), "<OUT>")
            data = json.dumps(_masked(json.loads(text)), sort_keys=True).encode()
        files[str(path.relative_to(root))] = data
    return files


def _assert_same_tree(a: Path, b: Path) -> None:
    ta, tb = _tree(a), _tree(b)
    assert sorted(ta) == sorted(tb)
    different = [name for name in ta if ta[name] != tb[name]]
    assert different == []


def _children() -> set[int]:
    """Live child processes of this process."""
    pids: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            pids |= {int(p) for p in (task / "children").read_text().split()}
        except OSError:
            continue
    return pids


def _corrupt(mp4: Path) -> None:
    """Overwrite the middle third of the mp4's frame data: it opens, and decoding fails part way."""
    data = bytearray(mp4.read_bytes())
    at = data.find(b"mdat")
    size = int.from_bytes(data[at - 4 : at], "big")
    a, b = at + 4 + size // 3, at + 4 + 2 * size // 3
    data[a:b] = bytes([0xAB]) * (b - a)
    mp4.write_bytes(bytes(data))


def _truncate(mp4: Path) -> None:
    """Cut the file short (as a copy that stopped half way): it no longer opens."""
    data = mp4.read_bytes()
    mp4.write_bytes(data[: len(data) * 6 // 10])


class _CancelAfter(Progress):
    """Cancels once ``reports`` reports with some work done have come."""

    def __init__(self, reports: int) -> None:
        super().__init__()
        self.left = reports

    def report(self, done: int, total: int, text: str = "") -> None:
        if done > 0:
            self.left -= 1
            if self.left <= 0:
                self.cancel()
        super().report(done, total, text)


def _assert_nothing_left(folder: Path, expected: set[str], before: set[int]) -> None:
    assert {p.name for p in folder.iterdir()} == expected  # no output, no .partial / staging
    assert _children() - before == set()


@pytest.fixture(scope="module")
def two_cameras(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """v2.1, cameras front and wrist (a white square left / right), gray level per episode."""
    root = tmp_path_factory.mktemp("f_src")
    return write_small_lerobot(root / "src", [14, 9, 12], cameras=("front", "wrist"), size=(64, 48))


# -- curate export ---------------------------------------------------------------------------------


def _curate(
    source: Path, out: Path, jobs: int, progress: Progress | None = None, fmt: str = "lerobot_v3.0"
) -> Path:
    with open_dataset(source) as dataset:
        curation = Curation(source, sidecar=out.parent / "decisions.curation.json")
        curation.attach(dataset)
        curation.set(1, excluded=True)
        curation.set_trim_in(2, 3, 12)
        return export_curated(dataset, curation, out, fmt, progress=progress, jobs=jobs)


def test_curate_export_same_bytes_for_any_jobs(two_cameras: Path, tmp_path: Path) -> None:
    one = _curate(two_cameras, tmp_path / "one", 1)
    three = _curate(two_cameras, tmp_path / "three", 3)
    _assert_same_tree(one, three)
    with open_dataset(three) as dataset:
        assert [e.length for e in dataset.episodes] == [14, 9]
        # episode 1 of the output is source episode 2 from frame 3: camera squares on their sides
        front, wrist = dataset.episode(1).stream("front"), dataset.episode(1).stream("wrist")
        try:
            f, w = front.frame(0), wrist.frame(0)
        finally:
            front.close()
            wrist.close()
    assert abs(float(f[30:40, 30:40].mean()) - frame_gray(2, 3)) < 4
    assert f[10, 10].mean() > 200 and f[10, 55].mean() < 200
    assert w[10, 55].mean() > 200 and w[10, 10].mean() < 200


def test_curate_export_corrupt_episode_named(two_cameras: Path, tmp_path: Path) -> None:
    import shutil

    source = tmp_path / "src"
    shutil.copytree(two_cameras, source)
    _truncate(source / "videos/chunk-000/observation.images.wrist/episode_000002.mp4")
    for jobs in (1, 3):
        with pytest.raises(StudioError) as caught:
            _curate(source, tmp_path / f"out{jobs}", jobs)
        assert "episode 2" in caught.value.message and "episode_000002.mp4" in caught.value.message
        assert not (tmp_path / f"out{jobs}").exists()


def test_curate_export_cancel_leaves_nothing(two_cameras: Path, tmp_path: Path) -> None:
    before = _children()
    (tmp_path / "work").mkdir()
    with pytest.raises(Cancelled):
        _curate(two_cameras, tmp_path / "work" / "out", 3, _CancelAfter(2))
    _assert_nothing_left(tmp_path / "work", {"decisions.curation.json"}, before)


# -- cosmos trainset -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def av1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """AV1 episodes: every one is encoded to H.264 (none is copied)."""
    root = tmp_path_factory.mktemp("f_av1")
    return write_small_lerobot(root / "av1", [16, 11, 13], codec="av1", tasks=["Lift the cube.", "Stack."])


def _trainset(source: Path, out: Path, jobs: int, progress: Progress | None = None) -> Any:
    return build_trainset(source, out, TrainsetOptions(keep_short=True, jobs=jobs), progress)


def test_trainset_same_bytes_for_any_jobs(av1: Path, tmp_path: Path) -> None:
    one = _trainset(av1, tmp_path / "one", 1)
    _trainset(av1, tmp_path / "three", 3)
    _assert_same_tree(tmp_path / "one", tmp_path / "three")
    assert [w["copied"] for w in one.written] == [False, False, False]
    for stem, episode in (("1", 0), ("2", 1), ("3", 2)):
        with VideoReader(tmp_path / "three" / "videos" / f"{stem}.mp4") as reader:
            assert abs(float(reader.frame(0)[30:40, 30:40].mean()) - frame_gray(episode, 0)) < 4


def test_trainset_corrupt_episode_named(two_cameras: Path, tmp_path: Path) -> None:
    import shutil

    source = tmp_path / "src"
    shutil.copytree(two_cameras, source)
    _truncate(source / "videos/chunk-000/observation.images.front/episode_000001.mp4")
    for jobs in (1, 3):
        with pytest.raises(StudioError) as caught:
            build_trainset(
                source, tmp_path / f"out{jobs}", TrainsetOptions(camera="front", keep_short=True, jobs=jobs)
            )
        assert "episode 1" in caught.value.message and "episode_000001.mp4" in caught.value.message
        assert not (tmp_path / f"out{jobs}").exists()


def test_trainset_cancel_leaves_nothing(av1: Path, tmp_path: Path) -> None:
    before = _children()
    (tmp_path / "work").mkdir()
    with pytest.raises(Cancelled):
        _trainset(av1, tmp_path / "work" / "out", 3, _CancelAfter(2))
    _assert_nothing_left(tmp_path / "work", set(), before)


# -- idm prepare -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cosmos(tmp_path_factory: pytest.TempPathFactory, two_cameras: Path) -> dict[str, Path]:
    """Stand-in Cosmos outputs: front and wrist samples of every episode, two prompts; a kit folder."""
    root = tmp_path_factory.mktemp("f_cosmos")
    samples = [
        StandinSample(f"{camera}_episode_{e:06d}", e, 12 + e, prompt)
        for e, prompt in ((0, "Pick the orange."), (1, "Lift the cube."), (2, "Pick the orange."))
        for camera in ("front",)
    ]
    out = write_standin_outputs(two_cameras, root / "cosmos", samples, camera="front")
    write_standin_outputs(
        two_cameras,
        root / "wrist",
        [StandinSample("wrist_episode_000002", 2, 15, "Lift the cube.")],
        camera="wrist",
    )
    for name in ("wrist_episode_000002.mp4", "wrist_episode_000002.json"):
        os.replace(root / "wrist" / name, out / name)
    kit = root / "kit"
    kit.mkdir()
    (kit / "modality.json").write_text(json.dumps(seed_modality()), encoding="utf-8")
    (kit / "stats.json").write_text(json.dumps({"observation.state": {"mean": [0.0] * 6}}), encoding="utf-8")
    return {"cosmos": out, "kit": kit}


def _prepare(cosmos: dict[str, Path], out: Path, jobs: int, progress: Progress | None = None) -> Any:
    options = PrepareOptions(metadata_dir=str(cosmos["kit"]), min_frames=10, split_tasks=True, jobs=jobs)
    return prepare_idm_dataset(cosmos["cosmos"], out, options, progress)


def test_idm_prepare_same_bytes_for_any_jobs(cosmos: dict[str, Path], tmp_path: Path) -> None:
    summary = _prepare(cosmos, tmp_path / "one", 1)
    _prepare(cosmos, tmp_path / "three", 3)
    _assert_same_tree(tmp_path / "one", tmp_path / "three")
    assert [(e["name"], e["frames"]) for e in summary.episodes] == [
        ("front_episode_000001", 13),
        ("wrist_episode_000002", 15),
        ("front_episode_000000", 12),
        ("front_episode_000002", 14),
    ]
    lift = tmp_path / "three" / "so101.Lift_the_cube"
    with VideoReader(lift / "videos/chunk-000/observation.images.front/episode_000001.mp4") as reader:
        frame = reader.frame(0)  # the wrist sample: its square on the right, letterboxed to 256x192
    assert frame.shape == (256, 256, 3)
    assert frame[32 + 30, 256 - 30].mean() > 200 and frame[32 + 30, 30].mean() < 200


def test_idm_prepare_corrupt_sample_named(cosmos: dict[str, Path], tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "cosmos"
    shutil.copytree(cosmos["cosmos"], folder)
    _corrupt(folder / "front_episode_000002.mp4")
    for jobs in (1, 3):
        with pytest.raises(StudioError) as caught:
            _prepare({**cosmos, "cosmos": folder}, tmp_path / f"out{jobs}", jobs)
        assert "front_episode_000002" in caught.value.message and "decoding frame" in caught.value.message
        assert caught.value.message.count(str(folder / "front_episode_000002.mp4")) == 1  # said once
        assert not (tmp_path / f"out{jobs}").exists()


def test_idm_prepare_cancel_leaves_nothing(cosmos: dict[str, Path], tmp_path: Path) -> None:
    before = _children()
    (tmp_path / "work").mkdir()
    with pytest.raises(Cancelled):
        _prepare(cosmos, tmp_path / "work" / "out", 3, _CancelAfter(2))
    _assert_nothing_left(tmp_path / "work", set(), before)


def test_jobs_flag_on_the_three_commands() -> None:
    from backend.cli import build_parser

    parser = build_parser()
    for argv in (
        ["curate", "export", "ds", "--out", "o", "--jobs", "2"],
        ["cosmos", "trainset", "ds", "--out", "o", "-j", "2"],
        ["idm", "prepare", "c", "--out", "so101.x", "--jobs", "2"],
    ):
        assert parser.parse_args(argv).jobs == 2
    assert parser.parse_args(["cosmos", "trainset", "ds", "--out", "o"]).jobs is None


def test_trainset_copies_whole_h264_episodes_here(two_cameras: Path, tmp_path: Path) -> None:
    """Nothing to encode: the episodes are copied in this process (a worker would only cost its start)."""
    summary = build_trainset(
        two_cameras, tmp_path / "t", TrainsetOptions(camera="wrist", keep_short=True, jobs=3)
    )
    assert [w["copied"] for w in summary.written] == [True, True, True]
    source = two_cameras / "videos/chunk-000/observation.images.wrist/episode_000001.mp4"
    assert (tmp_path / "t/videos/2.mp4").read_bytes() == source.read_bytes()
