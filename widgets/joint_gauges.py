"""Live per-joint gauges for calibration: the encoder scale 0..4095, the range swept so far,
the middle mark and the current position, with the numbers beside each bar."""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from backend.sessions.recording import number
from widgets import palette

SCALE_MAX = 4095
MID = 2047


class JointGauges(QWidget):
    def __init__(self, joints: list[str] | tuple[str, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.joints = list(joints)
        self.raw: dict[str, int] = {}
        self.mins: dict[str, int] = {}
        self.maxs: dict[str, int] = {}
        self.normalized: dict[str, float] = {}
        self.unit = ""
        self.setMinimumHeight(28 * len(self.joints) + 8)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(520, 30 * len(self.joints) + 8)

    def set_values(
        self,
        raw: Mapping[str, int],
        mins: Mapping[str, int] | None = None,
        maxs: Mapping[str, int] | None = None,
        normalized: Mapping[str, float] | None = None,
        unit: str = "",
    ) -> None:
        self.raw = dict(raw)
        self.mins = dict(mins or {})
        self.maxs = dict(maxs or {})
        self.normalized = dict(normalized or {})
        self.unit = unit
        self.update()

    def text_for(self, joint: str) -> str:
        """What the gauge writes beside a joint (also handy in tests)."""
        raw = self.raw.get(joint)
        parts = [f"{raw:5d}" if raw is not None else "    -"]
        if joint in self.mins:
            parts.append(f"[{self.mins[joint]}..{self.maxs[joint]}]")
        if joint in self.normalized:
            parts.append(f"{number(self.normalized[joint], '7.1f')} {self.unit}".rstrip())
        return " ".join(parts)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont(self.font())
        painter.setFont(font)
        label_w, value_w = 96, 190
        row_h = max(22.0, (self.height() - 8) / max(1, len(self.joints)))
        bar_w = max(40.0, self.width() - label_w - value_w - 16)
        for i, joint in enumerate(self.joints):
            top = 4 + i * row_h
            mid_y = top + row_h / 2
            painter.setPen(palette.color("text"))
            painter.drawText(QRectF(4, top, label_w - 8, row_h), Qt.AlignmentFlag.AlignVCenter, joint)
            bar = QRectF(label_w, mid_y - 6, bar_w, 12)
            painter.fillRect(bar, palette.color("panel").darker(130))
            painter.setPen(QPen(palette.color("grid")))
            painter.drawRect(bar)
            colour = palette.joint_color(joint, i)
            if joint in self.mins and joint in self.maxs:
                lo = bar.left() + bar.width() * self.mins[joint] / SCALE_MAX
                hi = bar.left() + bar.width() * self.maxs[joint] / SCALE_MAX
                swept = QColor(colour)
                swept.setAlpha(110)
                painter.fillRect(QRectF(lo, bar.top(), max(1.0, hi - lo), bar.height()), swept)
            mid_x = bar.left() + bar.width() * MID / SCALE_MAX
            painter.setPen(QPen(palette.color("muted"), 1, Qt.PenStyle.DotLine))
            painter.drawLine(int(mid_x), int(bar.top() - 3), int(mid_x), int(bar.bottom() + 3))
            raw = self.raw.get(joint)
            if raw is not None:
                x = bar.left() + bar.width() * min(max(raw, 0), SCALE_MAX) / SCALE_MAX
                painter.setPen(QPen(colour, 3))
                painter.drawLine(int(x), int(bar.top() - 4), int(x), int(bar.bottom() + 4))
            painter.setPen(palette.color("text"))
            painter.drawText(
                QRectF(label_w + bar_w + 8, top, value_w, row_h),
                Qt.AlignmentFlag.AlignVCenter,
                self.text_for(joint),
            )
        painter.end()
