"""`rollout-studio --version`: version, commit and the libraries, without Qt or torch imported."""

from __future__ import annotations

import json
import subprocess
import sys

from backend import __version__, cli, versions


def test_version_names_the_commit_and_every_library(capsys):
    assert cli.main(["--version"]) == 0
    text = capsys.readouterr().out
    first = text.splitlines()[0]
    assert first.startswith(f"rollout-studio {__version__} (commit ")
    head = versions.build_info().get("commit")
    if head:  # a checkout: the commit HEAD names, read from .git
        assert head[:12] in first
        git = subprocess.run(["git", "-C", str(versions.SOURCE_ROOT), "rev-parse", "HEAD"],  # noqa: S607
                             capture_output=True, text=True)
        if git.returncode == 0:
            assert head == git.stdout.strip()
    for word in ("PySide6 ", "PyAV ", "libx264", "h5py ", "HDF5 ", "pyarrow ", "numpy ", "torch "):
        assert word in text, word


def test_a_bundles_build_record_wins(tmp_path, monkeypatch):
    record = tmp_path / "_build_info.json"
    record.write_text(json.dumps({"commit": "0123456789abcdef0123", "dirty": True, "built": "2026-12-06"}))
    monkeypatch.setattr(versions, "BUILD_INFO", record)
    found = versions.collect(qt_runtime="6.11.3")
    assert found["commit"] == "0123456789abcdef0123" and found["qt"] == "6.11.3"
    text = versions.format_text(found)
    assert "commit 0123456789ab (modified)" in text and "built 2026-12-06" in text and "Qt 6.11.3" in text


def test_version_imports_neither_qt_nor_torch_nor_the_commands():
    code = (
        "import sys; from backend import cli; cli.main(['--version']);"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'torch')"
        " or m.endswith('_cmd')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,  # noqa: S603
                         cwd=versions.SOURCE_ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
