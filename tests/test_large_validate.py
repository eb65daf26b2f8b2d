"""Large-dataset checks on small data: LeRobot v3.0 validation reads each data file once and checks
episodes vectorised; it must find what the per-episode path finds, and ``validate --quick`` must find
each defect it claims to check, naming the file."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from backend.cli import main as cli_main
from backend.formats.lerobot.reader import open_lerobot
from backend.formats.lerobot.stats_check import StatsCheck, episode_stats
from backend.formats.lerobot.validate import validate_lerobot
from backend.formats.lerobot.validate_data import check_episodes, grouped_stats
from backend.formats.lerobot.validate_report import Report

REPO = Path(__file__).resolve().parents[1]
EPISODES, FRAMES, PER_FILE = 12, 20, 5  # three data files and three video files of up to 5 episodes


def _generator():
    spec = importlib.util.spec_from_file_location("make_large_dataset", REPO / "benchmarks" / "make_large_dataset.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("large") / "v30"
    return _generator().make_large_dataset(out, EPISODES, FRAMES, (32, 24), "v3.0", PER_FILE)


def _copy(source: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(source, target)
    return target


def _rewrite(path: Path, change) -> None:
    """Rewrite a parquet file with ``change(columns)`` applied (same schema, same row groups)."""
    table = pq.read_table(path)
    columns = {name: table.column(name) for name in table.column_names}
    change(columns)
    rows = max(1, pq.ParquetFile(path).metadata.row_group(0).num_rows)
    pq.write_table(pa.table(columns, schema=table.schema), path, row_group_size=rows)


def _per_episode_and_vectorised(path: Path) -> tuple[list, list]:
    out = []
    for vectorised in (False, True):
        dataset = open_lerobot(path)
        with dataset:
            report = Report(path)
            stats = StatsCheck(dataset)
            check_episodes(report, dataset, stats, vectorised=vectorised)
            out.append(sorted(p.text() for p in report.problems + stats.finish()))
    return out[0], out[1]


def test_generated_dataset_is_clean_and_holds_its_values(generated: Path) -> None:
    assert validate_lerobot(generated) == []
    assert validate_lerobot(generated, quick=True) == []
    info = json.loads((generated / "meta" / "info.json").read_text())
    assert (info["total_episodes"], info["total_frames"]) == (EPISODES, EPISODES * FRAMES)
    assert len(list((generated / "data" / "chunk-000").glob("*.parquet"))) == 3
    values = _generator().episode_actions(np.arange(EPISODES), FRAMES)
    with open_lerobot(generated) as dataset:
        assert [e.index for e in dataset.episodes] == list(range(EPISODES))
        assert [e.length for e in dataset.episodes] == [FRAMES] * EPISODES
        assert dataset.episodes[4].task == "Lift the red cube up."
        episode = dataset.episodes[7]  # second file
        np.testing.assert_array_equal(episode.array("action"), values[7, 1:])
        np.testing.assert_array_equal(episode.array("observation.state"), values[7, :-1])
        frame = episode.stream("front").frame(FRAMES - 1)
        assert frame.shape[:2] == (24, 32)


def test_grouped_stats_equal_per_episode_stats() -> None:
    rng = np.random.default_rng(3)
    lengths = np.array([1, 7, 3, 12])
    values = rng.normal(size=(int(lengths.sum()), 6)).astype(np.float32)
    grouped = grouped_stats(values, lengths)
    start = 0
    for k, n in enumerate(lengths):
        one = episode_stats(values[start : start + n])
        for stat in ("min", "max", "mean", "std"):
            np.testing.assert_allclose(grouped[stat][k], one[stat], rtol=1e-12, atol=1e-12)
        assert grouped["count"][k, 0] == one["count"][0] == n
        start += n


def test_vectorised_checks_find_what_the_per_episode_checks_find(generated: Path, tmp_path: Path) -> None:
    path = _copy(generated, tmp_path)
    data = path / "data" / "chunk-000"

    def plant(columns: dict) -> None:
        ts = columns["timestamp"].to_numpy().copy()
        ts[2 * FRAMES + 5 : 3 * FRAMES] += np.float32(0.1)  # episode 2: a gap after frame 4
        frame = columns["frame_index"].to_numpy().copy()
        frame[3 * FRAMES + 2] = 7  # episode 3: frame 2 numbered 7
        action = columns["action"].combine_chunks().flatten().to_numpy().copy()
        action[(4 * FRAMES + 3) * 6] = np.nan  # episode 4: NaN
        columns["timestamp"] = pa.array(ts, pa.float32())
        columns["frame_index"] = pa.array(frame, pa.int64())
        columns["action"] = pa.FixedSizeListArray.from_arrays(pa.array(action, pa.float32()), 6)

    _rewrite(data / "file-000.parquet", plant)
    one_by_one, vectorised = _per_episode_and_vectorised(path)
    assert one_by_one == vectorised
    joined = "\n".join(vectorised)
    assert "timestamp of episode 2" in joined and "frame_index of episode 3" in joined
    assert "action of episode 4" in joined


def test_vectorised_checks_match_on_real_data(shared_data: Path) -> None:
    real = shared_data / "lerobot061_so101_v30_h264"
    if not real.is_dir():
        pytest.skip(f"{real} is absent")
    one_by_one, vectorised = _per_episode_and_vectorised(real)
    assert one_by_one == vectorised
    full, quick = validate_lerobot(real), validate_lerobot(real, quick=True)
    assert [p for p in full if p.severity == "error"] == []
    assert [p for p in quick if p.severity == "error"] == []


def _quick(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict]]:
    capsys.readouterr()
    code = cli_main(["validate", "--quick", "--json", str(path)])
    return code, json.loads(capsys.readouterr().out)["findings"]


def test_quick_clean_exits_0(generated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _quick(generated, capsys)
    assert (code, findings) == (0, [])


def test_quick_finds_a_wrong_index_and_a_timestamp_gap(
    generated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _copy(generated, tmp_path)
    target = path / "data" / "chunk-000" / "file-001.parquet"  # episodes 5..9

    def plant(columns: dict) -> None:
        index = columns["index"].to_numpy().copy()
        index[FRAMES : 2 * FRAMES] += 1000  # episode 6
        ts = columns["timestamp"].to_numpy().copy()
        ts[3 * FRAMES + 10 : 4 * FRAMES] += np.float32(0.5)  # episode 8: half a second missing
        frame = columns["frame_index"].to_numpy().copy()
        frame[2 * FRAMES + 4] = 3  # episode 7: frame 3 twice
        columns["index"], columns["timestamp"] = pa.array(index), pa.array(ts, pa.float32())
        columns["frame_index"] = pa.array(frame)

    _rewrite(target, plant)
    code, findings = _quick(path, capsys)
    assert code == 1
    by_code = {f["code"]: f for f in findings}
    assert by_code["timestamps"]["episode"] == "episode 8"
    assert by_code["timestamps"]["file"] == str(target)
    assert by_code["frame_index"]["episode"] == "episode 7" and by_code["frame_index"]["file"] == str(target)
    assert "episodes 6" in by_code["global_index"]["what"]


def test_quick_finds_stats_mismatches(generated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _copy(generated, tmp_path)
    meta = path / "meta" / "episodes" / "chunk-000" / "file-000.parquet"

    def plant(columns: dict) -> None:
        mean = columns["stats/action/mean"].to_pylist()
        mean[9] = [v + 5.0 for v in mean[9]]
        columns["stats/action/mean"] = pa.array(mean, columns["stats/action/mean"].type)

    _rewrite(meta, plant)
    stats_path = path / "meta" / "stats.json"
    stats = json.loads(stats_path.read_text())
    stats["observation.state"]["max"][2] += 3.0
    stats_path.write_text(json.dumps(stats))
    code, findings = _quick(path, capsys)
    assert code == 1
    by_code = {f["code"]: f for f in findings}
    assert by_code["episode_stats_mismatch"]["episode"] == "episode 9"
    assert by_code["episode_stats_mismatch"]["file"].endswith("meta/episodes")
    assert "stats of observation.state" in by_code["stats_mismatch"]["what"]
    assert by_code["stats_mismatch"]["file"] == str(stats_path)


def test_quick_finds_a_video_shorter_than_its_episode(
    generated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _copy(generated, tmp_path)
    meta = path / "meta" / "episodes" / "chunk-000" / "file-000.parquet"
    key = "videos/observation.images.front"

    def plant(columns: dict) -> None:  # episode 4, the last of the first video file, starts a second late
        for part in ("from_timestamp", "to_timestamp"):
            values = columns[f"{key}/{part}"].to_numpy().copy()
            values[4] += 1.0
            columns[f"{key}/{part}"] = pa.array(values)

    _rewrite(meta, plant)
    code, findings = _quick(path, capsys)
    assert code == 1
    frames = [f for f in findings if f["code"] == "video_frames"]
    assert [f["episode"] for f in frames] == ["episode 4"]
    assert frames[0]["file"] == str(path / "videos" / "observation.images.front" / "chunk-000" / "file-000.mp4")
    assert f"the video ends after 0 of {FRAMES} frames" in frames[0]["what"]


def test_quick_on_v21_finds_what_the_full_format_check_finds(tmp_path: Path) -> None:
    path = _generator().make_large_dataset(tmp_path / "v21", 3, 10, (32, 24), "v2.1")
    assert validate_lerobot(path, quick=True) == validate_lerobot(path) == []
    episodes = path / "meta" / "episodes.jsonl"
    rows = [json.loads(line) for line in episodes.read_text().splitlines()]
    rows[1]["length"] = 12  # the parquet and the video hold 10
    episodes.write_text("".join(json.dumps(r) + "\n" for r in rows))
    quick = {(p.code, p.episode) for p in validate_lerobot(path, quick=True) if p.severity == "error"}
    full = {(p.code, p.episode) for p in validate_lerobot(path) if p.severity == "error"}
    assert ("video_frames", "episode 1") in quick
    assert quick == full
