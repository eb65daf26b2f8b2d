"""``TaskFailed.about``: a task's error about the file its caller names already says the problem
alone; about another file, or not a ``StudioError``, it says everything (in a worker or in-process)."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.episode_tasks import EpisodeTasks, Task, TaskFailed
from backend.errors import FormatError
from backend.pool import error_fields, one_line

FILE = "/data/rec ü.hdf5"


def _failed(error: Exception) -> TaskFailed:
    return TaskFailed(one_line(error), 0, error_fields(error))


def test_the_same_file_is_said_once_with_its_hint() -> None:
    failed = _failed(FormatError("cannot read frame 0 of demo_2/obs/wrist", Path(FILE), "re-record it"))
    outer = FormatError(f"cannot export episode 2 ({failed.about(FILE)})", FILE)
    assert outer.message == (
        "/data/rec ü.hdf5: cannot export episode 2 (cannot read frame 0 of demo_2/obs/wrist (re-record it))"
    )


def test_another_file_or_a_plain_error_keeps_the_whole_text() -> None:
    other = _failed(FormatError("cannot read frame 0", "/data/other.hdf5"))
    assert other.about(FILE) == "/data/other.hdf5: cannot read frame 0"
    assert other.about(None) == "/data/other.hdf5: cannot read frame 0"
    plain = _failed(ValueError("frame\nof shape (2, 3)"))
    assert plain.details == {} and plain.about(FILE) == "frame of shape (2, 3)"


def _fail(payload: dict, report) -> None:
    raise FormatError("cannot read frame 3", payload["path"], "check the file")


def test_in_process_tasks_carry_the_file_and_problem(tmp_path: Path, monkeypatch) -> None:
    source = tmp_path / "rec.hdf5"
    tasks = EpisodeTasks("unused.module", _fail, workers=1)
    tasks.submit([Task(0, {"path": str(source)})])
    with pytest.raises(TaskFailed) as raised:
        tasks.results(0, lambda: None)
    assert str(raised.value) == f"{source}: cannot read frame 3 (check the file)"
    assert raised.value.about(source) == "cannot read frame 3 (check the file)"
    monkeypatch.chdir(tmp_path)  # a relative path to the same file is the same file
    assert raised.value.about("rec.hdf5") == "cannot read frame 3 (check the file)"
