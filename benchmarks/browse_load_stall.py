"""GUI event-loop stalls while episodes load (target: < 50 ms).

    python benchmarks/browse_load_stall.py [--switches 12]

The Browse pane (offscreen, the real window) switches episode every 0.6 s, as Up/Down would:
each switch loads the episode's arrays, opens its camera streams, decodes the first frames and the
timeline thumbnails, and (first time) the quality hints run in the background. A 5 ms heartbeat
timer records how late the event loop runs. Baseline: the same window idle, measured in the same
run. Datasets: the long LeRobot v3.0 (H.264), the real shared LeRobot dataset, the demo HDF5.
"""

from __future__ import annotations

import argparse
import json
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
    wait_until,
)


def switch(app, window, switches: int) -> dict:
    browse = window.browse
    episodes = [e.index for e in browse.dataset.episodes]
    shown_after: list[float] = []
    beat = Heartbeat()
    beat.start()
    for n in range(switches):
        target = episodes[(n + 1) % len(episodes)]
        started = time.perf_counter()
        browse.show_episode(target, 0)
        wait_until(
            app, lambda: all(t.index == 0 for t in browse.videos.tiles.values()) and browse.joint_data, 10
        )
        shown_after.append((time.perf_counter() - started) * 1000.0)
        spin(app, 0.6)
    gaps = beat.stop()
    return {"switches": switches, "event_loop_gap_ms": gaps, "switch_to_first_frame_ms": summary(shown_after)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--switches", type=int, default=12)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="browse-stall-"))
    app, window = make_window(tmp)
    datasets = {"long_lerobot_v30_h264": long_lerobot()}
    if REAL_DATASET.is_dir():
        datasets["real_lerobot_v30"] = REAL_DATASET
    datasets["demo_hdf5_lzf"] = demo_hdf5()
    results = {}
    baseline = None
    for name, path in datasets.items():
        open_in(app, window, path, 0)
        if baseline is None:
            spin(app, 1.0)
            beat = Heartbeat()
            beat.start()
            spin(app, 3.0)
            baseline = beat.stop()
        results[name] = switch(app, window, args.switches)
    window.close()
    print(
        json.dumps(
            {
                "benchmark": "browse_load_stall",
                "target": "event loop stalls < 50 ms while episodes load",
                "baseline_idle_event_loop_gap_ms": baseline,
                "results": results,
                "machine": machine(),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
