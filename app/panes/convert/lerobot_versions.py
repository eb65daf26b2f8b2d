"""The Convert wizard's conversions of one LeRobot dataset: between versions (v3.0 <-> v2.1) and
its videos to H.264."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QCheckBox, QLabel, QVBoxLayout

from app.panes.convert.family import Family, combo, preset_combo, spin
from backend.convert import ConversionInfo
from backend.sessions.convert import is_lerobot
from widgets.wizard_inputs import DropPath


class OneDatasetFamily(Family):
    """A conversion whose one input is a dataset folder (``self.source``)."""

    def _source_changed(self, path: str) -> None:
        self.session.set_sources([path] if path else [])
        self.refresh_default_out()


class VersionsFamily(OneDatasetFamily):
    def __init__(self, info: ConversionInfo, workspace: Path) -> None:
        super().__init__(info, workspace)
        self.target = self.session.target
        self.source = DropPath("drop a LeRobot dataset folder here", accept=is_lerobot, folder=True)
        layout = QVBoxLayout(self.inputs_page)
        layout.addWidget(QLabel(f"LeRobot dataset to write as {self.target}"))
        layout.addWidget(self.source)
        layout.addStretch(1)
        default_codec = "h264" if self.target == "v2.1" else "keep"
        self.codec = combo(
            [("keep (copy frames, no re-encode)", "keep"), ("H.264 (re-encode other codecs)", "h264")],
            default_codec,
        )
        self.reencode = QCheckBox("re-encode every video, even H.264 ones")
        self.modality = combo([("keep the source's, or make one for SO-101", "auto"), ("none", "none")])
        self.form.addRow("Output folder", self.out)
        self.form.addRow("Videos", self.codec)
        self.form.addRow("", self.reencode)
        if self.target == "v2.1":
            self.form.addRow("modality.json", self.modality)
        self.source.pathChanged.connect(self._source_changed)
        self.watch(self.source, self.codec, self.reencode, self.modality)

    def options(self) -> Any:
        return self.module.LerobotVersionOptions(
            out=self.out_path(),
            target=self.target,
            codec=self.codec.currentData(),
            reencode=self.reencode.isChecked(),
            modality=self.modality.currentData() if self.target == "v2.1" else "none",
        )


class TranscodeFamily(OneDatasetFamily):
    def __init__(self, info: ConversionInfo, workspace: Path) -> None:
        super().__init__(info, workspace)
        self.source = DropPath("drop a LeRobot dataset folder here", accept=is_lerobot, folder=True)
        layout = QVBoxLayout(self.inputs_page)
        layout.addWidget(QLabel("LeRobot dataset whose videos become H.264"))
        layout.addWidget(self.source)
        layout.addStretch(1)
        self.crf = spin(-1, 51, -1, "default")
        self.gop = spin(0, 1000, 0, "default")
        self.preset = preset_combo()
        self.force = QCheckBox("re-encode videos that are already H.264")
        self.form.addRow("Output folder", self.out)
        self.form.addRow("CRF", self.crf)
        self.form.addRow("GOP (frames)", self.gop)
        self.form.addRow("Preset", self.preset)
        self.form.addRow("", self.force)
        self.source.pathChanged.connect(self._source_changed)
        self.watch(self.source, self.crf, self.gop, self.preset, self.force)

    def options(self) -> Any:
        return self.module.TranscodeOptions(
            out=self.out_path(),
            codec="h264",
            crf=None if self.crf.value() < 0 else self.crf.value(),
            gop=self.gop.value() or None,
            preset=self.preset.currentData(),
            force=self.force.isChecked(),
        )
