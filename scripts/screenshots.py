"""Regenerate docs/screenshots/: every pane, populated with real data, offscreen, no hardware.

    python scripts/screenshots.py [--out docs/screenshots] [--size WxH ...] [--only browse,jobs,...]
                                  [--workspace DIR] [--xvfb] [--list]

Every shot is taken at each --size (default: 1280x800 and 1920x1080) into OUT/<W>x<H>/<shot>.png, on a
screen of that size (offscreen with a screen config file, or Xvfb with --xvfb). Each scene is a fresh
process with private settings, a private job store and, for Teleop and the demo shots, a private
workspace, so nothing on this machine changes. Shots:
  browse.png          the demo workspace, a few curation decisions made (rated, flagged, trimmed)
  browse-lerobot.png  the real LeRobot v3.0 dataset from ../shared/data, opened from a private copy
                      (../shared is never written; skipped when absent)
  browse-light.png    the demo in the light theme
  browse-empty.png    no dataset yet: the empty state
  browse-problems.png the Problems tab on a private copy of the real LeRobot v3.0 dataset with a few
                      faults (tests/fault_injection.py; skipped when ../shared/data is absent)
  teleop.png          the virtual SO-101 arms of the demo connected, an episode recording (B pressed)
  convert.png         HDF5 -> LeRobot wizard on the demo recording: preview, kept/skipped episodes
  convert-values.png  the same preview, sample values before/after in both units
  convert-cosmos.png  the Cosmos post-training set wizard on the demo recording, at its preview
  jobs.png            finished, failed, running and waiting jobs: real `python -c` subprocesses run
                      through the `command` template, printing Hugging Face Trainer-style loss lines
  compare.png         demo episode 2 (A, LeIsaac HDF5) against its LeRobot conversion (B)
  compare-batch.png   the Batch tab: every converted episode ranked against its source
  demo-<pane>.png     `rollout-studio --demo --pane <pane>` as a user first sees it (a fresh demo
                      workspace, no decisions made), for teleop, browse, convert, jobs and compare
The demo workspace and its LeRobot conversion are made on first use (default:
.cache/screenshots-workspace, git-ignored). Browse shots go through `rollout-studio --screenshot`;
the others drive the panes through their public methods (`--scene NAME`, internal).
Prints a JSON list of what was written. Look at the PNGs after changing the window.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
REAL = REPO.parent / "shared" / "data" / "lerobot061_so101_v30_h264"
SIZES = ["1280x800", "1920x1080"]
DEMO_PANES = ["teleop", "browse", "convert", "jobs", "compare"]
TASK = "Pick up the orange and place it on the plate."

# scene -> the PNGs it writes (in order)
SCENES: dict[str, list[str]] = {
    "browse-problems": ["browse-problems"],
    "teleop": ["teleop"],
    "convert": ["convert", "convert-values"],
    "convert-cosmos": ["convert-cosmos"],
    "convert-replay": ["convert-replay"],
    "jobs": ["jobs"],
    "compare": ["compare", "compare-batch"],
}


# -- data -------------------------------------------------------------------------------------------
def seed_demo(workspace: Path, data_home: Path) -> Path:
    """Generate the demo data (first use) and make a few curation decisions to show."""
    os.environ["XDG_DATA_HOME"] = str(data_home)
    from app.gui_main import _demo_job
    from backend.curation import Curation, sidecar_path
    from backend.formats import open_dataset

    path = Path(_demo_job(str(workspace)))
    sidecar = sidecar_path(path)
    if sidecar.exists():
        sidecar.unlink()
    with open_dataset(path) as dataset:
        curation = Curation.load(path, dataset)
        curation.set(0, rating="good")
        curation.set(1, rating="good", note="smooth grasp")
        curation.set(2, trim_in=8, trim_out=100, flagged=True, note="idle start: trimmed")
        curation.set(3, rating="bad", excluded=True, note="orange dropped")
        curation.set(5, task="Pick up the orange and put it on the white plate.")
    return path


def private_copy(source: Path, folder: Path) -> Path:
    """A writable copy of a shared input: the GUI may write curation decisions beside what it opens, and
    decisions left beside the original (by an earlier run) must not show in the docs."""
    target = folder / source.name
    shutil.copytree(source, target)
    for path in [target, *target.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)  # copytree keeps the share's read-only modes
    return target


def converted_demo(workspace: Path, demo: Path) -> Path:
    """The demo recording converted to LeRobot v2.1 with the default options (made once, ~6 s)."""
    from backend.convert.hdf5_to_lerobot import Hdf5ToLerobotOptions, run

    out = workspace / "generated" / f"{demo.stem}_lerobot"
    if not (out / "meta" / "info.json").is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        run([demo], Hdf5ToLerobotOptions(out=out, task=TASK, overwrite=True))
    return out


# -- helpers used inside a scene process -------------------------------------------------------------
def wait_until(predicate: Callable[[], object], timeout: float, what: str) -> None:
    from PySide6.QtWidgets import QApplication

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        QApplication.processEvents()
        time.sleep(0.02)


def settle(seconds: float) -> None:
    from PySide6.QtWidgets import QApplication

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.02)


def signal_flag(signal) -> dict[str, bool]:
    flag = {"fired": False}
    signal.connect(lambda *_a: flag.__setitem__("fired", True))
    return flag


# -- scenes -----------------------------------------------------------------------------------------
def scene_teleop(window, snap, demo: Path, generated: Path) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    pane = window.pane("teleop")
    window.show_pane("teleop")
    pane.start_demo()
    wait_until(pane.start_button.isEnabled, 60, "the virtual arms to connect")
    settle(1.0)
    pane.setFocus()
    QTest.keyClick(pane, Qt.Key.Key_B)  # B: start recording (Teleop's own shortcut)
    wait_until(pane.success_button.isEnabled, 10, "the recording to start")
    settle(2.5)
    snap("teleop")


def scene_convert(window, snap, demo: Path, generated: Path) -> None:
    pane = window.pane("convert")
    window.show_pane("convert")
    wizard = pane.select("hdf5_to_lerobot")
    wizard.family.sources.setPaths([demo])
    wizard.frame.next_button.click()
    wizard.family.task.setText(TASK)
    wait_until(wizard.preview_ready, 30, "the conversion preview")
    settle(0.5)
    snap("convert")
    wizard.preview.tabs.setCurrentIndex(1)  # Values
    settle(0.3)
    snap("convert-values")


def scene_convert_cosmos(window, snap, demo: Path, generated: Path) -> None:
    pane = window.pane("convert")
    window.show_pane("convert")
    wizard = pane.select("cosmos_trainset")
    wizard.dataset.setPath(demo)
    wizard.frame.next_button.click()
    wait_until(wizard.preview_ready, 30, "the Cosmos preview")
    settle(0.5)
    snap("convert-cosmos")


def scene_convert_replay(window, snap, demo: Path, generated: Path) -> None:
    pane = window.pane("convert")
    window.show_pane("convert")
    wizard = pane.select("lerobot_to_hdf5")
    wizard.family.dataset.setPath(generated)
    wizard.family.template.setPath(demo)
    wizard.frame.next_button.click()
    wait_until(wizard.preview_ready, 60, "the replay preview")
    settle(0.5)
    snap("convert-replay")


TRAINER = r"""
import sys, time
steps, delay, code = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
print("***** Running training *****", flush=True)
print(f"  Total optimization steps = {steps}", flush=True)
for step in range(1, steps + 1):
    sys.stdout.write(f"\r{100*step//steps:3d}%|{'#'*(10*step//steps):10s}| {step}/{steps} [00:0{step%10}<00:10,  9.50it/s]")
    if step % 5 == 0:
        loss = 1.4 * 0.93 ** step + 0.05 + 0.02 * ((step * 7) % 5) / 5
        sys.stdout.write(f"\n{{'loss': {loss:.4f}, 'grad_norm': {1.5 + 0.1 * (step % 3):.2f}, 'learning_rate': {1e-4 * (1 - step / steps):.2e}, 'epoch': {step / steps:.2f}}}\n")
    sys.stdout.flush()
    if code and step == steps // 2:
        print("\nTraceback (most recent call last):", flush=True)
        print('  File "train.py", line 88, in <module>', flush=True)
        print("RuntimeError: CUDA out of memory (a stand-in error: this job exits 1 on purpose)", flush=True)
        sys.exit(code)
    time.sleep(delay)
print(f"\n{{'train_runtime': {steps * delay:.1f}, 'train_loss': 0.12, 'epoch': 1.0}}", flush=True)
"""


def scene_jobs(window, snap, demo: Path, generated: Path) -> None:
    from backend.jobs import service
    from backend.jobs.store import JobStore

    store = JobStore(window.context.jobs_db)
    py = sys.executable

    def trainer(steps: int, delay: float, code: int = 0) -> dict:
        return {"args": [py, "-c", TRAINER, str(steps), str(delay), str(code)], "total": float(steps)}

    cwd = str(window.context.workspace)
    done = service.submit(store, "command", trainer(60, 0.01), name="train (finished)", submit_cwd=cwd)
    failed = service.submit(store, "command", trainer(40, 0.01, 1), name="train (fails)", submit_cwd=cwd)
    running = service.submit(store, "command", trainer(400, 0.1), name="train (running)", submit_cwd=cwd)
    waiting = service.submit(
        store,
        "command",
        {"args": [py, "-c", "print('evaluated')"]},
        name="evaluate (waits)",
        after=[running],
        submit_cwd=cwd,
    )
    try:
        service.wait(store, done, timeout=30)
        service.wait(store, failed, timeout=30)
        pane = window.pane("jobs")
        window.show_pane("jobs")
        wait_until(lambda: pane.model.job(running) is not None, 10, "the jobs in the table")
        wait_until(lambda: (store.get(running).progress_done or 0) >= 40, 30, "the running job's progress")
        pane.select_job(running)
        settle(1.5)
        snap("jobs")
    finally:
        for job_id in (waiting, running):
            service.cancel(store, job_id)
        for job_id in (waiting, running):
            service.wait(store, job_id, timeout=15)


def scene_compare(window, snap, demo: Path, generated: Path) -> None:
    pane = window.pane("compare")
    window.show_pane("compare")
    ready = signal_flag(pane.comparisonReady)
    pane.open_pair(str(demo), 2, str(generated), 2)
    wait_until(lambda: ready["fired"], 40, "the comparison")
    pane.set_time(1.6)
    settle(1.5)
    snap("compare")
    batch = signal_flag(pane.batchReady)
    pane.run_batch(str(demo), str(generated))
    wait_until(lambda: batch["fired"], 60, "the batch comparison")
    settle(0.5)
    snap("compare-batch")


def faulty_copy(folder: Path) -> Path:
    """A private copy of the real LeRobot v3.0 dataset with a few faults for the Problems tab: episode 1's
    frame_index skips frame 31, a write's staging file left behind, a file the layout does not name."""
    sys.path.insert(0, str(REPO / "tests"))  # the fault injectors (and their stats helper) are test code
    from tests.fault_injection import copy_dataset, lerobot_index_gap

    root = copy_dataset(REAL, folder / "so101_pick_orange")
    for path in [root, *root.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)  # copytree keeps the share's read-only modes
    lerobot_index_gap(root, episode=1, frame=31)
    data = sorted((root / "data").rglob("*.parquet"))[0]
    (data.parent / f".{data.name}.partial-999999").write_bytes(b"")
    (root / "videos" / "notes.txt").write_text("camera notes\n", encoding="utf-8")
    return root


def scene_browse_problems(window, snap, demo: Path, generated: Path) -> None:
    browse = window.browse
    checked = signal_flag(browse.problems.checked)
    window.open_dataset(os.environ["RS_SCENE_DATASET"], 1, 31)
    wait_until(lambda: checked["fired"], 60, "the dataset doctor")
    browse.problems.dock.raise_()
    view = browse.problems.view
    row = next(r for r, f in enumerate(view.findings()) if f.problem.code == "frame_index")
    view.table.selectRow(row)
    settle(1.5)
    snap("browse-problems")


SCENE_FUNCTIONS = {
    "browse-problems": scene_browse_problems,
    "teleop": scene_teleop,
    "convert": scene_convert,
    "convert-cosmos": scene_convert_cosmos,
    "convert-replay": scene_convert_replay,
    "jobs": scene_jobs,
    "compare": scene_compare,
}


def run_scene(
    name: str,
    out: Path,
    wanted: set[str],
    workspace: Path,
    demo: Path,
    generated: Path,
    size: tuple[int, int],
) -> int:
    """In this process: the window like `rollout-studio --demo`, the scene driven, PNGs saved."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from app.settings import APPLICATION, ORGANIZATION, make_settings
    from app.theme import apply_theme

    QApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    app = QApplication([sys.argv[0]])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    settings = make_settings()
    apply_theme(app, "dark")

    from app.context import AppContext
    from app.main_window import MainWindow

    context = AppContext(settings, workspace.absolute())
    window = MainWindow(context)
    window.set_workspace(workspace)
    window.resize(*size)
    window.show()
    # the status bar shows the dataset as in every other shot
    browse = window.browse
    shown = signal_flag(browse.firstFrameShown)
    window.open_dataset(str(demo), 2, 48)
    wait_until(lambda: shown["fired"], 30, "the demo dataset in Browse")

    def snap(shot: str) -> None:
        if shot not in wanted:
            return
        settle(0.2)
        target = out / f"{shot}.png"
        if not window.grab().save(str(target)):
            raise OSError(f"cannot write {target}")
        print(f"screenshot saved: {target}", file=sys.stderr, flush=True)

    code = 0
    try:
        SCENE_FUNCTIONS[name](window, snap, demo, generated)
    except Exception:  # noqa: BLE001 - reported to the parent, which lists the shot as failed
        import traceback

        traceback.print_exc()
        code = 1
    window.close()  # panes stop their work (Teleop's virtual arms, Jobs' tails)
    settle(0.3)
    return code


# -- driver -----------------------------------------------------------------------------------------
def parse_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size WxH, e.g. 1280x800") from None
    if width < 320 or height < 240:
        raise argparse.ArgumentTypeError(f"{text} is too small for the window")
    return width, height


def screen_env(env: dict[str, str], size: tuple[int, int], folder: Path, xvfb: bool) -> dict[str, str]:
    """The environment of a run on a screen of ``size``: offscreen with a screen config file (Qt's
    offscreen screen is 800x800 otherwise), or Xvfb's own screen."""
    env = dict(env)
    if xvfb:
        env.pop("QT_QPA_PLATFORM", None)
        return env
    config = folder / f"screen-{size[0]}x{size[1]}.json"
    screen = {"name": "shots", "x": 0, "y": 0, "width": size[0], "height": size[1]}
    screen.update({"logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1})
    config.write_text(json.dumps({"screens": [screen]}), encoding="utf-8")
    env["QT_QPA_PLATFORM"] = f"offscreen:configfile={config}"
    return env


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's header (IHDR)."""
    header = path.read_bytes()[16:24]
    return int.from_bytes(header[:4], "big"), int.from_bytes(header[4:], "big")


def run(
    command: list[str], names: list[str], out: Path, env: dict[str, str], xvfb: bool, size: tuple[int, int]
) -> list[dict]:
    if xvfb:
        command = ["xvfb-run", "-a", "-s", f"-screen 0 {size[0]}x{size[1]}x24", *command]
    started = time.monotonic()
    try:
        result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
        code, stderr = result.returncode, result.stderr
    except subprocess.TimeoutExpired as error:
        code, stderr = -1, f"{error.stderr or ''}\ntimed out after 300 s"
        stderr = stderr if isinstance(stderr, str) else stderr.decode(errors="replace")
    seconds = round(time.monotonic() - started, 1)
    entries = []
    for name in names:
        target = out / f"{name}.png"
        entry = {
            "file": str(target.relative_to(REPO) if target.is_relative_to(REPO) else target),
            "ok": code == 0 and target.is_file() and target.stat().st_mtime >= time.time() - seconds - 1,
            "seconds": seconds,
        }
        if not entry["ok"]:
            entry["exit"] = code
            entry["error"] = stderr.strip().splitlines()[-6:]
        if entry["ok"] and png_size(target) != size:
            got = png_size(target)
            entry["note"] = (
                f"the window is {got[0]}x{got[1]}, not {size[0]}x{size[1]}: its minimum size is larger"
            )
        if "did not close" in stderr:
            entry["note"] = "the window did not close in time (a pane kept running)"
        entries.append(entry)
    return entries


def fresh_demo_workspace(source: Path, folder: Path) -> Path:
    """A demo workspace as a user first sees it: the generated demo data (copied from ``source``, which
    has it already) without any curation decisions, jobs or recordings."""
    target = folder / "RolloutStudio-demo"
    demo = Path((source / ".demo-dataset").read_text(encoding="utf-8").strip())
    for name in ("datasets", "demo-media"):
        if (source / name).is_dir():
            shutil.copytree(source / name, target / name, dirs_exist_ok=True)
    copied = target / demo.relative_to(source)
    from backend.curation import fallback_sidecar, preferred_sidecar

    for sidecar in (preferred_sidecar(copied), fallback_sidecar(copied)):
        sidecar.unlink(missing_ok=True)
    (target / ".demo-dataset").write_text(str(copied), encoding="utf-8")
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "docs" / "screenshots"))
    parser.add_argument("--only", help="comma-separated shot names (without .png), e.g. jobs,compare")
    parser.add_argument(
        "--size",
        action="append",
        type=parse_size,
        help=f"window and screen size WxH (repeat for several; default: {' and '.join(SIZES)})",
    )
    parser.add_argument("--workspace", default=str(REPO / ".cache" / "screenshots-workspace"))
    parser.add_argument("--xvfb", action="store_true", help="render under xvfb-run instead of offscreen")
    parser.add_argument("--list", action="store_true", help="print the shot names and exit")
    parser.add_argument("--scene", help=argparse.SUPPRESS)  # internal: run one scene in this process
    args = parser.parse_args()
    out = Path(args.out).absolute()
    workspace = Path(args.workspace).absolute()
    sizes = args.size or [parse_size(text) for text in SIZES]

    if args.scene:
        wanted = set(args.only.split(",")) if args.only else set(SCENES[args.scene])
        demo = Path((workspace / ".demo-dataset").read_text(encoding="utf-8").strip())
        generated = workspace / "generated" / f"{demo.stem}_lerobot"
        scene_workspace = Path(os.environ.get("RS_SCENE_WORKSPACE", workspace))
        return run_scene(args.scene, out, wanted, scene_workspace, demo, generated, sizes[0])

    browse_shots = ["browse", "browse-light", "browse-empty"] + (["browse-lerobot"] if REAL.is_dir() else [])
    demo_shots = [f"demo-{key}" for key in DEMO_PANES]
    scenes = {k: v for k, v in SCENES.items() if k != "browse-problems" or REAL.is_dir()}
    every = browse_shots + [shot for shots in scenes.values() for shot in shots] + demo_shots
    if args.list:
        print("\n".join(every))
        return 0
    wanted = set(args.only.split(",")) if args.only else set(every)
    unknown = wanted - set(every) - ({"browse-lerobot", "browse-problems"} if not REAL.is_dir() else set())
    if unknown:
        parser.error(f"unknown shot(s): {', '.join(sorted(unknown))} (see --list)")
    if not REAL.is_dir():
        print(f"note: browse-lerobot and browse-problems skipped ({REAL} is absent)", file=sys.stderr)
    if args.xvfb and not shutil.which("xvfb-run"):
        parser.error("--xvfb needs xvfb-run (apt install xvfb)")

    tmp = Path(tempfile.mkdtemp(prefix="rs-screenshots-"))
    data_home = tmp / "data-home"
    demo = seed_demo(workspace, data_home)
    if wanted & {"compare", "compare-batch", "convert-replay"}:
        converted_demo(workspace, demo)
    env = dict(os.environ)
    env.update(
        {
            "ROLLOUT_STUDIO_SETTINGS": str(tmp / "settings.ini"),
            "XDG_DATA_HOME": str(data_home),
            "SVT_LOG": "1",
            # a private job store: the Jobs shot never touches the user's jobs
            "ROLLOUT_STUDIO_HOME": str(tmp / "studio-home"),
            "ROLLOUT_STUDIO_SUPERVISOR_ARGS": "--poll 0.1 --idle-exit 3",
        }
    )
    env.pop("ROLLOUT_STUDIO_JOBS_DB", None)
    results: list[dict] = []
    try:
        demo_args = ["--demo", "--workspace", str(workspace)]
        real = private_copy(REAL, tmp / "real") if "browse-lerobot" in wanted and REAL.is_dir() else REAL
        faulty = faulty_copy(tmp / "faulty") if "browse-problems" in wanted and REAL.is_dir() else None
        app_runs: dict[str, list[str]] = {
            "browse": [*demo_args, "--episode", "2", "--frame", "48"],
            "browse-light": [*demo_args, "--theme", "light", "--episode", "1", "--frame", "60"],
            "browse-empty": ["--workspace", str(tmp / "empty-ws"), "--pane", "browse"],
            "browse-lerobot": [str(real), "--workspace", str(workspace), "--episode", "1", "--frame", "30"],
        }
        # the demo shots wait a few seconds more: the virtual arms connect, the pair loads
        for key in DEMO_PANES:
            app_runs[f"demo-{key}"] = ["--demo", "--pane", key, "--settle", "4000"]
        for name in browse_shots:  # the timeline's thumbnails are in on a busy machine too
            app_runs[name] += ["--settle", "1500"]
        for size in sizes:
            folder = out / f"{size[0]}x{size[1]}"
            folder.mkdir(parents=True, exist_ok=True)
            size_env = screen_env(env, size, tmp, args.xvfb)
            for name in [*browse_shots, *demo_shots]:
                if name not in wanted:
                    continue
                (tmp / "settings.ini").unlink(missing_ok=True)  # each shot starts from the same settings
                shot_env = dict(size_env)
                extra: list[str] = []
                if name.startswith("demo-"):  # a fresh demo workspace and job store each time
                    fresh = tmp / "fresh"
                    shutil.rmtree(fresh, ignore_errors=True)
                    extra = ["--workspace", str(fresh_demo_workspace(workspace, fresh))]
                    shot_env["ROLLOUT_STUDIO_HOME"] = str(fresh / "studio-home")
                    shot_env["XDG_DATA_HOME"] = str(fresh / "data-home")
                command = [
                    sys.executable,
                    "-m",
                    "app.entry",
                    *app_runs[name],
                    *extra,
                    "--size",
                    f"{size[0]}x{size[1]}",
                    "--screenshot",
                    str(folder / f"{name}.png"),
                ]
                results += run(command, [name], folder, shot_env, args.xvfb, size)
            for scene, shots in scenes.items():
                names = [s for s in shots if s in wanted]
                if not names:
                    continue
                (tmp / "settings.ini").unlink(missing_ok=True)
                scene_env = dict(size_env)
                if scene == "teleop":  # recordings go to a throw-away workspace, demo videos are reused
                    scene_ws = tmp / "teleop" / workspace.name
                    shutil.rmtree(scene_ws, ignore_errors=True)
                    media = workspace / "demo-media"
                    if media.is_dir():
                        shutil.copytree(media, scene_ws / "demo-media", dirs_exist_ok=True)
                    scene_env["RS_SCENE_WORKSPACE"] = str(scene_ws)
                if faulty is not None:
                    scene_env["RS_SCENE_DATASET"] = str(faulty)
                command = [
                    sys.executable,
                    str(Path(__file__).resolve()),
                    "--scene",
                    scene,
                    "--only",
                    ",".join(names),
                    "--out",
                    str(folder),
                    "--workspace",
                    str(workspace),
                    "--size",
                    f"{size[0]}x{size[1]}",
                ]
                results += run(command, names, folder, scene_env, args.xvfb, size)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(results, indent=1))
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
