"""Where a ``gr00t-inference-server`` job listens, read from its log once it says so.

GR00T's ZeroMQ server prints ``Server is ready and listening on tcp://*:5555``; the HTTP server prints
``Starting GR00T HTTP server on 0.0.0.0:8000`` and uvicorn ``Uvicorn running on http://0.0.0.0:8000``.
A wildcard host is replaced by the job's machine: the node of the Slurm log line
(``[rollout-studio] job N attempt A: slurm job J on NODE started``), else this machine (a local job).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

TEMPLATE = "gr00t-inference-server"
_ZMQ = re.compile(r"Server is ready and listening on tcp://([^\s:]+):(\d+)")
_HTTP = re.compile(r"(?:Uvicorn running on http://|Starting GR00T HTTP server on )([^\s:/]+):(\d+)")
_NODE = re.compile(r"\[rollout-studio\] job \d+ attempt \d+: slurm job \S+ on (\S+) started")
_WILDCARD = {"*", "0.0.0.0", "::", "[::]", ""}


def listen_address(log_text: str, local_host: str = "127.0.0.1") -> str | None:
    """The address to connect to, from a server's log text (None: it does not listen yet)."""
    node = _NODE.search(log_text)
    host_of_job = node.group(1) if node else local_host
    found: tuple[int, str] | None = None
    for pattern, scheme in ((_ZMQ, "tcp"), (_HTTP, "http")):
        for match in pattern.finditer(log_text):
            if found is None or match.start() > found[0]:
                host = host_of_job if match.group(1) in _WILDCARD else match.group(1)
                found = (match.start(), f"{scheme}://{host}:{match.group(2)}")
    return found[1] if found else None


def job_address(job: Any, max_bytes: int = 1 << 20) -> str | None:
    """The address a running ``gr00t-inference-server`` job listens on (None: not a server, not
    running, or not listening yet)."""
    if getattr(job, "template", None) != TEMPLATE or getattr(job, "state", "") != "running":
        return None
    log = getattr(job, "log_path", None)
    if not log or not Path(log).is_file():
        return None
    with open(log, "rb") as handle:
        head = handle.read(4096)  # the Slurm line naming the node comes first
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(len(head), size - max_bytes))
        text = (head + b"\n" + handle.read()).decode("utf-8", "replace")
    return listen_address(text)
