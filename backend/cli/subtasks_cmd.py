"""`rollout-studio subtasks show|add|remove|clear|suggest|copy DATASET ...`: subtask segments headless.

Segments live in the dataset's curation sidecar (docs/subtasks.md); every change is one undoable
command there (`rollout-studio curate undo DATASET`).

    rollout-studio subtasks show DATASET [EPISODE] [--json]
    rollout-studio subtasks add DATASET EPISODE START END TEXT     frames START..END, inclusive
    rollout-studio subtasks remove DATASET EPISODE INDEX
    rollout-studio subtasks clear DATASET EPISODE
    rollout-studio subtasks suggest DATASET EPISODE [--accept]     from gripper events and arm pauses
    rollout-studio subtasks copy DATASET EPISODE                   to the other episodes of its task
    rollout-studio subtasks import DATASET [--replace]             the LeRobot dataset's own subtasks
"""

from __future__ import annotations

import argparse
from typing import Any

from backend.cli._common import path_arg, print_json
from backend.errors import StudioError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("subtasks", help="show and edit subtask segments (language on the timeline)")
    actions = parser.add_subparsers(dest="subtasks_action", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="list the segments of every episode, or of one")
    show.add_argument("dataset", type=path_arg)
    show.add_argument("episode", type=int, nargs="?")
    show.add_argument("--json", action="store_true")
    add = actions.add_parser("add", help="add a segment (overlapped parts of others give way)")
    add.add_argument("dataset", type=path_arg)
    for name in ("episode", "start", "end"):
        add.add_argument(name, type=int)
    add.add_argument("text")
    remove = actions.add_parser("remove", help="remove segment INDEX of an episode")
    remove.add_argument("dataset", type=path_arg)
    remove.add_argument("episode", type=int)
    remove.add_argument("index", type=int)
    for name, text in (("clear", "remove every segment of an episode"),
                       ("copy", "copy an episode's segments to the other episodes of its task"),
                       ("suggest", "suggest segments from motion (gripper open/close, arm pauses)")):
        sub = actions.add_parser(name, help=text)
        sub.add_argument("dataset", type=path_arg)
        sub.add_argument("episode", type=int)
        if name == "suggest":
            sub.add_argument("--accept", action="store_true", help="store the suggestions as the segments")
    imp = actions.add_parser(
        "import", help="take the subtasks a LeRobot dataset carries (subtask_index or language columns)"
    )
    imp.add_argument("dataset", type=path_arg)
    imp.add_argument("--replace", action="store_true", help="also replace episodes that have segments already")
    for sub in actions.choices.values():
        sub.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from backend import subtasks as ops
    from backend.curation import Curation
    from backend.formats import open_dataset

    with open_dataset(args.dataset) as dataset:
        curation = Curation.load(dataset.path, dataset)
        action = args.subtasks_action
        if action == "show":
            return _show(dataset, curation, args)
        if action == "import":
            return _import(dataset, curation, args.replace)
        episode = _episode(dataset, args.episode)
        segments = curation.decision(episode.index).subtasks
        if action == "add":
            segments = ops.add(segments, args.start, args.end, args.text, episode.length)
        elif action == "remove":
            if not 0 <= args.index < len(segments):
                raise StudioError(f"episode {episode.index} has no segment {args.index}", dataset.path)
            segments = ops.remove(segments, args.index)
        elif action == "clear":
            segments = ()
        elif action == "copy":
            changed = ops.copy_to_same_task(curation, dataset, episode.index)
            print(f"copied to {len(changed)} episodes: {', '.join(map(str, changed)) or '-'}")
            return 0
        elif action == "suggest":
            joints = episode.joints("state") if "state" in dataset.roles else episode.joints("action")
            suggested = ops.suggest(joints.values, list(joints.space.names), float(dataset.fps))
            _print(episode.index, suggested)
            if not args.accept:
                return 0
            segments = suggested
        curation.set(episode.index, None, subtasks=segments)
        _print(episode.index, curation.decision(episode.index).subtasks)
    return 0


def _import(dataset: Any, curation: Any, replace: bool) -> int:
    from backend.subtask_import import dataset_subtasks

    found = dataset_subtasks(dataset)
    if not found:
        raise StudioError("the dataset carries no subtasks (no subtask_index or language_persistent)", dataset.path)
    values = {
        episode: {"subtasks": segments}
        for episode, segments in found.items()
        if replace or not curation.decision(episode).subtasks
    }
    curation.set_each(values, f"Import subtasks of {len(values)} episodes from the dataset")
    kept = len(found) - len(values)
    print(f"imported the subtasks of {len(values)} episodes" + (f"; {kept} kept their own (--replace)" if kept else ""))
    return 0


def _episode(dataset: Any, index: int) -> Any:
    for episode in dataset.episodes:
        if episode.index == index:
            return episode
    raise StudioError(f"no episode {index} (the dataset has {dataset.num_episodes})", dataset.path)


def _show(dataset: Any, curation: Any, args: argparse.Namespace) -> int:
    from backend.subtasks import segments_json

    episodes = [_episode(dataset, args.episode)] if args.episode is not None else list(dataset.episodes)
    if args.json:
        print_json({str(e.index): segments_json(curation.decision(e.index).subtasks) for e in episodes})
        return 0
    for episode in episodes:
        _print(episode.index, curation.decision(episode.index).subtasks)
    return 0


def _print(index: int, segments: Any) -> None:
    if not segments:
        print(f"episode {index}: no subtasks")
    for number, s in enumerate(segments):
        print(f"episode {index} #{number}: frames {s.start}-{s.end}  {s.text or '(no text)'}")
