"""The operator's first hour, scripted: every workflow of the window, one after the other, as a user
would drive it (buttons, keys, dialogs), with a screenshot after each step.

    xvfb-run -a -s "-screen 0 1280x800x24" python scripts/walk.py --out DIR [--workspace DIR]

1. record    Teleop: the demo's virtual SO-101 arms connect; B records, N keeps two episodes
2. browse    the recording opened in Browse (both episodes listed)
3. curate    episode 0 rated Good and trimmed (I/O), episode 1 rated Bad and excluded (X)
4. export    Export curated... -> the dialog's Export: a new LeIsaac HDF5, validated
5. convert   the Convert wizard, HDF5 -> LeRobot v2.1 on the export: preview, run, done page
6. compare   the export's episode 0 (A) against its LeRobot conversion (B)
7. job       New job -> the "command" template running ``python -c "print(...)"`` -> succeeded

Private settings, workspace, studio home and job store (nothing of this machine's studio changes).
Under X (xvfb-run) the PNGs are grabs of the screen (dialogs and notices included); offscreen they
are grabs of the window. Prints one JSON object: each step's seconds, what the user sees, the PNG.
Exits 1 when a step fails (the JSON says which and why).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SIZE = (1280, 800)
JOB_TEXT = "walk job: hello from the command template"


# -- waiting without a test framework ---------------------------------------------------------------
def settle(seconds: float) -> None:
    from PySide6.QtWidgets import QApplication

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.01)


def wait_until(predicate: Callable[[], object], timeout: float, what: str) -> None:
    from PySide6.QtWidgets import QApplication

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        QApplication.processEvents()
        time.sleep(0.01)


def flag(signal: Any) -> dict[str, Any]:
    """Remembers that ``signal`` fired (and its last arguments)."""
    box: dict[str, Any] = {"fired": False, "args": None}

    def hit(*args: Any) -> None:
        box.update(fired=True, args=args)

    signal.connect(hit)
    return box


def click(widget: Any) -> None:
    """A left click in the middle of ``widget``, as the user does it (visible and enabled first)."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    wait_until(lambda: widget.isVisible() and widget.isEnabled(), 20, f"{widget.text()!r} to be clickable")
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton)


def key(widget: Any, name: str) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    widget.setFocus()
    QTest.keyClick(widget, getattr(Qt.Key, f"Key_{name}"))


def find_button(root: Any, text: str) -> Any | None:
    """A visible button of ``root`` whose text contains ``text`` (actions added by other work)."""
    from PySide6.QtWidgets import QAbstractButton

    for button in root.findChildren(QAbstractButton):
        if text.lower() in button.text().replace("&", "").lower() and button.isVisible():
            return button
    return None


def inside_screen(widget: Any) -> bool:
    """The widget's whole rectangle lies on the window's screen."""
    from PySide6.QtCore import QRect

    top_left = widget.mapToGlobal(widget.rect().topLeft())
    rect = QRect(top_left, widget.size())
    return widget.screen().geometry().contains(rect)


# -- the walk ---------------------------------------------------------------------------------------
class Walk:
    def __init__(self, window: Any, out: Path) -> None:
        self.window = window
        self.context = window.context
        self.out = out
        self.steps: list[dict[str, Any]] = []
        self.notes: list[str] = []  # where the walk used a method instead of a control (no control yet)
        self.recording: Path | None = None
        self.exported: Path | None = None
        self.converted: Path | None = None

    def snap(self, name: str) -> str:
        from PySide6.QtGui import QGuiApplication

        settle(0.3)
        target = self.out / f"{name}.png"
        if QGuiApplication.platformName() == "xcb":  # the screen: dialogs and notices as the user sees them
            picture = self.window.screen().grabWindow(0)
        else:
            picture = self.window.grab()
        if not picture.save(str(target)):
            raise OSError(f"cannot write {target}")
        return str(target)

    def window_fit(self) -> dict[str, Any]:
        """The window's size against its screen; what is wider than the screen when it does not fit."""
        window = self.window
        screen = window.screen().availableGeometry()
        geometry = window.frameGeometry()
        fit: dict[str, Any] = {
            "size": [geometry.width(), geometry.height()],
            "inside_screen": screen.contains(geometry),
        }
        if not fit["inside_screen"]:
            pane = window.stack.currentWidget()
            fit["minimum"] = {
                "window": [window.minimumSizeHint().width(), window.minimumSizeHint().height()],
                "pane": [pane.minimumSizeHint().width(), pane.minimumSizeHint().height()],
                "status_bar": [window.statusBar().minimumSizeHint().width(),
                               window.statusBar().minimumSizeHint().height()],
            }
            from PySide6.QtWidgets import QWidget

            wide = sorted(
                (w for w in pane.findChildren(QWidget) if w.isVisible()),
                key=lambda w: -w.minimumSizeHint().width(),
            )[:8]
            fit["widest"] = [
                f"{type(w).__name__}#{w.objectName()} {w.minimumSizeHint().width()} "
                f"{(getattr(w, 'text', lambda: '')() or '')[:60]!r}"
                for w in wide
            ]
        return fit

    def step(self, name: str, fn: Callable[[], dict[str, Any]]) -> bool:
        started = time.monotonic()
        entry: dict[str, Any] = {"step": name}
        try:
            entry["sees"] = fn()
            entry["ok"] = True
        except Exception as error:  # noqa: BLE001 - reported in the JSON, the walk stops
            entry.update(ok=False, error=f"{type(error).__name__}: {error}", trace=traceback.format_exc())
            try:
                entry["png"] = self.snap(f"{len(self.steps) + 1}-{name}-failed")
            except Exception:  # noqa: BLE001
                pass
        entry["seconds"] = round(time.monotonic() - started, 1)
        entry["window"] = self.window_fit()
        self.steps.append(entry)
        print(f"walk: {name} {'ok' if entry['ok'] else 'FAILED'} in {entry['seconds']} s", file=sys.stderr)
        return bool(entry["ok"])

    def pane(self, key: str) -> Any:
        """Show pane ``key`` with its rail button; a pane that failed to build stops the walk."""
        click(self.window.rail_buttons[key])
        wait_until(lambda: self.window.current_key == key, 10, f"the {key} pane")
        widget = self.window.pane(key)
        if key in self.window.pane_errors:
            raise RuntimeError(f"the {key} pane did not build: {self.window.pane_errors[key]}")
        return widget

    # 1 ------------------------------------------------------------------------------------------
    def record(self) -> dict[str, Any]:
        pane = self.pane("teleop")
        pane.recording.demo_video_size = (320, 240)  # small camera videos: the walk stays short
        start = find_button(pane, "Start virtual arms")
        if start is not None:
            click(start)
        else:
            self.notes.append("Teleop has no 'Start virtual arms' button: the walk called start_demo()")
            pane.start_demo()
        failures = self.connect(pane)
        wait_until(pane.showing_live, 30, "the live cameras and joint plots")
        for n in range(2):
            key(pane, "B")  # B: start an episode
            wait_until(lambda: pane.session.state == "recording", 20, "the recording to start")
            settle(1.6)
            if n == 0:
                png = self.snap("1-record")
                recording_text = pane.record_indicator.text()
            key(pane, "N")  # N: success, keep it
            wait_until(lambda n=n: len(pane.session.results()) == n + 1, 20, "the episode to be kept")
            wait_until(lambda: pane.start_button.isEnabled(), 20, "Start to be enabled again")
        wait_until(lambda: "kept 2" in pane.counter_label.text(), 10, "the counter")
        self.recording = Path(pane.session.recorder.output_path)
        return {
            "png": png,
            "indicator": recording_text,
            "counter": pane.counter_label.text(),
            "recording": str(self.recording),
            "connect_failures": failures,
            "buttons_on_screen": all(
                inside_screen(b) for b in (pane.start_button, pane.success_button, pane.fail_button)
            ),
        }

    def connect(self, pane: Any, attempts: int = 4) -> list[str]:
        """Wait for the arms to connect; a failed connect (a busy machine: the virtual arm answered
        late) is dismissed with OK and Connect is pressed again, as an operator would."""
        from app.error_dialog import open_dialogs

        failures: list[str] = []
        for _ in range(attempts):
            wait_until(lambda: (pane.session is not None and pane.start_button.isEnabled()) or open_dialogs(),
                       60, "the virtual arms to connect")
            if pane.session is not None and not open_dialogs():
                return failures
            for box in open_dialogs():
                failures.append(box.informativeText().splitlines()[0])
                click(box.button(box.StandardButton.Ok))
            wait_until(lambda: pane.connect_button.text() == "Connect" and pane.connect_button.isEnabled(),
                       30, "Connect to be enabled again")
            click(pane.connect_button)
        raise RuntimeError(f"the virtual arms did not connect: {'; '.join(failures)}")

    # 2 ------------------------------------------------------------------------------------------
    def browse(self) -> dict[str, Any]:
        window, teleop = self.window, self.window.pane("teleop")
        browse = window.browse
        shown = flag(browse.firstFrameShown)
        button = find_button(teleop, "Open in Browse")
        if button is not None:
            click(button)
        else:
            self.notes.append("Teleop has no 'Open in Browse' yet: the walk disconnected and used File > Open")
            click(teleop.connect_button)  # Disconnect: the recorder closes the file
            wait_until(lambda: teleop.connect_button.text() == "Connect", 30, "the arms to disconnect")
            window.open_dataset(str(self.recording))
        wait_until(lambda: shown["fired"], 60, "the recording's first frame in Browse")
        wait_until(lambda: window.current_key == "browse", 10, "the Browse pane")
        wait_until(lambda: browse.model.rowCount() == 2, 10, "two episodes in the table")
        if teleop.session is not None:  # the arms are not needed any more
            click(teleop.connect_button)
            wait_until(lambda: teleop.connect_button.text() == "Connect", 30, "the arms to disconnect")
        settle(0.5)
        return {
            "png": self.snap("2-browse"),
            "dataset": str(browse.dataset.path),
            "episodes": browse.model.rowCount(),
            "status": window.status_text("dataset"),
        }

    # 3 ------------------------------------------------------------------------------------------
    def curate(self) -> dict[str, Any]:
        browse = self.window.browse
        browse.table.setFocus()
        browse.show_episode(0)
        wait_until(lambda: browse.episode is not None and browse.episode.index == 0, 10, "episode 0")
        click(browse.good_button)
        last = browse.episode.length - 1
        browse.set_position(5)
        key(browse, "I")  # trim in here
        browse.set_position(last - 5)
        key(browse, "O")  # trim out here
        browse.show_episode(1)
        wait_until(lambda: browse.episode is not None and browse.episode.index == 1, 10, "episode 1")
        click(browse.bad_button)
        click(browse.exclude_button)
        browse.show_episode(0)
        settle(0.6)
        curation = browse.curation
        first, second = curation.decision(0), curation.decision(1)
        return {
            "png": self.snap("3-curate"),
            "episode_0": {"rating": first.rating, "trim": [first.trim_in, first.trim_out]},
            "episode_1": {"rating": second.rating, "excluded": second.excluded},
            "summary": browse.summary_label.toolTip() or browse.summary_label.text(),
            "length_0": last + 1,
        }

    # 4 ------------------------------------------------------------------------------------------
    def export(self) -> dict[str, Any]:
        from PySide6.QtWidgets import QApplication, QDialogButtonBox

        from app.panes.browse.export import ExportDialog
        from backend.formats import validate_path

        browse = self.window.browse
        finished = flag(browse.exportFinished)
        click(browse.export_button)
        wait_until(lambda: any(isinstance(w, ExportDialog) and w.isVisible()
                               for w in QApplication.topLevelWidgets()), 10, "the export dialog")
        dialog = next(w for w in QApplication.topLevelWidgets() if isinstance(w, ExportDialog) and w.isVisible())
        settle(0.3)
        dialog_png = self.snap("4-export-dialog")
        output = dialog.out.text()
        click(dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok))
        wait_until(lambda: finished["fired"], 60, "the export and its validation")
        self.exported = Path(finished["args"][0])
        settle(0.4)
        problems = [p.line() for p in validate_path(self.exported) if p.severity == "error"]
        return {
            "png": self.snap("5-export-done"),
            "dialog_png": dialog_png,
            "dialog_output": output,
            "output": str(self.exported),
            "exists": self.exported.is_file(),
            "validate_errors": problems,
            "notice": browse.toast.label.text() if browse.toast.isVisible() else "",
        }

    # 5 ------------------------------------------------------------------------------------------
    def convert(self) -> dict[str, Any]:
        from backend.formats import open_dataset, validate_path

        pane = self.pane("convert")
        row = next(r for r in range(pane.chooser.count())
                   if pane.chooser.item(r).data(256) == "hdf5_to_lerobot")  # Qt.UserRole
        pane.chooser.setCurrentRow(row)
        wizard = pane.wizards["hdf5_to_lerobot"]
        wizard.family.sources.setPaths([str(self.exported)])  # what a drop or "Add..." gives
        click(wizard.frame.next_button)
        wait_until(wizard.preview_ready, 60, "the conversion preview")
        plan = wizard.plan()
        if any("task" in e for e in plan.get("errors", [])):
            wizard.family.task.setText("Pick up the orange and place it on the plate.")
            wait_until(lambda: wizard.preview_ready() and not wizard.plan().get("errors"), 60, "the preview")
        wait_until(lambda: wizard.frame.next_button.isEnabled(), 20, "Run to be enabled")
        settle(0.4)
        preview_png = self.snap("6-convert-preview")
        kept = wizard.plan()["summary"]["episodes_kept"]
        click(wizard.frame.next_button)  # Run
        wait_until(lambda: wizard.step() == 3 or wizard.last_error is not None, 120, "the conversion")
        if wizard.last_error:
            raise RuntimeError(f"the conversion failed: {wizard.last_error}")
        self.converted = Path(wizard.last_summary["output"])
        settle(0.4)
        errors = [p.line() for p in validate_path(self.converted) if p.severity == "error"]
        with open_dataset(self.converted) as dataset:
            episodes, fmt = len(dataset.episodes), dataset.format.value
        return {
            "png": self.snap("7-convert-done"),
            "preview_png": preview_png,
            "preview_kept": kept,
            "output": str(self.converted),
            "format": fmt,
            "episodes": episodes,
            "validate_errors": errors,
            "open_in_browse": wizard.done_view.open_button.isVisible(),
        }

    # 6 ------------------------------------------------------------------------------------------
    def compare(self) -> dict[str, Any]:
        pane = self.pane("compare")
        ready = flag(pane.comparisonReady)
        pane.open_pair(str(self.exported), 0, str(self.converted), 0)  # Compare's "compare these two"
        wait_until(lambda: ready["fired"], 60, "the comparison")
        pane.set_time(1.0)
        wait_until(lambda: all(t.index >= 0 for t in pane.tiles), 20, "a frame on both sides")
        settle(0.8)
        view = pane.view
        return {
            "png": self.snap("8-compare"),
            "sides": [{"letter": s.letter, "dataset": str(s.dataset.path), "episode": s.episode} for s in view.sides],
            "summary": pane.summary_text(),
            "tiles_showing": sum(1 for t in pane.tiles if t.index >= 0),
        }

    # 7 ------------------------------------------------------------------------------------------
    def job(self) -> dict[str, Any]:
        from backend.jobs.store import JobStore

        pane = self.pane("jobs")
        from PySide6.QtWidgets import QApplication

        from app.panes.jobs.submit_dialog import SubmitDialog

        command = next((a for a in pane.template_menu.actions() if a.text() == "Command"), None)
        if command is not None:
            command.trigger()  # New job's menu > Command
        else:
            self.notes.append("New job's menu has no 'Command' item: the walk called open_submit('command')")
            pane.open_submit("command")
        wait_until(lambda: any(isinstance(w, SubmitDialog) and w.isVisible()
                               for w in QApplication.topLevelWidgets()), 10, "the New job dialog")
        dialog = next(w for w in QApplication.topLevelWidgets() if isinstance(w, SubmitDialog) and w.isVisible())
        dialog.form.set_values({"args": [sys.executable, "-c", f"print({JOB_TEXT!r})"]})
        dialog.name_edit.setText("walk: print")
        click(dialog.check_button)
        wait_until(lambda: "Checking" not in dialog.preview.toPlainText(), 20, "Check to answer")
        checked = dialog.preview.toPlainText()
        accepted = flag(dialog.accepted)
        click(dialog.submit_button)
        wait_until(lambda: accepted["fired"], 30, "the job to be queued")
        job_id = dialog.result_id
        wait_until(lambda: pane.model.job(job_id) is not None and pane.model.job(job_id).state == "succeeded",
                   60, "the job to succeed")
        pane.select_job(job_id)
        wait_until(lambda: JOB_TEXT in pane.log.plain_text(), 20, "the job's output in its log")
        settle(0.6)
        with JobStore(self.context.jobs_db) as store:
            job = store.get(job_id)
            state, argv = job.state, list((job.params or {}).get("args") or [])
        return {
            "png": self.snap("9-job"),
            "job": job_id,
            "state": state,
            "argv": argv,
            "check": checked,
            "log": pane.log.plain_text().strip().splitlines()[-3:],
        }


def wait_supervisor_gone(db: Path, timeout: float) -> None:
    """The private job store's supervisor leaves by itself when idle; wait for it (no strays)."""
    from backend.jobs.supervisor import supervisor_pid

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = supervisor_pid(db)
        if not pid or not Path(f"/proc/{pid}").exists():
            return
        time.sleep(0.1)


def run(out: Path, workspace: Path) -> dict[str, Any]:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from app.settings import APPLICATION, ORGANIZATION, make_settings
    from app.theme import apply_theme

    QApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    app = QApplication([sys.argv[0]])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    apply_theme(app, "dark")
    from app.context import AppContext
    from app.main_window import MainWindow

    context = AppContext(make_settings(), workspace)
    window = MainWindow(context)
    window.set_workspace(workspace)
    window.move(0, 0)
    window.resize(*SIZE)
    window.show()
    window.activateWindow()  # keys reach the window's shortcuts only when it is active
    wait_until(window.isActiveWindow, 10, "the window to be active")
    settle(0.5)
    walk = Walk(window, out)
    started = time.monotonic()
    for name in ("record", "browse", "curate", "export", "convert", "compare", "job"):
        if not walk.step(name, getattr(walk, name)):
            break
    window.close()  # panes stop their work (Teleop's arms, Jobs' log streams)
    settle(0.3)
    wait_supervisor_gone(context.jobs_db, 10)
    geometry = window.geometry()
    return {
        "ok": len(walk.steps) == 7 and all(s["ok"] for s in walk.steps),
        "platform": app.platformName(),
        "screen": [window.screen().geometry().width(), window.screen().geometry().height()],
        "window": [geometry.width(), geometry.height()],
        "seconds": round(time.monotonic() - started, 1),
        "steps": walk.steps,
        "notes": walk.notes,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for the screenshots (made if missing)")
    parser.add_argument("--workspace", help="workspace (default: a fresh temporary folder)")
    args = parser.parse_args()
    out = Path(args.out).absolute()
    out.mkdir(parents=True, exist_ok=True)
    private = Path(tempfile.mkdtemp(prefix="rs-walk-"))
    workspace = Path(args.workspace).absolute() if args.workspace else private / "workspace"
    os.environ.update(
        {
            "ROLLOUT_STUDIO_SETTINGS": str(private / "settings.ini"),
            "ROLLOUT_STUDIO_HOME": str(private / "studio-home"),
            "XDG_DATA_HOME": str(private / "data-home"),
            "ROLLOUT_STUDIO_SUPERVISOR_ARGS": "--poll 0.1 --idle-exit 2",
            "SVT_LOG": "1",
        }
    )
    os.environ.pop("ROLLOUT_STUDIO_JOBS_DB", None)
    report = run(out, workspace)
    report["private"] = str(private)
    print(json.dumps(report, indent=1))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
