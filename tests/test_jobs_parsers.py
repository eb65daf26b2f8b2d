"""Progress parsers on the real tools' log formats, and the incremental log reader."""

from __future__ import annotations

import pytest

from backend.jobs.logtail import LogTail, read_tail
from backend.jobs.parsers import ProgressParser

COSMOS_LOG = """\
[11-21 09:04:40|INFO|cosmos_predict2/_src/imaginaire/trainer.py:144:train] Starting training...
[RANK 0] Iteration 1: Hit counter: 1/100 | Loss: 0.8812 | Time: 29.61s
[RANK 0] Iteration 2: Hit counter: 2/100 | Loss: 0.7001 | Time: 3.12s
[11-21 09:07:39|INFO|cosmos_predict2/_src/predict2/callbacks/iter_speed.py:80:every_n_impl] 20 : iter_speed 7.82 seconds per iteration | Loss: 0.5906
[11-21 09:08:58|INFO|cosmos_predict2/_src/predict2/callbacks/iter_speed.py:80:every_n_impl] 30 : iter_speed 7.93 seconds per iteration | Loss: nan
"""

HF_LOG = (
    "  0%|          | 0/100 [00:00<?, ?it/s]\r  5%|▌         | 5/100 [00:02<00:40,  2.35it/s]"
    "\r 10%|█         | 10/100 [00:04<00:38,  2.36it/s]\n"
    "{'loss': 0.4567, 'grad_norm': 1.23, 'learning_rate': 9.5e-05, 'epoch': 0.05}\n"
    "\r 15%|█▌        | 15/100 [00:06<00:36,  2.36it/s]\r 20%|██        | 20/100 [00:08<00:33,  2.37it/s]\n"
    "{'loss': '0.3210', 'grad_norm': 0.98, 'learning_rate': 9.0e-05, 'epoch': 0.1}\n"
)


def test_cosmos_lines():
    parser = ProgressParser(["cosmos"], total=100, unit="iter")
    update = parser.feed(COSMOS_LOG)
    assert [p[0] for p in update.points] == [1, 2, 20, 30]
    assert update.points[0][1] == pytest.approx(0.8812)
    assert update.points[2][2] == {"seconds_per_iteration": 7.82}
    assert update.points[3][1] is None  # nan loss kept as a gap, not a number
    assert update.done == 30 and update.total == 100
    assert update.eta == pytest.approx(70 * 7.93)
    assert update.text.startswith("30/100 iter")


def test_hf_trainer_dicts_take_the_step_from_the_bar():
    parser = ProgressParser([{"kind": "hf_trainer", "log_every": 10}], total=100)
    first = parser.feed(HF_LOG[: HF_LOG.index("\r 15%")])
    assert first.points == [(10.0, 0.4567, {"grad_norm": 1.23, "learning_rate": 9.5e-05, "epoch": 0.05})]
    second = parser.feed(HF_LOG[HF_LOG.index("\r 15%") :])
    assert second.points[0][0] == 20 and second.points[0][1] == pytest.approx(0.321)  # string values too
    assert second.done == 20 and second.total == 100 and second.eta == 33
    end = parser.feed(
        "{'train_runtime': 12.5, 'train_samples_per_second': 8.0, 'train_loss': 0.25, 'epoch': 1.0}\n"
    )
    assert end.loss == 0.25


def test_hf_trainer_without_bar_counts_log_lines():
    parser = ProgressParser([{"kind": "hf_trainer", "log_every": 10}])
    update = parser.feed("{'loss': 1.0, 'epoch': 0.1}\n{'loss': 0.5, 'epoch': 0.2}\n")
    assert [p[0] for p in update.points] == [10, 20]


@pytest.mark.parametrize(
    ("line", "done", "total", "eta"),
    [
        ("Generating: 45%|████▌     | 45/100 [00:10<00:12,  4.50it/s]", 45, 100, 12),
        ("100%|██████████| 7/7 [01:02<00:00,  8.90s/it]", 7, 7, 0),
        (" 12%|#2        | 1.2k/10.0k [1:00:00<7:20:00, 0.33it/s]", 1200, 10000, 7 * 3600 + 20 * 60),
        ("  0%|          | 0/35 [00:00<?, ?it/s]", 0, 35, None),
    ],
)
def test_tqdm_bars(line, done, total, eta):
    update = ProgressParser(["tqdm"]).feed(line + "\n")
    assert (update.done, update.total, update.eta) == (done, total, eta)


def test_regex_parser():
    parser = ProgressParser(
        [{"regex": r"Recorded (?P<done>\d+) successful demonstrations"}], total=10, unit="demos"
    )
    update = parser.feed(
        "Start Recording!!!\nRecorded 1 successful demonstrations.\nRecorded 2 successful demonstrations.\n"
    )
    assert update.done == 2 and update.text == "2/10 demos"
    with pytest.raises(ValueError):
        ProgressParser(["nonsense"])


def test_unrelated_text_is_no_news():
    update = ProgressParser(["cosmos", "hf_trainer", "tqdm"]).feed("loading model...\nwarning: x\n")
    assert update.empty()


def test_logtail_whole_lines_and_offsets(tmp_path):
    path = tmp_path / "log"
    path.write_bytes(b"")
    tail = LogTail(path)
    assert tail.read() == ""
    with open(path, "ab") as f:
        f.write("first line\nsecond ünï".encode())
    assert tail.read() == "first line\n"
    with open(path, "ab") as f:
        f.write("cødé\r 50%\r".encode())
    assert tail.read() == "second ünïcødé\r 50%\r"
    offset = tail.offset
    with open(path, "ab") as f:
        f.write(b"partial")
    assert tail.read() == "" and tail.read(final=True) == "partial"
    again = LogTail(path, offset)  # a restarted reader continues where the last one stopped
    assert again.read(final=True) == "partial"
    path.write_bytes(b"new\n")  # truncated: start over
    assert again.read() == "new\n"


def test_logtail_skip_and_read_tail(tmp_path):
    path = tmp_path / "log"
    path.write_bytes(b"".join(f"line {i}\n".encode() for i in range(1000)))
    tail = LogTail(path)
    skipped = tail.skip_to_end(keep=100)
    assert skipped > 0 and tail.read().startswith("line 9")
    assert read_tail(path, 30).splitlines()[-1] == "line 999"
    assert read_tail(tmp_path / "missing") == ""
