"""Curation sidecar: decisions, undo/redo, persistence, location; curated export and its content."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from backend.curation import (
    SCHEMA,
    Curation,
    EpisodeDecision,
    export_curated,
    export_decisions_json,
    fallback_sidecar,
    preferred_sidecar,
    sidecar_path,
)
from backend.errors import Cancelled, StudioError
from backend.formats import open_dataset, validate_path
from backend.progress import Progress
from backend.units import SO101_JOINTS, JointSpace, Unit
from tests.browse_data import frame_value, joint_values, memory_dataset


def test_sidecar_sits_next_to_the_dataset(tmp_path):
    assert preferred_sidecar(tmp_path / "pick.hdf5") == tmp_path / "pick.hdf5.curation.json"
    folder = tmp_path / "so101_pick"
    folder.mkdir()
    assert sidecar_path(folder) == tmp_path / "so101_pick.curation.json"


def test_read_only_folder_falls_back_to_data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    share = tmp_path / "share"
    (share / "ds").mkdir(parents=True)
    os.chmod(share, 0o555)
    try:
        path = sidecar_path(share / "ds")
        assert path == fallback_sidecar(share / "ds")
        assert str(path).startswith(str(tmp_path / "data-home" / "rollout-studio" / "curation"))
        curation = Curation(share / "ds")
        curation.set(0, rating="good")
        assert path.exists() and not (share / "ds.curation.json").exists()
        assert Curation.load(share / "ds").decision(0).rating == "good"
    finally:
        os.chmod(share, 0o755)


def test_changes_undo_redo_and_persist(tmp_path):
    dataset = memory_dataset(tmp_path / "d.hdf5")
    curation = Curation.load(dataset.path, dataset)
    seen = []
    curation.add_listener(seen.append)
    assert curation.set(1, rating="good")
    assert not curation.set(1, rating="good")  # no change, no command
    curation.set(1, flagged=True, note="gripper slips")
    curation.set_trim_in(2, 5, 50)
    curation.set_trim_out(2, 44, 50)
    curation.set(0, task="Pick the orange slowly", excluded=True)
    assert seen == [[1], [1], [2], [2], [0]]
    assert curation.decision(2).kept_range(50) == (5, 45)
    assert curation.undo_label == "Edit excluded, task of episode 0"

    # the file on disk is the sidecar with every decision
    data = json.loads(curation.path.read_text())
    assert data["schema"] == SCHEMA
    assert data["episodes"]["1"] == {"rating": "good", "flagged": True, "note": "gripper slips"}
    assert data["episodes"]["2"] == {"trim_in": 5, "trim_out": 44}

    assert curation.undo().label.startswith("Edit excluded")
    assert not curation.decision(0).excluded and curation.decision(0).task is None
    curation.undo()  # trim out
    assert curation.decision(2).kept_range(50) == (5, 50)
    curation.redo()
    assert curation.decision(2).kept_range(50) == (5, 45)

    # a restart finds decisions and history again
    again = Curation.load(dataset.path, dataset)
    assert again.decision(1) == EpisodeDecision(rating="good", flagged=True, note="gripper slips")
    assert again.decision(0).is_default()
    assert again.can_redo and again.redo_label.startswith("Edit excluded")
    again.redo()
    assert again.decision(0).excluded
    again.undo()
    again.undo()
    again.undo()  # trim in
    assert again.decision(2).is_default() and 2 not in again.decisions


def test_trim_points_stay_ordered(tmp_path):
    curation = Curation(tmp_path / "d.hdf5")
    curation.set_trim_out(0, 10, 40)
    curation.set_trim_in(0, 20, 40)  # after the out point: the out point goes
    assert (curation.decision(0).trim_in, curation.decision(0).trim_out) == (20, None)
    curation.set_trim_out(0, 5, 40)  # before the in point: the in point goes
    assert (curation.decision(0).trim_in, curation.decision(0).trim_out) == (None, 5)
    curation.set_trim_out(0, 39, 40)  # the last frame is no trim at all
    assert curation.decision(0).is_default()


def test_bad_values_and_bad_files_are_clear_errors(tmp_path):
    curation = Curation(tmp_path / "d.hdf5")
    with pytest.raises(StudioError, match="rating must be"):
        curation.set(0, rating="meh")
    with pytest.raises(StudioError, match="trim_in must be"):
        curation.set(0, trim_in=-3)
    curation.path.write_text("{not json")
    with pytest.raises(StudioError, match="unreadable"):
        Curation.load(tmp_path / "d.hdf5")
    curation.path.write_text(json.dumps({"schema": "other"}))
    with pytest.raises(StudioError, match="not a curation file"):
        Curation.load(tmp_path / "d.hdf5")


def test_changed_dataset_is_reported(tmp_path):
    dataset = memory_dataset(tmp_path / "d.hdf5", lengths=(40, 30, 50))
    curation = Curation.load(dataset.path, dataset)
    curation.set(2, trim_out=40)
    curation.set(1, flagged=True)
    shorter = memory_dataset(tmp_path / "d.hdf5", lengths=(40, 35))
    again = Curation.load(shorter.path, shorter)
    assert any("episode 2" in w and "not in the dataset" in w for w in again.warnings)
    assert any("episode 1 changed length (30 -> 35)" in w for w in again.warnings)


def test_decisions_json_says_what_export_will_do(tmp_path):
    dataset = memory_dataset(tmp_path / "d.hdf5", lengths=(40, 30, 50))
    curation = Curation.load(dataset.path, dataset)
    curation.set(1, excluded=True, rating="bad")
    curation.set(2, trim_in=10, trim_out=19, task='Lift the "red" cube')
    out = export_decisions_json(dataset, curation, tmp_path / "out" / "decisions.json")
    data = json.loads(out.read_text())
    assert "history" not in data
    assert data["summary"]["kept"] == 2 and data["summary"]["frames_kept"] == 40 + 10
    assert data["plan"][1] == {"episode": 1, "keep": False, "frames": [0, 30], "task": "Lift the cube"}
    assert data["plan"][2]["frames"] == [10, 20] and data["plan"][2]["task"] == 'Lift the "red" cube'


# -- curated export: real writers, real files ------------------------------------------------------


def _curated(tmp_path):
    dataset = memory_dataset(tmp_path / "src.hdf5", lengths=(40, 30, 50))
    curation = Curation.load(dataset.path, dataset)
    curation.set(1, excluded=True)
    curation.set(2, trim_in=10, trim_out=19, task="Lift the cube, it's red")
    curation.set(0, rating="good", note="clean")
    return dataset, curation


def _errors(path):
    return [p.line() for p in validate_path(path) if p.severity == "error"]


def test_export_hdf5_applies_exclusions_trims_and_tasks(tmp_path):
    dataset, curation = _curated(tmp_path)
    out = export_curated(dataset, curation, tmp_path / "out" / "curated.hdf5", "leisaac_hdf5")
    assert _errors(out) == []
    with open_dataset(out) as result:
        assert [e.length for e in result.episodes] == [40, 10]
        assert [e.task for e in result.episodes] == ["Pick the orange", "Lift the cube, it's red"]
        second = result.episodes[1]
        assert np.allclose(second.array("actions"), joint_values(2, 50, "action")[10:20])
        assert np.allclose(second.array("obs/joint_pos"), joint_values(2, 50, "state")[10:20])
        assert second.stream("front").frame(0)[0, 0, 0] == frame_value(2, 10, 0)
        assert second.stream("wrist").frame(9)[5, 5, 1] == frame_value(2, 19, 1)
        assert second.extra["attrs"]["source_episode"] == 2
    assert not (tmp_path / "src.hdf5").exists()  # the source was in memory: nothing written beside it


def test_export_to_lerobot_converts_joint_units(tmp_path):
    dataset, curation = _curated(tmp_path)
    out = export_curated(dataset, curation, tmp_path / "lerobot", "lerobot_v3.0")
    assert _errors(out) == []
    with open_dataset(out) as result:
        assert result.format.value == "lerobot_v3.0"
        assert [e.length for e in result.episodes] == [40, 10]
        expected = JointSpace(SO101_JOINTS, Unit.RADIANS).convert(
            joint_values(2, 50, "action")[10:20], Unit.LEROBOT_RANGE
        )
        assert np.allclose(result.episodes[1].array("action"), expected, atol=1e-3)
        frame = result.episodes[1].stream("front").frame(3)
        assert abs(int(frame[12, 16, 0]) - frame_value(2, 13, 0)) <= 4  # lossy H.264
        assert result.episodes[1].task == "Lift the cube, it's red"


def test_cancelled_export_leaves_nothing(tmp_path):
    dataset, curation = _curated(tmp_path)
    progress = Progress(on_report=lambda done, total, text: progress.cancel() if done >= 20 else None)
    with pytest.raises(Cancelled):
        export_curated(dataset, curation, tmp_path / "out" / "c.hdf5", "leisaac_hdf5", progress=progress)
    leftovers = list((tmp_path / "out").iterdir()) if (tmp_path / "out").exists() else []
    assert leftovers == []


def test_export_refuses_empty_and_self(tmp_path):
    dataset, curation = _curated(tmp_path)
    curation.set_many([0, 2], excluded=True)
    with pytest.raises(StudioError, match="every episode is excluded"):
        export_curated(dataset, curation, tmp_path / "x.hdf5")
    curation.undo()
    with pytest.raises(StudioError, match="output would (lie inside|contain) the input|output is the input"):
        export_curated(dataset, curation, tmp_path / "src.hdf5" / "inner")


def test_export_real_lerobot_dataset(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    source = shared_data / "lerobot061_so101_v30_h264"
    with open_dataset(source) as dataset:
        curation = Curation(source, sidecar=tmp_path / "c.json")
        curation.set(0, trim_in=5, trim_out=44)
        curation.set(1, task="Lift the red cube, then put it down.")
        out = export_curated(dataset, curation, tmp_path / "curated", "lerobot_v3.0")
        assert _errors(out) == []
        with open_dataset(out) as result:
            assert [e.length for e in result.episodes] == [40, 60]
            assert np.allclose(result.episodes[0].array("action"), dataset.episodes[0].array("action")[5:45])
            assert result.episodes[1].task == "Lift the red cube, then put it down."
            # frame t of episode 0 has gray level 20 + 7 t: output frame 0 is source frame 5
            source_frame = dataset.episodes[0].stream("front").frame(5)
            exported = result.episodes[0].stream("front").frame(0)
            assert np.abs(exported.astype(int) - source_frame.astype(int)).mean() < 3.0


def test_cli_set_show_undo_export(tmp_path, monkeypatch, capsys):
    from backend.cli import main
    from tests.browse_data import write_hdf5

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    source = write_hdf5(tmp_path / "rec.hdf5")
    assert (
        main(["curate", "set", str(source), "2", "--trim-in", "10", "--trim-out", "19", "--task", "Lift it"])
        == 0
    )
    assert main(["curate", "set", str(source), "1", "--exclude", "--rating", "bad"]) == 0
    assert main(["curate", "set", str(source), "0", "--trim-in", "45"]) == 2  # outside the episode
    capsys.readouterr()
    assert main(["curate", "show", str(source), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["summary"]["kept"] == 2 and shown["sidecar"] == str(tmp_path / "rec.hdf5.curation.json")
    assert shown["episodes"][2]["kept_frames"] == [10, 20] and shown["episodes"][2]["task"] == "Lift it"
    assert main(["curate", "undo", str(source)]) == 0  # the exclusion of episode 1
    assert main(["curate", "redo", str(source)]) == 0
    out = tmp_path / "curated"
    assert main(["curate", "export", str(source), "--out", str(out), "--format", "v3.0", "--quiet"]) == 0
    with open_dataset(out) as result:
        assert [e.length for e in result.episodes] == [40, 10]
        assert [e.task for e in result.episodes] == ["Pick the orange", "Lift it"]
    assert main(["curate", "export", str(source), "--out", str(out)]) == 2  # exists: clear error, exit 2
    assert main(["curate", "export", str(source), "--decisions", str(tmp_path / "d.json")]) == 0
    assert json.loads((tmp_path / "d.json").read_text())["summary"]["excluded"] == 1


def test_trimmed_hdf5_demo_starts_from_the_state_before_its_first_frame(tmp_path):
    from backend.formats import open_writer
    from backend.formats.base import CameraSpec, WriterSpec
    from backend.formats.leisaac_hdf5 import read_initial_state
    from backend.model import Feature, FeatureKind

    space = JointSpace(SO101_JOINTS, Unit.RADIANS)
    key = "states/articulation/robot/joint_position"
    spec = WriterSpec(
        fps=30.0,
        robot_type="so101_follower",
        features={
            "actions": Feature("actions", FeatureKind.VECTOR, "float32", (6,), list(SO101_JOINTS), space),
            key: Feature(key, FeatureKind.VECTOR, "float32", (6,), list(SO101_JOINTS), space),
        },
        cameras=[CameraSpec("front", 32, 24)],
        options={"env_name": "LeIsaac-SO101-PickOrange-v0"},
    )
    source = tmp_path / "rec.hdf5"
    states = np.arange(40 * 6, dtype=np.float32).reshape(40, 6) / 100.0
    with open_writer("leisaac_hdf5", source, spec) as writer:
        episode = writer.begin_episode(
            "Pick the orange",
            seed=7,
            initial_state={"articulation": {"robot": {"joint_position": np.zeros((1, 6), np.float32)}}},
        )
        for t in range(40):
            episode.add_frame(
                {"actions": states[t] + 1, key: states[t]}, {"front": np.full((24, 32, 3), t, np.uint8)}
            )
        episode.end(success=True)
    with open_dataset(source) as dataset:
        curation = Curation(source, sidecar=tmp_path / "c.json")
        curation.set(0, trim_in=10, trim_out=29)
        out = export_curated(dataset, curation, tmp_path / "out.hdf5")
    assert _errors(out) == []
    with open_dataset(out) as result:
        demo = result.episodes[0]
        assert demo.length == 20 and demo.extra["seed"] == 7
        assert np.allclose(demo.array(key), states[10:30])
        assert np.allclose(read_initial_state(demo)["articulation"]["robot"]["joint_position"][0], states[9])
        assert demo.extra["attrs"]["source_first_frame"] == 10
        assert demo.stream("front").frame(0)[0, 0, 0] == 10


def test_a_task_edit_is_one_line_of_plain_text(tmp_path):
    dataset, curation = _curated(tmp_path)
    for text, name in (("Pick\nthe cube", "a line break"), ("Pick\tit", "a tab")):
        with pytest.raises(StudioError, match=name):
            curation.set(0, task=text)
    assert curation.decision(0).task is None
    assert curation.set(0, task="Pick the cube.") and curation.decision(0).task == "Pick the cube."


def _many_episodes(tmp_path, count: int):
    from types import SimpleNamespace

    episodes = [SimpleNamespace(index=i, length=100 + i % 7) for i in range(count)]
    return SimpleNamespace(
        path=tmp_path / "big", format=SimpleNamespace(value="lerobot_v3.0"), num_episodes=count, episodes=episodes
    )


def test_ten_thousand_decisions_round_trip(tmp_path):
    dataset = _many_episodes(tmp_path, 10_000)
    curation = Curation(dataset.path)
    curation.autosave = False
    curation.attach(dataset)
    curation.set_many(range(1, 10_000, 2), None, rating="good")
    curation.set_many(range(0, 10_000, 2), None, rating="bad")
    for i in range(0, 10_000, 15):
        curation.set(i, None, note=f"note {i}")
    curation.set_many(range(0, 10_000, 5), "Exclude every fifth", excluded=True)
    curation.set(7, None, trim_in=3, trim_out=50, task="Lift the cube")
    curation.set(8, None, rating=None)  # back to default: not stored
    path = curation.save()
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["schema"] == SCHEMA and len(data["episodes"]) == 9_999
    assert data["episodes"]["7"] == {"rating": "good", "trim_in": 3, "trim_out": 50, "task": "Lift the cube"}
    assert data["episodes"]["15"] == {"rating": "good", "note": "note 15", "excluded": True}
    assert data["episodes"]["16"] == {"rating": "bad"}
    assert "8" not in data["episodes"] and data["dataset"]["lengths"]["9999"] == 100 + 9999 % 7
    assert len(data["history"]["undo"]) == 500 and data["history"]["undo"][-1]["label"] == "Rate episode 8 unrated"
    again = Curation.load(dataset.path, dataset)
    assert again.decisions == curation.decisions and again.warnings == []
    assert again.decision(15) == EpisodeDecision(rating="good", note="note 15", excluded=True)
    assert again.summary(dataset) == curation.summary(dataset)
    summary = again.summary(dataset)
    assert (summary["kept"], summary["excluded"], summary["good"], summary["bad"]) == (8_000, 2_000, 5_000, 4_999)
    assert summary["frames_kept"] == sum(e.length for e in dataset.episodes if e.index % 5) - (100 + 7 % 7 - 48)
    # undo after the reload goes on from the saved history
    again.autosave = False
    again.undo()
    assert again.decision(8).rating == "bad"


def test_deferred_saves_write_the_latest_text_once(tmp_path):
    dataset = _many_episodes(tmp_path, 300)
    curation = Curation(dataset.path)
    curation.attach(dataset)
    scheduled = []
    curation.defer_saves(scheduled.append)
    curation.set(1, None, rating="good")
    curation.set(2, None, flagged=True)  # while the first flush has not run: no second one
    assert len(scheduled) == 1 and curation.save_pending and not curation.path.exists()
    assert scheduled[0]() == curation.path and not curation.save_pending
    data = json.loads(curation.path.read_text(encoding="utf-8"))
    assert data["episodes"] == {"1": {"rating": "good"}, "2": {"flagged": True}}
    assert scheduled[0]() is None  # nothing pending: nothing written
    curation.set(1, None, rating=None)
    assert len(scheduled) == 2
    curation.defer_saves(None)  # writes what is pending, then saves at once again
    assert json.loads(curation.path.read_text(encoding="utf-8"))["episodes"] == {"2": {"flagged": True}}
    curation.set(3, None, excluded=True)
    assert json.loads(curation.path.read_text(encoding="utf-8"))["episodes"]["3"] == {"excluded": True}


def test_history_keeps_at_most_max_history_changes(tmp_path):
    """Rating 10,000 episodes at once is one command of 10,000 changes: the undo history (and the
    sidecar) keeps the newest commands within MAX_HISTORY_CHANGES changes, the newest always."""
    from backend.curation import MAX_HISTORY_CHANGES

    dataset = memory_dataset(tmp_path / "d.hdf5")
    curation = Curation.load(dataset.path, dataset)
    episodes = range(10_000)
    rounds = MAX_HISTORY_CHANGES // 10_000 + 2
    for k in range(rounds):
        curation.set(0, note=f"before {k}")
        assert curation.set_many(episodes, rating="good" if k % 2 else "bad")
    kept = list(curation._undo)
    assert sum(len(c.changes) for c in kept) <= MAX_HISTORY_CHANGES
    # the newest commands, in order: the last rating and the note before it, and so on back
    assert [c.changes[0].new for c in kept[-2:]] == [f"before {rounds - 1}", "good" if (rounds - 1) % 2 else "bad"]
    undone = 0
    while curation.can_undo:
        curation.undo()
        undone += 1
    assert undone == len(kept) and undone < 2 * rounds
    assert sum(len(c.changes) for c in kept) > MAX_HISTORY_CHANGES - 10_001  # no more dropped than needed
    # what the sidecar keeps is the same history
    curation.save()
    data = json.loads(curation.path.read_text())
    assert sum(len(c["changes"]) for c in data["history"]["redo"]) <= MAX_HISTORY_CHANGES
    assert len(data["history"]["redo"]) == undone
    # one command larger than the cap is still kept: it can be undone
    big = Curation.load(dataset.path, dataset)
    assert big.set_many(range(MAX_HISTORY_CHANGES + 5), flagged=True)
    assert len(big._undo) == 1 and big.undo() is not None


def test_a_change_is_saved_after_its_listeners_even_when_one_fails(tmp_path):
    """Listeners (the table, the view) run first, then the save: a save on another thread would share
    the GIL with them. A failing listener does not lose the save."""
    dataset = memory_dataset(tmp_path / "d.hdf5")
    curation = Curation.load(dataset.path, dataset)
    scheduled: list = []
    curation.defer_saves(scheduled.append)
    order: list[str] = []

    def listener(_episodes):
        order.append(f"listener, {len(scheduled)} saves scheduled")
        raise RuntimeError("a listener failed")

    curation.add_listener(listener)
    with pytest.raises(RuntimeError):
        curation.set(1, rating="good")
    assert order == ["listener, 0 saves scheduled"] and len(scheduled) == 1
    scheduled[0]()
    assert json.loads(curation.path.read_text())["episodes"]["1"] == {"rating": "good"}
