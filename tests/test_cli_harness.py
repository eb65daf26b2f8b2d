"""The fault tests' own check that no process outlives a command: it finds one that does, and says
what it is."""

from __future__ import annotations

import os
import subprocess
import uuid

from tests.cli_harness import MARK, _processes_marked


def test_a_process_left_behind_is_found_with_its_command_line() -> None:
    mark = uuid.uuid4().hex
    env = dict(os.environ, **{MARK: mark})
    left = subprocess.Popen(["sleep", "30"], env=env)
    try:
        found = _processes_marked(mark)
        assert len(found) == 1 and found[0].startswith(f"{left.pid} ") and found[0].endswith("sleep 30"), found
        assert _processes_marked(uuid.uuid4().hex) == []  # another run's mark: not this one's
    finally:
        left.kill()
        left.wait()
    assert _processes_marked(mark) == []  # ended and reaped: not a survivor
