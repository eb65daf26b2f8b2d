"""Start ``rollout-studio`` commands for the tests without paying the interpreter's start each time.

The tests run the CLI as a user does: a process of its own, its exit code, its stdout and stderr,
killed with SIGKILL in the kill -9 series. Most of such a run's CPU is Python starting and importing
numpy, h5py, PyAV, pyarrow and the studio (about 0.3-0.5 s a run, a few hundred runs in the suite on
2 cores). So each test process keeps one *zygote*: a child that imported all that once and forks a
new process per command (``os.fork`` in a single-threaded process, the way CPython's forkserver
does). The forked process sets its own working folder, environment, session and standard streams,
runs ``backend.cli.main(argv)`` and ends like an interpreter would (atexit handlers, flushed
streams). What the tests check is that process: its pid, exit code, output files, process group and
the processes it starts (through ``backend.children``, which start fresh interpreters as always).

One thing differs from a fresh interpreter: ``/proc/PID/environ`` of the forked process shows the
zygote's environment (``os.environ`` holds the command's). Processes the command starts get the
command's environment, so marks in it still find them (``tests/cli_harness.py``).

``run`` is ``subprocess.run`` of ``[python, -m, backend.cli, *args]``; ``popen`` gives a
``subprocess.Popen``-like object. Where a zygote cannot be had (it failed to start, a thread
appeared in it, ``ROLLOUT_STUDIO_TEST_ZYGOTE=0``), both start a real interpreter instead.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
READY = "zygote ready"


# -- the client (in the test process) ---------------------------------------------------------------


class _Zygote:
    def __init__(self) -> None:
        env = dict(os.environ, PYTHONPATH=str(REPO))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.cli_zygote"],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.owner = os.getpid()
        self.exits: dict[int, int] = {}
        self._buffer = b""
        line = self._line(timeout=60)
        if line != {"ready": READY}:
            self.close()
            raise RuntimeError(f"the CLI zygote did not start ({line})")

    def alive(self) -> bool:
        return self.owner == os.getpid() and self.process.poll() is None

    def _line(self, timeout: float | None) -> dict[str, Any] | None:
        """The next message, or None when none came within ``timeout`` (0: do not wait)."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                raise RuntimeError("the CLI zygote ended")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def _collect(self, timeout: float | None) -> dict[str, Any] | None:
        message = self._line(timeout)
        if message is not None and "exit" in message:
            self.exits[int(message["pid"])] = int(message["exit"])
        return message

    def start(self, request: dict[str, Any]) -> int:
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(request) + "\n").encode())
        self.process.stdin.flush()
        while True:
            message = self._collect(timeout=60)
            if message is None:
                raise RuntimeError("the CLI zygote did not answer")
            if "started" in message:
                pid = int(message["started"])
                # an earlier command may have had this pid (pids wrap around at pid_max): its exit code
                # is not this one's (the zygote reports a command's exit only after its start)
                self.exits.pop(pid, None)
                return pid

    def exit_code(self, pid: int, timeout: float | None) -> int | None:
        """The exit code of ``pid`` once it ended (negative: the signal), else None after ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while pid not in self.exits:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if self._collect(left) is None and left is not None and time.monotonic() >= deadline:
                return None  # nothing came (each pass reads what is there, timeout 0 included)
        return self.exits.pop(pid)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


_zygote: _Zygote | None = None
_broken = False
_lock = threading.Lock()


def _get() -> _Zygote | None:
    global _zygote, _broken
    if _broken or os.environ.get("ROLLOUT_STUDIO_TEST_ZYGOTE") == "0":
        return None
    with _lock:
        if _zygote is not None and _zygote.alive():
            return _zygote
        try:
            _zygote = _Zygote()
        except (OSError, RuntimeError, ValueError):
            _broken = True
            return None
        atexit.register(_zygote.close)
        return _zygote


class ZygoteProcess:
    """What the tests use of ``subprocess.Popen`` for a command forked by the zygote."""

    def __init__(self, zygote: _Zygote, args: Sequence[str], cwd: Path, env: dict[str, str], new_session: bool,
                 capture_stdout: bool) -> None:  # fmt: skip
        self._zygote = zygote
        self._files = tempfile.TemporaryDirectory(prefix="cli-zygote-")
        self._out = Path(self._files.name) / "stdout"
        self._err = Path(self._files.name) / "stderr"
        self._capture_stdout = capture_stdout
        self.args = list(args)
        with _lock:  # test threads may start commands side by side
            self.pid = zygote.start(
                {
                    "argv": list(args),
                    "cwd": str(cwd),
                    "env": env,
                    "stdout": str(self._out) if capture_stdout else os.devnull,
                    "stderr": str(self._err),
                    "new_session": new_session,
                }
            )
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            with _lock:
                self.returncode = self._zygote.exit_code(self.pid, 0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.returncode is None:
            with _lock:  # a short turn: other threads' commands start and end meanwhile
                self.returncode = self._zygote.exit_code(self.pid, 0.02)
            if self.returncode is None and deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def communicate(self, timeout: float | None = None) -> tuple[bytes | None, bytes]:
        self.wait(timeout)
        out = self._out.read_bytes() if self._capture_stdout and self._out.exists() else None
        err = self._err.read_bytes() if self._err.exists() else b""
        self._files.cleanup()
        return out, err


def popen(args: Sequence[str | Path], *, cwd: Path = REPO, env: dict[str, str] | None = None,
          new_session: bool = False, capture_stdout: bool = False) -> ZygoteProcess | subprocess.Popen:  # fmt: skip
    """``rollout-studio *args`` started (stdin /dev/null, stderr captured, stdout captured or dropped)."""
    args = [str(a) for a in args]
    environment = dict(os.environ if env is None else env)
    zygote = _get()
    if zygote is not None:
        return ZygoteProcess(zygote, args, Path(cwd), environment, new_session, capture_stdout)
    return subprocess.Popen(
        [sys.executable, "-m", "backend.cli", *args],
        cwd=cwd,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE if capture_stdout else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=new_session,
    )


def run(args: Sequence[str | Path], *, cwd: Path = REPO, env: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess:  # fmt: skip
    """``subprocess.run([python, -m, backend.cli, *args], capture_output=True, text=True)``."""
    process = popen(args, cwd=cwd, env=env, capture_stdout=True)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    return subprocess.CompletedProcess(
        [sys.executable, "-m", "backend.cli", *map(str, args)],
        process.returncode,
        (out or b"").decode("utf-8", errors="replace"),
        (err or b"").decode("utf-8", errors="replace"),
    )


# -- the zygote -------------------------------------------------------------------------------------

PRELOAD = [
    "numpy", "h5py", "av", "cv2", "pyarrow", "pyarrow.parquet", "yaml", "jsonschema",
    "backend.formats", "backend.formats.lerobot.writer", "backend.formats.leisaac_hdf5.writer",
    "backend.convert.hdf5_to_lerobot", "backend.convert.lerobot_to_hdf5", "backend.convert.lerobot_versions",
    "backend.convert.transcode", "backend.curation", "backend.curation_export", "backend.idm.prepare",
    "backend.cosmos.trainset", "backend.doctor", "backend.media.encoder", "backend.media.reader",
]  # fmt: skip


def _child(request: dict[str, Any]) -> None:
    """In the forked process: become the command, run it, end as an interpreter ends."""
    code: Any = 1
    try:
        if request.get("new_session"):
            os.setsid()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in request.pop("_close", ()):
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        null = os.open(os.devnull, os.O_RDONLY)
        out = os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        err = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        for fd, target in ((null, 0), (out, 1), (err, 2)):
            os.dup2(fd, target)
            os.close(fd)
        # new streams on the new descriptors, as the interpreter made them (encoding, error handler)
        streams = []
        for fd, old in ((0, sys.__stdin__), (1, sys.__stdout__), (2, sys.__stderr__)):
            mode = "r" if fd == 0 else "w"
            streams.append(open(fd, mode, encoding=old.encoding, errors=old.errors, closefd=False))  # noqa: SIM115
        sys.stdin, sys.stdout, sys.stderr = streams
        sys.argv = [str(REPO / "backend" / "cli" / "__main__.py"), *request["argv"]]
        from backend.cli import main  # noqa: PLC0415

        try:
            code = main(request["argv"])
        except SystemExit as done:
            code = done.code
        except BaseException:  # noqa: BLE001 - what an interpreter prints for an uncaught error
            import traceback  # noqa: PLC0415

            traceback.print_exc()
            code = 1
        atexit._run_exitfuncs()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:  # noqa: BLE001, S110
            pass
        if code is None:
            code = 0
        elif not isinstance(code, int):
            print(code, file=sys.stderr)
            code = 1
        os._exit(code)


def _serve() -> int:
    import importlib  # noqa: PLC0415

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    from backend.cli import build_parser  # noqa: PLC0415

    build_parser()  # every command module
    if threading.active_count() != 1:
        return 3  # a preloaded module started a thread: forking would copy it half-way
    out = sys.stdout.buffer
    children: set[int] = set()

    def send(message: dict[str, Any]) -> None:
        out.write((json.dumps(message) + "\n").encode())
        out.flush()

    def reap() -> None:
        for pid in list(children):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                children.discard(pid)
                send({"pid": pid, "exit": os.waitstatus_to_exitcode(status)})

    # SIGCHLD wakes the loop (a byte on a pipe): each command is reaped the moment it ends
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    send({"ready": READY})
    stdin = sys.stdin.buffer
    buffer = b""
    while True:
        try:
            ready, _, _ = select.select([stdin, wake_r], [], [])
        except InterruptedError:
            ready = []
        if wake_r in ready:
            try:
                os.read(wake_r, 4096)
            except BlockingIOError:
                pass
        if stdin in ready:
            chunk = os.read(stdin.fileno(), 65536)
            if not chunk:
                break
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                request = json.loads(line)
                request["_close"] = [wake_r, wake_w]
                out.flush()
                pid = os.fork()
                if pid == 0:
                    _child(request)
                children.add(pid)
                send({"started": pid})
        reap()
    for pid in children:
        os.kill(pid, signal.SIGKILL)
    return 0


if __name__ == "__main__":
    os.setpgrp()  # the zygote never shares a process group with the test process
    sys.exit(_serve())
