"""`curate` by score: ``--where`` (show / set) and ``apply-predictions``, over the score table."""

from __future__ import annotations

import argparse
from typing import Any

from backend.cli._common import path_arg, print_json
from backend.errors import StudioError
from backend.numbers import fixed

GOOD_ABOVE = 0.8
BAD_BELOW = 0.2
MIN_ACCURACY = 0.7  # a model that did worse in cross-validation is not trusted with a batch


def where_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--where", metavar="EXPR",
        help="only the episodes whose scores match, e.g. 'jerky>5000 and frozen_camera' (see docs/score.md)",
    )


def selected_episodes(dataset: Any, where: str | None) -> set[int] | None:
    """The episodes ``where`` selects in the dataset's score table (None: no --where given)."""
    if where is None:
        return None
    from backend.scores.store import require_scores
    from backend.scores.where import select

    table = require_scores(dataset.path)
    existing = {e.index for e in dataset.episodes}
    return {index for index in select(table, where) if index in existing}


def _values(args: argparse.Namespace) -> dict[str, Any]:
    """The fields of ``curate set`` that apply to many episodes at once."""
    if args.trim_in is not None or args.trim_out is not None or args.clear_trim:
        raise StudioError("trims are per episode: give one EPISODE instead of --where")
    values: dict[str, Any] = {}
    if args.rating is not None:
        values["rating"] = None if args.rating == "none" else args.rating
    if args.flagged is not None:
        values["flagged"] = args.flagged
    if args.note is not None:
        values["note"] = args.note
    if args.task is not None:
        values["task"] = args.task
    if args.reset_task:
        values["task"] = None
    if args.excluded is not None:
        values["excluded"] = args.excluded
    if not values:
        raise StudioError("nothing to change", hint="give --rating, --flag, --note, --task, --exclude ...")
    return values


def set_where(args: argparse.Namespace, dataset: Any, curation: Any) -> int:
    """``curate set DATASET --where EXPR ...``: every selected episode, one undoable command."""
    values = _values(args)
    chosen = sorted(selected_episodes(dataset, args.where) or ())
    if not chosen:
        print(f"no episode where {args.where}: nothing changed")
        return 0
    fields = ", ".join(f"{k}={v!r}" for k, v in values.items())
    label = f"Set {fields} on {len(chosen)} episodes where {args.where}"
    changed = curation.set_many(chosen, label, **values)
    print(f"{'changed' if changed else 'unchanged'}: {len(chosen)} episodes where {args.where} -> {fields}")
    print(f"saved to {curation.path}" if changed else f"decisions in {curation.path}")
    return 0


def register_apply(actions: argparse._SubParsersAction) -> None:
    apply = actions.add_parser(
        "apply-predictions",
        help="rate the unrated episodes the learned judgement is sure about, as one undoable change",
    )
    apply.add_argument("dataset", type=path_arg)
    apply.add_argument("--good-above", type=float, default=GOOD_ABOVE, metavar="P",
                       help=f"rate good when P(good) >= P (default {GOOD_ABOVE})")
    apply.add_argument("--bad-below", type=float, default=BAD_BELOW, metavar="P",
                       help=f"rate bad when P(good) <= P (default {BAD_BELOW})")
    apply.add_argument("--min-accuracy", type=float, default=MIN_ACCURACY, metavar="A",
                       help=f"refuse a model whose cross-validated accuracy is under A (default {MIN_ACCURACY})")
    where_flag(apply)
    apply.add_argument("--dry-run", action="store_true", help="show what would change, change nothing")
    apply.add_argument("--json", action="store_true")
    apply.set_defaults(func=run_apply)


def predicted_ratings(
    table: Any, curation: Any, good_above: float, bad_below: float, among: set[int] | None = None
) -> dict[int, str]:
    """Episode -> "good" / "bad" for the unrated episodes whose prediction passes a threshold."""
    out: dict[int, str] = {}
    for item in table.episodes:
        p = item.predicted_rating
        if p is None or (among is not None and item.episode not in among):
            continue
        if curation.decision(item.episode).rating is not None:
            continue  # the operator's own rating is never replaced
        if p >= good_above:
            out[item.episode] = "good"
        elif p <= bad_below:
            out[item.episode] = "bad"
    return out


def run_apply(args: argparse.Namespace) -> int:
    from backend.cli.curate_cmd import _open
    from backend.scores.store import require_scores

    if not 0.0 <= args.bad_below < args.good_above <= 1.0:
        raise StudioError(
            f"need 0 <= --bad-below < --good-above <= 1, not {args.bad_below} and {args.good_above}"
        )
    dataset, curation = _open(args.dataset)
    with dataset:
        table = require_scores(dataset.path)
        if table.model.get("accuracy") is None:
            reason = table.model.get("reason") or "the score table has no predictions"
            raise StudioError(reason, dataset.path, "rate more episodes, then run `rollout-studio score` again")
        accuracy = fixed(100.0 * float(table.model["accuracy"]), ".1f")
        if float(table.model["accuracy"]) < args.min_accuracy:
            raise StudioError(
                f"the learned judgement's cross-validated accuracy is {accuracy}%, under "
                f"{fixed(100.0 * args.min_accuracy, '.0f')}%",
                dataset.path,
                "rate more episodes and run `rollout-studio score` again, or lower --min-accuracy",
            )
        existing = {e.index for e in dataset.episodes}
        among = selected_episodes(dataset, args.where)
        ratings = {
            e: r for e, r in predicted_ratings(table, curation, args.good_above, args.bad_below, among).items()
            if e in existing
        }
        good = sorted(e for e, r in ratings.items() if r == "good")
        bad = sorted(e for e, r in ratings.items() if r == "bad")
        label = f"Apply predicted ratings: {len(good)} good, {len(bad)} bad (model accuracy {accuracy}%)"
        changed = False
        if not args.dry_run and ratings:
            changed = curation.set_each({e: {"rating": r} for e, r in ratings.items()}, label)
        if args.json:
            print_json({"good": good, "bad": bad, "applied": changed, "accuracy": table.model["accuracy"],
                        "sidecar": str(curation.path)})
            return 0
        print(f"model: cross-validated accuracy {accuracy}% on {table.model.get('ratings')} ratings")
        print(f"good (P >= {args.good_above}): {', '.join(map(str, good)) or 'none'}")
        print(f"bad (P <= {args.bad_below}): {', '.join(map(str, bad)) or 'none'}")
        if args.dry_run:
            print("dry run: nothing changed")
        elif changed:
            print(f"applied as one change ({label}); `curate undo` reverts it; saved to {curation.path}")
        else:
            print("nothing to apply")
        return 0
