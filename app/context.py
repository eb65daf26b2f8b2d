"""State shared by every pane: settings, workspace, open datasets, status fields.

Panes talk to each other only through this object (signals), never by importing each other.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal

MAX_RECENT = 12


class AppContext(QObject):
    # A dataset path the user asked to open (any pane may ask; Browse opens it and shows it).
    openDatasetRequested = Signal(str)
    # A backend.model.Dataset that is now open.
    datasetOpened = Signal(object)
    # Status bar field changed: (field name, text), e.g. ("jobs", "3 jobs running").
    statusChanged = Signal(str, str)
    # Ask the window to switch to a pane by key ("browse", "compare", ...).
    showPaneRequested = Signal(str)
    # Ask the Compare pane to compare these sources: list of "PATH[:EPISODE]" strings.
    compareRequested = Signal(list)

    def __init__(self, settings: QSettings, workspace: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.workspace = Path(workspace)
        self.workspace.mkdir(parents=True, exist_ok=True)

    # -- persisted lists -------------------------------------------------------------------------
    def recent_datasets(self) -> list[str]:
        value = self.settings.value("recent/datasets", [])
        return [str(v) for v in (value if isinstance(value, list) else [value] if value else [])]

    def add_recent_dataset(self, path: str) -> None:
        items = [p for p in self.recent_datasets() if p != path]
        items.insert(0, path)
        self.settings.setValue("recent/datasets", items[:MAX_RECENT])

    def last_folder(self, purpose: str) -> str:
        return str(self.settings.value(f"folders/{purpose}", str(self.workspace)))

    def set_last_folder(self, purpose: str, folder: str) -> None:
        self.settings.setValue(f"folders/{purpose}", folder)

    def set_status(self, field: str, text: str) -> None:
        self.statusChanged.emit(field, text)

    @property
    def jobs_db(self) -> Path:
        # one store for the GUI and the CLI (`rollout-studio jobs ...`), whatever the workspace
        from backend.jobs.paths import default_db_path

        return default_db_path()
