"""GUI entry point: ``rollout-studio [PATH] [--demo] [--workspace DIR] [--screenshot FILE.png] ...``

``--screenshot FILE`` loads everything asked for, renders the window once the first frame is shown
(or the chosen pane is ready), saves it and exits: for docs, tests and reviews. Without a display it
runs offscreen. ``--demo`` opens the sample workspace, generating its data on first use.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import os
import sys
import time
from pathlib import Path

from app.theme import apply_theme

LAUNCH_TIME = time.time()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rollout-studio",
        description="Rollout Studio: SO-101 data studio (GUI). Run `rollout-studio --help` for commands.",
    )
    parser.add_argument(
        "path",
        nargs="?",
        help="dataset to open: LeIsaac .hdf5, LeRobot folder, Cosmos outputs "
        "(default: the last one, unless File > Reopen the last dataset at start is off)",
    )
    parser.add_argument(
        "--demo", action="store_true", help="open the sample workspace (generated on first use)"
    )
    parser.add_argument(
        "--workspace", help="workspace folder (default: the last one; with --demo ~/RolloutStudio-demo)"
    )
    parser.add_argument(
        "--screenshot", metavar="FILE.png", help="render the window once ready, save it, exit"
    )
    parser.add_argument("--pane", help="pane to show: teleop, browse, convert, jobs, compare")
    parser.add_argument("--episode", type=int, help="episode to show first")
    parser.add_argument("--frame", type=int, help="frame to show first")
    parser.add_argument("--size", help="window size WxH (default: fits the screen)")
    parser.add_argument(
        "--theme", choices=["dark", "light"], help="colour theme (default: the last one, dark)"
    )
    parser.add_argument("--timing", action="store_true", help="print JSON timings (first frame) on stdout")
    parser.add_argument("--settle", type=int, default=600, help="ms to wait after ready before a screenshot")
    parser.add_argument("--screenshot-timeout", type=float, default=60.0, help=argparse.SUPPRESS)
    return parser


def _ensure_platform(screenshot: bool) -> str | None:
    """Pick offscreen for screenshots without a display; explain when there is no display at all."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or sys.platform in ("darwin", "win32"):
        return None
    if screenshot:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        return None
    return (
        "error: no display. Run it under a desktop session, or `xvfb-run -a rollout-studio ...`, "
        "or add --screenshot FILE.png to render the window offscreen."
    )


def default_workspace(settings, demo: bool) -> Path:
    if demo:
        return Path.home() / "RolloutStudio-demo"
    saved = settings.value("workspace/current")
    return Path(str(saved)) if saved else Path.home() / "RolloutStudio"


def _demo_job(workspace: str, progress=None) -> str:
    """Generate the sample data in the workspace once; return the dataset to open."""
    from backend import demo_data

    folder = Path(workspace) / "datasets"
    marker = Path(workspace) / ".demo-dataset"
    if marker.is_file():
        existing = Path(marker.read_text(encoding="utf-8").strip())
        if existing.exists():
            return str(existing)
    folder.mkdir(parents=True, exist_ok=True)
    fn = demo_data.write_demo_dataset
    kwargs = {"progress": progress} if "progress" in inspect.signature(fn).parameters else {}
    path = Path(fn(folder, **kwargs))
    marker.write_text(str(path), encoding="utf-8")
    return str(path)


def _exit_later(code: int, seconds: float) -> None:
    import threading

    def bail() -> None:
        time.sleep(seconds)
        print(f"screenshot: the window did not close within {seconds:.0f} s; exiting", file=sys.stderr)
        if os.environ.get("ROLLOUT_STUDIO_DEBUG_EXIT"):
            import faulthandler

            faulthandler.dump_traceback(sys.stderr, all_threads=True)
        sys.stderr.flush()
        os._exit(code)

    threading.Thread(target=bail, name="screenshot-exit", daemon=True).start()


class Screenshotter:
    """Saves the window when it is ready (first frame shown, pane settled) and quits."""

    def __init__(
        self, app, window, path: str, wait_for_frame: bool, timeout: float, timing: bool, settle_ms: int = 600
    ) -> None:
        from PySide6.QtCore import QTimer

        self.app, self.window, self.path = app, window, Path(path)
        self.settle_ms = settle_ms
        self.timing = timing
        self.saved = False
        self.exit_code = 0
        self.ready_reason = ""
        self._timer = QTimer
        self.waiting_for_frame = wait_for_frame
        QTimer.singleShot(int(timeout * 1000), self._timeout)
        if not wait_for_frame:
            QTimer.singleShot(900, lambda: self.ready("pane shown"))

    def expect_frame(self) -> None:
        self.waiting_for_frame = True

    def ready(self, reason: str) -> None:
        if self.saved:
            return
        self.ready_reason = reason
        # let queued paints, plots and the remaining tiles settle
        self._timer.singleShot(self.settle_ms, self._save)

    def failed(self, reason: str) -> None:
        self.exit_code = 1
        print(f"screenshot: {reason}", file=sys.stderr)
        self._timer.singleShot(800, self._save)

    def _timeout(self) -> None:
        if not self.saved:
            self.exit_code = 1
            print("screenshot: timed out waiting for the first frame; saving what is shown", file=sys.stderr)
            self._save()

    def _save(self) -> None:
        if self.saved:
            return
        self.saved = True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        pixmap = self.window.grab()
        if not pixmap.save(str(self.path)):
            print(f"screenshot: cannot write {self.path}", file=sys.stderr)
            self.exit_code = 1
        else:
            print(
                f"screenshot saved: {self.path} ({pixmap.width()}x{pixmap.height()}, {self.ready_reason})",
                file=sys.stderr,
            )
        sys.stderr.flush()
        _exit_later(self.exit_code, 15.0)  # a pane that does not stop must not keep a screenshot run alive
        self.window.close()
        self.app.exit(self.exit_code)


def _preload_readers() -> None:
    """Import the format readers (pyarrow, h5py, PyAV: ~0.5 s) while Qt starts on this thread."""
    import threading

    def work() -> None:
        try:
            import importlib

            from backend.formats import FORMAT_MODULES

            for name in FORMAT_MODULES:
                importlib.import_module(name)
        except Exception:  # noqa: BLE001 - opening the dataset reports any real problem
            pass

    threading.Thread(target=work, name="preload-readers", daemon=True).start()


def run_gui(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    problem = _ensure_platform(bool(args.screenshot))
    if problem:
        print(problem, file=sys.stderr)
        return 2
    os.environ.setdefault("SVT_LOG", "1")
    from backend import crash

    crash.install()  # an uncaught error or a hard crash leaves a report; the next start offers it
    if args.path or args.demo:
        _preload_readers()

    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication

    getattr(sys, "_rollout_studio_qt_conf", lambda: None)()  # a bundle: Qt's prefix (packaging/hooks)

    from app.settings import APPLICATION, ORGANIZATION, make_settings

    QApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setDesktopFileName("rollout-studio")  # the entry packaging/install.sh registers (Wayland, docks)
    from app.about import app_icon

    app.setWindowIcon(app_icon())
    settings = make_settings()
    theme = args.theme or str(settings.value("ui/theme", "dark"))
    apply_theme(app, theme)

    from app.context import AppContext
    from app.main_window import MainWindow

    workspace = (
        Path(args.workspace).expanduser() if args.workspace else default_workspace(settings, args.demo)
    )
    context = AppContext(settings, workspace.absolute())
    window = MainWindow(context)
    if args.workspace or args.demo:
        window.set_workspace(workspace)
    if args.screenshot and not args.size and app.platformName() == "offscreen":
        args.size = "1480x920"  # offscreen (800x800 by default): the designed size; a real screen: it fits
    if args.size:
        try:
            width, height = (int(v) for v in args.size.lower().split("x"))
            window.resize(width, height)
        except ValueError:
            pass
    window.show()
    if not args.screenshot:
        QTimer.singleShot(500, lambda: _reattach_jobs(context))
        from app.about import offer_crash_reports

        QTimer.singleShot(800, lambda: offer_crash_reports(window))

    timings: dict[str, float] = {"window_shown_s": time.time() - LAUNCH_TIME}
    if not args.path and not args.demo:
        args.path = window.last_dataset()  # "Reopen the last dataset at start" (File menu), on by default
    wants_dataset = bool(args.path or args.demo)
    shooter = None
    if args.screenshot:
        shooter = Screenshotter(
            app, window, args.screenshot, wants_dataset, args.screenshot_timeout, args.timing, args.settle
        )

    browse = window.browse if wants_dataset else None
    if browse is not None:

        def first_frame() -> None:
            timings["first_frame_s"] = time.time() - LAUNCH_TIME
            timings["first_frame_epoch"] = time.time()
            if args.timing:
                print(json.dumps(timings), flush=True)
            if shooter is not None:
                # the timeline's thumbnails follow within a moment: wait for them (3 s at most)
                if browse.transport.timeline.thumbnail_count():
                    shooter.ready("first frame shown")
                else:
                    browse.thumbnailsReady.connect(
                        lambda _n: shooter.ready("first frame and thumbnails shown")
                    )
                    QTimer.singleShot(3000, lambda: shooter.ready("first frame shown"))

        browse.firstFrameShown.connect(first_frame)
        browse.openFailed.connect(lambda m: shooter.failed(f"open failed: {m}") if shooter else None)

    def show_requested_pane() -> None:
        if args.pane:
            window.show_pane(args.pane)

    if args.demo:
        from app.error_dialog import show_error
        from app.tasks import run_task

        window.set_status("dataset", "preparing the demo workspace…")

        def demo_ready(path: str) -> None:
            window.open_dataset(path, args.episode, args.frame)
            window.start_demo_panes(path)
            show_requested_pane()

        def demo_failed(message: str, details: str) -> None:
            show_error(window, "Could not prepare the demo workspace", message, details, str(workspace))
            if shooter is not None:
                shooter.failed(message)

        run_task(
            _demo_job,
            str(workspace),
            on_done=demo_ready,
            on_error=demo_failed,
            on_progress=lambda d, t, s: window.set_status("dataset", f"demo data: {s} {d}/{t}"),
        )
    elif args.path:
        window.open_dataset(args.path, args.episode, args.frame)
        show_requested_pane()
    else:
        show_requested_pane()

    import qasync

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        code = loop.run_forever()
    from app.tasks import app_tasks, close_pools

    app_tasks().shutdown(5.0)  # the demo workspace's preparation, if the window closed before it ended
    close_pools()
    if shooter is not None:
        return shooter.exit_code
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(run_gui(sys.argv[1:]))


def _reattach_jobs(context) -> None:
    """Queued and running jobs go on (and chains advance) whether or not the Jobs pane is open."""
    if not Path(context.jobs_db).exists():
        return
    try:
        from backend.jobs.supervisor import ensure_supervisor

        ensure_supervisor(context.jobs_db)
    except Exception as error:  # noqa: BLE001 - the window works without it; the Jobs pane retries
        context.set_status("jobs", f"job supervisor not started: {error}")
