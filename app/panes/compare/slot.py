"""One source row of Compare: dataset, episode, camera; B-D also an offset and their pairing with A.

The row shows a ``backend.sessions.compare.Side`` (``show_side``) and tells the pane what the user changed
(``edited``, ``datasetPicked``); it decides nothing itself.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QWidget,
)

from backend.compare.view import LETTERS
from backend.model import Dataset
from backend.sessions.compare import Side

SIDE_COLORS = ["#e8a33d", "#4e9bff", "#2ec27e", "#b48ead"]
NO_DATASET = "Pick a dataset…"


class ElidedLabel(QLabel):
    """A one-line label that ends in "…" when the row is too narrow (the whole text is its tooltip)."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = text
        self.setMinimumWidth(40)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt API
        self._full = text
        self._elide()

    def text(self) -> str:
        return self._full

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, max(self.width(), 40))
        super().setText(shown)


class SourceSlot(QFrame):
    """One source: dataset, episode, camera; B-D also an offset and their pairing with A."""

    edited = Signal(int, str)  # slot index, what changed: "episode", "camera", "offset", "follow"
    datasetPicked = Signal(int, object)  # slot index, path (None: no dataset)
    removeRequested = Signal(int)

    def __init__(self, index: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.index = index
        self.letter = LETTERS[index]
        self.dataset: Dataset | None = None  # the dataset whose episodes and cameras are listed
        self._quiet = False
        self._offset_exact = 0.0
        self.setObjectName("compareSlot")
        row = QHBoxLayout(self)
        row.setContentsMargins(2, 1, 2, 1)
        badge = QLabel(self.letter)
        badge.setFixedWidth(18)
        badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        badge.setStyleSheet(f"background:{SIDE_COLORS[index]};color:#111;font-weight:bold;border-radius:3px")
        badge.setToolTip("A: the source (reference)" if index == 0 else f"{self.letter}: compared with A")
        row.addWidget(badge)
        self.dataset_combo = QComboBox()
        self.dataset_combo.setMinimumWidth(220)
        self.dataset_combo.setToolTip("Dataset of this source (open more with Open…)")
        self.dataset_combo.addItem(NO_DATASET, None)
        row.addWidget(self.dataset_combo, 2)
        row.addWidget(QLabel("episode"))
        self.episode_combo = QComboBox()
        self.episode_combo.setMinimumWidth(110)
        row.addWidget(self.episode_combo)
        row.addWidget(QLabel("camera"))
        self.camera_combo = QComboBox()
        self.camera_combo.setMinimumWidth(80)
        row.addWidget(self.camera_combo)
        self.offset_spin = QDoubleSpinBox()
        self.offset_spin.setRange(-600.0, 600.0)
        self.offset_spin.setDecimals(3)
        self.offset_spin.setSingleStep(0.033)
        self.offset_spin.setSuffix(" s")
        self.offset_spin.setToolTip(
            "How late this source is compared with A (seconds). Edit it with alignment 'none'; "
            "the other alignments estimate it."
        )
        self.pair_label = ElidedLabel("")
        self.pair_label.setObjectName("mutedLabel")
        if index:
            row.addWidget(QLabel("offset"))
            row.addWidget(self.offset_spin)
            row.addWidget(self.pair_label, 1)
        else:
            self.offset_spin.hide()
            self.follow_check = QCheckBox("A follows B's source")
            self.follow_check.setChecked(True)
            self.follow_check.setToolTip(
                "When B changes, pick A's episode from B's provenance (or the same index). "
                "Choose A's episode by hand to override."
            )
            self.follow_check.toggled.connect(lambda _on: self._emit("follow"))
            row.addWidget(self.follow_check)
            row.addWidget(self.pair_label, 1)
        self.remove_button = QToolButton()
        self.remove_button.setText("×")
        self.remove_button.setToolTip(f"Remove source {self.letter}")
        self.remove_button.setVisible(index >= 2)
        self.remove_button.clicked.connect(lambda: self.removeRequested.emit(self.index))
        row.addWidget(self.remove_button)
        self.dataset_combo.currentIndexChanged.connect(lambda _i: self._picked())
        self.episode_combo.currentIndexChanged.connect(lambda _i: self._emit("episode"))
        self.camera_combo.currentIndexChanged.connect(lambda _i: self._emit("camera"))
        self.offset_spin.valueChanged.connect(lambda _v: self._emit("offset"))

    def _emit(self, what: str) -> None:
        if not self._quiet:
            self.edited.emit(self.index, what)

    def _picked(self) -> None:
        if not self._quiet:
            self.datasetPicked.emit(self.index, self.path())

    # -- what is offered --------------------------------------------------------------------------
    def set_paths(self, paths: list[str]) -> None:
        current = self.path()
        self._quiet = True
        self.dataset_combo.clear()
        self.dataset_combo.addItem(NO_DATASET, None)
        for path in paths:
            self.dataset_combo.addItem(Path(path).name, path)
            self.dataset_combo.setItemData(self.dataset_combo.count() - 1, path, Qt.ItemDataRole.ToolTipRole)
        if current:
            self.dataset_combo.setCurrentIndex(max(0, self.dataset_combo.findData(current)))
        self._quiet = False

    def show_side(self, side: Side, pair_text: tuple[str, str], offset_editable: bool) -> None:
        """Show ``side`` as the session has it (nothing is emitted)."""
        self._quiet = True
        if side.path is not None:
            found = self.dataset_combo.findData(side.path)
            if found >= 0:
                self.dataset_combo.setCurrentIndex(found)
        elif self.dataset is not None:
            self.dataset_combo.setCurrentIndex(0)
        dataset = side.dataset
        if dataset is not self.dataset:
            self._list(dataset)
        if dataset is not None:
            self._select(self.episode_combo, side.episode)
            self._select(self.camera_combo, side.camera)
        self._offset_exact = float(side.offset_s)
        self.offset_spin.setValue(float(side.offset_s))
        self.offset_spin.setReadOnly(not offset_editable)
        self.pair_label.setText(pair_text[0])
        self.pair_label.setToolTip(pair_text[1])
        self._quiet = False

    def _list(self, dataset: Dataset | None) -> None:
        self.dataset = dataset
        self.episode_combo.clear()
        self.camera_combo.clear()
        if dataset is None:
            return
        for ep in dataset.episodes:
            mark = "" if ep.success is None else (" ✓" if ep.success else " ✗")
            self.episode_combo.addItem(f"{ep.index} · {ep.length} fr{mark}", ep.index)
        for name in sorted(dataset.cameras):
            self.camera_combo.addItem(name, name)
        self.camera_combo.addItem("no camera", None)

    @staticmethod
    def _select(combo: QComboBox, value: object) -> None:
        pos = combo.findData(value) if value is not None else combo.count() - 1
        if pos >= 0:
            combo.setCurrentIndex(pos)

    # -- what is shown ----------------------------------------------------------------------------
    def path(self) -> str | None:
        value = self.dataset_combo.currentData()
        return str(value) if value else None

    def episode(self) -> int | None:
        value = self.episode_combo.currentData()
        return None if value is None else int(value)

    def camera(self) -> str | None:
        value = self.camera_combo.currentData()
        return str(value) if value else None

    def offset(self) -> float:
        """The offset in seconds: the exact value the session has unless the user edited the box."""
        shown = float(self.offset_spin.value())
        if abs(shown - round(self._offset_exact, self.offset_spin.decimals())) < 1e-9:
            return self._offset_exact
        return shown

    def follows(self) -> bool:
        return self.index == 0 and self.follow_check.isChecked()
