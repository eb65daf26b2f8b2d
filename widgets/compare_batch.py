"""A sortable table of comparison rows (one generated episode against its source per row).

Generic: rows are objects with attributes (or dicts) and the columns are (key, header, format)
triples, so the widget knows nothing of datasets. Numbers sort numerically; empty values sort
last in either direction; rows with an ``error`` are tinted. ``rowActivated`` gives the row object.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from backend.numbers import fixed
from widgets import palette

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ROW_ROLE = Qt.ItemDataRole.UserRole + 2


def _value(row: Any, key: str) -> Any:
    return row.get(key) if isinstance(row, dict) else getattr(row, key, None)


class RowTableModel(QAbstractTableModel):
    def __init__(self, columns: list[tuple[str, str, str]], parent=None) -> None:
        super().__init__(parent)
        self.columns = columns
        self.rows: list[Any] = []

    def set_rows(self, rows: list[Any]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent=None) -> int:  # noqa: N802 - Qt API
        return 0 if parent is not None and parent.isValid() else len(self.rows)

    def columnCount(self, parent=None) -> int:  # noqa: N802 - Qt API
        return 0 if parent is not None and parent.isValid() else len(self.columns)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802 - Qt API
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section][1]
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        key, _, spec = self.columns[index.column()]
        value = _value(row, key)
        if role == Qt.ItemDataRole.DisplayRole:
            if value is None or (isinstance(value, float) and math.isnan(value)):
                return "–"
            if spec != "s" and isinstance(value, (int, float)) and not isinstance(value, bool):
                return fixed(value, spec)
            return str(value)
        if role == SORT_ROLE:
            return value
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if spec != "s":
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and _value(row, "error"):
            return QBrush(palette.color("bad"))
        if role == Qt.ItemDataRole.ToolTipRole:
            error, note = _value(row, "error"), _value(row, "note")
            return error or note or None
        return None


class _NumericProxy(QSortFilterProxyModel):
    def lessThan(self, left: QModelIndex, right: QModelIndex) -> bool:  # noqa: N802 - Qt API
        a, b = left.data(SORT_ROLE), right.data(SORT_ROLE)
        descending = self.sortOrder() == Qt.SortOrder.DescendingOrder
        missing_a = a is None or (isinstance(a, float) and math.isnan(a))
        missing_b = b is None or (isinstance(b, float) and math.isnan(b))
        if missing_a or missing_b:  # empty cells last whichever way the column is sorted
            if missing_a and missing_b:
                return False
            return missing_a if descending else missing_b
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            return a < b
        return str(a) < str(b)


class RowTable(QTableView):
    rowActivated = Signal(object)  # the row object (click or Enter)

    def __init__(self, columns: list[tuple[str, str, str]], parent=None) -> None:
        super().__init__(parent)
        self.source_model = RowTableModel(columns, self)
        self.proxy = _NumericProxy(self)
        self.proxy.setSourceModel(self.source_model)
        self.proxy.setSortRole(SORT_ROLE)
        self.setModel(self.proxy)
        self.setSortingEnabled(True)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(22)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.clicked.connect(self._activate)
        self.activated.connect(self._activate)

    def set_rows(self, rows: list[Any], sort_key: str | None = None, descending: bool = True) -> None:
        self.source_model.set_rows(rows)
        if sort_key is not None:
            keys = [k for k, _, _ in self.source_model.columns]
            if sort_key in keys:
                order = Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
                self.sortByColumn(keys.index(sort_key), order)

    def row_at(self, view_row: int) -> Any:
        return self.proxy.index(view_row, 0).data(ROW_ROLE)

    def visible_rows(self) -> list[Any]:
        return [self.row_at(r) for r in range(self.proxy.rowCount())]

    def _activate(self, index: QModelIndex) -> None:
        row = index.data(ROW_ROLE)
        if row is not None:
            self.rowActivated.emit(row)
