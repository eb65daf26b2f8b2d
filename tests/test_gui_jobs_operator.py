"""Issue #16 item 5, as an operator meets it in the Jobs pane (pytest-qt driving the real widgets on a
real job store, real supervisor and real processes): a shell line typed as a command, Check, the New
job dialog's template, Duplicate, elapsed times, and a job that reports no loss."""

from __future__ import annotations

import json
import shlex
import sys

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QSettings, Qt  # noqa: E402

from app.context import AppContext  # noqa: E402
from app.panes.jobs import JobsPane  # noqa: E402
from app.panes.jobs.submit_dialog import SubmitDialog  # noqa: E402
from backend.jobs import service  # noqa: E402
from backend.jobs.store import JobStore  # noqa: E402
from backend.sessions.jobs_queue import COL_ELAPSED  # noqa: E402

pytest_plugins = ["test_jobs_fakes"]


@pytest.fixture
def context(tmp_path, jobs_env):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    ctx = AppContext(settings, tmp_path / "workspace")
    jobs_env.db = ctx.jobs_db
    return ctx


def make_pane(qtbot, context) -> JobsPane:
    pane = JobsPane(context, poll_ms=50)
    qtbot.addWidget(pane)
    pane.resize(1280, 760)
    pane.show()
    return pane


def click_action(qtbot, pane: JobsPane, action) -> None:  # noqa: ANN001
    qtbot.mouseClick(pane.toolbar.widgetForAction(action), Qt.MouseButton.LeftButton)


def type_command(qtbot, dialog, text: str) -> None:  # noqa: ANN001
    editor = dialog.form.editor("args")
    editor.edit.clear()
    qtbot.keyClicks(editor.edit, text)


def shown_dialog(pane: JobsPane, title: str) -> SubmitDialog:
    """The dialog a click opened (it is the pane's child)."""
    return next(d for d in pane.findChildren(SubmitDialog) if d.isVisible() and d.windowTitle() == title)


def job_count(context) -> int:  # noqa: ANN001
    with JobStore(context.jobs_db) as store:
        return len(store.list_jobs())


def test_a_shell_line_is_shown_split_check_finds_the_program_and_the_job_runs_the_list_shown(
    qtbot, context, jobs_env, tmp_path
):
    pane = make_pane(qtbot, context)
    dialog = pane.open_submit("command")
    qtbot.addWidget(dialog)
    editor = dialog.form.editor("args")
    assert editor.isVisible() and "without a shell" in editor.note.text()
    type_command(qtbot, dialog, "sleep 5; echo hi")
    # the split is shown, argument by argument, and ';' is named as a plain argument
    assert editor.parts.isVisible()
    assert [editor.parts.item(i).text() for i in range(editor.parts.count())] == ["sleep", "5;", "echo", "hi"]
    assert editor.warning.isVisible() and '";"' in editor.warning.text() and '"5;"' in editor.warning.text()
    assert "No shell runs this command" in editor.warning.text()
    assert dialog.preview.toPlainText().splitlines()[-1] == "sleep '5;' echo hi"
    # the offered fix runs the line through a shell
    assert editor.fix_button.isVisible()
    qtbot.mouseClick(editor.fix_button, Qt.MouseButton.LeftButton)
    assert editor.arguments() == ["sh", "-c", "sleep 5; echo hi"] and not editor.warning.isVisible()

    # Check names a program that is not on PATH, and where a real one is
    type_command(qtbot, dialog, "nosuchprog --flag")
    assert dialog.check_button.isEnabled()
    qtbot.mouseClick(dialog.check_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "nosuchprog is not on PATH" in dialog.preview.toPlainText(), timeout=10000)
    assert "BAD program" in dialog.preview.toPlainText()
    assert "Nothing to check" not in dialog.preview.toPlainText()
    type_command(qtbot, dialog, "sleep 1")
    qtbot.mouseClick(dialog.check_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "ok  program: sleep is /" in dialog.preview.toPlainText(), timeout=10000)

    # the submitted job's argv is the list shown
    out = tmp_path / "argv.json"
    type_command(qtbot, dialog, shlex.join(jobs_env.cmd("argv", str(out))) + " 'a b' 5; '$(x)'")
    shown = editor.arguments()
    assert shown[-3:] == ["a b", "5;", "$(x)"] and editor.warning.isVisible()
    with qtbot.waitSignal(dialog.accepted, timeout=20000):
        qtbot.mouseClick(dialog.submit_button, Qt.MouseButton.LeftButton)
    with JobStore(context.jobs_db) as store:
        job = service.wait(store, dialog.result_id, timeout=30)
    assert job.argv == shown and job.state == "succeeded"
    assert json.loads(out.read_text())["argv"] == ["a b", "5;", "$(x)"]


def test_new_job_remembers_its_template_and_duplicate_opens_it_filled_in(qtbot, context, jobs_env, tmp_path):
    pane = make_pane(qtbot, context)
    qtbot.mouseClick(pane.new_button, Qt.MouseButton.LeftButton)
    first = shown_dialog(pane, "New job")
    qtbot.addWidget(first)
    assert first.template_combo.currentIndex() == 0 and first.template_combo.currentData() != "command"
    first.template_combo.setCurrentIndex(first.template_combo.findData("command"))
    out = tmp_path / "argv.json"
    first.form.editor("args").set_arguments(jobs_env.cmd("argv", str(out), "x"))
    qtbot.keyClicks(first.name_edit, "the original")
    first.priority.setValue(3)
    with qtbot.waitSignal(first.accepted, timeout=20000):
        qtbot.mouseClick(first.submit_button, Qt.MouseButton.LeftButton)
    original = first.result_id
    # the New job button opens on the template used last, also after a restart
    qtbot.mouseClick(pane.new_button, Qt.MouseButton.LeftButton)
    second = shown_dialog(pane, "New job")
    qtbot.addWidget(second)
    assert second.template_combo.currentData() == "command" and second.template_combo.currentIndex() > 0
    second.reject()
    state = json.loads(json.dumps(pane.save_state()))
    restarted = make_pane(qtbot, context)
    restarted.restore_state(state)
    again = restarted.open_submit()
    qtbot.addWidget(again)
    assert again.template_combo.currentData() == "command"
    again.reject()
    restarted.close()

    # Duplicate: the dialog opens with the old values; nothing is queued until OK
    qtbot.waitUntil(lambda: pane.model.job(original) is not None, timeout=5000)
    pane.select_job(original)
    assert pane.duplicate_action.isEnabled()
    before = job_count(context)
    click_action(qtbot, pane, pane.duplicate_action)
    dialog = shown_dialog(pane, f"New job: a copy of job {original}")
    qtbot.addWidget(dialog)
    qtbot.wait(300)  # a store poll or two: still nothing new
    assert job_count(context) == before
    assert dialog.template_combo.currentData() == "command" and dialog.name_edit.text() == "the original"
    assert dialog.priority.value() == 3
    assert dialog.form.editor("args").arguments() == jobs_env.cmd("argv", str(out), "x")
    with qtbot.waitSignal(dialog.accepted, timeout=20000):
        qtbot.mouseClick(dialog.submit_button, Qt.MouseButton.LeftButton)
    assert job_count(context) == before + 1
    with JobStore(context.jobs_db) as store:
        copy = store.get(dialog.result_id)
        assert copy.id != original and copy.argv == store.get(original).argv and copy.name == "the original"


def test_elapsed_reads_the_same_in_the_table_and_the_progress_tab_and_no_loss_hides_the_plot(
    qtbot, context, jobs_env, tmp_path
):
    pids = tmp_path / "pids.json"
    script = "for i in range(1, 4): print(f'[RANK 0] Iteration {i}: Hit counter: {i}/3 | Loss: {1/i:.4f}')"
    with JobStore(context.jobs_db) as store:
        running = service.submit(store, "command", {"args": jobs_env.cmd("sleep", str(pids))})
        plain = service.submit(store, "command", {"args": ["echo", "hi"]})
        lossy = service.submit(store, "command", {"args": [sys.executable, "-c", script]})
    pane = make_pane(qtbot, context)
    qtbot.waitUntil(lambda: pane.model.job(running) is not None, timeout=5000)
    qtbot.waitUntil(lambda: pane.model.job(running).state == "running", timeout=20000)
    pane.select_job(running)

    def table_elapsed() -> str:
        row = pane.proxy.mapFromSource(pane.model.index(pane.model.rows[running], COL_ELAPSED))
        return pane.proxy.data(row)

    for at_least in (1, 2):
        qtbot.waitUntil(
            lambda n=at_least: table_elapsed() not in ("", "0s") and int(table_elapsed()[:-1]) >= n,
            timeout=10000,
        )
        assert f"Elapsed: {table_elapsed()}" in pane.progress_label.text().splitlines()
    assert not pane.plot.isVisible() and pane.tabs.no_loss.isVisible()
    assert "No loss reported yet" in pane.tabs.no_loss.text()

    # a plain command that printed no loss: a note instead of an empty plot
    qtbot.waitUntil(lambda: pane.model.job(plain).state == "succeeded", timeout=20000)
    pane.select_job(plain)
    qtbot.waitUntil(lambda: "succeeded" in pane.progress_label.text(), timeout=5000)
    assert f"Elapsed: {table_elapsed_of(pane, plain)}" in pane.progress_label.text().splitlines()
    assert f"Elapsed: {table_elapsed_of(pane, plain)}" in pane.details.toPlainText()
    assert not pane.plot.isVisible() and not pane.tabs.log_y.isVisible()
    assert pane.tabs.no_loss.isVisible() and "reported no loss" in pane.tabs.no_loss.text()
    # a job that reports loss shows its curve
    qtbot.waitUntil(lambda: pane.model.job(lossy).state == "succeeded", timeout=20000)
    pane.select_job(lossy)
    qtbot.waitUntil(lambda: len(pane.session.curve.y) == 3, timeout=5000)
    qtbot.waitUntil(lambda: pane.plot.isVisible(), timeout=3000)
    assert not pane.tabs.no_loss.isVisible() and pane.tabs.log_y.isVisible()
    with JobStore(context.jobs_db) as store:
        service.cancel(store, running)


def table_elapsed_of(pane: JobsPane, job_id: int) -> str:
    return pane.model.data(pane.model.index(pane.model.rows[job_id], COL_ELAPSED))
