"""Issue 14, defect 4: episodes are paired by provenance or by an explicit mapping, never silently by
position. A recording whose failed demo_3 the HDF5 -> LeRobot conversion skips (so LeRobot episode 4
is demo_5), converted back with and without its provenance record, and compared with its source."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend import provenance as prov
from backend.cli import main as cli_main
from backend.compare.batch import compare_batch
from backend.convert import hdf5_to_lerobot as h2l
from backend.convert import lerobot_to_hdf5 as l2h
from backend.errors import StudioError
from backend.formats import open_dataset
from tests.recordings import DemoSpec, RecordingSpec, write_recording

REPO = Path(__file__).resolve().parents[1]
HINT = "pass --map EPISODE=DEMO for each episode, e.g. --map 0=demo_0"
# LeRobot episode -> the demo it was made from (demo_3 failed and was skipped)
TRUE_DEMOS = [0, 1, 2, 4, 5, 6]
SKIP = 5  # frames the HDF5 -> LeRobot conversion drops at the start of each demo
JOINT_STATE = "states/articulation/robot/joint_position"
INITIAL = "initial_state/articulation/robot/joint_position"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("pairing safety ü")  # a space and a non-ASCII name
    demos = [DemoSpec(20 + d) for d in range(7)]
    demos[3] = DemoSpec(23, success=False)
    src = write_recording(root / "A.hdf5", RecordingSpec(demos, cameras=()))
    lerobot = root / "B"
    h2l.run([src], h2l.Hdf5ToLerobotOptions(out=lerobot, task="Pick the orange", skip_frames=SKIP))
    bare = root / "B_bare"
    shutil.copytree(lerobot, bare)
    (bare / prov.LEROBOT_FILE).unlink()
    return {"root": root, "src": src, "lerobot": lerobot, "bare": bare}


def _cli(capsys, *args: object) -> tuple[int, str, str]:
    code = cli_main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _source_demos(path: Path) -> list[tuple[str, int]]:
    with h5py.File(path) as f:
        names = sorted(f["data"].keys(), key=lambda n: int(n[5:]))
        return [
            (
                str(f["data"][n].attrs["rollout_studio_source_demo"]),
                int(f["data"][n].attrs["rollout_studio_frame_offset"]),
            )
            for n in names
        ]


def _assert_initial_states(out: Path, src: Path, demos: list[int], offset: int) -> None:
    """Each output demo starts from the scene of its true source demo at ``offset`` (and from no
    other demo's: the demos' states differ)."""
    with h5py.File(out) as o, h5py.File(src) as s:
        assert len(o["data"]) == len(demos)
        for k, demo in enumerate(demos):
            got = o[f"data/demo_{k}/{INITIAL}"][:]
            expected = s[f"data/demo_{demo}/{JOINT_STATE}"][offset - 1 : offset]
            np.testing.assert_array_equal(got, expected)
            if demo != k:  # the demo pairing by position would have picked
                wrong = s[f"data/demo_{k}/{JOINT_STATE}"][offset - 1 : offset]
                assert np.max(np.abs(got - wrong)) > 1e-3


# -- lerobot-to-hdf5 ---------------------------------------------------------------------------------
def test_provenance_pairs_each_episode_with_its_own_demo(data, tmp_path: Path, capsys) -> None:
    out = tmp_path / "replay.hdf5"
    code, stdout, err = _cli(
        capsys, "convert", "lerobot-to-hdf5", data["lerobot"], "--template", data["src"], "--out", out
    )
    assert code == 0, err
    assert "matched by episode index" not in stdout + err
    assert "matched from the provenance record" in stdout
    assert _source_demos(out) == [(f"demo_{d}", SKIP) for d in TRUE_DEMOS]
    _assert_initial_states(out, data["src"], TRUE_DEMOS, SKIP)


def test_without_provenance_or_map_the_conversion_is_refused(data, tmp_path: Path) -> None:
    out = tmp_path / "replay.hdf5"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    argv = [sys.executable, "-m", "backend.cli", "convert", "lerobot-to-hdf5", str(data["bare"])]
    proc = subprocess.run(
        [*argv, "--template", str(data["src"]), "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.strip().splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and proc.stderr.strip().splitlines()[-1] == lines[0], proc.stderr
    assert str(data["bare"]) in lines[0] and HINT in lines[0]
    assert "episodes 0-5" in lines[0] and "no provenance record" in lines[0]
    assert "Traceback" not in proc.stderr and not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # no partial output either
    plan = l2h.plan(data["bare"], l2h.LerobotToHdf5Options(out=out, template=data["src"]))
    assert not plan.ok and any(HINT in e for e in plan.errors)
    assert [e.extra["matched_by"] for e in plan.episodes] == ["unpaired"] * 6
    assert HINT in plan.details["mapping_note"]


def test_map_pairs_as_given_and_says_nothing_about_indices(data, tmp_path: Path, capsys) -> None:
    out = tmp_path / "mapped.hdf5"
    maps = [x for e, d in enumerate(TRUE_DEMOS) for x in ("--map", f"{e}=demo_{d}" if e % 2 else f"{e}={d}")]
    code, stdout, err = _cli(
        capsys,
        "convert",
        "lerobot-to-hdf5",
        data["bare"],
        "--template",
        data["src"],
        "--out",
        out,
        *maps,
    )
    assert code == 0, err
    assert "episode index" not in stdout + err
    assert "mapping_note: matched by the given mapping" in stdout
    # the offset of each episode in its mapped demo is found by matching the states
    assert _source_demos(out) == [(f"demo_{d}", SKIP) for d in TRUE_DEMOS]
    _assert_initial_states(out, data["src"], TRUE_DEMOS, SKIP)
    # some episodes mapped, others not: still refused, naming the ones left
    code, _, err = _cli(
        capsys,
        "convert",
        "lerobot-to-hdf5",
        data["bare"],
        "--template",
        data["src"],
        "--out",
        tmp_path / "partial.hdf5",
        "--map",
        "0=0",
        "--map",
        "1=1",
    )
    assert code == 2 and "episodes 2-5" in err and HINT in err
    assert not (tmp_path / "partial.hdf5").exists()
    # only the mapped episodes selected: fine
    code, _, err = _cli(
        capsys,
        "convert",
        "lerobot-to-hdf5",
        data["bare"],
        "--template",
        data["src"],
        "--out",
        tmp_path / "two.hdf5",
        "--map",
        "4=5",
        "--episodes",
        "4",
    )
    assert code == 0, err
    assert _source_demos(tmp_path / "two.hdf5") == [("demo_5", SKIP)]


def test_a_record_for_another_file_does_not_pair_with_the_template(data, tmp_path: Path) -> None:
    """Two recordings converted together: only the episodes of the template's file pair with its demos."""
    other = write_recording(tmp_path / "other.hdf5", RecordingSpec([DemoSpec(21), DemoSpec(22)], cameras=()))
    both = tmp_path / "both"
    h2l.run([data["src"], other], h2l.Hdf5ToLerobotOptions(out=both, task="t", skip_frames=SKIP))
    options = l2h.LerobotToHdf5Options(out=tmp_path / "r.hdf5", template=data["src"])
    plan = l2h.plan(both, options)
    assert not plan.ok
    assert [e.extra["matched_by"] for e in plan.episodes] == ["provenance"] * 6 + ["unpaired"] * 2
    assert "episodes 6-7" in plan.errors[0] and "other.hdf5" in plan.errors[0] and HINT in plan.errors[0]
    with pytest.raises(StudioError, match="episodes 6-7"):
        l2h.run(both, options)
    assert not options.out.exists()
    options.episodes = list(range(6))
    l2h.run(both, options)
    assert _source_demos(options.out) == [(f"demo_{d}", SKIP) for d in TRUE_DEMOS]


def test_idm_like_record_reordered_by_task_pairs_through_the_chain(data, tmp_path: Path) -> None:
    """IDM prepare writes episodes grouped by task, in another order than the source's; its record
    (source episode per output episode, chained to the LeRobot dataset's own) still finds each demo."""
    idm = tmp_path / "so101.generated"
    shutil.copytree(data["lerobot"], idm)
    cosmos = tmp_path / "cosmos"
    cosmos.mkdir()
    (cosmos / "B_episode_000004.json").write_text("{}")
    order = [4, 2, 5, 0, 3, 1]  # IDM episode k was made from LeRobot episode order[k]
    record = prov.new_record(
        "idm_prepare", [(cosmos, "cosmos_outputs"), (data["lerobot"], "source")], {}, idm, "lerobot_v2.1"
    )
    for k, source_episode in enumerate(order):
        prov.add_episode(record, k, 1, source_episode, f"episode {source_episode}", 0, 10)
    prov.write_lerobot_provenance(idm, record)
    out = tmp_path / "replay.hdf5"
    summary = l2h.run(idm, l2h.LerobotToHdf5Options(out=out, template=data["src"]))
    assert summary.episodes_written == 6
    expected = [TRUE_DEMOS[s] for s in order]
    assert _source_demos(out) == [(f"demo_{d}", SKIP) for d in expected]
    _assert_initial_states(out, data["src"], expected, SKIP)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(failed=st.sets(st.integers(0, 5), max_size=3))
def test_any_skipped_demos_pair_back_by_provenance(tmp_path_factory, failed: set[int]) -> None:
    root = tmp_path_factory.mktemp("prop")
    demos = [DemoSpec(14 + d, success=d not in failed) for d in range(6)]
    src = write_recording(root / "A.hdf5", RecordingSpec(demos, cameras=()))
    h2l.run([src], h2l.Hdf5ToLerobotOptions(out=root / "B", task="t", skip_frames=2, min_length=5))
    l2h.run(root / "B", l2h.LerobotToHdf5Options(out=root / "r.hdf5", template=src))
    kept = [d for d in range(6) if d not in failed]
    assert _source_demos(root / "r.hdf5") == [(f"demo_{d}", 2) for d in kept]
    _assert_initial_states(root / "r.hdf5", src, kept, 2)


# -- compare -----------------------------------------------------------------------------------------
def test_compare_same_numbers_pair_by_provenance_and_say_so(data, capsys) -> None:
    a, b = data["src"], data["lerobot"]
    code, stdout, err = _cli(capsys, "compare", f"{a}:4", f"{b}:4", "--json")
    assert code == 0, err
    out = json.loads(stdout)
    assert out["a"].endswith("A.hdf5:5") and out["b"].endswith("B:4")
    assert out["paired"] == {"a": 5, "b": 4}
    assert out["pairing"]["method"] == "provenance" and out["pairing"]["source"] == 5
    assert out["pairing_note"].startswith("paired by provenance: B episode 4 came from demo_5 of A")
    assert out["pairing_warning"] is None
    assert all(m["rmse"] < 1e-3 for m in out["joints"].values())  # the same motion, 5 frames in
    code, stdout, err = _cli(capsys, "compare", f"{a}:4", f"{b}:4")
    assert code == 0, err
    line = next(x for x in stdout.splitlines() if x.startswith("paired by provenance"))
    assert "B episode 4 came from demo_5 of A" in line and "you asked for demo_4" in line
    assert "warning" not in stdout + err


def test_compare_user_pair_that_disagrees_is_compared_with_a_warning(data, capsys) -> None:
    a, b = data["src"], data["lerobot"]
    said = "provenance says B episode 4 came from demo_5 of A"
    # --pair forces the pair asked for
    code, stdout, err = _cli(capsys, "compare", f"{a}:4", f"{b}:4", "--pair", "4=4")
    assert code == 0, err
    warning = next(x for x in stdout.splitlines() if x.startswith("warning: compared"))
    assert "compared demo_4 of A with B episode 4 as asked" in warning and said in warning
    assert "A.hdf5:4  (action" in stdout.splitlines()[0]
    # different numbers are a deliberate choice too
    code, stdout, err = _cli(capsys, "compare", f"{a}:3", f"{b}:4", "--json")
    assert code == 0, err
    out = json.loads(stdout)
    assert out["paired"] == {"a": 3, "b": 4} and out["a"].endswith("A.hdf5:3")
    assert "compared demo_3 of A with B episode 4 as asked" in out["pairing_warning"]
    assert said in out["pairing_warning"] and said in err
    assert out["joints"]["shoulder_pan"]["rmse"] > 1.0  # two different demonstrations
    # --pair and the A number disagreeing is refused
    code, _, err = _cli(capsys, "compare", f"{a}:6", f"{b}:4", "--pair", "4=4")
    assert code == 2 and err.count("error:") == 1 and "--pair 4=4" in err


def test_compare_without_provenance_says_it_compares_as_given(data, capsys) -> None:
    code, stdout, err = _cli(capsys, "compare", f"{data['src']}:4", f"{data['bare']}:4", "--json")
    assert code == 0, err
    out = json.loads(stdout)
    assert out["paired"] == {"a": 4, "b": 4} and out["pairing"]["method"] == "given"
    assert out["pairing_note"].startswith("compared as given: B episode 4 with demo_4 of A")
    assert "no provenance record" in out["pairing_note"]


def test_batch_pairs_by_provenance_and_says_when_it_pairs_by_position(data, capsys) -> None:
    with open_dataset(data["src"]) as a, open_dataset(data["lerobot"]) as b:
        result = compare_batch(a, b, "action", "none", with_dtw=False)
        rows = sorted(result.rows, key=lambda r: r.generated)
        assert [(r.generated, r.source, r.pairing) for r in rows] == [
            (e, d, "provenance") for e, d in enumerate(TRUE_DEMOS)
        ]
        assert all(r.rmse < 1e-3 for r in rows)
        assert result.pairing_warnings == []
        # a user override that disagrees: compared as asked, and said
        result = compare_batch(a, b, "action", "none", overrides={4: 4}, with_dtw=False)
        assert result.pairing_warnings == [
            "compared demo_4 of A with B episode 4 as asked; provenance says B episode 4 came from demo_5 of A"
        ]
    code, stdout, err = _cli(capsys, "compare", data["src"], data["bare"], "--quiet", "--no-dtw")
    assert code == 0, err
    warning = next(x for x in stdout.splitlines() if x.startswith("warning:"))
    assert "6 of 6 episodes paired by position" in warning and "--pair" in warning
    code, stdout, err = _cli(capsys, "compare", data["src"], data["bare"], "--quiet", "--no-dtw", "--json")
    out = json.loads(stdout)
    assert len(out["pairing_warnings"]) == 1 and "paired by position" in out["pairing_warnings"][0]
    assert {r["pairing"] for r in out["rows"]} == {"index"}
    assert "paired by position" in err


# -- GUI ---------------------------------------------------------------------------------------------
def test_replay_wizard_blocks_unmapped_episodes_until_the_table_is_filled(qtbot, data, tmp_path) -> None:
    from PySide6.QtCore import QSettings

    from app.context import AppContext
    from app.panes.convert import ConvertPane

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    pane = ConvertPane(AppContext(settings, tmp_path / "workspace"))
    qtbot.addWidget(pane)
    wizard = pane.select("lerobot_to_hdf5")
    family = wizard.family
    family.dataset.setPath(data["bare"])
    family.template.setPath(data["src"])
    wizard._go(1)
    qtbot.waitUntil(wizard.preview_ready, timeout=60_000)
    assert not wizard.frame.next_button.isEnabled()
    # the window speaks of its mapping table, never of a command-line flag
    window_hint = "choose the demo of each episode in the mapping table"
    assert window_hint in wizard.frame.note.text() and "episodes 0-5" in wizard.frame.note.text()
    assert "--map" not in wizard.frame.note.text()
    assert window_hint in family.mapping_note.text() and "--map" not in family.mapping_note.text()
    assert family.mapping.rowCount() == 6
    for row in range(6):
        assert family.mapping.cellWidget(row, 1).currentData() is None  # nothing pre-chosen
        assert family.mapping.item(row, 2).text().startswith("not paired")
    for row, demo in enumerate(TRUE_DEMOS):
        combo = family.mapping.cellWidget(row, 1)
        combo.setCurrentIndex(combo.findData(demo))
        qtbot.waitUntil(wizard.preview_ready, timeout=60_000)
        if row < 5:
            assert not wizard.frame.next_button.isEnabled()
            assert f"episodes {row + 1}-5" in wizard.frame.note.text() or f"episode {row + 1}" in (
                wizard.frame.note.text()
            )
    assert wizard.frame.next_button.isEnabled(), wizard.frame.note.text()
    plan = wizard.plan()
    assert [(e["extra"]["demo"], e["extra"]["matched_by"]) for e in plan["episodes"]] == [
        (d, "mapping") for d in TRUE_DEMOS
    ]
    assert family.mapping_note.text() == "matched by the given mapping"


def test_compare_pane_shows_the_pairing_sentence(qtbot, data, tmp_path) -> None:
    from PySide6.QtCore import QSettings

    from app.context import AppContext
    from app.panes.compare import ComparePane

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    pane = ComparePane(AppContext(settings, tmp_path / "workspace"))
    qtbot.addWidget(pane)
    try:
        with qtbot.waitSignal(pane.comparisonReady, timeout=30_000):
            pane.open_sources([f"{data['src']}:4", f"{data['lerobot']}:4"])
        assert pane.slots[0].episode() == 5  # provenance: B episode 4 is demo_5
        label = pane.slots[1].pair_label.text()
        assert label.startswith("paired by provenance: B episode 4 came from demo_5 of A"), label
        with qtbot.waitSignal(pane.comparisonReady, timeout=30_000):
            pane.open_sources([f"{data['src']}:3", f"{data['lerobot']}:4"])
        assert pane.slots[0].episode() == 3
        label = pane.slots[1].pair_label.text()
        assert "compared demo_3 of A with B episode 4 as asked" in label
        assert "provenance says B episode 4 came from demo_5 of A" in label
        # the batch tab says when it could only pair by position
        with qtbot.waitSignal(pane.batchReady, timeout=30_000):
            pane.run_batch(str(data["src"]), str(data["bare"]))
        assert "warning: 6 of 6 episodes paired by position" in pane.batch_label.text()
    finally:
        pane.shutdown()
