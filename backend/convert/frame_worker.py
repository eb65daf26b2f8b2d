"""Decompress HDF5 camera frames in a worker process, beside the encoders.

h5py serialises every HDF5 call behind one global lock and holds the GIL while a chunk is
decompressed (lzf: ~2.4 ms per 640x480 frame), so in one process the decompression of all cameras
runs on one core at a time and stalls the threads that feed the encoders. ``FrameWorker`` runs the
reads in a child process (``python -m backend.convert.frame_worker``) that writes the frames into
shared memory (an anonymous ``memfd``: nothing is left behind whatever happens to either process):
a ring of ``SLOTS`` slabs of ``SLAB`` frames of every camera, so memory is bounded whatever the
episode length. Messages are JSON lines on the child's stdin/stdout (no pickle). The child exits
when the parent goes away (stdin closes, stdout breaks, or ``PR_SET_PDEATHSIG`` on Linux).

``available()`` is False where ``os.memfd_create`` is missing; callers then read frames on threads.
"""

from __future__ import annotations

import json
import mmap
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

SLAB = 10  # frames per camera per slab
SLOTS = 6  # slabs in flight (60 frames ahead)


def available() -> bool:
    return hasattr(os, "memfd_create") and sys.platform.startswith("linux")


def _slabs(start: int, stop: int, size: int) -> list[tuple[int, int]]:
    """[start, stop) cut at multiples of ``size``."""
    out = []
    t = start
    while t < stop:
        end = min(stop, (t // size + 1) * size)
        out.append((t, end))
        t = end
    return out


class WorkerError(Exception):
    """The worker could not read a frame (``frame``: the first frame of the slab)."""

    def __init__(self, message: str, frame: int) -> None:
        super().__init__(message)
        self.frame = frame


class FrameWorker:
    """One child process reading episodes' frames, one episode at a time."""

    def __init__(self) -> None:
        self._jobs: list[Any] = []
        self._slot_bytes = self._total_slabs = self._next_slab = self._next_job = 0
        self._proc: subprocess.Popen | None = None
        self._fd = -1
        self._map: mmap.mmap | None = None
        self._size = 0

    # -- process ----------------------------------------------------------------------------------
    def _start(self, size: int) -> None:
        self.close()
        self._fd = os.memfd_create("rollout-studio-frames", os.MFD_CLOEXEC)
        os.ftruncate(self._fd, size)
        self._map = mmap.mmap(self._fd, size)
        self._size = size
        root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "backend.convert.frame_worker", str(self._fd), str(size)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            pass_fds=(self._fd,),
            env=env,
            cwd=root,
        )

    def _send(self, message: dict[str, Any]) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write((json.dumps(message) + "\n").encode())
        self._proc.stdin.flush()

    def _receive(self) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            code = self._proc.poll()
            raise RuntimeError(f"the frame reader process ended (exit status {code})")
        return json.loads(line)

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            for pipe in (proc.stdin, proc.stdout):
                try:
                    if pipe is not None:
                        pipe.close()
                except OSError:
                    pass
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._map is not None:
            try:
                self._map.close()
            except BufferError:  # frames still viewed somewhere: freed with them
                pass
            self._map = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._size = 0

    def __enter__(self) -> FrameWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ----------------------------------------------------------------------------------
    def submit(self, jobs: list[tuple[Path, dict[str, tuple[str, tuple[int, ...], Any]], int, int]]) -> None:
        """Queue the episodes ``(path, {camera: (dataset, shape, dtype)}, start, stop)`` that
        ``frames`` will then be asked for, in this order: the worker reads on from one episode into
        the next while the consumer finishes the previous one."""
        self._jobs = []
        slot_bytes = 0
        for _path, datasets, start, stop in jobs:
            names = list(datasets)
            shapes = [tuple(datasets[n][1][1:]) for n in names]
            dtypes = [np.dtype(datasets[n][2]) for n in names]
            nbytes = [int(np.prod(s)) * d.itemsize for s, d in zip(shapes, dtypes, strict=True)]
            slot_bytes = max(slot_bytes, SLAB * sum(nbytes))
            self._jobs.append((names, shapes, dtypes, nbytes, _slabs(start, stop, SLAB), start, stop))
        self._slot_bytes = slot_bytes
        self._total_slabs = sum(len(job[4]) for job in self._jobs)
        self._next_slab = 0
        self._next_job = 0
        self._start(max(slot_bytes * SLOTS, 1))
        self._send(
            {
                "jobs": [
                    {"path": str(path), "datasets": [datasets[n][0] for n in datasets], "start": a, "stop": b}
                    for path, datasets, a, b in jobs
                ],
                "slab": SLAB,
                "slots": SLOTS,
                "slot_bytes": slot_bytes,
            }
        )

    def frames(self, start: int, stop: int) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        """Yield ``(t, {camera: frame})`` of the next submitted episode (which must be start..stop-1).

        Each frame is a view into shared memory, valid until the next item is asked for: the
        consumer copies what it keeps (the video writer does).
        """
        names, shapes, dtypes, nbytes, slabs, a, b = self._jobs[self._next_job]
        if (a, b) != (start, stop):
            raise RuntimeError(f"frames {start}..{stop} asked for, the worker reads {a}..{b}")
        self._next_job += 1
        assert self._map is not None
        finished = False
        try:
            for t0, t1 in slabs:
                k = self._next_slab
                reply = self._receive()
                if "error" in reply:
                    raise WorkerError(reply["error"], int(reply.get("frame", t0)))
                if reply.get("slab") != k:
                    raise RuntimeError(f"frame reader out of step (slab {reply.get('slab')}, expected {k})")
                offset = (k % SLOTS) * self._slot_bytes
                views = []
                for shape, dtype, size in zip(shapes, dtypes, nbytes, strict=True):
                    views.append(np.ndarray((SLAB, *shape), dtype=dtype, buffer=self._map, offset=offset))
                    offset += SLAB * size
                for i in range(t1 - t0):
                    yield t0 + i, {n: v[i] for n, v in zip(names, views, strict=True)}
                del views
                self._next_slab += 1
                if k + SLOTS < self._total_slabs:
                    self._send({"free": k})
            finished = True
        finally:
            if not finished:  # error, cancel or consumer gone: the worker is mid-episode
                self.close()


# --------------------------------------------------------------------------------------------------
# the child


def _die_with_parent() -> None:
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _child(fd: int, size: int) -> int:
    _die_with_parent()
    if os.getppid() == 1:
        return 1
    from backend.formats.leisaac_hdf5._common import open_h5  # noqa: PLC0415

    shared = mmap.mmap(fd, size)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    files: dict[str, Any] = {}

    def send(message: dict[str, Any]) -> None:
        stdout.write((json.dumps(message) + "\n").encode())
        stdout.flush()

    try:
        line = stdin.readline()
        if not line:
            return 0
        work = json.loads(line)
        slab, slots, slot_bytes = int(work["slab"]), int(work["slots"]), int(work["slot_bytes"])
        credits = slots
        k = 0
        for job in work["jobs"]:
            h5 = files.get(job["path"])
            if h5 is None:
                h5 = files[job["path"]] = _open(open_h5, job["path"])
            datasets = [h5[name] for name in job["datasets"]]
            for t0, t1 in _slabs(int(job["start"]), int(job["stop"]), slab):
                while credits <= 0:
                    message = stdin.readline()
                    if not message:
                        return 0
                    if "free" in json.loads(message):
                        credits += 1
                credits -= 1
                offset = (k % slots) * slot_bytes
                try:
                    for dataset in datasets:
                        frame_shape = dataset.shape[1:]
                        view = np.ndarray(
                            (slab, *frame_shape), dtype=dataset.dtype, buffer=shared, offset=offset
                        )
                        dataset.read_direct(view, np.s_[t0:t1], np.s_[0 : t1 - t0])
                        offset += slab * int(np.prod(frame_shape)) * dataset.dtype.itemsize
                        del view
                except (OSError, ValueError, TypeError) as error:
                    send({"error": str(error).splitlines()[0] if str(error) else repr(error), "frame": t0})
                    stdin.read()  # wait for the parent to close
                    return 1
                send({"slab": k})
                k += 1
        stdin.read()
    except (BrokenPipeError, KeyboardInterrupt):
        return 0
    finally:
        for h5 in files.values():
            h5.close()
    return 0


def _open(open_h5: Any, path: str) -> Any:
    """Open with a chunk cache that holds one whole image chunk per dataset (each chunk is
    decompressed once while its frames are read slab by slab)."""
    from backend.formats.leisaac_hdf5.reader import _MAX_IMAGE_CACHE, _image_cache_bytes  # noqa: PLC0415

    h5 = open_h5(Path(path))
    try:
        cache = _image_cache_bytes(h5)
    except (OSError, KeyError, ValueError):
        cache = 0
    if cache:
        h5.close()
        h5 = open_h5(Path(path), rdcc_nbytes=min(cache + (1 << 20), _MAX_IMAGE_CACHE), rdcc_nslots=10007)
    return h5


if __name__ == "__main__":
    sys.exit(_child(int(sys.argv[1]), int(sys.argv[2])))
