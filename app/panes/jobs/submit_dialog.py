"""New job / edit a queued job: pick a template, fill its typed parameters (checked as you type),
then submit. What the form holds and how it is checked is ``backend.sessions.jobs_forms.SubmitForm``;
this dialog lays it out and forwards every edit there."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
)

from app.tasks import BACKGROUND
from backend.jobs.store import Job
from backend.jobs.templates import Template, load_templates
from backend.sessions import jobs_forms
from backend.sessions.jobs import checks_text
from backend.sessions.jobs_forms import SubmitForm, template_fields, template_label
from widgets.param_form import ParamForm

if TYPE_CHECKING:
    from app.panes.jobs.pane import JobsPane


class SubmitDialog(QDialog):
    """Pick a template, fill its typed parameters (checked as you type), then submit."""

    def __init__(
        self,
        pane: JobsPane,
        template: str | None = None,
        after: list[int] | None = None,
        job: Job | None = None,
        copy_of: Job | None = None,
    ) -> None:
        super().__init__(pane)
        self.pane = pane
        self.job = job
        self.templates = load_templates()
        workspace = pane.context.workspace
        if job is not None:
            self.session = SubmitForm.for_job(pane.store, self.templates, workspace, job)
        elif copy_of is not None:
            self.session = SubmitForm.copy_of(pane.store, self.templates, workspace, copy_of)
        else:
            self.session = SubmitForm(pane.store, self.templates, workspace)
        title = f"Edit job {job.id}" if job else "New job"
        self.setWindowTitle(f"New job: a copy of job {copy_of.id}" if copy_of else title)
        self.resize(760, 720)
        self._busy = False
        self.result_id: int | None = None

        self.template_combo = QComboBox(self)
        for t in self.templates:
            self.template_combo.addItem(template_label(t), t.name)
        self.description = QLabel(self, wordWrap=True)
        self.description.setStyleSheet("color: palette(mid);")
        self.profile_combo = QComboBox(self)
        self.profile_hint = QLabel(self, wordWrap=True)
        self.runner_combo = QComboBox(self)
        self.runner_combo.addItems(["local", "slurm"])
        self.name_edit = QLineEdit(self, placeholderText="defaults to the template name")
        self.after_edit = QLineEdit(self, placeholderText="job ids, e.g. 12, 13 (starts when they succeed)")
        self.priority = QSpinBox(self, minimum=-100, maximum=100)
        self.retries = QSpinBox(self, minimum=0, maximum=20)
        self.form = ParamForm(parent=self)
        self.preview = QPlainTextEdit(self, readOnly=True)
        self.preview.setMaximumHeight(130)
        self.buttons = QDialogButtonBox(self)
        self.check_button = self.buttons.addButton("Check", QDialogButtonBox.ButtonRole.ActionRole)
        self.submit_button = self.buttons.addButton(
            "Save" if job else "Submit", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.submit_button.setDefault(True)

        top = self._top = QFormLayout()
        top.addRow("Template", self.template_combo)
        top.addRow("", self.description)
        top.addRow("Environment", self.profile_combo)
        top.addRow("", self.profile_hint)
        runner_row = QHBoxLayout()
        runner_row.addWidget(self.runner_combo)
        runner_row.addWidget(QLabel("Priority"))
        runner_row.addWidget(self.priority)
        runner_row.addWidget(QLabel("Retries"))
        runner_row.addWidget(self.retries)
        runner_row.addStretch(1)
        top.addRow("Runner", runner_row)
        top.addRow("Name", self.name_edit)
        top.addRow("After", self.after_edit)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(scroll, 1)
        layout.addWidget(QLabel("What runs"))
        layout.addWidget(self.preview)
        layout.addWidget(self.buttons)

        self.template_combo.currentIndexChanged.connect(self._template_changed)
        self.profile_combo.currentIndexChanged.connect(self._validate)
        self.runner_combo.currentIndexChanged.connect(self._validate)
        self.after_edit.textChanged.connect(self._validate)
        self.form.changed.connect(self._validate)
        self.check_button.clicked.connect(self._check)
        self.submit_button.clicked.connect(self._submit)
        self.buttons.rejected.connect(self.reject)

        if job is not None:
            template = job.template
            self.template_combo.setEnabled(False)
            self.after_edit.setEnabled(False)
        elif copy_of is not None:
            template = copy_of.template
        index = self.template_combo.findData(template) if template else 0
        self.template_combo.setCurrentIndex(max(0, index))
        self._template_changed()
        if after:
            self.after_edit.setText(", ".join(str(a) for a in after))
        source = job or copy_of
        if source is not None:
            self.form.set_values(source.params or {})
            self.name_edit.setText(source.name)
            self.priority.setValue(source.priority)
            self.retries.setValue(source.max_retries)
            self.retries.setEnabled(job is None)
            self.runner_combo.setCurrentText(source.runner)
            if source.profile:
                self.profile_combo.setCurrentIndex(max(0, self.profile_combo.findData(source.profile)))
            self.after_edit.setText(", ".join(str(d) for d in source.deps))
        self._validate()

    @property
    def template(self) -> Template:
        return self.session.template

    def _sync(self) -> SubmitForm:
        """Forward what the widgets show to the form session."""
        form = self.session
        form.template_name = self.template_combo.currentData()
        form.profile = self.profile_combo.currentData()
        form.runner = self.runner_combo.currentText()
        form.after_text = self.after_edit.text()
        form.name = self.name_edit.text()
        form.priority = self.priority.value()
        form.retries = self.retries.value()
        form.values = self.form.values()
        return form

    def _template_changed(self) -> None:
        self.session.template_name = self.template_combo.currentData()
        template = self.session.template
        self.description.setText(template.description)
        self.form.set_params(template_fields(template))
        choices, hint = self.session.profile_choices()
        self.profile_combo.blockSignals(True)
        self.profile_combo.clear()
        for label, name in choices:
            self.profile_combo.addItem(label, name)
        self.profile_combo.blockSignals(False)
        self._top.setRowVisible(self.profile_hint, bool(hint))
        self.profile_hint.setText(hint)
        self._validate()

    def _validate(self) -> bool:
        check = self._sync().check()
        self.form.set_errors(check.errors)
        self.preview.setPlainText(check.preview)
        for name, line in check.commands.items():
            self.form.show_command(name, line.argv, line.warning, line.fix)
        self.submit_button.setEnabled(check.ok and not self._busy)
        self.check_button.setEnabled(check.ok and not self._busy)
        return check.ok

    def _check(self) -> None:
        form = self._sync()
        values, errors = form.coerced()
        if errors:
            return
        self.preview.setPlainText("Checking...")
        self.check_button.setEnabled(False)

        def done(checks: list[Any]) -> None:
            self.check_button.setEnabled(True)
            command = form.check().preview
            self.preview.setPlainText(f"{checks_text(checks) or 'Nothing to check.'}\n\n{command}")

        self.pane.tasks.run(
            jobs_forms.preflight,
            form.template,
            values,
            form.chosen_profile(),
            form.runner,
            not form.after(),
            str(form.workspace),
            key="preflight",
            lane=BACKGROUND,
            on_done=done,
            on_error=lambda message, _details: self.preview.setPlainText(message),
        )

    def _submit(self) -> None:
        if not self._validate():
            return
        form = self.session
        self._busy = True
        self.submit_button.setEnabled(False)
        self.preview.setPlainText("Checking the environment and queueing...")

        def failed(message: str, _details: str) -> None:
            self._busy = False
            self.preview.setPlainText(message)
            self._validate()

        def done(result: Any) -> None:
            self._busy = False
            self.result_id = result
            if self.job is None:
                self.pane.session.last_template = form.template_name
            self.accept()

        db = str(self.pane.store.path)
        if self.job is not None:
            call: tuple[Any, ...] = (jobs_forms.edit, db, self.job.id, form.params(), form.edit_options())
        else:
            call = (jobs_forms.submit, db, form.template_name, form.params(), form.submit_options())
        self.pane.tasks.run(*call, key="submit", lane=BACKGROUND, on_done=done, on_error=failed)
