"""Per-job wrapper for the local runner (standard library only).

    python -m backend.jobs.wrapper SPEC.json      (started through backend.children: a bundle too)

Started by the supervisor in a new session, so the wrapper leads the job's own process group and
outlives the GUI and the supervisor. It runs the job's argv (no shell) with stdout+stderr going
straight to the log file and the spec's environment (the user's, never the studio's), then writes the exit status next to the log (``exit.json``) and leaves.
A stop signal sent to the group reaches the job; the wrapper notes it and keeps waiting, so the
exit code is still recorded. Only SIGKILL ends the wrapper early (the supervisor then knows the job
was cancelled from the store).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


def _write_exit(path: str, payload: dict) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(payload, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def main(argv: list[str]) -> int:
    with open(argv[1], encoding="utf-8") as handle:
        spec = json.load(handle)
    received: list[int] = []

    def note(signum: int, _frame: object) -> None:
        received.append(signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, note)  # handlers (not SIG_IGN) reset to default in the child on exec

    log = open(spec["log"], "ab", buffering=0)  # noqa: SIM115 - handed to the child
    header = (
        f"[rollout-studio] job {spec.get('job_id')} attempt {spec.get('attempt')} started {_now()}\n"
        f"[rollout-studio] cwd: {spec['cwd']}\n"
        f"[rollout-studio] argv: {json.dumps(spec['argv'], ensure_ascii=False)}\n"
    )
    log.write(header.encode("utf-8", errors="replace"))
    started = time.time()
    payload: dict = {"code": None, "signal": None, "error": None}
    try:
        child = subprocess.Popen(  # noqa: S603 - argv list, never a shell
            spec["argv"],
            cwd=spec["cwd"],
            env=spec["env"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            close_fds=True,
        )
    except OSError as error:
        code = 127 if isinstance(error, FileNotFoundError) else 126
        message = f"cannot start {spec['argv'][0]!r}: {error.strerror or error}"
        log.write(f"[rollout-studio] {message}\n".encode("utf-8", errors="replace"))
        payload.update(code=code, error=message)
    else:
        with open(os.path.join(os.path.dirname(spec["exit_file"]), "child.pid"), "w") as handle:
            handle.write(str(child.pid))
        returncode = child.wait()  # PEP 475: retried across our signal handlers
        if returncode < 0:
            payload.update(code=128 - returncode, signal=-returncode)
        else:
            payload["code"] = returncode
    payload["started"] = started
    payload["ended"] = time.time()
    payload["stop_signals"] = received
    footer = (
        f"[rollout-studio] exit code {payload['code']} after {payload['ended'] - started:.1f} s ({_now()})\n"
    )
    log.write(footer.encode())
    log.close()
    _write_exit(spec["exit_file"], payload)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
