"""backend.children: every Python child starts by module name, and a user's program gets the user's
environment back (the studio's source, thread limits and a bundle's libraries never leak into it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from backend import children

pytest_plugins = ["test_jobs_fakes"]


def test_child_env_notes_what_it_changed_and_user_env_undoes_it(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/user/lib")
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "8")
    monkeypatch.delenv(children.USER_ENV_KEY, raising=False)
    env = children.child_env({"EXTRA": "x"})
    assert env["PYTHONPATH"].split(os.pathsep) == [str(children.SOURCE_ROOT), "/user/lib"]
    assert env["OPENBLAS_NUM_THREADS"] == "1" and env["OMP_NUM_THREADS"] == "8" and env["EXTRA"] == "x"
    # a grandchild (the supervisor starting the wrapper) keeps the first, the user's, values
    monkeypatch.setattr(os, "environ", dict(env))
    grandchild = children.child_env()
    assert json.loads(grandchild[children.USER_ENV_KEY]) == {
        "EXTRA": None,
        "OPENBLAS_NUM_THREADS": None,
        "PYTHONPATH": "/user/lib",
    }
    user = children.user_env(grandchild)
    assert user["PYTHONPATH"] == "/user/lib" and user["OMP_NUM_THREADS"] == "8"
    assert "OPENBLAS_NUM_THREADS" not in user and "EXTRA" not in user and children.USER_ENV_KEY not in user


def test_user_env_drops_a_bundles_own_variables():
    bundle = {
        "PATH": "/usr/bin",
        "_PYI_APPLICATION_HOME_DIR": "/opt/rs/_internal",
        "_MEIPASS2": "/opt/rs/_internal",
        "LD_LIBRARY_PATH": "/opt/rs/_internal",
        "LD_LIBRARY_PATH_ORIG": "/usr/local/cuda/lib64",
    }
    assert children.user_env(bundle) == {"PATH": "/usr/bin", "LD_LIBRARY_PATH": "/usr/local/cuda/lib64"}


def test_a_frozen_executable_starts_children_once_its_entry_dispatches_them(monkeypatch):
    assert children.can_start()  # a Python
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(children, "_DISPATCHES", False)
    assert not children.can_start()
    children.run_child_if_asked(["rollout-studio", "convert"])  # not a child: returns
    assert children.can_start()


def test_argv_names_a_module_checkout_and_frozen(monkeypatch):
    assert children.python_argv("backend.jobs.wrapper", ["s.json"]) == [
        sys.executable, "-P", "-m", "backend.jobs.wrapper", "s.json",
    ]
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert children.python_argv("backend.jobs.daemon", ["--db", "x"]) == [
        sys.executable, children.CHILD_FLAG, "backend.jobs.daemon", "--db", "x",
    ]


def test_a_child_started_by_module_runs_from_outside_the_checkout():
    proc = children.start(
        "backend.children", stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={"RS_PROBE": "1"}
    )
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0 and out == b"", err  # found and run as a program from /, not the checkout


def test_supervisor_and_wrapper_are_studio_children_and_the_job_gets_the_users_env(jobs_env, monkeypatch):
    from backend.jobs import service
    from backend.jobs.store import SUCCEEDED
    from backend.jobs.supervisor import supervisor_pid

    monkeypatch.setenv("RS_TEST", "from-the-user")
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.delenv("PYTHONPATH", raising=False)
    out = jobs_env.work / "env.json"
    code = (
        "import json, os, sys; json.dump(dict(os.environ), open(sys.argv[1], 'w'));"
        "print(open('/proc/%d/cmdline' % os.getppid()).read().split(chr(0)))"
    )
    store = jobs_env.store()
    job_id = service.submit(store, "command", {"args": [sys.executable, "-c", code, str(out)]})
    pid = supervisor_pid(jobs_env.db)
    supervisor_cmdline = open(f"/proc/{pid}/cmdline").read().split("\0") if pid and pid > 0 else []
    job = service.wait(store, job_id, timeout=30)
    log = open(job.log_path, encoding="utf-8").read()
    assert job.state == SUCCEEDED, log
    env = json.loads(out.read_text(encoding="utf-8"))
    assert env["RS_TEST"] == "from-the-user" and env["ROLLOUT_STUDIO_JOB_ID"] == str(job_id)
    assert "PYTHONPATH" not in env and "OPENBLAS_NUM_THREADS" not in env
    assert children.USER_ENV_KEY not in env
    assert "'-m', 'backend.jobs.wrapper'" in log  # the job's parent: the wrapper, started by module
    if supervisor_cmdline:
        assert supervisor_cmdline[2:4] == ["-m", "backend.jobs.daemon"]


def test_a_bundles_runtime_hook_settings_never_reach_a_users_program(monkeypatch):
    # packaging/rthook_user_env.py kept the start environment; PyInstaller's Qt hook then set its paths
    start = {"PATH": "/usr/bin", "QT_PLUGIN_PATH": "/home/me/qt/plugins"}
    monkeypatch.setattr(children, "_START_ENV", start)
    monkeypatch.setattr(os, "environ", {**start, "QT_PLUGIN_PATH": "/opt/rs/_internal/PySide6/Qt/plugins",
                                        "QML2_IMPORT_PATH": "/opt/rs/_internal/PySide6/Qt/qml"})
    supervisor = children.child_env()  # the CLI (bundle) starts the supervisor (bundle)
    monkeypatch.setattr(os, "environ", supervisor)
    job = children.user_env()  # the supervisor's environment for a local job
    assert job["QT_PLUGIN_PATH"] == "/home/me/qt/plugins" and "QML2_IMPORT_PATH" not in job
    assert job["PATH"] == "/usr/bin"
