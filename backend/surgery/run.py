"""Carry out a plan: outputs checked against the inputs first, written atomically, validated after."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from backend.errors import StudioError
from backend.model import Dataset
from backend.progress import Progress, ensure_progress
from backend.surgery.common import check_outputs, open_all
from backend.surgery.plan import Plan
from backend.surgery.rewrite import WriteResult, write_outputs


@dataclass
class EditSummary:
    operation: str
    outputs: list[dict[str, Any]] = field(default_factory=list)  # per output: path, episodes, frames, videos
    validation: dict[str, list[str]] = field(default_factory=dict)  # output -> warnings of validate --quick
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _join(plan: Plan, overwrite: bool, progress: Progress) -> list[WriteResult]:
    from backend.formats.lerobot.join import join
    from backend.surgery.rewrite import _record

    output = plan.outputs[0]
    record = _record(plan, output, "fast")
    if all(_embodiment_stats(Path(p)) for p in plan.inputs):
        record["stats_source"] = "embodiment"  # stats.json is the inputs' own (GR00T), kept as it is
    summary = join(
        [Path(p) for p in plan.inputs],
        Path(output.path),
        overwrite=overwrite,
        record=record,
        progress=progress,
    )
    return [WriteResult(output.path, summary.episodes, summary.frames, videos_copied=summary.videos)]


def _embodiment_stats(root: Path) -> bool:
    """An IDM dataset (``idm prepare`` or the IDM's dump): modality.json beside a stats.json that holds
    the embodiment's normalization (no counts) rather than statistics of its own data."""
    import json

    if not (root / "meta" / "modality.json").is_file():
        return False
    try:
        stats = json.loads((root / "meta" / "stats.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(stats, dict) and any(isinstance(v, dict) and "count" not in v for v in stats.values())


def validate_output(path: str | Path) -> list[str]:
    """``validate --quick`` of a new output: its warnings; raises StudioError on any error."""
    from backend.doctor_quick import quick_diagnose

    report = quick_diagnose(path)
    errors = [f for f in report.findings if f.severity == "error"]
    if errors or not report.readable:
        first = errors[0].problem if errors else "it cannot be opened"
        raise StudioError(
            f"was written but validate found {len(errors)} error(s), first: {first}",
            path,
            "the inputs are untouched; report this with the output",
        )
    return [f.problem for f in report.findings if f.severity == "warning"]


def execute(
    plan: Plan,
    *,
    overwrite: bool = False,
    progress: Progress | None = None,
    datasets: list[Dataset] | None = None,
    validate: bool = True,
) -> EditSummary:
    """Write ``plan``'s outputs (from ``datasets``, opened here when None) and validate each."""
    progress = ensure_progress(progress)
    check_outputs([o.path for o in plan.outputs], plan.inputs, overwrite)
    summary = EditSummary(plan.operation, warnings=list(plan.warnings))
    if plan.method == "join":
        results = _join(plan, overwrite, progress)
    else:
        opened = datasets is None
        datasets = open_all(plan.inputs) if datasets is None else datasets
        try:
            results = write_outputs(datasets, plan, overwrite, progress)
        finally:
            if opened:
                for dataset in datasets:
                    dataset.close()
    for result in results:
        summary.outputs.append(asdict(result))
        if validate:
            summary.validation[result.path] = validate_output(result.path)
    return summary
