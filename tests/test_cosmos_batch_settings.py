"""Batch-file settings: typed parsing and the checks that stop a bad GPU run early."""

from __future__ import annotations

import pytest

from backend.cosmos.batch import DEFAULTS, check_settings, parse_setting
from backend.errors import StudioError


def test_parse_setting_types_by_key() -> None:
    assert parse_setting("guidance=5") == ("guidance", 5)
    assert parse_setting("resolution=480,640") == ("resolution", "480,640")
    assert parse_setting("enable_autoregressive=false") == ("enable_autoregressive", False)
    assert parse_setting("negative_prompt=a=b") == ("negative_prompt", "a=b")
    with pytest.raises(StudioError, match="unknown batch key"):
        parse_setting("guidnce=5")
    with pytest.raises(StudioError, match="guidance must be int"):
        parse_setting("guidance=high")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"guidance": 8}, "guidance must be an integer 0..7"),
        ({"guidance": 6.5}, "guidance must be an integer 0..7"),
        ({"resolution": "480x640"}, 'resolution must be "H,W"'),
        ({"inference_type": "world2video"}, "inference_type must be one of"),
        ({"chunk_overlap": 77}, "chunk_overlap must be in"),
    ],
)
def test_invalid_values_are_refused(override: dict, message: str) -> None:
    with pytest.raises(StudioError, match=message):
        check_settings({**DEFAULTS, **override})


def test_idm_length_warning() -> None:
    assert check_settings(dict(DEFAULTS)) == []
    warnings = check_settings({**DEFAULTS, "num_output_frames": 77})
    assert len(warnings) == 1 and "93 frames at 16 fps" in warnings[0]
