"""A fast grid of looping thumbnails: one list model and one delegate painting cached QImages.

No widget per cell: ``ThumbnailGrid`` is a ``QListView`` in icon mode with uniform cells, so a page
of hundreds of cells costs one view. Each cell has a few small frames (``QImage``, built off the GUI
thread by the caller) that loop: a timer advances one shared tick and repaints only the viewport,
and the delegate draws each visible cell's frame at its native size (a blit, no scaling), then the
cell's parts made once per item and kept (title strip, badges, marks as small images, the decision
border as four rectangles): text is laid out when a cell changes, never per tick or scroll step.
Frames given as ``Format_RGB32`` images are painted as plain copies.

    grid = ThumbnailGrid()
    grid.set_cell_size(QSize(160, 120))
    grid.model.set_items([GridItem("ep 0", badges=[("jerky", "warning")], decision="good"), ...])
    grid.model.set_frames(0, [qimage, ...])
    grid.keyPressed.connect(...)   # "A", "Right", "PgDown", "Enter", ... (see KEYS)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QKeyEvent, QPainter
from PySide6.QtWidgets import QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

KEYS = {
    Qt.Key.Key_A: "A",
    Qt.Key.Key_R: "R",
    Qt.Key.Key_F: "F",
    Qt.Key.Key_U: "U",
    Qt.Key.Key_B: "B",
    Qt.Key.Key_Return: "Enter",
    Qt.Key.Key_Enter: "Enter",
    Qt.Key.Key_Left: "Left",
    Qt.Key.Key_Right: "Right",
    Qt.Key.Key_Up: "Up",
    Qt.Key.Key_Down: "Down",
    Qt.Key.Key_PageUp: "PgUp",
    Qt.Key.Key_PageDown: "PgDown",
}
DECISION_COLOURS = {"good": QColor(60, 180, 90), "bad": QColor(220, 70, 60)}
SEVERITY_COLOURS = {
    "error": QColor(200, 50, 50),
    "warning": QColor(215, 150, 30),
    "info": QColor(70, 120, 200),
}
TITLE_HEIGHT = 18
BADGE_HEIGHT = 15
PAD = 3


@dataclass
class GridItem:
    """What one cell shows besides its frames."""

    title: str
    badges: list[tuple[str, str]] = field(default_factory=list)  # (text, severity)
    decision: str | None = None  # good | bad | None: the border's colour
    flagged: bool = False
    best: bool = False  # the best of its group
    variant: bool = False  # a generated variant, drawn indented under its source
    tooltip: str = ""


class ThumbnailModel(QAbstractListModel):
    """Rows of ``GridItem`` and their frames (a list of QImage each, empty until they arrive)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.items: list[GridItem] = []
        self.frames: list[list[QImage]] = []

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.items)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.items):
            return None
        item = self.items[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return item.title
        if role == Qt.ItemDataRole.ToolTipRole:
            return item.tooltip or item.title
        return None

    def set_items(self, items: list[GridItem], frames: list[list[QImage]] | None = None) -> None:
        """New cells (a new page); ``frames`` those already decoded (else empty)."""
        self.beginResetModel()
        self.items = list(items)
        self.frames = list(frames) if frames is not None else [[] for _ in items]
        self.endResetModel()

    def update_items(self, items: list[GridItem]) -> None:
        """The same cells with new titles, badges or decisions (frames kept)."""
        if len(items) != len(self.items):
            self.set_items(items)
            return
        self.items = list(items)
        if items:
            self.dataChanged.emit(self.index(0), self.index(len(items) - 1))

    def set_frames(self, row: int, frames: list[QImage]) -> None:
        if 0 <= row < len(self.frames):
            self.frames[row] = frames
            self.dataChanged.emit(self.index(row), self.index(row))


class ThumbnailDelegate(QStyledItemDelegate):
    """Paints a cell: the frame of the grid's tick, then an overlay image made once per item (the
    decision border, title, badges and marks): a loop tick or a scroll costs two blits a cell."""

    def __init__(self, grid: ThumbnailGrid) -> None:
        super().__init__(grid)
        self.grid = grid
        self.font = QFont(grid.font())
        self.font.setPointSizeF(max(6.0, self.font.pointSizeF() * 0.85))
        self.metrics = QFontMetrics(self.font)
        self._parts: dict[int, tuple[GridItem, tuple[bool, int, int], _Parts]] = {}  # row -> its parts

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:  # noqa: N802
        size = self.grid.image_size
        return QSize(size.width() + 2 * PAD, size.height() + 2 * PAD + TITLE_HEIGHT)

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        """Qt's way in (a drag image, a print): the same as the grid's own paint of a cell."""
        self.paint_cell(
            painter, index.row(), option.rect, bool(option.state & QStyle.StateFlag.State_Selected)
        )

    def paint_cell(self, painter: QPainter, row: int, rect: QRect, selected: bool) -> None:
        """Blits only: the background, the frame of the tick, the cell's cached parts on top."""
        model = self.grid.model
        frames: list[QImage] = model.frames[row]
        parts = self.parts(row, model.items[row], selected)
        painter.fillRect(rect, parts.background)
        origin = rect.topLeft()
        if frames:
            painter.drawImage(origin + _FRAME_AT, frames[self.grid.tick % len(frames)])
        else:
            painter.fillRect(QRect(origin + _FRAME_AT, self.grid.image_size), _EMPTY)
        for edge in parts.border:
            painter.fillRect(edge.translated(origin), parts.border_colour)
        for image, at in parts.images:
            painter.drawImage(origin + at, image)

    def parts(self, row: int, item: GridItem, selected: bool) -> _Parts:
        """What a cell draws besides its frame, made once per row until its item, its selection or
        the cell size changes: the title strip and the badges as opaque images, the marks as a
        small transparent one, the decision border as four rectangles."""
        key = (selected, self.grid.image_size.width(), self.grid.image_size.height())
        cached = self._parts.get(row)
        if cached is not None and cached[0] is item and cached[1] == key:
            return cached[2]
        width, height = self.grid.image_size.width(), self.grid.image_size.height()
        background = QColor(70, 90, 130) if selected else QColor(36, 36, 40)
        images: list[tuple[QImage, QPoint]] = []
        badges = [
            (text, severity, self.metrics.horizontalAdvance(text) + 6) for text, severity in item.badges[:4]
        ]
        total = 0
        for count, (_, _, w) in enumerate(badges):
            if total + w + 2 > width - 4:
                badges = badges[:count]
                break
            total += w + 2
        if badges:
            strip = _image(total - 2, BADGE_HEIGHT, background)  # no gap after the last badge
            with _painting(strip, self.font) as painter:
                x = 0
                for text, severity, w in badges:
                    box = QRect(x, 0, w, BADGE_HEIGHT)
                    painter.fillRect(box, SEVERITY_COLOURS.get(severity, SEVERITY_COLOURS["info"]))
                    painter.setPen(QColor(255, 255, 255))
                    painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
                    x += w + 2
            images.append((strip, QPoint(PAD + 4, PAD + height - BADGE_HEIGHT - 4)))
        marks = ("★ best " if item.best else "") + ("⚑" if item.flagged else "")
        if marks:
            w = self.metrics.horizontalAdvance(marks) + 4
            image = _image(w, BADGE_HEIGHT, QColor(0, 0, 0, 0), QImage.Format.Format_ARGB32_Premultiplied)
            with _painting(image, self.font) as painter:
                painter.setPen(QColor(255, 215, 0))
                painter.drawText(QRect(0, 0, w, BADGE_HEIGHT), Qt.AlignmentFlag.AlignCenter, marks)
            images.append((image, QPoint(PAD + width - w - 4, PAD + 4)))
        title = _image(width + 2 * PAD, TITLE_HEIGHT + PAD, background)
        with _painting(title, self.font) as painter:
            painter.setPen(QColor(235, 235, 235) if not item.variant else QColor(190, 200, 220))
            text = ("↳ " if item.variant else "") + item.title
            painter.drawText(
                QRect(PAD, 0, width, TITLE_HEIGHT),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                self.metrics.elidedText(text, Qt.TextElideMode.ElideRight, width),
            )
        images.append((title, QPoint(0, PAD + height)))
        colour = DECISION_COLOURS.get(item.decision or "")
        border = (
            []
            if colour is None
            else [
                QRect(PAD, PAD, width, 3),
                QRect(PAD, PAD + height - 3, width, 3),
                QRect(PAD, PAD, 3, height),
                QRect(PAD + width - 3, PAD, 3, height),
            ]
        )
        parts = _Parts(background, images, border, colour or background)
        self._parts[row] = (item, key, parts)
        return parts


@dataclass
class _Parts:
    background: QColor
    images: list[tuple[QImage, QPoint]]
    border: list[QRect]
    border_colour: QColor


_FRAME_AT = QPoint(PAD, PAD)
_EMPTY = QColor(55, 55, 60)


def _image(width: int, height: int, fill: QColor, fmt: QImage.Format = QImage.Format.Format_RGB32) -> QImage:
    image = QImage(max(1, width), max(1, height), fmt)
    image.fill(fill)
    return image


class _painting:  # noqa: N801 - a context manager named like the painter it gives
    def __init__(self, image: QImage, font: QFont) -> None:
        self.painter = QPainter(image)
        self.painter.setFont(font)

    def __enter__(self) -> QPainter:
        return self.painter

    def __exit__(self, *_: Any) -> None:
        self.painter.end()


class ThumbnailGrid(QListView):
    """The grid: cells of one size, looping while shown; keys of ``KEYS`` go out as ``keyPressed``."""

    keyPressed = Signal(str)
    currentRowChanged = Signal(int)
    rowActivated = Signal(int)

    def __init__(self, parent: QWidget | None = None, interval_ms: int = 125) -> None:
        super().__init__(parent)
        self.image_size = QSize(160, 120)
        self.tick = 0
        self.model = ThumbnailModel(self)
        self.setModel(self.model)
        self.delegate = ThumbnailDelegate(self)
        self.setItemDelegate(self.delegate)
        self.model.modelReset.connect(self.delegate._parts.clear)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setWrapping(True)
        self.setUniformItemSizes(True)
        self.setSpacing(4)
        self.setSelectionMode(QListView.SelectionMode.SingleSelection)
        self.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        self.setStyleSheet("QListView { background: #202024; }")
        self.timer = QTimer(self, interval=interval_ms, timeout=self.advance)
        self.selectionModel().currentRowChanged.connect(
            lambda current, _: self.currentRowChanged.emit(current.row())
        )
        self.activated.connect(lambda index: self.rowActivated.emit(index.row()))
        self.doubleClicked.connect(lambda index: self.rowActivated.emit(index.row()))

    def set_cell_size(self, size: QSize) -> None:
        """Each cell's image size (every frame given must have it)."""
        if size != self.image_size:
            self.image_size = QSize(size)
            self.model.layoutChanged.emit()
            self.scheduleDelayedItemsLayout()

    def cell_size(self) -> QSize:
        return QSize(self.image_size.width() + 2 * PAD, self.image_size.height() + 2 * PAD + TITLE_HEIGHT)

    def columns(self) -> int:
        """How many cells fit across (the arrows move by this much vertically)."""
        step = self.cell_size().width() + 2 * self.spacing()
        return max(1, self.viewport().width() // max(1, step))

    def visible_rows(self) -> list[int]:
        """The rows with a cell at least partly in view, in row order."""
        area = self.viewport().rect()
        model = self.model
        return [row for row in range(model.rowCount()) if self.visualRect(model.index(row)).intersects(area)]

    def set_current_row(self, row: int) -> None:
        if 0 <= row < self.model.rowCount():
            index = self.model.index(row)
            if self.currentIndex() != index:
                self.setCurrentIndex(index)
            self.scrollTo(index)

    def advance(self) -> None:
        """The loop's tick: the next frame of every cell, repainting only what is visible."""
        self.tick += 1
        self.viewport().update()

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.timer.start()

    def hideEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        self.timer.stop()
        super().hideEvent(event)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            if event.key() in KEYS and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
                event.accept()  # the grid's keys beat the pane's shortcuts while it has focus
                return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        name = KEYS.get(Qt.Key(event.key()))
        if name is not None and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            self.keyPressed.emit(name)
            event.accept()
            return
        super().keyPressEvent(event)
