"""hdf5-to-lerobot as shards: contiguous episode ranges converted apart (Slurm array tasks), then joined.

``plan_shards`` splits the kept episodes (in output order, from ``hdf5_to_lerobot.plan``) into
contiguous slices; shard k converts its slice with the converter's own demo selection
(``Hdf5ToLerobotOptions.demos``) into ``<staging>/shard-KKK`` and checks that its episodes came out in
the slice's order; the final step joins the shards into the output exactly
(backend/formats/lerobot/join.py, videos moved, never re-encoded) and removes the staging.

On Slurm (``backend/jobs/array.py``): ``prepare`` checks the output, makes the staging folder (beside
the output, ``.<name>.shards``, on the same filesystem so the join renames) and writes ``spec.json``;
``watch`` submits the array (one task per shard) and the join task (``afterok`` on the array), reports
"N of M shards converted" and, when cancelled, cancels every task and removes the staging. The queue
runs ``watch`` as a studio job, so the jobs pane shows that progress and its Cancel stops everything.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from backend.atomic import register_state_root, remove_empty_dir, remove_path
from backend.convert import hdf5_to_lerobot as h2l
from backend.convert.common import check_output_target
from backend.errors import Cancelled, FormatError, StudioError
from backend.formats.lerobot.join import JoinSummary, join
from backend.jsonable import to_jsonable
from backend.progress import Progress, ensure_progress

SPEC_NAME = "spec.json"
POLL_S = 0.5


@dataclass
class ShardPlan:
    index: int
    inputs: list[str]  # the input files of this slice, in input order
    demos: dict[str, list[int]]  # file -> demo numbers (the converter's selection)
    expected: list[list[Any]] = field(default_factory=list)  # [file, demo] per output episode, in order


def plan_shards(inputs: list[Path], options: h2l.Hdf5ToLerobotOptions, shards: int) -> list[ShardPlan]:
    """Contiguous slices of the kept episodes (at most ``shards``, sizes differing by one at most)."""
    if shards < 1:
        raise StudioError(f"--shards must be at least 1, got {shards}")
    plan = h2l.plan([Path(p) for p in inputs], replace(options, overwrite=True))
    problems = [e for e in plan.errors if "already exists" not in e]
    if problems:
        first = Path(inputs[0]) if inputs else None
        # the plan's lines name their file already ("PATH: problem")
        raise StudioError(problems[0], None if first is None or str(first) in problems[0] else first)
    kept = sorted(plan.kept, key=lambda e: e.output_index)
    count = min(shards, len(kept))
    plans = []
    start = 0
    for k in range(count):
        size = len(kept) // count + (1 if k < len(kept) % count else 0)
        part = kept[start : start + size]
        start += size
        demos: dict[str, list[int]] = {}
        for entry in part:
            demos.setdefault(entry.source, []).append(int(entry.source_index))
        order = [str(p) for p in inputs if str(p) in demos]
        plans.append(ShardPlan(k, order, demos, [[e.source, int(e.source_index)] for e in part]))
    return plans


def convert_shard(
    inputs: list[Path],
    options: h2l.Hdf5ToLerobotOptions,
    shard: ShardPlan,
    progress: Progress | None = None,
) -> None:
    """Convert one slice into ``options.out`` and check its episodes are the slice, in order."""
    options = replace(options, demos=shard.demos)
    h2l.run([Path(p) for p in shard.inputs], options, progress)
    record = json.loads((Path(options.out) / "meta/rollout_studio_provenance.json").read_text("utf-8"))
    got = [[str(e["source_path"]), int(e["source_episode"])] for e in record.get("episodes", [])]
    want = [[str(Path(p).absolute()), int(d)] for p, d in shard.expected]
    if got != want:
        remove_path(options.out)
        raise FormatError(
            f"shard {shard.index} wrote its episodes as {got[:3]}..., expected {want[:3]}...", options.out
        )


# --------------------------------------------------------------------------------------------------
# the spec file shared by the submitting process, the array tasks and the join task


def staging_for(out: Path) -> Path:
    out = Path(out).absolute()
    return out.parent / f".{out.name}.shards"


def shard_dir(staging: Path, index: int) -> Path:
    return Path(staging) / f"shard-{index:03d}"


def _options_from(data: dict[str, Any]) -> h2l.Hdf5ToLerobotOptions:
    data = dict(data)
    data["out"] = Path(data["out"])
    return h2l.Hdf5ToLerobotOptions(**data)


def _refuse_subtasks(inputs: list[Path], options: h2l.Hdf5ToLerobotOptions) -> None:
    """The join does not merge subtask columns yet: demos that carry subtasks are refused rather than
    joined without them (or with one shard's subtask indices read as another's)."""
    if options.subtasks == "none":
        return
    from backend.formats import open_dataset
    from backend.subtask_import import dataset_subtasks

    for path in inputs:
        with contextlib.closing(open_dataset(path)) as dataset:
            if dataset_subtasks(dataset):
                raise StudioError(
                    "its demos carry subtasks, which a sharded conversion cannot join yet",
                    path,
                    "convert on this machine (without --on slurm), or add --subtasks none to leave them out",
                )


def prepare(inputs: list[Path], options: h2l.Hdf5ToLerobotOptions, shards: int) -> Path:
    """Check everything, make the staging folder and write its spec; returns the spec's path."""
    inputs = [Path(p).absolute() for p in inputs]
    out = Path(options.out).absolute()
    check_output_target(out, options.overwrite, inputs)
    plans = plan_shards(inputs, options, shards)
    _refuse_subtasks(inputs, options)
    staging = staging_for(out)
    register_state_root(staging.parent)  # only for this process: the staging folder is the studio's
    if staging.exists():
        raise StudioError(
            "a sharded conversion into this output is under way (or was killed)",
            staging,
            "cancel it in the queue, or remove that folder",
        )
    staging.mkdir(parents=True)
    spec = {
        "schema": "rollout_studio.sharded/1",
        "inputs": [str(p) for p in inputs],
        "options": to_jsonable(asdict(replace(options, out=out))),
        "out": str(out),
        "staging": str(staging),
        "shards": [asdict(p) for p in plans],
    }
    path = staging / SPEC_NAME
    path.write_text(json.dumps(spec, indent=1), encoding="utf-8")
    return path


def read_spec(path: Path) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise StudioError(f"cannot read the sharded conversion's spec ({error})", path) from None


def remove_staging(staging: Path) -> None:
    """Remove the staging folder (its shards, logs and spec) through backend/atomic.py."""
    staging = Path(staging)
    register_state_root(staging)
    if staging.is_dir():
        for child in sorted(staging.iterdir()):
            remove_path(child)
    remove_empty_dir(staging)


@contextlib.contextmanager
def _stop_on_sigterm():
    """SIGTERM (scancel, the queue's Cancel) raises Cancelled, so partial outputs are removed."""

    def stop(_signum: int, _frame: object) -> None:
        raise Cancelled()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_shard(spec_path: Path, index: int, progress: Progress | None = None) -> None:
    """Array task ``index``: convert its slice into the staging folder."""
    spec = read_spec(spec_path)
    plan = ShardPlan(**spec["shards"][index])
    options = replace(
        _options_from(spec["options"]), out=shard_dir(Path(spec["staging"]), index), overwrite=True
    )
    with _stop_on_sigterm():
        convert_shard([Path(p) for p in spec["inputs"]], options, plan, progress)


def run_join(spec_path: Path, progress: Progress | None = None) -> JoinSummary:
    """The final task: join the shards into the output (videos moved), then remove the shards (the
    staging's logs and spec go when ``watch`` has read the task's exit code)."""
    spec = read_spec(spec_path)
    staging = Path(spec["staging"])
    shards = [shard_dir(staging, k) for k in range(len(spec["shards"]))]
    options = _options_from(spec["options"])
    with _stop_on_sigterm():
        summary = join(
            shards, Path(spec["out"]), overwrite=options.overwrite, move_videos=True, progress=progress
        )
    register_state_root(staging)
    for shard in shards:
        remove_path(shard)
    return summary


# --------------------------------------------------------------------------------------------------
# Slurm


def studio_command() -> list[str]:
    if getattr(sys, "frozen", False):  # a bundle: its executable runs a command word itself
        return [sys.executable]
    return [sys.executable, "-m", "backend.cli"]


def watch(spec_path: Path, progress: Progress | None = None, poll: float = POLL_S) -> JoinSummary | None:
    """Submit the array and the join on Slurm, report shard progress, and clean up on cancel/failure."""
    from backend.jobs import array

    progress = ensure_progress(progress)
    spec = read_spec(spec_path)
    staging = Path(spec["staging"])
    count = len(spec["shards"])
    logs = staging / "logs"
    logs.mkdir(exist_ok=True)
    ids: list[str] = []
    try:
        with _stop_on_sigterm():
            array_id = array.submit_array(
                [*studio_command(), "convert", "sharded-step", "shard", str(spec_path), array.TASK_ID],
                tasks=count,
                name=f"rs-shards-{Path(spec['out']).name}",
                folder=logs,
                cwd=str(staging),
            )
            ids.append(array_id)
            join_id = array.submit_after(
                [*studio_command(), "convert", "sharded-step", "join", str(spec_path)],
                after=array_id,
                name=f"rs-join-{Path(spec['out']).name}",
                folder=logs,
                cwd=str(staging),
            )
            ids.append(join_id)
            (logs / "slurm-ids").write_text(" ".join(ids) + "\n", encoding="utf-8")
            progress.report(0, count, f"0 of {count} shards converted (Slurm array {array_id})")
            while True:
                state = array.array_state(logs, count)
                joined = array.exit_code(logs, "join")
                if joined is not None:
                    if joined != 0:
                        raise StudioError(
                            f"the join task failed (exit code {joined})",
                            logs / "join.log",
                            array.tail(logs / "join.log"),
                        )
                    progress.report(count, count, f"{count} of {count} shards converted, joined")
                    return None
                if state.failed:
                    k = state.failed[0]
                    raise StudioError(
                        f"shard {k} failed on Slurm",
                        logs / f"task-{k}.log",
                        array.tail(logs / f"task-{k}.log"),
                    )
                progress.report(len(state.done), count, f"{len(state.done)} of {count} shards converted")
                if not array.known(ids) and array.exit_code(logs, "join") is None:
                    time.sleep(max(3.0, 3 * poll))  # exit files may lag on a shared filesystem
                    if array.exit_code(logs, "join") is None:
                        raise StudioError("Slurm forgot the conversion's jobs before they finished", logs)
                time.sleep(poll)
    except BaseException:
        with contextlib.suppress(Exception):
            array.cancel(ids)
            array.wait_gone(ids, timeout=15)
        with contextlib.suppress(Exception):
            remove_staging(staging)
        raise
    finally:
        with contextlib.suppress(Exception):
            if Path(spec["out"]).exists():
                remove_staging(staging)


def submit(store: Any, spec_path: Path, *, name: str | None = None) -> int:
    """Queue ``watch`` as a studio job (runs on this machine, drives Slurm); returns the job id."""
    from backend.jobs import service

    spec = read_spec(spec_path)
    count = len(spec["shards"])
    return service.submit(
        store,
        "studio",
        {"args": ["convert", "sharded-step", "watch", str(spec_path)], "output": spec["out"]},
        runner="local",
        name=name or f"hdf5-to-lerobot {Path(spec['out']).name} ({count} shards on Slurm)",
        submit_cwd=os.getcwd(),
    )


def queue(
    inputs: list[Path], options: h2l.Hdf5ToLerobotOptions, shards: int, store: Any = None
) -> dict[str, Any]:
    """Check, stage and queue a sharded Slurm conversion (the wizard's and the CLI's way in); returns a
    summary dict like a conversion's, saying the job that will write the output."""
    from backend.jobs.paths import default_db_path
    from backend.jobs.store import JobStore

    spec = prepare(inputs, options, shards)
    try:
        if store is None:
            with JobStore(default_db_path()) as own:
                job_id = submit(own, spec)
        else:
            job_id = submit(store, spec)
    except BaseException:
        remove_staging(spec.parent)
        raise
    count = len(read_spec(spec)["shards"])
    return {
        "kind": h2l.KIND,
        "output": str(Path(options.out).absolute()),
        "output_format": h2l.FORMATS[options.format].value,
        "episodes_written": 0,
        "frames_written": 0,
        "seconds": 0.0,
        "skipped": [],
        "warnings": [
            f"queued as job {job_id}: {count} shards on Slurm, then a join; the dataset appears when "
            "the join ends (see Jobs)"
        ],
        "details": {"queued_job": job_id, "shards": count},
    }
