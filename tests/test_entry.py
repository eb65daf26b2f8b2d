"""The console script sends command words to the CLI and everything else to the GUI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from app.entry import wants_gui


def test_routing(tmp_path: Path) -> None:
    assert wants_gui([])
    assert wants_gui(["--demo"])
    assert wants_gui([str(tmp_path)])
    assert not wants_gui(["inspect", str(tmp_path)])
    assert not wants_gui(["--help"])
    assert not wants_gui(["no-such-command"])  # the CLI explains it


def test_command_words_match_the_parser(tmp_path: Path, monkeypatch) -> None:
    from backend.cli import COMMAND_WORDS, command_names

    assert command_names() == COMMAND_WORDS
    (tmp_path / "idm").mkdir()  # a folder named like a command must not hijack the command
    monkeypatch.chdir(tmp_path)
    assert not wants_gui(["idm", "prepare"])


def test_unknown_command_is_a_cli_error_without_qt(tmp_path: Path) -> None:
    code = "import sys; from app.entry import main; rc = main(['frobnicate']); print('qt' if 'PySide6' in sys.modules else 'noqt'); sys.exit(rc)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parents[1])
    assert out.returncode == 2
    assert "invalid choice: 'frobnicate'" in out.stderr
