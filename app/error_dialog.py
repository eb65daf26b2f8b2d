"""One error dialog for the whole window: what failed, the file, what to do; details folded away.

The dialog is window-modal but never blocks the event loop (``open()``, not ``exec()``), so
background work, timers and tests keep running while it is shown.
"""

from __future__ import annotations

import traceback

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from backend.errors import StudioError

_open_dialogs: list[QMessageBox] = []


def show_error(
    parent: QWidget | None,
    title: str,
    message: str,
    details: str | None = None,
    path: str | None = None,
    hint: str | None = None,
) -> QMessageBox:
    """Show ``title`` (what failed) with the message, the file and the hint; traceback in details."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Critical)
    box.setWindowTitle("Rollout Studio")
    box.setText(title)
    lines = [message]
    if path and path not in message:
        lines.append(f"File: {path}")
    if hint and hint not in message:
        lines.append(f"What to do: {hint}")
    box.setInformativeText("\n\n".join(lines))
    if details:
        box.setDetailedText(details)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    _open_dialogs.append(box)
    box.finished.connect(lambda _r: _open_dialogs.remove(box) if box in _open_dialogs else None)
    box.open()
    return box


def show_exception(parent: QWidget | None, title: str, error: BaseException) -> QMessageBox:
    details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    if isinstance(error, StudioError):
        return show_error(parent, title, error.problem, details, error.path, error.hint)
    return show_error(parent, title, f"{type(error).__name__}: {error}", details)


def open_dialogs() -> list[QMessageBox]:
    """Error dialogs currently shown (tests use it); a dialog deleted with its window is forgotten."""
    from shiboken6 import isValid

    _open_dialogs[:] = [box for box in _open_dialogs if isValid(box)]
    return list(_open_dialogs)
