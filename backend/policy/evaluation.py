"""The evaluation loop: a GR00T policy drives the follower arm, episode after episode.

Every tick (at the training dataset's fps) the loop reads the follower, executes the next row of the
current action chunk (16 rows) through the safety checks, and records the step. **Hiding the round
trip**: the request for the next chunk goes out while the current one still has ``lead`` rows to
run, with the observation of that moment; the reply (40-60 ms from a GPU box) arrives while those
rows are executed, so the arm switches to the next chunk on the tick after the last row without
waiting. ``lead`` is ``ceil(p90 latency * fps) + 2`` rows over the latest chunks (at least 2, at most
15): a slower server gets its request earlier. Chunks are executed whole, as GR00T's
``eval_lerobot.py`` does; the ZeroMQ request is sent and polled without blocking, so the loop never
waits on the network.

An episode ends with a key (``s`` success, ``f`` failure, ``a`` aborted: the stop key, which also
holds the arm and ends the run), at ``episode_seconds`` (labelled ``default_label``), or at a fault:
a chunk the safety refuses (NaN, wrong shape, out of the envelope), a server error, or the watchdog
(no action for ``hold_after_ms`` -> hold, then ``torque_off_after_ms`` -> torque off). A fault holds
the arm, labels the episode ``aborted`` with one clear message and ends the run.
"""

from __future__ import annotations

import math
import queue
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from backend.errors import Cancelled
from backend.policy.client import Pending, PolicyClient, PolicyError
from backend.policy.modality import ActionFault, Modality
from backend.policy.recording import EvalStep
from backend.policy.safety import Safety
from backend.progress import Progress, ensure_progress
from backend.teleop.bus import BusError
from backend.teleop.calibration import DEGREES_NORM_MODES, LEISAAC_NORM_MODES, Normalizer
from backend.teleop.cameras import Frame
from backend.teleop.session import lerobot_range_to_radians
from backend.teleop.steps import EpisodeMeta

KEYS = {"s": "success", "f": "failure", "a": "aborted"}


@dataclass
class EvalConfig:
    episodes: int = 3
    episode_seconds: float = 20.0  # from the first executed action (the first chunk's wait is not counted)
    fps: float = 30.0
    horizon: int = 16
    task: str = ""
    lead: int | None = None  # rows left in the current chunk when the next is requested (None: auto)
    first_chunk_s: float = 15.0  # the first chunk of an episode may take long (model warm-up)
    reset_seconds: float = 0.0  # pause between episodes (the arm holds)
    default_label: str = "failure"  # an episode that reaches episode_seconds
    units: str = "range"  # the policy's LeRobot units: range (-100..100 / 0..100) or degrees


@dataclass
class EpisodeOutcome:
    index: int
    label: str
    reason: str
    steps: int
    duration_s: float
    latencies_ms: list[float] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "label": self.label, "reason": self.reason, "steps": self.steps,
                "duration_s": self.duration_s, "latencies_ms": list(self.latencies_ms)}


@dataclass
class EvalResult:
    episodes: list[EpisodeOutcome] = field(default_factory=list)
    fault: str = ""  # the one clear message of a fault (empty: the run ended normally)
    arm: str = "moving"  # held | torque_off at the end of a fault or a stop
    chunks: list[np.ndarray] = field(default_factory=list)  # every chunk received, in order
    output: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"episodes": [e.to_json() for e in self.episodes], "fault": self.fault, "arm": self.arm,
                "chunks": len(self.chunks), "output": self.output}


@dataclass(frozen=True)
class EvalSnapshot:
    state: str  # waiting | running | holding | torque_off | done
    episode: int
    chunk: int
    step: int
    latency_ms: float
    lead: int
    message: str = ""


def radians_of(calibration: Any, units: str) -> Callable[[np.ndarray], np.ndarray]:
    """LeRobot values in ``units`` -> sim joint radians (LeIsaac's map), through the arm's ticks:
    degrees need the calibration (their zero is the range's middle), range values do not."""
    if units == "range":
        return lerobot_range_to_radians
    source = Normalizer(calibration, DEGREES_NORM_MODES)
    target = Normalizer(calibration, LEISAAC_NORM_MODES)
    return lambda values: lerobot_range_to_radians(target.normalize(source.unnormalize(values)))


class Keys:
    """The operator's keys (any thread): ``s`` success, ``f`` failure, ``a`` abort/stop."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[str] = queue.SimpleQueue()

    def press(self, key: str) -> None:
        self._queue.put(key)

    def poll(self) -> str | None:
        try:
            return self._queue.get_nowait()
        except queue.Empty:
            return None


class ScriptedKeys(Keys):
    """Keys pressed at given ticks of given episodes (tests, demos): {episode: (tick, key)}."""

    def __init__(self, script: Mapping[int, tuple[int, str]]) -> None:
        super().__init__()
        self.script = dict(script)
        self.episode = 0
        self.tick = 0

    def poll(self) -> str | None:
        key = super().poll()
        if key is not None:
            return key
        entry = self.script.get(self.episode)
        return entry[1] if entry is not None and self.tick >= entry[0] else None


class Camera(Protocol):
    name: str

    def latest(self) -> Frame | None: ...


class Arm(Protocol):
    def read_raw(self) -> np.ndarray: ...
    def write_goal(self, values: np.ndarray) -> np.ndarray: ...
    def set_torque(self, enabled: bool) -> None: ...


class _Fault(Exception):
    """Ends the episode as aborted and the run with one message."""


class EvaluationLoop:
    """One evaluation run. ``run()`` blocks (call it on a task or thread); keys and the snapshot are
    safe from any thread."""

    def __init__(self, client: PolicyClient, arm: Any, cameras: Mapping[str, Camera], modality: Modality,
                 safety: Safety, config: EvalConfig, recorder: Any | None = None, keys: Keys | None = None,
                 on_episode: Callable[[EpisodeOutcome], None] | None = None) -> None:
        self.client = client
        self.arm = arm
        self.cameras = dict(cameras)
        self.modality = modality
        self.safety = safety
        self.config = config
        self.recorder = recorder  # a RecorderThread over an EvalRecorder (None: nothing recorded)
        self.keys = keys or Keys()
        self.on_episode = on_episode
        self.to_radians = radians_of(arm.calibration, config.units) if config.units != "range" else \
            lerobot_range_to_radians
        self.result = EvalResult()
        self._latencies: list[float] = []
        self.snapshot = EvalSnapshot("waiting", 0, 0, 0, 0.0, self._lead())
        self._held_goal: np.ndarray | None = None

    # -- public ------------------------------------------------------------------------------------
    def run(self, progress: Progress | None = None) -> EvalResult:
        progress = ensure_progress(progress)
        cfg = self.config
        try:
            for episode in range(cfg.episodes):
                progress.report(episode, cfg.episodes, f"episode {episode + 1} of {cfg.episodes}")
                outcome = self._episode(episode, progress)
                self.result.episodes.append(outcome)
                if self.on_episode is not None:
                    self.on_episode(outcome)
                if self.result.fault or outcome.label == "aborted":
                    break
                if episode + 1 < cfg.episodes:
                    self._hold_for(cfg.reset_seconds, progress)
            progress.report(len(self.result.episodes), cfg.episodes, "done")
        finally:
            # "done" when the arm was never stopped; else it stays "holding" / "torque_off"
            self._publish("done" if self.result.arm == "moving" else self.snapshot.state,
                          message=self.result.fault or None)
        return self.result

    # -- one episode ---------------------------------------------------------------------------------
    def _episode(self, index: int, progress: Progress) -> EpisodeOutcome:
        cfg = self.config
        dt = 1.0 / cfg.fps
        if isinstance(self.keys, ScriptedKeys):
            self.keys.episode, self.keys.tick = index, 0
        state, raw = self._read()
        self._held_goal = state
        self._publish("waiting", index, -1, 0, 0.0, message="")
        pending: Pending | None = self.client.submit(self._observation(state))
        current: np.ndarray | None = None
        ready: np.ndarray | None = None
        row = tick = steps = 0
        chunk_no = -1
        latency_ms = 0.0
        latencies: list[float] = []
        t0 = t_first = time.perf_counter()
        first_deadline = t0 + cfg.first_chunk_s
        recording = False
        label, reason = cfg.default_label, "time limit"
        next_tick = t0
        try:
            while True:
                now = time.perf_counter()
                if isinstance(self.keys, ScriptedKeys):
                    self.keys.tick = tick
                key = self.keys.poll()
                if key in ("s", "f") and not steps:
                    self._publish("waiting", message="success and failure count once the policy has acted")
                elif key in KEYS:
                    label = KEYS[key]
                    reason = "stopped by the operator" if label == "aborted" else "operator"
                    break
                if steps and now - t_first >= cfg.episode_seconds:  # the policy's time, not the warm-up
                    break
                if pending is not None and pending.done():
                    answered, pending = pending, None  # consumed, even when its chunk is refused
                    latency_ms = 1000.0 * (answered.received_at - answered.sent_at)
                    latencies.append(latency_ms)
                    ready = self._receive(answered, latency_ms)
                if (current is None or row >= len(current)) and ready is not None:
                    current, ready, row = ready, None, 0
                    chunk_no = len(self.result.chunks) - 1
                    if not recording:
                        recording = self._begin_recording(index)
                state, raw = self._read()
                if current is not None and row < len(current):
                    action = current[row]
                    goal = self.safety.limit(action, self._held_goal)
                    goal_raw = self.arm.write_goal(goal)
                    self._held_goal = goal
                    self.safety.fed(now)
                    if not steps:
                        t_first = now
                    self._record(now - t_first, action, state, raw, goal_raw, chunk_no, row, latency_ms)
                    row += 1
                    steps += 1
                    self._publish("running", index, chunk_no, steps, latency_ms, "" if steps == 1 else None)
                elif current is None and now > first_deadline:
                    raise _Fault(f"no first action chunk within {cfg.first_chunk_s:g} s")
                elif current is not None:
                    self._watchdog(now)
                if pending is None and ready is None and current is not None and len(current) - row <= self._lead():
                    pending = self.client.submit(self._observation(state))
                tick += 1
                next_tick += dt
                pause = next_tick - time.perf_counter()
                if pause > 0:
                    if pending is not None and pending.wait(pause):  # the reply's arrival time, to the ms
                        pause = next_tick - time.perf_counter()
                    if pause > 0:
                        time.sleep(pause)
                else:
                    next_tick = time.perf_counter()
                progress.report(index, cfg.episodes, f"episode {index + 1}: {steps} steps")
        except _Fault as fault:
            label, reason = "aborted", str(fault)
            self.result.fault = str(fault)
            self._hold(str(fault))
        except (PolicyError, ActionFault) as error:
            message = getattr(error, "message", str(error))
            label, reason = "aborted", message
            self.result.fault = message
            self._hold(message)
        except BusError as error:
            label, reason = "aborted", error.message
            self.result.fault = error.message
        except Cancelled:
            self._hold("stopped")
            self._end_recording(recording, "aborted", "cancelled")
            raise
        if label == "aborted" and not self.result.fault:
            self._hold(reason)
        if pending is not None:
            self._drain(pending)
        self._end_recording(recording, label, reason)
        duration = steps / cfg.fps
        return EpisodeOutcome(index, label, reason, steps, duration, latencies)

    def _receive(self, pending: Pending, latency_ms: float) -> np.ndarray:
        reply = pending.result()
        chunk = self.modality.action_chunk(reply, self.config.horizon)
        self.result.chunks.append(np.asarray(chunk, dtype=np.float32))
        self._latencies.append(latency_ms)
        return self.safety.check_chunk(chunk)

    def _drain(self, pending: Pending) -> None:
        """Collect an unused reply so the REQ socket stays in step (and the chunk is counted)."""
        recent = self._latencies[-8:] or [0.0]
        wait_s = (self.safety.config.hold_after_ms + 2.0 * max(recent)) / 1000.0
        deadline = time.perf_counter() + wait_s
        while time.perf_counter() < deadline:
            if pending.done():
                try:
                    reply = pending.result()
                    self.result.chunks.append(
                        np.asarray(self.modality.action_chunk(reply, self.config.horizon), dtype=np.float32))
                except (PolicyError, ActionFault):
                    pass
                return
            time.sleep(0.002)

    def _watchdog(self, now: float) -> None:
        state = self.safety.watchdog(now)
        if state == "ok":
            return
        idle = self.safety.idle_ms(now)
        message = (f"no action from the policy server at {self.client.address} for {idle:.0f} ms: "
                   "arm held")
        self._hold(message)
        # keep holding until the server answers late (ignored) or the torque-off deadline passes
        torque_at = self.safety.torque_off_at()
        while time.perf_counter() < torque_at:
            time.sleep(0.01)
        self.arm.set_torque(False)
        self.result.arm = "torque_off"
        raise _Fault(message + f", torque off after {self.safety.config.torque_off_after_ms:.0f} ms")

    # -- arm -----------------------------------------------------------------------------------------
    def _read(self) -> tuple[np.ndarray, np.ndarray]:
        raw = self.arm.read_raw()
        return self.arm.normalizer.normalize(raw), raw

    def _hold(self, message: str) -> None:
        """Goal = present position: the arm stops where it is."""
        try:
            state, _ = self._read()
            self.arm.write_goal(state)
            self._held_goal = state
            if self.result.arm != "torque_off":
                self.result.arm = "held"
        except BusError:
            pass
        self._publish("holding" if self.result.arm == "held" else "torque_off", message=message)

    def _hold_for(self, seconds: float, progress: Progress) -> None:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            progress.report(len(self.result.episodes), self.config.episodes, "reset")
            time.sleep(min(0.05, max(0.0, deadline - time.perf_counter())))

    def _observation(self, state: np.ndarray) -> dict[str, Any]:
        images = {}
        for camera in set(self.modality.video.values()):
            frame = self.cameras[camera].latest() if camera in self.cameras else None
            images[camera] = frame.image if frame is not None else np.zeros((480, 640, 3), np.uint8)
        return self.modality.observation(images, state, self.config.task)

    def _lead(self) -> int:
        if self.config.lead is not None:
            return int(self.config.lead)
        recent = self._latencies[-8:]
        p90 = float(np.percentile(recent, 90)) / 1000.0 if recent else 0.06
        return int(min(self.config.horizon - 1, max(2, math.ceil(p90 * self.config.fps) + 2)))

    # -- recording -----------------------------------------------------------------------------------
    def _begin_recording(self, index: int) -> bool:
        if self.recorder is None:
            return False
        cameras = {}
        for name, camera in self.cameras.items():
            frame = camera.latest()
            if frame is not None:
                cameras[name] = frame.image.shape[:2]
        self.recorder.begin(EpisodeMeta(index, self.config.task, self.config.fps, time.time(), index,
                                        cameras, True, self.config.units))
        self._cameras_recorded = list(cameras)
        return True

    def _record(self, t: float, action: np.ndarray, state: np.ndarray, raw: np.ndarray, goal_raw: np.ndarray,
                chunk: int, row: int, latency_ms: float) -> None:
        if self.recorder is None:
            return
        frames = {name: self.cameras[name].latest() for name in getattr(self, "_cameras_recorded", [])}
        self.recorder.step(EvalStep(
            t, self.to_radians(action), self.to_radians(state), np.asarray(action),
            np.asarray(state), np.asarray(raw), np.asarray(raw), True, frames,
            np.asarray(goal_raw), chunk, row, latency_ms,
        ))

    def _end_recording(self, recording: bool, label: str, reason: str) -> None:
        if recording and self.recorder is not None:
            text = label if reason in ("operator", "") else f"{label}: {reason}"
            self.recorder.end(label == "success", text)

    def _publish(self, state: str, episode: int | None = None, chunk: int | None = None, step: int | None = None,
                 latency_ms: float | None = None, message: str | None = None) -> None:
        """A new snapshot; ``None`` keeps the old value (``message=""`` clears it)."""
        old = self.snapshot
        self.snapshot = EvalSnapshot(
            state, old.episode if episode is None else episode, old.chunk if chunk is None else chunk,
            old.step if step is None else step, old.latency_ms if latency_ms is None else latency_ms,
            self._lead(), old.message if message is None else message,
        )
