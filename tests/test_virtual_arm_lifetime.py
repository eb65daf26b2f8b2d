"""Demo virtual arms never outlive the studio that started them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

LAUNCHER = """
import subprocess, sys
proc = subprocess.Popen([sys.executable, "-m", "backend.cli", "virtual-arm", "--exit-with-parent",
                         "--no-wire-delay"], stdout=subprocess.PIPE, text=True)
print(proc.stdout.readline().strip(), proc.pid, flush=True)
"""  # the launcher exits at once without stopping its arm, as a crashed GUI would


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie waiting for its reaper counts as gone
        return stat.read().split()[2] != "Z"


def test_arm_exits_when_its_parent_is_gone() -> None:
    out = subprocess.run([sys.executable, "-c", LAUNCHER], capture_output=True, text=True, cwd=REPO, timeout=60)
    device, pid_text = out.stdout.split()
    assert device.startswith("/dev/pts/")
    pid = int(pid_text)
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid)
