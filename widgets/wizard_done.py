"""Last step of a wizard: what was written, actions on it, and its provenance record."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from widgets.elided_label import WrapLabel


class DoneView(QWidget):
    openRequested = Signal(str)  # open the result in the browser
    openFolderRequested = Signal(str)
    againRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._output = ""
        self.headline = WrapLabel("")
        self.headline.setStyleSheet("font-weight: bold; font-size: 14px;")
        self.headline.setWordWrap(True)
        self.details = WrapLabel("")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_button = QPushButton("Open in Browse")
        self.open_button.clicked.connect(lambda: self.openRequested.emit(self._output))
        self.folder_button = QPushButton("Open folder")
        self.folder_button.clicked.connect(lambda: self.openFolderRequested.emit(self._output))
        self.again_button = QPushButton("Convert another")
        self.again_button.clicked.connect(self.againRequested.emit)
        self.provenance = QPlainTextEdit()
        self.provenance.setReadOnly(True)
        row = QHBoxLayout()
        row.addWidget(self.open_button)
        row.addWidget(self.folder_button)
        row.addStretch(1)
        row.addWidget(self.again_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.headline)
        layout.addWidget(self.details)
        layout.addLayout(row)
        layout.addWidget(QLabel("Provenance (inputs with checksums, options, tool version, episode mapping)"))
        layout.addWidget(self.provenance, 1)

    def output(self) -> str:
        return self._output

    def setOpenTarget(self, path: str) -> None:
        """What "Open in Browse" opens (the written dataset when the output is a folder holding it)."""
        self._output = str(path)

    def setResult(self, summary: dict[str, Any]) -> None:
        self._output = str(summary.get("output", ""))
        episodes, frames = summary.get("episodes_written", 0), summary.get("frames_written", 0)
        self.headline.setText(f"Done: {self._output}")
        lines = [
            f"{summary.get('output_format', '')} · {episodes} episodes · {frames} frames · "
            f"{summary.get('seconds', 0.0):.1f} s"
        ]
        skipped = summary.get("skipped") or []
        if skipped:
            lines.append(f"{len(skipped)} skipped (reasons in the log)")
        for warning in summary.get("warnings") or []:
            lines.append(f"⚠ {warning}")
        self.details.setText("\n".join(lines))
        record = summary.get("provenance")
        self.provenance.setPlainText(json.dumps(record, indent=2, ensure_ascii=False) if record else "(none)")
