"""Review grid: the paint/scroll stall with 200 looping cells on a page (JSON on stdout).

    .venv/bin/python benchmarks/review_grid.py [--cells 200] [--steps 240]

A 1280x740 ``ThumbnailGrid`` holds ``--cells`` cells of two 120x90 cameras side by side, 8 loop
frames each (the grid of Browse's review view at 1280x800). Each "frame" of the measure is one
scroll step (20 px, down then back up) plus one loop tick, painted synchronously
(``viewport().repaint()``); its wall time and the GUI thread's CPU time are one sample. Reported:
the max, p95 and median wall ms per frame (and the CPU max and p95: the machine's other load left
out), over ``--rounds`` rounds with the three measures interleaved, for

* ``grid``: the grid (one model, one delegate blitting cached QImages);
* ``grid_while_loading``: the same while a thread builds a page of loops (resize + QImage, as the
  page task does) and hands each cell's frames to the model as it is ready;
* ``baseline_widgets``: the obvious alternative measured in the same run: one QLabel per cell in a
  QScrollArea, each label given its next pixmap on every loop tick.

The budget for smooth scrolling is one display frame: 16.7 ms at 60 Hz. ``decision_keys``: the
median ms of one A/R key in a 10,000-episode review (sorted by a score, a page of 200), with every
decision filter off and with "unrated" shown (the cells computed again after each decision).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

WIDTH, HEIGHT, LOOP = 240, 90, 8


def _frames(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    return [np.roll(base, 6 * k, axis=1) for k in range(LOOP)]


def _stats(samples: list[tuple[float, float]]) -> dict[str, float]:
    """Wall ms (what the user sees, other processes' load included) and the GUI thread's own CPU ms."""
    wall = np.array([s[0] for s in samples]) * 1000.0
    cpu = np.array([s[1] for s in samples]) * 1000.0
    return {
        "max_ms": round(float(wall.max()), 2),
        "p95_ms": round(float(np.percentile(wall, 95)), 2),
        "median_ms": round(float(np.median(wall)), 2),
        "cpu_max_ms": round(float(cpu.max()), 2),
        "cpu_p95_ms": round(float(np.percentile(cpu, 95)), 2),
        "frames": len(samples),
    }


def _scroll(app, scroll_bar, viewport, steps: int, tick) -> list[tuple[float, float]]:
    samples = []
    maximum = scroll_bar.maximum()
    position, direction = 0, 20
    for _ in range(steps):
        start, start_cpu = time.perf_counter(), time.thread_time()
        position += direction
        if position >= maximum or position <= 0:
            direction = -direction
            position = max(0, min(maximum, position))
        scroll_bar.setValue(position)
        tick()
        viewport.repaint()
        app.processEvents()
        samples.append((time.perf_counter() - start, time.thread_time() - start_cpu))
    return samples


def bench_grid(app, cells: int, steps: int, loading: bool) -> list[tuple[float, float]]:
    from PySide6.QtCore import QSize

    from app.panes.browse.review import to_qimage
    from widgets.thumbnail_grid import GridItem, ThumbnailGrid

    grid = ThumbnailGrid()
    grid.timer.setInterval(10_000_000)  # ticks come from the measure
    grid.resize(1280, 740)
    grid.set_cell_size(QSize(WIDTH, HEIGHT))
    items = [
        GridItem(
            f"ep {i} · jerky {i * 3.1:.3g}",
            [("jerky", "warning"), ("frozen_camera", "error")],
            ("good", "bad", None)[i % 3],
            i % 7 == 0,
            i % 11 == 0,
            i % 4 != 0,
        )
        for i in range(cells)
    ]
    loops = [_frames(i) for i in range(cells)]
    grid.show()
    if not loading:
        grid.model.set_items(items, [[to_qimage(f) for f in loop] for loop in loops])
    else:
        grid.model.set_items(items)
    app.processEvents()
    stop = threading.Event()

    def load() -> None:  # a page task: each cell's loop made (resize) and turned into QImages
        import cv2

        for row in range(cells):
            if stop.is_set():
                return
            big = [cv2.resize(f, (640, 240)) for f in loops[row]]
            images = [to_qimage(cv2.resize(f, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)) for f in big]
            arrived.append((row, images))

    arrived: list = []
    worker = threading.Thread(target=load) if loading else None

    def tick() -> None:
        while arrived:
            grid.model.set_frames(*arrived.pop(0))
        grid.tick += 1

    if worker is not None:
        worker.start()
    samples = _scroll(app, grid.verticalScrollBar(), grid.viewport(), steps, tick)
    stop.set()
    if worker is not None:
        worker.join()
    grid.close()
    grid.deleteLater()
    return samples


def bench_widgets(app, cells: int, steps: int) -> list[tuple[float, float]]:
    from PySide6.QtGui import QPixmap
    from PySide6.QtWidgets import QGridLayout, QLabel, QScrollArea, QWidget

    from app.panes.browse.review import to_qimage

    area = QScrollArea()
    area.resize(1280, 740)
    inner = QWidget()
    layout = QGridLayout(inner)
    columns = 1280 // (WIDTH + 14)
    labels, pixmaps = [], []
    for i in range(cells):
        label = QLabel()
        label.setFixedSize(WIDTH, HEIGHT)
        pixmaps.append([QPixmap.fromImage(to_qimage(f)) for f in _frames(i)])
        label.setPixmap(pixmaps[-1][0])
        layout.addWidget(label, i // columns, i % columns)
        labels.append(label)
    area.setWidget(inner)
    area.show()
    app.processEvents()
    state = {"tick": 0}

    def tick() -> None:
        state["tick"] += 1
        for label, loop in zip(labels, pixmaps, strict=True):
            label.setPixmap(loop[state["tick"] % LOOP])

    samples = _scroll(app, area.verticalScrollBar(), area.viewport(), steps, tick)
    area.close()
    area.deleteLater()
    return samples


def bench_keys(episodes: int = 10_000, presses: int = 40) -> dict[str, float]:
    """ms per decision key at ``episodes`` episodes (a score table, a page of 200): the session's
    work plus what the view reads for the page (captions, badges, decisions), as the grid does."""
    import tempfile

    from backend.curation import Curation
    from backend.scores.table import EpisodeScores, Finding, ScoreTable
    from backend.sessions.review import ReviewSession

    rng = np.random.default_rng(0)
    table = ScoreTable("bench", signals=["jerky", "idle_episode"])
    for index in range(episodes):
        item = EpisodeScores(index, scores={"jerky": float(rng.uniform(0, 9000))})
        if index % 7 == 0:
            item.findings = [Finding("jerky", "warning", (3, 9), "jerky")]
        item.predicted_rating = float(rng.uniform())
        table.episodes.append(item)
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, decision_filter in (("key_ms", "any"), ("key_unrated_view_ms", "unrated")):
            curation = Curation(Path(folder) / "bench.hdf5")
            curation.autosave = False
            session = ReviewSession(page_size=200)
            session.load(range(episodes), {i: 300 for i in range(episodes)}, curation, table)
            session.set_sort("jerky", descending=True)
            session.set_decision_filter(decision_filter)

            def view(session: ReviewSession = session) -> None:
                for cell in session.page_cells():
                    session.caption(cell), session.badges(cell.episode), session.decision_of(cell.episode)

            session.add_listener(view)
            times = []
            for press in range(presses):
                start = time.perf_counter()
                session.key("A" if press % 2 else "R")
                times.append(time.perf_counter() - start)
            results[name] = round(float(np.median(times)) * 1000.0, 2)
    results["episodes"] = episodes
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=200)
    parser.add_argument("--steps", type=int, default=120, help="frames per round")
    parser.add_argument("--rounds", type=int, default=4, help="rounds, the three measures interleaved")
    args = parser.parse_args()
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    samples: dict[str, list[tuple[float, float]]] = {
        "grid": [],
        "grid_while_loading": [],
        "baseline_widgets": [],
    }
    for _ in range(args.rounds):  # interleaved: a busy moment of the machine hits all three alike
        samples["grid"] += bench_grid(app, args.cells, args.steps, loading=False)
        samples["grid_while_loading"] += bench_grid(app, args.cells, args.steps, loading=True)
        samples["baseline_widgets"] += bench_widgets(app, args.cells, args.steps)
    results = {
        "benchmark": "review_grid",
        "cpus": len(os.sched_getaffinity(0)),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "platform": os.environ.get("QT_QPA_PLATFORM", ""),
        "cells": args.cells,
        "cell": f"{WIDTH}x{HEIGHT}, {LOOP} loop frames",
        "budget_ms": 16.7,
        **{name: _stats(values) for name, values in samples.items()},
        "decision_keys": bench_keys(),
    }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
