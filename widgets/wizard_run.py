"""Run step of a wizard: progress bar with rate and ETA, a Cancel button and a log."""

from __future__ import annotations

import time

from PySide6.QtCore import Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from widgets.elided_label import ElidedLabel
from widgets.palette import color


class RunView(QWidget):
    cancelRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = ElidedLabel("")
        self.title.setStyleSheet("font-weight: bold;")
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.text = ElidedLabel("")
        self.rate = ElidedLabel("")
        self.rate.setStyleSheet(f"color: {color('muted').name()};")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self._cancel)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(5000)
        row = QHBoxLayout()
        row.addWidget(self.bar, 1)
        row.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(row)
        layout.addWidget(self.text)
        layout.addWidget(self.rate)
        layout.addWidget(QLabel("Log"))
        layout.addWidget(self.log, 1)
        self._started = 0.0
        self.running = False

    def start(self, title: str) -> None:
        self.title.setText(title)
        self.bar.setRange(0, 0)
        self.text.setText("starting…")
        self.rate.setText("")
        self.log.clear()
        self.cancel_button.setEnabled(True)
        self._started = time.monotonic()
        self.running = True
        self.appendLog(title)

    def setProgress(self, done: int, total: int, text: str) -> None:
        if not self.running or not self.cancel_button.isEnabled():
            return  # a late report after Cancel or the end: keep the ending shown
        if total > 0:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * min(done, total) / total))
            elapsed = time.monotonic() - self._started
            if done > 0 and elapsed > 0.5:
                rate = done / elapsed
                eta = (total - done) / rate if rate > 0 else 0.0
                self.rate.setText(
                    f"{done}/{total} · {rate:.1f}/s · {elapsed:.0f} s elapsed · about {eta:.0f} s left"
                )
        else:
            self.bar.setRange(0, 0)
        self.text.setText(text)

    def appendLog(self, line: str, level: str = "info") -> None:
        prefix = {"warning": "warning: ", "error": "error: "}.get(level, "")
        self.log.appendPlainText(f"{time.strftime('%H:%M:%S')}  {prefix}{line}")
        self.log.moveCursor(QTextCursor.MoveOperation.End)

    def finish(self, ok: bool, message: str) -> None:
        """The run ended: no ETA any more (the time it took, when it wrote its output)."""
        self.running = False
        self.cancel_button.setEnabled(False)
        elapsed = time.monotonic() - self._started
        self.rate.setText(f"took {elapsed:.0f} s" if ok else "")
        if ok:
            self.bar.setRange(0, 1000)
            self.bar.setValue(1000)
        else:
            self.bar.setRange(0, 1000)
        self.text.setText(message)
        self.appendLog(message, "info" if ok else "error")

    def _cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.rate.setText("")  # no ETA for a run that is stopping
        self.text.setText("cancelling… (nothing is left at the destination)")
        self.cancelRequested.emit()
