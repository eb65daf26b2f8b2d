"""A worker for tests/test_pool.py: ``python -m tests.pool_worker_sample`` squares numbers.

A task ``{"n": N}`` reports progress N times and returns ``{"square": N * N, "pid": PID}``;
``{"n": N, "fail": TEXT}`` raises with TEXT; ``{"n": N, "sleep": S}`` sleeps S seconds first.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any

from backend.pool import serve


def handle(task: dict[str, Any], report: Callable[[int], None]) -> dict[str, int]:
    time.sleep(float(task.get("sleep", 0)))
    if "fail" in task:
        raise ValueError(task["fail"])
    n = int(task["n"])
    for done in range(1, n + 1):
        report(done)
    return {"square": n * n, "pid": os.getpid()}


if __name__ == "__main__":
    sys.exit(serve(handle))
