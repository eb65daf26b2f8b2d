"""``backend.errors.about``: a worker's error about the same file loses its path, nothing else."""

from __future__ import annotations

from pathlib import Path

from backend.errors import FormatError, about


def test_the_same_file_is_said_once() -> None:
    inner = FormatError("cannot read frame 0 of demo_2/obs/wrist (filter failed)", Path("/data/rec ü.hdf5"))
    outer = FormatError(f"cannot export episode 2 ({about(inner, '/data/rec ü.hdf5')})", "/data/rec ü.hdf5")
    assert outer.message == (
        "/data/rec ü.hdf5: cannot export episode 2 (cannot read frame 0 of demo_2/obs/wrist (filter failed))"
    )


def test_another_file_or_no_file_keeps_the_text() -> None:
    inner = "/data/other.hdf5: cannot read frame 0"
    assert about(inner, "/data/rec.hdf5") == inner  # another file: still named
    assert about(inner, "/data/other") == inner  # a prefix of the path is not the path
    assert about(inner, None) == inner
    assert about("no path here", "/data/rec.hdf5") == "no path here"
