"""Compare pane (pytest-qt, offscreen): tiles, plots and the 3D arm show the same instant."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from backend.kinematics import TIP, default_model
from backend.units import Unit
from tests.compare_data import (
    DEG,
    GeneratedSpec,
    frame_index_of,
    generated_values,
    motion_deg,
    write_cosmos_outputs,
    write_generated_hdf5,
    write_source_hdf5,
)

LENGTHS = (90, 120)

@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("compare_pane")
    src = write_source_hdf5(root / "src.hdf5", LENGTHS)
    specs = [GeneratedSpec(1, delay_s=0.25, noise_deg=0.3, seed=4), GeneratedSpec(0, frame_offset=5)]
    gen = write_generated_hdf5(root / "gen.hdf5", src, specs, LENGTHS, fps=16.0, camera="front")
    cosmos = write_cosmos_outputs(root / "cosmos", [("src_episode_000001", 60)], fps=16.0)
    return {"src": src, "gen": gen, "cosmos": cosmos, "specs": specs}


@pytest.fixture
def pane(qtbot, tmp_path):
    from app.context import AppContext
    from app.panes.compare import ComparePane

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    context = AppContext(settings, tmp_path / "workspace")
    widget = ComparePane(context)
    qtbot.addWidget(widget)
    widget.resize(1400, 900)
    widget.show()
    yield widget
    widget.shutdown()


def _mean_level(tile) -> float:
    return float(tile.frame().mean())


def test_tiles_plots_and_arm_show_the_same_instant(qtbot, pane, files):
    # B named without an episode: its partner of A's episode 1 comes from the provenance record
    with qtbot.waitSignal(pane.comparisonReady, timeout=20000):
        pane.open_sources([f"{files['src']}:1", str(files["gen"])])
    view = pane.view
    assert [s.episode for s in view.sides] == [1, 0]
    assert view.sides[0].fps == 30.0 and view.sides[1].fps == 16.0
    assert pane.slots[1].pair_label.text().startswith("paired by provenance: B episode 0 came from demo_1 of A")
    # none alignment: B is 0.25 s late and the shaded plots show it; offset alignment finds it
    with qtbot.waitSignal(pane.comparisonReady, timeout=20000):
        pane.align_combo.setCurrentIndex(pane.align_combo.findData("offset"))
    b = pane.view.sides[1]
    assert b.alignment.offset_s == pytest.approx(0.25, abs=0.03)
    assert pane.slots[1].offset() == pytest.approx(b.alignment.offset_s, abs=1e-3)  # shown, 3 decimals
    assert pane.metrics.rowCount() == 7  # six joints + mean
    assert pane.metrics.item(6, 0).text() == "mean"
    assert float(pane.metrics.item(0, 2).text()) < 1.0

    for t in (1.0, 2.5, 0.3):
        pane.set_time(t)
        expect_a = int(round(t * 30))
        expect_b = int(round(b.time_of(t) * 16))
        qtbot.waitUntil(
            lambda a=expect_a, e=expect_b: pane.tiles[0].index == a and pane.tiles[1].index == e, timeout=5000
        )
        # the pixels are the frames of that instant (gray level encodes the frame index)
        assert frame_index_of(_mean_level(pane.tiles[0]), expect_a) == expect_a
        assert frame_index_of(_mean_level(pane.tiles[1]), expect_b) == expect_b
        # B's frame shows the motion A shows now: same instant once the delay is removed
        assert abs(expect_b / 16 - 0.25 - t) <= 1 / 32 + 0.03
        # plots: every playhead at t, readout of both values there
        assert all(head.value() == pytest.approx(t) for head in pane.plots.playheads)
        assert "Δ" in pane.plots.readouts[0].toPlainText()
        # arm: A's pose is the forward kinematics of A's joints at t
        q = np.radians(motion_deg(np.array([t]), 1))
        assert pane.arm.points_a[TIP] == pytest.approx(default_model().points(q)[0][TIP], abs=2e-3)
        assert np.linalg.norm(pane.arm.points_a[TIP] - pane.arm.points_b[TIP]) < 0.02
        assert pane.transport.position_label.text().startswith(f"frame {expect_a}/")


def test_transport_keys_and_play(qtbot, pane, files):
    with qtbot.waitSignal(pane.comparisonReady, timeout=20000):
        pane.open_sources([f"{files['src']}:0", f"{files['gen']}:1"])
    # gen 1 starts at source frame 5: with align none the recorded offset is applied
    assert pane.view.sides[1].alignment.offset_s == pytest.approx(-5 / 30)
    assert "starts at source frame 5" in pane.slots[1].pair_label.text()
    summary = pane.view.sides[1].result.summary()
    assert summary["rmse"] < 0.5
    pane.seek_frame(30)
    pane.step(10)
    assert pane.time == pytest.approx(40 / 30)
    qtbot.waitUntil(lambda: pane.tiles[0].index == 40, timeout=5000)
    # B frame at A time 40/30 s: B time = 40/30 - 5/30 = 35/30 s -> 16 fps frame 19
    qtbot.waitUntil(lambda: pane.tiles[1].index == round(35 / 30 * 16), timeout=5000)
    pane.toggle_play()
    qtbot.wait(250)
    pane.toggle_play()
    assert pane.time > 40 / 30 + 0.1
    pane.seek_frame(10_000)
    assert pane.time == pytest.approx((pane.view.num_frames - 1) / 30)


def test_video_only_source_is_placed_on_the_playhead(qtbot, pane, files):
    with qtbot.waitSignal(pane.comparisonReady, timeout=20000):
        pane.open_sources([f"{files['src']}:1", f"{files['gen']}:0", f"{files['cosmos']}:0"])
    assert len(pane.slots) == 3 and len(pane.tiles) == 3
    c = pane.view.sides[2]
    assert c.result is None and "no action values" in c.error
    assert c.camera == "video" and c.video_fps == pytest.approx(16.0)
    pane.set_time(2.0)
    qtbot.waitUntil(lambda: pane.tiles[2].index == 32, timeout=5000)
    assert frame_index_of(_mean_level(pane.tiles[2]), 32) == 32
    # the metrics selector offers B and C
    assert [pane.metrics_side.itemText(i) for i in range(pane.metrics_side.count())] == ["B vs A", "C vs A"]


def test_batch_table_worst_first_and_row_opens_the_pair(qtbot, pane, files, tmp_path):
    with qtbot.waitSignal(pane.batchReady, timeout=20000):
        pane.run_batch(str(files["src"]), str(files["gen"]))
    rows = pane.batch_table.visible_rows()
    assert [r.generated for r in rows] == [0, 1]  # 0.25 s late + noise is worse than the exact copy
    assert rows[0].rmse > rows[1].rmse
    pane.batch_table.sortByColumn(3, pane.batch_table.horizontalHeader().sortIndicatorOrder().AscendingOrder)
    assert [r.generated for r in pane.batch_table.visible_rows()] == [1, 0]
    with qtbot.waitSignal(pane.comparisonReady, timeout=20000):
        pane.batch_table.clicked.emit(pane.batch_table.proxy.index(1, 0))  # generated 0
    assert pane.tabs.currentIndex() == 0
    assert [s.episode for s in pane.view.sides] == [1, 0]
    # export: report folder with the picture of the view
    out = pane.export_report(tmp_path / "report")
    names = sorted(p.name for p in out.iterdir())
    assert names == [".rollout_studio_output.json", "batch.csv", "metrics.csv", "report.html", "summary.json", "view.png"]
    assert (out / "view.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["sources"][1]["episode"] == 0 and "pair" in summary and "batch" in summary


def test_arm_view_draws_offscreen_and_orbits(qtbot):
    from widgets.arm_view import ArmView

    view = ArmView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    q = np.radians([[0, -30, 40, 10, 0, 20], [30, -30, 40, 10, 0, 20]])
    a, b = default_model().points(q)
    view.set_arms(a, b)
    image = view.grab().toImage()
    background = image.pixelColor(2, 2)
    drawn = sum(image.pixelColor(x, y) != background for x in range(0, 400, 4) for y in range(0, 300, 4))
    assert drawn > 100
    screen, _ = view.project(a)
    az = view.azimuth
    view.orbit(30, 0)
    assert view.azimuth == pytest.approx(az + 30)
    moved, _ = view.project(a)
    assert np.abs(moved - screen).max() > 5
    view.reset_view()
    assert view.project(a)[0] == pytest.approx(screen)


def test_compare_plots_shade_the_difference(qtbot):
    from widgets.compare_plots import CompareJointPlots

    plots = CompareJointPlots()
    qtbot.addWidget(plots)
    t = np.arange(0, 3, 1 / 30)
    a = motion_deg(t)
    b = a + np.array([0, 2.0, 0, 0, 0, 0])
    plots.set_comparison(t, list(DEG.names), "deg", a, b)
    assert len(plots.fills) == 6
    assert plots.fill_area(1) == pytest.approx(2.0 * (t[-1] - t[0]), rel=1e-6)
    assert plots.fill_area(0) == 0.0
    plots.set_playhead(1.5)
    assert plots.playhead_x() == pytest.approx(1.5)
    assert "+2.00 deg" in plots.readouts[1].toPlainText()
    assert generated_values(GeneratedSpec(0), 90, 30.0, 30.0).shape == (90, 6)
    assert Unit.SIM_DEGREES.label == "deg"


def test_real_humanoid_dataset_plots_the_worst_dimensions(qtbot, pane, shared_data):
    path = shared_data / "gr00t_dreams_robot_sim.PickNPlace"
    with qtbot.waitSignal(pane.comparisonReady, timeout=30000):
        pane.open_sources([f"{path}:0", f"{path}:1"])
    result = pane.view.sides[1].result
    assert len(result.names) == 44 and result.to_json()["units"] == "other"
    assert len(pane.plots.plots) == 8
    worst = sorted(result.joints, key=lambda n: -result.joints[n].rmse)[:8]
    assert sorted(pane.plots.names) == sorted(worst)
    assert pane.metrics.rowCount() == 45
    assert pane.arm.points_a is None  # not an SO-101: no arm to draw
    pane.set_time(1.0)
    qtbot.waitUntil(lambda: pane.tiles[0].index == 20 and pane.tiles[1].index == 20, timeout=10000)


def test_arm_view_draws_both_arms_of_a_bi_arm(qtbot):
    from backend.kinematics import SO101_JOINTS, stick_figures
    from backend.units import JointSpace
    from widgets.arm_view import ArmView

    names = tuple(f"{side}_{j}.pos" for side in ("left", "right") for j in SO101_JOINTS)
    points = stick_figures(np.zeros((1, 12)), JointSpace(names, Unit.SIM_DEGREES))[0]
    view = ArmView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.azimuth, view.elevation = 0.0, 0.0  # looking along -x: left arm on the left of the image
    view.set_arms(points)
    image = view.grab().toImage()
    background = image.pixelColor(2, 2)
    screen, _ = view.project(points)
    k = len(points) // 2
    for block in (screen[:k], screen[k:]):  # something is drawn at each arm's elbow
        x, y = (int(round(v)) for v in block[3])
        assert image.pixelColor(x, y) != background
    assert screen[:k, 0].mean() != pytest.approx(screen[k:, 0].mean(), abs=20)


def test_side_a_offers_the_recent_datasets_and_a_generated_folder_fills_b(qtbot, tmp_path, files):
    """Compare offers every recent dataset on A (not only Browse's), and a folder of generated outputs
    opened into an empty pane goes to B, never to the source side."""
    from app.context import AppContext
    from app.panes.compare import ComparePane
    from tests.cosmos_data import StandinSample, write_standin_outputs
    from tests.recordings import DemoSpec, RecordingSpec, write_recording

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    context = AppContext(settings, tmp_path / "workspace")
    for path in (files["src"], files["gen"]):
        context.add_recent_dataset(str(path))
    widget = ComparePane(context)
    qtbot.addWidget(widget)
    widget.show()
    try:
        combo = widget.slots[0].dataset_combo
        offered = [combo.itemData(i) for i in range(combo.count())]
        assert str(files["src"]) in offered and str(files["gen"]) in offered

        recording = write_recording(tmp_path / "rec.hdf5", RecordingSpec([DemoSpec(12)]))
        outputs = write_standin_outputs(recording, tmp_path / "cosmos out", [StandinSample("clip_0", 0, 8)])
        widget._open_into_free_slot(str(outputs))  # what Open folder… does with the chosen folder
        qtbot.waitUntil(lambda: widget.session.sides[1].path is not None, timeout=30_000)
        assert widget.session.sides[1].path == str(outputs) and widget.session.sides[0].path is None
    finally:
        widget.shutdown()
