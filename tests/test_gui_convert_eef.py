"""The Convert pane's MimicGen steps: joint -> end effector and back, run to the end on a tiny LeIsaac
recording, as `rollout-studio convert joint-to-eef` / `eef-to-joint` do."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt

from app.context import AppContext
from app.panes.convert import ConvertPane
from backend.convert.eef_common import EEF_NAMES
from backend.sessions.convert import ConvertSession
from tests.recordings import DemoSpec, RecordingSpec, write_recording
from widgets.wizard_preview import _note as preview_note

WAIT_MS = 60_000


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = RecordingSpec([DemoSpec(24), DemoSpec(20)], cameras=("front",))
    return write_recording(tmp_path_factory.mktemp("eef_gui") / "lift.hdf5", spec)


def _run(qtbot, wizard, source: Path, out: Path) -> dict:
    wizard.family.source.setPath(str(source))
    assert wizard.frame.next_button.isEnabled()
    qtbot.mouseClick(wizard.frame.next_button, Qt.MouseButton.LeftButton)
    wizard.family.out.setPath(str(out))
    qtbot.waitUntil(wizard.preview_ready, timeout=WAIT_MS)
    plan = wizard.plan()
    assert plan["errors"] == [], plan["errors"]
    qtbot.mouseClick(wizard.frame.next_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: wizard.step() == 3 or wizard.last_error is not None, timeout=WAIT_MS)
    assert wizard.last_error is None
    return plan


def test_session_proposes_mimic_outputs_and_asks_for_the_input(tmp_path: Path) -> None:
    to_eef = ConvertSession(key="joint_to_eef", workspace=tmp_path)
    assert to_eef.inputs_check() == (False, "drop a LeIsaac .hdf5 recording or a LeRobot dataset")
    to_eef.set_sources([tmp_path / "lift.hdf5"])
    assert to_eef.inputs_check() == (True, "")
    assert to_eef.default_out() == tmp_path / "mimic" / "lift_eef.hdf5"
    to_eef.set_sources([tmp_path / "so101.v30"])  # a LeRobot folder keeps its whole name
    assert to_eef.default_out() == tmp_path / "mimic" / "so101.v30_eef.hdf5"
    back = ConvertSession(key="eef_to_joint", workspace=tmp_path)
    assert back.inputs_check() == (False, "drop an .hdf5 with end-effector actions")
    back.set_sources([tmp_path / "generated.hdf5"])
    assert back.default_out() == tmp_path / "mimic" / "generated_joint.hdf5"
    assert not back.out_is_folder()


def test_wizard_writes_eef_actions_and_back(qtbot, tmp_path: Path, recording: Path) -> None:
    context = AppContext(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), tmp_path / "ws")
    pane = ConvertPane(context)
    qtbot.addWidget(pane)
    keys = [pane.chooser.item(r).data(Qt.ItemDataRole.UserRole) for r in range(pane.chooser.count())]
    assert "joint_to_eef" in keys and "eef_to_joint" in keys
    wizard = pane.select("joint_to_eef")
    assert not wizard.frame.next_button.isEnabled()  # no input yet
    family = wizard.family
    family.signals.setText("pick_orange")
    family.env_name.setText("LeIsaac-SO101-PickOrange-Mimic-v0")
    eef = tmp_path / "lift_eef.hdf5"
    plan = _run(qtbot, wizard, recording, eef)
    assert plan["details"]["signals"] == ["pick_orange"]
    assert family.note.text() == "Signals written: pick_orange"
    view = wizard.preview  # each demo's row says where its signal turns on, as `--plan` does
    notes = [view.episodes.item(r, view.REASON_COLUMN).text() for r in range(view.episodes.rowCount())]
    # the synthetic gripper never closes near the orange: no boundary (the plan warns for each demo)
    assert notes == ["no subtask boundary (from gripper)"] * 2
    assert len([w for w in plan["warnings"] if "'pick_orange' has no boundary" in w]) == 2
    row = {"extra": {"signals": {"pick_cube": 12, "place": 30}, "subtasks_from": "curation"}}
    assert preview_note(row) == "pick_cube at 12, place at 30 (from curation)"
    assert wizard.last_summary["episodes_written"] == 2
    with h5py.File(eef, "r") as f, h5py.File(recording, "r") as src:
        actions = f["data/demo_0/actions"][()]
        assert actions.shape == (24, 8) and f["data/demo_1/actions"].shape == (20, 8)
        assert np.allclose(np.linalg.norm(actions[:, 3:7], axis=1), 1.0, atol=1e-5)  # unit quaternions
        assert np.all(actions[:, 3] >= 0)  # w >= 0
        assert np.allclose(actions[:, 7], src["data/demo_0/actions"][:, 5], atol=1e-6)  # gripper, rad
        assert "data/demo_0/obs/datagen_info/subtask_term_signals/pick_orange" in f
        assert "LeIsaac-SO101-PickOrange-Mimic-v0" in f["data"].attrs["env_args"]

    back_wizard = pane.select("eef_to_joint")
    back = tmp_path / "lift_joint.hdf5"
    plan = _run(qtbot, back_wizard, eef, back)
    assert back_wizard.family.note.text() == "2 demos, 44 frames to solve"
    assert [(e["source_name"], e["kept"], e["frames_out"]) for e in plan["episodes"]] == [
        ("demo_0", True, 24),
        ("demo_1", True, 20),
    ]
    with h5py.File(back, "r") as f, h5py.File(recording, "r") as src:
        joints = f["data/demo_0/actions"][()]
        assert joints.shape == (24, 6)
        assert np.abs(joints - src["data/demo_0/actions"][()]).max() < 1e-2  # IK recovers the joints
    assert pane.save_state() == {"family": "eef_to_joint"}
    assert EEF_NAMES == ["x", "y", "z", "qw", "qx", "qy", "qz", "gripper"]
