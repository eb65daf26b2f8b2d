"""What the surgery dialog knows: the dataset and selected episodes, the operation and its
parameters, the plan shown, and how the run went. The dialog lays out widgets and forwards here.

    session = SurgerySession("/data/ds", episodes=10, selection=[2, 5])
    session.set(operation="delete", out="/data/ds-without")
    plan = build_plan(session.request(), dataset)        # in a task: reads metadata only
    session.planned(plan)                                # the plan is shown; Run is enabled
    summary = run_plan(plan, dataset, progress=progress) # in a task
    session.finished(summary)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.errors import StudioError
from backend.model import Dataset
from backend.progress import Progress
from backend.surgery import EditSummary, Plan, execute

OPERATIONS = {  # operation -> what the dialog says it does
    "keep": "Keep only the selected episodes",
    "delete": "Delete the selected episodes",
    "split": "Split: the selected episodes | the rest",
    "trim": "Trim the selected episodes to a frame window",
    "retask": "Change the task of the selected episodes",
    "merge": "Merge with other datasets",
    "rename-feature": "Rename a column or camera",
    "remove-feature": "Remove columns or cameras",
    "recompute-stats": "Recompute statistics",
    "reencode": "Re-encode every camera",
    "images-to-video": "Encode cameras stored as images as video",
}
STATES = ("editing", "planning", "planned", "running", "done", "failed", "cancelled")


@dataclass(frozen=True)
class Request:
    """Everything an operation needs, as chosen (plain values, safe to hand to a task)."""

    dataset: str
    operation: str
    selection: tuple[int, ...] = ()
    out: str = ""
    out2: str = ""  # split's second output
    merge_with: tuple[str, ...] = ()
    task: str = ""
    first: int = 0  # trim: first kept frame
    last: int = -1  # trim: last kept frame (inclusive; -1: the episode's last)
    old: str = ""  # rename: the name now
    new: str = ""
    names: tuple[str, ...] = ()  # remove
    codec: str = "h264"


def _suffix(path: Path, tag: str) -> str:
    stem = path.stem if path.suffix.lower() in (".hdf5", ".h5") else path.name
    return str(path.with_name(f"{stem}-{tag}{path.suffix if path.is_file() else ''}"))


@dataclass
class SurgerySession:
    dataset: str
    episodes: int
    selection: list[int] = field(default_factory=list)
    operation: str = "keep"
    values: dict[str, Any] = field(default_factory=dict)
    plan: Plan | None = None
    summary: EditSummary | None = None
    state: str = "editing"
    message: str = ""
    listeners: list[Callable[[SurgerySession], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.operation = "keep" if self.selection else "recompute-stats"
        self.values.setdefault("out", self.default_out())

    # -- choosing ------------------------------------------------------------------------------
    def default_out(self, operation: str | None = None, second: bool = False) -> str:
        op = operation or self.operation
        return _suffix(Path(self.dataset), f"{op}{'-rest' if second else ''}")

    def set(self, operation: str | None = None, **values: Any) -> None:
        """Change the operation or its values; a plan shown before no longer holds."""
        if operation is not None and operation != self.operation:
            if operation not in OPERATIONS:
                raise StudioError(f"unknown operation {operation!r}")
            if self.values.get("out") in (None, "", self.default_out()):
                self.values["out"] = self.default_out(operation)
            if operation == "split" and not self.values.get("out2"):
                self.values["out2"] = self.default_out("split", second=True)
            self.operation = operation
        self.values.update(values)
        self.plan, self.summary, self.state, self.message = None, None, "editing", ""
        self._notify()

    def request(self) -> Request:
        v = self.values
        return Request(
            self.dataset,
            self.operation,
            tuple(self.selection),
            str(v.get("out", "")),
            str(v.get("out2", "")),
            tuple(v.get("merge_with", ())),
            str(v.get("task", "")),
            int(v.get("first", 0)),
            int(v.get("last", -1)),
            str(v.get("old", "")),
            str(v.get("new", "")),
            tuple(v.get("names", ())),
            str(v.get("codec", "h264")),
        )

    def add_merge_inputs(self, paths: list[str]) -> None:
        """Datasets dropped on the pane: merge them after this one."""
        current = [p for p in self.values.get("merge_with", ()) if p]
        for path in paths:
            if path not in current and Path(path) != Path(self.dataset):
                current.append(path)
        self.set("merge", merge_with=tuple(current))

    # -- the plan and the run (their results come back from tasks) ------------------------------
    @property
    def can_run(self) -> bool:
        return self.plan is not None and self.state == "planned"

    def planning(self) -> Request:
        self.state, self.message = "planning", ""
        self._notify()
        return self.request()

    def planned(self, plan: Plan) -> None:
        self.plan, self.state, self.message = plan, "planned", ""
        self._notify()

    def running(self) -> Plan:
        if self.plan is None:
            raise StudioError("show the plan first")
        self.state = "running"
        self._notify()
        return self.plan

    def finished(self, summary: EditSummary) -> None:
        self.summary, self.state = summary, "done"
        paths = ", ".join(o["path"] for o in summary.outputs)
        self.message = f"Written and validated: {paths}"
        self._notify()

    def failed(self, message: str) -> None:
        self.state, self.message = "failed", message
        self._notify()

    def cancelled(self) -> None:
        self.state, self.message = "cancelled", "Cancelled; nothing was written."
        self._notify()

    def _notify(self) -> None:
        for listener in list(self.listeners):
            listener(self)


# -- what the tasks run -------------------------------------------------------------------------------
def build_plan(request: Request, dataset: Dataset, progress: Progress | None = None) -> Plan:
    """The plan of ``request`` on the open ``dataset`` (merge partners are opened and closed here);
    outputs that exist or lie inside, equal or contain an input are refused here already."""
    from backend.surgery.common import check_outputs

    plan = _plan(request, dataset)
    check_outputs([o.path for o in plan.outputs], plan.inputs, overwrite=False)
    return plan


def _plan(request: Request, dataset: Dataset) -> Plan:
    from backend import surgery as s
    from backend.surgery.common import open_all

    op, chosen = request.operation, list(request.selection)
    needs_selection = ("keep", "delete", "split", "trim")
    if op in needs_selection and not chosen:
        raise StudioError(f"select the episodes to {op} first", dataset.path)
    if op == "keep":
        return s.plan_keep(dataset, chosen, request.out)
    if op == "delete":
        return s.plan_delete(dataset, chosen, request.out)
    if op == "split":
        return s.plan_split(dataset, [request.out, request.out2], chosen)
    if op == "trim":
        trims = {}
        for index in chosen:
            length = dataset.episode(index).length
            last = length - 1 if request.last < 0 else min(request.last, length - 1)
            trims[index] = (request.first, last + 1)
        return s.plan_trim(dataset, trims, request.out)
    if op == "retask":
        return s.plan_retask(dataset, request.task, request.out, chosen or None)
    if op == "merge":
        if not request.merge_with:
            raise StudioError("add the datasets to merge (drop them on the episode table)", dataset.path)
        others = open_all(list(request.merge_with))
        try:
            return s.plan_merge([dataset, *others], request.out)
        finally:
            for other in others:
                other.close()
    if op == "rename-feature":
        return s.plan_rename_feature(dataset, request.old, request.new, request.out)
    if op == "remove-feature":
        return s.plan_remove_feature(dataset, list(request.names), request.out)
    if op == "recompute-stats":
        return s.plan_recompute_stats(dataset, request.out)
    if op == "reencode":
        return s.plan_reencode(dataset, request.codec, request.out)
    if op == "images-to-video":
        return s.plan_images_to_video(dataset, request.out)
    raise StudioError(f"unknown operation {op!r}")


def run_plan(plan: Plan, dataset: Dataset, progress: Progress | None = None) -> EditSummary:
    """Write ``plan``; the open ``dataset`` is used when it is the only input."""
    single = len(plan.inputs) == 1 and Path(plan.inputs[0]) == Path(dataset.path).absolute()
    return execute(plan, progress=progress, datasets=[dataset] if single else None)
