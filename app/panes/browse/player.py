"""Browse's playhead on screen: forwards wall time from a timer to the ``PlaybackClock`` and shows
the frame it answers (transport, plots' playhead, status, the frame loader's request)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QElapsedTimer, QObject, Qt, QTimer

from backend.sessions.playback import PlaybackClock


class Player(QObject):
    """Play, pause, seek and step for a Browse pane (``pane.session``, ``pane.loader``, ``pane.transport``,
    ``pane.plots``, ``pane.context``); the clock decides, this shows."""

    def __init__(self, pane: Any, clock: PlaybackClock) -> None:
        super().__init__(pane)
        self.pane = pane
        self.clock = clock
        self.shown = -1  # the frame the widgets show
        self._wall = QElapsedTimer()
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)

    @property
    def fps(self) -> float:
        return self.clock.fps or 30.0

    def show(self, frame: int, request: bool = True, lookahead: int = 0) -> None:
        """Put the widgets at ``frame`` (and ask the cameras for it)."""
        pane = self.pane
        self.shown = frame
        pane.transport.set_position(frame, self.clock.length, self.fps)
        pane.plots.set_playhead(frame)
        pane.subtasks.set_position(frame)
        if request:
            pane.loader.request(frame, lookahead)
        pane.context.set_status("frame", f"frame {frame}/{self.clock.last_frame} · {frame / self.fps:.2f} s")

    def seek(self, frame: int) -> None:
        """Move the playhead (a seek while playing goes on playing from there)."""
        self.show(self.clock.seek(frame))

    def step(self, delta: int) -> None:
        self.pause()
        self.seek(self.clock.position + delta)

    def play(self) -> None:
        if self.clock.playing:
            return
        self.clock.set_marks(*self.pane.session.marks())
        if not self.clock.play():
            return
        if self.clock.position != self.shown:  # at the end: starts again at the in mark
            self.show(self.clock.position)
        self._wall.start()
        self._timer.start(self.clock.tick_ms)
        self.pane.transport.set_playing(True)
        self.pane.loader.request(self.clock.position, self.lookahead())

    def pause(self) -> None:
        self._timer.stop()
        if self.clock.pause():
            self.pane.transport.set_playing(False)

    def set_speed(self, speed: float) -> None:
        self.clock.set_speed(speed)
        self.pane.transport.set_speed(self.clock.speed)
        if self.clock.playing:
            self._timer.start(self.clock.tick_ms)

    def lookahead(self) -> int:
        """Frames to decode ahead while playing: ~0.5 s of video; 1.5 s of HDF5 images, which come
        in lzf chunks of 100 frames that one lock per file decompresses camera after camera."""
        seconds = 1.5 if self.pane.session.has_images() else 0.5
        return int(min(60, max(4, self.fps * self.clock.speed * seconds)))

    def _tick(self) -> None:
        if self.pane.session.episode is None:
            self.pause()
            return
        elapsed = self._wall.nsecsElapsed() / 1e9
        self._wall.restart()
        target = self.clock.advance(elapsed)
        if target != self.shown:
            self.show(target, lookahead=self.lookahead())
        if not self.clock.playing:
            self._timer.stop()
            self.pane.transport.set_playing(False)
