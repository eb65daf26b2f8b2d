"""Assemble a recording session from plain settings: shared by the CLI and the Teleop pane."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.errors import StudioError
from backend.teleop.arm import SO101Arm
from backend.teleop.calibration import Calibration, CalibrationError, default_path, load_calibration
from backend.teleop.cameras import Camera, make_source
from backend.teleop.hdf5_recorder import Hdf5Recorder, find_unfinished, recover
from backend.teleop.lerobot_recorder import LeRobotRecorder, find_unfinished_lerobot, recover_lerobot
from backend.teleop.protocol import MAX_RAW
from backend.teleop.recorder_process import RecorderSpec
from backend.teleop.session import SessionConfig, TeleopSession

DEFAULT_IDS = {"leader": "so101_leader", "follower": "so101_follower"}


@dataclass
class RecordSettings:
    leader_port: str
    out: str
    follower_port: str | None = None
    leader_calibration: str | None = None  # a file; None: the LeRobot default place, else the servos
    follower_calibration: str | None = None
    leader_id: str = DEFAULT_IDS["leader"]
    follower_id: str = DEFAULT_IDS["follower"]
    cameras: dict[str, str] = field(default_factory=dict)  # name -> source
    camera_size: tuple[int, int] | None = None  # (width, height) for devices; files keep theirs
    camera_fps: float | None = None
    fmt: str = "hdf5"
    env_name: str = ""
    config: SessionConfig = field(default_factory=SessionConfig)
    recorder_process: bool = True  # record in a child process (keeps the loop's timing on busy machines)


def resolve_calibration(arm: SO101Arm, role: str, path: str | None, arm_id: str) -> tuple[Calibration, str]:
    """A calibration file (given, or LeRobot's default place), else what the servos store."""
    if path:
        return load_calibration(path), str(path)
    candidate = default_path(role, arm_id)
    if candidate.is_file():
        return load_calibration(candidate), str(candidate)
    stored = arm.read_calibration()
    if all(m.range_min == 0 and m.range_max == MAX_RAW for m in stored.values()):
        raise CalibrationError(
            f"the {role} arm is not calibrated (no file at {candidate}, servo limits are 0..4095)",
            arm.port,
            "calibrate it (Teleop > Calibrate or `rollout-studio calibrate`) or pass its LeRobot calibration file",
        )
    return stored, "servo registers"


def connect_arm(port: str, role: str, calibration: str | None, arm_id: str) -> tuple[SO101Arm, str]:
    arm = SO101Arm(port, role=role).connect()
    try:
        cal, source = resolve_calibration(arm, role, calibration, arm_id)
        arm.calibration = cal
        if source != "servo registers" and arm.calibration_mismatches(cal):
            arm.apply_calibration(cal)  # the file is the truth: write it to the servos
            source += " (written to the servos)"
    except BaseException:
        arm.disconnect(disable_torque=False)
        raise
    return arm, source


def start_cameras(
    specs: dict[str, str], size: tuple[int, int] | None, fps: float | None, timeout: float = 5.0
) -> dict[str, Camera]:
    cameras = {}
    for name, source in specs.items():
        w, h = size if size else (None, None)
        cameras[name] = Camera(name, make_source(source, w, h, fps)).start()
    deadline = time.monotonic() + timeout
    for name, camera in cameras.items():
        if camera.wait_first_frame(max(0.0, deadline - time.monotonic())) is None:
            for other in cameras.values():
                other.stop()
            stats = camera.stats()
            raise StudioError(f"camera {name} delivered no frame ({stats.error or stats.state})", specs[name])
    return cameras


def check_output(out: str | Path, fmt: str, recover_mode: str | None) -> list[str]:
    """Refuse or repair an output a crash left unfinished; returns what recovery did."""
    out = Path(out)
    if not out.exists():
        return []
    if fmt == "hdf5":
        if not find_unfinished(out):
            return []
        if recover_mode is None:
            raise StudioError(
                "the recording has demos a crash left unfinished",
                out,
                "add --recover keep (close them as interrupted) or --recover drop",
            )
        return [f"{r.name}: {r.action} ({r.length} steps)" for r in recover(out, recover_mode)]
    if not find_unfinished_lerobot(out):
        return []
    if recover_mode is None:
        raise StudioError("the dataset has an unfinished episode from a crash", out, "add --recover drop")
    return recover_lerobot(out)


def make_recorder(settings: RecordSettings, dims: dict[str, tuple[int, int]]) -> Any:
    """A RecorderSpec for a recorder process (the default), or a recorder for a recorder thread."""
    if settings.fmt == "hdf5":
        options: dict[str, Any] = {"env_name": settings.env_name, "fps": settings.config.rate_hz}
    else:
        options = {"fps": settings.config.rate_hz, "units": settings.config.lerobot_units}
    if settings.recorder_process:
        return RecorderSpec(settings.fmt, str(settings.out), dict(dims), options)
    if settings.fmt == "hdf5":
        return Hdf5Recorder(settings.out, **options)
    return LeRobotRecorder(settings.out, cameras=dims, **options)


def build_session(settings: RecordSettings, recover_mode: str | None = None) -> tuple[TeleopSession, dict]:
    """Connect the arms and cameras, open the output and return a session (not started)."""
    notes = {"recovered": check_output(settings.out, settings.fmt, recover_mode)}
    leader, notes["leader_calibration"] = connect_arm(
        settings.leader_port, "leader", settings.leader_calibration, settings.leader_id
    )
    follower = None
    cameras: dict[str, Camera] = {}
    try:
        if settings.follower_port:
            follower, notes["follower_calibration"] = connect_arm(
                settings.follower_port, "follower", settings.follower_calibration, settings.follower_id
            )
        cameras = start_cameras(settings.cameras, settings.camera_size, settings.camera_fps)
        dims = {}
        for name, camera in cameras.items():
            frame = camera.latest()
            dims[name] = frame.image.shape[:2]
        if settings.fmt not in ("hdf5", "lerobot"):
            raise StudioError(f"unknown format {settings.fmt!r}", None, "use hdf5 or lerobot")
        recorder = make_recorder(settings, dims)
    except BaseException:
        leader.disconnect(disable_torque=False)
        if follower is not None:
            follower.disconnect()
        for camera in cameras.values():
            camera.stop()
        raise
    session = TeleopSession(leader, follower, cameras, recorder, settings.config)
    return session, notes
