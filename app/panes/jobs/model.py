"""The queue table's Qt side: a table model over the session's rows, the filter in front of it and
the progress-bar cell. What a cell says and how rows sort live in ``backend.sessions.jobs``."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QRect, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHeaderView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QTableView,
    QWidget,
)

from backend.jobs.store import Job
from backend.sessions.jobs_queue import (
    COL_ELAPSED,
    COL_ETA,
    COL_GPU,
    COL_ID,
    COL_NAME,
    COL_PROGRESS,
    COL_RUNNER,
    COL_STARTED,
    COL_STATE,
    COL_TEMPLATE,
    COLUMNS,
    STATE_COLOURS,
    JobFilter,
    JobRows,
    cell_text,
)

COLUMN_WIDTHS = {
    COL_ID: 56,
    COL_NAME: 200,
    COL_TEMPLATE: 150,
    COL_RUNNER: 72,
    COL_STATE: 130,
    COL_PROGRESS: 240,
    COL_ETA: 70,
    COL_GPU: 50,
    COL_STARTED: 80,
    COL_ELAPSED: 80,
}
STATE_QCOLOURS = {state: QColor(colour) for state, colour in STATE_COLOURS.items()}


class JobsModel(QAbstractTableModel):
    """Shows ``JobRows`` and forwards its changes as Qt's model signals (it is the rows' listener)."""

    def __init__(self, rows: JobRows, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session_rows = rows
        rows.listener = self

    # -- what the session's rows tell (RowsListener) --------------------------------------------------
    def about_to_reset(self) -> None:
        self.beginResetModel()

    def reset_done(self) -> None:
        self.endResetModel()

    def about_to_insert(self, first: int, last: int) -> None:
        self.beginInsertRows(QModelIndex(), first, last)

    def inserted(self) -> None:
        self.endInsertRows()

    def changed(self, first_row: int, last_row: int, first_column: int, last_column: int) -> None:
        self.dataChanged.emit(self.index(first_row, first_column), self.index(last_row, last_column))

    def about_to_move(self) -> None:
        self.layoutAboutToBeChanged.emit()

    def moved(self, new_rows: dict[int, int]) -> None:
        moved_from, moved_to = [], []
        for index in self.persistentIndexList():
            row = new_rows.get(index.row())
            if row is not None:
                moved_from.append(index)
                moved_to.append(self.index(row, index.column()))
        self.changePersistentIndexList(moved_from, moved_to)
        self.layoutChanged.emit()

    # -- what the table reads ---------------------------------------------------------------------------
    @property
    def jobs(self) -> list[Job]:
        return self.session_rows.jobs

    @property
    def rows(self) -> dict[int, int]:
        return self.session_rows.rows

    def job(self, job_id: int) -> Job | None:
        return self.session_rows.job(job_id)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.session_rows.sort(column, order == Qt.SortOrder.DescendingOrder)

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802 - Qt API
        return 0 if parent.isValid() else len(self.session_rows.jobs)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        job = self.session_rows.jobs[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return cell_text(job, column, self.session_rows.now)
        if role == Qt.ItemDataRole.UserRole:
            if column == COL_PROGRESS:
                return job.fraction
            if column == COL_STARTED:
                return job.started_at or 0.0
            if column == COL_ELAPSED:
                return job.elapsed() or 0.0
            if column == COL_ETA:
                return job.eta() or 0.0
            return job.id if column == COL_ID else cell_text(job, column)
        if role == Qt.ItemDataRole.ForegroundRole and column == COL_STATE:
            return STATE_QCOLOURS.get(job.state)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == COL_STATE and job.error:
                return job.error
            if column == COL_PROGRESS and job.progress_text:
                return job.progress_text
        elif role == Qt.ItemDataRole.TextAlignmentRole and column in (COL_ID, COL_ETA, COL_ELAPSED):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class JobsFilter(QSortFilterProxyModel):
    """Rows the session's filter accepts (the proxy does not sort: the rows do)."""

    def __init__(self, job_filter: JobFilter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.job_filter = job_filter

    def set_filter(self, text: str, states: set[str]) -> None:
        self.job_filter.set(text, states)
        self.invalidateFilter()

    def filterAcceptsRow(self, row: int, parent: QModelIndex) -> bool:  # noqa: N802 - Qt API
        model: JobsModel = self.sourceModel()  # type: ignore[assignment]
        return self.job_filter.accepts(model.jobs[row])


class ProgressDelegate(QStyledItemDelegate):
    def paint(self, painter, option, index) -> None:  # noqa: ANN001
        fraction = index.data(Qt.ItemDataRole.UserRole)
        text = index.data(Qt.ItemDataRole.DisplayRole) or ""
        if fraction is None:
            super().paint(painter, option, index)
            return
        bar = QStyleOptionProgressBar()
        bar.rect = QRect(option.rect.adjusted(2, 3, -2, -3))
        bar.minimum, bar.maximum = 0, 1000
        bar.progress = int(fraction * 1000)
        bar.text = f"{100 * fraction:.0f}%  {text}"
        bar.textVisible = True
        bar.state = option.state
        QApplication.style().drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter)


def make_table(proxy: JobsFilter, parent: QWidget) -> QTableView:
    """The queue table: rows selected whole, sorted by the session's rows (the header only shows the
    order), a progress bar in the Progress column, the Name column taking the spare width."""
    table = QTableView(parent)
    table.setModel(proxy)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    header = table.horizontalHeader()
    header.setSortIndicatorShown(True)
    header.setSectionsClickable(True)
    header.setSortIndicator(COL_ID, Qt.SortOrder.DescendingOrder)
    table.verticalHeader().hide()
    table.verticalHeader().setDefaultSectionSize(22)
    table.setAlternatingRowColors(True)
    table.setItemDelegateForColumn(COL_PROGRESS, ProgressDelegate(table))
    table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(False)
    for column, width in COLUMN_WIDTHS.items():
        header.resizeSection(column, width)
    header.setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.Stretch)
    return table
