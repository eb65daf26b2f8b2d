"""LeIsaac HDF5 recordings -> a LeRobot dataset (v2.1 by default, v3.0 on request).

What LeIsaac's ``isaaclab2lerobot.py`` does, with its hard-coded choices made options and its traps
removed: demos are read in demo-number order (not h5py's lexicographic order), nothing is filtered
silently (every skipped demo is listed with its reason), the codec is an option (H.264 by default),
frames are streamed (never a whole demo in memory) and the joint mapping goes through
``JointSpace.convert`` (radians -> LeRobot -100..100 / 0..100, formats.md section 2). Action vectors
that are not joint positions (keyboard / gamepad IK, width 8) are copied unscaled, with a warning.

Selection rules, in order (the first that applies is the reason shown):
  not selected -> failed (success = False, unless include_failed) -> interrupted (no success
  attribute, unless include_incomplete; when no demo of a file has the attribute they are all kept)
  -> shorter than ``min_length`` source frames (LeIsaac counts before skipping) -> nothing left after
  skipping ``skip_frames`` -> a camera or array missing.
Output frame ``t`` of an episode is source frame ``skip_frames + t``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from backend import provenance as prov
from backend.convert import camera_worker
from backend.convert.common import (
    ConversionSummary,
    EpisodePlan,
    FramePrefetcher,
    Plan,
    Timer,
    check_output_target,
    lerobot_tree,
    options_dict,
    sample_values,
)
from backend.errors import Cancelled, FormatError, StudioError
from backend.formats import open_dataset, open_writer
from backend.formats.base import CameraSpec, Capability, WriterSpec, reader_capabilities
from backend.formats.leisaac_hdf5._common import IMAGE_LAYOUT_FIX
from backend.formats.leisaac_hdf5.reader import LeIsaacReader, demo_task
from backend.formats.lerobot.layout import writer_capabilities
from backend.formats.lerobot.stats import ImageStats
from backend.model import Dataset, DatasetFormat, Episode, Feature, FeatureKind
from backend.progress import Progress, ensure_progress
from backend.task_text import check_task_text
from backend.units import JointSpace, Unit, lerobot_joint_names

KIND = "hdf5_to_lerobot"
FORMATS = {"v2.1": DatasetFormat.LEROBOT_V21, "v3.0": DatasetFormat.LEROBOT_V30}
ROBOTS = {"so101": ("so101_follower", 6), "bi_so101": ("bi_so101_follower", 12)}
CODECS = ("h264", "av1")
PREFETCH_FRAMES = 48  # frames read ahead per camera


@dataclass
class Hdf5ToLerobotOptions:
    out: Path
    task: str = ""
    tasks: dict[str, str] = field(default_factory=dict)  # per input file (path or file name) -> task
    format: str = "v2.1"  # "v2.1" | "v3.0"
    robot: str = "auto"  # "auto" | "so101" | "bi_so101"
    fps: float | None = None  # None: the recordings' own rate (their fps, as the reader reads it)
    skip_frames: int = 5
    min_length: int = 10
    include_failed: bool = False
    include_incomplete: bool = False
    cameras: list[str] | None = None  # None: every camera of the recording
    codec: str = "h264"  # "h264" | "av1"
    crf: int | None = None
    gop: int | None = None
    preset: str | None = None
    # per input file (path or name) -> demo numbers to convert; None: all demos
    demos: dict[str, list[int]] | None = None
    overwrite: bool = False
    hash_mode: str = "auto"  # provenance checksums: auto | full | fast
    jobs: int | None = None  # worker processes; None: one per core this process may use
    # the demos' ``subtasks`` attributes as LeRobot subtask columns (backend.subtask_export.MODES)
    subtasks: str = "auto"


# --------------------------------------------------------------------------------------------------
# inputs and selection (shared by plan and run)


@dataclass
class _Source:
    path: Path
    dataset: Dataset
    task: str
    robot: str
    action_space: JointSpace
    state_space: JointSpace | None
    cameras: list[str]
    has_success_attr: bool


class _Subtasks(NamedTuple):
    """The output's subtask columns and each input's segments ({demo index: segments})."""

    labels: Any  # backend.subtask_export.LeRobotSubtasks
    segments: list[dict[int, Any]]

    def columns(self, number: int, source: int, episode: Episode, skip: int) -> dict[str, np.ndarray]:
        own = tuple(self.segments[source].get(episode.index, ()))
        return self.labels.episode(number, own, skip, episode.length)


class _Target(NamedTuple):
    """Where and how episodes are written (the same for every episode of a run)."""

    writer: Any
    features: dict[str, Feature]
    options: Hdf5ToLerobotOptions
    record: dict[str, Any]
    progress: Progress
    total: int
    subtasks: _Subtasks | None = None


def _lookup(mapping: dict[str, Any] | None, path: Path) -> Any:
    if not mapping:
        return None
    for key in (str(path), str(path.absolute()), path.name):
        if key in mapping:
            return mapping[key]
    return None


def _check_options(options: Hdf5ToLerobotOptions) -> None:
    if options.format not in FORMATS:
        raise StudioError(f"unknown output format {options.format!r}", hint="use v2.1 or v3.0")
    if options.codec not in CODECS:
        raise StudioError(f"unknown codec {options.codec!r}", hint="use h264 or av1")
    if options.robot not in ("auto", *ROBOTS):
        raise StudioError(f"unknown robot {options.robot!r}", hint="use so101 or bi_so101")
    if options.skip_frames < 0 or options.min_length < 0:
        raise StudioError("--skip-frames and --min-length must be >= 0")
    if options.fps is not None and not options.fps > 0:
        raise StudioError(f"fps must be positive, got {options.fps}")
    if options.jobs is not None and options.jobs < 1:
        raise StudioError(f"--jobs must be at least 1, got {options.jobs}")
    from backend.subtask_export import resolve_mode

    resolve_mode(options.subtasks, FORMATS[options.format].value, True)  # a known mode, valid for the format
    check_task_text(options.task)  # one line: it goes into tasks.jsonl, parquet and prompts
    for source, text in (options.tasks or {}).items():
        check_task_text(text, f"the task text of {Path(source).name}")


def _with_rate(sources: list[_Source], options: Hdf5ToLerobotOptions) -> Hdf5ToLerobotOptions:
    """``options`` with ``fps`` set: as given, else the rate the recordings were made at."""
    if options.fps is not None:
        return options
    first = sources[0]
    for other in sources[1:]:
        if other.dataset.fps != first.dataset.fps:
            raise StudioError(
                f"was recorded at {other.dataset.fps:g} fps, {first.path.name} at {first.dataset.fps:g}",
                other.path,
                "convert them separately, or give the rate to write (--fps)",
            )
    return replace(options, fps=float(first.dataset.fps))


def _recorded_task(dataset: Dataset) -> str:
    """The task text the demos carry (the studio's recorder writes a ``task`` attribute per demo),
    when every demo has the same one; else "" (LeIsaac's own files carry none)."""
    texts = {demo_task(e.extra.get("attrs") or {}).strip() for e in dataset.episodes}
    return texts.pop() if len(texts) == 1 else ""


def _open_source(path: Path, options: Hdf5ToLerobotOptions) -> _Source:
    path = Path(path)
    dataset = open_dataset(path)
    try:
        if dataset.format is not DatasetFormat.LEISAAC_HDF5:
            raise StudioError(f"is a {dataset.format.value} dataset, not a LeIsaac HDF5 recording", path)
        if "action" not in dataset.roles:
            raise FormatError("has no actions", path, "is it a LeIsaac / Isaac Lab recording?")
        action = dataset.features[dataset.roles["action"]]
        action_space = action.space or JointSpace(tuple(action.names or ()), Unit.OTHER)
        width = action_space.width
        robot = options.robot
        if robot == "auto":
            robot = "bi_so101" if (width == 12 or dataset.robot_type.startswith("bi_")) else "so101"
        joints = ROBOTS[robot][1]
        if action_space.unit is not Unit.OTHER and width != joints:
            raise StudioError(
                f"actions are {width} wide but robot {robot} has {joints} joints",
                path,
                "choose the robot that recorded the file",
            )
        state_space = None
        if "state" in dataset.roles:
            state = dataset.features[dataset.roles["state"]]
            state_space = state.space
            if state_space is not None and state_space.width != joints:
                raise StudioError(
                    f"{dataset.roles['state']} is {state_space.width} wide but robot {robot} has {joints} joints",
                    path,
                )
        task = _lookup(options.tasks, path) or options.task or _recorded_task(dataset)
        if not (task or "").strip():
            raise StudioError("no task text", path, 'give --task "Pick the orange..." (or a task per file)')
        available = sorted(dataset.cameras)
        if options.cameras is None:
            cameras = available
        else:
            missing = [c for c in options.cameras if c not in dataset.cameras]
            if missing:
                first = dataset.episodes[0].source if dataset.episodes else None
                raise StudioError(
                    f"has no camera {', '.join(missing)}" + (f" in {first}, whose cameras are the file's" if first else ""),
                    path,
                    f"cameras: {', '.join(available) or 'none'}",
                )
            cameras = list(options.cameras)
        has_success = any(e.success is not None for e in dataset.episodes)
        return _Source(path, dataset, task.strip(), robot, action_space, state_space, cameras, has_success)
    except BaseException:
        dataset.close()
        raise


def _open_sources(inputs: list[Path], options: Hdf5ToLerobotOptions) -> list[_Source]:
    if not inputs:
        raise StudioError("no input files", hint="give one or more LeIsaac .hdf5 files")
    sources: list[_Source] = []
    try:
        for path in inputs:
            sources.append(_open_source(Path(path), options))
        first = sources[0]
        for other in sources[1:]:
            if other.robot != first.robot:
                raise StudioError(
                    f"is a {other.robot} recording, {first.path.name} is {first.robot}", other.path
                )
            if (
                other.action_space.width != first.action_space.width
                or other.action_space.unit != first.action_space.unit
            ):
                raise StudioError(
                    f"actions ({other.action_space.width}, {other.action_space.unit.value}) differ from "
                    f"{first.path.name} ({first.action_space.width}, {first.action_space.unit.value})",
                    other.path,
                )
            if other.cameras != first.cameras:
                raise StudioError(
                    f"cameras {other.cameras} differ from {first.path.name} {first.cameras}",
                    other.path,
                    "pick the cameras to include (--cameras)",
                )
            for cam in first.cameras:
                a, b = first.dataset.camera_info(cam), other.dataset.camera_info(cam)
                if a and b and (a.width, a.height) != (b.width, b.height):
                    raise StudioError(
                        f"camera {cam} is {b.width}x{b.height}, {first.path.name} has {a.width}x{a.height}",
                        other.path,
                    )
        return sources
    except BaseException:
        for source in sources:
            source.dataset.close()
        raise


def _select(source: _Source, episode: Episode, options: Hdf5ToLerobotOptions) -> str:
    """Why ``episode`` is skipped, or '' when it is kept."""
    chosen = _lookup(options.demos, source.path)
    if chosen is not None and episode.index not in set(int(i) for i in chosen):
        return "not selected"
    if episode.success is False and not options.include_failed:
        return "failed demo (success = False); include failed demos to keep it"
    if episode.success is None and source.has_success_attr and not options.include_incomplete:
        return "interrupted recording (no success attribute); include incomplete demos to keep it"
    if episode.length < options.min_length:
        return f"{episode.length} frames < minimum length {options.min_length}"
    if episode.length <= options.skip_frames:
        return f"{episode.length} frames: nothing left after skipping {options.skip_frames}"
    for cam in source.cameras:
        try:
            stream = episode.stream(cam)
        except (FormatError, KeyError):
            return f"has no {source.dataset.cameras[cam]}"
        try:
            if stream.num_frames < episode.length:
                return f"camera {cam} has {stream.num_frames} frames, actions {episode.length}"
        finally:
            stream.close()
    return ""


def _vector(key: str, names: list[str], unit: Unit) -> Feature:
    return Feature(key, FeatureKind.VECTOR, "float32", (len(names),), names, JointSpace(tuple(names), unit))


def declare_joint_units(record: dict[str, Any], features: dict[str, Feature]) -> None:
    """The joint unit of the written vectors, in the record (``joint_units``, as the recorders write it):
    readers take it instead of guessing from values, which a joint held past its calibrated range
    (beyond +-100) would make look like degrees."""
    units = {
        f.space.unit for f in features.values() if f.space is not None and f.space.unit is not Unit.OTHER
    }
    if len(units) == 1:
        record["joint_units"] = units.pop().value


def _features(source: _Source) -> tuple[dict[str, Feature], list[str]]:
    """Output vector features and warnings. Joint positions go to LeRobot's range; anything else
    (keyboard / IK actions, non-SO-101 joints) is copied unscaled and said so."""
    warnings: list[str] = []
    features: dict[str, Feature] = {}
    action = source.action_space
    if action.unit is Unit.OTHER or not action.is_so101:
        warnings.append(
            f"actions are {action.width} wide and not joint positions (keyboard / IK teleop?): "
            "copied unscaled, they are not in LeRobot's -100..100 range"
        )
        features["action"] = _vector(
            "action", [n.replace("actions", "action") for n in action.names], Unit.OTHER
        )
    else:
        features["action"] = _vector("action", lerobot_joint_names(action.names), Unit.LEROBOT_RANGE)
    state = source.state_space
    if state is None:
        warnings.append(f"{source.path.name} has no joint positions (obs/joint_pos): no observation.state")
    elif state.unit is Unit.OTHER or not state.is_so101:
        warnings.append("joint positions are not SO-101 joints: copied unscaled")
        features["observation.state"] = _vector("observation.state", list(state.names), Unit.OTHER)
    else:
        features["observation.state"] = _vector(
            "observation.state", lerobot_joint_names(state.names), Unit.LEROBOT_RANGE
        )
    return features, warnings


def _convert(values: np.ndarray, space: JointSpace, target: Feature) -> np.ndarray:
    assert target.space is not None
    if target.space.unit is Unit.OTHER:
        return np.asarray(values, dtype=np.float32)
    return space.convert(values, target.space.unit).astype(np.float32)


# --------------------------------------------------------------------------------------------------
# plan


def plan(inputs: list[Path], options: Hdf5ToLerobotOptions) -> Plan:
    """What the conversion will do, without writing anything."""
    inputs = [Path(p) for p in inputs]
    result = Plan(KIND, str(Path(options.out).absolute()), FORMATS.get(options.format, FORMATS["v2.1"]).value)
    try:
        _check_options(options)
    except StudioError as error:
        result.errors.append(error.message)
        return result
    try:
        check_output_target(Path(options.out), options.overwrite, inputs)
    except StudioError as error:
        result.errors.append(error.message)
    try:
        sources = _open_sources(inputs, options)
    except StudioError as error:
        result.errors.append(error.message)
        return result
    try:
        try:
            options = _with_rate(sources, options)
        except StudioError as error:
            result.errors.append(error.message)
            return result
        features, warnings = _features(sources[0])
        result.warnings += warnings
        output_index = 0
        kept: list[tuple[int, _Source, Episode]] = []
        for source in sources:
            if not source.has_success_attr and source.dataset.episodes:
                result.warnings.append(f"{source.path.name}: no demo has a success attribute: all demos kept")
            for episode in source.dataset.episodes:
                reason = _select(source, episode, options)
                entry = EpisodePlan(
                    source=str(source.path),
                    source_index=episode.index,
                    source_name=episode.source or f"demo_{episode.index}",
                    length=episode.length,
                    kept=not reason,
                    reason=reason,
                    task=source.task,
                    extra={"success": episode.success, "seed": episode.extra.get("seed")},
                )
                if not reason:
                    kept.append((output_index, source, episode))
                    entry.output_index = output_index
                    entry.frame_offset = options.skip_frames
                    entry.frames_out = episode.length - options.skip_frames
                    output_index += 1
                result.episodes.append(entry)
        seen: set[str] = set()
        try:
            _check_cameras(kept, options, seen)
        except StudioError as error:
            result.errors.append(error.message)
        first = next(((s, e) for _, s, e in kept), None)
        if first is not None:
            source, episode = first
            frame = options.skip_frames
            name = episode.source or f"demo_{episode.index}"
            action = episode.array(source.dataset.roles["action"])[frame]
            result.samples.append(
                sample_values(
                    "action",
                    name,
                    frame,
                    source.action_space,
                    action,
                    features["action"].space.unit,
                    _convert(action[None], source.action_space, features["action"])[0],
                )
            )
            if source.state_space is not None and "observation.state" in features:
                state = episode.array(source.dataset.roles["state"])[frame]
                target = features["observation.state"]
                result.samples.append(
                    sample_values(
                        "state",
                        name,
                        frame,
                        source.state_space,
                        state,
                        target.space.unit,
                        _convert(state[None], source.state_space, target)[0],
                    )
                )
            episode.unload()
        if not result.kept:
            result.errors.append("no demo is kept: nothing to convert (see the reasons)")
        keys = [f"observation.images.{c}" for c in sources[0].cameras]
        result.tree = lerobot_tree(options.format, len(result.kept), keys, [prov.LEROBOT_FILE])
        result.details = {
            "robot": sources[0].robot,
            "robot_type": ROBOTS[sources[0].robot][0],
            "cameras": sources[0].cameras,
            "available_cameras": sorted(set(sources[0].dataset.cameras) | seen),
            "action_width": sources[0].action_space.width,
            "codec": options.codec,
            "fps": options.fps,
            "tasks": {str(s.path): s.task for s in sources},
            "subtasks": _subtask_note(sources, result.kept, options),
        }
    finally:
        for source in sources:
            source.dataset.close()
    return result


# --------------------------------------------------------------------------------------------------
# run


def run(
    inputs: list[Path], options: Hdf5ToLerobotOptions, progress: Progress | None = None
) -> ConversionSummary:
    """Convert; the output appears at ``options.out`` only when complete."""
    progress = ensure_progress(progress)
    timer = Timer()
    _check_options(options)
    inputs = [Path(p) for p in inputs]
    out = Path(options.out)
    check_output_target(out, options.overwrite, inputs)
    fmt = FORMATS[options.format]
    progress.report(0, 0, "checking inputs")
    sources = _open_sources(inputs, options)
    summary = ConversionSummary(KIND, str(out.absolute()), fmt.value)
    try:
        options = _with_rate(sources, options)
        features, warnings = _features(sources[0])
        for message in warnings:
            progress.warn(message)
        summary.warnings += warnings
        selected: list[tuple[int, _Source, Episode]] = []
        for number, source in enumerate(sources):
            if not source.has_success_attr and source.dataset.episodes:
                message = f"{source.path.name}: no demo has a success attribute: all demos kept"
                progress.warn(message)
                summary.warnings.append(message)
            for episode in source.dataset.episodes:
                reason = _select(source, episode, options)
                if reason:
                    summary.skipped.append(
                        {"source": str(source.path), "episode": episode.source, "reason": reason}
                    )
                else:
                    selected.append((number, source, episode))
        if not selected:
            raise StudioError(
                "no demo is kept: nothing to convert",
                inputs[0],
                "; ".join(f"{s['episode']}: {s['reason']}" for s in summary.skipped[:5]),
            )
        _check_cameras(selected, options)
        total = sum(e.length - options.skip_frames for _, _, e in selected)
        first = sources[0]
        located = _locate_frames(selected, first.cameras)
        # a pool of encoder processes, one task per episode and camera (see camera_worker), started
        # now so that its imports overlap the hashing and the writer's set-up; frames are read on
        # threads where it cannot (the mp4s go to the writer through add_encoded_video: a capability
        # the writer declares)
        use_workers = bool(
            located
            and first.cameras
            and camera_worker.available()
            and Capability.ENCODED_VIDEO in writer_capabilities(fmt)
        )
        workers = (
            camera_worker.CameraWorkers(first.cameras, options.jobs, len(selected) * len(first.cameras))
            if use_workers
            else None
        )
        try:
            progress.report(0, total, "hashing inputs")
            record = prov.new_record(
                KIND,
                [(s.path, "source") for s in sources],
                options_dict(options),
                out,
                fmt.value,
                options.hash_mode,
            )
            declare_joint_units(record, features)
            cameras = []
            for cam in first.cameras:
                info = first.dataset.camera_info(cam)
                cameras.append(CameraSpec(cam, info.width, info.height))
            # threaded: each camera encodes on its own worker thread while frames are read ahead
            writer_options: dict[str, Any] = {"codec": options.codec, "threaded": True}
            for key in ("crf", "gop", "preset"):
                if getattr(options, key) is not None:
                    writer_options[key] = getattr(options, key)
            spec = WriterSpec(
                fps=float(options.fps),
                robot_type=ROBOTS[first.robot][0],
                features=features,
                cameras=cameras,
                options=writer_options,
                provenance=record,
            )
            subtasks = _subtask_columns(sources, selected, spec, fmt, options)
            done = 0
            with open_writer(fmt, out, spec, overwrite=options.overwrite) as writer:
                if subtasks is not None:
                    subtasks.labels.attach(writer)
                if workers is not None:
                    assert located is not None
                    try:
                        jobs = _submit(workers, writer, located, selected, cameras, options)
                        target = _Target(writer, features, options, record, progress, total, subtasks)
                        for k, (number, source, episode) in enumerate(selected):
                            done = _adopt_episode(
                                target, k, number, source, episode, done, workers, jobs, selected
                            )
                    except BaseException:
                        # stop the encoders before the writer removes its folder: one still
                        # writing would make the folder again after the abort
                        workers.close()
                        raise
                else:
                    target = _Target(writer, features, options, record, progress, total, subtasks)
                    for number, source, episode in selected:
                        done = _write_episode(target, number, source, episode, done)
        finally:
            if workers is not None:
                workers.close()
        summary.frames_written = done
        summary.episodes_written = len(record["episodes"])
        summary.provenance = record
        summary.seconds = timer.seconds
        summary.details = {"frames_per_second": done / max(summary.seconds, 1e-9)}
        with contextlib.suppress(Cancelled):  # the output is published: too late to cancel
            progress.report(total, total, "done")
        return summary
    finally:
        for source in sources:
            source.dataset.close()


def _subtask_columns(
    sources: list[_Source],
    selected: list[tuple[int, _Source, Episode]],
    spec: WriterSpec,
    fmt: DatasetFormat,
    options: Hdf5ToLerobotOptions,
) -> _Subtasks | None:
    """The demos' ``subtasks`` attributes (docs/subtasks.md) as the output's subtask columns, clipped
    to the kept frames like the curated export does; None when no kept demo has any."""
    from backend.subtask_export import LeRobotSubtasks, resolve_mode
    from backend.subtask_import import dataset_subtasks

    segments = [dataset_subtasks(source.dataset) for source in sources]
    any_kept = any(segments[number].get(episode.index) for number, _, episode in selected)
    index, language = resolve_mode(options.subtasks, fmt.value, any_kept)
    if not (index or language):
        return None
    return _Subtasks(LeRobotSubtasks(spec, index, language), segments)


def _subtask_note(sources: list[_Source], kept: list[EpisodePlan], options: Hdf5ToLerobotOptions) -> str:
    """What happens to the demos' subtasks, in words (the plan's ``subtasks`` line; the options are
    checked before: a schema the format cannot hold is already one of the plan's errors)."""
    from backend.subtask_export import resolve_mode, written_schemas
    from backend.subtask_import import dataset_subtasks

    by_path = {str(s.path): dataset_subtasks(s.dataset) for s in sources}
    carrying = sum(1 for e in kept if by_path.get(e.source, {}).get(e.source_index))
    if not carrying:
        return "none in the kept demos"
    index, language = resolve_mode(options.subtasks, FORMATS[options.format].value, True)  # checked already
    written = written_schemas(index, language)
    return (
        f"{carrying} demos' subtasks -> {' and '.join(written)}"
        if written
        else f"{carrying} demos' subtasks: not written"
    )


def _episode_values(
    source: _Source, episode: Episode, features: dict[str, Feature], skip: int
) -> dict[str, np.ndarray]:
    """The episode's vectors from frame ``skip`` on, in the output's units."""
    dataset = source.dataset
    values: dict[str, np.ndarray] = {
        "action": _convert(
            episode.array(dataset.roles["action"])[skip:], source.action_space, features["action"]
        )
    }
    if "observation.state" in features:
        assert source.state_space is not None
        values["observation.state"] = _convert(
            episode.array(dataset.roles["state"])[skip:], source.state_space, features["observation.state"]
        )
    episode.unload()
    return values


def _add_provenance(
    record: dict[str, Any], index: int, number: int, source: _Source, episode: Episode, skip: int
) -> None:
    prov.add_episode(
        record,
        index,
        number,
        episode.index,
        episode.source or f"demo_{episode.index}",
        skip,
        episode.length - skip,
        task=source.task,
        success=episode.success,
        seed=episode.extra.get("seed"),
    )


def _success(episode: Episode) -> bool:
    return episode.success if episode.success is not None else True


# -- frames encoded by camera processes ------------------------------------------------------------


def _check_cameras(
    selected: list[tuple[int, _Source, Episode]], options: Hdf5ToLerobotOptions, seen: set[str] | None = None
) -> None:
    """No kept demo holds a malformed camera or one the output lacks (a file's cameras are its first
    demo's: a camera only later demos hold would be left out without a word; a demo that lacks one of
    the output's cameras is skipped, and said so, by ``_select``). Cameras left out with ``--cameras``
    are not looked at. ``seen`` gets every camera of every kept demo (for the Cameras list of the
    preview); the first problem is raised after all were looked at."""
    problem: FormatError | None = None
    for _, source, episode in selected:
        reader = source.dataset.reader
        if not isinstance(reader, LeIsaacReader):
            continue
        demo = episode.source or f"demo_{episode.index}"
        found = reader.cameras_of(episode)
        if seen is not None:
            seen.update(found)
        if problem is not None:
            continue
        good = ",".join(c for c in source.cameras if c in found and found[c] is None)
        for name, layout in found.items():
            if options.cameras is not None and name not in options.cameras:
                continue
            if layout:
                hint = IMAGE_LAYOUT_FIX + (f", or convert without it: --cameras {good}" if good else "")
                problem = FormatError(f"{demo}/{layout}", source.path, hint)
            elif name not in source.cameras:
                first = source.dataset.episodes[0].source if source.dataset.episodes else "the first demo"
                problem = FormatError(
                    f"{demo} has camera {name}, which {first} has not (the output's cameras are the first demo's)",
                    source.path,
                    f"convert without it: --cameras {','.join(source.cameras)}" if source.cameras else None,
                )
            if problem is not None:
                break
        if problem is not None and seen is None:
            break
    if problem is not None:
        raise problem


def _locate_frames(
    selected: list[tuple[int, _Source, Episode]], cameras: list[str]
) -> list[dict[str, str]] | None:
    """Per selected episode, {camera: dataset name in the HDF5 file} when a camera process can read
    every frame as it is (uint8 RGB, all frames there); None otherwise (frames are then read here)."""
    located = []
    for _, source, episode in selected:
        if list(source.cameras) != list(cameras):
            return None
        if Capability.FRAME_LOCATION not in reader_capabilities(source.dataset):
            return None
        names = {}
        for cam in cameras:
            stream = episode.stream(cam)
            try:
                info = stream.h5_location()
            finally:
                stream.close()
            if info is None:
                return None
            name, shape, dtype = info
            if np.dtype(dtype) != np.uint8 or len(shape) != 4 or shape[-1] != 3 or shape[0] < episode.length:
                return None
            names[cam] = name
        located.append(names)
    return located


def _submit(
    workers: camera_worker.CameraWorkers,
    writer: Any,
    located: list[dict[str, str]],
    selected: list[tuple[int, _Source, Episode]],
    cameras: list[CameraSpec],
    options: Hdf5ToLerobotOptions,
) -> dict[str, list[camera_worker.EncodeJob]]:
    """Give every camera process all its episodes; each mp4 goes where the writer would encode it."""
    if writer.num_episodes:
        raise StudioError("the output writer already has episodes", writer.out)
    jobs: dict[str, list[camera_worker.EncodeJob]] = {c.name: [] for c in cameras}
    for k, ((_, source, episode), names) in enumerate(zip(selected, located, strict=True)):
        for cam in cameras:
            key = writer.cameras[cam.name][0]
            jobs[cam.name].append(
                camera_worker.EncodeJob(
                    str(source.path),
                    names[cam.name],
                    options.skip_frames,
                    episode.length,
                    str(writer.encode_path(k, key)),
                )
            )
    videos = {
        cam.name: camera_worker.VideoSettings(
            width=cam.width,
            height=cam.height,
            fps=float(options.fps),
            codec=options.codec,
            crf=options.crf,
            gop=options.gop,
            preset=options.preset,
            image_stats=writer.image_stats,
        )
        for cam in cameras
    }
    workers.submit(jobs, videos)
    return jobs


@contextlib.contextmanager
def _said_of(source: _Source, name: str) -> Iterator[None]:
    """The writer's own words about a demo's values ("action has shape (6,), expected (4,)"), said
    of the input file and the demo; an error that names its file already goes through."""
    try:
        yield
    except StudioError as error:
        if error.path is not None:
            raise
        raise FormatError(f"{name}: {error.problem}", source.path) from None


def _adopt_episode(
    target: _Target,
    k: int,
    number: int,
    source: _Source,
    episode: Episode,
    done: int,
    workers: camera_worker.CameraWorkers,
    jobs: dict[str, list[camera_worker.EncodeJob]],
    selected: list[tuple[int, _Source, Episode]],
) -> int:
    """Episode ``k``: its rows from here, its videos from the camera processes."""
    writer, features, options, record, progress, total, subtasks = target
    skip = options.skip_frames
    name = episode.source or f"demo_{episode.index}"
    length = episode.length - skip
    with _said_of(source, name):
        values = _episode_values(source, episode, features, skip)
    if subtasks is not None:
        values.update(subtasks.columns(writer.num_episodes, number, episode, skip))
    out_episode = writer.begin_episode(task=source.task)
    try:
        with _said_of(source, name):
            out_episode.add_frames(values)

        def report() -> None:
            encoded = workers.frames_encoded()
            progress.report(
                encoded, total, f"{source.path.name} {name} frame {min(length, encoded - done)}/{length}"
            )

        try:
            videos = workers.wait(k, report)
        except camera_worker.WorkerError as error:
            at = selected[error.job] if 0 <= error.job < len(selected) else (number, source, episode)
            failed = at[2].source or f"demo_{at[2].index}"
            where = f"frames from {error.frame} of " if error.frame is not None else ""
            camera = f", camera '{error.camera}'" if error.camera else ""
            raise FormatError(f"cannot convert {where}{failed}{camera} ({error})", at[1].path) from None
        for cam, video in videos.items():
            if video.frames != length:
                raise FormatError(
                    f"{name}/{cam} gave {video.frames} frames, actions have {length}", source.path
                )
            out_episode.add_encoded_video(
                cam,
                Path(jobs[cam][k].out),
                video.frames,
                ImageStats.from_counts(video.hist, video.stats_frames),
                video.settings,
            )
        index = out_episode.end(success=_success(episode))
    except BaseException:
        out_episode.discard()
        raise
    _add_provenance(record, index, number, source, episode, skip)
    return done + length


# -- frames read here (threads) --------------------------------------------------------------------


def _write_episode(target: _Target, number: int, source: _Source, episode: Episode, done: int) -> int:
    writer, features, options, record, progress, total, subtasks = target
    skip = options.skip_frames
    name = episode.source or f"demo_{episode.index}"
    with _said_of(source, name):
        values = _episode_values(source, episode, features, skip)
    if subtasks is not None:
        values.update(subtasks.columns(writer.num_episodes, number, episode, skip))
    length = episode.length - skip
    streams = {cam: episode.stream(cam) for cam in source.cameras}
    try:
        for cam, stream in streams.items():
            if stream.num_frames < episode.length:
                raise FormatError(
                    f"{name}/{cam} has {stream.num_frames} frames, actions have {episode.length}", source.path
                )
        out_episode = writer.begin_episode(task=source.task)
        # one reader thread per camera, 48 frames ahead: a whole HDF5 chunk (100 frames) is decompressed
        # once into the stream's chunk cache while the frames already read keep the encoders busy
        try:
            with FramePrefetcher(streams, skip, episode.length, depth=PREFETCH_FRAMES) as frames:
                for t, images in frames:
                    i = t - skip
                    with _said_of(source, name):
                        out_episode.add_frame({k: v[i] for k, v in values.items()}, images)
                    done += 1
                    if done % 10 == 0 or i == length - 1:
                        progress.report(done, total, f"{source.path.name} {name} frame {i + 1}/{length}")
            index = out_episode.end(success=_success(episode))
        except BaseException:
            out_episode.discard()
            raise
    finally:
        for stream in streams.values():
            stream.close()
    _add_provenance(record, index, number, source, episode, skip)
    return done
