"""ReviewSession without Qt: order and filter by scores and decisions, pages and moves, keys that
decide through a real Curation (undo), Enter's target frame, variants grouped with best of N, and
the thumbnails' loop frames read from a real HDF5 recording."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backend.curation import Curation
from backend.scores.table import EpisodeScores, Finding, ScoreTable
from backend.sessions.review import ReviewSession, format_number, visible_first
from backend.sessions.review_work import camera_size, episode_loop, loop_frames, poster_frame


def _table() -> ScoreTable:
    """Episodes 0-3 real; 4, 5, 6 generated variants of 1 (6 the best by predicted rating); 7 has
    no scores at all."""
    jerk = {0: 10.0, 1: 500.0, 2: 50.0, 3: 7000.0, 4: 80.0, 5: 90.0, 6: 60.0}
    episodes = []
    for index, value in jerk.items():
        item = EpisodeScores(index, scores={"jerky": value, "flicker": -0.0})
        if index >= 4:
            item.source, item.variant = 1, index - 4
            item.predicted_rating = {4: 0.2, 5: 0.45, 6: 0.9}[index]
        episodes.append(item)
    episodes[3].findings = [
        Finding("idle_episode", "info", (2, 5), "idle"),
        Finding("jerky", "error", (12, 14), "too jerky"),
    ]
    episodes[2].findings = [Finding("frozen_camera", "warning", (8, 20), "front froze")]
    return ScoreTable("d.hdf5", episodes, signals=["jerky", "flicker", "frozen_camera", "idle_episode"])


@pytest.fixture
def review(tmp_path) -> ReviewSession:
    curation = Curation(tmp_path / "d.hdf5")
    curation.autosave = False
    session = ReviewSession(page_size=3)
    session.load(range(8), {i: 20 + i for i in range(8)}, curation, _table())
    return session


def _episodes(session: ReviewSession) -> list[int]:
    return [cell.episode for cell in session.cells]


def test_sort_filter_and_group(review):
    # grouped: each source (or lone episode) then its variants, in the sort order
    assert _episodes(review) == [0, 1, 4, 5, 6, 2, 3, 7]
    assert [c.best for c in review.cells if c.source == 1] == [False, False, True]
    review.set_grouped(False)
    review.set_sort("jerky", descending=True)
    assert _episodes(review) == [3, 1, 5, 4, 6, 2, 0, 7]  # no score: last either way
    review.set_sort("uncertainty", descending=True)
    assert _episodes(review)[:3] == [5, 4, 6]  # P(good) 0.45 is the most uncertain
    assert "jerky" in review.sort_keys() and "predicted_rating" in review.sort_keys()
    with pytest.raises(ValueError):
        review.set_sort("no_such_signal")

    assert review.set_filter("jerky>70 and not jerky>1000")
    assert sorted(_episodes(review)) == [1, 4, 5]
    assert not review.set_filter("jerk>5")  # a typo: said, and the previous filter stays
    assert "jerk" in review.filter_error and sorted(_episodes(review)) == [1, 4, 5]
    assert review.set_filter("frozen_camera")  # bare name: the signal fired
    assert _episodes(review) == [2]
    assert review.set_filter("")
    review.curation.set(2, None, rating="bad")
    review.set_decision_filter("bad")
    assert _episodes(review) == [2]
    review.set_decision_filter("unrated")
    assert 2 not in _episodes(review) and len(review.cells) == 7
    assert review.status_text() == "1–3 of 7 · page 1/3"


def test_keys_decide_through_curation_and_undo(review):
    review.set_grouped(False)
    assert review.current_cell().episode == 0
    assert review.key("A") == "accept"
    assert review.curation.decision(0).rating == "good"
    assert review.current_cell().episode == 1  # a decision moves on
    review.key("R")
    assert review.curation.decision(1).rating == "bad" and review.current_cell().episode == 2
    review.key("F")
    assert review.curation.decision(2).flagged and review.current_cell().episode == 2  # a flag stays
    review.key("U")
    assert not review.curation.decision(2).flagged
    review.key("U")
    assert review.curation.decision(1).rating is None

    # moves: a page holds 3 cells; rows of 2 columns; past the page's end goes to the next page
    review.set_current(0)
    review.key("Right", columns=2)
    assert (review.page, review.current) == (0, 1)
    review.key("Down", columns=2)
    assert (review.page, review.current, review.current_cell().episode) == (1, 0, 3)
    review.key("PgDown")
    assert (review.page, review.current_cell().episode) == (2, 6)
    review.key("PgUp")
    assert review.page == 1
    assert review.key("Q") is None

    # Enter: the most severe finding's first frame; select another finding
    review.go_to_episode(3)
    assert review.open_target() == (3, 12)
    review.select_finding(1)
    assert review.open_target() == (3, 2)
    review.go_to_episode(0)
    assert review.open_target() == (0, 0)  # nothing fired: the first frame


def test_decision_filter_follows_decisions(review):
    review.set_grouped(False)
    review.set_decision_filter("unrated")
    review.key("A")  # episode 0 leaves the unrated cells; the next one is current
    assert 0 not in _episodes(review) and review.current_cell().episode == 1
    review.undo()
    assert _episodes(review)[0] == 0


def test_best_of_n_is_one_undoable_decision(review):
    review.go_to_episode(5)
    assert review.key("B") == "best"
    ratings = {e: review.curation.decision(e).rating for e in (1, 4, 5, 6)}
    assert ratings == {1: None, 4: "bad", 5: "bad", 6: "good"}
    review.key("U")
    assert all(review.curation.decision(e).rating is None for e in (4, 5, 6))
    review.go_to_episode(0)
    assert not review.accept_best()  # a lone episode has no variants


def test_without_scores_the_grid_still_reviews(tmp_path):
    curation = Curation(tmp_path / "d.hdf5")
    curation.autosave = False
    session = ReviewSession()
    seen: list[int] = []
    session.add_listener(lambda: seen.append(session.current))
    session.load([0, 1, 2], {0: 5, 1: 9, 2: 7}, curation, None)
    assert _episodes(session) == [0, 1, 2] and session.badges(1) == []
    session.set_sort("length", descending=True)
    assert _episodes(session) == [1, 2, 0]
    session.key("A")
    assert curation.decision(1).rating == "good" and seen
    assert session.caption(session.cells[0]) == "ep 1 · length 9"
    assert not session.set_filter("jerky>1")  # no table: no signal names
    session.set_sort("predicted_rating")
    assert _episodes(session) == [0, 1, 2]  # none predicted: episode order


def test_numbers_shown_never_negative_zero(review):
    assert format_number(-0.0) == "0" and format_number(-0.0004) == "-4.0e-04"
    assert (
        format_number(2982.4) == "2982" and format_number(-0.4) == "-0.4" and format_number(12.345) == "12.3"
    )
    review.set_sort("flicker")
    assert review.caption(review.cells[0]).endswith("flicker 0")
    assert math.isnan(review.value(7, "jerky"))


def test_loop_frames_from_a_recording(tmp_path):
    from backend.formats import open_dataset
    from tests.recordings import DemoSpec, RecordingSpec, frame_level, write_recording

    path = write_recording(
        tmp_path / "r.hdf5", RecordingSpec([DemoSpec(20), DemoSpec(30)], width=64, height=48)
    )
    with open_dataset(path) as dataset:
        loop = episode_loop(dataset, 1, ["front", "wrist"], count=8)
        width, height = camera_size(2)
        assert len(loop) == 8 and loop[0].shape == (height, 2 * width, 3) and loop[0].dtype == np.uint8
        # the last loop frame is the episode's last frame; the front camera on the left
        front, wrist = loop[-1][:, :width].mean(), loop[-1][:, width:].mean()
        assert abs(front - frame_level(1, 29, 0)) < 12 and abs(wrist - frame_level(1, 29, 1)) < 12
        got: list[int] = []
        assert (
            loop_frames(
                dataset,
                [1, 0],
                ["front"],
                lambda e, f: got.append((e, len(f), f[0].shape)),
                posters=[0],
                first=1,
            )
            == 2
        )
        poster = poster_frame(dataset, 1, ["front", "wrist"])[0]
        assert abs(poster[:, :width].mean() - frame_level(1, 15, 0)) < 12
    # the loop of the cell in view, then the others' posters, then their loops
    assert got == [(1, 8, (120, 160, 3)), (0, 1, (120, 160, 3)), (0, 8, (120, 160, 3))]


def test_a_new_dataset_keeps_the_sort_and_drops_the_filter(review, tmp_path):
    review.set_sort("jerky", descending=True)
    assert review.set_filter("jerky>70")
    review.load([0, 1], {0: 5, 1: 6}, review.curation, None)
    assert (review.sort_key, review.filter_text) == ("jerky", "")
    assert _episodes(review) == [0, 1]  # no scores: every episode, in episode order


def test_one_update_per_key_and_decisions_made_elsewhere(review):
    review.set_grouped(False)
    updates: list[int] = []
    review.curation.add_listener(lambda episodes: review.decisions_changed())  # as Browse's view does
    review.add_listener(lambda: updates.append(review.current))
    review.key("A")
    assert updates == [1]  # the curation's listener waited for the key's own update
    review.set_decision_filter("unrated")
    updates.clear()
    review.curation.set(2, None, rating="bad")  # decided in Browse's table
    assert 2 not in _episodes(review) and len(updates) == 1


def test_cells_in_view_decode_first():
    assert visible_first([4, 5, 6, 7, 8], [7, 8, 9]) == [7, 8, 4, 5, 6]
    assert visible_first([1, 2], []) == [1, 2]
