"""merge and Cosmos outputs: a Cosmos folder (videos, no actions) is refused with what to do; what
`idm prepare` writes is a LeRobot dataset and merges."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from backend.cli import main
from backend.errors import StudioError
from backend.formats import open_dataset
from backend.idm.prepare import PrepareOptions, prepare_idm_dataset
from backend.surgery import plan_merge
from backend.surgery.common import open_all
from tests.cosmos_data import StandinSample, write_small_lerobot, write_standin_outputs


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("surgery_cosmos")
    source = write_small_lerobot(root / "source", [24, 22], tasks=["pick the cube", "place the cube"])
    for name, episode in (("a", 0), ("b", 1)):
        samples = [StandinSample(f"{name}_episode_{episode:06d}", episode, 24, f"task {name}")]
        write_standin_outputs(source, root / f"cosmos_{name}", samples)
    return root


def test_merge_refuses_cosmos_outputs(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cosmos = root / "cosmos_a"
    for args in ([cosmos, root / "source"], [root / "source", cosmos]):
        rc = main(["edit", "merge", *map(str, args), "--out", str(root / "never")])
        assert rc == 2
        assert capsys.readouterr().err.strip().splitlines() == [
            f"error: {cosmos}: is a folder of Cosmos outputs: its videos have no actions or states to merge "
            "(run `rollout-studio idm prepare` on it first, label that dataset with the IDM "
            "(dump_idm_actions) and merge the labelled LeRobot dataset)"
        ]
    assert not (root / "never").exists()
    datasets = open_all([root / "cosmos_a", root / "cosmos_b"])
    try:
        with pytest.raises(StudioError, match="Cosmos outputs"):
            plan_merge(datasets, root / "never")
    finally:
        for dataset in datasets:
            dataset.close()


def test_idm_prepared_datasets_merge(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    options = PrepareOptions(source_dataset=str(root / "source"), min_frames=20, jobs=1)
    for name in ("a", "b"):
        prepare_idm_dataset(root / f"cosmos_{name}", root / f"so101.{name}", options)
    out = root / "so101.merged"
    assert main(["edit", "merge", str(root / "so101.a"), str(root / "so101.b"), "--out", str(out)]) == 0
    capsys.readouterr()  # exit 0: validate --quick found no error
    # the IDM's metadata travels: the embodiment's stats.json (no counts: kept, not aggregated) and modality
    for name in ("stats.json", "modality.json"):
        assert json.loads((out / "meta" / name).read_text()) == json.loads(
            (root / "so101.a" / "meta" / name).read_text()
        )
    with open_dataset(out) as merged, open_dataset(root / "so101.b") as b:
        assert [e.task for e in merged.episodes] == ["task a", "task b"]
        assert [e.length for e in merged.episodes] == [24, 24]
        got, want = merged.episode(1).stream("front"), b.episode(0).stream("front")
        try:
            np.testing.assert_array_equal(got.frame(23), want.frame(23))
        finally:
            got.close()
            want.close()
