"""`validate --fix --out NEW`: a repaired copy, never an edit in place (backend/repair.py).

Each test injects one fixable fault into a private copy of a real dataset (LeRobot 0.6.1's v3.0
files from ../shared, or a small v2.1 the studio writes), repairs it, and checks that the copy
validates clean for that finding, that the repaired values are right (stats equal a recomputation
from the parquet, indices are contiguous and each episode keeps its own rows and videos, fps equals
the original) and that the input is byte-identical afterwards.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.doctor import DoctorOptions, diagnose
from backend.errors import Cancelled, StudioError
from backend.formats.lerobot.stats import aggregate, vector_stats
from backend.progress import Progress
from backend.provenance import hash_input
from backend.repair import repair
from tests import cli_zygote
from tests.cosmos_data import write_small_lerobot

REPO = Path(__file__).resolve().parents[1]
STAT_NAMES = ("min", "max", "mean", "std")
QUICK = DoctorOptions(sample_frames=0)  # the repair never touches pixels: no need to decode


# -- helpers ----------------------------------------------------------------------------------------
def tree(root: Path) -> dict[str, tuple[int, int, str]]:
    """Every file under ``root`` (hidden ones too): size, mtime and sha256."""
    found = {}
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            st = path.stat()
            found[path.relative_to(root).as_posix()] = (
                st.st_size, st.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest()
            )
    return found


def codes(path: Path) -> set[str]:
    return {p.code for p in diagnose(path, QUICK).findings}


def set_column(path: Path, name: str, change) -> None:
    table = pq.read_table(path)
    position = table.schema.get_field_index(name)
    column_field = table.schema.field(position)
    values = change(table.column(name).to_pylist(), table)
    pq.write_table(table.set_column(position, column_field, pa.array(values, type=column_field.type)), path)


def read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def write_json(path: Path, value) -> None:
    path.write_text(json.dumps(value, indent=4), encoding="utf-8")


def parquet_values(root: Path, key: str) -> np.ndarray:
    """Every row of ``key`` over the dataset's data files, in file order."""
    files = sorted((root / "data").rglob("*.parquet"))
    return np.concatenate([
        np.asarray(pq.read_table(f, columns=[key]).column(key).to_pylist(), dtype=np.float64) for f in files
    ])


def assert_stats_describe(stats: dict, values: np.ndarray) -> None:
    expected = vector_stats(values, quantiles=True)
    for name in STAT_NAMES:
        np.testing.assert_allclose(np.asarray(stats[name]), expected[name], rtol=1e-5, atol=1e-3)
    assert stats["count"] == [len(values)]


# -- datasets ---------------------------------------------------------------------------------------
@pytest.fixture
def v30(tmp_path: Path, shared_data: Path) -> Path:
    """A private copy of a dataset LeRobot 0.6.1 wrote (2 episodes x 60 frames, two h264 cameras)."""
    return Path(shutil.copytree(shared_data / "lerobot061_so101_v30_h264", tmp_path / "in v30 ø"))


@pytest.fixture
def v21(tmp_path: Path) -> Path:
    return write_small_lerobot(tmp_path / "in v21 ø", [20, 25, 18], cameras=("front", "wrist"))


# -- stats ------------------------------------------------------------------------------------------
def test_v30_stats_10x_off_are_recomputed_from_the_data(v30: Path, tmp_path: Path) -> None:
    stats = read_json(v30 / "meta/stats.json")
    for name in STAT_NAMES:
        stats["action"][name] = [10 * x for x in stats["action"][name]]
    write_json(v30 / "meta/stats.json", stats)
    meta = v30 / "meta/episodes/chunk-000/file-000.parquet"
    set_column(meta, "stats/action/mean", lambda rows, _t: [[10 * x for x in rows[0]], rows[1]])
    assert {"stats_mismatch", "episode_stats_mismatch"} <= codes(v30)
    before = tree(v30)

    report = repair(v30, tmp_path / "out", options=QUICK)

    out = tmp_path / "out"
    assert report.written and {f.code for f in report.fixes} == {"stats_mismatch", "episode_stats_mismatch"}
    assert tree(v30) == before
    assert not {"stats_mismatch", "episode_stats_mismatch"} & {p.code for p in report.remaining}
    fixed = read_json(out / "meta/stats.json")
    assert_stats_describe(fixed["action"], parquet_values(v30, "action"))
    # the stats that agreed with the data are kept exactly as LeRobot wrote them
    original = read_json(shared_stats := (v30 / "meta/stats.json"))
    assert shared_stats.is_file() and fixed["observation.state"] == original["observation.state"]
    assert fixed["observation.images.front"] == original["observation.images.front"]
    episodes = pq.read_table(out / "meta/episodes/chunk-000/file-000.parquet").to_pydict()
    actions = parquet_values(v30, "action")
    np.testing.assert_allclose(episodes["stats/action/mean"][0], actions[:60].mean(axis=0), rtol=1e-5, atol=1e-4)
    assert episodes["stats/action/mean"][1] == pq.read_table(meta).to_pydict()["stats/action/mean"][1]


def test_v21_stats_10x_off_and_missing_quantiles_are_recomputed(v21: Path, tmp_path: Path) -> None:
    stats = read_json(v21 / "meta/stats.json")
    for name in STAT_NAMES:
        stats["action"][name] = [10 * x for x in stats["action"][name]]
    write_json(v21 / "meta/stats.json", stats)
    rows = [json.loads(line) for line in (v21 / "meta/episodes_stats.jsonl").read_text().splitlines()]
    rows[1]["stats"]["observation.state"]["max"] = [10 * x for x in rows[1]["stats"]["observation.state"]["max"]]
    (v21 / "meta/episodes_stats.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert {"stats_mismatch", "episode_stats_mismatch"} <= codes(v21)
    before = tree(v21)

    report = repair(v21, tmp_path / "out", options=QUICK)

    out = tmp_path / "out"
    assert tree(v21) == before
    assert not {"stats_mismatch", "episode_stats_mismatch", "stats_no_quantiles"} & {p.code for p in report.remaining}
    fixed = read_json(out / "meta/stats.json")
    for key in ("action", "observation.state"):
        values = parquet_values(v21, key)
        assert_stats_describe(fixed[key], values)
        # GR00T's loader reads q01 / q99: present, and the count-weighted mean of the episodes' quantiles
        lengths = [20, 25, 18]
        starts = np.cumsum([0, *lengths])
        per_episode = [vector_stats(values[a:b], quantiles=True) for a, b in zip(starts, starts[1:], strict=False)]
        np.testing.assert_allclose(fixed[key]["q01"], aggregate(per_episode)["q01"], rtol=1e-9)
        assert np.all(np.asarray(fixed[key]["q01"]) <= np.asarray(fixed[key]["q99"]))
    episode_stats = [json.loads(line) for line in (out / "meta/episodes_stats.jsonl").read_text().splitlines()]
    assert [r["episode_index"] for r in episode_stats] == [0, 1, 2]
    state = parquet_values(v21, "observation.state")
    np.testing.assert_allclose(episode_stats[1]["stats"]["observation.state"]["max"], state[20:45].max(axis=0))


# -- indices ----------------------------------------------------------------------------------------
def test_v30_episode_and_global_index_gaps_are_renumbered(v30: Path, tmp_path: Path) -> None:
    data = v30 / "data/chunk-000/file-000.parquet"
    episode_of_row = pq.read_table(data).column("episode_index").to_pylist()
    set_column(data, "episode_index", lambda rows, _t: [2 if e == 1 else e for e in rows])
    set_column(data, "index", lambda rows, _t: [i + 7 if e == 1 else i for i, e in zip(rows, episode_of_row, strict=True)])
    meta = v30 / "meta/episodes/chunk-000/file-000.parquet"
    set_column(meta, "episode_index", lambda rows, _t: [2 if e == 1 else e for e in rows])
    set_column(meta, "dataset_from_index", lambda rows, _t: [rows[0], rows[1] + 7])
    set_column(meta, "dataset_to_index", lambda rows, _t: [rows[0], rows[1] + 7])
    assert {"episode_index_gap", "global_index"} <= codes(v30)
    before = tree(v30)

    report = repair(v30, tmp_path / "out", options=QUICK)

    out = tmp_path / "out"
    assert tree(v30) == before
    assert {"episode_index_gap", "global_index"} <= {f.code for f in report.fixes}
    assert not {"episode_index_gap", "global_index"} & {p.code for p in report.remaining}
    rows = pq.read_table(out / "data/chunk-000/file-000.parquet").to_pydict()
    assert rows["index"] == list(range(120))
    assert rows["episode_index"] == [0] * 60 + [1] * 60
    assert rows["frame_index"] == list(range(60)) * 2
    source = pq.read_table(data).to_pydict()
    assert rows["action"] == source["action"]  # the rows stay where they were: episode 2 became 1
    episodes = pq.read_table(out / "meta/episodes/chunk-000/file-000.parquet").to_pydict()
    assert episodes["episode_index"] == [0, 1]
    assert (episodes["dataset_from_index"], episodes["dataset_to_index"]) == ([0, 60], [60, 120])
    assert episodes["tasks"] == pq.read_table(meta).to_pydict()["tasks"]  # paired by name, tasks follow


def _rename_episode_v21(root: Path, old: int, new: int) -> None:
    """Move episode ``old`` of a v2.1 folder to index ``new`` everywhere (files, rows, meta)."""
    data_old = root / f"data/chunk-000/episode_{old:06d}.parquet"
    data_new = data_old.with_name(f"episode_{new:06d}.parquet")
    data_old.rename(data_new)
    set_column(data_new, "episode_index", lambda rows, _t: [new] * len(rows))
    set_column(data_new, "index", lambda rows, _t: [i + 100 for i in rows])
    for camera in ("front", "wrist"):
        video = root / f"videos/chunk-000/observation.images.{camera}/episode_{old:06d}.mp4"
        video.rename(video.with_name(f"episode_{new:06d}.mp4"))
    for name in ("episodes.jsonl", "episodes_stats.jsonl"):
        path = root / "meta" / name
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        for row in rows:
            if row["episode_index"] == old:
                row["episode_index"] = new
        path.write_text("".join(json.dumps(r) + "\n" for r in sorted(rows, key=lambda r: r["episode_index"])))


def test_v21_gaps_renumber_files_rows_and_meta_pairing_episodes_by_name(v21: Path, tmp_path: Path) -> None:
    _rename_episode_v21(v21, 1, 5)  # episodes 0, 2, 5: 2 becomes 1 and 5 (the old 1) becomes 2
    first = v21 / "data/chunk-000/episode_000000.parquet"
    set_column(first, "frame_index", lambda rows, _t: [f + (f >= 7) for f in rows])  # 0..6, 8..20: a gap
    assert {"episode_index_gap", "global_index", "frame_index"} <= codes(v21)
    before = tree(v21)

    report = repair(v21, tmp_path / "out", options=QUICK)

    out = tmp_path / "out"
    assert tree(v21) == before
    assert {"episode_index_gap", "global_index", "frame_index"} <= {f.code for f in report.fixes}
    assert not {"episode_index_gap", "global_index", "frame_index", "episode_stats_mismatch",
                "stats_mismatch"} & {p.code for p in report.remaining}
    names = sorted(p.name for p in (out / "data/chunk-000").iterdir())
    assert names == [f"episode_{i:06d}.parquet" for i in range(3)]
    index = []
    for new, old, length in ((0, 0, 20), (1, 2, 18), (2, 5, 25)):
        rows = pq.read_table(out / f"data/chunk-000/episode_{new:06d}.parquet").to_pydict()
        source = pq.read_table(v21 / f"data/chunk-000/episode_{old:06d}.parquet").to_pydict()
        assert rows["action"] == source["action"] and rows["observation.state"] == source["observation.state"]
        assert rows["episode_index"] == [new] * length and rows["frame_index"] == list(range(length))
        index += rows["index"]
        for camera in ("front", "wrist"):
            rel = f"videos/chunk-000/observation.images.{camera}/episode_{{:06d}}.mp4"
            copied, original = out / rel.format(new), v21 / rel.format(old)
            assert copied.read_bytes() == original.read_bytes()
            assert os.stat(copied).st_ino != os.stat(original).st_ino and os.stat(copied).st_nlink == 1
    assert index == list(range(63))
    lines = [json.loads(line) for line in (out / "meta/episodes.jsonl").read_text().splitlines()]
    assert [(r["episode_index"], r["length"]) for r in lines] == [(0, 20), (1, 18), (2, 25)]
    episode_stats = [json.loads(line) for line in (out / "meta/episodes_stats.jsonl").read_text().splitlines()]
    assert [r["stats"]["episode_index"]["min"] for r in episode_stats] == [[0.0], [1.0], [2.0]]
    record = read_json(out / "meta/rollout_studio_provenance.json")
    assert record["conversion"] == "repair"
    assert [(e["output_episode"], e["source_episode"]) for e in record["episodes"]] == [(0, 0), (1, 2), (2, 5)]


# -- fps --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fixture", ["v30", "v21"])
def test_fps_doubled_in_info_json_is_set_back_from_the_timestamps(
    fixture: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    root: Path = request.getfixturevalue(fixture)
    info = read_json(root / "meta/info.json")
    original = info["fps"]
    write_json(root / "meta/info.json", {**info, "fps": 2 * original})
    assert "fps_mismatch" in codes(root)
    before = tree(root)

    report = repair(root, tmp_path / "out", options=QUICK)

    assert tree(root) == before
    # the studio's v2.1 stats lack the quantiles GR00T reads: that warning is fixed on the way
    assert {f.code for f in report.fixes} - {"episode_stats_mismatch", "stats_mismatch"} == {"fps_mismatch"}
    fixed = read_json(tmp_path / "out/meta/info.json")
    assert fixed["fps"] == original and isinstance(fixed["fps"], int)
    assert not {"fps_mismatch", "video_fps", "video_timestamps", "video_frames"} & {p.code for p in report.remaining}
    assert report.errors == 0


def test_fps_is_left_alone_when_the_videos_disagree_with_the_timestamps(v21: Path, tmp_path: Path) -> None:
    """Timestamps at 15 fps but videos at 30: which one is right is a human decision."""
    for path in sorted((v21 / "data").rglob("*.parquet")):
        set_column(path, "timestamp", lambda rows, _t: [2 * t for t in rows])
    info = read_json(v21 / "meta/info.json")
    assert info["fps"] == 30

    report = repair(v21, tmp_path / "out", options=QUICK)

    assert "fps_mismatch" not in {f.code for f in report.fixes}
    assert any("videos run at 30" in note for note in report.notes)
    if report.written:
        assert read_json(tmp_path / "out/meta/info.json")["fps"] == 30


# -- files ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fixture", ["v30", "v21"])
def test_stale_staging_and_stray_files_are_not_copied(
    fixture: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    root: Path = request.getfixturevalue(fixture)
    expected = set(tree(root))
    staging = root / "data/chunk-000/.file-000.parquet.partial-999999999"
    staging.mkdir()
    (staging / "part.parquet").write_bytes(b"half a file")
    (root / "videos/notes.txt").write_text("not part of the dataset")
    (root / "meta/episodes_old.jsonl").write_text("{}\n")
    assert {"stale_partial", "unknown_file"} <= codes(root)
    before = tree(root)

    report = repair(root, tmp_path / "out", options=QUICK)

    assert tree(root) == before
    fixes = {f.code: f.what for f in report.fixes}
    assert {"stale_partial", "unknown_file"} <= set(fixes)
    assert "videos/notes.txt" in fixes["unknown_file"] and "meta/episodes_old.jsonl" in fixes["unknown_file"]
    copied = set(tree(tmp_path / "out"))
    studio_records = {".rollout_studio_output.json", "meta/rollout_studio_provenance.json"}
    assert copied - studio_records == expected - studio_records
    assert not {"stale_partial", "unknown_file"} & {p.code for p in report.remaining}


# -- output safety and the CLI ----------------------------------------------------------------------
def test_nothing_to_fix_writes_nothing(v30: Path, tmp_path: Path) -> None:
    report = repair(v30, tmp_path / "out", options=QUICK)
    assert not report.written and report.fixes == [] and not (tmp_path / "out").exists()
    assert report.errors == 0


def test_the_output_never_overlaps_the_input_and_replaces_only_the_studios_own(v30: Path, tmp_path: Path) -> None:
    (v30 / "notes.txt").write_text("stray")
    before = tree(v30)
    for inside in (v30 / "fixed", v30, tmp_path):
        with pytest.raises(StudioError):
            repair(v30, inside, options=QUICK)
    assert tree(v30) == before
    mine = tmp_path / "out"
    repair(v30, mine, options=QUICK)
    with pytest.raises(StudioError, match="already exists"):
        repair(v30, mine, options=QUICK)
    repair(v30, mine, overwrite=True, options=QUICK)  # an earlier repair: the studio's own
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "keep.txt").write_text("a user's file")
    with pytest.raises(StudioError, match="cannot replace"):
        repair(v30, theirs, overwrite=True, options=QUICK)
    assert (theirs / "keep.txt").read_text() == "a user's file"
    assert tree(v30) == before


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return cli_zygote.run(args, cwd=cwd, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)


def test_cli_fix_relative_paths_lines_exit_codes_and_json(
    v21: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from backend.cli import main

    stats = read_json(v21 / "meta/stats.json")
    stats["observation.state"]["mean"] = [10 * x for x in stats["observation.state"]["mean"]]
    write_json(v21 / "meta/stats.json", stats)
    before = tree(v21)
    monkeypatch.chdir(tmp_path)
    assert main(["validate", v21.name, "--fix"]) == 2
    assert main(["validate", v21.name, "--fix", "--out", f"{v21.name}/fixed"]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 2 and all(line.startswith("error:") for line in errors)
    assert "--out" in errors[0] and "inside the input" in errors[1]

    # a real run, as a user types it: relative paths, spaces and non-ASCII names
    done = _cli("validate", v21.name, "--fix", "--out", "réparé copy", "--sample-frames", "0", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    fixed = [line for line in done.stdout.splitlines() if line.startswith("fixed:")]
    assert any("meta/stats.json" in line and "observation.state" in line for line in fixed)
    assert done.stdout.splitlines()[-1].endswith("the copy is clean")
    assert (tmp_path / "réparé copy/meta/info.json").is_file()

    assert main(["validate", "réparé copy", "--fix", "--out", "second", "--json", "--sample-frames", "0"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["written"] is False and document["fixes"] == [] and document["ok"] is True
    assert not (tmp_path / "second").exists()
    assert tree(v21) == before
    record = read_json(tmp_path / "réparé copy/meta/rollout_studio_provenance.json")
    assert record["conversion"] == "repair" and record["inputs"][0]["path"] == str(v21)
    assert record["inputs"][0]["sha256"] == hash_input(v21)["sha256"]
    assert record["inputs"][0]["provenance"]["written_at"]  # the source's own record, chained


# -- HDF5 -------------------------------------------------------------------------------------------
def test_hdf5_fps_total_and_num_samples_attributes_are_set_from_the_data(tmp_path: Path) -> None:
    from tests.recordings import DemoSpec, RecordingSpec, write_recording

    source = write_recording(tmp_path / "rec ø.hdf5", RecordingSpec(
        [DemoSpec(20), DemoSpec(25), DemoSpec(15, success=None)], cameras=("front",), width=32, height=24,
    ))
    rng = np.random.default_rng(3)
    with h5py.File(source, "r+") as h5:
        data = h5["data"]
        for name in ("demo_0", "demo_1", "demo_2"):
            rows = data[name]["actions"].shape[0]
            ticks = 100.0 + np.arange(rows) / 30.0 + rng.uniform(-0.002, 0.002, rows)  # a 30 Hz loop, jitter
            data[name].create_dataset("extras/t", data=ticks)
        data.attrs["fps"] = 60.0
        data.attrs["total"] = 999
        data["demo_1"].attrs["num_samples"] = 7
    assert {"totals_mismatch", "num_samples"} <= codes(source)
    before = tree(tmp_path)

    report = repair(source, tmp_path / "fixed.hdf5", options=QUICK)

    assert tree(tmp_path) == {**before, **{k: v for k, v in tree(tmp_path).items() if k == "fixed.hdf5"}}
    assert {f.code for f in report.fixes} == {"fps_mismatch", "totals_mismatch", "num_samples"}
    with h5py.File(tmp_path / "fixed.hdf5", "r") as h5:
        assert h5["data"].attrs["fps"] == 30.0
        assert h5["data"].attrs["total"] == 45  # demo_2 was interrupted: not counted
        assert [int(h5["data"][f"demo_{i}"].attrs["num_samples"]) for i in range(3)] == [20, 25, 15]
        np.testing.assert_array_equal(h5["data/demo_1/actions"][()], h5py.File(source, "r")["data/demo_1/actions"][()])
        record = json.loads(h5["data"].attrs["rollout_studio_provenance"])
    assert record["conversion"] == "repair" and record["inputs"][0]["path"] == str(source)
    assert not {"totals_mismatch", "num_samples"} & {p.code for p in report.remaining}
    assert os.stat(tmp_path / "fixed.hdf5").st_ino != os.stat(source).st_ino


# -- cancel -----------------------------------------------------------------------------------------
class _CancelAt(Progress):
    """Cancels at the first report whose text starts with ``prefix``."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def report(self, done: int, total: int, text: str = "") -> None:
        if text.startswith(self.prefix):
            self.cancel()
        super().report(done, total, text)


def test_cancel_while_writing_leaves_nothing_and_cancel_while_checking_keeps_the_copy(
    v21: Path, tmp_path: Path
) -> None:
    before = tree(v21)
    with pytest.raises(Cancelled):
        repair(v21, tmp_path / "out", progress=_CancelAt("copying"), options=QUICK)
    assert not (tmp_path / "out").exists()
    assert not [p.name for p in tmp_path.iterdir() if ".partial-" in p.name]
    report = repair(v21, tmp_path / "out", progress=_CancelAt("checking"), options=QUICK)
    assert report.written and not report.checked and (tmp_path / "out/meta/info.json").is_file()
    assert any("not checked" in note for note in report.notes)
    assert tree(v21) == before


def test_repeated_episode_lines_are_dropped_once(v21: Path, tmp_path: Path) -> None:
    path = v21 / "meta/episodes.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], lines[1], lines[1], lines[2]]) + "\n")
    assert "episode_index_duplicate" in codes(v21)

    report = repair(v21, tmp_path / "out", options=QUICK)

    assert "episode_index_duplicate" in {f.code for f in report.fixes}
    assert (tmp_path / "out/meta/episodes.jsonl").read_text().splitlines() == lines
    assert "episode_index_duplicate" not in {p.code for p in report.remaining}


# -- property: any gaps in the episode indices ------------------------------------------------------
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    indices=st.lists(st.integers(0, 40), min_size=2, max_size=4, unique=True).map(sorted),
    lengths=st.lists(st.integers(3, 12), min_size=4, max_size=4),
)
def test_property_any_index_gaps_renumber_in_order_keeping_each_episodes_rows(
    tmp_path_factory: pytest.TempPathFactory, indices: list[int], lengths: list[int]
) -> None:
    tmp = tmp_path_factory.mktemp("gaps")
    root = write_small_lerobot(tmp / "in", lengths[: len(indices)], cameras=())
    for position in reversed(range(len(indices))):  # highest first: a new name never meets an old one
        if indices[position] != position:
            data_old = root / f"data/chunk-000/episode_{position:06d}.parquet"
            data_new = data_old.with_name(f"episode_{indices[position]:06d}.parquet")
            data_old.rename(data_new)
            set_column(data_new, "episode_index", lambda rows, _t, new=indices[position]: [new] * len(rows))
            for name in ("episodes.jsonl", "episodes_stats.jsonl"):
                path = root / "meta" / name
                rows = [json.loads(line) for line in path.read_text().splitlines()]
                for row in rows:
                    if row["episode_index"] == position:
                        row["episode_index"] = indices[position]
                path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    before = tree(root)

    report = repair(root, tmp / "out", options=QUICK)

    assert tree(root) == before
    out = tmp / "out"
    offset = 0
    for new, old in enumerate(indices):
        rows = pq.read_table(out / f"data/chunk-000/episode_{new:06d}.parquet").to_pydict()
        source = pq.read_table(root / f"data/chunk-000/episode_{old:06d}.parquet").to_pydict()
        assert rows["action"] == source["action"]  # paired by name: episode `old` became `new`
        assert rows["episode_index"] == [new] * lengths[new]
        assert rows["index"] == list(range(offset, offset + lengths[new]))
        offset += lengths[new]
    assert not {"episode_index_gap", "global_index", "episode_stats_mismatch", "stats_mismatch"} & {
        p.code for p in report.remaining
    }
