"""The Browse pane at 100, 1,000 and 10,000 episodes (targets: first frame < 1.5 s from launch, a save
on 10,000 episodes < 100 ms, the GUI never stalls > 50 ms).

    python benchmarks/browse_large.py [--sizes 100,1000,10000] [--frames 100] [--launches 2] [--hdf5 1000]

Datasets: LeRobot v3.0 written by benchmarks/make_large_dataset.py (``--frames`` frames an episode,
built once under benchmarks/out/, or taken from ``--data DIR/ds<N>``), plus a LeIsaac HDF5 of
``--hdf5`` demos. For each size:
  * ``launch_to_first_frame_s``: a fresh ``python -m app.gui_main PATH --screenshot --timing`` (median
    of ``--launches``), and that process's peak RSS;
  * in one window (offscreen, 1480x920): ``open_to_first_frame_s``, the RSS it added, then, each
    under a 5 ms heartbeat (``max_stall_ms``: the longest the event loop was blocked):
    sort by the Len column (descending) and back by #; filter by text (typed a letter at a time),
    "Hide excluded" and a length range, then clear them; scroll the table from top to bottom a
    page at a time; one curation decision (F) and its save: the time of the key press and the time
    until the sidecar on disk holds it; every episode rated at once (select all, G); one decision
    again with every episode decided.
Baseline in the same run: the heartbeat of the idle window, and with ``--before DIR`` the same
figures of another checkout (its own browse_large.py, run first). Prints JSON; the CPU count is stated;
``growth``: how the times and memory grow from the smallest size to the largest (benchmarks/growth.py).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from browse_common import OUT, REPO, Heartbeat, machine, make_window, open_in, spin, wait_until
from growth import growth


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def dataset(size: int, frames: int, data: Path | None, fmt: str = "v3.0") -> Path:
    name = f"h{size}.hdf5" if fmt == "hdf5" else f"ds{size}"
    if data is not None and (data / name).exists():
        return data / name
    out = OUT / "large" / f"{name.split('.')[0]}x{frames}{'.hdf5' if fmt == 'hdf5' else ''}"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, str(REPO / "benchmarks" / "make_large_dataset.py"), str(out),
             "--episodes", str(size), "--frames", str(frames), "--format", fmt],
            check=True, capture_output=True,
        )
    return out


def launch(path: Path, tmp: Path) -> tuple[float, float]:
    """Seconds from spawning the GUI to its first frame, and the process's peak RSS (MB)."""
    env = dict(os.environ)
    env.update(
        QT_QPA_PLATFORM="offscreen", ROLLOUT_STUDIO_SETTINGS=str(tmp / "launch.ini"),
        XDG_DATA_HOME=str(tmp / "launch-data"),
    )
    argv = [sys.executable, "-m", "app.gui_main", str(path), "--workspace", str(tmp / "ws"),
            "--screenshot", str(tmp / "shot.png"), "--timing", "--settle", "0"]
    started = time.time()
    process = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = process.stdout.read() if process.stdout else ""
    _, _, usage = os.wait4(process.pid, 0)
    process.returncode = 0
    timing = next((json.loads(line) for line in out.splitlines() if line.startswith("{")), {})
    return timing.get("first_frame_epoch", float("nan")) - started, usage.ru_maxrss / 1024


def stall(app, action) -> dict:
    beat = Heartbeat()
    beat.start()
    started = time.perf_counter()
    action()
    seconds = time.perf_counter() - started
    spin(app, 0.05)
    gaps = beat.stop()
    return {"s": round(seconds, 4), "max_stall_ms": gaps.get("max", 0.0)}


def measure_window(app, window, path: Path) -> dict:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    browse = window.browse
    before = rss_mb()
    started = time.perf_counter()
    open_in(app, window, path, 0)
    result: dict = {"open_to_first_frame_s": round(time.perf_counter() - started, 3)}
    spin(app, 0.5)
    result["rss_added_mb"] = round(rss_mb() - before, 1)
    table, bar = browse.table, browse.filters
    result["sort"] = {
        "by_length_desc": stall(app, lambda: table.sortByColumn(2, Qt.SortOrder.DescendingOrder)),
        "by_index": stall(app, lambda: table.sortByColumn(0, Qt.SortOrder.AscendingOrder)),
    }

    def type_text() -> None:
        for letter in "stack":
            QTest.keyClick(bar.text, letter)
            app.processEvents()
        wait_until(app, lambda: not getattr(bar, "filter_pending", False), 5)  # filtered once the keys pause

    result["filter"] = {
        "text_typed": stall(app, type_text),
        "text_cleared": stall(app, bar.text.clear),
        "hide_excluded": stall(app, lambda: bar.excluded.setCurrentIndex(bar.excluded.findData("hide"))),
        "length_range": stall(app, lambda: bar.set_length_range(0, 50)),
        "cleared": stall(app, lambda: (bar.excluded.setCurrentIndex(0), bar.set_length_range(0, 10**6))),
    }

    def scroll() -> None:
        scrollbar = table.verticalScrollBar()
        scrollbar.setValue(0)
        while scrollbar.value() < scrollbar.maximum():
            scrollbar.setValue(scrollbar.value() + scrollbar.pageStep())
            app.processEvents()

    result["scroll_to_end"] = stall(app, scroll)
    result["scroll_to_end"]["pages"] = table.verticalScrollBar().maximum() // max(1, table.verticalScrollBar().pageStep())
    curation = browse.curation
    sidecar = Path(curation.path)
    result["decision_and_save"] = decide_and_save(app, browse, curation, sidecar)
    # every episode decided (select all, G), then one more decision on top of them
    beat = Heartbeat()
    beat.start()
    started = time.perf_counter()
    table.selectAll()
    browse.rate("good")
    pressed = time.perf_counter() - started
    wait_until(app, lambda: not getattr(curation, "save_pending", False), 20)
    spin(app, 0.05)
    result["rate_all_and_save"] = {"key_to_return_s": round(pressed, 4), "max_stall_ms": beat.stop().get("max", 0.0)}
    table.clearSelection()
    browse.show_episode(0)
    result["decision_and_save_with_all_decided"] = decide_and_save(app, browse, curation, sidecar)
    browse.undo()  # the rating of every episode
    wait_until(app, lambda: not getattr(curation, "save_pending", False), 20)
    window.browse.close_dataset()
    spin(app, 0.3)
    return result


def decide_and_save(app, browse, curation, sidecar: Path) -> dict:
    """One decision (F on the shown episode): time of the key, time until the sidecar holds it."""
    mtime = sidecar.stat().st_mtime_ns if sidecar.exists() else 0
    flagged = bool(curation.decision(browse.episode.index).flagged)
    beat = Heartbeat()
    beat.start()
    started = time.perf_counter()
    browse.toggle_flag()
    pressed = time.perf_counter() - started
    saved = wait_until(
        app,
        lambda: sidecar.exists() and sidecar.stat().st_mtime_ns != mtime
        and not getattr(curation, "save_pending", False),
        10,
    )
    on_disk = time.perf_counter() - started
    spin(app, 0.05)
    gaps = beat.stop()
    data = json.loads(sidecar.read_text(encoding="utf-8")) if saved else {}
    holds = bool(data.get("episodes", {}).get(str(browse.episode.index), {}).get("flagged")) != flagged
    browse.toggle_flag()  # back, so the next run starts the same
    wait_until(app, lambda: not getattr(curation, "save_pending", False), 10)
    return {
        "key_to_return_s": round(pressed, 4), "key_to_on_disk_s": round(on_disk, 4),
        "max_stall_ms": gaps.get("max", 0.0), "sidecar_holds_it": holds, "sidecar_kb": sidecar.stat().st_size // 1024,
    }


def fresh_sidecar(path: Path) -> None:
    """Each run starts from no curation decisions and no undo history (an earlier run's sidecar holds
    10,000-change commands): an empty curation is saved over it, as the studio saves any."""
    from backend.curation import Curation

    Curation(path).save()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--launches", type=int, default=2)
    parser.add_argument("--hdf5", type=int, default=1000, help="demos of the HDF5 (0: none)")
    parser.add_argument("--data", type=Path, default=None, help="a folder with ds<N> / h<N>.hdf5 already made")
    parser.add_argument("--before", type=Path, default=None,
                        help="another checkout (git worktree add DIR REV): its own browse_large.py runs first, "
                        "with the same arguments, and its results are printed under 'before'")
    args = parser.parse_args()
    before = None
    if args.before is not None:
        argv = [a for a in sys.argv[1:]]
        at = argv.index("--before")
        del argv[at:at + 2]
        ran = subprocess.run([sys.executable, str(args.before / "benchmarks" / "browse_large.py"), *argv],
                             cwd=args.before, capture_output=True, text=True, check=True)
        before = json.loads(ran.stdout[ran.stdout.index("{"):])
        before = {"code": before["code"], "baseline_idle_event_loop_gap_ms": before["baseline_idle_event_loop_gap_ms"],
                  "results": before["results"]}
    sizes = [int(s) for s in args.sizes.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="browse-large-"))
    paths = {f"lerobot_v30_{n}": dataset(n, args.frames, args.data) for n in sizes}
    if args.hdf5:
        paths[f"hdf5_{args.hdf5}"] = dataset(args.hdf5, args.frames, args.data, "hdf5")
    results: dict = {}
    for path in paths.values():
        fresh_sidecar(path)
    for name, path in paths.items():
        runs = [launch(path, tmp) for _ in range(args.launches)]
        results[name] = {
            "launch_to_first_frame_s": round(statistics.median(r[0] for r in runs), 3),
            "launch_runs_s": [round(r[0], 3) for r in runs],
            "launch_peak_rss_mb": round(max(r[1] for r in runs), 1),
        }
    app, window = make_window(tmp)
    spin(app, 0.5)
    beat = Heartbeat()
    beat.start()
    spin(app, 2.0)
    baseline = beat.stop()
    for name, path in paths.items():
        results[name].update(measure_window(app, window, path))
    window.close()
    sized = {int(k.rsplit("_", 1)[1]): r for k, r in results.items() if k.startswith("lerobot_v30_")}
    growth_of = {  # 100 -> 10,000 episodes: each figure's factor (benchmarks/growth.py)
        "launch_to_first_frame": growth(
            [(n, r["launch_to_first_frame_s"], r["launch_peak_rss_mb"]) for n, r in sized.items()]
        ),
        "open_to_first_frame": growth(
            [(n, r["open_to_first_frame_s"], r["rss_added_mb"]) for n, r in sized.items()]
        ),
        "rate_all_key_to_return": growth(
            [(n, r["rate_all_and_save"]["key_to_return_s"], None) for n, r in sized.items()]
        ),
        "one_decision_key_to_on_disk": growth(
            [(n, r["decision_and_save"]["key_to_on_disk_s"], None) for n, r in sized.items()]
        ),
    }
    print(json.dumps({
        "benchmark": "browse_large",
        "code": subprocess.run(["git", "log", "-1", "--format=%h %s"], cwd=REPO, capture_output=True,
                               text=True).stdout.strip()[:100],
        "targets": {"launch_to_first_frame_s": 1.5, "save_10000_s": 0.1, "max_stall_ms": 50},
        "baseline_idle_event_loop_gap_ms": baseline,
        "results": results,
        "growth": growth_of,
        **({"before": before} if before is not None else {}),
        "machine": machine(),
    }, indent=1))


if __name__ == "__main__":
    main()
