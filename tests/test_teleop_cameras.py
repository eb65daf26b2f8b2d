"""Camera threads: measured fps, dropped frames, file-backed cameras, reconnect."""

from __future__ import annotations

import time

import numpy as np
import pytest

from backend.errors import StudioError
from backend.teleop.cameras import (
    Camera,
    FileSource,
    OpenCVSource,
    PatternSource,
    make_source,
    parse_camera_arg,
)
from backend.teleop.demo_media import demo_frame, write_demo_video


def test_pattern_camera_rate_and_frames():
    cam = Camera("front", PatternSource(32, 24, 50.0)).start()
    try:
        first = cam.wait_first_frame(2.0)
        assert first is not None and first.image.shape == (24, 32, 3)
        time.sleep(0.6)
        stats = cam.stats()
        frame = cam.latest()
        assert stats.state == "streaming" and 35 < stats.fps < 60
        assert PatternSource.frame_number(frame.image) == frame.source_index
        # a frame the thread had to skip to keep up is counted, never silently lost
        assert (
            frame.source_index == frame.seq + cam.stats().dropped
            or frame.source_index == frame.seq + stats.dropped
        )
        assert stats.frames >= 20
    finally:
        cam.stop()
    assert cam.stats().state == "stopped"


def test_file_camera_plays_at_its_rate_and_loops(tmp_path):
    path = write_demo_video(tmp_path / "front.mp4", "front", 64, 48, fps=30, seconds=0.5)
    source = FileSource(path)
    cam = Camera("front", source).start()
    try:
        assert cam.wait_first_frame(3.0) is not None
        time.sleep(1.0)  # two loops of a 15-frame file
        stats = cam.stats()
        # paced at the file's rate: never faster; slower only when the machine is busy (2 cores, a
        # parallel test run), so the lower bound is loose
        assert source.nominal_fps == 30 and 12 < stats.fps < 36
        assert stats.frames >= 16
        frame = cam.latest()
        assert frame.source_index < 15 and frame.seq >= 16  # looped, seq keeps counting
        assert frame.image.shape == (48, 64, 3)
        reference = demo_frame("front", frame.source_index, 64, 48)
        assert np.abs(frame.image.astype(int) - reference.astype(int)).mean() < 8  # H.264 is lossy
    finally:
        cam.stop()


def test_dropped_frames_are_counted_when_the_thread_falls_behind():
    class Slow(PatternSource):
        def read(self):
            item = super().read()
            if self._n == 5:
                time.sleep(0.2)  # a stall of ~6 periods
            return item

    cam = Camera("wrist", Slow(16, 12, 30.0)).start()
    try:
        time.sleep(0.6)
        assert cam.stats().dropped >= 4
    finally:
        cam.stop()


def test_reconnect_after_a_failure():
    cam = Camera("front", PatternSource(16, 12, 60.0), reconnect_s=0.1).start()
    try:
        assert cam.wait_first_frame(2.0) is not None
        cam.failing = True
        deadline = time.monotonic() + 2
        while cam.stats().state != "disconnected" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert cam.stats().state == "disconnected"
        cam.failing = False
        deadline = time.monotonic() + 2
        while cam.stats().state != "streaming" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert cam.stats().state == "streaming" and cam.stats().reconnects == 1
    finally:
        cam.stop()


def test_missing_device_reports_and_keeps_retrying(tmp_path):
    cam = Camera("front", OpenCVSource(str(tmp_path / "video9"), 640, 480, 30), reconnect_s=0.05).start()
    try:
        time.sleep(0.2)
        stats = cam.stats()
        assert stats.state == "disconnected" and "camera not found" in stats.error
    finally:
        cam.stop()


def test_source_parsing(tmp_path):
    assert isinstance(make_source("0"), OpenCVSource)
    assert isinstance(make_source("/dev/video0"), OpenCVSource)
    assert isinstance(make_source(str(tmp_path / "x.mp4")), FileSource)
    pattern = make_source("pattern:80x60@15")
    assert (pattern.width, pattern.height, pattern.nominal_fps) == (80, 60, 15.0)
    assert parse_camera_arg("front=/dev/video2") == ("front", "/dev/video2")
    with pytest.raises(StudioError, match="NAME=SOURCE"):
        parse_camera_arg("/dev/video2")
    with pytest.raises(StudioError, match="video file not found"):
        FileSource(tmp_path / "missing.mp4").open()
