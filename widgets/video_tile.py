"""Video tiles: one camera frame drawn to fit (QImage fast path), and a grid of them.

``VideoTile.set_frame(rgb, index)`` takes an RGB uint8 (H, W, 3) array; the tile keeps a reference
(QImage does not copy) and repaints. Empty tiles say what to do instead of being grey boxes.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from PySide6.QtWidgets import QGridLayout, QSizePolicy, QWidget

from widgets import palette


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """A QImage view of an RGB uint8 (H, W, 3) C-contiguous array (keep the array alive)."""
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[:, :, None], 3, axis=2)
    if rgb.dtype != np.uint8 or not rgb.flags.c_contiguous:
        rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width = rgb.shape[:2]
    return QImage(rgb.data, width, height, int(rgb.strides[0]), QImage.Format.Format_RGB888)


class VideoTile(QWidget):
    """One camera: the frame scaled to fit with its aspect ratio, the camera name and frame index."""

    frameShown = Signal(int)  # frame index handed to the tile (repaint scheduled)
    clicked = Signal()

    def __init__(self, title: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.empty_text = "No video"
        self.index = -1  # index of the frame shown, -1 when none
        self.painted_index = -1  # index of the last frame actually painted
        self._rgb: np.ndarray | None = None
        self._image: QImage | None = None
        self._caption = ""
        self.smooth = True
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(480, 360)

    def set_frame(self, rgb: np.ndarray | None, index: int = -1, caption: str = "") -> None:
        if rgb is None:
            self.clear()
            return
        self._rgb = (
            rgb if rgb.flags.c_contiguous and rgb.dtype == np.uint8 else np.ascontiguousarray(rgb, np.uint8)
        )
        self._image = rgb_to_qimage(self._rgb)
        self.index = int(index)
        self._caption = caption
        self.update()
        self.frameShown.emit(self.index)

    def clear(self, empty_text: str | None = None) -> None:
        self._rgb = None
        self._image = None
        self.index = -1
        if empty_text is not None:
            self.empty_text = empty_text
        self.update()

    def frame(self) -> np.ndarray | None:
        """The array shown now (for tests and tools)."""
        return self._rgb

    def image_rect(self) -> QRectF:
        if self._image is None:
            return QRectF()
        w, h = self.width(), self.height()
        iw, ih = self._image.width(), self._image.height()
        scale = min(w / iw, h / ih) if iw and ih else 1.0
        dw, dh = iw * scale, ih * scale
        return QRectF((w - dw) / 2, (h - dh) / 2, dw, dh)

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.clicked.emit()
        super().mousePressEvent(event)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        painter.fillRect(
            self.rect(), QColor("#0f1114") if palette.theme_name() == "dark" else QColor("#202225")
        )
        font = QFont(self.font())
        if self._image is None:
            painter.setPen(QColor("#9aa0a6"))
            painter.drawText(
                self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.empty_text
            )
        else:
            if self.smooth:
                painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(self.image_rect(), self._image)
            self.painted_index = self.index
        # caption bar: camera name left, frame text right
        bar_h = max(18, int(font.pointSizeF() * 2.0)) if font.pointSizeF() > 0 else 20
        if self.title or self._caption:
            painter.fillRect(QRectF(0, 0, self.width(), bar_h), QColor(0, 0, 0, 150))
            painter.setPen(QColor("#ffffff"))
            text_rect = QRectF(6, 0, self.width() - 12, bar_h)
            painter.drawText(
                text_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, self.title
            )
            if self._caption and self._image is not None:
                painter.setPen(QColor("#c8ccd0"))
                painter.drawText(
                    text_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, self._caption
                )
        painter.end()


class VideoGrid(QWidget):
    """Tiles for a list of cameras, laid out in a near-square grid (2 cameras: side by side)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QGridLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)
        self.tiles: dict[str, VideoTile] = {}
        self._placeholder = VideoTile("")
        self._placeholder.empty_text = "No cameras"
        self._layout.addWidget(self._placeholder, 0, 0)
        self.setMinimumHeight(140)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(800, 400)

    def set_cameras(self, names: list[str], empty_text: str = "Loading…") -> None:
        for tile in self.tiles.values():
            self._layout.removeWidget(tile)
            tile.deleteLater()
        self.tiles = {}
        self._placeholder.setVisible(not names)
        if not names:
            return
        columns = max(1, math.ceil(math.sqrt(len(names))))
        if len(names) == 2:
            columns = 2
        for position, name in enumerate(names):
            tile = VideoTile(name, self)
            tile.empty_text = empty_text
            self.tiles[name] = tile
            self._layout.addWidget(tile, position // columns, position % columns)

    def set_empty_text(self, text: str) -> None:
        self._placeholder.clear(text)
        for tile in self.tiles.values():
            tile.clear(text)
