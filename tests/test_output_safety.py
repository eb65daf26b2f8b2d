"""No command destroys data: `--overwrite` replaces only an earlier output of the studio.

Every writer of the command line is run as a user would (a real subprocess) against an output that
(a) is the folder holding its input, (b) is a folder of the user's, (c) is an earlier output of the
studio with a file the user added. Each is refused with one `error:` line and exit 2, and every file
of the inputs and of the user's folder is byte-identical afterwards. An earlier output of the studio
itself is replaced.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import h5py
import pytest

from tests import cli_zygote
from tests.cosmos_data import StandinSample, write_small_lerobot, write_standin_outputs
from tests.recordings import DemoSpec, RecordingSpec, write_recording

REPO = Path(__file__).resolve().parents[1]


def run_cli(*args: object, timeout: float = 180) -> subprocess.CompletedProcess:
    return cli_zygote.run(args, cwd=REPO, env=dict(os.environ, SVT_LOG="1"), timeout=timeout)


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (hidden ones too) -> sha256."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            found[path.relative_to(folder).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@dataclass
class World:
    root: Path
    rec: Path  # LeIsaac HDF5 recording
    v21: Path  # LeRobot v2.1 (studio-written, two cameras)
    v30: Path  # LeRobot v3.0
    cosmos: Path  # Cosmos output folder made from v21


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("safety")
    holder = root / "so101.holder"  # every input lives here (named as idm prepare wants its --out)
    holder.mkdir()
    (holder / "notes.txt").write_text("a week of demonstrations\n")
    rec = write_recording(holder / "rec.hdf5", RecordingSpec([DemoSpec(20), DemoSpec(20)], width=32, height=24))
    v21 = write_small_lerobot(holder / "v21", [12, 12], cameras=("front", "wrist"), size=(32, 24))
    v30 = write_small_lerobot(holder / "v30", [12, 12], fmt="lerobot_v3.0", size=(32, 24))
    cosmos = write_standin_outputs(v21, holder / "cosmos", [StandinSample("s0", 0, 20, prompt="pick")])
    return World(root, rec, v21, v30, cosmos)


def _commands(w: World, out: Path) -> dict[str, list[object]]:
    """Each writer of the CLI, aimed at ``out`` with --overwrite."""
    return {
        "hdf5-to-lerobot": ["convert", "hdf5-to-lerobot", w.rec, "--out", out, "--task", "t", "--quiet"],
        "lerobot-to-hdf5": [
            "convert", "lerobot-to-hdf5", w.v21, "--template", w.rec, "--out", out, "--map", "0=0", "--map",
            "1=1", "--quiet",
        ],
        "lerobot-v3-to-v2": ["convert", "lerobot-v3-to-v2", w.v30, "--out", out, "--quiet"],
        "lerobot-v2-to-v3": ["convert", "lerobot-v2-to-v3", w.v21, "--out", out, "--quiet"],
        "transcode": ["convert", "transcode", w.v21, "--out", out, "--force", "--quiet"],
        "curate-export": ["curate", "export", w.v21, "--out", out],
        "idm-kit": ["idm", "kit", w.v21, "--out", out],
        "idm-prepare": ["idm", "prepare", w.cosmos, "--source-dataset", w.v21, "--min-frames", "8", "--out", out],
        "cosmos-trainset": ["cosmos", "trainset", w.v21, "--out", out, "--keep-short"],
        "cosmos-batch": ["cosmos", "batch", w.v21, "--out", out],
        "compare-report": ["compare", f"{w.v21}:0", f"{w.v21}:1", "--report", out, "--quiet"],
    }


COMMANDS = list(_commands(World(*(Path("x"),) * 5), Path("y")))
# outputs that are one file (the rest are folders)
FILE_OUTPUTS = {"lerobot-to-hdf5": ".hdf5", "cosmos-batch": ".jsonl"}
# compare writes its report with replacement always on (no flag)
NO_FLAG = {"compare-report"}


def _argv(w: World, name: str, out: Path) -> list[object]:
    argv = _commands(w, out)[name]
    return argv if name in NO_FLAG else [*argv, "--overwrite"]


def _assert_refused(done: subprocess.CompletedProcess, out: Path) -> None:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    assert str(out) in errors[0]


@pytest.mark.parametrize("name", [c for c in COMMANDS if c not in FILE_OUTPUTS])
def test_overwrite_of_the_folder_holding_the_input_is_refused(world: World, name: str) -> None:
    holder = world.rec.parent
    before = tree_digest(world.root)
    done = run_cli(*_argv(world, name, holder))
    _assert_refused(done, holder)
    assert "input" in done.stderr
    assert tree_digest(world.root) == before


@pytest.mark.parametrize("name", COMMANDS)
def test_overwrite_of_a_users_folder_or_file_is_refused(world: World, name: str, tmp_path: Path) -> None:
    suffix = FILE_OUTPUTS.get(name)
    if suffix == ".hdf5":
        out = tmp_path / "precious.hdf5"  # an HDF5 of another tool: no provenance record
        with h5py.File(out, "w") as handle:
            handle.create_group("data").attrs["total"] = 7
    elif suffix:
        out = tmp_path / f"precious{suffix}"
        out.write_text('{"the": "user\'s"}\n')
    else:
        out = tmp_path / "so101.precious"
        out.mkdir()
        (out / "calibration.json").write_text("{}")
    before, inputs = tree_digest(tmp_path), tree_digest(world.root)
    done = run_cli(*_argv(world, name, out))
    _assert_refused(done, out)
    assert "did not write" in done.stderr
    assert tree_digest(tmp_path) == before and tree_digest(world.root) == inputs


@pytest.mark.parametrize("name", ["hdf5-to-lerobot", "lerobot-to-hdf5", "idm-kit", "cosmos-batch"])
def test_an_earlier_output_is_replaced_but_not_once_the_user_added_a_file(
    world: World, name: str, tmp_path: Path
) -> None:
    out = tmp_path / f"so101.out{FILE_OUTPUTS.get(name, '')}"
    first = run_cli(*_commands(world, out)[name])
    assert first.returncode == 0, first.stderr
    again = run_cli(*_commands(world, out)[name])
    assert again.returncode == 2 and "already exists" in again.stderr
    replaced = run_cli(*_argv(world, name, out))
    assert replaced.returncode == 0, replaced.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no staging left
    if out.is_dir():
        (out / "mine.txt").write_text("added by the user")
    else:
        out.write_bytes(out.read_bytes() + b"\n")  # edited since the studio wrote it
    before = tree_digest(tmp_path)
    done = run_cli(*_argv(world, name, out))
    _assert_refused(done, out)
    assert tree_digest(tmp_path) == before


def test_a_symlinked_output_into_the_input_is_refused(world: World, tmp_path: Path) -> None:
    link = tmp_path / "looks-new"
    link.symlink_to(world.rec.parent)
    before = tree_digest(world.root)
    done = run_cli("convert", "hdf5-to-lerobot", world.rec, "--out", link, "--task", "t", "--overwrite")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert tree_digest(world.root) == before
