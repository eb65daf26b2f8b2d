"""Which errors are the output location's fault, and the one sentence that names the output."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from backend.errors import FormatError, StudioError
from backend.output_faults import fault_errno, in_output_area, output_fault

OUT = Path("/data/out put/ds")


def _copy_error(src: str, dst: str, code: int = errno.ENOSPC) -> OSError:
    """What shutil.copyfile raises on a full disk: the SOURCE as filename, the target as filename2."""
    error = OSError(code, os.strerror(code))
    error.filename, error.filename2 = src, dst
    return error


def test_errno_from_attributes_causes_and_text() -> None:
    assert fault_errno(OSError(errno.ENOSPC, "No space left on device")) == errno.ENOSPC
    hdf5 = RuntimeError("Can't flush cache (file write failed: ..., errno = 27, error message = 'File too large')")
    assert fault_errno(hdf5) == errno.EFBIG
    arrow = OSError("Error writing bytes to file. Detail: [errno 28] No space left on device")
    assert fault_errno(arrow) == errno.ENOSPC
    try:
        try:
            raise OSError(errno.EROFS, "Read-only file system")
        except OSError as inner:
            raise StudioError("encoding frame 3 failed", "/x/video.mp4") from inner
    except StudioError as wrapped:
        assert fault_errno(wrapped) == errno.EROFS
    assert fault_errno(OSError(errno.ENOENT, "No such file or directory")) is None
    assert fault_errno(ValueError("could not convert string to float")) is None


def test_output_area() -> None:
    assert in_output_area(OUT, OUT) and in_output_area(OUT / "meta" / "info.json", OUT)
    assert in_output_area(OUT.parent / ".ds.partial-123" / "data" / "x.parquet", OUT)
    assert not in_output_area(OUT.parent / "ds2", OUT) and not in_output_area(OUT.parent, OUT)
    assert not in_output_area(OUT.parent / ".other.partial-1", OUT)


def test_full_disk_names_the_output_not_the_input_being_copied() -> None:
    error = _copy_error("/inputs/ds/data/x.parquet", str(OUT.parent / ".ds.partial-9" / "data" / "x.parquet"))
    fault = output_fault(error, [OUT])
    assert fault is not None
    assert fault.message == f"{OUT}: no space left on the device (free some space or choose another output)"
    # a converter's error about the input, wrapping the encoder's ENOSPC: still the output's fault
    wrapped = FormatError("cannot convert frames from 5 of demo_0 ([Errno 28] No space left on device)", "/in/rec.hdf5")
    assert output_fault(wrapped, [OUT]).path == str(OUT)


def test_permission_denied_on_an_input_is_not_blamed_on_the_output() -> None:
    reading = OSError(errno.EACCES, "Permission denied", "/inputs/rec.hdf5")
    assert output_fault(reading, [OUT]) is None
    writing = OSError(errno.EACCES, "Permission denied", str(OUT / "meta"))
    assert output_fault(writing, [OUT]).message == (
        f"{OUT}: cannot write here (permission denied) (choose an output in a writable folder)"
    )


def test_not_a_fault() -> None:
    assert output_fault(StudioError("output already exists", OUT), [OUT]) is None
    assert output_fault(OSError(errno.ENOTDIR, "Not a directory", "/a_file/out"), [OUT]) is None
