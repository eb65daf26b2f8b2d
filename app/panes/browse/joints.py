"""Browse's joints area: the unit switch above the stacked joint plots, and plotting an episode."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from backend.errors import UnitError
from backend.units import Unit, base_joint_name
from widgets.elided_label import ElidedLabel
from widgets.joint_plots import JointPlotStack

UNIT_CHOICES = [(Unit.RADIANS, "rad"), (Unit.SIM_DEGREES, "deg"), (Unit.LEROBOT_RANGE, "LeRobot")]


class JointsPanel(QWidget):
    """Unit buttons, "stored as ..." and the plots; ``plot`` draws an episode's action and state."""

    unitChosen = Signal(object)  # Unit

    def __init__(self, unit: Unit, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plots = JointPlotStack()
        self.unit_buttons = QButtonGroup(self)
        self.unit_buttons.setExclusive(True)
        row = QHBoxLayout()
        row.setContentsMargins(6, 2, 6, 0)
        self.title = QLabel("Joints")
        self.title.setObjectName("sectionLabel")
        row.addWidget(self.title)
        row.addSpacing(8)
        for choice, label in UNIT_CHOICES:
            button = QToolButton()
            button.setText(label)
            button.setCheckable(True)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setObjectName("segment")
            button.setProperty("unit", choice.value)
            self.unit_buttons.addButton(button)
            row.addWidget(button)
            button.setChecked(choice is unit)
        self.unit_buttons.buttonClicked.connect(lambda b: self.unitChosen.emit(Unit(b.property("unit"))))
        self.native_unit_label = ElidedLabel("")  # shortens, never runs into the legend
        self.native_unit_label.setObjectName("mutedLabel")
        row.addSpacing(8)
        row.addWidget(self.native_unit_label, 1)
        legend = ElidedLabel("a: action ── solid    s: state - - dashed")
        legend.setObjectName("mutedLabel")
        legend.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        row.addWidget(legend, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(row)
        layout.addWidget(self.plots, 1)

    def plot(self, data: dict[str, Any], unit: Unit, length: int, fps: float, playhead: int) -> None:
        """Plot action and state of one episode in ``unit`` (or the stored unit when it cannot)."""
        action, state = data.get("action"), data.get("state")
        series = [v for v in (action, state) if v is not None]
        if not series:
            self.plots.show_message("This episode has no joint values")
            return
        if action is not None and state is not None and action.space.width != state.space.width:
            # e.g. keyboard/IK actions next to joint states: show the joint positions
            action, state = (action, None) if action.space.is_so101 else (None, state)
            series = [v for v in (action, state) if v is not None]
        space = series[0].space
        units = space.convertible_units()
        shown = unit if unit in units else space.unit
        for button in self.unit_buttons.buttons():
            button.setEnabled(Unit(button.property("unit")) in units)
            button.setChecked(Unit(button.property("unit")) is shown)
        native = ", ".join(sorted({s.space.unit.label or "no unit" for s in series}))
        self.native_unit_label.setText(f"stored as {native}")
        converted: list[np.ndarray | None] = []
        left_out = []
        for role, values in (("action", action), ("state", state)):
            try:
                converted.append(None if values is None else values.to(shown).values)
            except UnitError as error:  # e.g. action and state stored in units that do not convert
                converted.append(None)
                left_out.append(f"{role} not shown in {shown.label}: {error.problem}")
        if all(v is None for v in converted):
            self.plots.show_message(f"Cannot plot in {shown.label}: " + "; ".join(left_out))
            return
        if left_out:
            self.native_unit_label.setText(f"stored as {native} ({'; '.join(left_out)})")
        names = [base_joint_name(n) for n in space.names]
        times = np.arange(length, dtype=np.float64) / (fps or 1.0)
        self.plots.set_series(times, names, shown.label, converted[0], converted[1])
        self.plots.set_playhead(playhead)
