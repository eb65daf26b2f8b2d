"""Cosmos outputs -> IDM input dataset, round-tripped on the real dataset; IDM dump outputs read back.

A stand-in Cosmos output folder is built from the real dataset's own videos (re-encoded at 16 fps,
ping-ponged to >= 93 frames) with json files: some without prompt (the source episode's task is used),
one prompt with an apostrophe, a 77-frame clip, a json without video, names without episode numbers.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from backend.errors import StudioError
from backend.formats import open_dataset
from backend.idm.kit import build_modality, build_stats, load_preset
from backend.idm.names import task_folder_name
from backend.idm.prepare import PrepareOptions, _group, _Sample, plan_prepare, prepare_idm_dataset
from backend.media import VideoReader
from backend.media.export import letterbox
from backend.model import DatasetFormat
from backend.units import JointSpace, Unit
from tests import cli_zygote
from tests.cosmos_data import StandinSample, pingpong, write_standin_outputs
from tests.test_idm_kit import seed_modality

REAL = "lerobot061_so101_v30_h264"
P = "The robot arm is performing a task. "
ORANGE = P + "Pick up the orange and place it on the plate."
RUBIK = P + "Pick up the rubik's cube."
LIFT = "Lift the red cube up."  # the source dataset's task of episode 1
FOLDERS = {
    "Lift_the_red_cube_up": LIFT,
    "The_robot_arm_is_performing_a_task_Pick_up_the_orange_and_place_it_on_the_plate": ORANGE,
    "The_robot_arm_is_performing_a_task_Pick_up_the_rubiks_cube": RUBIK,
}
SKIPPED = [
    {
        "sample": "orphan_episode_000001",
        "reason": "orphan_episode_000001.json has no orphan_episode_000001.mp4 beside it",
    },
    {
        "sample": "cosmos_pick_episode_000005",
        "reason": "its json has no prompt and the source dataset has no episode 5",
    },
    {"sample": "noindex", "reason": "its json has no prompt and its name ends in no episode number"},
    {"sample": "short_episode_000000", "reason": "77 frames, the IDM expects at least 93 at 16 fps"},
]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return cli_zygote.run(args, timeout=300)


@pytest.fixture(scope="module")
def cosmos(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    small = (64, 48)
    samples = [
        StandinSample("cosmos_pick_episode_000000", 0, 100, ORANGE),
        StandinSample(
            "cosmos_pick_episode_000000_seed7", 0, 94, write_json=False
        ),  # shares the seedless json
        StandinSample("cosmos_pick_episode_000001", 1, 96, None),  # json without prompt
        StandinSample("rubik_episode_000001", 1, 93, RUBIK),
        StandinSample("short_episode_000000", 0, 77, P + LIFT, size=small),
        StandinSample("noindex", 0, 93, None, size=small),
        StandinSample("cosmos_pick_episode_000005", 0, 93, None, size=small),
        StandinSample("orphan_episode_000001", 1, 93, "x", json_only=True),
    ]
    return write_standin_outputs(shared_data / REAL, tmp_path_factory.mktemp("cosmos") / "outputs", samples)


@pytest.fixture(scope="module")
def prepared(cosmos: Path, shared_data: Path) -> dict:
    out = cosmos.parent / "so101.cosmos_pick"
    result = _cli(
        "idm",
        "prepare",
        str(cosmos),
        "--embodiment",
        "so101",
        "--out",
        str(out),
        "--source-dataset",
        str(shared_data / REAL),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    return {"out": out, "summary": json.loads(result.stdout), "stderr": result.stderr}


def test_grouping_prompts_and_skipped_samples(prepared: dict) -> None:
    summary = prepared["summary"]
    assert summary["tasks"] == FOLDERS
    assert [
        (e["episode"], e["name"], e["task_folder"], e["frames"], e["prompt_from"])
        for e in summary["episodes"]
    ] == [
        (0, "cosmos_pick_episode_000001", "Lift_the_red_cube_up", 96, "source episode 1"),
        (
            1,
            "cosmos_pick_episode_000000",
            "The_robot_arm_is_performing_a_task_Pick_up_the_orange_and_place_it_on_the_plate",
            100,
            "json",
        ),
        (
            2,
            "cosmos_pick_episode_000000_seed7",
            "The_robot_arm_is_performing_a_task_Pick_up_the_orange_and_place_it_on_the_plate",
            94,
            "json",
        ),
        (3, "rubik_episode_000001", "The_robot_arm_is_performing_a_task_Pick_up_the_rubiks_cube", 93, "json"),
    ]
    assert summary["skipped"] == SKIPPED
    for item in SKIPPED:  # every skipped sample is reported on the terminal too
        assert f"skipped {item['sample']}: {item['reason']}" in prepared["stderr"]
    record = json.loads(
        (prepared["out"] / "meta" / "rollout_studio_idm_prepare.json").read_text(encoding="utf-8")
    )
    assert record["skipped"] == SKIPPED


def test_v21_metadata(prepared: dict) -> None:
    meta = prepared["out"] / "meta"
    info = json.loads((meta / "info.json").read_text(encoding="utf-8"))
    assert (info["codebase_version"], info["fps"], info["robot_type"]) == ("v2.1", 16, "so101")
    assert (info["total_episodes"], info["total_frames"], info["total_tasks"], info["total_videos"]) == (
        4,
        383,
        3,
        4,
    )
    assert info["data_path"] == "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet"
    assert (
        info["video_path"] == "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4"
    )
    video = info["features"]["observation.images.front"]
    assert (video["dtype"], video["shape"]) == ("video", [256, 256, 3])
    assert (video["info"]["video.codec"], video["info"]["video.fps"]) == ("h264", 16)
    for key in ("action", "observation.state"):
        assert (info["features"][key]["dtype"], info["features"][key]["shape"]) == ("float32", [6])
    tasks = [json.loads(line) for line in (meta / "tasks.jsonl").read_text(encoding="utf-8").splitlines()]
    assert tasks == [
        {"task_index": 0, "task": LIFT},
        {"task_index": 1, "task": ORANGE},
        {"task_index": 2, "task": RUBIK},
    ]
    episodes = [
        json.loads(line) for line in (meta / "episodes.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert episodes == [
        {"episode_index": 0, "tasks": [LIFT], "length": 96},
        {"episode_index": 1, "tasks": [ORANGE], "length": 100},
        {"episode_index": 2, "tasks": [ORANGE], "length": 94},
        {"episode_index": 3, "tasks": [RUBIK], "length": 93},
    ]
    assert json.loads((meta / "modality.json").read_text(encoding="utf-8")) == seed_modality()


def test_stats_json_comes_from_the_source_dataset(prepared: dict, shared_data: Path) -> None:
    stats = json.loads((prepared["out"] / "meta" / "stats.json").read_text(encoding="utf-8"))
    preset = load_preset("so101")
    with open_dataset(shared_data / REAL) as source:
        expected = build_stats(source, preset["state_key"], preset["action_key"])
    assert stats == json.loads(json.dumps(expected))
    assert list(stats) == [
        "action",
        "observation.state",
        "timestamp",
        "frame_index",
        "episode_index",
        "index",
        "task_index",
    ]
    assert stats["action"]["max"] != [0.0] * 6  # real statistics, not the placeholders'


def test_parquet_placeholders_and_bookkeeping(prepared: dict) -> None:
    offset = 0
    for episode, (length, task) in enumerate([(96, 0), (100, 1), (94, 1), (93, 2)]):
        table = pq.read_table(prepared["out"] / "data" / "chunk-000" / f"episode_{episode:06d}.parquet")
        assert table.schema.field("action").type == pa.list_(pa.float32(), 6)
        for key in ("action", "observation.state"):
            values = np.asarray(table[key].to_pylist(), dtype=np.float32)
            assert values.shape == (length, 6) and not values.any()
        np.testing.assert_array_equal(table["timestamp"].to_numpy(), np.arange(length, dtype=np.float32) / 16)
        np.testing.assert_array_equal(table["frame_index"].to_numpy(), np.arange(length))
        np.testing.assert_array_equal(table["index"].to_numpy(), offset + np.arange(length))
        assert set(table["episode_index"].to_pylist()) == {episode}
        assert set(table["task_index"].to_pylist()) == {task}
        offset += length


def test_frames_are_letterboxed_to_256(prepared: dict, cosmos: Path, shared_data: Path) -> None:
    video = prepared["out"] / "videos" / "chunk-000" / "observation.images.front" / "episode_000001.mp4"
    with (
        VideoReader(video) as out,
        VideoReader(cosmos / "cosmos_pick_episode_000000.mp4") as clip,
        open_dataset(shared_data / REAL) as source,
    ):
        assert (out.num_frames, out.fps, out.width, out.height, out.codec) == (100, 16.0, 256, 256, "h264")
        stream = source.episode(0).stream("front")
        try:
            for index in (0, 45, 70, 99):
                frame = out.frame(index).astype(int)
                # 640x480 -> 256x192 in the middle, 32-pixel black bars above and below
                assert frame[:28].max() < 24 and frame[228:].max() < 24 and frame[:30].mean() < 2
                assert frame[40:216].mean() > 20
                expected = letterbox(clip.frame(index), 256, 256).astype(int)
                assert np.abs(frame[32:224] - expected[32:224]).mean() < 4.0
                # ... and traced back to the source episode's frame (the stand-in ping-pongs 60 frames)
                original = letterbox(stream.frame(pingpong(index, 60)), 256, 256).astype(int)
                assert np.abs(frame[32:224] - original[32:224]).mean() < 6.0
        finally:
            stream.close()


def test_reads_back_and_validates_clean(prepared: dict) -> None:
    with open_dataset(prepared["out"]) as dataset:
        assert dataset.format is DatasetFormat.LEROBOT_V21
        assert (dataset.fps, dataset.robot_type, sorted(dataset.cameras)) == (16, "so101", ["front"])
        assert [e.length for e in dataset.episodes] == [96, 100, 94, 93]
        assert [e.task for e in dataset.episodes] == [LIFT, ORANGE, ORANGE, RUBIK]
        assert dataset.tasks == [LIFT, ORANGE, RUBIK]
        assert dataset.episode(3).array("action").shape == (93, 6)
        stream = dataset.episode(3).stream("front")
        assert (stream.num_frames, stream.width, stream.height) == (93, 256, 256)
        stream.close()
    result = _cli("validate", str(prepared["out"]))
    assert result.returncode == 0 and "clean" in result.stdout, result.stdout + result.stderr


def test_folder_name_must_start_with_the_embodiment(cosmos: Path, shared_data: Path, tmp_path: Path) -> None:
    options = PrepareOptions(source_dataset=str(shared_data / REAL))
    for name in ("cosmos_pick", "so100.cosmos_pick", "so101"):
        with pytest.raises(StudioError, match="must be named 'so101.<name>'"):
            prepare_idm_dataset(cosmos, tmp_path / name, options)
        assert not (tmp_path / name).exists()
    plan = plan_prepare(cosmos, tmp_path / "cosmos_pick", options)
    assert any("must be named 'so101.<name>'" in e for e in plan["errors"])
    plan = plan_prepare(cosmos, tmp_path / "so101.cosmos_pick", options)
    assert plan["errors"] == [] and plan["tasks"] == FOLDERS
    assert [s["sample"] for s in plan["samples"] if not s["kept"]] == [s["sample"] for s in SKIPPED]
    assert plan["warnings"] == ["640x480 videos are letterboxed to 256x256 with black bars"]


def test_split_tasks_with_kit_metadata_and_no_source(cosmos: Path, shared_data: Path, tmp_path: Path) -> None:
    preset = load_preset("so101")
    metadata = tmp_path / "global_metadata" / "so101"
    metadata.mkdir(parents=True)
    with open_dataset(shared_data / REAL) as source:
        stats = build_stats(source, "observation.state", "action")
    (metadata / "modality.json").write_text(json.dumps(build_modality(preset, ["front"])), encoding="utf-8")
    (metadata / "stats.json").write_text(json.dumps(stats), encoding="utf-8")
    summary = prepare_idm_dataset(
        cosmos, tmp_path / "idm_inputs", PrepareOptions(metadata_dir=str(metadata), split_tasks=True)
    )
    orange, rubik = (f"so101.{f}" for f in list(FOLDERS)[1:])
    assert [Path(d).name for d in summary.datasets] == [orange, rubik]
    reasons = {s["sample"]: s["reason"] for s in summary.skipped}
    assert (
        reasons["cosmos_pick_episode_000001"]
        == "its json has no prompt and no source dataset to take the task from"
    )
    assert reasons["noindex"] == "its json has no prompt and no source dataset to take the task from"
    with open_dataset(tmp_path / "idm_inputs" / orange) as dataset:
        assert [e.length for e in dataset.episodes] == [100, 94] and dataset.tasks == [ORANGE]
    with open_dataset(tmp_path / "idm_inputs" / rubik) as dataset:
        assert dataset.tasks == [RUBIK]
    assert json.loads((tmp_path / "idm_inputs" / rubik / "meta" / "stats.json").read_text()) == json.loads(
        json.dumps(stats)
    )
    with pytest.raises(StudioError, match="stats.json needs"):
        prepare_idm_dataset(cosmos, tmp_path / "so101.x", PrepareOptions())


def test_task_folder_names_are_safe_and_distinct() -> None:
    def sample(prompt: str) -> _Sample:
        return _Sample("s", Path("s.mp4"), 93, 16.0, 640, 480, "h264", prompt, "json")

    long = "Pick up the orange " * 30 + "and place it on the plate."
    prompts = [
        "Lift the cube.",
        "Lift the cube!",
        'Say "cheese"',
        "Pick up the rubik’s cube",
        "Vide le café",
        long,
        "../../etc",
        "a/b\\c",
    ]
    groups = _group([sample(p) for p in prompts])
    assert set(groups) == {
        "Lift_the_cube",
        "Lift_the_cube_2",
        "Say_cheese",
        "Pick_up_the_rubiks_cube",
        "Vide_le_café",
        task_folder_name(long),
        "_etc".strip("_") or "etc",
        "a_b_c",
    }
    for folder in groups:
        assert "/" not in folder and "\\" not in folder and "." not in folder and folder not in ("", "..")
        assert len(f"so101.{folder}".encode()) < 255
    assert groups["Lift_the_cube_2"][0].prompt == "Lift the cube!"


def test_idm_dump_output_reads_in_lerobot_units_and_goes_back_to_hdf5(
    prepared: dict, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Item 5: what dump_idm_actions writes (actions of width 6, <DREAM> tasks) opens as a dataset."""
    dump = tmp_path / "so101.cosmos_pick_idm"
    shutil.copytree(prepared["out"], dump)
    actions = {}
    for path in sorted((dump / "data" / "chunk-000").glob("*.parquet")):
        table = pq.read_table(path)
        t = np.linspace(0, 1, table.num_rows, dtype=np.float32)[:, None]
        values = (np.array([-50, -20, 10, 30, 60, 0], dtype=np.float32) + 40 * t).astype(np.float32)
        values[:, 5] = 100 * t[:, 0]
        actions[int(path.stem.split("_")[1])] = values
        column = pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1)), 6)
        table = table.set_column(table.schema.get_field_index("action"), table.schema.field("action"), column)
        pq.write_table(table, path)
    meta = dump / "meta"
    rows = [json.loads(line) for line in (meta / "tasks.jsonl").read_text(encoding="utf-8").splitlines()]
    (meta / "tasks.jsonl").write_text(
        "".join(json.dumps({**r, "task": "<DREAM>" + r["task"]}) + "\n" for r in rows), encoding="utf-8"
    )
    rows = [json.loads(line) for line in (meta / "episodes.jsonl").read_text(encoding="utf-8").splitlines()]
    (meta / "episodes.jsonl").write_text(
        "".join(json.dumps({**r, "tasks": ["<DREAM>" + t for t in r["tasks"]]}) + "\n" for r in rows),
        encoding="utf-8",
    )

    with open_dataset(dump) as dataset:
        assert all(task.startswith("<DREAM>") for task in dataset.tasks)
        assert dataset.episode(1).task == "<DREAM>" + ORANGE
        joints = dataset.episode(1).joints("action")
        assert joints.space.unit is Unit.LEROBOT_RANGE
        np.testing.assert_array_equal(joints.values, actions[1])

    lerobot_to_hdf5 = pytest.importorskip("backend.convert.lerobot_to_hdf5")
    from tests.demo_file import shared_demo_file

    template, _, _ = shared_demo_file(tmp_path_factory)  # read only
    out = tmp_path / "replay.hdf5"
    # the template is not where the IDM episodes came from: no record pairs them, so say how
    mapping = {0: 0, 1: 1, 2: 2, 3: 3}
    lerobot_to_hdf5.run(dump, lerobot_to_hdf5.LerobotToHdf5Options(out=out, template=template, mapping=mapping))
    space = JointSpace(
        tuple(
            f"{j}.pos"
            for j in ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper")
        ),
        Unit.LEROBOT_RANGE,
    )
    with open_dataset(out) as replay:
        assert [e.length for e in replay.episodes] == [96, 100, 94, 93]
        assert replay.features["actions"].space.unit is Unit.RADIANS
        for index, values in actions.items():
            radians = space.convert(values, Unit.RADIANS)
            np.testing.assert_allclose(replay.episode(index).array("actions"), radians, atol=1e-5)
        # -50 on LeRobot's -100..100 is -55 degrees of shoulder_pan's -110..110
        assert replay.episode(0).array("actions")[0, 0] == pytest.approx(np.deg2rad(-55), abs=1e-5)
