"""Video I/O with PyAV: probing, frame-accurate random access with a cache, streaming encode."""

from backend.media.probe import VideoProbe, probe
from backend.media.reader import VideoReader
from backend.media.writer import VideoWriter

__all__ = ["VideoProbe", "VideoReader", "VideoWriter", "probe"]
