"""Crash reports: an uncaught error or a hard crash leaves a report (traceback, versions, last log
lines) in the studio home; the next start lists it once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from backend import crash, versions

ROOT = versions.SOURCE_ROOT

CRASHING = """
import logging, sys
from backend import crash
crash.install()
logging.getLogger("rollout.test").warning("loading episode 7")
print("decoder said hello", file=sys.stderr)
if sys.argv[1] == "error":
    raise RuntimeError("the frame index went negative")
import faulthandler
faulthandler._sigsegv()
"""


def _run(home: Path, mode: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "ROLLOUT_STUDIO_HOME": str(home), "PYTHONPATH": str(ROOT), "HOME": str(home)}
    return subprocess.run([sys.executable, "-c", CRASHING, mode], capture_output=True, text=True,  # noqa: S603
                          env=env, timeout=60, cwd=home)


@pytest.fixture(scope="module")
def crashed(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("home")
    assert _run(home, "error").returncode == 1
    assert _run(home, "segv").returncode < 0  # killed by SIGSEGV
    return home


def test_uncaught_error_and_hard_crash_both_become_reports(crashed, monkeypatch):
    monkeypatch.setenv("ROLLOUT_STUDIO_HOME", str(crashed))
    reports = crash.pending()
    assert len(reports) == 2
    texts = [p.read_text(encoding="utf-8") for p in reports]
    error = next(t for t in texts if "RuntimeError" in t)
    assert "the frame index went negative" in error and "what: an uncaught error" in error
    hard = next(t for t in texts if "hard crash" in t)
    assert "Fatal Python error: Segmentation fault" in hard
    for text in texts:
        assert "rollout-studio " in text and "PyAV " in text and "h5py " in text  # the versions
        assert "loading episode 7" in text and "decoder said hello" in text  # the last log lines
    # the session and fault files of the dead processes are gone; nothing of theirs is left behind
    assert sorted(p.name.split("-")[0] for p in crash.crash_dir().iterdir()) == ["crash", "crash"]


def test_a_report_is_offered_once(crashed, monkeypatch):
    monkeypatch.setenv("ROLLOUT_STUDIO_HOME", str(crashed))
    reports = crash.pending()
    crash.mark_offered(reports[:1])
    assert crash.pending() == reports[1:]
    crash.mark_offered(reports)
    assert crash.pending() == []


def test_a_clean_exit_leaves_nothing(tmp_path):
    code = "from backend import crash; crash.install(); import logging; logging.warning('fine')"
    env = {"PATH": "/usr/bin:/bin", "ROLLOUT_STUDIO_HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)  # noqa: S603
    assert done.returncode == 0, done.stderr
    assert list((tmp_path / "crashes").iterdir()) == []


def test_a_cli_bug_names_its_report(tmp_path, monkeypatch, capsys):
    from backend import cli
    from backend.cli import demo_data_cmd

    def broken(_args):
        return 1 / 0

    monkeypatch.setenv("ROLLOUT_STUDIO_HOME", str(tmp_path))
    monkeypatch.setattr(demo_data_cmd, "run", broken)
    assert cli.main(["demo-data", str(tmp_path / "out")]) == 3
    line = capsys.readouterr().err.strip()
    assert line.startswith("error: unexpected ZeroDivisionError") and "report: " in line
    report = Path(line.split("report: ", 1)[1].split()[0].rstrip(")"))
    assert "ZeroDivisionError" in report.read_text() and crash.pending() == [report]
