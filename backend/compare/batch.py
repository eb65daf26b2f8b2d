"""Every generated episode against its source: one row each, worst first.

    rows = compare_batch(source_dataset, generated_dataset, feature="action", align="offset")

A row that cannot be compared (no source partner, no joint values, no overlap) carries ``error``
and sorts last; the batch never stops on one bad episode. Pairs come from the records (provenance,
lineage, Cosmos sample names) or the caller's overrides; episodes only paired by position, and
overrides that disagree with a record, are listed in ``pairing_warnings`` for the caller to show.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from backend.compare.core import Trajectory, compare_trajectories
from backend.compare.pairing import RECORDED, Pair, disagreement, pair_episodes, position_warning
from backend.errors import StudioError
from backend.model import Dataset
from backend.progress import Progress, ensure_progress
from backend.units import Unit

# (key, header, format) in table order; the GUI and the CSV use the same columns
COLUMNS: list[tuple[str, str, str]] = [
    ("generated", "generated", "d"),
    ("source", "source", "d"),
    ("pairing", "pairing", "s"),
    ("rmse", "RMSE", ".2f"),
    ("mae", "MAE", ".2f"),
    ("max_abs", "max dev", ".2f"),
    ("dtw", "DTW", ".2f"),
    ("corr", "corr", ".3f"),
    ("worst_joint", "worst joint", "s"),
    ("offset_s", "offset s", ".3f"),
    ("gripper_dt_s", "gripper dt s", ".3f"),
    ("gripper_missed", "gripper missed", "d"),
    ("gripper_extra", "gripper extra", "d"),
    ("jerk_ratio", "jerk B/A", ".2f"),
    ("ee_max_mm", "EE max mm", ".1f"),
    ("coverage", "coverage", ".2f"),
    ("duration_a_s", "A s", ".2f"),
    ("duration_b_s", "B s", ".2f"),
    ("error", "error", "s"),
]
SORT_KEYS = ("rmse", "mae", "max_abs", "dtw", "gripper_dt_s", "jerk_ratio", "ee_max_mm")


@dataclass
class BatchRow:
    generated: int
    source: int | None
    pairing: str
    note: str = ""
    rmse: float | None = None
    mae: float | None = None
    max_abs: float | None = None
    dtw: float | None = None
    corr: float | None = None
    worst_joint: str | None = None
    offset_s: float | None = None
    scale: float | None = None
    gripper_dt_s: float | None = None
    gripper_missed: int | None = None
    gripper_extra: int | None = None
    jerk_ratio: float | None = None
    ee_max_mm: float | None = None
    coverage: float | None = None
    duration_a_s: float | None = None
    duration_b_s: float | None = None
    error: str | None = None
    joints: dict[str, dict[str, Any]] = field(default_factory=dict)

    def value(self, key: str) -> Any:
        return getattr(self, key)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class BatchResult:
    source: str
    generated: str
    feature: str
    align: str
    units: str
    rows: list[BatchRow]
    sort_key: str = "rmse"
    pairing_warnings: list[str] = field(default_factory=list)

    def sorted_rows(self, key: str | None = None, descending: bool = True) -> list[BatchRow]:
        return sort_rows(self.rows, key or self.sort_key, descending)

    def to_json(self) -> dict[str, Any]:
        done = [r for r in self.rows if r.error is None]
        return {
            "source": self.source,
            "generated": self.generated,
            "feature": self.feature,
            "align": self.align,
            "units": self.units,
            "sort": self.sort_key,
            "count": len(self.rows),
            "compared": len(done),
            "failed": len(self.rows) - len(done),
            "pairing_warnings": list(self.pairing_warnings),
            "rows": [r.to_json() for r in self.sorted_rows()],
        }


def sort_rows(rows: list[BatchRow], key: str = "rmse", descending: bool = True) -> list[BatchRow]:
    """Worst first by ``key``; rows without a value (errors) last."""

    def number(row: BatchRow) -> float:
        value = row.value(key)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return -math.inf if descending else math.inf
        return float(value)

    return sorted(rows, key=number, reverse=descending)


def row_from_result(pair: Pair, result) -> BatchRow:
    summary = result.summary()
    return BatchRow(
        generated=pair.generated,
        source=pair.source,
        pairing=pair.method,
        note=pair.note,
        rmse=summary["rmse"],
        mae=summary["mae"],
        max_abs=summary["max_abs"],
        dtw=summary["dtw"],
        corr=summary["corr"],
        worst_joint=summary["worst_joint"],
        offset_s=float(result.alignment.offset_s),
        scale=float(result.alignment.scale),
        gripper_dt_s=summary["gripper_dt_s"],
        gripper_missed=summary["gripper_missed"],
        gripper_extra=summary["gripper_extra"],
        jerk_ratio=summary["jerk_ratio"],
        ee_max_mm=summary.get("ee_max_mm"),
        coverage=result.coverage,
        duration_a_s=result.duration_a_s,
        duration_b_s=result.duration_b_s,
        joints={
            n: {"mae": m.mae, "rmse": m.rmse, "max_abs": m.max_abs, "dtw": m.dtw}
            for n, m in result.joints.items()
        },
    )


def compare_batch(
    source: Dataset,
    generated: Dataset,
    feature: str = "action",
    align: str = "none",
    *,
    overrides: dict[int, int] | None = None,
    source_unit: Unit | None = None,
    generated_unit: Unit | None = None,
    band_s: float = 1.0,
    max_offset_s: float | None = None,
    with_dtw: bool = True,
    sort_key: str = "rmse",
    progress: Progress | None = None,
) -> BatchResult:
    """Compare every episode of ``generated`` with its paired episode of ``source``."""
    progress = ensure_progress(progress)
    if sort_key not in SORT_KEYS:
        raise StudioError(f"cannot sort by {sort_key!r}; use one of {', '.join(SORT_KEYS)}")
    pairs = pair_episodes(generated, source, overrides)
    sources: dict[int, Trajectory] = {}
    rows: list[BatchRow] = []
    units = ""
    total = len(pairs)
    progress.report(0, total, "pairing episodes")
    warnings = pairing_warnings(pairs, generated, source, overrides)
    for n, pair in enumerate(pairs):
        row = BatchRow(pair.generated, pair.source, pair.method, pair.note)
        if pair.source is None:
            row.error = pair.note or "no source episode"
            rows.append(row)
            progress.report(n + 1, total, f"episode {pair.generated}: no source")
            continue
        episode = generated.episode(pair.generated)
        try:
            if pair.source not in sources:
                sources[pair.source] = Trajectory.from_episode(
                    source.episode(pair.source), feature, source_unit
                )
            b = Trajectory.from_episode(episode, feature, generated_unit)
            known = pair.offset_s(source.fps) if pair.frame_offset and align == "none" else None
            result = compare_trajectories(
                sources[pair.source],
                b,
                align,
                band_s=band_s,
                max_offset_s=max_offset_s,
                with_dtw=with_dtw,
                offset_s=known,
            )
            units = result.unit.label or result.unit.value
            row = row_from_result(pair, result)
        except StudioError as error:
            row.error = error.message
        finally:
            episode.unload()
        rows.append(row)
        progress.report(n + 1, total, f"episode {pair.generated}")
    for index in sources:
        source.episode(index).unload()
    return BatchResult(
        str(source.path), str(generated.path), str(feature), align, units, rows, sort_key, warnings
    )


def pairing_warnings(
    pairs: list[Pair], generated: Dataset, source: Dataset, overrides: dict[int, int] | None = None
) -> list[str]:
    """What the caller must say about ``pairs``: overrides that disagree with a record, then the
    episodes paired only by position."""
    out: list[str] = []
    if overrides:
        recorded = {p.generated: p for p in pair_episodes(generated, source) if p.method in RECORDED}
        for pair in pairs:
            said = recorded.get(pair.generated)
            if pair.method == "override" and said is not None and pair.source not in (None, said.source):
                out.append(disagreement(int(pair.source), said, source))
    warning = position_warning(pairs)
    if warning:
        out.append(warning)
    return out
