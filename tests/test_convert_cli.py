"""`rollout-studio convert ...` as real subprocesses: plans, summaries, one-line errors, and kill -9
at random moments (nothing partial at the destination, sources untouched, a rerun completes)."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backend import provenance as prov
from backend.formats import validate_path
from backend.media import probe
from tests import cli_zygote
from tests.recordings import DemoSpec, RecordingSpec, write_recording

REPO = Path(__file__).resolve().parents[1]


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, SVT_LOG="1")
    return cli_zygote.run(["convert", *map(str, args)], cwd=REPO, env=env, timeout=timeout)


def start(*args: str) -> subprocess.Popen:
    env = dict(os.environ, SVT_LOG="1")
    return subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "convert", *map(str, args)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    demos = [DemoSpec(40) for _ in range(6)] + [DemoSpec(40, success=False)]
    return write_recording(
        tmp_path_factory.mktemp("cli") / "rec.hdf5", RecordingSpec(demos, width=160, height=120)
    )


def _errors(path: Path) -> list[str]:
    return [p.line() for p in validate_path(path) if p.severity == "error"]


def test_plan_run_and_errors(recording: Path, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    done = cli("hdf5-to-lerobot", recording, "--out", out, "--task", "Pick the orange", "--plan")
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["summary"]["episodes_kept"] == 6 and not out.exists()
    assert plan["episodes"][6]["reason"].startswith("failed demo")
    done = cli(
        "hdf5-to-lerobot",
        recording,
        "--out",
        out,
        "--task",
        "Pick the orange",
        "--skip-frames",
        "3",
        "--min-length",
        "5",
        "--fps",
        "30",
        "--include-failed",
        "--cameras",
        "front",
        "--quiet",
    )
    assert done.returncode == 0, done.stderr
    assert "7 episodes, 259 frames" in done.stdout
    assert _errors(out) == []
    done = cli("lerobot-to-hdf5", out, "--template", recording, "--out", tmp_path / "back.hdf5", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["episodes_written"] == 7 and "provenance" in result["details"]["mapping_note"]
    # a 16 fps copy (as IDM writes): resampled, the warning said once, a bad rate refused
    idm = tmp_path / "idm16"
    shutil.copytree(out, idm)
    info = json.loads((idm / "meta/info.json").read_text())
    info["fps"] = 16
    (idm / "meta/info.json").write_text(json.dumps(info))
    done = cli("lerobot-to-hdf5", idm, "--template", recording, "--out", tmp_path / "r.hdf5", "--quiet")
    assert done.returncode == 0, done.stderr
    assert "replay_fps: 30.0" in done.stdout
    assert done.stderr.count("resampled to 30 fps") == 1
    for rate in ("0", "-5"):
        done = cli("lerobot-to-hdf5", idm, "--template", recording, "--out", tmp_path / "r0.hdf5", "--replay-fps", rate)
        assert done.returncode == 2 and "the replay rate must be positive" in done.stderr
        assert not (tmp_path / "r0.hdf5").exists()
    done = cli("lerobot-v2-to-v3", out, "--out", tmp_path / "v3", "--quiet")
    assert done.returncode == 0, done.stderr
    done = cli("lerobot-v3-to-v2", tmp_path / "v3", "--out", tmp_path / "v2", "--quiet", "--modality", "none")
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "v2/meta/modality.json").exists()
    done = cli("transcode", tmp_path / "v2", "--out", tmp_path / "t", "--force", "--quiet")
    assert done.returncode == 0, done.stderr
    # user errors: exit 2 and one line naming the problem
    for args, expected in (
        (("hdf5-to-lerobot", tmp_path / "nope.hdf5", "--out", tmp_path / "x", "--task", "t"), "no such file"),
        (("hdf5-to-lerobot", recording, "--out", out, "--task", "t"), "already exists"),
        (("hdf5-to-lerobot", recording, "--out", tmp_path / "x"), "no task text"),
        (("lerobot-to-hdf5", out, "--template", out, "--out", tmp_path / "x.hdf5"), "not a LeIsaac HDF5"),
        (
            ("lerobot-to-hdf5", out, "--template", recording, "--out", tmp_path / "x.hdf5", "--map", "a=b"),
            "--map",
        ),
        (("lerobot-v3-to-v2", out, "--out", tmp_path / "x"), "lerobot-v2-to-v3"),
    ):
        done = cli(*args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        errors = [line for line in done.stderr.strip().splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and expected in errors[0], done.stderr
        assert done.stderr.strip().splitlines()[-1] == errors[0]
        assert "Traceback" not in done.stderr


def _partials(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".partial-" in p.name)


def _wait_for_partial(process: subprocess.Popen, folder: Path) -> None:
    deadline = time.monotonic() + 60
    while process.poll() is None and not _partials(folder) and time.monotonic() < deadline:
        time.sleep(0.002)


def _write_window(args: list, folder: Path) -> float:
    """Seconds between the output starting to appear (a ``.partial-`` sibling) and the end of a full run."""
    process = start(*args)
    _wait_for_partial(process, folder)
    started = time.monotonic()
    assert process.wait(timeout=120) == 0
    return time.monotonic() - started


def _describe(pids: list[int] | set[int]) -> list[str]:
    """pid, parent pid and command of each process (for a failure message)."""
    lines = []
    for pid in sorted(pids):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            lines.append(f"{pid} (parent {stat[1]}): {cmd[:160]}")
        except OSError:
            lines.append(f"{pid}: gone")
    return lines


def _camera_workers() -> list[int]:
    """Pids of live camera encoder processes started by this test process (Linux /proc; [] elsewhere).

    Ours are told apart by the private studio home conftest gives each test process (a parallel test
    worker converts at the same time with its own)."""
    ours = f"ROLLOUT_STUDIO_HOME={os.environ['ROLLOUT_STUDIO_HOME']}".encode()
    pids = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (entry / "cmdline").read_bytes()
            if b"backend.convert.camera_worker" not in cmdline:
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if state != "Z" and ours in environ:
            pids.append(int(entry.name))
    return pids


def _kill_at_random(args: list, folder: Path, window: float, runs: int, rng: random.Random, check) -> int:
    """Start ``args`` ``runs`` times and kill -9 it at a random moment while it writes its output;
    ``check()`` runs after every kill. Returns how many runs were killed mid-write."""
    mid_write = 0
    for _ in range(runs):
        process = start(*args)
        _wait_for_partial(process, folder)
        time.sleep(rng.uniform(0.0, 0.9 * window))
        if process.poll() is None:
            mid_write += bool(_partials(folder))
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        check()
    return mid_write


def test_kill_9_leaves_nothing_partial_and_a_rerun_completes(recording: Path, tmp_path: Path) -> None:
    rng = random.Random(4)
    before = prov.hash_input(recording, "full")["sha256"]
    out = tmp_path / "killed"
    window = _write_window(
        ["hdf5-to-lerobot", recording, "--out", tmp_path / "timed", "--task", "t"], tmp_path
    )

    def check() -> None:  # nothing at the destination (or all of it), the source unchanged
        assert not out.exists() or _errors(out) == []
        assert prov.hash_input(recording, "full")["sha256"] == before
        deadline = time.monotonic() + 5  # the camera encoder processes die with their parent
        while _camera_workers() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _camera_workers() == []

    args = ["hdf5-to-lerobot", recording, "--out", out, "--task", "t", "--quiet", "--jobs", "4"]
    assert _kill_at_random(args, tmp_path, window, 4, rng, check) >= 3
    if out.exists():
        import shutil

        shutil.rmtree(out)
    done = cli(*args)
    assert done.returncode == 0, done.stderr
    assert _errors(out) == []
    assert _partials(tmp_path) == []  # leftovers of the killed runs are gone
    # an HDF5 output too
    target = tmp_path / "replay.hdf5"
    args = ["lerobot-to-hdf5", out, "--template", recording, "--out", target]
    window = _write_window(
        ["lerobot-to-hdf5", out, "--template", recording, "--out", tmp_path / "t.hdf5"], tmp_path
    )

    def check_hdf5() -> None:
        assert not target.exists() or _errors(target) == []
        assert prov.hash_input(recording, "full")["sha256"] == before

    _kill_at_random(args, tmp_path, window, 2, rng, check_hdf5)
    if target.exists():
        target.unlink()
    assert cli(*args).returncode == 0
    assert _errors(target) == [] and _partials(tmp_path) == []


def test_kill_9_during_transcode_leaves_the_source_and_a_whole_or_no_output(
    recording: Path, tmp_path: Path
) -> None:
    dataset = tmp_path / "av1"
    done = cli("hdf5-to-lerobot", recording, "--out", dataset, "--task", "t", "--codec", "av1", "--quiet")
    assert done.returncode == 0, done.stderr
    checksum = prov.hash_input(dataset, "full")["sha256"]
    rng = random.Random(7)
    window = _write_window(["transcode", dataset, "--out", tmp_path / "timed"], tmp_path)
    target = tmp_path / "av1_h264"

    def check() -> None:  # whatever the moment: the source as it was, the output absent or whole
        assert prov.hash_input(dataset, "full")["sha256"] == checksum
        if target.exists():
            assert _errors(target) == []
            assert {probe(p).codec for p in target.rglob("*.mp4")} == {"h264"}

    args = ["transcode", dataset, "--quiet", "--overwrite"]
    assert _kill_at_random(args, tmp_path, window, 3, rng, check) >= 1
    done = cli(*args)
    assert done.returncode == 0, done.stderr
    assert {probe(p).codec for p in target.rglob("*.mp4")} == {"h264"}
    assert _errors(target) == [] and _partials(tmp_path) == []


def test_the_summary_gives_a_long_run_of_skipped_demos_one_line(tmp_path: Path) -> None:
    src = write_recording(
        tmp_path / "rec.hdf5",
        RecordingSpec([DemoSpec(12) for _ in range(9)] + [DemoSpec(12, success=False)], width=16, height=12),
    )
    done = cli("hdf5-to-lerobot", src, "--out", tmp_path / "out", "--demos", "0,9", "--include-failed",
               "--skip-frames", "0", "--jobs", "1", "--task", "Pick", "--quiet")
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if "skipped" in line]
    assert lines == ["  skipped 8 episodes of rec.hdf5: not selected (demo_1, demo_2, demo_3, ..., demo_8)"]
    few = cli("hdf5-to-lerobot", src, "--out", tmp_path / "few", "--demos", "0,1,2,3,4,5,6", "--skip-frames", "0",
              "--jobs", "1", "--task", "Pick", "--quiet")
    assert [line for line in few.stdout.splitlines() if "skipped" in line] == [
        "  skipped demo_7 of rec.hdf5: not selected",
        "  skipped demo_8 of rec.hdf5: not selected",
        "  skipped demo_9 of rec.hdf5: not selected",
    ]
