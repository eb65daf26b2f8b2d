"""One evaluation run assembled from plain settings: shared by ``rollout-studio eval run`` and the
Evaluate mode of the Teleop pane (which calls ``prepare`` and ``EvalRun.run`` inside its tasks)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from backend.atomic import atomic_file, refuse_inside_inputs
from backend.errors import StudioError
from backend.model import Role
from backend.policy.client import PolicyError, connect
from backend.policy.evaluation import EvalConfig, EvalResult, EvaluationLoop, Keys
from backend.policy.modality import Modality
from backend.policy.recording import RECORDED_BY, EvalRecorder
from backend.policy.report import build_report
from backend.policy.safety import Envelope, Safety, SafetyConfig
from backend.progress import Progress
from backend.teleop.calibration import DEGREES_NORM_MODES, LEISAAC_NORM_MODES, NormMode
from backend.teleop.cameras import Camera
from backend.teleop.factory import check_output, connect_arm, start_cameras
from backend.teleop.recorder import RecorderThread
from backend.units import Unit


@dataclass
class TrainingInfo:
    """What the evaluation takes from the training dataset: rate, cameras, modality, a task."""

    path: str
    fps: float
    cameras: list[str]
    modality: Modality
    task: str
    units: str = "range"  # the actions' LeRobot units: range or degrees


def training_info(path: str | Path) -> TrainingInfo:
    from backend.formats import open_dataset

    with open_dataset(path) as dataset:
        cameras = sorted(dataset.cameras)
        task = dataset.tasks[0] if dataset.tasks else ""
        space = dataset.joint_space(Role.ACTION)
        units = "degrees" if space is not None and space.unit is Unit.LEROBOT_DEGREES else "range"
        return TrainingInfo(str(path), float(dataset.fps), cameras, Modality.for_dataset(path, cameras), task,
                            units)


def episode_actions(path: str | Path, episode: int) -> tuple[np.ndarray, float]:
    """A recorded episode's actions in LeRobot units (what an SO-101 GR00T policy trained on it answers:
    its own LeRobot units, range for a LeIsaac recording) and fps."""
    from backend.formats import open_dataset

    with open_dataset(path) as dataset:
        if not 0 <= episode < dataset.num_episodes:
            raise StudioError(f"no episode {episode} (the dataset has {dataset.num_episodes})", path)
        values = dataset.episode(episode).joints(Role.ACTION)
        if values.unit not in (Unit.LEROBOT_RANGE, Unit.LEROBOT_DEGREES):  # a policy answers LeRobot units
            values = values.to(Unit.LEROBOT_RANGE)
        return np.asarray(values.values, dtype=np.float32), float(dataset.fps)


@dataclass
class EvalSettings:
    server: str  # tcp://HOST:5555 or http://HOST:8000
    follower_port: str
    out: str  # the evaluation recording (LeIsaac HDF5; episodes are appended)
    training: str  # the training dataset: fps, cameras, modality.json, task, comparison
    follower_calibration: str | None = None
    follower_id: str = "so101_follower"
    cameras: dict[str, str] = field(default_factory=dict)  # name -> source (make_source syntax)
    config: EvalConfig = field(default_factory=EvalConfig)
    safety: SafetyConfig = field(default_factory=SafetyConfig)
    timeout_ms: int = 15000
    api_token: str | None = None


class EvalRun:
    """The connected pieces of one run; ``run`` blocks, ``close`` releases everything."""

    def __init__(self, settings: EvalSettings, info: TrainingInfo, client: Any, arm: Any,
                 cameras: dict[str, Camera], recorder: RecorderThread, keys: Keys) -> None:
        self.settings, self.info = settings, info
        self.client, self.arm, self.cameras, self.recorder = client, arm, cameras, recorder
        assert arm.calibration is not None
        modes = DEGREES_NORM_MODES if info.units == "degrees" else LEISAAC_NORM_MODES
        arm.norm_modes = {j: NormMode(modes[j]) for j in arm.joints}  # the follower speaks the policy's units
        arm.calibration = arm.calibration  # rebuilds its normaliser with those modes
        settings.config.units = info.units
        self.loop = EvaluationLoop(client, arm, cameras, info.modality,
                                   Safety(Envelope.from_calibration(arm.calibration, modes), settings.safety),
                                   settings.config, recorder, keys)

    def run(self, progress: Progress | None = None) -> EvalResult:
        result = self.loop.run(progress)
        result.output = self.settings.out
        return result

    def close(self) -> None:
        self.recorder.stop()
        for camera in self.cameras.values():
            camera.stop()
        self.client.close()
        self.arm.disconnect()  # torque off, as LeRobot's disconnect (the arm was held until now)


def check_eval_output(out: str | Path) -> None:
    """An existing output must be an evaluation recording of the studio's (episodes are appended)."""
    path = Path(out)
    if not path.exists():
        return
    try:
        with h5py.File(path, "r") as f:
            record = json.loads(f["data"].attrs.get("rollout_studio_provenance", "{}"))
    except (OSError, KeyError, ValueError, TypeError):
        record = {}
    if record.get("recorded_by") != RECORDED_BY:
        raise StudioError("is not an evaluation recording of the studio: episodes are appended only to one",
                          path, "choose a new .hdf5 file for --out")
    check_output(path, "hdf5", None)


def prepare(settings: EvalSettings, keys: Keys | None = None) -> EvalRun:
    """Check the output, reach the server (ping), connect the follower and cameras, open the recording."""
    info = training_info(settings.training)
    refuse_inside_inputs(settings.out, [settings.training])
    check_eval_output(settings.out)
    if not settings.config.task:
        settings.config.task = info.task
    settings.config.fps = settings.config.fps or info.fps
    missing = [c for c in info.modality.video.values() if c not in settings.cameras]
    if missing:
        raise StudioError(f"the policy needs the cameras {', '.join(missing)}", settings.training,
                          "give each one with --camera NAME=SOURCE")
    client = connect(settings.server, settings.timeout_ms, settings.api_token)
    if not client.ping(min(5.0, settings.timeout_ms / 1000.0)):
        client.close()
        raise PolicyError("the policy server does not answer ping", settings.server,
                          "start it (jobs template gr00t-inference-server) and check host and port")
    arm = cameras = None
    try:
        arm, _ = connect_arm(settings.follower_port, "follower", settings.follower_calibration, settings.follower_id)
        arm.configure()
        arm.set_torque(True)
        cameras = start_cameras(settings.cameras, None, None)
        recorder = RecorderThread(EvalRecorder(settings.out, fps=settings.config.fps)).start()
    except BaseException:
        client.close()
        for camera in (cameras or {}).values():
            camera.stop()
        if arm is not None:
            arm.disconnect()
        raise
    return EvalRun(settings, info, client, arm, cameras, recorder, keys or Keys())


def write_report(result: EvalResult, recording: str | Path, training: str | Path | None, target: str | Path,
                 overwrite: bool = False) -> dict:
    """The report (``build_report`` plus the run's fault and arm state) written to ``target`` JSON."""
    report = build_report(recording, training)
    report["run"] = result.to_json()
    with atomic_file(target, overwrite, [recording, training]) as tmp:
        tmp.write_text(json.dumps(report, indent=2))
    return report
