"""The MimicGen conversions in the Convert wizard: SO-101 joint actions -> 8-D end-effector actions
with subtask signals (``backend.convert.eef``), and the way back by inverse kinematics
(``backend.convert.eef_to_joint``). The same options as ``rollout-studio convert joint-to-eef`` /
``eef-to-joint``; see docs/mimicgen.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QLabel, QLineEdit, QVBoxLayout

from app.panes.convert.family import Family, combo
from backend.convert import ConversionInfo
from backend.convert.eef import DEFAULT_EEF, SUBTASK_MODES
from backend.convert.mimic_signals import DISTANCE_THRESHOLD_M, GRASP_THRESHOLD_RAD
from backend.sessions.convert import is_hdf5, is_lerobot
from widgets.wizard_inputs import DropPath

FRAMES = [("gripper body", "gripper"), ("tcp (between the jaws)", "tcp")]
FRAME_TIP = (
    "gripper: LeIsaac's gripper body, what its Mimic IK action moves; tcp: the URDF's point between the jaws"
)
SUBTASK_TEXT = {"auto": "auto", "gripper": "gripper", "curation": "curation segments"}
SUBTASK_TIP = (
    "auto: the curation's subtask segments where an episode has them, else the gripper;\n"
    "gripper: where the gripper closes near an object; curation: the Review pane's subtask segments"
)


def number(minimum: float, maximum: float, value: float, decimals: int, suffix: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(minimum, maximum)
    box.setDecimals(decimals)
    box.setSingleStep(10 ** -(decimals - 1))
    box.setValue(value)
    box.setSuffix(suffix)
    return box


def names(text: str) -> list[str] | None:
    """'pick_cube, release_cube' -> ['pick_cube', 'release_cube']; '' -> None (the default names)."""
    return [t.strip() for t in text.split(",") if t.strip()] or None


class OneInputFamily(Family):
    """A conversion of one dataset (``self.source``) into one .hdf5 file."""

    def add_source(self, source: DropPath, caption: str) -> None:
        self.source = source
        layout = QVBoxLayout(self.inputs_page)
        layout.addWidget(QLabel(caption))
        layout.addWidget(source)
        layout.addStretch(1)
        source.pathChanged.connect(self._source_changed)

    def _source_changed(self, path: str) -> None:
        self.session.set_sources([path] if path else [])
        self.refresh_default_out()


class JointToEefFamily(OneInputFamily):
    def __init__(self, info: ConversionInfo, workspace: Path) -> None:
        super().__init__(info, workspace)
        self.add_source(
            DropPath(
                "drop a LeIsaac .hdf5 recording or a LeRobot dataset folder here",
                accept=lambda p: is_hdf5(p) or is_lerobot(p),
                file_filter="HDF5 recordings (*.hdf5 *.h5)",
            ),
            "SO-101 demonstrations with joint actions (LeIsaac HDF5 or LeRobot)",
        )
        self.eef_name = QLineEdit(DEFAULT_EEF)
        self.eef_name.setToolTip("the end-effector name of the Mimic env config (obs/datagen_info/.../<eef>)")
        self.env_name = QLineEdit()
        self.env_name.setPlaceholderText("the recording's")
        self.signals = QLineEdit()
        self.signals.setPlaceholderText("e.g. pick_cube, place")
        self.subtasks = combo([(SUBTASK_TEXT[mode], mode) for mode in SUBTASK_MODES])
        self.subtasks.setToolTip(SUBTASK_TIP)
        self.grasp = number(0.0, 3.2, GRASP_THRESHOLD_RAD, 2, " rad")
        self.grasp.setToolTip("the gripper is closed below this joint angle")
        self.distance = number(0.0, 1.0, DISTANCE_THRESHOLD_M, 3, " m")
        self.distance.setToolTip("a grasp counts when the jaws are this close to an object")
        self.frame = combo(FRAMES)
        self.frame.setToolTip(FRAME_TIP)
        self.include_failed = QCheckBox("include failed demos (success = False)")
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.form.addRow("Output file", self.out)
        self.form.addRow("End effector name", self.eef_name)
        self.form.addRow("Mimic task (env_name)", self.env_name)
        self.form.addRow("Subtask signals", self.signals)
        self.form.addRow("Boundaries from", self.subtasks)
        self.form.addRow("Grasp below", self.grasp)
        self.form.addRow("Object within", self.distance)
        self.form.addRow("Frame", self.frame)
        self.form.addRow("", self.include_failed)
        self.form.addRow("", self.note)
        self.watch(
            self.source, self.eef_name, self.env_name, self.signals, self.subtasks,
            self.grasp, self.distance, self.frame, self.include_failed,
        )  # fmt: skip

    def options(self) -> Any:
        return self.module.JointToEefOptions(
            out=self.out_path(),
            eef_name=self.eef_name.text().strip() or DEFAULT_EEF,
            signals=names(self.signals.text()),
            subtasks=self.subtasks.currentData(),
            grasp_threshold=self.grasp.value(),
            distance_threshold=self.distance.value(),
            env_name=self.env_name.text().strip() or None,
            frame=self.frame.currentData(),
            include_failed=self.include_failed.isChecked(),
        )

    def plan_arrived(self, plan: dict[str, Any]) -> None:
        signals = (plan.get("details") or {}).get("signals") or []
        self.note.setText(f"Signals written: {', '.join(signals)}" if signals else "")


class EefToJointFamily(OneInputFamily):
    def __init__(self, info: ConversionInfo, workspace: Path) -> None:
        super().__init__(info, workspace)
        self.add_source(
            DropPath(
                "drop a LeIsaac .hdf5 with 8-D end-effector actions here",
                accept=is_hdf5,
                file_filter="HDF5 recordings (*.hdf5 *.h5)",
            ),
            "End-effector demonstrations (joint -> EEF output, or MimicGen's generated file)",
        )
        self.weight = number(0.0, 10.0, 0.05, 3, " m/rad")
        self.weight.setToolTip("metres of position error one radian of orientation error weighs")
        self.frame = combo([("as written", None), *FRAMES])
        self.frame.setToolTip(
            f"as written: the frame joint -> EEF used (its provenance), else gripper.\n{FRAME_TIP}"
        )
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.form.addRow("Output file", self.out)
        self.form.addRow("Orientation weight", self.weight)
        self.form.addRow("Frame", self.frame)
        self.form.addRow("", self.note)
        self.watch(self.source, self.weight, self.frame)

    def options(self) -> Any:
        return self.module.EefToJointOptions(
            out=self.out_path(), orientation_weight=self.weight.value(), frame=self.frame.currentData()
        )

    def plan_arrived(self, plan: dict[str, Any]) -> None:
        details = plan.get("details") or {}
        if "episodes" in details:
            self.note.setText(f"{details['episodes']} demos, {details.get('frames', 0)} frames to solve")
