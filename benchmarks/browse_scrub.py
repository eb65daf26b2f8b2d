"""Scrubbing: drag the playhead across an episode; how fast do frames follow? (target p95 < 50 ms)

    python benchmarks/browse_scrub.py [--seconds 6] [--rate 60]

The Browse pane (offscreen, the real window) gets playhead positions as a mouse drag would give
them (``rate`` per second, sweeping back and forth with jitter). For every frame that reaches the
screen: latency = shown time - time its position was requested. Requests overtaken by newer ones
are dropped by design (latest request wins) and counted. A 5 ms heartbeat timer measures how long
the event loop was ever blocked (input never blocked = small gaps). Baseline: the same heartbeat
with the window idle. Datasets: the long LeRobot v3.0 (2 x 640x480 H.264, GOP 2), the real shared
dataset, and the demo HDF5 (lzf images in chunks of 100 frames).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from browse_common import (
    REAL_DATASET,
    Heartbeat,
    demo_hdf5,
    long_lerobot,
    machine,
    make_window,
    open_in,
    spin,
    summary,
)


def scrub(app, window, seconds: float, rate: float, episode: int) -> dict:
    from PySide6.QtCore import QTimer

    browse = window.browse
    browse.show_episode(episode, 0)
    spin(app, 1.0)
    n = browse.episode.length
    requested: dict[int, float] = {}
    latencies: list[float] = []
    shown_frames = []
    tiles = list(browse.videos.tiles.values())

    def on_frame(camera: str, index: int, _rgb) -> None:
        if all(t.index == index for t in tiles) and index in requested:
            latencies.append((time.perf_counter() - requested[index]) * 1000.0)
            shown_frames.append(index)
            del requested[index]

    browse.loader.frameReady.connect(on_frame)
    rng = random.Random(1)
    state = {"pos": 0.0, "dir": 1.0, "count": 0}
    speed = n / 1.5  # cross the episode in 1.5 s

    def move() -> None:
        state["pos"] += state["dir"] * speed / rate * rng.uniform(0.5, 1.5)
        if state["pos"] >= n - 1 or state["pos"] <= 0:
            state["dir"] *= -1
            state["pos"] = min(max(state["pos"], 0), n - 1)
        frame = int(state["pos"])
        requested[frame] = time.perf_counter()
        state["count"] += 1
        browse.transport.timeline.scrubbed.emit(frame)

    timer = QTimer()
    timer.setInterval(int(1000 / rate))
    timer.timeout.connect(move)
    beat = Heartbeat()
    beat.start()
    timer.start()
    spin(app, seconds)
    timer.stop()
    spin(app, 0.5)
    gaps = beat.stop()
    browse.loader.frameReady.disconnect(on_frame)
    return {
        "requests": state["count"],
        "frames_shown": len(latencies),
        "superseded": state["count"] - len(latencies),
        "latency_ms": summary(latencies),
        "event_loop_gap_ms": gaps,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rate", type=float, default=60.0)
    args = parser.parse_args()
    datasets = {"long_lerobot_v30_h264": (long_lerobot(), 0)}
    if REAL_DATASET.is_dir():
        datasets["real_lerobot_v30"] = (REAL_DATASET, 0)
    datasets["demo_hdf5_lzf"] = (demo_hdf5(), 0)
    tmp = Path(tempfile.mkdtemp(prefix="browse-scrub-"))
    app, window = make_window(tmp)
    results = {}
    baseline = None
    for name, (path, episode) in datasets.items():
        open_in(app, window, path, episode)
        if baseline is None:
            beat = Heartbeat()
            beat.start()
            spin(app, 2.0)
            baseline = beat.stop()
        results[name] = scrub(app, window, args.seconds, args.rate, episode)
    window.close()
    print(
        json.dumps(
            {
                "benchmark": "browse_scrub",
                "target": "latency p95 < 50 ms, event loop never blocked",
                "rate_per_s": args.rate,
                "baseline_idle_event_loop_gap_ms": baseline,
                "results": results,
                "machine": machine(),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
