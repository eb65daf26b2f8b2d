"""Subtask segments: checks, edits (add, split, join, snap, resize), copies by relative time, and the
``subtasks`` field of the curation decisions (undo, redo, saved and loaded with the history)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backend import subtasks as st
from backend.curation import Curation
from backend.errors import StudioError
from backend.subtasks import Segment
from tests.browse_data import memory_dataset


def test_check_segments_sorts_and_refuses_bad_ones():
    segs = st.check_segments([{"start": 10, "end": 19, "text": " lift "}, [0, 9, "grasp"]])
    assert segs == (Segment(0, 9, "grasp"), Segment(10, 19, "lift"))
    assert st.segments_json(segs) == [{"start": 0, "end": 9, "text": "grasp"}, {"start": 10, "end": 19, "text": "lift"}]
    assert st.check_segments(None) == ()
    for bad in ([[5, 4, "x"]], [[0, 5, "a"], [5, 9, "b"]], [[-1, 3, "x"]], [[0, 3, "two\nlines"]], "0-3"):
        with pytest.raises(StudioError):
            st.check_segments(bad)


def test_add_gives_way_split_join_resize():
    segs = st.add((), 0, 29, "reach")
    segs = st.add(segs, 40, 20, "grasp", length=60)  # either order; cuts the end of "reach"
    assert segs == (Segment(0, 19, "reach"), Segment(20, 40, "grasp"))
    segs = st.add(segs, 5, 9, "inner")  # inside "reach": it is cut in two
    assert segs == (Segment(0, 4, "reach"), Segment(5, 9, "inner"), Segment(10, 19, "reach"), Segment(20, 40, "grasp"))
    segs = st.remove(segs, 1)
    segs = st.join(segs, 0)  # over the gap, same text
    assert segs == (Segment(0, 19, "reach"), Segment(20, 40, "grasp"))
    assert st.join(segs, 0) == (Segment(0, 40, "reach; grasp"),)
    assert st.split(segs, 30) == (Segment(0, 19, "reach"), Segment(20, 29, "grasp"), Segment(30, 40, "grasp"))
    assert st.split(segs, 20) == segs and st.split(segs, 50) == segs  # first frame or a gap: no change
    assert st.resize(segs, 1, 10, 99, length=60) == (Segment(0, 19, "reach"), Segment(20, 59, "grasp"))
    assert st.set_text(segs, 0, "approach")[0].text == "approach"
    assert st.segment_at(segs, 19) == 0 and st.segment_at(segs, 41) is None


def test_snap_moves_boundaries_within_tolerance():
    segs = (Segment(0, 18, "a"), Segment(19, 40, "b"), Segment(50, 59, "c"))
    snapped = st.snap(segs, [21, 48, 90], tolerance=3)
    assert snapped == (Segment(0, 20, "a"), Segment(21, 40, "b"), Segment(48, 59, "c"))
    assert st.snap(segs, [], 3) == segs


def test_labels_clip_and_scale():
    segs = (Segment(2, 4, "a"), Segment(7, 9, "b"))
    assert st.frame_labels(segs, 0, 10).tolist() == [-1, -1, 0, 0, 0, -1, -1, 1, 1, 1]
    assert st.frame_labels(segs, 3, 8).tolist() == [0, 0, -1, -1, 1]
    assert st.clip(segs, 3, 8) == (Segment(0, 1, "a"), Segment(4, 4, "b"))
    whole = (Segment(0, 39, "reach"), Segment(40, 99, "grasp"))
    assert st.scale(whole, 100, 150) == (Segment(0, 59, "reach"), Segment(60, 149, "grasp"))
    assert st.scale(whole, 100, 50) == (Segment(0, 19, "reach"), Segment(20, 49, "grasp"))
    tiny = st.scale(whole, 100, 1)
    assert tiny == (Segment(0, 0, "reach"),)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return memory_dataset(tmp_path_factory.mktemp("subtasks") / "d.hdf5", lengths=(40, 30, 60))


def test_subtasks_field_undo_redo_and_persist(dataset, tmp_path):
    curation = Curation(dataset.path, sidecar=tmp_path / "d.curation.json")
    seen = []
    curation.add_listener(seen.append)
    assert curation.set(0, subtasks=[{"start": 0, "end": 19, "text": "reach"}, {"start": 20, "end": 39, "text": "grasp"}])
    assert curation.decision(0).subtasks == (Segment(0, 19, "reach"), Segment(20, 39, "grasp"))
    assert curation.undo_label == "Edit subtasks of episode 0"
    stored = json.loads(curation.path.read_text())
    assert stored["episodes"]["0"]["subtasks"][1] == {"start": 20, "end": 39, "text": "grasp"}
    changed = st.copy_to_same_task(curation, dataset, 0)  # episode 2 has the same task, episode 1 not
    assert changed == [2]
    assert curation.decision(2).subtasks == (Segment(0, 29, "reach"), Segment(30, 59, "grasp"))
    assert curation.decision(1).subtasks == ()
    assert curation.undo_label == "Copy subtasks of episode 0 to 1 episode"

    loaded = Curation.load(dataset.path, dataset, sidecar=curation.path)  # history survives a restart
    assert loaded.decision(2).subtasks == curation.decision(2).subtasks
    loaded.undo()
    assert loaded.decision(2).subtasks == ()
    loaded.undo()
    assert loaded.decision(0).is_default()
    loaded.redo()
    assert loaded.decision(0).subtasks[0] == Segment(0, 19, "reach")
    assert isinstance(loaded.decision(0).subtasks[0], Segment)  # tuples again after a JSON round trip
    assert seen == [[0], [2]]
    with pytest.raises(StudioError):
        curation.set(1, subtasks=[[0, 10, "a"], [5, 12, "b"]])
    with pytest.raises(StudioError):
        st.copy_to_same_task(curation, dataset, 1)


def test_subtask_labels_are_ints():
    labels = st.frame_labels((Segment(0, 0, "x"),), 0, 3)
    assert labels.dtype == np.int64


def test_cli_add_show_suggest_copy_and_undo(tmp_path, capsys):
    from backend.cli import main
    from tests.browse_data import write_hdf5

    path = str(write_hdf5(tmp_path / "rec.hdf5", lengths=(30, 20, 30), width=16, height=12))
    assert main(["subtasks", "add", path, "0", "0", "11", "reach"]) == 0
    assert main(["subtasks", "add", path, "0", "12", "29", "grasp"]) == 0
    assert main(["subtasks", "copy", path, "0"]) == 0  # episode 2 has the same task
    capsys.readouterr()
    assert main(["subtasks", "show", path, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["0"] == shown["2"] == [{"start": 0, "end": 11, "text": "reach"}, {"start": 12, "end": 29, "text": "grasp"}]
    assert shown["1"] == []
    assert main(["curate", "undo", path]) == 0  # the copy is one undoable command
    assert Curation.load(path).decision(2).subtasks == ()
    assert main(["subtasks", "suggest", path, "1"]) == 0
    assert "episode 1 #0: frames 0-" in capsys.readouterr().out
    assert Curation.load(path).decision(1).subtasks == ()  # not stored without --accept
    assert main(["subtasks", "remove", path, "0", "5"]) == 2
    assert "no segment 5" in capsys.readouterr().err
