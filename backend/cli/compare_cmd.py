"""`rollout-studio compare A_PATH[:EPISODE] B_PATH[:EPISODE] [--feature action|state] [--align ...] [--json]`.

Two episodes: per-joint metrics. Two whole datasets (no episode numbers): every episode of B (the
generated dataset) against its source episode in A, paired through provenance records (or by
position, with a warning), printed as a table, worst first. One side with an episode, the other
without: that side's partner is found through the pairing.

Pairing is never silent: the output says which pair was compared and why ("paired by provenance: B
episode 4 came from demo_5 of A"). ``A:N B:N`` (the same number on both sides, the usual guess) takes
A's episode from B's records when they name it; different numbers, or ``--pair B_EP=A_EP``, compare
exactly what was asked, with a warning line where a record says otherwise.

Exit codes: 0 compared; 1 a batch where some episodes could not be compared (their rows say why);
2 nothing could be compared (unreadable input, unknown feature, ...), with one ``error:`` line.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from backend.atomic import refuse_inside_inputs
from backend.cli._common import TerminalProgress, path_arg, print_json
from backend.compare.align import ALIGN_MODES
from backend.compare.batch import SORT_KEYS, BatchResult, compare_batch
from backend.compare.core import PairResult, Trajectory, compare_trajectories
from backend.compare.pairing import (
    Pair,
    disagreement,
    episode_name,
    generated_for,
    pairing_sentence,
    parse_overrides,
    recorded_pair,
    source_for,
)
from backend.compare.report import write_report
from backend.compare.sources import DatasetCache, SourceSpec, episode_of, parse_source
from backend.errors import StudioError
from backend.model import Dataset, Episode
from backend.units import Unit

UNITS = {u.value: u for u in Unit}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="compare a source episode with a generated one (or every generated episode with its source)",
        description="Metrics per joint (MAE, RMSE, max deviation, DTW, correlation), gripper event timing, "
        "jerk and end-effector divergence, in one unit (degrees for SO-101 joints). A is the source, "
        "B the generated side. Without episode numbers: all paired episodes, worst first.",
    )
    parser.add_argument(
        "a", metavar="A_PATH[:EPISODE]", type=path_arg, help="source dataset, optionally :EPISODE"
    )
    parser.add_argument(
        "b", metavar="B_PATH[:EPISODE]", type=path_arg, help="generated dataset, optionally :EPISODE"
    )
    parser.add_argument("--feature", default="action", help="action (default), state, or a feature key")
    parser.add_argument(
        "--align",
        choices=ALIGN_MODES,
        default="none",
        help="none (default), offset (constant shift), scale (shift + speed), dtw (time warp)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--band-s", type=float, default=1.0, help="DTW band half-width in seconds (default 1)"
    )
    parser.add_argument("--max-offset-s", type=float, default=None, help="largest offset to search, seconds")
    parser.add_argument(
        "--offset-s",
        type=float,
        default=None,
        help="use this offset (seconds, B late > 0) instead of estimating one",
    )
    parser.add_argument("--a-unit", choices=sorted(UNITS), help="declare the unit of A's values")
    parser.add_argument("--b-unit", choices=sorted(UNITS), help="declare the unit of B's values")
    parser.add_argument(
        "--pair",
        action="append",
        metavar="B_EP=A_EP",
        help="pair generated episode B_EP with source episode A_EP (repeatable, or comma-separated); "
        "wins over provenance, with a warning where they disagree",
    )
    parser.add_argument("--sort", choices=SORT_KEYS, default="rmse", help="batch: sort key, worst first")
    parser.add_argument("--limit", type=int, default=None, help="batch: print only the N worst rows")
    parser.add_argument("--no-dtw", action="store_true", help="skip the DTW distance (faster batches)")
    parser.add_argument(
        "--report",
        metavar="DIR",
        type=path_arg,
        help="also write report.html, metrics.csv/batch.csv, summary.json",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    spec_a, spec_b = parse_source(args.a), parse_source(args.b)
    overrides = parse_overrides(args.pair)
    unit_a = UNITS[args.a_unit] if args.a_unit else None
    unit_b = UNITS[args.b_unit] if args.b_unit else None
    if args.band_s <= 0:
        raise StudioError("--band-s must be positive")
    if args.report:
        refuse_inside_inputs(args.report, [spec_a.path, spec_b.path])
    with DatasetCache() as cache:
        source, generated = cache.get(spec_a.path), cache.get(spec_b.path)
        if (
            spec_a.episode is None
            and spec_b.episode is None
            and not (source.num_episodes == 1 and generated.num_episodes == 1)
        ):
            progress = TerminalProgress("compare", quiet=args.quiet or not generated.num_episodes)
            batch = compare_batch(
                source,
                generated,
                args.feature,
                args.align,
                overrides=overrides,
                source_unit=unit_a,
                generated_unit=unit_b,
                band_s=args.band_s,
                max_offset_s=args.max_offset_s,
                with_dtw=not args.no_dtw,
                sort_key=args.sort,
                progress=progress,
            )
            failed = [row for row in batch.rows if row.error]
            if batch.rows and len(failed) == len(batch.rows):
                raise StudioError(
                    f"none of the {len(batch.rows)} episodes could be compared; episode "
                    f"{failed[0].generated}: {failed[0].error}"
                )
            if args.report:
                write_report(args.report, None, batch=batch, overwrite=True)
            if args.json:
                out = batch.to_json()
                if args.limit is not None:
                    out["rows"] = out["rows"][: args.limit]
                print_json(out)
                for warning in batch.pairing_warnings:
                    print(f"warning: {warning}", file=sys.stderr)
            else:
                print(format_batch(batch, args.limit))
            if failed:
                print(
                    f"warning: {len(failed)} of {len(batch.rows)} episodes could not be compared "
                    "(see their rows)",
                    file=sys.stderr,
                )
                return 1
            return 0

        # one pair: find the missing episode through the pairing
        episode_a, episode_b, pair, note, warning = _one_pair(spec_a, spec_b, source, generated, overrides)
        offset = args.offset_s
        if offset is None and args.align == "none" and pair is not None and pair.frame_offset:
            offset = pair.offset_s(source.fps)
        a = Trajectory.from_episode(episode_a, args.feature, unit_a, label=f"{spec_a.path}:{episode_a.index}")
        b = Trajectory.from_episode(episode_b, args.feature, unit_b, label=f"{spec_b.path}:{episode_b.index}")
        result = compare_trajectories(
            a,
            b,
            args.align,
            band_s=args.band_s,
            max_offset_s=args.max_offset_s,
            offset_s=offset,
            with_dtw=not args.no_dtw,
        )
        extra = {
            "feature": args.feature,
            "pairing": pair.to_json(),
            "paired": {"a": episode_a.index, "b": episode_b.index},
            "pairing_note": note,
            "pairing_warning": warning,
        }
        if args.report:
            write_report(args.report, result, overwrite=True, extra=extra)
        if args.json:
            out = result.to_json()
            out.update(extra)
            print_json(out)
            if warning:
                print(f"warning: {warning}", file=sys.stderr)
        else:
            print(format_pair(result, args.feature, note, warning))
    return 0


def _one_pair(
    spec_a: SourceSpec, spec_b: SourceSpec, source: Dataset, generated: Dataset, overrides: dict[int, int]
) -> tuple[Episode, Episode, Pair, str, str | None]:
    """(A episode, B episode, the pair compared, the line saying how it was paired, a warning or None).

    A missing number comes from the pairing. Both numbers given: ``A:N B:N`` follows B's record when
    it names another partner (and says so); different numbers or ``--pair`` are compared as asked,
    with a warning where a record disagrees.
    """
    a_index, b_index = spec_a.episode, spec_b.episode
    pair: Pair | None = None
    if b_index is None and a_index is not None:
        if generated.num_episodes > 1:
            pair = generated_for(generated, a_index, source, overrides)
            b_index = pair.generated
        else:
            b_index = generated.episodes[0].index
    episode_b = episode_of(generated, b_index)
    b = episode_b.index
    recorded = recorded_pair(generated, b, source)
    asked = ""
    if a_index is None:
        if source.num_episodes == 1:
            a_index = source.episodes[0].index
        else:
            pair = source_for(generated, b, source, overrides)
            if pair.source is None:
                raise StudioError(
                    f"no source episode for episode {b}: {pair.note}",
                    spec_b.path,
                    f"give it: {spec_a.path}:EPISODE or --pair {b}=N",
                )
            a_index = pair.source
    elif b in overrides:
        if overrides[b] != a_index:
            raise StudioError(
                f"A:{a_index} and --pair {b}={overrides[b]} ask for two different partners of B episode {b}",
                spec_a.path,
                "give one of them",
            )
    elif (
        spec_b.episode is not None
        and a_index == spec_b.episode
        and recorded is not None
        and recorded.source != a_index
    ):
        # "A:4 B:4" is the same-number guess: B's record knows better, and the output says so
        asked = f" (you asked for {episode_name(source, a_index)} of A; --pair {b}={a_index} compares that pair)"
        a_index = int(recorded.source)
    episode_a = episode_of(source, a_index)
    a_index = episode_a.index
    if pair is None or pair.source != a_index:
        if b in overrides:
            pair = Pair(b, a_index, "override")
        elif recorded is not None and recorded.source == a_index:
            pair = recorded
        else:
            why = "" if recorded is not None else "no provenance record says where it came from"
            pair = Pair(b, a_index, "given", why)
    warning = None
    if recorded is not None and recorded.source != a_index:
        warning = disagreement(a_index, recorded, source)
    return episode_a, episode_b, pair, pairing_sentence(pair, source) + asked, warning


def _num(value: Any, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return format(value, spec)


def format_pair(
    result: PairResult, feature: str = "action", pairing: str = "", warning: str | None = None
) -> str:
    unit = result.unit.label or result.unit.value
    a = result.alignment
    lines = [
        f"A  {result.a_label}  ({feature}, {result.source_units[0]}, {result.fps_a:g} fps, {result.duration_a_s:.2f} s)",
        f"B  {result.b_label}  ({feature}, {result.source_units[1]}, {result.fps_b:g} fps, {result.duration_b_s:.2f} s)",
    ]
    if pairing:
        lines.append(pairing)
    if warning:
        lines.append(f"warning: {warning}")
    lines.append(
        f"alignment: {a.mode}, offset {a.offset_s:+.3f} s, scale {a.scale:.3f}; compared over "
        f"{result.overlap_s:.2f} s ({100 * result.coverage:.0f}% of A); values in {unit}"
    )
    lines.append("")
    width = max(12, *(len(n) for n in result.names))
    lines.append(
        f"{'joint':<{width}} {'MAE':>8} {'RMSE':>8} {'max dev':>8} {'at s':>6} {'DTW':>8} {'corr':>6}"
    )
    for name, m in result.joints.items():
        lines.append(
            f"{name:<{width}} {_num(m.mae, '8.3f')} {_num(m.rmse, '8.3f')} {_num(m.max_abs, '8.3f')} "
            f"{_num(m.t_max_abs_s, '6.2f')} {_num(m.dtw, '8.3f')} {_num(m.corr, '6.3f')}"
        )
    s = result.summary()
    lines.append(
        f"{'mean':<{width}} {_num(s['mae'], '8.3f')} {_num(s['rmse'], '8.3f')} {_num(s['max_abs'], '8.3f')} "
        f"{'':>6} {_num(s['dtw'], '8.3f')} {_num(s['corr'], '6.3f')}"
    )
    lines.append("")
    for name, grip in result.gripper.items():
        if grip.thresholds is None:
            lines.append(f"{name}: barely moves, no open/close events")
        else:
            lines.append(
                f"{name} events: {len(grip.matched)} matched, max |dt| {_num(grip.max_abs_dt_s, '.3f')} s, "
                f"missed by B {grip.unmatched_a}, extra in B {grip.unmatched_b}"
            )
    if s["jerk_ratio"] is not None:
        lines.append(f"jerk (RMS, median over joints): B is {s['jerk_ratio']:.2f}x A")
    if result.ee:
        lines.append(
            f"end effector: mean {result.ee['mean_mm']:.1f} mm, max {result.ee['max_mm']:.1f} mm "
            f"at {result.ee['t_max_s']:.2f} s"
        )
    for warning in result.warnings:
        lines.append(f"warning: {warning}")
    return "\n".join(lines)


BATCH_TEXT_COLUMNS = [
    ("generated", "B ep", 5, "d"),
    ("source", "A ep", 5, "d"),
    ("pairing", "pairing", 10, "s"),
    ("rmse", "RMSE", 8, ".3f"),
    ("mae", "MAE", 8, ".3f"),
    ("max_abs", "max dev", 8, ".2f"),
    ("dtw", "DTW", 8, ".3f"),
    ("worst_joint", "worst joint", 13, "s"),
    ("offset_s", "offset s", 8, "+.3f"),
    ("gripper_dt_s", "grip dt s", 9, ".3f"),
    ("ee_max_mm", "EE max mm", 9, ".1f"),
    ("coverage", "cover", 5, ".2f"),
]


def format_batch(batch: BatchResult, limit: int | None = None) -> str:
    rows = batch.sorted_rows()
    shown = rows if limit is None else rows[:limit]
    failed = [r for r in rows if r.error]
    lines = [
        f"A (source)     {batch.source}",
        f"B (generated)  {batch.generated}",
        f"{len(rows)} episodes, {len(rows) - len(failed)} compared, {batch.feature} in {batch.units or '?'}, "
        f"align {batch.align}, worst first by {batch.sort_key}",
        *(f"warning: {w}" for w in batch.pairing_warnings),
        "",
        " ".join(f"{h:>{w}}" if f != "s" else f"{h:<{w}}" for _, h, w, f in BATCH_TEXT_COLUMNS),
    ]
    for row in shown:
        cells = []
        for key, _, w, f in BATCH_TEXT_COLUMNS:
            value = row.value(key)
            if f == "s":
                cells.append(f"{(value or '–')!s:<{w}}"[:w])
            else:
                cells.append(f"{_num(value, f):>{w}}")
        line = " ".join(cells)
        if row.error:
            line += f"  error: {row.error}"
        lines.append(line)
    if limit is not None and len(rows) > limit:
        lines.append(f"... {len(rows) - limit} more (use --limit)")
    return "\n".join(lines)
