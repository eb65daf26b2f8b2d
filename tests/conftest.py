"""Test setup: headless Qt, private caches, and the real shared datasets (read, never written)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# offscreen Qt with a 1920x1080 screen (its default is 800x800, smaller than any real desk); the window
# sizes itself from the screen it is on (app/geometry.py)
if os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen":
    _SCREEN = Path(tempfile.mkdtemp(prefix="rs-test-screen-")) / "offscreen.json"
    _SCREEN.write_text(
        '{"screens": [{"name": "test", "x": 0, "y": 0, "width": 1920, "height": 1080,'
        ' "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}',
        encoding="utf-8",
    )
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={_SCREEN}"
os.environ.setdefault("XDG_CACHE_HOME", tempfile.mkdtemp(prefix="rs-test-cache-"))
os.environ.setdefault("XDG_CONFIG_HOME", tempfile.mkdtemp(prefix="rs-test-config-"))
# curation decisions about read-only datasets go to $XDG_DATA_HOME: never the user's own store
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="rs-test-data-")
os.environ.setdefault("SVT_LOG", "1")
# job store, logs and user templates of the tests stay out of the user's home; one home per test
# process (each xdist worker too, not the controller's inherited one): tests tell their own helper
# processes apart by it (tests/test_convert_cli._camera_workers)
os.environ["ROLLOUT_STUDIO_HOME"] = tempfile.mkdtemp(prefix="rs-test-home-")
# virtual arms announce themselves under $XDG_RUNTIME_DIR: each test process (a parallel worker too)
# sees only the arms it started, never another worker's
os.environ["XDG_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="rs-test-run-")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SHARED_DATA = Path(os.environ.get("ROLLOUT_SHARED_DATA", SHARED / "data"))
# files up to this size are compared by content too (every file of ../shared today: ~7 MB in all)
HASH_LIMIT = 8 << 20

Fingerprint = dict[str, tuple]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real datasets not found at {SHARED_DATA} (clone ../shared beside the repo)")
    return SHARED_DATA


def shared_roots() -> list[Path]:
    """The folders the tests read from and must leave exactly as they found them."""
    roots = [SHARED]
    if not SHARED_DATA.absolute().is_relative_to(SHARED.absolute()):
        roots.append(SHARED_DATA)
    return [root for root in roots if root.is_dir()]


def fingerprint(root: Path) -> Fingerprint:
    """Every entry under ``root`` (itself included): kind, size, mtime and, for small files, a sha256."""
    found: Fingerprint = {}
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        here = Path(folder)
        found[str(here)] = _entry(here)
        for name in sorted(files) + [d for d in dirs if (here / d).is_symlink()]:
            found[str(here / name)] = _entry(here / name)
    return found


def _entry(path: Path) -> tuple:
    try:
        st = path.lstat()
    except OSError as error:  # vanished while walking
        return ("gone", str(error))
    if path.is_symlink():
        return ("link", os.readlink(path), st.st_mtime_ns)
    if path.is_dir():
        return ("dir", st.st_mtime_ns, st.st_mode)
    digest = ""
    if st.st_size <= HASH_LIMIT:
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as error:
            digest = f"unreadable: {error}"
    return ("file", st.st_size, st.st_mtime_ns, st.st_mode, digest)


def fingerprint_changes(before: Fingerprint, after: Fingerprint) -> list[str]:
    """One line per entry that appeared, disappeared or changed between two fingerprints."""
    lines = [f"appeared:    {p}" for p in sorted(after.keys() - before.keys())]
    lines += [f"disappeared: {p}" for p in sorted(before.keys() - after.keys())]
    for path in sorted(before.keys() & after.keys()):
        if before[path] != after[path]:
            lines.append(f"changed:     {_describe(path, before[path], after[path])}")
    return lines


_FIELDS = {
    "file": ("size", "mtime", "mode", "content"),
    "dir": ("mtime", "mode"),
    "link": ("target", "mtime"),
}


def _describe(path: str, old: tuple, new: tuple) -> str:
    if old[0] != new[0]:
        return f"{path} ({old[0]} -> {new[0]})"
    fields = _FIELDS.get(old[0], ())
    what = [name for name, a, b in zip(fields, old[1:], new[1:], strict=False) if a != b]
    return f"{path} ({', '.join(what) or 'changed'})"


@pytest.fixture(scope="session", autouse=True)
def shared_stays_untouched() -> Iterator[None]:
    """Fail the run when any test (or anything it started) wrote under ../shared: inputs are read-only."""
    roots = shared_roots()
    before = {root: fingerprint(root) for root in roots}
    yield
    changes = [line for root in roots for line in fingerprint_changes(before[root], fingerprint(root))]
    if changes:
        shown = "\n  ".join(changes[:50]) + (
            f"\n  ... and {len(changes) - 50} more" if len(changes) > 50 else ""
        )
        pytest.fail(
            f"the tests changed the shared inputs under {', '.join(map(str, roots))} "
            f"(tests must copy what they modify into tmp_path):\n  {shown}",
            pytrace=False,
        )


DANGLING_GRACE_S = 1.0


@pytest.fixture(autouse=True)
def _dangling_threads(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that leaves a GUI task or a Python thread it started running (napari's
    ``_dangling_qthreads`` is the model). Autouse fixtures are set up first, so this check runs after
    qtbot has closed the test's widgets: a pane that does not stop its work on close is caught here.

    Tasks still running one second after the test are dangling; they are then cancelled and waited
    for, so the next test starts clean. Mark a test ``allow_threads`` to skip the check."""
    import sys
    import threading
    import time

    before = set(threading.enumerate())
    yield
    if request.node.get_closest_marker("allow_threads"):
        return
    problems: list[str] = []
    deadline = time.monotonic() + DANGLING_GRACE_S
    tasks_module = sys.modules.get("app.tasks")
    if tasks_module is not None:
        left = tasks_module.active_tasks()
        while left and time.monotonic() < deadline:
            time.sleep(0.02)
            left = tasks_module.active_tasks()
        for task in left:
            problems.append(f"task {task.name!r} ({task.lane}) still running, started at:\n{task.origin}")
            task.stale = True
            task.cancel()
        tasks_module.wait_all(10.0)
    threads = [
        t for t in threading.enumerate()
        if t not in before and t.is_alive() and not isinstance(t, threading._DummyThread)
    ]
    while threads and time.monotonic() < deadline:
        time.sleep(0.02)
        threads = [t for t in threads if t.is_alive()]
    problems += [f"thread {t.name!r} still running (daemon={t.daemon})" for t in threads]
    if problems:
        pytest.fail("the test left work running:\n  " + "\n  ".join(problems), pytrace=False)


# Tests that drive a virtual SO-101 over a pseudo-terminal in real time (these modules, and any test
# using a ``virtual_arm`` fixture) (20 ms status-packet budget,
# 30-60 Hz loops): ./dev.sh test runs them after the parallel part, one at a time, so two CPU-bound
# workers on a 2-core machine do not starve the virtual arm's replies.
REALTIME_MODULES = {
    "test_teleop_bus", "test_teleop_cli", "test_teleop_pane", "test_teleop_recording",
    "test_teleop_session_process", "test_shared_buffer", "test_teleop_recorder_priority",
    "test_virtual_arm_lifetime", "test_session_recording", "test_teleop_calibration", "test_teleop_cameras",
}


# The longest modules of each run start first: a 20-40 s test handed out last leaves the other worker
# idle at the end of the run (--dist worksteal hands out the rest as workers become free).
LONGEST_FIRST = ("test_walk", "test_kill_series", "test_teleop_cli", "test_teleop_recording", "test_teleop_pane")


def _module(item: pytest.Item) -> str:
    return item.module.__name__.rsplit(".", 1)[-1] if item.module is not None else ""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _module(item) in REALTIME_MODULES or "virtual_arm" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.realtime)
    rank = {name: n for n, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(_module(item), len(rank)))  # stable: file order otherwise
