"""The operator's walk (scripts/walk.py) under a real X server at 1280x800: record with the virtual arms
-> open in Browse -> curate -> export -> convert in the wizard -> compare -> a job. The walk runs once in
its own process under xvfb-run (private settings, workspace and job store); the tests read its JSON
report and its screenshots."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.run_once import once_per_run, run_root

# it drives the virtual arms in real time; one worker runs every test of it (./dev.sh test's realtime
# run uses --dist loadfile: xdist_group marks do nothing under pytest 9 with xdist 3.8), so no other
# worker waits on the walk's lock
pytestmark = pytest.mark.realtime

REPO = Path(__file__).resolve().parents[1]
STEPS = ["record", "browse", "curate", "export", "convert", "compare", "job"]
SHOTS = ["1-record", "2-browse", "3-curate", "4-export-dialog", "5-export-done", "6-convert-preview",
         "7-convert-done", "8-compare", "9-job"]


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[16:24]
    return int.from_bytes(header[:4], "big"), int.from_bytes(header[4:], "big")


@pytest.fixture(scope="session")
def walk(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The walk's report, made once per test run: xdist workers share it through a file under the
    run's temporary root (the first to ask runs it, holding a lock; the others read it)."""
    if not shutil.which("xvfb-run"):
        pytest.skip("xvfb-run is not installed (apt install xvfb): the walk needs a real X server")
    root = run_root(tmp_path_factory)
    text = once_per_run(tmp_path_factory, "walk", lambda: json.dumps(_run_walk(root / "walk")))
    report = json.loads(text)
    report["shots"] = Path(report["shots"])
    return report


def _run_walk(folder: Path) -> dict:
    env = dict(os.environ)
    env.pop("QT_QPA_PLATFORM", None)  # a real X server (Xvfb), not offscreen
    command = ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", sys.executable, str(REPO / "scripts" / "walk.py"),
               "--out", str(folder / "shots"), "--workspace", str(folder / "workspace")]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    try:
        report = json.loads(result.stdout)
    except ValueError:
        pytest.fail(f"the walk printed no report (exit {result.returncode}):\n{result.stderr[-3000:]}")
    report["exit"] = result.returncode
    report["stderr"] = result.stderr
    report["shots"] = str(folder / "shots")
    return report


def sees(walk: dict, step: str) -> dict:
    entry = next((s for s in walk["steps"] if s["step"] == step), None)
    assert entry is not None, f"the walk stopped before {step}"
    assert entry["ok"], f"{step} failed: {entry.get('error')}\n{entry.get('trace', '')}"
    return entry["sees"]


def test_every_step_of_the_walk_succeeds(walk: dict) -> None:
    failed = [(s["step"], s.get("error")) for s in walk["steps"] if not s["ok"]]
    assert not failed, failed
    assert [s["step"] for s in walk["steps"]] == STEPS
    assert walk["exit"] == 0 and walk["ok"]
    assert walk["platform"] == "xcb" and walk["screen"] == [1280, 800]


def test_each_step_is_a_screenshot_of_the_whole_screen(walk: dict) -> None:
    for name in SHOTS:
        path = walk["shots"] / f"{name}.png"
        assert path.is_file(), f"no screenshot {name}.png"
        assert png_size(path) == (1280, 800)
        assert path.stat().st_size > 20_000, f"{name}.png looks empty"


def test_record_then_browse_shows_both_episodes(walk: dict) -> None:
    record = sees(walk, "record")
    assert "RECORDING" in record["indicator"]
    assert "kept 2" in record["counter"]
    assert record["buttons_on_screen"]
    browse = sees(walk, "browse")
    assert browse["dataset"] == record["recording"]
    assert browse["episodes"] == 2
    assert "2 episodes" in browse["status"]


def test_curate_and_export(walk: dict) -> None:
    curate = sees(walk, "curate")
    assert curate["episode_0"] == {"rating": "good", "trim": [5, curate["length_0"] - 6]}
    assert curate["episode_1"] == {"rating": "bad", "excluded": True}
    assert curate["summary"].startswith("1 of 2 episodes kept (1 excluded, 1 trimmed")
    export = sees(walk, "export")
    assert export["exists"] and export["output"] == export["dialog_output"]
    assert export["validate_errors"] == []
    assert "validate: OK" in export["notice"]


def test_convert_compare_and_job(walk: dict) -> None:
    export = sees(walk, "export")
    convert = sees(walk, "convert")
    assert convert["preview_kept"] == 1 and convert["episodes"] == 1
    assert convert["format"] == "lerobot_v2.1" and convert["validate_errors"] == []
    assert convert["open_in_browse"]
    compare = sees(walk, "compare")
    assert [(s["letter"], s["dataset"]) for s in compare["sides"]] == [
        ("A", export["output"]), ("B", convert["output"])
    ]
    assert compare["tiles_showing"] == 2 and compare["summary"].startswith("B vs A: RMSE")
    job = sees(walk, "job")
    assert job["state"] == "succeeded"
    assert job["argv"][1:] == ["-c", "print('walk job: hello from the command template')"]
    assert "walk job: hello from the command template" in job["log"]
    assert "Nothing to check" not in job["check"] and "program" in job["check"]  # Check finds python


def test_the_window_stays_inside_the_screen_at_every_step(walk: dict) -> None:
    outside = {s["step"]: s["window"] for s in walk["steps"] if not s["window"]["inside_screen"]}
    assert not outside, f"the window grew past the 1280x800 screen: {outside}"
