"""The playhead of an episode: frame, fps, playing or paused, speed, loop, in/out marks.

    clock = PlaybackClock()
    clock.load(length=120, fps=30.0)
    clock.play()
    frame = clock.advance(0.016)        # the GUI's timer forwards wall time, nothing else

Playback follows the wall clock from where it started (origin frame + elapsed time x fps x speed),
so a late tick skips frames rather than drifting. Playing stops at the out mark (the last frame
when none); with ``loop`` it starts again at the in mark.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PlaybackClock:
    length: int = 0
    fps: float = 30.0
    speed: float = 1.0
    position: int = 0
    playing: bool = False
    loop: bool = False
    mark_in: int | None = None  # first frame played (None: the start)
    mark_out: int | None = None  # last frame played, inclusive (None: the end)
    skipped: int = 0  # frames passed over while playing (late ticks)
    _origin: int = field(default=0, repr=False)
    _elapsed: float = field(default=0.0, repr=False)

    # -- what is loaded -------------------------------------------------------------------------
    def load(self, length: int, fps: float | None = None, frame: int = 0) -> int:
        """A new episode: paused at ``frame`` (clamped), marks cleared."""
        self.length = max(0, int(length))
        if fps:
            self.fps = float(fps)
        self.playing = False
        self.mark_in = self.mark_out = None
        self.position = self.clamp(frame)
        return self.position

    def unload(self) -> None:
        self.load(0)

    @property
    def last_frame(self) -> int:
        return max(0, self.length - 1)

    @property
    def start(self) -> int:
        """Where playing (re)starts: the in mark or the first frame."""
        return self.clamp(self.mark_in or 0)

    @property
    def end(self) -> int:
        """Where playing stops: the out mark or the last frame."""
        return self.last_frame if self.mark_out is None else min(self.mark_out, self.last_frame)

    def set_marks(self, mark_in: int | None, mark_out: int | None) -> None:
        self.mark_in, self.mark_out = mark_in, mark_out

    def clamp(self, frame: int) -> int:
        return max(0, min(int(frame), self.last_frame))

    def seconds(self, frame: int | None = None) -> float:
        return (self.position if frame is None else frame) / (self.fps or 30.0)

    # -- moving the playhead --------------------------------------------------------------------
    def seek(self, frame: int) -> int:
        """Move to ``frame``; while playing, the clock restarts from there."""
        self.position = self.clamp(frame)
        self._restart()
        return self.position

    def step(self, delta: int) -> int:
        """Pause and move by ``delta`` frames."""
        self.pause()
        return self.seek(self.position + int(delta))

    def play(self) -> bool:
        """Start playing (from the in mark when at or past the end); False when nothing is loaded."""
        if self.length <= 0 or self.playing:
            return False
        if self.position >= self.end:
            self.position = self.start
        self.playing = True
        self.skipped = 0
        self._restart()
        return True

    def pause(self) -> bool:
        """Stop playing; True when it was playing."""
        was, self.playing = self.playing, False
        return was

    def toggle(self) -> bool:
        """Play or pause; returns whether it plays now."""
        if self.playing:
            self.pause()
        else:
            self.play()
        return self.playing

    def set_speed(self, speed: float) -> None:
        self.speed = max(0.01, float(speed))
        self._restart()

    def advance(self, elapsed_s: float) -> int:
        """Wall time passed since the last call; returns the frame to show now."""
        if not self.playing:
            return self.position
        self._elapsed += max(0.0, float(elapsed_s))
        target = self._origin + int(self._elapsed * (self.fps or 30.0) * self.speed)
        end = self.end
        if self.loop and end > self.start:
            if target > end:
                target = self.start + (target - self.start) % (end - self.start + 1)
                self._origin, self._elapsed = target, 0.0
        elif target >= end:
            target = end
            self.playing = False
        if target > self.position + 1:
            self.skipped += target - self.position - 1
        self.position = target
        return target

    @property
    def tick_ms(self) -> int:
        """A timer interval fine enough for this rate (twice per frame, 4-16 ms)."""
        return max(4, min(16, int(500 / ((self.fps or 30.0) * self.speed))))

    def _restart(self) -> None:
        self._origin, self._elapsed = self.position, 0.0
