"""`convert hdf5-to-lerobot ... --on slurm --shards N`, `convert join`, and the steps Slurm runs.

``--on slurm`` checks everything here, writes the staging folder's spec and queues one studio job
(``convert sharded-step watch SPEC``, on this machine) that submits the Slurm array and the join and
shows "N of M shards converted"; ``--wait`` waits for it. The array tasks run
``convert sharded-step shard SPEC K`` and the join task ``convert sharded-step join SPEC``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from backend.cli._common import TerminalProgress, path_type, print_json


def add_flags(parser: argparse.ArgumentParser) -> None:
    """The hdf5-to-lerobot flags of a sharded run."""
    parser.add_argument(
        "--on",
        default="local",
        choices=["local", "slurm"],
        help="slurm: convert contiguous episode ranges as a Slurm array job, then join them (a queue job)",
    )
    parser.add_argument("--shards", type=int, default=4, help="with --on slurm: how many array tasks (4)")
    parser.add_argument("--wait", action="store_true", help="with --on slurm: wait for the queue job to end")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("join", help="join LeRobot datasets written by the studio into one (exactly)")
    p.add_argument("shards", nargs="+", type=path_type, metavar="DATASET")
    p.add_argument("--out", required=True, type=path_type)
    p.add_argument("--overwrite", action="store_true", help="replace an earlier output of the studio")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_run_join)

    p = sub.add_parser("sharded-step", help=argparse.SUPPRESS)
    p.add_argument("step", choices=["shard", "join", "watch"])
    p.add_argument("spec", type=path_type)
    p.add_argument("index", type=int, nargs="?", default=0)
    p.set_defaults(func=_run_step)


def run_on_slurm(args: argparse.Namespace, inputs: list[Path], options: Any) -> int:
    from backend.convert import sharded
    from backend.jobs import service
    from backend.jobs.paths import default_db_path
    from backend.jobs.store import JobStore

    with JobStore(default_db_path()) as store:
        result = sharded.queue(inputs, options, args.shards, store)
        job_id = result["details"]["queued_job"]
        print(
            f"queued job {job_id}: {result['details']['shards']} shards on Slurm, then a join into {options.out}"
        )
        if not args.wait:
            return 0
        return service.exit_status(service.wait(store, job_id))


def _run_join(args: argparse.Namespace) -> int:
    from backend.formats.lerobot.join import join

    summary = join(
        list(args.shards), args.out, overwrite=args.overwrite, progress=TerminalProgress("join", args.quiet)
    )
    if args.json:
        print_json(summary.__dict__)
    else:
        print(
            f"wrote {summary.output}: {summary.episodes} episodes, {summary.frames} frames from {summary.shards} datasets"
        )
    return 0


def _run_step(args: argparse.Namespace) -> int:
    from backend.convert import sharded

    progress = TerminalProgress(f"sharded {args.step}")
    if args.step == "shard":
        sharded.run_shard(args.spec, args.index, progress)
    elif args.step == "join":
        sharded.run_join(args.spec, progress)
    else:
        sharded.watch(args.spec, progress)
    return 0
