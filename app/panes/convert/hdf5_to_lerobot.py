"""HDF5 -> LeRobot in the Convert wizard: LeIsaac recordings dropped in a list, a task per file,
format, robot, rate, demo selection, cameras and video encoding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from app.panes.convert.family import Family, combo, preset_combo, spin
from backend.children import usable_cores
from backend.convert import ConversionInfo
from backend.sessions.convert import is_hdf5, parse_numbers
from widgets.wizard_inputs import DropList

RECORDED_RATE = "as recorded"  # the fps box at 0: the recordings' own rate


class Hdf5ToLerobotFamily(Family):
    def __init__(self, info: ConversionInfo, workspace: Path) -> None:
        super().__init__(info, workspace)
        self.sources = DropList(
            "Drop LeIsaac .hdf5 recordings here, or click Add…",
            accept=is_hdf5,
            file_filter="HDF5 recordings (*.hdf5 *.h5)",
        )
        layout = QVBoxLayout(self.inputs_page)
        layout.addWidget(QLabel("LeIsaac / Isaac Lab recordings (one or more files, demos in number order)"))
        layout.addWidget(self.sources, 1)
        self.task = QLineEdit()
        self.task.setPlaceholderText("e.g. Pick up the orange and place it on the plate.")
        self.tasks = QTableWidget(0, 2)
        self.tasks.setHorizontalHeaderLabels(["file", "task"])  # short: the column can be narrow
        self.tasks.horizontalHeaderItem(1).setToolTip("Leave empty to use the Task above for this file")
        self.tasks.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.tasks.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.tasks.verticalHeader().setVisible(False)
        self.tasks.setMaximumHeight(110)
        self.format = combo([("LeRobot v2.1 (GR00T, IDM)", "v2.1"), ("LeRobot v3.0", "v3.0")])
        self.robot = combo([("from the data", "auto"), ("SO-101", "so101"), ("bi-arm SO-101", "bi_so101")])
        self.fps = QDoubleSpinBox()
        self.fps.setRange(0, 240)
        self.fps.setSpecialValueText(RECORDED_RATE)  # 0: the recordings' own rate, as read
        self.fps.setValue(0)
        self.skip = spin(0, 10000, 5)
        self.min_length = spin(0, 100000, 10)
        self.demos = QLineEdit()
        self.demos.setPlaceholderText("all demos (or e.g. 0-4, 7, 9)")
        self.include_failed = QCheckBox("include failed demos")
        self.include_failed.setToolTip("demos whose success attribute is False")
        self.include_incomplete = QCheckBox("include interrupted demos")
        self.include_incomplete.setToolTip(
            "demos without a success attribute (recording stopped with Ctrl+C)"
        )
        self.cameras = QListWidget()
        self.cameras.setMaximumHeight(80)
        self.codec = combo([("H.264 (Cosmos, IDM, GR00T)", "h264"), ("AV1", "av1")])
        self.crf = spin(-1, 63, -1, "default")
        self.gop = spin(0, 1000, 0, "default")
        self.preset = preset_combo()
        self.where = combo([("this machine", "local"), ("Slurm (shards, then a join)", "slurm")])
        self.where.setToolTip("Slurm: contiguous demo ranges converted as an array job, joined exactly")
        self.shards = spin(1, 10000, 4)
        self.shards.setEnabled(False)
        self.jobs = spin(1, 1024, usable_cores())
        self.jobs.setToolTip(
            "episodes encoded side by side, each in a worker process (default: every core);"
            " the output is the same for any number"
        )
        self.where.currentIndexChanged.connect(self._where_changed)
        self.shards.valueChanged.connect(self._where_changed)
        self.form.addRow("Output folder", self.out)
        self.form.addRow("Task", self.task)
        self.form.addRow("Task per file", self.tasks)
        self.form.addRow("Format", self.format)
        self.form.addRow("Robot", self.robot)
        self.form.addRow("fps", self.fps)
        self.form.addRow("Skip first frames", self.skip)
        self.form.addRow("Minimum length (frames)", self.min_length)
        self.form.addRow("Demos", self.demos)
        self.form.addRow("", self.include_failed)
        self.form.addRow("", self.include_incomplete)
        self.form.addRow("Cameras", self.cameras)
        self.form.addRow("Codec", self.codec)
        self.form.addRow("CRF", self.crf)
        self.form.addRow("GOP (frames)", self.gop)
        self.form.addRow("Preset", self.preset)
        self.form.addRow("Run on", self.where)
        self.form.addRow("Shards", self.shards)
        self.form.addRow("Workers", self.jobs)
        self.sources.pathsChanged.connect(self._sources_changed)
        self.watch(
            self.task,
            self.tasks,
            self.format,
            self.robot,
            self.fps,
            self.skip,
            self.min_length,
            self.demos,
            self.include_failed,
            self.include_incomplete,
            self.cameras,
            self.codec,
            self.crf,
            self.gop,
            self.preset,
        )

    def _where_changed(self, *_: object) -> None:
        self.shards.setEnabled(self.where.currentData() == "slurm")
        self.session.set_where(self.where.currentData(), self.shards.value())

    def _sources_changed(self, paths: list[str]) -> None:
        old = {
            self.tasks.item(r, 0).data(Qt.ItemDataRole.UserRole): self.tasks.item(r, 1).text()
            for r in range(self.tasks.rowCount())
            if self.tasks.item(r, 1)
        }
        self.tasks.blockSignals(True)
        self.tasks.setRowCount(len(paths))
        for row, path in enumerate(paths):
            name = QTableWidgetItem(Path(path).name)
            name.setData(Qt.ItemDataRole.UserRole, path)
            name.setFlags(name.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.tasks.setItem(row, 0, name)
            self.tasks.setItem(row, 1, QTableWidgetItem(old.get(path, "")))
        self.tasks.blockSignals(False)
        self.session.set_sources(paths)
        self.refresh_default_out()
        self.changed.emit()

    def _chosen_cameras(self) -> list[str] | None:
        if self.cameras.count() == 0:
            return None
        return [
            self.cameras.item(i).text()
            for i in range(self.cameras.count())
            if self.cameras.item(i).checkState() == Qt.CheckState.Checked
        ]

    def plan_arrived(self, plan: dict[str, Any]) -> None:
        rate = (plan.get("details") or {}).get("fps")
        if rate and not self.fps.value():
            self.fps.setSpecialValueText(f"{RECORDED_RATE} ({rate:g})")
        available = (plan.get("details") or {}).get("available_cameras")
        if (
            available is None
            or [self.cameras.item(i).text() for i in range(self.cameras.count())] == available
        ):
            return
        self.cameras.blockSignals(True)
        self.cameras.clear()
        for name in available:
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.cameras.addItem(item)
        self.cameras.blockSignals(False)

    def options(self) -> Any:
        tasks = {}
        for row in range(self.tasks.rowCount()):
            text = self.tasks.item(row, 1).text().strip() if self.tasks.item(row, 1) else ""
            if text:
                tasks[self.tasks.item(row, 0).data(Qt.ItemDataRole.UserRole)] = text
        return self.module.Hdf5ToLerobotOptions(
            out=self.out_path(),
            task=self.task.text().strip(),
            tasks=tasks,
            format=self.format.currentData(),
            robot=self.robot.currentData(),
            fps=float(self.fps.value()) or None,
            skip_frames=self.skip.value(),
            min_length=self.min_length.value(),
            include_failed=self.include_failed.isChecked(),
            include_incomplete=self.include_incomplete.isChecked(),
            cameras=self._chosen_cameras(),
            demos={p: numbers for p in self.sources.paths()}
            if (numbers := parse_numbers(self.demos.text()))
            else None,
            codec=self.codec.currentData(),
            crf=None if self.crf.value() < 0 else self.crf.value(),
            gop=self.gop.value() or None,
            preset=self.preset.currentData(),
            jobs=self.jobs.value(),
        )
