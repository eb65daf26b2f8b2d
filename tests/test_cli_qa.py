"""The CLI as a user drives it: the seed-000 chain end to end and bad inputs for every command that
reads files. Real subprocesses; each failure must be exit 2 (1 for validate findings) with one
``error:`` line naming the file and the problem, no traceback, no partial output, inputs unchanged.
Inputs are tiny (32x24 images, a few dozen frames) so the file stays well under a minute.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from backend.convert import hdf5_to_lerobot as h2l
from tests import cli_zygote
from tests.cli_harness import tree_digest
from tests.cosmos_data import StandinSample, write_standin_outputs
from tests.recordings import DemoSpec, RecordingSpec, write_recording

REPO = Path(__file__).resolve().parents[1]
TASK = "Pick up the orange and place it on the plate."


def cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return cli_zygote.run(args, cwd=cwd or REPO, env=env, timeout=120)


def one_error(proc: subprocess.CompletedProcess, *needles: str, code: int = 2, stream: str = "stderr") -> str:
    """Exactly one ``error:`` line that mentions every needle; no traceback."""
    text = proc.stderr if stream == "stderr" else proc.stdout
    assert proc.returncode == code, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in text.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, text
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])
    return errors[0]


def leftovers(folder: Path, name: str) -> list[str]:
    """Anything named after ``name`` in ``folder``: the output or a hidden partial of it."""
    return sorted(p.name for p in folder.iterdir() if p.name == name or p.name.startswith(f".{name}."))


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("qa")


@pytest.fixture(scope="module")
def rec(work: Path) -> Path:
    """demo_1 failed: the LeRobot dataset skips it, so its episodes 1, 2 are demos 2, 3."""
    spec = RecordingSpec(
        [DemoSpec(30), DemoSpec(24, success=False), DemoSpec(32), DemoSpec(28)], width=32, height=24
    )
    return write_recording(work / "rec.hdf5", spec)


@pytest.fixture(scope="module")
def ds21(work: Path, rec: Path) -> Path:
    h2l.run([rec], h2l.Hdf5ToLerobotOptions(out=work / "ds21", task=TASK))
    return work / "ds21"


@pytest.fixture(scope="module")
def ds30(work: Path, rec: Path) -> Path:
    h2l.run([rec], h2l.Hdf5ToLerobotOptions(out=work / "ds30", task=TASK, format="v3.0"))
    return work / "ds30"


def _copy(src: Path, dst: Path) -> Path:
    if src.is_dir():
        shutil.copytree(src, dst)
    else:
        shutil.copy2(src, dst)
    return dst


# -- the chain ------------------------------------------------------------------------------------
def test_idm_output_goes_back_to_the_right_demos(work: Path, rec: Path, ds21: Path) -> None:
    """Cosmos outputs -> idm prepare -> (IDM dump) -> lerobot-to-hdf5 must replay each generated episode
    from the demo its source episode came from, at the frame the LeRobot episode starts (here 5), not
    demo_<index> from frame 0 (which picked the failed demo_1 and the wrong initial states)."""
    chain = work / "chain"
    chain.mkdir()
    samples = [
        StandinSample(f"ds21_episode_{e:06d}", e, 96, prompt=f"The robot arm is performing a task. {TASK}")
        for e in range(3)
    ]
    write_standin_outputs(ds21, chain / "cosmos", samples)
    prepared = chain / "so101.generated"
    proc = cli("idm", "prepare", chain / "cosmos", "--out", prepared, "--source-dataset", ds21)
    assert proc.returncode == 0, proc.stderr
    # what GR00T-Dreams' dump_idm_actions writes: meta/ copied, tasks.jsonl prefixed, new action column
    idm = _copy(prepared, chain / "so101.generated.data_idm")
    for path in sorted((idm / "data").rglob("*.parquet")):
        table = pq.read_table(path)
        values = np.full((table.num_rows, 6), 10.0) + np.arange(table.num_rows)[:, None] * 0.1
        column = pa.array([list(r) for r in values], type=pa.list_(pa.float64()))
        pq.write_table(table.set_column(table.schema.get_field_index("action"), "action", column), path)
    tasks = [json.loads(line) for line in (idm / "meta" / "tasks.jsonl").read_text().splitlines()]
    (idm / "meta" / "tasks.jsonl").write_text(
        "".join(json.dumps({**t, "task": "<DREAM>" + t["task"]}) + "\n" for t in tasks)
    )
    # the dump's task list differs from episodes.jsonl only by <DREAM>: a warning, not a failure
    proc = cli("validate", idm)
    assert proc.returncode == 0 and "<DREAM>" in proc.stdout, proc.stdout
    before = tree_digest(rec)
    out = chain / "replay.hdf5"
    proc = cli("convert", "lerobot-to-hdf5", idm, "--template", rec, "--out", out, "--json", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "matched from the provenance record" in json.loads(proc.stdout)["details"]["mapping_note"]
    with h5py.File(out) as replay, h5py.File(rec) as source:
        demos = []
        for name in ("demo_0", "demo_1", "demo_2"):
            group = replay["data"][name]
            src = group.attrs["rollout_studio_source_demo"]
            offset = int(group.attrs["rollout_studio_frame_offset"])
            demos.append((src, offset))
            expected = source["data"][src]["states/articulation/robot/joint_position"][offset - 1]
            assert np.allclose(group["initial_state/articulation/robot/joint_position"][0], expected)
            assert group.attrs["seed"] == source["data"][src].attrs["seed"]
    assert demos == [("demo_0", 5), ("demo_2", 5), ("demo_3", 5)]
    assert tree_digest(rec) == before
    # compare follows the lineage from the replayed HDF5 back to the LeRobot dataset, too
    proc = cli("compare", ds21, out, "--json", "--quiet")
    assert proc.returncode == 0, proc.stderr
    rows = {r["generated"]: r for r in json.loads(proc.stdout)["rows"]}
    assert {g: (r["source"], r["pairing"]) for g, r in rows.items()} == {
        0: (0, "lineage"),
        1: (1, "lineage"),
        2: (2, "lineage"),
    }


def test_cosmos_batch_from_a_relative_dataset_path(work: Path, ds21: Path) -> None:
    """input_path used to be relative to the working directory: the batch failed its own check."""
    folder = work / "rel"
    folder.mkdir()
    _copy(ds21, folder / "data set ü")
    proc = cli("cosmos", "batch", "data set ü", "--out", "batches/b.jsonl", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    samples = [json.loads(line) for line in (folder / "batches" / "b.jsonl").read_text().splitlines()]
    assert len(samples) == 3 and all(Path(s["input_path"]).is_file() for s in samples)
    proc = cli("cosmos", "check-batch", folder / "batches" / "b.jsonl")
    assert proc.returncode == 0 and "clean" in proc.stdout, proc.stdout
    # an existing batch file is kept unless --overwrite
    before = (folder / "batches" / "b.jsonl").read_bytes()
    proc = cli("cosmos", "batch", "data set ü", "--out", "batches/b.jsonl", cwd=folder)
    one_error(proc, "b.jsonl", "already exists")
    assert (folder / "batches" / "b.jsonl").read_bytes() == before
    proc = cli("cosmos", "batch", "data set ü", "--out", "batches/b.jsonl", "--overwrite", cwd=folder)
    assert proc.returncode == 0, proc.stderr


def test_hdf5_task_from_the_demos(work: Path, rec: Path) -> None:
    """The studio's recorder writes the task on every demo: converting needs no --task then."""
    tagged = _copy(rec, work / "tagged.hdf5")
    with h5py.File(tagged, "a") as handle:
        for name in handle["data"]:
            handle["data"][name].attrs["task"] = TASK
    out = work / "tagged21"
    proc = cli("convert", "hdf5-to-lerobot", tagged, "--out", out, "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "meta" / "tasks.jsonl").read_text())["task"] == TASK
    proc = cli("convert", "hdf5-to-lerobot", rec, "--out", work / "untagged", "--quiet")
    one_error(proc, "rec.hdf5", "no task text")
    assert not leftovers(work, "untagged")


def test_versions_keep_modality_and_transcode_counts(work: Path, ds21: Path, ds30: Path) -> None:
    source = _copy(ds21, work / "with_modality")
    modality = {"state": {}, "action": {}, "video": {"front": {"original_key": "observation.images.front"}}}
    (source / "meta" / "modality.json").write_text(json.dumps(modality))
    proc = cli("convert", "lerobot-v2-to-v3", source, "--out", work / "mod30", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((work / "mod30" / "meta" / "modality.json").read_text()) == modality
    proc = cli("convert", "transcode", ds30, "--out", work / "tc", "--force", "--json", "--quiet")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["frames_written"] == 25 + 27 + 23  # dataset frames, not frames per camera summed
    assert summary["details"]["video_frames_encoded"] == 2 * (25 + 27 + 23)


def test_transcode_carries_problems_the_source_already_has(work: Path, ds21: Path) -> None:
    """Like the GR00T demo data's phantom camera: not the transcode's fault, so not a failure."""
    source = _copy(ds21, work / "phantom")
    info = json.loads((source / "meta" / "info.json").read_text())
    info["features"]["observation.images.egoview"] = dict(info["features"]["observation.images.front"])
    (source / "meta" / "info.json").write_text(json.dumps(info))
    assert cli("validate", source).returncode == 1
    proc = cli("convert", "transcode", source, "--out", work / "phantom_tc", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "carried over from the source" in proc.stderr and ".partial-" not in proc.stderr


# -- bad inputs -----------------------------------------------------------------------------------
def test_truncated_hdf5_everywhere(work: Path, rec: Path) -> None:
    bad = work / "trunc.hdf5"
    data = rec.read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    one_error(cli("inspect", bad), "trunc.hdf5", "cannot read the HDF5 file")
    # validate: the file cannot be opened at all -> one error line, 2 (no finding list, no summary)
    one_error(cli("validate", bad), "trunc.hdf5", "cannot read")
    proc = cli("validate", bad, "--json")
    assert proc.returncode == 2 and json.loads(proc.stdout)["readable"] is False
    one_error(cli("convert", "hdf5-to-lerobot", bad, "--out", work / "t_out", "--task", "t"), "trunc.hdf5")
    one_error(cli("compare", rec, bad, "--quiet"), "trunc.hdf5")
    assert not leftovers(work, "t_out")


def test_validate_lists_each_problem_once(work: Path, ds21: Path, ds30: Path) -> None:
    no_episodes = _copy(ds21, work / "no_episodes")
    (no_episodes / "meta" / "episodes.jsonl").unlink()
    one_error(cli("validate", no_episodes), "episodes.jsonl", "missing")
    broken = _copy(ds30, work / "broken_pq")
    data_file = broken / "data" / "chunk-000" / "file-000.parquet"
    data_file.write_bytes(data_file.read_bytes()[:200])
    # every episode shares the file: one line, and the dataset still opens -> 1
    one_error(cli("validate", broken), "file-000.parquet", "cannot read parquet", code=1, stream="stdout")


def test_check_batch_unreadable_paths(work: Path, rec: Path) -> None:
    one_error(cli("cosmos", "check-batch", work / "nope.jsonl"), "nope.jsonl", "no such file")
    one_error(cli("cosmos", "check-batch", work), str(work), "is a folder")
    one_error(cli("cosmos", "check-batch", rec), "rec.hdf5", "not a text file")
    broken = work / "broken.jsonl"
    broken.write_text('{"name": "a"\n')
    proc = cli("cosmos", "check-batch", broken)
    assert proc.returncode == 1 and "line 1 is not JSON" in proc.stdout and "Traceback" not in proc.stderr


def test_outputs_inside_inputs_or_existing_are_refused(work: Path, ds21: Path) -> None:
    before = tree_digest(ds21)
    one_error(cli("cosmos", "batch", ds21, "--out", ds21 / "b.jsonl"), "b.jsonl", "would lie inside the input")
    one_error(cli("cosmos", "trainset", ds21, "--out", ds21 / "t", "--keep-short"), "would lie inside the input")
    one_error(cli("idm", "kit", ds21, "--out", ds21 / "kit"), "kit", "would lie inside the input")
    one_error(
        cli("compare", ds21, ds21, "--report", ds21 / "rep", "--quiet"), "rep", "would lie inside the input"
    )
    cosmos = work / "cosmos_in"
    write_standin_outputs(ds21, cosmos, [StandinSample("ds21_episode_000000", 0, 93, prompt="p")])
    cosmos_before = tree_digest(cosmos)
    proc = cli("idm", "prepare", cosmos, "--out", cosmos / "so101.x", "--source-dataset", ds21)
    one_error(proc, "so101.x", "would lie inside the input")
    assert tree_digest(ds21) == before and tree_digest(cosmos) == cosmos_before
    kit = work / "kit"
    assert cli("idm", "kit", ds21, "--out", kit).returncode == 0
    kit_before = tree_digest(kit)
    one_error(cli("idm", "kit", ds21, "--out", kit), "kit", "already exists")
    assert tree_digest(kit) == kit_before
    one_error(
        cli("idm", "kit", ds21, "--out", work / "kit2", "--checkpoint", ds21 / "meta" / "info.json"),
        "is a file",
    )


def test_unwritable_output_locations(work: Path, rec: Path, ds21: Path) -> None:
    blocker = work / "a_file"
    blocker.write_text("x")
    proc = cli("convert", "hdf5-to-lerobot", rec, "--out", blocker / "out", "--task", "t", "--quiet")
    one_error(proc, "a_file", "cannot create the output folder")
    one_error(cli("cosmos", "batch", ds21, "--out", blocker / "sub" / "b.jsonl"), "a_file")
    # a read-only folder: as root, drop the capabilities that ignore file modes
    readonly = work / "readonly"
    readonly.mkdir()
    readonly.chmod(0o555)
    prefix: list[str] = []
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv: cannot make a folder read-only")
        prefix = ["setpriv", "--bounding-set=-all"]
    env = dict(os.environ, PYTHONPATH=str(REPO))

    def run(*args: str | Path) -> subprocess.CompletedProcess:
        argv = [*prefix, sys.executable, "-m", "backend.cli", *map(str, args)]
        return subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=REPO, env=env)

    try:
        one_error(
            run("convert", "hdf5-to-lerobot", rec, "--out", readonly / "x", "--task", "t", "--quiet"),
            "readonly/x",
            "cannot write",
        )
        one_error(
            run(
                "convert", "lerobot-to-hdf5", ds21, "--template", rec, "--out", readonly / "x.hdf5", "--quiet"
            ),
            "x.hdf5",
            "cannot write",
        )
        one_error(
            run("convert", "transcode", ds21, "--out", readonly / "tc", "--quiet"),
            "readonly/tc",
            "cannot write",
        )
        one_error(run("cosmos", "batch", ds21, "--out", readonly / "b.jsonl"), "b.jsonl", "cannot write")
        one_error(run("jobs", "list", "--db", readonly / "jobs.sqlite"), "jobs.sqlite", "job store")
        assert sorted(p.name for p in readonly.iterdir()) == []
    finally:
        readonly.chmod(0o755)


def test_bad_lerobot_inputs(work: Path, ds21: Path, rec: Path) -> None:
    rows = _copy(ds21, work / "rows")
    table = pq.read_table(rows / "data" / "chunk-000" / "episode_000000.parquet")
    pq.write_table(table.slice(0, table.num_rows - 4), rows / "data" / "chunk-000" / "episode_000000.parquet")
    before = tree_digest(rows)
    one_error(
        cli("convert", "lerobot-v2-to-v3", rows, "--out", work / "rows30", "--quiet"), str(rows), "rows"
    )
    assert not leftovers(work, "rows30") and tree_digest(rows) == before
    no_info = _copy(ds21, work / "no_info")
    (no_info / "meta" / "info.json").unlink()
    one_error(cli("validate", no_info), "info.json")
    one_error(cli("idm", "kit", no_info, "--out", work / "kit_ni"), "info.json")
    one_error(cli("inspect", work / "nowhere"), "nowhere", "no such file")
    text_file = work / "notes.md"
    text_file.write_text("hello")
    one_error(cli("inspect", text_file), "notes.md", "not a dataset the studio knows")
    one_error(cli("compare", f"{ds21}:x", ds21, "--quiet"), "is not an episode number")


def test_compare_exit_codes(work: Path, rec: Path, ds21: Path) -> None:
    proc = cli("compare", rec, ds21, "--feature", "nope", "--quiet")
    one_error(proc, "could be compared", "nope")
    nan = _copy(ds21, work / "nan")
    path = nan / "data" / "chunk-000" / "episode_000001.parquet"
    table = pq.read_table(path)
    values = np.array(table.column("action").to_pylist(), dtype=np.float32)
    values[3, 2] = np.nan
    column = pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1)), 6)
    pq.write_table(table.set_column(table.schema.get_field_index("action"), "action", column), path)
    proc = cli("compare", rec, nan, "--quiet", "--report", work / "nan_report")
    assert proc.returncode == 1 and "1 of 3 episodes could not be compared" in proc.stderr, proc.stderr
    assert "NaN" in proc.stdout and "Traceback" not in proc.stderr


def test_jobs_store_option_and_foreign_files(work: Path) -> None:
    store = work / "jobs" / "store.sqlite"
    (work / "jobs").mkdir()
    assert cli("jobs", "--db", store, "list").returncode == 0
    assert store.is_file()  # the option before the action used to be ignored
    notes = work / "notes.txt"
    notes.write_text("x")
    one_error(cli("jobs", "--db", notes, "list"), "notes.txt", "not a job store")
    assert notes.read_text() == "x"  # SQLite used to overwrite it with a database
    one_error(cli("jobs", "list", "--db", work), "is a folder")
