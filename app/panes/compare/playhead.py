"""Compare's transport: the pane's playhead methods, forwarding to the session's clock.

Mixed into ``ComparePane`` (it uses the pane's ``session``, ``pair``, ``transport`` and ``context``).
"""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer

from backend.numbers import fixed


class PlayheadControls:
    def _init_playhead(self) -> None:
        self._play_timer = QTimer(self)
        self._play_timer.setInterval(33)
        self._play_timer.timeout.connect(self._tick)
        self._play_clock = time.monotonic()

    def _last_frame(self) -> int:
        return self.session.clock.last_frame if self.view else 0

    def _show_time(self) -> None:
        view = self.view
        if view is None:
            return
        self.pair.show_time()
        frame, t = self.session.frame, self.session.time
        self.context.set_status(
            "frame", f"compare {frame}/{view.num_frames - 1} · {fixed(max(t, 0.0), '.2f')} s"
        )

    def seek_frame(self, frame: int) -> None:
        if self.view is not None:
            self.session.seek_frame(frame)
            self._show_time()

    def step(self, frames: int) -> None:
        if self.view is not None:
            self.pause()
            self.session.step(frames)
            self._show_time()

    def set_time(self, t: float) -> None:
        """Show A time ``t`` everywhere: tiles, plots, arm, transport."""
        self.session.set_time(t)
        self._show_time()

    def toggle_play(self) -> None:
        if self.playing:
            self.pause()
        elif self.view is not None and self.session.toggle_play():
            self._play_clock = time.monotonic()
            self._play_timer.start()
            self.transport.set_playing(True)
            self._show_time()

    def pause(self) -> None:
        self.session.clock.pause()
        self._play_timer.stop()
        self.transport.set_playing(False)

    def _tick(self) -> None:
        if self.view is None:
            self.pause()
            return
        now = time.monotonic()
        elapsed, self._play_clock = now - self._play_clock, now
        playing = self.session.advance(elapsed)
        self._show_time()
        if not playing:
            self.pause()
