"""Encode one camera's episodes in a process of its own: HDF5 frames in, finished mp4 files out.

Converting a LeIsaac recording costs about 5.5 ms of CPU per frame and camera (lzf decompression
~2.4 ms, x264 ~2.5 ms, colour conversion and image statistics the rest). In one process h5py holds
the GIL while it decompresses and every frame crosses Python twice (reader, encoder queue), so the
cameras take turns on one core and the encoders starve at every chunk and episode boundary. Here
each camera gets a child process (``python -m backend.convert.camera_worker``) that reads its frames
(one HDF5 chunk decompressed once into a one-chunk cache, read ahead on a thread), encodes them with
the writer's video settings and computes LeRobot's image statistics, episode after episode without
waiting for the parent. The parent only writes the parquet rows and adopts each finished mp4
(``LeRobotEpisodeWriter.add_encoded_video``).

Paths: the child works in ``WORKER_CWD``, not the parent's folder, so every path it gets is absolute
(``CameraWorker.submit`` makes them so against the parent's working folder, and the child refuses a
relative one): a relative path could otherwise name another file of the same name there.

Messages are JSON lines (no pickle): the job list on the child's stdin; ``progress`` / ``done`` /
``error`` lines on its stdout. The child dies with the parent (``PR_SET_PDEATHSIG`` on Linux, or a
broken pipe) and is killed on cancel; what it wrote lies in the writer's temporary folder, which
an aborted writer removes.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

SLAB = 10  # frames read at a time
# the child's working folder: holds no user data, so nothing is found there by a relative name
WORKER_CWD = Path(os.sep)
READ_AHEAD = 3  # slabs read ahead of the encoder


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
    threads: int = 1  # encoder threads (x264 frame threads; 1 is the cheapest per frame)
    image_stats: bool = True


@dataclass
class EncodedVideo:
    """What the child reports for a finished episode."""

    frames: int
    hist: np.ndarray | None  # (3, 256) pixel counts of the frames sampled for stats
    stats_frames: int
    settings: dict[str, Any] = field(default_factory=dict)  # crf / gop / preset used


class WorkerError(Exception):
    """The child could not read or encode (``job``: episode number, ``frame``: first frame of the slab)."""

    def __init__(self, message: str, job: int, frame: int | None) -> None:
        super().__init__(message)
        self.job = job
        self.frame = frame


def available() -> bool:
    """Whether camera processes can start: ``python -m`` needs a Python, which a frozen
    (PyInstaller) bundle's executable is not; conversions there read frames on threads."""
    return not getattr(sys, "frozen", False)


def encoder_threads(cameras: int) -> int:
    """x264 threads per camera process so that the processes together use every core once."""
    return max(1, (os.cpu_count() or 1) // max(1, cameras))


class CameraWorker:
    """The parent's side of one camera process. Messages land in ``events`` as (camera, dict)."""

    def __init__(self, camera: str, events: queue.Queue) -> None:
        self.camera = camera
        self._events = events
        root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        # no BLAS here: idle OpenBLAS threads spin on sched_yield (~10% of a core measured)
        env.setdefault("OPENBLAS_NUM_THREADS", "1")
        env.setdefault("OMP_NUM_THREADS", "1")
        # started before the jobs are known: its imports overlap the parent's set-up. -P: the
        # working folder is not on sys.path (the package comes from PYTHONPATH)
        self._proc: subprocess.Popen | None = subprocess.Popen(
            [sys.executable, "-P", "-m", "backend.convert.camera_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=WORKER_CWD,
        )
        self._reader: threading.Thread | None = None

    def submit(self, jobs: list[EncodeJob], video: VideoSettings) -> None:
        """Hand the child its episodes; relative paths are made absolute here, in the parent's folder."""
        assert self._proc is not None and self._proc.stdin is not None
        absolute = [
            replace(job, source=str(Path(job.source).absolute()), out=str(Path(job.out).absolute()))
            for job in jobs
        ]
        message = {"jobs": [asdict(job) for job in absolute], "video": asdict(video)}
        try:
            self._proc.stdin.write((json.dumps(message) + "\n").encode())
            self._proc.stdin.flush()
        except BrokenPipeError:
            pass  # the child already ended: the reader reports its exit status
        self._reader = threading.Thread(target=self._read, name=f"camera-worker:{self.camera}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        for line in proc.stdout:
            try:
                self._events.put((self.camera, json.loads(line)))
            except ValueError:
                self._events.put((self.camera, {"error": f"garbled message {line[:80]!r}", "job": -1}))
                break
        code = proc.wait()
        self._events.put((self.camera, {"exit": code}))

    def close(self) -> None:
        """Stop the child (at once if it is still working) and wait for it."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            try:
                if pipe is not None:
                    pipe.close()
            except OSError:
                pass
        if self._reader is not None:
            self._reader.join(5)


class CameraWorkers:
    """One ``CameraWorker`` per camera, all encoding the same episodes; ``wait`` hands them out in order."""

    def __init__(self, cameras: list[str]) -> None:
        self._events: queue.Queue = queue.Queue()
        self.workers: dict[str, CameraWorker] = {}
        try:
            for camera in cameras:
                self.workers[camera] = CameraWorker(camera, self._events)
        except BaseException:
            self.close()
            raise
        self._done: dict[tuple[str, int], EncodedVideo] = {}
        self._frames: dict[str, list[int]] = {}  # camera -> frames encoded per episode
        self._finished: dict[str, int] = {}  # camera -> episodes delivered

    def submit(self, jobs: dict[str, list[EncodeJob]], videos: dict[str, VideoSettings]) -> None:
        """Every camera's episodes, in order, and its video settings."""
        for camera, worker in self.workers.items():
            self._frames[camera] = [0] * len(jobs[camera])
            self._finished[camera] = 0
            worker.submit(jobs[camera], videos[camera])

    def frames_encoded(self) -> int:
        """Frames finished by the slowest camera, over every episode so far."""
        return min((sum(counts) for counts in self._frames.values()), default=0)

    def wait(self, job: int, on_progress: Callable[[], None], poll_s: float = 0.1) -> dict[str, EncodedVideo]:
        """Block until every camera finished episode ``job``; ``on_progress`` runs on each message
        and at least every ``poll_s`` (it may raise ``Cancelled``). Raises ``WorkerError``."""
        while not all((camera, job) in self._done for camera in self.workers):
            try:
                camera, message = self._events.get(timeout=poll_s)
            except queue.Empty:
                on_progress()
                continue
            self._handle(camera, message)
            on_progress()
        return {camera: self._done.pop((camera, job)) for camera in self.workers}

    def _handle(self, camera: str, message: dict[str, Any]) -> None:
        if "progress" in message:
            self._frames[camera][int(message["progress"])] = int(message["frames"])
        elif "done" in message:
            job = int(message["done"])
            self._frames[camera][job] = int(message["frames"])
            self._finished[camera] += 1
            hist = message.get("hist")
            self._done[(camera, job)] = EncodedVideo(
                int(message["frames"]),
                np.asarray(hist, dtype=np.int64) if hist is not None else None,
                int(message.get("stats_frames", 0)),
                dict(message.get("settings") or {}),
            )
        elif "error" in message:
            frame = message.get("frame")
            code = message.get("errno")
            if isinstance(code, int) and message.get("writing"):
                # the disk, not the input: an OSError naming the file, so the output is blamed
                raise OSError(code, os.strerror(code), message.get("path"))
            raise WorkerError(str(message["error"]), int(message.get("job", -1)), frame)
        elif "exit" in message:
            if message["exit"] == 0 and self._finished[camera] == len(self._frames[camera]):
                return  # every episode delivered
            raise WorkerError(
                f"the {camera} encoder process ended early (exit status {message['exit']})", -1, None
            )

    def close(self) -> None:
        for worker in self.workers.values():
            worker.close()

    def __enter__(self) -> CameraWorkers:
        return self

    def __exit__(self, *exc: object) -> None:
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


def _reader(jobs: list[dict[str, Any]], out: queue.Queue, buffers: _Buffers, stop: threading.Event) -> None:
    """Read every job's frames in order into ``out``: (job, t0, frames, buffer) per slab, then
    (job, None, None, None); the consumer gives each buffer back once it is done with the frames."""
    files: dict[str, Any] = {}
    try:
        for number, job in enumerate(jobs):
            t0 = int(job["start"])
            try:
                h5 = files.get(job["source"])
                if h5 is None:
                    h5 = files[job["source"]] = _open_file(job["source"])
                dataset = _open_dataset(h5, job["dataset"])
                if dataset.ndim != 4 or dataset.shape[-1] != 3 or dataset.dtype != np.uint8:
                    raise ValueError(f"{job['dataset']} is {dataset.shape} {dataset.dtype}, not RGB uint8")
                if dataset.shape[0] < int(job["stop"]):
                    raise ValueError(f"{job['dataset']} has {dataset.shape[0]} frames, {job['stop']} needed")
                stop_at = int(job["stop"])
                for t0 in range(int(job["start"]), stop_at, SLAB):
                    t1 = min(stop_at, t0 + SLAB)
                    buffer = buffers.take((SLAB, *dataset.shape[1:]))
                    if buffer is None:
                        return
                    dataset.read_direct(buffer, np.s_[t0:t1], np.s_[0 : t1 - t0])
                    out.put((number, t0, buffer[: t1 - t0], buffer))
                del dataset
            except Exception as error:  # noqa: BLE001 - handed to the encoding thread
                text = str(error).splitlines()[0] if str(error) else type(error).__name__
                out.put((number, t0, ReadFailure(text), None))
                return
            out.put((number, None, None, None))
    finally:
        for h5 in files.values():
            h5.close()


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


def _error_message(error: BaseException, job: int, frame: int | None, path: str | None) -> dict[str, Any]:
    """An ``error`` line: the text, and for a write fault (disk full, file-size limit, read-only,
    permission) its ``errno`` and the ``path`` written, so the parent blames the output."""
    from backend.errors import StudioError  # noqa: PLC0415
    from backend.output_faults import fault_errno  # noqa: PLC0415

    text = error.message if isinstance(error, StudioError) else str(error) or type(error).__name__
    message: dict[str, Any] = {"error": " ".join(text.split()), "job": job, "frame": frame}
    code = fault_errno(error)
    if code is not None:
        message.update({"errno": code, "writing": True, "path": path})
    return message


def _child() -> int:
    """Run the jobs; every failure is one ``error`` message on stdout, never a traceback."""
    _die_with_parent()
    if os.getppid() == 1:
        return 1
    sys.unraisablehook = lambda _unraisable: None  # objects freed after a failure: not for the user
    stdout = sys.stdout.buffer

    def send(message: dict[str, Any]) -> None:
        stdout.write((json.dumps(message) + "\n").encode())
        stdout.flush()

    where: dict[str, Any] = {"job": -1, "frame": None, "path": None}
    try:
        return _run_jobs(send, where)
    except BrokenPipeError:
        return 0
    except BaseException as error:  # noqa: BLE001 - reported to the parent, which decides
        try:
            send(_error_message(error, where["job"], where["frame"], where["path"]))
        except OSError:
            pass
        return 1


def _run_jobs(send: Callable[[dict[str, Any]], None], where: dict[str, Any]) -> int:  # noqa: C901
    line = sys.stdin.buffer.readline()
    if not line:
        return 0
    work = json.loads(line)
    jobs, video = work["jobs"], work["video"]
    for number, job in enumerate(jobs):  # a relative path means another file here: never guess
        for key in ("source", "out"):
            if not os.path.isabs(job[key]):
                send({"error": f"{job[key]}: not an absolute path (camera process)", "job": number})
                return 1
    blocks: queue.Queue = queue.Queue()  # bounded by the buffers
    stop = threading.Event()
    buffers = _Buffers(READ_AHEAD + 1, stop)
    reader = threading.Thread(
        target=_reader, args=(jobs, blocks, buffers, stop), name="hdf5-reader", daemon=True
    )
    reader.start()  # the first chunk is decompressed while the encoder's modules load
    from backend.errors import StudioError  # noqa: PLC0415
    from backend.media.encoder import VideoEncoder  # noqa: PLC0415
    from backend.media.image_stats import image_histogram, streamed_sample  # noqa: PLC0415

    _limit_opencv_threads(int(video["threads"]))
    try:
        for number, job in enumerate(jobs):
            out = Path(job["out"])
            where.update(job=number, frame=int(job["start"]), path=str(out))
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
                while True:
                    got, t0, block, buffer = blocks.get()
                    if got != number:
                        raise RuntimeError(f"reader out of step (episode {got}, expected {number})")
                    if block is None:
                        break
                    if isinstance(block, ReadFailure):
                        send({"error": block.message, "job": number, "frame": t0})
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
                    send({"progress": number, "frames": frames})
            where["frame"] = None  # the encoder closed: the file is complete
            send(
                {
                    "done": number,
                    "frames": frames,
                    "hist": hist.tolist() if hist is not None else None,
                    "stats_frames": sampled,
                    "settings": {"crf": encoder.crf, "gop": encoder.gop, "preset": encoder.preset},
                }
            )
    finally:
        stop.set()
    return 0


if __name__ == "__main__":
    sys.exit(_child())
