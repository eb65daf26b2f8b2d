"""`rollout-studio score DATASET [--json] [--signals a,b] [--device cpu|cuda|auto]`: episode quality.

Computes every signal of every episode (``backend.scores.compute``), refits the learned judgement
when the curation holds enough ratings (``backend.scores.judgement``), writes the score table
beside the dataset (``backend.scores.store``) and prints a summary, or with ``--json`` the table
(``ScoreTable.to_json``: ``{"episodes": [{"episode", "findings", "scores", "predicted_rating"}],
...}``). docs/score.md describes it.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from backend.cli._common import TerminalProgress, path_arg, print_json
from backend.errors import StudioError
from backend.numbers import fixed
from backend.scores.table import SEVERITIES, ScoreTable

REVIEW_SHOWN = 5


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "score",
        help="score every episode's quality (signals, findings, a learned rating) into a sidecar",
    )
    parser.add_argument("dataset", type=path_arg)
    parser.add_argument("--json", action="store_true", help="print the score table as JSON")
    parser.add_argument("--signals", help="comma-separated signal names to compute (default: all)")
    parser.add_argument("--device", choices=["cpu", "cuda", "auto"], default="auto",
                        help="where the video signals run (auto: CUDA when present)")
    parser.add_argument("--reason", type=path_arg, metavar="PATH",
                        help="a cosmos-reason-score job's output (file or folder): its 1-5 ratings become reason_score")
    parser.add_argument("--hidden", type=int, default=0,
                        help="hidden units of the learned judgement (0: logistic regression)")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.set_defaults(func=run)


def parse_signals(text: str | None, known: tuple[str, ...]) -> list[str] | None:
    """The names of ``--signals`` (None: all), each one of ``known``."""
    if text is None:
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise StudioError("--signals names no signal", hint="give names separated by commas, e.g. jerky,frozen_camera")
    unknown = [name for name in names if name not in known]
    if unknown:
        raise StudioError(f"--signals: unknown signal {', '.join(unknown)}", hint=f"known: {', '.join(known)}")
    return names


def check_device(device: str) -> None:
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise StudioError("--device cuda: torch sees no CUDA GPU here", hint="use --device cpu or auto")


def run(args: argparse.Namespace) -> int:
    from backend.curation import Curation
    from backend.formats import open_dataset
    from backend.scores.compute import SIGNAL_NAMES, compute_scores
    from backend.scores.judgement import judge_dataset
    from backend.scores.store import save_scores

    if args.hidden < 0:
        raise StudioError(f"--hidden must be 0 or more, not {args.hidden}")
    names = parse_signals(args.signals, SIGNAL_NAMES)
    check_device(args.device)
    progress = TerminalProgress("score", quiet=args.quiet)
    dataset = open_dataset(args.dataset)
    with dataset:
        table = compute_scores(dataset, signals=names, device=args.device, progress=progress, reason=args.reason)
        curation = Curation.load(dataset.path, dataset)
        judge_dataset(table, dataset, curation, args.hidden, progress)
        path = save_scores(table, dataset.path)
        label = f"{dataset.path} ({dataset.format.value})"
    if args.json:
        print_json(table.to_json())
        return 0
    for line in summary_lines(table, label, path):
        print(line)
    return 0


def summary_lines(table: ScoreTable, label: str, path: Path | None = None) -> list[str]:
    """What ``score`` prints: episodes, findings by signal and severity, the model, the review queue."""
    from backend.scores.compute import SIGNAL_NAMES
    from backend.scores.judgement import review_order

    signals = "every signal" if set(table.signals) >= set(SIGNAL_NAMES) else ", ".join(table.signals)
    lines = [f"{label}: {len(table.episodes)} episodes scored on {table.device} ({signals})"]
    counts: Counter[tuple[str, str]] = Counter()
    for item in table.episodes:
        for finding in item.findings:
            counts[(finding.signal, finding.severity)] += 1
    total = sum(counts.values())
    by_severity = ", ".join(
        f"{sum(n for (_, s), n in counts.items() if s == severity)} {severity}"
        for severity in reversed(SEVERITIES) if any(s == severity for _, s in counts)
    )
    lines.append(f"findings: {total}" + (f" ({by_severity})" if by_severity else ""))
    width = max((len(signal) for signal, _ in counts), default=0)
    for (signal, severity), number in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"  {signal:<{width}}  {severity:<7}  {number}")
    model = table.model
    if "accuracy" in model:
        lines.append(
            f"model: {model.get('kind', 'logistic')}, cross-validated accuracy "
            f"{fixed(100.0 * float(model['accuracy']), '.1f')}% on {model.get('ratings')} ratings "
            f"({model.get('good')} good, {model.get('bad')} bad, {model.get('folds')} folds)"
        )
        order = review_order(table)
        if order:
            shown = ", ".join(
                f"{e} (p={fixed(table.episode(e).predicted_rating, '.2f')})" for e in order[:REVIEW_SHOWN]
            )
            more = f" and {len(order) - REVIEW_SHOWN} more" if len(order) > REVIEW_SHOWN else ""
            lines.append(f"review first: {shown}{more}")
    elif model.get("reason"):
        lines.append(f"model: {model['reason']}")
    if path is not None:
        lines.append(f"scores written to {path}")
    return lines
