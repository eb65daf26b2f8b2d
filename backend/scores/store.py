"""The score table's sidecar and the learned judgement's file, kept beside the curation decisions.

Both live where ``backend.curation.sidecar_path`` puts the decisions (beside the dataset, or in the
studio's fallback folder when that one is read-only), under their own suffix:
``pick.hdf5`` -> ``pick.hdf5.scores.json`` and ``pick.hdf5.judgement.pt``. The dataset itself is
never written.
"""

from __future__ import annotations

import json
from pathlib import Path

from backend.atomic import write_text_atomic
from backend.curation import sidecar_path
from backend.errors import StudioError
from backend.scores.table import SCHEMA, SIDECAR_SUFFIX, ScoreTable

JUDGEMENT_SUFFIX = ".judgement.pt"


def scores_path(dataset_path: str | Path) -> Path:
    """Where the score table of ``dataset_path`` is (or will be) stored."""
    return sidecar_path(dataset_path, SIDECAR_SUFFIX)


def judgement_path(dataset_path: str | Path) -> Path:
    """Where the learned judgement of ``dataset_path`` is (or will be) stored."""
    return sidecar_path(dataset_path, JUDGEMENT_SUFFIX)


def save_scores(table: ScoreTable, dataset_path: str | Path) -> Path:
    """Write the table's sidecar atomically (replacing the previous one); returns its path."""
    path = scores_path(dataset_path)
    write_text_atomic(path, json.dumps(table.to_json(), indent=1, ensure_ascii=False) + "\n")
    return path


def load_scores(dataset_path: str | Path) -> ScoreTable | None:
    """The stored score table of ``dataset_path``; None when it was never scored."""
    path = scores_path(dataset_path)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise StudioError(
            f"cannot read the score table ({error})", path, "run `rollout-studio score` again"
        ) from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise StudioError(
            f"not a score table of schema {SCHEMA}", path, "run `rollout-studio score` again"
        )
    try:
        return ScoreTable.from_json(data)
    except (KeyError, TypeError, ValueError) as error:
        raise StudioError(
            f"the score table is damaged ({error})", path, "run `rollout-studio score` again"
        ) from None


def require_scores(dataset_path: str | Path) -> ScoreTable:
    """``load_scores``, or a user error saying how to make the table."""
    table = load_scores(dataset_path)
    if table is None:
        raise StudioError(
            "has no score table yet", dataset_path, "run `rollout-studio score DATASET` first"
        )
    return table
