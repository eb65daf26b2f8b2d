"""CompareSession without Qt: sides on registry leases, pairing as the CLI says it, playhead, pair state."""

from __future__ import annotations

import pytest

from backend.compare.sources import parse_source
from backend.compare.view import build_view
from backend.errors import Cancelled
from backend.numbers import fixed
from backend.registry import DatasetRegistry
from backend.sessions.compare import CompareSession, worst_joint
from tests.compare_data import GeneratedSpec, write_generated_hdf5, write_source_hdf5

LENGTHS = (60, 75)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("session_compare")
    src = write_source_hdf5(root / "src.hdf5", LENGTHS, camera=None)
    specs = [GeneratedSpec(1, delay_s=0.2, seed=3), GeneratedSpec(0, frame_offset=5)]
    gen = write_generated_hdf5(root / "gen.hdf5", src, specs, LENGTHS, fps=15.0)
    return {"src": str(src), "gen": str(gen)}


def _open(session: CompareSession, index: int, path: str, episode: int | None = None) -> None:
    lease = session.claim(session.open_lease(path))
    session.set_dataset(index, path, lease, episode)


def test_sides_pair_like_the_cli_and_leases_are_released(files):
    registry = DatasetRegistry()
    session = CompareSession(registry)
    _open(session, 0, files["src"], 0)
    _open(session, 1, files["gen"], 0)
    assert registry.users(files["src"]) == 1 and registry.users(files["gen"]) == 1
    session.after_change(1)
    # B episode 0 came from source episode 1 (provenance): A follows it; align none, no frame offset
    assert session.sides[0].episode == 1
    assert session.sides[1].offset_s == 0.0
    text, _ = session.pair_label(1)
    assert text.startswith("paired by provenance: B episode 0 came from demo_1 of A"), text
    # B episode 1 starts at source frame 5 of episode 0: A follows, the offset is the recorded one
    session.sides[1].episode = 1
    session.after_change(1)
    assert session.sides[0].episode == 0
    assert session.sides[1].offset_s == pytest.approx(-5 / 30)
    # A picked by hand: kept for this B episode, and the label says the pair is not the record's
    session.choose_a_episode(1)
    session.after_change(0)
    assert session.sides[0].episode == 1
    assert session.sides[1].offset_s == 0.0
    assert session.pair_label(1)[0].startswith("warning: ")
    # C shows the source; replacing it releases its lease
    index = session.add_side()
    assert index == 2 and session.sides[2].letter == "C"
    _open(session, 2, files["gen"], 0)
    assert registry.users(files["gen"]) == 2
    _open(session, 2, files["src"], 0)
    assert registry.users(files["gen"]) == 1 and registry.users(files["src"]) == 2
    assert session.remove_last_side() and len(session.sides) == 2
    assert registry.users(files["src"]) == 1
    assert not session.remove_last_side()  # A and B stay
    session.close()
    assert registry.open_paths() == []
    # a lease a task opens after the pane closed is released at once
    with pytest.raises(Cancelled):
        session.open_lease(files["src"])
    assert registry.open_paths() == []


def test_named_episodes_follow_the_record_or_stay_as_asked(files):
    registry = DatasetRegistry()
    session = CompareSession(registry)
    _open(session, 0, files["src"], 0)
    _open(session, 1, files["gen"], 0)
    # "src:0 gen:0": the same-number guess follows B's record (demo_1)
    session.resolve_named([parse_source(f"{files['src']}:0"), parse_source(f"{files['gen']}:0")])
    assert session.sides[0].episode == 1
    # "src:0 gen:1" with A set to 0: different numbers are kept as asked
    session.sides[0].episode = 0
    session.sides[1].episode = 1
    session.resolve_named([parse_source(f"{files['src']}:0"), parse_source(f"{files['gen']}:1")])
    assert session.sides[0].episode == 0
    # B left out: the generated episode made from A's episode is picked
    session.sides[0].episode = 1
    session.resolve_named([parse_source(f"{files['src']}:1"), parse_source(files["gen"])])
    assert session.sides[1].episode == 0
    session.close()
    assert registry.open_paths() == []


def test_view_keeps_its_datasets_open_and_estimates_offsets(files):
    registry = DatasetRegistry()
    session = CompareSession(registry)
    _open(session, 0, files["src"], 1)
    _open(session, 1, files["gen"], 0)
    session.align = "offset"
    view = build_view(session.requests(), session.feature, session.align, session.band_s)
    assert session.accept_view(view)
    assert session.sides[1].offset_s == pytest.approx(0.2, abs=0.03)
    assert session.clock.length == view.num_frames and session.clock.fps == 30.0
    assert "B vs A: RMSE" in session.summary_text() and "-0.00" not in session.summary_text()
    # B replaced: the view still holds gen open until another view replaces it
    _open(session, 1, files["src"], 1)
    assert registry.is_open(files["gen"])
    assert not session.accept_view(view)  # no longer what the sides show
    session.align = "none"
    session.after_change(1)  # the same dataset: paired by index, no offset
    assert session.sides[1].offset_s == 0.0
    same = build_view(session.requests(), "action", "none")
    assert session.accept_view(same)
    assert not registry.is_open(files["gen"])
    # A against itself: every error is zero, so no joint is "worst" and no "-0.00" is written
    summary = same.sides[1].result.summary()
    assert worst_joint(summary) is None
    assert session.summary_text() == f"B vs A: RMSE 0.00 {same.sides[1].result.unit.label}"
    extra = session.report_extra()
    assert [s["episode"] for s in extra["sources"]] == [1, 1]
    session.close()
    assert registry.open_paths() == []


def test_compare_all_opens_and_releases(files):
    registry = DatasetRegistry()
    session = CompareSession(registry)
    result = session.compare_all(files["src"], files["gen"], "action", "offset", 1.0)
    assert sorted(r.generated for r in result.rows) == [0, 1]
    assert [r.source for r in sorted(result.rows, key=lambda r: r.generated)] == [1, 0]
    assert registry.open_paths() == []


def test_playhead_steps_plays_and_stops_at_the_end(files):
    session = CompareSession(DatasetRegistry())
    _open(session, 0, files["src"], 0)
    _open(session, 1, files["src"], 0)
    assert session.accept_view(build_view(session.requests()))
    assert session.end == pytest.approx(59 / 30)
    session.seek_frame(30)
    session.step(10)
    assert session.time == pytest.approx(40 / 30) and session.frame == 40
    session.set_time(0.51)  # between frames: the time stays as asked
    assert session.time == 0.51 and session.clock.position == 15
    session.seek_frame(10_000)
    assert session.frame == 59
    assert session.toggle_play() and session.time == 0.0  # at the end, play starts over
    session.clock.set_speed(2.0)
    assert session.advance(0.5) and session.time == pytest.approx(1.0)
    assert not session.advance(5.0) and session.time == pytest.approx(59 / 30)
    session.close()


def test_pair_state_round_trip(files, tmp_path):
    registry = DatasetRegistry()
    session = CompareSession(registry)
    _open(session, 0, files["src"], 1)
    _open(session, 1, files["gen"], 0)
    session.align, session.band_s, session.follow = "dtw", 2.5, False
    state = session.pair_state()
    assert state["sources"] == [f"{files['src']}:1", f"{files['gen']}:0"]
    session.close()
    again = CompareSession(registry)
    assert again.restore_choices(state) == state["sources"]
    assert (again.align, again.band_s, again.follow) == ("dtw", 2.5, False)
    gone = dict(state, sources=[str(tmp_path / "missing.hdf5:0"), f"{files['gen']}:0"])
    assert again.restore_choices(gone) == []


def test_numbers_never_show_a_negative_zero():
    assert fixed(-0.0001, ".3f") == "0.000"
    assert fixed(-0.0004, "+.3f") == "+0.000"
    assert fixed(-0.0, ".2f") == "0.00"
    assert fixed(-1.5, ".2f") == "-1.50"
    assert fixed(None) == "–"


def test_a_generated_folder_never_takes_the_source_side(tmp_path) -> None:
    """Open folder… with a folder of Cosmos outputs fills B, not the empty source side A."""
    from backend.sessions.compare import is_generated
    from tests.cosmos_data import StandinSample, write_standin_outputs
    from tests.recordings import DemoSpec, RecordingSpec, write_recording

    recording = write_recording(tmp_path / "rec.hdf5", RecordingSpec([DemoSpec(12)]))
    outputs = write_standin_outputs(recording, tmp_path / "cosmos out", [StandinSample("clip_0", 0, 8)])
    assert is_generated(outputs) and not is_generated(recording) and not is_generated(tmp_path / "none")
    session = CompareSession(DatasetRegistry())
    assert session.slot_for(outputs) == 1  # both free: the generated one goes to B
    assert session.slot_for(recording) == 0  # a recording goes to A
    session.sides[1].path = str(outputs)  # B taken: the next free side is A
    assert session.slot_for(outputs) == 0 and session.slot_for(recording) == 0


def test_recent_datasets_are_offered_on_every_side(tmp_path) -> None:
    existing = tmp_path / "a.hdf5"
    existing.write_bytes(b"")
    session = CompareSession(DatasetRegistry())
    session.offer_recent([str(existing), str(tmp_path / "gone.hdf5")])
    assert session.known_paths == [str(existing)]
