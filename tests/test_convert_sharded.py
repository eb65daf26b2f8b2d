"""Sharded conversions: shards joined exactly equal a one-run conversion; Slurm array runs; cancel.

The join tests convert a few tiny demos once in one run and once as contiguous shards (the shard
plans of backend/convert/sharded.py) and compare every parquet value, every decoded frame, the
episode / task lists and the stats (float tolerance: relative 1e-9, see join.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from recordings import DemoSpec, RecordingSpec, write_recording
from test_jobs_fakes import wait_for
from video_diff import describe

from backend.cli import main as cli_main
from backend.convert import hdf5_to_lerobot as h2l
from backend.convert import sharded
from backend.errors import StudioError
from backend.formats import open_dataset
from backend.formats.lerobot.join import join
from backend.formats.lerobot.validate import validate_lerobot
from backend.jobs import array, service
from backend.jobs.store import CANCELLED, SUCCEEDED

pytest_plugins = ["test_jobs_fakes", "slurm_cluster"]

LENGTHS = [(12, 14, 11), (13, 9, 12, 3)]  # two files; the 3-frame demo is skipped (too short)


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("sharded_src")
    paths = []
    for n, lengths in enumerate(LENGTHS):
        spec = RecordingSpec([DemoSpec(length) for length in lengths], width=32, height=24)
        paths.append(write_recording(root / f"rec{n}.hdf5", spec))
    return paths


def _options(out: Path, fmt: str, **kw) -> h2l.Hdf5ToLerobotOptions:
    # one camera: a conversion's cost here is mostly starting its encoder process
    return h2l.Hdf5ToLerobotOptions(out=out, task="pick the orange", format=fmt, cameras=["front"], **kw)


def data_columns(root: Path) -> dict[str, np.ndarray]:
    tables = [pq.read_table(p) for p in sorted((root / "data").rglob("*.parquet"))]
    columns: dict[str, list] = {}
    for table in tables:
        for name in table.column_names:
            columns.setdefault(name, []).extend(table.column(name).to_pylist())
    order = np.argsort(np.asarray(columns["index"]))
    return {name: np.asarray(values)[order] for name, values in columns.items()}


def _frame_difference(sa, sb, episode: int, cam: str, i: int) -> str:
    """Episode ``episode``'s frame ``i`` differs: is it the files (a sequential PyAV decode differs
    too: encoding) or how the frame was found (the stream's frame differs from that decode)?"""
    import av  # noqa: PLC0415

    lines = [f"episode {episode} {cam} frame {i}"]
    decoded = []
    for name, stream in (("joined", sa), ("single", sb)):
        index = stream.file_index(i)
        with av.open(str(stream.path)) as container:
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        found = stream.frame(i)
        lines.append(
            f"{name}: {stream.path} file frame {index} of {len(frames)}; stream frame equals the sequential"
            f" decode: {np.array_equal(found, frames[index])}; nearest sequential frames to it:"
            f" {sorted(range(len(frames)), key=lambda k: float(np.abs(frames[k].astype(int) - found).mean()))[:3]}"
        )
        decoded.append(frames[index].astype(int))
    lines.append(f"sequential decodes differ by max {int(np.abs(decoded[0] - decoded[1]).max())}")
    lines.append(describe(Path(sa.path), Path(sb.path)))
    return "\n".join(lines)


def assert_same_dataset(joined: Path, single: Path) -> None:
    assert validate_lerobot(joined) == [] or all(p.severity != "error" for p in validate_lerobot(joined))
    a, b = data_columns(joined), data_columns(single)
    assert sorted(a) == sorted(b)
    for name in a:
        assert np.array_equal(a[name], b[name]), name
    assert np.array_equal(a["index"], np.arange(len(a["index"])))
    info_a = json.loads((joined / "meta/info.json").read_text())
    info_b = json.loads((single / "meta/info.json").read_text())
    assert info_a == info_b
    stats_a = json.loads((joined / "meta/stats.json").read_text())
    stats_b = json.loads((single / "meta/stats.json").read_text())
    assert list(stats_a) == list(stats_b)
    for key, entry in stats_b.items():
        assert sorted(stats_a[key]) == sorted(entry), key
        for stat, value in entry.items():
            np.testing.assert_allclose(
                stats_a[key][stat], value, rtol=1e-9, atol=1e-12, err_msg=f"{key}/{stat}"
            )
    with open_dataset(joined) as ja, open_dataset(single) as sb:
        assert [e.length for e in ja.episodes] == [e.length for e in sb.episodes]
        assert [e.tasks if hasattr(e, "tasks") else None for e in ja.episodes] == [
            e.tasks if hasattr(e, "tasks") else None for e in sb.episodes
        ]
        assert sorted(ja.cameras) == sorted(sb.cameras)
        for ea, eb in zip(ja.episodes, sb.episodes, strict=True):
            for cam in sb.cameras:
                sa, sb_ = ea.stream(cam), eb.stream(cam)
                try:
                    assert sa.num_frames == sb_.num_frames == eb.length
                    for i in range(eb.length):
                        if not np.array_equal(sa.frame(i), sb_.frame(i)):
                            raise AssertionError(_frame_difference(sa, sb_, ea.index, cam, i))
                finally:
                    sa.close()
                    sb_.close()
    prov_a = json.loads((joined / "meta/rollout_studio_provenance.json").read_text())
    prov_b = json.loads((single / "meta/rollout_studio_provenance.json").read_text())
    strip = ("output_episode", "input", "source_path", "source_episode", "frame_offset", "length")
    assert [[e[k] for k in strip] for e in prov_a["episodes"]] == [
        [e[k] for k in strip] for e in prov_b["episodes"]
    ]


@pytest.mark.slow  # four tiny conversions (about 1 s each, most of it starting encoders)
@pytest.mark.parametrize("fmt", ["v2.1", "v3.0"])
def test_shards_joined_equal_one_run(tmp_path, sources, fmt):
    single = tmp_path / "single"
    tasks = {str(sources[0]): "pick the orange", str(sources[1]): "place the orange"}  # shard 2: only one
    h2l.run(sources, _options(single, fmt, tasks=tasks))
    plans = sharded.plan_shards(sources, _options(tmp_path / "out", fmt, tasks=tasks), 3)
    assert [len(p.expected) for p in plans] == [2, 2, 1]  # demo_1 of rec1 is too short: skipped
    a, b = str(sources[0]), str(sources[1])
    assert [e for p in plans for e in p.expected] == [[a, 0], [a, 1], [a, 2], [b, 0], [b, 2]]
    assert plans[1].inputs == [a, b] and plans[1].demos == {a: [2], b: [0]}
    shards = []
    for plan in plans:
        out = tmp_path / f"shard{plan.index}"
        sharded.convert_shard(sources, _options(out, fmt, tasks=tasks), plan)
        shards.append(out)
    joined = tmp_path / "joined"
    summary = join(shards, joined)
    assert (summary.episodes, summary.shards) == (5, 3)
    assert_same_dataset(joined, single)
    assert all((s / "meta/info.json").is_file() for s in shards)  # inputs untouched without move_videos


def _leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}") or p == out)


@pytest.mark.slow  # a real one-node Slurm: 4 array tasks and the join, against a 1-worker local run
def test_slurm_four_shards_equal_one_worker_run(jobs_env, slurm_cluster, sources, tmp_path):
    single = tmp_path / "single"
    one_worker = {"jobs": 1} if "jobs" in h2l.Hdf5ToLerobotOptions.__dataclass_fields__ else {}
    h2l.run(sources, _options(single, "v3.0", **one_worker))
    out = tmp_path / "out" / "joined"
    plans = sharded.plan_shards(sources, _options(out, "v3.0"), 4)
    assert [len(p.expected) for p in plans] == [2, 1, 1, 1]
    argv = ["convert", "hdf5-to-lerobot", *map(str, sources), "--out", str(out), "--format", "v3.0"]
    argv += ["--task", "pick the orange", "--cameras", "front", "--on", "slurm", "--shards", "4", "--wait"]
    assert cli_main(argv) == 0
    store = jobs_env.store()
    [job] = store.list_jobs()
    job = store.get(job.id)
    assert job.state == SUCCEEDED, Path(job.log_path).read_text()
    assert (job.progress_done, job.progress_total) == (4, 4)  # the queue showed "N of 4 shards"
    assert_same_dataset(out, single)
    assert _leftovers(out) == ["joined"]  # staging removed, no partial sibling


@pytest.mark.slow
def test_slurm_cancel_leaves_nothing(jobs_env, slurm_cluster, sources, tmp_path):
    out = tmp_path / "out" / "cancelled"
    spec = sharded.prepare(sources, _options(out, "v2.1"), 4)
    logs = spec.parent / "logs"
    store = jobs_env.store()
    job_id = sharded.submit(store, spec)
    wait_for(lambda: (logs / "task-0.log").exists(), timeout=90, what="the first array task started")
    ids = (logs / "slurm-ids").read_text().split()
    assert len(ids) == 2  # the array and the join
    service.cancel(store, job_id)
    job = service.wait(store, job_id, timeout=90)
    assert job.state == CANCELLED
    assert not out.exists()
    assert _leftovers(out) == []  # no staging, no shards, no partial output
    assert array.wait_gone(ids, timeout=30)  # every task and the join left the Slurm queue


def test_session_forwards_slurm_choice_and_prepare_stages(tmp_path, sources):
    from backend.sessions.convert import ConvertSession, call_queue_sharded, call_run

    session = ConvertSession(key="hdf5_to_lerobot", workspace=tmp_path)
    session.set_sources([str(p) for p in sources])
    session.set_where("slurm", 3)
    fn, args = session.run_call()
    assert fn is call_queue_sharded and args[0] is sharded and args[3] == 3
    session.set_where("local")
    assert session.run_call()[0] is call_run
    with pytest.raises(ValueError):
        session.set_where("cloud")
    # staging beside the output: the spec lists each shard's demos; a second run into it is refused
    out = tmp_path / "datasets" / "x"
    spec = sharded.prepare(sources, _options(out, "v3.0"), 2)
    data = sharded.read_spec(spec)
    assert spec.parent == tmp_path / "datasets" / ".x.shards"
    assert [s["demos"] for s in data["shards"]] == [{str(sources[0]): [0, 1, 2]}, {str(sources[1]): [0, 2]}]
    with pytest.raises(StudioError, match="under way"):
        sharded.prepare(sources, _options(out, "v3.0"), 2)
    sharded.remove_staging(spec.parent)
    assert not spec.parent.exists() and not out.exists()
