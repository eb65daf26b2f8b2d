"""PlaybackClock without Qt: the playhead follows forwarded wall time, stops or loops at the marks."""

from __future__ import annotations

from backend.sessions.playback import PlaybackClock


def test_playing_follows_wall_time_and_stops_at_the_end():
    clock = PlaybackClock()
    assert clock.load(90, 30.0, frame=200) == 89  # clamped to the last frame
    clock.seek(10)
    clock.set_speed(2.0)
    assert clock.play() and clock.playing
    assert clock.advance(0.1) == 16  # 0.1 s x 30 fps x 2
    assert clock.advance(0.4) == 40  # 0.5 s in all: 30 frames after 10
    assert clock.skipped == 5 + 23  # 10 -> 16 -> 40 passes over frames 11-15 and 17-39
    clock.seek(50)  # a seek while playing restarts the clock there
    assert clock.advance(0.05) == 53
    assert clock.advance(10.0) == 89 and not clock.playing
    assert clock.advance(1.0) == 89  # paused: time passes, the frame stays


def test_marks_bound_playing_and_play_rewinds_from_the_end():
    clock = PlaybackClock()
    clock.load(100, 10.0)
    clock.set_marks(20, 60)
    assert (clock.start, clock.end) == (20, 60)
    clock.seek(60)
    clock.play()  # at the out mark: starts again at the in mark
    assert clock.position == 20
    assert clock.advance(1.0) == 30
    assert clock.advance(5.0) == 60 and not clock.playing
    clock.step(-3)
    assert clock.position == 57 and not clock.playing
    assert clock.tick_ms == 16 and clock.seconds() == 5.7


def test_loop_wraps_to_the_in_mark():
    clock = PlaybackClock(loop=True)
    clock.load(50, 10.0)
    clock.set_marks(10, 19)  # 10 frames
    clock.seek(10)
    clock.play()
    assert clock.advance(0.9) == 19 and clock.playing
    assert clock.advance(0.2) == 11 and clock.playing  # 21 -> wraps by 10 frames
    assert clock.advance(0.3) == 14
    clock.pause()
    assert clock.toggle() and clock.playing
    clock.unload()
    assert (clock.length, clock.position, clock.playing) == (0, 0, False)
    assert not clock.play()  # nothing loaded
