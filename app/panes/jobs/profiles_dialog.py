"""Environment profiles: where each tool lives and which Python runs it (create, edit, check, delete).
Reading a profile from its form is ``backend.sessions.jobs_forms.profile_from_form``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
)

from app.tasks import BACKGROUND
from backend.errors import StudioError
from backend.jobs.profiles import Profile
from backend.sessions import jobs_forms
from backend.sessions.jobs import checks_text
from backend.sessions.jobs_forms import NEW_PROFILE, PROFILE_FIELDS, profile_form, profile_from_form
from widgets.param_form import ParamForm

if TYPE_CHECKING:
    from app.panes.jobs.pane import JobsPane


class ProfilesDialog(QDialog):
    """Create, edit, check and delete environment profiles."""

    def __init__(self, pane: JobsPane) -> None:
        super().__init__(pane)
        self.pane = pane
        self.setWindowTitle("Environment profiles")
        self.resize(820, 520)
        self.list = QListWidget(self)
        self.form = ParamForm(PROFILE_FIELDS, self)
        self.result_text = QPlainTextEdit(self, readOnly=True)
        self.result_text.setMaximumHeight(110)
        new_button = QPushButton("New", self)
        delete_button = QPushButton("Delete", self)
        save_button = QPushButton("Save", self)
        check_button = QPushButton("Check", self)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.rejected.connect(self.reject)
        left = QVBoxLayout()
        left.addWidget(self.list, 1)
        row = QHBoxLayout()
        row.addWidget(new_button)
        row.addWidget(delete_button)
        left.addLayout(row)
        right = QVBoxLayout()
        right.addWidget(self.form, 1)
        actions = QHBoxLayout()
        actions.addStretch(1)
        actions.addWidget(check_button)
        actions.addWidget(save_button)
        right.addLayout(actions)
        right.addWidget(self.result_text)
        body = QHBoxLayout()
        body.addLayout(left, 1)
        body.addLayout(right, 3)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(close)
        new_button.clicked.connect(self._new)
        delete_button.clicked.connect(self._delete)
        save_button.clicked.connect(self.save)
        check_button.clicked.connect(self._check)
        self.list.currentTextChanged.connect(self._show)
        self._reload()
        if self.list.count():
            self.list.setCurrentRow(0)
        else:
            self._new()

    @property
    def store(self):  # noqa: ANN201 - the pane's JobStore
        return self.pane.store

    def _reload(self, select: str | None = None) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        self.list.addItems(self.store.profile_names())
        self.list.blockSignals(False)
        if select:
            items = self.list.findItems(select, Qt.MatchFlag.MatchExactly)
            if items:
                self.list.setCurrentItem(items[0])

    def _new(self) -> None:
        self.list.clearSelection()
        self.form.set_values(dict(NEW_PROFILE))
        self.result_text.clear()

    def _show(self, name: str) -> None:
        data = self.store.load_profile(name) if name else None
        if not data:
            return
        self.form.set_values(profile_form(Profile.from_dict(data)))
        self.result_text.clear()

    def profile(self) -> Profile:
        """The profile the form describes; StudioError (and the fields marked) when it is not one."""
        values = self.form.values()
        profile, errors = profile_from_form(values, self.store.load_profile(values.get("name", "")))
        self.form.set_errors(errors)
        if profile is None:
            raise StudioError("; ".join(f"{k}: {v}" for k, v in errors.items()))
        profile.validate()
        return profile

    def save(self) -> bool:
        try:
            profile = self.profile()
        except StudioError as error:
            self.result_text.setPlainText(error.message)
            return False
        self.store.save_profile(profile.name, profile.to_dict())
        self._reload(select=profile.name)
        self.result_text.setPlainText(f"Saved {profile.name}.")
        return True

    def _delete(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        self.store.delete_profile(item.text())
        self._reload()
        self._new()

    def _check(self) -> None:
        try:
            profile = self.profile()
        except StudioError as error:
            self.result_text.setPlainText(error.message)
            return
        self.result_text.setPlainText("Checking...")
        self.pane.tasks.run(
            jobs_forms.check_environment,
            profile,
            key="profile-check",
            lane=BACKGROUND,
            on_done=lambda checks: self.result_text.setPlainText(checks_text(checks)),
            on_error=lambda message, _d: self.result_text.setPlainText(message),
        )
