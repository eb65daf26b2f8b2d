"""Provenance records: which inputs (with checksums), which options, which tool made an output.

Schema (``rollout_studio.provenance/1``), documented in docs/convert.md::

    {
      "schema": "rollout_studio.provenance/1",
      "tool": "rollout-studio", "version": "0.1.0",
      "created": "2025-01-01T12:00:00Z",
      "conversion": "hdf5_to_lerobot",
      "inputs": [{"path", "role", "kind": "file"|"folder", "size", "mtime", "sha256",
                  "hash_mode": "full"|"fast", "files", "provenance": <the input's own record, if any>}],
      "options": {...},
      "output": {"path", "format"},
      "episodes": [{"output_episode", "input", "source_path", "source_episode", "source_name",
                    "frame_offset", "length", ...}]
    }

``frame_offset`` is the first source frame used: output frame t of the episode is source frame
``frame_offset + t``. Records chain through ``inputs[i].provenance``; ``trace`` follows the chain
back to the original recording.

Stored as ``meta/rollout_studio_provenance.json`` in LeRobot outputs and as the
``rollout_studio_provenance`` attribute (JSON text) of ``/data`` in HDF5 outputs.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from backend import __version__
from backend.jsonable import to_jsonable

SCHEMA = "rollout_studio.provenance/1"
LEROBOT_FILE = "meta/rollout_studio_provenance.json"
HDF5_ATTR = "rollout_studio_provenance"
MIB = 1024 * 1024
# inputs larger than this are hashed in fast mode unless full hashing is asked for
FAST_HASH_ABOVE = 256 * MIB
_BLOCK = 4 * MIB


def _hash_file_full(path: Path, digest: Any) -> None:
    with open(path, "rb") as handle:
        while True:
            block = handle.read(_BLOCK)
            if not block:
                break
            digest.update(block)


def _hash_file_fast(path: Path, digest: Any) -> None:
    """Size + first MiB + last MiB: catches most changes at a fraction of the cost."""
    size = path.stat().st_size
    digest.update(f"size={size};".encode())
    with open(path, "rb") as handle:
        digest.update(handle.read(MIB))
        if size > 2 * MIB:
            handle.seek(size - MIB)
            digest.update(handle.read(MIB))
        elif size > MIB:
            digest.update(handle.read())


def _folder_files(path: Path) -> list[Path]:
    return sorted(
        p
        for p in path.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
    )


def hash_input(path: str | Path, mode: str = "auto") -> dict[str, Any]:
    """Describe an input file or folder with a sha256 (``mode`` auto/full/fast)."""
    path = Path(path).absolute()
    if mode not in ("auto", "full", "fast"):
        raise ValueError(f"hash mode {mode!r}")
    if path.is_dir():
        files = _folder_files(path)
        size = sum(f.stat().st_size for f in files)
        mtime = max((f.stat().st_mtime for f in files), default=path.stat().st_mtime)
    else:
        files = [path]
        size = path.stat().st_size
        mtime = path.stat().st_mtime
    used = mode if mode != "auto" else ("fast" if size > FAST_HASH_ABOVE else "full")
    digest = hashlib.sha256()
    for file in files:
        if path.is_dir():
            digest.update(f"\0{file.relative_to(path).as_posix()}\0".encode())
        if used == "full":
            _hash_file_full(file, digest)
        else:
            _hash_file_fast(file, digest)
    record: dict[str, Any] = {
        "path": str(path),
        "kind": "folder" if path.is_dir() else "file",
        "size": int(size),
        "mtime": float(mtime),
        "sha256": digest.hexdigest(),
        "hash_mode": used,
    }
    if path.is_dir():
        record["files"] = len(files)
    if used == "fast":
        record["note"] = "fast hash: size, first and last MiB of each file (not the full content)"
    return record


def new_record(
    conversion: str,
    inputs: list[tuple[str | Path, str]],
    options: Any,
    output: str | Path,
    output_format: str,
    hash_mode: str = "auto",
) -> dict[str, Any]:
    """A provenance record; ``inputs`` are (path, role) pairs, roles like "source"/"template"."""
    described = []
    for path, role in inputs:
        entry = hash_input(path, hash_mode)
        entry["role"] = role
        parent = read_provenance(path)
        if parent is not None:
            entry["provenance"] = parent
        described.append(entry)
    record = {
        "schema": SCHEMA,
        "tool": "rollout-studio",
        "version": __version__,
        "created": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "conversion": conversion,
        "inputs": described,
        "options": to_jsonable(options),
        "output": {"path": str(Path(output).absolute()), "format": output_format},
        "episodes": [],
    }
    return record


def add_episode(
    record: dict[str, Any],
    output_episode: int,
    input_index: int,
    source_episode: int,
    source_name: str,
    frame_offset: int,
    length: int,
    **extra: Any,
) -> None:
    entry = {
        "output_episode": int(output_episode),
        "input": int(input_index),
        "source_path": record["inputs"][input_index]["path"],
        "source_episode": int(source_episode),
        "source_name": source_name,
        "frame_offset": int(frame_offset),
        "length": int(length),
    }
    entry.update(to_jsonable(extra))
    record["episodes"].append(entry)


def dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, indent=2, ensure_ascii=False)


def write_lerobot_provenance(dataset_dir: str | Path, record: dict[str, Any]) -> Path:
    """Write the record into a LeRobot folder (used for outputs not made by a writer)."""
    target = Path(dataset_dir) / LEROBOT_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    tmp.write_text(dumps(record), encoding="utf-8")
    os.replace(tmp, target)
    return target


def read_provenance(path: str | Path) -> dict[str, Any] | None:
    """The provenance record of a LeRobot folder or HDF5 file, or None."""
    path = Path(path)
    try:
        if path.is_dir():
            file = path / LEROBOT_FILE
            if file.is_file():
                return json.loads(file.read_text(encoding="utf-8"))
            return None
        if path.suffix.lower() in (".hdf5", ".h5", ".he5") and path.is_file():
            import h5py

            with h5py.File(path, "r") as handle:
                data = handle.get("data")
                if data is None or HDF5_ATTR not in data.attrs:
                    return None
                value = data.attrs[HDF5_ATTR]
                if isinstance(value, bytes):
                    value = value.decode("utf-8")
                return json.loads(str(value))
    except (OSError, ValueError):
        return None
    return None


def episode_map(record: dict[str, Any] | None) -> dict[int, dict[str, Any]]:
    """output episode -> mapping entry, for panes that pair generated episodes with sources."""
    if not record:
        return {}
    # a curated export's record (backend.curation) lists its kept episodes in output order with
    # their ``frames`` and, before 2026-12, without ``output_episode``
    return {int(e.get("output_episode", n)): e for n, e in enumerate(record.get("episodes") or [])}


def trace(record: dict[str, Any] | None, episode: int) -> dict[str, Any] | None:
    """Follow ``episode`` of an output back through chained records to the first source.

    Returns {"source_path", "source_episode", "source_name", "frame_offset", "sha256", "hash_mode",
    "steps"} where frame_offset adds up the offsets of every step; None when unknown.
    """
    steps = trace_steps(record, episode)
    return steps[-1] if steps else None


def trace_steps(record: dict[str, Any] | None, episode: int) -> list[dict[str, Any]]:
    """Every step of ``trace``, nearest source first: step k says where the episode was after k + 1
    conversions back (its frame_offset counts from that source's episode start)."""
    found: list[dict[str, Any]] = []
    offset = 0
    current: dict[str, Any] | None = record or None
    index = int(episode)
    while current is not None:
        entry = episode_map(current).get(index)
        if entry is None:
            break
        inputs = current.get("inputs") or []
        source = inputs[int(entry.get("input", 0))] if inputs else {}
        offset += int(entry.get("frame_offset", (entry.get("frames") or [0])[0]))
        found.append({
            "source_path": entry.get("source_path") or source.get("path"),
            "source_episode": int(entry["source_episode"]),
            "source_name": entry.get("source_name"),
            "frame_offset": offset,
            "sha256": source.get("sha256"),
            "hash_mode": source.get("hash_mode"),
            "steps": len(found) + 1,
        })
        current = source.get("provenance")
        index = int(entry["source_episode"])
    return found
