"""Disk faults while writing, through every writer, as a user meets them (a real subprocess each).

- ENOSPC: the output on a small tmpfs filled up to a few KB (``mount -t tmpfs``; skipped when the
  test cannot mount);
- EFBIG: a file-size limit in the command (``RLIMIT_FSIZE``, SIGXFSZ ignored so writes fail with
  "File too large" instead of killing the process);
- EROFS: the output folder on a tmpfs remounted read-only (root ignores file modes; a read-only
  file system it does not).

Each: exit 2, exactly one ``error:`` line naming the OUTPUT (never the input, never the hidden
staging), no traceback, nothing left in the output's folder (visible or hidden), the inputs
byte-identical, no process of the command left running.

And the other way round: an output on another file system than the inputs and the temporary folder
works, with nothing left beside it (staging is made beside the output, so the last rename is atomic).
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from backend.convert import hdf5_to_lerobot as h2l
from tests.cli_harness import build_inputs, entries, one_error, run_cli, tree_digest

TASK = "Pick up the orange."
FULL = "no space left on the device (free some space or choose another output)"
TOO_LARGE = "file too large for this location (a file-size limit)"
READ_ONLY = "cannot write here (read-only file system) (choose an output in a writable folder)"
SIZE_LIMIT = 2048  # bytes: every writer below writes a bigger file (a video, a parquet, stats)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("inputs")
    return build_inputs(root, TASK)


# writer -> (argv for an output folder, the output's name in it)
Writer = Callable[[dict[str, Path], Path], list]
WRITERS: dict[str, tuple[Writer, str]] = {
    "hdf5-to-lerobot": (lambda i, o: ["convert", "hdf5-to-lerobot", i["rec"], "--out", o, "--task", TASK, "--quiet"], "out"),
    "lerobot-to-hdf5": (
        lambda i, o: ["convert", "lerobot-to-hdf5", i["ds21"], "--template", i["rec"], "--out", o, "--copy-states", "--quiet"],
        "out.hdf5",
    ),
    "v3-to-v2": (lambda i, o: ["convert", "lerobot-v3-to-v2", i["ds30"], "--out", o, "--quiet"], "out"),
    "v2-to-v3": (lambda i, o: ["convert", "lerobot-v2-to-v3", i["ds21"], "--out", o, "--quiet"], "out"),
    "transcode": (lambda i, o: ["convert", "transcode", i["ds21"], "--out", o, "--force", "--quiet"], "out"),
    "curate export": (lambda i, o: ["curate", "export", i["ds21"], "--out", o, "--quiet"], "out"),
    "curate export hdf5": (lambda i, o: ["curate", "export", i["rec"], "--out", o, "--quiet"], "out.hdf5"),
    "cosmos trainset": (lambda i, o: ["cosmos", "trainset", i["ds21"], "--out", o, "--keep-short"], "out"),
    "idm prepare": (lambda i, o: ["idm", "prepare", i["cosmos"], "--out", o, "--source-dataset", i["ds21"]], "so101.out"),
    "idm kit": (lambda i, o: ["idm", "kit", i["ds21"], "--out", o], "out"),
}  # fmt: skip


# -- a small tmpfs -----------------------------------------------------------------------------------
def _mount(where: Path, options: str) -> None:
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], check=True, capture_output=True)


@pytest.fixture(scope="module")
def tmpfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    where = tmp_path_factory.mktemp("tmpfs")
    try:
        _mount(where, "size=2m,mode=0755")
    except (OSError, subprocess.CalledProcessError) as error:
        detail = getattr(error, "stderr", b"") or str(error)
        pytest.skip(f"cannot mount a tmpfs here (needs root and mount rights): {detail!r}")
    try:
        yield where
    finally:
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            subprocess.run(["mount", "-o", "remount,rw", str(where)], check=False, capture_output=True)
        subprocess.run(["umount", "-l", str(where)], check=False, capture_output=True)


def _empty(folder: Path) -> None:
    for entry in folder.iterdir():  # the test's own tmpfs: everything on it is the test's
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _fill(tmpfs: Path, leave: int) -> None:
    """A file at the tmpfs's top that leaves ``leave`` bytes free (the output goes in a sub-folder)."""
    stat = os.statvfs(tmpfs)
    size = max(0, stat.f_bavail * stat.f_frsize - leave)
    with open(tmpfs / "filler", "wb") as handle:
        with contextlib.suppress(OSError):
            handle.write(b"\0" * size)


@pytest.fixture()
def clean_tmpfs(tmpfs: Path) -> Iterator[Path]:
    _empty(tmpfs)
    folder = tmpfs / "out put ü"  # spaces and non-ASCII behave like any name
    folder.mkdir()
    yield folder
    subprocess.run(["mount", "-o", "remount,rw", str(tmpfs)], check=False, capture_output=True)
    _empty(tmpfs)


def _digests(inputs: dict[str, Path]) -> dict[str, str]:
    return {name: tree_digest(path) for name, path in inputs.items()}


def _check_failed_cleanly(run, out: Path, message: str, inputs: dict[str, Path], before: dict[str, str]) -> None:
    line = one_error(run)
    assert line == f"error: {out}: {message}", line
    assert entries(out.parent) == [], "a failed write left something beside the output"
    assert _digests(inputs) == before


# -- ENOSPC ------------------------------------------------------------------------------------------
# HDF5 outputs at other sizes too: wherever the library's own write fails, it used to crash at exit
CASES = [(name, 12 * 1024) for name in WRITERS] + [("lerobot-to-hdf5", 0), ("curate export hdf5", 8 * 1024)]


@pytest.mark.parametrize(("writer", "free"), CASES, ids=[f"{w}-{f // 1024}k" for w, f in CASES])
def test_full_disk(writer: str, free: int, inputs: dict[str, Path], clean_tmpfs: Path) -> None:
    argv, name = WRITERS[writer]
    out = clean_tmpfs / name
    _fill(clean_tmpfs.parent, free)
    before = _digests(inputs)
    run = run_cli(*argv(inputs, out))
    assert run.returncode not in (-signal.SIGSEGV, -signal.SIGBUS), run.stderr[-2000:]
    _check_failed_cleanly(run, out, FULL, inputs, before)


# -- EFBIG -------------------------------------------------------------------------------------------
def _file_size_limit() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # inherited by the camera processes too
    resource.setrlimit(resource.RLIMIT_FSIZE, (SIZE_LIMIT, SIZE_LIMIT))


@pytest.mark.parametrize("writer", list(WRITERS))
def test_file_size_limit(writer: str, inputs: dict[str, Path], tmp_path: Path) -> None:
    argv, name = WRITERS[writer]
    folder = tmp_path / "outputs"
    folder.mkdir()
    out = folder / name
    before = _digests(inputs)
    run = run_cli(*argv(inputs, out), preexec_fn=_file_size_limit, env={"PYTHONDONTWRITEBYTECODE": "1"})
    _check_failed_cleanly(
        run, out, f"{TOO_LARGE} (choose an output on another file system or raise the limit)", inputs, before
    )


# -- EROFS -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("writer", list(WRITERS))
def test_read_only_output_folder(writer: str, inputs: dict[str, Path], clean_tmpfs: Path) -> None:
    argv, name = WRITERS[writer]
    out = clean_tmpfs / name
    subprocess.run(["mount", "-o", "remount,ro", str(clean_tmpfs.parent)], check=True, capture_output=True)
    before = _digests(inputs)
    run = run_cli(*argv(inputs, out))
    _check_failed_cleanly(run, out, READ_ONLY, inputs, before)


# -- another file system works -------------------------------------------------------------------------
@pytest.mark.parametrize("writer", list(WRITERS))
def test_output_on_another_file_system(writer: str, inputs: dict[str, Path], clean_tmpfs: Path, tmp_path: Path) -> None:
    argv, name = WRITERS[writer]
    out = clean_tmpfs / name
    before = _digests(inputs)
    run = run_cli(*argv(inputs, out), env={"TMPDIR": str(tmp_path)})  # temp files on the inputs' disk
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Traceback" not in run.stderr and run.survivors == []
    assert entries(clean_tmpfs) == [name], "only the output, no staging left beside it"
    assert os.stat(out).st_dev == os.stat(clean_tmpfs).st_dev != os.stat(tmp_path).st_dev
    assert _digests(inputs) == before


# -- the Convert wizard's run says the same ------------------------------------------------------------
@pytest.mark.parametrize("conversion", ["hdf5-to-lerobot", "lerobot-to-hdf5"])
def test_convert_wizard_run_names_the_output(conversion: str, inputs: dict[str, Path], clean_tmpfs: Path) -> None:
    """The GUI runs the same functions on a thread; its error is the CLI's sentence about the output."""
    from backend.convert import lerobot_to_hdf5 as l2h  # noqa: PLC0415
    from backend.errors import StudioError  # noqa: PLC0415
    from backend.sessions.convert import call_run as _call_run  # noqa: PLC0415

    if conversion == "hdf5-to-lerobot":
        out = clean_tmpfs / "out"
        module, source, options = h2l, [inputs["rec"]], h2l.Hdf5ToLerobotOptions(out=out, task=TASK)
    else:
        out = clean_tmpfs / "out.hdf5"
        options = l2h.LerobotToHdf5Options(out=out, template=inputs["rec"], copy_states=True)
        module, source = l2h, inputs["ds21"]
    _fill(clean_tmpfs.parent, 12 * 1024)
    before = _digests(inputs)
    with pytest.raises(StudioError) as caught:
        _call_run(module, source, options)
    assert caught.value.message == f"{out}: {FULL}"
    assert entries(clean_tmpfs) == [] and _digests(inputs) == before


# -- camera processes report, never print ------------------------------------------------------------
def _encode_one(rec: Path, out: Path) -> None:
    from backend.convert import camera_worker as cw  # noqa: PLC0415

    workers = cw.CameraWorkers(["front"])
    try:
        job = cw.EncodeJob(str(rec), "/data/demo_0/obs/front", 0, 30, str(out))
        workers.submit({"front": [job]}, {"front": cw.VideoSettings(32, 24, 30.0)})
        workers.wait(0, lambda: None)
    finally:
        workers.close()


def test_camera_process_reports_a_full_disk(inputs: dict[str, Path], clean_tmpfs: Path, capfd) -> None:
    """The child's write fault reaches the parent as a message (then an OSError naming the file it
    wrote, so the output gets the blame); nothing of it is printed on the user's terminal."""
    out = clean_tmpfs / "video.mp4"
    _fill(clean_tmpfs.parent, 0)
    with pytest.raises(OSError) as caught:
        _encode_one(inputs["rec"], out)
    assert (caught.value.errno, caught.value.filename) == (errno.ENOSPC, str(out))
    assert capfd.readouterr().err == ""


def test_camera_process_failure_is_a_message(inputs: dict[str, Path], tmp_path: Path, capfd) -> None:
    from backend.convert.camera_worker import WorkerError  # noqa: PLC0415

    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(WorkerError) as caught:  # not "the encoder process ended early"
        _encode_one(inputs["rec"], blocker / "sub" / "video.mp4")
    assert "Not a directory" in str(caught.value) or "File exists" in str(caught.value), str(caught.value)
    assert capfd.readouterr().err == ""
