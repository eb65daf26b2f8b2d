"""The Convert pane's wizard, the same for every conversion: the one ``StepWizard`` with the
conversion's inputs page, its options form beside the plan preview (``widgets/wizard_preview``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QScrollArea, QSplitter, QVBoxLayout, QWidget

from app.panes.convert.family import Family
from app.wizards.base import StepWizard
from backend.sessions.wizard import Check
from widgets.wizard_inputs import DropPath
from widgets.wizard_preview import PreviewView
from widgets.wizard_replace import ReplaceBar


class ConversionWizard(StepWizard):
    run_label = "Convert"
    status_verb = "converting"

    def __init__(self, family: Family, context: Any, parent: QWidget | None = None) -> None:
        super().__init__(context, family.session, parent)
        self.family = family
        self.title, self.summary = family.info.title, family.info.summary
        self.preview = PreviewView()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(family.options_page)
        # no horizontal scroll bar, so the form is never narrower than its fields and labels
        bar = scroll.verticalScrollBar().sizeHint().width()
        scroll.setMinimumWidth(max(380, family.options_page.minimumSizeHint().width() + bar + 4))
        options = QSplitter(Qt.Orientation.Horizontal)
        options.setChildrenCollapsible(False)
        options.addWidget(scroll)
        self.replace_bar = ReplaceBar()
        self.replace_bar.replaceRequested.connect(self._replace)
        right = QWidget()
        column = QVBoxLayout(right)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.replace_bar)
        column.addWidget(self.preview, 1)
        options.addWidget(right)
        options.setStretchFactor(0, 2)
        options.setStretchFactor(1, 3)
        options.setSizes([scroll.minimumWidth(), 10_000])  # the preview takes the rest
        self.assemble(family.inputs_page, options)
        family.changed.connect(self._changed)

    @property
    def last_summary(self) -> dict[str, Any] | None:
        return self.family.session.summary()

    # -- StepWizard's hooks ------------------------------------------------------------------------
    def inputs_ready(self) -> Check:
        return self.family.ready()

    def options_ready(self) -> Check:
        ok, note = self.family.session.check_options()
        if not ok and self.session.preview_ready() and self.session.replace_offered():
            note = "press Replace, or choose another output"
        return ok, note

    def default_out(self) -> Path | None:
        return self.family.default_out()

    def out_widget(self) -> DropPath:
        return self.family.out

    def options(self) -> Any:
        """The backend's options from the form (a ValueError names the option that is wrong), with
        overwrite only where the user pressed Replace for an earlier output of the studio."""
        return dataclasses.replace(self.family.options(), overwrite=self.session.overwrite)

    def plan_call(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        self.session.options = self.options()
        return self.family.session.plan_call()

    def show_preview_busy(self) -> None:
        self.preview.setBusy()

    def show_preview_problem(self, message: str) -> None:
        self.preview.setError(message)

    def show_plan(self, plan: dict[str, Any]) -> None:
        self.family.plan_arrived(plan)
        self.preview.setPlan(plan)

    def show_messages(self) -> None:
        """The offer to replace the output, when the latest preview found an earlier one of the studio."""
        offered = self.session.preview_ready() and self.session.replace_offered()
        self.replace_bar.offer(f"{Path(self.session.out).name} was written by the studio." if offered else "")

    def _replace(self) -> None:
        if self.session.allow_replace():
            self.replace_bar.offer("")
            self.show_preview_busy()
            self._update_next()
            self.schedule_preview(immediate=True)

    def run_call(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        self.session.options = self.options()
        return self.family.session.run_call()

    def run_output(self) -> str:
        return str(self.session.options.out)

    def run_started(self) -> None:
        for entry in self.session.plan.get("episodes", []):
            if not entry.get("kept"):
                self.run_view.appendLog(
                    f"skip {Path(str(entry.get('source'))).name} {entry.get('source_name')}: "
                    f"{entry.get('reason')}"
                )

    def done_summary(self, result: Any) -> tuple[dict[str, Any], str | None]:
        return result, str(result.get("output", "")) or None

    def failure_title(self) -> str:
        return "The conversion failed"
