"""``validate --fix --out NEW``: write a repaired COPY of a dataset; the input is never touched.

What a repair fixes, without a human decision (everything else is reported, not guessed):

- stats that disagree with the data: LeRobot v2.1 ``meta/episodes_stats.jsonl`` + ``meta/stats.json``
  (with the q01/q99 quantiles GR00T's loader reads), v3.0 ``meta/stats.json`` and the per-episode
  ``stats/<feature>/<stat>`` columns of ``meta/episodes``; recomputed with the LeRobot writer's own
  functions (``backend/formats/lerobot/stats.py``); stats that agree are kept as they are;
- indices: gaps or repeats in ``episode_index`` / ``frame_index`` / ``index``, renumbered across the
  parquet rows, the metadata and (v2.1) the file names, v3.0 ``dataset_from_index`` / ``to_index``;
  episodes are paired with their files by name (their index), never by position;
- the frame rate: ``info.json`` fps disagreeing with regular parquet timestamps (and the videos);
- info.json totals; HDF5 ``num_samples`` / ``total`` / ``fps`` attributes that disagree with the data;
- files: stale staging (``.NAME.partial-PID``) and files the format does not name are not copied.

The copy is built through ``backend.atomic`` (``atomic_dir`` / ``atomic_file`` with the input as an
input, so it can never overlap it; ``overwrite`` replaces only an earlier output of the studio).
Videos and untouched files are copied byte for byte (never hard-linked: the copy is independent).
A provenance record (conversion ``repair``) goes into the copy. The copy is written only when at
least one fix applies; afterwards it is checked with the dataset doctor and what remains is listed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.atomic import atomic_dir, atomic_file, check_output
from backend.errors import Cancelled
from backend.formats import detect_format
from backend.model import DatasetFormat
from backend.paths import user_path
from backend.progress import Progress, ensure_progress
from backend.validation import Problem

SCHEMA = "rollout_studio.repair/1"
CONVERSION = "repair"


@dataclass(frozen=True)
class Fix:
    """One repair applied to the copy: the finding ``code`` it answers and one line with the numbers."""

    code: str
    what: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "what": self.what}


@dataclass
class RepairReport:
    source: str
    output: str
    format: str
    fixes: list[Fix] = field(default_factory=list)
    remaining: list[Problem] = field(default_factory=list)  # findings of the copy (of the source if none)
    notes: list[str] = field(default_factory=list)  # what the repair left alone, and why
    written: bool = False
    checked: bool = False  # ``remaining`` comes from a full check (False: the check was cancelled)
    seconds: float = 0.0

    @property
    def errors(self) -> int:
        return sum(1 for p in self.remaining if p.severity == "error")

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "source": self.source,
            "output": self.output if self.written else None,
            "format": self.format,
            "written": self.written,
            "checked": self.checked,
            "ok": self.errors == 0,
            "fixes": [f.to_dict() for f in self.fixes],
            "not_fixed": list(self.notes),
            "remaining": [p.to_dict() for p in self.remaining],
            "seconds": round(self.seconds, 3),
        }


class Plan:
    """What a format's repair will do: ``fixes`` (empty: nothing to fix) and ``write`` to build the copy."""

    fixes: list[Fix]
    notes: list[str]

    def write(self, target: Path, final: Path, progress: Progress) -> None:  # pragma: no cover - interface
        raise NotImplementedError


def plan_repair(path: str | Path, progress: Progress | None = None) -> tuple[DatasetFormat, Plan | None]:
    """Read ``path`` and work out the fixes (nothing is written). None: the format has no repair."""
    path = user_path(path)
    fmt, _ = detect_format(path)
    progress = ensure_progress(progress)
    if fmt in (DatasetFormat.LEROBOT_V20, DatasetFormat.LEROBOT_V21, DatasetFormat.LEROBOT_V30):
        from backend.repair_lerobot import plan_lerobot

        return fmt, plan_lerobot(path, progress)
    if fmt is DatasetFormat.LEISAAC_HDF5:
        from backend.repair_hdf5 import plan_hdf5

        return fmt, plan_hdf5(path, progress)
    return fmt, None


def _diagnose(path: Path, options: Any, progress: Progress) -> list[Problem]:
    from backend.doctor import diagnose

    return list(diagnose(path, options, progress).findings)


def repair(
    path: str | Path,
    out: str | Path,
    overwrite: bool = False,
    progress: Progress | None = None,
    options: Any = None,
) -> RepairReport:
    """Write a repaired copy of ``path`` at ``out`` when anything is fixable; check the result.

    ``options``: the doctor's ``DoctorOptions`` for checking the result. Raises ``StudioError`` for an unreadable input or a refused output (one that overlaps the input,
    exists without ``overwrite`` or was not written by the studio).
    """
    started = time.monotonic()
    progress = ensure_progress(progress)
    source = user_path(path)
    target = check_output(out, [source], overwrite)  # refused before any work is done
    fmt, plan = plan_repair(source, progress)
    report = RepairReport(str(source), str(target), fmt.value, notes=list(plan.notes) if plan else [])
    if plan is None or not plan.fixes:
        report.remaining = _diagnose(source, options, progress)
        report.checked = True
        report.seconds = time.monotonic() - started
        return report
    report.fixes = list(plan.fixes)
    writer = atomic_file if fmt is DatasetFormat.LEISAAC_HDF5 else atomic_dir
    with writer(target, overwrite, inputs=[source]) as tmp:
        plan.write(Path(tmp), target, progress)
    report.written = True
    try:
        report.remaining = _diagnose(target, options, progress)
        report.checked = True
    except Cancelled:  # the copy is complete and published: only its check was stopped
        report.notes.append("the copy was written but not checked (cancelled): run validate on it")
    report.seconds = time.monotonic() - started
    return report


def provenance(source: Path, output: Path, fmt: DatasetFormat, fixes: list[Fix]) -> dict[str, Any]:
    """The copy's provenance record: the input (hashed, its own record chained) and the fixes."""
    from backend.provenance import new_record

    return new_record(
        CONVERSION, [(source, "source")], {"fixes": [f.to_dict() for f in fixes]}, output, fmt.value
    )
