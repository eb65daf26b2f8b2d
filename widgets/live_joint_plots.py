"""Live joint plots for teleoperation: one small plot per joint, leader solid, follower dashed,
the last seconds scrolling. Fed with whole arrays (``set_data``) by a ~30 Hz timer, never per sample."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from widgets import palette

LABEL_STYLE = {"font-size": "7pt"}  # "lift (LeRobot)" fits a plot's height at 1280x800
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
        for i, joint in enumerate(self.joints):
            plot = self.addPlot(row=i, col=0)
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.getAxis("left").setWidth(40)
            plot.setLabel(
                "left", SHORT.get(joint, joint), color=palette.joint_color(joint, i).name(), **LABEL_STYLE
            )
            if i < len(self.joints) - 1:
                plot.getAxis("bottom").setStyle(showValues=False)
            else:
                plot.setLabel("bottom", "time (s)")
            if self.plots:
                plot.setXLink(self.plots[0])
            leader = plot.plot(pen=palette.joint_pen(joint, i), name="leader")
            follower = plot.plot(pen=palette.joint_pen(joint, i, state=True), name="follower")
            for curve in (leader, follower):
                curve.setClipToView(True)
                curve.setDownsampling(auto=True, method="peak")
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
        for i, (joint, plot) in enumerate(zip(self.joints, self.plots, strict=False)):
            name = SHORT.get(joint, joint)
            plot.setLabel("left", f"{name} ({unit})" if unit else name,
                          color=palette.joint_color(joint, i).name(), **LABEL_STYLE)
        self.plots[-1].setLabel("bottom", "time (s)")

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
