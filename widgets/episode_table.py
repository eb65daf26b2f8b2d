"""Episode table: model, filter proxy, filter bar and view.

Rows are plain ``EpisodeRow`` records (no dataset knowledge here). The proxy sorts numerically
and filters by free text, success, flag, rating, task, length range, quality hints and exclusion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
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

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ROW_ROLE = Qt.ItemDataRole.UserRole + 2


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
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[EpisodeRow] = []
        self._by_index: dict[int, int] = {}

    # -- data in ----------------------------------------------------------------------------------
    def set_rows(self, rows: list[EpisodeRow]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self._by_index = {row.index: n for n, row in enumerate(self.rows)}
        self.endResetModel()

    def row_for(self, episode: int) -> EpisodeRow | None:
        n = self._by_index.get(episode)
        return None if n is None else self.rows[n]

    def model_row(self, episode: int) -> int:
        return self._by_index.get(episode, -1)

    def update_row(self, episode: int, **values: Any) -> None:
        n = self._by_index.get(episode)
        if n is None:
            return
        row = self.rows[n]
        for key, value in values.items():
            setattr(row, key, value)
        self.dataChanged.emit(self.index(n, 0), self.index(n, len(COLUMNS) - 1))

    # -- Qt model ---------------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.rows)

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
        row = self.rows[index.row()]
        key = COLUMN_KEYS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(row, key)
        if role == SORT_ROLE:
            return _sort_value(row, key)
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.ToolTipRole:
            if key == "hints" and row.hints:
                return "\n".join(f"{label}: {detail}" for _, label, detail in row.hints)
            if key in ("note", "task", "source") and _display(row, key):
                return _display(row, key)
            if row.excluded:
                return "Excluded from the curated export"
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            if row.excluded:
                return QBrush(palette.color("muted"))
            if key == "success" and row.success is not None:
                return QBrush(palette.color("good" if row.success else "bad"))
            if key == "rating" and row.rating:
                return QBrush(palette.color("good" if row.rating == "good" else "bad"))
            if key == "flagged" and row.flagged:
                return QBrush(palette.color("flag"))
            if key == "hints" and row.hints:
                return QBrush(palette.color("flag"))
            return None
        if role == Qt.ItemDataRole.FontRole:
            if row.excluded or (key == "task" and row.task_edited):
                font = QFont()
                font.setStrikeOut(row.excluded)
                font.setItalic(key == "task" and row.task_edited)
                return font
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and key in ("index", "length", "duration"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


def _display(row: EpisodeRow, key: str) -> str:
    if key == "index":
        return str(row.index)
    if key == "task":
        return row.task
    if key == "length":
        return f"{row.length}{' ✂' if row.trimmed else ''}"
    if key == "duration":
        return f"{row.duration:.1f} s"
    if key == "success":
        return "" if row.success is None else ("yes" if row.success else "no")
    if key == "flagged":
        return "⚑" if row.flagged else ""
    if key == "rating":
        return row.rating or ""
    if key == "hints":
        if not row.hints_ready:
            return "…"
        return ", ".join(label for _, label, _ in row.hints)
    if key == "note":
        return row.note.replace("\n", " ")
    if key == "source":
        return row.source
    return ""


def _sort_value(row: EpisodeRow, key: str) -> Any:
    if key == "index":
        return row.index
    if key == "length":
        return row.length
    if key == "duration":
        return row.duration
    if key == "success":
        return -1 if row.success is None else int(row.success)
    if key == "flagged":
        return int(row.flagged)
    if key == "rating":
        return {"good": 2, "bad": 0}.get(row.rating or "", 1)
    if key == "hints":
        return len(row.hints)
    return _display(row, key).lower()


class EpisodeFilterProxy(QSortFilterProxyModel):
    """Sorting by value and every filter of the filter bar."""

    ANY = "any"

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.text = ""
        self.success = self.ANY  # any | yes | no | unknown
        self.flag = self.ANY  # any | flagged | unflagged
        self.rating = self.ANY  # any | good | bad | unrated
        self.task = self.ANY  # any | a task text
        self.hints = self.ANY  # any | with | without
        self.excluded = self.ANY  # any | hide | only
        self.length_range: tuple[int, int] | None = None

    def set_filters(self, **values: Any) -> None:
        for key in values:
            if not hasattr(self, key):
                raise KeyError(key)
        self._begin()
        for key, value in values.items():
            setattr(self, key, value)
        self._end()

    def refilter(self) -> None:
        """Filter again after rows changed (curation edits)."""
        self._begin()
        self._end()

    def _begin(self) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.10
            self.beginFilterChange()

    def _end(self) -> None:
        if hasattr(self, "endFilterChange"):
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.invalidateFilter()

    def reset_filters(self) -> None:
        self.set_filters(
            text="",
            success=self.ANY,
            flag=self.ANY,
            rating=self.ANY,
            task=self.ANY,
            hints=self.ANY,
            excluded=self.ANY,
            length_range=None,
        )

    def filterAcceptsRow(self, source_row: int, source_parent) -> bool:  # noqa: N802 - Qt API
        model: EpisodeTableModel = self.sourceModel()  # type: ignore[assignment]
        row = model.rows[source_row]
        if self.success != self.ANY:
            wanted = {"yes": True, "no": False, "unknown": None}[self.success]
            if row.success is not wanted:
                return False
        if self.flag == "flagged" and not row.flagged or self.flag == "unflagged" and row.flagged:
            return False
        if self.rating != self.ANY and (row.rating or "unrated") != self.rating:
            return False
        if self.task != self.ANY and row.task != self.task:
            return False
        if self.hints == "with" and not row.hints or self.hints == "without" and row.hints:
            return False
        if self.excluded == "hide" and row.excluded or self.excluded == "only" and not row.excluded:
            return False
        if self.length_range is not None:
            low, high = self.length_range
            if not low <= row.length <= high:
                return False
        if self.text:
            needle = self.text.lower()
            haystack = " ".join(
                [
                    str(row.index),
                    row.task,
                    row.note,
                    row.source,
                    row.rating or "",
                    " ".join(label for _, label, _ in row.hints),
                ]
            ).lower()
            if not all(part in haystack for part in needle.split()):
                return False
        return True

    def episode_at(self, proxy_row: int) -> int:
        index = self.index(proxy_row, 0)
        row = self.data(index, ROW_ROLE)
        return -1 if row is None else row.index

    def visible_episodes(self) -> list[int]:
        return [self.episode_at(r) for r in range(self.rowCount())]


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
            row = self.model().data(current, ROW_ROLE)
            if row is not None:
                self.episodeActivated.emit(row.index)

    def select_episode(self, episode: int) -> bool:
        """Make ``episode`` the current row (if it passes the filters)."""
        proxy = self.model()
        for r in range(proxy.rowCount()):
            if proxy.data(proxy.index(r, 0), ROW_ROLE).index == episode:
                self.setCurrentIndex(proxy.index(r, 0))
                self.scrollTo(proxy.index(r, 0))
                return True
        return False

    def selected_episodes(self) -> list[int]:
        proxy = self.model()
        rows = sorted({i.row() for i in self.selectionModel().selectedRows()})
        return [proxy.data(proxy.index(r, 0), ROW_ROLE).index for r in rows]


class EpisodeFilterBar(QWidget):
    """Text, success, flag, rating, task, hints and a length range, bound to a proxy."""

    changed = Signal()

    def __init__(self, proxy: EpisodeFilterProxy, parent=None) -> None:
        super().__init__(parent)
        self.proxy = proxy
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
        layout.addWidget(self.excluded, 4, 0)
        layout.addWidget(self.count, 4, 1, 1, 2)
        self.text.textChanged.connect(lambda t: self._apply(text=t.strip()))
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
        self.proxy.reset_filters()
        for name in ("success", "flag", "rating", "hints", "excluded"):
            getattr(self, name).setCurrentIndex(0)
        self.text.clear()
        self.update_count()

    def _length_changed(self, value: tuple[int, int]) -> None:
        low, high = int(value[0]), int(value[1])
        self.length_label.setText(f"{low}–{high} frames")
        self._apply(length_range=None if (low, high) == self._full_range else (low, high))

    def set_length_range(self, low: int, high: int) -> None:
        """Move the length slider (as a user would)."""
        self.length.setValue((int(low), int(high)))

    def _apply(self, **values: Any) -> None:
        self.proxy.set_filters(**values)
        self.update_count()
        self.changed.emit()

    def update_count(self) -> None:
        total = self.proxy.sourceModel().rowCount() if self.proxy.sourceModel() else 0
        shown = self.proxy.rowCount()
        self.count.setText(f"{shown} of {total} episodes" if shown != total else f"{total} episodes")


def _combo(items: list[tuple[str, str]]) -> QComboBox:
    combo = QComboBox()
    for text, data in items:
        combo.addItem(text, data)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(8)
    return combo
