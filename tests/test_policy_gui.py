"""The Evaluate mode of the Teleop pane: a 3-episode evaluation against the reference policy server and
a virtual follower arm, labelled with the buttons."""

from __future__ import annotations

import json

import h5py
import pytest
from PySide6.QtCore import Qt

from app.context import AppContext
from app.panes.teleop import pane as teleop_pane
from app.settings import make_settings
from backend.policy.modality import Modality
from backend.policy.reference_server import ReferencePolicy, ReferenceServer
from backend.policy.run import episode_actions
from backend.teleop.virtual_arm import VirtualSO101, ideal_calibration, preload_calibration
from tests.recordings import DemoSpec, RecordingSpec, write_recording

pytestmark = pytest.mark.realtime


@pytest.fixture
def pane(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("ROLLOUT_STUDIO_SETTINGS", str(tmp_path / "settings.ini"))
    widget = teleop_pane.TeleopPane(AppContext(make_settings(), tmp_path / "workspace"))
    qtbot.addWidget(widget)
    widget.resize(1280, 760)
    widget.show()
    yield widget
    widget.shutdown()


def test_gui_runs_a_three_episode_evaluation(qtbot, pane, tmp_path):
    arm = VirtualSO101("still", assembly=1, follow_tau=0.0, wire_delay=False)
    calibration = ideal_calibration(arm)
    preload_calibration(arm, calibration)
    arm.start()
    (tmp_path / "follower.json").write_text(json.dumps(calibration.to_dict()))
    training = write_recording(tmp_path / "train.hdf5", RecordingSpec([DemoSpec(40)]))
    policy = ReferencePolicy(episode_actions(training, 0)[0], Modality.default(["front", "wrist"]))
    server = ReferenceServer(policy).start()
    try:
        pane.mode_tabs.setCurrentIndex(1)
        panel = pane.evaluate
        assert panel.isVisible() and not pane.splitter.isVisible()
        for edit, text in ((panel.server_edit, server.address), (panel.follower_edit, arm.device),
                           (panel.calibration_edit, str(tmp_path / "follower.json")),
                           (panel.cameras_edit, "front=pattern:64x48, wrist=pattern:64x48"),
                           (panel.training_edit, str(training)), (panel.out_edit, str(tmp_path / "eval.hdf5"))):
            edit.setText(text)
        panel.episodes_spin.setValue(3)
        panel.seconds_spin.setValue(20.0)
        assert not panel.success_button.isEnabled()
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
        session = panel.session
        qtbot.waitUntil(lambda: (s := session.snapshot()) is not None and s.step >= 5, timeout=10000)
        qtbot.waitUntil(lambda: panel.status_label.text().startswith("episode 1 of 3 · chunk "), timeout=5000)
        assert "next chunk requested" in panel.status_label.text()
        qtbot.mouseClick(panel.success_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: session.snapshot().episode == 1 and session.snapshot().step >= 3, timeout=10000)
        qtbot.keyClick(panel, Qt.Key.Key_F)  # the failure shortcut
        qtbot.waitUntil(lambda: session.snapshot().episode == 2 and session.snapshot().step >= 3, timeout=10000)
        qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)  # holds the arm, ends the run
        qtbot.waitUntil(lambda: session.state == "done", timeout=15000)
        assert [e.label for e in session.episodes] == ["success", "failure", "aborted"]
        text = panel.report_view.toPlainText()
        assert "episode 3: aborted" in text and "stopped by the operator" in text
        assert "success 1/2 = 50 % (95 % CI 9-91 %), aborted 1" in text
        assert panel.start_button.isEnabled() and not panel.stop_button.isEnabled()
        with h5py.File(tmp_path / "eval.hdf5", "r") as f:
            assert [f["data"][f"demo_{i}"].attrs["rs_eval_label"] for i in range(3)] == \
                ["success", "failure", "aborted"]
        assert [arm.register(i, "Torque_Enable") for i in range(1, 7)] == [0] * 6  # released at the end
    finally:
        server.stop()
        arm.stop()


def test_evaluate_offers_a_listening_server_job(qtbot, pane, tmp_path, monkeypatch):
    from backend.jobs.store import JobStore

    db = tmp_path / "jobs.sqlite"
    monkeypatch.setenv("ROLLOUT_STUDIO_JOBS_DB", str(db))
    log = tmp_path / "serve.log"
    log.write_text("[rollout-studio] job 1 attempt 1: slurm job 99 on gpu-7 started 2026-12-06 12:00:00\n"
                   "Server is ready and listening on tcp://*:5555\n")
    with JobStore(db) as store:
        job_id = store.add_job(name="serve", template="gr00t-inference-server", runner="slurm", profile=None,
                               argv=["x"], env={}, cwd=str(tmp_path), submit_cwd=str(tmp_path), params={},
                               template_spec={}, profile_spec=None)
        store.update(job_id, state="running", log_path=str(log))
    pane.show_mode("evaluate")  # shown: it looks for server jobs at once, then every few seconds
    panel = pane.evaluate
    qtbot.waitUntil(lambda: panel.jobs_combo.count() == 1, timeout=5000)
    assert panel.jobs_combo.itemText(0) == "job 1 serve: tcp://gpu-7:5555"
    panel.jobs_combo.setCurrentIndex(0)
    panel.jobs_combo.activated.emit(0)
    assert panel.server_edit.text() == "tcp://gpu-7:5555"
    pane.show_mode("record")
    assert panel._watch is None
