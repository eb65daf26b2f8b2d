"""Per-version layout of a LeRobot output: where data and video files go, how episodes are added to
them, and the metadata files and records of the version. ``LeRobotWriter`` picks one layout at
construction (``layout_for``) and runs the same pipeline for every version; a new version is one new
layout module."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pyarrow as pa

from backend.errors import StudioError
from backend.formats.base import Capability
from backend.formats.lerobot.common import QUANTILE_KEYS
from backend.formats.lerobot.stats import Stats
from backend.media import VideoProbe
from backend.model import DatasetFormat

if TYPE_CHECKING:
    from backend.formats.lerobot.episode import CameraTrack, LeRobotEpisodeWriter
    from backend.formats.lerobot.writer import LeRobotWriter

# what every LeRobot writer can do, whatever its version
COMMON_CAPABILITIES = (
    Capability.VIDEO
    | Capability.SUCCESS_FLAGS
    | Capability.TASKS
    | Capability.STATS
    | Capability.PACKET_COPY
    | Capability.ENCODED_VIDEO
)


class Layout(ABC):
    """The version-specific part of one writer; it reads and updates the writer's state."""

    format: ClassVar[DatasetFormat]
    version: ClassVar[str]
    capabilities: ClassVar[Capability]
    hf_list_type: ClassVar[str]  # list type of the HuggingFace feature records in the parquet schema
    image_quantiles: ClassVar[bool]  # image statistics carry q01..q99

    def __init__(self, writer: LeRobotWriter) -> None:
        self.writer = writer

    @abstractmethod
    def encode_path(self, index: int, key: str) -> Path:
        """Where episode ``index``'s camera ``key`` is encoded (outside publish-each-episode mode)."""

    @abstractmethod
    def take_video(
        self,
        episode: LeRobotEpisodeWriter,
        camera: CameraTrack,
        source: Path,
        info: VideoProbe,
        first: int,
        count: int,
    ) -> None:
        """Use frames ``first ..`` of ``source`` for ``camera``: copied now or at the episode's end."""

    @abstractmethod
    def write_episode(
        self, episode: LeRobotEpisodeWriter, table: pa.Table, row: dict[str, Any], success: bool | None
    ) -> None:
        """Write the episode's rows and videos; add the file references to its metadata ``row``."""

    def before_meta(self) -> None:  # noqa: B027 - optional hook
        """Complete and close the shared data and video files before the metadata is written."""

    def abort_files(self) -> None:  # noqa: B027 - optional hook
        """Drop the open shared files (abort)."""

    def read_back(self, root: Path, info: dict[str, Any], video_keys: set[str]) -> None:
        """Load the finished episodes of the dataset at ``root`` into the writer, to add more
        (the layouts whose ``capabilities`` hold ``Capability.APPEND``)."""
        raise StudioError(f"cannot add episodes to a LeRobot {self.version} dataset", root)

    @abstractmethod
    def write_meta(self, root: Path, global_stats: dict[str, Stats]) -> None:
        """Write the task, episode and statistics files under ``root`` (info.json is ``info``)."""

    @abstractmethod
    def info(self, features: dict[str, Any]) -> dict[str, Any]:
        """meta/info.json for the episodes written so far."""

    @abstractmethod
    def video_info(
        self, key: str, height: int, width: int, codec: str, pix_fmt: str, channels: int, copied: bool
    ) -> dict[str, Any]:
        """The ``info`` block of a video feature in info.json."""


def without_quantiles(stats: dict[str, Stats]) -> dict[str, Stats]:
    return {key: {k: v for k, v in entry.items() if k not in QUANTILE_KEYS} for key, entry in stats.items()}


def layout_for(fmt: DatasetFormat) -> type[Layout]:
    from backend.formats.lerobot.layout_v21 import V21Layout
    from backend.formats.lerobot.layout_v30 import V30Layout

    for layout in (V21Layout, V30Layout):
        if layout.format is fmt:
            return layout
    raise StudioError(f"cannot write {fmt.value}: the studio writes LeRobot v2.1 and v3.0")


def writer_capabilities(fmt: DatasetFormat | str) -> Capability:
    """What the LeRobot writer of ``fmt`` can do."""
    return layout_for(DatasetFormat(fmt)).capabilities
