"""The teleoperation and recording session: a control loop at a fixed rate in its own thread.

Each tick: read the leader (SYNC_READ Present_Position), map it to LeRobot units and to sim joint
radians (LeIsaac's linear map, ``backend.units``), drive the follower if there is one (SYNC_WRITE
Goal_Position) and read its state, take the latest frame of every camera with its capture time,
and, while an episode is recorded, hand one ``Step`` to the writer thread. The loop publishes an
immutable ``SessionSnapshot`` and ring buffers for plots; the GUI and the CLI poll them.

Controls (any thread): ``begin_episode()`` (B), ``end_episode(True)`` (N), ``end_episode(False)``
(R), ``rerecord()`` (drop the running episode and start it again), ``stop()``. Commands take effect
at the next tick.

Failures: a missed leader read holds the previous value (``leader_ok`` False in the step); after
``max_missed`` consecutive misses, or at once on a vanished port, the arm counts as disconnected:
the running episode ends as a failure with the reason (``on_disconnect="keep"``) or is dropped
(``"drop"``), a banner says so, and the loop retries the port every second.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from backend.teleop.arm import SO101Arm
from backend.teleop.bus import BusDisconnectedError, BusError
from backend.teleop.calibration import DEGREES_NORM_MODES, Normalizer
from backend.teleop.cameras import Camera, CameraStats, Frame
from backend.teleop.recorder import Recorder, RecorderThread
from backend.teleop.recorder_process import RecorderProcess, RecorderSpec
from backend.teleop.steps import EpisodeMeta, EpisodeResult, Step
from backend.units import JointSpace, Unit

_RANGE_TO_RAD = JointSpace.so101(Unit.LEROBOT_RANGE)


def lerobot_range_to_radians(values: np.ndarray) -> np.ndarray:
    """LeIsaac's leader -> sim map: LeRobot -100..100 / 0..100 -> USD degrees -> radians."""
    return _RANGE_TO_RAD.convert(values, Unit.RADIANS)


@dataclass
class SessionConfig:
    rate_hz: float = 60.0
    task: str = ""
    episode_seconds: float | None = None  # end each episode as a success after this long
    reset_seconds: float = 0.0  # pause between episodes in auto mode
    auto_start: bool = False  # start episodes without a key (headless)
    episodes: int | None = None  # stop after this many kept episodes
    on_disconnect: str = "keep"  # keep the episode as a failure, or "drop" it
    follow: bool = True  # drive the follower from the leader
    lerobot_units: str = "range"  # LeRobot output units: range (-100..100) or degrees
    max_missed: int = 15  # consecutive failed reads before an arm counts as disconnected
    history_seconds: float = 10.0
    reconnect_s: float = 1.0
    seed: int | None = None
    realtime: bool = True  # ask for SCHED_FIFO for the loop thread (needs CAP_SYS_NICE or an rtprio limit)
    switch_interval_s: float | None = 0.001  # GIL hand-over interval while the session runs (None: leave it)


@dataclass(frozen=True)
class ArmStatus:
    connected: bool
    error: str = ""
    missed_reads: int = 0
    retries: int = 0
    timeouts: int = 0
    checksum_errors: int = 0
    reconnects: int = 0


@dataclass(frozen=True)
class CameraLoopStats:
    stats: CameraStats
    duplicates: int  # ticks that saw the same frame as the tick before
    missed: int  # camera frames no tick saw (gaps in seq)
    age_ms: float  # age of the latest frame at the last tick


@dataclass(frozen=True)
class SessionSnapshot:
    state: str  # starting | idle | recording | resetting | stopped | finished
    tick: int
    time: float  # monotonic time of the tick
    episode_index: int  # the episode being recorded, or the next one
    episode_elapsed: float
    episode_steps: int
    episodes_kept: int
    successes: int
    failures: int
    dropped: int
    task: str
    rate_hz: float
    loop_hz: float
    period_p50_ms: float
    period_p99_ms: float
    jitter_p99_ms: float
    overruns: int
    leader_latency_ms: float
    leader: ArmStatus
    follower: ArmStatus | None
    action_lerobot: np.ndarray
    action_rad: np.ndarray
    state_lerobot: np.ndarray
    state_rad: np.ndarray
    cameras: dict[str, CameraLoopStats] = field(default_factory=dict)
    frames: dict[str, Frame | None] = field(default_factory=dict)
    recorder_lag_steps: int = 0
    disk_bytes_per_s: float = 0.0
    bytes_written: int = 0
    recorder_error: str = ""
    banners: tuple[str, ...] = ()
    last_result: EpisodeResult | None = None
    output: str = ""


class _ArmLink:
    """Connection bookkeeping of one arm inside the loop."""

    def __init__(self, arm: SO101Arm, max_missed: int) -> None:
        self.arm = arm
        self.connected = arm.bus.is_open
        self.error = ""
        self.missed = 0
        self.missed_total = 0
        self.reconnects = 0
        self.max_missed = max_missed
        self.next_retry = 0.0

    def status(self) -> ArmStatus:
        s = self.arm.bus.stats
        return ArmStatus(
            self.connected,
            self.error,
            self.missed_total,
            s.retries,
            s.timeouts,
            s.checksum_errors,
            self.reconnects,
        )


class TeleopSession:
    def __init__(
        self,
        leader: SO101Arm,
        follower: SO101Arm | None = None,
        cameras: dict[str, Camera] | None = None,
        recorder: Recorder | RecorderSpec | None = None,
        config: SessionConfig | None = None,
    ) -> None:
        self.config = config or SessionConfig()
        self.leader = _ArmLink(leader, self.config.max_missed)
        self.follower = _ArmLink(follower, self.config.max_missed) if follower is not None else None
        self.cameras = dict(cameras or {})
        if isinstance(recorder, RecorderSpec):
            self.recorder: RecorderThread | RecorderProcess | None = RecorderProcess(
                recorder, on_result=self._on_result
            )
        elif recorder is not None:
            self.recorder = RecorderThread(recorder, on_result=self._on_result)
        else:
            self.recorder = None
        degrees = self.config.lerobot_units == "degrees"
        self._degrees = Normalizer(leader.calibration, DEGREES_NORM_MODES) if degrees else None
        self._follower_degrees = (
            Normalizer(follower.calibration, DEGREES_NORM_MODES) if degrees and follower is not None else None
        )
        self._commands: queue.SimpleQueue = queue.SimpleQueue()
        self._stop = threading.Event()
        self.finished = threading.Event()
        self._thread: threading.Thread | None = None
        self._state = "starting"
        self._seed = self.config.seed if self.config.seed is not None else int(time.time())
        self._existing = 0  # episodes already in the output (resumed recordings)
        self._episode_index = 0
        self._episode_start = 0.0
        self._episode_steps = 0
        self._kept = self._successes = self._failures = self._dropped = 0
        self._reset_until = 0.0
        self._banners: dict[str, str] = {}
        self._last_result: EpisodeResult | None = None
        self._results_lock = threading.Lock()
        # timing
        self.periods: list[float] = []  # every tick period (s), for benchmarks
        self.read_latencies: list[float] = []  # every leader read (s)
        self._recent_periods: deque[float] = deque(maxlen=int(self.config.rate_hz * 5))
        self._recent_latency: deque[float] = deque(maxlen=int(self.config.rate_hz * 2))
        self._overruns = 0
        self._tick = 0
        self._stats_cache = (0.0, 0.0, 0.0, 0.0, 0.0)
        self._stats_time = -1.0
        # last values
        zeros = np.zeros(6)
        self._action_lerobot = self._action_rad = self._action_range = zeros
        self._state_lerobot = self._state_rad = zeros
        self._leader_raw = np.zeros(6, dtype=np.int64)
        self._follower_raw: np.ndarray | None = None
        self._have_leader = False
        self._leader_ok = False
        # camera consumer side
        self._last_seq: dict[str, int] = {}
        self._dup: dict[str, int] = dict.fromkeys(self.cameras, 0)
        self._gap: dict[str, int] = dict.fromkeys(self.cameras, 0)
        self._age: dict[str, float] = dict.fromkeys(self.cameras, 0.0)
        self.episode_dup: dict[str, int] = dict.fromkeys(self.cameras, 0)
        self.episode_gap: dict[str, int] = dict.fromkeys(self.cameras, 0)
        # plot history
        n = max(2, int(self.config.history_seconds * self.config.rate_hz))
        self._hist_t = np.full(n, np.nan)
        self._hist_leader = np.full((n, 6), np.nan)
        self._hist_follower = np.full((n, 6), np.nan)
        self._hist_leader_rad = np.full((n, 6), np.nan)
        self._hist_follower_rad = np.full((n, 6), np.nan)
        self._hist_i = 0
        self._hist_lock = threading.Lock()
        self._snapshot: SessionSnapshot | None = None
        self._old_switch: float | None = None
        self.priority = ""

    # -- life cycle -------------------------------------------------------------------------------
    def start(self) -> TeleopSession:
        for link in (self.leader, self.follower):
            if link is None:
                continue
            if not link.arm.bus.is_open:
                try:
                    link.arm.connect()
                    link.connected = True
                except BusError as error:
                    link.connected, link.error = False, error.message
                    link.next_retry = time.perf_counter() + self.config.reconnect_s
            else:
                link.connected = True
        if self.follower is not None and self.follower.connected and self.config.follow:
            self._engage_follower()
        for camera in self.cameras.values():
            if camera._thread is None:
                camera.start()
        if self.config.switch_interval_s:
            self._old_switch = sys.getswitchinterval()
            sys.setswitchinterval(self.config.switch_interval_s)  # the loop waits less for the GIL
        if self.recorder is not None:
            try:
                self.recorder.start()
            except BaseException:
                self._stop.set()
                for camera in self.cameras.values():
                    camera.stop()
                for link in (self.leader, self.follower):
                    if link is not None:
                        link.arm.disconnect(disable_torque=link is self.follower)
                raise
            self._existing = self.recorder.existing_episodes
        self._episode_index = self._existing
        self._state = "idle"
        self._thread = threading.Thread(target=self._run, name="teleop-loop", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """End a running episode as interrupted (no success), stop the loop, close the output."""
        if self._thread is not None:
            self._commands.put(("stop",))
            self._thread.join(timeout=5.0)
            self._thread = None
        self._stop.set()
        if self.recorder is not None:
            self.recorder.stop()
        if self._old_switch is not None:
            sys.setswitchinterval(self._old_switch)
            self._old_switch = None
        for camera in self.cameras.values():
            camera.stop()
        for link in (self.leader, self.follower):
            if link is not None:
                link.arm.disconnect(disable_torque=link is self.follower)
        if self._state not in ("finished",):
            self._state = "stopped"
        self._publish(time.perf_counter())

    def wait(self, timeout: float | None = None) -> bool:
        return self.finished.wait(timeout)

    # -- controls ---------------------------------------------------------------------------------
    def begin_episode(self, task: str | None = None) -> None:
        self._commands.put(("begin", task, time.perf_counter()))

    def end_episode(self, success: bool = True) -> None:
        self._commands.put(("end", success, time.perf_counter()))

    def rerecord(self) -> None:
        self._commands.put(("rerecord", time.perf_counter()))

    def set_task(self, task: str) -> None:
        self._commands.put(("task", task))

    @property
    def state(self) -> str:
        return self._state

    def snapshot(self) -> SessionSnapshot | None:
        return self._snapshot

    def history(self) -> dict[str, np.ndarray]:
        """Last ``history_seconds`` in time order: t (s, monotonic), leader/follower in LeRobot
        units and radians (NaN where there is no value)."""
        with self._hist_lock:
            i = self._hist_i
            order = np.r_[i : len(self._hist_t), 0:i]
            return {
                "t": self._hist_t[order],
                "leader": self._hist_leader[order],
                "follower": self._hist_follower[order],
                "leader_rad": self._hist_leader_rad[order],
                "follower_rad": self._hist_follower_rad[order],
            }

    def results(self) -> list[EpisodeResult]:
        return list(self.recorder.results) if self.recorder is not None else []

    # -- the loop ---------------------------------------------------------------------------------
    def _claim_realtime(self) -> str:
        """Best effort: real-time scheduling for this (the loop) thread; says what it got."""
        if not self.config.realtime or not hasattr(os, "sched_setscheduler"):
            return "normal priority"
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))  # Linux: the calling thread
            return "real-time priority (SCHED_FIFO 10)"
        except (OSError, AttributeError):
            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), -5)
                return "raised priority (nice -5)"
            except (OSError, AttributeError):
                return "normal priority (no permission for real-time scheduling)"

    def _run(self) -> None:
        self.priority = self._claim_realtime()
        period = 1.0 / self.config.rate_hz
        next_tick = time.perf_counter()
        last_start: float | None = None
        try:
            while not self._stop.is_set():
                start = time.perf_counter()
                if last_start is not None:
                    p = start - last_start
                    self.periods.append(p)
                    self._recent_periods.append(p)
                last_start = start
                if self._tick_once(start):
                    break
                next_tick += period
                delay = next_tick - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                elif delay < -period:  # a whole period late: count it, keep the phase from now
                    self._overruns += 1
                    next_tick = time.perf_counter()
        finally:
            self._stop.set()
            self.finished.set()

    def _tick_once(self, now: float) -> bool:
        self._tick += 1
        if self._process_commands(now):
            return True
        self._read_arms(now)
        frames = self._take_frames()
        if self.recorder is not None and self.recorder.error and self._state == "recording":
            self._state = "idle"
            self._banners["recorder"] = f"Recording failed: {self.recorder.error}"
        if self._state == "recording":
            self._record_step(now, frames)
            limit = self.config.episode_seconds
            if limit is not None and now - self._episode_start >= limit - 1e-9:
                self._end(True, "episode timer", now)
        elif self._state == "resetting" and now >= self._reset_until:
            self._state = "idle"
        done = self.config.episodes is not None and self._kept >= self.config.episodes
        if self._state == "idle" and self.config.auto_start and self._can_record() and not done:
            self._begin(None, now)
        if done and self._state != "recording":
            self._state = "finished"
            self._publish(now, frames)
            return True
        self._publish(now, frames)
        return False

    def _process_commands(self, now: float) -> bool:
        while True:
            try:
                cmd = self._commands.get_nowait()
            except queue.Empty:
                return False
            kind = cmd[0]
            if kind == "stop":
                if self._state == "recording":
                    self._end(None, "recording stopped", now)
                return True
            if kind == "task":
                self.config.task = cmd[1]
            elif kind == "begin":
                if self._state in ("idle", "resetting") and self._can_record():
                    self._begin(cmd[1], now)
            elif kind == "end":
                if self._state == "recording":
                    self._end(bool(cmd[1]), "success key" if cmd[1] else "failure key", cmd[2])
            elif kind == "rerecord":
                if self._state == "recording":
                    self._drop(cmd[1])
                    self._begin(None, now)

    def _can_record(self) -> bool:
        return (
            self.recorder is not None and self.leader.connected and self._have_leader and not self.recorder.error
        )

    def _begin(self, task: str | None, now: float) -> None:
        if task is not None:
            self.config.task = task
        cams = {}
        for name, camera in self.cameras.items():
            w, h = camera.size
            frame = camera.latest()
            if frame is not None:
                h, w = frame.image.shape[:2]
            cams[name] = (h, w)
        self._episode_index = self._existing + self._kept
        meta = EpisodeMeta(
            index=self._episode_index,
            task=self.config.task,
            rate_hz=self.config.rate_hz,
            started_wall=time.time(),
            seed=self._seed,
            cameras=cams,
            has_follower=self.follower is not None,
            lerobot_units=self.config.lerobot_units,
        )
        self.recorder.begin(meta)
        self._state = "recording"
        self._episode_start = now
        self._episode_steps = 0
        self.episode_dup = dict.fromkeys(self.cameras, 0)
        self.episode_gap = dict.fromkeys(self.cameras, 0)
        self._banners.pop("episode", None)

    def _end(self, success: bool | None, reason: str, requested: float) -> None:
        if self._episode_steps == 0:
            self._drop(requested)
            return
        self.recorder.end(success, reason, requested)
        self._state = "resetting" if self.config.reset_seconds > 0 else "idle"
        self._reset_until = time.perf_counter() + self.config.reset_seconds
        if success is not None:
            self._kept += 1
            if success:
                self._successes += 1
            else:
                self._failures += 1

    def _drop(self, requested: float) -> None:
        self.recorder.drop(requested)
        self._dropped += 1
        self._state = "idle"

    def _on_result(self, result: EpisodeResult) -> None:
        with self._results_lock:
            self._last_result = result

    # -- arms -------------------------------------------------------------------------------------
    def _engage_follower(self) -> None:
        """Hold the follower where it is, then enable torque (it then follows the leader)."""
        arm = self.follower.arm
        try:
            arm.write_goal_raw(arm.read_raw())
            arm.set_torque(True)
        except BusError as error:
            self._link_failed(self.follower, error, "follower")

    def _read_arms(self, now: float) -> None:
        leader = self.leader
        if not leader.connected:
            self._try_reconnect(leader, "leader", now)
        ok = False
        if leader.connected:
            t0 = time.perf_counter()
            try:
                raw = leader.arm.read_raw()
                latency = time.perf_counter() - t0
                self.read_latencies.append(latency)
                self._recent_latency.append(latency)
                self._leader_raw = raw
                leader.missed = 0
                ok = True
                self._have_leader = True
                if self._banners.get("leader", "").endswith("Reconnecting..."):
                    self._banners.pop("leader", None)
            except BusDisconnectedError as error:
                self._link_failed(leader, error, "leader")
            except BusError as error:
                leader.missed += 1
                leader.missed_total += 1
                leader.error = error.message
                if leader.missed >= leader.max_missed:
                    self._link_failed(leader, error, "leader")
        self._leader_ok = ok
        if self._have_leader:
            norm = leader.arm.normalizer.normalize(self._leader_raw)
            self._action_range = norm
            self._action_rad = lerobot_range_to_radians(norm)
            self._action_lerobot = self._degrees.normalize(self._leader_raw) if self._degrees else norm
        follower = self.follower
        if follower is None:
            self._state_lerobot, self._state_rad = self._action_lerobot, self._action_rad
            return
        if not follower.connected:
            self._try_reconnect(follower, "follower", now)
            if follower.connected and self.config.follow:
                self._engage_follower()
        if not follower.connected:
            return
        try:
            if self.config.follow and ok:
                follower.arm.write_goal(self._action_range)
            raw = follower.arm.read_raw()
            follower.missed = 0
            self._follower_raw = raw
            norm = follower.arm.normalizer.normalize(raw)
            self._state_rad = lerobot_range_to_radians(norm)
            self._state_lerobot = self._follower_degrees.normalize(raw) if self._follower_degrees else norm
        except BusDisconnectedError as error:
            self._link_failed(follower, error, "follower")
        except BusError as error:
            follower.missed += 1
            follower.missed_total += 1
            follower.error = error.message
            if follower.missed >= follower.max_missed:
                self._link_failed(follower, error, "follower")

    def _link_failed(self, link: _ArmLink, error: BusError, role: str) -> None:
        link.connected = False
        link.error = error.message
        link.next_retry = time.perf_counter() + self.config.reconnect_s
        link.arm.bus.close()
        self._banners[role] = f"{role.capitalize()} arm disconnected: {error.message}. Reconnecting..."
        if self._state == "recording":
            if self.config.on_disconnect == "drop":
                self._drop(time.perf_counter())
                self._banners["episode"] = (
                    f"Episode {self._episode_index} dropped: the {role} arm disconnected"
                )
            else:
                self._end(False, f"{role} disconnected", time.perf_counter())
                self._banners["episode"] = (
                    f"Episode {self._episode_index} kept as a failure: the {role} arm disconnected"
                )

    def _try_reconnect(self, link: _ArmLink, role: str, now: float) -> None:
        if now < link.next_retry:
            return
        link.next_retry = now + self.config.reconnect_s
        try:
            link.arm.bus.open()
            link.arm.check_motors()
        except BusError as error:
            link.arm.bus.close()
            link.error = error.message
            return
        link.connected = True
        link.missed = 0
        link.reconnects += 1
        link.error = ""
        self._banners[role] = f"{role.capitalize()} arm reconnected"

    # -- cameras and recording --------------------------------------------------------------------
    def _take_frames(self) -> dict[str, Frame | None]:
        frames: dict[str, Frame | None] = {}
        now = time.monotonic()
        recording = self._state == "recording"
        for name, camera in self.cameras.items():
            frame = camera.latest()
            frames[name] = frame
            stats_state = camera._state
            if stats_state != "streaming":
                self._banners[f"camera:{name}"] = f"Camera {name} {stats_state}: {camera._error}"
            else:
                self._banners.pop(f"camera:{name}", None)
            if frame is None:
                continue
            last = self._last_seq.get(name)
            if last is not None:
                if frame.seq == last:
                    self._dup[name] += 1
                    if recording:
                        self.episode_dup[name] += 1
                elif frame.seq > last + 1:
                    self._gap[name] += frame.seq - last - 1
                    if recording:
                        self.episode_gap[name] += frame.seq - last - 1
            self._last_seq[name] = frame.seq
            self._age[name] = (now - frame.capture_time) * 1000.0
        return frames

    def _record_step(self, now: float, frames: dict[str, Frame | None]) -> None:
        step = Step(
            t=now - self._episode_start,
            action_rad=self._action_rad,
            state_rad=self._state_rad,
            action_lerobot=self._action_lerobot,
            state_lerobot=self._state_lerobot,
            leader_raw=self._leader_raw,
            follower_raw=self._follower_raw,
            leader_ok=self._leader_ok,
            frames=frames,
        )
        self.recorder.step(step)
        self._episode_steps += 1

    # -- publishing -------------------------------------------------------------------------------
    def _publish(self, now: float, frames: dict[str, Frame | None] | None = None) -> None:
        with self._hist_lock:
            i = self._hist_i
            self._hist_t[i] = time.monotonic()
            self._hist_leader[i] = self._action_lerobot
            self._hist_leader_rad[i] = self._action_rad
            if self.follower is not None and self._follower_raw is not None:
                self._hist_follower[i] = self._state_lerobot
                self._hist_follower_rad[i] = self._state_rad
            self._hist_i = (i + 1) % len(self._hist_t)
        if now - self._stats_time >= 0.1:  # percentiles at 10 Hz, not every tick
            self._stats_time = now
            periods = np.array(self._recent_periods) if self._recent_periods else np.zeros(1)
            latency = np.array(self._recent_latency) if self._recent_latency else np.zeros(1)
            nominal = 1.0 / self.config.rate_hz
            p50, p99 = np.percentile(periods, [50, 99]) * 1000.0
            mean = float(periods.mean())
            self._stats_cache = (
                1.0 / mean if mean > 0 else 0.0,
                float(p50),
                float(p99),
                float(np.percentile(np.abs(periods - nominal), 99) * 1000.0),
                float(np.percentile(latency, 50) * 1000.0),
            )
        loop_hz, p50, p99, jitter99, latency50 = self._stats_cache
        cams = {
            name: CameraLoopStats(camera.stats(), self._dup[name], self._gap[name], self._age[name])
            for name, camera in self.cameras.items()
        }
        recorder = self.recorder
        with self._results_lock:
            last_result = self._last_result
        recording = self._state == "recording"
        self._snapshot = SessionSnapshot(
            state=self._state,
            tick=self._tick,
            time=time.monotonic(),
            episode_index=self._episode_index if recording else self._existing + self._kept,
            episode_elapsed=(now - self._episode_start) if recording else 0.0,
            episode_steps=self._episode_steps if recording else 0,
            episodes_kept=self._kept,
            successes=self._successes,
            failures=self._failures,
            dropped=self._dropped,
            task=self.config.task,
            rate_hz=self.config.rate_hz,
            loop_hz=loop_hz,
            period_p50_ms=p50,
            period_p99_ms=p99,
            jitter_p99_ms=jitter99,
            overruns=self._overruns,
            leader_latency_ms=latency50,
            leader=self.leader.status(),
            follower=self.follower.status() if self.follower is not None else None,
            action_lerobot=self._action_lerobot,
            action_rad=self._action_rad,
            state_lerobot=self._state_lerobot,
            state_rad=self._state_rad,
            cameras=cams,
            frames=dict(frames or {}),
            recorder_lag_steps=recorder.lag_steps if recorder else 0,
            disk_bytes_per_s=recorder.disk_rate() if recorder else 0.0,
            bytes_written=recorder.bytes_written if recorder else 0,
            recorder_error=recorder.error if recorder else "",
            banners=tuple(self._banners.values()),
            last_result=last_result,
            output=recorder.output_path if recorder else "",
        )
