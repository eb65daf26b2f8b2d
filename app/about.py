"""Help > About: the version, the commit and the libraries (the text of ``rollout-studio --version``),
with Copy (for a bug report) and a link to the crash reports folder; and the offer, at start, of the
crash reports the last runs left (``backend.crash``)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl, qVersion
from PySide6.QtGui import QDesktopServices, QFontDatabase, QGuiApplication, QIcon, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.tasks import INTERACTIVE, TaskGroup
from backend import crash, versions

ICON = Path(__file__).resolve().parents[1] / "packaging" / "icons" / "rollout-studio-128.png"
SUMMARY = "Record, curate, convert, generate and compare SO-101 demonstrations."


def app_icon() -> QIcon:
    """The studio's icon (packaging/icons; an installed bundle's theme icon otherwise)."""
    return QIcon(str(ICON)) if ICON.exists() else QIcon.fromTheme("rollout-studio")


def _versions_text(progress=None) -> str:  # noqa: ARG001 - a task function
    return versions.format_text(versions.collect(qt_runtime=qVersion()))


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Rollout Studio")
        self.tasks = TaskGroup(self)
        head = QHBoxLayout()
        icon = QLabel()
        pixmap = QPixmap(str(ICON)) if ICON.exists() else QIcon.fromTheme("rollout-studio").pixmap(96, 96)
        if not pixmap.isNull():
            icon.setPixmap(pixmap.scaled(96, 96, Qt.AspectRatioMode.KeepAspectRatio,
                                         Qt.TransformationMode.SmoothTransformation))
        title = QLabel(f"<h2>Rollout Studio</h2><p>{SUMMARY}</p>")
        title.setWordWrap(True)
        head.addWidget(icon)
        head.addWidget(title, 1)
        self.text = QPlainTextEdit("…")
        self.text.setReadOnly(True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setMinimumSize(620, 190)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = buttons.addButton("Copy", QDialogButtonBox.ButtonRole.ActionRole)
        reports = buttons.addButton("Crash reports…", QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(self.copy)
        reports.clicked.connect(lambda: open_folder(crash.crash_dir()))
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)
        self.tasks.run(_versions_text, key="versions", lane=INTERACTIVE, on_done=self._show_versions,
                       on_error=lambda message, _details: self.text.setPlainText(message))

    def _show_versions(self, text: str) -> None:
        self.text.setPlainText(text)
        self.copy_button.setEnabled(True)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.text.toPlainText())

    def done(self, result: int) -> None:
        self.tasks.shutdown()
        super().done(result)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.tasks.shutdown()
        super().closeEvent(event)


def open_folder(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


def show_about(parent: QWidget | None) -> AboutDialog:
    dialog = AboutDialog(parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog


def offer_crash_reports(parent: QWidget | None) -> QMessageBox | None:
    """If earlier runs crashed, say so once (non-modal) with the newest report; None when none."""
    reports = crash.pending()
    if not reports:
        return None
    crash.mark_offered(reports)
    newest = reports[-1]
    more = f" ({len(reports)} reports)" if len(reports) > 1 else ""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Rollout Studio stopped on an error")
    box.setText(f"An earlier run of Rollout Studio stopped on an error{more}. A report was saved:")
    box.setInformativeText(f"{newest}\n\nIt holds the error, the versions and the last log lines; "
                           "attach it to a bug report.")
    box.setDetailedText(newest.read_text(encoding="utf-8", errors="replace"))
    show = box.addButton("Show folder", QMessageBox.ButtonRole.ActionRole)
    box.addButton(QMessageBox.StandardButton.Close)
    show.clicked.connect(lambda: open_folder(newest.parent))
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box
