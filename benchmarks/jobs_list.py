"""Listing speed of the job store with 10,000 jobs (what `jobs list` and the Jobs pane read).

    python benchmarks/jobs_list.py [--jobs 10000] [--repeat 20]

Prints JSON: median / p95 / max milliseconds for the light listing (all columns the table shows),
the full-row read as a baseline, an incremental "changed since" read, and the CLI's JSON listing.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.jobs.store import FAILED, RUNNING, SUCCEEDED, JobStore  # noqa: E402


def fill(store: JobStore, n: int) -> None:
    """n jobs with realistic blobs (a full template, a profile, a run spec: a few kB per job)."""
    try:
        from backend.jobs.templates import load_templates

        spec = json.dumps(load_templates().get("cosmos-posttrain").raw)
    except ImportError:  # a bare interpreter without pyyaml/jsonschema: a blob of the same size
        spec = json.dumps({"name": "cosmos-posttrain", "description": "x" * 3000})
    params = {"output_root": "/data/cosmos/out", "max_iter": 1000, "nproc": 8, "run_name": "so101_pick"}
    argv = [
        "/envs/cosmos/bin/python",
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=8",
        "-m",
        "scripts.train",
    ]
    profile = {
        "name": "cosmos",
        "tool": "cosmos-predict2.5",
        "repo": "/src/cosmos-predict2.5",
        "python": argv[:1],
    }
    now = time.time()
    jobs, specs = [], []
    for i in range(1, n + 1):
        state = (SUCCEEDED, FAILED, RUNNING)[i % 3] if i <= n - 5 else RUNNING
        jobs.append(
            (
                i,
                f"job {i}",
                "cosmos-posttrain",
                "local",
                "cosmos",
                state,
                i % 5,
                now - n + i,
                now - n + i + 1,
                float(i % 1000),
                1000.0,
                f"{i % 1000}/1000 iter · loss 0.1",
                0.1,
                i,
                f"/x/logs/{i}",
                f"/x/logs/{i}/attempt-1.log",
            )
        )
        specs.append(
            (
                i,
                "/src/cosmos-predict2.5",
                "/home/me",
                json.dumps(argv),
                json.dumps({"PYTHONPATH": "."}),
                json.dumps(params),
                spec,
                json.dumps(profile),
                json.dumps({"argv": argv, "artifacts": []}),
            )
        )
    with store.tx():
        store.conn.executemany(
            "INSERT INTO jobs(id, name, template, runner, profile, state, priority, created_at, started_at, "
            "progress_done, progress_total, progress_text, loss, rev, job_dir, log_path) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            jobs,
        )
        store.conn.executemany("INSERT INTO job_specs VALUES (?,?,?,?,?,?,?,?,?)", specs)
        store.conn.execute("UPDATE meta SET value=? WHERE key='rev'", (n,))


def timed(fn, repeat: int) -> dict[str, float]:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return {
        "median_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[int(0.95 * (len(samples) - 1))], 2),
        "max_ms": round(samples[-1], 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "jobs.sqlite"
        store = JobStore(db)
        t0 = time.perf_counter()
        fill(store, args.jobs)
        fill_s = time.perf_counter() - t0
        store.close()
        reader = JobStore(db)  # a fresh connection, as a new CLI process or the GUI would open
        listed = reader.list_jobs()
        assert len(listed) == args.jobs
        rev = reader.revision()[0]

        try:
            from backend.cli import build_parser
            from backend.cli import main as cli_main

            build_parser()
        except ImportError:  # the CLI's other commands need the full environment
            cli_main = None

        def cli_list() -> None:
            with contextlib.redirect_stdout(io.StringIO()):
                cli_main(["jobs", "list", "--json", "--db", str(db)])

        def cli_list_table() -> None:
            with contextlib.redirect_stdout(io.StringIO()):
                cli_main(["jobs", "list", "--db", str(db)])

        result = {
            "benchmark": "jobs_list",
            "jobs": args.jobs,
            "repeat": args.repeat,
            "fill_s": round(fill_s, 2),
            "list_jobs": timed(reader.list_jobs, args.repeat),
            "baseline_raw_select_with_blobs": timed(
                lambda: reader.conn.execute("SELECT * FROM jobs JOIN job_specs ON job_id = id").fetchall(),
                args.repeat,
            ),
            "list_active_only": timed(lambda: reader.list_jobs(states=[RUNNING]), args.repeat),
            "changed_since_last_10": timed(lambda: reader.changed_since(rev - 10), args.repeat),
            "cli_jobs_list_table": timed(cli_list_table, max(3, args.repeat // 4)) if cli_main else None,
            "cli_jobs_list_json": timed(cli_list, max(3, args.repeat // 4)) if cli_main else None,
            "target": "list_jobs median < 100 ms",
            "cpu_count": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2),
            "python": sys.version.split()[0],
        }
        result["ok"] = result["list_jobs"]["median_ms"] < 100
        reader.close()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
