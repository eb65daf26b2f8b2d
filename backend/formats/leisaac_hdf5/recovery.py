"""After a crash: find, close or drop the demos a recording left ``recording`` (see ``live``), and
check that a recording reads back whole."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import h5py

from backend.errors import FormatError
from backend.formats.leisaac_hdf5.live import (
    END_REASON_ATTR,
    INTERRUPTED,
    RECORDING,
    STATUS_ATTR,
    unfinished_demos,
)

__all__ = ["RecoveredDemo", "check_readable", "find_unfinished", "recover", "unfinished_demos"]


@dataclass
class RecoveredDemo:
    name: str
    action: str  # "closed" | "dropped"
    length: int


def _datasets(group: h5py.Group) -> list[h5py.Dataset]:
    out: list[h5py.Dataset] = []
    group.visititems(lambda _, obj: out.append(obj) if isinstance(obj, h5py.Dataset) else None)
    return out


def find_unfinished(path: str | Path) -> list[str]:
    """Names of demos left ``recording`` by a crash (empty if the file cannot be opened)."""
    try:
        with h5py.File(path, "r") as f:
            return unfinished_demos(f)
    except OSError:
        return []


def recover(path: str | Path, mode: str = "keep") -> list[RecoveredDemo]:
    """Close crashed demos as interrupted (no ``success``; not counted in ``total``, as LeIsaac
    leaves a Ctrl+C'd demo) with every dataset trimmed to the rows all of them have, or drop them."""
    if mode not in ("keep", "drop"):
        raise ValueError("mode is 'keep' or 'drop'")
    out = []
    for attempt in range(20):  # another reader may hold HDF5's file lock for a moment
        try:
            f = h5py.File(path, "a")
            break
        except OSError as error:
            locked = "lock" in str(error).lower()
            if locked and attempt < 19:
                time.sleep(0.1)
                continue
            hint = "close it in other programs first" if locked else "it may be damaged beyond recovery"
            raise FormatError(f"the HDF5 cannot be opened ({error})", path, hint) from error
    with f:
        for name in unfinished_demos(f):
            demo = f["data"][name]
            if mode == "drop":
                del f["data"][name]
                out.append(RecoveredDemo(name, "dropped", 0))
                continue
            per_step = [d for d in _datasets(demo) if "/initial_state/" not in d.name]
            length = min((d.shape[0] for d in per_step), default=0)
            for dset in per_step:
                if dset.shape[0] != length:
                    dset.resize(length, axis=0)
            demo.attrs["num_samples"] = length
            demo.attrs[STATUS_ATTR] = INTERRUPTED
            demo.attrs[END_REASON_ATTR] = "recovered after a crash"
            if "success" in demo.attrs:
                del demo.attrs["success"]
            out.append(RecoveredDemo(name, "closed", length))
        f.flush()
    return out


def check_readable(path: str | Path) -> dict:
    """Open the file and read every finished demo fully: what the crash benchmark counts."""
    report = {"readable": False, "demos": 0, "finished": 0, "unfinished": 0, "error": ""}
    try:
        with h5py.File(path, "r") as f:
            data = f["data"]
            report["total"] = int(data.attrs.get("total", 0))
            for name in data:
                demo = data[name]
                report["demos"] += 1
                if demo.attrs.get(STATUS_ATTR) == RECORDING:
                    report["unfinished"] += 1
                    continue
                n = int(demo.attrs["num_samples"])
                for dset in _datasets(demo):
                    values = dset[()]
                    if "/initial_state/" not in dset.name and values.shape[0] != n:
                        raise FormatError(f"{dset.name}: {values.shape[0]} rows, num_samples {n}")
                report["finished"] += 1
            report["readable"] = True
    except Exception as error:  # noqa: BLE001 - anything here means "unreadable"
        report["error"] = f"{type(error).__name__}: {error}"
    return report
