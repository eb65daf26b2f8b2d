"""Pairing through provenance, the `compare` command on real files, and report export."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

from backend.cli import main as cli_main
from backend.compare.batch import compare_batch
from backend.compare.pairing import pair_episodes, parse_overrides
from backend.compare.report import write_report
from backend.compare.sources import parse_source
from backend.errors import StudioError
from backend.formats import open_dataset
from tests.compare_data import (
    GeneratedSpec,
    write_cosmos_outputs,
    write_generated_hdf5,
    write_source_hdf5,
)

REPO = Path(__file__).resolve().parents[1]
LENGTHS = (120, 150, 90)
SPECS = [
    GeneratedSpec(2, frame_offset=5, noise_deg=0.5, seed=1),  # generated 0 <- source 2, from frame 5
    GeneratedSpec(0, noise_deg=0.1, seed=2),  # generated 1 <- source 0 (closest)
    GeneratedSpec(1, delay_s=0.3, noise_deg=4.0, seed=3),  # generated 2 <- source 1 (worst)
]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("compare")
    src = write_source_hdf5(root / "src.hdf5", LENGTHS)
    gen = write_generated_hdf5(root / "gen16.hdf5", src, SPECS, LENGTHS, fps=16.0)
    bare = write_generated_hdf5(root / "bare.hdf5", src, SPECS, LENGTHS, fps=30.0, provenance=False)
    # a second generation made from the first: gen2 ep 0 <- gen16 ep 2 (from frame 4) <- src ep 1
    gen2 = write_generated_hdf5(
        root / "gen2.hdf5", gen, [GeneratedSpec(2, frame_offset=4)], (80, 48, 79), 16.0, 16.0
    )
    cosmos = write_cosmos_outputs(
        root / "cosmos", [("src_episode_000002", 20), ("src_episode_000000_seed3", 20)]
    )
    return {"root": root, "src": src, "gen": gen, "bare": bare, "gen2": gen2, "cosmos": cosmos}


def test_source_specs_with_colons(tmp_path):
    odd = tmp_path / "run:3"
    odd.mkdir()
    (odd / "data.hdf5").write_bytes(b"")
    assert parse_source(f"{odd}/data.hdf5:7").episode == 7
    assert parse_source(f"{odd}/data.hdf5:7").path == odd / "data.hdf5"
    assert parse_source(f"{odd}").episode is None  # "run:3" is a folder name, not an episode
    assert parse_source(f"{odd}").path == odd
    assert parse_source("C:\\data\\x.hdf5").episode is None
    assert parse_source("missing.hdf5:12").episode == 12
    assert parse_overrides(["4=7", "5=2,6=1"]) == {4: 7, 5: 2, 6: 1}
    with pytest.raises(StudioError):
        parse_overrides(["4-7"])


def test_pairing_by_provenance_override_and_index(files):
    with (
        open_dataset(files["src"]) as src,
        open_dataset(files["gen"]) as gen,
        open_dataset(files["bare"]) as bare,
    ):
        pairs = pair_episodes(gen, src)
        assert [(p.generated, p.source, p.method, p.frame_offset) for p in pairs] == [
            (0, 2, "provenance", 5),
            (1, 0, "provenance", 0),
            (2, 1, "provenance", 0),
        ]
        assert pairs[0].offset_s(src.fps) == pytest.approx(-5 / 30)
        pairs = pair_episodes(gen, src, overrides={1: 2, 2: 9})
        assert (pairs[1].source, pairs[1].method) == (2, "override")
        assert pairs[2].source is None and "no episode 9" in pairs[2].note
        pairs = pair_episodes(bare, src)
        assert [(p.source, p.method) for p in pairs] == [(0, "index"), (1, "index"), (2, "index")]
        assert "no provenance" in pairs[0].note


def test_pairing_follows_the_lineage_and_cosmos_names(files):
    with (
        open_dataset(files["src"]) as src,
        open_dataset(files["gen2"]) as gen2,
        open_dataset(files["cosmos"]) as cosmos,
    ):
        (pair,) = pair_episodes(gen2, src)
        assert (pair.source, pair.method, pair.frame_offset) == (1, "lineage", 4)
        assert "gen16.hdf5:2" in pair.note
        names = {e.index: e.extra["name"] for e in cosmos.episodes}
        pairs = {names[p.generated]: (p.source, p.method) for p in pair_episodes(cosmos, src)}
        assert pairs == {
            "src_episode_000002": (2, "cosmos_name"),
            "src_episode_000000_seed3": (0, "cosmos_name"),
        }


def test_batch_ranks_the_worst_first(files):
    with open_dataset(files["src"]) as src, open_dataset(files["gen"]) as gen:
        result = compare_batch(src, gen, "action", "offset")
        rows = result.sorted_rows()
        assert [r.generated for r in rows] == [2, 0, 1]  # noise 4 deg, 0.5 deg, 0.1 deg
        assert all(r.error is None for r in rows)
        assert rows[0].offset_s == pytest.approx(0.3, abs=0.05)
        by_gen = {r.generated: r for r in rows}
        assert by_gen[0].offset_s == pytest.approx(-5 / 30, abs=0.04)
        assert by_gen[1].rmse < 0.5 < by_gen[2].rmse
        assert [r.generated for r in result.sorted_rows("mae", descending=False)] == [1, 0, 2]
    with open_dataset(files["src"]) as src, open_dataset(files["cosmos"]) as cosmos:
        rows = compare_batch(src, cosmos).rows
        assert all("no action values" in (r.error or "") for r in rows)


def test_cli_pair_json_in_a_subprocess(files):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "backend.cli",
            "compare",
            f"{files['src']}:1",
            f"{files['gen']}:2",
            "--align",
            "offset",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["units"] == "deg"
    assert out["offset_s"] == pytest.approx(0.3, abs=0.05)
    assert set(out["joints"]) == {
        "shoulder_pan",
        "shoulder_lift",
        "elbow_flex",
        "wrist_flex",
        "wrist_roll",
        "gripper",
    }
    for metrics in out["joints"].values():
        assert {"mae", "rmse", "max_abs", "dtw"} <= set(metrics)
        assert metrics["rmse"] == pytest.approx(4.0, rel=0.25)  # the 4 deg noise
    assert out["pairing"]["method"] == "provenance"
    # an episode that does not exist: one line, exit 2
    proc = subprocess.run(
        [sys.executable, "-m", "backend.cli", "compare", f"{files['src']}:9", f"{files['gen']}:0"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "no episode 9" in proc.stderr


def test_cli_defaults_pairing_and_batch_table(files, capsys):
    # no episode on A: its source is found through the provenance (gen 0 <- src 2 from frame 5),
    # and with --align none the recorded frame offset is applied
    assert cli_main(["compare", str(files["src"]), f"{files['gen']}:0", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["a"].endswith("src.hdf5:2")
    assert out["offset_s"] == pytest.approx(-5 / 30)
    assert out["align"]["mode"] == "none"
    assert all(m["rmse"] < 1.0 for m in out["joints"].values())
    # state instead of action
    assert (
        cli_main(["compare", f"{files['src']}:0", f"{files['gen']}:1", "--feature", "state", "--json"]) == 0
    )
    assert json.loads(capsys.readouterr().out)["units"] == "deg"
    # whole datasets: the batch table, worst first
    assert cli_main(["compare", str(files["src"]), str(files["gen"]), "--align", "offset", "--quiet"]) == 0
    text = capsys.readouterr().out
    lines = [line for line in text.splitlines() if line.strip()[:1].isdigit() and "provenance" in line]
    assert [int(line.split()[0]) for line in lines] == [2, 0, 1]
    assert (
        cli_main(
            [
                "compare",
                str(files["src"]),
                str(files["gen"]),
                "--json",
                "--limit",
                "1",
                "--quiet",
                "--sort",
                "max_abs",
            ]
        )
        == 0
    )
    batch = json.loads(capsys.readouterr().out)
    assert batch["count"] == 3 and len(batch["rows"]) == 1 and batch["rows"][0]["generated"] == 2


def test_cli_unit_declaration_and_errors(files, capsys):
    assert cli_main(["compare", f"{files['src']}:0", f"{files['gen']}:1", "--b-unit", "other"]) == 2
    assert "declare the unit of side B" in capsys.readouterr().err
    assert cli_main(["compare", f"{files['src']}:0", str(files["cosmos"]) + ":0"]) == 2
    assert "no action values" in capsys.readouterr().err
    assert cli_main(["compare", str(files["src"]), f"{files['gen']}:1", "--pair", "1=x"]) == 2


def test_report_folder(files, tmp_path):
    from backend.compare.core import Trajectory, compare_trajectories

    with open_dataset(files["src"]) as src, open_dataset(files["gen"]) as gen:
        result = compare_trajectories(
            Trajectory.from_episode(src.episode(1)), Trajectory.from_episode(gen.episode(2)), "offset"
        )
        batch = compare_batch(src, gen)
    png = b"\x89PNG\r\n\x1a\nfake"
    out = write_report(tmp_path / "report", result, picture_png=png, batch=batch)
    assert sorted(p.name for p in out.iterdir()) == [
        ".rollout_studio_output.json",
        "batch.csv",
        "metrics.csv",
        "report.html",
        "summary.json",
        "view.png",
    ]
    rows = list(csv.DictReader(io.StringIO((out / "metrics.csv").read_text())))
    assert [r["joint"] for r in rows][0] == "shoulder_pan" and len(rows) == 6
    assert float(rows[0]["rmse"]) == pytest.approx(result.joints["shoulder_pan"].rmse, rel=1e-5)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["pair"]["joints"]["gripper"]["mae"] == pytest.approx(result.joints["gripper"].mae)
    assert summary["batch"]["rows"][0]["generated"] == 2
    html = (out / "report.html").read_text()
    assert "<img src='view.png'" in html and "wrist_roll" in html
    batch_rows = list(csv.DictReader(io.StringIO((out / "batch.csv").read_text())))
    assert batch_rows[0]["generated"] == "2"
    with pytest.raises(StudioError, match="already exists"):
        write_report(tmp_path / "report", result)
    assert write_report(tmp_path / "report", result, overwrite=True) == out  # an old report: replaced
    assert not (out / "view.png").exists()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "demo.hdf5").write_bytes(b"")
    with pytest.raises(StudioError, match="did not write"):
        write_report(tmp_path / "data", result, overwrite=True)  # never replaces anything else
    assert (tmp_path / "data" / "demo.hdf5").exists()


def test_hdf5_record_is_where_the_converters_put_it(files):
    with h5py.File(files["gen"], "r") as handle:
        record = json.loads(handle["data"].attrs["rollout_studio_provenance"])
    assert record["episodes"][0]["source_episode"] == 2 and record["episodes"][0]["frame_offset"] == 5


def test_the_studio_conversion_chain_pairs_by_its_own_records(tmp_path):
    """HDF5 -> LeRobot (drops 5 frames) -> replayable HDF5, paired back through the converters' records."""
    from backend.convert.hdf5_to_lerobot import Hdf5ToLerobotOptions
    from backend.convert.hdf5_to_lerobot import run as to_lerobot
    from backend.convert.lerobot_to_hdf5 import LerobotToHdf5Options
    from backend.convert.lerobot_to_hdf5 import run as to_hdf5

    src = write_source_hdf5(tmp_path / "src.hdf5", (60, 75, 50), camera=None)
    lerobot = tmp_path / "lerobot"
    to_lerobot([src], Hdf5ToLerobotOptions(out=lerobot, task="Pick the orange"))
    replay = tmp_path / "replay.hdf5"
    to_hdf5(lerobot, LerobotToHdf5Options(out=replay, template=src))
    with open_dataset(src) as a, open_dataset(lerobot) as b, open_dataset(replay) as c:
        for generated in (b, c):
            pairs = pair_episodes(generated, a)
            assert [(p.source, p.method, p.frame_offset) for p in pairs] == [
                (i, "provenance", 5) for i in range(3)
            ]
        assert [(p.source, p.method) for p in pair_episodes(c, b)] == [(i, "provenance") for i in range(3)]
        for generated in (b, c):  # LeRobot -100..100 and radians, both compared in degrees
            rows = compare_batch(a, generated, "action", "none").rows
            assert all(
                r.error is None and r.rmse < 1e-3 and r.offset_s == pytest.approx(-5 / 30) for r in rows
            )


def test_real_lerobot_dataset(shared_data, capsys):
    path = shared_data / "lerobot061_so101_v30_h264"
    assert cli_main(["compare", f"{path}:0", f"{path}:1", "--json", "--align", "offset"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["units"] == "deg" and out["source_units"] == {"a": "lerobot", "b": "lerobot"}
    assert out["fps"] == {"a": 30.0, "b": 30.0} and out["duration_s"]["a"] == pytest.approx(59 / 30)
    assert out["end_effector"]["max_mm"] > 0


def test_idm_dataset_pairs_through_the_prepare_record(tmp_path):
    """An IDM-labelled LeRobot v2.1 dataset (16 fps, LeRobot range) whose episodes are in another
    order than the source's: IDM prepare's record says which source episode each one is."""
    import numpy as np

    from backend.formats import open_writer
    from backend.formats.base import WriterSpec
    from backend.model import DatasetFormat, Feature, FeatureKind
    from backend.units import SO101_JOINTS, Unit
    from tests.compare_data import DEG, generated_values

    lengths = (90, 120, 100)
    src = write_source_hdf5(tmp_path / "src.hdf5", lengths, camera=None)
    names = [f"{j}.pos" for j in SO101_JOINTS]
    features = {
        k: Feature(k, FeatureKind.VECTOR, "float32", (6,), names) for k in ("observation.state", "action")
    }
    record = {"operation": "idm prepare", "inputs": [str(tmp_path / "cosmos"), str(src)]}
    spec = WriterSpec(fps=16.0, robot_type="so101", features=features, provenance=record)
    order = [2, 0, 1]
    idm = tmp_path / "so101.cosmos_pick"
    with open_writer(DatasetFormat.LEROBOT_V21, idm, spec) as writer:
        for s in order:
            deg = generated_values(GeneratedSpec(s, noise_deg=0.5, seed=s), lengths[s], 30.0, 16.0)
            episode = writer.begin_episode("Pick the orange")
            action = DEG.convert(deg, Unit.LEROBOT_RANGE).astype(np.float32)
            episode.add_frames({"observation.state": np.zeros_like(action), "action": action})
            episode.end(success=True)
    prepare = {
        "episodes": [
            {"episode": i, "name": f"src_episode_{s:06d}", "source_episode": s} for i, s in enumerate(order)
        ]
    }
    (idm / "meta" / "rollout_studio_idm_prepare.json").write_text(json.dumps(prepare))
    with open_dataset(src) as a, open_dataset(idm) as b:
        assert [(p.generated, p.source, p.method) for p in pair_episodes(b, a)] == [
            (0, 2, "provenance"),
            (1, 0, "provenance"),
            (2, 1, "provenance"),
        ]
        rows = compare_batch(a, b).rows
        assert all(r.error is None and r.rmse == pytest.approx(0.5, rel=0.3) for r in rows)
