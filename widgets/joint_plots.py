"""Stacked joint plots: one plot per joint, x-linked, action solid and state dashed, a playhead.

Curves are ``PlotDataItem`` updated with ``setData``; the playhead is an ``InfiniteLine`` per plot,
so moving it costs no redraw of the curves. Beside each plot (never on its curves) a column names
the joint and its unit and shows the values under the playhead; a plot too short for two y labels
shows one. More than ``MAX_STACKED`` joints (humanoid vectors) share one overlay plot.

pyqtgraph is imported when the first series is plotted (its import costs ~0.4 s with PySide6),
so a window shows its first video frame before paying for it; until then a message is shown.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsItem, QLabel, QStackedWidget, QVBoxLayout, QWidget

from backend.numbers import fixed
from widgets import palette
from widgets.plot_parts import few_ticks, playhead_line, style_joint_plot

MAX_STACKED = 8
SIDE_WIDTH = 150  # px of the column beside the plots: the joint, its unit, the values at the playhead
TWO_TICKS_HEIGHT = 46  # px: a shorter plot gets one y label (two would touch)
pg: Any = None


def _pyqtgraph() -> Any:
    global pg
    if pg is None:
        import pyqtgraph

        pyqtgraph.setConfigOptions(antialias=True)
        pg = pyqtgraph
    return pg


class SideText:
    """The text beside one plot: its title (joint and unit, in the joint's colour) over its values."""

    def __init__(self, label: Any, color: QColor) -> None:
        self.label = label
        self.color = color
        self.title = ""
        self.value = ""

    def set_title(self, text: str, color: QColor | None = None) -> None:
        self.title = text
        if color is not None:
            self.color = color
        self._render()

    def set_value(self, text: str) -> None:
        if text != self.value:
            self.value = text
            self._render()

    def text(self) -> str:
        return f"{self.title}\n{self.value}"

    def _render(self) -> None:
        muted = palette.color("text").name()
        self.label.setText(
            f"<span style='color:{self.color.name()}'>{self.title}</span><br>"
            f"<span style='color:{muted}'>{self.value}</span>",
            size="8pt",
        )


class JointPlotStack(QWidget):
    seekRequested = Signal(float)  # seconds, from a click in a plot

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._stack = QStackedWidget(self)
        self.message = QLabel("")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setObjectName("mutedLabel")
        self._stack.addWidget(self.message)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._stack)
        self.setMinimumHeight(160)
        self.view: Any = None  # pyqtgraph GraphicsLayoutWidget, built on first use
        self.plots: list[Any] = []
        self.action_curves: list[Any] = []
        self.state_curves: list[Any] = []
        self.playheads: list[Any] = []
        self.side_texts: list[SideText] = []
        self.trim_regions: list[tuple[Any, Any]] = []
        self.names: list[str] = []
        self.unit_label = ""
        self.t = np.zeros(0)
        self.action: np.ndarray | None = None
        self.state: np.ndarray | None = None
        self.overlay = False
        self._layout_names: list[str] | None = None
        self._linking = False
        self._y_ranges: dict[int, tuple[float, float, float, float]] = {}
        self._readout_index = 0
        self._readout_timer = QTimer(self)
        self._readout_timer.setSingleShot(True)
        self._readout_timer.setInterval(66)
        self._readout_timer.timeout.connect(self._update_readouts)
        self.show_message("Select an episode to see its joints")

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(800, 380)

    def _ensure_view(self) -> Any:
        if self.view is None:
            pg = _pyqtgraph()
            self.view = pg.GraphicsLayoutWidget()
            self.view.setBackground(palette.color("plot_bg"))
            self.view.ci.layout.setSpacing(0)
            self.view.ci.setContentsMargins(2, 2, 6, 2)
            self.view.scene().sigMouseClicked.connect(self._on_click)
            self._stack.addWidget(self.view)
        return self.view

    # -- building ---------------------------------------------------------------------------------
    def show_message(self, text: str) -> None:
        """Show a message instead of the plots (they are kept for the next series)."""
        self.message.setText(text)
        self._stack.setCurrentWidget(self.message)
        self.t = np.zeros(0)
        self.action = self.state = None

    def showing_message(self) -> bool:
        return self._stack.currentWidget() is self.message

    def clear_plots(self) -> None:
        if self.view is not None:
            self.view.clear()
        self._layout_names = None
        self.plots, self.action_curves, self.state_curves = [], [], []
        self.playheads, self.side_texts, self.trim_regions = [], [], []

    def set_series(
        self,
        t: np.ndarray,
        names: list[str],
        unit_label: str,
        action: np.ndarray | None,
        state: np.ndarray | None,
    ) -> None:
        """Plot (T, N) action/state values against times ``t`` (seconds)."""
        self.t = np.asarray(t, dtype=np.float64)
        if list(names) != self.names or unit_label != self.unit_label:
            self._y_ranges = {}
        self.names = list(names)
        self.unit_label = unit_label
        self.action = None if action is None else np.asarray(action, dtype=np.float64)
        self.state = None if state is None else np.asarray(state, dtype=np.float64)
        if not self.names or (self.action is None and self.state is None):
            self.show_message("This episode has no joint values")
            return
        self.overlay = len(self.names) > MAX_STACKED
        self._ensure_view()
        self._stack.setCurrentWidget(self.view)
        wanted = 1 if self.overlay else len(self.names)
        if len(self.plots) != wanted or not self._same_layout():
            self._build(wanted)
            self.setMinimumHeight(max(160, 38 * wanted + 40))  # each plot stays readable
        self._layout_names = list(self.names)
        self._fill()

    def _same_layout(self) -> bool:
        return self._layout_names == self.names

    def _build(self, count: int) -> None:
        self.clear_plots()
        pg = _pyqtgraph()
        text_color = palette.color("muted")
        for row in range(count):
            plot = self.view.addPlot(row=row, col=0)
            style_joint_plot(plot, left_width=48)
            for side in ("left", "bottom"):
                # axes draw the grid across the whole plot: cache them as pixmaps so a moving
                # playhead repaints a blit, not every tick label (QPicture replay ~2 ms per axis)
                plot.getAxis(side).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            plot.getAxis("left").enableAutoSIPrefix(False)
            plot.getAxis("bottom").enableAutoSIPrefix(False)
            if row < count - 1:
                plot.hideAxis("bottom")  # one time axis, under the last plot
            else:
                plot.setLabel("bottom", "time", units="s", color=text_color.name())
            # x-linked by hand: ViewBox.setXLink crashes PySide6 6.12 at exit (refcount bug)
            plot.sigXRangeChanged.connect(self._on_x_range)
            side = self.view.addLabel("", row=row, col=1, justify="left")
            side.setFixedWidth(SIDE_WIDTH)
            plot.vb.sigResized.connect(lambda _vb, j=row: self._set_ticks(j))
            action_curve = plot.plot([], [], name="action")
            state_curve = plot.plot([], [], name="state")
            for curve in (action_curve, state_curve):
                curve.setClipToView(True)
                curve.setDownsampling(auto=True, method="peak")
            head = playhead_line(plot)
            shade = QColor(0, 0, 0, 120)
            regions = []
            for _ in range(2):
                region = pg.LinearRegionItem((0, 0), movable=False, brush=shade, pen=pg.mkPen(None))
                region.setZValue(10)
                region.hide()
                plot.addItem(region)
                regions.append(region)
            self.plots.append(plot)
            self.action_curves.append(action_curve)
            self.state_curves.append(state_curve)
            self.playheads.append(head)
            self.side_texts.append(SideText(side, palette.color("text")))
            self.trim_regions.append((regions[0], regions[1]))

    def _fill(self) -> None:
        n = len(self.names)
        if self.overlay:
            plot = self.plots[0]
            for curve in self.action_curves + self.state_curves:
                plot.removeItem(curve)
            self.action_curves, self.state_curves = [], []
            for j in range(n):
                if self.action is not None:
                    curve = plot.plot(self.t, self.action[:, j], pen=palette.joint_pen(self.names[j], j))
                    self.action_curves.append(curve)
        else:
            for j in range(n):
                if self.action is not None:
                    self.action_curves[j].setData(self.t, self.action[:, j])
                    self.action_curves[j].setPen(palette.joint_pen(self.names[j], j))
                else:
                    self.action_curves[j].setData([], [])
                if self.state is not None:
                    self.state_curves[j].setData(self.t, self.state[:, j])
                    self.state_curves[j].setPen(palette.joint_pen(self.names[j], j, state=True))
                else:
                    self.state_curves[j].setData([], [])
                self.side_texts[j].set_title(self.axis_title(j), palette.joint_color(self.names[j], j))
        if self.overlay:
            self.side_texts[0].set_title(
                f"{len(self.names)} values ({self.unit_label})"
                if self.unit_label
                else f"{len(self.names)} values"
            )
        if len(self.t):
            self.plots[0].setXRange(float(self.t[0]), float(self.t[-1]), padding=0.01)
        # fixed y ranges (no auto-range pass on every repaint of a moving playhead) that only grow
        # while the same joints and unit are shown: episodes share one scale, axes rarely redraw
        for j, plot in enumerate(self.plots):
            columns = [a[:, j] if not self.overlay else a for a in (self.action, self.state) if a is not None]
            values = np.concatenate([np.ravel(c) for c in columns]) if columns else np.zeros(1)
            values = values[np.isfinite(values)] if values.size else values
            low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
            known = self._y_ranges.get(j)
            if known is not None and known[0] <= low and high <= known[1]:
                continue
            if known is not None:
                low, high = min(low, known[2]), max(high, known[3])
            pad = max((high - low) * 0.08, 1e-3 if high == low else 0.0, abs(high) * 1e-6)
            self._y_ranges[j] = (low - pad, high + pad, low, high)
            plot.disableAutoRange(axis="y")
            plot.setYRange(low - pad, high + pad, padding=0)
            self._set_ticks(j)

    def _set_ticks(self, j: int) -> None:
        """Short stacked plots: two round values, or the middle one where two would touch."""
        if self.overlay or j >= len(self.plots) or j not in self._y_ranges:
            return
        low, high = self._y_ranges[j][:2]
        ticks = few_ticks(low, high, most=2, margin=0.1)
        if self.plots[j].vb.height() < TWO_TICKS_HEIGHT and len(ticks) > 1:
            middle = (low + high) / 2
            ticks = [min(ticks, key=lambda tick: abs(tick[0] - middle))]
        axis = self.plots[j].getAxis("left")
        if getattr(axis, "_studio_ticks", None) != ticks:
            axis._studio_ticks = ticks
            axis.setTicks([ticks])

    def restyle_theme(self) -> None:
        """Redraw with the current theme's colours (after a theme switch), keeping what is shown."""
        if self.view is None:
            return
        self.view.setBackground(palette.color("plot_bg"))
        if not self.plots or self.showing_message():
            return
        trim = getattr(self, "_trim", (None, None))
        self._build(len(self.plots))
        self._layout_names = list(self.names)
        self._y_ranges = {}
        self._fill()
        self.set_trim(*trim)
        self.set_playhead(self._readout_index)

    def reset_ranges(self) -> None:
        """Forget the y ranges seen so far (another dataset); the next series fits anew."""
        self._y_ranges = {}

    def _on_x_range(self, view, x_range) -> None:
        if self._linking:
            return
        self._linking = True
        try:
            for plot in self.plots:
                if plot.vb is not view:
                    plot.setXRange(float(x_range[0]), float(x_range[1]), padding=0)
        finally:
            self._linking = False

    def axis_title(self, joint: int) -> str:
        name = self.names[joint]
        return f"{name} ({self.unit_label})" if self.unit_label else name

    # -- playhead / trim --------------------------------------------------------------------------
    def set_playhead(self, index: int) -> None:
        if not len(self.t) or not self.plots or self.showing_message():
            return
        index = max(0, min(int(index), len(self.t) - 1))
        x = float(self.t[index])
        for head in self.playheads:
            head.setValue(x)
        # the value texts cost more than the lines: at most ~15 updates per second
        self._readout_index = index
        if not self._readout_timer.isActive():
            self._readout_timer.start()

    def _update_readouts(self) -> None:
        index = self._readout_index
        if not self.plots or not len(self.t) or index >= len(self.t):
            return
        if self.overlay:
            self.side_texts[0].set_value(f"t = {float(self.t[index]):.2f} s")
            return
        for j, side in enumerate(self.side_texts):
            side.set_value(self.short_readout(j, index))

    def readout(self, joint: int, index: int) -> str:
        unit = f" {self.unit_label}" if self.unit_label else ""
        parts = []
        if self.action is not None:
            parts.append(f"action {fixed(float(self.action[index, joint]), '.3f')}{unit}")
        if self.state is not None:
            parts.append(f"state {fixed(float(self.state[index, joint]), '.3f')}{unit}")
        return "   ".join(parts)

    def short_readout(self, joint: int, index: int) -> str:
        """The values beside the plot: "a 0.123  s 0.120" (action, state; the unit is in the title)."""
        parts = []
        if self.action is not None:
            parts.append(f"a {fixed(float(self.action[index, joint]), '.3f')}")
        if self.state is not None:
            parts.append(f"s {fixed(float(self.state[index, joint]), '.3f')}")
        return "  ".join(parts)

    def set_trim(self, trim_in: int | None, trim_out: int | None) -> None:
        self._trim = (trim_in, trim_out)
        if not len(self.t) or not self.plots:
            return
        start, end = float(self.t[0]), float(self.t[-1])
        for before, after in self.trim_regions:
            if trim_in:
                before.setRegion((start, float(self.t[min(trim_in, len(self.t) - 1)])))
                before.show()
            else:
                before.hide()
            if trim_out is not None and trim_out < len(self.t) - 1:
                after.setRegion((float(self.t[trim_out]), end))
                after.show()
            else:
                after.hide()

    def _on_click(self, event) -> None:
        if not self.plots or event.button() != Qt.MouseButton.LeftButton:
            return
        for plot in self.plots:
            if plot.sceneBoundingRect().contains(event.scenePos()):
                x = plot.vb.mapSceneToView(event.scenePos()).x()
                self.seekRequested.emit(float(x))
                return

    # -- for tests and tools ----------------------------------------------------------------------
    def curve_data(self, joint: int, which: str = "action") -> tuple[np.ndarray, np.ndarray]:
        curves = self.action_curves if which == "action" else self.state_curves
        x, y = curves[joint].getData()
        return (np.zeros(0), np.zeros(0)) if x is None else (np.asarray(x), np.asarray(y))

    def playhead_x(self) -> float:
        return float(self.playheads[0].value()) if self.playheads else float("nan")
