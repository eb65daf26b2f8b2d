"""The one way the studio starts a Python child process (encoder pools, the job supervisor, virtual arms).

A child is named by its module (``backend.convert.camera_worker``), never by a file path or a
``-c`` string, so that it starts the same way from a checkout, a pip install and a frozen
(PyInstaller) bundle:

* a checkout or a pip install: ``python -P -m MODULE ARGS`` with the folder that holds ``backend/``
  put first on ``PYTHONPATH`` (``-P``: the child's working folder is not searched, so a file there
  named like a module is never imported);
* a frozen bundle, whose executable is not a Python: ``EXECUTABLE --studio-child MODULE ARGS``; the
  bundle's entry point (``app.entry.main``) calls ``run_child_if_asked`` first, which runs the
  module as ``__main__``.

Children start in ``CHILD_CWD`` (a folder that holds no user data) unless told otherwise, with one
BLAS/OpenMP thread (idle OpenBLAS threads spin), and can be told to die with the parent
(``die_with_parent``, called first thing in the child).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

CHILD_FLAG = "--studio-child"
# a child's working folder: holds no user data, so nothing is found there by a relative name
CHILD_CWD = Path(os.sep)
SOURCE_ROOT = Path(__file__).resolve().parents[1]  # the folder that holds backend/ and app/
# in a child's environment: what the studio changed there, as JSON {name: the user's value or null},
# so that a child that starts a *user's* program (the local job runner) gives it the user's own
USER_ENV_KEY = "ROLLOUT_STUDIO_USER_ENV"
# set by a frozen (PyInstaller) bundle's boot loader for the bundle alone, never for a user's program
FROZEN_ONLY_PREFIXES = ("_PYI_", "_MEIPASS")
# a frozen bundle: the environment as the process started, before the bundle's runtime hooks changed it
# (packaging/rthook_user_env.py); what differs now was set by the bundle or the studio, not the user
_START_ENV: dict[str, str] | None = getattr(sys, "_rollout_studio_start_env", None)


_DISPATCHES = False  # run_child_if_asked was called: this executable runs `--studio-child MODULE`


def frozen() -> bool:
    """Whether this process is a frozen bundle (its executable is not a Python interpreter)."""
    return bool(getattr(sys, "frozen", False))


def can_start() -> bool:
    """Whether this process can start studio children: a Python always; a frozen executable once its
    entry point has shown that it runs ``--studio-child MODULE`` (it called ``run_child_if_asked``, as
    the bundle's ``app.entry.main`` does first). Where it cannot, the work runs in this process."""
    return not frozen() or _DISPATCHES


def python_argv(module: str, args: Sequence[str] = ()) -> list[str]:
    """The argv that runs ``module`` as a program with ``args`` in a child process."""
    if not module.replace(".", "").replace("_", "").isalnum():
        raise ValueError(f"not a module name: {module!r}")
    if frozen():
        return [sys.executable, CHILD_FLAG, module, *args]
    return [sys.executable, "-P", "-m", module, *args]


def child_env(extra: Mapping[str, str] | None = None, *, single_thread_math: bool = True) -> dict[str, str]:
    """This process's environment, with the studio's package importable and ``extra`` applied.

    What the studio changes is noted in ``USER_ENV_KEY`` (the first studio process's values win), so
    ``user_env`` can give a user's program the environment the user started the studio with."""
    env = dict(os.environ)
    changes: dict[str, str] = {}
    if not frozen():
        root = str(SOURCE_ROOT)
        paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        changes["PYTHONPATH"] = os.pathsep.join([root, *(p for p in paths if p != root)])
    if single_thread_math:
        changes.update({name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS") if name not in env})
    changes.update(extra or {})
    saved = _saved_user_values(env)
    _note_bundle_changes(env, saved)
    for name, value in changes.items():
        if name != USER_ENV_KEY and name not in saved and env.get(name) != value:
            saved[name] = env.get(name)
    env.update(changes)
    env[USER_ENV_KEY] = json.dumps(saved, sort_keys=True)
    return env


def _saved_user_values(env: Mapping[str, str]) -> dict[str, str | None]:
    try:
        saved = json.loads(env.get(USER_ENV_KEY, "{}"))
    except ValueError:
        return {}
    if not isinstance(saved, dict):
        return {}
    return {str(k): (v if isinstance(v, str) else None) for k, v in saved.items()}


def _note_bundle_changes(env: Mapping[str, str], saved: dict[str, str | None]) -> None:
    """A frozen bundle: what its runtime hooks (or the studio) set since the process started."""
    if _START_ENV is None:
        return
    for name in set(env) | set(_START_ENV):
        if name not in saved and name != USER_ENV_KEY and env.get(name) != _START_ENV.get(name):
            saved[name] = _START_ENV.get(name)


def user_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment the user started the studio with (from ``env``, default this process's): what
    ``child_env`` changed put back, and a frozen bundle's own variables removed (its boot loader's
    ``_PYI_*``, its ``LD_LIBRARY_PATH`` back to ``LD_LIBRARY_PATH_ORIG``). For a user's programs: the
    studio's source, libraries and thread limits never leak into them."""
    result = dict(os.environ if env is None else env)
    saved = _saved_user_values(result)
    if env is None:
        _note_bundle_changes(result, saved)
    for name, value in saved.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = value
    result.pop(USER_ENV_KEY, None)
    for name in [n for n in result if n.startswith(FROZEN_ONLY_PREFIXES)]:
        del result[name]
    for name in ("LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH"):
        original = result.pop(f"{name}_ORIG", None)
        if original is not None:
            result[name] = original
        elif frozen():
            result.pop(name, None)  # the boot loader set it to the bundle's folder
    return result


def start(
    module: str,
    args: Sequence[str] = (),
    *,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    single_thread_math: bool = True,
    **popen: Any,
) -> subprocess.Popen:
    """Start ``module`` in a child process (``popen``: stdin/stdout/stderr, start_new_session, ...)."""
    return subprocess.Popen(  # noqa: S603 - an argv list, the executable is this Python / bundle
        python_argv(module, args),
        cwd=str(cwd if cwd is not None else CHILD_CWD),
        env=child_env(env, single_thread_math=single_thread_math),
        **popen,
    )


def process_context() -> Any:
    """``multiprocessing``'s spawn context, for the children that need its pickled handles (the
    recorder and teleop session processes: pipes, memfd buffers). From a checkout or a pip install
    it runs this Python with the parent's ``sys.path``; in a frozen bundle it re-enters the executable
    (``--multiprocessing-fork``), which ``multiprocessing.freeze_support()`` in ``app.entry.main``
    dispatches. Never fork: the parent has threads (Qt, the control loop)."""
    import multiprocessing  # noqa: PLC0415 - only the processes that need it pay for it

    return multiprocessing.get_context("spawn")


def run_child_if_asked(argv: Sequence[str] | None = None) -> None:
    """In a frozen bundle's entry point: when started as ``EXE --studio-child MODULE ARGS``, run
    MODULE as ``__main__`` with ``sys.argv = [MODULE, *ARGS]`` and exit with its status."""
    global _DISPATCHES
    _DISPATCHES = True
    argv = list(sys.argv if argv is None else argv)
    if len(argv) < 3 or argv[1] != CHILD_FLAG:
        return
    import runpy  # noqa: PLC0415

    module = argv[2]
    sys.argv = [module, *argv[3:]]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as done:
        raise SystemExit(done.code) from None
    raise SystemExit(0)


def die_with_parent() -> None:
    """Linux: this process gets SIGKILL when its parent dies (PR_SET_PDEATHSIG); elsewhere nothing."""
    try:
        import ctypes  # noqa: PLC0415
        import signal  # noqa: PLC0415

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, e.g. under ``taskset`` or Slurm)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)
