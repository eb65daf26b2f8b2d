"""Surgery operations on tiny synthetic datasets: values round-trip exactly, inputs stay untouched."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from backend.errors import StudioError
from backend.formats import open_dataset
from backend.model import DatasetFormat
from backend.surgery import (
    execute,
    mismatches,
    parse_episodes,
    plan_delete,
    plan_keep,
    plan_merge,
    plan_recompute_stats,
    plan_reencode,
    plan_remove_feature,
    plan_rename_feature,
    plan_retask,
    plan_split,
    plan_trim,
)
from backend.surgery.common import open_all
from tests.browse_data import write_hdf5
from tests.surgery_data import write_lerobot

V21, V30 = DatasetFormat.LEROBOT_V21, DatasetFormat.LEROBOT_V30


def fingerprint(root: Path) -> dict[str, str]:
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("surgery")
    paths = {
        "a": write_lerobot(root / "a", V30, (16, 12, 14), seed=0),
        "b": write_lerobot(root / "b", V30, (12, 10), ("pick", "stack"), seed=1),
        "c": write_lerobot(root / "c", V21, (10, 11), ("stack", "pick"), seed=2),
        "slow": write_lerobot(root / "slow", V30, (6,), ("pick",), seed=3, fps=15, cameras=("front",)),
        "h1": write_hdf5(root / "h1.hdf5", lengths=(20, 24)),
        "h2": write_hdf5(root / "h2.hdf5", lengths=(22,), tasks=("Stack the cube",)),
    }
    paths["out"] = root / "out"
    paths["out"].mkdir()
    return paths


def episodes_of(path: Path) -> list[dict]:
    """Every episode's values (all vector columns), task and two decoded frames per camera."""
    out = []
    with open_dataset(path) as ds:
        vectors = [
            k
            for k, f in ds.features.items()
            if f.kind.value in ("vector", "scalar") and k in ds.roles.values()
        ]
        for e in ds.episodes:
            row = {"task": e.task, "length": e.length, **{k: np.asarray(e.array(k)) for k in vectors}}
            for camera in ds.cameras:
                stream = e.stream(camera)
                row[camera] = [stream.frame(0), stream.frame(e.length - 1)]
                stream.close()
            out.append(row)
    return out


def same(a: dict, b: dict, offset: int = 0) -> None:
    assert a["task"] == b["task"]
    for key, value in a.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(value, b[key][offset : offset + len(value)], err_msg=key)
        elif isinstance(value, list):
            for x, y in zip(value, b[key], strict=True):
                np.testing.assert_array_equal(x, y, err_msg=key)


def test_merge_lerobot_joins_files_and_keeps_every_episode(data: dict[str, Path]) -> None:
    before = fingerprint(data["a"]) | fingerprint(data["b"])
    datasets = open_all([data["a"], data["b"]])
    plan = plan_merge(datasets, data["out"] / "m")
    assert plan.method == "join" and plan.outputs[0].episodes == 5 and plan.outputs[0].frames == 64
    assert plan.outputs[0].bytes > 0
    summary = execute(plan, datasets=datasets)
    for d in datasets:
        d.close()
    assert summary.outputs[0]["episodes"] == 5 and summary.validation[str(data["out"] / "m")] == []
    merged = episodes_of(data["out"] / "m")
    sources = episodes_of(data["a"]) + episodes_of(data["b"])
    for got, want in zip(merged, sources, strict=True):
        same(want, got)
    record = json.loads((data["out"] / "m" / "meta" / "rollout_studio_provenance.json").read_text())
    assert [(e["input"], e["source_episode"]) for e in record["episodes"]] == [
        (0, 0),
        (0, 1),
        (0, 2),
        (1, 0),
        (1, 1),
    ]
    with open_dataset(data["out"] / "m") as ds:
        assert sorted(ds.tasks) == ["pick", "place", "stack"]
    assert fingerprint(data["a"]) | fingerprint(data["b"]) == before


def test_merge_mixed_versions_rewrites_with_packets_copied(data: dict[str, Path]) -> None:
    datasets = open_all([data["a"], data["c"]])
    plan = plan_merge(datasets, data["out"] / "mixed")
    assert plan.method == "rewrite" and plan.format == "lerobot_v3.0"
    summary = execute(plan, datasets=datasets)
    for d in datasets:
        d.close()
    assert summary.outputs[0]["videos_encoded"] == 0 and summary.outputs[0]["videos_copied"] == 10
    for got, want in zip(
        episodes_of(data["out"] / "mixed"), episodes_of(data["a"]) + episodes_of(data["c"]), strict=True
    ):
        same(want, got)


def test_merge_hdf5_renumbers_demos_and_keeps_attributes(data: dict[str, Path]) -> None:
    out = data["out"] / "merged.hdf5"
    datasets = open_all([data["h1"], data["h2"]])
    execute(plan_merge(datasets, out), datasets=datasets)
    for d in datasets:
        d.close()
    merged = episodes_of(out)
    assert [e["length"] for e in merged] == [20, 24, 22]
    for got, want in zip(merged, episodes_of(data["h1"]) + episodes_of(data["h2"]), strict=True):
        same(want, got)
    import h5py

    with h5py.File(out) as handle:
        assert sorted(handle["data"]) == ["demo_0", "demo_1", "demo_2"]
        assert handle["data/demo_2"].attrs["task"] == "Stack the cube"


def test_merge_refuses_incompatible_datasets_naming_the_file(data: dict[str, Path]) -> None:
    datasets = open_all([data["a"], data["slow"]])
    found = {m.what for m in mismatches(datasets)}
    assert {"fps", "cameras"} <= found
    with pytest.raises(StudioError, match="15 fps") as error:
        plan_merge(datasets, data["out"] / "never")
    assert error.value.path == str(data["slow"])
    hdf = open_all([data["h1"]])
    with pytest.raises(StudioError, match="convert one of them first"):
        plan_merge([datasets[0], hdf[0]], data["out"] / "never")
    for d in datasets + hdf:
        d.close()
    assert not (data["out"] / "never").exists()


def test_split_halves_merge_back_to_the_original(data: dict[str, Path]) -> None:
    with open_dataset(data["a"]) as ds:
        plan = plan_split(ds, [data["out"] / "s1", data["out"] / "s2"], episodes=parse_episodes("0", ds))
        execute(plan, datasets=[ds])
        random = plan_split(ds, [data["out"] / "x", data["out"] / "y"], fraction=0.5, seed=3)
    assert [len(o.pieces) for o in random.outputs] == [2, 1]  # a plan only, nothing written
    assert not (data["out"] / "x").exists()
    datasets = open_all([data["out"] / "s1", data["out"] / "s2"])
    execute(plan_merge(datasets, data["out"] / "back"), datasets=datasets)
    for d in datasets:
        d.close()
    for got, want in zip(episodes_of(data["out"] / "back"), episodes_of(data["a"]), strict=True):
        same(want, got)
    a = json.loads((data["a"] / "meta" / "stats.json").read_text())
    back = json.loads((data["out"] / "back" / "meta" / "stats.json").read_text())
    for key in ("action", "observation.state"):
        for stat in ("min", "max", "mean", "std"):
            np.testing.assert_allclose(back[key][stat], a[key][stat], rtol=1e-6, atol=1e-6)


def test_delete_keep_trim_retask(data: dict[str, Path]) -> None:
    source = episodes_of(data["a"])
    with open_dataset(data["a"]) as ds:
        execute(plan_delete(ds, [1], data["out"] / "d"), datasets=[ds])
        execute(plan_keep(ds, [2, 0], data["out"] / "k"), datasets=[ds])
        trim = execute(plan_trim(ds, {0: (2, 14), 2: (5, 11)}, data["out"] / "t"), datasets=[ds])
        execute(plan_retask(ds, r"grab \1", data["out"] / "r", pattern="^(pick)$"), datasets=[ds])
        with pytest.raises(StudioError, match="leaves nothing"):
            plan_delete(ds, [0, 1, 2], data["out"] / "none")
        with pytest.raises(StudioError, match="has no episode 7"):
            parse_episodes("1,7", ds)
    for name in ("d", "k"):
        got = episodes_of(data["out"] / name)
        for g, w in zip(got, [source[0], source[2]], strict=True):
            same(w, g)
    trimmed = episodes_of(data["out"] / "t")
    assert [e["length"] for e in trimmed] == [12, 12, 6]
    np.testing.assert_array_equal(trimmed[0]["action"], source[0]["action"][2:14])
    np.testing.assert_array_equal(trimmed[2]["observation.state"], source[2]["observation.state"][5:11])
    # windows from a keyframe (GOP 2: even frames) copy packets; a window from frame 5 re-encodes frame 5 only
    out = trim.outputs[0]
    assert out["videos_copied"] == 4 and out["videos_encoded"] == 0
    assert out["videos_spliced"] == 2 and out["frames_reencoded"] == 2
    with open_dataset(data["a"]) as ds:
        frame = ds.episode(0).stream("front").frame(2)
    with open_dataset(data["out"] / "t") as ds:
        np.testing.assert_array_equal(ds.episode(0).stream("front").frame(0), frame)
    assert [e["task"] for e in episodes_of(data["out"] / "r")] == ["grab pick", "place", "grab pick"]


def test_features_stats_and_reencode(data: dict[str, Path]) -> None:
    with open_dataset(data["a"]) as ds:
        execute(plan_rename_feature(ds, "wrist", "hand", data["out"] / "rn"), datasets=[ds])
        execute(plan_remove_feature(ds, ["observation.state", "front"], data["out"] / "rm"), datasets=[ds])
        execute(plan_recompute_stats(ds, data["out"] / "rs"), datasets=[ds])
        execute(plan_reencode(ds, "h264", data["out"] / "re", crf=40), datasets=[ds])
        with pytest.raises(StudioError, match="no column or camera 'nope'"):
            plan_rename_feature(ds, "nope", "x", data["out"] / "never")
    info = json.loads((data["out"] / "rn" / "meta" / "info.json").read_text())
    assert (
        "observation.images.hand" in info["features"] and "observation.images.wrist" not in info["features"]
    )
    removed = json.loads((data["out"] / "rm" / "meta" / "info.json").read_text())["features"]
    assert "observation.state" not in removed and "observation.images.front" not in removed
    assert "observation.images.wrist" in removed
    a = json.loads((data["a"] / "meta" / "stats.json").read_text())
    rs = json.loads((data["out"] / "rs" / "meta" / "stats.json").read_text())
    np.testing.assert_allclose(rs["action"]["mean"], a["action"]["mean"], rtol=1e-9)
    reencoded = json.loads((data["out"] / "re" / "meta" / "info.json").read_text())["features"]
    assert reencoded["observation.images.front"]["info"]["video.codec"] == "h264"
    assert reencoded["observation.images.front"]["info"].get("video.crf") == 40


def test_outputs_are_refused_inside_inputs_and_inputs_never_change(data: dict[str, Path]) -> None:
    before = fingerprint(data["a"])
    with open_dataset(data["a"]) as ds:
        for target in (data["a"], data["a"] / "inner", data["a"].parent):
            with pytest.raises(StudioError):
                execute(plan_delete(ds, [0], target), datasets=[ds])
    assert fingerprint(data["a"]) == before


def test_hdf5_trim_and_rename_camera(data: dict[str, Path]) -> None:
    source = episodes_of(data["h1"])
    with open_dataset(data["h1"]) as ds:
        execute(plan_trim(ds, {1: (4, 14)}, data["out"] / "t.hdf5"), datasets=[ds])
        execute(plan_rename_feature(ds, "wrist", "hand", data["out"] / "rn.hdf5"), datasets=[ds])
    trimmed = episodes_of(data["out"] / "t.hdf5")
    assert [e["length"] for e in trimmed] == [20, 10]
    np.testing.assert_array_equal(trimmed[1]["actions"], source[1]["actions"][4:14])
    with open_dataset(data["h1"]) as ds:
        wrist = ds.episode(1).stream("wrist").frame(7)
    with open_dataset(data["out"] / "t.hdf5") as ds:
        np.testing.assert_array_equal(ds.episode(1).stream("wrist").frame(3), wrist)
    with open_dataset(data["out"] / "rn.hdf5") as ds:
        assert sorted(ds.cameras) == ["front", "hand"]
        np.testing.assert_array_equal(ds.episode(1).stream("hand").frame(7), wrist)


def test_images_to_video(data: dict[str, Path]) -> None:
    """A LeRobot camera stored as PNG images in the parquet becomes video; values stay as they were."""
    import shutil

    import cv2
    import pyarrow as pa
    import pyarrow.parquet as pq

    from backend.surgery import plan_images_to_video

    root = write_lerobot(data["out"] / "img", V21, (6,), ("pick",), cameras=("front",))
    info = json.loads((root / "meta/info.json").read_text())
    del info["features"]["observation.images.front"]
    info["video_path"] = None
    info["features"]["observation.images.top"] = {
        "dtype": "image",
        "shape": [48, 64, 3],
        "names": ["height", "width", "channels"],
    }
    (root / "meta/info.json").write_text(json.dumps(info))
    shutil.rmtree(root / "videos")
    frames = [np.full((48, 64, 3), 40 * t, np.uint8) for t in range(6)]
    cells = [{"bytes": cv2.imencode(".png", f)[1].tobytes(), "path": None} for f in frames]
    path = root / "data/chunk-000/episode_000000.parquet"
    pq.write_table(pq.read_table(path).append_column("observation.images.top", pa.array(cells)), path)
    with open_dataset(root) as ds:
        plan = plan_images_to_video(ds, data["out"] / "img-video", crf=0)
        assert plan.video == {"top": "images encoded as video (h264)"}
        execute(plan, datasets=[ds])
        with open_dataset(data["a"]) as video, pytest.raises(StudioError, match="video already"):
            plan_images_to_video(video, data["out"] / "never")
        action = np.asarray(ds.episode(0).array("action"))
    with open_dataset(data["out"] / "img-video") as ds:
        assert ds.features["observation.images.top"].kind.value == "video"
        stream = ds.episode(0).stream("top")
        assert all(np.abs(stream.frame(t).astype(int) - frames[t]).max() <= 3 for t in range(6))
        stream.close()
        np.testing.assert_array_equal(ds.episode(0).array("action"), action)
