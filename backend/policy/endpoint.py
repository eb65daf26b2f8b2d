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


_FOUND: dict[tuple[str, int], str] = {}  # (log, attempt) -> address: a server keeps its address


def job_address(job: Any, head_bytes: int = 1 << 20, tail_bytes: int = 1 << 18) -> str | None:
    """The address a running ``gr00t-inference-server`` job listens on (None: not a server, not
    running, or not listening yet). Reads the log's head (the Slurm node line, the listen line after
    the model loaded) and tail (a restarted server's newer line); once found, it is remembered."""
    if getattr(job, "template", None) != TEMPLATE or getattr(job, "state", "") != "running":
        return None
    log = getattr(job, "log_path", None)
    if not log or not Path(log).is_file():
        return None
    key = (str(log), int(getattr(job, "attempt", 1) or 1))
    if key in _FOUND:
        return _FOUND[key]
    with open(log, "rb") as handle:
        head = handle.read(head_bytes)
        handle.seek(0, 2)
        size = handle.tell()
        tail = b""
        if size > len(head):
            handle.seek(max(len(head), size - tail_bytes))
            tail = handle.read()
    address = listen_address((head + b"\n" + tail).decode("utf-8", "replace"))
    if address is not None:
        _FOUND[key] = address
    return address
