"""One episode of a LeRobot writer: rows kept per column, each camera encoded as frames arrive, or a
window of an mp4 copied packet by packet, or an mp4 encoded elsewhere adopted as it is."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from backend.atomic import remove_path
from backend.errors import StudioError
from backend.formats.base import CameraSpec, EpisodeWriter
from backend.formats.lerobot.remux import remux_problem
from backend.formats.lerobot.stats import ImageStats, sample_indices
from backend.formats.lerobot.table import rgb
from backend.media import VideoEncoder, VideoProbe, probe
from backend.media.image_stats import streamed_sample
from backend.model import FeatureKind

if TYPE_CHECKING:
    from backend.formats.lerobot.writer import LeRobotWriter


class CameraTrack:
    """One camera of one episode: frames encoded as they come, or a window copied packet by packet."""

    def __init__(self, spec: CameraSpec, key: str) -> None:
        self.spec = spec
        self.key = key
        self.encoder: VideoEncoder | None = None
        self.path: Path | None = None  # encoded file (where the layout's encode_path put it)
        self.frames = 0
        self.stats = ImageStats()
        self.copy: tuple[Path, VideoProbe, int, int] | None = None  # a packet copy waiting for end()
        self.copied = False


class LeRobotEpisodeWriter(EpisodeWriter):
    def __init__(self, writer: LeRobotWriter, index: int, tasks: list[str], extra: dict[str, Any]) -> None:
        self.writer = writer
        self.index = index
        self.tasks = tasks
        self.new_tasks: list[str] = []  # tasks this episode added to the writer's list
        self.extra = extra
        self.length = 0
        self._blocks: dict[str, list[np.ndarray]] = {key: [] for key in writer.column_keys}
        self.cameras = {name: CameraTrack(spec, key) for name, (key, spec) in writer.cameras.items()}
        self._done = False

    # -- frames ------------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._done:
            raise StudioError(f"episode {self.index} is already ended or discarded")

    def _take_values(self, values: Mapping[str, np.ndarray], block: bool) -> int:
        """Store one frame (``block=False``) or a block of frames of every column; returns the count."""
        missing = [k for k in self.writer.column_keys if k not in values]
        if missing:
            raise StudioError(f"episode {self.index}: values for {missing} are missing")
        length: int | None = None
        for key in self.writer.column_keys:
            feature = self.writer.columns[key]
            array = np.asarray(values[key])
            if not block:
                array = array[None]
            if feature.kind is FeatureKind.VECTOR:
                if array.shape[1:] != tuple(feature.shape):
                    raise StudioError(
                        f"episode {self.index}: {key} has shape {array.shape[1:]}, expected {tuple(feature.shape)}"
                    )
            else:
                array = array.reshape(len(array))
            if length is None:
                length = len(array)
            elif len(array) != length:
                raise StudioError(f"episode {self.index}: {key} has {len(array)} frames, others {length}")
            self._blocks[key].append(array)
        return int(length or 0)

    def _camera(self, name: str) -> CameraTrack:
        camera = self.cameras.get(name)
        if camera is None:
            camera = self.cameras.get(name.removeprefix("observation.images."))
        if camera is None:
            raise StudioError(f"camera {name!r} is not in the writer's cameras {sorted(self.cameras)}")
        return camera

    def _encode(self, camera: CameraTrack, frame: np.ndarray) -> None:
        if camera.copy is not None or camera.copied:
            raise StudioError(f"camera {camera.spec.name!r} of episode {self.index} was copied from a file")
        if camera.encoder is None:
            camera.path = self.writer.encode_path(self.index, camera.key)
            camera.path.parent.mkdir(parents=True, exist_ok=True)
            opts = self.writer.video_options
            extra = {"threaded": True} if opts["threaded"] else {}
            camera.encoder = VideoEncoder(
                camera.path,
                camera.spec.width,
                camera.spec.height,
                self.writer.spec.fps,
                codec=opts["codec"],
                crf=opts["crf"],
                gop=opts["gop"],
                preset=opts["preset"],
                **extra,
            )
            self.writer.encoder_settings.setdefault(
                camera.key,
                {"crf": camera.encoder.crf, "gop": camera.encoder.gop, "preset": camera.encoder.preset},
            )
        frame = np.asarray(frame)
        if frame.dtype != np.uint8:
            raise StudioError(f"camera {camera.spec.name!r}: frames must be uint8 RGB, got {frame.dtype}")
        camera.encoder.write(frame)
        if self.writer.image_stats and streamed_sample(camera.frames):
            camera.stats.add(frame)
        camera.frames += 1

    def add_frame(
        self, values: Mapping[str, np.ndarray], images: Mapping[str, np.ndarray] | None = None
    ) -> None:
        self._check_open()
        cameras = [(self._camera(name), frame) for name, frame in (images or {}).items()]
        for camera, frame in cameras:  # refuse a bad image before anything of the frame is kept
            shape = np.shape(frame)
            if shape != (camera.spec.height, camera.spec.width, 3):
                raise StudioError(
                    f"camera {camera.spec.name!r}: frame of shape {shape}, expected "
                    f"({camera.spec.height}, {camera.spec.width}, 3)"
                )
        self._take_values(values, block=False)
        for camera, frame in cameras:
            self._encode(camera, frame)
        self.length += 1

    def add_frames(
        self, values: Mapping[str, np.ndarray], images: Mapping[str, Iterable[np.ndarray]] | None = None
    ) -> None:
        self._check_open()
        if not self.writer.column_keys and not images:
            return
        count = self._take_values(values, block=True) if self.writer.column_keys else None
        written = {}
        for name, frames in (images or {}).items():
            camera = self._camera(name)
            before = camera.frames
            for frame in frames:
                self._encode(camera, frame)
            written[name] = camera.frames - before
        if count is None:
            count = next(iter(written.values()), 0)
        for name, n in written.items():
            if n != count:
                raise StudioError(f"episode {self.index}: camera {name!r} got {n} frames for {count} rows")
        self.length += count

    def add_video(
        self,
        camera: str,
        source: Path,
        first: int = 0,
        count: int | None = None,
        info: VideoProbe | None = None,
    ) -> None:
        """Use frames ``first .. first + count - 1`` of the mp4 ``source`` for ``camera``, copying packets.

        The frames stay bit-identical (no re-encode). Raises StudioError when the window cannot be cut
        at packet level (see ``remux.remux_problem``): then give the frames as images instead.
        """
        self._check_open()
        cam = self._camera(camera)
        if cam.encoder is not None or cam.copy is not None or cam.copied:
            raise StudioError(f"camera {camera!r} of episode {self.index} already has frames")
        info = info or probe(source)
        count = info.num_frames - first if count is None else int(count)
        problem = remux_problem(Path(source), info, first, count)
        if problem:
            raise StudioError(
                f"cannot copy the video packets: {problem}", source, "give the frames as images"
            )
        self.writer.layout.take_video(self, cam, Path(source), info, first, count)
        cam.frames = count

    def add_encoded_video(
        self,
        camera: str,
        path: Path,
        frames: int,
        stats: ImageStats | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        """Use the mp4 at ``path``, encoded elsewhere with this writer's video options (a camera
        worker process), for ``camera``: ``frames`` frames, their image ``stats`` and the encoder's
        crf / gop / preset. The file is moved to where this episode's encoder would have written it
        (same file system: give a path inside ``writer.staging``)."""
        self._check_open()
        cam = self._camera(camera)
        if cam.encoder is not None or cam.copy is not None or cam.copied or cam.path is not None:
            raise StudioError(f"camera {camera!r} of episode {self.index} already has frames")
        target = self.writer.encode_path(self.index, cam.key)
        if Path(path) != target:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
        cam.path = target
        cam.frames = int(frames)
        if stats is not None and self.writer.image_stats:
            cam.stats = stats
        opts = self.writer.video_options
        used = dict(settings or {})
        self.writer.encoder_settings.setdefault(
            cam.key, {key: used.get(key, opts[key]) for key in ("crf", "gop", "preset")}
        )

    def stats_sink(self, camera: CameraTrack, count: int) -> Callable[[int, Any], None] | None:
        """A callback that adds sampled frames of a packet copy to ``camera``'s image statistics."""
        if not self.writer.image_stats:
            return None
        wanted = set(sample_indices(count))

        def sink(i: int, frame: Any) -> None:
            if i in wanted:
                camera.stats.add(rgb(frame))

        return sink

    # -- end -----------------------------------------------------------------------------------
    def _close_encoders(self) -> None:
        for camera in self.cameras.values():
            if camera.encoder is not None:
                camera.encoder.close()
                camera.encoder = None

    def end(self, success: bool | None = True) -> int:
        self._check_open()
        for name, camera in self.cameras.items():
            if camera.frames != self.length:
                raise StudioError(
                    f"episode {self.index}: camera {name!r} has {camera.frames} frames for {self.length} rows",
                    hint="give one image per camera with every frame",
                )
        self._close_encoders()
        columns = {
            key: np.concatenate(blocks) if blocks else np.zeros((0,), np.float32)
            for key, blocks in self._blocks.items()
        }
        self.writer.write_episode(self, columns, success)
        self._done = True
        self.writer.episode_done(self)
        return self.index

    def discard(self) -> None:
        if self._done:
            return
        self._done = True
        for camera in self.cameras.values():
            if camera.encoder is not None:
                camera.encoder.abort()
                camera.encoder = None
            if camera.path is not None:
                remove_path(camera.path)
        self._blocks.clear()
        self.writer.forget_tasks(self)
        self.writer.episode_done(self)
