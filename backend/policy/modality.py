"""Observation and action keys of a GR00T policy, from the training dataset's ``meta/modality.json``.

The observation a GR00T SO-100/101 policy takes (``so100_dualcam``): ``video.<name>`` (1, H, W, 3)
uint8 per camera, ``state.single_arm`` (1, 5) and ``state.gripper`` (1, 1) slices of the follower's
state in the dataset's units, and the task text under the annotation key as a one-element list.
It answers ``action.single_arm`` (16, 5) and ``action.gripper`` (16, 1): slices of the action vector.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from backend.errors import StudioError

DEFAULT_LANGUAGE_KEY = "annotation.human.task_description"
DEFAULT_SLICES = {"single_arm": (0, 5), "gripper": (5, 6)}


class ActionFault(Exception):
    """An action chunk the arm must not execute (wrong keys or shapes, NaN, out of the envelope)."""


@dataclass
class Modality:
    video: dict[str, str]  # observation key suffix -> camera name
    state: dict[str, tuple[int, int]] = field(default_factory=lambda: dict(DEFAULT_SLICES))
    action: dict[str, tuple[int, int]] = field(default_factory=lambda: dict(DEFAULT_SLICES))
    language_key: str = DEFAULT_LANGUAGE_KEY

    @property
    def width(self) -> int:
        return max(end for _, end in self.action.values())

    @classmethod
    def default(cls, cameras: list[str]) -> Modality:
        return cls({name: name for name in cameras})

    @classmethod
    def from_json(cls, data: dict[str, Any], path: str | Path | None = None) -> Modality:
        try:
            video = {
                name: str(entry.get("original_key", name)).removeprefix("observation.images.")
                for name, entry in data.get("video", {}).items()
            }
            state = {n: (int(e["start"]), int(e["end"])) for n, e in data["state"].items()}
            action = {n: (int(e["start"]), int(e["end"])) for n, e in data["action"].items()}
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise StudioError(f"modality.json is not GR00T's layout ({error})", path) from error
        annotations = list(data.get("annotation", {}))
        language = f"annotation.{annotations[0]}" if annotations else DEFAULT_LANGUAGE_KEY
        return cls(video, state, action, language)

    @classmethod
    def for_dataset(cls, root: str | Path, cameras: list[str]) -> Modality:
        """The dataset's ``meta/modality.json`` where it has one, else SO-101's default slices."""
        path = Path(root) / "meta" / "modality.json"
        if path.is_file():
            try:
                return cls.from_json(json.loads(path.read_text()), path)
            except json.JSONDecodeError as error:
                raise StudioError(f"modality.json is not JSON ({error.msg})", path) from error
        return cls.default(cameras)

    # -- observation ----------------------------------------------------------------------------------
    def observation(self, images: dict[str, np.ndarray], state: np.ndarray, task: str) -> dict[str, Any]:
        """One observation as the service takes it (batch of one)."""
        obs: dict[str, Any] = {}
        for key, camera in self.video.items():
            obs[f"video.{key}"] = images[camera][None]
        state = np.asarray(state, dtype=np.float64)
        for key, (start, end) in self.state.items():
            obs[f"state.{key}"] = state[None, start:end]
        obs[self.language_key] = [task]
        return obs

    # -- action -----------------------------------------------------------------------------------------
    def action_chunk(self, reply: dict[str, Any], horizon: int) -> np.ndarray:
        """The reply's ``action.*`` slices put back into (horizon, width) vectors."""
        out = np.full((horizon, self.width), np.nan)
        for key, (start, end) in self.action.items():
            name = f"action.{key}"
            if name not in reply:
                raise ActionFault(f"the reply has no {name} (keys: {', '.join(sorted(reply)) or 'none'})")
            try:
                values = np.asarray(reply[name], dtype=np.float64)
            except (TypeError, ValueError) as error:
                raise ActionFault(f"{name} is not numeric ({error})") from error
            if values.ndim == 1 and end - start == 1:
                values = values[:, None]
            if values.shape != (horizon, end - start):
                raise ActionFault(f"{name} has shape {values.shape}, expected ({horizon}, {end - start})")
            out[:, start:end] = values
        return out

    def reply(self, chunk: np.ndarray) -> dict[str, np.ndarray]:
        """(H, width) vectors as the service answers them (float32 slices)."""
        chunk = np.asarray(chunk, dtype=np.float32)
        return {f"action.{key}": chunk[:, start:end].copy() for key, (start, end) in self.action.items()}
