"""The IDM embodiment kit wizard (pipeline step 12): a dataset + an embodiment preset, edited in the
form (slices, delta indices, cameras, normalization) -> modality.json, stats.json, the DataConfig
class and experiment_cfg/conf.yaml, installed into a chosen checkpoint."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.wizards.base import escape
from app.wizards.form_wizard import DatasetInput, FormWizard, cell
from backend.errors import StudioError
from backend.idm.kit import KitOptions, build_kit, builtin_presets, load_preset, plan_kit, slices
from backend.sessions.cosmos_idm import indices_text, kit_out, preset_from_form
from widgets.wizard_inputs import DropPath

NORMALIZATIONS = ("min_max", "mean_std", "q99", "binary")


class IdmKitWizard(DatasetInput, FormWizard):
    key = "idm_kit"
    title = "IDM embodiment kit"
    summary = (
        "modality.json, stats.json, the DataConfig class and experiment_cfg/conf.yaml for a GR00T-Dreams "
        "embodiment, from a dataset and an editable preset"
    )
    SLICE_COLUMNS = ["group", "name", "start", "end"]

    def build(self) -> None:
        self.add_dataset_inputs(
            "The dataset the IDM is fine-tuned on: its state/action vectors, cameras and statistics."
        )
        self.curated.hide()
        self.preset_box = QComboBox()
        for key in builtin_presets():
            self.preset_box.addItem(key, key)
        self.inputs_form.addRow("Embodiment preset", self.preset_box)
        self.key_edit = QLineEdit()
        self.slices_table = QTableWidget(0, len(self.SLICE_COLUMNS))
        self.slices_table.setHorizontalHeaderLabels(self.SLICE_COLUMNS)
        self.slices_table.verticalHeader().setVisible(False)
        self.slices_table.setMinimumHeight(220)
        header = self.slices_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)  # joint names stay readable
        self.slices_table.verticalHeader().setDefaultSectionSize(22)
        add_row = QPushButton("Add slice")
        add_row.clicked.connect(self._add_slice)
        remove_row = QPushButton("Remove slice")
        remove_row.clicked.connect(self._remove_slice)
        save = QPushButton("Save preset…")
        save.clicked.connect(self._save_preset)
        buttons = QHBoxLayout()
        buttons.addWidget(add_row)
        buttons.addWidget(remove_row)
        buttons.addStretch(1)
        buttons.addWidget(save)
        table_box = QWidget()
        column = QVBoxLayout(table_box)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.slices_table)
        column.addLayout(buttons)
        self.cameras = QListWidget()
        self.cameras.setMaximumHeight(90)
        self.delta_edits = {group: QLineEdit() for group in ("video", "state", "action", "language")}
        self.normalization = QComboBox()
        for mode in NORMALIZATIONS:
            self.normalization.addItem(mode, mode)
        self.relative = QCheckBox('Actions are relative ("absolute": false)')
        self.checkpoint = DropPath(
            "optional: IDM checkpoint folder (e.g. checkpoint-10000) for conf.yaml", folder=True
        )
        self.overwrite = QCheckBox("Replace an existing experiment_cfg/conf.yaml")
        self.options_form.addRow("Embodiment key", self.key_edit)
        self.options_form.addRow("Slices", table_box)
        self.options_form.addRow("Cameras", self.cameras)
        for group, edit in self.delta_edits.items():
            edit.setPlaceholderText("e.g. 0,16 or 0-15")
            self.options_form.addRow(f"{group} delta indices", edit)
        self.options_form.addRow("Normalization", self.normalization)
        self.options_form.addRow("", self.relative)
        self.options_form.addRow("Checkpoint", self.checkpoint)
        self.options_form.addRow("", self.overwrite)
        self.watch(
            self.key_edit,
            self.slices_table,
            self.cameras,
            self.normalization,
            self.relative,
            self.checkpoint,
            self.overwrite,
            *self.delta_edits.values(),
        )
        self.preset_box.currentIndexChanged.connect(lambda _i: self.load_preset_into_form())
        self.modality_text = self._text_tab("modality.json")
        self.data_config_text = self._text_tab("DataConfig")
        self.conf_text = self._text_tab("conf.yaml")
        self._base_preset: dict[str, Any] = {}
        self._dataset_cameras: list[str] = []
        self.load_preset_into_form()

    def _text_tab(self, title: str) -> QPlainTextEdit:
        edit = QPlainTextEdit()
        edit.setReadOnly(True)
        edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        return self.add_tab(edit, title)

    # preset <-> form -------------------------------------------------------------------------------
    def load_preset_into_form(self) -> None:
        preset = load_preset(self.preset_box.currentData() or "so101")
        self._base_preset = preset
        self.slices_table.blockSignals(True)
        self.slices_table.setRowCount(0)
        for group in ("state", "action"):
            for name, (start, end) in slices(preset, group).items():
                self._append_slice(group, name, start, end)
        self.slices_table.blockSignals(False)
        self.key_edit.setText(preset["key"])
        for group, edit in self.delta_edits.items():
            values = preset["delta_indices"].get(group, [0] if group == "language" else [])
            edit.setText(indices_text(values))
        self.normalization.setCurrentIndex(
            max(0, self.normalization.findData(preset.get("normalization", "min_max")))
        )
        self.relative.setChecked(preset.get("action_absolute") is False)
        self._set_camera_items(self._dataset_cameras or list(preset["video_keys"]), preset["video_keys"])
        self._changed()

    def _set_camera_items(self, cameras: list[str], checked: list[str]) -> None:
        self.cameras.blockSignals(True)
        self.cameras.clear()
        for camera in cameras:
            item = QListWidgetItem(camera)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if camera in checked else Qt.CheckState.Unchecked)
            self.cameras.addItem(item)
        self.cameras.blockSignals(False)

    def _append_slice(self, group: str, name: str, start: int, end: int) -> None:
        row = self.slices_table.rowCount()
        self.slices_table.insertRow(row)
        for column, value in enumerate((group, name, start, end)):
            self.slices_table.setItem(row, column, cell(value, editable=True))

    def _add_slice(self) -> None:
        rows = self.slices_table.rowCount()
        end = 0
        for row in range(rows):
            if (self.slices_table.item(row, 0) or QTableWidgetItem("")).text() == "action":
                try:
                    end = max(end, int(self.slices_table.item(row, 3).text()))
                except (AttributeError, ValueError):
                    pass
        self._append_slice("action", f"joint_{end}", end, end + 1)
        self._changed()

    def _remove_slice(self) -> None:
        rows = sorted({index.row() for index in self.slices_table.selectedIndexes()}, reverse=True)
        for row in rows or [self.slices_table.rowCount() - 1]:
            if row >= 0:
                self.slices_table.removeRow(row)
        self._changed()

    def form_preset(self) -> dict[str, Any]:
        """The preset as edited in the form (raises ValueError with what is wrong)."""
        table = self.slices_table
        rows = [[(table.item(r, c) or QTableWidgetItem("")).text() for c in range(4)] for r in range(table.rowCount())]
        return preset_from_form(
            self._base_preset,
            rows,
            self.key_edit.text(),
            {group: edit.text() for group, edit in self.delta_edits.items()},
            self.normalization.currentData(),
            self.relative.isChecked(),
            self.checked_cameras(),
        )

    def checked_cameras(self) -> list[str]:
        return [
            self.cameras.item(i).text()
            for i in range(self.cameras.count())
            if self.cameras.item(i).checkState() == Qt.CheckState.Checked
        ]

    def _save_preset(self) -> None:
        try:
            preset = self.form_preset()
        except ValueError as error:
            self.messages.setText(escape(str(error)))
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Save embodiment preset", f"{preset['key']}.json", "Preset (*.json)"
        )
        if path:
            Path(path).write_text(json.dumps(preset, indent=2) + "\n", encoding="utf-8")

    # hooks ----------------------------------------------------------------------------------------
    def default_out(self) -> Path | None:
        return kit_out(self.workspace, self.key_edit.text())

    def local_problems(self) -> tuple[list[str], list[str]]:
        try:
            preset = self.form_preset()
            load_preset(preset)
        except (ValueError, StudioError) as error:
            return [getattr(error, "problem", str(error))], []
        if not self.checked_cameras() and self.cameras.count():
            return ["check at least one camera"], []
        return [], []

    def options(self) -> KitOptions:
        return KitOptions(
            embodiment=self.form_preset(),
            cameras=self.checked_cameras() or None,
            checkpoint=self.checkpoint.path() or None,
            overwrite_conf=self.overwrite.isChecked(),
        )

    def plan_call(self) -> tuple[Callable[..., Any], tuple]:
        return plan_kit, (self.dataset.path(), self.options())

    def show_plan(self, plan: dict[str, Any]) -> None:
        cameras = plan.get("dataset_cameras")
        if cameras and cameras != self._dataset_cameras:
            self._dataset_cameras = cameras
            self._set_camera_items(cameras, plan.get("cameras") or self.checked_cameras())
        widths = plan.get("widths", {})
        self.status.setText("vector widths: " + ", ".join(f"{g} {w}" for g, w in widths.items()))
        self.modality_text.setPlainText(json.dumps(plan.get("modality", {}), indent=4))
        self.data_config_text.setPlainText(plan.get("data_config", ""))
        self.conf_text.setPlainText(plan.get("conf_yaml", ""))

    def run_call(self) -> tuple[Callable[..., Any], tuple]:
        return build_kit, (self.dataset.path(), self.out.path(), self.options())

    def done_summary(self, result: Any) -> tuple[dict[str, Any], str | None]:
        data = result.to_dict()
        details = [f"{name}" for name in data["files"]]
        if data.get("conf_yaml"):
            details.append(f"installed {data['conf_yaml']}")
        details += [f"⚠ {w}" for w in data["warnings"]]
        return {
            "output": data["out"],
            "output_format": "IDM embodiment kit",
            "warnings": data["warnings"],
            "provenance": data,
            "details": "\n".join(details),
        }, None
