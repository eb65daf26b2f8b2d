"""Per-joint overlay plots for a comparison: A solid, B translucent, the difference shaded.

One plot per joint, x-linked, on A's timeline (seconds). The area between A and B is filled with
a ``FillBetweenItem`` in the joint's colour; further sources (C, D) are drawn dashed without
shading. A playhead ``InfiniteLine`` per plot; a click in a plot asks to seek there.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor

from backend.numbers import fixed
from widgets import palette
from widgets.plot_parts import corner_text, few_ticks, playhead_line, style_joint_plot

FILL_ALPHA = 70


class CompareJointPlots(pg.GraphicsLayoutWidget):
    seekRequested = Signal(float)  # A seconds, from a click in a plot

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground(palette.color("plot_bg"))
        self.ci.layout.setSpacing(0)
        self.ci.setContentsMargins(2, 2, 6, 2)
        self.plots: list[pg.PlotItem] = []
        self.curves_a: list[pg.PlotDataItem] = []
        self.curves_b: list[pg.PlotDataItem] = []
        self.fills: list[pg.FillBetweenItem] = []
        self.extra_curves: list[list[pg.PlotDataItem]] = []
        self.playheads: list[pg.InfiniteLine] = []
        self.readouts: list[pg.TextItem] = []
        self.names: list[str] = []
        self.unit = ""
        self.times = np.zeros(0)
        self.a: np.ndarray | None = None
        self.b: np.ndarray | None = None
        self.label_a, self.label_b = "A", "B"
        self._shown: tuple[tuple, dict] | None = None  # the last set_comparison arguments
        self._playhead_t = 0.0
        self.scene().sigMouseClicked.connect(self._on_click)
        self.show_message("Pick two sources to compare their joints")

    def show_message(self, text: str) -> None:
        self._reset()
        plot = self.addPlot(row=0, col=0)
        plot.hideAxis("left")
        plot.hideAxis("bottom")
        plot.setMouseEnabled(False, False)
        plot.hideButtons()
        wrapped = "\n".join(textwrap.fill(line, 60) for line in text.splitlines())  # narrow panes
        message = pg.TextItem(wrapped, color=palette.color("muted"), anchor=(0.5, 0.5))
        plot.addItem(message)
        message.setPos(0.5, 0.5)
        plot.setXRange(0, 1, padding=0)
        plot.setYRange(0, 1, padding=0)
        self.message = text

    def _reset(self) -> None:
        self.clear()
        self.plots, self.curves_a, self.curves_b, self.fills = [], [], [], []
        self.extra_curves, self.playheads, self.readouts = [], [], []
        self.titles: list[pg.TextItem] = []
        self.message = ""

    def set_comparison(
        self,
        times: np.ndarray,
        names: list[str],
        unit: str,
        a: np.ndarray,
        b: np.ndarray,
        labels: tuple[str, str] = ("A", "B"),
        extras: list[tuple[str, np.ndarray, np.ndarray]] | None = None,
        note: str = "",
    ) -> None:
        """A and B (N, J) at A times ``times``; ``extras``: (label, times, values) of more sources;
        ``note`` is added to the time axis label."""
        self._shown = ((times, names, unit, a, b), {"labels": labels, "extras": extras, "note": note})
        self._reset()
        self.times = np.asarray(times, dtype=np.float64)
        self.names, self.unit = list(names), unit
        self.a, self.b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        self.label_a, self.label_b = labels
        muted = palette.color("muted")
        for j, name in enumerate(self.names):
            plot = self.addPlot(row=j, col=0)
            style_joint_plot(plot, left_width=62)
            if j < len(self.names) - 1:
                plot.getAxis("bottom").setStyle(showValues=False)
                plot.getAxis("bottom").setHeight(4)
            else:
                label = f"time on {self.label_a}" + (f" · {note}" if note else "")
                plot.setLabel("bottom", label, units="s", color=muted.name())
            if self.plots:
                plot.setXLink(self.plots[0])
            # the axis carries the unit; the joint's name sits inside the plot, in its colour
            plot.setLabel("left", unit or "value", color=muted.name(), size="8pt")
            title = corner_text(plot, right=False, color=palette.joint_color(name, j), text=name)
            curve_a = plot.plot(self.times, self.a[:, j], pen=palette.joint_pen(name, j, width=1.8))
            curve_b = plot.plot(
                self.times, self.b[:, j], pen=palette.joint_pen(name, j, second=True, width=1.8)
            )
            fill_color = QColor(palette.joint_color(name, j))
            fill_color.setAlpha(FILL_ALPHA)
            fill = pg.FillBetweenItem(curve_a, curve_b, brush=fill_color)
            fill.setZValue(-5)
            plot.addItem(fill)
            extra = []
            for _label, t_extra, values in extras or []:
                pen = palette.joint_pen(name, j, state=True, second=True)
                extra.append(plot.plot(np.asarray(t_extra), np.asarray(values)[:, j], pen=pen))
            values = np.concatenate(
                [self.a[:, j], self.b[:, j]] + [np.asarray(v)[:, j] for _l, _t, v in extras or []]
            )
            values = values[np.isfinite(values)]
            if values.size:  # a fixed range with a few round ticks: short plots stay readable
                low, high = float(values.min()), float(values.max())
                pad = max((high - low) * 0.08, 1e-3)
                plot.setYRange(low - pad, high + pad, padding=0)
                plot.getAxis("left").setTicks([few_ticks(low - pad, high + pad, margin=0.1)])
            head = playhead_line(plot, float(self.times[0]) if len(self.times) else 0.0)
            readout = corner_text(plot, right=True, color=palette.color("text"))
            self.plots.append(plot)
            self.curves_a.append(curve_a)
            self.curves_b.append(curve_b)
            self.fills.append(fill)
            self.extra_curves.append(extra)
            self.playheads.append(head)
            self.readouts.append(readout)
            self.titles.append(title)
        if len(self.times):
            self.plots[0].setXRange(float(self.times[0]), float(self.times[-1]), padding=0.01)

    def restyle_theme(self) -> None:
        """Redraw with the current theme's colours (after a theme switch), keeping what is shown."""
        self.setBackground(palette.color("plot_bg"))
        if self._shown is not None and not self.message:
            args, kwargs = self._shown
            self.set_comparison(*args, **kwargs)
            self.set_playhead(self._playhead_t)
        elif self.message:
            self.show_message(self.message)

    def set_playhead(self, t: float) -> None:
        """Move every playhead to A time ``t`` and show A, B and |B - A| there."""
        self._playhead_t = float(t)
        for head in self.playheads:
            head.setValue(float(t))
        if self.a is None or not len(self.times):
            return
        inside = self.times[0] - 1e-9 <= t <= self.times[-1] + 1e-9
        unit = f" {self.unit}" if self.unit else ""
        for j, item in enumerate(self.readouts):
            if not inside:
                item.setText("outside the compared span")
                continue
            va = float(np.interp(t, self.times, self.a[:, j]))
            vb = float(np.interp(t, self.times, self.b[:, j]))
            item.setText(
                f"{self.label_a} {fixed(va, '.2f')}  {self.label_b} {fixed(vb, '.2f')}  "
                f"Δ {fixed(vb - va, '+.2f')}{unit}"
            )

    def playhead_x(self) -> float:
        return float(self.playheads[0].value()) if self.playheads else float("nan")

    def fill_area(self, joint: int) -> float:
        """Area between the curves of a joint (unit * s), what the shading shows."""
        if self.a is None or len(self.times) < 2:
            return 0.0
        return float(np.trapezoid(np.abs(self.b[:, joint] - self.a[:, joint]), self.times))

    def _on_click(self, event) -> None:
        if not self.plots or event.button() != Qt.MouseButton.LeftButton:
            return
        for plot in self.plots:
            if plot.sceneBoundingRect().contains(event.scenePos()):
                self.seekRequested.emit(float(plot.vb.mapSceneToView(event.scenePos()).x()))
                return
