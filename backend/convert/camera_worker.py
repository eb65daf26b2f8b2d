"""Encode camera videos in worker processes: HDF5 frames in, finished mp4 files out.

Converting a LeIsaac recording costs about 5.5 ms of CPU per frame and camera (lzf decompression
~2.4 ms, x264 ~2.5 ms, colour conversion and image statistics the rest). In one process h5py holds
the GIL while it decompresses and every frame crosses Python twice, so the work runs in a pool of
child processes (``backend.pool``: ``python -m backend.convert.camera_worker``), one task per
episode and camera: a worker reads the task's frames (each lzf HDF5 chunk read from the file as stored and
decoded once, a piece at a time as the slabs need it, ``lzf_stream``; other layouts through a
one-chunk cache; read ahead on a thread, across task boundaries), encodes them with the writer's
video settings on ONE encoder thread (the same bytes whatever the number of workers) and computes
LeRobot's image statistics. The parent only writes the parquet rows and adopts each finished mp4
in episode order (``LeRobotEpisodeWriter.add_encoded_video``), so the output does not depend on
``--jobs``.

Paths: the child works in ``children.CHILD_CWD``, not the parent's folder, so every path it gets
is absolute (``CameraWorkers.submit`` makes them so against the parent's working folder, and the
child refuses a relative one): a relative path could otherwise name another file of that name there.

A failure is one ``error`` line (``backend.pool``'s protocol) with the task's first frame of the
slab and, for a write fault, its ``errno`` and path. The child dies with the parent and is killed on
cancel; what it wrote lies in the writer's temporary folder, which an aborted writer removes.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from backend import children
from backend.pool import Pool, PoolError, Task, worker_count

SLAB = 5  # frames read at a time (a slab buffer: 4.6 MB at 640x480)
WORKER_CWD = children.CHILD_CWD
READ_AHEAD = 3  # slabs read ahead of the encoder
MODULE = "backend.convert.camera_worker"


@dataclass
class EncodeJob:
    """One episode of one camera: frames ``start .. stop-1`` of ``dataset`` in ``source`` -> ``out``."""

    source: str
    dataset: str
    start: int
    stop: int
    out: str


@dataclass
class VideoSettings:
    width: int
    height: int
    fps: float
    codec: str = "h264"
    crf: int | None = None
    gop: int | None = None
    preset: str | int | None = None
    threads: int = 1  # encoder threads: 1 keeps the bytes independent of the number of workers
    image_stats: bool = True


@dataclass
class EncodedVideo:
    """What the child reports for a finished episode."""

    frames: int
    hist: np.ndarray | None  # (3, 256) pixel counts of the frames sampled for stats
    stats_frames: int
    settings: dict[str, Any] = field(default_factory=dict)  # crf / gop / preset used


class WorkerError(Exception):
    """A worker could not read or encode (``job``: episode number, ``frame``: first frame of the slab,
    ``camera``: the task's camera; None when a worker ended before it took a task)."""

    def __init__(self, message: str, job: int, frame: int | None, camera: str | None = None) -> None:
        super().__init__(message)
        self.job = job
        self.frame = frame
        self.camera = camera


def available() -> bool:
    """Whether conversions encode in worker processes: from a checkout, a pip install and the
    frozen bundle alike (``children.can_start``); elsewhere frames are read on threads."""
    return children.can_start()


class CameraWorkers:
    """A pool of ``workers`` encoder processes for ``cameras``; ``wait`` hands episodes out in order."""

    def __init__(self, cameras: list[str], workers: int | None = None, tasks: int | None = None) -> None:
        """``workers``: None for one per core; ``tasks``: how many will come, when known (never more
        workers than tasks: each idle one would cost its interpreter and imports, ~70 MB)."""
        self.cameras = list(cameras)
        self.pool = Pool(MODULE, worker_count(workers, tasks if tasks is not None else sys.maxsize))

    def submit(self, jobs: dict[str, list[EncodeJob]], videos: dict[str, VideoSettings]) -> None:
        """Every camera's episodes, in order, and its video settings; relative paths are made
        absolute here, in the parent's folder."""
        episodes = {len(jobs[camera]) for camera in self.cameras}
        if len(episodes) != 1:
            raise ValueError("every camera needs the same episodes")
        tasks = []
        for k in range(episodes.pop()):
            for camera in self.cameras:
                job = jobs[camera][k]
                job = replace(job, source=str(Path(job.source).absolute()), out=str(Path(job.out).absolute()))
                tasks.append(Task(k, {**asdict(job), "camera": camera, "video": asdict(videos[camera])}))
        self.pool.submit(tasks)

    def frames_encoded(self) -> int:
        """Frames encoded so far over every episode, per camera (on average)."""
        return self.pool.progress() // max(1, len(self.cameras))

    def wait(self, job: int, on_progress: Callable[[], None], poll_s: float = 0.1) -> dict[str, EncodedVideo]:
        """Block until every camera finished episode ``job``; ``on_progress`` runs on each message
        and at least every ``poll_s`` (it may raise ``Cancelled``). Raises ``WorkerError`` or, for a
        write fault, ``OSError`` naming the file."""
        try:
            results = self.pool.wait(job, on_progress, poll_s)
        except PoolError as error:
            details = error.details
            code = details.get("errno")
            if isinstance(code, int) and details.get("writing"):
                # the disk, not the input: an OSError naming the file, so the output is blamed
                raise OSError(code, os.strerror(code), details.get("path")) from None
            task = self.pool.task(error.task) if error.task is not None else None
            frame = details.get("frame")
            raise WorkerError(
                str(error),
                task.group if task is not None else -1,
                frame if isinstance(frame, int) else None,
                task.payload.get("camera") if task is not None else None,
            ) from None
        videos = {}
        for camera, result in zip(self.cameras, results, strict=True):
            hist = result.get("hist")
            videos[camera] = EncodedVideo(
                int(result["frames"]),
                np.asarray(hist, dtype=np.int64) if hist is not None else None,
                int(result.get("stats_frames", 0)),
                dict(result.get("settings") or {}),
            )
        return videos

    def close(self) -> None:
        self.pool.close()

    def __enter__(self) -> CameraWorkers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------------------------------
# the child


def _open_dataset(h5: Any, name: str) -> Any:
    """``h5[name]`` with a chunk cache that holds one whole chunk: each chunk is decompressed once
    while its frames are read slab by slab."""
    import h5py  # noqa: PLC0415

    dataset = h5[name]
    chunks, itemsize, path = dataset.chunks, dataset.dtype.itemsize, dataset.name
    if chunks is None:
        return dataset
    dataset.id.close()  # HDF5 keeps the first open's cache while the dataset is open
    del dataset
    access = h5py.h5p.create(h5py.h5p.DATASET_ACCESS)
    access.set_chunk_cache(10007, int(np.prod(chunks)) * itemsize + (1 << 20), 1.0)
    return h5py.Dataset(h5py.h5d.open(h5.id, path.encode(), dapl=access))


def _open_file(path: str) -> Any:
    """The HDF5 file, read-only. The parent opened it already: the plain open works unless the
    file needs the studio's fallbacks (a killed recorder's SWMR file, a lock), which cost imports."""
    import h5py  # noqa: PLC0415

    try:
        return h5py.File(path, "r")
    except OSError:
        from backend.formats.leisaac_hdf5._common import open_h5  # noqa: PLC0415

        return open_h5(Path(path))


class _Buffers:
    """Slab buffers used over and over: fresh memory for every slab costs page faults (the kernel
    zeroing ~9 MB per slab measured at 5% of the process)."""

    def __init__(self, count: int, stop: threading.Event) -> None:
        self._free: queue.Queue = queue.Queue()
        self._stop = stop
        for _ in range(count):
            self._free.put(None)  # allocated on first use, in the shape asked for

    def take(self, shape: tuple[int, ...]) -> np.ndarray | None:
        """A buffer of ``shape`` (uint8), or None when stopped."""
        while not self._stop.is_set():
            try:
                buffer = self._free.get(timeout=0.2)
            except queue.Empty:
                continue
            if buffer is None or buffer.shape != shape:
                buffer = np.empty(shape, dtype=np.uint8)
            return buffer
        return None

    def give_back(self, buffer: np.ndarray) -> None:
        self._free.put(buffer)


class _Files:
    """The task's HDF5 files, open for the process: h5py's handle, and for a file on disk read with the
    plain driver a descriptor its stored chunks are read through, a piece at a time."""

    def __init__(self) -> None:
        self._open: dict[str, tuple[Any, int | None]] = {}

    def get(self, path: str) -> tuple[Any, int | None]:
        got = self._open.get(path)
        if got is None:
            h5 = _open_file(path)
            fd = None
            if h5.driver == "sec2":
                try:
                    fd = os.open(path, os.O_RDONLY)
                except OSError:
                    fd = None
            got = self._open[path] = (h5, fd)
        return got

    def close(self) -> None:
        for h5, fd in self._open.values():
            h5.close()
            if fd is not None:
                os.close(fd)
        self._open.clear()


def _slabs(h5: Any, job: dict[str, Any], buffers: _Buffers, fd: int | None = None) -> Any:
    """(t0, frames, buffer) of the task's frames, SLAB at a time, in order; stops (None) when stopped.
    LeIsaac's lzf chunks of whole frames are decoded a piece at a time as the slabs need them
    (``lzf_stream``: a few frames held, not the chunk), through ``fd`` where given; anything else, and
    a chunk that does not decode so, is read through h5py."""
    from backend.formats.leisaac_hdf5 import chunks, lzf_stream  # noqa: PLC0415

    name, start, stop_at = job["dataset"], int(job["start"]), int(job["stop"])
    dataset = h5[name]
    if dataset.ndim != 4 or dataset.shape[-1] != 3 or dataset.dtype != np.uint8:
        raise ValueError(f"{name} is {dataset.shape} {dataset.dtype}, not RGB uint8")
    if dataset.shape[0] < stop_at:
        raise ValueError(f"{name} has {dataset.shape[0]} frames, {stop_at} needed")
    frame_shape = tuple(int(n) for n in dataset.shape[1:])
    frame_bytes = int(np.prod(frame_shape))
    chunk = chunks.whole_frame_lzf_chunks(dataset.id)
    if chunk is None:  # any other layout: h5py, with a cache of one chunk
        del dataset
        dataset = _open_dataset(h5, name)
    per = chunk[0] if chunk is not None else stop_at - start
    for c0 in range(start // per * per if chunk is not None else start, stop_at, max(1, per)):
        lo, hi = max(start, c0), min(stop_at, c0 + per)
        stream = lzf_stream.chunk_stream(dataset.id, c0, per * frame_bytes, fd) if chunk is not None else None
        if stream is not None and lo > c0 and not stream.skip((lo - c0) * frame_bytes):
            stream = None
        for t0 in range(lo, hi, SLAB):
            t1 = min(hi, t0 + SLAB)
            buffer = buffers.take((SLAB, *frame_shape))
            if buffer is None:
                return
            if stream is None or not stream.read_into(buffer[: t1 - t0].reshape(-1)):
                stream = None  # h5py reads the rest of this chunk, and says what is wrong with it
                dataset.read_direct(buffer, np.s_[t0:t1], np.s_[0 : t1 - t0])
            yield t0, buffer[: t1 - t0], buffer


def _reader(tasks: queue.Queue, out: queue.Queue, buffers: _Buffers, stop: threading.Event) -> None:
    """Read every task's frames in order into ``out``: (task, t0, frames, buffer) per slab, then
    (task, None, None, None); the consumer gives each buffer back once it is done with the frames.
    ``tasks`` yields task dicts, then None (end of input): ``out`` then gets None."""
    files = _Files()
    try:
        for job in iter(tasks.get, None):
            t0 = int(job["start"])
            try:
                h5, fd = files.get(job["source"])
                for t0, frames, buffer in _slabs(h5, job, buffers, fd):
                    out.put((job, t0, frames, buffer))
                if stop.is_set():
                    return
            except Exception as error:  # noqa: BLE001 - handed to the encoding thread
                text = str(error).splitlines()[0] if str(error) else type(error).__name__
                out.put((job, t0, ReadFailure(text), None))
                return
            out.put((job, None, None, None))
        out.put(None)
    finally:
        files.close()


def _read_tasks(tasks: queue.Queue, stop: threading.Event, send: Callable[[dict[str, Any]], None]) -> None:
    """The parent's task lines into ``tasks`` (None at the end of input); a task with a relative
    path is refused (it would name another file here: never guess) and ends the input."""
    try:
        for line in sys.stdin.buffer:
            job = json.loads(line)
            for key in ("source", "out"):
                if not os.path.isabs(job[key]):
                    send({"error": f"{job[key]}: not an absolute path (camera process)", "task": job["task"]})
                    stop.set()
                    return
            tasks.put(job)
            if stop.is_set():
                return
    finally:
        tasks.put(None)


class ReadFailure:
    def __init__(self, message: str) -> None:
        self.message = message


def _limit_opencv_threads(threads: int) -> None:
    """OpenCV's colour conversion may use as many threads as the encoder (the camera processes
    share the cores between them)."""
    try:
        import cv2  # noqa: PLC0415

        cv2.setNumThreads(max(1, threads))
    except (ImportError, AttributeError):
        pass


def _error_message(
    error: BaseException, job: int | None, frame: int | None, path: str | None
) -> dict[str, Any]:
    """An ``error`` line: the text, and for a write fault (disk full, file-size limit, read-only,
    permission) its ``errno`` and the ``path`` written, so the parent blames the output."""
    from backend.errors import StudioError  # noqa: PLC0415
    from backend.output_faults import fault_errno  # noqa: PLC0415

    text = error.message if isinstance(error, StudioError) else str(error) or type(error).__name__
    message: dict[str, Any] = {"error": " ".join(text.split()), "task": job, "frame": frame}
    code = fault_errno(error)
    if code is not None:
        message.update({"errno": code, "writing": True, "path": path})
    return message


def _child() -> int:
    """Run tasks until the end of input; every failure is one ``error`` message, never a traceback."""
    children.die_with_parent()
    if os.getppid() == 1:
        return 1
    sys.unraisablehook = lambda _unraisable: None  # objects freed after a failure: not for the user
    stdout = sys.stdout.buffer
    lock = threading.Lock()

    def send(message: dict[str, Any]) -> None:
        with lock:
            stdout.write((json.dumps(message) + "\n").encode())
            stdout.flush()

    where: dict[str, Any] = {"task": None, "frame": None, "path": None}
    try:
        return _run_tasks(send, where)
    except BrokenPipeError:
        return 0
    except BaseException as error:  # noqa: BLE001 - reported to the parent, which decides
        try:
            send(_error_message(error, where["task"], where["frame"], where["path"]))
        except OSError:
            pass
        return 1


def _run_tasks(send: Callable[[dict[str, Any]], None], where: dict[str, Any]) -> int:  # noqa: C901
    tasks: queue.Queue = queue.Queue()
    blocks: queue.Queue = queue.Queue()  # bounded by the buffers
    stop = threading.Event()
    buffers = _Buffers(READ_AHEAD + 1, stop)
    lines = threading.Thread(target=_read_tasks, args=(tasks, stop, send), name="task-lines", daemon=True)
    lines.start()
    reader = threading.Thread(
        target=_reader, args=(tasks, blocks, buffers, stop), name="hdf5-reader", daemon=True
    )
    reader.start()  # the first chunk is decompressed while the encoder's modules load
    from backend.errors import StudioError  # noqa: PLC0415
    from backend.media.encoder import VideoEncoder  # noqa: PLC0415
    from backend.media.image_stats import image_histogram, streamed_sample  # noqa: PLC0415

    _limit_opencv_threads(1)
    try:
        while True:
            item = blocks.get()
            if item is None:
                return 1 if stop.is_set() else 0  # stopped: a refused task was reported
            job, t0, block, buffer = item
            number, video = job["task"], job["video"]
            out = Path(job["out"])
            where.update(task=number, frame=int(job["start"]), path=str(out))
            if isinstance(block, ReadFailure):
                send({"error": block.message, "task": number, "frame": t0})
                return 1
            out.parent.mkdir(parents=True, exist_ok=True)
            hist: np.ndarray | None = None
            sampled = frames = 0
            try:
                encoder = VideoEncoder(
                    out,
                    int(video["width"]),
                    int(video["height"]),
                    float(video["fps"]),
                    codec=video["codec"],
                    crf=video["crf"],
                    gop=video["gop"],
                    preset=video["preset"],
                    options={"threads": str(int(video["threads"]))},
                )
            except StudioError as error:
                send(_error_message(error, number, int(job["start"]), str(out)))
                return 1
            with encoder:
                while block is not None:
                    if isinstance(block, ReadFailure):
                        send({"error": block.message, "task": number, "frame": t0})
                        return 1
                    where["frame"] = t0
                    for frame in block:
                        try:
                            encoder.write(frame)
                        except StudioError as error:
                            send(_error_message(error, number, t0, str(out)))
                            return 1
                        if video.get("image_stats", True) and streamed_sample(frames):
                            counts = image_histogram(frame)
                            hist = counts if hist is None else hist + counts
                            sampled += 1
                        frames += 1
                    buffers.give_back(buffer)
                    send({"task": number, "progress": frames})
                    got, t0, block, buffer = blocks.get()
                    if got is not job:
                        raise RuntimeError(f"reader out of step (task {got['task']}, expected {number})")
            where["frame"] = None  # the encoder closed: the file is complete
            send(
                {
                    "task": number,
                    "done": {
                        "frames": frames,
                        "hist": hist.tolist() if hist is not None else None,
                        "stats_frames": sampled,
                        "settings": {"crf": encoder.crf, "gop": encoder.gop, "preset": encoder.preset},
                    },
                }
            )
    finally:
        stop.set()


if __name__ == "__main__":
    sys.exit(_child())
