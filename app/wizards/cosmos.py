"""The Cosmos-Predict 2.5 wizards (pipeline steps 4 and 7):

    cosmos_trainset   a LeRobot dataset (or its curated selection) -> videos/<n>.mp4 + metas/<n>.txt
    cosmos_batch      a dataset -> a JSONL batch inference file, with an editable, live-checked settings form
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QTableWidget,
    QWidget,
)

from app.wizards.form_wizard import DatasetInput, FormWizard, camera_combo, fill_table, set_cameras, spin
from backend.cosmos.batch import (
    COSMOS_FPS,
    DEFAULTS,
    HELP,
    IDM_FRAMES,
    INFERENCE_TYPES,
    BatchOptions,
    build_batch,
    check_batch_file,
    check_settings,
    plan_batch,
)
from backend.cosmos.selection import parse_indices
from backend.cosmos.trainset import (
    DEFAULT_PROMPT_TEMPLATE,
    TRAIN_WINDOW_FRAMES,
    TrainsetOptions,
    build_trainset,
    plan_trainset,
)
from backend.errors import StudioError
from backend.sessions.cosmos_idm import batch_out, trainset_out
from widgets.wizard_inputs import DropPath


class CosmosTrainsetWizard(DatasetInput, FormWizard):
    key = "cosmos_trainset"
    title = "Cosmos post-training set"
    summary = (
        f"videos/<n>.mp4 + metas/<n>.txt from a dataset's episodes: one camera, one prompt per "
        f"episode, H.264, episodes of more than {TRAIN_WINDOW_FRAMES} frames"
    )

    def build(self) -> None:
        self.add_dataset_inputs("Each episode becomes one training video; its task fills the prompt.")
        self.camera = camera_combo()
        self.template = QLineEdit(DEFAULT_PROMPT_TEMPLATE)
        self.template.setToolTip("{task} is replaced by the episode's task")
        self.episodes = QLineEdit()
        self.episodes.setPlaceholderText("all (e.g. 0,2,5-9)")
        self.keep_short = QCheckBox(f"Keep episodes of {TRAIN_WINDOW_FRAMES} frames or fewer")
        self.keep_short.setToolTip(
            f"The GR00T post-training experiment samples {TRAIN_WINDOW_FRAMES}-frame "
            "windows: shorter clips cannot be used."
        )
        for label, widget in (
            ("Camera", self.camera),
            ("Prompt template", self.template),
            ("Episodes", self.episodes),
            ("", self.keep_short),
        ):
            self.options_form.addRow(label, widget)
        self.watch(self.camera, self.template, self.episodes, self.keep_short)
        self.table = self.add_tab(QTableWidget(), "Episodes")
        self.tree = self.add_tab(QPlainTextEdit(), "Output")
        self.tree.setReadOnly(True)

    def default_out(self) -> Path | None:
        return trainset_out(self.workspace, self.dataset.path())

    def options(self) -> TrainsetOptions:
        return TrainsetOptions(
            camera=self.camera.currentData(),
            prompt_template=self.template.text(),
            episodes=parse_indices(self.episodes.text()),
            keep_short=self.keep_short.isChecked(),
            curation=True if self.curated.isChecked() else None,
        )

    def local_problems(self) -> tuple[list[str], list[str]]:
        errors = []
        if "{task}" not in self.template.text():
            return [], ["the prompt template has no {task}: every video gets the same prompt"]
        try:
            parse_indices(self.episodes.text())
        except StudioError as error:
            errors.append(error.problem)
        return errors, []

    def plan_call(self) -> tuple[Callable[..., Any], tuple]:
        return plan_trainset, (self.dataset.path(), self.options())

    def show_plan(self, plan: dict[str, Any]) -> None:
        if "cameras" in plan:
            set_cameras(self.camera, plan["cameras"], plan.get("camera"))
        rows = plan.get("episodes", [])
        kept = [r for r in rows if r.get("kept")]
        self.status.setText(
            f"{len(kept)} of {len(rows)} episodes → {len(kept)} videos from camera {plan.get('camera', '')}"
        )
        fill_table(
            self.table,
            ["episode", "frames", "kept", "video", "prompt", "how", "reason"],
            [
                [
                    r["episode"],
                    r["frames"],
                    "✓" if r["kept"] else "✗",
                    f"{r['stem']}.mp4" if r["kept"] else "",
                    r.get("prompt", ""),
                    r.get("video", ""),
                    r.get("reason", ""),
                ]
                for r in rows
            ],
            bad={i for i, r in enumerate(rows) if not r["kept"]},
        )
        self.tree.setPlainText("\n".join(plan.get("tree", [])))

    def run_call(self) -> tuple[Callable[..., Any], tuple]:
        return build_trainset, (self.dataset.path(), self.out.path(), self.options())

    def done_summary(self, result: Any) -> tuple[dict[str, Any], str | None]:
        data = result.to_dict()
        details = [f"{len(data['written'])} videos + prompts from camera {data['camera']}"]
        details += [f"⚠ {w}" for w in data["warnings"]]
        return {
            "output": data["out"],
            "output_format": "Cosmos post-training set",
            "episodes_written": len(data["written"]),
            "frames_written": sum(w["frames"] for w in data["written"]),
            "skipped": [] if self.keep_short.isChecked() else data["too_short"],
            "warnings": data["warnings"],
            "provenance": data,
            "details": "\n".join(details),
        }, None


# --------------------------------------------------------------------------------------------------
# 2. Cosmos batch inference file


class CosmosBatchWizard(DatasetInput, FormWizard):
    key = "cosmos_batch"
    title = "Cosmos batch inference file"
    summary = "a JSONL file with one sample per episode: unique name, the episode's video or first frame, its prompt"

    def make_out(self) -> DropPath:
        return DropPath("batch file (.jsonl)", save=True, file_filter="JSON lines (*.jsonl)")

    def build(self) -> None:
        self.add_dataset_inputs(
            "One sample per episode; inputs that are not plain per-episode H.264 files are "
            "written beside the batch file."
        )
        self.camera = camera_combo()
        self.episodes = QLineEdit()
        self.episodes.setPlaceholderText("all (e.g. 0,2,5-9)")
        self.prefix = QLineEdit()
        self.prefix.setPlaceholderText("the dataset's name")
        self.template = QLineEdit(DEFAULT_PROMPT_TEMPLATE)
        for label, widget in (
            ("Camera", self.camera),
            ("Episodes", self.episodes),
            ("Name prefix", self.prefix),
            ("Prompt template", self.template),
        ):
            self.options_form.addRow(label, widget)
        group = QGroupBox("Sample settings (defaults: the LeIsaac tutorial's)")
        form = QFormLayout(group)
        self.settings_widgets: dict[str, QWidget] = {}
        inference = QComboBox()
        for kind in INFERENCE_TYPES:
            inference.addItem(kind, kind)
        inference.setCurrentIndex(inference.findData(DEFAULTS["inference_type"]))
        self.settings_widgets["inference_type"] = inference
        self.settings_widgets["seed"] = spin(0, 2**31 - 1, DEFAULTS["seed"])
        self.settings_widgets["guidance"] = spin(0, 7, DEFAULTS["guidance"])
        self.settings_widgets["resolution"] = QLineEdit(DEFAULTS["resolution"])
        self.settings_widgets["num_output_frames"] = spin(1, 100_000, DEFAULTS["num_output_frames"])
        self.settings_widgets["num_steps"] = spin(1, 1000, DEFAULTS["num_steps"])
        auto = QCheckBox("")
        auto.setChecked(DEFAULTS["enable_autoregressive"])
        self.settings_widgets["enable_autoregressive"] = auto
        self.settings_widgets["chunk_size"] = spin(1, 10_000, DEFAULTS["chunk_size"])
        self.settings_widgets["chunk_overlap"] = spin(0, 10_000, DEFAULTS["chunk_overlap"])
        negative = QPlainTextEdit(DEFAULTS["negative_prompt"])
        negative.setMaximumHeight(80)
        self.settings_widgets["negative_prompt"] = negative
        self.same_prompt = QLineEdit()
        self.same_prompt.setPlaceholderText("empty: the template above, per episode")
        self.frames_note = QLabel("")
        for key, widget in self.settings_widgets.items():
            widget.setToolTip(HELP.get(key, ""))
            form.addRow(key, widget)
            if key == "num_output_frames":
                form.addRow("", self.frames_note)
        form.addRow("prompt (all samples)", self.same_prompt)
        self.options_form.addRow(group)
        self.watch(
            self.camera,
            self.episodes,
            self.prefix,
            self.template,
            self.same_prompt,
            *[w for k, w in self.settings_widgets.items() if k != "negative_prompt"],
        )
        negative.textChanged.connect(self._changed)
        self.table = self.add_tab(QTableWidget(), "Samples")
        self.first_line = self.add_tab(QPlainTextEdit(), "First line")
        self.first_line.setReadOnly(True)
        self._update_frames_note()
        self.settings_widgets["num_output_frames"].valueChanged.connect(self._update_frames_note)

    def _update_frames_note(self, *_args: Any) -> None:
        frames = self.settings_widgets["num_output_frames"].value()
        verdict = (
            "enough for the IDM" if frames >= IDM_FRAMES else f"too short for the IDM ({IDM_FRAMES} needed)"
        )
        self.frames_note.setText(f"{frames / COSMOS_FPS:.1f} s at {COSMOS_FPS} fps, {verdict}")

    def default_out(self) -> Path | None:
        return batch_out(self.workspace, self.dataset.path())

    def settings(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for key, widget in self.settings_widgets.items():
            if isinstance(widget, QComboBox):
                values[key] = widget.currentData()
            elif isinstance(widget, QSpinBox):
                values[key] = widget.value()
            elif isinstance(widget, QCheckBox):
                values[key] = widget.isChecked()
            elif isinstance(widget, QPlainTextEdit):
                values[key] = widget.toPlainText().strip()
            else:
                values[key] = widget.text().strip()
        if self.same_prompt.text().strip():
            values["prompt"] = self.same_prompt.text().strip()
        return values

    def options(self) -> BatchOptions:
        return BatchOptions(
            camera=self.camera.currentData(),
            episodes=parse_indices(self.episodes.text()),
            name_prefix=self.prefix.text().strip(),
            prompt_template=self.template.text(),
            settings=self.settings(),
            curation=True if self.curated.isChecked() else None,
        )

    def local_problems(self) -> tuple[list[str], list[str]]:
        errors: list[str] = []
        warnings: list[str] = []
        try:
            warnings += check_settings({**DEFAULTS, **self.settings()})
        except StudioError as error:
            errors.append(error.problem + (f" ({error.hint})" if error.hint else ""))
        try:
            parse_indices(self.episodes.text())
        except StudioError as error:
            errors.append(error.problem)
        out = self.out.path()
        if out and not out.endswith(".jsonl"):
            errors.append("the batch file must end in .jsonl")
        return errors, warnings

    def plan_call(self) -> tuple[Callable[..., Any], tuple]:
        return plan_batch, (self.dataset.path(), self.options())

    def show_plan(self, plan: dict[str, Any]) -> None:
        if "cameras" in plan:
            set_cameras(self.camera, plan["cameras"], plan.get("camera"))
        samples = plan.get("samples", [])
        how = {"reference": "its own mp4", "encode": "encoded mp4", "png": "first frame (PNG)", "none": "—"}
        self.status.setText(f"{len(samples)} samples")
        fill_table(
            self.table,
            ["name", "episode", "frames", "input", "prompt"],
            [
                [s["name"], s["episode"], s["frames"], how.get(s["input"], s["input"]), s["prompt"]]
                for s in samples
            ],
        )
        if samples:
            settings = {k: v for k, v in plan.get("settings", {}).items() if k != "prompt"}
            first = {"name": samples[0]["name"], "prompt": samples[0]["prompt"], **settings}
            if samples[0]["input"] != "none":
                first["input_path"] = samples[0]["reference"] or f"<batch>_inputs/{samples[0]['name']}…"
            self.first_line.setPlainText(json.dumps(first, indent=2, ensure_ascii=False))

    def run_call(self) -> tuple[Callable[..., Any], tuple]:
        return build_batch, (self.dataset.path(), self.out.path(), self.options())

    def done_summary(self, result: Any) -> tuple[dict[str, Any], str | None]:
        errors, warnings = check_batch_file(result["out"])
        details = [f"{result['samples']} samples"]
        if result.get("inputs_dir"):
            details.append(f"inputs in {result['inputs_dir']} (copy it with the batch file)")
        details.append("checked as Cosmos reads it: " + ("clean" if not errors else "; ".join(errors)))
        details += [f"⚠ {w}" for w in dict.fromkeys(result["warnings"] + warnings)]
        return {
            "output": result["out"],
            "output_format": "Cosmos batch file",
            "episodes_written": result["samples"],
            "warnings": result["warnings"],
            "provenance": result,
            "details": "\n".join(details),
        }, None
