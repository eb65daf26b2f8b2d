"""A policy server of the studio's own, to GR00T's protocol: replays a recorded episode's actions.

It answers ``ping``, ``get_action`` and ``kill`` over ZeroMQ REQ/REP exactly as
``gr00t/eval/service.py`` does (or ``POST /act`` / ``GET /health`` over HTTP), handing out the
episode's actions 16 at a time (call n gets rows 16n..16n+15, the last row repeated past the end).
On request it misbehaves from call ``after`` on: ``slow`` (answers ``delay_s`` late), ``nan`` (a NaN
in the chunk), ``shape`` (one step too few), ``range`` (a joint far outside its envelope) or ``dies``
(stops answering and closes its socket). Every chunk it sends is kept in ``sent``.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import zmq

from backend.policy import wire
from backend.policy.modality import Modality

MISBEHAVIOURS = ("none", "slow", "nan", "shape", "range", "dies")


class ReferencePolicy:
    """The replay and its misbehaviours, whatever the transport."""

    def __init__(self, actions: np.ndarray, modality: Modality, horizon: int = 16,
                 misbehave: str = "none", after: int = 0, delay_s: float = 0.5) -> None:
        if misbehave not in MISBEHAVIOURS:
            raise ValueError(f"misbehave must be one of {', '.join(MISBEHAVIOURS)}")
        self.actions = np.asarray(actions, dtype=np.float32).reshape(len(actions), -1)
        self.modality = modality
        self.horizon = horizon
        self.misbehave = misbehave
        self.after = after
        self.delay_s = delay_s
        self.calls = 0
        self.sent: list[np.ndarray] = []  # (horizon, width) chunks in the order they were sent
        self.observations: list[dict[str, Any]] = []
        self.dead = False

    def chunk(self, n: int) -> np.ndarray:
        rows = np.arange(n * self.horizon, (n + 1) * self.horizon)
        return self.actions[np.minimum(rows, len(self.actions) - 1)]

    def get_action(self, observation: dict[str, Any]) -> dict[str, Any] | None:
        """The reply to call number ``self.calls`` (None: the server died)."""
        n = self.calls
        self.calls += 1
        self.observations.append({k: getattr(v, "shape", v) for k, v in observation.items()})
        chunk = self.chunk(n).copy()
        bad = self.misbehave if n >= self.after else "none"
        if bad == "dies":
            self.dead = True
            return None
        if bad == "slow":
            time.sleep(self.delay_s)
        elif bad == "nan":
            chunk[3, 1] = np.nan
        elif bad == "range":
            chunk[2, 0] = 1000.0
        reply = self.modality.reply(chunk)
        if bad == "shape":
            first = next(iter(reply))
            reply[first] = reply[first][:-1]
        self.sent.append(chunk)
        return reply


class ReferenceServer:
    """The ZeroMQ REP server (``BaseInferenceServer``) on a thread of its own."""

    def __init__(self, policy: ReferencePolicy, host: str = "127.0.0.1", port: int = 0,
                 raw_reply: bytes | None = None, api_token: str | None = None) -> None:
        """``raw_reply``: answer every request with these bytes, unread (the benchmark's bare round trip);
        ``api_token``: refuse requests without it, as the service does."""
        self.policy = policy
        self.api_token = api_token
        self.raw_reply = raw_reply
        self._context = zmq.Context()
        self._socket = self._context.socket(zmq.REP)
        self._socket.setsockopt(zmq.LINGER, 0)
        if port:
            self._socket.bind(f"tcp://{host}:{port}")
        else:
            self._socket.bind_to_random_port(f"tcp://{host}")
        self.address = self._socket.getsockopt_string(zmq.LAST_ENDPOINT)
        self.port = int(self.address.rsplit(":", 1)[1])
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> ReferenceServer:
        self._thread = threading.Thread(target=self.serve, name="reference-policy", daemon=True)
        self._thread.start()
        return self

    def serve(self) -> None:
        try:
            while not self._stop.is_set() and not self.policy.dead:
                if not self._socket.poll(50, zmq.POLLIN):
                    continue
                message = self._socket.recv(copy=False)
                if self.raw_reply is not None:
                    self._socket.send(self.raw_reply, copy=False)
                    continue
                request = wire.unpack(message.bytes)
                endpoint = request.get("endpoint", "get_action")
                if self.api_token is not None and request.get("api_token") != self.api_token:
                    reply: dict[str, Any] | None = {"error": "Unauthorized: Invalid API token"}
                elif endpoint == "ping":
                    reply = {"status": "ok", "message": "Server is running"}
                elif endpoint == "kill":
                    self._socket.send(wire.pack({}))
                    return
                elif endpoint == "get_action":
                    reply = self.policy.get_action(request.get("data", {}))
                    if reply is None:
                        return  # died: no answer, socket closed below
                else:
                    reply = {"error": f"Unknown endpoint: {endpoint}"}
                self._socket.send(wire.pack(reply))
        finally:
            self._socket.close(linger=0)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if not self._socket.closed:
            self._socket.close(linger=0)
        self._context.term()

    def __enter__(self) -> ReferenceServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ReferenceHttpServer:
    """The HTTP variant: ``POST /act`` (json-numpy in, ``.tolist()`` out) and ``GET /health``."""

    def __init__(self, policy: ReferencePolicy, host: str = "127.0.0.1", port: int = 0) -> None:
        self.policy = policy
        server_policy = policy

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, code: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                if self.path == "/health":
                    self._send(200, {"status": "healthy", "model": "reference"})
                else:
                    self._send(404, {"detail": "Not Found"})

            def do_POST(self) -> None:  # noqa: N802
                if self.path != "/act":
                    self._send(404, {"detail": "Not Found"})
                    return
                length = int(self.headers.get("Content-Length", 0))
                payload = wire.json_loads(self.rfile.read(length))
                if "observation" not in payload:
                    self._send(400, {"detail": "Missing 'observation' field in payload"})
                    return
                reply = server_policy.get_action(payload["observation"])
                if reply is None:
                    self.close_connection = True
                    return
                self._send(200, {k: v.tolist() for k, v in reply.items()})

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.address = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = None

    def start(self) -> ReferenceHttpServer:
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name="reference-policy-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> ReferenceHttpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
