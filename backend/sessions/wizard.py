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

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.atomic import studio_wrote

INPUTS, OPTIONS, RUN, DONE = range(4)
STEPS = ("Inputs", "Options", "Run", "Done")

IDLE, RUNNING, FINISHED, FAILED, CANCELLED = "idle", "running", "finished", "failed", "cancelled"

Check = tuple[bool, str]
Listener = Callable[[str], None]

# The backend's refusals speak to the command line (its hints name flags); a wizard has no flags.
# Each known hint, as the window says it; any other flag left over is named as an option.
WINDOW_HINTS = (
    ("choose another --out or pass --overwrite", "choose another output"),
    ("choose another output, or replace it if the studio wrote it", "choose another output"),
    (
        "pass --map EPISODE=DEMO for each episode, e.g. --map 0=demo_0",
        "choose the demo of each episode in the mapping table",
    ),
    (
        "pass --overwrite-conf to replace it",
        "tick “Replace an existing experiment_cfg/conf.yaml” to replace it",
    ),
    (
        "pass --source-dataset (the LeRobot dataset the IDM was trained on) or --metadata DIR",
        "choose the Source dataset (the LeRobot dataset the IDM was trained on) or a Metadata folder",
    ),
    ("or pass --keep-short", "or tick “Keep episodes of … frames or fewer”"),
    ("choose another --out", "choose another output"),
)
_PASS_FLAG = re.compile(r"\b(?:pass|use|with|set) --([a-z][\w-]*)(?: [A-Z][A-Z=_]*)?")
_FLAG = re.compile(r"(?<![\w-])--([a-z][\w-]*)")
EXISTS = "output already exists"


def window_words(text: str) -> str:
    """A backend message as the window says it: no command-line flags ("--out", "pass --overwrite")."""
    for cli, window in WINDOW_HINTS:
        text = text.replace(cli, window)
    text = _PASS_FLAG.sub(lambda m: f"set “{m.group(1).replace('-', ' ')}”", text)
    return _FLAG.sub(lambda m: f"“{m.group(1).replace('-', ' ')}”", text)


def fresh_out(path: str | Path) -> Path:
    """``path`` when nothing is there, else the first free ``name_2``, ``name_3``… beside it (a file
    keeps its suffix: ``replay_2.hdf5``)."""
    path = Path(path)
    if not (path.exists() or path.is_symlink()):
        return path
    stem, suffix = (path.stem, path.suffix) if path.suffix and not path.is_dir() else (path.name, "")
    number = 2
    while True:
        candidate = path.with_name(f"{stem}_{number}{suffix}")
        if not (candidate.exists() or candidate.is_symlink()):
            return candidate
        number += 1


@dataclass(frozen=True)
class OutputConflict:
    """An output that is already there: whether the studio may replace it, and the sentence to show."""

    path: str
    replaceable: bool
    sentence: str


def output_conflict(out: str | Path) -> OutputConflict | None:
    """None when ``out`` is free; else what the window says about it. Only an output the studio wrote
    (and nobody changed since) may be replaced (``backend.atomic.studio_wrote``)."""
    if not str(out):
        return None
    path = Path(out).expanduser()
    if not (path.exists() or path.is_symlink()):
        return None
    why = studio_wrote(path)
    if why is None:
        sentence = f"{path} already exists (an earlier output of the studio): Replace it, or choose another output"
        return OutputConflict(str(path), True, sentence)
    return OutputConflict(str(path), False, f"{path} already exists and {why}: choose another output")


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
    replace_out: str = ""  # the existing output the user agreed to replace (only the studio's own)
    out_conflict: OutputConflict | None = None  # what the latest preview found at the output
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
        """Take ``default`` as the output unless the user typed one; returns the new output, if any.
        A name already taken (an earlier run's output) becomes a fresh one: ``name_2``."""
        if self.out_touched or default is None:
            return None
        default = fresh_out(default)
        if str(default) == self.out:
            return None
        self.out = str(default)
        self._tell("out")
        return self.out

    def forget_typed_out(self) -> None:
        """The proposal follows the options again (a switch that changes what the output is)."""
        self.out_touched = False

    # -- an output that is already there -----------------------------------------------------------
    def conflict(self) -> OutputConflict | None:
        """What the latest preview found at the output (None: free, or found for another output)."""
        found = self.out_conflict
        if found is None or not self.out or found.path != str(Path(self.out).expanduser()):
            return None
        return found

    def look_at_out(self) -> OutputConflict | None:
        """Look at the output now (the preview task does it off the GUI thread and hands it in)."""
        self.out_conflict = output_conflict(self.out)
        return self.out_conflict

    @property
    def overwrite(self) -> bool:
        """Run with overwrite: the user pressed Replace for this very output, and it is the studio's
        (the backend checks again before it deletes anything)."""
        conflict = self.conflict()
        return (
            bool(self.out) and self.replace_out == self.out and conflict is not None and conflict.replaceable
        )

    def allow_replace(self) -> bool:
        """The user pressed Replace: allowed only for an existing output of the studio."""
        if not self.replace_offered():
            return False
        self.replace_out = self.out
        self.edited()
        return True

    def replace_offered(self) -> bool:
        """Whether the window offers Replace now (the output is the studio's and not yet chosen)."""
        conflict = self.conflict()
        return conflict is not None and conflict.replaceable and self.replace_out != self.out

    def start_another(self) -> None:
        """ "Convert another": the next run proposes its own output (a fresh name) and replaces nothing."""
        self.forget_typed_out()
        self.replace_out = ""

    def in_window_words(self, message: str) -> str:
        """A backend message as the window says it; an existing output is named with what may be done."""
        conflict = self.conflict()
        if conflict is not None and (EXISTS in message or "cannot replace:" in message):
            return conflict.sentence
        return window_words(message)

    # -- the preview: latest request wins -----------------------------------------------------------
    def preview_requested(self) -> int:
        """The token a preview task hands back with its plan (the edit it was computed for)."""
        return self.generation

    def plan_arrived(
        self, token: int, plan: dict[str, Any] | None, conflict: OutputConflict | None = None
    ) -> bool:
        """The preview of edit ``token`` (and what it found at the output); False when stale."""
        if token != self.generation:
            return False  # a newer edit is on its way: latest wins
        self.out_conflict = conflict
        self.plan = dict(plan or {})
        for key in ("errors", "warnings"):
            if self.plan.get(key):
                self.plan[key] = [self.in_window_words(str(text)) for text in self.plan[key]]
        if self.overwrite:
            replaced = f"{self.out} will be replaced (an earlier output of the studio)"
            self.plan["warnings"] = [*(self.plan.get("warnings") or []), replaced]
        self.plan_generation = token
        self._tell("plan")
        return True

    def plan_failed(self, token: int, message: str, conflict: OutputConflict | None = None) -> bool:
        """The preview could not be computed: shown as the plan's one error; Run stays off."""
        return self.plan_arrived(token, {"errors": [message], "warnings": [], "failed": True}, conflict)

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
        self.generation += 1  # the output now exists: the plan shown before the run is stale
        self.replace_out = ""  # Replace was agreed for one run
        self._tell("run")

    def run_failed(self, message: str) -> None:
        self.run_state, self.last_error = FAILED, self.in_window_words(message)
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
