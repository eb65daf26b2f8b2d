"""Direct reads of HDF5 objects with h5py's low-level API: attributes, members, shapes and rows.

h5py's high-level objects (``Group``, ``Dataset``, ``AttributeManager``) cost tens of microseconds each
to make; a 1,000-demo LeIsaac recording has ~30,000 objects. Listing it (the reader), inspecting it and
validating it read each demo's attributes and array shapes here, in one pass, with the values h5py's
high-level API gives (``tests/test_large_hdf5.py`` compares them with the revision before).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import h5py
import numpy as np
from h5py import h5, h5a, h5d, h5g, h5o, h5p, h5s, h5t

# metadata cache of a one-pass walk over every demo: HDF5 grows it to 32 MB (~300 MB of memory for
# 1,000 demos' object headers) though no header is read twice; 4 MB keeps memory flat and is as fast
WALK_METADATA_CACHE = 4 << 20


@contextmanager
def small_metadata_cache(file: h5py.File, nbytes: int = WALK_METADATA_CACHE) -> Iterator[None]:
    """Cap the file's metadata cache at ``nbytes`` while walking every demo once, then restore it."""
    before = file.id.get_mdc_config()
    config = file.id.get_mdc_config()
    config.set_initial_size = True
    config.initial_size = min(config.initial_size, nbytes)
    config.min_size = min(config.min_size, nbytes)
    config.max_size = nbytes
    file.id.set_mdc_config(config)
    try:
        yield
    finally:
        if file.id.valid:
            file.id.set_mdc_config(before)


def to_python(value: Any) -> Any:
    """An HDF5 attribute as a plain Python value (JSON friendly; arrays stay numpy arrays)."""
    if isinstance(value, bytes | np.bytes_):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) and value.dtype.kind in "SO":
        return [to_python(v) for v in value.tolist()]
    return value


_NUMBER_TYPES: dict[np.dtype, h5t.TypeID] = {}


def _attr_value(attr: h5a.AttrID) -> Any:
    """One attribute's value exactly as ``h5py.AttributeManager[name]`` gives it, read directly."""
    shape = attr.shape
    if shape is None:  # empty dataspace
        return h5py.Empty(attr.dtype)
    dtype = attr.dtype
    if dtype.kind in "biuf" and dtype.subdtype is None:  # numbers (most attributes): one memory type each
        htype = _NUMBER_TYPES.get(dtype)
        if htype is None:
            htype = _NUMBER_TYPES[dtype] = h5t.py_create(dtype)
        arr = np.zeros(shape, dtype=dtype, order="C")
        attr.read(arr, mtype=htype)
        return arr[()] if arr.ndim == 0 else arr
    htype = h5t.py_create(dtype)
    if dtype.subdtype is not None:  # top-level array types: numpy has none
        dtype, subshape = dtype.subdtype
        shape = shape + subshape
    arr = np.zeros(shape, dtype=dtype, order="C")
    attr.read(arr, mtype=htype)
    string_info = h5t.check_string_dtype(dtype)
    if string_info and string_info.length is None:  # variable-length strings: bytes to str
        arr = np.array([b.decode("utf-8", "surrogateescape") for b in arr.flat], dtype=dtype).reshape(arr.shape)
    return arr[()] if arr.ndim == 0 else arr


def _attr_name(raw: bytes) -> str | bytes:
    try:
        return raw.decode("utf8")
    except UnicodeDecodeError:
        return raw


def read_attrs(oid: h5o.ObjectID) -> dict[str, Any]:
    """Every attribute of one object as plain Python values (``to_python``), in h5py's order, read
    with the low-level API: the same values as ``attrs.items()`` at a fraction of the cost (1,000 demos
    are listed by reading each demo's attributes)."""
    plist = oid.get_create_plist()
    tracked = plist.get_attr_creation_order() & h5p.CRT_ORDER_TRACKED
    plist.close()
    index = h5.INDEX_CRT_ORDER if tracked else h5.INDEX_NAME
    out: dict[str, Any] = {}
    for i in range(h5a.get_num_attrs(oid)):
        attr = h5a.open(oid, index=i, index_type=index)
        out[_attr_name(attr.name)] = to_python(_attr_value(attr))
    return out


def open_object(parent: h5o.ObjectID, name: str) -> h5o.ObjectID | None:
    """The object at ``name`` below ``parent`` (a path may have slashes); None when there is none or
    its link dangles (as ``Group.get`` says)."""
    try:
        return h5o.open(parent, name.encode("utf8"))
    except KeyError:
        return None


def _member_names(group: h5g.GroupID) -> list[str]:
    return sorted(_attr_name(raw) for raw in group)  # h5py's str names, sorted as iter_datasets does


class ArrayInfo:
    """An open dataset with its shape and dtype read once (each read of ``DatasetID.shape`` asks HDF5)."""

    __slots__ = ("dtype", "id", "ndim", "shape")

    def __init__(self, dataset: h5d.DatasetID) -> None:
        self.id = dataset
        self.shape: tuple[int, ...] = dataset.shape
        self.dtype: np.dtype = dataset.dtype
        self.ndim = len(self.shape) if self.shape is not None else 0


def frame_arrays(demo: h5o.ObjectID, skip: str) -> tuple[dict[str, ArrayInfo], bool]:
    """(per-frame datasets of a demo by relative key, whether it has the member ``skip``, whose tree is
    left out: ``initial_state``), in ``_common.frame_datasets`` order: the walk ``validate`` makes."""
    arrays: dict[str, ArrayInfo] = {}
    has_skipped = False

    def walk(group: h5g.GroupID, prefix: str) -> None:
        nonlocal has_skipped
        for name in _member_names(group):
            item = open_object(group, name) if isinstance(name, str) else None
            if item is None:
                continue
            key = f"{prefix}{name}"
            if key == skip:
                has_skipped = True
                continue
            if isinstance(item, h5d.DatasetID):
                arrays[key] = ArrayInfo(item)
            elif isinstance(item, h5g.GroupID):
                walk(item, key + "/")

    if isinstance(demo, h5g.GroupID):
        walk(demo, "")
    return arrays, has_skipped


def read_rows(dataset: h5d.DatasetID, start: int, stop: int) -> np.ndarray:
    """Rows ``start..stop-1`` (inside the dataset) as ``h5py.Dataset[start:stop]`` gives them; numbers
    are read directly (one hyperslab), anything else through h5py's high-level indexing."""
    shape = dataset.shape
    dtype = dataset.dtype
    if not shape or dtype.kind not in "biuf" or dtype.subdtype is not None:
        return h5py.Dataset(dataset)[start:stop]
    count = (max(stop - start, 0), *shape[1:])
    out = np.empty(count, dtype=dtype)
    if out.size:
        space = dataset.get_space()
        space.select_hyperslab((start,) + (0,) * (len(shape) - 1), count)
        dataset.read(h5s.create_simple(count), space, out)
    return out


def read_all(dataset: h5d.DatasetID) -> np.ndarray:
    """A whole dataset (``dataset[()]`` of a simple dataspace), read directly."""
    values = np.empty(dataset.shape, dtype=dataset.dtype)
    if values.size:
        dataset.read(h5s.ALL, h5s.ALL, values)
    return values
