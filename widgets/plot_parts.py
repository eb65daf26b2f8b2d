"""Pieces every stacked joint plot shares (Browse, Compare): the plot's look, the playhead line and
the texts pinned to a corner of the plot. pyqtgraph is imported when first used (it costs ~0.4 s)."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QPen

from widgets import palette


def style_joint_plot(plot: Any, left_width: int) -> None:
    """No menu or buttons, a faint grid, pan/zoom in time only, muted axes."""
    plot.setMenuEnabled(False)
    plot.hideButtons()
    plot.showGrid(x=True, y=True, alpha=0.15)
    plot.setMouseEnabled(x=True, y=False)
    muted = palette.color("muted")
    for side in ("left", "bottom"):
        axis = plot.getAxis(side)
        axis.setPen(QPen(muted))
        axis.setTextPen(muted)
    plot.getAxis("left").setWidth(left_width)


def playhead_line(plot: Any, x: float = 0.0) -> Any:
    """A vertical line in the theme's playhead colour, above the curves."""
    import pyqtgraph as pg  # noqa: PLC0415

    head = pg.InfiniteLine(
        float(x), angle=90, movable=False, pen=pg.mkPen(palette.color("playhead"), width=1)
    )
    head.setZValue(20)
    plot.addItem(head)
    return head


def corner_text(plot: Any, right: bool, color: QColor, fill: Any = None, text: str = "") -> Any:
    """A text pinned to the top-left (or top-right) corner of the plot, above everything."""
    import pyqtgraph as pg  # noqa: PLC0415

    item = pg.TextItem(text, color=color, anchor=(1, 0) if right else (0, 0), fill=fill)
    item.setParentItem(plot.vb)
    item.setZValue(30)
    if right:
        plot.vb.sigResized.connect(lambda vb, it=item: it.setPos(QPointF(vb.width() - 4, 0)))
    else:
        item.setPos(QPointF(2, 0))
    return item


def few_ticks(low: float, high: float, most: int = 3, margin: float = 0.0) -> list[tuple[float, str]]:
    """Two to ``most`` round values (steps of 1, 2, 2.5 or 5 x 10^k) inside [low, high], labelled;
    ``margin`` (a fraction of the span) keeps them off the ends, where an axis drops a label that
    would not fit."""
    span = high - low
    if not np.isfinite(span) or span <= 0:
        return [(low, f"{low:g}")]
    low, high = low + margin * span, high - margin * span
    span = high - low
    magnitude = 10.0 ** np.floor(np.log10(span / most))
    chosen = None
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0, 20.0, 25.0, 50.0, 100.0):
        step = magnitude * factor
        count = int(np.floor(high / step + 1e-9) - np.ceil(low / step - 1e-9)) + 1
        if count <= most:
            if count >= 2 or chosen is None:
                chosen = step
            if count >= 2:
                break
    step = float(chosen)
    decimals = next((d for d in range(7) if abs(round(step, d) - step) < step * 1e-6), 6)
    ticks = []
    for k in range(int(np.ceil(low / step - 1e-9)), int(np.floor(high / step + 1e-9)) + 1):
        value = 0.0 if k == 0 else k * step
        ticks.append((value, f"{value:.{decimals}f}"))
    return ticks
