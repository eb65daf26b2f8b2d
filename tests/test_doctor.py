"""The dataset doctor (`rollout-studio validate`): one injected fault -> its finding, on real files.

Every dataset here is real: LeIsaac HDF5 written by ``tests.recordings``, LeRobot v2.1 / v3.0
converted from it by the studio (H.264 at 64x48), Cosmos folders encoded with PyAV, and the real
datasets of ../shared/data copied or read in place. Each test injects ONE fault into a copy and
checks the finding's code, episode (in the format's own naming) and severity.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from backend.convert import hdf5_to_lerobot as h2l
from backend.doctor import SCHEMA, DoctorOptions, diagnose
from backend.errors import Cancelled
from backend.media import VideoEncoder
from backend.progress import Progress
from backend.validation import Problem
from tests.recordings import DemoSpec, RecordingSpec, write_recording

REPO = Path(__file__).resolve().parents[1]
LENGTH = 60
DEG = math.pi / 180.0
DEAD_PID = 4194303  # above any pid_max in use: no process has it


# -- datasets -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four clean demos of 60 frames, two 64x48 cameras, smooth joint targets inside the SO-101 range."""
    spec = RecordingSpec([DemoSpec(LENGTH, seed=i) for i in range(4)])
    return write_recording(tmp_path_factory.mktemp("rec") / "rec.hdf5", spec)


@pytest.fixture(scope="module")
def lerobot(rec: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The studio's own LeRobot v2.1 and v3.0 outputs of ``rec``."""
    root = tmp_path_factory.mktemp("lerobot")
    out = {}
    for fmt in ("v2.1", "v3.0"):
        out[fmt] = root / fmt.replace(".", "")
        h2l.run([rec], h2l.Hdf5ToLerobotOptions(out=out[fmt], task="Pick the orange", format=fmt))
    return out


def _copy(source: Path, target: Path) -> Path:
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copy2(source, target)
    return target


def _edit(path: Path, change) -> Path:
    with h5py.File(path, "r+") as h5:
        change(h5["data"])
    return path


def _set(group: h5py.Group, key: str, values: np.ndarray) -> None:
    group[key][...] = values


def _diagnose(path: Path, frames: int = 6) -> list[Problem]:
    return diagnose(path, DoctorOptions(sample_frames=frames)).findings


def _only(found: list[Problem], code: str) -> list[Problem]:
    return [p for p in found if p.code == code]


def _one(found: list[Problem], code: str, episode: str | None, severity: str = "warning") -> Problem:
    hits = _only(found, code)
    assert len(hits) == 1, (code, [p.text() for p in found])
    assert (hits[0].episode, hits[0].severity) == (episode, severity), hits[0].text()
    return hits[0]


def _errors(found: list[Problem]) -> list[str]:
    return [p.text() for p in found if p.severity == "error"]


def _rewrite_column(path: Path, column: str, change) -> None:
    """Rewrite one parquet column through ``change(values) -> values`` (lists as 2-D arrays)."""
    table = pq.read_table(path)
    index = table.schema.get_field_index(column)
    field = table.schema.field(index)
    nested = pa.types.is_list(field.type) or pa.types.is_fixed_size_list(field.type)
    item = field.type.value_type if nested else field.type
    new = np.asarray(change(np.array(table.column(column).to_pylist(), dtype=np.float64)))
    if pa.types.is_integer(item):
        new = new.astype(np.int64)
    table = table.set_column(index, field, pa.array(new.tolist(), type=field.type))
    pq.write_table(table, path)


def _episode_parquet(ds: Path, index: int) -> Path:
    return ds / "data" / "chunk-000" / f"episode_{index:06d}.parquet"


# -- the clean datasets -----------------------------------------------------------------------------
def test_clean_studio_outputs_have_no_findings(rec: Path, lerobot: dict[str, Path]) -> None:
    assert _diagnose(rec) == []
    assert _diagnose(lerobot["v3.0"]) == []
    assert _diagnose(lerobot["v2.1"]) == []  # its stats.json carries q01/q99 for GR00T


def test_real_lerobot_061_dataset_has_no_errors(shared_data: Path) -> None:
    report = diagnose(shared_data / "lerobot061_so101_v30_h264")
    assert report.readable and report.ok, _errors(report.findings)
    assert (report.episodes, report.frames) == (2, 120)
    # its two cameras are the same noise picture one grey level apart (see shared/data/NOTICE.md)
    assert [p.code for p in report.findings] == ["identical_cameras"]


def test_groot_dreams_sample_keeps_its_two_genuine_errors(shared_data: Path) -> None:
    found = _diagnose(shared_data / "gr00t_dreams_robot_sim.PickNPlace")
    errors = [p for p in found if p.severity == "error"]
    assert sorted(p.code for p in errors) == ["phantom_camera", "timestamps_one_frame_late"], _errors(found)
    assert "observation.images.egoview" in _only(found, "phantom_camera")[0].problem
    # the GR1's fixed joints (hands, waist) never move: one line per vector, not one per joint
    dead = _only(found, "dead_joint")
    assert [p.severity for p in dead] == ["warning", "warning"]
    assert "25 of the 44 joints of the action" in dead[0].problem


def test_signal_thresholds_match_the_camera_fingerprints() -> None:
    from backend import signals
    from backend.media import fingerprint

    assert signals.IDENTICAL_TOLERANCE == fingerprint.IDENTICAL_TOLERANCE
    assert signals.SIGNALS["identical_cameras"].threshold == fingerprint.IDENTICAL_TOLERANCE
    assert all(spec.severity in ("error", "warning", "info") for spec in signals.SIGNALS.values())


# -- format and metadata faults (LeRobot) -----------------------------------------------------------
def test_info_fps_disagreeing_with_the_timestamps(lerobot: dict[str, Path], tmp_path: Path) -> None:
    ds = _copy(lerobot["v2.1"], tmp_path / "ds")
    info = json.loads((ds / "meta" / "info.json").read_text())
    info["fps"] = 15
    (ds / "meta" / "info.json").write_text(json.dumps(info))
    found = _diagnose(ds, frames=0)
    hit = _one(found, "fps_mismatch", None, "error")
    assert "says 15 fps" in hit.problem and "step at 30 fps" in hit.problem
    assert not _only(found, "timestamps")  # one diagnosis, not one error per episode


def test_frame_index_with_a_repeated_frame(lerobot: dict[str, Path], tmp_path: Path) -> None:
    ds = _copy(lerobot["v2.1"], tmp_path / "ds")

    def repeat(values: np.ndarray) -> np.ndarray:
        values = values.copy()
        values[20] = values[19]
        return values

    _rewrite_column(_episode_parquet(ds, 1), "frame_index", repeat)
    hit = _one(_diagnose(ds, frames=0), "frame_index", "episode 1", "error")
    assert "1 repeated" in hit.problem and "1 of 0..54 missing" in hit.problem and hit.frames[0] == 20


def test_duplicated_and_missing_episode_indices(lerobot: dict[str, Path], tmp_path: Path) -> None:
    ds = _copy(lerobot["v2.1"], tmp_path / "twice")
    lines = (ds / "meta" / "episodes.jsonl").read_text().splitlines()
    (ds / "meta" / "episodes.jsonl").write_text("\n".join([*lines, lines[2]]) + "\n")
    _one(_diagnose(ds, frames=0), "episode_index_duplicate", None, "error")
    gap = _copy(lerobot["v2.1"], tmp_path / "gap")
    (gap / "meta" / "episodes.jsonl").write_text("\n".join([lines[0], *lines[2:]]) + "\n")
    hit = _one(_diagnose(gap, frames=0), "episode_index_gap", None, "warning")
    assert "missing 1" in hit.problem


def test_unused_task_and_control_characters(lerobot: dict[str, Path], tmp_path: Path) -> None:
    ds = _copy(lerobot["v2.1"], tmp_path / "ds")
    tasks = ds / "meta" / "tasks.jsonl"
    tasks.write_text(tasks.read_text() + json.dumps({"task_index": 1, "task": "Stack\x07 the cubes"}) + "\n")
    found = _diagnose(ds, frames=0)
    hit = _one(found, "task_unused", None, "info")
    assert "'Stack\\x07 the cubes'" in hit.problem
    assert "U+0007" in _one(found, "control_characters", None).problem


def test_hdf5_task_with_control_characters(rec: Path, tmp_path: Path) -> None:
    path = _copy_and(rec, tmp_path, lambda d: d["demo_1"].attrs.__setitem__("task", "Pick the\r\norange"))
    hit = _one(_diagnose(path, frames=0), "control_characters", "demo_1")
    assert "U+000A, U+000D" in hit.problem and hit.file.endswith("r.hdf5:/data/demo_1")


def test_task_index_outside_the_task_list(lerobot: dict[str, Path], tmp_path: Path) -> None:
    ds = _copy(lerobot["v2.1"], tmp_path / "ds")
    _rewrite_column(_episode_parquet(ds, 2), "task_index", lambda v: np.full(len(v), 7))
    assert "task_index [7]" in _one(_diagnose(ds, frames=0), "task_index_unknown", "episode 2", "error").problem


def test_nan_in_an_action(lerobot: dict[str, Path], tmp_path: Path) -> None:
    ds = _copy(lerobot["v3.0"], tmp_path / "ds")
    data = ds / "data" / "chunk-000" / "file-000.parquet"

    def poison(values: np.ndarray) -> np.ndarray:
        values = values.copy()
        values[LENGTH - 5 + 7, 2] = np.nan  # row 7 of episode 1 (55 frames each)
        return values

    _rewrite_column(data, "action", poison)
    found = _diagnose(ds, frames=0)
    hit = _one(found, "non_finite", "episode 1", "error")
    assert hit.frames == (7,) and hit.fixable
    assert not _only(found, "stats_mismatch")  # stats are not recomputed from an unreadable action


def test_stats_json_that_disagree_with_the_data(lerobot: dict[str, Path], tmp_path: Path) -> None:
    ds = _copy(lerobot["v3.0"], tmp_path / "ds")
    stats = json.loads((ds / "meta" / "stats.json").read_text())
    stats["observation.state"]["mean"][3] += 5.0
    (ds / "meta" / "stats.json").write_text(json.dumps(stats))
    hit = _one(_diagnose(ds, frames=0), "stats_mismatch", None, "error")
    assert "observation.state" in hit.problem and "mean[3]" in hit.problem


def test_stats_of_a_studio_gr00t_dataset_must_describe_its_data(lerobot: dict[str, Path], tmp_path: Path) -> None:
    """modality.json marks a GR00T dataset, but when the studio computed stats.json from the data (its
    v3 -> v2 conversion writes modality.json) a mismatch is an error; only a dataset whose stats are
    the embodiment's (idm prepare, other tools) gets the informational note."""
    from backend.convert import lerobot_versions as lv

    ds = tmp_path / "v21"
    lv.run(lerobot["v3.0"], lv.LerobotVersionOptions(out=ds, target="v2.1"))
    assert (ds / "meta" / "modality.json").is_file()
    stats = json.loads((ds / "meta" / "stats.json").read_text())
    stats["action"] = {k: (np.asarray(v) * (1 if k == "count" else 10)).tolist() for k, v in stats["action"].items()}
    (ds / "meta" / "stats.json").write_text(json.dumps(stats))
    _one(_diagnose(ds, frames=0), "stats_mismatch", None, "error")
    (ds / "meta" / "rollout_studio_provenance.json").unlink()  # another tool's GR00T dataset
    _one(_diagnose(ds, frames=0), "stats_mismatch", None, "info")


def test_episode_stats_that_disagree_with_the_data(lerobot: dict[str, Path], tmp_path: Path) -> None:
    ds = _copy(lerobot["v2.1"], tmp_path / "v21")
    path = ds / "meta" / "episodes_stats.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows[2]["stats"]["action"]["max"][0] = 1000.0
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    hit = _one(_diagnose(ds, frames=0), "episode_stats_mismatch", "episode 2", "error")
    assert "max[0] is 1000" in hit.problem
    # v3.0 keeps them in meta/episodes
    ds = _copy(lerobot["v3.0"], tmp_path / "v30")
    episodes = next((ds / "meta" / "episodes").rglob("*.parquet"))
    _rewrite_column(episodes, "stats/action/count", lambda v: np.where(np.arange(len(v))[:, None] == 1, 9, v))
    hit = _one(_diagnose(ds, frames=0), "episode_stats_mismatch", "episode 1", "error")
    assert "count is 9, the data has 55 frames" in hit.problem


def test_video_with_fewer_frames_than_rows(lerobot: dict[str, Path], tmp_path: Path) -> None:
    ds = _copy(lerobot["v2.1"], tmp_path / "ds")
    video = ds / "videos" / "chunk-000" / "observation.images.wrist" / "episode_000003.mp4"
    with VideoEncoder(video, 64, 48, 30) as writer:
        for t in range(40):
            writer.write(np.full((48, 64, 3), 3 * t, np.uint8))
    hit = _one(_diagnose(ds, frames=0), "video_frames", "episode 3", "error")
    assert "40 frames, the parquet 55 rows" in hit.problem


def test_video_frame_times_off_the_grid(lerobot: dict[str, Path], tmp_path: Path) -> None:
    ds = _copy(lerobot["v2.1"], tmp_path / "ds")
    video = ds / "videos" / "chunk-000" / "observation.images.front" / "episode_000002.mp4"
    with av.open(str(video), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 30)
        for t in range(55):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 4 * t, np.uint8), format="rgb24")
            frame.pts = t if t < 30 else t + 1  # a frame slot skipped after frame 29
            frame.time_base = Fraction(1, 30)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    hit = _one(_diagnose(ds, frames=0), "video_timestamps", "episode 2", "error")
    assert hit.frames[0] >= 30


def test_stale_staging_inside_and_beside_the_dataset(lerobot: dict[str, Path], tmp_path: Path) -> None:
    ds = _copy(lerobot["v3.0"], tmp_path / "ds")
    (tmp_path / f".ds.partial-{DEAD_PID}").mkdir()
    (ds / "meta" / f".info.json.partial-{DEAD_PID}").write_text("{")
    (tmp_path / f".other.partial-{DEAD_PID}").mkdir()
    (tmp_path / f".ds.partial-{os.getpid()}").mkdir()  # a live writer (this process)
    found = _diagnose(ds, frames=0)
    stale = sorted((Path(p.file).name, p.severity, p.fixable) for p in _only(found, "stale_partial"))
    assert stale == [
        (f".ds.partial-{DEAD_PID}", "warning", True),
        (f".info.json.partial-{DEAD_PID}", "warning", True),
        (f".other.partial-{DEAD_PID}", "info", True),
    ]
    assert [Path(p.file).name for p in _only(found, "write_in_progress")] == [f".ds.partial-{os.getpid()}"]
    assert not _only(found, "unknown_file")  # staging is not reported twice


def test_files_the_format_does_not_name(lerobot: dict[str, Path], tmp_path: Path) -> None:
    ds = _copy(lerobot["v3.0"], tmp_path / "v30")
    shutil.copy(ds / "data" / "chunk-000" / "file-000.parquet", ds / "data" / "chunk-000" / "file-001.parquet")
    (ds / "notes.txt").write_text("operator notes")
    (ds / ".rollout_studio_output.json").write_text("{}")  # the studio's ownership record: expected
    (ds / ".staging").mkdir()
    found = _diagnose(ds, frames=0)
    by_severity = {p.severity: p.problem for p in _only(found, "unknown_file")}
    assert set(by_severity) == {"error", "info"}
    assert "data/chunk-000/file-001.parquet" in by_severity["error"]  # LeRobot v3.0 loads it
    assert "notes.txt" in by_severity["info"] and ".rollout_studio_output.json" not in by_severity["info"]
    assert ".staging" in _one(found, "writer_leftover", None).problem
    ds = _copy(lerobot["v2.1"], tmp_path / "v21")
    shutil.copy(_episode_parquet(ds, 0), _episode_parquet(ds, 9))
    hit = _one(_diagnose(ds, frames=0), "unknown_file", None, "warning")
    assert "episode_000009.parquet" in hit.problem


# -- camera signals ---------------------------------------------------------------------------------
def test_identical_cameras_in_every_episode_and_in_one(rec: Path, tmp_path: Path) -> None:
    everywhere = _edit(_copy(rec, tmp_path / "all.hdf5"),
                       lambda d: [_set(d[f"demo_{i}"], "obs/wrist", d[f"demo_{i}/obs/front"][()]) for i in range(4)])
    # the same pixels twice is what a writer bug leaves (one camera written into both): an error
    hit = _one(_diagnose(everywhere), "identical_cameras", None, "error")
    assert "front and wrist hold exactly the same pictures" in hit.problem and "all 4 episodes" in hit.problem
    one = _edit(_copy(rec, tmp_path / "one.hdf5"), lambda d: _set(d["demo_2"], "obs/wrist", d["demo_2/obs/front"][()]))
    _one(_diagnose(one), "identical_cameras", "demo_2", "error")
    # one grey level apart (two real cameras seeing one scene can be this close): a warning
    near = _edit(_copy(rec, tmp_path / "near.hdf5"), lambda d: [
        _set(d[f"demo_{i}"], "obs/wrist", d[f"demo_{i}/obs/front"][()] // 2 * 2 + 1) for i in range(4)])
    hit = _one(_diagnose(near), "identical_cameras", None, "warning")
    assert "show the same picture" in hit.problem


def test_identical_cameras_in_encoded_videos(rec: Path, tmp_path: Path) -> None:
    source = _edit(_copy(rec, tmp_path / "same.hdf5"),
                   lambda d: [_set(d[f"demo_{i}"], "obs/wrist", d[f"demo_{i}/obs/front"][()]) for i in range(2)])
    out = tmp_path / "v30"
    h2l.run([source], h2l.Hdf5ToLerobotOptions(out=out, task="t", format="v3.0", demos={source.name: [0, 1]}))
    hit = _one(_diagnose(out), "identical_cameras", None, "error")
    assert "all 2 episodes" in hit.problem


def test_frozen_camera(rec: Path, tmp_path: Path) -> None:
    path = _edit(_copy(rec, tmp_path / "r.hdf5"),
                 lambda d: _set(d["demo_1"], "obs/front", np.repeat(d["demo_1/obs/front"][:1], LENGTH, axis=0)))
    found = _diagnose(path)
    hit = _one(found, "frozen_camera", "demo_1", "error")  # no new picture while the arm moved throughout
    assert hit.problem.startswith("front:") and hit.file.endswith("/data/demo_1/obs/front")
    assert not _only(found, "identical_cameras") and not _only(found, "repeated_frames")


def test_camera_repeating_every_other_frame(rec: Path, tmp_path: Path) -> None:
    def halve(d: h5py.Group) -> None:
        frames = d["demo_3/obs/wrist"][()]
        frames[1::2] = frames[0::2]
        _set(d["demo_3"], "obs/wrist", frames)

    hit = _one(_diagnose(_copy_and(rec, tmp_path, halve)), "repeated_frames", "demo_3")
    assert hit.problem.startswith("wrist:") and all(f % 2 == 1 for f in hit.frames)


def _copy_and(rec: Path, tmp_path: Path, change) -> Path:
    return _edit(_copy(rec, tmp_path / "r.hdf5"), change)


def test_black_white_and_blank_frames(rec: Path, tmp_path: Path) -> None:
    def damage(d: h5py.Group) -> None:
        front = d["demo_0/obs/front"][()]
        front[:30] = 0  # covered lens for the first second
        _set(d["demo_0"], "obs/front", front)
        wrist = d["demo_1/obs/wrist"][()]
        wrist[30:] = 255  # blown out
        _set(d["demo_1"], "obs/wrist", wrist)
        _set(d["demo_2"], "obs/front", np.full_like(d["demo_2/obs/front"][()], 128))  # no picture at all

    found = _diagnose(_copy_and(rec, tmp_path, damage))
    black = _one(found, "black_frames", "demo_0")
    assert black.frames and max(black.frames) < 30
    white = _one(found, "saturated_frames", "demo_1")
    assert white.frames and min(white.frames) >= 30
    assert "one flat grey level" in _one(found, "blank_camera", "demo_2").problem


def test_cosmos_outputs_get_camera_checks_by_sample_name(tmp_path: Path) -> None:
    folder = tmp_path / "cosmos"
    folder.mkdir()
    rng = np.random.default_rng(3)
    for name, black in (("pick_0", False), ("pick_1", True)):
        with VideoEncoder(folder / f"{name}.mp4", 64, 48, 16) as writer:
            for _ in range(93):
                picture = np.zeros((48, 64, 3), np.uint8) if black else rng.integers(0, 255, (48, 64, 3), np.uint8)
                writer.write(picture)
        (folder / f"{name}.json").write_text(json.dumps({"prompt": "Pick\x1b the orange"}))
    found = _diagnose(folder)
    assert _one(found, "black_frames", "pick_1").problem.startswith("video: 6 of 6 sampled frames are black")
    assert not _only(found, "blank_camera")  # black says it better
    assert len(_only(found, "control_characters")) == 2
    assert not _errors(found)


def test_cosmos_clip_cut_short_and_copied_clips(tmp_path: Path) -> None:
    folder = tmp_path / "cosmos"
    folder.mkdir()
    rng = np.random.default_rng(5)
    for name, frames in (("pick_0", 93), ("pick_1", 60)):  # pick_1 stopped before its 93 frames
        with VideoEncoder(folder / f"{name}.mp4", 64, 48, 16) as writer:
            for _ in range(frames):
                writer.write(rng.integers(0, 255, (48, 64, 3), np.uint8))
        (folder / f"{name}.json").write_text(json.dumps({"prompt": "Pick", "num_output_frames": 93}))
    shutil.copyfile(folder / "pick_0.mp4", folder / "pick_2.mp4")
    (folder / "pick_2.json").write_text(json.dumps({"prompt": "Pick", "num_output_frames": 93}))
    found = _diagnose(folder, frames=0)
    short = _one(found, "video_frames", "pick_1", "error")
    assert short.problem == "60 frames, its json asked for 93"
    copy = _one(found, "near_duplicate_episodes", "pick_2")
    assert copy.problem == "the same file as pick_0.mp4"


# -- motion signals ---------------------------------------------------------------------------------
def _bump(d: h5py.Group, key: str, change) -> None:
    values = d[key][()]
    change(values)
    d[key][...] = values


def test_single_frame_jump_of_one_joint_on_action_and_state(rec: Path, tmp_path: Path) -> None:
    def spike(d: h5py.Group) -> None:
        _bump(d, "demo_1/actions", lambda v: v.__setitem__((30, 1), v[30, 1] + 90 * DEG))
        _bump(d, "demo_2/obs/joint_pos", lambda v: v.__setitem__((40, 3), v[40, 3] - 25 * DEG))

    found = _diagnose(_copy_and(rec, tmp_path, spike), frames=0)
    jumps = sorted(_only(found, "joint_jump"), key=lambda p: p.episode or "")
    assert [(p.episode, p.frames) for p in jumps] == [("demo_1", (30,)), ("demo_2", (40,))]
    assert jumps[0].problem.startswith("shoulder_lift of the action jumps 90")
    assert jumps[1].problem.startswith("wrist_flex of the state jumps 25")
    # out and back within one frame faster than the servo turns: a corrupt value, an error
    assert [p.severity for p in jumps] == ["error", "error"]
    assert "faster than the SO-101 can turn" in jumps[0].problem
    assert not _only(found, "velocity_spike")  # the jump's two fast steps are the jump


def test_state_moving_faster_than_the_servo(rec: Path, tmp_path: Path) -> None:
    path = _copy_and(rec, tmp_path, lambda d: _bump(d, "demo_0/obs/joint_pos",
                                                    lambda v: v[40:, 0].__iadd__(30 * DEG)))
    hit = _one(_diagnose(path, frames=0), "velocity_spike", "demo_0")
    assert hit.frames == (40,) and "shoulder_pan of the state moves at 741 deg/s" in hit.problem


def test_joint_outside_its_range(rec: Path, tmp_path: Path) -> None:
    path = _copy_and(rec, tmp_path, lambda d: _bump(d, "demo_3/actions", lambda v: v[10:20, 0].__setitem__(
        slice(None), 130 * DEG)))
    hit = _one(_diagnose(path, frames=0), "joint_out_of_range", "demo_3")
    assert "shoulder_pan of the action reaches 130.0 deg" in hit.problem and hit.frames[0] == 10


def test_joint_pinned_at_its_limit(rec: Path, tmp_path: Path) -> None:
    def pin(v: np.ndarray) -> None:
        v[10:40, 1] = -100 * DEG  # shoulder_lift at its lower limit for half the episode

    path = _copy_and(rec, tmp_path, lambda d: _bump(d, "demo_2/obs/joint_pos", pin))
    hit = _one(_diagnose(path, frames=0), "saturated_joint", "demo_2")
    assert "shoulder_lift of the state sits at its range limit in 50%" in hit.problem


def test_idle_episode(rec: Path, tmp_path: Path) -> None:
    def still(d: h5py.Group) -> None:
        for key in ("actions", "obs/joint_pos"):
            values = d[f"demo_2/{key}"][()]
            values[:] = values[0] + 0.001 * np.sin(np.arange(LENGTH))[:, None]
            d[f"demo_2/{key}"][...] = values

    found = _diagnose(_copy_and(rec, tmp_path, still), frames=0)
    assert _one(found, "idle_episode", "demo_2").problem.startswith("action: body joints move at most 0.1")
    assert not _only(found, "frozen_action") and not _only(found, "gripper_never_moves")


def test_frozen_action(rec: Path, tmp_path: Path) -> None:
    path = _copy_and(rec, tmp_path, lambda d: _bump(d, "demo_1/actions", lambda v: v.__setitem__(
        slice(12, None), v[12])))
    hit = _one(_diagnose(path, frames=0), "frozen_action", "demo_1")
    assert "48 frames (80% of the episode, frames 12-59)" in hit.problem


def test_jerky_action(rec: Path, tmp_path: Path) -> None:
    zigzag = 3 * DEG * (-1.0) ** np.arange(LENGTH)
    path = _copy_and(rec, tmp_path, lambda d: _bump(d, "demo_0/actions", lambda v: v[:, 2].__iadd__(zigzag)))
    found = _diagnose(path, frames=0)
    assert "58 frames with joint acceleration over 5000" in _one(found, "jerky", "demo_0").problem
    assert not _only(found, "joint_jump")  # 6 degree steps: rough, not a glitch


def test_gripper_that_never_moves_and_one_that_chatters(rec: Path, tmp_path: Path) -> None:
    def grip(d: h5py.Group) -> None:
        _bump(d, "demo_0/actions", lambda v: v[:, 5].__setitem__(slice(None), 0.5))
        flicker = 7 * DEG * np.array([0, 1, 0, -1] * 5)
        _bump(d, "demo_3/actions", lambda v: v[20:40, 5].__iadd__(flicker))

    found = _diagnose(_copy_and(rec, tmp_path, grip), frames=0)
    assert "gripper travels 0.0 deg" in _one(found, "gripper_never_moves", "demo_0").problem
    chatter = _one(found, "gripper_chatter", "demo_3")
    assert all(20 <= f <= 40 for f in chatter.frames) and len(chatter.frames) >= 4


def test_stuck_joint_and_action_state_divergence(rec: Path, tmp_path: Path) -> None:
    def damage(d: h5py.Group) -> None:
        _bump(d, "demo_1/obs/joint_pos", lambda v: v[:, 4].__setitem__(slice(None), v[0, 4]))
        _bump(d, "demo_2/obs/joint_pos", lambda v: v[:, 3].__iadd__(25 * DEG))

    found = _diagnose(_copy_and(rec, tmp_path, damage), frames=0)
    assert _one(found, "stuck_joint", "demo_1").problem.startswith("wrist_roll stays within 0.00 deg")
    diverging = {p.problem.split(":")[0]: p for p in _only(found, "action_state_divergence") if p.episode == "demo_2"}
    assert list(diverging) == ["wrist_flex"] and "(median offset -" in diverging["wrist_flex"].problem


def test_dead_joint_in_every_episode(rec: Path, tmp_path: Path) -> None:
    path = _copy_and(rec, tmp_path, lambda d: [_bump(d, f"demo_{i}/obs/joint_pos",
                                                     lambda v: v[:, 0].__setitem__(slice(None), 0.0)) for i in range(4)])
    hit = _one(_diagnose(path, frames=0), "dead_joint", None)
    assert "1 of the 6 joints of the state never change in any episode: shoulder_pan (0 deg)" in hit.problem


def test_near_duplicate_episode(rec: Path, tmp_path: Path) -> None:
    def duplicate(d: h5py.Group) -> None:
        _set(d["demo_3"], "actions", d["demo_1/actions"][()] + np.float32(0.001))

    hit = _one(_diagnose(_copy_and(rec, tmp_path, duplicate), frames=0), "near_duplicate_episodes", "demo_3")
    assert "nearly the same actions as demo_1" in hit.problem and hit.fixable


def test_short_long_and_chunk_lengths(tmp_path: Path) -> None:
    spec = RecordingSpec([DemoSpec(60), DemoSpec(60), DemoSpec(20), DemoSpec(12), DemoSpec(200)], cameras=("front",))
    found = _diagnose(write_recording(tmp_path / "lengths.hdf5", spec), frames=0)
    assert "20 frames (0.67 s) is under 1 s" in _one(found, "short_episode", "demo_2").problem
    assert "12 frames is shorter than a 16-frame action chunk" in _one(found, "shorter_than_chunk", "demo_3").problem
    assert "200 frames is 3.3 times the median length (60)" in _one(found, "long_episode", "demo_4").problem


def test_nan_state_in_hdf5_is_one_error_and_no_signal_noise(rec: Path, tmp_path: Path) -> None:
    path = _copy_and(rec, tmp_path, lambda d: _bump(d, "demo_1/obs/joint_pos", lambda v: v.__setitem__((5, 2), np.nan)))
    found = _diagnose(path, frames=0)
    assert _one(found, "non_finite", "demo_1", "error").frames == (5,)
    assert [p.code for p in found if p.episode == "demo_1"] == ["non_finite"]


# -- report, progress, CLI ------------------------------------------------------------------------
def test_progress_counts_episodes_and_cancel_stops(rec: Path) -> None:
    seen: list[tuple[int, int]] = []
    diagnose(rec, progress=Progress(on_report=lambda done, total, text: seen.append((done, total))))
    assert seen[-1] == (4, 4) and (2, 4) in seen

    stopping = Progress(on_report=lambda done, total, text: stopping.cancel() if done == 1 else None)
    with pytest.raises(Cancelled):
        diagnose(rec, progress=stopping)


def test_cli_json_schema_and_exit_codes(lerobot: dict[str, Path], tmp_path: Path) -> None:
    ds = _copy(lerobot["v2.1"], tmp_path / "dataset with spaces é")
    _rewrite_column(_episode_parquet(ds, 1), "task_index", lambda v: np.full(len(v), 3))
    proc = subprocess.run(  # a relative path, with a space and an accent, behaves like an absolute one
        [sys.executable, "-m", "backend.cli", "validate", ds.name, "--json", "--sample-frames", "2"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    report = json.loads(proc.stdout)
    assert (report["schema"], report["version"], report["ok"], report["readable"]) == (SCHEMA, 1, False, True)
    assert report["sample_frames"] == 2 and report["episodes"] == 4
    assert report["counts"] == {"error": 1, "warning": 0, "info": 0}
    first = report["findings"][0]
    assert set(first) == {"code", "severity", "episode", "file", "what", "fix", "fixable", "frames"}
    assert (first["code"], first["severity"], first["episode"]) == ("task_index_unknown", "error", "episode 1")
    proc = subprocess.run(
        [sys.executable, "-m", "backend.cli", "validate", str(lerobot["v3.0"])],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )
    assert proc.returncode == 0 and proc.stdout.strip().endswith("s)") and ": clean" in proc.stdout


def test_every_code_is_documented(rec: Path, lerobot: dict[str, Path], tmp_path: Path) -> None:
    """docs/validate.md lists each code the doctor can emit, with its severity."""
    import re

    from backend import signals

    text = (REPO / "docs" / "validate.md").read_text(encoding="utf-8")
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `([a-z0-9_]+)`(?:, `[a-z_]+`)? \| ([a-z /]+) \|", text, re.M)}
    for name, spec in signals.SIGNALS.items():
        assert spec.severity in rows.get(name, ""), name
    emitted = {p.code: p.severity for p in _diagnose(lerobot["v2.1"]) + _diagnose(rec)}
    ds = _copy(lerobot["v3.0"], tmp_path / "ds")
    (ds / "notes.txt").write_text("x")
    emitted |= {p.code: p.severity for p in _diagnose(ds, frames=0)}
    for code, severity in emitted.items():
        assert severity in rows.get(code, ""), (code, severity)


def test_zero_placeholders_are_one_dead_joint_finding_not_idle_episodes(
    lerobot: dict[str, Path], tmp_path: Path
) -> None:
    """GR00T-Dreams' IDM inputs carry all-zero action/state columns: a placeholder, said once."""
    ds = _copy(lerobot["v2.1"], tmp_path / "ds")
    for index in range(4):
        for key in ("action", "observation.state"):
            _rewrite_column(_episode_parquet(ds, index), key, np.zeros_like)
    found = _diagnose(ds, frames=0)
    dead = _only(found, "dead_joint")
    assert [p.problem for p in dead] == [
        "every value of the action is constant in every episode: a placeholder, not a recording",
        "every value of the state is constant in every episode: a placeholder, not a recording",
    ]
    assert not [p for p in found if p.episode and p.code in ("idle_episode", "gripper_never_moves")]


def test_grey_frames_match_the_rgb_frames_they_skip(lerobot: dict[str, Path]) -> None:
    """backend/media/sample.py reads the luma plane: the grey of the RGB frame, without converting it."""
    import cv2

    from backend.media import VideoReader
    from backend.media.sample import grey_frames

    video = lerobot["v3.0"] / "videos" / "observation.images.front" / "chunk-000" / "file-000.mp4"
    wanted = [150, 0, 7, 8, 201, 9999]  # any order; one past the end is left out
    grey = grey_frames(video, wanted)
    assert sorted(grey) == [0, 7, 8, 150, 201]
    with VideoReader(video) as reader:
        for index, picture in grey.items():
            expected = cv2.cvtColor(np.ascontiguousarray(reader.frame(index)), cv2.COLOR_RGB2GRAY)
            assert picture.shape == expected.shape == (48, 64)
            assert np.abs(picture.astype(int) - expected).mean() < 1.5, index


def test_sample_positions_spread_over_the_episode_or_inside_few_chunks() -> None:
    from backend.signals import sample_positions

    assert sample_positions(60, 6) == [0, 12, 23, 35, 46, 58]  # room for each sample's next frame
    assert sample_positions(5, 6) == [0, 1, 2, 3] and sample_positions(0, 6) == []
    # HDF5 chunks of 100 frames: one chunk per 4 samples, the one holding the middle frame ...
    middle = sample_positions(1800, 6, block=100)
    assert {p // 100 for p in middle} == {9} and len(middle) == 6
    # ... and each sample's next frame in the same chunk (one decompression per chunk)
    two = sample_positions(1800, 8, block=100)
    assert {p // 100 for p in two} == {4, 13} and all((p + 1) // 100 == p // 100 for p in two)


def test_a_failing_signal_costs_one_info_line_not_the_check(rec: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from backend import signals

    def broken(track):
        raise ValueError("boom")

    monkeypatch.setattr(signals, "gripper_chatter", broken)
    report = diagnose(rec, DoctorOptions(sample_frames=0))
    assert [(p.code, p.severity, p.episode) for p in report.findings] == [
        ("signals_failed", "info", f"demo_{i}") for i in range(4)
    ]
    assert "ValueError: boom" in report.findings[0].problem and report.ok
