"""Templates: the schema, the argv each built-in template builds, users' own templates."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from backend.errors import StudioError
from backend.jobs.paths import builtin_templates_dir
from backend.jobs.profiles import Profile, check_profile, conda_python
from backend.jobs.templates import build_command, latest_checkpoint, load_templates, parse_template

EXPECTED = {
    "cosmos-posttrain",
    "cosmos-convert-dcp",
    "cosmos-inference",
    "cosmos-reason-score",
    "idm-train",
    "idm-dump",
    "leisaac-teleop",
    "leisaac-replay",
    "mimicgen-generate",
    "gr00t-finetune",
    "gr00t-inference-server",
    "dreamgen-bench",
    "command",
    "studio",
}
PY = Profile(
    name="p", tool="x", repo="/repos/tool", python=["/envs/x/bin/python"], env={"PYTHONPATH": "/extra"}
)


def test_every_builtin_template_is_valid():
    schema = json.loads((builtin_templates_dir() / "schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    templates = load_templates()
    assert templates.problems == []
    assert {t.name for t in templates} == EXPECTED
    for path in builtin_templates_dir().glob("*.yaml"):
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)
    for template in templates:
        assert template.description and template.title
        summary = template.summary()
        assert json.dumps(summary)  # serialisable for --json


def test_cosmos_posttrain_argv():
    t = load_templates().get("cosmos-posttrain")
    values, errors = t.coerce_params(
        {
            "output_root": "/data/out",
            "max_iter": "1000",
            "nproc": 8,
            "args": ["dataloader_train.batch_size=2"],
        }
    )
    assert errors == {}
    cmd = build_command(t, values, PY)
    assert cmd.argv == [
        "/envs/x/bin/python",
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=8",
        "--standalone",
        "-m",
        "scripts.train",
        "--config=cosmos_predict2/_src/predict2/configs/video2world/config.py",
        "--",
        "experiment=predict2_video2world_training_2b_groot_gr1_480",
        "job.project=cosmos_predict_v2p5",
        "job.group=video2world",
        "job.name=2b_groot_gr1_480",
        "trainer.max_iter=1000",
        "job.wandb_mode=disabled",
        "dataloader_train.batch_size=2",
    ]
    assert cmd.cwd == "/repos/tool" and cmd.gpus == 8 and cmd.total == 1000
    # the template's fixed PYTHONPATH gives way to the profile's; parameter-driven values win
    assert cmd.extra_env(PY) == {"PYTHONPATH": "/extra", "IMAGINAIRE_OUTPUT_ROOT": "/data/out"}
    assert (
        cmd.artifacts[0]["path"] == "/data/out/cosmos_predict_v2p5/video2world/2b_groot_gr1_480/checkpoints"
    )
    values["master_port"] = 12341
    assert "--master_port=12341" in build_command(t, values, PY).argv


def test_idm_dump_and_teleop_and_finetune_argv(tmp_path):
    ts = load_templates()
    t = ts.get("idm-dump")
    values, errors = t.coerce_params(
        {"checkpoint": "ckpt", "dataset": "so101.data", "output_dir": "so101.data_idm"}, base=tmp_path
    )
    assert errors == {}
    argv = build_command(t, values, PY).argv
    assert argv == [
        "/envs/x/bin/python",
        "IDM_dump/dump_idm_actions.py",
        "--checkpoint",
        str(tmp_path / "ckpt"),
        "--dataset",
        str(tmp_path / "so101.data"),
        "--output_dir",
        str(tmp_path / "so101.data_idm"),
        "--num_gpus",
        "1",
        "--video_indices",
        "0 16",
    ]
    assert t.check_paths(values)["checkpoint"].endswith("is not a folder")
    (tmp_path / "ckpt").mkdir()
    assert "has no experiment_cfg/conf.yaml" in t.check_paths(values)["checkpoint"]
    _values, errors = t.coerce_params({"checkpoint": "c", "dataset": "/x/nodot", "output_dir": "o"})
    assert "dataset" in errors  # the embodiment key is the folder name up to its first dot

    t = ts.get("leisaac-teleop")
    values, errors = t.coerce_params(
        {"dataset_file": "/d/bread.hdf5", "teleop_device": "bi-so101leader", "num_demos": 10, "resume": True}
    )
    assert errors == {}
    cmd = build_command(t, values, PY)
    assert cmd.argv[2:6] == [
        "--task=LeIsaac-SO101-PickOrange-v0",
        "--teleop_device=bi-so101leader",
        "--left_arm_port=/dev/ttyACM0",
        "--right_arm_port=/dev/ttyACM1",
    ]
    assert (
        "--resume" in cmd.argv
        and "--num_demos=10" in cmd.argv
        and not any(a.startswith("--seed") for a in cmd.argv)
    )
    assert cmd.total == 10 and t.stop_signal == "SIGINT" and t.stop_is_success

    t = ts.get("gr00t-finetune")
    values, errors = t.coerce_params(
        {"dataset_paths": ["/d/a", "/d/b"], "output_dir": "/o", "lora_rank": 32, "tune_llm": "yes"}
    )
    assert errors == {}
    argv = build_command(t, values, PY).argv
    assert argv[2:5] == ["--dataset-path", "/d/a", "/d/b"]
    assert (
        argv[argv.index("--lora-rank") + 1] == "32" and "--tune-llm" in argv and "--tune-visual" not in argv
    )
    values["lora_rank"] = 0
    assert "--lora-rank" not in build_command(t, values, PY).argv


def test_parameter_checks():
    t = load_templates().get("cosmos-posttrain")
    _values, errors = t.coerce_params(
        {"nproc": "0", "experiment": "bad name; rm", "max_iter": "x", "what": 1}
    )
    assert set(errors) == {"nproc", "experiment", "max_iter", "what", "output_root"}
    assert errors["nproc"] == "must be at least 1" and errors["output_root"] == "required"
    t = load_templates().get("leisaac-replay")
    _values, errors = t.coerce_params({"dataset_file": "/x.hdf5", "replay_mode": "both"})
    assert "replay_mode" in errors
    _values, errors = t.coerce_params({"dataset_file": "/x.hdf5", "select_episodes": ["1", "x"]})
    assert "select_episodes" in errors


def test_user_templates_without_code(tmp_path, monkeypatch):
    monkeypatch.setenv("ROLLOUT_STUDIO_HOME", str(tmp_path))
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "my-eval.yaml").write_text(
        "name: my-eval\ntitle: My eval\ntool: gr00t-dreams\nparams:\n"
        "  - {name: steps, type: int, default: 5, min: 1}\n  - {name: fast, type: bool, default: false}\n"
        "argv:\n  - '{python}'\n  - eval.py\n  - '--steps={steps}'\n  - {if: fast, then: [--fast]}\n"
        "  - '{{literal}}'\nprogress:\n  parsers: [tqdm]\n  total: '{steps}'\n"
    )
    (folder / "broken.yaml").write_text("name: broken\ntitle: B\nargv: []\n")
    (folder / "typo.yaml").write_text("name: typo\ntitle: T\nargv: ['{nope}']\n")
    (folder / "command.yaml").write_text("name: command\ntitle: My own command\nargv: [echo, hi]\n")
    templates = load_templates()
    t = templates.get("my-eval")
    values, _ = t.coerce_params({"fast": "true"})
    cmd = build_command(t, values, PY)
    assert (
        cmd.argv == ["/envs/x/bin/python", "eval.py", "--steps=5", "--fast", "{literal}"] and cmd.total == 5
    )
    assert templates.get("command").title == "My own command"  # same name overrides a built-in
    assert len(templates.problems) == 2
    assert any("broken.yaml" in p and "argv" in p for p in templates.problems)
    assert any("typo.yaml" in p and "{nope}" in p for p in templates.problems)
    with pytest.raises(StudioError, match="no job template"):
        templates.get("missing")


def test_whole_element_placeholders_and_reserved_names():
    with pytest.raises(StudioError, match="whole argv element"):
        parse_template({"name": "x", "title": "x", "argv": ["run-{python}"]})
    with pytest.raises(StudioError, match="reserved"):
        parse_template(
            {"name": "x", "title": "x", "params": [{"name": "repo", "type": "string"}], "argv": ["a"]}
        )
    with pytest.raises(StudioError, match="invalid at argv/0"):
        parse_template({"name": "x", "title": "x", "argv": [{"shell": "rm -rf /"}]})


def test_conda_profile_and_studio_template(tmp_path):
    t = load_templates().get("studio")
    values, _ = t.coerce_params({"args": ["jobs", "templates"]})
    cmd = build_command(t, values, None, submit_cwd=str(tmp_path))
    assert (
        cmd.argv[0] == sys.executable and cmd.argv[-2:] == ["jobs", "templates"] and cmd.cwd == str(tmp_path)
    )
    assert conda_python("cosmos", conda="/opt/conda/bin/conda") == [
        "/opt/conda/bin/conda",
        "run",
        "--no-capture-output",
        "-n",
        "cosmos",
        "python",
    ]


def test_latest_checkpoint(tmp_path):
    for name in ("iter_000000100", "iter_000000900", "iter_000001000"):
        (tmp_path / "ck" / name).mkdir(parents=True)
    assert latest_checkpoint(tmp_path / "ck").name == "iter_000001000"
    (tmp_path / "ck" / "latest_checkpoint.txt").write_text("iter_000000900\n")
    assert latest_checkpoint(tmp_path / "ck").name == "iter_000000900"
    for step in (5, 40, 100):
        (tmp_path / "hf" / f"checkpoint-{step}").mkdir(parents=True)
    assert latest_checkpoint(tmp_path / "hf").name == "checkpoint-100"
    assert latest_checkpoint(tmp_path / "hf" / "checkpoint-5") == tmp_path / "hf" / "checkpoint-5"


def test_check_profile(tmp_path):
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    (repo / "scripts" / "train.py").write_text("")
    good = Profile(name="g", tool="t", repo=str(repo), python=[sys.executable], env={"X": "{repo}/y"})
    checks = check_profile(good, requires=["scripts/train.py", "scripts/missing.py"], runner="local")
    assert [(c.what, c.ok) for c in checks] == [
        ("repository", True),
        ("interpreter", True),
        ("needs scripts/train.py", True),
        ("needs scripts/missing.py", False),
    ]
    assert good.resolved_env() == {"X": f"{repo}/y"}
    bad = Profile(name="b", repo=str(repo), python=[sys.executable, "-c", "import sys; sys.exit(4)", "--"])
    failed = [c for c in check_profile(bad) if not c.ok]
    assert failed and failed[0].what == "interpreter" and "exit code 4" in failed[0].detail
    assert not check_profile(Profile(name="n", python=["no-such-python-xyz"]), needs_repo=False)[0].ok


def test_path_parameters_resolve_against_submit_folder(tmp_path):
    t = load_templates().get("command")
    values, errors = t.coerce_params({"args": ["ls"], "cwd": "sub/../here", "output": "~/x"}, base=tmp_path)
    assert errors == {}
    assert values["cwd"] == str(tmp_path / "here") and values["output"] == str(Path.home() / "x")
    cmd = build_command(t, values, None)
    assert cmd.cwd == str(tmp_path / "here") and cmd.artifacts[0]["path"] == str(Path.home() / "x")
