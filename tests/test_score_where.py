"""--where expressions over a score table: what they select, and one clear error for each mistake."""

from __future__ import annotations

import pytest

from backend.errors import StudioError
from backend.scores.table import EpisodeScores, Finding, ScoreTable
from backend.scores.where import parse_where, select


@pytest.fixture(scope="module")
def table() -> ScoreTable:
    frozen = Finding("frozen_camera", "warning", (3, 9), "front camera frozen for 7 frames")
    broken = Finding("non_finite", "error", (4, 4), "NaN in the action")
    return ScoreTable(
        "d.hdf5",
        [
            EpisodeScores(0, [frozen], {"jerky": 6000.0, "frozen_camera": 0.7}),
            EpisodeScores(1, [], {"jerky": 120.0, "frozen_camera": 0.0}, predicted_rating=0.3),
            EpisodeScores(2, [broken, frozen], {"jerky": -5.0}, predicted_rating=0.95),
            EpisodeScores(3, [], {}, predicted_rating=0.5),
        ],
        ["jerky", "frozen_camera", "non_finite"],
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("jerky>5000 and frozen_camera", [0]),
        ("jerky > 5000", [0]),
        ("jerky<=120", [1, 2]),
        ("jerky>-10 and jerky<0", [2]),
        ("jerky == 120", [1]),
        ("jerky = 120", [1]),
        ("jerky != 120", [0, 2]),  # episode 3 has no jerk value: it never matches a comparison
        ("frozen_camera", [0, 2]),  # bare name: the signal fired (a finding), not its value
        ("frozen_camera>0.5", [0]),
        ("not frozen_camera", [1, 3]),
        ("not not frozen_camera", [0, 2]),
        ("predicted<0.5 or jerky>=6000", [0, 1]),
        ("predicted", [1, 2, 3]),
        ("errors", [2]),
        ("warnings>=1 and not errors", [0]),
        ("findings>=2", [2]),
        ("episode>=2 and (predicted>0.9 or predicted<0.1)", [2]),
        ("(jerky>5000 or predicted<0.4) and not non_finite", [0, 1]),
        ("jerky>1e3", [0]),
    ],
)
def test_select(table: ScoreTable, text: str, expected: list[int]) -> None:
    assert select(table, text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("jerk>1", "unknown signal 'jerk' (known: episode, errors, findings, frozen_camera, jerky, non_finite"),
        ("jerky >", "expected a number but found the end at column 8"),
        ("jerky > big", "expected a number but found 'big'"),
        ("(jerky>1", "expected ')' but found the end"),
        ("jerky>1 jerky", "expected 'and', 'or' or the end but found 'jerky' at column 9"),
        ("and jerky", "expected a signal name, 'not' or '(' but found 'and' at column 1"),
        ("jerky>1 $", "cannot read '$'"),
        ("   ", "the expression is empty"),
    ],
)
def test_mistakes_are_one_clear_error(table: ScoreTable, text: str, message: str) -> None:
    with pytest.raises(StudioError) as caught:
        select(table, text)
    assert message in caught.value.message
    assert "\n" not in caught.value.message


def test_without_a_table_any_name_parses() -> None:
    predicate = parse_where("anything>1 or other")
    assert predicate(EpisodeScores(0, [], {"anything": 2.0}))
    assert not predicate(EpisodeScores(1, [], {"anything": 0.5}))
