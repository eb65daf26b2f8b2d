"""Episode table: a model over column arrays, its filter bar and view.

The model reads a table of columns (``backend.sessions.browse_table.EpisodeTable``, duck-typed: no
dataset knowledge here) that sorts and filters with numpy, by free text, success, flag, rating,
task, length range, quality hints and exclusion. ``EpisodeRow`` is one row as a record, made on
request only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QModelRoleDataSpan,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QWidget,
)

from widgets import palette
from widgets.range_slider import RangeSlider

EPISODE_ROLE = Qt.ItemDataRole.UserRole + 2  # the episode index of a row
TEXT_PAUSE_MS = 150  # the text filter waits for the keys to pause this long ...
PAUSE_ROWS = 2000  # ... on a table of this many rows or more (smaller ones filter at each key)
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


@dataclass
class EpisodeRow:
    index: int
    task: str
    length: int
    duration: float
    success: bool | None
    source: str = ""
    flagged: bool = False
    rating: str | None = None
    note: str = ""
    excluded: bool = False
    trimmed: bool = False
    task_edited: bool = False
    hints: list[tuple[str, str, str]] = field(default_factory=list)  # (code, label, detail)
    hints_ready: bool = False


COLUMNS = [
    ("index", "#"),
    ("task", "Task"),
    ("length", "Len"),
    ("duration", "Dur"),
    ("success", "OK"),
    ("flagged", "Flag"),
    ("rating", "Rating"),
    ("hints", "Hints"),
    ("note", "Note"),
    ("source", "Source"),
]
HEADER_TIPS = {
    "index": "Episode index in the dataset",
    "length": "Length in frames (✂: trimmed for the export)",
    "duration": "Duration in seconds",
    "success": "Success as recorded",
    "flagged": "Flagged for review (F)",
    "rating": "Your rating: good (G) / bad (B)",
    "hints": "Quality hints computed in the background: very short, nearly static, jerky, gripper never closes",
    "source": "Source file, demo or video",
}
COLUMN_KEYS = [key for key, _ in COLUMNS]


class EpisodeTableModel(QAbstractTableModel):
    """The rows a table of column arrays shows (``table``: an ``EpisodeTable`` of
    backend/sessions/browse_table.py, or anything with its methods): no object per row, so 10,000
    episodes cost what the ~30 rows on screen cost. Sorting (a header click) and filtering ask the
    table for a new order and move the view's rows, selection and current row with it."""

    def __init__(self, table: Any, parent=None) -> None:
        super().__init__(parent)
        self.table = table

    # -- data in ----------------------------------------------------------------------------------
    def set_table(self, table: Any) -> None:
        """Show ``table`` (a dataset opened or closed)."""
        self.beginResetModel()
        self.table = table
        self.endResetModel()

    def row_for(self, episode: int) -> EpisodeRow | None:
        """One row as a record, made on request (tests, tooltips); the model keeps none."""
        values = self.table.values(episode)
        return None if values is None else EpisodeRow(**values)

    @property
    def rows(self) -> list[EpisodeRow]:
        """Every row as a record, in the dataset's order, made on request (for tests)."""
        return [EpisodeRow(**self.table.values(e)) for e in self.table.index.tolist()]

    def total(self) -> int:
        return len(self.table)

    def episode_at(self, row: int) -> int:
        return self.table.episode_at(row)

    def row_of(self, episode: int) -> int:
        return self.table.row_of(episode)

    def episodes_at(self, rows: Any) -> list[int]:
        """The episodes shown at ``rows`` (valid rows), in that order."""
        return self.table.episodes_at(rows).tolist()

    def visible_episodes(self) -> list[int]:
        return self.table.visible_episodes()

    def update_episodes(self, episodes: list[int]) -> None:
        """``episodes`` changed (decisions, hints): repaint their rows where shown."""
        rows = self.table.rows_of(episodes)  # numpy: 10,000 episodes rated at once, one signal
        rows = rows[rows >= 0]
        if len(rows):
            self.dataChanged.emit(self.index(int(rows.min()), 0), self.index(int(rows.max()), len(COLUMNS) - 1))

    def set_filters(self, **values: Any) -> None:
        self.table.set_filters(**values)
        self.refilter()

    def reset_filters(self) -> None:
        self.table.reset_filters()
        self.refilter()

    def refilter(self) -> None:
        """Order the rows again (filters, sort or the values they read changed)."""
        self._relayout(self.table.compute_order())

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.table.set_sort(COLUMN_KEYS[column], order == Qt.SortOrder.DescendingOrder)
        self.refilter()

    def _relayout(self, order: Any) -> None:
        if len(order) == len(self.table.order) and (order == self.table.order).all():
            return
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        episodes = [self.table.episode_at(i.row()) for i in old]
        self.table.apply(order)
        new = []
        for index, episode in zip(old, episodes, strict=True):
            row = self.table.row_of(episode) if episode >= 0 else -1
            new.append(self.index(row, index.column()) if row >= 0 else QModelIndex())
        self.changePersistentIndexList(old, new)
        self.layoutChanged.emit()

    # -- Qt model ---------------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else self.table.row_count()

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][1]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            return HEADER_TIPS.get(COLUMNS[section][0])
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        return self._value(int(self.table.order[index.row()]), COLUMN_KEYS[index.column()], role)

    def multiData(self, index: QModelIndex | QPersistentModelIndex, roles: QModelRoleDataSpan) -> None:  # noqa: N802
        """Every role a delegate asks for in one call: one trip into Python per cell painted, not seven
        (each trip waits for the GIL while a task computes hints in the background)."""
        valid = index.isValid()
        pos = int(self.table.order[index.row()]) if valid else -1
        key = COLUMN_KEYS[index.column()] if valid else ""
        for n in range(len(roles)):
            slot = roles[n]
            value = self._value(pos, key, slot.role()) if valid else None
            if value is None:
                slot.clearData()
            else:
                slot.setData(value)

    def _value(self, pos: int, key: str, role: int) -> Any:
        table = self.table
        if role == Qt.ItemDataRole.DisplayRole:
            return table.text(pos, key)
        if role == EPISODE_ROLE:
            return int(table.index[pos])
        if role == Qt.ItemDataRole.ToolTipRole:
            hints = table.hints[pos]
            if key == "hints" and hints:
                return "\n".join(f"{label}: {detail}" for _, label, detail in hints)
            if key in ("note", "task", "source") and table.text(pos, key):
                return table.text(pos, key)
            if table.excluded[pos]:
                return "Excluded from the curated export"
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._foreground(pos, key)
        if role == Qt.ItemDataRole.FontRole:
            excluded, edited = bool(table.excluded[pos]), key == "task" and bool(table.task_edited[pos])
            if excluded or edited:
                font = QFont()
                font.setStrikeOut(excluded)
                font.setItalic(edited)
                return font
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and key in ("index", "length", "duration"):
            return _RIGHT
        return None

    def _foreground(self, pos: int, key: str) -> QBrush | None:
        table = self.table
        if table.excluded[pos]:
            return QBrush(palette.color("muted"))
        if key == "success" and table.success[pos] >= 0:
            return QBrush(palette.color("good" if table.success[pos] else "bad"))
        if key == "rating" and table.rating[pos]:
            return QBrush(palette.color("good" if table.rating[pos] == 1 else "bad"))
        if key in ("flagged", "hints") and (table.flagged[pos] if key == "flagged" else table.hint_count[pos]):
            return QBrush(palette.color("flag"))
        return None


class EpisodeTableView(QTableView):
    episodeActivated = Signal(int)  # current row changed to this episode

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSortingEnabled(True)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setShowGrid(False)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(22)
        self.horizontalHeader().setHighlightSections(False)
        self.horizontalHeader().setStretchLastSection(True)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)

    def setModel(self, model) -> None:  # noqa: N802 - Qt API
        super().setModel(model)
        self.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        widths = {
            "index": 40,
            "task": 136,
            "length": 50,
            "duration": 54,
            "success": 40,
            "flagged": 40,
            "rating": 56,
            "hints": 150,
            "note": 140,
        }
        for column, key in enumerate(COLUMN_KEYS):
            if key in widths:
                self.setColumnWidth(column, widths[key])
        self.selectionModel().currentRowChanged.connect(self._on_current)
        # the column headers get a selection of their own, always empty: painting a header section
        # asks whether its column is selected (QHeaderView::initStyleOptionForIndex), which walks
        # every row of the table's selection (70,000 model calls, a 140-230 ms stall after select-all
        # on 10,000 episodes); rows are what this table selects, so no header is ever highlighted
        header = self.horizontalHeader()
        header.setSelectionModel(QItemSelectionModel(model, header))

    def fit_task_column(self) -> None:
        """Widen the task column to its longest task while #, Len, Dur and OK stay in view; a longer
        task is elided and shown whole in its tooltip."""
        column = COLUMN_KEYS.index("task")
        model = self.model()
        if model is None:
            return
        metrics = self.fontMetrics()
        texts = [str(model.data(model.index(r, column)) or "") for r in range(min(model.rowCount(), 500))]
        needed = max([metrics.horizontalAdvance(t) for t in texts] + [0]) + 16
        others = sum(self.columnWidth(COLUMN_KEYS.index(k)) for k in ("index", "length", "duration", "success"))
        room = max(136, self.viewport().width() - others - 4)
        self.setColumnWidth(column, max(136, min(needed, room)))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        if event.oldSize().width() != event.size().width():
            self.fit_task_column()

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            episode = self.model().episode_at(current.row())
            if episode >= 0:
                self.episodeActivated.emit(episode)

    def select_episode(self, episode: int) -> bool:
        """Make ``episode`` the current row (if it passes the filters)."""
        model = self.model()
        row = model.row_of(episode)
        if row < 0:
            return False
        index = model.index(row, 0)
        if self.currentIndex().row() != row or not self.selectionModel().isRowSelected(row):
            self.setCurrentIndex(index)
        self.scrollTo(index)
        return True

    def selected_episodes(self) -> list[int]:
        """The episodes of the selected rows, in row order (from the selection's ranges: select-all on
        10,000 rows is one range, not 100,000 indexes)."""
        ranges = [(r.top(), r.bottom()) for r in self.selectionModel().selection() if r.isValid()]
        if not ranges:
            return []
        rows = np.unique(np.concatenate([np.arange(top, bottom + 1) for top, bottom in ranges]))
        return self.model().episodes_at(rows)


class EpisodeFilterBar(QWidget):
    """Text, success, flag, rating, task, hints and a length range, bound to the table's model. On a
    table of ``pause_rows`` rows or more, the text filters ``TEXT_PAUSE_MS`` after the last key."""

    changed = Signal()

    def __init__(self, model: EpisodeTableModel, parent=None) -> None:
        super().__init__(parent)
        self.model = model
        self.pause_rows = PAUSE_ROWS
        self.text = QLineEdit()
        self.text.setPlaceholderText("Filter: task, note, source, hint…")
        self.text.setClearButtonEnabled(True)
        self.success = _combo(
            [("Any result", "any"), ("Success", "yes"), ("Failure", "no"), ("Unknown", "unknown")]
        )
        self.flag = _combo([("Any flag", "any"), ("Flagged", "flagged"), ("Not flagged", "unflagged")])
        self.rating = _combo(
            [("Any rating", "any"), ("Good", "good"), ("Bad", "bad"), ("Unrated", "unrated")]
        )
        self.hints = _combo([("Any hints", "any"), ("With hints", "with"), ("Without hints", "without")])
        self.excluded = _combo(
            [("Show excluded", "any"), ("Hide excluded", "hide"), ("Only excluded", "only")]
        )
        self.task = _combo([("Any task", "any")])
        self.length = RangeSlider()
        self.length.setRange(0, 1)
        self.length.setValue((0, 1))
        self.length.setToolTip("Episode length range (frames)")
        self.length_label = QLabel("")
        self.length_label.setMinimumWidth(84)
        self.count = QLabel("")
        self.count.setObjectName("mutedLabel")
        self._count_width_of = -1  # the total the count's minimum width was set for
        layout = QGridLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setHorizontalSpacing(4)
        layout.setVerticalSpacing(4)
        layout.addWidget(self.text, 0, 0, 1, 3)
        layout.addWidget(self.success, 1, 0)
        layout.addWidget(self.flag, 1, 1)
        layout.addWidget(self.rating, 1, 2)
        layout.addWidget(self.task, 2, 0, 1, 2)
        layout.addWidget(self.hints, 2, 2)
        length_row = QHBoxLayout()
        length_row.addWidget(QLabel("Length"))
        length_row.addWidget(self.length, 1)
        length_row.addWidget(self.length_label)
        layout.addLayout(length_row, 3, 0, 1, 3)
        layout.addWidget(self.excluded, 4, 0, 1, 2)  # two columns: "Show excluded" whole at 1280x800
        layout.addWidget(self.count, 4, 2)
        # typing on a large table filters once the keys pause, not once a key (each costs a relayout)
        self._text_timer = QTimer(self, singleShot=True, interval=TEXT_PAUSE_MS, timeout=self._apply)
        self.text.textChanged.connect(self._text_changed)
        for name in ("success", "flag", "rating", "hints", "excluded", "task"):
            combo: QComboBox = getattr(self, name)
            combo.currentIndexChanged.connect(lambda _i, n=name, c=combo: self._apply(**{n: c.currentData()}))
        self.length.valueChanged.connect(self._length_changed)
        self._full_range = (0, 1)

    def set_dataset_values(self, tasks: list[str], min_length: int, max_length: int) -> None:
        """Options that depend on the dataset: tasks and the length slider's range."""
        self.task.blockSignals(True)
        self.task.clear()
        self.task.addItem("Any task", "any")
        for task in tasks:
            self.task.addItem(task if len(task) < 48 else task[:45] + "…", task)
        self.task.blockSignals(False)
        self._full_range = (int(min_length), int(max_length))
        self.length.blockSignals(True)
        self.length.setRange(int(min_length), int(max(max_length, min_length + 1)))
        self.length.setValue((int(min_length), int(max(max_length, min_length + 1))))
        self.length.blockSignals(False)
        self.length.setEnabled(max_length > min_length)
        self.length_label.setText(
            f"{min_length}–{max_length} frames" if max_length > min_length else f"all {min_length} frames"
        )
        self.model.reset_filters()
        self._text_timer.stop()
        self.text.blockSignals(True)
        self.text.clear()
        self.text.blockSignals(False)
        for name in ("success", "flag", "rating", "hints", "excluded"):
            getattr(self, name).setCurrentIndex(0)
        self.update_count()

    def _length_changed(self, value: tuple[int, int]) -> None:
        low, high = int(value[0]), int(value[1])
        self.length_label.setText(f"{low}–{high} frames")
        self._apply(length_range=None if (low, high) == self._full_range else (low, high))

    def set_length_range(self, low: int, high: int) -> None:
        """Move the length slider (as a user would)."""
        self.length.setValue((int(low), int(high)))

    @property
    def filter_pending(self) -> bool:
        """Text was typed that has not filtered yet (the keys have not paused)."""
        return self._text_timer.isActive()

    def _text_changed(self, _text: str) -> None:
        if self.model.total() >= self.pause_rows:
            self._text_timer.start()  # again: the latest text wins
        else:
            self._apply()

    def _apply(self, **values: Any) -> None:
        """Filter now by ``values`` and the text typed so far (a pending text filter goes with them)."""
        self._text_timer.stop()
        values.setdefault("text", self.text.text().strip())
        self.model.set_filters(**values)
        self.update_count()
        self.changed.emit()

    def update_count(self) -> None:
        total, shown = self.model.total(), self.model.rowCount()
        if self._count_width_of != total:
            # as wide as the widest count this dataset can show: a filter that makes the text longer
            # would otherwise widen the bar, the Episodes dock with it, and relayout the whole window
            # (video, plots: 40 ms and a jump of the viewer as the first letter is typed)
            self._count_width_of = total
            digits = "8" * len(str(total))  # the widest digit, as many as the total has
            widest = QLabel(f"{digits} of {digits} episodes", font=self.count.font()).sizeHint().width()
            self.count.setMinimumWidth(widest)
        self.count.setText(f"{shown} of {total} episodes" if shown != total else f"{total} episodes")


def _combo(items: list[tuple[str, str]]) -> QComboBox:
    combo = QComboBox()
    for text, data in items:
        combo.addItem(text, data)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(8)
    return combo
