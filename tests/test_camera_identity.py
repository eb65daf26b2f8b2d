"""Every writer of video keeps each camera's pictures in that camera, frame by frame (issue #14).

The sources have two cameras that look nothing alike: "front" is dark with a bright vertical bar
moving right, "wrist" is bright with a dark horizontal bar moving down; each episode has its own
background level. Every output video is decoded (PyAV; HDF5 images read with h5py) and each frame's
signature (``backend.media.fingerprint``) must be nearest to the source frame it should be (same
camera, same episode, same frame number) among ALL source frames, close to it, and far from the
other camera's frame. A writer that puts the last camera into every camera, swaps cameras or
episodes, or shifts frames fails here.
"""

from __future__ import annotations

import ast
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import av
import h5py
import numpy as np
import pyarrow.parquet as pq
import pytest

from backend.convert import camera_worker
from backend.convert import hdf5_to_lerobot as h2l
from backend.convert import lerobot_versions as lv
from backend.convert import transcode as tc
from backend.cosmos.batch import BatchOptions, build_batch
from backend.cosmos.trainset import TrainsetOptions, build_trainset
from backend.curation import Curation, export_curated
from backend.formats import open_dataset, open_writer
from backend.formats.base import CameraSpec, WriterSpec
from backend.formats.leisaac_hdf5 import copy_to_hdf5
from backend.idm.prepare import PrepareOptions, prepare_idm_dataset
from backend.media.encoder import VideoEncoder
from backend.media.export import letterbox
from backend.media.fingerprint import (
    IDENTICAL_TOLERANCE,
    cameras_look_identical,
    frame_signature,
    signature_distance,
)
from backend.model import Feature, FeatureKind
from backend.teleop.cameras import Frame
from backend.teleop.hdf5_recorder import Hdf5Recorder
from backend.teleop.lerobot_recorder import LeRobotRecorder
from backend.teleop.steps import EpisodeMeta, Step
from backend.units import SO101_JOINTS, JointSpace, Unit
from tests.recordings import DemoSpec, RecordingSpec, write_recording

W, H = 64, 48
CAMERAS = ("front", "wrist")
LENGTHS = (12, 10)  # frames of episode 0 and 1
OWN_MAX = 8.0  # grey levels: a frame against the source frame it came from (two lossy encodes)
OTHER_MIN = 60.0  # ... against the other camera's frame of the same time
Signatures = dict[int, np.ndarray]  # episode -> (frames, 8, 8)


def picture(camera: str, episode: int, t: int) -> np.ndarray:
    """Frame ``t`` of ``camera`` in ``episode``: unlike the other camera, episode and frames."""
    image = np.empty((H, W, 3), np.uint8)
    if camera == "front":
        image[:] = 25 + 30 * episode
        x = 4 * t
        image[:, x : x + 8] = 225
    else:
        image[:] = 215 - 30 * episode
        y = 3 * t
        image[y : y + 6, :] = 15
    return image


def _other(camera: str) -> str:
    return "wrist" if camera == "front" else "front"


_CANDIDATES: dict[object, dict[tuple[str, int, int], np.ndarray]] = {}


def _candidates(
    transform: Callable[[np.ndarray], np.ndarray] | None,
) -> dict[tuple[str, int, int], np.ndarray]:
    """Signatures of every source frame (after ``transform``, e.g. the IDM's letterbox)."""
    if transform not in _CANDIDATES:
        _CANDIDATES[transform] = {
            (camera, episode, t): frame_signature(
                transform(picture(camera, episode, t)) if transform else picture(camera, episode, t)
            )
            for camera in CAMERAS
            for episode, length in enumerate(LENGTHS)
            for t in range(length)
        }
    return _CANDIDATES[transform]


def check_camera(
    signatures: np.ndarray,
    camera: str,
    episode: int,
    first: int = 0,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
    what: str = "",
) -> None:
    """Output frame k of ``camera`` must be source frame ``first + k`` of that camera and episode."""
    candidates = _candidates(transform)
    for k, signature in enumerate(signatures):
        expected = (camera, episode, first + k)
        nearest = min(candidates, key=lambda key: signature_distance(signature, candidates[key]))
        own = signature_distance(signature, candidates[expected])
        other = signature_distance(signature, candidates[(_other(camera), episode, first + k)])
        assert nearest == expected, f"{what} {camera} episode {episode} frame {k} shows {nearest}"
        assert own <= OWN_MAX, f"{what} {camera} episode {episode} frame {k}: {own:.1f} levels off"
        assert other >= OTHER_MIN, f"{what} {camera} episode {episode} frame {k} looks like {_other(camera)}"


# -- reading outputs -------------------------------------------------------------------------------


def decode(path: Path) -> list[tuple[float, np.ndarray]]:
    """(time in s, RGB frame) of every frame of an mp4, with PyAV."""
    with av.open(str(path)) as container:
        return [(float(f.time), f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]


def signatures_of(frames: list[np.ndarray]) -> np.ndarray:
    return np.stack([frame_signature(frame) for frame in frames])


def lerobot_signatures(root: Path, camera: str) -> Signatures:
    """Per episode, the signatures of ``camera``'s frames in a LeRobot v2.1 / v3.0 folder (PyAV)."""
    info = json.loads((root / "meta/info.json").read_text(encoding="utf-8"))
    key = f"observation.images.{camera}"
    out: Signatures = {}
    if info["codebase_version"] == "v3.0":
        rows = pq.read_table(sorted((root / "meta/episodes").rglob("*.parquet"))).to_pylist()
        files: dict[Path, list[tuple[float, np.ndarray]]] = {}
        for row in rows:
            path = root / info["video_path"].format(
                video_key=key,
                chunk_index=row[f"videos/{key}/chunk_index"],
                file_index=row[f"videos/{key}/file_index"],
            )
            if path not in files:
                files[path] = decode(path)
            start, stop = row[f"videos/{key}/from_timestamp"], row[f"videos/{key}/to_timestamp"]
            frames = [f for time, f in files[path] if start - 1e-4 <= time < stop - 1e-4]
            assert len(frames) == row["length"], (path, row["episode_index"])
            out[int(row["episode_index"])] = signatures_of(frames)
        return out
    lines = (root / "meta/episodes.jsonl").read_text(encoding="utf-8").splitlines()
    for row in (json.loads(line) for line in lines):
        index = int(row["episode_index"])
        path = root / info["video_path"].format(
            episode_chunk=index // int(info["chunks_size"]), video_key=key, episode_index=index
        )
        frames = [f for _, f in decode(path)]
        assert len(frames) == row["length"], path
        out[index] = signatures_of(frames)
    return out


def hdf5_signatures(path: Path, camera: str) -> Signatures:
    with h5py.File(path, "r") as handle:
        demos = sorted(handle["data"], key=lambda name: int(name.split("_")[-1]))
        return {
            int(name.split("_")[-1]): signatures_of(list(handle[f"data/{name}/obs/{camera}"][()]))
            for name in demos
        }


def check_lerobot(root: Path, first: dict[int, int] | None = None, what: str = "") -> None:
    """Both cameras of every episode of ``root``; output episode e is source episode e."""
    for camera in CAMERAS:
        signatures = lerobot_signatures(root, camera)
        assert sorted(signatures) == [0, 1], what
        for episode, sigs in signatures.items():
            check_camera(sigs, camera, episode, (first or {}).get(episode, 0), what=what)


# -- sources ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """ "hdf5": a LeIsaac recording; "<v2.1|v3.0>-<h264|av1>": LeRobot datasets, same pictures."""
    folder = tmp_path_factory.mktemp("camera identity sources ü")  # spaces and non-ASCII too
    out: dict[str, Path] = {}
    recording = write_recording(
        folder / "rec.hdf5", RecordingSpec([DemoSpec(n) for n in LENGTHS], width=W, height=H)
    )
    with h5py.File(recording, "r+") as handle:
        for demo, length in enumerate(LENGTHS):
            for camera in CAMERAS:
                handle[f"data/demo_{demo}/obs/{camera}"][...] = np.stack(
                    [picture(camera, demo, t) for t in range(length)]
                )
    out["hdf5"] = recording
    names = [f"{j}.pos" for j in SO101_JOINTS]
    space = JointSpace(tuple(SO101_JOINTS), Unit.LEROBOT_RANGE)
    for version in ("v2.1", "v3.0"):
        for codec in ("h264", "av1"):
            spec = WriterSpec(
                fps=30.0,
                robot_type="so101_follower",
                features={
                    key: Feature(key, FeatureKind.VECTOR, "float32", (6,), names, space=space)
                    for key in ("action", "observation.state")
                },
                cameras=[CameraSpec(camera, W, H) for camera in CAMERAS],
                options={"codec": codec, "gop": 4, "crf": 20},
            )
            path = folder / f"{version}-{codec}"
            with open_writer(f"lerobot_{version}", path, spec) as writer:
                for episode, length in enumerate(LENGTHS):
                    ew = writer.begin_episode(f"task {episode}")
                    t = np.arange(length, dtype=np.float32)[:, None]
                    action = (20 * np.sin(t / 7 + np.arange(6)) + 30).astype(np.float32)
                    ew.add_frames(
                        {"action": action, "observation.state": action},
                        {c: [picture(c, episode, k) for k in range(length)] for c in CAMERAS},
                    )
                    ew.end(success=True)
            out[f"{version}-{codec}"] = path
    return out


def test_sources_hold_what_the_checks_expect(sources: dict[str, Path]) -> None:
    """The checks themselves: the sources pass, and the other camera's frames fail."""
    check_lerobot(sources["v3.0-av1"], what="source")
    front = hdf5_signatures(sources["hdf5"], "front")
    check_camera(front[1], "front", 1)
    with pytest.raises(AssertionError, match="shows"):
        check_camera(front[1], "wrist", 1)
    with pytest.raises(AssertionError, match="shows"):
        check_camera(front[1], "front", 0)  # another episode
    with pytest.raises(AssertionError, match="shows"):
        check_camera(front[1][1:], "front", 1)  # one frame late


# -- LeRobot versions ------------------------------------------------------------------------------

VERSION_CASES = [
    # (source, target, codec, reencode, what the plan says the videos go through)
    ("v3.0-h264", "v2.1", "keep", False, "copy h264 packets (frames identical)"),
    ("v3.0-h264", "v2.1", "h264", True, "re-encode h264 -> h264"),
    ("v3.0-av1", "v2.1", "keep", False, "copy av1 packets (frames identical)"),
    ("v3.0-av1", "v2.1", "h264", False, "re-encode av1 -> h264"),  # the GR00T default
    ("v3.0-av1", "v2.1", "keep", True, "re-encode av1 -> av1"),
    ("v2.1-h264", "v3.0", "keep", False, "copy h264 packets (frames identical)"),
    ("v2.1-h264", "v3.0", "h264", True, "re-encode h264 -> h264"),
    ("v2.1-av1", "v3.0", "keep", False, "copy av1 packets (frames identical)"),
    ("v2.1-av1", "v3.0", "h264", False, "re-encode av1 -> h264"),
    ("v2.1-av1", "v3.0", "keep", True, "re-encode av1 -> av1"),
]


@pytest.mark.parametrize(("source", "target", "codec", "reencode", "videos"), VERSION_CASES)
def test_lerobot_versions_keep_each_camera(
    sources: dict[str, Path],
    tmp_path: Path,
    source: str,
    target: str,
    codec: str,
    reencode: bool,
    videos: str,
) -> None:
    options = lv.LerobotVersionOptions(out=tmp_path / "out", target=target, codec=codec, reencode=reencode)
    plan = lv.plan(sources[source], options)
    assert plan.ok, plan.errors
    assert plan.details["videos"] == {camera: videos for camera in CAMERAS}
    lv.run(sources[source], options)
    check_lerobot(tmp_path / "out", what=f"{source} -> {target}")


# -- transcode -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "default_out"), [("v2.1-av1", False), ("v3.0-av1", True)])
def test_transcode_keeps_each_camera(
    sources: dict[str, Path], tmp_path: Path, source: str, default_out: bool
) -> None:
    if default_out:  # no --out: SRC_h264 beside the source
        dataset = shutil.copytree(sources[source], tmp_path / "dataset")
        summary = tc.run(dataset, tc.TranscodeOptions())
        target = tmp_path / "dataset_h264"
    else:
        target = tmp_path / "out"
        summary = tc.run(sources[source], tc.TranscodeOptions(out=target))
    assert summary.output == str(target)
    assert summary.details["videos_transcoded"] == (2 if source.startswith("v3") else 4)
    check_lerobot(target, what=f"transcode {source}")


# -- HDF5 -> LeRobot -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "fmt"), [("processes", "v2.1"), ("processes", "v3.0"), ("threads", "v2.1"), ("threads", "v3.0")]
)
def test_hdf5_to_lerobot_keeps_each_camera(
    sources: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str, fmt: str
) -> None:
    started: list[list[str]] = []

    class Recorded(camera_worker.CameraWorkers):
        def __init__(self, cameras: list[str], workers: int | None = None, tasks: int | None = None) -> None:
            started.append(list(cameras))
            super().__init__(cameras, workers, tasks)

    monkeypatch.setattr(camera_worker, "CameraWorkers", Recorded)
    if path == "threads":  # what a frozen bundle does
        monkeypatch.setattr(camera_worker, "available", lambda: False)
    out = tmp_path / "out"
    options = h2l.Hdf5ToLerobotOptions(out=out, task="t", format=fmt, skip_frames=2, min_length=1)
    h2l.run([sources["hdf5"]], options)
    assert started == ([["front", "wrist"]] if path == "processes" else [])
    check_lerobot(out, first={0: 2, 1: 2}, what=f"hdf5 -> {fmt} ({path})")


# -- curation export -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "fmt"),
    [
        ("hdf5", "lerobot_v2.1"),
        ("v2.1-av1", "lerobot_v3.0"),
        ("v3.0-h264", "lerobot_v2.1"),
        ("v3.0-av1", "leisaac_hdf5"),  # LeRobot videos back into HDF5 images
        ("hdf5", "leisaac_hdf5"),
    ],
)
def test_curate_export_keeps_each_camera(
    sources: dict[str, Path], tmp_path: Path, source: str, fmt: str
) -> None:
    out = tmp_path / ("out.hdf5" if fmt == "leisaac_hdf5" else "out")
    with open_dataset(sources[source]) as dataset:
        curation = Curation(dataset.path, sidecar=tmp_path / "curation.json")
        curation.set_trim_in(0, 3, LENGTHS[0])  # episode 0: frames 3..9
        curation.set_trim_out(0, 9, LENGTHS[0])
        export_curated(dataset, curation, out, fmt)
    first = {0: 3, 1: 0}
    if fmt != "leisaac_hdf5":
        check_lerobot(out, first=first, what=f"curate {source} -> {fmt}")
        return
    for camera in CAMERAS:
        signatures = hdf5_signatures(out, camera)
        assert [len(s) for s in signatures.values()] == [7, LENGTHS[1]]
        for episode, sigs in signatures.items():
            check_camera(sigs, camera, episode, first[episode], what=f"curate {source} -> hdf5")


@pytest.mark.parametrize("source", ["v2.1-h264", "v3.0-av1"])
def test_copy_to_hdf5_keeps_each_camera(sources: dict[str, Path], tmp_path: Path, source: str) -> None:
    with open_dataset(sources[source]) as dataset:
        out = copy_to_hdf5(dataset, tmp_path / "copy.hdf5")
    for camera in CAMERAS:
        for episode, sigs in hdf5_signatures(out, camera).items():
            check_camera(sigs, camera, episode, what=f"copy_to_hdf5 {source}")


# -- Cosmos ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("camera", CAMERAS)
@pytest.mark.parametrize("source", ["v2.1-h264", "v2.1-av1", "v3.0-h264", "hdf5"])
def test_cosmos_trainset_writes_the_chosen_camera(
    sources: dict[str, Path], tmp_path: Path, source: str, camera: str
) -> None:
    out = tmp_path / "trainset"
    summary = build_trainset(sources[source], out, TrainsetOptions(camera=camera, keep_short=True))
    assert [w["episode"] for w in summary.written] == [0, 1]
    assert [w["copied"] for w in summary.written] == [source == "v2.1-h264"] * 2
    for written in summary.written:
        frames = [f for _, f in decode(out / "videos" / f"{written['stem']}.mp4")]
        assert len(frames) == LENGTHS[written["episode"]]
        check_camera(signatures_of(frames), camera, written["episode"], what=f"trainset {source}")


@pytest.mark.parametrize("camera", CAMERAS)
@pytest.mark.parametrize("source", ["v2.1-h264", "v3.0-av1"])
def test_cosmos_batch_inputs_are_the_chosen_camera(
    sources: dict[str, Path], tmp_path: Path, source: str, camera: str
) -> None:
    out = tmp_path / "batch.jsonl"
    result = build_batch(sources[source], out, BatchOptions(camera=camera))
    samples = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(samples) == result["samples"] == 2
    for sample in samples:
        episode = int(sample["name"].rsplit("_", 1)[1])
        video = Path(sample["input_path"])
        frames = [f for _, f in decode(video if video.is_absolute() else out.parent / video)]
        assert len(frames) == LENGTHS[episode]
        check_camera(signatures_of(frames), camera, episode, what=f"batch {source}")


# -- IDM -------------------------------------------------------------------------------------------


def test_idm_prepare_keeps_each_sample_picture(sources: dict[str, Path], tmp_path: Path) -> None:
    """Generated clips of different cameras/episodes: each output episode shows its own clip."""
    cosmos = tmp_path / "cosmos"
    cosmos.mkdir()
    clips = {
        "gen_episode_000000": ("front", 0),
        "gen_episode_000001": ("wrist", 1),
        "x_episode_000001": ("front", 1),
    }
    for name, (camera, episode) in clips.items():
        with VideoEncoder(cosmos / f"{name}.mp4", W, H, 16.0, crf=18) as writer:
            for t in range(LENGTHS[episode]):
                writer.write(picture(camera, episode, t))
        (cosmos / f"{name}.json").write_text(json.dumps({"prompt": f"task of {name}"}), encoding="utf-8")
    out = tmp_path / "so101.generated"
    summary = prepare_idm_dataset(
        cosmos, out, PrepareOptions(source_dataset=str(sources["v2.1-h264"]), min_frames=5)
    )
    assert sorted(e["name"] for e in summary.episodes) == sorted(clips)
    info = json.loads((out / "meta/info.json").read_text(encoding="utf-8"))
    (key,) = [k for k, f in info["features"].items() if f.get("dtype") == "video"]
    width, height = info["features"][key]["shape"][1], info["features"][key]["shape"][0]

    def box(frame: np.ndarray) -> np.ndarray:
        return letterbox(frame, width, height)

    camera = key.removeprefix("observation.images.")
    signatures = lerobot_signatures(out, camera)
    for row in summary.episodes:
        source_camera, source_episode = clips[row["name"]]
        check_camera(
            signatures[row["episode"]],
            source_camera,
            source_episode,
            transform=box,
            what=f"idm {row['name']}",
        )


# -- teleop recorders ------------------------------------------------------------------------------


def _steps(episode: int) -> list[Step]:
    zeros = np.zeros(6, np.float32)
    return [
        Step(
            t / 30,
            zeros,
            zeros,
            zeros,
            zeros,
            np.full(6, 2048, np.int32),
            None,
            True,
            {c: Frame(picture(c, episode, t), seq=t, capture_time=float(t)) for c in CAMERAS},
        )
        for t in range(LENGTHS[episode])
    ]


@pytest.mark.parametrize("kind", ["lerobot", "hdf5"])
def test_teleop_recorders_keep_each_camera(tmp_path: Path, kind: str) -> None:
    cameras = {c: (H, W) for c in CAMERAS}
    if kind == "lerobot":
        recorder = LeRobotRecorder(tmp_path / "rec", 30.0, cameras)
    else:
        recorder = Hdf5Recorder(tmp_path / "rec.hdf5", fsync=False)
    recorder.open()
    try:
        for episode in range(2):
            recorder.begin_episode(EpisodeMeta(episode, "t", 30.0, 0.0, episode, cameras, False))
            recorder.append(_steps(episode))
            recorder.end_episode(True)
    finally:
        recorder.close()
    if kind == "lerobot":
        check_lerobot(tmp_path / "rec", what="teleop lerobot")
        return
    for camera in CAMERAS:
        for episode, sigs in hdf5_signatures(tmp_path / "rec.hdf5", camera).items():
            check_camera(sigs, camera, episode, what="teleop hdf5")


# -- the fingerprint helper ------------------------------------------------------------------------


def test_fingerprint_tells_cameras_apart_through_a_codec(tmp_path: Path) -> None:
    front = [picture("front", 0, t) for t in range(LENGTHS[0])]
    wrist = [picture("wrist", 0, t) for t in range(LENGTHS[0])]
    path = tmp_path / "front.mp4"
    with VideoEncoder(path, W, H, 30.0, codec="av1") as writer:  # default crf 30: lossy
        for frame in front:
            writer.write(frame)
    decoded = signatures_of([f for _, f in decode(path)])
    exact = signatures_of(front)
    assert decoded.shape == (LENGTHS[0], 8, 8) and decoded.dtype == np.float32
    assert cameras_look_identical(decoded, exact)
    assert signature_distance(decoded, exact) < IDENTICAL_TOLERANCE / 2
    assert not cameras_look_identical(decoded, signatures_of(wrist))
    # one frame that differs is enough
    shuffled = exact.copy()
    shuffled[5] = frame_signature(wrist[5])
    assert not cameras_look_identical(decoded, shuffled)
    # a signature is the mean grey of each 8x6 block here: a flat frame gives its own level
    assert np.allclose(frame_signature(np.full((H, W, 3), 77, np.uint8)), 77.0, atol=0.01)
    top_white = np.zeros((H, W), np.uint8)
    top_white[: H // 2] = 255
    signature = frame_signature(top_white)
    assert np.allclose(signature[:4], 255.0) and np.allclose(signature[4:], 0.0)
    with pytest.raises(ValueError, match="same"):
        cameras_look_identical(exact, exact[:3])
    with pytest.raises(ValueError, match="shape"):
        frame_signature(np.zeros((4, 4, 4, 4), np.uint8))


# -- the bug class, statically ---------------------------------------------------------------------


def _late_bound_generators(source: str) -> list[tuple[int, list[str]]]:
    """Generator expressions made inside a loop, kept for later (not handed straight to a call) and
    reading a name the loop rebinds: by the time they run, the name holds the LAST iteration's value.
    (ruff's B023 covers lambdas and nested functions, not generator expressions.)"""
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.GeneratorExp):
            continue
        parent = parents.get(node)
        if (isinstance(parent, ast.Call) and node in parent.args) or isinstance(parent, ast.Starred):
            continue  # any(...), sorted(...), next(...), [*(...)]: consumed at once
        own = {n.id for g in node.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)}
        rebound: set[str] = set()
        at: ast.AST | None = parent
        while at is not None and not isinstance(at, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            if isinstance(at, ast.For | ast.AsyncFor | ast.While):
                for stmt in [*at.body, *([at.target] if isinstance(at, ast.For | ast.AsyncFor) else [])]:
                    rebound |= {
                        n.id
                        for n in ast.walk(stmt)
                        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
                    }
            at = parents.get(at)
        # the first iterable is evaluated at once; everything else when the generator runs
        late = [
            node.elt,
            *(i for g in node.generators for i in g.ifs),
            *(g.iter for g in node.generators[1:]),
        ]
        used = {
            n.id
            for part in late
            for n in ast.walk(part)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id not in own
        }
        if used & rebound:
            found.append((node.lineno, sorted(used & rebound)))
    return found


def test_no_generator_keeps_a_loop_variable_for_later() -> None:
    root = Path(__file__).resolve().parents[1]
    bad = """
for name in cameras:
    stream = episode.stream(name)
    images[name] = (stream.frame(i) for i in range(stream.num_frames))
"""
    assert _late_bound_generators(bad) == [(4, ["stream"])]
    fine = "for name in cameras:\n    total = sum(x for x in name)\n    out[name] = list(y for y in name)\n"
    assert _late_bound_generators(fine) == []
    found = [
        f"{path.relative_to(root)}:{line} keeps {names}"
        for folder in ("backend", "app", "widgets")
        for path in sorted((root / folder).rglob("*.py"))
        for line, names in _late_bound_generators(path.read_text(encoding="utf-8"))
    ]
    assert found == []
