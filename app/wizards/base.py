"""The one wizard of the window: inputs -> options with a live preview -> run -> done.

There were two frameworks: the step mixins of ``app/wizards/plumbing.py`` with a second copy of the
preview and run plumbing in ``cosmos_idm.py``, and the Convert pane's wizard built on the
``widgets/wizard_*`` parts (stepper frame, run page, done page, drop pickers, plan preview). This
class keeps the second one's shape (the reusable, app-free page widgets in ``widgets/``: they are
what a user sees, and both families already showed them) and gives it one home for the behaviour
the first one had duplicated: steps, latest-wins preview, run, cancel and the endings. What the
wizard knows lives in a Qt-free ``backend.sessions.wizard.WizardSession``; this widget forwards
edits and task results to it and shows what it says.

A wizard subclasses ``StepWizard`` and says: ``inputs_ready``, ``plan_call`` / ``show_plan``,
``run_call``, ``done_summary`` (and, when it has them, ``local_problems``, ``default_out``,
``show_messages``). Previews run on the INTERACTIVE lane (latest request wins), runs on the
BACKGROUND lane naming their output; closing the wizard cancels and waits for both.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer, QUrl, Signal
from PySide6.QtGui import QCloseEvent, QDesktopServices
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.tasks import BACKGROUND, INTERACTIVE, TaskGroup
from backend.errors import StudioError
from backend.sessions.wizard import (
    DONE,
    INPUTS,
    OPTIONS,
    RUN,
    STEPS,
    Check,
    OutputConflict,
    WizardSession,
    output_conflict,
)
from widgets.wizard_done import DoneView
from widgets.wizard_frame import WizardFrame
from widgets.wizard_inputs import DropPath
from widgets.wizard_run import RunView

PREVIEW_DELAY_MS = 300
CHANGE_SIGNALS = (
    "valueChanged",
    "currentIndexChanged",
    "toggled",
    "textChanged",
    "itemChanged",
    "pathChanged",
    "pathsChanged",
)


def watch_changes(widgets: tuple[Any, ...], slot: Callable[..., Any]) -> None:
    """Call ``slot`` whenever one of ``widgets`` changes (every change signal it has: a path list that
    is also a list widget says so through both)."""
    for widget in widgets:
        for name in CHANGE_SIGNALS:
            signal = getattr(widget, name, None)
            if signal is not None:
                signal.connect(lambda *_a: slot())


def _preview(fn: Callable[..., Any], *args: Any, out: str = "", progress: Any = None) -> Any:
    """Run a preview function (which takes no progress) as a task, and look at the output it names
    (whether something is there, and whether the studio wrote it: that walks the folder)."""
    return fn(*args), output_conflict(out)


def escape(text: Any) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class StepWizard(QWidget):
    """The frame, the run and done pages, the session and the tasks of one wizard."""

    title = ""
    summary = ""
    run_label = "Run"
    status_verb = "running"
    finished = Signal(object)  # the backend's result when a run completes

    def __init__(
        self, context: Any, session: WizardSession | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.context = context
        self.session = session or WizardSession()
        self.tasks = TaskGroup(self)
        self.frame = WizardFrame(list(STEPS))
        self.run_view = RunView()
        self.done_view = DoneView()
        self.result_dataset: str | None = None
        self._done_folder = ""
        self._started = 0.0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(PREVIEW_DELAY_MS)
        self._timer.timeout.connect(self.refresh_preview)

    def assemble(self, inputs_page: QWidget, options_page: QWidget) -> None:
        """Put the pages in the frame under the heading; wire the buttons; show the inputs step."""
        for page in (inputs_page, options_page, self.run_view, self.done_view):
            self.frame.addPage(page)
        heading = QLabel(f"<b>{escape(self.title)}</b> — {escape(self.summary)}")
        heading.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(heading)
        layout.addWidget(self.frame, 1)
        self.frame.nextRequested.connect(self._next)
        self.frame.backRequested.connect(self._back)
        self.run_view.cancelRequested.connect(self.cancel)
        self.done_view.openRequested.connect(self._open_in_browse)
        self.done_view.openFolderRequested.connect(self._open_folder)
        self.done_view.againRequested.connect(self.again)
        self._go(INPUTS)

    def again(self) -> None:
        """ "Convert another": back to the inputs; the next run proposes a fresh output."""
        self.session.start_another()
        self._go(INPUTS)

    def bind_out(self, out: DropPath) -> None:
        """The output picker: a typed path is the user's (never replaced by a proposal)."""
        out.edit.textEdited.connect(lambda text: self.session.set_out(text, typed=True))
        out.pathChanged.connect(lambda path: self.session.set_out(path))

    # -- what each wizard says ---------------------------------------------------------------------
    def inputs_ready(self) -> Check:  # pragma: no cover - every wizard defines it
        raise NotImplementedError

    def local_problems(self) -> tuple[list[str], list[str]]:
        """Instant checks of the options (no task): (errors, warnings)."""
        return [], []

    def options_ready(self) -> Check:
        return self.session.options_check(self.local_problems()[0])

    def default_out(self) -> Path | None:
        return None

    def out_widget(self) -> DropPath:  # pragma: no cover - every wizard defines it
        raise NotImplementedError

    def plan_call(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:  # pragma: no cover
        raise NotImplementedError

    def show_plan(self, plan: dict[str, Any]) -> None:  # pragma: no cover - every wizard defines it
        raise NotImplementedError

    def show_preview_busy(self) -> None:  # noqa: B027 - optional hook
        pass

    def show_preview_problem(self, message: str) -> None:  # noqa: B027 - optional hook
        pass

    def show_messages(self) -> None:  # noqa: B027 - optional hook
        pass

    def run_call(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:  # pragma: no cover
        raise NotImplementedError

    def run_output(self) -> str:
        """The path the run writes (named when the disk fills up)."""
        return self.session.out

    def run_started(self) -> None:  # noqa: B027 - optional hook: lines for the log
        pass

    def done_summary(self, result: Any) -> tuple[dict[str, Any], str | None]:  # pragma: no cover
        """(dict for the done page, dataset path to open in Browse or None)."""
        raise NotImplementedError

    def failure_title(self) -> str:
        return f"{self.title} failed"

    # -- state -------------------------------------------------------------------------------------
    @property
    def last_error(self) -> str | None:
        return self.session.last_error

    @property
    def result(self) -> Any:
        return self.session.result

    def step(self) -> int:
        return self.frame.current()

    def plan(self) -> dict[str, Any]:
        return self.session.plan

    def preview_ready(self) -> bool:
        return self.session.preview_ready()

    def watch(self, *widgets: QWidget) -> None:
        watch_changes(widgets, self._changed)

    # -- steps -------------------------------------------------------------------------------------
    def _go(self, index: int) -> None:
        self.session.go(index)
        self.frame.setCurrent(index)
        self.frame.setNextText(self.run_label if index == OPTIONS else "Next")
        self.frame.setNextVisible(index in (INPUTS, OPTIONS))  # the run and done steps have no Next
        if index == OPTIONS:
            self.entering_options()
        self._update_next()

    def entering_options(self) -> None:
        """The options step is shown: propose the output, compute the preview now."""
        proposed = self.session.propose_out(self.default_out())
        if proposed is not None:
            self.out_widget().setPath(proposed)
        self.schedule_preview(immediate=True)

    def _next(self, current: int) -> None:
        if current == INPUTS:
            self._go(OPTIONS)
        elif current == OPTIONS:
            self.start_run()

    def _back(self, _current: int) -> None:
        target = self.session.back_target()
        if target is not None:
            self._go(target)

    def _update_next(self) -> None:
        step = self.frame.current()
        if step in (INPUTS, OPTIONS):
            ok, note = self.session.next_check(
                self.inputs_ready(), self.options_ready() if step == OPTIONS else None
            )
            self.frame.setNextEnabled(ok, note)
        elif step == RUN:
            self.frame.setBackEnabled(not self.session.running)

    # -- the preview -------------------------------------------------------------------------------
    def _changed(self, *_args: Any) -> None:
        self.session.edited()
        self.show_messages()
        self._update_next()
        if self.frame.current() == OPTIONS:
            self.schedule_preview()

    def schedule_preview(self, immediate: bool = False) -> None:
        if immediate:
            self._timer.stop()
            self.refresh_preview()
        else:
            self._timer.start()

    def refresh_preview(self) -> None:
        ok, note = self.inputs_ready()
        if not ok:
            self.show_preview_problem(note)
            return
        if self.local_problems()[0]:
            self.show_messages()
            return
        token = self.session.preview_requested()
        try:
            fn, args = self.plan_call()
        except (StudioError, ValueError, TypeError) as error:
            self._plan_failed(token, str(error))
            return
        self.show_preview_busy()
        out = self.session.out
        self.tasks.run(
            _preview,
            fn,
            *args,
            out=out,
            key="preview",
            lane=INTERACTIVE,
            on_done=lambda found: self._plan_done(token, *found),
            on_error=lambda message, _details: self._plan_failed(token, message),
        )

    def _plan_done(self, token: int, plan: dict[str, Any], conflict: OutputConflict | None = None) -> None:
        if self.session.plan_arrived(token, plan, conflict):
            self.show_plan(self.session.plan)
            self.show_messages()
            self._update_next()

    def _plan_failed(self, token: int, message: str, conflict: OutputConflict | None = None) -> None:
        if self.session.plan_failed(token, message, conflict):
            self.show_preview_problem(self.session.plan["errors"][0])
            self.show_messages()
            self._update_next()

    # -- the run -----------------------------------------------------------------------------------
    def start_run(self) -> None:
        if self.session.running:
            return
        ok, note = self.options_ready()
        if not ok:
            self.frame.setNextEnabled(False, note)
            return
        fn, args = self.run_call()
        output = self.run_output()
        self.result_dataset = None
        self._go(RUN)
        self.session.run_started()
        self.run_view.start(f"{self.title} → {output}")
        self.run_started()
        self._started = time.monotonic()
        self.tasks.run(
            fn,
            *args,
            key="run",
            lane=BACKGROUND,
            outputs=[output],
            on_done=self._run_done,
            on_error=self._run_failed,
            on_progress=self.run_view.setProgress,
            on_warning=lambda text: self.run_view.appendLog(text, "warning"),
            on_cancelled=self._run_cancelled,
        )
        self._update_next()
        self._status(f"{self.status_verb}: {self.title}")

    def cancel(self) -> None:
        """Cancel the run (its ending is still told: the run page says nothing was written)."""
        task = self.tasks.get("run")
        if task is not None:
            task.cancel()

    def _run_done(self, result: Any) -> None:
        summary, dataset = self.done_summary(result)
        summary.setdefault("seconds", time.monotonic() - self._started)
        self.session.run_finished(result)
        self.result_dataset = dataset
        self.run_view.finish(True, f"wrote {summary.get('output')}")
        self.done_view.setResult(summary)
        text = summary.get("details")  # the Cosmos/IDM flows' lines (a conversion's details are a dict)
        if isinstance(text, str) and text:
            self.done_view.details.setText(text)
        self.done_view.open_button.setVisible(dataset is not None)
        if dataset is not None:
            self.done_view.setOpenTarget(dataset)
        self._done_folder = str(summary.get("output", ""))
        self._go(DONE)
        self._status("")
        self.finished.emit(result)

    def _run_failed(self, message: str, details: str) -> None:
        self.session.run_failed(message)
        self.run_view.finish(False, self.session.outcome())
        self._update_next()
        self._status("")
        from app.error_dialog import show_error

        show_error(self, self.failure_title(), self.session.last_error or message, details)

    def _run_cancelled(self) -> None:
        self.session.run_cancelled()
        self.run_view.finish(False, self.session.outcome())
        self._update_next()
        self._status("")

    # -- done --------------------------------------------------------------------------------------
    def _status(self, text: str) -> None:
        if hasattr(self.context, "set_status"):
            self.context.set_status("convert", text)

    def _open_in_browse(self, path: str) -> None:
        if not path:
            return
        self.context.openDatasetRequested.emit(path)
        if hasattr(self.context, "showPaneRequested"):
            self.context.showPaneRequested.emit("browse")

    def _open_folder(self, path: str) -> None:
        target = Path(self._done_folder or path or self.session.out)
        folder = target if target.is_dir() else target.parent
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    # -- closing -----------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Cancel the preview and the run and wait for them (the pane or the window is closing)."""
        self._timer.stop()
        self.tasks.shutdown()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        self.shutdown()
        super().closeEvent(event)
