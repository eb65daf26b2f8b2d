"""A 3D view of the SO-101 drawn with QPainter: a solid arm (A) and a ghost arm (B).

pyqtgraph.opengl needs an OpenGL context, which offscreen Qt (tests, headless CI, remote
sessions) cannot create. This view projects the arm's 3D points itself (orbit camera, perspective)
and paints lines and discs, so it works everywhere, including ``grab()`` for reports.

    view = ArmView()
    view.set_arms(points_a, points_b)      # (K, 3) metres each, or None; from ArmModel.points
    view.set_paths(tip_path_a, tip_path_b) # optional (T, 3) gripper paths drawn as trails

Drag to orbit, wheel to zoom, double-click to reset. The skeleton (segments between points) is
``backend.kinematics.SKELETON`` unless another is given.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from backend.kinematics import POINT_NAMES, SKELETON
from widgets import palette

DEFAULT_AZIMUTH = -135.0  # degrees, camera around the vertical axis (from +x towards +y)
DEFAULT_ELEVATION = 25.0
DEFAULT_DISTANCE = 0.85  # metres from the target
TARGET = np.array([0.15, 0.0, 0.12])  # what the camera looks at (base frame, metres)


class ArmView(QWidget):
    viewChanged = Signal()

    def __init__(
        self, parent: QWidget | None = None, skeleton: tuple[tuple[int, int], ...] = SKELETON
    ) -> None:
        super().__init__(parent)
        self.skeleton = skeleton
        self.azimuth = DEFAULT_AZIMUTH
        self.elevation = DEFAULT_ELEVATION
        self.distance = DEFAULT_DISTANCE
        self.points_a: np.ndarray | None = None
        self.points_b: np.ndarray | None = None
        self.path_a: np.ndarray | None = None
        self.path_b: np.ndarray | None = None
        self.label_a, self.label_b = "A", "B"
        self.color_a = QColor("#e8a33d")
        self.color_b = QColor("#4e9bff")
        self.empty_text = "No SO-101 joints to draw"
        self.caption = ""
        self._drag: QPointF | None = None
        self.setMinimumSize(220, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("Solid: A, ghost: B. Drag to orbit, wheel to zoom, double-click to reset.")

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(360, 320)

    # -- data -------------------------------------------------------------------------------------
    def set_arms(self, points_a: np.ndarray | None, points_b: np.ndarray | None = None) -> None:
        self.points_a = None if points_a is None else np.asarray(points_a, dtype=np.float64)
        self.points_b = None if points_b is None else np.asarray(points_b, dtype=np.float64)
        self.update()

    def set_paths(self, path_a: np.ndarray | None, path_b: np.ndarray | None = None) -> None:
        self.path_a = None if path_a is None else np.asarray(path_a, dtype=np.float64)
        self.path_b = None if path_b is None else np.asarray(path_b, dtype=np.float64)
        self.update()

    def set_labels(self, a: str, b: str) -> None:
        self.label_a, self.label_b = a, b
        self.update()

    def clear(self, text: str | None = None) -> None:
        self.points_a = self.points_b = self.path_a = self.path_b = None
        if text is not None:
            self.empty_text = text
        self.update()

    def reset_view(self) -> None:
        self.azimuth, self.elevation, self.distance = DEFAULT_AZIMUTH, DEFAULT_ELEVATION, DEFAULT_DISTANCE
        self.update()
        self.viewChanged.emit()

    # -- camera -----------------------------------------------------------------------------------
    def camera(self) -> tuple[np.ndarray, np.ndarray]:
        """(eye position, 3x3 rotation world -> camera with rows right, up, forward)."""
        az, el = math.radians(self.azimuth), math.radians(self.elevation)
        direction = np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])
        eye = TARGET + self.distance * direction
        forward = TARGET - eye
        forward /= np.linalg.norm(forward)
        right = np.cross(forward, np.array([0.0, 0.0, 1.0]))
        if np.linalg.norm(right) < 1e-9:
            right = np.array([0.0, 1.0, 0.0])
        right /= np.linalg.norm(right)
        up = np.cross(right, forward)
        return eye, np.stack([right, up, forward])

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Screen coordinates (N, 2) in pixels and depths (N,) of world points (N, 3)."""
        eye, rot = self.camera()
        cam = (np.asarray(points, dtype=np.float64) - eye) @ rot.T
        depth = np.maximum(cam[:, 2], 1e-3)
        focal = 1.6 * min(self.width(), self.height()) / 2.0
        x = self.width() / 2.0 + focal * cam[:, 0] / depth
        y = self.height() / 2.0 - focal * cam[:, 1] / depth
        return np.stack([x, y], axis=1), depth

    # -- painting ---------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), palette.color("plot_bg"))
        self._draw_floor(painter)
        if self.points_a is None and self.points_b is None:
            painter.setPen(palette.color("muted"))
            painter.drawText(
                self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.empty_text
            )
            painter.end()
            return
        for path, color in ((self.path_a, self.color_a), (self.path_b, self.color_b)):
            if path is not None and len(path) > 1:
                self._draw_path(painter, path, color)
        if self.points_b is not None:
            ghost = QColor(self.color_b)
            ghost.setAlpha(palette.B_ALPHA)
            self._draw_arm(painter, self.points_b, ghost, width=7.0)
        if self.points_a is not None:
            self._draw_arm(painter, self.points_a, self.color_a, width=6.0)
        self._draw_legend(painter)
        painter.end()

    def _draw_floor(self, painter: QPainter) -> None:
        pen = QPen(palette.color("grid"))
        pen.setWidthF(1.0)
        painter.setPen(pen)
        ticks = np.linspace(-0.2, 0.5, 15)
        for x in ticks:
            self._line(painter, np.array([[x, -0.35, 0.0], [x, 0.35, 0.0]]))
        for y in np.linspace(-0.35, 0.35, 15):
            self._line(painter, np.array([[-0.2, y, 0.0], [0.5, y, 0.0]]))
        for axis, color in ((0, "#d9534f"), (1, "#5cb85c"), (2, "#5b8def")):
            end = np.zeros(3)
            end[axis] = 0.08
            pen = QPen(QColor(color))
            pen.setWidthF(2.0)
            painter.setPen(pen)
            self._line(painter, np.stack([np.zeros(3), end]))

    def _line(self, painter: QPainter, segment: np.ndarray) -> None:
        (p0, p1), _ = self.project(segment)
        painter.drawLine(QPointF(*p0), QPointF(*p1))

    def _draw_path(self, painter: QPainter, path: np.ndarray, color: QColor) -> None:
        screen, _ = self.project(path)
        trail = QPainterPath(QPointF(*screen[0]))
        for x, y in screen[1:]:
            trail.lineTo(x, y)
        faint = QColor(color)
        faint.setAlpha(110)
        pen = QPen(faint)
        pen.setWidthF(1.5)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(trail)

    def _draw_arm(self, painter: QPainter, points: np.ndarray, color: QColor, width: float) -> None:
        """One stick figure per block of ``len(POINT_NAMES)`` points (a bi-arm has two)."""
        block = len(POINT_NAMES)
        if len(points) > block and len(points) % block == 0:
            for start in range(0, len(points), block):
                self._draw_one_arm(painter, points[start : start + block], color, width)
        else:
            self._draw_one_arm(painter, points, color, width)

    def _draw_one_arm(self, painter: QPainter, points: np.ndarray, color: QColor, width: float) -> None:
        screen, depth = self.project(points)
        # base plate, under the arm's base
        base = QColor(color)
        base.setAlpha(min(color.alpha(), 90))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(base)
        centre = np.array([points[0][0], points[0][1], 0.0])
        ring = centre + np.array(
            [[0.05 * math.cos(a), 0.05 * math.sin(a), 0.0] for a in np.linspace(0, 2 * math.pi, 24)]
        )
        ring_screen, _ = self.project(ring)
        outline = QPainterPath(QPointF(*ring_screen[0]))
        for x, y in ring_screen[1:]:
            outline.lineTo(x, y)
        outline.closeSubpath()
        painter.drawPath(outline)
        # links, far ones first
        scale = self.distance / np.maximum(depth, 1e-3)
        order = sorted(self.skeleton, key=lambda s: -(depth[s[0]] + depth[s[1]]))
        for i, j in order:
            if i >= len(points) or j >= len(points):
                continue
            pen = QPen(color)
            pen.setWidthF(max(1.5, width * float(scale[i] + scale[j]) / 2.0))
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            painter.setPen(pen)
            painter.drawLine(QPointF(*screen[i]), QPointF(*screen[j]))
        joint_fill = QColor(color).darker(140)
        joint_fill.setAlpha(color.alpha())
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(joint_fill)
        for k in range(min(len(points), 7)):
            r = max(2.0, 0.7 * width * float(scale[k]))
            painter.drawEllipse(QPointF(*screen[k]), r, r)

    def _draw_legend(self, painter: QPainter) -> None:
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.9))
        painter.setFont(font)
        y = 16.0
        for label, color, alpha in (
            (self.label_a, self.color_a, 255),
            (self.label_b, self.color_b, palette.B_ALPHA),
        ):
            if (label == self.label_a and self.points_a is None) or (
                label == self.label_b and self.points_b is None
            ):
                continue
            swatch = QColor(color)
            swatch.setAlpha(alpha)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(swatch)
            painter.drawRect(QRectF(8, y - 8, 14, 8))
            painter.setPen(palette.color("text"))
            painter.drawText(QPointF(28, y), label)
            y += 16
        if self.caption:
            painter.setPen(palette.color("muted"))
            painter.drawText(
                QRectF(8, self.height() - 22, self.width() - 16, 18),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                self.caption,
            )

    # -- mouse ------------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.button() == Qt.MouseButton.LeftButton:
            self._drag = event.position()
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self._drag is not None:
            delta = event.position() - self._drag
            self._drag = event.position()
            self.orbit(-0.4 * delta.x(), 0.4 * delta.y())
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._drag = None
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.reset_view()

    def wheelEvent(self, event) -> None:  # noqa: N802 - Qt API
        steps = event.angleDelta().y() / 120.0
        self.zoom(0.9**steps)

    def orbit(self, d_azimuth: float, d_elevation: float) -> None:
        self.azimuth = (self.azimuth + d_azimuth + 180.0) % 360.0 - 180.0
        self.elevation = float(np.clip(self.elevation + d_elevation, -10.0, 89.0))
        self.update()
        self.viewChanged.emit()

    def zoom(self, factor: float) -> None:
        self.distance = float(np.clip(self.distance * factor, 0.3, 4.0))
        self.update()
        self.viewChanged.emit()
