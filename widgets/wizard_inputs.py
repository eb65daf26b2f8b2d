"""Input pickers for wizards: a list of dropped files/folders, and a single dropped path.

Both accept drag and drop from the file manager, have a Browse button and say what to do when
empty. ``accept`` decides which paths are welcome (e.g. ``.hdf5`` files, folders with
``meta/info.json``); refused drops are reported in ``rejected``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSizePolicy,
    QStackedLayout,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from widgets.palette import color

Accept = Callable[[Path], bool]


def _paths_from(event: QDropEvent | QDragEnterEvent) -> list[Path]:
    mime = event.mimeData()
    if not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


class DropList(QWidget):
    """A list of input paths: drop files/folders, Add..., Remove."""

    pathsChanged = Signal(list)  # list[str]
    rejected = Signal(list)  # list[str] refused by ``accept``

    def __init__(
        self,
        empty_text: str,
        accept: Accept | None = None,
        folders: bool = False,
        file_filter: str = "All files (*)",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self._accept = accept or (lambda p: p.exists())
        self._folders = folders
        self._filter = file_filter
        self.list = QListWidget()
        self.list.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.list.setAcceptDrops(False)
        self.empty = QLabel(empty_text)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet(
            f"color: {color('muted').name()}; border: 2px dashed {color('grid').name()}; padding: 24px;"
        )
        self._stack = QStackedLayout()
        self._stack.addWidget(self.empty)
        self._stack.addWidget(self.list)
        add = QPushButton("Add…")
        add.clicked.connect(self._browse)
        remove = QPushButton("Remove")
        remove.clicked.connect(self._remove_selected)
        self.message = QLabel("")
        self.message.setStyleSheet(f"color: {color('bad').name()};")
        row = QHBoxLayout()
        row.addWidget(self.message, 1)
        row.addWidget(add)
        row.addWidget(remove)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._stack, 1)
        layout.addLayout(row)

    def paths(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def setPaths(self, paths: list[str | Path]) -> None:
        self.list.clear()
        self.addPaths(paths)
        if not paths:
            self._changed()

    def addPaths(self, paths: list[str | Path]) -> None:
        existing = set(self.paths())
        refused = []
        for path in paths:
            path = Path(path)
            if not self._accept(path):
                refused.append(str(path))
                continue
            if str(path) not in existing:
                self.list.addItem(str(path))
                existing.add(str(path))
        self.message.setText(f"not accepted: {', '.join(Path(p).name for p in refused)}" if refused else "")
        if refused:
            self.rejected.emit(refused)
        self._changed()

    def _changed(self) -> None:
        self._stack.setCurrentIndex(1 if self.list.count() else 0)
        self.pathsChanged.emit(self.paths())

    def _remove_selected(self) -> None:
        for item in self.list.selectedItems():
            self.list.takeItem(self.list.row(item))
        self._changed()

    def _browse(self) -> None:
        if self._folders:
            folder = QFileDialog.getExistingDirectory(self, "Choose a folder")
            if folder:
                self.addPaths([folder])
        else:
            files, _ = QFileDialog.getOpenFileNames(self, "Choose files", "", self._filter)
            self.addPaths(files)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if _paths_from(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = _paths_from(event)
        if paths:
            self.addPaths(paths)
            event.acceptProposedAction()


class DropPath(QWidget):
    """One path: a line edit that takes drops, with a Browse button."""

    pathChanged = Signal(str)

    def __init__(
        self,
        placeholder: str,
        accept: Accept | None = None,
        folder: bool = False,
        file_filter: str = "All files (*)",
        save: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self._accept = accept or (lambda p: True)
        self._folder = folder
        self._filter = file_filter
        self._save = save
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(placeholder)
        self.edit.setAcceptDrops(False)
        self.edit.textChanged.connect(lambda text: self.pathChanged.emit(text.strip()))
        browse = QToolButton()
        browse.setText("…")
        browse.setToolTip("Browse")
        browse.clicked.connect(self._browse)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(browse)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def path(self) -> str:
        return self.edit.text().strip()

    def setPath(self, path: str | Path) -> None:
        self.edit.setText(str(path))

    def _browse(self) -> None:
        if self._folder:
            chosen = QFileDialog.getExistingDirectory(self, "Choose a folder", self.path())
        elif self._save:
            chosen, _ = QFileDialog.getSaveFileName(self, "Output file", self.path(), self._filter)
        else:
            chosen, _ = QFileDialog.getOpenFileName(self, "Choose a file", self.path(), self._filter)
        if chosen:
            self.setPath(chosen)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        paths = _paths_from(event)
        if paths and self._accept(paths[0]):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = _paths_from(event)
        if paths and self._accept(paths[0]):
            self.setPath(paths[0])
            event.acceptProposedAction()
