"""An HDF5 behaviour the studio's writers must avoid: rewriting an LZF chunk in place.

h5py's LZF filter is optional: a chunk it cannot shrink is stored raw with the filter marked as
skipped. Written again with data that does compress, HDF5 (1.14.6 and 2.0.0 alike) keeps that mark,
so the compressed bytes are read back as raw values: garbage. The studio never edits a chunk in
place (outputs are written once, inputs never modified; recorders only extend partly filled chunks,
which compress); this test pins the behaviour so that a change of h5py or HDF5 that fixes it, or a
writer that starts rewriting chunks, is seen."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

EXAMPLE = (
    "f3ded33e00000000c2b8b2bd5c6bacbffdc3e33fe332d63f430b893e000000008cd483bf00000000cccb423f0923983f"
    "3240903ff653d7bf2831a43fb41fc53a0e41ea3740513a3f"
)


def _rewrite_in_place(path: Path, first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, int]:
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=first, chunks=first.shape, maxshape=(None, first.shape[1]), compression="lzf")
    with h5py.File(path, "r+") as f:
        f["x"][...] = second
    with h5py.File(path) as f:
        return f["x"][()], f["x"].id.get_chunk_info(0).filter_mask


def test_a_chunk_first_stored_raw_then_rewritten_compressible_reads_back_wrong(tmp_path: Path) -> None:
    incompressible = np.arange(18, dtype=np.float32).reshape(3, 6)  # LZF cannot shrink 72 bytes of these
    # a 3-frame demo's actions hypothesis found (tests/test_roundtrip_properties.py): repeated values
    compressible = np.frombuffer(bytes.fromhex(EXAMPLE), dtype=np.float32).reshape(3, 6)
    back, mask = _rewrite_in_place(tmp_path / "a.h5", incompressible, compressible)
    assert mask == 1  # still marked "filter skipped"
    assert not np.array_equal(back, compressible)  # the HDF5 behaviour the writers avoid


def test_a_new_dataset_of_the_same_values_is_exact(tmp_path: Path) -> None:
    values = np.frombuffer(bytes.fromhex(EXAMPLE), dtype=np.float32).reshape(3, 6)
    with h5py.File(tmp_path / "b.h5", "w") as f:
        f.create_dataset("x", data=values, chunks=values.shape, maxshape=(None, 6), compression="lzf")
    with h5py.File(tmp_path / "b.h5") as f:
        assert np.array_equal(f["x"][()], values)
