"""Operations on a dataset's columns and videos: rename-feature, remove-feature, recompute-stats,
reencode. Every episode is rewritten whole (packets copied, except ``reencode``); statistics are
recomputed from the written values by the writer.
"""

from __future__ import annotations

from pathlib import Path

from backend.errors import StudioError
from backend.model import Dataset, DatasetFormat
from backend.surgery.common import disk_size, estimate, formats, not_carried, video_note, whole
from backend.surgery.plan import Output, Plan

_FIXED = {"timestamp", "frame_index", "episode_index", "index", "task_index"}
CODECS = ("h264", "hevc", "av1")


def _names(dataset: Dataset) -> dict[str, str]:
    """Every name an edit can use: feature key or camera name -> what it is."""
    names = {key: "column" for key, f in dataset.features.items() if key not in set(dataset.cameras.values())}
    for camera, key in dataset.cameras.items():
        names[camera] = "camera"
        names[key] = "camera"
    return names


def _plan(op: str, dataset: Dataset, out: str | Path, changes: list[str], **options: object) -> Plan:
    output = estimate(
        Output(str(Path(out).absolute()), whole(dataset, 0)), [dataset], [disk_size(dataset.path)]
    )
    codec = options.get("codec")
    video = video_note([dataset], str(codec) if codec else None, False)
    remove = options.get("remove")
    for name in remove if isinstance(remove, list) else []:
        video.pop(name, None)
    rename = options.get("rename")
    for old, new in (rename if isinstance(rename, dict) else {}).items():
        if old in video:
            video[new] = video.pop(old)
    return Plan(
        op,
        [str(Path(dataset.path).absolute())],
        formats([dataset]),
        dataset.format.value,
        [output],
        video=video,
        changes=changes,
        warnings=not_carried(dataset),
        options=dict(options),
    )


def _camera_name(dataset: Dataset, name: str) -> str:
    """The camera name for a camera's name or feature key (else ``name``)."""
    for camera, key in dataset.cameras.items():
        if name in (camera, key):
            return camera
    return name


def plan_rename_feature(dataset: Dataset, old: str, new: str, out: str | Path) -> Plan:
    names = _names(dataset)
    if old not in names or old in _FIXED:
        raise StudioError(
            f"has no column or camera {old!r} that can be renamed",
            dataset.path,
            f"names: {', '.join(sorted(n for n in names if n not in _FIXED))}",
        )
    if names[old] == "camera":
        old, new = _camera_name(dataset, old), new.rsplit(".", 1)[-1]
        if dataset.format is DatasetFormat.LEISAAC_HDF5 and "/" in new:
            raise StudioError(f"camera name {new!r} cannot hold '/'", dataset.path)
        clash = new in dataset.cameras
    else:
        clash = new in dataset.features
    if clash or not new.strip():
        raise StudioError(f"cannot rename {old!r} to {new!r}: the name is taken or empty", dataset.path)
    return _plan(
        "rename-feature",
        dataset,
        out,
        [f"{names[old] if old in names else 'camera'} {old!r} -> {new!r}"],
        rename={old: new},
    )


def plan_remove_feature(dataset: Dataset, names_to_remove: list[str], out: str | Path) -> Plan:
    names = _names(dataset)
    removed = []
    for name in names_to_remove:
        if name not in names or name in _FIXED:
            raise StudioError(f"has no column or camera {name!r} that can be removed", dataset.path)
        removed.append(_camera_name(dataset, name) if names[name] == "camera" else name)
    columns = [k for k, v in names.items() if v == "column" and k not in _FIXED and k not in removed]
    cameras = [c for c in dataset.cameras if c not in removed]
    if not columns and not cameras:
        raise StudioError("removing these leaves no column and no camera", dataset.path)
    return _plan("remove-feature", dataset, out, [f"remove {name!r}" for name in removed], remove=removed)


def plan_recompute_stats(dataset: Dataset, out: str | Path) -> Plan:
    if dataset.format is DatasetFormat.LEISAAC_HDF5:
        raise StudioError("LeIsaac HDF5 stores no statistics to recompute", dataset.path)
    return _plan(
        "recompute-stats",
        dataset,
        out,
        ["every episode's and the dataset's statistics recomputed from the values and frames"],
    )


def plan_reencode(dataset: Dataset, codec: str, out: str | Path, crf: int | None = None) -> Plan:
    if dataset.format is DatasetFormat.LEISAAC_HDF5:
        raise StudioError("LeIsaac HDF5 stores images, not video: nothing to re-encode", dataset.path)
    if codec not in CODECS:
        raise StudioError(f"unknown codec {codec!r}", hint=f"use one of {', '.join(CODECS)}")
    options: dict[str, object] = {"codec": codec}
    if crf is not None:
        options["writer_options"] = {"crf": int(crf)}
    return _plan("reencode", dataset, out, [f"every camera encoded again as {codec}"], **options)


def plan_images_to_video(dataset: Dataset, out: str | Path, crf: int | None = None) -> Plan:
    """LeRobot cameras stored as images (PNG in the parquet) encoded as video; video cameras keep
    their packets."""
    from backend.model import FeatureKind

    if dataset.format is DatasetFormat.LEISAAC_HDF5:
        raise StudioError("LeIsaac HDF5 keeps images: convert it to LeRobot to get video", dataset.path)
    images = [c for c, key in dataset.cameras.items() if dataset.features[key].kind is FeatureKind.IMAGE]
    if not images:
        raise StudioError("has no camera stored as images: its cameras are video already", dataset.path)
    options: dict[str, object] = {"writer_options": {"crf": int(crf)}} if crf is not None else {}
    plan = _plan(
        "images-to-video",
        dataset,
        out,
        [f"camera {c}: images encoded as h264 video" for c in images],
        **options,
    )
    for camera in images:
        plan.video[camera] = "images encoded as video (h264)"
    return plan
