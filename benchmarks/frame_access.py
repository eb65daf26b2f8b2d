"""Random frame access, scrubbing, first-frame and encode speed of backend.media; prints JSON.

Videos: 640x480, 300 frames of camera-like moving content (a textured scene panning, a moving
object, mild sensor noise), H.264 with GOP 30 and GOP 250 (no B-frames, what our writer makes), and
GOP 250 with B-frames (x264 defaults, like generated/Cosmos videos). For each:

- naive: the baseline, seek to the keyframe + decode forward per request, no cache (same run);
- cold: ``VideoReader.frame(i)`` at uniformly random indices (mostly cache misses);
- warm: playhead neighbourhood (+-15 around a moving center) after the window was decoded;
- sequential: frames/s of ``frames()`` (private container, no cache) and of ``frame(i)`` in order;
- scrub: a 30 Hz scrub (random walk of the playhead, steps of up to 4 frames, occasional jumps);
  the reader starts no thread, so the GUI's frame loader is emulated by one plain decode thread
  (latest request wins, then 15 frames of look-ahead while idle); latency to the callback;
- first_frame: fresh reader (probe cache cleared) -> frame of a random episode start (keyframe);
- contention: ``frame(j)`` far away while another thread decodes a long GOP, on the same reader
  (callers take turns on its one decoder) vs on a second reader of the same file.

Encode: frames/s at 640x480 for h264 ultrafast/veryfast and av1 preset 10, our writer (OpenCV
yuv420p path) vs handing PyAV RGB frames (its own conversion), plus the threaded writer.

Usage: python benchmarks/frame_access.py [--frames 300] [--samples 120] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("SVT_LOG", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import av  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402

from backend.media import VideoEncoder, VideoReader, probe  # noqa: E402
from backend.media.color import rgb_to_yuv420p  # noqa: E402
from backend.media.probe import clear_probe_cache  # noqa: E402

W, H = 640, 480


def scene(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    texture = cv2.GaussianBlur(rng.integers(0, 256, (H + 200, W + 400, 3), dtype=np.uint8), (0, 0), 3)
    texture = cv2.addWeighted(texture, 2.0, np.full_like(texture, 128), -1.0, 0)
    frames = []
    for i in range(n):
        x = int(200 + 180 * np.sin(i / 40.0))
        y = int(100 + 90 * np.cos(i / 55.0))
        frame = texture[y : y + H, x : x + W].copy()
        cx, cy = int(W / 2 + 200 * np.sin(i / 13.0)), int(H / 2 + 120 * np.cos(i / 17.0))
        cv2.rectangle(frame, (cx - 40, cy - 30), (cx + 40, cy + 30), (230, 60, 40), -1)
        noise = rng.normal(0, 2.0, frame.shape)
        frames.append(np.clip(frame + noise, 0, 255).astype(np.uint8))
    return frames


def write_bframes(path: Path, frames: list[np.ndarray], gop: int) -> None:
    """x264 defaults (B-frames, preset medium), like videos from generation pipelines."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.codec_context.gop_size = gop
        stream.options = {"crf": "23", "preset": "veryfast", "g": str(gop)}
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def stats(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms, dtype=np.float64)
    return {
        "p50_ms": round(float(np.percentile(a, 50)), 2),
        "p95_ms": round(float(np.percentile(a, 95)), 2),
        "max_ms": round(float(a.max()), 2),
        "n": len(a),
    }


def naive_access(path: Path, indices: list[int]) -> list[float]:
    """Baseline: per request seek to the previous keyframe and decode forward; no cache."""
    info = probe(path)
    container = av.open(str(path))
    stream = container.streams.video[0]
    tb = stream.time_base
    out = []
    for target in indices:
        t0 = time.perf_counter()
        key = info.keyframe_before(target)
        container.seek(int(info.pts[key]), stream=stream, backward=True, any_frame=False)
        for frame in container.decode(stream):
            if abs(float(frame.pts * tb) - info.frame_times[target]) < 1e-6:
                frame.to_ndarray(format="rgb24")
                break
        out.append((time.perf_counter() - t0) * 1e3)
    container.close()
    return out


def cold_access(path: Path, indices: list[int]) -> list[float]:
    out = []
    with VideoReader(path) as reader:
        for i in indices:
            t0 = time.perf_counter()
            reader.frame(i)
            out.append((time.perf_counter() - t0) * 1e3)
    return out


def walk(n: int, steps: int, rng: random.Random) -> list[int]:
    center, centers = rng.randrange(n), []
    for _ in range(steps):
        if rng.random() < 0.03:
            center = rng.randrange(n)  # a click somewhere else on the timeline
        else:
            center = min(n - 1, max(0, center + rng.randint(-4, 4)))
        centers.append(center)
    return centers


def warm_access(path: Path, rng: random.Random, ticks: int) -> list[float]:
    out = []
    with VideoReader(path) as reader:
        last = reader.num_frames - 1
        for center in walk(reader.num_frames, ticks, rng):
            for i in range(max(0, center - 15), min(last, center + 15) + 1):
                reader.frame(i)  # the neighbourhood, decoded in order (as look-ahead would)
            for _ in range(3):
                j = min(last, max(0, center + rng.randint(-15, 15)))
                t0 = time.perf_counter()
                reader.frame(j)
                out.append((time.perf_counter() - t0) * 1e3)
    return out


def sequential(path: Path) -> dict[str, float]:
    with VideoReader(path) as reader:
        t0 = time.perf_counter()
        count = sum(1 for _ in reader.frames())
        private = count / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        for i in range(reader.num_frames):
            reader.frame(i)
        cached = reader.num_frames / (time.perf_counter() - t0)
    return {"frames_fps": round(private, 1), "frame_in_order_fps": round(cached, 1)}


class LatestWinsLoop:
    """A plain-thread stand-in for the GUI's frame loader: newest request first, then look-ahead."""

    def __init__(self, reader: VideoReader, callback, lookahead: int = 15) -> None:
        self.reader, self.callback, self.lookahead = reader, callback, lookahead
        self.cond = threading.Condition()
        self.pending: int | None = None
        self.stopped = False
        self.thread = threading.Thread(target=self._run, name="bench-frame-loop")
        self.thread.start()

    def request(self, index: int) -> None:
        with self.cond:
            self.pending = index
            self.cond.notify()

    def stop(self) -> None:
        with self.cond:
            self.stopped = True
            self.cond.notify()
        self.thread.join()

    def _run(self) -> None:
        ahead, left = 0, 0
        while True:
            with self.cond:
                while self.pending is None and not self.stopped and left <= 0:
                    self.cond.wait()
                if self.stopped:
                    return
                index, self.pending = self.pending, None
            if index is None:
                if ahead < self.reader.num_frames:
                    self.reader.frame(ahead)
                ahead, left = ahead + 1, left - 1
                continue
            self.callback(index, self.reader.frame(index))
            ahead, left = index + 1, self.lookahead


def scrub(path: Path, rng: random.Random, ticks: int, hz: float = 30.0) -> dict[str, object]:
    """GUI-like: every tick ask the decode loop for the playhead's frame; latency until the callback."""
    latencies: list[float] = []
    pending: dict[int, float] = {}
    lock = threading.Lock()

    def callback(index: int, frame: np.ndarray) -> None:
        with lock:
            started = pending.pop(index, None)
        if started is not None:
            latencies.append((time.perf_counter() - started) * 1e3)

    immediate = 0
    with VideoReader(path) as reader:
        loop = LatestWinsLoop(reader, callback)
        try:
            start = time.perf_counter()
            for tick, center in enumerate(walk(reader.num_frames, ticks, rng)):
                with lock:
                    pending.clear()  # an older request that is superseded is not counted
                    pending[center] = time.perf_counter()
                if reader.cached(center) is not None:
                    immediate += 1
                loop.request(center)
                next_tick = start + (tick + 1) / hz
                time.sleep(max(0.0, next_tick - time.perf_counter()))
        finally:
            loop.stop()
    return {**stats(latencies), "cached_at_request": immediate, "ticks": ticks}


def first_frame(path: Path, rng: random.Random, samples: int, keyframe_starts: bool = True) -> list[float]:
    info = probe(path)
    out = []
    for _ in range(samples):
        clear_probe_cache()
        target = int(rng.choice(info.keyframes)) if keyframe_starts else rng.randrange(info.num_frames)
        t0 = time.perf_counter()
        reader = VideoReader(path)
        reader.frame(target)
        out.append((time.perf_counter() - t0) * 1e3)
        reader.close()
    return out


def contention(path: Path, rng: random.Random, samples: int) -> dict[str, object]:
    """frame(j) at a cold spot while another thread decodes a long GOP: same reader vs a second one."""
    result = {}
    info = probe(path)
    far = int(info.keyframes[-1]) - 10 if len(info.keyframes) > 1 else info.num_frames - 20
    for shared in (True, False):
        out = []
        for _ in range(samples):
            busy = VideoReader(path, cache_frames=8)
            reader = busy if shared else VideoReader(path, cache_frames=8)
            other = threading.Thread(target=busy.frame, args=(far,))
            other.start()
            time.sleep(0.002)  # let the long decode start
            j = rng.randrange(5, 25)
            t0 = time.perf_counter()
            reader.frame(j)
            out.append((time.perf_counter() - t0) * 1e3)
            other.join()
            busy.close()
            reader.close()
        result["same_reader" if shared else "second_reader"] = stats(out)
    return result


def conversion(path: Path) -> dict[str, float]:
    with av.open(str(path)) as container:
        frames = [f for _, f in zip(range(100), container.decode(video=0), strict=False)]
    methods = {
        "to_ndarray_rgb24": lambda f: f.to_ndarray(format="rgb24"),
        "reformat_then_to_ndarray": lambda f: f.reformat(format="rgb24").to_ndarray(),
        "cv2_I420": lambda f: cv2.cvtColor(f.to_ndarray(), cv2.COLOR_YUV2RGB_I420),
        "thumbnail_160x120_reformat_area": lambda f: f.to_ndarray(
            width=160, height=120, format="rgb24", interpolation="AREA"
        ),
    }
    best = {name: float("inf") for name in methods}
    names = list(methods)
    for round_ in range(6):  # interleaved rounds in rotating order, best of 6: no warm-up bias
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            fn = methods[name]
            t0 = time.perf_counter()
            for f in frames:
                fn(f)
            best[name] = min(best[name], (time.perf_counter() - t0) / len(frames) * 1e3)
    out = {name + "_ms": round(value, 3) for name, value in best.items()}
    rgb = scene(30, seed=5)
    out["encode_side_pyav_rgb24_to_yuv420p_ms"] = _best(
        lambda f: av.VideoFrame.from_ndarray(f, format="rgb24").reformat(format="yuv420p"), rgb
    )
    out["encode_side_opencv_bt601_yuv420p_ms"] = _best(
        lambda f: av.VideoFrame.from_ndarray(rgb_to_yuv420p(f), format="yuv420p"), rgb
    )
    return out


def _best(fn, items, rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for item in items:
            fn(item)
        best = min(best, (time.perf_counter() - t0) / len(items) * 1e3)
    return round(best, 3)


def encode_fps(frames: list[np.ndarray], tmp: Path) -> dict[str, object]:
    configs = [("h264", "ultrafast"), ("h264", "veryfast"), ("av1", 10)]
    out: dict[str, object] = {}
    for codec, preset in configs:
        row = {}
        for mode in ("pyav_rgb_baseline", "writer", "writer_threaded"):
            path = tmp / f"enc_{codec}_{preset}_{mode}.mp4"
            t0 = time.perf_counter()
            if mode == "pyav_rgb_baseline":
                rate = 30
                with av.open(str(path), "w") as container:
                    stream = container.add_stream({"h264": "libx264", "av1": "libsvtav1"}[codec], rate=rate)
                    stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
                    stream.options = {"crf": "30", "g": "2", "preset": str(preset)}
                    for i, rgb in enumerate(frames):
                        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                        frame.pts = i
                        for packet in stream.encode(frame):
                            container.mux(packet)
                    for packet in stream.encode():
                        container.mux(packet)
            else:
                with VideoEncoder(
                    path, W, H, 30, codec=codec, preset=preset, threaded=mode == "writer_threaded"
                ) as writer:
                    for rgb in frames:
                        writer.write(rgb)
            elapsed = time.perf_counter() - t0
            row[mode + "_fps"] = round(len(frames) / elapsed, 1)
            if mode == "writer_threaded":
                row["writer_threaded_caller_ms_per_frame"] = None  # filled below
        # time the recorder's side of the threaded writer: what write() costs the caller
        path = tmp / f"enc_{codec}_{preset}_caller.mp4"
        writer = VideoEncoder(
            path, W, H, 30, codec=codec, preset=preset, threaded=True, queue_frames=len(frames)
        )
        t0 = time.perf_counter()
        for rgb in frames:
            writer.write(rgb)
        caller = time.perf_counter() - t0
        writer.close()
        row["writer_threaded_caller_ms_per_frame"] = round(caller / len(frames) * 1e3, 3)
        out[f"{codec}_{preset}"] = row
    out["settings"] = "640x480, crf 30, g 2 (LeRobot defaults)"
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--samples", type=int, default=120)
    parser.add_argument("--quick", action="store_true", help="fewer samples (smoke run)")
    args = parser.parse_args()
    samples = 20 if args.quick else args.samples
    rng = random.Random(1)
    result: dict[str, object] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "pyav": av.__version__,
            "ffmpeg": ".".join(map(str, av.library_versions["libavcodec"])),
        },
        "video": f"{W}x{H}, {args.frames} frames, 30 fps",
        "target": "warm-neighbourhood p95 < 50 ms; first frame < 100 ms",
    }
    result["machine"]["load_average_before"] = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="rs-bench-") as tmp_name:
        tmp = Path(tmp_name)
        frames = scene(args.frames)
        videos = {}
        for gop in (30, 250):
            path = tmp / f"gop{gop}.mp4"
            with VideoEncoder(path, W, H, 30, gop=gop, crf=23, preset="veryfast") as writer:
                for rgb in frames:
                    writer.write(rgb)
            videos[f"h264_gop{gop}"] = path
        write_bframes(tmp / "gop250_b.mp4", frames, 250)
        videos["h264_gop250_bframes"] = tmp / "gop250_b.mp4"
        access: dict[str, object] = {}
        for name, path in videos.items():
            info = probe(path)
            indices = [rng.randrange(info.num_frames) for _ in range(samples)]
            access[name] = {
                "size_mb": round(path.stat().st_size / 1e6, 2),
                "keyframes": len(info.keyframes),
                "b_frames": info.reordered,
                "naive_seek_decode": stats(naive_access(path, indices)),
                "cold_reader": stats(cold_access(path, indices)),
                "warm_neighbourhood": stats(warm_access(path, rng, max(10, samples // 3))),
                "sequential": sequential(path),
                "scrub_30hz_request_latency": scrub(path, rng, samples * 2),
                "first_frame_episode_start": stats(first_frame(path, rng, max(10, samples // 4))),
                "first_frame_any_index": stats(
                    first_frame(path, rng, max(10, samples // 4), keyframe_starts=False)
                ),
                "foreground_while_another_thread_decodes": contention(path, rng, max(6, samples // 10)),
            }
        result["access"] = access
        result["rgb_conversion_per_frame"] = conversion(videos["h264_gop30"])
        result["encode_640x480"] = encode_fps(frames[: min(len(frames), 150 if not args.quick else 60)], tmp)
    result["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
