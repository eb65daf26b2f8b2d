"""Compare's Pair tab: camera tiles of every side, joint plots, the metrics table, the 3D arm, transport.

It draws what the session holds (``show_view``, ``show_time``); frames come from one ``FrameLoader``
per tile (kept across comparisons, shut down with the tab), each stream holding a lease on its
dataset until the loader closes it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.frame_loader import FrameLoader
from backend.compare.view import CompareView, SideData
from backend.kinematics import TIP
from backend.numbers import fixed
from backend.registry import Lease
from backend.sessions.browse import LeasedStream
from backend.sessions.compare import CompareSession, worst_joint
from widgets import palette
from widgets.arm_view import ArmView
from widgets.compare_plots import CompareJointPlots
from widgets.timeline import TransportBar
from widgets.video_tile import VideoTile

METRIC_HEADERS = ["joint", "MAE", "RMSE", "max dev", "at s", "DTW", "corr", "bias"]
UNIT_COLUMNS = ("MAE", "RMSE", "max dev", "DTW", "bias")
MAX_PLOTS = 8  # joint plots stacked at most
EMPTY_HINT = (
    "Pick a dataset and an episode for A (the source) and B (what was made of it), "
    "or use File > Open and Compare from Browse"
)


def _opener(lease: Lease, episode: int, camera: str):
    """A stream of ``camera`` that keeps its dataset open until the loader closes it."""

    def open_stream() -> LeasedStream:
        held = lease.share()  # raises when the view was replaced before this opened: nothing shown
        try:
            return LeasedStream(held.dataset.episode(episode).stream(camera), held)
        except BaseException:
            held.release()
            raise

    return open_stream


class PairTab(QWidget):
    frameShown = Signal(int, int)  # side, frame index handed to its tile

    def __init__(self, session: CompareSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.loaders: list[FrameLoader] = []
        self.tiles: list[VideoTile] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.vertical = QSplitter(Qt.Orientation.Vertical)
        self.tiles_box = QWidget()
        self.tiles_layout = QGridLayout(self.tiles_box)
        self.tiles_layout.setContentsMargins(0, 0, 0, 0)
        self.tiles_layout.setSpacing(4)
        self.vertical.addWidget(self.tiles_box)
        self.horizontal = QSplitter(Qt.Orientation.Horizontal)
        self.plots = CompareJointPlots()
        self.horizontal.addWidget(self.plots)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        metrics_row = QHBoxLayout()
        metrics_row.addWidget(QLabel("metrics of"))
        self.metrics_side = QComboBox()
        self.metrics_side.currentIndexChanged.connect(lambda _i: self.show_metrics())
        metrics_row.addWidget(self.metrics_side, 1)
        right_layout.addLayout(metrics_row)
        self.metrics = QTableWidget(0, len(METRIC_HEADERS))
        self.metrics.setHorizontalHeaderLabels(METRIC_HEADERS)
        self.metrics.verticalHeader().setVisible(False)
        self.metrics.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.metrics.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.metrics.setMinimumHeight(130)
        right_layout.addWidget(self.metrics, 4)  # six joints and the mean readable without scrolling
        self.summary_label = QLabel("")
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        right_layout.addWidget(self.summary_label)
        self.arm = ArmView()
        # the pane's minimum (and the arm's caption) fits a 1280x800 window, never a taller window
        self.arm.setMinimumHeight(140)
        right_layout.addWidget(self.arm, 2)
        self.horizontal.addWidget(right)
        self.horizontal.setStretchFactor(0, 3)
        self.horizontal.setStretchFactor(1, 2)
        self.horizontal.setSizes([550, 450])  # the metrics table's eight columns fit beside the plots
        self.vertical.addWidget(self.horizontal)
        self.vertical.setStretchFactor(0, 2)
        self.vertical.setStretchFactor(1, 3)
        layout.addWidget(self.vertical, 1)
        self.transport = TransportBar()
        self.transport.in_button.hide()
        self.transport.out_button.hide()
        self.transport.trim_label.hide()
        layout.addWidget(self.transport)

    # -- nothing to show --------------------------------------------------------------------------
    def show_empty(self) -> None:
        self._set_tiles([])
        self.plots.show_message(EMPTY_HINT)
        self.arm.clear("The 3D arm shows A (solid) and B (ghost) once both have SO-101 joints")
        self.metrics.setRowCount(0)
        self.summary_label.setText("")
        self.transport.timeline.set_range(0)

    # -- a comparison -----------------------------------------------------------------------------
    def show_view(self, view: CompareView) -> None:
        self._set_tiles(view.sides)
        self.metrics_side.blockSignals(True)
        self.metrics_side.clear()
        for i, side in enumerate(view.sides[1:], start=1):
            self.metrics_side.addItem(f"{side.letter} vs A", i)
        self.metrics_side.blockSignals(False)
        self._show_plots(view)
        self.show_metrics()
        a, b = view.reference, view.sides[1]
        self.arm.set_labels(f"A {a.dataset.path.name}:{a.episode}", f"B {b.dataset.path.name}:{b.episode}")
        self.arm.set_paths(view.tip_path(0), view.tip_path(1))
        if a.points is None and b.points is None:
            self.arm.clear("No SO-101 joint positions to draw for these sources")
        self.transport.timeline.set_range(view.num_frames, view.fps)

    def _set_tiles(self, sides: list[SideData]) -> None:
        for tile in self.tiles:
            self.tiles_layout.removeWidget(tile)
            tile.deleteLater()
        self.tiles = []
        while len(self.loaders) < len(sides):
            n = len(self.loaders)
            loader = FrameLoader(self)
            loader.frameReady.connect(lambda _cam, index, rgb, n=n: self._on_frame(n, index, rgb))
            loader.failed.connect(lambda _cam, _i, message, _d, n=n: self._on_failed(n, message))
            self.loaders.append(loader)
        for n, loader in enumerate(self.loaders):  # one loop per camera shown; the others stop
            side = sides[n] if n < len(sides) else None
            lease = self.session.view_lease(n) if side is not None else None
            if side is not None and side.camera and lease is not None:
                loader.set_sources({side.camera: _opener(lease, side.episode, side.camera)})
            else:
                loader.set_sources({})
        if not sides:
            tile = VideoTile("")
            tile.empty_text = "Camera tiles of every source appear here, on one playhead"
            self.tiles_layout.addWidget(tile, 0, 0)
            self.tiles.append(tile)
            return
        columns = 2 if len(sides) == 4 else len(sides)
        for n, side in enumerate(sides):
            tile = VideoTile(f"{side.label}" + (f" · {side.camera}" if side.camera else ""))
            tile.empty_text = "No camera picked" if not side.camera else "Loading…"
            self.tiles_layout.addWidget(tile, n // columns, n % columns)
            self.tiles.append(tile)

    def _on_failed(self, side: int, message: str) -> None:
        if side < len(self.tiles):
            self.tiles[side].clear(f"Cannot show: {message}")

    def _on_frame(self, side: int, index: int, rgb: np.ndarray) -> None:
        view = self.session.view
        if view is None or side >= len(self.tiles) or side >= len(view.sides):
            return
        s = view.sides[side]
        count = s.video_frames or s.length
        t_side = index / (s.video_fps or s.fps)
        _, state = view.frame_of(side, self.session.time)
        note = {"before": " · not started", "after": " · ended"}.get(state, "")
        self.tiles[side].set_frame(rgb, index, f"frame {index}/{count - 1} · {fixed(t_side, '.2f')} s{note}")
        self.frameShown.emit(side, index)

    def _show_plots(self, view: CompareView) -> None:
        b = view.sides[1]
        if b.result is None:
            self.plots.show_message(f"No joint comparison: {b.error or 'no joint values to compare'}")
            return
        r = b.result
        names = list(r.names)
        columns = list(range(len(names)))
        note = ""
        if len(names) > MAX_PLOTS:  # humanoid-size vectors: the joints that diverge most
            columns = sorted(sorted(columns, key=lambda j: -r.joints[names[j]].rmse)[:MAX_PLOTS])
            note = f"{MAX_PLOTS} of {len(names)} dimensions, largest RMSE"
        extras = [
            (s.letter, s.result.times, s.result.b[:, columns]) for s in view.sides[2:] if s.result is not None
        ]
        self.plots.set_comparison(
            r.times,
            [names[j] for j in columns],
            r.unit.label or r.unit.value,
            r.a[:, columns],
            r.b[:, columns],
            ("A", "B"),
            extras,
            note,
        )

    def show_metrics(self) -> None:
        self.metrics.setRowCount(0)
        view = self.session.view
        if view is None or self.metrics_side.count() == 0:
            self.summary_label.setText("")
            return
        side = view.sides[int(self.metrics_side.currentData() or 1)]
        if side.result is None:
            self.summary_label.setText(side.error or "No joint comparison")
            return
        r = side.result
        s = r.summary()
        rows = list(r.joints.items())
        self.metrics.setRowCount(len(rows) + 1)
        worst = worst_joint(s)
        for row, (name, m) in enumerate(rows):
            values = [name, m.mae, m.rmse, m.max_abs, m.t_max_abs_s, m.dtw, m.corr, m.bias]
            for col, value in enumerate(values):
                item = self._cell(value, "–", col)
                if not col:
                    item.setForeground(palette.joint_color(name, row))
                if name == worst and col == 2:
                    item.setForeground(palette.color("bad"))
                self.metrics.setItem(row, col, item)
        mean = ["mean", s["mae"], s["rmse"], s["max_abs"], None, s["dtw"], s["corr"], None]
        for col, value in enumerate(mean):
            item = self._cell(value, "", col)
            font = item.font()
            font.setBold(True)
            item.setFont(font)
            self.metrics.setItem(len(rows), col, item)
        unit = r.unit.label or r.unit.value
        self.metrics.setHorizontalHeaderLabels(
            [METRIC_HEADERS[0]]
            + [
                f"{h}\n({unit})" if h in UNIT_COLUMNS else h.replace("at s", "at\n(s)")
                for h in METRIC_HEADERS[1:]
            ]
        )
        self.summary_label.setText(" · ".join(summary_parts(side)))

    @staticmethod
    def _cell(value: Any, missing: str, col: int) -> QTableWidgetItem:
        text = value if isinstance(value, str) else fixed(value, ".3f", missing)
        item = QTableWidgetItem(text)
        if col:
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return item

    # -- the instant shown ------------------------------------------------------------------------
    def show_time(self) -> None:
        """Show the session's instant everywhere: tiles, plots, arm, transport."""
        session, view = self.session, self.session.view
        if view is None:
            return
        t = session.time
        self.transport.set_position(session.frame, view.num_frames, view.fps)
        lookahead = 4 if session.clock.playing else 0
        for n, loader in enumerate(self.loaders[: len(view.sides)]):
            index, _ = view.frame_of(n, t)
            loader.request(index, lookahead=lookahead)
        self.plots.set_playhead(t)
        pa = view.arm_points(0, t)
        pb = view.arm_points(1, t) if len(view.sides) > 1 else None
        if pa is None and pb is None:
            return
        self.arm.set_arms(pa, pb)
        _, b_state = view.frame_of(1, t) if len(view.sides) > 1 else (0, "")
        now = f"t = {fixed(t, '.2f')} s"
        if b_state:
            self.arm.caption = f"{now} · B {'not started' if b_state == 'before' else 'ended'}"
        elif pa is not None and pb is not None:
            gap = float(np.linalg.norm(pa[TIP] - pb[TIP]) * 1000.0)
            self.arm.caption = f"{now} · gripper tips {fixed(gap, '.0f')} mm apart"
        else:
            self.arm.caption = now

    # -- export and closing -----------------------------------------------------------------------
    def picture_png(self) -> bytes:
        """A PNG of the pair view (tiles, plots, metrics, arm)."""
        pixmap = self.vertical.grab()
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        pixmap.save(buffer, "PNG")
        buffer.close()
        return bytes(data.data())

    def shutdown(self) -> None:
        """Stop every frame loop and wait for it (their streams close and release their datasets)."""
        for loader in self.loaders:
            loader.shutdown()
        self.loaders = []


def summary_parts(side: SideData) -> list[str]:
    """The line under the metrics: alignment, coverage, gripper events, jerk, gripper tip, warnings."""
    r = side.result
    if r is None:
        return []
    s = r.summary()
    parts = [f"alignment {r.alignment.mode}: offset {fixed(r.alignment.offset_s, '+.3f')} s"]
    if r.alignment.scale != 1.0:
        parts.append(
            f"scale {fixed(r.alignment.scale, '.3f')} ({fixed(side.fps * r.alignment.scale, '.1f')} fps effective)"
        )
    parts.append(f"compared over {fixed(r.overlap_s, '.2f')} s ({fixed(100 * r.coverage, '.0f')}% of A)")
    for name, grip in r.gripper.items():
        if grip.thresholds is not None:
            dt = "–" if grip.max_abs_dt_s is None else f"{fixed(grip.max_abs_dt_s, '.3f')} s"
            parts.append(
                f"{name}: {len(grip.matched)} events matched, max |dt| {dt}, "
                f"missed {grip.unmatched_a}, extra {grip.unmatched_b}"
            )
    if s["jerk_ratio"] is not None:
        parts.append(f"jerk {side.letter}/A ×{fixed(s['jerk_ratio'], '.2f')}")
    if r.ee:
        parts.append(
            f"gripper tip: mean {fixed(r.ee['mean_mm'], '.1f')} mm, max {fixed(r.ee['max_mm'], '.1f')} mm "
            f"at {fixed(r.ee['t_max_s'], '.2f')} s"
        )
    return parts + list(r.warnings)
