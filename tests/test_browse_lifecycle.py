"""Browse's datasets come and go while work reads them (pytest-qt, real HDF5 recordings):

- closing a dataset (opening another one, or closing the window) during its export ends with the
  export finished or cancelled, and the file closed afterwards, never before;
- 20 quick dataset switches end on the last one: its frames, table and title, no stale frame;
- no lease is left behind, and (the autouse fixture) no task or thread outlives a test.
"""

from __future__ import annotations

import numpy as np
import pytest

from backend.model import DatasetFormat
from backend.registry import registry
from tests.browse_data import make_window
from tests.recordings import DemoSpec, RecordingSpec, write_recording

TIMEOUT = 60000  # a loaded 2-core machine: generous, never a timing assertion


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    win = make_window(qtbot, tmp_path, monkeypatch)
    yield win
    win.close()


def _recording(path, lengths, width, height):
    spec = RecordingSpec([DemoSpec(n) for n in lengths], width=width, height=height, chunk=20)
    return write_recording(path, spec)


def _open(qtbot, window, path):
    browse = window.browse
    with qtbot.waitSignal(browse.firstFrameShown, timeout=TIMEOUT):
        window.open_dataset(str(path))
    return browse


def test_opening_another_dataset_during_an_export_keeps_the_file_until_the_export_ends(qtbot, window, tmp_path):
    first = _recording(tmp_path / "first.hdf5", (60, 60, 60), 64, 48)
    second = _recording(tmp_path / "second.hdf5", (20,), 32, 24)
    browse = _open(qtbot, window, first)
    h5 = browse.dataset.reader._h5
    out = tmp_path / "exports" / "first-curated"
    with qtbot.waitSignal(browse.exportFinished, timeout=TIMEOUT) as finished:
        browse.exporter.start(out, DatasetFormat.LEROBOT_V30)
        assert browse.tasks.busy("export")
        window.open_dataset(str(second))  # the pane lets go of the first dataset now
        assert registry().is_open(first) or not browse.tasks.busy("export")  # the export holds it
    assert finished.args[0] == out and (out / "meta" / "info.json").is_file()
    qtbot.waitUntil(lambda: not registry().is_open(first), timeout=TIMEOUT)
    assert not h5.id.valid  # closed, once the export let go
    qtbot.waitUntil(lambda: browse.dataset is not None and browse.dataset.path == second, timeout=TIMEOUT)
    assert registry().users(second) >= 1


def test_closing_the_window_during_an_export_cancels_it_and_closes_the_file(qtbot, window, tmp_path):
    path = _recording(tmp_path / "rec.hdf5", (60, 60, 60), 64, 48)
    browse = _open(qtbot, window, path)
    h5 = browse.dataset.reader._h5
    out = tmp_path / "exports" / "rec-curated"
    seen = []
    browse.exportFinished.connect(seen.append)
    with qtbot.waitSignal(browse.bar.progress_bar.valueChanged, timeout=TIMEOUT):
        browse.exporter.start(out, DatasetFormat.LEROBOT_V30)  # under way: it reported progress
    window.close()  # shutdown: cancels the export and waits for it
    assert not browse.tasks.busy()
    assert not registry().is_open(path) and not h5.id.valid
    # cancelled (nothing written) or finished just before (a whole dataset): never a part of one
    left = sorted(p.name for p in out.parent.iterdir()) if out.parent.exists() else []
    assert left == [] or (left == ["rec-curated"] and (out / "meta" / "info.json").is_file()), left
    assert seen == []  # the window closed before anything was announced


def test_twenty_quick_switches_end_on_the_last_dataset(qtbot, window, tmp_path):
    small = _recording(tmp_path / "small.hdf5", (20, 20), 32, 24)
    large = _recording(tmp_path / "large.hdf5", (25, 25, 25), 48, 40)
    browse = window.browse
    for number in range(20):  # small, large, small, ... without waiting for any of them
        window.open_dataset(str(small if number % 2 == 0 else large))
        if number % 3 == 0:
            qtbot.wait(number)  # let some openings finish and some frames arrive in between
    qtbot.waitUntil(
        lambda: browse.dataset is not None
        and browse.dataset.path == large
        and list(browse.videos.tiles) == ["front", "wrist"]
        and all(t.index == 0 for t in browse.videos.tiles.values()),
        timeout=TIMEOUT,
    )
    qtbot.wait(300)  # anything stale still on its way would land now
    with registry().open(large) as lease:
        for camera in ("front", "wrist"):
            stream = lease.dataset.episode(0).stream(camera)
            try:
                expected = stream.frame(0)
            finally:
                stream.close()
            shown = browse.videos.tiles[camera].frame()
            assert shown.shape == (40, 48, 3) and np.array_equal(shown, expected), camera
    assert browse.model.rowCount() == 3 and [r.length for r in browse.model.rows] == [25, 25, 25]
    assert window.windowTitle().startswith("large.hdf5")
    assert browse.transport.timeline.num_frames == 25
    qtbot.waitUntil(lambda: not registry().is_open(small), timeout=TIMEOUT)  # no lease left behind
    assert registry().users(large) >= 1
