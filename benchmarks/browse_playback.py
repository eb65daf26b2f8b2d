"""Playback at the dataset's fps with two 640x480 cameras on 2 cores: no drift, no stalls.

    python benchmarks/browse_playback.py [--speed 1.0]

The Browse pane (offscreen, the real window) plays an episode from its first frame to its last.
For every frame that reaches the screen on both cameras we record when it was shown; frame i is
due at start + i / (fps * speed). Reported: lateness of shown frames (p50/p95/max, ms), the drift
(lateness of the last frame shown), frames skipped, the longest gap between two shown frames and
the event loop's longest block (5 ms heartbeat). The process is pinned to 2 cores.
Datasets: long LeRobot v3.0 (300 frames, H.264 GOP 2), the demo HDF5 (lzf images).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from browse_common import (
    Heartbeat,
    demo_hdf5,
    long_lerobot,
    machine,
    make_window,
    open_in,
    spin,
    summary,
    wait_until,
)


def play(app, window, episode: int, speed: float) -> dict:
    browse = window.browse
    browse.show_episode(episode, 0)
    spin(app, 1.5)  # thumbnails and arrays loaded, decoders warm
    fps = browse.dataset.fps * speed
    length = browse.episode.length
    shown: list[tuple[int, float]] = []
    browse.frameShown.connect(lambda index: shown.append((index, time.perf_counter())))
    beat = Heartbeat()
    beat.start()
    browse.set_speed(speed)
    started = time.perf_counter()
    browse.play()
    wait_until(app, lambda: not browse.playing, length / fps + 10)
    spin(app, 0.3)
    gaps = beat.stop()
    browse.frameShown.disconnect()
    lateness = [(t - started - i / fps) * 1000.0 for i, t in shown]
    intervals = [(b[1] - a[1]) * 1000.0 for a, b in zip(shown, shown[1:], strict=False)]
    distinct = sorted({i for i, _ in shown})
    return {
        "frames": length,
        "fps": round(fps, 2),
        "frames_shown": len(distinct),
        "frames_skipped": length - len(distinct),
        "last_frame_shown": distinct[-1] if distinct else None,
        "lateness_ms": summary(lateness),
        "drift_ms_at_end": round(lateness[-1], 2) if lateness else None,
        "longest_gap_between_frames_ms": round(max(intervals), 2) if intervals else None,
        "event_loop_gap_ms": gaps,
        "wall_s": round(shown[-1][1] - started, 3) if shown else None,
        "expected_s": round((length - 1) / fps, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--speed", type=float, default=1.0)
    args = parser.parse_args()
    cores = sorted(os.sched_getaffinity(0))[:2]
    os.sched_setaffinity(0, cores)
    tmp = Path(tempfile.mkdtemp(prefix="browse-playback-"))
    app, window = make_window(tmp)
    results = {}
    for name, path in (("long_lerobot_v30_h264", long_lerobot()), ("demo_hdf5_lzf", demo_hdf5())):
        open_in(app, window, path, 0)
        results[name] = play(app, window, 0, args.speed)
    window.close()
    print(
        json.dumps(
            {
                "benchmark": "browse_playback",
                "target": "no drift, no stalls (two 640x480 cameras at the dataset's fps, 2 cores)",
                "speed": args.speed,
                "cores": cores,
                "results": results,
                "machine": machine(),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
