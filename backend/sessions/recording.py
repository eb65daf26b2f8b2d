"""What the Teleop pane knows, without Qt: the connection form, the connection state, the live loop,
the episode counters, the last recording, the unfinished recordings found and the demo arms.

    rs = RecordingSession(workspace, mode="thread")
    rs.form.leader = "/dev/ttyACM0"
    rs.connect_now()                    # the pane runs open_live() in a task instead
    rs.start_episode("Pick the orange") # None, or the sentence why not
    rs.success()
    snap = rs.poll()                    # the loop's latest SessionSnapshot
    rs.disconnect_now()

The real-time loop is ``backend.teleop.session.TeleopSession`` (in this process, ``mode="thread"``)
or its proxy ``backend.teleop.session_process.SessionProcess`` (its own process, ``mode="process"``,
the default). Slow work (connecting, stopping, scanning, recovering, starting the demo arms) is in
plain functions below that the pane runs as tasks; their results come back through ``connected``,
``disconnected``, ``set_unfinished`` and ``demo_ready``. Listeners hear ``"connection"``, ``"form"``,
``"unfinished"``, ``"state"`` (the loop's state changed: idle, recording, ...) and ``"kept"`` (an
episode was kept: ``kept_output`` can be opened in Browse).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from backend.errors import StudioError
from backend.numbers import fixed
from backend.progress import Progress, ensure_progress
from backend.task_text import HINT as TASK_HINT
from backend.task_text import task_text_problem
from backend.teleop.demo_rig import DEMO_VIDEO_SIZE, DemoRig

RATES_HZ = (60.0, 30.0)  # the form's rate choice, by index
FORMATS = ("hdf5", "lerobot")
DEMO_TASK = "Pick up the orange and place it on the plate."
START_VIRTUAL = "Start virtual arms"  # the Connection box's button that starts the demo rig
NOT_CONNECTED = f"Not connected. Choose the leader arm's port, or press {START_VIRTUAL} to try without an arm."


def number(value: float, spec: str) -> str:
    """``format(value, spec)`` without a "-0.0": a value that rounds to zero has no sign."""
    return fixed(value, spec)


@dataclass
class RecordingForm:
    """The connection form as the user filled it (saved in the settings, except the output)."""

    leader: str = ""
    leader_cal: str = ""
    follower: str = ""
    follower_cal: str = ""
    cameras: str = ""  # one NAME=SOURCE a line
    rate: int = 0  # index into RATES_HZ
    format: str = "hdf5"
    task: str = ""
    out: str = ""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["out"]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> RecordingForm:
        data = data or {}
        known = {f.name for f in fields(cls)} - {"out"}
        form = cls(**{k: v for k, v in data.items() if k in known})
        form.rate = int(form.rate) if str(form.rate).isdigit() and int(form.rate) < len(RATES_HZ) else 0
        form.format = form.format if form.format in FORMATS else "hdf5"
        return form


# -- slow work: the pane runs these as tasks ------------------------------------------------------
def open_live(settings: Any, recover_mode: str | None, mode: str = "process",
              progress: Progress | None = None) -> tuple[Any, dict[str, Any]]:
    """Connect the arms and cameras and start the loop: (live session, notes)."""
    progress = ensure_progress(progress)
    if mode == "process":
        from backend.teleop.session_process import SessionProcess

        progress.report(0, 1, "starting the session process: connecting the arms and cameras")
        live = SessionProcess(settings, recover_mode)
        notes = live.start()
    else:
        from backend.teleop.factory import build_session

        progress.report(0, 2, "connecting the arms and cameras")
        live, notes = build_session(settings, recover_mode)
        progress.report(1, 2, "starting the control loop")
        live.start()
    if progress.cancelled:  # nobody takes it any more: stop what was started
        live.stop()
        progress.check_cancelled()
    return live, notes


def stop_live(live: Any, progress: Progress | None = None) -> None:
    """Stop the loop; an episode being recorded is closed as interrupted."""
    live.stop()


def scan_unfinished(folder: str | Path, progress: Progress | None = None) -> list[str]:
    """Recordings in ``folder`` that a crash left with an unfinished episode."""
    from backend.teleop.hdf5_recorder import find_unfinished
    from backend.teleop.lerobot_recorder import find_unfinished_lerobot

    root = Path(folder)
    if not root.is_dir():
        return []
    found = []
    for path in sorted(root.iterdir()):
        if path.suffix.lower() in (".hdf5", ".h5") and find_unfinished(path):
            found.append(str(path))
        elif path.is_dir() and (path / "meta").exists() and find_unfinished_lerobot(path):
            found.append(str(path))
    return found


def recover_recordings(paths: list[str], mode: str, progress: Progress | None = None) -> list[str]:
    """Close (``mode="keep"``) or drop the unfinished episode of each recording; one line each."""
    from backend.teleop.hdf5_recorder import recover
    from backend.teleop.lerobot_recorder import recover_lerobot

    lines = []
    for path in paths:
        if Path(path).is_dir():
            lines += [f"{Path(path).name}: {x}" for x in recover_lerobot(path)]
        else:
            lines += [f"{Path(path).name}: {r.name} {r.action} ({r.length} steps)" for r in recover(path, mode)]
    return lines


# -- the session ----------------------------------------------------------------------------------
class RecordingSession:
    """The Teleop pane's state. Not thread-safe: call it from one thread (the GUI's)."""

    def __init__(self, workspace: str | Path, mode: str = "process",
                 demo_video_size: tuple[int, int] = DEMO_VIDEO_SIZE) -> None:
        self.workspace = Path(workspace)
        self.mode = mode  # "process": the loop in its own process; "thread": in this one
        self.demo_video_size = demo_video_size
        self.form = RecordingForm()
        self.form.out = self.default_output()
        self.connection = "disconnected"  # connecting | connected | disconnecting
        self.live: Any = None  # TeleopSession or SessionProcess while connected
        self.notes: dict[str, Any] = {}
        self.status_text = NOT_CONNECTED
        self.state = ""  # the loop's state at the last poll
        self.unfinished: list[str] = []
        self.last_output = ""  # the recording the last finished episode went into
        self.kept_output = ""  # the last recording with a kept episode ("Open in Browse")
        self.open_after_disconnect = ""  # opened in Browse once the recorder closed it
        self.demo: DemoRig | None = None
        self.closing = False
        self._listeners: list[Callable[[str], None]] = []

    # -- listeners ----------------------------------------------------------------------------------
    def listen(self, listener: Callable[[str], None]) -> None:
        self._listeners.append(listener)

    def _changed(self, what: str) -> None:
        for listener in list(self._listeners):
            listener(what)

    # -- the form -----------------------------------------------------------------------------------
    @property
    def recordings_dir(self) -> Path:
        return self.workspace / "recordings"

    @property
    def connected(self) -> bool:
        return self.live is not None

    @property
    def recording(self) -> bool:
        return self.state == "recording"

    def default_output(self) -> str:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        suffix = ".hdf5" if self.form.format == "hdf5" else ""
        return str(self.recordings_dir / f"teleop-{stamp}{suffix}")

    def set_format(self, fmt: str) -> None:
        """HDF5 records at 60 Hz, LeRobot at 30 Hz; an output of ours follows the format's name."""
        self.form.format = fmt if fmt in FORMATS else "hdf5"
        if not self.form.out or Path(self.form.out).parent == self.recordings_dir:
            self.form.out = self.default_output()
        self.form.rate = 0 if self.form.format == "hdf5" else 1
        self._changed("form")

    def restore_form(self, data: dict[str, Any] | None) -> None:
        self.form = RecordingForm.from_json(data)
        self.form.out = self.default_output()
        self._changed("form")

    def settings(self) -> Any:
        """The form as ``RecordSettings``; raises StudioError with the user's sentence."""
        from backend.teleop.cameras import parse_camera_arg
        from backend.teleop.factory import RecordSettings
        from backend.teleop.session import SessionConfig

        form = self.form
        if not form.leader.strip():
            raise StudioError("choose the leader arm's port", None,
                              f"plug the arm in and press ↻, or press {START_VIRTUAL}")
        cameras = dict(parse_camera_arg(line) for line in form.cameras.splitlines() if line.strip())
        form.out = form.out.strip() or self.default_output()
        config = SessionConfig(rate_hz=RATES_HZ[form.rate], task=form.task)
        return RecordSettings(
            leader_port=form.leader.strip(),
            out=form.out,
            follower_port=form.follower.strip() or None,
            leader_calibration=form.leader_cal.strip() or None,
            follower_calibration=form.follower_cal.strip() or None,
            cameras=cameras,
            fmt=form.format,
            config=config,
        )

    # -- connecting ---------------------------------------------------------------------------------
    def begin_connect(self) -> Any:
        """The settings to connect with (state: connecting), or None when connected or connecting.
        Raises StudioError when the form is not complete."""
        if self.connection != "disconnected":
            return None
        settings = self.settings()
        self.connection = "connecting"
        self.status_text = "Connecting…"
        self._changed("connection")
        return settings

    def connected_to(self, result: tuple[Any, dict[str, Any]]) -> bool:
        """``open_live``'s result arrived; False (and the loop stopped) when the pane closed meanwhile."""
        live, notes = result
        if self.closing:
            live.stop()
            return False
        self.live, self.notes, self.state = live, dict(notes), ""
        self.connection = "connected"
        text = f"Connected: leader calibration from {notes.get('leader_calibration', '?')}"
        if notes.get("follower_calibration"):
            text += f"; follower from {notes['follower_calibration']}"
        if notes.get("recovered"):
            text += "; recovered: " + "; ".join(notes["recovered"])
        self.status_text = text
        self._changed("connection")
        return True

    def connect_failed(self, message: str) -> None:
        self.connection = "disconnected"
        self.status_text = f"Not connected: {message}"
        self._changed("connection")

    def begin_disconnect(self) -> Any:
        """The live loop to stop (state: disconnecting), or None when not connected."""
        live, self.live = self.live, None
        if live is None:
            return None
        self.connection = "disconnecting"
        self.status_text = "Disconnecting…"
        self.state = ""
        self.form.out = self.default_output()  # the next connection records into a new file
        self._changed("connection")
        return live

    def disconnected(self) -> None:
        self.connection = "disconnected"
        self.status_text = "Not connected."
        self._changed("connection")

    def lost_reason(self) -> str:
        """Why the loop's process died (empty while it runs)."""
        live = self.live
        if live is not None and getattr(live, "error", "") and getattr(live, "alive", True) is False:
            return f"The recording session stopped: {live.error}. Connect again to go on."
        return ""

    def connect_now(self, recover_mode: str | None = None) -> dict[str, Any]:
        """Connect in this thread (tests, scripts); returns the notes."""
        settings = self.begin_connect()
        if settings is None:
            return self.notes
        try:
            result = open_live(settings, recover_mode, self.mode)
        except Exception as error:
            self.connect_failed(str(getattr(error, "message", error)))
            raise
        self.connected_to(result)
        return self.notes

    def disconnect_now(self) -> None:
        live = self.begin_disconnect()
        if live is not None:
            stop_live(live)
            self.disconnected()

    # -- episodes -----------------------------------------------------------------------------------
    def task_problem(self, text: str) -> str | None:
        """The banner's sentence when ``text`` is not one line of plain text (it goes into the
        recording's task attributes, tasks.jsonl and prompts), else None."""
        problem = task_text_problem(text)
        if problem is None:
            return None
        return f"{problem[0].upper()}{problem[1:]}: {TASK_HINT}."

    def start_episode(self, task: str | None = None) -> str | None:
        """Start recording (B); returns the sentence why not when the task text is refused."""
        task = self.form.task if task is None else task
        if self.live is None:
            return None
        if (problem := self.task_problem(task)) is not None:
            return problem
        self.form.task = task
        self.live.begin_episode(task)
        return None

    def set_task(self, task: str) -> str | None:
        if (problem := self.task_problem(task)) is not None:
            return problem
        self.form.task = task
        if self.live is not None:
            self.live.set_task(task)
        return None

    def success(self) -> None:
        if self.live is not None:
            self.live.end_episode(True)

    def fail(self) -> None:
        if self.live is not None:
            self.live.end_episode(False)

    def rerecord(self) -> None:
        if self.live is not None:
            self.live.rerecord()

    # -- the live loop ------------------------------------------------------------------------------
    def poll(self) -> Any:
        """The loop's latest snapshot (None before the first); tells listeners of a new state."""
        live = self.live
        if live is None:
            return None
        snap = live.snapshot()
        if snap is None:
            return None
        if snap.last_result is not None and snap.last_result.name:
            self.last_output = live.recorder.output_path if live.recorder is not None else ""
        if snap.episodes_kept and live.recorder is not None and live.recorder.output_path != self.kept_output:
            self.kept_output = live.recorder.output_path
            self._changed("kept")
        if snap.state != self.state:
            self.state = snap.state
            self._changed("state")
        return snap

    def history(self, radians: bool) -> tuple[Any, Any, Any] | None:
        """(seconds before the last tick, leader, follower or None) for the plots."""
        live = self.live
        snap = live.snapshot() if live is not None else None
        if snap is None:
            return None
        hist = live.history()
        follower = hist["follower_rad" if radians else "follower"] if live.follower else None
        return hist["t"] - snap.time, hist["leader_rad" if radians else "leader"], follower

    @staticmethod
    def counter_text(snap: Any) -> str:
        return (
            f"episode {snap.episode_index} · kept {snap.episodes_kept} (success {snap.successes}, "
            f"fail {snap.failures}) · dropped {snap.dropped}"
        )

    @staticmethod
    def banners(snap: Any) -> list[str]:
        found = list(snap.banners)
        if snap.recorder_error:
            found.append(f"Recording failed: {snap.recorder_error}")
        return found

    @staticmethod
    def arm_status(snap: Any) -> str:
        state = "connected" if snap.leader.connected else "DISCONNECTED"
        rec = " · REC" if snap.state == "recording" else ""
        return f"arm: {state} {number(snap.loop_hz, '4.1f')} Hz{rec}"

    # -- opening the recording ---------------------------------------------------------------------
    @property
    def can_open_recording(self) -> bool:
        """An episode was kept, and no episode is being recorded (opening stops the loop first)."""
        return bool(self.kept_output) and not self.recording and self.connection in ("connected", "disconnected")

    def open_recording(self) -> tuple[str, bool]:
        """(the recording to open in Browse, whether the loop must stop first: the recorder closes
        the file, so Browse reads every kept episode whole). ("", False) when there is none."""
        if not self.can_open_recording:
            return "", False
        if self.connected:
            self.open_after_disconnect = self.kept_output
            return self.kept_output, True
        return self.kept_output, False

    def take_open_request(self) -> str:
        """The recording to open now that the loop stopped ("" when none was asked for)."""
        path, self.open_after_disconnect = self.open_after_disconnect, ""
        return path

    # -- unfinished recordings ----------------------------------------------------------------------
    def set_unfinished(self, paths: list[str]) -> None:
        self.unfinished = list(paths)
        self._changed("unfinished")

    def unfinished_text(self) -> str:
        if not self.unfinished:
            return ""
        paths = self.unfinished
        names = ", ".join(Path(p).name for p in paths[:3]) + ("…" if len(paths) > 3 else "")
        return (
            f"A recording was interrupted (crash or power loss): {names}. Finished episodes are safe; "
            "the unfinished one can be closed as interrupted or dropped."
        )

    def take_unfinished(self) -> list[str]:
        """The recordings to recover (the offer is withdrawn until the next scan)."""
        paths, self.unfinished = self.unfinished, []
        self._changed("unfinished")
        return paths

    def recovered(self, lines: list[str]) -> None:
        self.status_text = "Recovered: " + "; ".join(lines)
        self._changed("connection")

    # -- demo and shutdown --------------------------------------------------------------------------
    def demo_ready(self, rig: DemoRig) -> bool:
        """Fill the form for the demo arms and cameras; False (rig stopped) when closing."""
        self.demo = rig
        if self.closing:
            self.stop_demo()
            return False
        form = self.form
        form.leader, form.follower = rig.leader, rig.follower
        form.leader_cal, form.follower_cal = rig.calibration["leader"], rig.calibration["follower"]
        form.cameras = "\n".join(f"{k}={v}" for k, v in rig.videos.items())
        form.format, form.rate = "hdf5", 0
        form.task = form.task or DEMO_TASK
        form.out = self.default_output()
        self._changed("form")
        return True

    def demo_starting(self) -> None:
        self.status_text = "Starting the demo: virtual arms and camera videos…"
        self._changed("connection")

    def stop_demo(self) -> None:
        rig, self.demo = self.demo, None
        if rig is not None:
            rig.stop()

    def shutdown(self) -> None:
        """Stop the loop (an episode being recorded is closed as interrupted) and the demo arms."""
        self.closing = True
        live, self.live = self.live, None
        if live is not None:
            live.stop()
        self.connection = "disconnected"
        self.stop_demo()
