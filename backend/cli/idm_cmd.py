"""`rollout-studio idm prepare|kit`: GR00T-Dreams IDM inputs."""

from __future__ import annotations

import argparse

from backend.cli._common import TerminalProgress, jobs_flag, name_or_path_arg, path_arg, print_json
from backend.idm.kit import KitOptions, build_kit
from backend.idm.prepare import PrepareOptions, prepare_idm_dataset


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "idm", help="GR00T-Dreams IDM inputs: prepared datasets and embodiment kits"
    )
    sub = parser.add_subparsers(dest="idm_command", metavar="SUBCOMMAND", required=True)

    prep = sub.add_parser("prepare", help="Cosmos outputs -> the IDM's input dataset (256x256, 16 fps)")
    prep.add_argument(
        "cosmos_out", type=path_arg, help="Cosmos inference output folder (<name>.mp4 + <name>.json)"
    )
    prep.add_argument(
        "--embodiment", default="so101", type=name_or_path_arg, help="preset key or a preset JSON file"
    )
    prep.add_argument(
        "--out",
        required=True,
        type=path_arg,
        help="folder named <embodiment>.<name>, e.g. so101.generated (with --split-tasks: any folder)",
    )
    prep.add_argument(
        "--source-dataset", type=path_arg, help="LeRobot dataset: prompt fallback and stats.json"
    )
    prep.add_argument(
        "--metadata",
        type=path_arg,
        help="folder with modality.json + stats.json, e.g. a kit's global_metadata/so101",
    )
    prep.add_argument("--camera", help="video key of the embodiment to write (default: the preset's first)")
    prep.add_argument("--min-frames", type=int, default=93)
    prep.add_argument("--fps", type=float, help="frame rate the IDM expects (default: the preset's, 16)")
    prep.add_argument(
        "--split-tasks", action="store_true", help="one dataset per task: OUT/<embodiment>.<Task_Folder>"
    )
    prep.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    prep.add_argument("--json", action="store_true")
    jobs_flag(prep)
    prep.set_defaults(func=run_prepare)

    kit = sub.add_parser("kit", help="modality.json, stats.json, DataConfig and conf.yaml for an embodiment")
    kit.add_argument("dataset", type=path_arg)
    kit.add_argument(
        "--embodiment", default="so101", type=name_or_path_arg, help="preset key or a preset JSON file"
    )
    kit.add_argument("--out", required=True, type=path_arg)
    kit.add_argument("--camera", action="append", help="camera(s) to include (default: the preset's)")
    kit.add_argument(
        "--checkpoint", type=path_arg, help="IDM checkpoint folder to receive experiment_cfg/conf.yaml"
    )
    kit.add_argument("--overwrite-conf", action="store_true")
    kit.add_argument("--overwrite", action="store_true", help="replace an existing kit folder")
    kit.add_argument("--json", action="store_true")
    kit.set_defaults(func=run_kit)


def run_prepare(args: argparse.Namespace) -> int:
    options = PrepareOptions(
        embodiment=args.embodiment,
        source_dataset=args.source_dataset,
        metadata_dir=args.metadata,
        min_frames=args.min_frames,
        fps=args.fps,
        camera=args.camera,
        split_tasks=args.split_tasks,
        overwrite=args.overwrite,
        jobs=args.jobs,
    )
    summary = prepare_idm_dataset(args.cosmos_out, args.out, options, TerminalProgress("idm prepare"))
    if args.json:
        print_json(summary.to_dict())
    else:
        print(f"{summary.out}: {len(summary.episodes)} episodes in {len(summary.tasks)} task(s)")
        for folder, prompt in summary.tasks.items():
            count = sum(1 for e in summary.episodes if e["task_folder"] == folder)
            print(f"  task {folder}: {count} episode(s), {prompt!r}")
        for path in summary.datasets:
            print(f"  dataset {path}")
        for skipped in summary.skipped:
            print(f"  skipped {skipped['sample']}: {skipped['reason']}")
    return 0


def run_kit(args: argparse.Namespace) -> int:
    options = KitOptions(
        embodiment=args.embodiment,
        cameras=args.camera,
        checkpoint=args.checkpoint,
        overwrite_conf=args.overwrite_conf,
        overwrite=args.overwrite,
    )
    summary = build_kit(args.dataset, args.out, options, TerminalProgress("idm kit"))
    if args.json:
        print_json(summary.to_dict())
    else:
        print(f"{summary.out}:")
        for name in summary.files:
            print(f"  {name}")
        if summary.conf_yaml:
            print(f"  installed {summary.conf_yaml}")
    return 0
