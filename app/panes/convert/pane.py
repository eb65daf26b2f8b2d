"""Convert pane: pick a conversion (or a Cosmos / IDM flow) on the left, then one wizard of the same
shape for each: 1 inputs (drag and drop) -> 2 options with a live preview -> 3 run (progress,
cancel, log) -> 4 done (open in Browse, open folder, provenance).

The backend does the work (backend/convert: ``plan`` for the preview, ``run`` to write); each wizard
keeps what the user chose in a Qt-free session and runs its tasks in its own task group.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent, QResizeEvent
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.panes.convert.eef import EefToJointFamily, JointToEefFamily
from app.panes.convert.hdf5_to_lerobot import Hdf5ToLerobotFamily
from app.panes.convert.lerobot_to_hdf5 import LerobotToHdf5Family
from app.panes.convert.lerobot_versions import TranscodeFamily, VersionsFamily
from app.panes.convert.wizard import ConversionWizard
from app.wizards.base import StepWizard
from app.wizards.cosmos_idm import WIZARD_FAMILIES
from backend.convert import CONVERSIONS
from backend.sessions.convert import conversion, conversion_for
from backend.sessions.wizard import OPTIONS

CHOOSER_MIN_WIDTH = 190
WIDE_PANE = 1500  # from this pane width on, every conversion's title fits on one line

FAMILIES = {
    "hdf5_to_lerobot": Hdf5ToLerobotFamily,
    "lerobot_to_hdf5": LerobotToHdf5Family,
    "lerobot_v3_to_v2": VersionsFamily,
    "lerobot_v2_to_v3": VersionsFamily,
    "transcode": TranscodeFamily,
    "joint_to_eef": JointToEefFamily,
    "eef_to_joint": EefToJointFamily,
}


class ConvertPane(QWidget):
    def __init__(self, context: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.chooser = QListWidget()
        self.chooser.setMaximumWidth(300)
        for info in CONVERSIONS:
            item = QListWidgetItem(info.title)
            item.setData(Qt.ItemDataRole.UserRole, info.key)
            item.setToolTip(f"{info.summary}\nInputs: {info.inputs}")
            self.chooser.addItem(item)
        # Cosmos / IDM inputs (issue 5): their own modules, the same wizard
        self.extra_factories = {key: factory for key, _title, factory in WIZARD_FAMILIES}
        for key, title, _factory in WIZARD_FAMILIES:
            item = QListWidgetItem(title)
            item.setData(Qt.ItemDataRole.UserRole, key)
            self.chooser.addItem(item)
        # every title readable, no horizontal scroll bar: long titles wrap on a small window
        self.chooser.setWordWrap(True)
        self.chooser.setMinimumWidth(CHOOSER_MIN_WIDTH)
        self.chooser.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.stack = QStackedWidget()
        self.empty = QLabel(
            "Choose a conversion on the left.\nEvery conversion shows a preview before it writes anything."
        )
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack.addWidget(self.empty)
        self.wizards: dict[str, StepWizard] = {}
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setChildrenCollapsible(False)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(QLabel("Conversion"))
        left_layout.addWidget(self.chooser, 1)
        splitter.addWidget(left)
        splitter.addWidget(self.stack)
        splitter.setStretchFactor(1, 1)
        self.splitter = splitter
        self._user_sized = False
        splitter.splitterMoved.connect(lambda *_a: setattr(self, "_user_sized", True))
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        self.chooser.currentItemChanged.connect(
            lambda item, _prev: self.select(item.data(Qt.ItemDataRole.UserRole)) if item else None
        )

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt API
        """The wizard gets the spare width; the list is as wide as its longest title when the window
        has room, narrower (titles wrapped) on a small one, until the user moves the divider."""
        super().resizeEvent(event)
        if self._user_sized:
            return
        widest = self.chooser.sizeHintForColumn(0) + 2 * self.chooser.frameWidth() + 12
        width = widest if self.width() >= WIDE_PANE else CHOOSER_MIN_WIDTH
        self.splitter.setSizes([width, max(1, self.splitter.width() - width)])

    def select(self, key: str) -> Any:
        wizard = self.wizards.get(key)
        if wizard is None:
            if key in self.extra_factories:
                wizard = self.extra_factories[key](self.context, None)
            else:
                workspace = Path(getattr(self.context, "workspace", Path.home()))
                wizard = ConversionWizard(FAMILIES[key](conversion(key), workspace), self.context)
            self.wizards[key] = wizard
            self.stack.addWidget(wizard)
        self.stack.setCurrentWidget(wizard)
        for row in range(self.chooser.count()):
            item = self.chooser.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == key and self.chooser.currentRow() != row:
                self.chooser.setCurrentRow(row)
        return wizard

    def show_input(self, path: str) -> ConversionWizard | None:
        """Open the conversion a dataset or recording most likely wants, with it as the input, on the
        options step (its preview computing); None when ``path`` is neither."""
        key = conversion_for(path)
        if key is None:
            return None
        wizard = self.select(key)
        family = wizard.family
        if key == "hdf5_to_lerobot":
            family.sources.setPaths([path])
        else:
            family.source.setPath(path)
        if wizard.step() < OPTIONS and not wizard.session.running:
            wizard._go(OPTIONS)  # noqa: SLF001 - the pane drives its own wizard
        return wizard

    def status_fields(self) -> dict[str, str]:
        running = [w.title for w in self.wizards.values() if w.session.running]
        return {"convert": f"converting: {running[0]}"} if running else {}

    def save_state(self) -> dict[str, Any]:
        current = self.stack.currentWidget()
        key = next((k for k, w in self.wizards.items() if w is current), None)
        return {"family": key}

    def restore_state(self, state: dict[str, Any]) -> None:
        key = (state or {}).get("family")
        if key in FAMILIES or key in self.extra_factories:
            self.select(key)

    def shutdown(self) -> None:
        """Cancel every wizard's preview and run and wait for them (the window is closing)."""
        for wizard in self.wizards.values():
            wizard.shutdown()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        self.shutdown()
        super().closeEvent(event)
