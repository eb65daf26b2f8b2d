"""What the Evaluate mode of the Teleop pane knows, without Qt: the form, the run's state, its live
snapshot, the episodes so far and the report.

    es = EvaluateSession()
    es.form.server, es.form.follower, es.form.training, es.form.out = "tcp://gpu:5555", "/dev/ttyACM1", ...
    settings = es.settings()            # EvalSettings, or StudioError naming the field
    result = run_evaluation(settings, es.keys, es.attach)   # the pane runs this as a task
    es.finished(result)                 # or es.failed(message)
    es.press("s")                       # success / "f" failure / "a" abort (holds the arm)

The loop itself (``backend.policy.evaluation``) enforces every safety rule; the session only forwards
keys and shows what the loop publishes. Listeners hear ``"state"``, ``"episode"`` and ``"form"``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from backend.errors import StudioError
from backend.numbers import fixed
from backend.policy.demo import EvalDemo
from backend.policy.endpoint import job_address
from backend.policy.evaluation import EpisodeOutcome, EvalConfig, EvalResult, EvalSnapshot, Keys
from backend.policy.report import format_report
from backend.policy.run import EvalRun, EvalSettings, prepare, write_report
from backend.policy.safety import SafetyConfig
from backend.progress import Progress
from backend.teleop.cameras import parse_camera_arg


@dataclass
class EvalForm:
    server: str = "tcp://localhost:5555"
    follower: str = ""
    follower_calibration: str = ""
    training: str = ""
    out: str = ""
    cameras: str = "front=0, wrist=2"  # NAME=SOURCE, comma separated
    episodes: int = 3
    episode_seconds: float = 20.0
    task: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EvalForm:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in names})


@dataclass
class EvaluateSession:
    form: EvalForm = field(default_factory=EvalForm)
    state: str = "idle"  # idle | running | done | fault
    message: str = ""
    keys: Keys = field(default_factory=Keys)
    run: EvalRun | None = None
    episodes: list[EpisodeOutcome] = field(default_factory=list)
    report: dict[str, Any] | None = None
    safety: SafetyConfig = field(default_factory=SafetyConfig)
    demo: EvalDemo | None = None  # the virtual follower and reference server, when started here
    _listeners: list[Callable[[str], None]] = field(default_factory=list)

    def listen(self, listener: Callable[[str], None]) -> None:
        self._listeners.append(listener)

    def _tell(self, what: str) -> None:
        for listener in list(self._listeners):
            listener(what)

    # -- form ------------------------------------------------------------------------------------------
    def restore_form(self, data: dict[str, Any]) -> None:
        self.form = EvalForm.from_json(data)
        self._tell("form")

    def settings(self) -> EvalSettings:
        """The run's settings from the form; ``StudioError`` names the first missing or bad field."""
        f = self.form
        for name, value in (("policy server", f.server), ("follower port", f.follower),
                            ("training dataset", f.training), ("output recording", f.out)):
            if not str(value).strip():
                raise StudioError(f"the {name} is empty")
        cameras = dict(parse_camera_arg(part) for part in f.cameras.split(",") if part.strip())
        if f.episodes < 1 or f.episode_seconds <= 0:
            raise StudioError("episodes and seconds per episode must be positive")
        config = EvalConfig(episodes=int(f.episodes), episode_seconds=float(f.episode_seconds), fps=0.0,
                            task=f.task.strip())
        return EvalSettings(f.server.strip(), f.follower.strip(), f.out.strip(), f.training.strip(),
                            f.follower_calibration.strip() or None, cameras=cameras, config=config,
                            safety=self.safety)

    # -- run ---------------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.state == "running"

    def starting(self) -> None:
        self.keys = Keys()
        self.state, self.message, self.episodes, self.report, self.run = "running", "", [], None, None
        self._tell("state")

    def attach(self, run: EvalRun) -> None:
        """Called from the run's task once connected (any thread: one attribute)."""
        self.run = run

    def press(self, key: str) -> None:
        if self.running:
            self.keys.press(key)

    def snapshot(self) -> EvalSnapshot | None:
        run = self.run
        return run.loop.snapshot if run is not None else None

    def frames(self) -> dict[str, Any]:
        """The cameras' latest frames while running (name -> Frame or None)."""
        run = self.run
        return {name: camera.latest() for name, camera in run.cameras.items()} if run is not None else {}

    def poll(self) -> None:
        """New finished episodes (the pane's timer calls this)."""
        run = self.run
        if run is None:
            return
        done = run.loop.result.episodes
        if len(done) != len(self.episodes):
            self.episodes = list(done)
            self._tell("episode")

    def finished(self, outcome: tuple[EvalResult, dict[str, Any]]) -> None:
        result, report = outcome
        self.episodes = list(result.episodes)
        self.report = report
        self.state = "fault" if result.fault else "done"
        self.message = f"{result.fault} (arm {result.arm.replace('_', ' ')})" if result.fault else ""
        self.run = None
        self._tell("state")

    def failed(self, message: str) -> None:
        self.state, self.message, self.run = "fault", message, None
        self._tell("state")

    # -- demo (no GPU, no arm) --------------------------------------------------------------------------------
    def demo_starting(self) -> None:
        self.state, self.message = "idle", "starting a virtual follower and the reference server..."
        self._tell("state")

    def demo_ready(self, demo: EvalDemo, workspace: str | Path) -> None:
        """Fill the form with the demo's follower, calibration, server, cameras and training data."""
        self.stop_demo()
        self.demo = demo
        f = self.form
        f.server, f.follower, f.follower_calibration, f.training = (demo.server, demo.follower, demo.calibration,
                                                                    demo.training)
        f.cameras = ", ".join(f"{name}={path}" for name, path in demo.cameras.items())
        if not f.out.strip():
            f.out = str(Path(workspace) / "evaluations" / time.strftime("eval-%y%m%d-%H%M%S.hdf5"))
        f.episode_seconds = min(f.episode_seconds, 10.0)
        self.state, self.message = "idle", "demo ready: a virtual follower and the reference server"
        self._tell("form")
        self._tell("state")

    def stop_demo(self) -> None:
        demo, self.demo = self.demo, None
        if demo is not None:
            demo.stop()

    # -- text ----------------------------------------------------------------------------------------------
    def status_text(self) -> str:
        snap = self.snapshot()
        if self.state == "running" and snap is not None:
            return (f"episode {snap.episode + 1} of {self.form.episodes} · chunk {snap.chunk} · "
                    f"step {snap.step} · round trip {fixed(snap.latency_ms, '.1f')} ms · "
                    f"next chunk requested {snap.lead} steps ahead" + (f" · {snap.message}" if snap.message else ""))
        if self.state == "running":
            return "connecting to the policy server and the follower..."
        if self.state == "fault":
            return self.message
        if self.state == "done":
            return "evaluation finished"
        return self.message or "not running"

    def episodes_text(self) -> list[str]:
        return [f"episode {e.index + 1}: {e.label} · {fixed(e.duration_s, '.2f')} s · {e.steps} steps"
                + (f" · {e.reason}" if e.reason not in ("operator", "") else "") for e in self.episodes]

    def report_text(self) -> str:
        return format_report(self.report) if self.report else ""


def server_jobs(db: str | Path | None = None, progress: Progress | None = None) -> list[tuple[str, str]]:
    """(label, address) of every running ``gr00t-inference-server`` job of the job store that listens
    (a task: it reads the store and the jobs' logs)."""
    from backend.jobs.paths import default_db_path
    from backend.jobs.store import RUNNING, JobStore

    path = Path(db) if db else default_db_path()
    if not path.is_file():
        return []
    with JobStore(path, create=False) as store:
        jobs = store.list_jobs([RUNNING])
    out = []
    for job in jobs:
        address = job_address(job)
        if address:
            out.append((f"job {job.id} {job.name}: {address}", address))
    return out


def run_evaluation(settings: EvalSettings, keys: Keys, attach: Callable[[EvalRun], None],
                   report_path: str | None = None, progress: Progress | None = None
                   ) -> tuple[EvalResult, dict[str, Any]]:
    """Connect, run every episode, release the hardware, and build (and write) the report. Runs as the
    pane's task; ``attach`` hands the connected run to the session for its live snapshot."""
    from backend.policy.report import build_report

    run = prepare(settings, keys)
    try:
        attach(run)
        result = run.run(progress)
    finally:
        run.close()
    if report_path:
        report = write_report(result, settings.out, settings.training, report_path, overwrite=True)
    else:
        report = build_report(settings.out, settings.training)
        report["run"] = result.to_json()
    return result, report
