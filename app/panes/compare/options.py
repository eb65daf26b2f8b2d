"""Compare's options row: add and open sources, what to compare, the alignment, the report button."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QPushButton, QWidget

from backend.compare.align import ALIGN_MODES
from widgets.elided_label import ElidedLabel

ALIGN_TIPS = {
    "none": "none: both start together (a recorded frame offset still applies; edit offsets by hand)",
    "offset": "offset: estimate a constant delay",
    "scale": "scale: estimate a delay and a speed difference (e.g. frames at the wrong fps)",
    "dtw": "dtw: a time warp (dynamic time warping within a band)",
}


class OptionsBar(QWidget):
    """The row's widgets; the pane connects them (``PARTS`` are the ones it reaches)."""

    PARTS = (
        "add_button",
        "open_button",
        "open_folder_button",
        "feature_combo",
        "align_combo",
        "band_spin",
        "status_label",
        "export_button",
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        options = QHBoxLayout(self)
        options.setContentsMargins(0, 0, 0, 0)
        self.add_button = QPushButton("Add source")
        self.add_button.setToolTip("Compare up to four sources (C and D are compared with A too)")
        options.addWidget(self.add_button)
        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip("Open a LeIsaac .hdf5 file")
        options.addWidget(self.open_button)
        self.open_folder_button = QPushButton("Open folder…")
        self.open_folder_button.setToolTip("Open a LeRobot, IDM or Cosmos output folder")
        options.addWidget(self.open_folder_button)
        options.addSpacing(12)
        options.addWidget(QLabel("compare"))
        self.feature_combo = QComboBox()
        self.feature_combo.addItem("actions", "action")
        self.feature_combo.addItem("states", "state")
        options.addWidget(self.feature_combo)
        options.addWidget(QLabel("align"))
        self.align_combo = QComboBox()
        for mode in ALIGN_MODES:
            self.align_combo.addItem(mode, mode)
            self.align_combo.setItemData(
                self.align_combo.count() - 1, ALIGN_TIPS[mode], Qt.ItemDataRole.ToolTipRole
            )
        options.addWidget(self.align_combo)
        options.addWidget(QLabel("DTW band"))
        self.band_spin = QDoubleSpinBox()
        self.band_spin.setRange(0.1, 30.0)
        self.band_spin.setValue(1.0)
        self.band_spin.setSuffix(" s")
        self.band_spin.setToolTip("How far DTW may warp time, in seconds")
        options.addWidget(self.band_spin)
        options.addStretch(1)
        self.status_label = ElidedLabel("")  # "opening <long name>…" shortens, never widens the window
        self.status_label.setObjectName("mutedLabel")
        options.addWidget(self.status_label)
        self.export_button = QPushButton("Export report…")
        self.export_button.setToolTip(
            "A folder with report.html, a picture of the view, metrics.csv and summary.json"
        )
        options.addWidget(self.export_button)
