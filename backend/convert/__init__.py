"""Conversions between the formats of the pipeline, each ``plan`` (preview) + ``run`` (write).

Every conversion module exposes:
    KIND                       its name in provenance records ("hdf5_to_lerobot", ...)
    <Name>Options              a dataclass of its options (``out`` is the destination)
    plan(inputs, options) -> backend.convert.common.Plan            reads, never writes
    run(inputs, options, progress=None) -> ConversionSummary       writes atomically

``CONVERSIONS`` lists them for the CLI and the Convert pane.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class ConversionInfo:
    key: str  # module name in backend.convert, also the KIND
    title: str
    summary: str
    options_class: str
    inputs: str  # what the inputs are, in words


CONVERSIONS: list[ConversionInfo] = [
    ConversionInfo(
        "hdf5_to_lerobot",
        "LeIsaac HDF5 -> LeRobot",
        "Recorded demos to a LeRobot dataset (v2.1 or v3.0), joints rescaled, H.264 or AV1 videos.",
        "Hdf5ToLerobotOptions",
        "one or more LeIsaac .hdf5 recordings",
    ),
    ConversionInfo(
        "lerobot_to_hdf5",
        "LeRobot -> replayable HDF5",
        "LeRobot or IDM actions back to a LeIsaac HDF5, with each source demo's initial state.",
        "LerobotToHdf5Options",
        "a LeRobot dataset (or IDM output) and the source .hdf5 as template",
    ),
    ConversionInfo(
        "lerobot_v3_to_v2",
        "LeRobot v3.0 -> v2.1 (GR00T)",
        "One parquet and one mp4 per episode, jsonl metadata, modality.json, H.264.",
        "LerobotVersionOptions",
        "a LeRobot v3.0 dataset",
    ),
    ConversionInfo(
        "lerobot_v2_to_v3",
        "LeRobot v2.x -> v3.0",
        "Per-episode files packed into LeRobot v3.0 files, frames copied without re-encoding.",
        "LerobotVersionOptions",
        "a LeRobot v2.0 / v2.1 dataset",
    ),
    ConversionInfo(
        "transcode",
        "Transcode videos to H.264",
        "Re-encode a dataset's videos (AV1, HEVC, ...) to H.264 with exact frame counts and times.",
        "TranscodeOptions",
        "a LeRobot dataset",
    ),
    ConversionInfo(
        "joint_to_eef",
        "Joints -> end effector (MimicGen)",
        "SO-101 joint actions to 8-D end-effector actions [x, y, z, qw, qx, qy, qz, gripper] with the "
        "subtask signals Isaac Lab Mimic reads, in a LeIsaac HDF5.",
        "JointToEefOptions",
        "a LeIsaac .hdf5 recording or a LeRobot dataset of the SO-101",
    ),
    ConversionInfo(
        "eef_to_joint",
        "End effector -> joints (IK)",
        "8-D end-effector actions (MimicGen output) back to SO-101 joint actions by inverse kinematics.",
        "EefToJointOptions",
        "a LeIsaac .hdf5 with end-effector actions",
    ),
]

_MODULES = {
    "hdf5_to_lerobot": "backend.convert.hdf5_to_lerobot",
    "lerobot_to_hdf5": "backend.convert.lerobot_to_hdf5",
    "lerobot_v3_to_v2": "backend.convert.lerobot_versions",
    "lerobot_v2_to_v3": "backend.convert.lerobot_versions",
    "transcode": "backend.convert.transcode",
    "joint_to_eef": "backend.convert.eef",
    "eef_to_joint": "backend.convert.eef_to_joint",
}


def conversion(key: str) -> ConversionInfo:
    for info in CONVERSIONS:
        if info.key == key:
            return info
    raise KeyError(key)


def module_for(key: str) -> ModuleType:
    return importlib.import_module(_MODULES[key])
