"""`rollout-studio export rerun|mcap`: the .rrd opens with rerun-sdk's own reader and the .mcap with the
mcap reader, with the right number of messages per topic; images, joints and subtasks check out."""

from __future__ import annotations

import base64
import collections
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from backend.cli import main
from backend.curation import Curation
from backend.export.episodes import parse_target
from backend.formats import open_dataset
from tests.browse_data import write_hdf5

LENGTHS = (20, 30)


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    path = write_hdf5(tmp_path_factory.mktemp("viewers") / "pick.hdf5", lengths=LENGTHS, width=64, height=48)
    curation = Curation(path)
    curation.set(1, subtasks=[[0, 9, "reach the cube"], [10, 24, "grasp the cube"]])
    return path


def test_parse_target(tmp_path):
    assert parse_target("d.hdf5") == (Path("d.hdf5"), None)
    assert parse_target("d.hdf5:3") == (Path("d.hdf5"), [3])
    assert parse_target("d:0,2-4") == (Path("d"), [0, 2, 3, 4])


def test_rerun_export_reads_back(source, tmp_path, capsys):
    import rerun as rr

    out = tmp_path / "pick.rrd"
    assert main(["export", "rerun", f"{source}:1", "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["frames"] == 30 and summary["episodes"] == [1]
    reader = rr.chunk.RrdReader(out)
    assert [r.application_id for r in reader.recordings()] == ["rollout_studio"]
    rows: collections.Counter[str] = collections.Counter()
    texts = []
    for chunk in reader.stream():
        if chunk.is_static:
            continue
        rows[chunk.entity_path] += chunk.num_rows
        assert {"index", "frame_index", "timestamp"} <= set(chunk.timeline_names)
        if chunk.entity_path == "/subtask":
            batch = chunk.to_record_batch()
            column = next(c for c in batch.schema.names if c.endswith("TextLog:text"))
            texts += [v for row in batch.column(column).to_pylist() for v in row]
    assert rows == {
        "/cameras/front": 30, "/cameras/wrist": 30, "/robot/state": 30, "/robot/action": 30,
        "/subtask": 2, "/episode": 1,
    }
    assert texts == ["reach the cube", "grasp the cube"]


def test_mcap_export_reads_back(source, tmp_path, capsys):
    from mcap.reader import make_reader

    out = tmp_path / "pick.mcap"
    assert main(["export", "mcap", str(source), "--out", str(out), "--quiet"]) == 0
    assert "2 episodes, 50 frames" in capsys.readouterr().out
    counts: collections.Counter[str] = collections.Counter()
    first: dict[str, dict] = {}
    with open(out, "rb") as handle:
        reader = make_reader(handle)
        summary = reader.get_summary()
        assert {s.name for s in summary.schemas.values()} == {
            "foxglove.CompressedImage", "rollout_studio.JointState", "foxglove.Log"
        }
        assert all(c.message_encoding == "json" for c in summary.channels.values())
        for _schema, channel, message in reader.iter_messages():
            counts[channel.topic] += 1
            data = json.loads(message.data)
            first.setdefault(channel.topic, data)
            if channel.topic == "/subtask":
                first.setdefault("subtasks", []).append((message.log_time, data["message"]))
    assert counts == {
        "/camera/front": 50, "/camera/wrist": 50, "/joint_states": 50, "/action": 50, "/episode": 2, "/subtask": 2
    }
    # the subtasks of episode 1 at its frames 0 and 10: frames 20 and 30 of the file, at 30 fps
    assert first["subtasks"] == [(int(round(20e9 / 30)), "reach the cube"), (int(round(30e9 / 30)), "grasp the cube")]
    image = cv2.imdecode(np.frombuffer(base64.b64decode(first["/camera/front"]["data"]), np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (48, 64, 3)
    with open_dataset(source) as dataset:
        state = dataset.episode(0).array(dataset.roles["state"])[0]
        names = list(dataset.features[dataset.roles["state"]].names)
    assert first["/joint_states"]["name"] == names
    assert np.allclose(first["/joint_states"]["position"], state, atol=1e-6)


def test_errors_name_the_file(source, tmp_path, capsys):
    assert main(["export", "mcap", f"{source}:7", "--out", str(tmp_path / "x.mcap")]) == 2
    assert "no episode 7" in capsys.readouterr().err
    assert main(["export", "rerun", str(source), "--out", str(tmp_path / "x.mcap")]) == 2
    assert source.exists() and not (tmp_path / "x.mcap").exists()


def test_entry_point_subprocess(source, tmp_path):
    out = tmp_path / "one.rrd"
    result = subprocess.run(
        [sys.executable, "-m", "backend.cli", "export", "rerun", f"{source}:0", "--out", str(out), "--quiet"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 0 and "20 frames" in result.stdout


def test_real_lerobot_episode_to_mcap(shared_data, tmp_path):
    from mcap.reader import make_reader

    out = tmp_path / "real.mcap"
    assert main(["export", "mcap", f"{shared_data / 'lerobot061_so101_v30_h264'}:1", "--out", str(out), "--quiet"]) == 0
    counts: collections.Counter[str] = collections.Counter()
    with open(out, "rb") as handle:
        for _schema, channel, message in make_reader(handle).iter_messages(topics=["/joint_states", "/camera/front"]):
            counts[channel.topic] += 1
            if channel.topic == "/joint_states" and counts[channel.topic] == 1:
                state = json.loads(message.data)
    assert counts == {"/joint_states": 60, "/camera/front": 60}
    assert state["name"][0] == "shoulder_pan.pos" and state["episode_index"] == 1
