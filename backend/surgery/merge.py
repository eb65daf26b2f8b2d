"""``merge A B ... --out M``: datasets recorded the same way into one.

Compatibility is checked first (``compat.py``). LeRobot inputs of one version whose info.json agree
(but for counts) are joined file by file (``backend/formats/lerobot/join.py``: indices renumbered,
tasks unified, videos hard-linked or copied, never re-encoded; statistics aggregated exactly);
other LeRobot inputs (mixed v2.1 / v3.0, different file sizes or encoder notes) and HDF5 files are
rewritten episode by episode (videos still copied packet by packet, HDF5 demos renumbered with their
attributes kept, statistics recomputed). Cosmos output folders are refused (no actions: run
``idm prepare`` and the IDM first, then merge the labelled LeRobot dataset).
"""

from __future__ import annotations

from pathlib import Path

from backend.errors import StudioError
from backend.model import Dataset, DatasetFormat
from backend.surgery.common import disk_size, estimate, formats, not_carried, video_note, whole
from backend.surgery.compat import check_merge, family, refuse_unlabelled
from backend.surgery.plan import Output, Plan


def _joinable(datasets: list[Dataset]) -> str | None:
    """Why the LeRobot files cannot be joined as they are (None: they can)."""
    from backend.formats.lerobot.join import _check_same, _read_shard

    if any(d.format not in (DatasetFormat.LEROBOT_V21, DatasetFormat.LEROBOT_V30) for d in datasets):
        return "not all LeRobot v2.1 / v3.0"
    try:
        _check_same([_read_shard(Path(d.path)) for d in datasets])
    except StudioError as error:
        return error.problem
    return None


def plan_merge(datasets: list[Dataset], out: str | Path, fmt: str | None = None) -> Plan:
    refuse_unlabelled(datasets)
    if len(datasets) < 2:
        raise StudioError("merge needs two or more datasets", hint="give A B ... --out M")
    check_merge(datasets)
    first = datasets[0]
    target = DatasetFormat(fmt) if fmt else first.format
    if target is DatasetFormat.LEROBOT_V20:
        target = DatasetFormat.LEROBOT_V21
    if family(target) != family(first.format):
        raise StudioError(
            f"merge writes {family(first.format)} inputs as {family(first.format)}, not {target.value}",
            out,
            "convert the merged dataset afterwards",
        )
    pieces = [p for number, d in enumerate(datasets) for p in whole(d, number)]
    sizes = [disk_size(d.path) for d in datasets]
    output = estimate(Output(str(Path(out).absolute()), pieces), datasets, sizes)
    why = _joinable(datasets) if all(d.format is target for d in datasets) else "versions differ"
    method = "join" if why is None else "rewrite"
    tasks = sorted({p.task for p in pieces})
    plan = Plan(
        "merge",
        [str(Path(d.path).absolute()) for d in datasets],
        formats(datasets),
        target.value,
        [output],
        method,
        video=video_note(datasets, None, False),
        changes=[
            f"episodes renumbered 0..{len(pieces) - 1}, {len(tasks)} distinct task(s) unified by text",
            "statistics " + ("aggregated exactly from the inputs'" if method == "join" else "recomputed"),
        ],
    )
    if family(target) == "hdf5":
        envs = {str(d.info.get("env_name") or "") for d in datasets}
        if len(envs) > 1:
            plan.warnings.append(
                f"the files come from different environments ({', '.join(sorted(envs))}): "
                f"the merged file keeps {first.info.get('env_name')!r} in /data env_args"
            )
    if method == "rewrite" and family(target) == "lerobot":
        plan.warnings.append(f"files cannot be joined as they are ({why}): episodes are rewritten")
    if method == "rewrite":
        plan.warnings += not_carried(first)
    return plan
