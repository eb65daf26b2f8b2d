"""`rollout-studio convert ...`: HDF5 <-> LeRobot, LeRobot v3.0 <-> v2.1, H.264 transcoding.

Every subcommand takes ``--plan`` (print the preview as JSON and write nothing) and ``--json``
(print the result summary as JSON); otherwise it draws a progress bar on stderr and prints a short
summary. User errors are one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Collection
from pathlib import Path
from typing import Any

from backend.cli import convert_eef, convert_sharded
from backend.cli._common import TerminalProgress, jobs_flag, path_arg, path_type, print_json
from backend.errors import StudioError
from backend.paths import user_path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "convert",
        help="convert datasets: hdf5-to-lerobot, lerobot-to-hdf5, lerobot-v3-to-v2, lerobot-v2-to-v3, transcode, "
        "joint-to-eef, eef-to-joint",
        description="Convert between LeIsaac HDF5, LeRobot v2.1/v3.0 and H.264 videos.",
    )
    sub = parser.add_subparsers(dest="conversion", metavar="CONVERSION")
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])

    p = sub.add_parser("hdf5-to-lerobot", help="LeIsaac HDF5 recordings -> LeRobot dataset")
    p.add_argument("sources", nargs="+", type=path_type, metavar="SRC.hdf5")
    p.add_argument("--out", required=True, type=path_type, help="output dataset folder (must not exist)")
    p.add_argument(
        "--task",
        default="",
        help="task text of every episode (default: the task the demos record, when they all have one)",
    )
    p.add_argument(
        "--task-for",
        action="append",
        default=[],
        metavar="FILE=TEXT",
        help="task text of one input file (repeatable)",
    )
    p.add_argument("--format", default="v2.1", choices=["v2.1", "v3.0"])
    p.add_argument("--robot", default="auto", choices=["auto", "so101", "bi_so101"])
    p.add_argument("--codec", default="h264", choices=["h264", "av1"])
    p.add_argument("--crf", type=int, default=None)
    p.add_argument("--gop", type=int, default=None, help="keyframe interval (frames)")
    p.add_argument(
        "--preset", default=None, help="encoder preset (x264: ultrafast..veryslow; svt-av1: 0..13)"
    )
    p.add_argument(
        "--fps", type=float, default=None, help="rate to write (default: the recordings' own, as inspect shows it)"
    )
    p.add_argument("--skip-frames", type=int, default=5, help="frames dropped at the start of each demo (5)")
    p.add_argument("--min-length", type=int, default=10, help="demos shorter than this are skipped (10)")
    p.add_argument("--include-failed", action="store_true", help="keep demos with success = False")
    p.add_argument(
        "--include-incomplete", action="store_true", help="keep interrupted demos (no success attribute)"
    )
    p.add_argument("--cameras", default=None, help="comma-separated cameras to include (default: all)")
    p.add_argument("--demos", default=None, help="comma-separated demo numbers to convert (default: all)")
    p.add_argument("--subtasks", default="auto", choices=["auto", "none", "index", "language", "both"],
                   help="the demos' subtasks attributes as LeRobot columns: index (LeRobot 0.4-0.5), language "
                        "(0.6, v3.0 only), both; auto: language for v3.0, index for v2.1 (docs/subtasks.md)")
    convert_sharded.add_flags(p)
    jobs_flag(p)
    _common_flags(p)
    p.set_defaults(func=_run_hdf5_to_lerobot)

    p = sub.add_parser(
        "lerobot-to-hdf5", help="LeRobot / IDM actions + source HDF5 -> replayable LeIsaac HDF5"
    )
    p.add_argument("dataset", type=path_type, metavar="DATASET")
    p.add_argument("--template", required=True, type=path_type, help="the source LeIsaac .hdf5")
    p.add_argument("--out", required=True, type=path_type, help="output .hdf5 (must not exist)")
    p.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="EPISODE=DEMO",
        help="pair LeRobot episode EPISODE with template demo DEMO (5 or demo_5; repeatable). Needed for "
        "every episode no provenance record pairs: episodes are never paired by position",
    )
    p.add_argument(
        "--frame-offset",
        type=int,
        default=None,
        help="first demo frame of every episode (default: from provenance, else detected, else 0)",
    )
    p.add_argument(
        "--action-unit",
        default=None,
        choices=["lerobot", "lerobot_deg", "deg", "rad"],
        help="unit of the LeRobot actions when the dataset does not say",
    )
    p.add_argument("--episodes", default=None, help="comma-separated LeRobot episode indices (default: all)")
    p.add_argument("--copy-states", action="store_true", help="copy the demo's states for the same frames")
    p.add_argument(
        "--replay-fps",
        type=float,
        default=None,
        metavar="HZ",
        help="resample the actions to HZ, one HDF5 step each (default: the rate of the LeRobot dataset "
        "made from the template, from provenance; else as they are). IDM outputs are 16 fps",
    )
    jobs_flag(p)
    _common_flags(p)
    p.set_defaults(func=_run_lerobot_to_hdf5)

    for name, target, helptext in (
        (
            "lerobot-v3-to-v2",
            "v2.1",
            "LeRobot v3.0 -> v2.1 for GR00T / IDM (per-episode files, jsonl, H.264)",
        ),
        ("lerobot-v2-to-v3", "v3.0", "LeRobot v2.0/v2.1 -> v3.0"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("source", type=path_type, metavar="SRC")
        p.add_argument("--out", required=True, type=path_type)
        p.add_argument(
            "--codec",
            default="keep" if target == "v3.0" else "h264",
            choices=["keep", "h264"],
            help="keep: copy video packets as they are; h264: re-encode videos that are not H.264",
        )
        p.add_argument("--reencode", action="store_true", help="re-encode every video, even H.264 ones")
        p.add_argument("--subtasks", default="auto", choices=["auto", "none", "index", "language", "both"],
                       help="the source's subtasks as subtask_index + meta/subtasks.parquet (auto, index), "
                       "LeRobot 0.6 language columns (language, v3.0 only), both, or none")
        p.add_argument("--crf", type=int, default=None)
        p.add_argument("--gop", type=int, default=None)
        p.add_argument("--preset", default=None)
        if target == "v2.1":
            p.add_argument(
                "--modality",
                default="auto",
                type=_modality_arg,
                help="meta/modality.json: auto (keep the source's or make one for SO-101), none, or a file",
            )
        jobs_flag(p)
        _common_flags(p)
        p.set_defaults(func=_run_versions, target=target)

    p = sub.add_parser("transcode", help="re-encode a dataset's videos to H.264 into a new folder")
    p.add_argument("source", type=path_type, metavar="SRC")
    p.add_argument("--codec", default="h264", choices=["h264"])
    p.add_argument(
        "--out",
        type=path_type,
        default=None,
        help="new dataset folder (default: SRC_h264 beside the source; the source is never changed)",
    )
    p.add_argument("--crf", type=int, default=None)
    p.add_argument("--gop", type=int, default=None)
    p.add_argument("--preset", default=None)
    p.add_argument("--force", action="store_true", help="re-encode videos that are already H.264 too")
    jobs_flag(p)
    _common_flags(p)
    p.set_defaults(func=_run_transcode)
    convert_sharded.register(sub)
    convert_eef.register(sub, _common_flags, _finish)


def _common_flags(p: argparse.ArgumentParser, overwrite: bool = True) -> None:
    if overwrite:
        p.add_argument(
            "--overwrite",
            action="store_true",
            help="replace an earlier output of the studio (only once the new one is complete; never a "
            "folder or file the studio did not write)",
        )
    p.add_argument(
        "--hash",
        dest="hash_mode",
        default="auto",
        choices=["auto", "full", "fast"],
        help="input checksums in the provenance record (fast: size + first/last MiB)",
    )
    p.add_argument("--plan", action="store_true", help="print the preview as JSON and write nothing")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


# --------------------------------------------------------------------------------------------------


def _split(text: str | None, cast: Any = str) -> list[Any] | None:
    if text is None:
        return None
    items = [t.strip() for t in text.split(",") if t.strip()]
    try:
        return [cast(t) for t in items]
    except ValueError as error:
        raise StudioError(f"cannot read the list {text!r} ({error})") from None


def _modality_arg(text: str) -> str:
    return text if text in ("auto", "none") else path_arg(text)


def _file_key(key: str) -> str:
    """A --task-for FILE: a path (it has a folder part or ~) made absolute; a bare file name kept."""
    return str(user_path(key)) if "/" in key or key.startswith("~") else key


def _pairs(items: list[str], what: str) -> list[tuple[str, str]]:
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise StudioError(f"{what} expects KEY=VALUE, got {item!r}")
        pairs.append((key.strip(), value.strip()))
    return pairs


def _finish(args: argparse.Namespace, module: Any, inputs: Any, options: Any, label: str) -> int:
    if args.plan:
        result = module.plan(inputs, options)
        print_json(result.to_dict())
        return 0 if result.ok else 2
    progress = TerminalProgress(label, quiet=args.quiet)
    summary = module.run(inputs, options, progress)
    if args.json:
        data = summary.to_dict()
        data.pop("provenance", None)
        print_json(data)
    else:
        _print_summary(summary, shown=set(progress.warnings))
    return 0


def _print_summary(summary: Any, shown: Collection[str] = ()) -> None:
    """The summary; warnings the progress line already printed (``shown``) are not repeated."""
    line = f"wrote {summary.output} ({summary.output_format})"
    if summary.episodes_written or summary.frames_written:
        line += f": {summary.episodes_written} episodes, {summary.frames_written} frames"
    line += f" in {summary.seconds:.1f} s"
    print(line)
    for key, value in summary.details.items():
        if isinstance(value, (int, float, str)) and key != "frames_per_second":
            print(f"  {key}: {value}")
    for line in skipped_lines(summary.skipped):
        print(line)
    for warning in summary.warnings:
        if warning not in shown:
            print(f"  warning: {warning}", file=sys.stderr)


def skipped_lines(skipped: list[dict[str, Any]], most: int = 5) -> list[str]:
    """One line per skipped episode; a run of more than ``most`` with the same file and reason (the
    114 demos a ``--demos`` left out of 120, say) is one line with the count and the first and last
    names (``--json`` lists every one)."""
    groups: list[tuple[str, str, list[str]]] = []
    for item in skipped:
        source, reason = Path(str(item.get("source"))).name, str(item.get("reason"))
        if groups and groups[-1][:2] == (source, reason):
            groups[-1][2].append(str(item.get("episode")))
        else:
            groups.append((source, reason, [str(item.get("episode"))]))
    lines = []
    for source, reason, names in groups:
        if len(names) > most:
            shown = ", ".join(names[:3]) + f", ..., {names[-1]}"
            lines.append(f"  skipped {len(names)} episodes of {source}: {reason} ({shown})")
        else:
            lines.extend(f"  skipped {name} of {source}: {reason}" for name in names)
    return lines


def _run_hdf5_to_lerobot(args: argparse.Namespace) -> int:
    from backend.convert import hdf5_to_lerobot as module

    demos = _split(args.demos, int)
    options = module.Hdf5ToLerobotOptions(
        out=args.out,
        task=args.task,
        tasks={_file_key(key): text for key, text in _pairs(args.task_for, "--task-for")},
        format=args.format,
        robot=args.robot,
        fps=args.fps,
        skip_frames=args.skip_frames,
        min_length=args.min_length,
        include_failed=args.include_failed,
        include_incomplete=args.include_incomplete,
        cameras=_split(args.cameras),
        codec=args.codec,
        crf=args.crf,
        gop=args.gop,
        preset=args.preset,
        demos={str(p): demos for p in args.sources} if demos is not None else None,
        overwrite=args.overwrite,
        hash_mode=args.hash_mode,
        jobs=args.jobs,
        subtasks=args.subtasks,
    )
    if args.on == "slurm" and not args.plan:
        return convert_sharded.run_on_slurm(args, list(args.sources), options)
    return _finish(args, module, list(args.sources), options, "hdf5 -> lerobot")


def _run_lerobot_to_hdf5(args: argparse.Namespace) -> int:
    from backend.convert import lerobot_to_hdf5 as module

    mapping: dict[int, int] = {}
    for key, value in _pairs(args.map, "--map"):
        try:
            episode, demo = int(key), int(value.removeprefix("demo_"))
        except ValueError:
            raise StudioError(f"--map expects EPISODE=DEMO numbers, got {key}={value}") from None
        if mapping.get(episode, demo) != demo:
            raise StudioError(f"--map pairs episode {episode} twice (demo_{mapping[episode]} and demo_{demo})")
        mapping[episode] = demo
    options = module.LerobotToHdf5Options(
        out=args.out,
        template=args.template,
        mapping=mapping,
        frame_offset=args.frame_offset,
        action_unit=args.action_unit,
        episodes=_split(args.episodes, int),
        copy_states=args.copy_states,
        replay_fps=args.replay_fps,
        jobs=args.jobs,
        overwrite=args.overwrite,
        hash_mode=args.hash_mode,
    )
    return _finish(args, module, args.dataset, options, "lerobot -> hdf5")


def _run_versions(args: argparse.Namespace) -> int:
    from backend.convert import lerobot_versions as module

    options = module.LerobotVersionOptions(
        out=args.out,
        target=args.target,
        codec=args.codec,
        reencode=args.reencode,
        crf=args.crf,
        gop=args.gop,
        preset=args.preset,
        modality=getattr(args, "modality", "none"),
        subtasks=args.subtasks,
        jobs=args.jobs,
        overwrite=args.overwrite,
        hash_mode=args.hash_mode,
    )
    return _finish(args, module, args.source, options, f"lerobot -> {args.target}")


def _run_transcode(args: argparse.Namespace) -> int:
    from backend.convert import transcode as module

    options = module.TranscodeOptions(
        out=args.out,
        codec=args.codec,
        crf=args.crf,
        gop=args.gop,
        preset=args.preset,
        force=args.force,
        jobs=args.jobs,
        overwrite=args.overwrite,
        hash_mode=args.hash_mode,
    )
    return _finish(args, module, args.source, options, "transcode")
