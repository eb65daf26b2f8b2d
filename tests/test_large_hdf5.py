"""A LeIsaac HDF5 lists, inspects and validates (format checks and the doctor) the same after the one-pass low-level reading (#17).

The reader, ``inspect`` and ``validate`` read demo attributes and array shapes with h5py's low-level
API (one pass, no per-object high-level wrappers). Every quirky small recording below gives exactly
what the revision before that change gave: ``large_hdf5_golden.json`` holds those figures (made with
``python tests/test_large_hdf5.py --write-golden`` on that revision: demo order by number, a missing
success attribute, a killed recorder's file, legacy attributes, broken arrays, bi-arm and keyboard
recordings). Timings are in ``benchmarks/large_dataset.py --hdf5``, never here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

if __name__ == "__main__":  # --write-golden: run from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.doctor import DoctorOptions, diagnose
from backend.doctor_quick import quick_diagnose
from backend.errors import StudioError
from backend.formats import leisaac_hdf5 as hdf5
from backend.formats.leisaac_hdf5.live import Column, LiveFile
from backend.formats.leisaac_hdf5.validate import image_chunk_rows
from backend.inspect import inspect_path
from backend.jsonable import to_jsonable
from tests.recordings import DemoSpec, RecordingSpec, write_recording

GOLDEN = Path(__file__).with_name("large_hdf5_golden.json")
SMALL = {"width": 8, "height": 6, "chunk": 4}


def _spec(lengths: list[int | tuple[int, bool | None]], **kwargs: Any) -> RecordingSpec:
    demos = [DemoSpec(n) if isinstance(n, int) else DemoSpec(n[0], n[1]) for n in lengths]
    return RecordingSpec(demos, **{**SMALL, **kwargs})


def _mixed(path: Path) -> None:
    write_recording(path, _spec([5, (4, False), (6, None)]))


def _renamed(path: Path) -> None:
    """demo_0, demo_2, demo_10 (h5py lists demo_10 first), a non-demo group, legacy attributes."""
    write_recording(path, _spec([3, 4, (2, None)], cameras=("front",)))
    with h5py.File(path, "a") as f:
        data = f["data"]
        data.move("demo_2", "demo_10")
        data.move("demo_1", "demo_2")
        data.create_group("mask")
        del data.attrs["env_args"]
        data["demo_0"].attrs["rs_task"] = "legacy task"
        data["demo_0"].attrs["rs_rate_hz"] = 15.0
        data["demo_2"].attrs["task"] = np.bytes_(b"bytes task")
        data["demo_2"].attrs["tags"] = ["a", "b"]
        data["demo_2"].attrs["window"] = np.arange(3, dtype=np.int16)
        data["demo_2"].attrs["note"] = "vlen \u00e9t\u00e9"
        data["demo_2"].attrs["big"] = np.uint64(2**63 + 1)
        data["demo_2"].attrs["half"] = np.float16(0.5)
        del data["demo_10"].attrs["seed"]
        del data["demo_10/initial_state"]


def _bi_arm(path: Path) -> None:
    write_recording(path, _spec([3, 2], bi_arm=True, cameras=("left", "right")))


def _keyboard(path: Path) -> None:
    write_recording(path, _spec([3, 3], action_width=8, extra_attrs={"fps": 50.0}))


def _broken(path: Path) -> None:
    write_recording(path, _spec([5, 5, 5, 4], extra_attrs={"total": 7}))
    with h5py.File(path, "a") as f:
        data = f["data"]
        del data.attrs["env_args"]
        data["demo_0/obs/joint_pos"][2, 1] = np.nan
        data["demo_0/obs/joint_vel"][4, 0] = np.inf
        data["demo_1/processed_actions"].resize((3, 6))
        data["demo_1"].attrs["num_samples"] = 9
        del data["demo_2/actions"]
        data["demo_2/obs"].create_dataset("depth", data=np.zeros((5, 6, 8, 1), np.float32))
        data["demo_2/obs"].create_dataset("gray", data=np.zeros((5, 6, 8), np.uint8))
        data["demo_2/obs"]["gone"] = h5py.SoftLink("/nowhere")
        data["demo_2/obs"].create_dataset("stamp", data=np.arange(5, dtype=">f8"))
        data["demo_3"].attrs["success"] = np.int8(1)
        data["demo_3/states/articulation/robot/joint_position"][1] = np.nan
        del data["demo_3"].attrs["num_samples"]


def _bad_env_args(path: Path) -> None:
    write_recording(path, _spec([2]))
    with h5py.File(path, "a") as f:
        f["data"].attrs["env_args"] = "not json"


def _killed(path: Path) -> None:
    """A recorder killed mid-demo: demo_1 never ended (no success, arrays of different lengths)."""
    h, w = 6, 8
    live = LiveFile(path, env_name="LeIsaac-SO101-PickOrange-v0", fps=60.0, provenance={"tool": "test"})
    live.open()

    def rows(start: int, k: int) -> dict:
        values = np.arange(start, start + k, dtype=np.float32)[:, None] + np.arange(6, dtype=np.float32) / 10
        frames = [np.full((h, w, 3), i * 10, np.uint8) for i in range(start, start + k)]

        class Shot:
            def __init__(self, image: np.ndarray, seq: int) -> None:
                self.image, self.seq, self.capture_time = image, seq, 1.0 + seq / 30

        return {
            "actions": values + 100, "joint_pos": values, "joint_vel": values / 2,
            "ee_frame_state": np.repeat(values[:, :1], 7, axis=1), "extras": {"t": np.arange(start, start + k) / 60},
            "frames": {"front": [Shot(f, start + i) for i, f in enumerate(frames)]},
        }

    for task, end in (("pick", True), ("", None)):
        demo = live.begin_demo(
            seed=5, task=task, started_wall=1_700_000_000.0, joint_units="rad", recorded_by="test",
            cameras={"front": (h, w)}, extras={"t": Column(0, "float64")}, extras_attrs={"lerobot_units": "range"},
            ee_source="test values",
        )
        demo.append(**rows(0, 3 if end else 5))
        if end:
            demo.end(False, "failed")
    live.flush()
    live.h5.close()  # a kill: the demo never ended


def _empty(path: Path) -> None:
    with h5py.File(path, "w") as f:
        f.create_group("data").attrs["env_args"] = json.dumps({"env_name": "E", "type": 2})


def _no_data(path: Path) -> None:
    with h5py.File(path, "w") as f:
        f.create_group("other")


CASES = {
    "mixed": _mixed, "renamed": _renamed, "bi_arm": _bi_arm, "keyboard": _keyboard, "broken": _broken,
    "bad_env_args": _bad_env_args, "killed": _killed, "empty": _empty, "no_data": _no_data,
}


def _plain(value: Any, root: Path) -> Any:
    """JSON-comparable: numpy to lists, the temporary folder to ``ROOT``."""
    text = json.dumps(to_jsonable(value), sort_keys=False, default=repr)
    return json.loads(text.replace(str(root), "ROOT"))


ROW_KEYS = ("actions", "obs/joint_pos")


def _rows(episode: Any, key: str) -> Any:
    try:
        return episode.array(key)[:2].tolist()
    except StudioError as error:
        return str(error)


def _opened(path: Path) -> dict[str, Any]:
    try:
        dataset = hdf5.open(path)
    except StudioError as error:
        return {"error": str(error)}
    with dataset:
        return {
            "fps": dataset.fps,
            "robot_type": dataset.robot_type,
            "roles": dataset.roles,
            "cameras": dataset.cameras,
            "tasks": dataset.tasks,
            "info": {k: v for k, v in dataset.info.items()},
            "features": {
                k: [f.kind.value, f.dtype, list(f.shape), f.names, f.space.unit.value if f.space else None]
                for k, f in dataset.features.items()
            },
            "episodes": [
                [e.index, e.length, e.task, e.success, e.source, e.extra] for e in dataset.episodes
            ],
            "first_rows": {k: _rows(dataset.episodes[-1], k) for k in dataset.features if k in ROW_KEYS},
        }


def snapshot(path: Path) -> dict[str, Any]:
    """What open, inspect, validate and validate --quick say about ``path``."""
    out: dict[str, Any] = {"open": _opened(path)}
    try:
        out["inspect"] = inspect_path(path)
    except StudioError as error:
        out["inspect"] = {"error": str(error)}
    out["validate"] = [vars(p) for p in hdf5.validate(path)]
    try:
        quick = quick_diagnose(path)
    except StudioError as error:
        out["quick"] = {"error": str(error)}
    else:
        out["quick"] = {
            "readable": quick.readable, "episodes": quick.episodes, "frames": quick.frames,
            "findings": [vars(p) for p in quick.findings],
        }
    try:
        report = diagnose(path, DoctorOptions())
    except StudioError as error:
        out["doctor"] = {"error": str(error)}
    else:
        out["doctor"] = {"readable": report.readable, "findings": [vars(p) for p in report.findings]}
    out["chunk_rows"] = image_chunk_rows(path)
    return _plain(out, path.parent)


def _all(folder: Path) -> dict[str, Any]:
    result = {}
    for name, make in CASES.items():
        path = folder / f"{name}.hdf5"
        make(path)
        result[name] = snapshot(path)
    return result


def test_every_quirk_reads_as_before(tmp_path: Path) -> None:
    golden = json.loads(GOLDEN.read_text())
    now = _all(tmp_path)
    assert set(now) == set(golden)
    for name in golden:
        for part in golden[name]:
            assert now[name][part] == golden[name][part], f"{name}: {part} differs"


def test_demo_values_and_order(tmp_path: Path) -> None:
    path = tmp_path / "r.hdf5"
    _renamed(path)
    with hdf5.open(path) as dataset:
        assert [e.extra["demo"] for e in dataset.episodes] == ["demo_0", "demo_2", "demo_10"]
        assert [e.length for e in dataset.episodes] == [3, 4, 2]
        assert [e.success for e in dataset.episodes] == [True, True, None]
        assert [e.task for e in dataset.episodes] == ["legacy task", "bytes task", None]
        assert dataset.fps == 15.0 and dataset.info["other_groups"] == ["mask"]
        attrs = dataset.episodes[1].extra["attrs"]
        assert attrs["tags"] == ["a", "b"] and attrs["note"] == "vlen \u00e9t\u00e9"
        assert attrs["big"] == 2**63 + 1 and type(attrs["big"]) is int and attrs["half"] == 0.5
        assert attrs["window"].tolist() == [0, 1, 2] and attrs["window"].dtype == np.int16
        assert dataset.episodes[2].extra["interrupted"] and "seed" not in dataset.episodes[2].extra["attrs"]


def test_validate_findings_name_each_broken_demo(tmp_path: Path) -> None:
    path = tmp_path / "b.hdf5"
    _broken(path)
    found = {(p.code, p.episode) for p in hdf5.validate(path)}
    assert {("non_finite", "demo_0"), ("length_mismatch", "demo_1"), ("num_samples", "demo_1"),
            ("missing_column", "demo_2"), ("image_layout", "demo_2"), ("num_samples", "demo_3"),
            ("non_finite", "demo_3"), ("env_args", None), ("totals_mismatch", None)} <= found
    frames = {p.problem: p.frames for p in hdf5.validate(path) if p.code == "non_finite"}
    assert any(f == (2,) for f in frames.values()) and any(f == (4,) for f in frames.values())


if __name__ == "__main__" and "--write-golden" in sys.argv:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        GOLDEN.write_text(json.dumps(_all(Path(folder)), indent=1) + "\n")
    print(f"wrote {GOLDEN}")
elif __name__ == "__main__":
    pytest.main([__file__, "-q"])
