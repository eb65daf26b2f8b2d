"""BrowseSession without Qt: the dataset as a registry lease, curation through the session, readers
that keep the dataset open, and an opening replaced before it finished."""

from __future__ import annotations

import json

import pytest

from backend.errors import Cancelled
from backend.registry import DatasetRegistry
from backend.sessions.browse import BrowseSession, resolve_dataset_path
from tests.recordings import DemoSpec, RecordingSpec, write_recording


@pytest.fixture
def recording(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    spec = RecordingSpec([DemoSpec(12), DemoSpec(9), DemoSpec(15, success=False)], width=16, height=12)
    return write_recording(tmp_path / "pick.hdf5", spec)


def _open(session: BrowseSession, path) -> None:
    opening = session.begin_open(path)
    opening.run()
    assert session.adopt(opening)


def test_open_curate_undo_and_close(recording):
    datasets = DatasetRegistry()
    session = BrowseSession(datasets)
    changed: list[list[int]] = []
    session.add_listener(changed.append)
    _open(session, recording)
    assert datasets.users(recording) == 1 and session.dataset.num_episodes == 3
    assert session.first_episode(7) == 0 and session.first_episode(2) == 2
    assert [row["length"] for row in session.rows()] == [12, 9, 15]
    assert session.cameras() == ["front", "wrist"] and session.has_images()

    session.show_episode(1)
    session.rate("good")
    session.rate("good")  # the same rating again clears it
    assert session.decision().rating is None
    session.selection = [0, 1, 2]
    session.toggle_flag()  # the selection includes the shown episode: all three
    assert [session.curation.decision(i).flagged for i in range(3)] == [True, True, True]
    session.selection = [0, 2]
    session.toggle_excluded()  # the shown episode is not selected: only it
    assert [session.curation.decision(i).excluded for i in range(3)] == [False, True, False]
    session.trim_in(2)
    session.trim_out(7)
    assert session.marks() == (2, 7)
    session.set_task("Pick it slowly")
    session.set_note("slips")
    row = session.row_values(session.episode)
    assert (row["task"], row["task_edited"], row["trimmed"], row["note"]) == ("Pick it slowly", True, True, "slips")
    session.set_task("")  # empty: back to the recorded task
    assert not session.row_values(session.episode)["task_edited"]
    session.undo()
    assert session.task_text() == "Pick it slowly"
    session.redo()
    session.clear_trim()
    assert session.marks() == (None, None)
    assert session.summary_text().startswith("2 of 3 episodes kept (1 excluded")
    assert changed and all(isinstance(episodes, list) for episodes in changed)
    saved = json.loads(session.curation.path.read_text())
    assert saved["episodes"]["1"]["excluded"] is True

    session.close()
    assert session.dataset is None and not datasets.is_open(recording)
    assert datasets.closed == [datasets.key(recording)]
    session.rate("good")  # nothing shown: nothing happens


def test_readers_keep_the_dataset_open_until_they_are_done(recording):
    datasets = DatasetRegistry()
    session = BrowseSession(datasets)
    _open(session, recording)
    h5 = session.dataset.reader._h5
    episode = session.show_episode(0)
    opener = session.stream_opener(episode, "front")
    stream = opener()
    task_lease = session.share()
    session.close()  # the pane lets go: a stream and a task still read it
    assert datasets.users(recording) == 2 and h5.id.valid
    assert stream.frame(3).shape == (12, 16, 3)
    stream.close()
    task_lease.release()
    assert not datasets.is_open(recording) and not h5.id.valid
    with pytest.raises(RuntimeError):
        opener()  # a loader thread asking late opens nothing


def test_an_opening_replaced_before_it_finished_releases_its_lease(recording, tmp_path):
    datasets = DatasetRegistry()
    session = BrowseSession(datasets)
    first = session.begin_open(recording)
    second = session.begin_open(recording)  # the user picked again before the first finished
    with pytest.raises(Cancelled):
        first.run()
    assert not datasets.is_open(recording)
    second.run()
    assert not session.adopt(first) and session.adopt(second)
    assert datasets.users(recording) == 1
    late = session.begin_open(recording)  # closes the shown one, then opens again
    late.run()
    session.close()  # abandoned after it opened: its lease goes too
    assert not datasets.is_open(recording)
    assert late.take() is None


def test_resolve_dataset_path(tmp_path):
    meta = tmp_path / "ds" / "meta"
    meta.mkdir(parents=True)
    (meta / "info.json").write_text("{}")
    assert resolve_dataset_path(meta / "info.json") == tmp_path / "ds"
    assert resolve_dataset_path(tmp_path / "x.hdf5") == tmp_path / "x.hdf5"


def test_a_failed_opening_keeps_the_dataset_shown_and_names_the_file(recording, tmp_path):
    from backend.errors import StudioError

    datasets = DatasetRegistry()
    session = BrowseSession(datasets)
    _open(session, recording)
    bad = tmp_path / "other" / "notes.json"
    bad.parent.mkdir()
    bad.write_text("{}")
    opening = session.begin_open(bad)
    assert session.dataset is not None and session.dataset.path == recording  # still shown meanwhile
    with pytest.raises(StudioError) as raised:
        opening.run()
    assert raised.value.path == str(bad) and raised.value.__cause__ is None
    assert session.open_failed(opening)
    assert session.dataset.path == recording and datasets.users(recording) == 1
    session.close()
    assert not datasets.is_open(recording)


def _big_session(tmp_path, count: int = 300) -> BrowseSession:
    """A session showing a memory dataset of ``count`` episodes: lengths 20 + (7 i mod 50), tasks in turn."""
    from tests.browse_data import memory_dataset

    lengths = tuple(20 + (7 * i) % 50 for i in range(count))
    dataset = memory_dataset(tmp_path / "big.hdf5", lengths=lengths, tasks=("Pick the orange", "Lift the cube"))
    session = BrowseSession(DatasetRegistry())
    session.show_dataset(dataset)
    return session


def test_table_sorts_and_filters_hundreds_of_episodes(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    session = _big_session(tmp_path)
    table = session.table
    lengths = [20 + (7 * i) % 50 for i in range(300)]
    assert len(table) == 300 and table.visible_episodes() == list(range(300))
    # sort by length, descending; ties keep the dataset's order
    table.set_sort("length", descending=True)
    table.apply(table.compute_order())
    expected = sorted(range(300), key=lambda i: (-lengths[i], i))
    assert table.visible_episodes() == expected
    assert table.episode_at(0) == expected[0] and table.row_of(expected[5]) == 5
    # filters: success (even episodes), a length range and a task
    table.set_filters(success="yes", length_range=(30, 40))
    table.apply(table.compute_order())
    wanted = [i for i in expected if i % 2 == 0 and 30 <= lengths[i] <= 40]
    assert table.visible_episodes() == wanted and table.row_of(1) == -1
    table.set_filters(task="Lift the cube")  # odd episodes: none succeeded
    assert table.compute_order().size == 0
    table.reset_filters()
    # curation through the session updates the columns; filters on decisions and text
    session.show_episode(17)
    session.selection = [17, 42, 123]
    session.toggle_flag()
    session.selection = []
    session.show_episode(42)
    session.set_note("Wobbly grasp")
    session.rate("bad")
    session.show_episode(200)
    session.toggle_excluded()
    session.set_task("Stack the blocks")
    table.set_sort("index")
    table.set_filters(flag="flagged")
    table.apply(table.compute_order())
    assert table.visible_episodes() == [17, 42, 123]
    table.set_filters(flag="any", text="wobbly BAD")  # every word, any case, note and rating
    table.apply(table.compute_order())
    assert table.visible_episodes() == [42]
    table.set_filters(text="demo_12")  # source: demo_12, demo_120..129
    table.apply(table.compute_order())
    assert table.visible_episodes() == [12, *range(120, 130)]
    table.set_filters(text="", excluded="only")
    table.apply(table.compute_order())
    assert table.visible_episodes() == [200]
    assert table.values(200)["task"] == "Stack the blocks" and table.values(200)["task_edited"]
    assert table.text(table.position[200], "length") == str(lengths[200])
    table.set_filters(excluded="hide", rating="bad")
    table.apply(table.compute_order())
    assert table.visible_episodes() == [42]
    # sort by rating: good > unrated > bad, text columns case-insensitively
    session.show_episode(5)
    session.rate("good")
    table.reset_filters()
    table.set_sort("rating", descending=True)
    table.apply(table.compute_order())
    order = table.visible_episodes()
    assert order[0] == 5 and order[-1] == 42 and order[1:4] == [0, 1, 2]
    table.set_sort("task")
    table.apply(table.compute_order())
    order = table.visible_episodes()
    assert order[0] == 1 and order[149] == 299 and order[150] == 0 and order[-1] == 200
    assert table.tasks() == ["Pick the orange", "Lift the cube", "Stack the blocks"]
    # undo goes back in the table too
    session.undo()  # the rating of 5
    assert table.values(5)["rating"] is None
    assert session.summary_text().startswith("299 of 300 episodes kept (1 excluded")
    session.trim_in(3)
    assert table.summary(session.curation) == session.curation.summary(session.dataset)
    session.close()
    assert len(session.table) == 0


def test_saves_go_to_save_later_and_close_writes_what_is_pending(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    from tests.browse_data import memory_dataset

    session = BrowseSession(DatasetRegistry())
    flushes = []
    session.save_later = flushes.append
    session.show_dataset(memory_dataset(tmp_path / "d.hdf5"))
    session.show_episode(1)
    session.rate("good")
    session.toggle_flag()
    path = session.curation.path
    assert len(flushes) == 1 and not path.exists()  # nothing written on this thread
    flushes[0]()
    assert json.loads(path.read_text())["episodes"] == {"1": {"rating": "good", "flagged": True}}
    session.set_note("slips")
    session.close()  # the flush handed out never ran: closing writes it
    assert json.loads(path.read_text())["episodes"]["1"]["note"] == "slips"


def test_rating_every_episode_at_once_is_one_command_and_one_save(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    session = _big_session(tmp_path)
    flushes: list = []
    session.save_later = flushes.append
    session.show_dataset(session.dataset)  # again, so the curation hands its saves to save_later
    table = session.table
    changed: list[list[int]] = []
    session.add_listener(changed.append)
    session.show_episode(7)
    session.set_note("keep")  # one decision before: the bulk rating keeps its note
    session.selection = list(range(300))
    session.rate("bad")
    assert changed[-1] == list(range(300))  # one notice for every episode
    assert (table.rating == 2).all() and table.note[7] == "keep" and table.note[8] == ""
    assert table.summary(session.curation)["bad"] == 300
    table.set_sort("length", descending=True)
    table.set_filters(text="keep bad")  # the columns' text follows the bulk change
    table.apply(table.compute_order())
    assert table.visible_episodes() == [7]
    assert table.rows_of([7, 8, -5]).tolist() == [0, -1, -1]
    table.reset_filters()
    table.apply(table.compute_order())
    assert table.episodes_at([0, 1]).tolist() == table.visible_episodes()[:2]
    assert len(flushes) == 1  # one save for the two commands: the latest text wins
    flushes[0]()
    data = json.loads(session.curation.path.read_text())
    assert len(data["episodes"]) == 300 and data["episodes"]["7"] == {"rating": "bad", "note": "keep"}
    assert data["history"]["undo"][-1]["changes"][0] == {"episode": 0, "field": "rating", "old": None, "new": "bad"}
    session.undo()
    assert not table.rating.any() and table.note[7] == "keep"
    session.close()


def test_each_edit_updates_the_table_as_a_fresh_one_would_show_it(tmp_path, monkeypatch):
    """Edits update only the columns of the fields they change: after each edit, undo and redo the
    table's rows and text search equal those of a table made afresh from the same decisions."""
    from backend.sessions.browse_table import EpisodeTable

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    session = _big_session(tmp_path)
    table = session.table

    def fresh() -> EpisodeTable:
        other = EpisodeTable()
        other.load(session.dataset.episodes, session.dataset.fps, session.curation)
        return other

    def same() -> None:
        other = fresh()
        for column in ("rating", "flagged", "excluded", "trimmed", "task_edited"):
            assert getattr(table, column).tolist() == getattr(other, column).tolist(), column
        assert (table.note, table.task) == (other.note, other.task)
        for text in ("good", "bad", "slow", "wobbly"):
            for t in (table, other):
                t.set_filters(text=text)
            assert table.compute_order().tolist() == other.compute_order().tolist(), text
        table.reset_filters()

    session.show_episode(3)
    session.selection = [1, 2, 3]
    steps = [
        lambda: session.rate("good"), lambda: session.toggle_flag(), lambda: session.set_note("wobbly"),
        lambda: session.set_task("Pick it slow"), lambda: session.trim_in(2), lambda: session.toggle_excluded(),
        lambda: session.rate("bad"), session.undo, session.undo, session.redo,
    ]
    for step in steps:
        step()
        same()
    session.close()
