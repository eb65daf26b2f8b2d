"""Live joint plots for teleoperation: one small plot per joint, leader solid, follower dashed,
the last seconds scrolling. Fed with whole arrays (``set_data``) by a ~30 Hz timer, never per sample.
Each joint's axis names the joint and its unit on one line, or on two ("elbow" over "(LeRobot)")
where the plots are too short for one (a 1280x800 window), so the label is never cut."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFont, QFontMetricsF

from widgets import palette

LABEL_STYLE = {"font-size": "7pt"}
AXIS_WIDTH = 40  # ticks and a one-line label
AXIS_WIDTH_TWO_LINES = 48  # ticks and a two-line label
SMALL_UNIT_PT = 5.5  # the unit line of a label on an axis too short for it at the label's 7 pt
SHORT = {
    "shoulder_pan": "pan",
    "shoulder_lift": "lift",
    "elbow_flex": "elbow",
    "wrist_flex": "wrist",
    "wrist_roll": "roll",
    "gripper": "grip",
}


class LiveJointPlots(pg.GraphicsLayoutWidget):
    def __init__(self, joints: list[str] | tuple[str, ...], parent=None) -> None:
        super().__init__(parent)
        self.joints = list(joints)
        self.setBackground(palette.color("plot_bg"))
        self.ci.layout.setSpacing(0)
        self.plots: list[pg.PlotItem] = []
        self.leader_curves: list[pg.PlotDataItem] = []
        self.follower_curves: list[pg.PlotDataItem] = []
        self.unit = ""
        self.two_lines = False
        self.label_lines = 1
        for i, joint in enumerate(self.joints):
            plot = self.addPlot(row=i, col=0)
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.getAxis("left").setWidth(AXIS_WIDTH)
            plot.setLabel(
                "left", SHORT.get(joint, joint), color=palette.joint_color(joint, i).name(), **LABEL_STYLE
            )
            if i < len(self.joints) - 1:
                plot.getAxis("bottom").setStyle(showValues=False)
            else:
                plot.setLabel("bottom", "time (s)")
                plot.getAxis("bottom").enableAutoSIPrefix(False)  # never "time (s) (x0.001)" after connecting
            if self.plots:
                plot.setXLink(self.plots[0])
            leader = plot.plot(pen=palette.joint_pen(joint, i), name="leader")
            follower = plot.plot(pen=palette.joint_pen(joint, i, state=True), name="follower")
            for curve in (leader, follower):
                curve.setClipToView(True)
                curve.setDownsampling(auto=True, method="peak")
            plot.vb.sigResized.connect(self._refit)  # after the layout gave the axes their heights
            self.plots.append(plot)
            self.leader_curves.append(leader)
            self.follower_curves.append(follower)
        if self.plots:
            self.plots[0].addLegend(offset=(-4, 2), labelTextSize="7pt")
            self.plots[0].legend.addItem(self.leader_curves[0], "leader")
            self.plots[0].legend.addItem(self.follower_curves[0], "follower")

    def restyle_theme(self) -> None:
        """The current theme's colours (after a theme switch)."""
        self.setBackground(palette.color("plot_bg"))
        for i, joint in enumerate(self.joints):
            self.leader_curves[i].setPen(palette.joint_pen(joint, i))
            self.follower_curves[i].setPen(palette.joint_pen(joint, i, state=True))
        unit, self.unit = self.unit, None
        self.set_unit(unit or "")  # the axis labels in the joints' new colours

    def set_unit(self, unit: str) -> None:
        """Every joint axis names its unit (ui.md: units on every axis)."""
        if unit == self.unit or not self.plots:
            return
        self.unit = unit
        self._label_axes(self._needs_two_lines())
        self.plots[-1].setLabel("bottom", "time (s)")

    def _label_axes(self, lines: int) -> None:
        """1: "name (unit)"; 2: the unit on a second line; 3: that line in a smaller font (short axes)."""
        self.two_lines = lines > 1
        self.label_lines = lines
        for i, (joint, plot) in enumerate(zip(self.joints, self.plots, strict=False)):
            name = SHORT.get(joint, joint)
            unit = f"({self.unit})" if lines < 3 else f"<span style='font-size:{SMALL_UNIT_PT}pt'>({self.unit})</span>"
            text = (f"{name}<br>{unit}" if lines > 1 else f"{name} {unit}") if self.unit else name
            plot.setLabel("left", text, color=palette.joint_color(joint, i).name(), **LABEL_STYLE)
            plot.getAxis("left").setWidth(AXIS_WIDTH_TWO_LINES if lines > 1 else AXIS_WIDTH)

    def _needs_two_lines(self) -> int:
        """How many lines (see ``_label_axes``) the labels need to fit the shortest joint axis."""
        if not self.unit or not self.plots:
            return 1
        font = QFont(self.font())
        font.setPointSizeF(7.0)
        metrics = QFontMetricsF(font)
        shortest = min(plot.getAxis("left").geometry().height() for plot in self.plots)
        longest = max(metrics.horizontalAdvance(f"{SHORT.get(j, j)} ({self.unit})") for j in self.joints)
        if longest + 8 <= shortest:  # the label's text item has a margin of 4 on each end
            return 1
        if metrics.horizontalAdvance(f"({self.unit})") + 8 <= shortest:
            return 2
        return 3

    def _refit(self, *_: object) -> None:
        """The plots changed height: as many lines as fit."""
        if self.unit and self._needs_two_lines() != self.label_lines:
            self._label_axes(self._needs_two_lines())

    def set_data(self, t: np.ndarray, leader: np.ndarray, follower: np.ndarray | None = None) -> None:
        """``t`` seconds (e.g. relative to now, negative), ``leader``/``follower`` (N, joints)."""
        valid = np.isfinite(t)
        t = t[valid]
        leader = leader[valid]
        has_follower = follower is not None and np.isfinite(follower[valid]).any()
        for k in range(len(self.joints)):
            self.leader_curves[k].setData(t, leader[:, k], connect="finite")
            if has_follower:
                self.follower_curves[k].setData(t, follower[valid][:, k], connect="finite")
            else:
                self.follower_curves[k].setData([], [])
        if len(t):
            self.plots[0].setXRange(float(t.min()), float(t.max()), padding=0.0)

    def curve_data(self, joint: int, which: str = "leader") -> tuple[np.ndarray, np.ndarray]:
        curve = (self.leader_curves if which == "leader" else self.follower_curves)[joint]
        x, y = curve.getData()
        return (np.zeros(0) if x is None else x), (np.zeros(0) if y is None else y)
