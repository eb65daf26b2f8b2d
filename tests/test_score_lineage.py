"""Which episodes the scores treat as generated variants of a source: only those whose lineage holds
an IDM prepare or Cosmos outputs (backend/scores/lineage.py), not conversions or curated exports of a
recording, though their provenance names source episodes too."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import pytest

from backend import provenance as prov
from backend.compare.pairing import IDM_PREPARE_FILE, PROVENANCE_ATTR, PROVENANCE_FILE
from backend.curation import Curation, export_curated
from backend.formats import open_dataset
from backend.scores.compute import compute_scores
from backend.scores.lineage import is_generated, record_is_generated
from backend.scores.measure import Sources
from tests.browse_data import write_hdf5

LENGTHS = (20, 24)


def _with_record(copy_of: Path, target: Path, record: dict) -> Path:
    """A copy of an HDF5 file whose /data carries ``record`` as its provenance."""
    shutil.copy(copy_of, target)
    with h5py.File(target, "a") as handle:
        handle["data"].attrs[PROVENANCE_ATTR] = json.dumps(record)
    return target


def _episodes(record: dict, input_index: int, **extra: int) -> dict:
    for number, length in enumerate(LENGTHS):
        prov.add_episode(record, number, input_index, number, f"demo_{number}", 0, length,
                         **{k: number for k in extra})
    return record


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("lineage")
    recording = write_hdf5(root / "recording.hdf5", lengths=LENGTHS)
    # a plain conversion of the recording
    converted = _with_record(recording, root / "converted.hdf5", _episodes(
        prov.new_record("hdf5_to_lerobot", [(recording, "source")], {}, root / "converted.hdf5", "leisaac_hdf5"), 0))
    # an IDM-prepared dataset made from Cosmos outputs of the recording
    cosmos, idm = root / "cosmos_out", root / "idm"
    cosmos.mkdir()
    (idm / "meta").mkdir(parents=True)
    prepared = prov.new_record("idm_prepare", [(cosmos, "cosmos_outputs"), (recording, "source")], {}, idm,
                               "lerobot_v2.1")
    (idm / "meta" / PROVENANCE_FILE).write_text(json.dumps(prepared))
    (idm / "meta" / IDM_PREPARE_FILE).write_text(json.dumps({"episodes": []}))
    # lerobot-to-hdf5 of the IDM dataset: demos mapped to the recording (the template), the IDM
    # episode kept as lerobot_episode
    replayed = _with_record(recording, root / "replayed.hdf5", _episodes(
        prov.new_record("lerobot_to_hdf5", [(idm, "source"), (recording, "template")], {}, root / "replayed.hdf5",
                        "leisaac_hdf5"), 1, lerobot_episode=0))
    out = {"recording": recording, "converted": converted, "idm": idm, "replayed": replayed}
    for name in ("converted", "replayed"):  # curated exports (their records embed nothing)
        with open_dataset(out[name]) as dataset:
            curation = Curation(dataset.path, sidecar=root / f".{name}.curation.json")
            out[f"{name}_export"] = export_curated(dataset, curation, root / f"{name}_export.hdf5", "leisaac_hdf5")
    return out


@pytest.mark.parametrize(("name", "generated"), [
    ("recording", False), ("converted", False), ("converted_export", False),
    ("replayed", True), ("replayed_export", True),
])
def test_only_a_generated_lineage_gives_sources(files: dict[str, Path], name: str, generated: bool) -> None:
    with open_dataset(files[name]) as dataset:
        assert is_generated(dataset) is generated
        sources = Sources(dataset)
        refs = [sources.ref(e) for e in dataset.episodes]
        sources.close()
    if generated:
        assert [r.episode for r in refs] == [0, 1]
    else:
        assert refs == [None, None]


def test_records_say_generated_through_their_chain(files: dict[str, Path]) -> None:
    base = files["idm"].parent
    assert record_is_generated(prov.read_provenance(files["idm"]), base)
    assert not record_is_generated(prov.read_provenance(files["converted"]), base)
    # a template lends layout, not content: an IDM dataset as template does not make the output generated
    templated = prov.new_record("lerobot_to_hdf5", [(files["recording"], "source"), (files["idm"], "template")],
                                {}, base / "x.hdf5", "leisaac_hdf5")
    assert not record_is_generated(templated, base)


@pytest.mark.parametrize(("name", "source"), [("converted_export", None), ("replayed", 0)])
def test_scores_mark_variants_only_for_generated_data(files: dict[str, Path], name: str, source: int | None) -> None:
    with open_dataset(files[name]) as dataset:
        table = compute_scores(dataset, signals=["short_episode"], device="cpu")
    first = table.episodes[0]
    assert (first.source, first.variant) == ((None, None) if source is None else (source, 0))
