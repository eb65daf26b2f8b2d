"""The Cosmos and IDM wizards' page layout on the one ``StepWizard``: an inputs form, an options form
beside a preview (a status line, the errors and warnings, tabs the wizard fills), and the helpers
their tables and dataset pickers share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.wizards.base import StepWizard, escape
from backend.sessions.cosmos_idm import dataset_check
from backend.sessions.wizard import Check, OutputConflict
from widgets.palette import color
from widgets.wizard_inputs import DropPath

COLUMN_CAP = 240  # px: a long text (a prompt, a reason) is elided, whole in its cell's tooltip


def fit_widths(widths: list[int], available: int, floor: int = 60) -> list[int]:
    """Column widths that fit ``available`` px: the widest columns give way first (to one common
    width, never below ``floor``); narrow ones keep theirs."""
    if available <= 0 or sum(widths) <= available:
        return widths
    level = max(widths)
    while level > floor and sum(min(w, level) for w in widths) > available:
        level -= 4
    return [min(w, max(level, floor)) for w in widths]


def cell(value: Any, editable: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem("" if value is None else str(value))
    if len(item.text()) > 12:
        item.setToolTip(item.text())
    if not editable:
        item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    return item


def fill_table(
    table: QTableWidget, headers: list[str], rows: list[list[Any]], bad: set[int] | None = None
) -> None:
    table.setColumnCount(len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().setVisible(False)  # row numbers from 1 beside episode numbers from 0 confuse
    table.setRowCount(len(rows))
    red = QBrush(color("bad"))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            item = cell(value)
            if bad and r in bad:
                item.setForeground(red)
            table.setItem(r, c, item)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    table.resizeColumnsToContents()
    widths = fit_widths(
        [min(table.columnWidth(c), COLUMN_CAP) for c in range(len(headers))], table.viewport().width()
    )
    for column, width in enumerate(widths):
        table.setColumnWidth(column, width)
    table.setTextElideMode(Qt.TextElideMode.ElideRight)
    header.setStretchLastSection(True)  # the last column takes what is left, never more than its cap


def spin(minimum: int, maximum: int, value: int) -> QSpinBox:
    box = QSpinBox()
    box.setRange(minimum, maximum)
    box.setValue(value)
    return box


def camera_combo() -> QComboBox:
    box = QComboBox()
    box.addItem("front (or the first camera)", None)
    return box


def set_cameras(box: QComboBox, cameras: list[str], current: str | None) -> None:
    if [box.itemData(i) for i in range(1, box.count())] == cameras:
        return
    chosen = box.currentData()
    box.blockSignals(True)
    box.clear()
    box.addItem(f"{current} (default)" if current else "default", None)
    for camera in cameras:
        box.addItem(camera, camera)
    index = box.findData(chosen)
    box.setCurrentIndex(index if index >= 0 else 0)
    box.blockSignals(False)


class FormWizard(StepWizard):
    """Inputs form -> options form with a tabbed preview -> run -> done. Subclasses ``build`` the
    forms and fill in ``StepWizard``'s hooks."""

    key = ""
    status_verb = "running"

    def __init__(self, context: Any, parent: QWidget | None = None) -> None:
        super().__init__(context, parent=parent)
        self.workspace = Path(getattr(context, "workspace", Path.home()))
        self.inputs_page = QWidget()
        self.inputs_form = QFormLayout(self.inputs_page)
        self.options_widget = QWidget()
        self.options_form = QFormLayout()
        options_column = QVBoxLayout(self.options_widget)
        options_column.addLayout(self.options_form)
        options_column.addStretch(1)
        self.status = QLabel("Add inputs to see what will be written.")
        self.status.setWordWrap(True)
        self.messages = QLabel("")
        self.messages.setWordWrap(True)
        self.messages.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.tabs = QTabWidget()
        preview = QWidget()
        column = QVBoxLayout(preview)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.status)
        column.addWidget(self.messages)
        column.addWidget(self.tabs, 1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.options_widget)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        options = QSplitter(Qt.Orientation.Horizontal)
        options.addWidget(scroll)
        options.addWidget(preview)
        options.setStretchFactor(1, 2)
        options.setChildrenCollapsible(False)
        self.done_view.again_button.setText("Start again")
        self.out = self.make_out()
        self.bind_out(self.out)
        self.build()
        self.options_form.addRow("Output", self.out)
        self.watch(self.out)
        # no horizontal scroll bar, so the form is never narrower than its fields and labels
        bar = scroll.verticalScrollBar().sizeHint().width()
        scroll.setMinimumWidth(max(380, self.options_widget.minimumSizeHint().width() + bar + 4))
        options.setSizes([scroll.minimumWidth(), 10_000])  # the preview takes the rest
        self.assemble(self.inputs_page, options)

    # -- hooks -------------------------------------------------------------------------------------
    def make_out(self) -> DropPath:
        return DropPath("output folder", folder=True)

    def build(self) -> None:  # pragma: no cover - every wizard defines it
        raise NotImplementedError

    def out_widget(self) -> DropPath:
        return self.out

    def add_tab(self, widget: QWidget, title: str) -> Any:
        self.tabs.addTab(widget, title)
        return widget

    def out_path(self) -> Path:
        return Path(self.out.path())

    def options_ready(self) -> Check:
        if not self.out.path():
            return False, "choose an output"
        return super().options_ready()

    # -- the preview panel -------------------------------------------------------------------------
    def show_preview_busy(self) -> None:
        self.status.setText("Computing the preview…")

    def show_preview_problem(self, message: str) -> None:
        if self.session.preview_failed():
            self.status.setText("The preview failed.")
        else:
            self.status.setText(message)  # the inputs are not ready: say what is missing

    def _plan_done(self, token: int, plan: dict[str, Any], conflict: OutputConflict | None = None) -> None:
        if token == self.session.generation:
            self.status.setText("")
        super()._plan_done(token, plan, conflict)

    def message_texts(self) -> tuple[list[str], list[str]]:
        """(errors, warnings) shown now (for tests and the status bar)."""
        local_errors, local_warnings = self.local_problems()
        return local_errors + self.session.fresh("errors"), local_warnings + self.session.fresh("warnings")

    def show_messages(self) -> None:
        errors, warnings = self.message_texts()
        lines = [f"<span style='color:{color('bad').name()}'>✗ {escape(e)}</span>" for e in errors]
        lines += [f"<span style='color:{color('flag').name()}'>⚠ {escape(w)}</span>" for w in warnings]
        self.messages.setText("<br>".join(lines))

    def run_started(self) -> None:
        for warning in self.session.plan.get("warnings", []):
            self.run_view.appendLog(warning, "warning")


class DatasetInput:
    """A dropped dataset plus 'use its curation', shared by the dataset-based flows."""

    def add_dataset_inputs(self: Any, note: str) -> None:
        self.dataset = DropPath(
            "Drop a LeRobot dataset folder (or a LeIsaac .hdf5) here, or browse",
            accept=lambda p: p.exists(),
            folder=True,
        )
        self.curated = QCheckBox("Use the curation made in Browse (excluded episodes, trims, task edits)")
        hint = QLabel(note)
        hint.setWordWrap(True)
        self.inputs_form.addRow("Dataset", self.dataset)
        self.inputs_form.addRow("", self.curated)
        self.inputs_form.addRow("", hint)
        self.dataset.pathChanged.connect(lambda _p: self._changed())
        self.curated.toggled.connect(self._changed)

    def inputs_ready(self: Any) -> Check:
        return dataset_check(self.dataset.path())
