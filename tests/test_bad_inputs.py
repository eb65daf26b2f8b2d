"""Bad inputs through every command that reads them, as a user runs them (a real subprocess each).

The rule: exit 2 with exactly one ``error:`` line naming the file and the problem, no traceback, no
output left behind (visible or hidden), the input byte-identical, no process outliving the command.
``validate`` has its own: a path that cannot be opened at all is one ``error:`` line and exit 2 (no
"N problems" summary); a dataset that opens but has problems lists one line per problem, exit 1.

Every case is (bad input, command): a command is run on an input only where it reads the broken
part (``inspect`` reads metadata, not frames; ``lerobot-to-hdf5`` reads actions, not videos).
Inputs are tiny (32x24 images, two demos of 30 and 24 frames).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest

from tests.cli_harness import REPO, build_inputs, entries, one_error, run_cli, tree_digest

TASK = "Pick up the orange."


# -- the good inputs ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("good")
    return build_inputs(root, TASK)


# -- the bad ones: each a copy with one defect ------------------------------------------------------
def _copy(src: Path, dst: Path) -> Path:
    (shutil.copytree if src.is_dir() else shutil.copy2)(src, dst)
    return dst


def _truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _replace(h5: h5py.File, key: str, data: np.ndarray) -> None:
    del h5[key]
    h5.create_dataset(key, data=data)


def _trunc_hdf5(g: dict[str, Path], out: Path) -> Path:
    path = _copy(g["rec"], out / "trunc.hdf5")
    _truncate(path)
    return path


def _garbage_chunk(g: dict[str, Path], out: Path) -> Path:
    """Random bytes inside demo_0's first compressed image chunk."""
    path = _copy(g["rec"], out / "garbage.hdf5")
    with h5py.File(path, "r") as h5:
        offset = h5["data/demo_0/obs/front"].id.get_chunk_info(0).byte_offset
    with open(path, "r+b") as handle:
        handle.seek(offset + 16)
        handle.write(np.random.default_rng(0).integers(0, 256, 400, dtype=np.uint8).tobytes())
    return path


def _wrong_shape(g: dict[str, Path], out: Path) -> Path:
    path = _copy(g["rec"], out / "shape.hdf5")
    with h5py.File(path, "a") as h5:
        _replace(h5, "data/demo_0/obs/joint_pos", np.zeros((30, 5), np.float32))
    return path


def _action_width(g: dict[str, Path], out: Path) -> Path:
    """demo_1's actions 4 wide, demo_0's 6: the output's columns come from the first demo."""
    path = _copy(g["rec"], out / "action_width.hdf5")
    with h5py.File(path, "a") as h5:
        length = h5["data/demo_1/actions"].shape[0]
        _replace(h5, "data/demo_1/actions", np.zeros((length, 4), np.float32))
    return path


def _grey_camera(g: dict[str, Path], out: Path) -> Path:
    """demo_0's front camera without a channel axis: the file's cameras (its first demo's) lack it."""
    path = _copy(g["rec"], out / "grey_camera.hdf5")
    with h5py.File(path, "a") as h5:
        frames = h5["data/demo_0/obs/front"][:]
        _replace(h5, "data/demo_0/obs/front", frames[..., 0])
    return path


def _without(name: str, key: str) -> Callable[[dict[str, Path], Path], Path]:
    """A copy of the recording without ``key``."""

    def make(g: dict[str, Path], out: Path) -> Path:
        path = _copy(g["rec"], out / name)
        with h5py.File(path, "a") as h5:
            del h5[key]
        return path

    return make


def _text_joints(g: dict[str, Path], out: Path) -> Path:
    path = _copy(g["rec"], out / "text_joints.hdf5")
    with h5py.File(path, "a") as h5:
        _replace(h5, "data/demo_0/obs/joint_pos", np.full((30, 6), b"abc"))
    return path


def _float_images(g: dict[str, Path], out: Path) -> Path:
    path = _copy(g["rec"], out / "float_images.hdf5")
    with h5py.File(path, "a") as h5:
        _replace(h5, "data/demo_0/obs/front", np.zeros((30, 24, 32, 3), np.float32))
    return path


def _empty_demo(g: dict[str, Path], out: Path) -> Path:
    """demo_0 holds 0 frames (every per-frame dataset cut to length 0)."""
    path = _copy(g["rec"], out / "empty.hdf5")
    with h5py.File(path, "a") as h5:
        demo = h5["data/demo_0"]
        keys: list[str] = []
        demo.visititems(lambda name, obj: keys.append(name) if isinstance(obj, h5py.Dataset) else None)
        for key in keys:
            if demo[key].ndim and demo[key].shape[0] == 30:
                _replace(demo, key, demo[key][:0])
        demo.attrs["num_samples"] = 0
    return path


def _nan_joint(g: dict[str, Path], out: Path) -> Path:
    path = _copy(g["rec"], out / "nan.hdf5")
    with h5py.File(path, "a") as h5:
        h5["data/demo_0/obs/joint_pos"][17, 2] = np.nan
    return path


def _corrupt_parquet(version: str) -> Callable[[dict[str, Path], Path], Path]:
    def make(g: dict[str, Path], out: Path) -> Path:
        root = _copy(g[version], out / f"corrupt_parquet_{version}")
        name = "episode_000000.parquet" if version == "ds21" else "file-000.parquet"
        (root / "data" / "chunk-000" / name).write_bytes(b"PAR1" + bytes(range(256)) * 8)
        return root

    return make


def _no_info(g: dict[str, Path], out: Path) -> Path:
    root = _copy(g["ds21"], out / "no_info")
    (root / "meta" / "info.json").unlink()
    return root


def _broken_info(g: dict[str, Path], out: Path) -> Path:
    root = _copy(g["ds21"], out / "broken_info")
    (root / "meta" / "info.json").write_text('{"codebase_version": "v2.1", "fps"')
    return root


def _broken_episodes(g: dict[str, Path], out: Path) -> Path:
    root = _copy(g["ds21"], out / "broken_episodes")
    (root / "meta" / "episodes.jsonl").write_text('{"episode_index": 0, "length"\n')
    return root


def _truncated_mp4(version: str) -> Callable[[dict[str, Path], Path], Path]:
    def make(g: dict[str, Path], out: Path) -> Path:
        root = _copy(g[version], out / f"truncated_mp4_{version}")
        video = next(p for p in sorted((root / "videos").rglob("*.mp4")) if "front" in str(p))
        _truncate(video, 0.3)
        return root

    return make


def _cosmos_bad_json(g: dict[str, Path], out: Path) -> Path:
    root = _copy(g["cosmos"], out / "cosmos_bad_json")
    (root / "ds21_episode_000000.json").write_text('{"prompt": ')
    return root


BAD: dict[str, Callable[[dict[str, Path], Path], Path]] = {
    "trunc.hdf5": _trunc_hdf5,
    "garbage_chunk.hdf5": _garbage_chunk,
    "wrong_shape.hdf5": _wrong_shape,
    "action_width.hdf5": _action_width,
    "grey_camera.hdf5": _grey_camera,
    "late_camera.hdf5": _without("late_camera.hdf5", "data/demo_0/obs/front"),  # demo_1 has one
    "lost_camera.hdf5": _without("lost_camera.hdf5", "data/demo_1/obs/wrist"),  # demo_0 has one
    "missing_key.hdf5": _without("missing.hdf5", "data/demo_0/actions"),
    "text_joints.hdf5": _text_joints,
    "float_images.hdf5": _float_images,
    "empty_demo.hdf5": _empty_demo,
    "nan.hdf5": _nan_joint,
    "corrupt_parquet_v21": _corrupt_parquet("ds21"),
    "corrupt_parquet_v30": _corrupt_parquet("ds30"),
    "no_info": _no_info,
    "broken_info": _broken_info,
    "broken_episodes": _broken_episodes,
    "truncated_mp4_v21": _truncated_mp4("ds21"),
    "truncated_mp4_v30": _truncated_mp4("ds30"),
    "cosmos_bad_json": _cosmos_bad_json,
}


@pytest.fixture(scope="module")
def bad(good: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    root = tmp_path_factory.mktemp("bad")
    made: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in made:
            made[name] = BAD[name](good, root)
        return made[name]

    return get


# -- commands: argv for (input, good inputs, output folder) -----------------------------------------
Argv = Callable[[Path, dict[str, Path], Path], list]
COMMANDS: dict[str, Argv] = {
    "inspect": lambda x, g, o: ["inspect", x],
    "validate": lambda x, g, o: ["validate", x],
    "hdf5-to-lerobot": lambda x, g, o: ["convert", "hdf5-to-lerobot", x, "--out", o / "out", "--task", TASK],
    "lerobot-to-hdf5": lambda x, g, o: ["convert", "lerobot-to-hdf5", x, "--template", g["rec"], "--out", o / "out.hdf5"],
    "lerobot-to-hdf5 template": lambda x, g, o: [
        "convert", "lerobot-to-hdf5", g["ds21"], "--template", x, "--out", o / "out.hdf5", "--map", "0=0",
    ],
    "v2-to-v3": lambda x, g, o: ["convert", "lerobot-v2-to-v3", x, "--out", o / "out"],
    "v3-to-v2": lambda x, g, o: ["convert", "lerobot-v3-to-v2", x, "--out", o / "out"],
    "transcode": lambda x, g, o: ["convert", "transcode", x, "--out", o / "out"],
    "curate export": lambda x, g, o: ["curate", "export", x, "--out", o / ("out.hdf5" if x.suffix else "out")],
    "curate export v2.1": lambda x, g, o: ["curate", "export", x, "--out", o / "out", "--format", "v2.1"],
    "cosmos trainset": lambda x, g, o: ["cosmos", "trainset", x, "--out", o / "out", "--keep-short"],
    "idm prepare": lambda x, g, o: ["idm", "prepare", x, "--out", o / "so101.out", "--source-dataset", g["ds21"]],
    "idm prepare source": lambda x, g, o: [
        "idm", "prepare", g["cosmos"], "--out", o / "so101.out", "--source-dataset", x,
    ],
    "idm kit": lambda x, g, o: ["idm", "kit", x, "--out", o / "out"],
    "compare": lambda x, g, o: ["compare", g["rec"], x],
    "score": lambda x, g, o: ["score", x, "--quiet"],
}
QUIET = {"hdf5-to-lerobot", "lerobot-to-hdf5", "lerobot-to-hdf5 template", "v2-to-v3", "v3-to-v2", "transcode",
         "curate export", "curate export v2.1", "compare"}  # fmt: skip

HDF5_OPEN = ("cannot read the HDF5 file",)
PARQUET_V21 = ("episode_000000.parquet", "cannot read parquet")
PARQUET_V30 = ("file-000.parquet", "cannot read parquet")
INFO_MISSING = ("info.json", "missing")
INFO_BROKEN = ("info.json", "not valid JSON")
EPISODES_BROKEN = ("episodes.jsonl", "not valid JSON")
MP4_V21 = ("episode_000000.mp4", "cannot open video")
MP4_V30 = ("file-000.mp4", "cannot open video")
NAN = ("demo_0: obs/joint_pos has NaN at frame 17",)
TEXT = ("demo_0/obs/joint_pos", "not numbers")
FLOAT_FRAMES = ("demo_0/obs/front", "float32")

# (bad input, command, needles): exit 2, one error line naming the input file and these words
CASES: list[tuple[str, str, tuple[str, ...]]] = [
    *[("trunc.hdf5", c, HDF5_OPEN) for c in (
        "inspect", "validate", "hdf5-to-lerobot", "lerobot-to-hdf5 template", "cosmos trainset", "compare",
    )],  # fmt: skip
    ("garbage_chunk.hdf5", "hdf5-to-lerobot", ("of demo_0, camera 'front'",)),
    *[("garbage_chunk.hdf5", c, ("demo_0",)) for c in ("curate export v2.1", "cosmos trainset")],
    ("wrong_shape.hdf5", "hdf5-to-lerobot", ("obs/joint_pos", "5 wide")),
    ("action_width.hdf5", "hdf5-to-lerobot", ("demo_1:", "width 4, joint space has 6 joints")),
    ("wrong_shape.hdf5", "score", ("obs/joint_pos", "wide")),  # named by the data model, for every reader
    ("trunc.hdf5", "score", HDF5_OPEN),
    ("missing_key.hdf5", "hdf5-to-lerobot", ("actions",)),
    # a camera the first demo lacks or holds malformed was left out of the output without a word
    ("grey_camera.hdf5", "hdf5-to-lerobot", ("demo_0/obs/front", "without a channel axis", "--cameras wrist")),
    ("late_camera.hdf5", "hdf5-to-lerobot", ("demo_1 has camera front, which demo_0 has not", "--cameras wrist")),
    *[("text_joints.hdf5", c, TEXT) for c in ("hdf5-to-lerobot", "curate export", "curate export v2.1")],
    *[("float_images.hdf5", c, FLOAT_FRAMES) for c in ("hdf5-to-lerobot", "curate export v2.1")],
    *[("nan.hdf5", c, NAN) for c in ("hdf5-to-lerobot", "lerobot-to-hdf5 template", "curate export")],
    *[("corrupt_parquet_v21", c, PARQUET_V21) for c in (
        "lerobot-to-hdf5", "v2-to-v3", "transcode", "curate export", "idm kit",
    )],  # fmt: skip
    *[("corrupt_parquet_v30", c, PARQUET_V30) for c in ("lerobot-to-hdf5", "v3-to-v2", "transcode", "compare")],
    *[("no_info", c, INFO_MISSING) for c in (
        "inspect", "validate", "lerobot-to-hdf5", "cosmos trainset", "idm prepare source",
    )],  # fmt: skip
    *[("broken_info", c, INFO_BROKEN) for c in ("validate", "v2-to-v3", "idm kit")],
    *[("broken_episodes", c, EPISODES_BROKEN) for c in ("inspect", "curate export")],
    *[("truncated_mp4_v21", c, MP4_V21) for c in ("v2-to-v3", "transcode", "cosmos trainset", "curate export")],
    *[("truncated_mp4_v30", c, MP4_V30) for c in ("v3-to-v2", "transcode", "curate export")],
    ("cosmos_bad_json", "inspect", ("ds21_episode_000000.json", "not valid JSON")),
]


@pytest.mark.parametrize(("name", "command", "needles"), CASES, ids=[f"{c}-{n}" for n, c, _ in CASES])
def test_bad_input_is_one_error(
    name: str, command: str, needles: tuple[str, ...], good: dict[str, Path], bad: Callable[[str], Path],
    tmp_path: Path,
) -> None:  # fmt: skip
    source = bad(name)
    before = tree_digest(source)
    good_before = {key: tree_digest(path) for key, path in good.items()}
    argv = COMMANDS[command](source, good, tmp_path)
    if command in QUIET:
        argv.append("--quiet")
    run = run_cli(*argv)
    line = one_error(run, str(source), *needles)
    if name == "nan.hdf5":  # the demo, the key and the frame, once: not "episode 0"
        assert "episode 0" not in line
    if name == "garbage_chunk.hdf5":  # the worker's error names the file too: said once
        assert line.count(str(source)) == 1, line
    assert entries(tmp_path) == [], "a failed command left output behind"
    assert tree_digest(source) == before
    assert {key: tree_digest(path) for key, path in good.items()} == good_before


# -- validate: unopenable -> 2 and one line; findings -> 1 and a line each ---------------------------
def test_validate_unopenable_is_one_error_line(bad: Callable[[str], Path]) -> None:
    """A truncated HDF5 used to print its error line and then "1 problem(s)", exit 2."""
    source = bad("trunc.hdf5")
    run = run_cli("validate", source)
    one_error(run, str(source), "cannot read the HDF5 file")
    assert run.stdout == "", "no problem list and no summary for a path that cannot be opened"
    run = run_cli("validate", source, "--json")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    report = json.loads(run.stdout)  # --json still reports every finding
    assert report["readable"] is False and report["ok"] is False
    findings = report.get("findings", report.get("problems", []))
    assert any(f.get("what", f.get("problem", "")).startswith("cannot read the HDF5 file") for f in findings)


def test_validate_findings_are_one_line_each_exit_1(bad: Callable[[str], Path]) -> None:
    source = bad("nan.hdf5")
    run = run_cli("validate", source)
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    errors = run.errors("stdout")
    assert len(errors) == 1 and "demo_0" in errors[0] and "obs/joint_pos" in errors[0] and "17" in errors[0]
    assert "1 problem(s)" in run.stdout.splitlines()[-1]
    corrupt = bad("corrupt_parquet_v21")
    run = run_cli("validate", corrupt)
    assert run.returncode == 1 and run.stderr == "", run.stderr
    (line,) = run.errors("stdout")
    assert f"{corrupt}/data/chunk-000/episode_000000.parquet: cannot read parquet" in line


def test_validate_names_a_camera_the_first_demo_lacks_and_one_a_demo_lacks(
    good: dict[str, Path], bad: Callable[[str], Path], tmp_path: Path
) -> None:
    """Both used to be "clean": a camera only later demos hold was left out of a conversion unsaid."""
    late = bad("late_camera.hdf5")
    run = run_cli("validate", late)
    assert run.returncode == 1 and run.stderr == "", run.stderr
    (line,) = run.errors("stdout")
    assert f"{late}:/data/demo_1: has camera obs/front, which demo_0 has not" in line and "[camera_set]" in line
    lost = bad("lost_camera.hdf5")
    run = run_cli("validate", lost)
    assert run.returncode == 0 and run.errors("stdout") == [], run.stdout
    warnings = [x for x in run.stdout.splitlines() if x.startswith("warning:") and "camera_set" in x]
    assert len(warnings) == 1 and "demo_1" in warnings[0] and "has no camera obs/wrist (demo_0 has one)" in warnings[0]
    # and converting it skips that demo, by name, as validate says
    run = run_cli("convert", "hdf5-to-lerobot", lost, "--out", tmp_path / "out", "--task", TASK, "--json", "--quiet")
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["episodes_written"] == 1
    assert [(s["episode"], s["reason"]) for s in summary["skipped"]] == [("demo_1", "has no obs/wrist")]


# -- what is not an error ------------------------------------------------------------------------------
def test_empty_demo_is_skipped_not_a_crash(good: dict[str, Path], bad: Callable[[str], Path], tmp_path: Path) -> None:
    """A demo of 0 frames is below any minimum length: skipped and said, the rest converted."""
    source = bad("empty_demo.hdf5")
    run = run_cli("convert", "hdf5-to-lerobot", source, "--out", tmp_path / "out", "--task", TASK, "--json", "--quiet")
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    summary = json.loads(run.stdout)
    assert summary["episodes_written"] == 1
    assert [s["episode"] for s in summary["skipped"]] == ["demo_0"]


def test_idm_prepare_skips_a_broken_sample(good: dict[str, Path], bad: Callable[[str], Path], tmp_path: Path) -> None:
    """A batch of generated samples: a broken one is skipped and named, the others prepared."""
    source = bad("cosmos_bad_json")
    out = tmp_path / "so101.out"
    run = run_cli("idm", "prepare", source, "--out", out, "--source-dataset", good["ds21"], "--json")
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    assert "ds21_episode_000000.json" in run.stderr and "not valid JSON" in run.stderr
    with open(out / "meta" / "episodes.jsonl", encoding="utf-8") as handle:
        assert len(handle.read().splitlines()) == 1


def test_unexpected_errors_are_one_line_too() -> None:
    """The last guard: an exception no layer turned into a message (a bug) is one line and exit 3,
    never a traceback, unless ROLLOUT_STUDIO_DEBUG asks for one."""
    script = (
        "import sys, backend.cli.inspect_cmd as command\n"
        "def broken(args):\n    return {}['no such key']\n"
        "command.run = broken\n"
        "from backend.cli import main\n"
        "sys.exit(main(['inspect', 'anything']))\n"
    )
    for debug in ("", "1"):
        proc = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=REPO,
            env=dict(os.environ, PYTHONPATH=str(REPO), ROLLOUT_STUDIO_DEBUG=debug),
        )  # fmt: skip
        assert proc.returncode == 3, proc.stderr
        errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, proc.stderr
        prefix = "error: unexpected KeyError: 'no such key' (a bug in rollout-studio; ROLLOUT_STUDIO_DEBUG=1 shows where"
        assert errors[0].startswith(prefix), errors
        # the crash report it names holds what the line leaves out (backend/crash.py)
        report = errors[0].removeprefix(prefix).removeprefix("; report: ").removesuffix(")")
        assert report.endswith(".txt") and "KeyError" in Path(report).read_text(encoding="utf-8"), errors[0]
        assert ("Traceback" in proc.stderr) == bool(debug)
