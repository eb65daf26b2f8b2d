"""The selected job's tabs: progress and loss curve, artifacts (a CSV result previewed as a table),
the chain of jobs it belongs to, and every detail. The words come from ``backend.sessions.jobs``."""

from __future__ import annotations

import csv
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.panes.jobs.model import STATE_QCOLOURS
from backend.jobs.store import Artifact, Job
from backend.sessions.jobs import ChainNode, LossCurve, details_text, progress_text
from backend.sessions.jobs_queue import state_text

NO_JOB = "Select a job to see its progress."


class JobTabs(QTabWidget):
    """Progress, Artifacts, Chain and Details of one job. Asks to open an artifact or select a job."""

    openArtifact = Signal(str, object)  # path, browse (True / False / None: by its kind)
    jobActivated = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # progress / loss
        self.plot = pg.PlotWidget(self)
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", "loss")
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.curve = self.plot.plot([], [], pen=pg.mkPen("#4aa3ff", width=2), symbol=None)
        self.curve.setDownsampling(auto=True, method="peak")
        self.log_y = QCheckBox("Log scale", self)
        self.log_y.toggled.connect(lambda on: self.plot.setLogMode(y=on))
        self.progress_label = QLabel(NO_JOB, self, wordWrap=True)
        self.no_loss = QLabel("", self, wordWrap=True)
        self.no_loss.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.no_loss.setStyleSheet("color: palette(mid);")
        progress_tab = QWidget(self)
        progress_layout = QVBoxLayout(progress_tab)
        progress_layout.addWidget(self.progress_label)
        progress_layout.addWidget(self.plot, 1)
        progress_layout.addWidget(self.no_loss, 1)
        progress_layout.addWidget(self.log_y)

        # artifacts
        self.artifacts = QTreeWidget(self)
        self.artifacts.setHeaderLabels(["Kind", "Path"])
        self.artifacts.setRootIsDecorated(False)
        self.artifacts.itemDoubleClicked.connect(
            lambda item, _c: self.openArtifact.emit(item.data(1, Qt.ItemDataRole.UserRole), None)
        )
        open_browse = QPushButton("Open in Browse", self)
        open_browse.clicked.connect(lambda: self._open_current(True))
        show_folder = QPushButton("Show folder", self)
        show_folder.clicked.connect(lambda: self._open_current(False))
        copy_path = QPushButton("Copy path", self)
        copy_path.clicked.connect(lambda: QApplication.clipboard().setText(self.current_artifact() or ""))
        self.table_preview = QTableWidget(self)
        self.table_preview.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table_preview.hide()
        self.artifacts.currentItemChanged.connect(lambda *_: self.preview_artifact())
        artifacts_tab = QWidget(self)
        artifacts_layout = QVBoxLayout(artifacts_tab)
        artifacts_layout.addWidget(self.artifacts, 1)
        artifacts_layout.addWidget(self.table_preview, 2)
        row = QHBoxLayout()
        for button in (open_browse, show_folder, copy_path):
            row.addWidget(button)
        row.addStretch(1)
        artifacts_layout.addLayout(row)

        # chain
        self.chain = QTreeWidget(self)
        self.chain.setHeaderLabels(["Job", "Template", "State"])
        self.chain.itemDoubleClicked.connect(
            lambda item, _c: self.jobActivated.emit(int(item.data(0, Qt.ItemDataRole.UserRole)))
        )

        # details
        self.details = QPlainTextEdit(self, readOnly=True)
        self.details.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)

        self.show_curve(LossCurve(), "")  # no job yet: no empty plot either
        self.addTab(progress_tab, "Progress")
        self.addTab(artifacts_tab, "Artifacts")
        self.addTab(self.chain, "Chain")
        self.addTab(self.details, "Details")

    def clear_job(self) -> None:
        self.details.clear()
        self.artifacts.clear()
        self.chain.clear()
        self.show_curve(LossCurve(), "")
        self.progress_label.setText(NO_JOB)

    def show_job(
        self,
        job: Job,
        artifacts: list[Artifact],
        chain: list[ChainNode],
        chain_size: int,
        now: float | None = None,
    ) -> None:
        """One job; its times at ``now`` (the table's clock, so both read the same)."""
        self.progress_label.setText(progress_text(job, now))
        self.show_artifacts(artifacts)
        self.show_chain(chain, chain_size)
        self.details.setPlainText(details_text(job))

    def show_curve(self, curve: LossCurve, note: str = "") -> None:
        """The loss curve; a job without loss points shows ``note`` instead of an empty plot."""
        self.curve.setData(curve.x, curve.y)
        shown = bool(curve.x)
        self.plot.setVisible(shown)
        self.log_y.setVisible(shown)
        self.no_loss.setText(note)
        self.no_loss.setVisible(not shown)

    # -- artifacts ---------------------------------------------------------------------------------------
    def show_artifacts(self, artifacts: list[Artifact]) -> None:
        current = self.current_artifact()
        self.artifacts.clear()
        for artifact in artifacts:
            item = QTreeWidgetItem([artifact.kind, artifact.path])
            item.setToolTip(1, artifact.label or artifact.path)
            item.setData(1, Qt.ItemDataRole.UserRole, artifact.path)
            item.setData(0, Qt.ItemDataRole.UserRole, artifact.kind)
            self.artifacts.addTopLevelItem(item)
            if artifact.path == current:
                self.artifacts.setCurrentItem(item)
        self.artifacts.resizeColumnToContents(0)
        self.setTabText(1, f"Artifacts ({self.artifacts.topLevelItemCount()})")

    def current_artifact(self) -> str | None:
        item = self.artifacts.currentItem()
        return item.data(1, Qt.ItemDataRole.UserRole) if item else None

    def artifact_kind(self, path: str) -> str | None:
        kind = None
        for i in range(self.artifacts.topLevelItemCount()):
            item = self.artifacts.topLevelItem(i)
            if item.data(1, Qt.ItemDataRole.UserRole) == path:
                kind = item.data(0, Qt.ItemDataRole.UserRole)
        return kind

    def _open_current(self, browse: bool) -> None:
        self.openArtifact.emit(self.current_artifact() or "", browse)

    def preview_artifact(self, max_rows: int = 500) -> None:
        """A CSV result (e.g. DreamGen Bench scores) is shown as a table."""
        path = self.current_artifact()
        if not path or not path.lower().endswith(".csv") or not Path(path).is_file():
            self.table_preview.hide()
            return
        try:
            with open(path, newline="", encoding="utf-8", errors="replace") as handle:
                rows = [row for _, row in zip(range(max_rows + 1), csv.reader(handle), strict=False)]
        except OSError:
            self.table_preview.hide()
            return
        header, body = (rows[0], rows[1:]) if rows else ([], [])
        self.table_preview.clear()
        self.table_preview.setColumnCount(len(header))
        self.table_preview.setHorizontalHeaderLabels(header)
        self.table_preview.setRowCount(len(body))
        for r, row in enumerate(body):
            for c, value in enumerate(row[: len(header)]):
                self.table_preview.setItem(r, c, QTableWidgetItem(value))
        self.table_preview.resizeColumnsToContents()
        self.table_preview.show()

    # -- chain ---------------------------------------------------------------------------------------------
    def show_chain(self, roots: list[ChainNode], count: int) -> None:
        """The chain as trees from its roots; ``count`` jobs in all (the tab's title)."""
        self.chain.clear()
        self.setTabText(2, f"Chain ({count})" if count > 1 else "Chain")

        def add(parent_item: QTreeWidgetItem | None, node: ChainNode) -> None:
            other = node.job
            item = QTreeWidgetItem([f"#{other.id} {other.name}", other.template, state_text(other)])
            item.setData(0, Qt.ItemDataRole.UserRole, other.id)
            item.setForeground(2, STATE_QCOLOURS.get(other.state, QColor()))
            if node.current:
                font = item.font(0)
                font.setBold(True)
                item.setFont(0, font)
            if parent_item is None:
                self.chain.addTopLevelItem(item)
            else:
                parent_item.addChild(item)
            for child in node.children:
                add(item, child)

        for root in roots:
            add(None, root)
        self.chain.expandAll()
        self.chain.resizeColumnToContents(0)
