"""The status bar's fields: the window's own (dataset, jobs, arm, workspace) always, a pane's own only
while that pane is current, so Compare's "compare 0/111" never crowds Browse's episode and frame.

Each pane gets its ``PaneContext``: the shared ``AppContext`` in every way except that its
``set_status`` says which pane set the field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QLabel, QSizePolicy, QStatusBar

from widgets.elided_label import ElidedLabel

GLOBAL_FIELDS = ("dataset", "jobs", "arm", "workspace")
ORDER = ["dataset", "episode", "frame", "jobs", "arm"]  # fields made first, in this order


class PaneContext:
    """The application context as one pane sees it (its status fields carry the pane's key)."""

    def __init__(self, context: Any, key: str, report: Callable[[str, str, str], None]) -> None:
        object.__setattr__(self, "_context", context)
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_report", report)

    def set_status(self, field: str, text: str) -> None:
        self._report(self._key, field, text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._context, name, value)


class StatusFields:
    """The labels of a status bar, each pane's fields kept apart and shown while it is current."""

    def __init__(self, bar: QStatusBar) -> None:
        self.bar = bar
        self.labels: dict[str, QLabel] = {}
        self.current = ""
        self._panes: dict[str, dict[str, str]] = {}  # pane key -> its fields
        for name in ORDER:
            self.label(name)

    def label(self, name: str) -> QLabel:
        label = self.labels.get(name)
        if label is None:
            label = ElidedLabel("", grow_only=name != "dataset")
            if name != "dataset":
                # the short fields ask for their text's width; the dataset's name takes what is left
                # and is cut first (with every field's width "ignored", the stretch alone shared the
                # bar and "episode 2 (3/6 shown)" was cut at 1280 px)
                # and keep the widest text's width until the dataset or the pane changes, so that a
                # counter or a filter's "(2/1000 shown)" coming and going does not shift the bar
                label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
            label.setObjectName(f"status_{name}")
            label.setProperty("statusField", True)
            self.bar.addPermanentWidget(label, 1 if name == "dataset" else 0)
            self.labels[name] = label
            label.setVisible(False)
        return label

    def set(self, name: str, text: str, pane: str | None = None) -> None:
        """A field's text; ``pane`` = the pane that set it (None or a global field: the window's)."""
        if name == "dataset" and text != self.text("dataset"):
            self._release_widths()
        if pane is None or name in GLOBAL_FIELDS:
            self._show(name, text)
            return
        self._panes.setdefault(pane, {})[name] = text
        self.label(name)
        if pane == self.current:
            self._show(name, text)

    def set_current(self, pane: str) -> None:
        """Show ``pane``'s own fields, hide the other panes'."""
        if pane != self.current:
            self._release_widths()
        self.current = pane
        own = self._panes.get(pane, {})
        for name in self.labels:
            if name not in GLOBAL_FIELDS and self._owned(name):
                self._show(name, own.get(name, ""))

    def _release_widths(self) -> None:
        for name, label in self.labels.items():
            if name != "dataset" and isinstance(label, ElidedLabel):
                label.release_width()

    def _owned(self, name: str) -> bool:
        return any(name in fields for fields in self._panes.values())

    def _show(self, name: str, text: str) -> None:
        label = self.label(name)
        label.setText(text)
        label.setToolTip(text)
        label.setVisible(bool(text))

    def text(self, name: str) -> str:
        label = self.labels.get(name)
        return label.text() if label is not None and label.isVisible() else ""
