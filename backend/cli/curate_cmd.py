"""`rollout-studio curate show|set|undo|redo|export DATASET ...`: curation without the GUI.

Decisions live in the dataset's sidecar (see backend/curation.py); the dataset is never modified.

    rollout-studio curate show DATASET [--json] [--where EXPR]
    rollout-studio curate set DATASET (EPISODE | --where EXPR) [--rating good|bad|none] [--flag|--unflag] [--note TEXT]
                              [--trim-in N] [--trim-out N] [--clear-trim] [--task TEXT|--reset-task]
                              [--exclude|--include]
    rollout-studio curate undo DATASET / curate redo DATASET
    rollout-studio curate export DATASET --out PATH [--format hdf5|v2.1|v3.0] [--overwrite]
    rollout-studio curate export DATASET --decisions FILE.json
    rollout-studio curate apply-predictions DATASET [--good-above P] [--bad-below P] [--min-accuracy A]
                                                    [--where EXPR] [--dry-run]

``--where`` filters by the score table (``rollout-studio score``; grammar in backend/scores/where.py
and docs/score.md): ``--where 'jerky>5000 and frozen_camera'``. ``set --where`` changes every
selected episode as one undoable command; ``apply-predictions`` rates the unrated episodes the
learned judgement is sure about (good at or above ``--good-above``, bad at or below
``--bad-below``) as one undoable command.
"""

from __future__ import annotations

import argparse
from typing import Any

from backend.cli._common import TerminalProgress, jobs_flag, path_arg, print_json
from backend.cli._curate_scores import register_apply, selected_episodes, set_where, where_flag
from backend.curation import Curation, export_curated, export_decisions_json, format_summary
from backend.errors import StudioError
from backend.task_text import check_task_text

FORMAT_ALIASES = {
    "hdf5": "leisaac_hdf5",
    "leisaac": "leisaac_hdf5",
    "leisaac_hdf5": "leisaac_hdf5",
    "v2.1": "lerobot_v2.1",
    "lerobot_v2.1": "lerobot_v2.1",
    "v3.0": "lerobot_v3.0",
    "lerobot_v3.0": "lerobot_v3.0",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "curate",
        help="show, edit and export curation decisions (ratings, flags, trims, task edits, exclusions)",
    )
    actions = parser.add_subparsers(dest="curate_action", metavar="ACTION", required=True)

    show = actions.add_parser("show", help="list the decisions stored for a dataset")
    show.add_argument("dataset", type=path_arg)
    show.add_argument("--json", action="store_true")
    where_flag(show)
    show.set_defaults(func=run_show)

    edit = actions.add_parser(
        "set", help="change the decisions of one episode, or of every episode --where selects (undoable)"
    )
    edit.add_argument("dataset", type=path_arg)
    edit.add_argument("episode", type=int, nargs="?")
    where_flag(edit)
    edit.add_argument("--rating", choices=["good", "bad", "none"])
    flag = edit.add_mutually_exclusive_group()
    flag.add_argument("--flag", dest="flagged", action="store_const", const=True)
    flag.add_argument("--unflag", dest="flagged", action="store_const", const=False)
    edit.add_argument("--note")
    edit.add_argument("--trim-in", type=int, help="first kept frame")
    edit.add_argument("--trim-out", type=int, help="last kept frame (inclusive)")
    edit.add_argument("--clear-trim", action="store_true")
    task = edit.add_mutually_exclusive_group()
    task.add_argument("--task", help="new task text for the export")
    task.add_argument("--reset-task", action="store_true", help="keep the recorded task")
    keep = edit.add_mutually_exclusive_group()
    keep.add_argument("--exclude", dest="excluded", action="store_const", const=True)
    keep.add_argument("--include", dest="excluded", action="store_const", const=False)
    edit.set_defaults(func=run_set)

    for name, help_text in (("undo", "undo the last change"), ("redo", "redo the last undone change")):
        sub = actions.add_parser(name, help=help_text)
        sub.add_argument("dataset", type=path_arg)
        sub.set_defaults(func=run_undo if name == "undo" else run_redo)

    export = actions.add_parser(
        "export", help="write a curated copy of the dataset (or the decisions as JSON)"
    )
    export.add_argument("dataset", type=path_arg)
    target = export.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--out", type=path_arg, help="output .hdf5 file or dataset folder (must not exist unless --overwrite)"
    )
    target.add_argument(
        "--decisions",
        metavar="FILE.json",
        type=path_arg,
        help="write the decisions and the export plan as JSON",
    )
    export.add_argument("--format", help="hdf5 | v2.1 | v3.0 (default: the dataset's own format)")
    export.add_argument("--codec", choices=["h264", "av1", "hevc"], help="video codec for LeRobot outputs")
    export.add_argument("--overwrite", action="store_true")
    export.add_argument(
        "--subtasks", choices=["auto", "none", "index", "language", "both"], default="auto",
        help="LeRobot subtask columns: index (LeRobot 0.4-0.5), language (0.6, v3.0), both (docs/subtasks.md)",
    )
    export.add_argument("--quiet", action="store_true")
    jobs_flag(export)
    export.set_defaults(func=run_export)
    register_apply(actions)


def _open(path: str) -> tuple[Any, Curation]:
    from backend.formats import open_dataset

    dataset = open_dataset(path)
    return dataset, Curation.load(dataset.path, dataset)


def run_show(args: argparse.Namespace) -> int:
    dataset, curation = _open(args.dataset)
    with dataset:
        summary = curation.summary(dataset)
        chosen = selected_episodes(dataset, args.where)
        rows = []
        for episode in dataset.episodes:
            if chosen is not None and episode.index not in chosen:
                continue
            decision = curation.decision(episode.index)
            start, stop = decision.kept_range(episode.length)
            rows.append(
                {
                    "episode": episode.index,
                    "length": episode.length,
                    "kept_frames": [start, stop] if not decision.excluded else None,
                    "task": curation.task_for(episode),
                    **{k: v for k, v in decision.to_json().items()},
                }
            )
        if args.json:
            print_json(
                {
                    "dataset": str(dataset.path),
                    "sidecar": str(curation.path),
                    "summary": summary,
                    "warnings": curation.warnings,
                    "episodes": rows,
                    "undo": curation.undo_label,
                    "redo": curation.redo_label,
                    **({"where": args.where} if chosen is not None else {}),
                }
            )
            return 0
        print(f"{dataset.path} ({dataset.format.value})")
        print(f"decisions: {curation.path}{'' if curation.path.exists() else ' (none yet)'}")
        for warning in curation.warnings:
            print(f"warning: {warning}")
        for row in rows:
            episode = dataset.episode(row["episode"])
            decision = curation.decision(episode.index)
            if decision.is_default():
                if chosen is not None:
                    print(f"  episode {episode.index:>4} ({episode.length} frames): no decisions")
                continue
            marks = []
            if decision.excluded:
                marks.append("EXCLUDED")
            if decision.rating:
                marks.append(decision.rating)
            if decision.flagged:
                marks.append("flagged")
            if decision.trimmed:
                marks.append(
                    f"frames {row['kept_frames'][0]}..{row['kept_frames'][1] - 1}"
                    if row["kept_frames"]
                    else ""
                )
            if decision.task:
                marks.append(f"task {decision.task!r}")
            if decision.note:
                marks.append(f"note {decision.note!r}")
            print(
                f"  episode {episode.index:>4} ({episode.length} frames): {', '.join(m for m in marks if m)}"
            )
        if chosen is not None:
            print(f"{len(chosen)} episodes where {args.where}")
        print(format_summary(summary))
        return 0


def run_set(args: argparse.Namespace) -> int:
    dataset, curation = _open(args.dataset)
    with dataset:
        if args.where is not None:
            if args.episode is not None:
                raise StudioError("give one EPISODE or --where, not both")
            return set_where(args, dataset, curation)
        if args.episode is None:
            raise StudioError("give an EPISODE or --where EXPR", hint="e.g. curate set DATASET 3 --rating good")
        episode = dataset.episode(args.episode)
        values: dict[str, Any] = {}
        if args.rating is not None:
            values["rating"] = None if args.rating == "none" else args.rating
        if args.flagged is not None:
            values["flagged"] = args.flagged
        if args.note is not None:
            values["note"] = args.note
        if args.clear_trim:
            values["trim_in"] = values["trim_out"] = None
        for name in ("trim_in", "trim_out"):
            frame = getattr(args, name)
            if frame is not None:
                if not 0 <= frame < episode.length:
                    raise StudioError(
                        f"--{name.replace('_', '-')} {frame} is outside 0..{episode.length - 1}"
                    )
                values[name] = frame
        start = values.get("trim_in", curation.decision(episode.index).trim_in)
        stop = values.get("trim_out", curation.decision(episode.index).trim_out)
        if start is not None and stop is not None and stop < start:
            raise StudioError(f"trim out {stop} is before trim in {start}")
        if args.task is not None:
            values["task"] = check_task_text(args.task)
        if args.reset_task:
            values["task"] = None
        if args.excluded is not None:
            values["excluded"] = args.excluded
        if not values:
            raise StudioError(
                "nothing to change", hint="give --rating, --flag, --note, --trim-in, --task, --exclude ..."
            )
        changed = curation.set(episode.index, None, **values)
        print(
            f"{'changed' if changed else 'unchanged'}: episode {episode.index} -> {curation.decision(episode.index).to_json()}"
        )
        print(f"saved to {curation.path}")
        return 0


def run_undo(args: argparse.Namespace) -> int:
    return _step(args, undo=True)


def run_redo(args: argparse.Namespace) -> int:
    return _step(args, undo=False)


def _step(args: argparse.Namespace, undo: bool) -> int:
    dataset, curation = _open(args.dataset)
    with dataset:
        command = curation.undo() if undo else curation.redo()
        if command is None:
            print(f"nothing to {'undo' if undo else 'redo'}")
            return 1
        print(f"{'undid' if undo else 'redid'}: {command.label}")
        return 0


def run_export(args: argparse.Namespace) -> int:
    dataset, curation = _open(args.dataset)
    with dataset:
        if args.decisions:
            out = export_decisions_json(dataset, curation, args.decisions)
            print(f"decisions written to {out}")
            return 0
        fmt = None
        if args.format:
            fmt = FORMAT_ALIASES.get(args.format.lower())
            if fmt is None:
                raise StudioError(f"unknown format {args.format!r}", hint="use hdf5, v2.1 or v3.0")
        options = {"codec": args.codec} if args.codec else None
        print(format_summary(curation.summary(dataset)))
        progress = TerminalProgress("export", quiet=args.quiet)
        out = export_curated(
            dataset,
            curation,
            args.out,
            fmt,
            progress=progress,
            options=options,
            overwrite=args.overwrite,
            jobs=args.jobs,
            subtasks=args.subtasks,
        )
        print(f"curated dataset written to {out}")
        return 0
