"""Browse opens every format the foundation reads: shown frames and plotted values are checked."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from backend.curation import Curation, export_curated
from backend.formats import open_dataset
from backend.media import VideoEncoder
from backend.units import SO101_JOINTS, JointSpace, Unit
from tests.browse_data import frame_value, joint_values, make_window, memory_dataset, write_hdf5


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    win = make_window(qtbot, tmp_path, monkeypatch)
    yield win
    win.close()


def _open(qtbot, window, path, episode=None, frame=None):
    browse = window.browse
    with qtbot.waitSignals([browse.firstFrameShown, browse.episodeShown], timeout=20000):
        window.open_dataset(str(path), episode, frame)
    return browse


def _shown(qtbot, browse, frame):
    qtbot.waitUntil(lambda: all(t.index == frame for t in browse.videos.tiles.values()), timeout=10000)


def test_hdf5_with_images_inside(qtbot, window, tmp_path):
    path = write_hdf5(tmp_path / "rec.hdf5")
    browse = _open(qtbot, window, path, episode=2, frame=7)
    assert browse.dataset.format.value == "leisaac_hdf5" and browse.episode.index == 2
    _shown(qtbot, browse, 7)
    assert browse.videos.tiles["wrist"].frame()[3, 3, 0] == frame_value(2, 7, 1)
    browse.set_position(33)
    _shown(qtbot, browse, 33)
    assert browse.videos.tiles["front"].frame()[0, 0, 2] == frame_value(2, 33, 0)
    _, y = browse.plots.curve_data(4, "action")
    assert np.allclose(y, joint_values(2, 50, "action")[:, 4], atol=1e-6)
    assert browse.plots.playhead_x() == pytest.approx(33 / 30.0)
    assert window.status_text("dataset").startswith("rec.hdf5 (leisaac_hdf5, 3 episodes)")
    assert window.windowTitle().startswith("rec.hdf5 — Rollout Studio")


def test_lerobot_v30_real_dataset(qtbot, window, shared_data, tmp_path):
    # a copy in a read-only folder: rating it must not write beside the real dataset in ../shared
    share = tmp_path / "share"
    path = share / "lerobot061_so101_v30_h264"
    shutil.copytree(shared_data / "lerobot061_so101_v30_h264", path)
    share.chmod(0o555)
    browse = _open(qtbot, window, path, episode=1, frame=30)
    _shown(qtbot, browse, 30)
    # frame t of episode e: a gray level that grows by 7 per frame, white lines at column 3 t and row 2 t
    front = browse.videos.tiles["front"].frame().astype(int)
    assert front[:, 90].mean() > 200 and front[60, :].mean() > 200
    assert front[:, 87].mean() < 150 and front[57, :].mean() < 150  # not frame 29's lines
    with open_dataset(path) as dataset:
        action = dataset.episode(1).array("action")
        stream = dataset.episode(1).stream("wrist")
        assert np.array_equal(browse.videos.tiles["wrist"].frame(), stream.frame(30))
        before = stream.frame(29).astype(int)
        stream.close()
    wrist = browse.videos.tiles["wrist"].frame().astype(int)
    assert 5 <= np.median(wrist) - np.median(before) <= 9  # +7 gray levels per frame
    browse.set_unit(Unit.LEROBOT_RANGE)
    _, y = browse.plots.curve_data(0, "action")
    assert np.allclose(y, action[:, 0], atol=1e-5)
    assert "LeRobot" in browse.plots.axis_title(0) and browse.native_unit_label.text() == "stored as LeRobot"
    browse.set_unit(Unit.RADIANS)
    _, y = browse.plots.curve_data(5, "action")
    expected = JointSpace(tuple(SO101_JOINTS), Unit.LEROBOT_RANGE).convert(action, Unit.RADIANS)[:, 5]
    assert np.allclose(y, expected, atol=1e-5)
    # read-only share: the decisions go to the fallback folder, never into or beside the dataset
    try:
        browse.rate("bad")
        assert sorted(p.name for p in share.iterdir()) == [path.name]
    finally:
        share.chmod(0o755)
    assert browse.curation.path.parent == tmp_path / "data-home" / "rollout-studio" / "curation"
    qtbot.waitUntil(lambda: not browse.curation.save_pending, timeout=5000)  # a background task saves
    assert json.loads(browse.curation.path.read_text())["episodes"] == {"1": {"rating": "bad"}}


def test_lerobot_v20_gr00t_humanoid(qtbot, window, shared_data):
    path = shared_data / "gr00t_dreams_robot_sim.PickNPlace"
    browse = _open(qtbot, window, path, episode=3, frame=10)
    _shown(qtbot, browse, 10)
    assert list(browse.videos.tiles) == ["ego_view"]  # the phantom "egoview" feature has no files
    assert browse.videos.tiles["ego_view"].frame().shape == (256, 256, 3)
    assert browse.plots.overlay  # 44 values: one overlay plot, not 44 stacked plots
    assert not any(b.isEnabled() for b in browse.unit_buttons.buttons() if b.property("unit") == "lerobot")
    with open_dataset(path) as dataset:
        values = dataset.episode(3).array(dataset.roles["action"])
    _, y = browse.plots.curve_data(7, "action")
    assert np.allclose(y, values[:, 7])


def test_lerobot_v21_written_by_the_studio(qtbot, window, tmp_path):
    dataset = memory_dataset(tmp_path / "mem.hdf5")
    out = export_curated(
        dataset, Curation(dataset.path, sidecar=tmp_path / "c.json"), tmp_path / "v21", "lerobot_v2.1"
    )
    browse = _open(qtbot, window, out, episode=1, frame=12)
    assert browse.dataset.format.value == "lerobot_v2.1"
    _shown(qtbot, browse, 12)
    assert abs(int(browse.videos.tiles["front"].frame()[12, 16, 0]) - frame_value(1, 12, 0)) <= 4
    browse.set_unit(Unit.RADIANS)
    _, y = browse.plots.curve_data(1, "state")
    assert np.allclose(y, joint_values(1, 30, "state")[:, 1], atol=1e-4)


def test_cosmos_output_folder(qtbot, window, tmp_path):
    folder = tmp_path / "cosmos_out"
    folder.mkdir()
    for name, frames in (("sample_1", 40), ("sample_2", 30)):
        with VideoEncoder(folder / f"{name}.mp4", 64, 48, 16.0, gop=8) as writer:
            for i in range(frames):
                writer.write(np.full((48, 64, 3), (10 + 3 * i) % 250, np.uint8))
        (folder / f"{name}.json").write_text(json.dumps({"name": name, "prompt": f"Task of {name}."}))
    browse = _open(qtbot, window, folder, episode=1, frame=20)
    _shown(qtbot, browse, 20)
    assert abs(int(browse.videos.tiles["video"].frame()[10, 10, 0]) - (10 + 3 * 20)) <= 3
    assert browse.model.row_for(0).task == "Task of sample_1."
    assert not browse.plots.plots or browse.joint_data == {"action": None, "state": None}
    # curation works without joints too: exclude one video, export the other
    browse.toggle_excluded()
    assert browse.summary_label.text().startswith("1 of 2 episodes kept")


def test_stats_that_mislead_the_unit_guess_do_not_break_the_plots(qtbot, window, shared_data, tmp_path):
    """Action stats 10x off make the action look like degrees while the state reads as LeRobot range
    (no calibration converts one into the other): every unit button either plots or says why it
    cannot, never an exception in the GUI thread."""
    from tests.fault_injection import copy_dataset

    path = copy_dataset(shared_data / "lerobot061_so101_v30_h264", tmp_path / "stats10x")
    stats_path = path / "meta" / "stats.json"
    stats = json.loads(stats_path.read_text())
    stats["action"] = {k: (np.asarray(v) * (1 if k == "count" else 10)).tolist() for k, v in stats["action"].items()}
    stats_path.write_text(json.dumps(stats))
    with open_dataset(path) as dataset:
        assert dataset.features["action"].space.unit is not dataset.features["observation.state"].space.unit
    browse = _open(qtbot, window, path, episode=0, frame=3)
    _shown(qtbot, browse, 3)
    shown = []
    for unit in Unit:
        browse.set_unit(unit)  # pytest-qt fails the test on an exception raised in a slot
        if browse.plots.showing_message():
            assert browse.plots.message.text().startswith(("Cannot plot", "This episode")), unit
        else:
            shown.append(unit)
    assert shown  # the action's own unit always plots
    browse.set_unit(shown[0])
    assert "state not shown" in browse.native_unit_label.text()
