"""Timeline with playhead, trim markers and a thumbnail strip; the transport bar around it.

``TimelineBar`` emits ``scrubbed(frame)`` while the playhead is dragged (every mouse move, the
receiver decides what to fetch: latest request wins) and ``hovered(frame)`` under the mouse, where
a preview of the nearest thumbnail pops up.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from widgets import palette
from widgets.icons import media_icon
from widgets.video_tile import rgb_to_qimage

SPEEDS = (0.25, 0.5, 1.0, 1.5, 2.0, 4.0)



def x_for_frame(track: QRectF, num_frames: int, frame: float) -> float:
    """x of ``frame`` on a track whose ends are the first and the last frame (timeline strips)."""
    if num_frames <= 1:
        return track.left()
    return track.left() + track.width() * frame / (num_frames - 1)


def frame_at_x(track: QRectF, num_frames: int, x: float) -> int:
    """The frame nearest to ``x`` on such a track (clamped to its ends)."""
    if num_frames <= 1:
        return 0
    frac = (x - track.left()) / track.width()
    return int(round(max(0.0, min(1.0, frac)) * (num_frames - 1)))

class TimelineBar(QWidget):
    scrubbed = Signal(int)  # playhead dragged/clicked to a frame
    scrubFinished = Signal(int)
    hovered = Signal(int)  # frame under the mouse (-1 when it leaves)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.num_frames = 0
        self.position = 0
        self.trim_in: int | None = None
        self.trim_out: int | None = None
        self.fps = 30.0
        self._thumbs: list[tuple[int, QImage, np.ndarray]] = []
        self._dragging = False
        self.setMouseTracking(True)
        self.setMinimumHeight(52)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._preview = QLabel(None, Qt.WindowType.ToolTip)
        self._preview.setStyleSheet(
            "QLabel { background: #111; color: #eee; border: 1px solid #555; padding: 2px; }"
        )
        self._preview.setAlignment(Qt.AlignmentFlag.AlignCenter)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(600, 48)

    # -- state ------------------------------------------------------------------------------------
    def set_range(self, num_frames: int, fps: float = 30.0) -> None:
        self.num_frames = max(0, int(num_frames))
        self.fps = fps or 30.0
        self.position = min(self.position, max(0, self.num_frames - 1))
        self._thumbs = []
        self.update()

    def set_position(self, frame: int) -> None:
        frame = max(0, min(int(frame), max(0, self.num_frames - 1)))
        if frame != self.position:
            self.position = frame
            self.update()

    def set_trim(self, trim_in: int | None, trim_out: int | None) -> None:
        self.trim_in, self.trim_out = trim_in, trim_out
        self.update()

    def set_thumbnails(self, thumbs: list[tuple[int, np.ndarray]]) -> None:
        """(frame index, small RGB array) pairs in frame order."""
        self._thumbs = [(i, rgb_to_qimage(a), a) for i, a in thumbs]
        self.update()

    def thumbnail_count(self) -> int:
        return len(self._thumbs)

    # -- geometry ---------------------------------------------------------------------------------
    def _track(self) -> QRectF:
        return QRectF(8, 4, max(1, self.width() - 16), self.height() - 8)

    def x_for(self, frame: float) -> float:
        return x_for_frame(self._track(), self.num_frames, frame)

    def frame_at(self, x: float) -> int:
        return frame_at_x(self._track(), self.num_frames, x)

    # -- painting ---------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        track = self._track()
        painter.fillRect(track, palette.color("plot_bg"))
        if self._thumbs and self.num_frames > 1:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            bounds = [self.x_for(i) for i, _, _ in self._thumbs] + [track.right()]
            for n, (_, image, _) in enumerate(self._thumbs):
                left = bounds[n] if n else track.left()
                right = bounds[n + 1]
                target = QRectF(left, track.top(), max(1.0, right - left), track.height())
                painter.drawImage(target, image)
            painter.fillRect(track, QColor(0, 0, 0, 60))
        elif self.num_frames > 1:
            self._paint_ruler(painter, track)
        if self.num_frames > 1:
            shade = QColor(0, 0, 0, 170)
            if self.trim_in is not None:
                painter.fillRect(
                    QRectF(
                        track.left(), track.top(), self.x_for(self.trim_in) - track.left(), track.height()
                    ),
                    shade,
                )
            if self.trim_out is not None:
                x = self.x_for(self.trim_out)
                painter.fillRect(QRectF(x, track.top(), track.right() - x, track.height()), shade)
            trim_pen = QPen(palette.color("trim"), 3)
            painter.setPen(trim_pen)
            for value, sign in ((self.trim_in, 1), (self.trim_out, -1)):
                if value is None:
                    continue
                x = self.x_for(value)
                painter.drawLine(int(x), int(track.top()), int(x), int(track.bottom()))
                painter.drawLine(int(x), int(track.top()), int(x + 6 * sign), int(track.top()))
                painter.drawLine(int(x), int(track.bottom()), int(x + 6 * sign), int(track.bottom()))
        painter.setPen(QPen(palette.color("grid"), 1))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(track)
        if self.num_frames:
            x = self.x_for(self.position)
            painter.setPen(QPen(palette.color("accent"), 2))
            painter.drawLine(int(x), int(track.top()) - 2, int(x), int(track.bottom()) + 2)
            painter.setBrush(palette.color("accent"))
            painter.drawEllipse(QRectF(x - 5, track.top() - 4, 10, 10))
        else:
            painter.setPen(palette.color("muted"))
            painter.drawText(track, Qt.AlignmentFlag.AlignCenter, "No episode")
        painter.end()

    def _paint_ruler(self, painter: QPainter, track: QRectF) -> None:
        """Second ticks with labels (seconds and frames) when there are no thumbnails to show."""
        duration = (self.num_frames - 1) / self.fps
        steps = (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)
        step = next((s for s in steps if track.width() * s / duration >= 90), 600)
        painter.setPen(QPen(palette.color("grid"), 1))
        font = painter.font()
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        painter.setFont(font)
        k = 0
        while k * step <= duration + 1e-9:
            t = k * step
            x = self.x_for(t * self.fps)
            painter.setPen(QPen(palette.color("grid"), 1))
            painter.drawLine(int(x), int(track.bottom()) - 8, int(x), int(track.bottom()))
            if k and x < track.right() - 50:
                painter.setPen(palette.color("muted"))
                painter.drawText(
                    QRectF(x + 3, track.top(), 90, track.height() - 4),
                    Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom,
                    f"{t:g} s · {round(t * self.fps)}",
                )
            k += 1

    # -- mouse ------------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.button() == Qt.MouseButton.LeftButton and self.num_frames:
            self._dragging = True
            self._scrub(event.position().x())

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt API
        x = event.position().x()
        if self._dragging:
            self._scrub(x)
        if self.num_frames:
            frame = self.frame_at(x)
            self.hovered.emit(frame)
            self._show_preview(frame, x)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self._dragging:
            self._dragging = False
            self.scrubFinished.emit(self.position)

    def leaveEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._preview.hide()
        self.hovered.emit(-1)

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._preview.hide()

    def _scrub(self, x: float) -> None:
        frame = self.frame_at(x)
        if frame != self.position:
            self.position = frame
            self.update()
        self.scrubbed.emit(frame)

    def nearest_thumbnail(self, frame: int) -> tuple[int, np.ndarray] | None:
        if not self._thumbs:
            return None
        best = min(self._thumbs, key=lambda t: abs(t[0] - frame))
        return best[0], best[2]

    def _show_preview(self, frame: int, x: float) -> None:
        seconds = frame / self.fps if self.fps else 0.0
        text = f"frame {frame} · {seconds:.2f} s"
        nearest = self.nearest_thumbnail(frame)
        if nearest is None:
            self._preview.setPixmap(QPixmap())
            self._preview.setText(text)
        else:
            image = rgb_to_qimage(nearest[1]).scaledToWidth(176, Qt.TransformationMode.SmoothTransformation)
            canvas = QImage(image.width(), image.height() + 18, QImage.Format.Format_RGB888)
            canvas.fill(QColor("#111"))
            p = QPainter(canvas)
            p.drawImage(0, 0, image)
            p.setPen(QColor("#eee"))
            p.setFont(QFont(self.font().family(), 8))
            p.drawText(QRectF(0, image.height(), image.width(), 18), Qt.AlignmentFlag.AlignCenter, text)
            p.end()
            self._preview.setPixmap(QPixmap.fromImage(canvas))
        self._preview.adjustSize()
        global_pos = self.mapToGlobal(QPoint(int(x), 0))
        self._preview.move(
            global_pos.x() - self._preview.width() // 2, global_pos.y() - self._preview.height() - 6
        )
        self._preview.show()


def _tool_button(icon: str, tip: str) -> QToolButton:
    button = QToolButton()
    button.setIcon(media_icon(icon))
    button.setIconSize(QSize(18, 18))
    button.setToolTip(tip)
    button.setAutoRaise(True)
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    button.setMinimumWidth(30)
    return button


class TransportBar(QWidget):
    """|<  <  play  >  >|  speed  [timeline]  frame/time  in  out"""

    seekRequested = Signal(int)
    stepRequested = Signal(int)  # +-1, +-10
    playToggled = Signal()
    speedChanged = Signal(float)
    trimInRequested = Signal()
    trimOutRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.timeline = TimelineBar(self)
        self.first_button = _tool_button("first", "First frame (Home)")
        self.back_button = _tool_button("step_back", "Previous frame (Left; Shift+Left: 10 frames)")
        self.play_button = _tool_button("play", "Play / pause (Space)")
        self.play_button.setObjectName("playButton")
        self.forward_button = _tool_button("step_forward", "Next frame (Right; Shift+Right: 10 frames)")
        self.last_button = _tool_button("last", "Last frame (End)")
        self.speed = QComboBox()
        self.speed.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.speed.setToolTip("Playback speed")
        for value in SPEEDS:
            self.speed.addItem(f"{value:g}×", value)
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.position_label = QLabel("–")
        self.position_label.setObjectName("positionLabel")
        self.position_label.setMinimumWidth(230)
        self.in_button = QToolButton()
        self.in_button.setText("In")
        self.in_button.setToolTip("Set trim in at the playhead (I)")
        self.out_button = QToolButton()
        self.out_button.setText("Out")
        self.out_button.setToolTip("Set trim out at the playhead (O)")
        for button in (self.in_button, self.out_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setMinimumWidth(36)
        self.trim_label = QLabel("")
        self.trim_label.setObjectName("mutedLabel")

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        for widget in (
            self.first_button,
            self.back_button,
            self.play_button,
            self.forward_button,
            self.last_button,
        ):
            row.addWidget(widget)
        row.addWidget(self.speed)
        row.addSpacing(8)
        row.addWidget(self.position_label)
        row.addStretch(1)
        row.addWidget(self.trim_label)
        row.addWidget(self.in_button)
        row.addWidget(self.out_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(2)
        layout.addWidget(self.timeline)
        layout.addLayout(row)

        self.first_button.clicked.connect(lambda: self.seekRequested.emit(0))
        self.last_button.clicked.connect(
            lambda: self.seekRequested.emit(max(0, self.timeline.num_frames - 1))
        )
        self.back_button.clicked.connect(lambda: self.stepRequested.emit(-1))
        self.forward_button.clicked.connect(lambda: self.stepRequested.emit(1))
        self.play_button.clicked.connect(self.playToggled.emit)
        self.speed.currentIndexChanged.connect(
            lambda _i: self.speedChanged.emit(float(self.speed.currentData()))
        )
        self.in_button.clicked.connect(self.trimInRequested.emit)
        self.out_button.clicked.connect(self.trimOutRequested.emit)
        self.timeline.scrubbed.connect(self.seekRequested.emit)

    def set_playing(self, playing: bool) -> None:
        self.play_button.setIcon(media_icon("pause" if playing else "play"))
        self.play_button.setToolTip("Pause (Space)" if playing else "Play (Space)")

    def set_speed(self, value: float) -> None:
        index = min(range(len(SPEEDS)), key=lambda i: abs(SPEEDS[i] - value))
        self.speed.setCurrentIndex(index)

    def set_position(self, frame: int, num_frames: int, fps: float) -> None:
        self.timeline.set_position(frame)
        seconds = frame / fps if fps else 0.0
        total = (num_frames - 1) / fps if fps and num_frames else 0.0
        self.position_label.setText(f"frame {frame}/{max(0, num_frames - 1)} · {seconds:.2f}/{total:.2f} s")

    def set_trim(self, trim_in: int | None, trim_out: int | None) -> None:
        self.timeline.set_trim(trim_in, trim_out)
        if trim_in is None and trim_out is None:
            self.trim_label.setText("")
        else:
            a = "start" if trim_in is None else str(trim_in)
            b = "end" if trim_out is None else str(trim_out)
            self.trim_label.setText(f"keep {a}–{b}")
