"""JobsSession and SubmitForm without Qt: a real job store in tmp_path, jobs moved by hand (no
runner, no supervisor), real log files."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from backend.jobs.store import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, JobStore, Point
from backend.jobs.templates import load_templates
from backend.sessions import jobs_forms
from backend.sessions.jobs import LOG_BACKLOG_SKIP, JobsSession, actions_for, progress_text
from backend.sessions.jobs_forms import SubmitForm, profile_form, profile_from_form
from backend.sessions.jobs_queue import (
    COL_ELAPSED,
    COL_ETA,
    COL_ID,
    COL_NAME,
    COL_STATE,
    JobRows,
    cell_text,
    duration,
    number,
    state_text,
    when,
)


def add(store: JobStore, name: str = "n", **kw) -> int:
    args = dict(
        name=name,
        template="command",
        runner="local",
        profile=None,
        argv=["echo", "hi"],
        env={},
        cwd="/tmp",
        submit_cwd="/tmp",
        params={"args": ["echo", "hi"]},
        template_spec={"name": "command"},
        profile_spec=None,
    )
    args.update(kw)
    return store.add_job(**args)


class Recorder:
    """A view of the rows: what it was told, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def __getattr__(self, name: str):
        return lambda *args: self.calls.append((name, *args))


@pytest.fixture
def store(tmp_path):
    """The writer's connection (the CLI's, the supervisor's)."""
    with JobStore(tmp_path / "jobs.sqlite") as opened:
        yield opened


def watch(store: JobStore) -> JobsSession:
    """A session on a connection of its own, as the pane has: it sees what other connections commit."""
    return JobsSession(JobStore(store.path))


def test_words_never_show_negative_zero_and_read_like_the_table():
    assert number(-0.0) == "0" and number(-0.00001, ".2f") == "0.00" and number(-1.5, ".2f") == "-1.50"
    assert number(0.123456789) == "0.12346"
    assert duration(None) == "" and duration(59.9) == "59s" and duration(61) == "1m 01s"
    assert duration(3600 * 2 + 65) == "2h 01m"
    assert when(None) == "" and len(when(time.time())) == 8  # today: the time of day only
    assert when(time.time() - 3 * 86400).count("-") == 2  # another day: the date too


def test_state_texts_and_actions(store):
    a, b = add(store), add(store)
    store.update(a, state=FAILED, exit_code=3)
    store.update(b, state=RUNNING, cancel_requested=time.time())
    job_a, job_b = store.get(a), store.get(b)
    assert state_text(job_a) == "failed (3)" and state_text(job_b) == "stopping"
    store.update(b, state=QUEUED, cancel_requested=None, external_state="PENDING")
    assert state_text(store.get(b)) == "queued (Slurm PENDING)"
    assert actions_for([]) == dict.fromkeys(
        ("cancel", "retry", "duplicate", "remove", "edit", "after"), False
    )
    assert actions_for([store.get(b)]) == {
        "cancel": True,
        "retry": False,
        "duplicate": True,
        "remove": False,
        "edit": True,
        "after": True,
    }
    both = actions_for([job_a, store.get(b)])
    assert both["retry"] and both["remove"] and both["cancel"] and not both["edit"] and not both["after"]
    store.update(a, loss=-0.0, progress_text="3/10")
    text = progress_text(store.get(a))
    assert "Loss: 0\n" in text + "\n" and "-0" not in text and "Progress: 3/10" in text


def test_rows_reset_update_insert_and_sort_tell_the_view(store):
    ids = [add(store, name=f"job {i}") for i in range(3)]
    recorder = Recorder()
    rows = JobRows(recorder)
    rows.reset(store.list_jobs())
    assert [j.id for j in rows.jobs] == ids[::-1] and recorder.calls == [("about_to_reset",), ("reset_done",)]
    assert cell_text(rows.jobs[0], COL_NAME) == "job 2" and cell_text(rows.jobs[0], COL_STATE) == "queued"
    recorder.calls.clear()
    rev, _ = store.revision()
    store.update(ids[0], state=RUNNING, started_at=time.time() - 61)
    new = add(store, name="new")
    rows.apply(store.changed_since(rev))
    assert rows.jobs[0].id == new and rows.job(ids[0]).state == RUNNING
    assert ("changed", 2, 2, 0, 9) in recorder.calls  # updated in place (before the insert)
    assert ("about_to_insert", 0, 0) in recorder.calls and recorder.calls[-1] == ("inserted",)
    assert cell_text(rows.job(ids[0]), COL_ELAPSED) == "1m 01s"
    # sorting by name, ascending: the view learns where every row went
    recorder.calls.clear()
    before = {job.id: row for row, job in enumerate(rows.jobs)}
    rows.sort(COL_NAME, descending=False)
    assert [j.name for j in rows.jobs] == ["job 0", "job 1", "job 2", "new"]
    name, moved = recorder.calls[-1]
    assert name == "moved" and {before[j.id]: r for r, j in enumerate(rows.jobs)} == moved
    # under a non-default order a change marks the rows for re-sorting on the next tick
    rev, _ = store.revision()
    store.update(ids[1], name="zzz")
    rows.apply(store.changed_since(rev))
    assert rows.sort_dirty
    recorder.calls.clear()
    rows.refresh_times()
    assert not rows.sort_dirty and rows.jobs[-1].name == "zzz"
    row = rows.rows[ids[0]]  # the running job's ETA..elapsed cells repaint
    assert recorder.calls[-1] == ("changed", row, row, COL_ETA, COL_ELAPSED)
    rows.sort(COL_ID, descending=True)
    assert rows.default_order and [j.id for j in rows.jobs] == sorted(rows.rows, reverse=True)


def test_filter_by_text_and_states(store):
    a = add(store, name="Cosmos posttrain")
    b = add(store, name="idm")
    store.update(b, state=SUCCEEDED)
    session = watch(store)
    session.poll()
    job_a, job_b = session.rows.job(a), session.rows.job(b)
    session.filter.set("  COSMOS ", set())
    assert session.filter.accepts(job_a) and not session.filter.accepts(job_b)
    session.filter.set("", {SUCCEEDED, CANCELLED})
    assert not session.filter.accepts(job_a) and session.filter.accepts(job_b)
    session.filter.set(str(a), set())
    assert session.filter.accepts(job_a)


def test_poll_reads_only_changes_and_tells_what_moved(store):
    first = add(store)
    session = watch(store)
    result = session.poll()
    assert result.changed and result.reset and [j.id for j in session.rows.jobs] == [first]
    assert not session.poll().changed  # nothing changed: only a pragma was read
    second = add(store, deps=[first])
    result = session.poll()
    assert result.changed and not result.reset and session.rows.jobs[0].id == second
    # the selected job changes: the session says so, and its chain too
    assert session.select([second])
    job, restart = session.show()
    assert job.id == second and restart and job.deps == [first]
    roots = session.chain(job)
    assert session.chain_size() == 2 and roots[0].job.id == first and roots[0].children[0].current
    store.update(first, state=RUNNING)
    result = session.poll()
    assert result.chain and not result.selected
    store.update(second, progress_text="1/2")
    assert session.poll().selected
    assert not session.select([second, first])  # the job shown stays the first selected
    assert session.selected_ids == [second, first]
    # removing a job re-reads the whole list
    store.update(first, state=SUCCEEDED)
    store.update(second, state=CANCELLED)
    store.delete(first)
    result = session.poll()
    assert result.reset and [j.id for j in session.rows.jobs] == [second]
    assert session.update_status() and session.status == "no jobs running"
    assert not session.update_status()


def test_log_follows_new_lines_skips_a_backlog_and_ends_with_the_partial_line(store):
    job_id = add(store)
    session = watch(store)
    session.poll()
    session.select([job_id])
    job, restart = session.show()
    log = Path(job.log_path)
    log.write_text("one\ntwo\npart")
    assert restart and session.follow_log() == [("text", "one\ntwo\n")]
    assert session.read_log() == []  # the partial line waits for its end
    with open(log, "a") as handle:
        handle.write("ial\n" + "x" * 10 + "\n")
    assert session.read_log() == [("text", "partial\n" + "x" * 10 + "\n")]
    with open(log, "a") as handle:  # more than anyone reads: the newest output, with a notice
        handle.write(("y" * 99 + "\n") * (LOG_BACKLOG_SKIP // 100 + 100))
    pieces = session.read_log()
    assert pieces[0][0] == "notice" and "MB skipped" in pieces[0][1] and pieces[1][1].endswith("y\n")
    with open(log, "a") as handle:
        handle.write("last words")
    assert session.read_log() == [] and not session.log_done()
    store.update(job_id, state=SUCCEEDED)
    session.poll()
    assert session.read_log() == [("text", "last words")] and session.log_done()
    # another attempt: the log is followed anew, from its own file
    store.update(job_id, attempt=2, log_path=str(log.with_name("attempt-2.log")), state=QUEUED)
    session.poll()
    _job, restart = session.show()
    assert restart and session.follow_log() == []
    assert session.select([]) and session.log is None and session.read_log() == []


def test_a_long_log_starts_at_its_newest_part(store):
    job_id = add(store)
    session = watch(store)
    session.poll()
    session.select([job_id])
    job, _ = session.show()
    Path(job.log_path).write_text("".join(f"line {i:07d}\n" for i in range(40_000)))  # 520 kB
    pieces = session.follow_log()
    assert pieces[0][0] == "notice" and "MB earlier" in pieces[0][1]
    assert pieces[1][1].startswith("line ") and pieces[1][1].endswith("line 0039999\n")


def test_loss_curve_reads_points_incrementally(store):
    job_id = add(store)
    store.update(job_id, state=SUCCEEDED)
    store.add_points(job_id, 1, [Point(1, 0.0, 1.0), Point(2, 0.1, None), Point(3, 0.2, 0.5)])
    session = watch(store)
    session.poll()
    session.select([job_id])
    session.show()
    assert session.curve.x == [1, 3] and session.curve.y == [1.0, 0.5]
    assert not session.tick()  # no new points (and no active job: the supervisor is left alone)
    store.add_points(job_id, 1, [Point(4, 0.3, 0.25)])
    assert session.tick() and session.curve.x == [1, 3, 4]


def test_submit_form_checks_as_typed(store, tmp_path):
    templates = load_templates()
    form = SubmitForm(store, templates, tmp_path, template_name="command")
    check = form.check()
    assert not check.ok and check.errors  # the command is required
    form.values = {"args": ["echo", "a b"]}
    check = form.check()
    assert check.ok and "echo 'a b'" in check.preview and check.preview.startswith("cd ")
    form.after_text = "#99"
    check = form.check()
    assert not check.ok and check.preview == "No job 99 to wait for."
    first = add(store)
    form.after_text = f"#{first}, x"
    assert form.check().ok and form.after() == [first]
    form.name, form.priority = "  mine ", 3
    assert form.submit_options() == {
        "profile": None,
        "runner": "local",
        "after": [first],
        "priority": 3,
        "name": "mine",
        "max_retries": 0,
        "submit_cwd": str(tmp_path),
    }
    # a tool's template needs a profile of that tool
    cosmos = SubmitForm(store, templates, tmp_path, template_name="cosmos-posttrain")
    choices, hint = cosmos.profile_choices()
    assert choices == [] and "No cosmos-predict2.5 profile" in hint
    assert cosmos.check().preview == "Choose a cosmos-predict2.5 environment profile."
    store.save_profile(
        "cosmos",
        {"name": "cosmos", "tool": "cosmos-predict2.5", "repo": str(tmp_path), "python": [sys.executable]},
    )
    choices, hint = cosmos.profile_choices()
    assert choices == [("cosmos", "cosmos")] and hint == ""
    cosmos.profile = "cosmos"
    cosmos.values = {"output_root": str(tmp_path / "out"), "nproc": "2"}
    check = cosmos.check()
    assert check.ok and "--nproc_per_node=2" in check.preview
    # editing a queued job starts from what it holds
    edited = SubmitForm.for_job(store, templates, tmp_path, store.get(first))
    assert edited.values == {"args": ["echo", "hi"]} and edited.editing.id == first


def test_profile_form_round_trip_and_errors():
    values = {
        "name": "leisaac",
        "tool": "leisaac",
        "python": "conda run -n x python",
        "env": ["PYTHONPATH=."],
        "slurm": ["partition = gpu"],
    }
    profile, errors = profile_from_form(values, {"slurm": {"extra": ["--exclusive"]}})
    assert errors == {} and profile.python == ["conda", "run", "-n", "x", "python"]
    assert profile.env == {"PYTHONPATH": "."} and profile.slurm == {
        "partition": "gpu",
        "extra": ["--exclusive"],
    }
    shown = profile_form(profile)
    assert shown["python"] == "conda run -n x python" and shown["slurm"] == ["partition=gpu"]
    profile, errors = profile_from_form({"name": "x", "env": ["no equals"], "python": "'open"}, None)
    assert profile is None and set(errors) == {"env", "python"}


def test_actions_run_against_the_store_and_report_problems(store):
    a, b = add(store), add(store)
    store.update(a, state=SUCCEEDED)
    problems = jobs_forms.act(str(store.path), "remove", [a, b])
    assert problems == [f"job {b} is not finished"]
    assert not store.exists(a) and store.exists(b)


# -- operator experience (#16): a typed command, Duplicate, times, loss ------------------------------------
def test_a_shell_line_is_split_visibly_and_warned_about(store, tmp_path):
    from backend.sessions.jobs_command import find_program, split_line

    line = split_line("sleep 5; echo hi")
    assert line.argv == ["sleep", "5;", "echo", "hi"] and not line.error
    assert '";"' in line.warning and '"5;"' in line.warning and "No shell" in line.warning
    assert line.fix == "sh -c 'sleep 5; echo hi'" and split_line(line.fix).argv == [
        "sh",
        "-c",
        "sleep 5; echo hi",
    ]
    assert split_line("echo 'a;b'").warning == ""  # a quoted ';' was meant as an argument
    assert split_line("python train.py --steps 100").warning == ""
    assert "close the quote" in split_line('echo "x').error
    form = SubmitForm(store, load_templates(), tmp_path, template_name="command")
    form.values = {"args": "sleep 5; echo hi"}  # the dialog gives the line as typed
    check = form.check()
    assert check.ok and check.commands["args"].argv == ["sleep", "5;", "echo", "hi"]
    assert form.params() == {"args": ["sleep", "5;", "echo", "hi"]}
    assert check.preview.splitlines()[-1] == "sleep '5;' echo hi"
    form.values = {"args": 'echo "open'}
    check = form.check()
    assert not check.ok and "close the quote" in check.errors["args"]
    # Check finds the program on PATH, or says it is missing
    assert (
        find_program("sleep", str(tmp_path)).ok
        and "sleep is /" in find_program("sleep", str(tmp_path)).detail
    )
    missing = find_program("nosuchprog", str(tmp_path))
    assert not missing.ok and missing.detail.startswith("nosuchprog is not on PATH")
    values, errors = SubmitForm(
        store, load_templates(), tmp_path, "command", values={"args": "nosuchprog a"}
    ).coerced()
    checks = jobs_forms.preflight(load_templates().get("command"), values, None, "local", True, str(tmp_path))
    assert checks[0].what == "program" and not checks[0].ok and "nosuchprog" in checks[0].detail
    script = tmp_path / "run.sh"
    script.write_text("#!/bin/sh\n")
    assert not find_program("./run.sh", str(tmp_path)).ok  # not executable
    script.chmod(0o755)
    assert find_program("./run.sh", str(tmp_path)).detail == f"./run.sh is {script}"


def test_duplicate_starts_from_the_old_job_as_a_new_one(store, tmp_path):
    first = add(store, name="old", priority=4)
    copy = SubmitForm.copy_of(store, load_templates(), tmp_path, store.get(first))
    assert copy.editing is None and copy.values == {"args": ["echo", "hi"]}
    assert (copy.name, copy.priority, copy.template_name) == ("old", 4, "command")
    assert copy.params() == {"args": ["echo", "hi"]} and copy.check().ok


def test_progress_and_table_read_the_same_elapsed_and_loss_note(store):
    job_id = add(store)
    store.update(job_id, state=RUNNING, started_at=time.time() - 125.4)
    session = watch(store)
    session.poll()
    session.select([job_id])
    session.show()
    session.tick()
    cell = cell_text(session.rows.job(job_id), COL_ELAPSED, session.rows.now)
    assert cell.startswith("2m ") and f"Elapsed: {cell}" in session.progress().splitlines()
    assert "No loss reported yet" in session.loss_note()
    store.update(job_id, state=SUCCEEDED, ended_at=time.time())
    session.poll()
    assert session.loss_note().startswith("This job reported no loss")
    store.add_points(job_id, 1, [Point(1, 0.5, 0.0)])
    session.tick()
    assert session.loss_note() == ""
