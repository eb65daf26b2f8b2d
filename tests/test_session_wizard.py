"""The wizards' Qt-free sessions, driven without a window: steps, latest-wins preview, the output
proposal, the run's endings, and a Convert session planning and writing a real recording."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from backend.sessions.convert import ConvertSession, conversion_for, parse_numbers
from backend.sessions.cosmos_idm import (
    cosmos_outputs_check,
    dataset_check,
    indices_text,
    kit_out,
    prepare_out,
    preset_from_form,
    safe_name,
)
from backend.sessions.wizard import DONE, INPUTS, OPTIONS, RUN, WizardSession
from tests.recordings import DemoSpec, RecordingSpec, write_recording


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    demos = [DemoSpec(20), DemoSpec(20, success=False), DemoSpec(7), DemoSpec(22)]
    return write_recording(tmp_path_factory.mktemp("session") / "teleop.hdf5", RecordingSpec(demos))


def test_the_sessions_import_no_qt() -> None:
    code = (
        "import sys, backend.sessions.wizard, backend.sessions.convert, backend.sessions.cosmos_idm; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'app', 'widgets')))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"


def test_steps_and_the_latest_preview_wins() -> None:
    events: list[str] = []
    session = WizardSession()
    session.subscribe(events.append)
    assert session.next_check((False, "add inputs")) == (False, "add inputs")
    assert session.back_target() is None
    session.go(OPTIONS)
    assert session.next_check((True, "")) == (False, "computing the preview…")
    first = session.preview_requested()
    session.edited()  # the user types on while the first preview is computed
    second = session.preview_requested()
    assert not session.plan_arrived(first, {"errors": [], "summary": {"n": 1}})
    assert not session.preview_ready() and session.plan == {}
    assert session.plan_arrived(second, {"errors": ["no task text"], "warnings": ["w"]})
    assert session.preview_ready() and session.fresh("warnings") == ["w"]
    assert session.next_check((True, "")) == (False, "fix the problems shown in the preview")
    assert session.options_check(blocked="pair episode 3") == (False, "pair episode 3")
    assert session.options_check(["bad value"]) == (False, "fix the options shown in red")
    session.edited()
    assert session.fresh("warnings") == []  # a stale plan's messages are not shown
    token = session.preview_requested()
    assert session.plan_failed(token, "cannot read teleop.hdf5")
    assert session.preview_failed() and session.plan["errors"] == ["cannot read teleop.hdf5"]
    session.edited()
    assert session.plan_arrived(session.preview_requested(), {"errors": []})
    assert session.next_check((True, "")) == (True, "")
    assert session.back_target() == INPUTS
    assert events.count("plan") == 3 and "step" in events


def test_the_output_proposal_keeps_what_the_user_typed() -> None:
    session = WizardSession()
    assert session.propose_out("/ws/datasets/a_lerobot") == "/ws/datasets/a_lerobot"
    assert session.propose_out("/ws/datasets/a_lerobot") is None  # already shown
    assert session.propose_out("/ws/datasets/b_lerobot") == "/ws/datasets/b_lerobot"
    session.set_out(" /mine/out ", typed=True)
    assert session.out == "/mine/out"
    assert session.propose_out("/ws/datasets/c_lerobot") is None and session.out == "/mine/out"
    session.forget_typed_out()
    assert session.propose_out("/ws/idm/split") == "/ws/idm/split"


def test_the_run_endings() -> None:
    session = WizardSession(out="/ws/out")
    session.go(OPTIONS)
    session.run_started()
    assert session.running and session.step == RUN and session.back_target() is None
    session.run_cancelled()
    assert not session.running and session.last_error == "cancelled"
    assert session.outcome() == "cancelled: nothing was written" and session.back_target() == OPTIONS
    session.run_started()
    assert session.last_error is None
    session.run_failed("/ws/out: no space left on the device")
    assert session.outcome() == "failed: /ws/out: no space left on the device (nothing was written)"
    session.run_started()
    session.run_finished({"output": "/ws/out"})
    assert session.step == DONE and session.result == {"output": "/ws/out"}
    assert session.outcome() == "wrote /ws/out"
    with pytest.raises(ValueError):
        session.go(7)


def test_convert_session_plans_and_writes(recording: Path, tmp_path: Path) -> None:
    session = ConvertSession(key="hdf5_to_lerobot", workspace=tmp_path / "ws")
    assert session.inputs_check() == (False, "add at least one .hdf5 recording")
    session.set_sources([recording])
    assert session.inputs_check() == (True, "")
    assert session.default_out() == tmp_path / "ws" / "datasets" / "teleop_lerobot"
    session.set_out(tmp_path / "out", typed=True)
    module = session.module
    session.options = module.Hdf5ToLerobotOptions(out=session.out_path(), task="Pick the orange")
    fn, args = session.plan_call()
    assert session.plan_arrived(session.preview_requested(), fn(*args))
    assert session.plan["summary"] == {"episodes_kept": 2, "episodes_skipped": 2, "frames_out": 32}
    assert session.check_options() == (True, "")
    session.run_started()
    fn, args = session.run_call()
    session.run_finished(fn(*args))
    assert session.summary()["episodes_written"] == 2
    info = json.loads((tmp_path / "out" / "meta" / "info.json").read_text(encoding="utf-8"))
    assert info["total_episodes"] == 2


def test_convert_session_inputs_and_mapping(recording: Path, tmp_path: Path) -> None:
    replay = ConvertSession(key="lerobot_to_hdf5", workspace=tmp_path)
    replay.set_sources([tmp_path / "dataset"])
    assert replay.inputs_check() == (False, "drop the source .hdf5 (template)")
    replay.set_template(recording)
    replay.choose_demo(1, 3)
    replay.choose_demo(2, 0)
    replay.choose_demo(2, None)
    assert replay.mapping == {1: 3} and replay.inputs_check() == (True, "")
    assert replay.default_out() == tmp_path / "replay" / "dataset_replay.hdf5"
    assert not replay.out_is_folder()
    replay.set_sources([tmp_path / "other"])
    assert replay.mapping == {}  # the demos chosen were for the other dataset
    versions = ConvertSession(key="lerobot_v3_to_v2", workspace=tmp_path)
    versions.set_sources([tmp_path / "ds"])
    assert versions.target == "v2.1" and versions.default_out() == tmp_path / "datasets" / "ds_v21"
    assert ConvertSession(key="transcode", workspace=tmp_path).out_path() == tmp_path / "converted"
    assert parse_numbers("0-3, 7") == [0, 1, 2, 3, 7] and parse_numbers(" ") is None
    with pytest.raises(ValueError, match="'x' is not a number"):
        parse_numbers("1, x")


def test_conversion_for_a_dropped_input(recording: Path, tmp_path: Path, shared_data: Path) -> None:
    assert conversion_for(recording) == "hdf5_to_lerobot"
    assert conversion_for(shared_data / "lerobot061_so101_v30_h264") == "lerobot_v3_to_v2"
    assert conversion_for(tmp_path) is None


def test_cosmos_idm_decisions(tmp_path: Path, recording: Path) -> None:
    assert dataset_check("") == (False, "drop a dataset")
    assert dataset_check(str(tmp_path / "nope")) == (False, f"{tmp_path / 'nope'} does not exist")
    assert dataset_check(str(recording)) == (True, "")
    assert cosmos_outputs_check(str(tmp_path)) == (False, "the folder has no <name>.mp4")
    assert safe_name("my data.v2") == "my_data_v2" and safe_name("...") == "data"
    assert prepare_out(tmp_path, "/x/gen.outputs", "so101", False) == tmp_path / "idm" / "so101.gen_outputs"
    assert prepare_out(tmp_path, "/x/gen", "so101", True) == tmp_path / "idm" / "gen_idm_inputs"
    assert kit_out(tmp_path, "") == tmp_path / "idm" / "embodiment_kit"
    assert indices_text(list(range(16))) == "0-15" and indices_text([0, 16]) == "0,16"
    base = {"key": "so101", "joints": ["a"], "video_keys": ["front"]}
    rows = [["state", "arm", "0", "5"], ["action", "arm", "0", "5"]]
    preset = preset_from_form(base, rows, " so101 ", {"action": "0-7"}, "min_max", True, ["wrist"])
    assert preset["action_slices"] == {"arm": [0, 5]} and preset["delta_indices"]["action"] == list(range(8))
    assert preset["action_absolute"] is False and preset["video_keys"] == ["wrist"] and "joints" not in preset
    assert base["joints"] == ["a"]  # the preset given is not changed
    with pytest.raises(ValueError, match="row 1: group must be state or action"):
        preset_from_form(base, [["other", "x", "0", "1"]], "k", {}, "min_max", False, [])
    with pytest.raises(ValueError, match="row 1: start and end must be integers"):
        preset_from_form(base, [["state", "x", "a", "1"]], "k", {}, "min_max", False, [])


def test_an_existing_output_gets_a_fresh_name_and_replace_only_when_the_studio_wrote_it(
    tmp_path: Path,
) -> None:
    from backend.atomic import atomic_dir
    from backend.sessions.wizard import fresh_out, output_conflict, window_words

    ours = tmp_path / "teleop_lerobot"
    with atomic_dir(ours, False, []) as staging:
        (Path(staging) / "data.txt").write_text("x")
    (tmp_path / "teleop_lerobot_2").mkdir()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("precious")
    assert fresh_out(ours) == tmp_path / "teleop_lerobot_3"
    assert fresh_out(tmp_path / "free") == tmp_path / "free"
    (tmp_path / "replay.hdf5").write_text("")
    assert fresh_out(tmp_path / "replay.hdf5") == tmp_path / "replay_2.hdf5"
    assert output_conflict(tmp_path / "free") is None
    assert output_conflict(ours).replaceable and "Replace it" in output_conflict(ours).sentence
    theirs = output_conflict(mine)
    assert (
        not theirs.replaceable
        and "the studio did not write" in theirs.sentence
        and "Replace" not in theirs.sentence
    )

    session = WizardSession()
    assert session.propose_out(ours) == str(tmp_path / "teleop_lerobot_3")  # never the taken name
    session.set_out(ours, typed=True)
    assert not session.replace_offered()  # nothing looked at yet: no offer
    session.go(OPTIONS)
    token = session.preview_requested()
    refusal = f"{ours}: output already exists (choose another output, or replace it if the studio wrote it)"
    assert session.plan_arrived(token, {"errors": [refusal]}, output_conflict(ours))
    assert session.fresh("errors") == [output_conflict(ours).sentence]
    assert session.replace_offered() and not session.overwrite
    assert session.allow_replace() and session.overwrite and not session.replace_offered()
    assert session.plan_arrived(session.preview_requested(), {"errors": []}, output_conflict(ours))
    assert session.fresh("warnings") == [f"{ours} will be replaced (an earlier output of the studio)"]
    session.set_out(mine, typed=True)  # another output: the consent was for the other one
    assert not session.overwrite
    assert session.plan_arrived(session.preview_requested(), {"errors": [refusal]}, session.look_at_out())
    assert not session.replace_offered() and not session.allow_replace() and not session.overwrite
    session.start_another()
    assert not session.out_touched and session.replace_out == ""
    session.run_failed("x: output already exists (choose another --out or pass --overwrite)")
    assert "--" not in session.last_error and "pass" not in session.last_error
    assert window_words("pass --map EPISODE=DEMO for each episode, e.g. --map 0=demo_0") == (
        "choose the demo of each episode in the mapping table"
    )
    assert window_words("too short (record longer episodes, or pass --keep-short)").endswith(
        "or tick “Keep episodes of … frames or fewer”)"
    )
    assert "--" not in window_words("use --fps 30 or --no-check")
