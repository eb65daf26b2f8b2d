"""``rollout-studio export rerun DATASET[:EP] --out FILE.rrd``: episodes as one Rerun recording.

Entities: ``cameras/<name>`` (JPEG ``EncodedImage`` per frame), ``robot/state`` and ``robot/action``
(``Scalars``, one series per joint, named by ``SeriesLines``), ``subtask`` (``TextLog`` at each
segment's first frame) and ``episode`` (``TextLog`` with the task at each episode's first frame).
Timelines: ``index`` (frames across the exported episodes), ``frame_index`` (within the episode)
and ``timestamp`` (seconds within the episode). The file appears only when complete.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from backend.atomic import atomic_file
from backend.export.episodes import jpeg_frames, pick, subtask_source, tracks
from backend.progress import Progress, ensure_progress

APPLICATION_ID = "rollout_studio"


def export_rerun(
    dataset: Any,
    out: str | Path,
    episodes: list[int] | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]:
    import rerun as rr

    progress = ensure_progress(progress)
    chosen = pick(dataset, episodes)
    segments_of = subtask_source(dataset)
    total = sum(e.length for e in chosen)
    counts: dict[str, int] = {}
    out = Path(out)
    with atomic_file(out, overwrite, [dataset.path]) as tmp:
        rec = rr.RecordingStream(APPLICATION_ID, recording_id=f"{Path(dataset.path).name}")
        rec.save(str(tmp))
        try:
            index = 0
            series_done: set[str] = set()  # joint names are static: logged once per entity
            for episode in chosen:
                lanes = tracks(dataset, episode)
                for lane in lanes:
                    entity = f"robot/{lane.role}"
                    if entity not in series_done:
                        rec.log(entity, rr.SeriesLines(names=lane.names), static=True)
                        series_done.add(entity)
                segments = {s.start: s for s in segments_of(episode.index)}
                cameras = {name: jpeg_frames(episode, name) for name in dataset.cameras}
                for t in range(episode.length):
                    rec.set_time("index", sequence=index)
                    rec.set_time("frame_index", sequence=t)
                    rec.set_time("timestamp", duration=t / float(dataset.fps))
                    if t == 0:
                        rec.log("episode", rr.TextLog(f"episode {episode.index}: {episode.task or ''}"))
                        _count(counts, "episode")
                    for name, frames in cameras.items():
                        rec.log(f"cameras/{name}", rr.EncodedImage(contents=next(frames), media_type="image/jpeg"))
                        _count(counts, f"cameras/{name}")
                    for lane in lanes:
                        rec.log(f"robot/{lane.role}", rr.Scalars(np.asarray(lane.values[t])))
                        _count(counts, f"robot/{lane.role}")
                    if t in segments:
                        rec.log("subtask", rr.TextLog(segments[t].text or "(no text)"))
                        _count(counts, "subtask")
                    index += 1
                    if index % 20 == 0 or index == total:
                        progress.report(index, total, f"episode {episode.index}")
                for frames in cameras.values():
                    frames.close()
                episode.unload()
        finally:
            rec.flush()
            rec.disconnect()
    return {"out": str(out), "episodes": [e.index for e in chosen], "frames": total, "messages": counts}


def _count(counts: dict[str, int], key: str) -> None:
    counts[key] = counts.get(key, 0) + 1
