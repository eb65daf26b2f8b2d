"""What is specific to one conversion in the Convert wizard: its inputs page, its options form and
how the form's values become the backend's options. What the user chose lives in the wizard's
``backend.sessions.convert.ConvertSession``; a family's widgets forward their edits there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QSpinBox, QWidget

from app.wizards.base import watch_changes
from backend.convert import ConversionInfo
from backend.sessions.convert import ConvertSession
from backend.sessions.wizard import Check
from widgets.wizard_inputs import DropPath

PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium")


def spin(minimum: int, maximum: int, value: int, special: str | None = None) -> QSpinBox:
    box = QSpinBox()
    box.setRange(minimum, maximum)
    box.setValue(value)
    if special:
        box.setSpecialValueText(special)
    return box


def combo(items: list[tuple[str, Any]], current: Any = None) -> QComboBox:
    box = QComboBox()
    for text, data in items:
        box.addItem(text, data)
    if current is not None:
        index = box.findData(current)
        if index >= 0:
            box.setCurrentIndex(index)
    return box


def preset_combo() -> QComboBox:
    return combo([("default", None)] + [(p, p) for p in PRESETS])


class Family(QObject):
    """Inputs and options of one conversion. ``changed`` fires on any edit (preview refresh)."""

    changed = Signal()

    def __init__(self, info: ConversionInfo, workspace: Path) -> None:
        super().__init__()
        self.info = info
        self.session = ConvertSession(key=info.key, workspace=workspace)
        self.module = self.session.module
        self.workspace = workspace
        self.inputs_page = QWidget()
        self.options_page = QWidget()
        self.form = QFormLayout(self.options_page)
        folder = self.session.out_is_folder()
        self.out = DropPath("output", folder=folder, save=not folder, file_filter="HDF5 (*.hdf5 *.h5)")
        self.out.edit.textEdited.connect(lambda text: self.session.set_out(text, typed=True))
        self.out.pathChanged.connect(self._out_changed)

    def _out_changed(self, path: str) -> None:
        self.session.set_out(path)
        self.changed.emit()

    # to override ----------------------------------------------------------------------------------
    def options(self) -> Any:  # pragma: no cover - every family defines it
        raise NotImplementedError

    def plan_arrived(self, plan: dict[str, Any]) -> None:  # noqa: B027 - optional hook
        pass

    # shared ---------------------------------------------------------------------------------------
    def ready(self) -> Check:
        return self.session.inputs_check()

    def inputs(self) -> Any:
        return self.session.backend_inputs()

    def default_out(self) -> Path | None:
        return self.session.default_out()

    def blocked(self, _plan: dict[str, Any] | None = None) -> str:
        """The sentence the Run button shows while the plan has errors ("" for the generic one)."""
        return self.session.blocked()

    def refresh_default_out(self) -> None:
        proposed = self.session.propose_out(self.session.default_out())
        if proposed is not None:
            self.out.setPath(proposed)

    def watch(self, *widgets: QWidget) -> None:
        watch_changes(widgets, self.changed.emit)

    def out_path(self) -> Path:
        return self.session.out_path()
