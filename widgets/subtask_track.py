"""A subtask track for a timeline: labelled segments over frames, edited with the mouse or the keyboard.

Mouse: drag on empty track to create a segment, drag a segment's edge to move it (snapped to frames),
click a segment to select it, double-click to type its text. Keyboard (when the track has focus):
Enter/F2 type the selected segment's text, S split at the playhead, J join with the next segment,
Delete remove, Tab / Shift+Tab select the next / previous, N a new segment from the playhead to the
end of the gap, Ctrl+Z / Ctrl+Shift+Z undo / redo. Suggested segments are drawn as dashed outlines.

The widget only draws and emits requests; whoever owns the segments answers them and calls
``set_segments``. Its frame geometry matches ``widgets.timeline.TimelineBar`` (8 px margins), so the
two line up when stacked.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QPainter, QPen
from PySide6.QtWidgets import QLineEdit, QSizePolicy, QWidget

from widgets import palette
from widgets.timeline import frame_at_x, x_for_frame

EDGE_PX = 5  # how close to an edge a press grabs it


class SubtaskTrack(QWidget):
    createRequested = Signal(int, int)  # first, last frame (inclusive, either order)
    resizeRequested = Signal(int, int, int)  # segment, new start, new end
    selectRequested = Signal(int)  # segment index, -1 for none
    textEdited = Signal(int, str)
    splitRequested = Signal(int)  # frame
    joinRequested = Signal(int)  # segment (joined with the next)
    deleteRequested = Signal(int)
    seekRequested = Signal(int)
    undoRequested = Signal()
    redoRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.num_frames = 0
        self.position = 0
        self.segments: list[tuple[int, int, str]] = []
        self.suggestions: list[tuple[int, int, str]] = []
        self.selected = -1
        self._drag: tuple[str, int, int] | None = None  # ("create" | "start" | "end", segment, anchor frame)
        self._drag_frame = 0
        self.setMinimumHeight(26)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setToolTip("Subtasks: drag to create, double-click to name; S split, J join, Del delete, Tab next")
        self.editor = QLineEdit(self)
        self.editor.setPlaceholderText("subtask text, Enter to keep")
        self.editor.hide()
        self.editor.editingFinished.connect(self._finish_edit)
        self._editing = -1

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(600, 26)

    # -- state --------------------------------------------------------------------------------------
    def set_range(self, num_frames: int) -> None:
        self.num_frames = max(0, int(num_frames))
        self.update()

    def set_position(self, frame: int) -> None:
        if frame != self.position:
            self.position = int(frame)
            self.update()

    def set_segments(self, segments: Sequence[Sequence], selected: int | None = None) -> None:
        self.segments = [(int(s[0]), int(s[1]), str(s[2])) for s in segments]
        self.selected = -1 if selected is None else int(selected)
        self.update()

    def set_suggestions(self, segments: Sequence[Sequence]) -> None:
        self.suggestions = [(int(s[0]), int(s[1]), str(s[2])) for s in segments]
        self.update()

    # -- geometry (as TimelineBar) ------------------------------------------------------------------
    def _track(self) -> QRectF:
        return QRectF(8, 2, max(1, self.width() - 16), self.height() - 4)

    def x_for(self, frame: float) -> float:
        return x_for_frame(self._track(), self.num_frames, frame)

    def frame_at(self, x: float) -> int:
        return frame_at_x(self._track(), self.num_frames, x)

    def _rect(self, start: int, end: int) -> QRectF:
        track = self._track()
        left = max(track.left(), self.x_for(start - 0.5))
        right = min(track.right(), self.x_for(end + 0.5))
        return QRectF(left, track.top(), max(2.0, right - left), track.height())

    def _hit(self, x: float) -> tuple[str, int] | None:
        """("start" | "end" | "inside", segment) under ``x``."""
        for index, (start, end, _) in enumerate(self.segments):
            rect = self._rect(start, end)
            if abs(x - rect.left()) <= EDGE_PX:
                return "start", index
            if abs(x - rect.right()) <= EDGE_PX:
                return "end", index
            if rect.left() <= x <= rect.right():
                return "inside", index
        return None

    # -- painting -----------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        track = self._track()
        painter.fillRect(track, palette.color("plot_bg"))
        if self.num_frames:
            accent = palette.color("accent")
            if not self.segments and self._drag is None:
                painter.setPen(palette.color("muted"))
                painter.drawText(
                    track.adjusted(6, 0, -6, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                    "Subtasks: drag here to add one, right-click for suggestions from motion",
                )
            for start, end, _ in self.suggestions:
                painter.setPen(QPen(palette.color("muted"), 1, Qt.PenStyle.DashLine))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRect(self._rect(start, end).adjusted(0, 2, 0, -2))
            for index, (start, end, text) in enumerate(self.segments):
                rect = self._rect(start, end)
                fill = QColor(accent)
                fill.setAlpha(150 if index == self.selected else 70)
                painter.fillRect(rect, fill)
                painter.setPen(QPen(accent if index != self.selected else palette.color("text"), 1))
                painter.drawRect(rect)
                painter.setPen(palette.color("text") if text else palette.color("muted"))
                painter.drawText(
                    rect.adjusted(4, 0, -2, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                    painter.fontMetrics().elidedText(text or "(no text)", Qt.TextElideMode.ElideRight, int(rect.width()) - 6),
                )
            if self._drag is not None and self._drag[0] == "create":
                first, last = sorted((self._drag[2], self._drag_frame))
                painter.setPen(QPen(accent, 1, Qt.PenStyle.DashLine))
                painter.setBrush(QColor(accent.red(), accent.green(), accent.blue(), 50))
                painter.drawRect(self._rect(first, last))
            x = self.x_for(self.position)
            painter.setPen(QPen(palette.color("accent"), 2))
            painter.drawLine(int(x), int(track.top()), int(x), int(track.bottom()))
        else:
            painter.setPen(palette.color("muted"))
            painter.drawText(track, Qt.AlignmentFlag.AlignCenter, "Subtasks")
        if self.hasFocus():
            painter.setPen(QPen(palette.color("accent"), 1))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(track)
        painter.end()

    # -- mouse --------------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.button() != Qt.MouseButton.LeftButton or not self.num_frames:
            return
        x = event.position().x()
        frame = self.frame_at(x)
        hit = self._hit(x)
        if hit is None:
            self._drag = ("create", -1, frame)
        elif hit[0] == "inside":
            self.selectRequested.emit(hit[1])
            self.seekRequested.emit(frame)
            self._drag = None
        else:
            self._drag = (hit[0], hit[1], frame)
        self._drag_frame = frame
        self.update()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt API
        x = event.position().x()
        if self._drag is not None:
            self._drag_frame = self.frame_at(x)
            self.update()
            return
        hit = self._hit(x)
        edge = hit is not None and hit[0] in ("start", "end")
        self.setCursor(Qt.CursorShape.SizeHorCursor if edge else Qt.CursorShape.ArrowCursor)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt API
        drag, self._drag = self._drag, None
        if drag is None:
            return
        kind, index, anchor = drag
        frame = self._drag_frame
        if kind == "create":
            if frame == anchor:  # a click on empty track: nothing selected, the playhead goes there
                self.selectRequested.emit(-1)
                self.seekRequested.emit(frame)
            else:
                self.createRequested.emit(anchor, frame)
        elif frame != anchor:
            start, end, _ = self.segments[index]
            self.resizeRequested.emit(index, frame if kind == "start" else start, frame if kind == "end" else end)
        self.update()

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 - Qt API
        hit = self._hit(event.position().x())
        if hit is not None:
            self.edit_text(hit[1])

    # -- text editing -------------------------------------------------------------------------------
    def edit_text(self, index: int) -> None:
        if not 0 <= index < len(self.segments):
            return
        start, end, text = self.segments[index]
        rect = self._rect(start, end)
        self._editing = index
        self.editor.setGeometry(int(rect.left()), 0, max(160, int(rect.width())), self.height())
        self.editor.setText(text)
        self.editor.show()
        self.editor.setFocus()
        self.editor.selectAll()

    def _finish_edit(self) -> None:
        index, self._editing = self._editing, -1
        if index < 0 or not self.editor.isVisible():
            return
        self.editor.hide()
        self.setFocus()
        if index < len(self.segments) and self.editor.text().strip() != self.segments[index][2]:
            self.textEdited.emit(index, self.editor.text().strip())

    # -- keyboard -----------------------------------------------------------------------------------
    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt API
        key, selected = event.key(), self.selected
        if event.matches(QKeySequence.StandardKey.Undo):
            self.undoRequested.emit()
        elif event.matches(QKeySequence.StandardKey.Redo):
            self.redoRequested.emit()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_F2) and selected >= 0:
            self.edit_text(selected)
        elif key == Qt.Key.Key_S:
            self.splitRequested.emit(self.position)
        elif key == Qt.Key.Key_J and selected >= 0:
            self.joinRequested.emit(selected)
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and selected >= 0:
            self.deleteRequested.emit(selected)
        elif key == Qt.Key.Key_N and self.num_frames:
            self.createRequested.emit(self.position, self._gap_end(self.position))
        elif key in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab) and self.segments:
            step = -1 if key == Qt.Key.Key_Backtab or event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 1
            self.selectRequested.emit((max(selected, -1 if step > 0 else 0) + step) % len(self.segments))
        else:
            super().keyPressEvent(event)

    def focusNextPrevChild(self, next: bool) -> bool:  # noqa: N802, A002 - Qt API: Tab selects segments
        return False if self.segments else super().focusNextPrevChild(next)

    def _gap_end(self, frame: int) -> int:
        """The last frame of the gap at ``frame`` (before the next segment, or the episode's end)."""
        following = [s for s, _, _ in self.segments if s > frame]
        return (min(following) - 1) if following else self.num_frames - 1
