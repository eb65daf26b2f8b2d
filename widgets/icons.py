"""Small vector icons drawn with QPainter in the theme's text colour (no font glyph surprises)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPixmap, QPolygonF

from widgets import palette

_SIZE = 32


def _triangle(x0: float, x1: float, pointing_right: bool = True) -> QPolygonF:
    top, bottom, mid = 7.0, 25.0, 16.0
    if pointing_right:
        return QPolygonF([QPointF(x0, top), QPointF(x1, mid), QPointF(x0, bottom)])
    return QPolygonF([QPointF(x1, top), QPointF(x0, mid), QPointF(x1, bottom)])


def media_icon(kind: str, color: QColor | None = None) -> QIcon:
    """kind: play, pause, step_forward, step_back, first, last, flag, good, bad."""
    pixmap = QPixmap(_SIZE, _SIZE)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    qcolor = color or palette.color("text")
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(qcolor)
    if kind == "play":
        painter.drawPolygon(_triangle(9, 25))
    elif kind == "pause":
        painter.drawRect(QRectF(9, 7, 5, 18))
        painter.drawRect(QRectF(18, 7, 5, 18))
    elif kind == "step_forward":
        painter.drawPolygon(_triangle(8, 21))
        painter.drawRect(QRectF(21, 7, 3, 18))
    elif kind == "step_back":
        painter.drawRect(QRectF(8, 7, 3, 18))
        painter.drawPolygon(_triangle(11, 24, pointing_right=False))
    elif kind == "first":
        painter.drawRect(QRectF(5, 7, 3, 18))
        painter.drawPolygon(_triangle(8, 18, pointing_right=False))
        painter.drawPolygon(_triangle(17, 27, pointing_right=False))
    elif kind == "last":
        painter.drawPolygon(_triangle(5, 15))
        painter.drawPolygon(_triangle(14, 24))
        painter.drawRect(QRectF(24, 7, 3, 18))
    elif kind == "flag":
        painter.drawRect(QRectF(8, 5, 2.5, 23))
        path = QPainterPath()
        path.moveTo(10.5, 6)
        path.lineTo(25, 10.5)
        path.lineTo(10.5, 15)
        path.closeSubpath()
        painter.drawPath(path)
    elif kind in ("good", "bad"):
        pen = painter.pen()
        pen.setStyle(Qt.PenStyle.SolidLine)
        pen.setColor(qcolor)
        pen.setWidthF(3.5)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if kind == "good":
            painter.drawPolyline(QPolygonF([QPointF(7, 17), QPointF(13, 23), QPointF(25, 9)]))
        else:
            painter.drawLine(QPointF(9, 9), QPointF(23, 23))
            painter.drawLine(QPointF(23, 9), QPointF(9, 23))
    painter.end()
    return QIcon(pixmap)


def pane_icon(key: str, color: QColor | None = None) -> QIcon:
    """Rail icons: teleop (arm), browse (film frames), convert (arrows), jobs (queue), compare (A|B)."""
    pixmap = QPixmap(_SIZE, _SIZE)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    qcolor = color or palette.color("text")
    pen = painter.pen()
    pen.setColor(qcolor)
    pen.setWidthF(2.4)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    if key == "teleop":
        painter.drawLine(QPointF(6, 27), QPointF(18, 27))  # base
        painter.drawPolyline(QPolygonF([QPointF(12, 27), QPointF(12, 19), QPointF(21, 10), QPointF(26, 15)]))
        painter.setBrush(qcolor)
        painter.drawEllipse(QPointF(12, 19), 2.2, 2.2)
        painter.drawEllipse(QPointF(21, 10), 2.2, 2.2)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawLine(QPointF(26, 15), QPointF(28, 20))
    elif key == "browse":
        painter.drawRoundedRect(QRectF(4, 7, 24, 18), 2.5, 2.5)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(qcolor)
        painter.drawPolygon(QPolygonF([QPointF(13, 11), QPointF(21, 16), QPointF(13, 21)]))
    elif key == "convert":
        painter.drawLine(QPointF(6, 11), QPointF(24, 11))
        painter.drawPolyline(QPolygonF([QPointF(20, 7), QPointF(24, 11), QPointF(20, 15)]))
        painter.drawLine(QPointF(26, 21), QPointF(8, 21))
        painter.drawPolyline(QPolygonF([QPointF(12, 17), QPointF(8, 21), QPointF(12, 25)]))
    elif key == "jobs":
        for y in (9.0, 16.0, 23.0):
            painter.drawLine(QPointF(13, y), QPointF(27, y))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(qcolor)
        painter.drawPolygon(QPolygonF([QPointF(4, 5), QPointF(10, 9), QPointF(4, 13)]))
        painter.drawEllipse(QPointF(7, 16), 1.8, 1.8)
        painter.drawEllipse(QPointF(7, 23), 1.8, 1.8)
    elif key == "compare":
        painter.drawRoundedRect(QRectF(4, 8, 11, 16), 2, 2)
        faded = QColor(qcolor)
        faded.setAlpha(130)
        pen.setColor(faded)
        painter.setPen(pen)
        painter.drawRoundedRect(QRectF(17, 8, 11, 16), 2, 2)
    else:
        painter.drawEllipse(QPointF(16, 16), 9, 9)
    painter.end()
    return QIcon(pixmap)
