"""Export a comparison: metrics CSV, JSON summary, and a self-contained HTML report.

    write_report(out_dir, pair_result, picture_png=png_bytes, batch=batch_result)

writes (atomically, as one folder) ``report.html``, ``metrics.csv``, ``summary.json``, the picture
as ``view.png`` when given, and ``batch.csv`` when a batch is given. The GUI supplies the picture
(a grab of the compare view); the backend never renders.
"""

from __future__ import annotations

import csv
import html
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backend import __version__
from backend.atomic import atomic_dir
from backend.compare.batch import COLUMNS, BatchResult
from backend.compare.core import PairResult
from backend.jsonable import json_default

METRIC_COLUMNS = ("mae", "rmse", "max_abs", "dtw", "corr", "bias", "t_max_abs_s", "jerk_rms_a", "jerk_rms_b")


def _fmt(value: Any, spec: str = ".4g") -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return format(value, spec)
    return str(value)


def metrics_csv(result: PairResult) -> str:
    """One row per joint: joint, unit, then METRIC_COLUMNS."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["joint", "unit", *METRIC_COLUMNS])
    unit = result.unit.label or result.unit.value
    for name, m in result.joints.items():
        data = m.to_json()
        writer.writerow([name, unit, *(_fmt(data[k], ".6g") for k in METRIC_COLUMNS)])
    return buffer.getvalue()


def batch_csv(batch: BatchResult) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([key for key, _, _ in COLUMNS])
    for row in batch.sorted_rows():
        writer.writerow([_fmt(row.value(key), ".6g") for key, _, _ in COLUMNS])
    return buffer.getvalue()


def summary_json(
    result: PairResult | None, batch: BatchResult | None = None, extra: dict | None = None
) -> dict:
    out: dict[str, Any] = {
        "tool": f"rollout-studio {__version__}",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if result is not None:
        out["pair"] = result.to_json()
    if batch is not None:
        out["batch"] = batch.to_json()
    if extra:
        out.update(extra)
    return out


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def report_html(
    result: PairResult | None,
    batch: BatchResult | None = None,
    picture: str | None = None,
    title: str = "Rollout Studio comparison",
) -> str:
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#eee}"
        "td:first-child,th:first-child{text-align:left}img{max-width:100%;border:1px solid #ccc}"
        ".warn{color:#a60}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>rollout-studio {__version__}, {datetime.now().strftime('%Y-%m-%d %H:%M')}</p>",
    ]
    if result is not None:
        unit = result.unit.label or result.unit.value
        a = result.alignment
        parts.append(
            f"<p><b>A</b> {html.escape(result.a_label)} ({result.fps_a:g} fps, {result.duration_a_s:.2f} s)<br>"
            f"<b>B</b> {html.escape(result.b_label)} ({result.fps_b:g} fps, {result.duration_b_s:.2f} s)<br>"
            f"alignment: {html.escape(a.mode)}, offset {a.offset_s:+.3f} s, scale {a.scale:.3f}; "
            f"compared over {result.overlap_s:.2f} s ({100 * result.coverage:.0f}% of A); values in {html.escape(unit)}</p>"
        )
        if picture:
            parts.append(f"<p><img src='{html.escape(picture)}' alt='compare view'></p>")
        rows = [
            [name, *(_fmt(m.to_json()[k], ".3f") for k in METRIC_COLUMNS)]
            for name, m in result.joints.items()
        ]
        parts.append("<h2>Per joint</h2>")
        parts.append(_table(["joint", *METRIC_COLUMNS], rows))
        summary = result.summary()
        parts.append("<h2>Summary</h2>")
        parts.append(_table(["metric", "value"], [[k, _fmt(v, ".3f")] for k, v in summary.items()]))
        for name, grip in result.gripper.items():
            data = grip.to_json()
            parts.append(f"<h2>Gripper events ({html.escape(name)})</h2>")
            if data["thresholds"] is None:
                parts.append("<p>The gripper barely moves: no open/close events.</p>")
                continue
            parts.append(
                _table(
                    ["kind", "A s", "B s", "B - A s"],
                    [
                        [m["kind"], _fmt(m["t_a"], ".3f"), _fmt(m["t_b"], ".3f"), _fmt(m["dt_s"], "+.3f")]
                        for m in data["matched"]
                    ],
                )
            )
            parts.append(f"<p>missed by B: {data['unmatched_a']}, extra in B: {data['unmatched_b']}</p>")
        for warning in result.warnings:
            parts.append(f"<p class='warn'>{html.escape(warning)}</p>")
    if batch is not None:
        parts.append(
            f"<h2>Batch: {len(batch.rows)} generated episodes, worst first by {html.escape(batch.sort_key)}</h2>"
        )
        parts.append(f"<p>source {html.escape(batch.source)}<br>generated {html.escape(batch.generated)}</p>")
        rows = [[_fmt(r.value(k), spec) for k, _, spec in COLUMNS] for r in batch.sorted_rows()]
        parts.append(_table([h for _, h, _ in COLUMNS], rows))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(
    out_dir: str | Path,
    result: PairResult | None,
    picture_png: bytes | None = None,
    batch: BatchResult | None = None,
    overwrite: bool = False,
    extra: dict | None = None,
) -> Path:
    """Write the report folder atomically; returns its path.

    ``overwrite`` replaces an earlier report of the studio only (its ownership record says so): a
    folder holding anything else is refused by ``atomic_dir``.
    """
    out_dir = Path(out_dir)
    with atomic_dir(out_dir, overwrite=overwrite) as tmp:
        picture = None
        if picture_png:
            (tmp / "view.png").write_bytes(picture_png)
            picture = "view.png"
        if result is not None:
            (tmp / "metrics.csv").write_text(metrics_csv(result), encoding="utf-8")
        if batch is not None:
            (tmp / "batch.csv").write_text(batch_csv(batch), encoding="utf-8")
        (tmp / "summary.json").write_text(
            json.dumps(summary_json(result, batch, extra), indent=2, default=json_default), encoding="utf-8"
        )
        (tmp / "report.html").write_text(report_html(result, batch, picture), encoding="utf-8")
    return out_dir

