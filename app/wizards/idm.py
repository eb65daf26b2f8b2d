"""The GR00T-Dreams IDM wizards (pipeline steps 10 and 12):

    idm_prepare       Cosmos outputs -> the IDM's input dataset, previewing grouping and skipped samples
    idm_kit           a dataset + an embodiment preset (editable) -> modality.json, stats.json,
                      DataConfig, conf.yaml (installed into a chosen checkpoint)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QPlainTextEdit, QTableWidget

from app.wizards.form_wizard import FormWizard, fill_table, spin
from backend.cosmos.batch import IDM_FRAMES
from backend.idm.kit import builtin_presets
from backend.idm.prepare import PrepareOptions, plan_prepare, prepare_idm_dataset
from backend.sessions.cosmos_idm import cosmos_outputs_check, prepare_out
from backend.sessions.wizard import Check
from widgets.wizard_inputs import DropPath


class IdmPrepareWizard(FormWizard):
    key = "idm_prepare"
    title = "IDM input dataset from Cosmos outputs"
    summary = (
        "group generated videos by prompt, letterbox to 256x256 at 16 fps and write the raw LeRobot "
        "v2.1 dataset the IDM dump reads"
    )

    def build(self) -> None:
        self.cosmos = DropPath(
            "Drop the Cosmos inference output folder (<name>.mp4 + <name>.json) here", folder=True
        )
        self.source = DropPath("optional: the LeRobot dataset the IDM was trained on", folder=True)
        self.metadata = DropPath("optional: a kit's global_metadata/<embodiment> folder", folder=True)
        note = QLabel(
            "Samples whose json has no prompt take the task of the source dataset's episode named by "
            "the number ending the sample name. stats.json comes from the metadata folder, else from "
            "the source dataset."
        )
        note.setWordWrap(True)
        self.inputs_form.addRow("Cosmos outputs", self.cosmos)
        self.inputs_form.addRow("Source dataset", self.source)
        self.inputs_form.addRow("Metadata", self.metadata)
        self.inputs_form.addRow("", note)
        for widget in (self.cosmos, self.source, self.metadata):
            widget.pathChanged.connect(lambda _p: self._changed())
        self.embodiment = QComboBox()
        for key in builtin_presets():
            self.embodiment.addItem(key, key)
        self.min_frames = spin(1, 100_000, IDM_FRAMES)
        self.split = QCheckBox("One dataset per task (<embodiment>.<Task_Folder>)")
        self.options_form.addRow("Embodiment", self.embodiment)
        self.options_form.addRow("Minimum frames", self.min_frames)
        self.options_form.addRow("", self.split)
        self.watch(self.embodiment, self.min_frames, self.split)
        self.split.toggled.connect(lambda _c: self._refresh_out())
        self.samples = self.add_tab(QTableWidget(), "Samples")
        self.task_table = self.add_tab(QTableWidget(), "Tasks")
        self.tree = self.add_tab(QPlainTextEdit(), "Output")
        self.tree.setReadOnly(True)

    def _refresh_out(self) -> None:
        """One dataset or one per task: the output is another kind of thing, proposed again."""
        self.session.forget_typed_out()
        proposed = self.session.propose_out(self.default_out())
        if proposed is not None:
            self.out.setPath(proposed)

    def inputs_ready(self) -> Check:
        return cosmos_outputs_check(self.cosmos.path(), self.source.path(), self.metadata.path())

    def default_out(self) -> Path | None:
        embodiment = self.embodiment.currentData() or "so101"
        return prepare_out(self.workspace, self.cosmos.path(), embodiment, self.split.isChecked())

    def options(self) -> PrepareOptions:
        return PrepareOptions(
            embodiment=self.embodiment.currentData() or "so101",
            source_dataset=self.source.path() or None,
            metadata_dir=self.metadata.path() or None,
            min_frames=self.min_frames.value(),
            split_tasks=self.split.isChecked(),
        )

    def plan_call(self) -> tuple[Callable[..., Any], tuple]:
        return plan_prepare, (self.cosmos.path(), self.out.path() or None, self.options())

    def show_plan(self, plan: dict[str, Any]) -> None:
        samples = plan.get("samples", [])
        kept = [s for s in samples if s.get("kept")]
        self.status.setText(
            f"{len(kept)} samples in {len(plan.get('tasks', {}))} task(s), "
            f"{len(samples) - len(kept)} skipped → {plan.get('size', [256, 256])[0]}x"
            f"{plan.get('size', [256, 256])[1]} at {plan.get('fps', 16):g} fps"
        )
        fill_table(
            self.samples,
            ["sample", "frames", "kept", "task folder", "prompt from", "prompt / reason"],
            [
                [
                    s["sample"],
                    s.get("frames", ""),
                    "✓" if s["kept"] else "✗",
                    s.get("task_folder", ""),
                    s.get("prompt_from", ""),
                    s["prompt"] if s["kept"] else s["reason"],
                ]
                for s in samples
            ],
            bad={i for i, s in enumerate(samples) if not s["kept"]},
        )
        counts: dict[str, int] = {}
        for s in kept:
            counts[s["task_folder"]] = counts.get(s["task_folder"], 0) + 1
        tasks = plan.get("tasks", {})
        fill_table(
            self.task_table,
            ["task folder", "episodes", "prompt"],
            [[folder, counts.get(folder, 0), prompt] for folder, prompt in tasks.items()],
        )
        self.tree.setPlainText("\n".join(plan.get("datasets", [])))

    def run_call(self) -> tuple[Callable[..., Any], tuple]:
        return prepare_idm_dataset, (self.cosmos.path(), self.out.path(), self.options())

    def done_summary(self, result: Any) -> tuple[dict[str, Any], str | None]:
        data = result.to_dict()
        details = [
            f"{len(data['episodes'])} episodes in {len(data['tasks'])} task(s) → "
            + ", ".join(Path(d).name for d in data["datasets"])
        ]
        details += [f"skipped {s['sample']}: {s['reason']}" for s in data["skipped"]]
        details.append("next: run the IDM dump job on the dataset (Jobs › GR00T-Dreams IDM action dump)")
        return {
            "output": data["datasets"][0] if len(data["datasets"]) == 1 else data["out"],
            "output_format": "LeRobot v2.1 (IDM input)",
            "episodes_written": len(data["episodes"]),
            "frames_written": sum(e["frames"] for e in data["episodes"]),
            "skipped": data["skipped"],
            "warnings": data["warnings"],
            "provenance": data,
            "details": "\n".join(details),
        }, data["datasets"][0]
