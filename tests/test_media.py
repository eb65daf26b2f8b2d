"""backend.media: probe, random access and cache, writer, transcode/remux, episode streams.

Every test video carries its frame index as a barcode (16 blocks of 8x8, white = 1), so any frame
can be checked for being the right one after lossy coding.
"""

from __future__ import annotations

import random
import shutil
import threading
import time
from pathlib import Path

import av
import numpy as np
import pytest

from backend.errors import FormatError, StudioError
from backend.media import (
    VideoEncoder,
    VideoReader,
    VideoStream,
    frame_index_at,
    probe,
    remux_segment,
    transcode,
)
from backend.media.color import rgb_to_yuv420p
from backend.media.transcode import REENCODE, REMUX

W, H = 128, 96
BITS = 16
BLOCK = 8


def pattern(i: int, width: int = W, height: int = H) -> np.ndarray:
    """A smoothly moving picture (no scene cuts) with ``i`` as a barcode in the top rows."""
    y, x = np.mgrid[0:height, 0:width]
    img = np.empty((height, width, 3), np.uint8)
    img[..., 0] = (64 + 48 * np.sin((x + 2 * i) / 9.0)).astype(np.uint8)
    img[..., 1] = (64 + 48 * np.cos((y + i) / 7.0)).astype(np.uint8)
    img[..., 2] = ((x + y + i) % 128).astype(np.uint8)
    for bit in range(BITS):
        row, col = divmod(bit, width // BLOCK)
        value = 255 if (i >> bit) & 1 else 0
        img[row * BLOCK : (row + 1) * BLOCK, col * BLOCK : (col + 1) * BLOCK] = value
    return img


def barcode(frame: np.ndarray) -> int:
    scale = frame.shape[1] / W
    block = BLOCK * scale
    value = 0
    for bit in range(BITS):
        row, col = divmod(bit, W // BLOCK)
        y0, x0 = int((row + 0.25) * block), int((col + 0.25) * block)
        y1, x1 = max(y0 + 1, int((row + 0.75) * block)), max(x0 + 1, int((col + 0.75) * block))
        if frame[y0:y1, x0:x1].mean() > 128:
            value |= 1 << bit
    return value


def make_video(path: Path, n: int, gop: int, codec: str = "h264", fps: float = 30, **kw) -> Path:
    with VideoEncoder(path, W, H, fps, codec=codec, gop=gop, crf=kw.pop("crf", 18), **kw) as writer:
        for i in range(n):
            writer.write(pattern(i))
    return path


def make_pyav_video(
    path: Path, n: int, gop: int, options: dict[str, str], movflags: str | None = None
) -> Path:
    """x264 through plain PyAV (B-frames by default), like videos from other tools."""
    with av.open(str(path), "w", options={"movflags": movflags} if movflags else {}) as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.codec_context.gop_size = gop
        stream.options = {"g": str(gop), "crf": "18", **options}
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(pattern(i), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def decode_all(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("media")
    return {
        "g2": make_video(root / "g2.mp4", 120, 2),
        "g30": make_video(root / "g30.mp4", 150, 30),
        "g250": make_video(root / "g250.mp4", 260, 250),
        "av1": make_video(root / "av1.mp4", 45, 30, codec="av1"),
        "g10": make_video(root / "g10.mp4", 90, 10),
        "bframes": make_pyav_video(root / "bframes.mp4", 100, 40, {"bf": "3", "sc_threshold": "0"}),
    }


# -- probe ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "key,codec,frames,gop", [("g30", "h264", 150, 30), ("av1", "av1", 45, 30), ("g2", "h264", 120, 2)]
)
def test_probe_counts_codec_fps_and_exact_frame_times(videos, key, codec, frames, gop):
    info = probe(videos[key])
    assert (info.codec, info.width, info.height, info.pix_fmt) == (codec, W, H, "yuv420p")
    assert info.fps == 30.0 and info.num_frames == frames and info.start_time == 0.0
    assert np.array_equal(info.frame_times, np.arange(frames) / 30.0)  # exactly i / fps
    assert list(info.keyframes) == list(range(0, frames, gop))
    assert not info.reordered
    assert info.keyframe_before(gop + 1) == gop


def test_frame_times_exact_at_ntsc_rate(tmp_path):
    path = make_video(tmp_path / "ntsc.mp4", 20, 10, fps=30000 / 1001)
    info = probe(path)
    assert info.num_frames == 20 and abs(info.fps - 30000 / 1001) < 1e-9
    assert np.allclose(info.frame_times, np.arange(20) * 1001 / 30000, atol=1e-9, rtol=0)


# -- random access -----------------------------------------------------------------------------------------
def test_probe_b_frames(videos):
    info = probe(videos["bframes"])
    assert info.reordered and info.num_frames == 100 and list(info.keyframes) == [0, 40, 80]
    assert np.array_equal(info.frame_times, np.arange(100) / 30.0)


@pytest.mark.parametrize("key", ["g2", "g30", "g250", "bframes"])
def test_random_access_every_index_in_shuffled_order(videos, key):
    with VideoReader(videos[key], cache_frames=12) as reader:
        order = list(range(reader.num_frames))
        random.Random(7).shuffle(order)
        assert [barcode(reader.frame(i)) for i in order] == order
        # sequential reading and the cache agree
        assert [barcode(f) for f in reader.frames(reader.num_frames - 5)] == list(
            range(reader.num_frames - 5, reader.num_frames)
        )
        with pytest.raises(IndexError):
            reader.frame(reader.num_frames)


def test_av1_random_access(videos):
    with VideoReader(videos["av1"], cache_frames=4) as reader:
        assert reader.codec == "av1"
        for i in (44, 3, 31, 0, 29, 30):
            assert barcode(reader.frame(i)) == i


def test_frames_match_plain_decode_bit_for_bit(videos):
    plain = decode_all(videos["g30"])
    with VideoReader(videos["g30"], cache_frames=8) as reader:
        for i in (149, 0, 75, 31, 30, 29):
            assert np.array_equal(reader.frame(i), plain[i])
        frame = reader.frame(5)
        assert not frame.flags.writeable  # shared through the cache
        small = reader.frame(5, size=(64, 48))
        assert small.shape == (48, 64, 3) and barcode(small) == 5


# -- cache, threads ---------------------------------------------------------------------------------------
def test_cache_keeps_frames_passed_on_the_way_and_nearest_cached(videos):
    with VideoReader(videos["g250"], cache_frames=40) as reader:
        assert reader.cached(200) is None and reader.nearest_cached(200) is None
        assert barcode(reader.frame(200)) == 200  # one seek to 0, decoded forward
        # frames decoded on the way (up to half the cache before the target) are kept
        assert reader.cached_indices() == list(range(181, 201))
        assert all(barcode(reader.cached(i)) == i for i in range(181, 201))
        before = reader.cache_info()
        assert barcode(reader.frame(190)) == 190  # stepping back: a cache hit, no decode
        assert reader.cache_info()["hits"] == before["hits"] + 1
        assert reader.cache_info()["misses"] == before["misses"]
        for i in range(201, 216):  # playing forward continues the decode without a seek
            assert barcode(reader.frame(i)) == i
        assert len(reader.cached_indices()) <= 40
        near = reader.nearest_cached(230)
        assert near is not None and near[0] == 215 and barcode(near[1]) == 215
        assert reader.nearest_cached(250, max_distance=5) is None
        with pytest.raises(ValueError):
            reader.cached(215)[0, 0, 0] = 1  # shared through the cache: read-only
    assert reader.cached_indices() == []  # close() empties the cache
    assert barcode(reader.frame(3)) == 3  # and the reader reopens on demand
    reader.close()


def test_reader_never_starts_a_thread(videos):
    before = set(threading.enumerate())
    with VideoReader(videos["g30"], cache_frames=16) as reader:
        rng = random.Random(11)
        for i in rng.sample(range(reader.num_frames), 25):
            assert barcode(reader.frame(i)) == i
        reader.thumbnails(4, size=(32, 24), exact=False)
        reader.thumbnails([1, 70, 149], size=(32, 24), exact=True)
        assert len(list(reader.frames(140))) == 10
        stream = VideoStream("front", reader, 30, 60)
        assert barcode(stream.frame(59)) == 89
        stream.thumbnails(3, size=(32, 24))
        assert set(threading.enumerate()) == before
    assert set(threading.enumerate()) == before


def test_frame_from_several_threads_takes_turns_on_one_decoder(videos):
    errors: list[BaseException] = []
    got: dict[int, list[int]] = {}
    with VideoReader(videos["g30"], cache_frames=8) as reader:

        def read(seed: int) -> None:
            order = random.Random(seed).sample(range(reader.num_frames), 40)
            try:
                got[seed] = [barcode(reader.frame(i)) - i for i in order]
            except BaseException as error:  # noqa: BLE001 - reported by the assertion below
                errors.append(error)

        threads = [threading.Thread(target=read, args=(seed,)) for seed in (1, 2, 3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert not errors and sorted(got) == [1, 2, 3]
    assert all(offsets == [0] * 40 for offsets in got.values())


def test_frame_of_a_file_truncated_after_probing_raises_format_error(tmp_path, videos):
    path = tmp_path / "cut.mp4"
    shutil.copyfile(videos["g30"], path)
    reader = VideoReader(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])  # truncated after the reader probed it
    with pytest.raises(FormatError) as error:
        reader.frame(140)
    reader.close()
    assert str(path) in str(error.value)


def test_thumbnails_snapped_to_keyframes_or_exact(videos):
    with VideoReader(videos["g30"], cache_frames=20) as reader:
        indices, thumbs = reader.thumbnails(4, size=(64, 48), exact=False)  # snapped to keyframes
        assert indices == [0, 60, 90, 120]
        assert [barcode(t) for t in thumbs] == indices and thumbs[0].shape == (48, 64, 3)
        indices, thumbs = reader.thumbnails(4, size=(64, 48))  # few keyframes: exact positions
        assert indices == [0, 50, 99, 149] and [barcode(t) for t in thumbs] == indices
        indices, thumbs = reader.thumbnails([7, 77, 148], size=(64, 48), exact=True)
        assert indices == [7, 77, 148] and [barcode(t) for t in thumbs] == indices
        assert reader.cached_indices() == []  # thumbnails use a private container, not the cache


# -- writer ------------------------------------------------------------------------------------------------
def test_rgb_to_yuv420p_matches_ffmpeg_bt601_limited():
    y, x = np.mgrid[0:96, 0:128]
    img = np.stack([(x * 1.9) % 256, (y * 2.5) % 256, ((x + y) * 0.9) % 256], -1).astype(np.uint8)
    import cv2

    img = cv2.GaussianBlur(img, (0, 0), 2)
    ours = rgb_to_yuv420p(img).astype(int)
    ffmpeg = (
        av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p").to_ndarray().astype(int)
    )
    assert ours.shape == (144, 128)
    assert np.abs(ours[:96] - ffmpeg[:96]).max() <= 1  # luma
    assert np.abs(ours[96:] - ffmpeg[96:]).mean() < 0.5  # chroma (2x2 averaged)
    assert rgb_to_yuv420p(np.zeros((2, 2, 3), np.uint8))[:2].max() == 16  # limited range black
    assert rgb_to_yuv420p(np.full((2, 2, 3), 255, np.uint8))[:2].min() == 235  # limited range white


@pytest.mark.parametrize("codec", ["h264", "av1"])
def test_writer_colours_match_pyav_rgb_path(tmp_path, codec):
    colour = np.zeros((H, W, 3), np.uint8)
    colour[:] = (200, 40, 110)
    ours = tmp_path / "ours.mp4"
    with VideoEncoder(ours, W, H, 30, codec=codec, crf=10) as writer:
        for _ in range(3):
            writer.write(colour)
    ref = tmp_path / "ref.mp4"
    with av.open(str(ref), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.options = {"crf": "10"}
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(colour, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    a, b = decode_all(ours)[1].astype(float), decode_all(ref)[1].astype(float)
    assert np.abs(a.mean((0, 1)) - b.mean((0, 1))).max() < 1.5
    assert np.abs(a.mean((0, 1)) - (200, 40, 110)).max() < 3


def test_writer_options_and_lerobot_info(tmp_path):
    with VideoEncoder(tmp_path / "a.mp4", W, H, 30) as writer:
        writer.write(pattern(0))
    info = writer.video_info()
    assert (info["video.codec"], info["video.g"], info["video.crf"], info["video.pix_fmt"]) == (
        "h264",
        2,
        30,
        "yuv420p",
    )
    assert info["video.fps"] == 30 and info["video.preset"] == "veryfast"
    with pytest.raises(StudioError, match="even"):
        VideoEncoder(tmp_path / "odd.mp4", 127, 96, 30)
    with pytest.raises(StudioError, match="codec"):
        VideoEncoder(tmp_path / "x.mp4", W, H, 30, codec="mjpeg")
    with VideoEncoder(tmp_path / "b.mp4", W, H, 30) as writer, pytest.raises(StudioError, match="shape"):
        writer.write(np.zeros((H, W + 2, 3), np.uint8))


def test_threaded_writer_keeps_order_and_propagates_errors(tmp_path):
    path = tmp_path / "threaded.mp4"
    buffer = np.zeros((H, W, 3), np.uint8)
    with VideoEncoder(path, W, H, 30, threaded=True, queue_frames=4, gop=10) as writer:
        for i in range(60):
            buffer[:] = pattern(i)  # the same buffer reused: the writer must copy
            writer.write(buffer)
    assert writer.frames_written == 60
    assert [barcode(f) for f in decode_all(path)] == list(range(60))
    assert probe(path).num_frames == 60

    broken = VideoEncoder(tmp_path / "broken.mp4", W, H, 30, threaded=True, queue_frames=2)
    calls = {"n": 0}
    real = broken._encode

    def failing(rgb, index):
        calls["n"] += 1
        if index == 3:
            raise RuntimeError("disk full")
        real(rgb, index)

    broken._encode = failing
    with pytest.raises(StudioError, match="disk full"):
        for i in range(200):
            broken.write(pattern(i))
            time.sleep(0.001)
        broken.close()
    broken.abort()
    assert broken._thread is not None and not broken._thread.is_alive()


# -- transcode / remux ----------------------------------------------------------------------------------------
def test_transcode_keeps_counts_times_and_content(tmp_path, videos):
    out = tmp_path / "t.mp4"
    result = transcode(videos["av1"], out, codec="h264", gop=15)
    info = probe(out)
    assert result["frames"] == 45 and result["method"] == REENCODE and not result["retimed"]
    assert (info.codec, info.num_frames) == ("h264", 45)
    assert np.array_equal(info.frame_times, np.arange(45) / 30.0)
    assert list(info.keyframes) == [0, 15, 30]
    assert [barcode(f) for f in decode_all(out)] == list(range(45))
    back = transcode(out, tmp_path / "back.mp4", codec="av1", start=5, stop=25)
    assert back["frames"] == 20 and probe(tmp_path / "back.mp4").codec == "av1"
    assert [barcode(f) for f in decode_all(tmp_path / "back.mp4")] == list(range(5, 25))


def test_remux_segment_is_frame_identical_when_starting_on_a_keyframe(tmp_path, videos):
    src = videos["g10"]
    source_frames = decode_all(src)
    out = tmp_path / "seg.mp4"
    assert remux_segment(src, out, 20, 65) == REMUX
    info = probe(out)
    assert info.num_frames == 45 and np.array_equal(info.frame_times, np.arange(45) / 30.0)
    copied = decode_all(out)
    assert all(np.array_equal(a, b) for a, b in zip(copied, source_frames[20:65], strict=True))
    assert remux_segment(src, out, 80, 90) == REMUX  # to the end
    assert [barcode(f) for f in decode_all(out)] == list(range(80, 90))
    # not on a keyframe: re-encode, or refuse
    assert remux_segment(src, out, 25, 40) == REENCODE
    assert [barcode(f) for f in decode_all(out)] == list(range(25, 40))
    with pytest.raises(FormatError, match="not a keyframe"):
        remux_segment(src, tmp_path / "no.mp4", 25, 40, fallback=False)
    assert not (tmp_path / "no.mp4").exists()
    # B-frames: a copy must also end on a keyframe (or the end of the file)
    bsrc = videos["bframes"]
    plain = decode_all(bsrc)
    assert remux_segment(bsrc, out, 40, 80) == REMUX
    assert all(np.array_equal(a, b) for a, b in zip(decode_all(out), plain[40:80], strict=True))
    assert probe(out).num_frames == 40 and probe(out).start_time == 0.0
    assert remux_segment(bsrc, out, 80, 100) == REMUX
    assert remux_segment(bsrc, out, 40, 70) == REENCODE
    assert [barcode(f) for f in decode_all(out)] == list(range(40, 70))


# -- errors --------------------------------------------------------------------------------------------------
def test_corrupt_truncated_and_missing_files_raise_format_error_naming_the_file(tmp_path, videos):
    data = videos["g30"].read_bytes()
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(data[: len(data) // 2])  # moov atom (at the end) is lost
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(bytes(random.Random(3).randrange(256) for _ in range(5000)))
    text = tmp_path / "text.mp4"
    text.write_text("not a video")
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    # moov at the front (faststart): the index survives but the frames do not
    faststart = make_pyav_video(tmp_path / "faststart.mp4", 60, 10, {"bf": "0"}, movflags="faststart")
    cut = tmp_path / "cut_faststart.mp4"
    cut.write_bytes(faststart.read_bytes()[: int(faststart.stat().st_size * 0.6)])
    with pytest.raises(FormatError, match="truncated"):
        probe(cut)
    for path in (truncated, garbage, text, empty, cut, tmp_path / "missing.mp4"):
        with pytest.raises(FormatError) as error:
            VideoReader(path)
        assert str(path) in str(error.value)
        with pytest.raises(FormatError):
            probe(path)


# -- episode windows -------------------------------------------------------------------------------------------
def test_video_stream_window_and_frame_index_at(videos):
    reader = VideoReader(videos["g10"])
    assert frame_index_at(reader, 1.0) == 30
    assert frame_index_at(reader, 1.00005) == 30  # within LeRobot's 1e-4 s
    assert frame_index_at(videos["g10"], 0.0) == 0
    with pytest.raises(FormatError, match="no video frame at 1.010000"):
        frame_index_at(reader, 1.01)
    with pytest.raises(FormatError):
        frame_index_at(reader, 3.5)  # past the end
    stream = VideoStream.from_timestamp("front", reader, 1.0, 30)
    assert (stream.first, stream.num_frames, stream.fps, stream.width) == (30, 30, 30.0, W)
    assert barcode(stream.frame(0)) == 30 and barcode(stream.frame(29)) == 59
    assert np.allclose(stream.timestamps(), np.arange(30) / 30.0, atol=1e-12)
    with pytest.raises(IndexError):
        stream.frame(30)
    assert stream.cached(5) is None and barcode(stream.frame(13)) == 43
    assert stream.cached(10) is not None and barcode(stream.cached(13)) == 43
    assert stream.file_index(13) == 43
    indices, thumbs = stream.thumbnails(3, size=(64, 48))
    assert all(0 <= i < 30 for i in indices) and [barcode(t) for t in thumbs] == [30 + i for i in indices]
    stream.close()  # shared reader stays open
    assert barcode(reader.frame(1)) == 1
    reader.close()
    with pytest.raises(FormatError, match="needs video frames"):
        VideoStream("front", videos["g10"], 80, 20)
    own = VideoStream("front", videos["g10"], 60)
    assert own.num_frames == 30 and barcode(own.frame(29)) == 89
    own.close()


# -- real files --------------------------------------------------------------------------------------------------
def test_real_h264_files(shared_data):
    files = sorted(shared_data.rglob("*.mp4"))
    if not files:
        pytest.skip(f"no mp4 files under {shared_data}")
    for path in files:
        info = probe(path)
        assert info.codec == "h264" and info.num_frames > 0
        assert np.allclose(info.frame_times, np.arange(info.num_frames) / info.fps, atol=1e-6, rtol=0)
        plain = decode_all(path)
        assert len(plain) == info.num_frames
        with VideoReader(path, cache_frames=16) as reader:
            picks = sorted(
                {
                    0,
                    info.num_frames - 1,
                    info.num_frames // 2,
                    int(info.keyframes[-1]),
                    max(0, int(info.keyframes[-1]) - 1),
                }
            )
            for i in reversed(picks):
                assert np.array_equal(reader.frame(i), plain[i]), (path, i)
    v3 = shared_data / "lerobot061_so101_v30_h264/videos/observation.images.front/chunk-000/file-000.mp4"
    if v3.exists():
        stream = VideoStream.from_timestamp("front", v3, 2.0, 60)  # episode 1 of the v3.0 file
        try:
            assert (stream.first, stream.num_frames) == (60, 60)
            plain = decode_all(v3)
            assert np.array_equal(stream.frame(0), plain[60]) and np.array_equal(stream.frame(59), plain[119])
        finally:
            stream.close()


@pytest.mark.parametrize(("size", "mbtree"), [((32, 24), "0"), ((64, 48), "0"), ((96, 72), "1"), ((640, 480), "1")])
def test_tiny_frames_are_encoded_without_x264_mbtree(tmp_path: Path, size: tuple[int, int], mbtree: str) -> None:
    """libx264's mbtree gives other bytes from one encode of the same tiny frames to the next (docs/convert.md):
    off under 64 px a side, as the x264 settings written into the stream say; on for real camera sizes."""
    from backend.media.encoder import VideoEncoder
    from tests.video_diff import x264_options

    width, height = size
    path = tmp_path / "v.mp4"
    with VideoEncoder(path, width, height, 30.0, codec="h264") as encoder:
        for t in range(4):
            encoder.write(np.full((height, width, 3), 40 + 30 * t, np.uint8))
    assert f" mbtree={mbtree} " in f" {x264_options(path)} "
