"""What a Convert wizard knows, without Qt: the conversion, the inputs chosen, the output it
proposes, the replay mapping the user picked, and the wizard's steps (``WizardSession``).

The pane's form fills it (``set_sources``, ``set_template``, ``choose_demo``) and asks it what to
show (``inputs_check``, ``default_out``, ``blocked``); ``plan_call`` and ``run_call`` are what its
tasks run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.convert import CONVERSIONS, ConversionInfo, module_for
from backend.output_faults import output_fault
from backend.sessions.wizard import Check, WizardSession, window_words

HDF5_SUFFIXES = (".hdf5", ".h5", ".he5")
FOLDER_OUTPUT = {"hdf5_to_lerobot", "lerobot_v3_to_v2", "lerobot_v2_to_v3", "transcode"}
_SUFFIX = {"lerobot_v3_to_v2": "v21", "lerobot_v2_to_v3": "v30", "transcode": "h264"}
EEF_SUFFIX = {"joint_to_eef": "eef", "eef_to_joint": "joint"}


def is_hdf5(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in HDF5_SUFFIXES


def is_lerobot(path: Path) -> bool:
    return path.is_dir() and (path / "meta" / "info.json").is_file()


def parse_numbers(text: str) -> list[int] | None:
    """'0-3, 7' -> [0, 1, 2, 3, 7]; '' -> None. Raises ValueError on anything else."""
    numbers: list[int] = []
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        first, sep, last = part.partition("-")
        try:
            numbers.extend(range(int(first), int(last) + 1) if sep else [int(part)])
        except ValueError:
            raise ValueError(f"demos: {part!r} is not a number or a range like 0-4") from None
    return numbers or None


def conversion(key: str) -> ConversionInfo:
    return next(info for info in CONVERSIONS if info.key == key)


def call_plan(module: Any, inputs: Any, options: Any, progress: Any = None) -> dict[str, Any]:
    """The preview: what ``module.run`` would write (a plain dict)."""
    return module.plan(inputs, options).to_dict()


def call_run(module: Any, inputs: Any, options: Any, progress: Any = None) -> dict[str, Any]:
    """The conversion itself; a full disk, a size limit or a read-only folder is said about the
    output, as the CLI says it."""
    try:
        return module.run(inputs, options, progress).to_dict()
    except Exception as error:
        fault = output_fault(error, [getattr(options, "out", None)])
        if fault is None:
            raise
        raise fault from None


def call_queue_sharded(
    module: Any, inputs: Any, options: Any, shards: int, progress: Any = None
) -> dict[str, Any]:
    """HDF5 -> LeRobot on Slurm: checked, staged and queued (``sharded.queue``); the summary names the job."""
    return module.queue(inputs, options, shards)


@dataclass
class ConvertSession(WizardSession):
    """One conversion's wizard. ``sources``: the recordings (HDF5 -> LeRobot) or the one dataset."""

    key: str = "hdf5_to_lerobot"
    workspace: Path = field(default_factory=Path.home)
    sources: list[str] = field(default_factory=list)
    template: str = ""  # LeRobot -> HDF5: the recording the dataset came from
    mapping: dict[int, int] = field(default_factory=dict)  # LeRobot -> HDF5: episode -> demo, chosen
    on: str = "local"  # HDF5 -> LeRobot: "local", or "slurm" (shards as a Slurm array, then a join)
    shards: int = 4

    @property
    def info(self) -> ConversionInfo:
        return conversion(self.key)

    @property
    def module(self) -> Any:
        return module_for(self.key)

    @property
    def target(self) -> str:
        """The LeRobot version a version conversion writes."""
        return "v2.1" if self.key == "lerobot_v3_to_v2" else "v3.0"

    def out_is_folder(self) -> bool:
        return self.key in FOLDER_OUTPUT

    # -- inputs ------------------------------------------------------------------------------------
    def set_sources(self, paths: list[str | Path]) -> None:
        paths = [str(p) for p in paths if str(p)]
        if paths == self.sources:
            return
        if self.key == "lerobot_to_hdf5":
            self.mapping.clear()  # another dataset: the demos chosen were for the old one
        self.sources = paths
        self.edited()

    def set_template(self, path: str | Path) -> None:
        if str(path) != self.template:
            self.template = str(path)
            self.edited()

    def choose_demo(self, episode: int, demo: int | None) -> None:
        """The user pairs a dataset episode with a demo of the template (None: as detected)."""
        if demo is None:
            self.mapping.pop(episode, None)
        else:
            self.mapping[int(episode)] = int(demo)
        self.edited()

    def set_where(self, on: str, shards: int = 4) -> None:
        """Where HDF5 -> LeRobot runs: here, or on Slurm as ``shards`` array tasks joined at the end."""
        if on not in ("local", "slurm"):
            raise ValueError(f"unknown place {on!r}")
        shards = max(1, int(shards))
        if (on, shards) != (self.on, self.shards):
            self.on, self.shards = on, shards
            self.edited()

    def inputs_check(self) -> Check:
        if self.key == "hdf5_to_lerobot":
            return (True, "") if self.sources else (False, "add at least one .hdf5 recording")
        if self.key == "lerobot_to_hdf5":
            if not self.sources:
                return False, "drop the LeRobot dataset"
            if not self.template:
                return False, "drop the source .hdf5 (template)"
            return True, ""
        if self.sources:
            return True, ""
        if self.key == "joint_to_eef":
            return False, "drop a LeIsaac .hdf5 recording or a LeRobot dataset"
        if self.key == "eef_to_joint":
            return False, "drop an .hdf5 with end-effector actions"
        return False, "drop a LeRobot dataset folder"

    def backend_inputs(self) -> list[Path] | Path:
        if self.key == "hdf5_to_lerobot":
            return [Path(p) for p in self.sources]
        return Path(self.sources[0]) if self.sources else Path()

    # -- the output --------------------------------------------------------------------------------
    def default_out(self) -> Path | None:
        if not self.sources:
            return None
        first = Path(self.sources[0])
        if self.key == "hdf5_to_lerobot":
            return self.workspace / "datasets" / f"{first.stem}_lerobot"
        if self.key == "lerobot_to_hdf5":
            return self.workspace / "replay" / f"{first.name}_replay.hdf5"
        if self.key in EEF_SUFFIX:  # MimicGen's files: an .hdf5 beside the others of the same flow
            stem = first.stem if first.suffix.lower() in HDF5_SUFFIXES else first.name
            return self.workspace / "mimic" / f"{stem}_{EEF_SUFFIX[self.key]}.hdf5"
        return self.workspace / "datasets" / f"{first.name}_{_SUFFIX[self.key]}"

    def out_path(self) -> Path:
        return Path(self.out) if self.out else (self.default_out() or self.workspace / "converted")

    # -- what the preview says ---------------------------------------------------------------------
    def blocked(self) -> str:
        """The sentence the Run button shows while the plan has errors ("" for the generic one)."""
        if self.key != "lerobot_to_hdf5":
            return ""
        hint = window_words(self.module.UNPAIRED_HINT)  # the plan's errors are in the window's words
        unpaired = [e for e in self.plan.get("errors") or [] if hint in e]
        return unpaired[0] if unpaired else ""

    def check_options(self) -> Check:
        return self.options_check(blocked=self.blocked())

    # -- the tasks ---------------------------------------------------------------------------------
    def plan_call(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        return call_plan, (self.module, self.backend_inputs(), self.options)

    def run_call(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        if self.key == "hdf5_to_lerobot" and self.on == "slurm":
            from backend.convert import sharded

            return call_queue_sharded, (sharded, self.backend_inputs(), self.options, self.shards)
        return call_run, (self.module, self.backend_inputs(), self.options)

    def summary(self) -> dict[str, Any] | None:
        """The finished run's summary (``Result.to_dict()``)."""
        return self.result if isinstance(self.result, dict) else None


def conversion_for(path: str | Path) -> str | None:
    """The conversion a dropped input most likely wants: a recording becomes LeRobot, a LeRobot
    dataset changes version (v3.0 -> v2.1, older -> v3.0); None for anything else."""
    path = Path(path)
    if is_hdf5(path):
        return "hdf5_to_lerobot"
    if not is_lerobot(path):
        return None
    try:
        info = json.loads((path / "meta" / "info.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    version = str(info.get("codebase_version", "")) if isinstance(info, dict) else ""
    return "lerobot_v3_to_v2" if version.startswith("v3") else "lerobot_v2_to_v3"
