"""Slurm runner through a real one-node cluster on localhost (sbatch, squeue polling, scancel)."""

from __future__ import annotations

import json
import subprocess

from test_jobs_fakes import pid_gone, wait_for
from test_jobs_local import WEIRD_ARGS

from backend.jobs import service, slurm
from backend.jobs.store import CANCELLED, FAILED, RUNNING, SUCCEEDED

pytest_plugins = ["test_jobs_fakes", "slurm_cluster"]


def test_render_script_quotes_every_argument(tmp_path):
    exit_file = tmp_path / "attempt-1.exit.json"
    script = slurm.render_script(
        job_id=7,
        attempt=1,
        template="command",
        argv=["printf", "%s\\n", *WEIRD_ARGS],
        env={"RS_TEST": "a b $(c)"},
        cwd=str(tmp_path),
        exit_file=str(exit_file),
        gpus=2,
        options={"partition": "gpu", "time": "01:00:00", "extra": ["--exclusive"]},
    )
    assert "#SBATCH --gres=gpu:2" in script and "#SBATCH --partition=gpu" in script
    assert "#SBATCH --exclusive" in script
    # bash itself (no Slurm) must see the same arguments
    result = subprocess.run(
        ["bash", "-c", script.replace("printf", "printf", 1)], capture_output=True, text=True
    )
    assert result.returncode == 0
    printed = result.stdout.split("\n", 1)[1]  # after the "[rollout-studio] job ..." line
    assert printed.startswith("\n".join(WEIRD_ARGS))
    assert json.loads(exit_file.read_text())["code"] == 0


def test_slurm_job_success_argv_and_progress(jobs_env, slurm_cluster):
    store = jobs_env.store()
    out = jobs_env.work / "argv.json"
    ok = service.submit(
        store, "command", {"args": jobs_env.cmd("argv", str(out), *WEIRD_ARGS)}, runner="slurm"
    )
    bar = service.submit(store, "command", {"args": jobs_env.cmd("tqdm", "10", "0.01")}, runner="slurm")
    bad = service.submit(store, "command", {"args": jobs_env.cmd("exit", "3")}, runner="slurm", after=[ok])
    job = service.wait(store, ok, timeout=60)
    assert job.state == SUCCEEDED, open(job.log_path).read()
    assert job.external_id and job.exit_code == 0
    assert json.loads(out.read_text(encoding="utf-8"))["argv"] == WEIRD_ARGS
    job = service.wait(store, bar, timeout=60)
    assert job.state == SUCCEEDED and job.progress_done == 10 and job.progress_total == 10
    job = service.wait(store, bad, timeout=60)
    assert job.state == FAILED and job.exit_code == 3
    assert store.get(bad).started_at >= store.get(ok).ended_at - 0.5
    assert (store.root / "logs" / str(ok) / "attempt-1.sbatch").exists()


def test_slurm_cancel_and_retry(jobs_env, slurm_cluster):
    store = jobs_env.store()
    pids = jobs_env.work / "pids.json"
    job_id = service.submit(store, "command", {"args": jobs_env.cmd("sleep", str(pids))}, runner="slurm")
    wait_for(pids.exists, timeout=60, what="slurm job start")
    wait_for(lambda: store.get(job_id).state == RUNNING, timeout=30, what="running state")
    info = json.loads(pids.read_text())
    service.cancel(store, job_id)
    job = service.wait(store, job_id, timeout=60)
    assert job.state == CANCELLED
    wait_for(
        lambda: pid_gone(info["child"]) and pid_gone(info["grandchild"]), timeout=30, what="processes gone"
    )
    states = slurm.queue_states([job.external_id])
    assert states is not None and states.get(job.external_id, ("CANCELLED",))[0] != "RUNNING"
    # retry: a new Slurm job for attempt 2
    marker = jobs_env.work / "m"
    again = service.submit(store, "command", {"args": jobs_env.cmd("fail-once", str(marker))}, runner="slurm")
    assert service.wait(store, again, timeout=60).exit_code == 7
    first_slurm_id = store.get(again).external_id
    service.retry(store, again)
    job = service.wait(store, again, timeout=60)
    assert job.state == SUCCEEDED and job.attempt == 2 and job.external_id != first_slurm_id
