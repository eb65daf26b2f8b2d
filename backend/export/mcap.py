"""``rollout-studio export mcap DATASET[:EP] --out FILE.mcap``: episodes as an MCAP file Foxglove opens.

JSON-encoded messages with JSON schemas (Foxglove reads these without ROS):
  ``/camera/<name>``   ``foxglove.CompressedImage`` (JPEG, base64 in ``data``), one per frame;
  ``/joint_states``    ``rollout_studio.JointState`` {timestamp, frame_index, episode_index, name[], position[]};
  ``/action``          the same schema for the commanded joints;
  ``/subtask``         ``foxglove.Log`` at each segment's first frame (message = the text, name = "subtask");
  ``/episode``         ``foxglove.Log`` at each episode's first frame (the task).
Log and publish times are frames / fps from 0, continuous across the exported episodes. Chunks are
zstd-compressed. The file appears only when complete.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from backend.atomic import atomic_file
from backend.export.episodes import jpeg_frames, pick, subtask_source, tracks
from backend.progress import Progress, ensure_progress

_TIME = {"type": "object", "properties": {"sec": {"type": "integer"}, "nsec": {"type": "integer"}}}
SCHEMAS: dict[str, dict[str, Any]] = {
    "foxglove.CompressedImage": {
        "type": "object",
        "properties": {
            "timestamp": _TIME,
            "frame_id": {"type": "string"},
            "data": {"type": "string", "contentEncoding": "base64"},
            "format": {"type": "string"},
        },
    },
    "rollout_studio.JointState": {
        "type": "object",
        "properties": {
            "timestamp": _TIME,
            "episode_index": {"type": "integer"},
            "frame_index": {"type": "integer"},
            "name": {"type": "array", "items": {"type": "string"}},
            "position": {"type": "array", "items": {"type": "number"}},
        },
    },
    "foxglove.Log": {
        "type": "object",
        "properties": {
            "timestamp": _TIME,
            "level": {"type": "integer"},
            "message": {"type": "string"},
            "name": {"type": "string"},
            "file": {"type": "string"},
            "line": {"type": "integer"},
        },
    },
}
TOPIC_OF_ROLE = {"state": "/joint_states", "action": "/action"}
INFO = 2  # foxglove.Log level


def export_mcap(
    dataset: Any,
    out: str | Path,
    episodes: list[int] | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]:
    from mcap.writer import CompressionType, Writer

    progress = ensure_progress(progress)
    chosen = pick(dataset, episodes)
    segments_of = subtask_source(dataset)
    total = sum(e.length for e in chosen)
    counts: dict[str, int] = {}
    out = Path(out)
    with atomic_file(out, overwrite, [dataset.path]) as tmp, open(tmp, "wb") as handle:
        writer = Writer(handle, compression=CompressionType.ZSTD)
        writer.start(profile="", library="rollout-studio")
        schema_ids = {
            name: writer.register_schema(name, "jsonschema", json.dumps(schema).encode()) for name, schema in SCHEMAS.items()
        }
        channels: dict[str, int] = {}

        def channel(topic: str, schema: str) -> int:
            if topic not in channels:
                channels[topic] = writer.register_channel(topic, "json", schema_ids[schema])
            return channels[topic]

        sequence = 0

        def write(topic: str, schema: str, message: dict[str, Any], ns: int) -> None:
            nonlocal sequence
            writer.add_message(channel(topic, schema), ns, json.dumps(message).encode(), ns, sequence)
            sequence += 1
            counts[topic] = counts.get(topic, 0) + 1

        index = 0
        for episode in chosen:
            lanes = tracks(dataset, episode)
            segments = {s.start: s for s in segments_of(episode.index)}
            cameras = {name: jpeg_frames(episode, name) for name in dataset.cameras}
            for t in range(episode.length):
                ns = int(round(index * 1e9 / float(dataset.fps)))
                stamp = {"sec": ns // 1_000_000_000, "nsec": ns % 1_000_000_000}
                if t == 0:
                    text = f"episode {episode.index}: {episode.task or ''}"
                    write("/episode", "foxglove.Log", _log(stamp, text, "episode"), ns)
                for name, frames in cameras.items():
                    image = {
                        "timestamp": stamp, "frame_id": name, "format": "jpeg",
                        "data": base64.b64encode(next(frames)).decode("ascii"),
                    }
                    write(f"/camera/{name}", "foxglove.CompressedImage", image, ns)
                for lane in lanes:
                    state = {
                        "timestamp": stamp, "episode_index": int(episode.index), "frame_index": t,
                        "name": lane.names, "position": [float(v) for v in lane.values[t]],
                    }
                    write(TOPIC_OF_ROLE[lane.role], "rollout_studio.JointState", state, ns)
                if t in segments:
                    write("/subtask", "foxglove.Log", _log(stamp, segments[t].text, "subtask"), ns)
                index += 1
                if index % 20 == 0 or index == total:
                    progress.report(index, total, f"episode {episode.index}")
            for frames in cameras.values():
                frames.close()
            episode.unload()
        writer.finish()
    return {"out": str(out), "episodes": [e.index for e in chosen], "frames": total, "messages": counts}


def _log(stamp: dict[str, int], message: str, name: str) -> dict[str, Any]:
    return {"timestamp": stamp, "level": INFO, "message": message, "name": name, "file": "", "line": 0}
