"""Local runner end to end: real processes through the real store, supervisor and wrapper."""

from __future__ import annotations

import json
import os
import signal
import sys
import time

import pytest
from test_jobs_fakes import (
    COSMOS_REPO_FILES,
    DREAMS_REPO_FILES,
    pid_gone,
    wait_for,
    write_files,
)

from backend.errors import StudioError
from backend.jobs import service
from backend.jobs.procs import group_alive
from backend.jobs.store import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED
from backend.jobs.supervisor import ensure_supervisor, supervisor_pid

WEIRD_ARGS = [
    "two words",
    'it\'s "quoted"',
    "$(touch /tmp/rs-should-not-exist)",
    "`uname`",
    "line one\nline two",
    "ünïcødé ✓ 机器人",
    "",
    "--flag=a b",
    "*",
    "; rm -rf /",
]

pytest_plugins = ["test_jobs_fakes"]


def test_submit_progress_log_and_success(jobs_env):
    store = jobs_env.store()
    job_id = service.submit(store, "command", {"args": jobs_env.cmd("tqdm", "20", "0.02")})
    job = service.wait(store, job_id, timeout=30)
    assert job.state == SUCCEEDED and job.exit_code == 0
    assert job.progress_total == 20 and job.progress_done == 20
    log = open(job.log_path, encoding="utf-8").read()
    assert "20/20" in log and "[rollout-studio] exit code 0" in log
    assert job.started_at <= job.ended_at


def test_arguments_arrive_unchanged(jobs_env):
    store = jobs_env.store()
    out = jobs_env.work / "argv.json"
    job_id = service.submit(store, "command", {"args": jobs_env.cmd("argv", str(out), *WEIRD_ARGS)})
    job = service.wait(store, job_id, timeout=30)
    assert job.state == SUCCEEDED, open(job.log_path).read()
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["argv"] == WEIRD_ARGS
    assert data["env"]["ROLLOUT_STUDIO_JOB_ID"] == str(job_id)
    assert not os.path.exists("/tmp/rs-should-not-exist")


def test_exit_code_recorded(jobs_env):
    store = jobs_env.store()
    job_id = service.submit(store, "command", {"args": jobs_env.cmd("exit", "3")})
    job = service.wait(store, job_id, timeout=30)
    assert job.state == FAILED and job.exit_code == 3 and service.exit_status(job) == 3
    assert "exit code 3" in job.error


def test_missing_program_fails_with_127(jobs_env):
    store = jobs_env.store()
    job_id = service.submit(store, "command", {"args": ["/nonexistent/program", "x"]})
    job = service.wait(store, job_id, timeout=30)
    assert job.state == FAILED and job.exit_code == 127
    assert "cannot start" in open(job.log_path).read()


def test_cancel_kills_the_whole_process_group(jobs_env):
    store = jobs_env.store()
    pids = jobs_env.work / "pids.json"
    job_id = service.submit(store, "command", {"args": jobs_env.cmd("sleep", str(pids))})
    wait_for(pids.exists, what="job start")
    info = json.loads(pids.read_text())
    job = store.get(job_id)
    assert job.state == RUNNING and info["pgid"] == job.pgid
    assert not pid_gone(info["child"]) and not pid_gone(info["grandchild"])
    assert service.cancel(store, job_id)
    job = service.wait(store, job_id, timeout=30)
    assert job.state == CANCELLED
    assert job.exit_code == 128 + signal.SIGTERM
    wait_for(lambda: pid_gone(info["child"]) and pid_gone(info["grandchild"]), what="processes gone")
    assert not group_alive(job.pgid)


def test_cancel_escalates_to_sigkill(jobs_env):
    # a user template (no code) with a short grace period; the job ignores SIGTERM
    templates = jobs_env.home / "templates"
    templates.mkdir()
    (templates / "stubborn.yaml").write_text(
        "name: stubborn\ntitle: Stubborn\nparams:\n  - {name: args, type: list}\nargv:\n  - each: args\n"
        "kill_after: 0.5\n"
    )
    store = jobs_env.store()
    pids = jobs_env.work / "pids.json"
    job_id = service.submit(store, "stubborn", {"args": jobs_env.cmd("sleep", str(pids), "ignore-term")})
    wait_for(pids.exists, what="job start")
    info = json.loads(pids.read_text())
    time.sleep(0.2)
    service.cancel(store, job_id)
    job = service.wait(store, job_id, timeout=30)
    assert job.state == CANCELLED
    wait_for(lambda: pid_gone(info["child"]) and pid_gone(info["grandchild"]), what="processes gone")


def test_cancel_queued_job_and_its_chain(jobs_env):
    store = jobs_env.store()
    first = service.submit(
        store, "command", {"args": jobs_env.cmd("stamp", str(jobs_env.work / "a"), "0", "1.0")}
    )
    second = service.submit(store, "command", {"args": ["true"]}, after=[first])
    third = service.submit(store, "command", {"args": ["true"]}, after=[second])
    assert service.cancel(store, second)
    assert store.get(second).state == CANCELLED
    assert service.wait(store, third, timeout=30).state == CANCELLED
    assert "dependency #2" in store.get(third).error
    assert service.wait(store, first, timeout=30).state == SUCCEEDED


def test_supervisor_killed_then_reattached(jobs_env):
    store = jobs_env.store()
    pids = jobs_env.work / "pids.json"
    out = jobs_env.work / "stamp.json"
    long_job = service.submit(store, "command", {"args": jobs_env.cmd("sleep", str(pids))})
    short_job = service.submit(store, "command", {"args": jobs_env.cmd("stamp", str(out), "5", "1.5")})
    wait_for(pids.exists, what="job start")
    wait_for(lambda: store.get(short_job).state == RUNNING, what="second job running")
    # the app and its supervisor die; the jobs live on in their own sessions
    sup = supervisor_pid(jobs_env.db)
    assert sup and sup > 0
    os.kill(sup, signal.SIGKILL)
    wait_for(lambda: supervisor_pid(jobs_env.db) is None, what="supervisor gone")
    info = json.loads(pids.read_text())
    wait_for(out.exists, timeout=30, what="short job finished without a supervisor")
    assert not pid_gone(info["child"])
    assert store.get(short_job).state == RUNNING  # nobody recorded it yet
    # a restarted app re-attaches
    assert ensure_supervisor(jobs_env.db)
    job = service.wait(store, short_job, timeout=30)
    assert job.state == FAILED and job.exit_code == 5
    assert store.get(long_job).state == RUNNING
    service.cancel(store, long_job)
    assert service.wait(store, long_job, timeout=30).state == CANCELLED
    wait_for(lambda: pid_gone(info["child"]), what="long job gone")


def test_retry_runs_next_attempt(jobs_env):
    store = jobs_env.store()
    marker = jobs_env.work / "marker"
    job_id = service.submit(store, "command", {"args": jobs_env.cmd("fail-once", str(marker))})
    job = service.wait(store, job_id, timeout=30)
    assert job.state == FAILED and job.exit_code == 7
    first_log = job.log_path
    service.retry(store, job_id)
    job = service.wait(store, job_id, timeout=30)
    assert job.state == SUCCEEDED and job.attempt == 2
    assert job.log_path != first_log and "second attempt works" in open(job.log_path).read()
    assert "first attempt fails" in open(first_log).read()
    with pytest.raises(StudioError):
        service.retry(
            store,
            service.submit(store, "command", {"args": jobs_env.cmd("sleep", str(jobs_env.work / "p.json"))}),
        )


def test_automatic_retry(jobs_env):
    store = jobs_env.store()
    job_id = service.submit(
        store, "command", {"args": jobs_env.cmd("fail-once", str(jobs_env.work / "m"))}, max_retries=1
    )
    job = service.wait(store, job_id, timeout=30)
    assert job.state == SUCCEEDED and job.attempt == 2


def test_chain_runs_in_order_and_retry_resumes_it(jobs_env):
    store = jobs_env.store()
    stamps = [jobs_env.work / f"s{i}.json" for i in range(4)]
    marker = jobs_env.work / "fail-marker"
    a = service.submit(store, "command", {"args": jobs_env.cmd("stamp", str(stamps[0]), "0", "0.3")})
    b = service.submit(
        store, "command", {"args": jobs_env.cmd("stamp", str(stamps[1]), "0", "0.3")}, after=[a]
    )
    c = service.submit(store, "command", {"args": jobs_env.cmd("fail-once", str(marker))}, after=[b])
    d = service.submit(
        store, "command", {"args": jobs_env.cmd("stamp", str(stamps[3]), "0", "0.1")}, after=[c]
    )
    assert service.wait(store, d, timeout=30).state == CANCELLED
    assert store.get(c).state == FAILED
    t0, t1 = (json.loads(s.read_text()) for s in stamps[:2])
    assert t0["end"] <= t1["start"]
    service.retry(store, c)  # re-queues d too
    assert store.get(d).state == QUEUED
    assert service.wait(store, d, timeout=30).state == SUCCEEDED
    assert store.get(c).ended_at <= json.loads(stamps[3].read_text())["start"]
    assert store.chain_of(b) == [a, b, c, d]


def test_priority_and_concurrency_limit(jobs_env):
    store = jobs_env.store()
    store.set_setting("max_local_jobs", "1")
    pids = jobs_env.work / "pids.json"
    blocker = service.submit(store, "command", {"args": jobs_env.cmd("sleep", str(pids))})
    wait_for(pids.exists, what="blocker running")
    low = service.submit(
        store, "command", {"args": jobs_env.cmd("stamp", str(jobs_env.work / "low"), "0", "0.1")}
    )
    high = service.submit(
        store, "command", {"args": jobs_env.cmd("stamp", str(jobs_env.work / "high"), "0", "0.1")}, priority=5
    )
    time.sleep(0.3)
    assert store.get(low).state == QUEUED and store.get(high).state == QUEUED  # one local job at a time
    service.cancel(store, blocker)
    assert service.wait(store, low, timeout=30).state == SUCCEEDED
    assert store.get(high).started_at < store.get(low).started_at
    assert store.get(high).started_at >= store.get(blocker).ended_at
    assert store.get(low).started_at >= store.get(high).ended_at


def test_gpu_aware_concurrency(jobs_env):
    store = jobs_env.store()
    store.set_setting("local_gpus", "0,1")
    outs = [jobs_env.work / f"g{i}.json" for i in range(3)]
    one = service.submit(
        store, "command", {"args": jobs_env.cmd("stamp", str(outs[0]), "0", "0.8"), "gpus": 1}
    )
    two = service.submit(
        store, "command", {"args": jobs_env.cmd("stamp", str(outs[1]), "0", "0.8"), "gpus": 1}
    )
    both = service.submit(
        store, "command", {"args": jobs_env.cmd("stamp", str(outs[2]), "0", "0.1"), "gpus": 2}
    )
    for job_id in (one, two, both):
        assert service.wait(store, job_id, timeout=30).state == SUCCEEDED
    a, b, c = (json.loads(o.read_text()) for o in outs)
    assert {a["cuda"], b["cuda"]} == {"0", "1"}
    assert a["start"] < b["end"] and b["start"] < a["end"]  # ran side by side
    assert c["cuda"] == "0,1" and c["start"] >= max(a["end"], b["end"])


def test_stop_signal_and_stop_is_success(jobs_env):
    templates = jobs_env.home / "templates"
    templates.mkdir()
    (templates / "session.yaml").write_text(
        "name: session\ntitle: Interactive session\nparams:\n  - {name: args, type: list}\nargv:\n  - each: args\n"
        "stop_signal: SIGINT\nstop_is_success: true\nprogress:\n  parsers:\n"
        "    - regex: 'Recorded (?P<done>\\d+) successful demonstrations'\n"
    )
    store = jobs_env.store()
    job_id = service.submit(store, "session", {"args": jobs_env.cmd("stop-int")})
    wait_for(lambda: store.get(job_id).progress_done == 1, what="progress from the regex parser")
    service.cancel(store, job_id)
    job = service.wait(store, job_id, timeout=30)
    assert job.state == SUCCEEDED and job.exit_code == 0, (job.error, open(job.log_path).read())
    assert "KeyboardInterrupt" in open(job.log_path).read()


def test_cosmos_chain_with_real_templates(jobs_env, tmp_path):
    """post-train -> DCP conversion -> batch inference, each from its own template and profile checks."""
    repo = write_files(tmp_path / "cosmos-predict2.5", COSMOS_REPO_FILES)
    store = jobs_env.store()
    store.set_setting("local_gpus", "0")
    store.save_profile(
        "cosmos",
        {
            "name": "cosmos",
            "tool": "cosmos-predict2.5",
            "repo": str(repo),
            "python": [sys.executable],
            "env": {"RS_TEST": "1"},
        },
    )
    out_root = tmp_path / "imaginaire"
    train = service.submit(
        store,
        "cosmos-posttrain",
        {
            "output_root": str(out_root),
            "max_iter": 40,
            "save_iter": 20,
            "run_name": "so101_pick",
        },
    )
    checkpoints = out_root / "cosmos_predict_v2p5" / "video2world" / "so101_pick" / "checkpoints"
    convert = service.submit(store, "cosmos-convert-dcp", {"checkpoint": str(checkpoints)}, after=[train])
    batch = tmp_path / "batch.jsonl"
    batch.write_text(
        "".join(
            json.dumps({"name": f"pick_{i}", "prompt": "Pick the orange.", "input_path": f"{i}.mp4"}) + "\n"
            for i in range(3)
        )
    )
    infer = service.submit(
        store,
        "cosmos-inference",
        {
            "input": str(batch),
            "output_dir": str(tmp_path / "generated"),
            "checkpoint": str(checkpoints),
        },
        after=[convert],
    )
    for job_id in (train, convert, infer):
        job = service.wait(store, job_id, timeout=60)
        assert job.state == SUCCEEDED, open(job.log_path).read()
    job = store.get(train)
    assert (
        job.progress_done == 40 and job.progress_total == 40 and job.loss == pytest.approx(1 / 40, rel=1e-3)
    )
    points = store.points(train)
    assert [p.step for p in points] == [1, 2, 3, 4, 5, 10, 20, 30, 40]
    assert points[0].loss == pytest.approx(1.0)
    assert [a.path.rsplit("/", 1)[1] for a in store.artifacts(train)] == ["iter_000000020", "iter_000000040"]
    conv = store.get(convert)
    assert conv.argv[-1].endswith("iter_000000040")  # resolved to the latest checkpoint when it started
    assert {a.path.rsplit("/", 1)[1] for a in store.artifacts(convert)} == {
        "model.pt",
        "model_ema_fp32.pt",
        "model_ema_bf16.pt",
    }
    inf = store.get(infer)
    assert inf.argv[inf.argv.index("--checkpoint-path") + 1].endswith("iter_000000040/model_ema_bf16.pt")
    assert [a.kind for a in store.artifacts(infer)] == ["videos"]
    assert sorted(p.name for p in (tmp_path / "generated").iterdir())[:2] == ["pick_0.json", "pick_0.mp4"]
    assert inf.progress_done == 3 and inf.progress_total == 3


def test_idm_training_trainer_log(jobs_env, tmp_path):
    repo = write_files(tmp_path / "GR00T-Dreams", DREAMS_REPO_FILES)
    dataset = tmp_path / "so101_lift"
    (dataset / "meta").mkdir(parents=True)
    (dataset / "meta" / "info.json").write_text("{}")
    store = jobs_env.store()
    store.set_setting("local_gpus", "0")
    store.save_profile(
        "dreams", {"name": "dreams", "tool": "gr00t-dreams", "repo": str(repo), "python": [sys.executable]}
    )
    job_id = service.submit(
        store, "idm-train", {"dataset": str(dataset), "output_dir": str(tmp_path / "idm"), "max_steps": 30}
    )
    job = service.wait(store, job_id, timeout=60)
    assert job.state == SUCCEEDED, open(job.log_path).read()
    assert job.progress_done == 30 and job.progress_total == 30 and job.loss == pytest.approx(0.05)
    points = store.points(job_id)
    assert [p.step for p in points] == [10, 20, 30]
    assert points[1].loss == pytest.approx(0.05) and points[1].metrics["learning_rate"] == pytest.approx(
        9.5e-5
    )
    assert [a.path.rsplit("/", 1)[1] for a in store.artifacts(job_id)] == [
        "checkpoint-10",
        "checkpoint-20",
        "checkpoint-30",
    ]


def test_profile_checks_stop_bad_submissions(jobs_env, tmp_path):
    store = jobs_env.store()
    with pytest.raises(StudioError, match="needs a cosmos-predict2.5 environment profile"):
        service.submit(store, "cosmos-convert-dcp", {"checkpoint": str(tmp_path)})
    store.save_profile(
        "c",
        {
            "name": "c",
            "tool": "cosmos-predict2.5",
            "repo": str(tmp_path / "nope"),
            "python": [sys.executable],
        },
    )
    with pytest.raises(StudioError, match="is not a folder"):
        service.submit(store, "cosmos-convert-dcp", {"checkpoint": str(tmp_path)})
    repo = write_files(tmp_path / "repo", {"README": "no scripts here"})
    store.save_profile(
        "c", {"name": "c", "tool": "cosmos-predict2.5", "repo": str(repo), "python": ["/no/python"]}
    )
    with pytest.raises(StudioError) as info:
        service.submit(store, "cosmos-convert-dcp", {"checkpoint": str(tmp_path)})
    assert "/no/python does not exist" in info.value.message
    assert "scripts/convert_distcp_to_pt.py is missing" in info.value.message
    assert "has no model" in info.value.message  # the input check: no model/ folder of .distcp files
    with pytest.raises(StudioError, match="bad parameters"):
        service.submit(store, "command", {"args": ["true"], "gpus": "-1"})
    assert store.count() == 0


def test_missing_input_of_chained_job_fails_at_start(jobs_env, tmp_path):
    store = jobs_env.store()
    first = service.submit(store, "command", {"args": ["true"]})
    second = service.submit(
        store, "command", {"args": ["true"], "cwd": str(tmp_path / "not-made")}, after=[first]
    )
    job = service.wait(store, second, timeout=30)
    assert job.state == FAILED and "is not a folder" in job.error
    assert "not started" in open(job.log_path).read()


def test_duplicate_and_edit(jobs_env):
    store = jobs_env.store()
    first = service.submit(
        store, "command", {"args": jobs_env.cmd("stamp", str(jobs_env.work / "x"), "0", "0.6")}
    )
    waiting = service.submit(store, "command", {"args": ["true"]}, after=[first])
    service.edit(store, waiting, {"args": jobs_env.cmd("exit", "4")}, priority=3, name="edited")
    job = store.get(waiting)
    assert job.priority == 3 and job.name == "edited" and job.argv[-1] == "4"
    copy = service.duplicate(store, waiting)
    assert store.get(copy).deps == [first]
    assert service.wait(store, copy, timeout=30).exit_code == 4
    with pytest.raises(StudioError, match="only queued jobs"):
        service.edit(store, first, priority=1)
