"""Teleop's live parts: the right column (joint plots, loop and camera numbers) and the bottom bar
(task, RECORDING indicator, episode timer, counters, Start / Success / Fail / Re-record, Open in Browse)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from backend.sessions.recording import RecordingSession
from backend.sessions.recording import number as n
from backend.teleop.calibration import JOINTS
from widgets import palette
from widgets.live_joint_plots import LiveJointPlots

UNITS = [("LeRobot", "lerobot"), ("rad", "rad")]


def stats_html(snap: Any) -> str:
    """The loop's numbers as rich text, one line per part (loop, arms, cameras, disk, last episode)."""
    good, bad = palette.color("good").name(), palette.color("bad").name()
    jitter_colour = good if snap.jitter_p99_ms < 2.0 else bad
    parts = [
        f"<b>loop</b> {n(snap.loop_hz, '5.1f')} Hz (target {snap.rate_hz:g}) · period p50 "
        f"{n(snap.period_p50_ms, '5.2f')} ms · p99 {n(snap.period_p99_ms, '5.2f')} ms · "
        f"<span style='color:{jitter_colour}'>jitter p99 {n(snap.jitter_p99_ms, '4.2f')} ms</span>"
        f" · overruns {snap.overruns}",
        f"<b>leader</b> {'connected' if snap.leader.connected else 'DISCONNECTED'} · read "
        f"{n(snap.leader_latency_ms, '4.2f')} ms · retries {snap.leader.retries} · bad packets "
        f"{snap.leader.checksum_errors} · timeouts {snap.leader.timeouts}",
    ]
    if snap.follower is not None:
        parts.append(
            f"<b>follower</b> {'connected' if snap.follower.connected else 'DISCONNECTED'}"
            f" · retries {snap.follower.retries} · timeouts {snap.follower.timeouts}"
        )
    for name, cam in snap.cameras.items():
        parts.append(
            f"<b>{name}</b> {n(cam.stats.fps, '4.1f')} fps · dropped {cam.stats.dropped} · "
            f"missed by loop {cam.missed} · repeats {cam.duplicates} · age {n(cam.age_ms, '4.0f')} ms"
        )
    parts.append(
        f"<b>disk</b> {n(snap.disk_bytes_per_s / 1e6, '5.1f')} MB/s · {n(snap.bytes_written / 1e6, '7.1f')} MB"
        f" · recorder lag {snap.recorder_lag_steps} steps"
    )
    if snap.last_result is not None and snap.last_result.name:
        r = snap.last_result
        parts.append(
            f"last: {r.name} {r.length} steps, {'success' if r.success else 'failure'}, "
            f"final in {n(r.finalize_s * 1000, '.0f')} ms"
        )
    return "<br>".join(parts)


class LivePanel(QWidget):
    """Joint plots (leader solid, follower dashed) with their unit, and the loop's numbers."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        unit_row = QHBoxLayout()
        unit_row.addWidget(QLabel("Joints"))
        self.unit_combo = QComboBox()
        for text, key in UNITS:
            self.unit_combo.addItem(text, key)
        unit_row.addWidget(self.unit_combo)
        unit_row.addStretch(1)
        box.addLayout(unit_row)
        self.plots = LiveJointPlots(JOINTS)
        box.addWidget(self.plots, 1)
        self.stats_label = QLabel("loop —")
        self.stats_label.setObjectName("teleopStats")
        self.stats_label.setTextFormat(Qt.TextFormat.RichText)
        self.stats_label.setWordWrap(True)
        font = self.stats_label.font()
        font.setPointSizeF(font.pointSizeF() * 0.9)  # the plots keep the height at 1280x800
        self.stats_label.setFont(font)
        box.addWidget(self.stats_label)

    @property
    def radians(self) -> bool:
        return self.unit_combo.currentData() == "rad"

    def show_history(self, session: RecordingSession) -> None:
        history = session.history(self.radians)
        if history is None:
            return
        self.plots.set_unit("rad" if self.radians else "LeRobot")
        self.plots.set_data(*history)


class RecordBar(QWidget):
    """Task text, indicator, timer, counters and the four big buttons, on two rows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(4)
        grid.addWidget(QLabel("Task"), 0, 0)
        self.task_edit = QLineEdit()
        self.task_edit.setPlaceholderText("e.g. Pick up the orange and place it on the plate.")
        grid.addWidget(self.task_edit, 0, 1, 1, 3)
        self.record_indicator = QLabel()
        self.record_indicator.setObjectName("recordIndicator")
        self.timer_label = QLabel("0.0 s")
        self.timer_label.setObjectName("episodeTimer")
        self.timer_label.setMinimumWidth(70)
        self.counter_label = QLabel("episode 0 · kept 0")
        self.counter_label.setObjectName("episodeCounters")
        self.counter_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        status = QHBoxLayout()
        status.addWidget(self.record_indicator)
        status.addWidget(self.timer_label)
        status.addWidget(self.counter_label, 1)
        grid.addLayout(status, 1, 0, 1, 2)
        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start (B)")
        self.success_button = QPushButton("Success (N)")
        self.fail_button = QPushButton("Fail (R)")
        self.rerecord_button = QPushButton("Re-record")
        for button, colour in (
            (self.start_button, "accent"),
            (self.success_button, "good"),
            (self.fail_button, "bad"),
            (self.rerecord_button, "muted"),
        ):
            button.setMinimumHeight(36)
            button.setStyleSheet(
                f"QPushButton {{ font-weight: bold; border: 2px solid {palette.color(colour).name()}; "
                "padding: 4px 12px; }"
            )
            buttons.addWidget(button)
        self.open_button = QPushButton("Open in Browse")
        self.open_button.setObjectName("openRecording")
        self.open_button.setMinimumHeight(36)
        buttons.addWidget(self.open_button)
        grid.addLayout(buttons, 1, 2, 1, 2)
        grid.setColumnStretch(1, 1)
        self.show_state("", connected=False)
        self.show_open(False, "")

    def show_state(self, state: str, connected: bool) -> None:
        """Buttons and indicator for the loop's state (idle, recording, ...)."""
        recording = state == "recording"
        self.start_button.setEnabled(connected and not recording)
        self.success_button.setEnabled(recording)
        self.fail_button.setEnabled(recording)
        self.rerecord_button.setEnabled(recording)
        self.record_indicator.setText("●  RECORDING" if recording else f"●  {(state or 'idle').upper()}")
        self.record_indicator.setStyleSheet(
            f"QLabel {{ color: {'#ffffff' if recording else palette.color('muted').name()}; font-weight: bold;"
            f" background: {'#c62828' if recording else 'transparent'}; padding: 4px 8px; border-radius: 3px; }}"
        )

    def show_open(self, enabled: bool, path: str) -> None:
        """"Open in Browse": enabled once an episode was kept (never while one is recorded)."""
        self.open_button.setEnabled(enabled)
        self.open_button.setToolTip(
            f"Open {path} in Browse (a connected session is stopped first: the recording is then whole)" if path
            else "Keep an episode (Success or Fail) to open its recording in Browse"
        )

    def show_timer(self, snap: Any) -> None:
        self.timer_label.setText(f"{n(snap.episode_elapsed, '5.1f')} s")

    def show_counters(self, snap: Any) -> None:
        text = RecordingSession.counter_text(snap)
        self.counter_label.setText(text)
        self.counter_label.setToolTip(text)
