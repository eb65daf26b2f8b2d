"""A table of dataset findings (the doctor's ``Problem`` s): severity, episode, what, fix.

Reusable, without app knowledge: the owner feeds it findings (``set_findings``) and drives its busy
state (``set_busy`` / ``set_done``); it filters by severity and says what the user asked for:

- ``episodeRequested(int)`` / ``frameRequested(int, int)`` on double-click (or Enter) of a finding
  that names an episode (the first frame it shows at, when it names frames);
- ``repairRequested()`` from the "Repair copy..." button (enabled when a finding is fixable);
- ``cancelRequested()`` from the Cancel button shown while work runs; ``refreshRequested()``.

An episode's name (``episode 3``, ``demo_3``, a Cosmos sample name) becomes its index through the
``lookup`` given with the findings, else its trailing number.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QIcon, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QProgressBar,
    QPushButton,
    QStyle,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from backend.validation import SEVERITIES, Problem
from widgets import palette
from widgets.elided_label import ElidedLabel

COLUMNS = ("Severity", "Episode", "What", "Fix")
_TRAILING_NUMBER = re.compile(r"(\d+)$")
_SEVERITY_ROLE = {"error": "bad", "warning": "flag", "info": "accent"}
_SEVERITY_ICON = {
    "error": QStyle.StandardPixmap.SP_MessageBoxCritical,
    "warning": QStyle.StandardPixmap.SP_MessageBoxWarning,
    "info": QStyle.StandardPixmap.SP_MessageBoxInformation,
}
_ROLE = Qt.ItemDataRole.UserRole + 1  # the row's Finding


@dataclass(frozen=True)
class Finding:
    problem: Problem
    episode: int | None  # the episode's index, when the finding names one

    @property
    def frame(self) -> int | None:
        return self.problem.frames[0] if self.problem.frames else None


def episode_number(name: str | None) -> int | None:
    """``episode 3`` / ``demo_3`` -> 3; None when the name ends in no number."""
    if not name:
        return None
    match = _TRAILING_NUMBER.search(name.strip())
    return int(match.group(1)) if match else None


class ProblemsModel(QAbstractTableModel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[Finding] = []
        self._icons: dict[str, QIcon] = {}

    def set_findings(self, findings: list[Finding]) -> None:
        self.beginResetModel()
        order = {s: i for i, s in enumerate(SEVERITIES)}
        self.rows = sorted(
            findings,
            key=lambda f: (order.get(f.problem.severity, 9), f.episode if f.episode is not None else -1),
        )
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def _icon(self, severity: str) -> QIcon:
        if severity not in self._icons:
            from PySide6.QtWidgets import QApplication

            style = QApplication.style()
            self._icons[severity] = style.standardIcon(_SEVERITY_ICON.get(severity, _SEVERITY_ICON["info"]))
        return self._icons[severity]

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        finding = self.rows[index.row()]
        problem = finding.problem
        column = index.column()
        if role == _ROLE:
            return finding
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return problem.severity
            if column == 1:
                frames = f" @ {finding.frame}" if finding.frame is not None else ""
                return (problem.episode or "dataset") + frames
            if column == 2:
                return problem.problem
            return problem.fix
        if role == Qt.ItemDataRole.DecorationRole and column == 0:
            return self._icon(problem.severity)
        if role == Qt.ItemDataRole.ForegroundRole and column == 0:
            return QColor(palette.color(_SEVERITY_ROLE.get(problem.severity, "muted")))
        if role == Qt.ItemDataRole.ToolTipRole:
            fixable = "a repair can fix it" if problem.fixable else "needs a decision"
            return f"{problem.text()}\n\n[{problem.code}] {fixable}\n{problem.file}"
        return None


class _SeverityFilter(QSortFilterProxyModel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.shown: set[str] = set(SEVERITIES)

    def set_shown(self, shown: set[str]) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.10
            self.beginFilterChange()
        self.shown = set(shown)
        if hasattr(self, "endFilterChange"):
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.invalidateFilter()

    def filterAcceptsRow(self, row: int, parent: QModelIndex | QPersistentModelIndex) -> bool:  # noqa: N802
        model = self.sourceModel()
        finding = model.data(model.index(row, 0, parent), _ROLE)
        return finding is not None and finding.problem.severity in self.shown


class _Table(QTableView):
    activatedRow = Signal(QModelIndex)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.activatedRow.emit(self.currentIndex())
            return
        super().keyPressEvent(event)


class ProblemsView(QWidget):
    """Findings with severity filters, a busy bar with Cancel, and "Repair copy..."."""

    episodeRequested = Signal(int)
    frameRequested = Signal(int, int)  # episode index, frame
    repairRequested = Signal()
    cancelRequested = Signal()
    refreshRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ProblemsModel(self)
        self.proxy = _SeverityFilter(self)
        self.proxy.setSourceModel(self.model)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(2)
        bar = QHBoxLayout()
        self.filters: dict[str, QToolButton] = {}
        for severity in SEVERITIES:
            button = QToolButton()
            button.setCheckable(True)
            button.setChecked(True)
            button.setObjectName("segment")
            button.setIcon(self.model._icon(severity))
            button.setToolTip(f"show {severity} findings")
            button.toggled.connect(self._filter_changed)
            self.filters[severity] = button
            bar.addWidget(button)
        bar.addSpacing(8)
        self.status = ElidedLabel("")  # a long summary shortens, never widens the dock
        self.status.setObjectName("mutedLabel")
        bar.addWidget(self.status, 1)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(180)
        self.progress.setTextVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancelRequested)
        self.refresh_button = QPushButton("Check again")
        self.refresh_button.setToolTip("run the dataset doctor again")
        self.refresh_button.clicked.connect(self.refreshRequested)
        self.repair_button = QPushButton("Repair copy…")
        self.repair_button.setToolTip(
            "write a repaired copy of the dataset to a new folder (the dataset itself is never edited)"
        )
        self.repair_button.clicked.connect(self.repairRequested)
        for widget in (self.progress, self.cancel_button, self.refresh_button, self.repair_button):
            bar.addWidget(widget)
        layout.addLayout(bar)
        self.table = _Table()
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(3, 320)
        self.table.doubleClicked.connect(self._activated)
        self.table.activatedRow.connect(self._activated)
        layout.addWidget(self.table, 1)
        self.clear("No dataset")

    # -- content ----------------------------------------------------------------------------------
    def set_findings(self, problems: Sequence[Problem], lookup: Callable[[str], int | None] | None = None) -> None:
        """Show ``problems``; ``lookup`` turns an episode's name into its index (default: its number)."""
        find = lookup or episode_number
        self.model.set_findings([Finding(p, find(p.episode) if p.episode else None) for p in problems])
        self._update_counts()

    def findings(self) -> list[Finding]:
        """The findings shown now (after the severity filter), in table order."""
        return [self.proxy.data(self.proxy.index(r, 0), _ROLE) for r in range(self.proxy.rowCount())]

    def clear(self, text: str = "") -> None:
        self.model.set_findings([])
        self._update_counts()
        self.set_done(text)
        self.repair_button.setEnabled(False)
        self.refresh_button.setEnabled(False)

    def set_busy(self, text: str, done: int = 0, total: int = 0) -> None:
        """Work is running: a progress bar (busy when ``total`` is 0) and Cancel."""
        self.status.setText(text)
        self.progress.setRange(0, max(0, total))
        self.progress.setValue(min(done, total) if total else 0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.repair_button.setEnabled(False)
        self.refresh_button.setEnabled(False)

    def set_done(self, text: str) -> None:
        self.status.setText(text)
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self.refresh_button.setEnabled(True)
        self.repair_button.setEnabled(any(f.problem.fixable for f in self.model.rows))

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for f in self.model.rows if f.problem.severity == s) for s in SEVERITIES}

    # -- filters and activation ---------------------------------------------------------------------
    def set_shown(self, severities: set[str]) -> None:
        for severity, button in self.filters.items():
            button.setChecked(severity in severities)

    def _filter_changed(self) -> None:
        self.proxy.set_shown({s for s, b in self.filters.items() if b.isChecked()})

    def _update_counts(self) -> None:
        for severity, count in self.counts().items():
            self.filters[severity].setText(f"{count} {severity}{'s' if count != 1 and severity != 'info' else ''}")
            self.filters[severity].setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)

    def activate_row(self, row: int) -> None:
        """Act as a double-click on visible row ``row``."""
        self._activated(self.proxy.index(row, 0))

    def _activated(self, index: QModelIndex) -> None:
        finding = self.proxy.data(index, _ROLE) if index.isValid() else None
        if finding is None or finding.episode is None:
            return
        if finding.frame is not None:
            self.frameRequested.emit(finding.episode, finding.frame)
        else:
            self.episodeRequested.emit(finding.episode)
