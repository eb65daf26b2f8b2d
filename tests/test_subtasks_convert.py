"""Subtasks through the converters: an HDF5 demo's ``subtasks`` attribute becomes LeRobot's subtask
columns in ``convert hdf5-to-lerobot`` (clipped by --skip-frames like the frames), and comes back as the
demo attribute in ``convert lerobot-to-hdf5`` (docs/subtasks.md). Each demo has its own segments, so a
mix-up between episodes shows."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import pyarrow.parquet as pq
import pytest

from backend.convert import hdf5_to_lerobot as h2l
from backend.convert import lerobot_to_hdf5 as l2h
from backend.convert import sharded
from backend.curation import Curation, export_curated
from backend.errors import StudioError
from backend.formats import open_dataset, validate_path
from backend.subtask_import import dataset_subtasks
from backend.subtasks import Segment
from tests.browse_data import memory_dataset

SKIP = 2
DEMO_0 = (Segment(0, 9, "reach"), Segment(10, 19, "grasp"))
DEMO_1 = (Segment(1, 11, "grasp"), Segment(17, 21, "lift"))  # a gap 12-16
AS_LANGUAGE_1 = (Segment(0, 14, "grasp"), Segment(15, 19, "lift"))  # demo 1, 2 frames skipped, gap filled


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    """A LeIsaac HDF5 of two demos (20 and 22 frames) whose ``subtasks`` attributes differ."""
    folder = tmp_path_factory.mktemp("subtask convert")
    dataset = memory_dataset(folder / "d.hdf5", lengths=(20, 22), width=64, height=48)
    curation = Curation(dataset.path, sidecar=folder / "d.curation.json")
    curation.set(0, subtasks=[list(s) for s in DEMO_0])
    curation.set(1, subtasks=[list(s) for s in DEMO_1])
    out = export_curated(dataset, curation, folder / "räw demos.hdf5", "leisaac_hdf5")
    with h5py.File(out, "r") as f:
        assert json.loads(f["data/demo_1"].attrs["subtasks"])[1] == {"start": 17, "end": 21, "text": "lift"}
    return Path(out)


def _convert(recording: Path, out: Path, fmt: str, subtasks: str = "auto") -> Path:
    options = h2l.Hdf5ToLerobotOptions(
        out=out, task="Pick", format=fmt, skip_frames=SKIP, min_length=1, include_failed=True, jobs=1,
        subtasks=subtasks,
    )
    h2l.run([recording], options)
    return out


def _shifted(segments: tuple[Segment, ...], by: int) -> tuple[Segment, ...]:
    return tuple(Segment(max(s.start - by, 0), s.end - by, s.text) for s in segments if s.end >= by)


def _read(path: Path) -> dict:
    dataset = open_dataset(path)
    try:
        return dataset_subtasks(dataset)
    finally:
        dataset.close()


@pytest.fixture(scope="module")
def v30(recording, tmp_path_factory) -> Path:
    return _convert(recording, tmp_path_factory.mktemp("v30") / "out", "v3.0")


def test_v30_gets_the_language_columns_per_demo(v30):
    info = json.loads((v30 / "meta" / "info.json").read_text())
    assert info["features"]["language_persistent"]["dtype"] == "language"
    assert "subtask_index" not in info["features"]
    # LeRobot 0.6's rows say when a subtask starts, each lasts until the next: demo 1's gap (frames
    # 12-16, 10-14 once 2 are skipped) reads back as part of "grasp"
    assert _read(v30) == {0: _shifted(DEMO_0, SKIP), 1: AS_LANGUAGE_1}
    # the first kept frame is frame 0: "reach" starts there, "grasp" of demo 1 too (it began at 1)
    rows = pq.read_table(next((v30 / "data").rglob("*.parquet"))).to_pylist()
    first_of_1 = next(r for r in rows if r["episode_index"] == 1)
    assert [(x["content"], x["timestamp"]) for x in first_of_1["language_persistent"]] == [
        ("grasp", 0.0), ("lift", pytest.approx(15 / 30.0))
    ]
    assert [p.line() for p in validate_path(v30) if p.severity == "error"] == []


def test_v21_auto_writes_subtask_index(recording, tmp_path):
    out = _convert(recording, tmp_path / "v21", "v2.1")
    info = json.loads((out / "meta" / "info.json").read_text())
    assert info["features"]["subtask_index"] == {"dtype": "int64", "shape": [1], "names": None}
    assert sorted(pq.read_table(out / "meta" / "subtasks.parquet").column("subtask").to_pylist()) == [
        "", "grasp", "lift", "reach"
    ]
    assert _read(out) == {0: _shifted(DEMO_0, SKIP), 1: _shifted(DEMO_1, SKIP)}


def test_none_leaves_them_out_and_language_for_v21_is_refused(recording, tmp_path):
    out = _convert(recording, tmp_path / "none", "v3.0", subtasks="none")
    info = json.loads((out / "meta" / "info.json").read_text())
    assert not {"subtask_index", "language_persistent"} & set(info["features"])
    assert _read(out) == {}
    with pytest.raises(StudioError, match="v3.0"):
        _convert(recording, tmp_path / "refused", "v2.1", subtasks="language")
    assert not (tmp_path / "refused").exists()


def test_back_to_hdf5_the_demos_carry_them_again(recording, v30, tmp_path):
    """From the LeRobot columns, and (with none there) from the template demo at the replayed offset:
    both give the segments of the frames replayed."""
    plain = _convert(recording, tmp_path / "plain", "v3.0", subtasks="none")
    exact = (_shifted(DEMO_0, SKIP), _shifted(DEMO_1, SKIP))
    for source, name, want in (
        (v30, "from columns.hdf5", (exact[0], AS_LANGUAGE_1)),  # what the language rows can say
        (plain, "from template.hdf5", exact),
    ):
        out = tmp_path / name
        l2h.run(source, l2h.LerobotToHdf5Options(out=out, template=recording))
        with h5py.File(out, "r") as f:
            got = [json.loads(f["data"][d].attrs["subtasks"]) for d in ("demo_0", "demo_1")]
            offsets = [int(f["data"][d].attrs["rollout_studio_frame_offset"]) for d in ("demo_0", "demo_1")]
        assert got == [[dict(s._asdict()) for s in segments] for segments in want], name
        assert offsets == [SKIP, SKIP], name  # paired with the template's demos, frame 2 on


def test_a_sharded_conversion_refuses_demos_with_subtasks(recording, tmp_path):
    options = h2l.Hdf5ToLerobotOptions(
        out=tmp_path / "sharded", task="Pick", format="v3.0", skip_frames=SKIP, min_length=1, include_failed=True
    )
    with pytest.raises(StudioError, match="subtasks") as caught:
        sharded.prepare([recording], options, 2)
    assert caught.value.path == str(recording.absolute())
    assert [p.name for p in tmp_path.iterdir()] == []  # no staging folder


def test_the_plan_says_what_happens_to_them(recording, tmp_path):
    def plan(fmt: str, subtasks: str) -> h2l.Plan:
        return h2l.plan([recording], h2l.Hdf5ToLerobotOptions(
            out=tmp_path / "p", task="Pick", format=fmt, skip_frames=SKIP, min_length=1, include_failed=True,
            subtasks=subtasks,
        ))

    assert plan("v3.0", "auto").details["subtasks"] == "2 demos' subtasks -> language columns"
    assert plan("v2.1", "auto").details["subtasks"] == "2 demos' subtasks -> subtask_index + meta/subtasks.parquet"
    assert plan("v3.0", "none").details["subtasks"] == "2 demos' subtasks: not written"
    refused = plan("v2.1", "language")
    assert [e for e in refused.errors if "v3.0" in e] == [
        "the language columns of LeRobot 0.6 exist in LeRobot v3.0 datasets only (export to v3.0, or use --subtasks index)"
    ]
    assert not (tmp_path / "p").exists()
