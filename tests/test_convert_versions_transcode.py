"""LeRobot v2 <-> v3 on the real datasets (frames bit-identical, parquet values kept), v3 -> v2.1 for
GR00T (modality.json, H.264), and H.264 transcoding into a new folder or in place."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pyarrow.parquet as pq
import pytest

from backend import provenance as prov
from backend.convert import hdf5_to_lerobot as h2l
from backend.convert import lerobot_versions as lv
from backend.convert import transcode as tc
from backend.errors import StudioError
from backend.formats import open_dataset, validate_path
from backend.media import probe
from tests.recordings import DemoSpec, RecordingSpec, write_recording


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def _packets(path: Path) -> tuple[bytes, list[tuple[int, bytes]]]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        extradata = bytes(stream.codec_context.extradata or b"")
        return extradata, [(p.pts, bytes(p)) for p in container.demux(stream) if p.size]


def _errors(path: Path) -> list[str]:
    return [p.line() for p in validate_path(path) if p.severity == "error"]


def test_real_v20_dataset_goes_v3_and_back_unchanged(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "gr00t_dreams_robot_sim.PickNPlace"
    v3, v2 = tmp_path / "v3", tmp_path / "v2"
    plan = lv.plan(src, lv.LerobotVersionOptions(out=v3, target="v3.0", codec="keep"))
    assert plan.ok and plan.details["reencode_codec"] is None
    assert any("egoview" in w for w in plan.warnings)  # the phantom camera without files
    lv.run(src, lv.LerobotVersionOptions(out=v3, target="v3.0", codec="keep"))
    assert _errors(v3) == []
    summary = lv.run(
        v3, lv.LerobotVersionOptions(out=v2, target="v2.1", codec="h264")
    )  # already H.264: copied
    assert summary.details["modality"] == "copied from the source"
    assert _errors(v2) == []
    assert json.loads((v2 / "meta/modality.json").read_text()) == json.loads(
        (src / "meta/modality.json").read_text()
    )
    for e in range(5):
        a = pq.read_table(src / f"data/chunk-000/episode_{e:06d}.parquet")
        b = pq.read_table(v2 / f"data/chunk-000/episode_{e:06d}.parquet")
        assert a.num_rows == b.num_rows
        for column in a.column_names:
            if column == "timestamp":
                # the source's timestamps are (i + 1) / 20 while its video frames are at i / 20; the
                # writer writes frame_index / fps, which is what LeRobot's 1e-4 s check expects
                np.testing.assert_allclose(
                    b.column(column).to_numpy(), np.arange(a.num_rows) / 20.0, atol=1e-6
                )
                continue
            assert a.column(column).to_pylist() == b.column(column).to_pylist(), column
        video = f"videos/chunk-000/observation.images.ego_view/episode_{e:06d}.mp4"
        assert _packets(src / video) == _packets(v2 / video)  # same bytes, same codec headers
        if e == 4:  # and, decoded, the same pixels
            for x, y in zip(_frames(src / video), _frames(v2 / video), strict=True):
                assert np.array_equal(x, y)
        assert probe(v2 / video).num_frames == a.num_rows
        np.testing.assert_allclose(probe(v2 / video).frame_times, probe(src / video).frame_times, atol=1e-9)
    record = prov.read_provenance(v2)
    assert record["conversion"] == "lerobot_v3_to_v2"
    assert record["inputs"][0]["provenance"]["conversion"] == "lerobot_v2_to_v3"
    assert prov.trace(record, 3)["source_path"] == str(src.absolute())


def test_real_v30_dataset_to_v21_for_groot(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "lerobot061_so101_v30_h264"
    out = tmp_path / "groot"
    plan = lv.plan(src, lv.LerobotVersionOptions(out=out))
    assert plan.ok and plan.details["modality"] == "made for SO-101"
    assert "meta/modality.json" in plan.tree and "meta/episodes.jsonl" in plan.tree
    lv.run(src, lv.LerobotVersionOptions(out=out))
    assert _errors(out) == []
    modality = json.loads((out / "meta/modality.json").read_text())
    assert modality["state"] == {"single_arm": {"start": 0, "end": 5}, "gripper": {"start": 5, "end": 6}}
    assert modality["video"]["front"] == {"original_key": "observation.images.front"}
    episodes = [json.loads(line) for line in (out / "meta/episodes.jsonl").read_text().splitlines()]
    assert [e["length"] for e in episodes] == [60, 60]
    tasks = [json.loads(line)["task"] for line in (out / "meta/tasks.jsonl").read_text().splitlines()]
    assert sorted(tasks) == sorted(["Pick up the orange and place it on the plate.", "Lift the red cube up."])
    with open_dataset(src) as a, open_dataset(out) as b:
        for e in range(2):
            np.testing.assert_array_equal(a.episode(e).array("action"), b.episode(e).array("action"))
            sa, sb = a.episode(e).stream("wrist"), b.episode(e).stream("wrist")
            try:
                for t in (0, 31, 59):  # cut frame-exactly at the episode's from_timestamp
                    assert np.array_equal(sa.frame(t), sb.frame(t))
            finally:
                sa.close()
                sb.close()


@pytest.fixture(scope="module")
def av1_datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("av1")
    src = write_recording(folder / "r.hdf5", RecordingSpec([DemoSpec(30), DemoSpec(27)], width=64, height=64))
    out = {}
    for fmt in ("v2.1", "v3.0"):
        out[fmt] = folder / f"av1_{fmt}"
        h2l.run([src], h2l.Hdf5ToLerobotOptions(out=out[fmt], task="t", codec="av1", format=fmt, gop=10))
    return out


def test_v3_av1_to_v21_reencodes_to_h264(av1_datasets, tmp_path: Path) -> None:
    out = tmp_path / "v21"
    plan = lv.plan(av1_datasets["v3.0"], lv.LerobotVersionOptions(out=out))
    assert plan.details["reencode_codec"] == "h264"
    lv.run(av1_datasets["v3.0"], lv.LerobotVersionOptions(out=out))
    assert _errors(out) == []
    info = json.loads((out / "meta/info.json").read_text())
    assert info["codebase_version"] == "v2.1"
    assert info["features"]["observation.images.front"]["info"]["video.codec"] == "h264"
    for e, length in ((0, 25), (1, 22)):
        video = out / f"videos/chunk-000/observation.images.front/episode_{e:06d}.mp4"
        assert probe(video).codec == "h264" and probe(video).num_frames == length


@pytest.mark.parametrize("fmt", ["v2.1", "v3.0"])
def test_transcode_to_new_folder_never_in_place(av1_datasets, fmt: str, tmp_path: Path) -> None:
    import shutil

    src = tmp_path / "src"
    shutil.copytree(av1_datasets[fmt], src)
    before = {p.relative_to(src): probe(p) for p in src.rglob("*.mp4")}
    checksum = prov.hash_input(src, "full")["sha256"]
    out = tmp_path / "h264"
    plan = tc.plan(src, tc.TranscodeOptions(out=out))
    assert plan.ok and plan.details["to_transcode"] == len(before)
    tc.run(src, tc.TranscodeOptions(out=out))
    assert prov.hash_input(src, "full")["sha256"] == checksum  # the source is untouched
    assert _errors(out) == []
    for relative, info in before.items():
        after = probe(out / relative)
        assert after.codec == "h264" and after.num_frames == info.num_frames
        np.testing.assert_allclose(after.frame_times, info.frame_times, atol=1e-6)
    info = json.loads((out / "meta/info.json").read_text())
    assert info["features"]["observation.images.wrist"]["info"]["video.codec"] == "h264"
    # without --out: a new folder beside the source (never in place); the source stays as it was
    default = tc.run(src, tc.TranscodeOptions())
    beside = tmp_path / "src_h264"
    assert default.output == str(beside)
    assert prov.hash_input(src, "full")["sha256"] == checksum
    assert _errors(beside) == []
    assert {probe(p).codec for p in beside.rglob("*.mp4")} == {"h264"}
    assert {probe(p).codec for p in src.rglob("*.mp4")} == {"av1"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h264", "src", "src_h264"]
    again = tc.plan(beside, tc.TranscodeOptions(out=tmp_path / "again"))
    assert again.details["to_transcode"] == 0 and again.warnings
    with pytest.raises(StudioError, match="already exists"):
        tc.run(src, tc.TranscodeOptions())
    tc.run(src, tc.TranscodeOptions(overwrite=True))  # replaces its own earlier output
    with open_dataset(src) as a, open_dataset(beside) as b:
        np.testing.assert_array_equal(a.episodes[1].array("action"), b.episodes[1].array("action"))
    record = prov.read_provenance(beside)
    assert record["conversion"] == "transcode"
    assert record["inputs"][0]["provenance"]["conversion"] == "hdf5_to_lerobot"
    traced = prov.trace(record, 1)  # back through the transcode to the recording
    assert traced["source_name"] == "demo_1" and traced["frame_offset"] == 5 and traced["steps"] == 2


def test_version_and_transcode_errors(av1_datasets, tmp_path: Path) -> None:
    with pytest.raises(StudioError, match="lerobot-v2-to-v3"):
        lv.run(av1_datasets["v2.1"], lv.LerobotVersionOptions(out=tmp_path / "x", target="v2.1"))
    with pytest.raises(StudioError, match="already exists"):
        lv.run(av1_datasets["v3.0"], lv.LerobotVersionOptions(out=av1_datasets["v2.1"]))
    with pytest.raises(StudioError, match="no such"):
        tc.run(tmp_path / "missing", tc.TranscodeOptions())
    with pytest.raises(StudioError, match="H.264 only"):
        tc.run(av1_datasets["v2.1"], tc.TranscodeOptions(out=tmp_path / "y", codec="av1"))
