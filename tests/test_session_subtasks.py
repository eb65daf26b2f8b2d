"""SubtaskSession without Qt: create, name, split, join, resize, delete, copy to the same task, undo
through the curation, and suggestions from motion (gripper events, pauses) that the operator accepts."""

from __future__ import annotations

import numpy as np

from backend import subtasks as st
from backend.registry import DatasetRegistry
from backend.sessions.browse import BrowseSession
from backend.sessions.subtasks import SubtaskSession
from backend.subtasks import Segment
from tests.browse_data import memory_dataset

NAMES = ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"]


def _session(tmp_path, monkeypatch) -> tuple[BrowseSession, SubtaskSession]:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    browse = BrowseSession(DatasetRegistry())
    browse.show_dataset(memory_dataset(tmp_path / "d.hdf5", lengths=(60, 40, 90)))
    subtasks = SubtaskSession(browse)
    browse.show_episode(0)
    subtasks.episode_shown()
    return browse, subtasks


def test_edit_undo_and_copy(tmp_path, monkeypatch):
    browse, session = _session(tmp_path, monkeypatch)
    heard = []
    session.add_listener(lambda: heard.append(session.segments()))
    assert session.create(30, 10) == 0  # dragged right to left
    assert session.set_text("reach")
    assert session.create(31, 80, "grasp") == 1  # clipped to the episode's 60 frames
    assert session.segments() == (Segment(10, 30, "reach"), Segment(31, 59, "grasp"))
    assert session.split_at(45) and session.selected == 2
    assert session.segments()[2] == Segment(45, 59, "grasp")
    assert session.join_next(1) and session.segments()[1] == Segment(31, 59, "grasp")
    assert session.resize(0, 0, 40)  # stopped by the next segment
    assert session.segments()[0] == Segment(0, 30, "reach")
    session.select_at(50)
    assert session.selected_segment() == Segment(31, 59, "grasp")
    session.select_step(1)
    assert session.selected == 0
    assert browse.curation.undo_label == "Move subtask edge (episode 0)"
    browse.undo()
    assert session.segments()[0] == Segment(10, 30, "reach")
    assert session.copy_to_same_task([1]) == []  # a selection (table or grid): only episodes of its task
    assert session.copy_to_same_task() == [2]  # episode 2 has the same task
    assert browse.curation.decision(2).subtasks == (Segment(15, 45, "reach"), Segment(46, 89, "grasp"))
    assert session.delete(0) and session.segments() == (Segment(31, 59, "grasp"),)
    assert heard and heard[-1] == session.segments()
    browse.show_episode(1)
    session.episode_shown()
    assert session.segments() == () and session.selected is None
    assert not session.split_at(5) and not session.delete()
    assert session.offer({1: (Segment(0, 9, "found"),), 2: ()}) == (Segment(0, 9, "found"),)
    assert session.accept_suggestions() and session.segments() == (Segment(0, 9, "found"),)


def test_suggestions_from_motion(tmp_path, monkeypatch):
    browse, session = _session(tmp_path, monkeypatch)
    browse.show_episode(2)
    session.episode_shown()
    t = np.arange(90)

    def min_jerk(s):
        s = np.clip(s, 0, 1)
        return 10 * s**3 - 15 * s**4 + 6 * s**5

    arm = (min_jerk(t / 25) - 0.5 * min_jerk((t - 50) / 25))[:, None] * np.ones((1, 5))  # moves, pauses, moves
    gripper = np.where((t >= 35) & (t < 70), 0.0, 1.0)  # closes at 35, opens at 70
    assert st.gripper_events(gripper, 30.0) == [35, 70]
    assert st.velocity_minima(arm, 30.0) == [48]
    suggested = session.suggest(np.hstack([arm, gripper[:, None]]), NAMES)
    assert suggested == (
        Segment(0, 34, "reach"), Segment(35, 47, "grasp and move"), Segment(48, 69, "grasp and move"),
        Segment(70, 89, "release"),
    )
    session.create(2, 33, "approach")
    session.create(34, 72, "carry")
    assert session.snap(tolerance_s=0.1)  # 3 frames: edges at 2, 34 and 73 move to 0, 35 and 70
    assert session.segments() == (Segment(0, 34, "approach"), Segment(35, 69, "carry"))
    assert session.accept_suggestions() and session.segments() == suggested
    browse.undo()
    assert session.segments()[1] == Segment(35, 69, "carry")
    assert st.suggest(np.zeros((30, 6)), NAMES, 30.0) == (Segment(0, 29, ""),)  # no motion: one segment
