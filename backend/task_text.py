"""Task texts are one line of plain text: they go into tasks.jsonl, parquet task tables, HDF5
attributes and model prompts, where a line break or a tab silently splits or shifts a record.

``task_text_problem`` says what is wrong with a text (None when it is fine); ``check_task_text``
raises the one ``StudioError`` the CLI prints and the GUI shows (the same sentence in both).
"""

from __future__ import annotations

import unicodedata

_NAMES = {"\n": "a line break", "\r": "a carriage return", "\t": "a tab", "\x00": "a NUL character"}
# line and paragraph separators act as line breaks in JSON readers and editors too
_SEPARATORS = {"\u2028": "a line separator (U+2028)", "\u2029": "a paragraph separator (U+2029)"}
HINT = "a task is one line of plain text: it is written into jsonl, parquet and prompts"


def task_text_problem(text: str, what: str = "the task text") -> str | None:
    """Why ``text`` cannot be a task text (a control character, with its position), else None."""
    for position, char in enumerate(text, 1):
        if char in _SEPARATORS:
            name = _SEPARATORS[char]
        elif unicodedata.category(char) == "Cc":
            name = _NAMES.get(char, f"a control character (U+{ord(char):04X})")
        else:
            continue
        return f"{what} holds {name} at character {position}"
    return None


def check_task_text(text: str | None, what: str = "the task text") -> str | None:
    """``text`` unchanged when it is a valid task text (or None); else raise ``StudioError``."""
    if text is None:
        return None
    problem = task_text_problem(text, what)
    if problem is not None:
        from backend.errors import StudioError  # noqa: PLC0415

        raise StudioError(problem, hint=HINT)
    return text
