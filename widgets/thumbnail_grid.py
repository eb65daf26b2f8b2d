"""A fast grid of looping thumbnails: one list model and one delegate painting cached QImages.

No widget per cell: ``ThumbnailGrid`` is a ``QListView`` in icon mode with uniform cells, so a page
of hundreds of cells costs one view. Each cell has a few small frames (``QImage``, built off the GUI
thread by the caller) that loop: a timer advances one shared tick and repaints only the viewport,
and the delegate draws each visible cell's frame at its native size (a blit, no scaling), then a
border for the decision, a title and coloured badges.

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
    QRect,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QKeyEvent, QPainter, QPen
from PySide6.QtWidgets import QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

KEYS = {
    Qt.Key.Key_A: "A", Qt.Key.Key_R: "R", Qt.Key.Key_F: "F", Qt.Key.Key_U: "U", Qt.Key.Key_B: "B",
    Qt.Key.Key_Return: "Enter", Qt.Key.Key_Enter: "Enter",
    Qt.Key.Key_Left: "Left", Qt.Key.Key_Right: "Right", Qt.Key.Key_Up: "Up", Qt.Key.Key_Down: "Down",
    Qt.Key.Key_PageUp: "PgUp", Qt.Key.Key_PageDown: "PgDown",
}
DECISION_COLOURS = {"good": QColor(60, 180, 90), "bad": QColor(220, 70, 60)}
SEVERITY_COLOURS = {"error": QColor(200, 50, 50), "warning": QColor(215, 150, 30), "info": QColor(70, 120, 200)}
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

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
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
    """Paints a cell: the frame of the grid's tick, the decision border, title, badges and marks."""

    def __init__(self, grid: ThumbnailGrid) -> None:
        super().__init__(grid)
        self.grid = grid
        self.font = QFont(grid.font())
        self.font.setPointSizeF(max(6.0, self.font.pointSizeF() * 0.85))
        self.metrics = QFontMetrics(self.font)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:  # noqa: N802
        size = self.grid.image_size
        return QSize(size.width() + 2 * PAD, size.height() + 2 * PAD + TITLE_HEIGHT)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        model = index.model()
        row = index.row()
        item: GridItem = model.items[row]
        frames: list[QImage] = model.frames[row]
        rect: QRect = option.rect
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.save()
        painter.fillRect(rect, QColor(70, 90, 130) if selected else QColor(36, 36, 40))
        image_rect = QRect(rect.x() + PAD, rect.y() + PAD, self.grid.image_size.width(), self.grid.image_size.height())
        if frames:
            image = frames[self.grid.tick % len(frames)]
            painter.drawImage(image_rect.topLeft(), image)
        else:
            painter.fillRect(image_rect, QColor(55, 55, 60))
        colour = DECISION_COLOURS.get(item.decision or "")
        if colour is not None:
            painter.setPen(QPen(colour, 3))
            painter.drawRect(image_rect.adjusted(1, 1, -2, -2))
        painter.setFont(self.font)
        x = image_rect.x() + 2
        y = image_rect.bottom() - BADGE_HEIGHT - 1
        for text, severity in item.badges[:4]:
            width = self.metrics.horizontalAdvance(text) + 6
            if x + width > image_rect.right():
                break
            badge = QRect(x, y, width, BADGE_HEIGHT)
            painter.fillRect(badge, SEVERITY_COLOURS.get(severity, SEVERITY_COLOURS["info"]))
            painter.setPen(QColor(255, 255, 255))
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)
            x += width + 2
        marks = ("★ best " if item.best else "") + ("⚑" if item.flagged else "")
        if marks:
            mark_rect = QRect(image_rect.x(), image_rect.y() + 2, image_rect.width() - 4, BADGE_HEIGHT)
            painter.setPen(QColor(255, 215, 0))
            painter.drawText(mark_rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, marks)
        title_rect = QRect(rect.x() + PAD, image_rect.bottom() + 1, rect.width() - 2 * PAD, TITLE_HEIGHT)
        painter.setPen(QColor(235, 235, 235) if not item.variant else QColor(190, 200, 220))
        title = ("↳ " if item.variant else "") + item.title
        painter.drawText(title_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         self.metrics.elidedText(title, Qt.TextElideMode.ElideRight, title_rect.width()))
        painter.restore()


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
        self.selectionModel().currentRowChanged.connect(lambda current, _: self.currentRowChanged.emit(current.row()))
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
