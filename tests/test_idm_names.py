"""Task folder names from prompts: the IDM grouping rule plus filesystem safety."""

from __future__ import annotations

import pytest

from backend.idm.names import MAX_NAME_BYTES, task_folder_name


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("Lift the red cube up.", "Lift_the_red_cube_up"),
        ("Pick up the rubik's cube!", "Pick_up_the_rubiks_cube"),
        ('Say "hi", then: wave; ok?', "Say_hi_then_wave_ok"),
        ("  spaced   out  ", "spaced_out"),
        ("put it in/on the box", "put_it_in_on_the_box"),
        ("Pick the café’s crème brûlée", "Pick_the_cafés_crème_brûlée"),
        ("...", "task"),
        ("line\nbreak\ttab", "line_break_tab"),
    ],
)
def test_folder_names(prompt: str, expected: str) -> None:
    assert task_folder_name(prompt) == expected


def test_long_prompts_are_clipped_and_stay_unique() -> None:
    a = task_folder_name("pick the orange " * 40 + "and place it on the plate")
    b = task_folder_name("pick the orange " * 40 + "and place it on the bowl")
    assert len(a.encode()) <= MAX_NAME_BYTES and len(b.encode()) <= MAX_NAME_BYTES
    assert a != b
    assert a.startswith("pick_the_orange_pick")


def test_unicode_is_normalized() -> None:
    decomposed = "Cafe\u0301"
    assert task_folder_name(decomposed) == "Café"
