"""Browse's exports: the curated dataset (dialog, background task with progress and cancel, validated
when written), the decisions as JSON, and validating the dataset shown.

The dialog offers the subtask schema of a LeRobot output like ``curate export --subtasks``
(docs/subtasks.md); the choice is remembered in the settings (``SUBTASKS_SETTING``).

The export task holds its own lease on the dataset: closing the dataset or opening another one while
it runs leaves the file open for the export, closed when it ends.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.error_dialog import show_error, show_exception
from app.tasks import BACKGROUND
from backend.curation import export_curated, export_decisions_json
from backend.model import Dataset, DatasetFormat
from backend.progress import Progress

WRITABLE_FORMATS = [
    (DatasetFormat.LEISAAC_HDF5, "LeIsaac HDF5 (.hdf5)"),
    (DatasetFormat.LEROBOT_V30, "LeRobot v3.0 (folder)"),
    (DatasetFormat.LEROBOT_V21, "LeRobot v2.1 (folder)"),
]
_CHROME = 216  # the dialog's margins, the widest caption ("Subtasks") and the Choose… button
SUBTASKS_SETTING = "browse/export_subtasks"
SUBTASK_MODES = [  # backend.subtask_export.MODES, as the dialog names them
    ("auto", "Auto: language columns for v3.0, subtask_index for v2.1"),
    ("none", "None"),
    ("index", "subtask_index + subtasks.parquet (LeRobot 0.4 – 0.5)"),
    ("language", "Language columns (LeRobot 0.6, v3.0 only)"),
    ("both", "Both (v3.0 only)"),
]
_V30_ONLY = ("language", "both")


class ExportDialog(QDialog):
    """Where and in which format to write the curated dataset."""

    def __init__(
        self, parent: QWidget, dataset: Dataset, summary_text: str, default_out: Path, subtasks: str = "auto"
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export curated dataset")
        self.format = QComboBox()
        for fmt, label in WRITABLE_FORMATS:
            self.format.addItem(label, fmt.value)
        same = self.format.findData(dataset.format.value)
        self.format.setCurrentIndex(
            same if same >= 0 else 1 if dataset.format is not DatasetFormat.LEISAAC_HDF5 else 0
        )
        self.out = QLineEdit(str(default_out))
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._choose)
        row = QHBoxLayout()
        row.addWidget(self.out, 1)
        row.addWidget(browse)
        form = QFormLayout()
        self.subtasks = QComboBox()
        for mode, label in SUBTASK_MODES:
            self.subtasks.addItem(label, mode)
        self.subtasks.setCurrentIndex(max(0, self.subtasks.findData(subtasks)))
        form.addRow("Format", self.format)
        form.addRow("Subtasks", self.subtasks)
        form.addRow("Output", row)
        self.path_label = QLabel("")  # the path elided in the middle, when the field cannot show it all
        self.path_label.setObjectName("mutedLabel")
        self.path_label.hide()
        form.addRow("", self.path_label)
        summary = QLabel(summary_text + "\nThe source dataset is not changed.")
        summary.setWordWrap(True)
        summary.setObjectName("mutedLabel")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(summary)
        layout.addWidget(buttons)
        self.format.currentIndexChanged.connect(self._format_changed)
        self.out.textChanged.connect(self._fit_path)
        self._subtasks_for_format()
        self._fit_path()

    def _fit_path(self) -> None:
        """Wide enough for the whole path where the screen allows; else the start of it in view and
        the path elided in the middle under the field; the whole of it in the tooltip."""
        text = self.out.text()
        self.out.setToolTip(text)
        screen = self.screen().availableGeometry().width() if self.screen() else 1280
        metrics = self.out.fontMetrics()
        room = screen - 40 - _CHROME
        wanted = metrics.horizontalAdvance(text) + 24
        self.out.setMinimumWidth(max(320, min(wanted, room)))
        if not self.out.hasFocus():
            self.out.setCursorPosition(0)
        too_long = wanted > room
        self.path_label.setVisible(too_long)
        if too_long:
            self.path_label.setText(metrics.elidedText(text, Qt.TextElideMode.ElideMiddle, room))
            self.path_label.setToolTip(text)
        width = min(screen - 40, max(620, self.out.minimumWidth() + _CHROME))
        self.resize(width, self.sizeHint().height())

    def _subtasks_for_format(self) -> None:
        """HDF5 demos always get the ``subtasks`` attribute; v2.1 has no language columns."""
        fmt = self.chosen_format()
        hdf5 = fmt is DatasetFormat.LEISAAC_HDF5
        self.subtasks.setEnabled(not hdf5)
        self.subtasks.setToolTip(
            "HDF5 demos get a 'subtasks' attribute (JSON start, end, text)" if hdf5
            else "How subtask segments are written for LeRobot (docs/subtasks.md)"
        )
        model = self.subtasks.model()
        for row, (mode, _label) in enumerate(SUBTASK_MODES):
            model.item(row).setEnabled(fmt is not DatasetFormat.LEROBOT_V21 or mode not in _V30_ONLY)
        if fmt is DatasetFormat.LEROBOT_V21 and self.chosen_subtasks() in _V30_ONLY:
            self.subtasks.setCurrentIndex(self.subtasks.findData("index"))

    def chosen_subtasks(self) -> str:
        return str(self.subtasks.currentData())

    def _format_changed(self) -> None:
        self._subtasks_for_format()
        out = Path(self.out.text())
        if self.chosen_format() is DatasetFormat.LEISAAC_HDF5:
            self.out.setText(str(out.with_suffix(".hdf5")))
        elif out.suffix == ".hdf5":
            self.out.setText(str(out.with_suffix("")))

    def _choose(self) -> None:
        if self.chosen_format() is DatasetFormat.LEISAAC_HDF5:
            path, _ = QFileDialog.getSaveFileName(self, "Export to", self.out.text(), "HDF5 (*.hdf5)")
        else:
            path = QFileDialog.getExistingDirectory(
                self, "Export into folder", str(Path(self.out.text()).parent)
            )
            if path:
                path = str(Path(path) / Path(self.out.text()).name)
        if path:
            self.out.setText(path)

    def chosen_format(self) -> DatasetFormat:
        return DatasetFormat(self.format.currentData())

    def output(self) -> Path:
        return Path(self.out.text()).expanduser()


def _validate(path: str, progress: Progress | None = None) -> list[Any]:
    from backend.formats import validate_path

    return validate_path(path)


class BrowseExport(QObject):
    """The export side of a Browse pane (``pane.session``, ``pane.tasks``, ``pane.bar``, ``pane.toast``)."""

    finished = Signal(object)  # output Path, once validated

    def __init__(self, pane: Any) -> None:
        super().__init__(pane)
        self.pane = pane
        self._started = 0.0
        pane.bar.progress_cancel.clicked.connect(self.cancel)

    @property
    def running(self) -> bool:
        return self.pane.tasks.busy("export")

    def default_path(self, fmt: DatasetFormat) -> Path:
        dataset = self.pane.session.dataset
        assert dataset is not None
        base = Path(self.pane.context.workspace) / "exports"
        stem = dataset.path.name.split(".")[0] if dataset.path.is_file() else dataset.path.name
        suffix = ".hdf5" if fmt is DatasetFormat.LEISAAC_HDF5 else ""
        candidate = base / f"{stem}-curated{suffix}"
        n = 2
        while candidate.exists():
            candidate = base / f"{stem}-curated-{n}{suffix}"
            n += 1
        return candidate

    def dialog(self) -> ExportDialog | None:
        session = self.pane.session
        if session.dataset is None or session.curation is None:
            return None
        dataset = session.dataset
        fmt = dataset.format if dataset.format in dict(WRITABLE_FORMATS) else DatasetFormat.LEROBOT_V30
        settings = self.pane.context.settings
        remembered = str(settings.value(SUBTASKS_SETTING, "auto"))
        dialog = ExportDialog(self.pane, dataset, session.summary_text(), self.default_path(fmt), remembered)

        def accepted() -> None:
            if dialog.subtasks.isEnabled():  # an HDF5 export leaves the LeRobot choice as it was
                settings.setValue(SUBTASKS_SETTING, dialog.chosen_subtasks())
            self.start(dialog.output(), dialog.chosen_format(), dialog.chosen_subtasks())

        dialog.accepted.connect(accepted)
        dialog.open()
        return dialog

    def start(self, out: Path, fmt: DatasetFormat, subtasks: str = "auto") -> None:
        """Export in the background with progress and cancel; validate the result when done.
        ``subtasks``: the LeRobot subtask schema (``backend.subtask_export.MODES``)."""
        session, bar = self.pane.session, self.pane.bar
        if session.dataset is None or session.curation is None or self.running:
            return
        bar.set_progress_visible(True)
        bar.progress_text.setText("Exporting…")
        bar.progress_bar.setRange(0, 0)
        self._started = time.monotonic()
        self.pane.tasks.run(
            export_curated,
            session.dataset,
            session.curation.snapshot(),
            str(out),
            fmt.value,
            subtasks=subtasks,
            key="export",
            lane=BACKGROUND,
            holds=[session.share()],
            outputs=[out],
            on_progress=bar.show_progress,
            on_done=self._exported,
            on_error=self._failed,
            on_cancelled=self._cancelled,
        )

    def cancel(self) -> None:
        task = self.pane.tasks.get("export")
        if task is not None:
            self.pane.bar.progress_text.setText("Cancelling…")
            task.cancel()  # not stale: its cancelled callback tells the user

    def _exported(self, out: Path) -> None:
        self.pane.bar.set_progress_visible(False)
        seconds = time.monotonic() - self._started
        toast = self.pane.toast

        def validated(problems: list[Any]) -> None:
            errors = [p for p in problems if p.severity == "error"]
            verdict = "validate: OK" if not errors else f"validate: {len(errors)} problem(s): {errors[0].line()}"
            toast.show_message(
                f"Exported to {out} in {seconds:.1f} s ({verdict})",
                [("Open in Browse", lambda: self.pane.context.openDatasetRequested.emit(str(out)))],
            )
            self.finished.emit(Path(out))

        def failed(message: str, _details: str) -> None:
            toast.show_message(f"Exported to {out}; validate failed: {message}")
            self.finished.emit(Path(out))

        self.pane.tasks.run(
            _validate, str(out), key="export-validate", lane=BACKGROUND, on_done=validated, on_error=failed
        )

    def _failed(self, message: str, details: str) -> None:
        self.pane.bar.set_progress_visible(False)
        show_error(self.pane, "Export failed (nothing was written)", message, details)

    def _cancelled(self) -> None:
        self.pane.bar.set_progress_visible(False)
        self.pane.toast.show_message("Export cancelled; nothing was written.")

    # -- decisions and validate -----------------------------------------------------------------
    def decisions_dialog(self) -> None:
        session = self.pane.session
        if session.dataset is None or session.curation is None:
            return
        context = self.pane.context
        start = str(Path(context.last_folder("decisions")) / f"{session.dataset.path.name}.decisions.json")
        path, _ = QFileDialog.getSaveFileName(self.pane, "Export decisions as JSON", start, "JSON (*.json)")
        if path:
            self.decisions(Path(path))

    def decisions(self, path: Path) -> Path | None:
        session = self.pane.session
        try:
            out = export_decisions_json(session.dataset, session.curation, path)
        except Exception as error:  # noqa: BLE001 - shown to the user
            show_exception(self.pane, "Could not export the decisions", error)
            return None
        self.pane.context.set_last_folder("decisions", str(Path(path).parent))
        self.pane.toast.show_message(f"Decisions written to {out}")
        return out

    def validate_current(self) -> None:
        dataset = self.pane.session.dataset
        if dataset is None:
            return
        path = str(dataset.path)
        name = Path(path).name

        def done(problems: list[Any]) -> None:
            errors = [p for p in problems if p.severity == "error"]
            warnings = [p for p in problems if p.severity != "error"]
            if not problems:
                self.pane.toast.show_message(f"{name}: valid, no problems found.")
            elif not errors:
                self.pane.toast.show_message(
                    f"{name}: valid with {len(warnings)} warning(s):\n" + "\n".join(w.line() for w in warnings[:5])
                )
            else:
                show_error(
                    self.pane,
                    f"{name} has {len(errors)} problem(s)",
                    "\n".join(p.line() for p in errors[:8]),
                    "\n".join(p.line() for p in problems),
                    path,
                )

        self.pane.tasks.run(
            _validate, path, key="validate", lane=BACKGROUND, on_done=done,
            on_error=lambda m, d: show_error(self.pane, "Validate failed", m, d, path),
        )
