"""Clients of the GR00T inference service: ZeroMQ REQ/REP (port 5555) and the HTTP variant (8000).

Both speak exactly the service's format (``backend.policy.wire``). A request can be sent and its
reply collected later (``submit`` -> ``Pending``), so the evaluation loop keeps executing the current
action chunk while the next one is computed: the ZeroMQ client sends at once and polls its socket
without blocking; the HTTP client does its POST on a helper thread.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from typing import Any, Protocol
from urllib.parse import urlparse

import zmq

from backend.errors import StudioError
from backend.policy import wire


class PolicyError(StudioError):
    """The policy server cannot be reached or answered something unusable."""


class Pending(Protocol):
    sent_at: float
    received_at: float  # perf_counter when the reply was seen (0 before)

    def done(self) -> bool: ...
    def wait(self, timeout_s: float) -> bool: ...
    def result(self) -> dict[str, Any]: ...


class PolicyClient(Protocol):
    address: str

    def ping(self, timeout_s: float = 2.0) -> bool: ...
    def submit(self, observation: dict[str, Any]) -> Pending: ...
    def get_action(self, observation: dict[str, Any], timeout_s: float | None = None) -> dict[str, Any]: ...
    def close(self) -> None: ...


def _reply(address: str, reply: dict[str, Any]) -> dict[str, Any]:
    if "error" in reply:
        raise PolicyError(f"the policy server answered an error: {reply['error']}", address)
    return reply


# -- ZeroMQ -----------------------------------------------------------------------------------------
class _ZmqPending:
    def __init__(self, client: ZmqPolicyClient) -> None:
        self.client = client
        self.sent_at = time.perf_counter()
        self.received_at = 0.0
        self._reply: dict[str, Any] | None = None

    def done(self) -> bool:
        return self.wait(0.0)

    def wait(self, timeout_s: float) -> bool:
        """True once the reply is in (waits at most ``timeout_s``: the loop's pause between ticks)."""
        if self._reply is None and self.client._socket.poll(max(0, int(timeout_s * 1000)), zmq.POLLIN):
            self.received_at = time.perf_counter()
            self._reply = self.client._receive()
        return self._reply is not None

    def result(self) -> dict[str, Any]:
        if not self.done():
            raise PolicyError("no reply yet", self.client.address)
        return _reply(self.client.address, self._reply or {})


class ZmqPolicyClient:
    """``ExternalRobotInferenceClient`` of ``gr00t/eval/service.py``, with a non-blocking ``submit``."""

    def __init__(self, host: str = "localhost", port: int = 5555, timeout_ms: int = 15000,
                 api_token: str | None = None) -> None:
        self.host, self.port = host, int(port)
        self.address = f"tcp://{host}:{self.port}"
        self.timeout_ms = int(timeout_ms)
        self.api_token = api_token
        self._context = zmq.Context()
        self._socket: zmq.Socket = self._new_socket()
        self._busy = False

    def _new_socket(self) -> zmq.Socket:
        socket = self._context.socket(zmq.REQ)
        socket.setsockopt(zmq.LINGER, 0)
        socket.connect(self.address)
        return socket

    def reset(self) -> None:
        """A fresh socket (a REQ socket whose reply never came cannot send again)."""
        self._socket.close(linger=0)
        self._socket = self._new_socket()
        self._busy = False

    def _send(self, endpoint: str, data: dict | None) -> None:
        if self._busy:
            self.reset()
        self._socket.send(wire.request(endpoint, data, self.api_token))
        self._busy = True

    def _receive(self) -> dict[str, Any]:
        message = self._socket.recv()
        self._busy = False
        try:
            return wire.unpack(message)
        except wire.WireError as error:
            raise PolicyError(str(error), self.address) from error

    def call(self, endpoint: str, data: dict | None = None, timeout_s: float | None = None) -> dict[str, Any]:
        self._send(endpoint, data)
        wait_ms = int(1000 * timeout_s) if timeout_s is not None else self.timeout_ms
        if not self._socket.poll(wait_ms, zmq.POLLIN):
            self.reset()
            raise PolicyError(f"no answer to {endpoint!r} within {wait_ms} ms", self.address,
                              "is the inference server running and listening there?")
        return _reply(self.address, self._receive())

    def ping(self, timeout_s: float = 2.0) -> bool:
        try:
            return self.call("ping", None, timeout_s).get("status") == "ok"
        except PolicyError:
            return False

    def submit(self, observation: dict[str, Any]) -> _ZmqPending:
        self._send("get_action", observation)
        return _ZmqPending(self)

    def get_action(self, observation: dict[str, Any], timeout_s: float | None = None) -> dict[str, Any]:
        return self.call("get_action", observation, timeout_s)

    def close(self) -> None:
        self._socket.close(linger=0)
        self._context.term()


# -- HTTP -------------------------------------------------------------------------------------------
class _HttpPending:
    def __init__(self, client: HttpPolicyClient, observation: dict[str, Any]) -> None:
        self.sent_at = time.perf_counter()
        self.received_at = 0.0
        self._client = client
        self._reply: dict[str, Any] | None = None
        self._error: PolicyError | None = None
        self._event = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(observation,), name="policy-http", daemon=True)
        self._thread.start()

    def _run(self, observation: dict[str, Any]) -> None:
        try:
            self._reply = self._client.get_action(observation)
        except PolicyError as error:
            self._error = error
        finally:
            self.received_at = time.perf_counter()
            self._event.set()

    def done(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout_s: float) -> bool:
        return self._event.wait(max(0.0, timeout_s))

    def result(self) -> dict[str, Any]:
        if not self.done():
            raise PolicyError("no reply yet", self._client.address)
        if self._error is not None:
            raise self._error
        return self._reply or {}


class HttpPolicyClient:
    """The HTTP variant (``inference_service.py --server --http-server``): ``POST /act``, ``GET /health``."""

    def __init__(self, url: str = "http://localhost:8000", timeout_ms: int = 15000,
                 api_token: str | None = None) -> None:
        self.address = url.rstrip("/")
        self.timeout_s = timeout_ms / 1000.0
        self.api_token = api_token

    def _open(self, request: urllib.request.Request, timeout_s: float | None) -> bytes:
        if self.api_token:
            request.add_header("Authorization", f"Bearer {self.api_token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout_s or self.timeout_s) as response:
                return response.read()
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace")[:200]
            raise PolicyError(f"HTTP {error.code} from the policy server: {detail}", self.address) from error
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise PolicyError(f"cannot reach the policy server ({reason})", self.address,
                              "is the inference server running and listening there?") from error

    def ping(self, timeout_s: float = 2.0) -> bool:
        try:
            body = self._open(urllib.request.Request(f"{self.address}/health"), timeout_s)
            return wire.json_loads(body).get("status") in ("healthy", "ok")
        except (PolicyError, wire.WireError, AttributeError):
            return False

    def get_action(self, observation: dict[str, Any], timeout_s: float | None = None) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{self.address}/act", data=wire.json_dumps({"observation": observation}),
            headers={"Content-Type": "application/json"}, method="POST",
        )
        try:
            reply = wire.json_loads(self._open(request, timeout_s))
            if not isinstance(reply, dict):
                raise wire.WireError("the reply is not a JSON object")
            return _reply(self.address, wire.as_arrays(reply))
        except wire.WireError as error:
            raise PolicyError(str(error), self.address) from error

    def submit(self, observation: dict[str, Any]) -> _HttpPending:
        return _HttpPending(self, observation)

    def close(self) -> None:
        pass


def connect(address: str, timeout_ms: int = 15000, api_token: str | None = None) -> PolicyClient:
    """``tcp://HOST:PORT`` or ``HOST:PORT`` (ZeroMQ) or ``http://HOST:PORT`` (HTTP)."""
    if address.startswith(("http://", "https://")):
        return HttpPolicyClient(address, timeout_ms, api_token)
    parsed = urlparse(address if "://" in address else f"tcp://{address}")
    if parsed.scheme != "tcp" or not parsed.hostname:
        raise PolicyError("not a policy server address", address, "use tcp://HOST:5555 or http://HOST:8000")
    return ZmqPolicyClient(parsed.hostname, parsed.port or 5555, timeout_ms, api_token)

