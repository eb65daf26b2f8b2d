"""Whether a dataset is generated: made by the IDM from Cosmos videos somewhere in its lineage.

A provenance record names its source episodes whether they were generated or recorded: a plain
conversion (hdf5-to-lerobot, transcode) or a curated export of a recording carries ``source`` entries
too. The scores treat an episode as a generated variant of its source (``source``/``variant``, the
generated-video signals) only when the lineage holds generated data:

- the dataset is a Cosmos output folder, or an IDM-prepared dataset (``meta/rollout_studio_idm_prepare.json``);
- a record on the way has the conversion ``idm_prepare`` (operation "idm prepare") or an input with
  role or format ``cosmos_outputs``.

Records chain through each input's embedded record (``inputs[i].provenance``), else the record stored
with the input's path (a curated export does not embed it). A "template" input (lerobot-to-hdf5's
donor of layout and initial states) lends no content and is not followed. So an HDF5 made by
lerobot-to-hdf5 from an IDM-prepared dataset is generated; a conversion of a recording is not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backend.compare.pairing import IDM_PREPARE_FILE, MAX_HOPS, read_provenance, read_provenance_path
from backend.model import Dataset, DatasetFormat

GENERATED_CONVERSIONS = ("idm_prepare",)
GENERATED_OPERATIONS = ("idm prepare",)
GENERATED_INPUTS = ("cosmos_outputs",)  # an input's role or format
CONTENT_FREE_ROLES = ("template",)


def _idm_prepared(path: Path) -> bool:
    try:
        return (path / "meta" / IDM_PREPARE_FILE).is_file()
    except OSError:
        return False


def _resolve(text: Any, base: Path) -> Path | None:
    if not isinstance(text, str) or not text:
        return None
    path = Path(text).expanduser()
    return path if path.is_absolute() else base / path


def record_is_generated(record: Any, base: Path, hops: int = MAX_HOPS, seen: set[str] | None = None) -> bool:
    """Whether ``record`` (a provenance record; ``base`` resolves its relative paths) or a record it
    chains to says the data came from Cosmos videos labelled by the IDM."""
    if not isinstance(record, dict) or hops <= 0:
        return False
    if record.get("conversion") in GENERATED_CONVERSIONS or record.get("operation") in GENERATED_OPERATIONS:
        return True
    seen = set() if seen is None else seen
    for item in record.get("inputs") or []:
        if not isinstance(item, dict) or item.get("role") in CONTENT_FREE_ROLES:
            continue
        if item.get("role") in GENERATED_INPUTS or item.get("format") in GENERATED_INPUTS:
            return True
        path = _resolve(item.get("path"), base)
        if path is not None:
            if str(path) in seen:
                continue
            seen.add(str(path))
            if _idm_prepared(path):
                return True
        embedded = item.get("provenance")
        if embedded is None and path is not None:
            embedded = read_provenance_path(path)
        parent = path if path is not None and path.is_dir() else (path.parent if path is not None else base)
        if record_is_generated(embedded, parent, hops - 1, seen):
            return True
    return False


def is_generated(dataset: Dataset) -> bool:
    """Whether ``dataset``'s episodes are generated (see the module's docstring); never raises for
    unreadable records (they say nothing)."""
    if dataset.format is DatasetFormat.COSMOS_OUTPUTS:
        return True
    path = Path(dataset.path)
    if path.is_dir() and _idm_prepared(path):
        return True
    try:
        record = read_provenance(dataset)
    except (OSError, ValueError):
        return False
    return record_is_generated(record, path if path.is_dir() else path.parent)
