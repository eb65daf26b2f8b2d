"""The desktop bundle (issue #21), from a clean environment: no venv on PATH, an empty HOME, run from
an empty folder. Builds it with `./dev.sh bundle` (or uses ROLLOUT_STUDIO_BUNDLE_PREBUILT, which
`./dev.sh bundle --check` sets), then runs `--version`, `demo-data`, `convert hdf5-to-lerobot` with
encoder workers in processes, `jobs submit` + `jobs wait` on the local runner, `record` against the
bundle's own virtual arm for 3 s, the GUI's `--screenshot` of the demo workspace and `install.sh`,
checking each output. Skipped unless ROLLOUT_STUDIO_BUNDLE=1 (a build takes minutes)."""

from __future__ import annotations

import fcntl
import json
import os
import re
import struct
import subprocess
import time
from pathlib import Path

import h5py
import pytest

from backend.formats import open_dataset

REPO = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.bundle,
    pytest.mark.skipif(os.environ.get("ROLLOUT_STUDIO_BUNDLE") != "1",
                       reason="builds the desktop bundle (minutes): set ROLLOUT_STUDIO_BUNDLE=1"),
]


@pytest.fixture(scope="module")
def bundle() -> Path:
    prebuilt = os.environ.get("ROLLOUT_STUDIO_BUNDLE_PREBUILT")
    if not prebuilt:
        # one build per test run, even when pytest-xdist spreads this module over several workers
        (REPO / "build").mkdir(exist_ok=True)
        run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID") or str(os.getpid())
        with open(REPO / "build" / "bundle-test.lock", "a+") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            lock.seek(0)
            if lock.read().strip() != run_id:
                built = subprocess.run(["./dev.sh", "bundle"], cwd=REPO, capture_output=True, text=True,  # noqa: S603, S607
                                       timeout=1800)
                assert built.returncode == 0, built.stderr[-3000:]
                lock.seek(0)
                lock.truncate()
                lock.write(run_id)
                lock.flush()
        prebuilt = str(REPO / "dist" / "rollout-studio")
    folder = Path(prebuilt).absolute()
    assert (folder / "rollout-studio").is_file() and (folder / "_internal").is_dir()
    return folder


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """An empty HOME and working folder, only the system's PATH: nothing of the venv or the checkout."""
    root = tmp_path_factory.mktemp("clean")
    home, work, run = root / "home", root / "work", root / "run"
    for folder in (home, work, run):
        folder.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8", "XDG_RUNTIME_DIR": str(run)}

    def run_bundle(exe: Path, *args: str, timeout: float = 180, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run([str(exe), *args], env=env, cwd=work, capture_output=True, text=True,  # noqa: S603
                              timeout=timeout, stdin=subprocess.DEVNULL, **kwargs)

    return env, work, run_bundle


@pytest.fixture(scope="module")
def demo(bundle, clean) -> Path:
    _env, work, run = clean
    done = run(bundle / "rollout-studio", "demo-data", str(work / "demo"), "--quiet")
    assert done.returncode == 0, done.stderr
    path = Path(done.stdout.strip().splitlines()[-1])
    assert path.suffix == ".hdf5" and path.is_file()
    return path


def test_version_names_the_commit_it_was_built_from(bundle, clean):
    done = clean[2](bundle / "rollout-studio", "--version")
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert re.match(r"rollout-studio \S+ \(commit [0-9a-f]{12}( \(modified\))?, bundle, built ", first), first
    assert "torch not installed" in done.stdout and "libx264" in done.stdout and "HDF5 " in done.stdout


def _children_seen(proc: subprocess.Popen, poll_s: float = 0.01) -> list[str]:
    """The command line of every child of ``proc`` seen while it runs (from /proc, every ``poll_s``)."""
    seen: dict[int, str] = {}
    while proc.poll() is None:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == proc.pid:
                    line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
                    if line:  # a child that has ended (a zombie) has none
                        seen[int(entry.name)] = line
            except (OSError, IndexError, ValueError):
                continue
        time.sleep(poll_s)
    return list(seen.values())


def _run_watching(env, work, exe: Path, *args: str, timeout: float = 300) -> tuple[int, str, list[str]]:
    with subprocess.Popen([str(exe), *args], env=env, cwd=work, stdout=subprocess.DEVNULL,  # noqa: S603
                          stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True) as proc:
        seen = _children_seen(proc)
        _out, err = proc.communicate(timeout=timeout)
    return proc.returncode, err, seen


def test_demo_data_and_conversion_with_worker_processes(bundle, clean, demo):
    env, work, _run = clean
    with h5py.File(demo) as f:
        lengths = [f[f"data/demo_{i}/actions"].shape[0] for i in (0, 1)]
    out = work / "lerobot"
    code, err, seen = _run_watching(env, work, bundle / "rollout-studio", "convert", "hdf5-to-lerobot", str(demo),
                                    "--out", str(out), "--demos", "0,1", "--skip-frames", "0", "--jobs", "2")
    assert code == 0, err
    with open_dataset(out) as dataset:
        assert [dataset.episode(i).length for i in range(dataset.num_episodes)] == lengths
    assert len(list((out / "videos").rglob("*.mp4"))) == 4  # 2 episodes x front + wrist
    # the frames were encoded by two of the bundle's own worker processes, not by threads
    workers = [c for c in seen if c.endswith("--studio-child backend.convert.camera_worker")]
    assert len(workers) == 2 and all(c.startswith(str(bundle / "rollout-studio")) for c in workers), seen

    # and the same for re-encoding: transcode's video workers
    again = work / "transcoded"
    code, err, seen = _run_watching(env, work, bundle / "rollout-studio", "convert", "transcode", str(out),
                                    "--out", str(again), "--force", "--jobs", "2")
    assert code == 0, err
    with open_dataset(again) as dataset:
        assert [dataset.episode(i).length for i in range(dataset.num_episodes)] == lengths
    assert [c for c in seen if c.endswith("--studio-child backend.convert.video_worker")], seen


def test_jobs_run_on_the_local_runner_with_the_users_environment(bundle, clean, demo):
    env, work, run = clean
    exe = bundle / "rollout-studio"
    dump = work / "job-env.json"
    code = f"import json, os; json.dump(dict(os.environ), open({str(dump)!r}, 'w')); print('job ran')"
    submitted = run(exe, "jobs", "submit", "command", "--", "/usr/bin/env", "python3", "-c", code)
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip()
    waited = run(exe, "jobs", "wait", job_id, timeout=120)
    assert waited.returncode == 0, waited.stderr
    job_env = json.loads(dump.read_text())
    assert job_env["HOME"] == env["HOME"] and job_env["ROLLOUT_STUDIO_JOB_ID"] == job_id
    leaked = [k for k, v in job_env.items() if str(bundle) in v or k.startswith(("_PYI", "_MEIPASS"))]
    assert leaked == [] and "ROLLOUT_STUDIO_USER_ENV" not in job_env
    # the studio's own command as a job: the bundle runs itself
    studio = run(exe, "jobs", "submit", "--wait", "studio", "--", "inspect", str(demo), timeout=120)
    assert studio.returncode == 0, studio.stderr
    logs = run(exe, "jobs", "logs", studio.stdout.strip().splitlines()[0])
    assert "Pick up the orange" in logs.stdout


def test_record_against_the_bundles_virtual_arm_for_3_seconds(bundle, clean):
    env, work, _run = clean
    exe = bundle / "rollout-studio"
    calibration = work / "leader.json"
    arm = subprocess.Popen([str(exe), "virtual-arm", "--calibrated", "--write-calibration", str(calibration)],  # noqa: S603
                           env=env, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        device = arm.stdout.readline().strip()
        assert device.startswith("/dev/"), "virtual-arm printed no device"
        out = work / "recording.hdf5"
        done = _run(exe, "record", "--leader", device, "--leader-calibration", str(calibration),
                    "--camera", "front=pattern:64x48@30", "--out", str(out), "--episodes", "1",
                    "--episode-seconds", "3", "--json", timeout=120)
    finally:
        arm.terminate()
        arm.wait(timeout=20)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert [e["success"] for e in summary["episodes"]] == [True] and summary["recorder_error"] == ""
    with h5py.File(out) as f:
        frames, actions = f["data/demo_0/obs/front"], f["data/demo_0/actions"]
        assert 150 <= actions.shape[0] <= 190  # 3 s of the 60 Hz loop
        assert frames.shape == (actions.shape[0], 48, 64, 3)  # a camera frame with every step


def test_gui_screenshot_of_the_demo_workspace(bundle, clean):
    env, work, run = clean
    shot = work / "gui.png"
    done = run(bundle / "rollout-studio", "--demo", "--workspace", str(work / "ws"), "--screenshot", str(shot),
               "--size", "1280x800", timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    header = shot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", header[16:24]) == (1280, 800)
    assert shot.stat().st_size > 50_000  # a rendered window, not a blank one
    crashes = Path(env["HOME"]) / ".local" / "share" / "rollout-studio" / "crashes"
    assert not crashes.exists() or list(crashes.iterdir()) == []  # a clean exit leaves no report


def test_install_sh_registers_the_app_and_uninstalls(bundle, clean, tmp_path):
    env, _work, _run = clean
    prefix = tmp_path / "prefix"
    installed = subprocess.run(["sh", str(bundle / "install.sh")], env={**env, "PREFIX": str(prefix)},  # noqa: S603, S607
                               capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr
    app = prefix / "lib" / "rollout-studio" / "rollout-studio"
    assert (prefix / "bin" / "rollout-studio").resolve() == app.resolve()
    desktop = (prefix / "share" / "applications" / "rollout-studio.desktop").read_text()
    assert f'Exec="{app}" %F' in desktop and "application/x-hdf5" in desktop and "inode/directory" in desktop
    assert "*.hdf5" in (prefix / "share" / "mime" / "packages" / "rollout-studio.xml").read_text()
    assert (prefix / "share" / "icons" / "hicolor" / "256x256" / "apps" / "rollout-studio.png").is_file()
    version = subprocess.run([str(prefix / "bin" / "rollout-studio"), "--version"], env=env,  # noqa: S603
                             capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and ", bundle" in version.stdout
    removed = subprocess.run(["sh", str(bundle / "install.sh"), "--uninstall"], env={**env, "PREFIX": str(prefix)},  # noqa: S603, S607
                             capture_output=True, text=True, timeout=120)
    assert removed.returncode == 0, removed.stderr
    assert not (prefix / "bin" / "rollout-studio").exists() and not app.exists()
