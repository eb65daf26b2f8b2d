"""`rollout-studio jobs ...` as a user runs it: the real entry point once as a process, then the same
CLI in-process (fast) against real jobs, supervisor and store."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass

from test_jobs_fakes import REPO, wait_for
from test_jobs_local import WEIRD_ARGS

from backend.cli import main

pytest_plugins = ["test_jobs_fakes"]


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def cli(*args: str, check: bool = True) -> Result:
    out, err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8"), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(["jobs", *args])
        except SystemExit as exit_:  # argparse errors
            code = int(exit_.code or 0)
    out.flush()
    result = Result(code, out.buffer.getvalue().decode("utf-8"), err.getvalue())
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}: {result.stdout}\n{result.stderr}")
    return result


def test_entry_point_submit_and_wait(jobs_env):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    run = [sys.executable, "-m", "backend.cli", "jobs"]
    out = jobs_env.work / "argv.json"
    submitted = subprocess.run(
        [*run, "submit", "--wait", "command", "--", *jobs_env.cmd("argv", str(out), *WEIRD_ARGS)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert submitted.returncode == 0, submitted.stderr
    assert submitted.stdout.strip().isdigit()
    assert json.loads(out.read_text(encoding="utf-8"))["argv"] == WEIRD_ARGS
    failing = cli("submit", "command", "--", *jobs_env.cmd("exit", "5")).stdout.strip()
    waited = subprocess.run([*run, "wait", failing], capture_output=True, text=True, env=env, timeout=60)
    assert waited.returncode == 5 and "exit code 5" in waited.stderr


def test_templates_json():
    data = json.loads(cli("templates", "--json").stdout)
    names = {t["name"] for t in data["templates"]}
    assert {"cosmos-posttrain", "idm-dump", "command", "leisaac-teleop"} <= names
    post = next(t for t in data["templates"] if t["name"] == "cosmos-posttrain")
    assert post["tool"] == "cosmos-predict2.5" and any(p["name"] == "max_iter" for p in post["params"])


def test_submit_list_show_logs_wait(jobs_env):
    out = jobs_env.work / "argv.json"
    job_id = int(
        cli(
            "submit", "command", "--name", "weird args", "--", *jobs_env.cmd("argv", str(out), *WEIRD_ARGS)
        ).stdout.strip()
    )
    assert cli("wait", str(job_id)).returncode == 0
    assert json.loads(out.read_text(encoding="utf-8"))["argv"] == WEIRD_ARGS
    failing = cli("submit", "command", "--", *jobs_env.cmd("exit", "3")).stdout.strip()
    waited = cli("wait", failing, check=False)
    assert waited.returncode == 3 and "failed (exit code 3)" in waited.stderr
    listed = json.loads(cli("list", "--json").stdout)
    assert [j["id"] for j in listed] == [int(failing), job_id]
    assert listed[1]["name"] == "weird args" and listed[1]["state"] == "succeeded"
    shown = json.loads(cli("show", str(job_id), "--json").stdout)
    assert shown["argv"][-len(WEIRD_ARGS) :] == WEIRD_ARGS
    assert "argv written" in cli("logs", str(job_id)).stdout
    assert cli("logs", failing, "--tail", "2").stdout.count("\n") == 2
    assert "failed" in cli("list").stdout and "exit code 3" in cli("show", failing).stdout


def test_cancel_retry_after_and_errors(jobs_env):
    pids = jobs_env.work / "pids.json"
    first = cli("submit", "command", "--", *jobs_env.cmd("sleep", str(pids))).stdout.strip()
    second = cli("submit", "command", "--after", first, "--", "true").stdout.strip()
    wait_for(pids.exists, what="first job running")
    assert "stopping" in cli("cancel", first).stdout
    assert cli("wait", first, check=False).returncode == 143
    assert cli("wait", second, check=False).returncode == 130  # cancelled: its dependency was cancelled
    assert "queued again" in cli("retry", second).stdout
    assert cli("logs", second, "--follow").returncode == 0
    bad = cli("submit", "command", "--param", "gpus=x", "--", "true", check=False)
    assert bad.returncode == 2 and "gpus" in bad.stderr
    assert cli("submit", "nope", check=False).returncode == 2
    assert cli("submit", "cosmos-posttrain", "--", "x", check=False).returncode == 2
    assert cli("show", "999", check=False).returncode == 2


def test_profiles_and_config(jobs_env, tmp_path):
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    (repo / "scripts" / "convert_distcp_to_pt.py").write_text("")
    cli(
        "profile",
        "set",
        "cosmos",
        "--tool",
        "cosmos-predict2.5",
        "--repo",
        str(repo),
        "--python",
        sys.executable,
        "--env",
        "PYTHONPATH=.",
        "--env",
        "IMAGINAIRE_OUTPUT_ROOT=/data/out",
        "--slurm",
        "partition=gpu",
    )
    profile = json.loads(cli("profile", "show", "cosmos", "--json").stdout)
    assert profile["env"] == {"PYTHONPATH": ".", "IMAGINAIRE_OUTPUT_ROOT": "/data/out"}
    assert profile["slurm"] == {"partition": "gpu"} and profile["python"] == [sys.executable]
    ok = cli("profile", "check", "cosmos", "--template", "cosmos-convert-dcp")
    assert "ok  needs scripts/convert_distcp_to_pt.py" in ok.stdout
    bad = cli("profile", "check", "cosmos", "--template", "cosmos-posttrain", check=False)
    assert bad.returncode == 1 and "BAD needs scripts/train.py" in bad.stdout
    config = json.loads(cli("config", "--gpus", "0,1", "--max-local-jobs", "2", "--json").stdout)
    assert config["local_gpus"] == "0,1" and config["max_local_jobs"] == 2
