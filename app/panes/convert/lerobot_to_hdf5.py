"""LeRobot -> HDF5 (replay) in the Convert wizard: a dataset or IDM output and the recording it came
from; the episode -> demo mapping is shown and can be chosen per episode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.panes.convert.family import Family, combo, spin
from backend.convert import ConversionInfo
from backend.sessions.convert import is_hdf5, is_lerobot
from backend.sessions.wizard import window_words
from widgets.elided_label import WrapLabel
from widgets.wizard_inputs import DropPath


class LerobotToHdf5Family(Family):
    def __init__(self, info: ConversionInfo, workspace: Path) -> None:
        super().__init__(info, workspace)
        self.dataset = DropPath(
            "drop a LeRobot dataset folder (or an IDM output) here", accept=is_lerobot, folder=True
        )
        self.template = DropPath(
            "drop the source LeIsaac .hdf5 here", accept=is_hdf5, file_filter="HDF5 recordings (*.hdf5 *.h5)"
        )
        layout = QVBoxLayout(self.inputs_page)
        layout.addWidget(QLabel("LeRobot dataset or IDM output (actions to replay)"))
        layout.addWidget(self.dataset)
        layout.addWidget(QLabel("Source HDF5 (initial states, seeds, attributes, env_args)"))
        layout.addWidget(self.template)
        layout.addStretch(1)
        self.offset_auto = QCheckBox("from provenance / detected")
        self.offset_auto.setChecked(True)
        self.offset = spin(0, 100000, 0)
        self.offset.setEnabled(False)
        self.offset_auto.toggled.connect(lambda on: self.offset.setEnabled(not on))
        offset_row = QWidget()
        row = QHBoxLayout(offset_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.offset_auto)
        row.addWidget(self.offset)
        self.unit = combo(
            [
                ("as the dataset says", None),
                ("LeRobot -100..100", "lerobot"),
                ("LeRobot degrees", "lerobot_deg"),
                ("degrees", "deg"),
                ("radians", "rad"),
            ]
        )
        self.copy_states = QCheckBox("copy the demo's states for the same frames")
        self.replay_fps = QDoubleSpinBox()
        self.replay_fps.setRange(0.0, 1000.0)
        self.replay_fps.setDecimals(1)
        self.replay_fps.setSuffix(" fps")
        self.replay_fps.setSpecialValueText("auto (the template's rate, from provenance)")
        self.replay_fps.setToolTip(
            "One HDF5 step per action: IDM outputs (16 fps) are resampled to this rate. "
            "auto: the rate of the LeRobot dataset made from the template, when the provenance says it"
        )
        self.replay_rate_note = QLabel("")
        self.replay_rate_note.setWordWrap(True)
        self.mapping = QTableWidget(0, 3)
        self.mapping.setHorizontalHeaderLabels(["episode", "template demo", "matched by"])
        header = self.mapping.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.mapping.verticalHeader().setVisible(False)
        self.mapping_note = WrapLabel("")
        self.form.addRow("Output file", self.out)
        self.form.addRow("Frame offset", offset_row)
        self.form.addRow("Action unit", self.unit)
        self.form.addRow("", self.copy_states)
        self.form.addRow("Replay rate", self.replay_fps)
        self.form.addRow("", self.replay_rate_note)
        self.form.addRow("Mapping", self.mapping_note)
        self.form.addRow(self.mapping)
        self.dataset.pathChanged.connect(self._dataset_changed)
        self.template.pathChanged.connect(self.session.set_template)
        self.watch(
            self.dataset, self.template, self.offset_auto, self.offset, self.unit, self.copy_states, self.replay_fps
        )

    def _dataset_changed(self, path: str) -> None:
        self.session.set_sources([path] if path else [])  # forgets the demos chosen for the old one
        self.refresh_default_out()

    def options(self) -> Any:
        return self.module.LerobotToHdf5Options(
            out=self.out_path(),
            template=Path(self.template.path()),
            mapping=dict(self.session.mapping),
            frame_offset=None if self.offset_auto.isChecked() else self.offset.value(),
            action_unit=self.unit.currentData(),
            copy_states=self.copy_states.isChecked(),
            replay_fps=self.replay_fps.value() or None,
        )

    def plan_arrived(self, plan: dict[str, Any]) -> None:
        details = plan.get("details") or {}
        self.mapping_note.setText(window_words(details.get("mapping_note", "")))
        if details.get("replay_fps"):
            fps_in, fps_out = details.get("dataset_fps"), details["replay_fps"]
            how = {"option": "as set", "provenance": "from provenance", "dataset": "the dataset's"}
            resampled = f"resampled from {fps_in:g} fps" if fps_in != fps_out else "not resampled"
            self.replay_rate_note.setText(
                f"{fps_out:g} actions per second ({how.get(details.get('replay_fps_from'), '')}), {resampled}"
            )
        demos = details.get("template_demos") or []
        episodes = plan.get("episodes") or []
        self.mapping.blockSignals(True)
        self.mapping.setRowCount(len(episodes))
        for row, entry in enumerate(episodes):
            label = QTableWidgetItem(str(entry.get("source_index")))
            label.setFlags(label.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.mapping.setItem(row, 0, label)
            extra = entry.get("extra") or {}
            unpaired = extra.get("matched_by") == "unpaired"
            combo = QComboBox()
            if unpaired:  # nothing pre-chosen: a demo shown here would look paired when it is not
                combo.addItem("choose a demo…", None)
            for demo in demos:
                combo.addItem(f"{demo['name']} ({demo['length']} frames)", demo["index"])
            current = extra.get("demo")
            if current is not None and combo.findData(current) >= 0:
                combo.setCurrentIndex(combo.findData(current))
            episode = int(entry.get("source_index"))
            # the episode number is bound now (default argument), not when the signal fires
            combo.currentIndexChanged.connect(
                lambda _i, e=episode, c=combo: self._override(e, c.currentData())
            )
            self.mapping.setCellWidget(row, 1, combo)
            if unpaired:
                text = "not paired: choose the demo this episode came from"
            else:
                how = entry.get("reason") or extra.get("matched_by", "")
                text = f"{how}, offset {entry.get('frame_offset')}"
            self.mapping.setItem(row, 2, QTableWidgetItem(text))
        self.mapping.blockSignals(False)

    def _override(self, episode: int, demo: int | None) -> None:
        self.session.choose_demo(episode, demo)
        self.changed.emit()
