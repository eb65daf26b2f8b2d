"""What every conversion wizard shares, the Convert pane's families and the Cosmos/IDM flows (one
shape, one behaviour): moving between its four steps, watching option widgets, ending a run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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


class WizardSteps:
    """Mixin for the steps inputs (0) -> options + preview (1) -> run (2) -> done (3) of a wizard
    with ``frame`` (a WizardFrame) and ``run_view``. Subclasses say what entering the options step
    does, whether each step may go on, and start the run."""

    frame: Any
    run_view: Any
    done_view: Any
    run_label = "Run"

    def connect_steps(self) -> None:
        """Wire the frame's and the run and done pages' buttons; show the inputs step."""
        self.frame.nextRequested.connect(self._next)
        self.frame.backRequested.connect(self._back)
        self.run_view.cancelRequested.connect(self.cancel)
        self.done_view.openRequested.connect(self._open_in_browse)
        self.done_view.openFolderRequested.connect(self._open_folder)
        self.done_view.againRequested.connect(lambda: self._go(0))
        self._go(0)

    def step(self) -> int:
        return self.frame.current()

    def _go(self, index: int) -> None:
        self.frame.setCurrent(index)
        if index == 1:
            self.frame.setNextText(self.run_label)
            self.entering_options()
        else:
            self.frame.setNextText("Next")
        self._update_next()

    def _next(self, current: int) -> None:
        if current == 0:
            self._go(1)
        elif current == 1:
            self.start_run()

    def _back(self, current: int) -> None:
        if current == 2 and self.run_view.running:
            return
        self._go(1 if current >= 2 else 0)

    def _update_next(self) -> None:
        step = self.frame.current()
        if step in (0, 1):
            ok, note = self.inputs_ready() if step == 0 else self.options_ready()
            self.frame.setNextEnabled(ok, note)
        elif step == 2:
            self.frame.setBackEnabled(not self.run_view.running)

    # the preview: latest request wins (``_generation`` counts option changes, ``_plan_generation``
    # says which one the plan shown belongs to; ``_timer`` debounces; ``refresh_preview`` asks)
    _generation: int
    _plan_generation: int
    _plan: dict[str, Any]
    _timer: Any

    def schedule_preview(self, immediate: bool = False) -> None:
        if immediate:
            self._timer.stop()
            self.refresh_preview()
        else:
            self._timer.start()

    def preview_ready(self) -> bool:
        return self._plan_generation == self._generation and bool(self._plan)

    def plan(self) -> dict[str, Any]:
        return self._plan

    # what each wizard says
    def refresh_preview(self) -> None:  # pragma: no cover - every wizard defines it
        raise NotImplementedError

    def entering_options(self) -> None:
        """The options step is shown: fill defaults, start the preview."""

    def inputs_ready(self) -> tuple[bool, str]:  # pragma: no cover - every wizard defines it
        raise NotImplementedError

    def options_ready(self) -> tuple[bool, str]:  # pragma: no cover - every wizard defines it
        raise NotImplementedError

    def start_run(self) -> None:  # pragma: no cover - every wizard defines it
        raise NotImplementedError

    def cancel(self) -> None:  # pragma: no cover - every wizard defines it
        raise NotImplementedError

    def _open_folder(self, path: str) -> None:  # pragma: no cover - every wizard defines it
        raise NotImplementedError


class WizardRunEndings:
    """Mixin for a wizard widget with ``context``, ``run_view``, ``last_error`` and ``_update_next``."""

    context: Any
    run_view: Any
    last_error: str | None

    def failure_title(self) -> str:
        return "The conversion failed"

    def _run_failed(self, message: str, details: str) -> None:
        self.last_error = message
        self.run_view.finish(False, f"failed: {message} (nothing was written)")
        self._update_next()
        self._status("")
        from app.error_dialog import show_error

        show_error(self, self.failure_title(), message, details)

    def _run_cancelled(self) -> None:
        self.last_error = "cancelled"
        self.run_view.finish(False, "cancelled: nothing was written")
        self._update_next()
        self._status("")

    def _status(self, text: str) -> None:
        if hasattr(self.context, "set_status"):
            self.context.set_status("convert", text)

    def _open_in_browse(self, path: str) -> None:
        if not path:
            return
        self.context.openDatasetRequested.emit(path)
        if hasattr(self.context, "showPaneRequested"):
            self.context.showPaneRequested.emit("browse")

    def _update_next(self) -> None:  # pragma: no cover - WizardSteps defines it
        raise NotImplementedError
