"""Subtasks in curated exports, checked field by field against LeRobot's documented schemas:
LeRobot 0.4-0.5 "Using Subtasks in LeRobot Datasets" (subtask_index + meta/subtasks.parquet) and
LeRobot 0.6 "Language columns and recipes" (language_persistent / language_events); HDF5 attributes."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from backend.curation import Curation, export_curated
from backend.errors import StudioError
from backend.formats import open_dataset, validate_path
from tests.browse_data import memory_dataset

FPS = 30.0


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    folder = tmp_path_factory.mktemp("subtask_export")
    dataset = memory_dataset(folder / "d.hdf5", lengths=(20, 30, 24), width=64, height=48, fps=FPS)
    curation = Curation(dataset.path, sidecar=folder / "d.curation.json")
    curation.set(0, subtasks=[[0, 9, "reach"], [10, 19, "grasp"]])
    curation.set(1, subtasks=[[5, 14, "grasp"], [20, 29, "lift"]], trim_in=3, trim_out=24)  # a gap 15-19
    curation.set(2, excluded=True, subtasks=[[0, 5, "never exported"]])
    return dataset, curation


@pytest.fixture(scope="module")
def v30(source, tmp_path_factory):
    dataset, curation = source
    out = tmp_path_factory.mktemp("v30") / "out"
    export_curated(dataset, curation, out, "lerobot_v3.0", subtasks="both", jobs=1)
    return out


def _data(root):
    return pa.concat_tables(pq.read_table(p) for p in sorted((root / "data").rglob("*.parquet")))


def test_v05_subtask_index_schema(v30):
    info = json.loads((v30 / "meta" / "info.json").read_text())
    assert info["features"]["subtask_index"] == {"dtype": "int64", "shape": [1], "names": None}
    subtasks = pq.read_table(v30 / "meta" / "subtasks.parquet")
    # pandas' frame with the text as its index (LeRobot: pd.read_parquet(...).iloc[i].name)
    pandas_meta = json.loads(subtasks.schema.metadata[b"pandas"])
    assert pandas_meta["index_columns"] == ["subtask"]
    texts = dict(zip(subtasks.column("subtask_index").to_pylist(), subtasks.column("subtask").to_pylist(), strict=True))
    assert texts == {0: "reach", 1: "grasp", 2: "lift", 3: ""}
    data = _data(v30)
    assert data.schema.field("subtask_index").type == pa.int64()
    index = data.column("subtask_index").to_numpy()
    episode = data.column("episode_index").to_numpy()
    assert index[episode == 0].tolist() == [0] * 10 + [1] * 10
    # episode 1 kept frames 3..24: grasp 5-14 -> 2-11, gap 15-19 -> 12-16, lift 20-24 -> 17-21
    assert index[episode == 1].tolist() == [3, 3] + [1] * 10 + [3] * 5 + [2] * 5
    assert sorted(set(episode.tolist())) == [0, 1]  # the excluded episode's subtasks are not written


def test_v06_language_columns_schema(v30):
    info = json.loads((v30 / "meta" / "info.json").read_text())
    for key in ("language_persistent", "language_events"):
        assert info["features"][key] == {"dtype": "language", "shape": [1], "names": None}
    data = _data(v30)
    row = data.schema.field("language_persistent").type.value_type
    assert [f.name for f in row] == ["role", "content", "style", "timestamp", "camera", "tool_calls"]
    assert row.field("timestamp").type == pa.float32() and row.field("content").type == pa.string()
    event = data.schema.field("language_events").type.value_type
    assert [f.name for f in event] == ["role", "content", "style", "camera", "tool_calls"]
    persistent = data.column("language_persistent").to_pylist()
    episode = data.column("episode_index").to_pylist()
    timestamps = data.column("timestamp").to_numpy()
    frames = data.column("frame_index").to_numpy()
    first = persistent[episode.index(1)]
    assert all(p == first for p, e in zip(persistent, episode, strict=True) if e == 1)  # broadcast per episode
    assert [(r["role"], r["content"], r["style"], r["camera"], r["tool_calls"]) for r in first] == [
        ("assistant", "grasp", "subtask", None, None), ("assistant", "lift", "subtask", None, None)
    ]
    # each row's timestamp is exactly the timestamp of its first frame (LeRobot matches without tolerance)
    ep1 = np.asarray(episode) == 1
    assert [r["timestamp"] for r in first] == [float(timestamps[ep1][frames[ep1] == f][0]) for f in (2, 17)]
    assert data.column("language_events").to_pylist() == [[]] * data.num_rows
    # one row group per episode, as LeRobot writes them
    path = sorted((v30 / "data").rglob("*.parquet"))[0]
    assert pq.ParquetFile(path).metadata.num_row_groups == 2


def test_output_still_opens_and_validates(v30, source):
    assert [p.line() for p in validate_path(v30) if p.severity == "error"] == []
    with open_dataset(v30) as out:
        assert out.num_episodes == 2 and out.episode(1).length == 22


def test_v21_auto_writes_the_index_and_refuses_language(source, tmp_path):
    dataset, curation = source
    out = tmp_path / "v21"
    export_curated(dataset, curation, out, "lerobot_v2.1", jobs=1)
    info = json.loads((out / "meta" / "info.json").read_text())
    assert "subtask_index" in info["features"] and "language_persistent" not in info["features"]
    assert (out / "meta" / "subtasks.parquet").exists()
    with pytest.raises(StudioError, match="v3.0"):
        export_curated(dataset, curation, tmp_path / "v21b", "lerobot_v2.1", subtasks="language", jobs=1)
    none = tmp_path / "none"
    export_curated(dataset, curation, none, "lerobot_v3.0", subtasks="none", jobs=1)
    assert "subtask_index" not in json.loads((none / "meta" / "info.json").read_text())["features"]


def test_hdf5_demo_attributes(source, tmp_path):
    dataset, curation = source
    out = export_curated(dataset, curation, tmp_path / "out.hdf5", "leisaac_hdf5")
    with h5py.File(out, "r") as f:
        demos = sorted(f["data"].keys(), key=lambda n: int(n.split("_")[-1]))
        attrs = [json.loads(f["data"][d].attrs["subtasks"]) for d in demos]
    assert attrs[0] == [{"start": 0, "end": 9, "text": "reach"}, {"start": 10, "end": 19, "text": "grasp"}]
    assert attrs[1] == [{"start": 2, "end": 11, "text": "grasp"}, {"start": 17, "end": 21, "text": "lift"}]


def test_cosmos_batch_one_sample_per_subtask(tmp_path):
    from backend.cosmos.batch import BatchOptions, build_batch, read_batch
    from tests.browse_data import write_hdf5

    path = write_hdf5(tmp_path / "pick.hdf5", lengths=(20, 16), width=64, height=48)
    Curation(path).set(0, subtasks=[[0, 7, "reach the cube"], [8, 19, ""]])
    out = tmp_path / "batch.jsonl"
    result = build_batch(path, out, BatchOptions(per_subtask=True, prompt_template="{task}"))
    samples = read_batch(out)
    assert [s["name"] for s in samples] == result["names"] == [
        "pick_episode_000000_subtask_00", "pick_episode_000000_subtask_01", "pick_episode_000001"
    ]
    # the text of a segment is its prompt; a segment without text (and an episode without segments) the task
    assert [s["prompt"] for s in samples] == ["reach the cube", "Pick the orange", "Lift the cube"]
    import av

    with av.open(str(out.parent / samples[1]["input_path"])) as video:  # frames 8..19 of episode 0
        assert sum(1 for _ in video.decode(video=0)) == 12


def test_subtasks_read_back_from_either_schema(v30, source, tmp_path):
    from backend.subtask_import import dataset_subtasks
    from backend.subtasks import Segment

    with open_dataset(v30) as out:  # both written: the language column is read (a gap joins the earlier one)
        assert dataset_subtasks(out) == {
            0: (Segment(0, 9, "reach"), Segment(10, 19, "grasp")),
            1: (Segment(2, 16, "grasp"), Segment(17, 21, "lift")),
        }
    dataset, curation = source
    index_only = tmp_path / "index"
    export_curated(dataset, curation, index_only, "lerobot_v3.0", subtasks="index", jobs=1)
    with open_dataset(index_only) as out:  # subtask_index keeps the gap
        assert dataset_subtasks(out)[1] == (Segment(2, 11, "grasp"), Segment(17, 21, "lift"))


def test_cli_import_takes_the_datasets_own_subtasks(v30, capsys):
    from backend.cli import main

    assert main(["subtasks", "import", str(v30)]) == 0
    assert "imported the subtasks of 2 episodes" in capsys.readouterr().out
    assert Curation.load(v30).decision(0).subtasks[1].text == "grasp"
    assert main(["subtasks", "import", str(v30)]) == 0  # again: episodes with segments keep theirs
    assert "2 kept their own" in capsys.readouterr().out


def test_a_dataset_keeps_its_own_subtasks_through_an_export(v30, source, tmp_path):
    from backend.subtask_import import dataset_subtasks
    from backend.subtasks import Segment

    with open_dataset(v30) as annotated:  # LeRobot with language + index columns, no decisions of its own
        again = tmp_path / "again"
        export_curated(annotated, Curation(v30, sidecar=tmp_path / "a.curation.json"), again, jobs=1)
    with open_dataset(again) as out:
        assert dataset_subtasks(out)[0] == (Segment(0, 9, "reach"), Segment(10, 19, "grasp"))
    dataset, curation = source
    demo = export_curated(dataset, curation, tmp_path / "demo.hdf5", "leisaac_hdf5")
    with open_dataset(demo) as hdf5:
        assert dataset_subtasks(hdf5)[1] == (Segment(2, 11, "grasp"), Segment(17, 21, "lift"))
        trimmed = Curation(demo, sidecar=tmp_path / "b.curation.json")
        trimmed.set(1, trim_in=5)
        out = export_curated(hdf5, trimmed, tmp_path / "trimmed.hdf5", "leisaac_hdf5")
    with open_dataset(out) as hdf5:  # the demo's attribute follows the trim
        assert dataset_subtasks(hdf5)[1] == (Segment(0, 6, "grasp"), Segment(12, 16, "lift"))


def test_language_columns_are_not_values(v30, tmp_path):
    """LeRobot 0.6's language columns are text rows: the reader keeps them out of the features, so
    conversions and checks that read every value column pass over them."""
    from backend.cli import main

    with open_dataset(v30) as out:
        assert "language_persistent" not in out.features and "subtask_index" in out.features
    assert main(["convert", "lerobot-v3-to-v2", str(v30), "--out", str(tmp_path / "v21")]) == 0
    assert [p.line() for p in validate_path(tmp_path / "v21") if p.severity == "error"] == []


def test_viewer_export_shows_the_datasets_own_subtasks(source, tmp_path):
    from mcap.reader import make_reader

    from backend.export.mcap import export_mcap

    dataset, curation = source
    demo = export_curated(dataset, curation, tmp_path / "demo.hdf5", "leisaac_hdf5")  # no sidecar of its own
    with open_dataset(demo) as hdf5:
        summary = export_mcap(hdf5, tmp_path / "demo.mcap")
    assert summary["messages"]["/subtask"] == 4
    with open(tmp_path / "demo.mcap", "rb") as handle:
        texts = [json.loads(m.data)["message"] for _s, _c, m in make_reader(handle).iter_messages(topics=["/subtask"])]
    assert texts == ["reach", "grasp", "grasp", "lift"]
