"""`rollout-studio edit ...` in process (one subprocess run for the entry point) and on LeRobot 0.6.1 data."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from backend.cli import main
from backend.formats import open_dataset
from backend.model import DatasetFormat
from tests.surgery_data import write_lerobot

REPO = Path(__file__).resolve().parents[1]
LEROBOT061 = "lerobot061_so101_v30_h264"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("edit_cli")
    write_lerobot(root / "a", DatasetFormat.LEROBOT_V30, seed=0)
    write_lerobot(root / "b", DatasetFormat.LEROBOT_V30, (22, 26), ("pick", "stack"), seed=1)
    return root


def test_plan_json_writes_nothing(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(
        ["edit", "merge", str(root / "a"), str(root / "b"), "--out", str(root / "m"), "--plan", "--json"]
    )
    plan = json.loads(capsys.readouterr().out)
    assert rc == 0 and not (root / "m").exists()
    assert (
        plan["method"] == "join"
        and plan["outputs"][0]["episodes"] == 5
        and plan["outputs"][0]["frames"] == 122
    )


def test_user_errors_are_one_line_exit_2(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["edit", "delete", str(root / "a"), "--episodes", "9", "--out", str(root / "x")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {root / 'a'}: has no episode 9 (episodes are 0..2)"]
    assert main(["edit", "trim", str(root / "a"), "--frames", "0:5", "--out", str(root / "x")]) == 2
    assert "is not EP:FIRST-LAST" in capsys.readouterr().err
    assert main(["edit", "keep", str(root / "a"), "--episodes", "0", "--out", str(root / "a" / "meta")]) == 2
    assert "inside the input" in capsys.readouterr().err
    assert not (root / "x").exists()


def test_entry_point_runs_edit(root: Path) -> None:
    exe = Path(sys.executable).with_name("rollout-studio")
    out = subprocess.run(
        [
            str(exe),
            "edit",
            "retask",
            str(root / "a"),
            "--task",
            "grab",
            "--episodes",
            "1",
            "--out",
            str(root / "r"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "written" in out.stdout
    with open_dataset(root / "r") as ds:
        assert [e.task for e in ds.episodes] == ["pick", "grab", "pick"]


def test_lerobot061_split_merges_back_exactly(shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / LEROBOT061
    if not source.is_dir():
        pytest.skip(f"{source} not found")
    data = tmp_path / "in"
    shutil.copytree(source, data)
    assert (
        main(
            [
                "edit",
                "split",
                str(data),
                "--episodes",
                "0",
                "--out",
                str(tmp_path / "h0"),
                "--out",
                str(tmp_path / "h1"),
                "--quiet",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "edit",
                "merge",
                str(tmp_path / "h0"),
                str(tmp_path / "h1"),
                "--out",
                str(tmp_path / "back"),
                "--quiet",
            ]
        )
        == 0
    )
    with open_dataset(data) as ds, open_dataset(tmp_path / "back") as back:
        assert back.num_episodes == ds.num_episodes == 2 and back.num_frames == ds.num_frames
        for e, f in zip(ds.episodes, back.episodes, strict=True):
            assert e.task == f.task
            for key in ("action", "observation.state"):
                np.testing.assert_array_equal(e.array(key), f.array(key))
            for camera in ds.cameras:
                a, b = e.stream(camera), f.stream(camera)
                for t in (0, e.length - 1):
                    np.testing.assert_array_equal(a.frame(t), b.frame(t))
                a.close()
                b.close()
    stats = json.loads((data / "meta" / "stats.json").read_text())
    back_stats = json.loads((tmp_path / "back" / "meta" / "stats.json").read_text())
    for stat in ("min", "max", "mean", "std"):
        np.testing.assert_allclose(back_stats["action"][stat], stats["action"][stat], rtol=1e-5, atol=1e-5)
