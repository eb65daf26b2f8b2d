"""A form built from typed parameter descriptions (dicts), with per-field error messages.

Each description has ``name``, ``type`` (string, int, float, bool, choice, path, list) and optionally
``label``, ``help``, ``default``, ``required``, ``choices``, ``exists`` (file/dir: picks the browse
dialog), ``advanced`` (hidden behind "More options"), ``command`` (a list typed as one command line, shown
split: ``show_command`` tells it the split; ``note`` is the line under it). ``values()`` returns what
the user entered (text for typed fields and command lines, so the caller validates and converts);
empty fields are left out.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from widgets.command_edit import CommandEdit


class _PathEdit(QWidget):
    textChanged = Signal(str)

    def __init__(self, kind: str | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.edit = QLineEdit(self)
        self.edit.textChanged.connect(self.textChanged)
        browse = QToolButton(self, text="...", toolTip="Browse")
        browse.clicked.connect(self._browse)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(browse)

    def _browse(self) -> None:
        start = self.edit.text()
        if self.kind == "dir":
            path = QFileDialog.getExistingDirectory(self, "Choose a folder", start)
        elif self.kind in ("file", "any"):
            path, _ = QFileDialog.getOpenFileName(self, "Choose a file", start)
        else:
            path, _ = QFileDialog.getSaveFileName(self, "Choose where to write", start)
        if path:
            self.edit.setText(path)

    def text(self) -> str:
        return self.edit.text()

    def setText(self, text: str) -> None:  # noqa: N802 - Qt naming
        self.edit.setText(text)


class ParamForm(QWidget):
    """Fields for a list of parameter descriptions; emits ``changed`` on any edit."""

    changed = Signal()

    def __init__(self, params: list[dict[str, Any]] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._fields: dict[str, tuple[dict[str, Any], QWidget, QLabel]] = {}
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._main = QFormLayout()
        self._advanced_box = QWidget(self)
        self._advanced = QFormLayout(self._advanced_box)
        self._advanced.setContentsMargins(0, 0, 0, 0)
        self._toggle = QToolButton(self, text="More options", checkable=True)
        self._toggle.toggled.connect(self._advanced_box.setVisible)
        self._layout.addLayout(self._main)
        self._layout.addWidget(self._toggle)
        self._layout.addWidget(self._advanced_box)
        self._layout.addStretch(1)
        self.set_params(params or [])

    def set_params(self, params: list[dict[str, Any]]) -> None:
        for form in (self._main, self._advanced):
            while form.rowCount():
                form.removeRow(0)
        self._fields.clear()
        for spec in params:
            editor = self._editor(spec)
            error = QLabel("", self)
            error.setStyleSheet("color: #e06c5a;")
            error.setWordWrap(True)
            error.hide()
            holder = QWidget(self)
            column = QVBoxLayout(holder)
            column.setContentsMargins(0, 0, 0, 0)
            column.setSpacing(1)
            column.addWidget(editor)
            column.addWidget(error)
            label = (spec.get("label") or spec["name"].replace("_", " ").capitalize()).replace("&", "&&")
            if spec.get("required"):
                label += " *"
            tip = spec.get("help", "")
            editor.setToolTip(tip)
            form = self._advanced if spec.get("advanced") else self._main
            form.addRow(label, holder)
            form.labelForField(holder).setToolTip(tip)
            self._fields[spec["name"]] = (spec, editor, error)
        has_advanced = any(s.get("advanced") for s in params)
        self._toggle.setVisible(has_advanced)
        self._advanced_box.setVisible(has_advanced and self._toggle.isChecked())

    def _editor(self, spec: dict[str, Any]) -> QWidget:
        kind = spec.get("type", "string")
        default = spec.get("default")
        if kind == "bool":
            box = QCheckBox(self)
            box.setChecked(bool(default))
            box.toggled.connect(self.changed)
            return box
        if kind == "choice":
            combo = QComboBox(self)
            for choice in spec.get("choices", []):
                combo.addItem(str(choice), choice)
            if default is not None:
                combo.setCurrentText(str(default))
            combo.currentIndexChanged.connect(self.changed)
            return combo
        if kind == "list" and spec.get("command"):
            command = CommandEdit(spec.get("note", ""), self)
            if default:
                command.set_arguments([str(v) for v in default])
            command.textChanged.connect(self.changed)
            return command
        if kind == "list":
            edit = QPlainTextEdit(self)
            edit.setPlaceholderText("one per line")
            edit.setFixedHeight(72)
            if default:
                edit.setPlainText("\n".join(str(v) for v in default))
            edit.textChanged.connect(self.changed)
            return edit
        if kind == "path":
            path = _PathEdit(spec.get("exists"), self)
            if default is not None:
                path.setText(str(default))
            path.textChanged.connect(self.changed)
            return path
        edit = QLineEdit(self)
        if default is not None:
            edit.setText(str(default))
        elif not spec.get("required"):
            edit.setPlaceholderText("optional")
        edit.textChanged.connect(self.changed)
        return edit

    # -- values ------------------------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, (spec, editor, _error) in self._fields.items():
            kind = spec.get("type", "string")
            if kind == "bool":
                out[name] = editor.isChecked()
            elif kind == "choice":
                out[name] = editor.currentData()
            elif isinstance(editor, CommandEdit):
                if editor.text().strip():
                    out[name] = editor.text()
            elif kind == "list":
                items = [line for line in editor.toPlainText().split("\n") if line.strip()]
                out[name] = items
            else:
                text = editor.text().strip()
                if text:
                    out[name] = text
        return out

    def set_values(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            if name not in self._fields:
                continue
            spec, editor, _error = self._fields[name]
            kind = spec.get("type", "string")
            if kind == "bool":
                editor.setChecked(bool(value))
            elif kind == "choice":
                editor.setCurrentText(str(value))
            elif isinstance(editor, CommandEdit):
                if isinstance(value, str):
                    editor.setText(value)
                else:
                    editor.set_arguments([str(v) for v in value or []])
            elif kind == "list":
                editor.setPlainText("\n".join(str(v) for v in value or []))
            else:
                editor.setText("" if value is None else str(value))

    def set_errors(self, errors: dict[str, str]) -> None:
        for name, (_spec, _editor, label) in self._fields.items():
            message = errors.get(name)
            label.setText(message or "")
            label.setVisible(bool(message))
            if message and self._fields[name][0].get("advanced"):
                self._toggle.setChecked(True)

    def show_command(self, name: str, argv: list[str], warning: str, fix: str = "") -> None:
        """How a command line field's text splits (its arguments, a warning, a fix to offer)."""
        editor = self._fields[name][1] if name in self._fields else None
        if isinstance(editor, CommandEdit):
            editor.show_split(argv, warning, fix)

    def editor(self, name: str) -> QWidget:
        return self._fields[name][1]

    def names(self) -> list[str]:
        return list(self._fields)
