"""The format's live recording file (backend/formats/leisaac_hdf5/live.py, recovery.py), driven
without the teleop loop: the LeIsaac layout it writes, read back through the format's reader, and
what a crash leaves."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pytest

from backend.errors import StudioError
from backend.formats import leisaac_hdf5 as hdf5
from backend.formats.leisaac_hdf5.live import Column, LiveFile
from backend.formats.leisaac_hdf5.recovery import check_readable, find_unfinished, recover

H, W = 6, 8


@dataclass
class Shot:
    image: np.ndarray
    seq: int
    capture_time: float


def _shot(seq: int) -> Shot:
    return Shot(np.full((H, W, 3), seq * 10, dtype=np.uint8), seq, 1.0 + seq / 30)


def _rows(start: int, k: int) -> dict:
    rows = np.arange(start, start + k, dtype=np.float32)[:, None] + np.arange(6, dtype=np.float32) / 10
    return {
        "actions": rows + 100,
        "joint_pos": rows,
        "joint_vel": rows / 2,
        "ee_frame_state": np.repeat(rows[:, :1], 7, axis=1),
        "extras": {"t": np.arange(start, start + k) / 60.0},
        # a 60 Hz loop sees each 30 fps frame twice; row 2 has no frame (black)
        "frames": {"front": [None if i == 2 else _shot(i // 2) for i in range(start, start + k)]},
    }


def _open(path: Path, fps: float = 60.0) -> LiveFile:
    live = LiveFile(path, env_name="LeIsaac-SO101-PickOrange-v0", fps=fps, provenance={"tool": "test"})
    live.open()
    return live


def _begin(live: LiveFile, task: str = "pick"):
    return live.begin_demo(
        seed=5,
        task=task,
        started_wall=1_700_000_000.0,
        joint_units="rad",
        recorded_by="test",
        cameras={"front": (H, W)},
        extras={"t": Column(0, "float64")},
        extras_attrs={"lerobot_units": "range"},
        ee_source="test values",
    )


def test_rows_land_in_the_leisaac_layout_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "rec.hdf5"
    live = _open(path)
    demo = _begin(live)
    assert demo.name == "demo_0"
    demo.append(**_rows(0, 4))
    demo.append(**_rows(4, 3))
    assert demo.end(True, "done") == 7
    live.close()
    # 7 rows of the front camera: frames 0,0,(none),1,2,2,3 -> 5 compressed, 2 chunks copied
    assert (live.frames_written, live.chunks_copied) == (5, 2)

    pos = _rows(0, 7)["joint_pos"]
    with h5py.File(path) as f:
        data = f["data"]
        assert (data.attrs["total"], data.attrs["fps"]) == (7, 60.0)
        d = data["demo_0"]
        assert (d.attrs["num_samples"], d.attrs["seed"], d.attrs["task"], d.attrs["success"]) == (
            7,
            5,
            "pick",
            True,
        )
        assert (d.attrs["rs_status"], d.attrs["rs_end_reason"], d.attrs["rs_units"]) == (
            "finished",
            "done",
            "rad",
        )
        np.testing.assert_array_equal(d["obs/joint_pos"][()], pos)
        np.testing.assert_array_equal(d["actions"][()], pos + 100)
        np.testing.assert_array_equal(d["processed_actions"][()], pos + 100)
        # obs/actions is the previous action (zeros before the first)
        np.testing.assert_array_equal(d["obs/actions"][0], np.zeros(6))
        np.testing.assert_array_equal(d["obs/actions"][1:], pos[:-1] + 100)
        # states[t] is the next observation; the last repeats the last observation at rest
        states = d["states/articulation/robot/joint_position"][()]
        np.testing.assert_array_equal(states, np.concatenate([pos[1:], pos[-1:]]))
        np.testing.assert_array_equal(d["states/articulation/robot/joint_velocity"][-1], np.zeros(6))
        np.testing.assert_array_equal(d["initial_state/articulation/robot/joint_position"][()], pos[:1])
        np.testing.assert_array_equal(d["states/articulation/robot/root_pose"][3], [0, 0, 0, 1, 0, 0, 0])
        assert d["obs/front"].chunks == (1, H, W, 3) and d["obs/front"].compression == "lzf"
        assert d["obs/joint_pos"].chunks == (100, 6) and d["obs/joint_pos"].maxshape == (None, 6)
        np.testing.assert_array_equal(d["extras/frame_seq/front"][()], [0, 0, -1, 1, 2, 2, 3])
        assert np.isnan(d["extras/capture_time/front"][2])
        assert d["extras"].attrs["lerobot_units"] == "range"
        assert d["obs/ee_frame_state"].attrs["rs_source"] == "test values"

    with hdf5.open(path) as ds:
        assert ds.fps == 60.0 and ds.info["provenance"] == {"tool": "test"}
        (episode,) = ds.episodes
        assert (episode.length, episode.success, episode.task) == (7, True, "pick")
        stream = episode.stream("front")
        assert [int(stream.frame(i)[0, 0, 0]) for i in range(7)] == [0, 0, 0, 10, 20, 20, 30]


def test_crash_leaves_a_readable_file_recover_closes_it(tmp_path: Path) -> None:
    path = tmp_path / "rec.hdf5"
    live = _open(path)
    first = _begin(live)
    first.append(**_rows(0, 3))
    first.end(False, "failed")
    crashed = _begin(live, task="")
    crashed.append(**_rows(0, 5))
    live.flush()
    live.h5.close()  # a kill: the demo never ended

    assert find_unfinished(path) == ["demo_1"]
    report = check_readable(path)
    assert (report["readable"], report["finished"], report["unfinished"], report["total"]) == (True, 1, 1, 3)
    with pytest.raises(StudioError, match="unfinished demos from a crash"):
        _open(path)
    (recovered,) = recover(path, "keep")
    # states are one row behind: every dataset is trimmed to the 4 rows all of them have
    assert (recovered.name, recovered.action, recovered.length) == ("demo_1", "closed", 4)
    with h5py.File(path) as f:
        d = f["data/demo_1"]
        assert d.attrs["rs_status"] == "interrupted" and "success" not in d.attrs
        assert d["obs/front"].shape[0] == d["states/articulation/robot/joint_position"].shape[0] == 4
    assert find_unfinished(path) == []


def test_an_existing_file_keeps_its_rate_and_numbering(tmp_path: Path) -> None:
    path = tmp_path / "rec.hdf5"
    live = _open(path)
    kept = _begin(live)
    kept.append(**_rows(0, 2))
    kept.end(True)
    dropped = _begin(live)
    dropped.append(**_rows(0, 2))
    dropped.drop()
    live.close()
    with pytest.raises(StudioError, match="at 60 fps, this session at 30"):
        _open(path, fps=30.0)
    live = _open(path)
    assert live.existing_episodes == 1
    assert _begin(live).name == "demo_1"  # the dropped demo's number is free again
    live.close()  # closes the open demo's file; the demo stays "recording" as after a crash
    assert find_unfinished(path) == ["demo_1"]
