"""The Jobs pane standalone (qtbot, offscreen) on a real store with real jobs."""

from __future__ import annotations

import json
import sys

import pytest
from test_jobs_fakes import wait_for

pytest.importorskip("PySide6")

from PySide6.QtCore import QSettings, Qt  # noqa: E402

from app.context import AppContext  # noqa: E402
from app.panes.jobs import JobsPane  # noqa: E402
from backend.jobs import service  # noqa: E402
from backend.jobs.store import JobStore  # noqa: E402
from backend.sessions.jobs_queue import COL_ID, COL_STATE  # noqa: E402
from widgets.log_view import LogView, collapse_carriage_returns  # noqa: E402

pytest_plugins = ["test_jobs_fakes"]


@pytest.fixture
def context(tmp_path, jobs_env):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    ctx = AppContext(settings, tmp_path / "workspace")
    # the pane uses the workspace's store; point the fake environment at it
    jobs_env.db = ctx.jobs_db
    return ctx


def make_pane(qtbot, context) -> JobsPane:
    pane = JobsPane(context, poll_ms=50)
    qtbot.addWidget(pane)
    pane.resize(1200, 800)
    pane.show()
    return pane


def test_empty_state_then_live_job(qtbot, context, jobs_env):
    pane = make_pane(qtbot, context)
    assert pane.queue_stack.currentWidget() is pane.empty and "No jobs yet" in pane.empty.text()
    statuses = []
    context.statusChanged.connect(lambda field, text: statuses.append((field, text)))
    with JobStore(context.jobs_db) as store:
        job_id = service.submit(
            store, "command", {"args": jobs_env.cmd("tqdm", "30", "0.03")}, submit_cwd=str(context.workspace)
        )
    qtbot.waitUntil(lambda: pane.queue_stack.currentWidget() is pane.table, timeout=5000)
    pane.select_job(job_id)
    qtbot.waitUntil(lambda: pane.model.job(job_id).state == "succeeded", timeout=20000)
    qtbot.waitUntil(lambda: "30/30" in pane.log.plain_text(), timeout=5000)
    assert pane.model.data(pane.model.index(0, COL_STATE)) == "succeeded"
    assert "succeeded" in pane.progress_label.text()
    assert f"Job {job_id}" in pane.details.toPlainText()
    # one line per tqdm redraw would be 31 lines: the bar is collapsed to its final state
    assert pane.log.plain_text().count("/30 [") == 1
    assert any(field == "jobs" and "running" in text for field, text in statuses)


def test_loss_curve_artifacts_chain_and_actions(qtbot, context, jobs_env, tmp_path):
    out = tmp_path / "result"
    script = (
        "import os, sys, time\n"
        "for i in range(1, 6):\n"
        "    print(f'[RANK 0] Iteration {i}: Hit counter: {i}/100 | Loss: {1/i:.4f} | Time: 0.01s', flush=True)\n"
        "    time.sleep(0.05)\n"
        f"os.makedirs({str(out)!r}, exist_ok=True)\n"
    )
    with JobStore(context.jobs_db) as store:
        first = service.submit(store, "command", {"args": [sys.executable, "-c", script], "output": str(out)})
        pids = tmp_path / "pids.json"
        second = service.submit(store, "command", {"args": jobs_env.cmd("sleep", str(pids))}, after=[first])
    pane = make_pane(qtbot, context)
    qtbot.waitUntil(lambda: pane.model.job(first) is not None, timeout=5000)
    pane.select_job(first)
    qtbot.waitUntil(lambda: pane.model.job(first).state == "succeeded", timeout=20000)
    qtbot.waitUntil(lambda: len(pane.session.curve.y) == 5, timeout=5000)
    assert pane.session.curve.y[0] == pytest.approx(1.0) and pane.session.curve.x == [1, 2, 3, 4, 5]
    qtbot.waitUntil(lambda: pane.artifacts.topLevelItemCount() == 1, timeout=5000)
    assert pane.artifacts.topLevelItem(0).text(1) == str(out)
    assert pane.chain.topLevelItemCount() == 1 and pane.chain.topLevelItem(0).child(0).text(0).startswith(
        f"#{second}"
    )
    # opening a dataset artifact asks the Browse pane
    opened = []
    context.openDatasetRequested.connect(opened.append)
    pane.open_artifact(str(out), browse=True)
    assert opened == [str(out)]
    # cancel the running dependent through the pane's action
    wait_for(pids.exists, what="second job running")
    pane.select_job(second)
    assert pane.cancel_action.isEnabled() and not pane.retry_action.isEnabled()
    from PySide6.QtWidgets import QMessageBox

    QMessageBox.question = staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes)
    pane.act("cancel")
    qtbot.waitUntil(lambda: pane.model.job(second).state == "cancelled", timeout=20000)
    qtbot.waitUntil(lambda: pane.retry_action.isEnabled(), timeout=5000)
    pane.act("retry")
    qtbot.waitUntil(lambda: pane.model.job(second).attempt == 2, timeout=5000)
    qtbot.waitUntil(lambda: pane.model.job(second).state == "running", timeout=20000)
    # a CSV result is previewed as a table
    scores = tmp_path / "scores.csv"
    scores.write_text("video,score\n0_pick.mp4,4.0\n1_pick.mp4,2.0\n")
    with JobStore(context.jobs_db) as store:
        store.add_artifacts(first, [(str(scores), "table", "scores")])
    pane.select_job(first)
    qtbot.waitUntil(lambda: pane.artifacts.topLevelItemCount() == 2, timeout=5000)
    pane.artifacts.setCurrentItem(pane.artifacts.topLevelItem(1))
    assert not pane.table_preview.isHidden() and pane.table_preview.rowCount() == 2
    assert pane.table_preview.item(0, 1).text() == "4.0"
    # sorting by a column keeps the selection on the same job
    pane.select_job(second)
    pane.table.horizontalHeader().setSortIndicator(COL_ID, Qt.SortOrder.AscendingOrder)
    assert [j.id for j in pane.model.jobs] == [first, second] and pane.selected_ids() == [second]
    pane.table.horizontalHeader().setSortIndicator(COL_ID, Qt.SortOrder.DescendingOrder)
    assert [j.id for j in pane.model.jobs] == [second, first] and pane.selected_ids() == [second]
    state = pane.save_state()
    pane.restore_state(json.loads(json.dumps(state)))


def test_submit_dialog_validates_and_submits(qtbot, context, jobs_env, tmp_path):
    pane = make_pane(qtbot, context)
    dialog = pane.open_submit("cosmos-posttrain")
    qtbot.addWidget(dialog)
    assert not dialog.submit_button.isEnabled()  # no profile for the tool yet
    assert "No cosmos-predict2.5 profile" in dialog.profile_hint.text()
    dialog.reject()
    with JobStore(context.jobs_db) as store:
        store.save_profile(
            "cosmos",
            {
                "name": "cosmos",
                "tool": "cosmos-predict2.5",
                "repo": str(tmp_path),
                "python": [sys.executable],
            },
        )
    dialog = pane.open_submit("cosmos-posttrain")
    qtbot.addWidget(dialog)
    assert not dialog.submit_button.isEnabled()  # output root is required
    dialog.form.editor("output_root").setText(str(tmp_path / "out"))
    dialog.form.editor("nproc").setText("0")
    assert not dialog.submit_button.isEnabled()
    dialog.form.editor("nproc").setText("2")
    assert dialog.submit_button.isEnabled()
    assert "--nproc_per_node=2" in dialog.preview.toPlainText()
    assert "IMAGINAIRE_OUTPUT_ROOT=" in dialog.preview.toPlainText()
    dialog.reject()

    out = tmp_path / "argv.json"
    dialog = pane.open_submit("command")
    qtbot.addWidget(dialog)
    dialog.form.editor("args").set_arguments(jobs_env.cmd("argv", str(out), "a b", "$(x)"))
    dialog.name_edit.setText("from the dialog")
    assert dialog.submit_button.isEnabled()
    with qtbot.waitSignal(dialog.accepted, timeout=20000):
        dialog.submit_button.click()
    with JobStore(context.jobs_db) as store:
        job = service.wait(store, dialog.result_id, timeout=30)
    assert job.name == "from the dialog" and job.state == "succeeded"
    assert json.loads(out.read_text())["argv"] == ["a b", "$(x)"]


def test_edit_dialog_and_profiles_dialog(qtbot, context, jobs_env, tmp_path):
    with JobStore(context.jobs_db) as store:
        pids = tmp_path / "pids.json"
        blocker = service.submit(store, "command", {"args": jobs_env.cmd("sleep", str(pids))})
        waiting = service.submit(store, "command", {"args": ["true"]}, after=[blocker])
    pane = make_pane(qtbot, context)
    qtbot.waitUntil(lambda: pane.model.job(waiting) is not None, timeout=5000)
    pane.select_job(waiting)
    assert pane.edit_action.isEnabled()
    dialog = pane.open_edit()
    qtbot.addWidget(dialog)
    dialog.priority.setValue(7)
    with qtbot.waitSignal(dialog.accepted, timeout=20000):
        dialog.submit_button.click()
    with JobStore(context.jobs_db) as store:
        assert store.get(waiting).priority == 7
        service.cancel(store, blocker)

    profiles = pane.open_profiles()
    qtbot.addWidget(profiles)
    profiles.form.set_values(
        {
            "name": "leisaac",
            "tool": "leisaac",
            "repo": str(tmp_path),
            "python": sys.executable,
            "env": ["PYTHONPATH=."],
            "slurm": ["partition=gpu"],
        }
    )
    assert profiles.save()
    with JobStore(context.jobs_db) as store:
        saved = store.load_profile("leisaac")
    assert saved["python"] == [sys.executable] and saved["env"] == {"PYTHONPATH": "."}
    assert saved["slurm"] == {"partition": "gpu"}
    profiles.form.set_values({"env": ["no equals sign"]})
    assert not profiles.save()


def test_log_view_collapses_progress_and_searches(qtbot):
    assert collapse_carriage_returns("a\nb\r c\rd\ne\rf") == (["a", "d"], "f")
    view = LogView(max_lines=100, max_chunk_lines=50)
    qtbot.addWidget(view)
    view.append_text("start\n 10%\r")
    view.append_text(" 50%\r")
    view.append_text(" 100%\ndone\n")
    assert view.plain_text() == "start\n 100%\ndone\n" or view.plain_text() == "start\n 100%\ndone"
    view.append_text("".join(f"line {i}\n" for i in range(500)))
    assert view.lines_skipped == 450 and "line 499" in view.plain_text() and view.line_count() <= 101
    view.search.setText("line 49")
    assert view.find_next() and "found" in view.matches.text()
    assert view.follow.isChecked() is False  # searching stops following


def test_under_the_qasync_loop_watching_and_log_streaming_are_its_tasks(qtbot, qapp, context, jobs_env):
    """As in the application: the store is watched and the log followed by coroutines on the running
    qasync loop; closing the pane cancels them."""
    import asyncio

    import qasync

    with JobStore(context.jobs_db) as store:
        job_id = service.submit(
            store, "command", {"args": jobs_env.cmd("tqdm", "5", "0.05")}, submit_cwd=str(context.workspace)
        )
    loop = qasync.QEventLoop(qapp)

    async def until(condition, seconds: float = 20.0) -> None:
        deadline = loop.time() + seconds
        while not condition():
            assert loop.time() < deadline, "timed out"
            await asyncio.sleep(0.02)

    async def main() -> JobsPane:
        pane = make_pane(qtbot, context)
        await asyncio.sleep(0)
        assert all(handle.on_qasync for handle in pane._watchers)
        await until(lambda: pane.model.job(job_id) is not None)
        pane.start_demo()  # the demo shows the newest job
        assert pane.selected_ids() == [job_id] and pane._log_stream is not None
        await asyncio.sleep(0)
        assert pane._log_stream.on_qasync
        await until(lambda: pane.model.job(job_id).state == "succeeded" and "5/5" in pane.log.plain_text())
        pane.close()
        await asyncio.sleep(0.01)
        return pane

    quit_on_close = qapp.quitOnLastWindowClosed()
    qapp.setQuitOnLastWindowClosed(False)  # closing the pane (the only window) must not end the loop
    try:
        pane = loop.run_until_complete(main())
    finally:
        loop.close()
        qapp.setQuitOnLastWindowClosed(quit_on_close)
    assert all(handle.done for handle in pane._watchers) and pane._log_stream is None
    assert all(handle.task.done() for handle in pane._watchers)


def test_a_pane_deleted_without_being_closed_stops_its_coroutines(qtbot, context):
    pane = JobsPane(context, poll_ms=50)
    handles = list(pane._watchers)
    qtbot.wait(120)
    assert all(handle.task is not None and not handle.done for handle in handles)
    pane.deleteLater()
    qtbot.waitUntil(lambda: all(handle.done for handle in handles), timeout=3000)
