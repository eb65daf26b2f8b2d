"""Operations that choose episodes, frames or tasks of one dataset: split, delete, keep, trim, retask.

Each writes a new dataset (split: two) of the input's format: whole episodes keep their video
packets; a trim copies packets from a keyframe and, for a window that starts inside a GOP, re-encodes
only its frames up to the next keyframe (``backend.formats.lerobot.splice``); the plan lists each cut.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from backend.errors import StudioError
from backend.model import Dataset
from backend.surgery.common import (
    cut_windows,
    disk_size,
    estimate,
    formats,
    not_carried,
    video_note,
    whole,
)
from backend.surgery.plan import Output, Piece, Plan


def parse_episodes(text: str, dataset: Dataset) -> list[int]:
    """'0,2,5-9' -> [0, 2, 5, 6, 7, 8, 9], each checked against the dataset (order kept, no repeats)."""
    known = {e.index for e in dataset.episodes}
    chosen: list[int] = []
    for part in (p.strip() for p in str(text).split(",")):
        if not part:
            continue
        match = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", part)
        if match is None:
            raise StudioError(f"{part!r} is not an episode number or range like 3-7", dataset.path)
        first, last = int(match[1]), int(match[2] or match[1])
        if last < first:
            raise StudioError(f"episode range {part} runs backwards", dataset.path)
        for index in range(first, last + 1):
            if index not in known:
                raise StudioError(
                    f"has no episode {index}", dataset.path, f"episodes are 0..{len(known) - 1}"
                )
            if index not in chosen:
                chosen.append(index)
    if not chosen:
        raise StudioError("no episodes given", dataset.path, "give episodes like 0,2,5-9")
    return chosen


def _plan(op: str, dataset: Dataset, outputs: list[Output], changes: list[str], cut: bool = False) -> Plan:
    size = disk_size(dataset.path)
    for output in outputs:
        estimate(output, [dataset], [size])
    return Plan(
        op,
        [str(Path(dataset.path).absolute())],
        formats([dataset]),
        dataset.format.value,
        outputs,
        video=video_note([dataset], None, cut),
        changes=changes,
        warnings=not_carried(dataset),
    )


def _out(path: str | Path, pieces: list[Piece]) -> Output:
    return Output(str(Path(path).absolute()), pieces)


def plan_keep(dataset: Dataset, episodes: list[int], out: str | Path) -> Plan:
    kept = sorted(set(episodes))
    return _plan(
        "keep",
        dataset,
        [_out(out, whole(dataset, 0, kept))],
        [f"keep {len(kept)} of {dataset.num_episodes} episodes, renumbered 0..{len(kept) - 1}"],
    )


def plan_delete(dataset: Dataset, episodes: list[int], out: str | Path) -> Plan:
    gone = set(episodes)
    kept = [e.index for e in dataset.episodes if e.index not in gone]
    if not kept:
        raise StudioError("deleting every episode leaves nothing", dataset.path, "delete fewer episodes")
    return _plan(
        "delete",
        dataset,
        [_out(out, whole(dataset, 0, kept))],
        [f"delete episodes {sorted(gone)}; {len(kept)} kept, renumbered 0..{len(kept) - 1}"],
    )


def plan_split(
    dataset: Dataset,
    outs: list[str | Path],
    episodes: list[int] | None = None,
    fraction: float | None = None,
    seed: int = 0,
) -> Plan:
    """Two outputs: ``episodes`` (or a random ``fraction`` of them, drawn with ``seed``) and the rest."""
    if len(outs) != 2:
        raise StudioError("split writes two outputs", dataset.path, "give --out A --out B")
    indices = [e.index for e in dataset.episodes]
    if episodes is None:
        if fraction is None or not 0 < fraction < 1:
            raise StudioError("give --episodes or a --fraction between 0 and 1", dataset.path)
        count = min(len(indices) - 1, max(1, round(fraction * len(indices))))
        first = sorted(random.Random(seed).sample(indices, count))
        how = f"a random {fraction:g} of the episodes (seed {seed})"
    else:
        first = sorted(set(episodes))
        how = f"episodes {first}"
    rest = [i for i in indices if i not in set(first)]
    if not first or not rest:
        raise StudioError("the split leaves one side empty", dataset.path, "choose fewer or other episodes")
    outputs = [_out(outs[0], whole(dataset, 0, first)), _out(outs[1], whole(dataset, 0, rest))]
    return _plan(
        "split",
        dataset,
        outputs,
        [f"first output: {how} ({len(first)}); second: the other {len(rest)}, order kept"],
    )


def plan_trim(dataset: Dataset, trims: dict[int, tuple[int, int]], out: str | Path) -> Plan:
    """``trims``: episode -> (first kept frame, last kept frame + 1)."""
    pieces = whole(dataset, 0)
    for piece in pieces:
        if piece.episode in trims:
            start, stop = trims[piece.episode]
            if not 0 <= start < stop <= piece.stop:
                raise StudioError(
                    f"trim {start}..{stop - 1} of episode {piece.episode} is outside 0..{piece.stop - 1}",
                    dataset.path,
                )
            piece.start, piece.stop = start, stop
    unknown = sorted(set(trims) - {p.episode for p in pieces})
    if unknown:
        raise StudioError(f"has no episode {unknown[0]}", dataset.path)
    plan = _plan(
        "trim",
        dataset,
        [_out(out, pieces)],
        [f"episode {e}: frames {a}..{b - 1} kept" for e, (a, b) in sorted(trims.items())],
        cut=True,
    )
    plan.cuts = cut_windows(dataset, pieces)
    for camera in plan.video:
        mine = [c for c in plan.cuts if c["camera"] == camera]
        if mine:
            plan.video[camera] = cut_summary(mine)
    return plan


def cut_summary(cuts: list[dict]) -> str:
    """'2 cut windows: 1 copied, 1 re-encoded to the next keyframe (1 frame), 0 re-encoded whole'."""
    copied = sum(c["mode"] == "copy" for c in cuts)
    spliced = [c for c in cuts if c["mode"] == "splice"]
    whole_ = sum(c["mode"] == "encode" for c in cuts)
    frames = sum(c["encoded"] for c in spliced)
    return (
        f"{len(cuts)} cut window(s): {copied} packets copied, {len(spliced)} re-encoded only up to the next "
        f"keyframe ({frames} frame(s)), {whole_} re-encoded whole; other episodes copied"
    )


def plan_retask(
    dataset: Dataset,
    task: str,
    out: str | Path,
    episodes: list[int] | None = None,
    pattern: str | None = None,
) -> Plan:
    """New task text for ``episodes`` (default all), or for episodes whose task matches ``pattern`` (a
    regular expression; ``task`` may use its groups as \\1)."""
    from backend.task_text import check_task_text

    chosen = set(episodes) if episodes is not None else None
    regex = None
    if pattern is not None:
        try:
            regex = re.compile(pattern)
        except re.error as error:
            raise StudioError(f"--pattern {pattern!r} is not a regular expression ({error})") from None
    pieces = whole(dataset, 0)
    changed: list[str] = []
    for piece in pieces:
        if chosen is not None and piece.episode not in chosen:
            continue
        if regex is not None:
            if regex.search(piece.task) is None:
                continue
            new = regex.sub(task, piece.task)
        else:
            new = task
        new = check_task_text(new)
        if new != piece.task:
            changed.append(f"episode {piece.episode}: {piece.task!r} -> {new!r}")
            piece.task = new
    plan = _plan("retask", dataset, [_out(out, pieces)], changed or ["no task changes"])
    if not changed:
        plan.warnings.append("no episode's task changes")
    return plan
