"""Task texts are one line: a line break, tab or any control character is refused with one sentence,
in the CLI (exit 2, nothing written) and in the Convert wizard (the sentence shown, Run blocked)."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PySide6.QtCore import QSettings, Qt

from backend.errors import StudioError
from backend.task_text import check_task_text, task_text_problem
from tests.cli_harness import entries, one_error, run_cli, tree_digest
from tests.recordings import DemoSpec, RecordingSpec, write_recording

WAIT_MS = 60_000


@pytest.fixture(scope="module")
def rec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = RecordingSpec([DemoSpec(20), DemoSpec(18)], width=32, height=24)
    return write_recording(tmp_path_factory.mktemp("task") / "rec.hdf5", spec)


def _is_control(char: str) -> bool:
    return unicodedata.category(char) == "Cc" or char in "\u2028\u2029"


@given(st.text(max_size=40))
def test_problem_exactly_when_a_control_character_is_there(text: str) -> None:
    problem = task_text_problem(text)
    bad = [i for i, c in enumerate(text, 1) if _is_control(c)]
    if bad:
        assert problem is not None and problem.endswith(f"at character {bad[0]}")
        with pytest.raises(StudioError):
            check_task_text(text)
    else:
        assert problem is None and check_task_text(text) == text


def test_names_the_character() -> None:
    assert task_text_problem("Pick\nplace") == "the task text holds a line break at character 5"
    assert task_text_problem("\tPick", "--task") == "--task holds a tab at character 1"
    assert task_text_problem("a\x1bb") == "the task text holds a control character (U+001B) at character 2"
    assert task_text_problem("Pick the orange 🍊, place it — «plate» ½") is None


@pytest.mark.parametrize(
    ("flag", "value", "needle"),
    [("--task", "Pick up\nthe orange", "a line break at character 8"),
     ("--task", "Pick\tup", "a tab at character 5"),
     ("--task-for", "rec.hdf5=Pick\rup", "of rec.hdf5 holds a carriage return at character 5")],
)  # fmt: skip
def test_cli_refuses_control_characters(rec: Path, tmp_path: Path, flag: str, value: str, needle: str) -> None:
    before = tree_digest(rec)
    extra = ["--task", "fine"] if flag == "--task-for" else []
    run = run_cli("convert", "hdf5-to-lerobot", rec, "--out", tmp_path / "out", flag, value, *extra, "--quiet")
    one_error(run, needle, "one line of plain text")
    assert entries(tmp_path) == [] and tree_digest(rec) == before


def test_convert_wizard_shows_the_sentence_and_blocks_run(qtbot, rec: Path, tmp_path: Path) -> None:
    from app.context import AppContext  # noqa: PLC0415
    from app.panes.convert import ConvertPane  # noqa: PLC0415

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    pane = ConvertPane(AppContext(settings, tmp_path / "workspace"))
    qtbot.addWidget(pane)
    pane.show()
    wizard = pane.select("hdf5_to_lerobot")
    family = wizard.family
    family.sources.setPaths([rec])
    family.out.setPath(tmp_path / "out")
    qtbot.mouseClick(wizard.frame.next_button, Qt.MouseButton.LeftButton)
    family.task.setText("Pick the orange")
    qtbot.waitUntil(wizard.preview_ready, timeout=WAIT_MS)
    assert wizard.plan()["errors"] == [] and wizard.frame.next_button.isEnabled()
    family.task.setText("Pick the\torange")
    qtbot.waitUntil(wizard.preview_ready, timeout=WAIT_MS)
    sentence = "the task text holds a tab at character 9"
    assert any(sentence in error for error in wizard.plan()["errors"]), wizard.plan()["errors"]
    assert not wizard.frame.next_button.isEnabled()  # Run is the next step: blocked
    assert sentence in wizard.frame.next_button.toolTip() or sentence in _shown_text(wizard)


def _shown_text(wizard) -> str:
    from PySide6.QtWidgets import QLabel, QTextEdit  # noqa: PLC0415

    texts = [label.text() for label in wizard.findChildren(QLabel) if label.isVisible()]
    texts += [edit.toPlainText() for edit in wizard.findChildren(QTextEdit) if edit.isVisible()]
    return "\n".join(texts)


def test_curation_task_edit_refuses_control_characters(rec: Path) -> None:
    run = run_cli("curate", "set", rec, "0", "--task", "Pick\nup")
    one_error(run, "the task text holds a line break at character 5")
    shown = run_cli("curate", "show", rec, "--json")
    assert shown.returncode == 0 and "Pick\\nup" not in shown.stdout and "Pick\nup" not in shown.stdout
