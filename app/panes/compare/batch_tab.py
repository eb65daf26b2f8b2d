"""Compare's Batch tab: every generated episode against its source, worst first; a row opens the pair."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from app.error_dialog import show_error
from app.tasks import BACKGROUND, TaskGroup
from backend.compare.batch import COLUMNS as BATCH_COLUMNS
from backend.compare.batch import BatchResult
from backend.sessions.compare import CompareSession
from widgets.compare_batch import RowTable

HINT = (
    "Pick a source and a generated dataset, then compare all episodes. "
    "The worst pairs come first; click a row to open it."
)


class BatchTab(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("source (A)"))
        self.source = QComboBox()
        self.source.setMinimumWidth(200)
        controls.addWidget(self.source, 1)
        controls.addWidget(QLabel("generated (B)"))
        self.generated = QComboBox()
        self.generated.setMinimumWidth(200)
        controls.addWidget(self.generated, 1)
        self.button = QPushButton("Compare all episodes")
        self.button.setToolTip("Every episode of B against its source episode in A (paired by provenance)")
        controls.addWidget(self.button)
        self.cancel = QPushButton("Cancel")
        self.cancel.setEnabled(False)
        controls.addWidget(self.cancel)
        layout.addLayout(controls)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        layout.addWidget(self.progress)
        self.label = QLabel(HINT)
        self.label.setWordWrap(True)
        self.label.setObjectName("mutedLabel")
        layout.addWidget(self.label)
        self.table = RowTable(BATCH_COLUMNS)
        layout.addWidget(self.table, 1)

    def set_paths(self, paths: list[str]) -> None:
        """Offer ``paths`` in both lists (keeps the choices; B defaults to another dataset than A)."""
        for combo in (self.source, self.generated):
            current = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            for p in paths:
                combo.addItem(Path(p).name, p)
            if current:
                combo.setCurrentIndex(max(0, combo.findData(current)))
            combo.blockSignals(False)
        if (
            self.generated.count() > 1
            and self.generated.currentIndex() == 0
            and self.source.currentIndex() == 0
        ):
            self.generated.setCurrentIndex(1)

    def choose(self, source: str, generated: str) -> None:
        for combo, path in ((self.source, source), (self.generated, generated)):
            combo.setCurrentIndex(max(0, combo.findData(str(Path(path)))))

    def start(
        self,
        tasks: TaskGroup,
        session: CompareSession,
        source: str,
        generated: str,
        on_done: Callable[[BatchResult], None],
    ) -> None:
        """Compare every episode of ``generated`` with ``source`` on the background lane."""
        session.batch_source, session.batch_generated = source, generated
        self.set_running(source, generated)
        tasks.run(
            session.compare_all,
            source,
            generated,
            session.feature,
            session.align,
            session.band_s,
            key="batch",
            lane=BACKGROUND,
            on_done=on_done,
            on_error=lambda message, details: show_error(
                self, "The batch comparison failed", message, details
            ),
            on_progress=lambda done, total, _text: self.set_progress(done, total),
            on_cancelled=lambda: self.label.setText("Cancelled."),
            on_finished=self.set_idle,
        )

    def stop(self, tasks: TaskGroup) -> None:
        task = tasks.get("batch")
        if task is not None:
            task.cancel()  # not dropped: its "Cancelled." still shows

    def set_running(self, source: str, generated: str) -> None:
        self.button.setEnabled(False)
        self.cancel.setEnabled(True)
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)  # busy until the first report
        self.label.setText(f"Comparing the episodes of {Path(generated).name} with {Path(source).name}…")

    def set_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)

    def set_idle(self) -> None:
        self.button.setEnabled(True)
        self.cancel.setEnabled(False)
        self.progress.setVisible(False)

    def show_result(self, result: BatchResult) -> None:
        self.table.set_rows(result.rows, result.sort_key, descending=True)
        failed = sum(1 for r in result.rows if r.error)
        self.label.setText(
            f"{len(result.rows)} episodes of {Path(result.generated).name} against "
            f"{Path(result.source).name} ({result.feature} in {result.units or '?'}, align {result.align})"
            + (f", {failed} could not be compared" if failed else "")
            + ". Worst first; click a column to sort, a row to open the pair."
            + "".join(f"\nwarning: {w}" for w in result.pairing_warnings)
        )
