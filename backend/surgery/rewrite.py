"""Write a plan's outputs episode by episode through the format's writer.

Every output episode is a ``Piece`` (a frame window of one input episode, with its task). Values are
copied as stored (never converted). LeRobot outputs copy each camera's video packets whenever the
window starts on a keyframe of a file without B-frame reordering (whole episodes always do in LeRobot's
and the studio's files; a trim does when its first frame is a keyframe); a window cut inside a GOP of
an x264 file is spliced (its frames up to the next keyframe re-encoded with the source's settings, the
rest copied, ``backend.formats.lerobot.splice``); otherwise the window is decoded and encoded again,
as is every camera when a codec is asked for. HDF5 outputs copy frames as
arrays. Statistics are recomputed by the writer from the written values (exact, not averaged).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from backend import provenance as prov
from backend.atomic import remove_path
from backend.errors import FormatError, StudioError
from backend.formats.base import CameraSpec, WriterSpec
from backend.model import Dataset, DatasetFormat, Feature
from backend.progress import Progress
from backend.surgery.common import video_hints
from backend.surgery.plan import Output, Plan


@dataclass
class WriteResult:
    path: str
    episodes: int = 0
    frames: int = 0
    videos_copied: int = 0  # (episode, camera) windows copied packet by packet
    videos_encoded: int = 0  # (episode, camera) windows decoded and encoded again
    videos_spliced: int = 0  # windows cut inside a GOP: re-encoded to the next keyframe, then copied
    frames_reencoded: int = 0  # frames re-encoded by those splices
    warnings: list[str] = field(default_factory=list)


def _renamed(spec: WriterSpec, keys: dict[str, str], options: dict[str, Any]) -> dict[str, str]:
    """Apply ``rename`` / ``remove`` (feature keys or camera names) to ``spec``; returns the camera
    map output name -> source name. ``keys`` (source key -> output key) is changed in place."""
    rename: dict[str, str] = dict(options.get("rename") or {})
    remove: set[str] = set(options.get("remove") or [])
    for source in list(keys):
        target = keys[source]
        if source in remove or target in remove:
            spec.features.pop(target, None)
            del keys[source]
        elif source in rename or target in rename:
            new = rename.get(source, rename.get(target, target))
            old = spec.features.pop(target)
            spec.features[new] = Feature(
                new, old.kind, old.dtype, tuple(old.shape), old.names, space=old.space
            )
            keys[source] = new
    cameras: dict[str, str] = {}
    kept: list[CameraSpec] = []
    for camera in spec.cameras:
        if camera.name in remove:
            continue
        new = rename.get(camera.name, camera.name)
        cameras[new] = camera.name
        kept.append(CameraSpec(new, camera.width, camera.height))
    spec.cameras = kept
    return cameras


def _record(plan: Plan, output: Output, hash_mode: str) -> dict[str, Any]:
    """The provenance record: the operation, its inputs and where every output episode came from."""
    record = prov.new_record(
        f"edit {plan.operation}",
        [(path, "source") for path in plan.inputs],
        {"operation": plan.operation, "changes": plan.changes, **plan.options},
        output.path,
        plan.format,
        hash_mode,
    )
    for number, piece in enumerate(output.pieces):
        prov.add_episode(
            record,
            number,
            piece.input,
            piece.episode,
            f"episode_{piece.episode}",
            piece.start,
            piece.frames,
            task=piece.task,
        )
    record["operation"] = f"edit {plan.operation}"
    return record


def _frames_of(stream: Any, start: int, stop: int) -> Iterator[np.ndarray]:
    for index in range(start, stop):
        yield stream.frame(index)


def _splice(
    writer: Any, path: Path, info: Any, first: int, count: int, hints: dict[str, Any], result: WriteResult
) -> Path | None:
    """The window cut keyframe-exact into the writer's staging folder (re-encoded only up to the first
    keyframe, see ``backend.formats.lerobot.splice``); None when it must be re-encoded whole."""
    from backend.formats.lerobot.splice import cut_plan, write_spliced

    plan = cut_plan(path, info, first, count, hints)
    if plan.mode != "splice":
        return None
    writer.staging.mkdir(parents=True, exist_ok=True)
    target = writer.staging / f"splice-{result.videos_spliced}-{Path(path).stem}.mp4"
    try:
        write_spliced(path, info, first, count, target, hints)
    except FormatError as error:  # the plan expected a splice: say so, and re-encode the window whole
        remove_path(target)
        result.warnings.append(
            f"{path}: frames {first}..{first + count - 1} re-encoded whole ({error.problem})"
        )
        return None
    result.videos_spliced += 1
    result.frames_reencoded += plan.encoded
    return target


def _lerobot_spec(first: Dataset, plan: Plan, output: Output) -> tuple[WriterSpec, dict[str, str]]:
    from backend.formats.lerobot.copy import _spec

    codec = plan.options.get("codec")
    spec, keys = _spec(first, codec, plan.options.get("writer_options"))
    tasks: list[str] = []
    for task in [*first.tasks, *(p.task for p in output.pieces)]:
        if task not in tasks and any(p.task == task for p in output.pieces):
            tasks.append(task)
    spec.options["tasks"] = tasks
    return spec, keys


def _write_lerobot(
    datasets: list[Dataset],
    plan: Plan,
    output: Output,
    record: dict[str, Any],
    overwrite: bool,
    progress: Progress,
    done: int,
    total: int,
    result: WriteResult,
) -> int:
    from backend.formats.lerobot.remux import remux_problem
    from backend.formats.lerobot.stream import VideoWindowStream
    from backend.formats.lerobot.writer import LeRobotWriter
    from backend.media import probe

    spec, keys = _lerobot_spec(datasets[0], plan, output)
    cameras = _renamed(spec, keys, plan.options)
    rename = dict(plan.options.get("rename") or {})
    video_info = spec.options.get("source_video_info") or {}
    for old, new in rename.items():  # the camera's feature key follows its new name
        for key in list(video_info):
            if key.endswith(f".{old}"):
                video_info[key[: -len(old)] + new] = video_info.pop(key)
    spec.provenance = record
    codec = plan.options.get("codec")
    probes: dict[Path, Any] = {}
    staged: list[Path] = []
    writer = LeRobotWriter(DatasetFormat(plan.format), output.path, spec, overwrite=overwrite)
    try:
        for piece in output.pieces:
            episode = datasets[piece.input].episode(piece.episode)
            start, stop = piece.start, piece.stop
            relabelled = piece.task != episode.task
            tasks = [] if relabelled else list(episode.extra.get("tasks") or [])
            ew = writer.begin_episode(piece.task, **({"tasks": tasks} if tasks else {}))
            values = {
                target: np.asarray(episode.array(source)[start:stop]) for source, target in keys.items()
            }
            images: dict[str, Iterator[np.ndarray]] = {}
            streams = []
            for name, source_name in cameras.items():
                stream = episode.stream(source_name)
                streams.append(stream)
                window = None
                if codec is None and isinstance(stream, VideoWindowStream) and stream.is_contiguous:
                    info = probes.get(stream.path) or probes.setdefault(stream.path, probe(stream.path))
                    first = stream.first_file_frame + start
                    if remux_problem(stream.path, info, first, stop - start) is None:
                        window = (stream.path, info, first)
                    else:
                        hints = video_hints(datasets[piece.input], source_name)
                        spliced = _splice(writer, stream.path, info, first, stop - start, hints, result)
                        if spliced is not None:
                            window = (spliced, probe(spliced), 0)
                            staged.append(spliced)
                if window is not None:
                    ew.add_video(name, window[0], window[2], stop - start, window[1])
                    if window[0] == stream.path:
                        result.videos_copied += 1
                else:
                    images[name] = _frames_of(stream, start, stop)
                    result.videos_encoded += 1
            ew.add_frames(values, images)
            if not values:
                ew.length = max(ew.length, stop - start)
            for stream in streams:
                stream.close()
            ew.end(episode.success)
            while staged:  # the spliced windows are in the output now
                remove_path(staged.pop())
            episode.unload()
            done += stop - start
            result.episodes += 1
            result.frames += stop - start
            progress.report(
                done, total, f"{Path(output.path).name}: episode {result.episodes}/{output.episodes}"
            )
        writer.finish()
    except BaseException:
        writer.abort()  # removes the staging folder, spliced windows included
        raise
    return done


def _write_hdf5(
    datasets: list[Dataset],
    plan: Plan,
    output: Output,
    record: dict[str, Any],
    overwrite: bool,
    progress: Progress,
    done: int,
    total: int,
    result: WriteResult,
) -> int:
    from backend.curation import _initial_state_at
    from backend.formats.leisaac_hdf5._common import CHUNK_FRAMES
    from backend.formats.leisaac_hdf5.copy import _block, _frames, writer_spec_for
    from backend.formats.leisaac_hdf5.writer import LeIsaacHDF5Writer

    spec = writer_spec_for(datasets[0])
    keys = {key: key for key in spec.vector_keys()}
    cameras = _renamed(spec, keys, plan.options)
    spec.provenance = record
    with LeIsaacHDF5Writer(output.path, spec, overwrite=overwrite) as writer:
        for piece in output.pieces:
            episode = datasets[piece.input].episode(piece.episode)
            attrs = dict(episode.extra.get("attrs") or {})
            attrs["task"] = piece.task
            extra: dict[str, Any] = {"attrs": attrs}
            state = _initial_state_at(episode, piece.start)
            if state:
                extra["initial_state"] = state
            if episode.extra.get("seed") is not None:
                extra["seed"] = episode.extra["seed"]
            target = writer.begin_episode(piece.task, **extra)
            try:
                for start in range(piece.start, piece.stop, CHUNK_FRAMES):
                    stop = min(start + CHUNK_FRAMES, piece.stop)
                    values = {new: _block(episode, old, start, stop) for old, new in keys.items()}
                    images = {new: _frames(episode, old, start, stop) for new, old in cameras.items()}
                    target.add_frames(values, images)
                    done += stop - start
                    progress.report(done, total, f"{Path(output.path).name}: demo {result.episodes}")
            finally:
                episode.unload()
            target.end(success=episode.success)
            result.episodes += 1
            result.frames += piece.frames
    return done


def write_outputs(
    datasets: list[Dataset], plan: Plan, overwrite: bool, progress: Progress, hash_mode: str = "fast"
) -> list[WriteResult]:
    """Write every output of ``plan`` from the open ``datasets`` (in the plan's input order)."""
    fmt = DatasetFormat(plan.format)
    total = sum(o.frames for o in plan.outputs)
    done = 0
    results: list[WriteResult] = []
    new_paths: list[str] = []  # outputs this run created: removed again when a later one fails
    try:
        for output in plan.outputs:
            if not output.pieces:
                raise StudioError("the operation leaves no episode in this output", output.path)
            result = WriteResult(output.path)
            record = _record(plan, output, hash_mode)
            existed = Path(output.path).exists()
            if fmt is DatasetFormat.LEISAAC_HDF5:
                done = _write_hdf5(datasets, plan, output, record, overwrite, progress, done, total, result)
            elif fmt in (DatasetFormat.LEROBOT_V21, DatasetFormat.LEROBOT_V30):
                done = _write_lerobot(
                    datasets, plan, output, record, overwrite, progress, done, total, result
                )
            else:
                raise StudioError(
                    f"cannot write {fmt.value} here", output.path, "write HDF5 or LeRobot v2.1/v3.0"
                )
            if not existed:
                new_paths.append(output.path)
            results.append(result)
    except BaseException:
        for path in new_paths:  # all or nothing: a split cancelled in its second output leaves neither
            remove_path(path)
        raise
    return results
