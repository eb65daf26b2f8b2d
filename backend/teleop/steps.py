"""What the control loop hands to a recorder: one ``Step`` per tick of a recorded episode."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from backend.teleop.cameras import Frame


@dataclass(slots=True)
class Step:
    t: float  # seconds since the episode started (tick time)
    action_rad: np.ndarray  # (6,) leader mapped to sim joint radians (LeIsaac)
    state_rad: np.ndarray  # (6,) follower (or, without one, leader) joint radians
    action_lerobot: np.ndarray  # (6,) leader in LeRobot units
    state_lerobot: np.ndarray  # (6,) follower (or leader) in LeRobot units
    leader_raw: np.ndarray  # (6,) Present_Position ticks
    follower_raw: np.ndarray | None  # (6,) ticks, None without a follower
    leader_ok: bool  # False when the read failed and the previous values were held
    frames: dict[str, Frame | None] = field(default_factory=dict)


@dataclass
class EpisodeMeta:
    index: int
    task: str
    rate_hz: float
    started_wall: float  # time.time()
    seed: int
    cameras: dict[str, tuple[int, int]]  # name -> (height, width)
    has_follower: bool
    lerobot_units: str = "range"  # range (-100..100 / 0..100) | degrees


@dataclass
class EpisodeResult:
    index: int  # the episode's number in the output (demo_N / episode_index)
    name: str  # demo_N or episode_000N
    length: int
    success: bool | None
    reason: str
    finalize_s: float  # time from the end request to the episode being final on disk
    path: str
