"""The studio window: a left rail of panes, menus, shortcuts, status bar, drag and drop.

Panes come from ``app.panes.PANES`` and are built the first time they are shown (the window
opens fast and a pane that fails to import shows its error instead of taking the window down).
Window geometry, dock layout and each pane's ``save_state()`` persist in the settings.
"""

from __future__ import annotations

import importlib
import traceback
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QActionGroup, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QComboBox,
    QDialog,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.context import AppContext
from app.error_dialog import show_error
from app.geometry import clamp_to_screen, place_default
from app.panes import PANES, PaneSpec
from app.settings import REOPEN_KEY, get_bool, get_json, set_json
from app.status_fields import PaneContext, StatusFields
from app.window_parts import PlaceholderPane, RailButton, shortcuts_dialog
from widgets.toast import Toast


class MainWindow(QMainWindow):
    paneCreated = Signal(str, object)  # key, widget

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.settings = context.settings
        self.setObjectName("RolloutStudioMainWindow")
        self.setAcceptDrops(True)
        self.panes: dict[str, QWidget] = {}
        self.pane_errors: dict[str, str] = {}
        self._pane_index: dict[str, int] = {}
        self.current_key = ""
        self.dataset_path: str | None = None

        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        self.rail = QFrame()
        self.rail.setObjectName("rail")
        rail_layout = QVBoxLayout(self.rail)
        rail_layout.setContentsMargins(4, 8, 4, 8)
        rail_layout.setSpacing(4)
        self.rail_group = QButtonGroup(self)
        self.rail_group.setExclusive(True)
        self.rail_buttons: dict[str, RailButton] = {}
        self.stack = QStackedWidget()
        for number, spec in enumerate(PANES, start=1):
            button = RailButton(spec, number)
            button.clicked.connect(lambda _=False, key=spec.key: self.show_pane(key))
            self.rail_group.addButton(button)
            self.rail_buttons[spec.key] = button
            rail_layout.addWidget(button)
            holder = QWidget()  # replaced by the pane when first shown
            self._pane_index[spec.key] = self.stack.addWidget(holder)
        rail_layout.addStretch(1)
        row.addWidget(self.rail)
        row.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self._build_status_bar()
        self._build_menus()
        self.toast = Toast(self, anchor=self.stack)  # a corner of the pane where no control is
        context.statusChanged.connect(self.set_status)
        context.showPaneRequested.connect(self.show_pane)
        context.openDatasetRequested.connect(self.open_dataset)
        context.datasetOpened.connect(self._on_dataset_opened)
        self._update_title()
        place_default(self)
        self._restore_window()
        self.show_pane(str(self.settings.value("window/pane", "browse")))

    # -- panes ------------------------------------------------------------------------------------
    def spec(self, key: str) -> PaneSpec:
        for spec in PANES:
            if spec.key == key:
                return spec
        raise KeyError(key)

    def pane(self, key: str) -> QWidget:
        """The pane widget for ``key``, built on first use."""
        if key in self.panes:
            return self.panes[key]
        spec = self.spec(key)
        try:
            module = importlib.import_module(spec.module)
            cls = getattr(module, spec.class_name)
            widget = cls(PaneContext(self.context, key, self._pane_status), self)
        except ModuleNotFoundError as error:
            if error.name and spec.module.startswith(error.name):
                widget = PlaceholderPane(spec)
            else:
                widget = PlaceholderPane(spec, f"{type(error).__name__}: {error}", traceback.format_exc())
            self.pane_errors[key] = str(error)
        except Exception as error:  # noqa: BLE001 - one broken pane must not take the window down
            widget = PlaceholderPane(spec, f"{type(error).__name__}: {error}", traceback.format_exc())
            self.pane_errors[key] = str(error)
        index = self._pane_index[key]
        old = self.stack.widget(index)
        self.stack.removeWidget(old)
        old.deleteLater()
        self.stack.insertWidget(index, widget)
        self.panes[key] = widget
        state = get_json(self.settings, f"panes/{key}/state")
        if state and hasattr(widget, "restore_state"):
            try:
                widget.restore_state(state)
            except Exception:  # noqa: BLE001 - a stale layout must not break the pane
                pass
        if hasattr(widget, "status_fields"):
            try:
                for name, text in widget.status_fields().items():
                    self._pane_status(key, name, text)
            except Exception:  # noqa: BLE001
                pass
        if key == "browse" and hasattr(widget, "undoStateChanged"):
            widget.undoStateChanged.connect(self._update_undo_actions)
        self.paneCreated.emit(key, widget)
        return widget

    @property
    def browse(self):
        return self.pane("browse")

    def show_pane(self, key: str) -> None:
        if key not in self._pane_index:
            key = "browse"
        widget = self.pane(key)
        self.stack.setCurrentWidget(widget)
        self.rail_buttons[key].setChecked(True)
        self.current_key = key
        self.status_area.set_current(key)
        for pane_key, action in self.pane_actions.items():
            action.setChecked(pane_key == key)
        self.settings.setValue("window/pane", key)
        widget.setFocus()

    # -- menus ------------------------------------------------------------------------------------
    def _action(
        self, menu, text: str, slot, shortcut: str | QKeySequence | None = None, tip: str = ""
    ) -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(lambda _=False: slot())
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action(
            file_menu,
            "&Open dataset…",
            self.open_dataset_dialog,
            "Ctrl+O",
            "Open a LeIsaac .hdf5, a LeRobot folder or a Cosmos output folder",
        )
        self._action(file_menu, "Open dataset &folder…", self.open_folder_dialog, "Ctrl+Shift+O")
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self.reopen_action = QAction("Reopen the last dataset at start", self)
        self.reopen_action.setCheckable(True)
        self.reopen_action.setChecked(get_bool(self.settings, REOPEN_KEY, True))
        self.reopen_action.setStatusTip("Started without a dataset, the window opens the last one again")
        self.reopen_action.toggled.connect(lambda on: self.settings.setValue(REOPEN_KEY, bool(on)))
        file_menu.addAction(self.reopen_action)
        file_menu.addSeparator()
        self._action(file_menu, "Open &workspace…", self.open_workspace_dialog)
        self._action(file_menu, "Show workspace folder", lambda: self._reveal(self.context.workspace))
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        edit_menu = bar.addMenu("&Edit")
        self.undo_action = self._action(
            edit_menu, "&Undo", lambda: self.browse.undo(), QKeySequence.StandardKey.Undo
        )
        self.redo_action = self._action(edit_menu, "&Redo", lambda: self.browse.redo(), "Ctrl+Shift+Z")
        self.undo_action.setEnabled(False)
        self.redo_action.setEnabled(False)

        view_menu = bar.addMenu("&View")
        self.pane_actions: dict[str, QAction] = {}
        for number, spec in enumerate(PANES, start=1):
            action = self._action(
                view_menu, spec.title, lambda k=spec.key: self.show_pane(k), f"Ctrl+{number}"
            )
            action.setCheckable(True)
            self.pane_actions[spec.key] = action
        view_menu.addSeparator()
        self._action(view_menu, "Reset &layout", self.reset_layout)
        theme_menu = view_menu.addMenu("&Theme")
        group = QActionGroup(self)
        current = str(self.settings.value("ui/theme", "dark"))
        for name in ("dark", "light"):
            action = self._action(theme_menu, name.capitalize(), lambda n=name: self.set_theme(n))
            action.setCheckable(True)
            action.setChecked(name == current)
            group.addAction(action)

        dataset_menu = bar.addMenu("&Dataset")
        self.export_action = self._action(
            dataset_menu,
            "&Export curated dataset…",
            self._export_current,
            "Ctrl+E",
            "Export what the current pane shows (Browse: the curated dataset; Compare: the report)",
        )
        self._action(
            dataset_menu,
            "Export &decisions as JSON…",
            lambda: self._with_dataset(lambda b: b.export_decisions_dialog()),
        )
        self._action(dataset_menu, "&Validate", lambda: self._with_dataset(lambda b: b.validate_current()))
        self._action(dataset_menu, "Show curation file", self._reveal_curation)

        convert_menu = bar.addMenu("&Convert")
        self._action(convert_menu, "Open the Convert pane", lambda: self.show_pane("convert"))
        jobs_menu = bar.addMenu("&Jobs")
        self._action(jobs_menu, "Show jobs", lambda: self.show_pane("jobs"))
        tools_menu = bar.addMenu("&Tools")
        self._action(tools_menu, "Compare episodes", lambda: self.show_pane("compare"))
        self._action(
            tools_menu, "Show settings file", lambda: self._reveal(Path(self.settings.fileName()).parent)
        )
        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "Keyboard &shortcuts", self.show_shortcuts, "F1")
        self._action(help_menu, "&About Rollout Studio", self.show_about)

        self.workspace_combo = QComboBox()
        self.workspace_combo.setObjectName("workspaceCombo")
        self.workspace_combo.setToolTip("Workspace: recordings, datasets, outputs and job logs live under it")
        self._fill_workspaces()
        self.workspace_combo.activated.connect(self._workspace_chosen)
        bar.setCornerWidget(self.workspace_combo, Qt.Corner.TopRightCorner)

    def _export_current(self) -> None:
        """Ctrl+E exports from the visible pane when it has its own export, else the curated dataset."""
        current = self.panes.get(getattr(self, "current_key", ""))
        export = getattr(current, "export_dialog", None) if self.current_key != "browse" else None
        if callable(export):
            export()
            return
        self._with_dataset(lambda b: b.export_curated_dialog())

    def _with_dataset(self, fn) -> None:
        browse = self.browse
        if browse.dataset is None:
            self.toast.show_message("Open a dataset first (File > Open dataset, Ctrl+O).")
            return
        self.show_pane("browse")
        fn(browse)

    def _update_undo_actions(self) -> None:
        curation = self.browse.curation
        self.undo_action.setEnabled(bool(curation and curation.can_undo))
        self.redo_action.setEnabled(bool(curation and curation.can_redo))
        self.undo_action.setText(
            f"&Undo {curation.undo_label}" if curation and curation.can_undo else "&Undo"
        )
        self.redo_action.setText(
            f"&Redo {curation.redo_label}" if curation and curation.can_redo else "&Redo"
        )

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.context.recent_datasets()
        if not recent:
            action = self.recent_menu.addAction("No recent datasets")
            action.setEnabled(False)
            return
        for path in recent:
            action = self.recent_menu.addAction(path)
            action.setEnabled(Path(path).exists())
            action.triggered.connect(lambda _=False, p=path: self.open_dataset(p))
        self.recent_menu.addSeparator()
        self.recent_menu.addAction("Clear list", lambda: self.settings.setValue("recent/datasets", []))

    def _fill_workspaces(self) -> None:
        self.workspace_combo.blockSignals(True)
        self.workspace_combo.clear()
        items = [str(self.context.workspace)]
        for path in get_json(self.settings, "recent/workspaces", []) or []:
            if path not in items:
                items.append(path)
        for path in items[:10]:
            self.workspace_combo.addItem(Path(path).name or path, path)
            self.workspace_combo.setItemData(
                self.workspace_combo.count() - 1, path, Qt.ItemDataRole.ToolTipRole
            )
        self.workspace_combo.addItem("Open workspace…", "")
        self.workspace_combo.setCurrentIndex(0)
        self.workspace_combo.blockSignals(False)

    def _workspace_chosen(self, index: int) -> None:
        path = self.workspace_combo.itemData(index)
        if not path:
            self.open_workspace_dialog()
        else:
            self.set_workspace(Path(path))

    def set_workspace(self, path: Path) -> None:
        path = Path(path).expanduser().absolute()
        path.mkdir(parents=True, exist_ok=True)
        self.context.workspace = path
        self.settings.setValue("workspace/current", str(path))
        recent = [str(path)] + [
            p for p in get_json(self.settings, "recent/workspaces", []) or [] if p != str(path)
        ]
        set_json(self.settings, "recent/workspaces", recent[:10])
        self._fill_workspaces()
        self._update_title()
        self.context.set_status("workspace", f"workspace {path.name}")

    # -- opening ----------------------------------------------------------------------------------
    def open_dataset_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Open dataset",
            self.context.last_folder("datasets"),
            "Datasets (*.hdf5 *.h5 info.json *.mp4);;All files (*)",
        )
        if path:
            self.open_dataset(path)

    def open_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(
            self, "Open dataset folder", self.context.last_folder("datasets")
        )
        if path:
            self.open_dataset(path)

    def open_workspace_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open workspace", str(self.context.workspace))
        if path:
            self.set_workspace(Path(path))
        else:
            self._fill_workspaces()

    def open_dataset(self, path: str, episode: int | None = None, frame: int | None = None) -> None:
        """Open ``path`` in Browse; the window's title, recent list and last folder change once it
        is open (a failed open changes nothing)."""
        from backend.sessions.browse import resolve_dataset_path

        resolved = resolve_dataset_path(path)
        if not resolved.exists():
            show_error(
                self,
                "Could not open the dataset",
                "no such file or folder",
                None,
                str(path),
                "check the path, or pick it with File > Open dataset",
            )
            return
        browse = self.browse
        self.show_pane("browse")
        if episode is None and frame is None:
            remembered = browse.remembered_position(str(resolved))
            if remembered:
                episode, frame = remembered
        browse.open_path(path, episode, frame)

    def last_dataset(self) -> str | None:
        """The dataset to reopen at start: the most recent one, when the setting is on and it exists."""
        if not get_bool(self.settings, REOPEN_KEY, True):
            return None
        recent = self.context.recent_datasets()
        return recent[0] if recent and Path(recent[0]).exists() else None

    def _on_dataset_opened(self, dataset: Any) -> None:
        path = Path(dataset.path).absolute()
        self.dataset_path = str(path)
        if path.exists():  # (datasets built in memory have no place on disk)
            self.context.add_recent_dataset(self.dataset_path)
            self.context.set_last_folder("datasets", str(path.parent))
        self._update_title()

    def _update_title(self) -> None:
        parts = ["Rollout Studio"]
        if self.dataset_path:
            parts.insert(0, Path(self.dataset_path).name)
        parts.append(f"workspace {self.context.workspace}")
        self.setWindowTitle(" — ".join(parts))

    # -- drag and drop ----------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt API
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_dataset(paths[0])

    # -- status bar -------------------------------------------------------------------------------
    def _build_status_bar(self) -> None:
        self.statusBar().setSizeGripEnabled(True)
        self.status_area = StatusFields(self.statusBar())
        self.status_labels: dict[str, QLabel] = self.status_area.labels
        self.set_status("dataset", "no dataset")

    def set_status(self, name: str, text: str) -> None:
        """A field of the window (or set through the shared context): shown whatever the pane."""
        self.status_area.set(name, text)

    def _pane_status(self, key: str, name: str, text: str) -> None:
        self.status_area.set(name, text, key)

    def status_text(self, name: str) -> str:
        """The text a status field shows now ("" when hidden)."""
        return self.status_area.text(name)

    # -- layout persistence -----------------------------------------------------------------------
    def _restore_window(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, (QByteArray, bytes)):
            self.restoreGeometry(QByteArray(geometry))
            clamp_to_screen(self)
        state = self.settings.value("window/state")
        if isinstance(state, (QByteArray, bytes)):
            self.restoreState(QByteArray(state))

    def save_layout(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        for key, widget in self.panes.items():
            if hasattr(widget, "save_state"):
                try:
                    set_json(self.settings, f"panes/{key}/state", widget.save_state())
                except (TypeError, ValueError):
                    pass
        self.settings.sync()

    def reset_layout(self) -> None:
        for key, widget in self.panes.items():
            if hasattr(widget, "reset_layout"):
                widget.reset_layout()
            self.settings.remove(f"panes/{key}/state")
        place_default(self)
        self.toast.show_message("Layout reset to the default.")

    def set_theme(self, name: str) -> None:
        from app.theme import apply_theme

        apply_theme(QApplication.instance(), name)
        self.settings.setValue("ui/theme", name)
        for widget in self.findChildren(QWidget):  # plots draw with colours of their own
            restyle = getattr(widget, "restyle_theme", None)
            if callable(restyle):
                restyle()
        self.toast.show_message(f"{name.capitalize()} theme.")

    # -- help -------------------------------------------------------------------------------------
    def show_shortcuts(self) -> QDialog:
        return shortcuts_dialog(self)

    def show_about(self) -> None:
        from app.about import show_about  # version, commit, libraries; Copy; crash reports folder

        self._about = show_about(self)

    def _reveal(self, path: Path | str) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

    def _reveal_curation(self) -> None:
        curation = self.browse.curation
        if curation is None:
            self.toast.show_message("Open a dataset first.")
            return
        self.toast.show_message(
            f"Curation file: {curation.path}", [("Show folder", lambda: self._reveal(curation.path.parent))]
        )

    # -- demo -------------------------------------------------------------------------------------
    def start_demo_panes(self, dataset: str | None = None) -> None:
        """Call ``start_demo()`` on every pane that has one (Teleop starts a virtual arm, Compare
        pairs two demonstrations, Jobs selects the newest job) and put ``dataset`` in the Convert
        wizard, so that every pane of the demo workspace shows something."""
        if dataset:
            show_input = getattr(self.pane("convert"), "show_input", None)
            if callable(show_input):
                try:
                    show_input(dataset)
                except Exception as error:  # noqa: BLE001 - the demo goes on without that pane
                    self.toast.show_message(f"Convert demo could not start: {error}")
        for spec in PANES:
            widget = self.pane(spec.key)
            start = getattr(widget, "start_demo", None)
            if callable(start):
                try:
                    start()
                except Exception as error:  # noqa: BLE001 - the demo goes on without that pane
                    self.toast.show_message(f"{spec.title} demo could not start: {error}")

    # -- closing ----------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.save_layout()
        for widget in self.panes.values():
            for name in ("shutdown", "stop_demo"):
                fn = getattr(widget, name, None)
                if callable(fn):
                    try:
                        fn()
                    except Exception:  # noqa: BLE001 - closing goes on
                        traceback.print_exc()
        super().closeEvent(event)
