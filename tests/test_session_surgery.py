"""The surgery dialog's session, driven without Qt: choices, plan, run, drop-to-merge."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.errors import StudioError
from backend.formats import open_dataset
from backend.model import DatasetFormat
from backend.progress import Progress
from backend.sessions.surgery import SurgerySession, build_plan, run_plan
from tests.surgery_data import write_lerobot


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("session_surgery")
    write_lerobot(root / "other", DatasetFormat.LEROBOT_V30, (20,), ("stack",), seed=4)
    return write_lerobot(root / "ds", DatasetFormat.LEROBOT_V30, (20, 22, 24), ("pick", "place", "pick"))


def test_choices_plan_and_run(source: Path) -> None:
    seen: list[str] = []
    session = SurgerySession(str(source), 3, selection=[1])
    session.listeners.append(lambda s: seen.append(s.state))
    assert session.operation == "keep" and session.values["out"] == str(source.with_name("ds-keep"))
    session.set("split")
    assert session.values["out"].endswith("ds-split") and session.values["out2"].endswith("ds-split-rest")
    session.set("delete")
    assert session.values["out"].endswith("ds-delete")
    with open_dataset(source) as dataset:
        plan = build_plan(session.planning(), dataset)
        session.planned(plan)
        assert session.can_run and plan.outputs[0].episodes == 2
        reports: list[tuple[int, int]] = []
        summary = run_plan(
            session.running(), dataset, Progress(on_report=lambda d, t, _x: reports.append((d, t)))
        )
        session.finished(summary)
    assert session.state == "done" and "ds-delete" in session.message
    assert reports[-1] == (44, 44)
    with open_dataset(source.with_name("ds-delete")) as out:
        assert [e.task for e in out.episodes] == ["pick", "pick"]
    session.set(task="x")  # any change drops the plan shown
    assert session.plan is None and not session.can_run
    assert seen == ["editing", "editing", "planning", "planned", "running", "done", "editing"]


def test_drop_to_merge_and_refusals(source: Path) -> None:
    session = SurgerySession(str(source), 3)
    assert session.operation == "recompute-stats"  # nothing selected
    other = str(source.with_name("other"))
    session.add_merge_inputs([other, other, str(source)])
    assert session.operation == "merge" and session.values["merge_with"] == (other,)
    with open_dataset(source) as dataset:
        plan = build_plan(session.request(), dataset)
        assert plan.method == "join" and plan.outputs[0].episodes == 4
        session.set("trim")
        with pytest.raises(StudioError, match="select the episodes to trim first"):
            build_plan(session.request(), dataset)
        session.selection = [0, 2]
        session.set(first=2, last=9)
        trim = build_plan(session.request(), dataset)
    assert [(p.start, p.stop) for p in trim.outputs[0].pieces] == [(2, 10), (0, 22), (2, 10)]
    session.failed("boom")
    assert session.state == "failed" and session.message == "boom"
    with pytest.raises(StudioError):
        session.set("explode")


def test_cancel_leaves_nothing(source: Path) -> None:
    from backend.errors import Cancelled

    session = SurgerySession(str(source), 3, selection=[0, 1])
    session.set("split")
    with open_dataset(source) as dataset:
        session.planned(build_plan(session.request(), dataset))
        progress: Progress = Progress(
            on_report=lambda done, _t, _x: progress.cancel() if done >= 50 else None
        )
        with pytest.raises(Cancelled):
            run_plan(session.running(), dataset, progress)
        session.cancelled()
    assert session.state == "cancelled" and "nothing was written" in session.message
    parent = source.parent
    assert not Path(session.values["out"]).exists() and not Path(session.values["out2"]).exists()
    assert not [p for p in parent.iterdir() if ".partial" in p.name or p.name.startswith(".ds-split")]
