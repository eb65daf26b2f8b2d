"""Consistency checks of a LeIsaac HDF5 file, one Problem per finding (formats.md section 1)."""

from __future__ import annotations

from pathlib import Path

import h5py

from backend.errors import FormatError
from backend.formats.leisaac_hdf5._common import (
    IMAGE_LAYOUT_FIX,
    INITIAL_STATE,
    SO101_JOINTS,
    actions_are_joints,
    attrs_dict,
    demo_names,
    demo_number,
    eef_by_attrs,
    frame_datasets,
    holds_eef_actions,
    image_layout_problem,
    is_image,
    open_h5,
    parse_env_args,
    short_error,
)
from backend.formats.leisaac_hdf5.direct import (
    frame_arrays,
    open_object,
    read_all,
    read_attrs,
    small_metadata_cache,
)
from backend.validation import Problem

_FIX_REWRITE = "re-export the file with `rollout-studio convert` (it rewrites lengths and attributes)"


def validate(path: Path) -> list[Problem]:
    path = Path(path)
    try:
        h5 = open_h5(path, rdcc_nbytes=0, rdcc_nslots=1)  # each array is read once: no chunk cache to set up
    except FormatError as error:
        return [Problem(str(path), error.problem, error.hint or "re-record or restore the file", code="unreadable")]
    try:
        with small_metadata_cache(h5):
            return _validate(path, h5)
    except OSError as error:  # damaged B-trees or chunks found while walking
        return [
            Problem(
                str(path),
                f"cannot read the HDF5 file ({short_error(error)})",
                "the file is corrupt; re-record or restore it",
                code="unreadable",
            )
        ]
    finally:
        h5.close()


def _validate(path: Path, h5: h5py.File) -> list[Problem]:
    from backend import signals  # loaded only to validate (the package is imported by inspect too)

    file = str(path)
    problems: list[Problem] = []

    def add(
        problem: str,
        fix: str,
        severity: str = "error",
        where: str | None = None,
        code: str = "format",
        fixable: bool = False,
        frames: tuple[int, ...] = (),
    ) -> None:
        demo = where.rsplit("/", 1)[-1] if where and where.startswith("/data/demo_") else None
        problems.append(
            Problem(f"{file}:{where}" if where else file, problem, fix, severity, code, demo, fixable, frames)
        )

    data = h5.get("data")
    if not isinstance(data, h5py.Group):
        add("no /data group: not a LeIsaac / Isaac Lab recording", "open a file recorded by LeIsaac", code="layout")
        return problems
    attrs = attrs_dict(data)
    if "env_args" not in attrs:
        add(
            "no env_args attribute on /data (the task id for replay is unknown)",
            "pass --task to LeIsaac replay, or re-export with an env name",
            "warning",
            "/data",
            "env_args",
        )
    elif parse_env_args(attrs["env_args"]) is None:
        add(
            f"env_args is not a JSON object: {str(attrs['env_args'])[:80]!r}",
            "re-export with a valid env_args",
            "error",
            "/data",
            "env_args",
            True,
        )

    names = demo_names(data)
    others = [n for n in data.keys() if demo_number(n) is None]
    if others:
        add(
            f"/data holds groups that are not demo_N: {others[:5]}", "they are ignored", "warning", "/data", "layout"
        )
    if not names:
        add("no demo_N groups in /data", "record at least one episode", "warning", "/data", "no_episodes")
        return problems
    numbers = [demo_number(n) or 0 for n in names]
    if numbers != list(range(len(numbers))):
        add(
            f"demo numbers are not 0..{len(numbers) - 1} (LeIsaac resume would write demo_{len(numbers)}"
            f"{', which exists' if len(numbers) in numbers else ''})",
            "renumber by re-exporting before resuming a recording into this file",
            "warning",
            "/data",
            "demo_numbering",
            True,
        )

    eef_said = eef_by_attrs(attrs)  # the attributes say the actions are end-effector poses
    finished_total = 0
    missing_seed: list[str] = []
    missing_initial: list[str] = []
    first_cameras: tuple[str, set[str]] | None = None  # the first demo with arrays: its name, its cameras
    for name in names:  # low-level reads: one pass over each demo's attributes and arrays
        demo = open_object(data.id, name)
        if demo is None:
            raise KeyError(f"cannot open /data/{name}")
        where = f"/data/{name}"
        demo_attrs = read_attrs(demo)
        arrays, has_initial = frame_arrays(demo, INITIAL_STATE)
        layouts = {k: image_layout_problem(k, d.shape, d.dtype) for k, d in arrays.items()}
        cameras = {k for k, (camera, _) in layouts.items() if camera}
        if first_cameras is None and arrays:
            first_cameras = (name, cameras)
        elif first_cameras is not None:
            first, expected = first_cameras
            for key in sorted(k for k in cameras - expected if layouts[k][1] is None):  # else image_layout
                add(
                    f"has camera {key}, which {first} has not (a file's cameras are its first demo's)",
                    f"convert without it (--cameras), or give {first} the camera",
                    "error",
                    where,
                    "camera_set",
                )
            for key in sorted(expected - cameras):
                add(
                    f"has no camera {key} ({first} has one)",
                    "converting skips this demo; remove it, or convert without the camera (--cameras)",
                    "warning",
                    where,
                    "camera_set",
                )
        lengths = {k: int(d.shape[0]) for k, d in arrays.items() if d.ndim > 0}
        actions = arrays.get("actions")
        if actions is None:
            add("no actions dataset", "this demo cannot be replayed; remove it", "error", where, "missing_column")
        length = lengths.get("actions", max(lengths.values(), default=0))
        if len(set(lengths.values())) > 1:
            odd = {k: v for k, v in lengths.items() if v != length}
            add(
                f"arrays have different lengths: actions {length}, "
                + ", ".join(f"{k} {v}" for k, v in list(odd.items())[:6]),
                _FIX_REWRITE,
                "error",
                where,
                "length_mismatch",
            )
        num_samples = demo_attrs.get("num_samples")
        if num_samples is None:
            add("no num_samples attribute", _FIX_REWRITE, "error", where, "num_samples", True)
        elif int(num_samples) != length:
            add(
                f"num_samples is {num_samples} but the demo has {length} frames", _FIX_REWRITE, "error", where,
                "num_samples", True,
            )
        if "success" not in demo_attrs:
            add(
                "no success attribute: the recording was interrupted (listed, not counted in total)",
                "keep it as a failure, or drop it when converting",
                "warning",
                where,
                "interrupted",
            )
        else:
            finished_total += int(num_samples) if num_samples is not None else length
        if "seed" not in demo_attrs:
            missing_seed.append(name)
        if not has_initial:
            missing_initial.append(name)

        joint_actions = actions is not None and actions.ndim == 2 and actions_are_joints(actions.shape[1])
        width = actions.shape[1] if actions is not None and actions.ndim == 2 else None
        if width is not None and not joint_actions and not holds_eef_actions(width, eef_said, arrays):
            add(
                f"actions have width {actions.shape[1]}, not {len(SO101_JOINTS)} or {2 * len(SO101_JOINTS)}: "
                "not joint positions (keyboard/gamepad IK teleop?)",
                "they are kept as they are and never rescaled to LeRobot ranges",
                "warning",
                where,
                "actions_not_joints",
            )
        for key, dataset in arrays.items():
            camera, problem = layouts[key]
            if problem:
                add(problem, IMAGE_LAYOUT_FIX, "error", where, "image_layout")
            if camera:
                continue
            if dataset.ndim != 2 or dataset.dtype.kind != "f":
                continue
            reading = signals.non_finite(read_all(dataset.id), key)
            if reading.fired:
                add(reading.sentence, signals.SIGNALS["non_finite"].fix, "error", where, "non_finite", True,
                    reading.frames)

    total = attrs.get("total")
    if total is None:
        add("no total attribute on /data", _FIX_REWRITE, "warning", "/data", "totals_mismatch", True)
    elif int(total) != finished_total:
        add(
            f"total is {total} but the finished demos have {finished_total} samples",
            _FIX_REWRITE,
            "warning",
            "/data",
            "totals_mismatch",
            True,
        )
    if missing_seed:
        add(
            f"{len(missing_seed)} demo(s) have no seed attribute ({', '.join(missing_seed[:4])}"
            f"{' ...' if len(missing_seed) > 4 else ''})",
            "replay resets with seed 0 for them",
            "warning",
            "/data",
            "no_seed",
        )
    if missing_initial:
        add(
            f"{len(missing_initial)} demo(s) have no initial_state ({', '.join(missing_initial[:4])}"
            f"{' ...' if len(missing_initial) > 4 else ''})",
            "LeIsaac replay cannot reset the scene for them; copy one from the source recording",
            "warning",
            "/data",
            "no_initial_state",
        )
    return problems


def image_chunk_rows(path: Path) -> int:
    """Frames per stored chunk of the first demo's camera arrays (1 when unchunked or none).

    LeIsaac chunks images by 100 frames and a chunk decompresses as a whole, so the doctor samples
    frames inside few chunks.
    """
    try:
        h5 = open_h5(Path(path))
    except FormatError:
        return 1
    try:
        data = h5.get("data")
        if not isinstance(data, h5py.Group):
            return 1
        for name in demo_names(data)[:1]:
            for key, dataset in frame_datasets(data[name]):
                if is_image(key, dataset.shape, dataset.dtype) and dataset.chunks:
                    return int(dataset.chunks[0])
        return 1
    except OSError:
        return 1
    finally:
        h5.close()
