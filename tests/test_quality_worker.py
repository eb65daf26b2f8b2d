"""The quality hints and the doctor in a child process give what they give in-process; cancel kills it."""

from __future__ import annotations

import pytest

from backend import children
from backend.doctor import diagnose
from backend.errors import Cancelled, StudioError
from backend.formats import open_dataset
from backend.progress import Progress
from backend.quality import compute_hints
from backend.quality_worker import diagnose_in_child, hints_in_child
from tests.browse_data import write_hdf5


@pytest.fixture(scope="module")
def hdf5(tmp_path_factory):
    # episode 1 is 12 frames at 30 fps: "very short"
    return write_hdf5(tmp_path_factory.mktemp("qw") / "d.hdf5", lengths=(40, 12, 50))


def test_hints_in_child_are_the_in_process_hints(hdf5):
    with open_dataset(hdf5) as dataset:
        expected = compute_hints(dataset)
    seen: list[int] = []
    reports: list[tuple[int, int]] = []
    batches: list[list] = []
    got = hints_in_child(hdf5, Progress(on_report=lambda d, t, _s: reports.append((d, t))),
                         on_result=lambda episode, _h: seen.append(episode), on_batch=batches.append)
    assert got == expected
    assert dict(pair for batch in batches for pair in batch) == expected and all(batches)
    assert [h.code for h in got[1]] == ["short"] and "s" in got[1][0].text
    assert seen == [0, 1, 2]  # each episode as it comes, in order
    assert reports[-1] == (3, 3)


def test_doctor_in_child_is_the_in_process_doctor(hdf5):
    expected = diagnose(hdf5)
    got = diagnose_in_child(hdf5)
    assert got.findings == expected.findings and got.findings
    assert (got.path, got.format, got.readable, got.episodes, got.frames, got.sample_frames) == (
        expected.path, expected.format, expected.readable, expected.episodes, expected.frames,
        expected.sample_frames,
    )


def test_an_unreadable_path_is_one_sentence(tmp_path):
    with pytest.raises(StudioError) as error:
        diagnose_in_child(tmp_path / "missing.hdf5")
    assert "missing.hdf5" in str(error.value) and "Traceback" not in str(error.value)


def test_cancel_kills_the_child(hdf5, monkeypatch):
    started = []
    start = children.start

    def recording_start(*args, **kwargs):
        started.append(start(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(children, "start", recording_start)
    progress = Progress()
    progress.report = lambda *_a: progress.cancel() or progress.check_cancelled()  # cancel at the first report
    with pytest.raises(Cancelled):
        diagnose_in_child(hdf5, progress)
    assert len(started) == 1 and started[0].poll() is not None  # killed and reaped
