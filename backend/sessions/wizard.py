"""What a wizard knows, without Qt: the step shown, the inputs and options chosen, the output it
proposes, whether the preview shown belongs to the latest edit, and the state of its run.

Every wizard of the window (the Convert pane's conversions, the Cosmos and IDM flows) has the same
four steps, inputs -> options with a live preview -> run -> done, and drives one ``WizardSession``;
its widget only lays out the form and forwards edits and task results here. A test drives it alone:

    session = WizardSession()
    session.edited()                     # an input or option changed
    token = session.preview_requested()  # a preview task starts for this edit
    session.plan_arrived(token, plan)    # False when a newer edit came in between (latest wins)
    session.next_check(inputs_ok)        # (may the user go on, the note saying why not)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

INPUTS, OPTIONS, RUN, DONE = range(4)
STEPS = ("Inputs", "Options", "Run", "Done")

IDLE, RUNNING, FINISHED, FAILED, CANCELLED = "idle", "running", "finished", "failed", "cancelled"

Check = tuple[bool, str]
Listener = Callable[[str], None]


@dataclass
class WizardSession:
    """One wizard's state. Listeners hear ``"step"``, ``"changed"``, ``"plan"``, ``"run"``, ``"out"``."""

    step: int = INPUTS
    generation: int = 0  # counts edits of the inputs and options
    plan: dict[str, Any] = field(default_factory=dict)
    plan_generation: int = -1  # the edit the plan shown belongs to
    inputs: Any = None  # what the backend's plan and run take as inputs
    options: Any = None  # the backend's options, as last built from the form
    out: str = ""
    out_touched: bool = False  # typed by the user: never replaced by a proposal
    run_state: str = IDLE
    last_error: str | None = None
    result: Any = None
    listeners: list[Listener] = field(default_factory=list, repr=False)

    def subscribe(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def _tell(self, event: str) -> None:
        for listener in list(self.listeners):
            listener(event)

    # -- edits and the output proposal -------------------------------------------------------------
    def edited(self) -> int:
        """An input or option changed: the plan shown is stale until the next one arrives."""
        self.generation += 1
        self._tell("changed")
        return self.generation

    def set_out(self, path: str | Path, typed: bool = False) -> None:
        self.out = str(path).strip()
        if typed:
            self.out_touched = True
        self._tell("out")

    def propose_out(self, default: str | Path | None) -> str | None:
        """Take ``default`` as the output unless the user typed one; returns the new output, if any."""
        if self.out_touched or default is None or str(default) == self.out:
            return None
        self.out = str(default)
        self._tell("out")
        return self.out

    def forget_typed_out(self) -> None:
        """The proposal follows the options again (a switch that changes what the output is)."""
        self.out_touched = False

    # -- the preview: latest request wins -----------------------------------------------------------
    def preview_requested(self) -> int:
        """The token a preview task hands back with its plan (the edit it was computed for)."""
        return self.generation

    def plan_arrived(self, token: int, plan: dict[str, Any] | None) -> bool:
        if token != self.generation:
            return False  # a newer edit is on its way: latest wins
        self.plan = dict(plan or {})
        self.plan_generation = token
        self._tell("plan")
        return True

    def plan_failed(self, token: int, message: str) -> bool:
        """The preview could not be computed: shown as the plan's one error; Run stays off."""
        return self.plan_arrived(token, {"errors": [message], "warnings": [], "failed": True})

    def preview_ready(self) -> bool:
        return self.plan_generation == self.generation and bool(self.plan)

    def preview_failed(self) -> bool:
        return self.preview_ready() and bool(self.plan.get("failed"))

    def fresh(self, key: str) -> list[str]:
        """The plan's ``errors`` or ``warnings`` when the plan is the latest one, else none."""
        return list(self.plan.get(key) or []) if self.plan_generation == self.generation else []

    # -- may the user go on ------------------------------------------------------------------------
    def options_check(self, local_errors: list[str] | None = None, blocked: str = "") -> Check:
        """Run is allowed once the latest preview has no errors (and the form none of its own)."""
        if local_errors:
            return False, "fix the options shown in red"
        if not self.preview_ready():
            return False, "computing the preview…"
        if self.plan.get("errors"):
            return False, blocked or "fix the problems shown in the preview"
        return True, ""

    def next_check(self, inputs: Check, options: Check | None = None) -> Check:
        """Whether Next (or Run) may be pressed on the current step."""
        if self.step == INPUTS:
            return inputs
        if self.step == OPTIONS:
            return options if options is not None else self.options_check()
        return False, ""

    def back_allowed(self) -> bool:
        return self.step > INPUTS and not (self.step == RUN and self.running)

    # -- steps -------------------------------------------------------------------------------------
    def go(self, step: int) -> None:
        if not INPUTS <= step <= DONE:
            raise ValueError(f"no wizard step {step}")
        self.step = step
        self._tell("step")

    def back_target(self) -> int | None:
        """The step Back leads to (None while a run goes on)."""
        if not self.back_allowed():
            return None
        return OPTIONS if self.step >= RUN else INPUTS

    # -- the run -----------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.run_state == RUNNING

    def run_started(self) -> None:
        self.run_state, self.last_error, self.result = RUNNING, None, None
        self.step = RUN
        self._tell("run")

    def run_finished(self, result: Any) -> None:
        self.run_state, self.result = FINISHED, result
        self.step = DONE
        self._tell("run")

    def run_failed(self, message: str) -> None:
        self.run_state, self.last_error = FAILED, message
        self._tell("run")

    def run_cancelled(self) -> None:
        self.run_state, self.last_error = CANCELLED, "cancelled"
        self._tell("run")

    def outcome(self) -> str:
        """The run step's last line: what happened to the output."""
        if self.run_state == FAILED:
            return f"failed: {self.last_error} (nothing was written)"
        if self.run_state == CANCELLED:
            return "cancelled: nothing was written"
        if self.run_state == FINISHED:
            return f"wrote {self.out}"
        return ""
