"""The backend stays headless: importing it never loads Qt, and its source never names Qt."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FORBIDDEN = ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "qasync", "superqt", "app", "widgets")


def test_backend_sources_import_no_qt() -> None:
    offenders = []
    for source in (REPO / "backend").rglob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{source.relative_to(REPO)}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_cli_runs_without_loading_qt() -> None:
    code = (
        "import sys, backend.cli, backend.formats, backend.inspect;"
        "backend.cli.build_parser();"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN[:6]!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"


def test_no_shell_true_anywhere() -> None:
    offenders = []
    for folder in ("backend", "app", "widgets", "scripts", "benchmarks"):
        for source in (REPO / folder).rglob("*.py"):
            tree = ast.parse(source.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.keyword) and node.arg == "shell":
                    if not (isinstance(node.value, ast.Constant) and node.value.value is False):
                        offenders.append(str(source.relative_to(REPO)))
    assert offenders == []
