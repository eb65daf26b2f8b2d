"""A LeRobot dataset (or an IDM output) + the source LeIsaac HDF5 -> a replayable LeIsaac HDF5.

For every LeRobot episode, the matching demo of the template HDF5 gives ``initial_state``, ``seed``
and its attributes; the LeRobot actions are denormalized to radians (``JointSpace.convert``) and
written to ``actions``, ``processed_actions`` and ``obs/actions``; ``num_samples`` is the new length
and ``/data.attrs.total`` is recomputed by the writer; ``env_args`` is copied.

Unlike LeIsaac's merge scripts: each episode gets its own demo's initial state (not demo_0's for
all), demos are matched by number (not by h5py's lexicographic order), no template array of the
wrong length is kept, and when the LeRobot episode starts at frame N of the demo (the first N frames
were dropped on the way to LeRobot) the initial state is the scene as it was at frame N: LeIsaac
records ``states`` after each step, so that is ``states[N - 1]`` of the demo.

Matching (output episode -> template demo, frame offset N), first that applies:
  1. ``options.mapping`` (episode -> demo number), with ``options.frame_offset``, else found by
     matching the LeRobot ``observation.state`` against the demo's ``obs/joint_pos``, else 0;
  2. the dataset's provenance record, traced back (through Cosmos / IDM prepare records too) to an
     HDF5 that is the template (same checksum or same path): demo and offset as recorded, episode by
     episode (a dataset converted from several recordings pairs only the template's episodes).
Never by position: an episode that neither gives a demo is not converted, and the plan / run refuse
with one sentence naming the dataset and saying how to pair (``UNPAIRED_HINT``). Demos are numbered
(``demo_5`` is demo 5 whatever the file's order), and IDM prepare writes episodes grouped by task.

Replay rate: one HDF5 step per action. IDM outputs come at Cosmos' 16 fps, while a template step is
one frame of the LeRobot dataset made from it (30 fps by default): replayed step by step, 16 fps actions
would run the motion 1.9x too fast. The actions are resampled in time (linear interpolation per joint)
to ``options.replay_fps``, or else to the rate of the HDF5 -> LeRobot conversion found in the
provenance chain; without either they are kept as they are (and the plan warns when the rate is not
30 fps).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from backend import provenance as prov
from backend.convert.common import (
    ConversionSummary,
    EpisodePlan,
    Plan,
    Timer,
    check_output_target,
    options_dict,
    sample_values,
)
from backend.errors import FormatError, StudioError
from backend.formats import open_dataset, open_writer
from backend.formats.base import Capability, WriterSpec, reader_capabilities
from backend.model import Dataset, DatasetFormat, Episode, Feature, FeatureKind
from backend.progress import Progress, ensure_progress
from backend.subtask_import import dataset_subtasks
from backend.subtasks import Segments, check_segments, clip, scale, segments_json
from backend.units import JointSpace, Unit

KIND = "lerobot_to_hdf5"
ACTION_KEYS = ("actions", "processed_actions", "obs/actions")
LEROBOT_FORMATS = (DatasetFormat.LEROBOT_V20, DatasetFormat.LEROBOT_V21, DatasetFormat.LEROBOT_V30)
UNITS = {u.value: u for u in (Unit.LEROBOT_RANGE, Unit.LEROBOT_DEGREES, Unit.SIM_DEGREES, Unit.RADIANS)}
# offsets tried when the LeRobot state is matched against the demo's joint positions
MAX_DETECT_OFFSET = 60
DETECT_TOLERANCE = 1e-3  # radians
UNPAIRED_HINT = "pass --map EPISODE=DEMO for each episode, e.g. --map 0=demo_0"
MAPPING_NOTE = "matched by the given mapping"
HDF5_SUFFIXES = (".hdf5", ".h5", ".he5")


@dataclass
class LerobotToHdf5Options:
    out: Path
    template: Path
    mapping: dict[int, int] = field(default_factory=dict)  # LeRobot episode -> template demo number
    frame_offset: int | None = None  # None: from provenance, else detected, else 0
    action_unit: str | None = None  # None: as the dataset says; else lerobot | lerobot_deg | deg | rad
    episodes: list[int] | None = None  # LeRobot episode indices to convert; None: all
    copy_states: bool = False  # copy the demo's states for the same frames (when the demo is long enough)
    replay_fps: float | None = None  # None: the template's rate from provenance, else the dataset's
    # accepted like every converter's, but the episodes are written here, one after the other: an
    # episode is a few small arrays (~17 ms for 60 frames with states, the h5py writes included,
    # which only the parent can do) while a worker process costs ~0.3-0.5 s of imports to start
    # (benchmarks/convert_parallel_e.py); no video is decoded
    jobs: int | None = None
    overwrite: bool = False
    hash_mode: str = "auto"


@dataclass
class _Match:
    episode: Episode
    demo: Episode | None
    offset: int
    how: str  # "mapping" | "provenance" | "unpaired" ("" when not selected)
    offset_how: str  # "option" | "provenance" | "detected" | "default"
    reason: str = ""


def _open_inputs(dataset_path: Path, options: LerobotToHdf5Options) -> tuple[Dataset, Dataset]:
    dataset = open_dataset(dataset_path)
    try:
        if dataset.format not in LEROBOT_FORMATS:
            raise StudioError(f"is a {dataset.format.value} dataset, not a LeRobot dataset", dataset_path)
        if "action" not in dataset.roles:
            raise FormatError("has no action feature", dataset_path)
        template = open_dataset(options.template)
    except BaseException:
        dataset.close()
        raise
    if template.format is not DatasetFormat.LEISAAC_HDF5:
        template.close()
        dataset.close()
        raise StudioError(
            f"template is a {template.format.value} dataset, not a LeIsaac HDF5", options.template
        )
    if "action" not in template.roles:
        template.close()
        dataset.close()
        raise FormatError("template has no actions", options.template)
    return dataset, template


def _action_spaces(
    dataset: Dataset, template: Dataset, options: LerobotToHdf5Options
) -> tuple[JointSpace, JointSpace]:
    """(LeRobot action space as read, template action space)."""
    target = template.features[template.roles["action"]]
    target_space = target.space or JointSpace(tuple(target.names or ()), Unit.OTHER)
    feature = dataset.features[dataset.roles["action"]]
    width = int(np.prod(feature.shape)) if feature.shape else 0
    if width != target_space.width:
        raise StudioError(
            f"LeRobot actions are {width} wide, the template's are {target_space.width}",
            dataset.path,
            "pick the template recorded with the same robot",
        )
    space = feature.space
    if options.action_unit:
        if options.action_unit not in UNITS:
            raise StudioError(
                f"unknown action unit {options.action_unit!r}", hint=f"use one of {sorted(UNITS)}"
            )
        unit = UNITS[options.action_unit]
        if space is not None and space.is_so101:
            space = space.with_unit(unit)
        elif target_space.is_so101:
            space = JointSpace(target_space.names, unit)
        else:
            raise StudioError(
                "the template's actions are not joint positions: no unit applies", options.template
            )
    if target_space.unit is Unit.OTHER or not target_space.is_so101:
        return space or JointSpace(tuple(feature.names or target_space.names), Unit.OTHER), target_space
    if space is None or space.unit is Unit.OTHER or not space.is_so101:
        raise StudioError(
            "LeRobot action names are not SO-101 joints, so their unit is unknown",
            dataset.path,
            "declare it with --action-unit lerobot|lerobot_deg|deg|rad",
        )
    if Unit.RADIANS not in space.convertible_units():
        raise StudioError(
            f"actions in {space.unit.value} cannot be converted to radians without a calibration",
            dataset.path,
        )
    return space, target_space


class _TemplateCheck:
    """Whether a traced source file is the template: same path, else same checksum (hashed once per
    hash mode)."""

    def __init__(self, template: Path, hash_mode: str) -> None:
        self.template = Path(template)
        self.hash_mode = hash_mode
        self._hashes: dict[str, str | None] = {}

    def _hash(self, mode: str) -> str | None:
        if mode not in self._hashes:
            try:
                self._hashes[mode] = prov.hash_input(self.template, mode)["sha256"]
            except (OSError, ValueError):
                self._hashes[mode] = None
        return self._hashes[mode]

    def matches(self, traced: dict[str, Any]) -> bool:
        source = Path(str(traced.get("source_path") or ""))
        if source.suffix.lower() not in HDF5_SUFFIXES:
            return False
        if source.absolute() == self.template.absolute():
            return True
        recorded = traced.get("sha256")
        return bool(recorded) and self._hash(traced.get("hash_mode") or self.hash_mode) == recorded


def _provenance_demos(
    record: dict[str, Any] | None, episodes: list[int], template: Path, hash_mode: str
) -> tuple[dict[int, dict[str, Any]], str]:
    """(episode -> its traced source entry, for the episodes whose record leads to the template; why
    the others do not, for the refusal)."""
    if not record:
        return {}, "the dataset has no provenance record"
    if not record.get("episodes"):
        return {}, "its provenance record maps no episodes"
    check = _TemplateCheck(template, hash_mode)
    found: dict[int, dict[str, Any]] = {}
    elsewhere: list[str] = []
    untraced = False
    for index in episodes:
        steps = prov.trace_steps(record, index)
        # the nearest source that is the template: a dataset converted from a curated export of a
        # recording pairs with the export (and with the recording when that is the template)
        traced = next((step for step in steps if check.matches(step)), None)
        if traced is not None:
            found[index] = traced
        elif not steps:
            untraced = True
        else:
            name = Path(str(steps[-1].get("source_path") or "?")).name
            if name not in elsewhere:
                elsewhere.append(name)
    if elsewhere:
        why = f"its provenance record says they came from {', '.join(elsewhere[:3])}, not the template"
    elif untraced:
        why = "its provenance record names no source demo for them"
    else:
        why = ""
    return found, why


def _episode_list(indices: list[int]) -> str:
    """[0, 1, 2, 5] -> "episodes 0-2, 5"; [3] -> "episode 3"."""
    runs: list[str] = []
    ordered = sorted(set(indices))
    start = 0
    while start < len(ordered):
        stop = start
        while stop + 1 < len(ordered) and ordered[stop + 1] == ordered[stop] + 1:
            stop += 1
        first, last = ordered[start], ordered[stop]
        runs.append(str(first) if first == last else f"{first}-{last}")
        start = stop + 1
    shown = ", ".join(runs[:8]) + (", ..." if len(runs) > 8 else "")
    return f"episode {shown}" if len(ordered) == 1 else f"episodes {shown}"


def unpaired_error(dataset_path: Path, unpaired: list[int], why: str) -> StudioError:
    """The refusal: the dataset, the episodes that no record or mapping pairs, and how to pair them."""
    return StudioError(
        f"cannot tell which template demo {_episode_list(unpaired)} came from: {why}",
        dataset_path,
        UNPAIRED_HINT,
    )


def _mapping_note(matches: list[_Match], source_name: str) -> str:
    kinds = {m.how for m in matches if m.how}
    if kinds == {"mapping"}:
        return MAPPING_NOTE
    if "provenance" in kinds:
        note = f"matched from the provenance record (source {source_name})"
        mapped = [m.episode.index for m in matches if m.how == "mapping"]
        return note + (f"; {_episode_list(mapped)} by the given mapping" if mapped else "")
    return ""


def _detect_offset(episode: Episode, demo: Episode, dataset: Dataset, template: Dataset) -> int | None:
    """The N where LeRobot observation.state[t] == demo obs/joint_pos[N + t] (in radians), if any."""
    state_key = dataset.roles.get("state")
    demo_key = template.roles.get("state")
    if not state_key or not demo_key:
        return None
    space = dataset.features[state_key].space
    demo_space = template.features[demo_key].space
    if space is None or demo_space is None or not space.is_so101 or not demo_space.is_so101:
        return None
    if space.width != demo_space.width or Unit.RADIANS not in space.convertible_units():
        return None
    values = episode.array(state_key)
    if not len(values) or not np.any(values):
        return None  # IDM outputs carry zero placeholders
    probe = space.convert(values[: min(len(values), 8)], Unit.RADIANS)
    reference = demo_space.convert(demo.array(demo_key), Unit.RADIANS)
    for offset in range(0, min(MAX_DETECT_OFFSET, len(reference) - len(probe)) + 1):
        if np.max(np.abs(reference[offset : offset + len(probe)] - probe)) < DETECT_TOLERANCE:
            return offset
    return None


def _match(
    dataset: Dataset, template: Dataset, options: LerobotToHdf5Options, record: dict[str, Any] | None
) -> tuple[list[_Match], str]:
    """A match per episode and, when some selected episode has neither a mapping nor a record that
    leads to the template, why not (empty when every selected episode is paired)."""
    demos = {e.index: e for e in template.episodes}
    chosen = None if options.episodes is None else {int(i) for i in options.episodes}
    selected = [e.index for e in dataset.episodes if chosen is None or e.index in chosen]
    to_trace = [i for i in selected if i not in options.mapping]
    traced_all, why = _provenance_demos(record, to_trace, Path(options.template), options.hash_mode)
    matches: list[_Match] = []
    for episode in dataset.episodes:
        if chosen is not None and episode.index not in chosen:
            matches.append(_Match(episode, None, 0, "", "", "not selected"))
            continue
        traced = traced_all.get(episode.index)
        if episode.index in options.mapping:
            number, how = int(options.mapping[episode.index]), "mapping"
        elif traced is not None:
            number, how = int(traced["source_episode"]), "provenance"
        else:
            matches.append(_Match(episode, None, 0, "unpaired", "", "not paired with a template demo"))
            continue
        demo = demos.get(number)
        if demo is None:
            matches.append(_Match(episode, None, 0, how, "", f"the template has no demo_{number}"))
            continue
        if options.frame_offset is not None:
            offset, offset_how = int(options.frame_offset), "option"
        elif traced is not None and how == "provenance":
            offset, offset_how = int(traced["frame_offset"]), "provenance"
        else:
            detected = _detect_offset(episode, demo, dataset, template)
            offset, offset_how = (detected, "detected") if detected is not None else (0, "default")
        reason = ""
        if offset < 0 or offset >= max(demo.length, 1):
            reason = f"frame offset {offset} is outside demo_{number} ({demo.length} frames)"
        elif episode.length == 0:
            reason = "episode has no frames"
        matches.append(_Match(episode, demo, offset, how, offset_how, reason))
    unpaired = [m.episode.index for m in matches if m.how == "unpaired"]
    return matches, why if unpaired else ""


def _initial_state(template: Dataset, demo: Episode, offset: int, warnings: list[str]) -> dict[str, Any]:
    """The scene before frame ``offset``: initial_state at 0, else states[offset - 1] of each entry."""
    reader = template.reader
    initial = reader.read_initial_state(demo) if Capability.INITIAL_STATE in reader_capabilities(template) else {}
    if offset == 0:
        return initial
    missing: list[str] = []

    def rebuild(tree: dict[str, Any], prefix: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in tree.items():
            key = f"{prefix}/{name}"
            if isinstance(value, dict):
                out[name] = rebuild(value, key)
                continue
            states_key = "states" + key
            try:
                out[name] = np.asarray(reader.read_block(demo, states_key, offset - 1, offset))
            except (FormatError, KeyError):
                missing.append(states_key)
                out[name] = value
        return out

    rebuilt = rebuild(initial, "")
    if missing:
        warnings.append(
            f"{demo.source}: no {', '.join(missing[:3])}{'...' if len(missing) > 3 else ''}: "
            f"that part of the initial state is the demo's start, not frame {offset}"
        )
    return rebuilt


def _states(template: Dataset, demo: Episode, offset: int, length: int) -> dict[str, Any] | None:
    if offset + length > demo.length:
        return None
    tree: dict[str, Any] = {}
    for key in template.features:
        if not key.startswith("states/"):
            continue
        parts = key.split("/")[1:]
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = np.asarray(template.reader.read_block(demo, key, offset, offset + length))
    return tree or None


def _previous_action_convention(template: Dataset, demo: Episode) -> bool:
    """True when the template's obs/actions[t] is actions[t - 1] (Isaac Lab's last_action term)."""
    if "obs/actions" not in template.features or demo.length < 3:
        return False
    actions = demo.array(template.roles["action"])
    previous = demo.array("obs/actions")
    return bool(np.allclose(previous[1:], actions[:-1], atol=1e-6)) and not np.allclose(
        previous, actions, atol=1e-6
    )


LEISAAC_LEROBOT_FPS = 30.0  # the rate LeIsaac's and the studio's HDF5 -> LeRobot conversions use


def _resampled_length(length: int, fps_in: float, fps_out: float) -> int:
    if fps_in == fps_out or length < 2:
        return length
    return int(np.floor((length - 1) / fps_in * fps_out + 1e-9)) + 1


def conversion_fps(record: dict[str, Any] | None, template: Path | None = None) -> float | None:
    """The fps of the HDF5 -> LeRobot conversion in ``record``'s chain (a template step is one frame
    at that rate), of ``template`` when given (its path or file name among the conversion's inputs:
    IDM outputs chain through Cosmos and IDM records that do not map episodes back); None when the
    chain has none."""
    pending = [record] if record else []
    while pending:
        current = pending.pop()
        options = current.get("options") or {}
        inputs = current.get("inputs") or []
        if current.get("conversion") == "hdf5_to_lerobot" and options.get("fps"):
            if template is None or any(_same_file(i.get("path"), template) for i in inputs):
                return float(options["fps"])
        pending.extend(i["provenance"] for i in inputs if isinstance(i.get("provenance"), dict))
    return None


def _same_file(recorded: Any, template: Path) -> bool:
    if not recorded:
        return False
    path = Path(str(recorded))
    return path.name == Path(template).name or path.absolute() == Path(template).absolute()


def replay_rate(
    dataset: Dataset, options: LerobotToHdf5Options, record: dict[str, Any] | None
) -> tuple[float, str]:
    """(actions per second of the output, where that comes from: option | provenance | dataset)."""
    if options.replay_fps is not None:
        if options.replay_fps <= 0:
            raise StudioError(f"the replay rate must be positive, got {options.replay_fps}")
        return float(options.replay_fps), "option"
    traced = conversion_fps(record, Path(options.template))
    if traced:
        return traced, "provenance"
    return float(dataset.fps), "dataset"


def resample(values: np.ndarray, fps_in: float, fps_out: float) -> np.ndarray:
    """(N, A) values at ``fps_in`` -> (M, A) at ``fps_out`` over the same time span (first frame kept,
    M = floor((N - 1) * fps_out / fps_in) + 1), linearly interpolated per column."""
    values = np.asarray(values)
    if fps_in == fps_out or len(values) < 2:
        return values.copy()
    count = _resampled_length(len(values), fps_in, fps_out)
    t_in = np.arange(len(values)) / fps_in
    t_out = np.arange(count) / fps_out
    columns = [np.interp(t_out, t_in, values[:, c].astype(np.float64)) for c in range(values.shape[1])]
    return np.stack(columns, axis=1).astype(values.dtype)


def _rate_warning(fps_in: float, fps_out: float, how: str) -> str:
    if fps_in != fps_out:
        source = {
            "option": "as asked",
            "provenance": "the rate of the LeRobot dataset made from the template",
        }
        return f"actions at {fps_in:g} fps are resampled to {fps_out:g} fps ({source[how]})"
    if how == "dataset" and fps_in != LEISAAC_LEROBOT_FPS:
        return (
            f"actions are at {fps_in:g} fps and the template's rate is unknown: each is replayed as one "
            f"step; give the replay rate (e.g. {LEISAAC_LEROBOT_FPS:g}) to resample them"
        )
    return ""


def _hdf5_tree(matches: list[_Match], copy_states: bool) -> list[str]:
    """Paths of the output file (attributes are described in the details)."""
    kept = [m for m in matches if not m.reason]
    per_demo = ["actions", "processed_actions", "obs/actions", "initial_state/..."]
    if copy_states:
        per_demo.append("states/...")
    lines: list[str] = []
    names = [f"data/demo_{i}" for i in range(len(kept))]
    shown = names if len(names) <= 4 else [*names[:3], names[-1]]
    for number, name in enumerate(shown):
        if len(names) > 4 and number == 3:
            lines.append(f"data/... ({len(names) - 4} more demos)")
        lines += [f"{name}/{item}" for item in per_demo]
    return lines


# --------------------------------------------------------------------------------------------------


def plan(dataset_path: Path, options: LerobotToHdf5Options) -> Plan:
    dataset_path = Path(dataset_path)
    result = Plan(KIND, str(Path(options.out).absolute()), DatasetFormat.LEISAAC_HDF5.value)
    try:
        check_output_target(Path(options.out), options.overwrite, [dataset_path, Path(options.template)])
    except StudioError as error:
        result.errors.append(error.message)
    try:
        dataset, template = _open_inputs(dataset_path, options)
    except StudioError as error:
        result.errors.append(error.message)
        return result
    try:
        try:
            space, target_space = _action_spaces(dataset, template, options)
        except StudioError as error:
            result.errors.append(error.message)
            return result
        record = prov.read_provenance(dataset_path)
        matches, why = _match(dataset, template, options, record)
        unpaired = [m.episode.index for m in matches if m.how == "unpaired"]
        if unpaired:
            refusal = unpaired_error(dataset_path, unpaired, why).message
            result.errors.append(refusal)
            result.details["mapping_note"] = refusal
        else:
            result.details["mapping_note"] = _mapping_note(matches, Path(options.template).name)
        try:
            fps_out, rate_how = replay_rate(dataset, options, record)
        except StudioError as error:
            result.errors.append(error.message)
            return result
        fps_in = float(dataset.fps)
        rate_note = _rate_warning(fps_in, fps_out, rate_how)
        if rate_note:
            result.warnings.append(rate_note)
        result.details.update({"dataset_fps": fps_in, "replay_fps": fps_out, "replay_fps_from": rate_how})
        output_index = 0
        for m in matches:
            entry = EpisodePlan(
                source=str(dataset_path),
                source_index=m.episode.index,
                source_name=f"episode {m.episode.index}",
                length=m.episode.length,
                kept=not m.reason,
                reason=m.reason,
                task=m.episode.task or "",
                extra={
                    "demo": m.demo.index if m.demo else None,
                    "demo_name": m.demo.source if m.demo else None,
                    "matched_by": m.how,
                    "offset_from": m.offset_how,
                },
            )
            if not m.reason:
                entry.output_index = output_index
                entry.frame_offset = m.offset
                entry.frames_out = _resampled_length(m.episode.length, fps_in, fps_out)
                output_index += 1
                if m.demo is not None and m.offset + entry.frames_out > m.demo.length and options.copy_states:
                    entry.reason = f"demo_{m.demo.index} is shorter than offset + length: states not copied"
            result.episodes.append(entry)
        if space.unit is Unit.OTHER:
            result.warnings.append("actions are not joint positions: copied unscaled")
        first = next((m for m in matches if not m.reason), None)
        if first is not None:
            row = first.episode.array(dataset.roles["action"])[0]
            out_unit = Unit.RADIANS if space.unit is not Unit.OTHER else Unit.OTHER
            result.samples.append(
                sample_values("action", f"episode {first.episode.index}", 0, space, row, out_unit)
            )
            if first.demo is not None and first.offset < first.demo.length:
                original = first.demo.array(template.roles["action"])[first.offset]
                result.details["template_action_at_offset"] = [float(v) for v in original]
        if not result.kept and not unpaired:
            result.errors.append("no episode can be converted (see the reasons)")
        result.tree = _hdf5_tree(matches, options.copy_states)
        result.details.update(
            {
                "template_demos": [
                    {"index": e.index, "name": e.source, "length": e.length, "success": e.success}
                    for e in template.episodes
                ],
                "action_unit": space.unit.value,
                "env_args": template.info.get("env_args"),
            }
        )
    finally:
        dataset.close()
        template.close()
    return result


def run(
    dataset_path: Path, options: LerobotToHdf5Options, progress: Progress | None = None
) -> ConversionSummary:
    progress = ensure_progress(progress)
    timer = Timer()
    dataset_path = Path(dataset_path)
    out = Path(options.out)
    check_output_target(out, options.overwrite, [dataset_path, Path(options.template)])
    progress.report(0, 0, "checking inputs")
    dataset, template = _open_inputs(dataset_path, options)
    summary = ConversionSummary(KIND, str(out.absolute()), DatasetFormat.LEISAAC_HDF5.value)
    try:
        space, target_space = _action_spaces(dataset, template, options)
        record_in = prov.read_provenance(dataset_path)
        matches, why = _match(dataset, template, options, record_in)
        unpaired = [m.episode.index for m in matches if m.how == "unpaired"]
        if unpaired:
            raise unpaired_error(dataset_path, unpaired, why)
        summary.details["mapping_note"] = _mapping_note(matches, Path(options.template).name)
        fps_out, rate_how = replay_rate(dataset, options, record_in)
        rate_note = _rate_warning(float(dataset.fps), fps_out, rate_how)
        if rate_note:
            progress.warn(rate_note)
            summary.warnings.append(rate_note)
        summary.details["replay_fps"] = fps_out
        for m in matches:
            if m.reason:
                summary.skipped.append(
                    {"source": str(dataset_path), "episode": m.episode.index, "reason": m.reason}
                )
        kept = [m for m in matches if not m.reason]
        if not kept:
            raise StudioError(
                "no episode can be converted",
                dataset_path,
                "; ".join(f"episode {s['episode']}: {s['reason']}" for s in summary.skipped[:5]),
            )
        if space.unit is Unit.OTHER:
            message = "actions are not joint positions: copied unscaled"
            progress.warn(message)
            summary.warnings.append(message)
        progress.report(0, len(kept), "hashing inputs")
        record = prov.new_record(
            KIND,
            [(dataset_path, "source"), (options.template, "template")],
            options_dict(options),
            out,
            DatasetFormat.LEISAAC_HDF5.value,
            options.hash_mode,
        )
        dtype = str(template.features[template.roles["action"]].dtype)
        features = {
            key: Feature(
                key, FeatureKind.VECTOR, dtype, (target_space.width,), list(target_space.names), target_space
            )
            for key in ACTION_KEYS
        }
        data_attrs = {k: v for k, v in (template.info.get("attrs") or {}).items() if k != prov.HDF5_ATTR}
        spec = WriterSpec(
            fps=fps_out,
            robot_type=template.robot_type,
            features=features,
            options={
                "env_args": template.info.get("env_args")
                or {"env_name": template.info.get("env_name", ""), "type": 2},
                "data_attrs": data_attrs,
            },
            provenance=record,
        )
        own_subtasks = dataset_subtasks(dataset)
        writer = open_writer(DatasetFormat.LEISAAC_HDF5, out, spec, overwrite=options.overwrite)
        frames = 0
        with writer:
            for number, m in enumerate(kept):
                frames += _write_one(
                    writer, m, dataset, template, space, target_space, options, record, summary, fps_out,
                    own_subtasks.get(m.episode.index, ()),
                )
                m.episode.unload()
                progress.report(number + 1, len(kept), f"episode {m.episode.index} -> demo_{number}")
        summary.episodes_written = len(kept)
        summary.frames_written = frames
        summary.provenance = record
        summary.seconds = timer.seconds
        return summary
    finally:
        dataset.close()
        template.close()


def _set_subtasks(attrs: dict[str, Any], own: Segments, source_length: int, offset: int, length: int) -> None:
    """The demo's ``subtasks`` attribute in its own frames: the dataset's segments (rescaled when the
    replay rate changes the length), else the template demo's from the replayed offset on."""
    if own:
        segments = scale(own, source_length, length) if source_length != length else tuple(own)
    else:
        try:
            found = _template_subtasks(attrs.get("subtasks"))
        except (ValueError, TypeError, StudioError):
            found = ()  # the template's own attribute is not ours to judge here: left out
        segments = clip(found, offset, offset + length)
    if segments:
        attrs["subtasks"] = json.dumps(segments_json(segments))
    else:
        attrs.pop("subtasks", None)


def _template_subtasks(value: Any) -> Segments:
    if value is None:
        return ()
    text = value if isinstance(value, str) else bytes(value).decode()
    return check_segments(json.loads(text))


def _write_one(
    writer: Any,
    m: _Match,
    dataset: Dataset,
    template: Dataset,
    space: JointSpace,
    target_space: JointSpace,
    options: LerobotToHdf5Options,
    record: dict[str, Any],
    summary: ConversionSummary,
    fps_out: float,
    own_subtasks: Segments = (),
) -> int:
    assert m.demo is not None
    demo = m.demo
    fps_in = float(dataset.fps)
    values = resample(m.episode.array(dataset.roles["action"]), fps_in, fps_out)
    dtype = np.dtype(str(template.features[template.roles["action"]].dtype))
    if space.unit is Unit.OTHER or target_space.unit is Unit.OTHER:
        actions = np.asarray(values, dtype=dtype)
    else:
        actions = space.convert(values, target_space.unit).astype(dtype)
    if _previous_action_convention(template, demo):
        previous = demo.array("obs/actions")
        first = previous[m.offset] if m.offset < len(previous) else actions[0]
        obs_actions = np.vstack([np.asarray(first, dtype=dtype)[None, :], actions[:-1]])
    else:
        obs_actions = actions.copy()
    warnings: list[str] = []
    extra: dict[str, Any] = {
        "seed": demo.extra.get("seed"),
        "attrs": {
            **(demo.extra.get("attrs") or {}),
            "rollout_studio_source_demo": demo.source,
            "rollout_studio_frame_offset": int(m.offset),
        },
        "initial_state": _initial_state(template, demo, m.offset, warnings),
    }
    _set_subtasks(extra["attrs"], own_subtasks, m.episode.length, m.offset, len(actions))
    if options.copy_states:
        states = _states(template, demo, m.offset, len(actions))
        if states is None:
            warnings.append(
                f"{demo.source} has {demo.length} frames < offset {m.offset} + {len(actions)}: "
                "states not copied"
            )
        else:
            extra["states"] = states
    if not extra["initial_state"]:
        warnings.append(f"{demo.source} has no initial_state: replay cannot reset this episode")
    for message in warnings:
        summary.warnings.append(message)
    episode = writer.begin_episode(task=m.episode.task or "", **extra)
    try:
        episode.add_frames(
            {"actions": actions, "processed_actions": actions.copy(), "obs/actions": obs_actions}
        )
        success = demo.success
        index = episode.end(success=success)
    except BaseException:
        episode.discard()
        raise
    # the pairing later panes need: output demo -> the template demo it replays, from frame N
    prov.add_episode(
        record,
        index,
        1,
        demo.index,
        demo.source,
        m.offset,
        len(actions),
        lerobot_episode=m.episode.index,
        matched_by=m.how,
        offset_from=m.offset_how,
        **({"resampled_from_fps": fps_in, "fps": fps_out} if fps_in != fps_out else {}),
    )
    demo.unload()
    return len(actions)
