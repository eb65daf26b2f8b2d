"""Shared memory with spawn children that a kill -9 cannot leak: ``SharedBuffer`` alone, then the
writer process and the teleop session process killed with SIGKILL leave nothing in /dev/shm."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from backend.shared_buffer import SharedBuffer, SharedLock, memfd_available
from backend.teleop.cameras import Frame
from backend.teleop.hdf5_recorder import check_readable, find_unfinished
from backend.teleop.recorder_process import RecorderProcess, RecorderSpec
from backend.teleop.session_process import SessionProcess
from backend.teleop.steps import EpisodeMeta, Step
from tests.test_teleop_session_process import leader, settings, wait_for  # noqa: F401 - fixture

linux = pytest.mark.skipif(
    not (sys.platform.startswith("linux") and memfd_available() and Path("/dev/shm").is_dir()),
    reason="memfd and /dev/shm are Linux's",
)
CTX = mp.get_context("spawn")
SHM = Path("/dev/shm")


def shm_entries() -> set[str]:
    return set(os.listdir(SHM)) if SHM.is_dir() else set()


def none_added(before: set[str], timeout: float = 5.0) -> set[str]:
    """What was added to /dev/shm since ``before`` and is still there after up to ``timeout`` s: tests
    running beside this one (other xdist workers) make and remove their own segments meanwhile."""
    deadline = time.monotonic() + timeout
    while (added := shm_entries() - before) and time.monotonic() < deadline:
        time.sleep(0.05)
    return added


def mapped(pid: int | str = "self") -> list[str]:
    """The files a process maps (/proc/PID/maps), e.g. "/memfd:rollout-studio:ring (deleted)"."""
    out = []
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) == 6:
            out.append(parts[5])
    return out


def open_files(pid: int | str = "self") -> list[str]:
    out = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            out.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass
    return out


def uses(paths: list[str], label: str) -> bool:
    return any(f"memfd:rollout-studio:{label}" in p for p in paths)


def held(paths: list[str], label: str) -> int:
    return sum(f"memfd:rollout-studio:{label}" in p for p in paths)


def descendants(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            out += [int(child), *descendants(int(child))]
    return out


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


# -- the buffer on its own -----------------------------------------------------------------------------
def _fill(handle, conn, seed: int) -> None:
    view = SharedBuffer.attach(handle)
    array = np.ndarray((view.size,), np.uint8, view.buf)
    array[:] = np.random.default_rng(seed).integers(0, 256, view.size, dtype=np.uint8)
    conn.send(os.getpid())
    conn.close()
    if seed % 2:  # odd: stay alive holding the buffer until killed
        time.sleep(60)
    array = None
    view.close()


def _hold_lock(handle, conn, hold: bool) -> None:
    """Child: try the lock, report, optionally keep it until killed."""
    lock = SharedLock.attach(handle)
    got = lock.acquire(timeout=0.1)
    conn.send(got)
    if hold and got:
        time.sleep(60)
    elif got:
        lock.release()


def _expected(size: int, seed: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()


@pytest.mark.parametrize("anonymous", [None, False], ids=["default", "named-fallback"])
def test_a_spawn_child_writes_and_the_parent_reads_the_exact_bytes(anonymous):
    size = 3 * 4096 + 17
    buffer = SharedBuffer(size, "test-a", anonymous=anonymous)
    if anonymous is None and memfd_available():
        assert buffer.name is None and buffer.handle.fd >= 0
    elif anonymous is False:
        assert buffer.name is not None and buffer.handle.name == buffer.name
    parent, child = CTX.Pipe(duplex=False)
    proc = CTX.Process(target=_fill, args=(buffer.handle, child, 42))
    proc.start()
    child.close()
    try:
        assert isinstance(parent.recv(), int)  # attached and written
        buffer.unlink()  # the named fallback loses its name once the child attached; memfd: nothing to do
        proc.join(30)
        assert proc.exitcode == 0
        assert bytes(buffer.buf) == _expected(size, 42)
        assert buffer.name is None
    finally:
        buffer.close()
    with pytest.raises(ValueError):
        buffer.buf  # noqa: B018 - closed


@linux
@pytest.mark.parametrize("anonymous", [None, False], ids=["memfd", "named-fallback"])
def test_kill_9_of_a_child_holding_a_buffer_leaves_nothing_in_dev_shm(anonymous):
    before = shm_entries()
    buffer = SharedBuffer(1 << 20, "test-b", anonymous=anonymous)
    parent, child = CTX.Pipe(duplex=False)
    proc = CTX.Process(target=_fill, args=(buffer.handle, child, 7), daemon=True)
    proc.start()
    child.close()
    pid = parent.recv()
    buffer.unlink()
    try:
        assert pid == proc.pid and proc.is_alive()
        if anonymous is None:
            assert uses(mapped(pid), "test-b") and not any("/dev/shm" in p for p in mapped(pid))
        assert bytes(buffer.buf[:4096]) == _expected(1 << 20, 7)[:4096]
        os.kill(pid, signal.SIGKILL)
        proc.join(10)
        assert proc.exitcode == -signal.SIGKILL
        assert bytes(buffer.buf[-4096:]) == _expected(1 << 20, 7)[-4096:]  # still ours until closed
    finally:
        buffer.close()
    assert none_added(before) == set()
    assert not uses(mapped(), "test-b") and not uses(open_files(), "test-b")  # freed here too


@linux
def test_close_with_numpy_views_alive_keeps_them_valid_and_frees_after():
    buffer = SharedBuffer(4096, "test-views")
    array = np.ndarray((512,), np.int64, buffer.buf)
    array[:] = np.arange(512)
    tail = array[500:]
    assert held(open_files(), "test-views") == 2  # its descriptor and the mapping's own copy
    buffer.close()
    buffer.close()  # again: nothing
    assert held(open_files(), "test-views") == 1  # its descriptor is closed at once
    assert tail.tolist() == list(range(500, 512)) and int(array.sum()) == 511 * 512 // 2
    assert uses(mapped(), "test-views")  # the mapping lives as long as the views
    del array, tail
    assert not uses(mapped(), "test-views") and held(open_files(), "test-views") == 0


# -- the real users ------------------------------------------------------------------------------------
def _step(i: int, frame: Frame | None) -> Step:
    values = np.full(6, i / 100.0)
    return Step(
        t=i / 60.0,
        action_rad=values,
        state_rad=values,
        action_lerobot=values,
        state_lerobot=values,
        leader_raw=np.full(6, 2048 + i, dtype=np.int64),
        follower_raw=None,
        leader_ok=True,
        frames={"front": frame},
    )


def _image(i: int) -> np.ndarray:
    return np.random.default_rng(i).integers(0, 256, (48, 64, 3), dtype=np.uint8)


@linux
def test_writer_process_killed_with_sigkill_leaves_nothing_in_dev_shm(tmp_path):
    before = shm_entries()
    out = tmp_path / "rec.hdf5"
    writer = RecorderProcess(RecorderSpec("hdf5", str(out), {"front": (48, 64)}), slots=8).start()
    child = writer._proc.pid
    try:
        # the child maps the ring and the counters as memfds, nothing with a name
        assert uses(mapped(child), "ring") and uses(mapped(child), "counters")
        assert not any("/dev/shm" in p for p in mapped(child) + mapped())
        meta = EpisodeMeta(0, "Pick", 60.0, time.time(), 1, {"front": (48, 64)}, False)
        writer.begin(meta)
        for i in range(20):  # one frame per step through the ring
            writer.step(_step(i, Frame(_image(i), i, time.monotonic(), -1)))
            time.sleep(0.005)
        writer.end(True, "done")
        assert wait_for(lambda: len(writer.results) == 1, timeout=15)
        assert writer.results[0].length == 20 and writer.results[0].success is True
        assert writer.lag_steps == 0 and writer.frames_dropped_backlog == 0
        assert int(writer.counters[3]) == 20  # the child released every ring slot it read
        writer.begin(EpisodeMeta(1, "Pick", 60.0, time.time(), 1, {"front": (48, 64)}, False))
        for i in range(20, 30):
            writer.step(_step(i, Frame(_image(i), i, time.monotonic(), -1)))
        assert wait_for(lambda: writer.lag_steps == 0, timeout=15)
        os.kill(child, signal.SIGKILL)
        assert wait_for(lambda: gone(child) or not writer._proc.is_alive(), timeout=10)
        assert writer._proc.exitcode == -signal.SIGKILL
    finally:
        writer.stop(timeout=10)
    assert none_added(before) == set()
    assert not uses(mapped(), "ring") and not uses(open_files(), "ring")
    assert not uses(mapped(), "counters") and not uses(open_files(), "counters")
    assert find_unfinished(out) == ["demo_1"]  # the killed episode; the first one is whole
    with h5py.File(out) as f:
        frames = f["data/demo_0/obs/front"][()]
    np.testing.assert_array_equal(frames, np.stack([_image(i) for i in range(20)]))


@linux
def test_session_process_killed_with_sigkill_leaves_nothing_in_dev_shm(tmp_path, leader):  # noqa: F811
    arm, cal = leader
    out = tmp_path / "rec.hdf5"
    before = shm_entries()
    session = SessionProcess(settings(str(arm.link), cal, out), preview_limit=(160, 120))
    session.start()
    child = session._proc.pid
    try:
        assert wait_for(
            lambda: all(session.snapshot() and session.snapshot().frames.get(n) for n in ("front", "wrist"))
        )
        assert session.snapshot().frames["front"].image.shape == (120, 160, 3)  # through the preview block
        assert session.history()["leader"].shape == (600, 6)  # through the state block
        assert uses(mapped(child), "state") and uses(mapped(child), "preview")
        session.begin_episode("Pick")
        assert wait_for(lambda: session.state == "recording")
        time.sleep(0.4)
        writers = descendants(child)
        assert len(writers) == 1 and uses(mapped(writers[0]), "ring")  # the session's writer process
        assert not any("/dev/shm/psm_" in p for p in mapped(child) + mapped(writers[0]) + mapped())
        os.kill(child, signal.SIGKILL)
        # the writer process sees its parent go, closes the running episode as interrupted and exits
        assert wait_for(lambda: gone(writers[0]), timeout=30)
        assert wait_for(lambda: not session.alive, timeout=10)
        assert session.error == "the session process ended unexpectedly"
    finally:
        session.stop(timeout=10)
    assert session._proc is None and session._block is None and session._previews == {}
    assert not uses(mapped(), "state") and not uses(mapped(), "preview")
    assert not uses(open_files(), "state") and not uses(open_files(), "preview")
    assert wait_for(lambda: shm_entries() - before == set(), timeout=5), shm_entries() - before
    report = check_readable(out)
    assert report["readable"] and report["unfinished"] == 0
    with h5py.File(out) as f:
        assert f["data/demo_0"].attrs["rs_status"] == "interrupted"


@linux
def test_writer_process_on_the_named_fallback_unlinks_the_names_once_the_child_is_ready(
    tmp_path, monkeypatch
):
    """What macOS does (no memfd): named segments, whose names go as soon as the child attached."""
    import backend.shared_buffer

    monkeypatch.setattr(backend.shared_buffer, "memfd_available", lambda: False)
    before = shm_entries()
    out = tmp_path / "rec.hdf5"
    writer = RecorderProcess(RecorderSpec("hdf5", str(out), {"front": (48, 64)}), slots=8)
    named = {writer.rings["front"].shm.name, writer.counters_shm.name}
    assert None not in named and {n.lstrip("/") for n in named} <= shm_entries() - before
    writer.start()
    child = writer._proc.pid
    try:
        assert none_added(before) == set()  # unlinked: nothing left for a kill to leak
        writer.begin(EpisodeMeta(0, "Pick", 60.0, time.time(), 1, {"front": (48, 64)}, False))
        for i in range(5):
            writer.step(_step(i, Frame(_image(i), i, time.monotonic(), -1)))
        writer.end(True, "done")
        assert wait_for(lambda: len(writer.results) == 1, timeout=15) and writer.results[0].length == 5
        os.kill(child, signal.SIGKILL)
        assert wait_for(lambda: not writer._proc.is_alive(), timeout=10)
    finally:
        writer.stop(timeout=10)
    assert none_added(before) == set()
    with h5py.File(out) as f:
        np.testing.assert_array_equal(f["data/demo_0/obs/front"][()], np.stack([_image(i) for i in range(5)]))


def test_shared_lock_excludes_a_child_and_dies_with_it() -> None:
    before = shm_entries()
    lock = SharedLock()
    try:
        assert lock.acquire(timeout=0)
        parent_end, child_end = CTX.Pipe(duplex=False)
        child = CTX.Process(target=_hold_lock, args=(lock.handle, child_end, False))
        child.start()
        assert parent_end.recv() is False  # the parent holds it
        child.join(10)
        lock.release()
        parent_end, child_end = CTX.Pipe(duplex=False)
        child = CTX.Process(target=_hold_lock, args=(lock.handle, child_end, True))
        child.start()
        assert parent_end.recv() is True  # free: the child takes it and keeps it
        assert not lock.acquire(timeout=0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.join(10)
        assert lock.acquire(timeout=2.0)  # the kernel dropped the dead child's lock
        lock.release()
    finally:
        lock.close()
    assert none_added(before) == set()  # nothing named, not even a semaphore
