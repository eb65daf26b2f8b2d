"""A trim inside a GOP re-encodes only the frames up to the next keyframe and copies the rest.

The studio's files have a keyframe every 2 frames, so a trim from an odd frame re-encodes one frame
per camera. Copied frames decode bit-identical to the source's; the re-encoded frame is close.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from backend.formats import open_dataset
from backend.formats.lerobot.splice import cut_plan, write_spliced
from backend.media import probe
from backend.media.encoder import VideoEncoder
from backend.model import DatasetFormat
from backend.surgery import execute, plan_trim
from tests.surgery_data import frame, write_lerobot


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("splice")
    write_lerobot(root / "v30", DatasetFormat.LEROBOT_V30, (18, 20), ("pick", "place"))
    write_lerobot(root / "v21", DatasetFormat.LEROBOT_V21, (20,), ("pick",), cameras=("front",))
    return root


def frames_of(path: Path, episode: int, camera: str) -> np.ndarray:
    with open_dataset(path) as ds:
        stream = ds.episode(episode).stream(camera)
        try:
            return np.stack([stream.frame(i) for i in range(stream.num_frames)]).astype(np.int16)
        finally:
            stream.close()


@pytest.mark.parametrize("name", ["v30", "v21"])
def test_trim_inside_gop_reencodes_only_to_the_keyframe(root: Path, name: str) -> None:
    source = root / name
    trims = {0: (5, 18)} if name == "v21" else {0: (5, 18), 1: (3, 20)}
    with open_dataset(source) as ds:
        plan = plan_trim(ds, trims, root / f"{name}-t")
        cuts = {(c["episode"], c["camera"]): c for c in plan.cuts}
        assert cuts[(0, "front")] == {
            "episode": 0, "camera": "front", "mode": "splice", "encoded": 1, "copied": 12, "reason": "",
        }  # fmt: skip
        assert "1 frame(s) re-encoded up to the next keyframe, 12 copied" in plan.text()
        summary = execute(plan, datasets=[ds])
    out = summary.outputs[0]
    cameras = 1 if name == "v21" else 2
    assert out["videos_spliced"] == len(trims) * cameras and out["frames_reencoded"] == len(trims) * cameras
    assert out["videos_encoded"] == 0
    assert summary.validation == {str(root / f"{name}-t"): []}  # validate --quick clean
    for episode, (first, stop) in trims.items():
        for camera in ("front", "wrist")[:cameras]:
            want = frames_of(source, episode, camera)[first:stop]
            got = frames_of(root / f"{name}-t", episode, camera)
            assert got.shape == want.shape
            np.testing.assert_array_equal(got[1:], want[1:])  # from the keyframe on: packets copied
            assert np.abs(got[0] - want[0]).mean() < 3  # the frame before it: re-encoded
    with open_dataset(root / f"{name}-t") as ds:
        assert [e.length for e in ds.episodes] == [stop - first for first, stop in trims.values()]


def _video(path: Path, options: dict[str, str] | None = None, frames: int = 12) -> Path:
    with VideoEncoder(path, 64, 48, 30, gop=4, options=options) as encoder:
        for i in range(frames):
            encoder.write(frame(i, 0, 0))
    return path


def test_cut_plan_falls_back_when_the_source_cannot_be_matched(tmp_path: Path) -> None:
    plain = _video(tmp_path / "plain.mp4")
    info = probe(plain)
    assert cut_plan(plain, info, 4, 8).mode == "copy"
    assert cut_plan(plain, info, 5, 7) == cut_plan(plain, info, 5, 7)
    spliced = write_spliced(plain, info, 5, 7, tmp_path / "s.mp4")
    assert (spliced.mode, spliced.encoded, spliced.copied) == ("splice", 3, 4)
    got = probe(tmp_path / "s.mp4")
    assert got.num_frames == 7 and list(got.keyframes) == [0, 3]
    np.testing.assert_allclose(np.diff(got.frame_times), 1 / 30, atol=1e-6)
    with av.open(str(tmp_path / "s.mp4")) as container:
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    with av.open(str(plain)) as container:
        original = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    np.testing.assert_array_equal(np.stack(decoded[3:]), np.stack(original[8:]))
    assert cut_plan(plain, info, 9, 3).reason == "no keyframe inside the window"

    bframes = _video(tmp_path / "b.mp4", {"bf": "2"})
    plan = cut_plan(bframes, probe(bframes), 5, 7)
    assert plan.mode == "encode" and "B-frames" in plan.reason
    # x264 told to use B-frames at GOP 2 (LeRobot's h264) uses none but keeps a decode delay: spliced
    delayed = tmp_path / "delayed.mp4"
    with VideoEncoder(delayed, 64, 48, 30, gop=2, options={"bf": "1"}) as encoder:
        for i in range(10):
            encoder.write(frame(i, 0, 0))
    assert cut_plan(delayed, probe(delayed), 3, 6).mode == "splice"
    write_spliced(delayed, probe(delayed), 3, 6, tmp_path / "d.mp4")
    with av.open(str(tmp_path / "d.mp4")) as container:
        stream = container.streams.video[0]
        dts = [p.dts for p in container.demux(stream) if p.size]
    assert dts == sorted(set(dts)) and len(dts) == 6  # decode times rise
    refs = _video(tmp_path / "refs.mp4", {"x264-params": "ref=7"})
    plan = cut_plan(refs, probe(refs), 5, 7)
    assert (plan.mode, plan.reason) == ("encode", "no x264 setting reproduces the source's stream headers")
    av1 = tmp_path / "a.mp4"
    with VideoEncoder(av1, 64, 48, 30, codec="av1", gop=4) as encoder:
        for i in range(8):
            encoder.write(frame(i, 0, 0))
    plan = cut_plan(av1, probe(av1), 1, 6)
    assert plan.mode == "encode" and "needs h264" in plan.reason


def test_lerobot_061_h264_is_spliced(shared_data: Path, tmp_path: Path) -> None:
    """LeRobot 0.6.1's h264 (x264 medium, bframes=1 unused at GOP 2): headers matched, one frame re-encoded."""
    folder = shared_data / "lerobot061_so101_v30_h264"
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent")
    video = sorted((folder / "videos").rglob("*.mp4"))[0]
    info = probe(video)
    plan = write_spliced(video, info, 5, 8, tmp_path / "cut.mp4", {"video.crf": 30, "video.g": 2})
    assert (plan.mode, plan.encoded, plan.copied) == ("splice", 1, 7)
    with av.open(str(video)) as container:
        want = [
            f.to_ndarray(format="rgb24").astype(np.int16)
            for _, f in zip(range(13), container.decode(video=0), strict=False)
        ]
    with av.open(str(tmp_path / "cut.mp4")) as container:
        got = [f.to_ndarray(format="rgb24").astype(np.int16) for f in container.decode(video=0)]
    assert len(got) == 8
    np.testing.assert_array_equal(np.stack(got[1:]), np.stack(want[6:13]))
    assert np.abs(got[0] - want[5]).mean() < 3
