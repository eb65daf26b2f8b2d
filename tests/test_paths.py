"""Every CLI command that takes a path reads and writes the same files whatever the spelling: absolute,
relative to the working folder, ``~/...``, in folders with spaces and non-ASCII names. A missing
input is "no such file", never "corrupt"; a file of the same relative name elsewhere (the camera
processes' working folder) is never read instead. Real subprocesses, tiny data (64x48 frames).

Each command runs three times, each time on its own copy of the same data:
  absolute  an ASCII folder spelled absolute (the reference);
  relative  ``ü/NAME`` from the folder ``données démo`` (relative + spaces + non-ASCII);
  tilde     ``~/données démo/ü/NAME`` with HOME set to a temporary folder, run from elsewhere.
Outputs are compared with the folder replaced by ``<BASE>`` and run times taken out.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.convert import camera_worker
from backend.convert import hdf5_to_lerobot as h2l
from backend.convert.camera_worker import CameraWorkers, EncodeJob, VideoSettings, WorkerError
from backend.formats import open_dataset
from backend.paths import user_path
from tests import cli_zygote
from tests.cosmos_data import StandinSample, write_standin_outputs
from tests.recordings import DemoSpec, RecordingSpec, write_recording

REPO = Path(__file__).resolve().parents[1]
TASK = "Pick up the orange and place it on the plate."
SUB = "données démo"  # the folder the relative spelling runs from / lies below ~
LEAF = "ü"
# numbers that differ from run to run (durations, speeds, dates)
VOLATILE_KEYS = {"seconds", "frames_per_second", "elapsed_s", "created", "created_at", "finalize_s"}


@dataclass
class Variant:
    name: str
    base: Path  # where this variant's copy of the data lies
    cwd: Path  # where the command runs
    home: Path  # HOME for the command

    def spell(self, relative: str) -> str:
        if self.name == "absolute":
            return str(self.base / relative)
        if self.name == "relative":
            return f"{LEAF}/{relative}"
        return f"~/{SUB}/{LEAF}/{relative}"


class P:
    """A path argument: spelled by the variant. ``suffix`` follows it verbatim (``:EPISODE``, ``=TEXT``)."""

    def __init__(self, relative: str, suffix: str = "") -> None:
        self.relative, self.suffix = relative, suffix


def cli(args: list[str], cwd: Path, home: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO), HOME=str(home))
    return cli_zygote.run(args, cwd=cwd, env=env, timeout=timeout)  # a process of its own, forked


def run(variant: Variant, args: list[str | P]) -> subprocess.CompletedProcess:
    spelled = [f"{variant.spell(a.relative)}{a.suffix}" if isinstance(a, P) else a for a in args]
    return cli(spelled, variant.cwd, variant.home)


def one_error(proc: subprocess.CompletedProcess, *needles: str, code: int = 2) -> str:
    """Exactly one ``error:`` line on stderr mentioning every needle; no traceback."""
    assert proc.returncode == code, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])
    return errors[0]


# -- data ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("paths")


@pytest.fixture(scope="module")
def master(work: Path) -> Path:
    """rec.hdf5 (demo_1 failed), ds21 / ds30 made from it, ds21c for curation, cosmos stand-ins."""
    root = work / "master"
    root.mkdir()
    # one camera: every camera takes the same path through the code, and each costs a process
    spec = RecordingSpec(
        [DemoSpec(30), DemoSpec(24, success=False), DemoSpec(32), DemoSpec(28)], cameras=("front",)
    )
    rec = write_recording(root / "rec.hdf5", spec)
    h2l.run([rec], h2l.Hdf5ToLerobotOptions(out=root / "ds21", task=TASK))
    h2l.run([rec], h2l.Hdf5ToLerobotOptions(out=root / "ds30", task=TASK, format="v3.0"))
    shutil.copytree(root / "ds21", root / "ds21c")
    samples = [StandinSample(f"ds21_episode_{e:06d}", e, 96, prompt=f"A robot arm. {TASK}") for e in range(2)]
    write_standin_outputs(root / "ds21", root / "cosmos", samples)
    return root


@pytest.fixture(scope="module")
def variants(work: Path, master: Path) -> dict[str, Variant]:
    found = {}
    for name, base, cwd, home in (
        ("absolute", work / "abs" / "data", work / "abs" / "elsewhere", work / "abs" / "home"),
        ("relative", work / "rel" / SUB / LEAF, work / "rel" / SUB, work / "rel" / "home"),
        ("tilde", work / "tilde home" / SUB / LEAF, work / "tilde cwd", work / "tilde home"),
    ):
        shutil.copytree(master, base)
        (base / "out").mkdir()
        cwd.mkdir(parents=True, exist_ok=True)
        home.mkdir(parents=True, exist_ok=True)
        found[name] = Variant(name, base, cwd, home)
    return found


# -- comparing -------------------------------------------------------------------------------------
def _scrub(value: Any, base: str) -> Any:
    if isinstance(value, dict):
        return {_scrub(k, base): _scrub(v, base) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [_scrub(v, base) for v in value]
    if isinstance(value, str):
        return value.replace(base, "<BASE>")
    return value


def normal(text: str, variant: Variant) -> Any:
    """Output with the variant's folder as ``<BASE>`` and durations dropped (JSON parsed when it is)."""
    try:
        return _scrub(json.loads(text), str(variant.base))
    except ValueError:
        text = text.replace(str(variant.base), "<BASE>")
        return re.sub(r"\d+(\.\d+)? ?(s|ms|fps)\b", "<N>", text)


def dataset_digest(path: Path) -> dict[str, Any]:
    """What a dataset holds, read in this process: format, episodes, lengths, tasks, actions."""
    with open_dataset(path) as dataset:
        episodes = []
        for episode in dataset.episodes:
            action = np.asarray(episode.array(dataset.key_for("action")), dtype=np.float64)
            episodes.append((episode.index, episode.length, episode.task, round(float(action.sum()), 4)))
        return {"format": dataset.format.value, "cameras": sorted(dataset.cameras), "episodes": episodes}


def outputs(variant: Variant) -> dict[str, Any]:
    """Everything the command wrote under the variant's out/ (datasets digested, other files listed)."""
    found: dict[str, Any] = {}
    for entry in sorted((variant.base / "out").iterdir()):
        if entry.name.startswith(".") or entry.name.endswith(".curation.json"):
            continue
        try:
            found[entry.name] = dataset_digest(entry)
        except Exception:  # noqa: BLE001 - not a dataset: its file names
            files = [entry] if entry.is_file() else sorted(p for p in entry.rglob("*") if p.is_file())
            found[entry.name] = [str(p.relative_to(variant.base)) for p in files]
    return found


def clear_outputs(variant: Variant) -> None:
    shutil.rmtree(variant.base / "out")
    (variant.base / "out").mkdir()


# -- every command, every spelling -----------------------------------------------------------------
# fmt: off
COMMANDS: dict[str, list[list[str | P]]] = {
    "inspect": [["inspect", P("rec.hdf5"), "--json"]],
    "validate": [["validate", P("ds21"), "--json"]],
    "convert hdf5-to-lerobot": [
        ["convert", "hdf5-to-lerobot", P("rec.hdf5"), "--out", P("out/h2l"), "--task", TASK, "--plan"],
        [
            "convert", "hdf5-to-lerobot", P("rec.hdf5"), "--out", P("out/h2l"), "--task", TASK,
            "--task-for", P("rec.hdf5", suffix="=Put the orange down."), "--json", "--quiet",
        ],
    ],
    "convert lerobot-to-hdf5": [
        [
            "convert", "lerobot-to-hdf5", P("ds21"), "--template", P("rec.hdf5"), "--out", P("out/l.hdf5"),
            "--json", "--quiet",
        ],
    ],
    "convert lerobot-v3-to-v2": [
        ["convert", "lerobot-v3-to-v2", P("ds30"), "--out", P("out/v2"), "--json", "--quiet"]
    ],
    "convert lerobot-v2-to-v3": [
        ["convert", "lerobot-v2-to-v3", P("ds21"), "--out", P("out/v3"), "--json", "--quiet"]
    ],
    "convert transcode": [
        ["convert", "transcode", P("ds21"), "--out", P("out/tc"), "--force", "--json", "--quiet"]
    ],
    "cosmos trainset": [
        ["cosmos", "trainset", P("ds21"), "--out", P("out/trainset"), "--keep-short", "--json"]
    ],
    "cosmos batch": [["cosmos", "batch", P("ds21"), "--out", P("out/batch.jsonl"), "--json"]],
    "idm prepare": [
        [
            "idm", "prepare", P("cosmos"), "--out", P("out/so101.generated"), "--source-dataset", P("ds21"),
            "--min-frames", "10", "--json",
        ]
    ],
    "idm kit": [["idm", "kit", P("ds21"), "--out", P("out/kit"), "--json"]],
    "curate set show export": [
        ["curate", "set", P("ds21c"), "1", "--rating", "bad", "--exclude"],
        ["curate", "show", P("ds21c"), "--json"],
        ["curate", "export", P("ds21c"), "--out", P("out/curated"), "--quiet"],
    ],
    "compare": [
        [
            "compare", P("rec.hdf5"), P("ds21"), "--json", "--quiet", "--no-dtw", "--report", P("out/report")
        ],
        ["compare", P("ds21", suffix=":1"), P("ds30", suffix=":1"), "--json", "--no-dtw"],
    ],
}

# fmt: on

KEPT = [(0, 25, TASK), (1, 27, TASK), (2, 23, TASK)]  # demos 0, 2, 3 less the 5 skipped frames


def _episodes(digest: dict[str, Any]) -> list[tuple[int, int, str]]:
    return [(index, length, task) for index, length, task, _ in digest["episodes"]]


# what the reference (absolute) run must have produced: the spellings are compared with it
EXPECTED: dict[str, Callable[[dict[str, Any]], None]] = {
    "inspect": lambda r: _check(r["runs"][0][1]["num_episodes"] == 4, r),
    "validate": lambda r: _check(r["runs"][0][1]["ok"] is True, r),
    "convert hdf5-to-lerobot": lambda r: _check(
        not r["runs"][0][1]["errors"]
        and r["runs"][0][1]["summary"]["episodes_kept"] == 3
        and _episodes(r["outputs"]["h2l"]) == [(i, n, "Put the orange down.") for i, n, _ in KEPT],
        r,
    ),
    "convert lerobot-to-hdf5": lambda r: _check(
        [e[:2] for e in r["outputs"]["l.hdf5"]["episodes"]] == [(0, 25), (1, 27), (2, 23)], r
    ),
    "convert lerobot-v3-to-v2": lambda r: _check(_episodes(r["outputs"]["v2"]) == KEPT, r),
    "convert lerobot-v2-to-v3": lambda r: _check(_episodes(r["outputs"]["v3"]) == KEPT, r),
    "convert transcode": lambda r: _check(_episodes(r["outputs"]["tc"]) == KEPT, r),
    "cosmos trainset": lambda r: _check(len(r["runs"][0][1]["written"]) == 3, r),
    "cosmos batch": lambda r: _check(r["runs"][0][1]["samples"] == 3, r),
    "idm prepare": lambda r: _check(len(r["runs"][0][1]["episodes"]) == 2, r),
    "idm kit": lambda r: _check("modality.json" in " ".join(r["outputs"]["kit"]), r),
    "curate set show export": lambda r: _check(
        [e[:2] for e in r["outputs"]["curated"]["episodes"]] == [(0, 25), (1, 23)], r
    ),
    "compare": lambda r: _check(
        len(r["runs"][0][1]["rows"]) == 3 and "report.html" in " ".join(r["outputs"]["report"]), r
    ),
}


def _check(ok: bool, result: dict[str, Any]) -> None:
    assert ok, json.dumps(result, indent=1, default=str)[:4000]


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_spelling_gives_the_same_result(command: str, variants: dict[str, Variant]) -> None:
    def spelled(variant: Variant) -> dict[str, Any]:
        """The command's runs in this spelling, one after the other; their exit codes and outputs."""
        clear_outputs(variant)
        runs = []
        for args in COMMANDS[command]:
            proc = run(variant, args)
            assert "Traceback" not in proc.stderr, (variant.name, proc.stderr)
            assert proc.returncode == 0, (variant.name, args, proc.stderr[-3000:])
            runs.append((proc.returncode, normal(proc.stdout, variant)))
        return {"runs": runs, "outputs": outputs(variant)}

    # the spellings use separate copies of the data: they run side by side (wall time on 2 cores)
    with ThreadPoolExecutor(len(variants)) as pool:
        futures = {name: pool.submit(spelled, variant) for name, variant in variants.items()}
        results = {name: future.result() for name, future in futures.items()}
    EXPECTED[command](results["absolute"])
    assert results["relative"] == results["absolute"]
    assert results["tilde"] == results["absolute"]


# -- "no such file", never "corrupt" -----------------------------------------------------------------
# fmt: off
MISSING: dict[str, list[str]] = {
    "inspect": ["inspect", "ü/nope.hdf5"],
    "validate": ["validate", "ü/nope.hdf5"],
    "convert hdf5-to-lerobot": ["convert", "hdf5-to-lerobot", "ü/nope.hdf5", "--out", "o", "--task", "t"],
    "convert lerobot-to-hdf5": [
        "convert", "lerobot-to-hdf5", "ü/ds21", "--template", "ü/nope.hdf5", "--out", "o.hdf5"
    ],
    "cosmos batch": ["cosmos", "batch", "ü/nope", "--out", "b.jsonl"],
    "idm prepare": ["idm", "prepare", "ü/nope", "--out", "so101.x"],
    "curate show": ["curate", "show", "ü/nope.hdf5"],
    "compare": ["compare", "ü/rec.hdf5", "ü/nope.hdf5"],
}
# fmt: on


@pytest.mark.parametrize("command", list(MISSING))
def test_a_missing_input_is_not_found_not_corrupt(command: str, variants: dict[str, Variant]) -> None:
    variant = variants["relative"]
    proc = cli(MISSING[command], variant.cwd, variant.home)
    line = one_error(proc, str(variant.base / "nope"))
    assert "no such file" in line or "not found" in line, line
    assert "corrupt" not in line and "h5clear" not in line and "unknown" not in line, line
    assert not [p for p in variant.cwd.iterdir() if p.name.startswith(("o", "b.jsonl", "so101"))]


def test_what_is_wrong_with_an_unreadable_hdf5_is_said(variants: dict[str, Variant]) -> None:
    variant = variants["relative"]
    folder = variant.base / "bad"
    folder.mkdir(exist_ok=True)
    (folder / "text.hdf5").write_text("not hdf5 at all\n")
    data = (variant.base / "rec.hdf5").read_bytes()
    (folder / "cut.hdf5").write_bytes(data[: len(data) // 3])
    (folder / "dir.hdf5").mkdir(exist_ok=True)
    line = one_error(cli(["inspect", "ü/bad/text.hdf5"], variant.cwd, variant.home), "not an HDF5 file")
    assert "corrupt" not in line
    convert = ["convert", "hdf5-to-lerobot", "--out", "o", "--task", "t"]
    one_error(
        cli([*convert, "ü/bad/cut.hdf5"], variant.cwd, variant.home), "cut.hdf5", "truncated or corrupt"
    )
    line = one_error(cli([*convert, "ü/bad/dir.hdf5"], variant.cwd, variant.home), "dir.hdf5")
    assert "corrupt" not in line


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_an_unreadable_input_is_permission_denied(variants: dict[str, Variant]) -> None:
    variant = variants["relative"]
    locked = variant.base / "locked.hdf5"
    shutil.copy(variant.base / "rec.hdf5", locked)
    locked.chmod(0)
    try:
        line = one_error(cli(["inspect", "ü/locked.hdf5"], variant.cwd, variant.home), "permission denied")
        assert "corrupt" not in line
    finally:
        locked.chmod(0o644)


def test_open_errors_in_the_users_words(tmp_path: Path) -> None:
    from backend.paths import file_problem, folder_problem, os_error_problem

    (tmp_path / "file").write_text("x")
    (tmp_path / "folder").mkdir()
    assert file_problem(tmp_path / "file") is None and folder_problem(tmp_path / "folder") is None
    assert file_problem(tmp_path / "nope").problem == "no such file or folder"
    assert file_problem(tmp_path / "file" / "below").problem == "no such file or folder"
    assert file_problem(tmp_path / "folder").problem == "is a folder, not a file"
    assert folder_problem(tmp_path / "file").problem == "is a file, not a folder"
    assert folder_problem(tmp_path / "nope").problem == "no such file or folder"
    denied = os_error_problem(PermissionError(13, "Permission denied"), tmp_path / "file")
    assert denied.message.startswith(f"{tmp_path / 'file'}: permission denied")


def test_user_path_expands_home_and_keeps_the_spelling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "hôme"))
    monkeypatch.chdir(tmp_path)
    assert user_path("~/a b/ü.hdf5") == tmp_path / "hôme" / "a b" / "ü.hdf5"
    assert user_path("x/../y.hdf5") == Path(f"{tmp_path}/x/../y.hdf5")  # no folding: the OS decides
    assert user_path("./y") == tmp_path / "y" and user_path("/abs/z") == Path("/abs/z")
    with pytest.raises(ValueError, match="empty"):
        user_path("")


_NAMES = st.text(st.characters(codec="utf-8", exclude_characters="/\x00"), min_size=1, max_size=12)


@given(parts=st.lists(_NAMES, min_size=1, max_size=4))
def test_user_path_is_absolute_idempotent_and_joins_the_working_folder(parts: list[str]) -> None:
    relative = "/".join(parts)
    made = user_path(relative)
    assert made.is_absolute() and user_path(made) == made and user_path(str(made)) == made
    if not relative.startswith("~"):
        assert made == Path.cwd() / relative


# -- the camera processes: absolute paths only -------------------------------------------------------
def _black_copy(source: Path, target: Path) -> None:
    """``source`` with every camera frame black: same shapes, so only the pixels tell them apart."""
    shutil.copy(source, target)
    with h5py.File(target, "a") as handle:
        for demo in handle["data"].values():
            demo["obs"]["front"][...] = 0


def test_a_file_of_the_same_relative_name_elsewhere_is_not_read(work: Path, master: Path) -> None:
    """The camera processes work in ``WORKER_CWD``: a decoy there under the relative name the user gave
    (black frames, same shapes) must not end up in the videos."""
    decoy_dir = Path(tempfile.mkdtemp(prefix="rs-decoy-"))
    try:
        relative = decoy_dir.relative_to(camera_worker.WORKER_CWD) / "rec.hdf5"
        _black_copy(master / "rec.hdf5", decoy_dir / "rec.hdf5")
        cwd = work / "decoy cwd"
        (cwd / relative.parent).mkdir(parents=True)
        shutil.copy(master / "rec.hdf5", cwd / relative)
        args = ["convert", "hdf5-to-lerobot", str(relative), "--out", "out", "--task", TASK, "--quiet"]
        proc = cli(args, cwd, work)
        assert proc.returncode == 0, proc.stderr
    finally:
        shutil.rmtree(decoy_dir)
    with open_dataset(cwd / "out") as out, open_dataset(master / "rec.hdf5") as source:
        assert out.num_episodes == 3
        got, want = out.episode(0).stream("front"), source.episode(0).stream("front")
        try:  # output frame 0 is source frame 5 (5 skipped); lossy, so means within a few levels
            assert abs(float(got.frame(0).mean()) - float(want.frame(5).mean())) < 4
            assert float(got.frame(0).mean()) > 20  # not the decoy's black
        finally:
            got.close()
            want.close()


def test_the_camera_process_refuses_a_relative_path() -> None:
    """A relative path reaching the child is a bug upstream: it says so instead of guessing a file."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    job = {
        "source": "rec.hdf5",
        "dataset": "data/demo_0/obs/front",
        "start": 0,
        "stop": 5,
        "out": "/tmp/x.mp4",
    }
    video = {
        "width": 64,
        "height": 48,
        "fps": 30.0,
        "codec": "h264",
        "crf": None,
        "gop": None,
        "preset": None,
        "threads": 1,
        "image_stats": False,
    }
    proc = subprocess.run(
        [sys.executable, "-P", "-m", "backend.convert.camera_worker"],
        input=json.dumps({**job, "video": video, "task": 0}) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=camera_worker.WORKER_CWD,
        env=env,
    )
    assert proc.returncode == 1, proc.stderr
    message = json.loads(proc.stdout.splitlines()[0])
    assert message == {"error": "rec.hdf5: not an absolute path (camera process)", "task": 0}


def test_camera_jobs_are_made_absolute_and_a_missing_file_is_not_found(
    tmp_path: Path, master: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(master / "rec.hdf5", tmp_path / "rec.hdf5")
    monkeypatch.chdir(tmp_path)
    settings = VideoSettings(width=64, height=48, fps=30.0, threads=1, image_stats=False)
    jobs = [
        EncodeJob(
            "rec.hdf5", "data/demo_0/obs/front", 5, 30, "videos/e0.mp4"
        ),  # relative: the parent's folder
        EncodeJob(str(tmp_path / "gone.hdf5"), "data/demo_0/obs/front", 0, 30, str(tmp_path / "e1.mp4")),
    ]
    with CameraWorkers(["front"]) as workers:
        workers.submit({"front": jobs}, {"front": settings})
        assert workers.wait(0, lambda: None)["front"].frames == 25
        with pytest.raises(WorkerError) as failed:
            workers.wait(1, lambda: None)
    assert (tmp_path / "videos" / "e0.mp4").stat().st_size > 0
    assert "gone.hdf5: no such file or folder" in str(failed.value), str(failed.value)
    assert "corrupt" not in str(failed.value)


# -- record and jobs -------------------------------------------------------------------------------
def test_record_writes_where_the_relative_out_says(variants: dict[str, Variant]) -> None:
    """virtual-arm --write-calibration / --link and record --out relative, the calibration through ~."""
    variant = variants["relative"]
    env = dict(os.environ, PYTHONPATH=str(REPO), HOME=str(variant.home))
    arm = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "backend.cli",
            "virtual-arm",
            "--calibrated",
            "--write-calibration",
            "ü/cal.json",
            "--link",
            "ü/leader",
            "--no-wire-delay",
        ],
        cwd=variant.cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        device = arm.stdout.readline().strip()
        assert device == str(variant.base / "leader") and (variant.base / "cal.json").is_file()
        shutil.copy(variant.base / "cal.json", variant.home / "leader cal.json")
        proc = cli(
            [
                "record",
                "--leader",
                "ü/leader",
                "--leader-calibration",
                "~/leader cal.json",
                "--camera",
                "front=pattern:64x48@30",
                "--out",
                "ü/out/rec.hdf5",
                "--episodes",
                "1",
                "--episode-seconds",
                "0.3",
                "--json",
                "--quiet",
            ],
            variant.cwd,
            variant.home,
        )
    finally:
        arm.terminate()
        arm.wait(timeout=10)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["out"] == str(variant.base / "out" / "rec.hdf5") and len(summary["episodes"]) == 1
    with h5py.File(variant.base / "out" / "rec.hdf5") as handle:
        assert handle["data/demo_0/obs/front"].shape[1:] == (48, 64, 3)


def test_a_job_gets_absolute_paths(variants: dict[str, Variant]) -> None:
    """jobs --db / --param relative: stored absolute; the command's relative arguments are read in the
    folder the job was submitted from."""
    variant = variants["relative"]
    proc = cli(
        [
            "jobs",
            "--db",
            "ü/jobs/jobs.sqlite",
            "submit",
            "studio",
            "--param",
            "output=ü/out/x",
            "--wait",
            "--json",
            "--",
            "inspect",
            "ü/rec.hdf5",
            "--json",
        ],
        variant.cwd,
        variant.home,
    )
    assert proc.returncode == 0, proc.stderr
    job = json.loads(proc.stdout)
    assert job["params"]["output"] == str(variant.base / "out" / "x")
    assert job["submit_cwd"] == str(variant.cwd) and job["cwd"] == str(variant.cwd)
    assert Path(job["log_path"]).is_relative_to(variant.base / "jobs")
    log = Path(job["log_path"]).read_text()
    assert '"num_episodes": 4' in log and str(variant.base / "rec.hdf5") in log, log[-2000:]
