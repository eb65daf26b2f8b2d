"""The LeIsaac HDF5 part of the repair (``backend/repair.py``): attributes that disagree with the data.

- ``num_samples`` of a demo whose arrays all have one length that differs from it (or that lacks it);
- ``/data.total``: the samples of the finished demos (those with a ``success`` attribute);
- ``/data.fps``: the rate the studio's recorder measured (``extras/t``, one tick time per row) when the
  ticks are regular and the attribute disagrees with them (or is missing).

The copy is the file copied byte for byte, then these attributes (and the provenance record) set in
the copy. Arrays are never rewritten.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from backend.errors import FormatError
from backend.formats.leisaac_hdf5._common import (
    PROVENANCE_ATTR,
    attrs_dict,
    demo_names,
    demo_number,
    frame_datasets,
    open_h5,
    short_error,
)
from backend.model import DatasetFormat
from backend.progress import Progress
from backend.repair import Fix, Plan, provenance

TICKS = "extras/t"  # the studio recorder's tick time of each row (seconds)
REGULAR_SHARE = 0.9  # this share of the tick steps ...
REGULAR_SPREAD = 0.2  # ... lie within this fraction of the median step: the ticks are regular
RATE_AGREEMENT = 0.02  # demos' rates agree this closely; a stored fps this far off is wrong
MIN_TICKS = 3


def _tick_rate(ticks: np.ndarray) -> float | None:
    """Rows per second of regular tick times; None when too few or irregular."""
    t = np.asarray(ticks, dtype=np.float64).reshape(-1)
    if len(t) < MIN_TICKS or not np.all(np.isfinite(t)):
        return None
    steps = np.diff(t)
    step = float(np.median(steps))
    if step <= 0:
        return None
    if np.mean(np.abs(steps - step) <= REGULAR_SPREAD * step) < REGULAR_SHARE:
        return None
    return 1.0 / step


def _nice(rate: float) -> float:
    nearest = round(rate)
    return float(nearest) if nearest > 0 and abs(rate - nearest) <= 0.01 * rate else round(rate, 2)


class Hdf5Plan(Plan):
    def __init__(self, path: Path) -> None:
        self.path = path
        self.fixes: list[Fix] = []
        self.notes: list[str] = []
        self.attrs: dict[str, dict[str, Any]] = {}  # group path -> attributes to set in the copy
        self.demos: list[tuple[str, int]] = []  # (demo name, rows)

    def plan(self, h5: h5py.File, progress: Progress) -> Hdf5Plan:
        data = h5.get("data")
        if not isinstance(data, h5py.Group):
            return self  # not a recording: the doctor says so
        names = demo_names(data)
        finished = 0
        changed: list[str] = []
        rates: dict[str, float | None] = {}
        for number, name in enumerate(names):
            progress.report(number, len(names), f"reading {name}")
            demo = data[name]
            attrs = attrs_dict(demo)
            lengths = {key: int(d.shape[0]) for key, d in frame_datasets(demo) if d.ndim > 0}
            samples = attrs.get("num_samples")
            if len(set(lengths.values())) == 1:
                length = next(iter(lengths.values()))
                if samples is None or int(samples) != length:
                    self.attrs.setdefault(f"/data/{name}", {})["num_samples"] = length
                    changed.append(f"{name} {samples} -> {length}")
                    samples = length
            elif lengths:
                self.notes.append(f"{name}: its arrays have different lengths: num_samples not changed")
            self.demos.append((name, int(samples) if samples is not None else max(lengths.values(), default=0)))
            if "success" in attrs and samples is not None:
                finished += int(samples)
            ticks = demo.get(TICKS)
            if isinstance(ticks, h5py.Dataset) and ticks.ndim == 1:
                rates[name] = _tick_rate(ticks[()])
        progress.report(len(names), len(names), "read")
        if changed:
            self.fixes.append(Fix("num_samples", f"num_samples set to the demos' rows: {', '.join(changed[:6])}"
                                  + (f" ... ({len(changed)} demos)" if len(changed) > 6 else "")))
        data_attrs = attrs_dict(data)
        total = data_attrs.get("total")
        if names and (total is None or int(total) != finished):
            self.attrs.setdefault("/data", {})["total"] = finished
            self.fixes.append(Fix("totals_mismatch", f"/data total {total} -> {finished} (the finished demos' samples)"))
        self._fps(data_attrs, rates)
        return self

    def _fps(self, data_attrs: dict[str, Any], rates: dict[str, float | None]) -> None:
        measured = [r for r in rates.values() if r is not None]
        if not measured or len(measured) != len(rates):
            if measured:
                self.notes.append("the tick times of some demos are irregular: fps not changed")
            return
        low, high = min(measured), max(measured)
        if high - low > RATE_AGREEMENT * high:
            self.notes.append(f"the demos' tick rates differ ({low:.2f} .. {high:.2f} per second): fps not changed")
            return
        rate = _nice(float(np.median(measured)))
        stored = data_attrs.get("fps")
        if stored is not None and abs(float(stored) - rate) <= RATE_AGREEMENT * rate:
            return
        self.attrs.setdefault("/data", {})["fps"] = rate
        said = "had no fps" if stored is None else f"said {float(stored):g} fps"
        self.fixes.append(Fix(
            "fps_mismatch", f"/data {said}, the recorder's tick times ({TICKS}) of all {len(measured)} demos step "
            f"at {rate:g} per second: set to {rate:g}",
        ))

    def write(self, target: Path, final: Path, progress: Progress) -> None:
        progress.report(0, 2, f"copying {self.path.name}")
        shutil.copyfile(self.path, target)
        progress.report(1, 2, "setting attributes")
        record = provenance(self.path, final, DatasetFormat.LEISAAC_HDF5, self.fixes)
        from backend.provenance import add_episode, dumps

        for name, rows in self.demos:  # demos keep their names: demo_N of the copy is demo_N of the source
            number = demo_number(name) or 0
            add_episode(record, number, 0, number, name, 0, rows)
        with h5py.File(target, "r+") as h5:
            for where, values in self.attrs.items():
                for name, value in values.items():
                    h5[where].attrs[name] = value
            h5["data"].attrs[PROVENANCE_ATTR] = dumps(record)
        progress.report(2, 2, "written")


def plan_hdf5(path: Path, progress: Progress) -> Hdf5Plan:
    """Read a LeIsaac HDF5 and decide its fixes (raises ``FormatError`` when it cannot be opened)."""
    h5 = open_h5(path)
    try:
        return Hdf5Plan(path).plan(h5, progress)
    except OSError as error:
        raise FormatError(f"cannot read the HDF5 file ({short_error(error)})", path, "the file is corrupt") from None
    finally:
        h5.close()

