"""Video I/O with PyAV: probing, frame-accurate random access with a cache (decoded on the caller's
thread), streaming encode, exact transcode/remux, and episode windows of a file (see docs/video.md)."""

from backend.media.encoder import VideoEncoder
from backend.media.probe import VideoProbe, probe
from backend.media.reader import VideoReader
from backend.media.stream import VideoStream, frame_index_at
from backend.media.transcode import remux_segment, transcode

__all__ = [
    "VideoProbe",
    "VideoReader",
    "VideoStream",
    "VideoEncoder",
    "frame_index_at",
    "probe",
    "remux_segment",
    "transcode",
]
