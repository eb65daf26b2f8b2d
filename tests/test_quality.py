"""Quality hints on episodes with known motion."""

from __future__ import annotations

import numpy as np

from backend.quality import compute_hints, episode_hints
from tests.browse_data import memory_dataset


class _Reader:
    """Wraps a memory dataset's reader to serve chosen action arrays."""

    def __init__(self, base, arrays):
        self.base, self.arrays = base, arrays

    def read_array(self, episode, key):
        return self.arrays[episode.index]

    def open_stream(self, episode, camera):
        return self.base.open_stream(episode, camera)

    def close(self):
        pass


def _dataset_with(tmp_path, arrays, lengths):
    dataset = memory_dataset(tmp_path / "d.hdf5", lengths=lengths)
    dataset.reader = _Reader(dataset.reader, arrays)
    return dataset


def test_smooth_episode_has_no_hints(tmp_path):
    dataset = memory_dataset(tmp_path / "d.hdf5", lengths=(90, 90, 90))
    # the memory dataset's gripper moves 0.3 rad * 2 = ~34 deg: it closes
    assert compute_hints(dataset) == {0: [], 1: [], 2: []}


def test_each_hint_fires_on_what_it_describes(tmp_path):
    t = np.arange(120, dtype=np.float64)[:, None]
    smooth = 0.4 * np.sin(2 * np.pi * t / 90.0 + np.arange(6)) * np.ones((1, 6))
    static = np.full((120, 6), 0.2) + 0.001 * np.sin(t / 7.0)
    jerky = smooth.copy()
    jerky[[20, 50, 80], 1] += 0.3  # 17 degree one-frame spikes
    no_grip = smooth.copy()
    no_grip[:, 5] = 0.5 + 0.01 * np.sin(t[:, 0] / 5.0)  # gripper barely moves
    arrays = {0: smooth, 1: static, 2: jerky, 3: no_grip, 4: smooth[:20]}
    dataset = _dataset_with(tmp_path, arrays, (120, 120, 120, 120, 20))
    hints = {k: [h.code for h in v] for k, v in compute_hints(dataset).items()}
    assert hints[0] == []
    assert "static" in hints[1] and "no_grip" in hints[1]
    assert hints[2] == ["jerky"]
    assert hints[3] == ["no_grip"]
    assert "short" in hints[4]  # 20 frames at 30 fps < 1 s


def test_short_relative_to_median(tmp_path):
    t = np.arange(400, dtype=np.float64)[:, None]
    smooth = 0.4 * np.sin(2 * np.pi * t / 90.0 + np.arange(6)) * np.ones((1, 6))
    dataset = _dataset_with(tmp_path, {0: smooth, 1: smooth, 2: smooth[:60]}, (400, 400, 60))
    hint = episode_hints(dataset.episodes[2], median_length=400)
    assert [h.code for h in hint] == ["short"]
    assert "60 frames" in hint[0].text and hint[0].label == "very short"


def test_hints_and_the_doctor_measure_with_the_same_signals(tmp_path):
    """Browse's "nearly static" hint and the doctor's idle_episode finding are one signal."""
    import h5py

    from backend.doctor import DoctorOptions, diagnose
    from backend.formats import open_dataset
    from tests.recordings import DemoSpec, RecordingSpec, write_recording

    path = write_recording(tmp_path / "r.hdf5", RecordingSpec([DemoSpec(60), DemoSpec(60)], cameras=()))
    with h5py.File(path, "r+") as h5:
        for key in ("actions", "obs/joint_pos"):
            values = h5[f"data/demo_1/{key}"][()]
            h5[f"data/demo_1/{key}"][...] = values[0] + 0.004 * np.sin(np.arange(60))[:, None]
    with open_dataset(path) as dataset:
        hints = compute_hints(dataset)
    assert hints[0] == []
    static = [h for h in hints[1] if h.code == "static"]
    idle = [p for p in diagnose(path, DoctorOptions(sample_frames=0)).findings if p.code == "idle_episode"]
    assert len(static) == 1 and len(idle) == 1 and idle[0].episode == "demo_1"
    assert idle[0].problem == f"action: {static[0].text}"  # same measurement, same words
    assert "body joints move at most 0.46 deg" in static[0].text
