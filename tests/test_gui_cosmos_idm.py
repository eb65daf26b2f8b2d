"""The Cosmos / IDM wizards, driven offscreen to completion: inputs -> options -> run -> done."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from PySide6.QtCore import QSettings

from app.context import AppContext
from app.wizards.cosmos_idm import (
    WIZARD_FAMILIES,
    CosmosBatchWizard,
    CosmosTrainsetWizard,
    IdmKitWizard,
    IdmPrepareWizard,
)
from backend.cosmos.batch import check_batch_file, read_batch
from backend.formats import open_dataset
from tests.cosmos_data import StandinSample, write_standin_outputs

REAL = "lerobot061_so101_v30_h264"
TIMEOUT = 30_000


@pytest.fixture
def context(tmp_path: Path) -> AppContext:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    return AppContext(settings, tmp_path / "workspace")


def _to_options(qtbot, wizard) -> None:
    assert wizard.frame.next_button.isEnabled(), wizard.frame.note.text()
    wizard.frame.next_button.click()
    assert wizard.step() == 1
    qtbot.waitUntil(wizard.preview_ready, timeout=TIMEOUT)


def _run(qtbot, wizard) -> None:
    qtbot.waitUntil(wizard.preview_ready, timeout=TIMEOUT)
    assert wizard.frame.next_button.isEnabled(), (wizard.frame.note.text(), wizard.message_texts())
    wizard.frame.next_button.click()
    qtbot.waitUntil(lambda: wizard.step() == 3 or wizard.last_error is not None, timeout=TIMEOUT)
    assert wizard.last_error is None and wizard.step() == 3


def test_families_are_listed(qtbot, context: AppContext) -> None:
    assert [(key, title) for key, title, _ in WIZARD_FAMILIES] == [
        ("cosmos_trainset", "Cosmos post-training set"),
        ("cosmos_batch", "Cosmos batch inference file"),
        ("idm_prepare", "IDM input dataset from Cosmos outputs"),
        ("idm_kit", "IDM embodiment kit"),
    ]
    for _key, _title, factory in WIZARD_FAMILIES:
        widget = factory(context, None)
        qtbot.addWidget(widget)
        assert widget.step() == 0 and not widget.frame.next_button.isEnabled()


def test_trainset_wizard_lists_short_episodes_then_keeps_them(
    qtbot, context: AppContext, shared_data: Path
) -> None:
    wizard = CosmosTrainsetWizard(context)
    qtbot.addWidget(wizard)
    wizard.dataset.setPath(shared_data / REAL)
    _to_options(qtbot, wizard)
    errors, _ = wizard.message_texts()
    assert errors and "0 (60 frames), 1 (60 frames)" in errors[0]
    assert not wizard.frame.next_button.isEnabled()
    assert wizard.table.rowCount() == 2 and wizard.table.item(0, 2).text() == "✗"
    assert [wizard.camera.itemData(i) for i in range(wizard.camera.count())] == [None, "front", "wrist"]
    assert wizard.out.path() == str(context.workspace / "cosmos" / f"{REAL}_trainset")
    wizard.keep_short.setChecked(True)
    wizard.template.setText("{task}")
    _run(qtbot, wizard)
    out = context.workspace / "cosmos" / f"{REAL}_trainset"
    assert sorted(p.name for p in (out / "videos").iterdir()) == ["1.mp4", "2.mp4"]
    assert (out / "metas" / "2.txt").read_text(encoding="utf-8") == "Lift the red cube up."
    assert not wizard.done_view.open_button.isVisible()


def test_batch_wizard_validates_settings_live(qtbot, context: AppContext, shared_data: Path) -> None:
    wizard = CosmosBatchWizard(context)
    qtbot.addWidget(wizard)
    wizard.dataset.setPath(shared_data / REAL)
    _to_options(qtbot, wizard)
    assert wizard.message_texts() == ([], [])
    wizard.settings_widgets["resolution"].setText("480x640")
    errors, _ = wizard.message_texts()
    assert errors == ['resolution must be "H,W" (e.g. "480,640"), got \'480x640\'']
    assert not wizard.frame.next_button.isEnabled()
    wizard.settings_widgets["resolution"].setText("480,640")
    wizard.settings_widgets["num_output_frames"].setValue(77)
    assert "too short for the IDM" in wizard.frames_note.text()
    _, warnings = wizard.message_texts()
    assert any("93 frames at 16 fps" in w for w in warnings)
    wizard.settings_widgets["guidance"].setValue(5)
    wizard.episodes.setText("1")
    _run(qtbot, wizard)
    out = Path(wizard.out.path())
    assert out == context.workspace / "cosmos" / f"{REAL}_batch.jsonl"
    (sample,) = read_batch(out)
    assert (sample["name"], sample["guidance"], sample["num_output_frames"]) == (
        f"{REAL}_episode_000001",
        5,
        77,
    )
    assert check_batch_file(out)[0] == []
    assert "checked as Cosmos reads it: clean" in wizard.done_view.details.text()


def test_idm_prepare_wizard_previews_and_opens_the_dataset(
    qtbot, context: AppContext, shared_data: Path, tmp_path: Path
) -> None:
    cosmos = write_standin_outputs(
        shared_data / REAL,
        tmp_path / "outputs",
        [
            StandinSample("gen_episode_000000", 0, 93, "Stack the cube.", size=(160, 120)),
            StandinSample("gen_episode_000001", 1, 93, None, size=(160, 120)),
            StandinSample("gen_episode_000002", 1, 77, "Stack the cube.", size=(160, 120)),
        ],
    )
    wizard = IdmPrepareWizard(context)
    qtbot.addWidget(wizard)
    wizard.cosmos.setPath(cosmos)
    wizard.source.setPath(shared_data / REAL)
    _to_options(qtbot, wizard)
    assert wizard.out.path() == str(context.workspace / "idm" / "so101.outputs")
    assert wizard.samples.rowCount() == 3 and wizard.task_table.rowCount() == 2
    skipped = [wizard.samples.item(r, 5).text() for r in range(3) if wizard.samples.item(r, 2).text() == "✗"]
    assert skipped == ["77 frames, the IDM expects at least 93 at 16 fps"]
    wizard.out.setPath(tmp_path / "not_named_right")
    qtbot.waitUntil(wizard.preview_ready, timeout=TIMEOUT)
    assert any("must be named 'so101.<name>'" in e for e in wizard.message_texts()[0])
    assert not wizard.frame.next_button.isEnabled()
    wizard.out.setPath(tmp_path / "so101.generated")
    _run(qtbot, wizard)
    assert wizard.result_dataset == str(tmp_path / "so101.generated")
    with qtbot.waitSignal(context.openDatasetRequested, timeout=2000) as signal:
        wizard.done_view.open_button.click()
    assert signal.args == [str(tmp_path / "so101.generated")]
    with open_dataset(tmp_path / "so101.generated") as dataset:
        assert [e.task for e in dataset.episodes] == ["Lift the red cube up.", "Stack the cube."]
        assert dataset.fps == 16


def test_kit_wizard_edits_the_preset_and_installs_conf(
    qtbot, context: AppContext, shared_data: Path, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "checkpoint-10000"
    checkpoint.mkdir()
    wizard = IdmKitWizard(context)
    qtbot.addWidget(wizard)
    wizard.dataset.setPath(shared_data / REAL)
    _to_options(qtbot, wizard)
    assert wizard.slices_table.rowCount() == 12
    assert "class So101DataConfig(BaseDataConfig):" in wizard.data_config_text.toPlainText()
    assert [wizard.cameras.item(i).text() for i in range(wizard.cameras.count())] == ["front", "wrist"]
    wizard.slices_table.item(11, 2).setText("4")  # action.gripper 4:6 now overlaps wrist_roll 4:5
    qtbot.waitUntil(lambda: wizard.preview_ready() and bool(wizard.message_texts()[0]), timeout=TIMEOUT)
    assert any("overlap" in e for e in wizard.message_texts()[0])
    assert not wizard.frame.next_button.isEnabled()
    wizard.slices_table.item(11, 2).setText("5")
    wizard.delta_edits["action"].setText("0-7")
    qtbot.waitUntil(lambda: wizard.preview_ready() and bool(wizard.message_texts()[0]), timeout=TIMEOUT)
    assert wizard.message_texts()[0] == ["the last video index 16 lies beyond the action horizon 8"]
    wizard.delta_edits["video"].setText("0,8")
    wizard.delta_edits["state"].setText("0,8")
    wizard.checkpoint.setPath(checkpoint)
    _run(qtbot, wizard)
    conf = yaml.safe_load((checkpoint / "experiment_cfg" / "conf.yaml").read_text(encoding="utf-8"))
    assert conf["modality_configs"]["so101"]["action"]["delta_indices"] == list(range(8))
    assert conf["modality_configs"]["so101"]["video"]["delta_indices"] == [0, 8]
    assert conf["all_transforms"]["so101"]["transforms"][-1]["action_horizon"] == 8
    modality = json.loads(
        (context.workspace / "idm" / "so101_kit" / "global_metadata" / "so101" / "modality.json").read_text(
            encoding="utf-8"
        )
    )
    assert modality["action"]["gripper"] == {"start": 5, "end": 6, "absolute": False}


def test_cancel_leaves_nothing(qtbot, context: AppContext, shared_data: Path) -> None:
    wizard = CosmosBatchWizard(context)
    qtbot.addWidget(wizard)
    wizard.dataset.setPath(shared_data / REAL)
    _to_options(qtbot, wizard)
    out = Path(wizard.out.path())
    wizard.frame.next_button.click()
    assert wizard.step() == 2 and wizard.run_view.running
    wizard.run_view.cancel_button.click()
    qtbot.waitUntil(lambda: wizard.last_error is not None, timeout=TIMEOUT)
    assert wizard.last_error == "cancelled" and wizard.step() == 2
    assert not out.exists() and not out.with_name(out.stem + "_inputs").exists()
    assert not out.parent.exists() or list(out.parent.iterdir()) == []
    assert wizard.frame.back_button.isEnabled()
