"""Memory shared with ``multiprocessing`` children that nothing can leak, not even ``kill -9``.

``multiprocessing.shared_memory.SharedMemory`` makes a *named* segment (``/dev/shm/psm_*`` on
Linux) that stays until someone unlinks it: a process killed with SIGKILL never does, and every
such kill leaked its rings (hundreds of segments, gigabytes of RAM, seen on a test machine).

``SharedBuffer`` on Linux is an anonymous ``memfd`` (``os.memfd_create``) mapped with ``mmap``:
it has no name, so the kernel frees it when the last process that holds it (a descriptor or a
mapping) exits, however it exits. The child gets it through its ``Process(args=...)``: the
picklable ``handle`` reduces to ``multiprocessing.reduction.DupFd``, so while the spawn context
pickles the process object, the descriptor is added to the ones the child inherits (and through a
``multiprocessing`` resource sharer in other cases, e.g. the fork context or a ``Connection``).

Where ``memfd_create`` is missing (macOS, Windows), it falls back to a named ``SharedMemory``:
the parent calls ``unlink()`` as soon as its children have attached (their "ready"), which leaves
a window where a kill leaks it (and ``multiprocessing``'s resource tracker is the safety net).
``unlink()`` is a no-op for a memfd.

    buffer = SharedBuffer(size)                                   # parent
    ctx.Process(target=main, args=(buffer.handle,)).start()
    ... child reports ready ...; buffer.unlink()
    view = SharedBuffer.attach(handle)                            # child: main(handle)
    array = np.ndarray(shape, dtype, buffer=view.buf)
    ...; array = None; view.close()                               # both sides

``close()`` is safe while numpy views of ``buf`` are still alive: the mapping then goes when the
last view goes (at once when the callers dropped theirs first); its descriptor is closed at once.
"""

from __future__ import annotations

import contextlib
import mmap
import os
from multiprocessing import reduction, shared_memory
from typing import Any

_LABEL = "rollout-studio"


def memfd_available() -> bool:
    return hasattr(os, "memfd_create")


class SharedBufferHandle:
    """What a child needs to attach: picklable (for ``Process`` args), not a buffer itself.

    ``fd`` (memfd, -1 otherwise) or ``name`` (named fallback), and ``size`` in bytes."""

    def __init__(self, size: int, fd: int = -1, name: str | None = None) -> None:
        self.size = size
        self.fd = fd
        self.name = name

    def __reduce__(self) -> tuple[Any, tuple]:
        if self.name is not None:
            return (SharedBufferHandle, (self.size, -1, self.name))
        if self.fd < 0:
            raise ValueError("this shared buffer handle was closed or already used")
        # spawn: the descriptor number goes into the child's inherited descriptors; it is the
        # parent's own descriptor (not a copy), so it must stay open until Process.start() returns
        return (_rebuild_memfd, (reduction.DupFd(self.fd), self.size))

    def __repr__(self) -> str:
        where = f"name={self.name!r}" if self.name is not None else f"fd={self.fd}"
        return f"SharedBufferHandle({where}, size={self.size})"


def _rebuild_memfd(dup: Any, size: int) -> SharedBufferHandle:
    fd = dup.detach()
    # spawn passes it inheritable; the child's own children need not get it
    with contextlib.suppress(OSError):
        os.set_inheritable(fd, False)
    return SharedBufferHandle(size, fd=fd)


class SharedBuffer:
    """A writable shared ``buf`` (memoryview, usable as a numpy buffer) of ``size`` bytes."""

    def __init__(self, size: int, label: str = "", *, anonymous: bool | None = None) -> None:
        """Create one. ``anonymous`` None: a memfd where it works, else the named fallback; True: a
        memfd or OSError; False: the named fallback. ``label`` names the memfd in /proc/PID/maps."""
        self.size = max(1, int(size))
        self._owner = True
        self._fd = -1
        self._map: mmap.mmap | None = None
        self._shm: shared_memory.SharedMemory | None = None
        self._named = False
        self._buf: memoryview | None = None
        fd = -1
        if anonymous is not False and memfd_available():
            try:
                fd = os.memfd_create(f"{_LABEL}:{label}" if label else _LABEL, os.MFD_CLOEXEC)
            except OSError:  # e.g. a kernel or sandbox without it
                if anonymous:
                    raise
        elif anonymous:
            raise OSError("memfd_create is not available here")
        if fd >= 0:
            try:
                os.ftruncate(fd, self.size)
                self._map = mmap.mmap(fd, self.size)
            except BaseException:
                os.close(fd)
                raise
            self._fd = fd
            self._buf = memoryview(self._map)
        else:
            self._shm = shared_memory.SharedMemory(create=True, size=self.size)
            self._named = True
            self._buf = self._shm.buf

    @classmethod
    def attach(cls, handle: SharedBufferHandle) -> SharedBuffer:
        """The child's side, from the ``handle`` it received (a memfd handle is used up by this)."""
        self = cls.__new__(cls)
        self.size = handle.size
        self._owner = False
        self._fd = -1
        self._map = None
        self._shm = None
        self._named = False
        if handle.name is not None:
            self._shm = shared_memory.SharedMemory(name=handle.name)
            self._buf = self._shm.buf
            return self
        if handle.fd < 0:
            raise ValueError("this shared buffer handle was closed or already used")
        fd, handle.fd = handle.fd, -1
        try:
            self._map = mmap.mmap(fd, handle.size)  # keeps its own duplicate of the descriptor
        finally:
            os.close(fd)
        self._buf = memoryview(self._map)
        return self

    @property
    def buf(self) -> memoryview:
        if self._buf is None:
            raise ValueError("the shared buffer is closed")
        return self._buf

    @property
    def handle(self) -> SharedBufferHandle:
        """For ``Process(args=...)``; only the creating side has one."""
        if not self._owner:
            raise ValueError("only the process that created a shared buffer can hand it on")
        if self._shm is not None:
            return SharedBufferHandle(self.size, name=self._shm.name)
        return SharedBufferHandle(self.size, fd=self._fd)

    @property
    def name(self) -> str | None:
        """The fallback's segment name while it has one; None for a memfd."""
        return self._shm.name if self._shm is not None and self._named else None

    def unlink(self) -> None:
        """Remove the fallback segment's name (call once the children have attached); memfd: no-op."""
        if self._shm is None or not self._named or not self._owner:
            return
        self._named = False
        with contextlib.suppress(FileNotFoundError):
            self._shm.unlink()

    def close(self) -> None:
        """Let go of the memory (the creator also unlinks a fallback name). Safe to call again.

        numpy arrays made on ``buf`` keep the mapping itself alive (their ``base``) without holding
        a buffer export, so closing the mapping under them would leave them pointing at unmapped
        memory: it is never closed explicitly; it is unmapped when its last reference goes (at
        once when the callers dropped their views first). The descriptor is closed now."""
        buf, self._buf = self._buf, None
        if buf is not None:
            with contextlib.suppress(BufferError):
                buf.release()  # fails only while sub-views of the memoryview itself are alive
        self._map = None
        shm, self._shm = self._shm, None
        if shm is not None:
            # SharedMemory.close() would unmap under live numpy views: hand its mapping to the
            # views (CPython's attributes; the fallback only) and let it close just its descriptor
            shm._buf = None  # type: ignore[attr-defined]
            shm._mmap = None  # type: ignore[attr-defined]
            with contextlib.suppress(OSError):
                shm.close()
            if self._named and self._owner:
                self._named = False
                with contextlib.suppress(FileNotFoundError):
                    shm.unlink()
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> SharedBuffer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


class SharedLock:
    """A lock between a process and its ``multiprocessing`` children that nothing can leak.

    ``multiprocessing.Lock`` is a named POSIX semaphore (``/dev/shm/sem.*``), left behind when its
    owners are killed and the resource tracker is killed with them. This is a POSIX record lock
    (``fcntl.lockf``) on an unlinked temporary file: record locks belong to processes, so the parent
    and a child exclude each other although they share the descriptor, and the kernel drops a dead
    process's lock. Not for threads of one process (they share its locks): one user per process.
    Hand ``handle`` to the child in its ``Process`` arguments; ``SharedLock.attach(handle)`` there.
    """

    def __init__(self, fd: int | None = None) -> None:
        import tempfile  # noqa: PLC0415

        if fd is None:
            self._file = tempfile.TemporaryFile(prefix="rollout-studio-lock-")
            fd = self._file.fileno()
        else:
            self._file = None
        self._fd = fd

    @property
    def handle(self) -> Any:
        return _SharedLockHandle(self._fd)

    @classmethod
    def attach(cls, handle: Any) -> SharedLock:
        fd, handle.fd = handle.fd, -1
        if fd < 0:
            raise ValueError("this lock handle was already used")
        return cls(fd)

    def acquire(self, timeout: float | None = None) -> bool:
        """Wait for the lock (``timeout`` seconds at most; None: as long as it takes)."""
        import fcntl  # noqa: PLC0415
        import time  # noqa: PLC0415

        if timeout is None:
            fcntl.lockf(self._fd, fcntl.LOCK_EX)
            return True
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            try:
                fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except OSError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.0002)

    def release(self) -> None:
        import fcntl  # noqa: PLC0415

        fcntl.lockf(self._fd, fcntl.LOCK_UN)

    def __enter__(self) -> SharedLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        elif self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._fd = -1


class _SharedLockHandle:
    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __reduce__(self) -> tuple[Any, tuple]:
        if self.fd < 0:
            raise ValueError("this lock handle was already used")
        return (_rebuild_lock_handle, (reduction.DupFd(self.fd),))


def _rebuild_lock_handle(dup: Any) -> _SharedLockHandle:
    fd = dup.detach()
    with contextlib.suppress(OSError):
        os.set_inheritable(fd, False)
    return _SharedLockHandle(fd)
