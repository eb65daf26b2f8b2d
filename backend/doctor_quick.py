"""``rollout-studio validate --quick``: the format's consistency checks without the per-episode signals.

Every metadata, index, timestamp and stats check runs (LeRobot v3.0: each data file read once, the
per-episode checks vectorised); videos are probed from their headers (codec, size, rate, duration
against each episode's window), not read packet by packet nor decoded. Other formats run their
format checks as ``validate`` does. The report has the doctor's form (``DoctorReport``).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from backend.doctor import DoctorReport
from backend.doctor_files import file_findings, staging_findings
from backend.errors import StudioError
from backend.formats import detect_format
from backend.model import DatasetFormat
from backend.validation import SEVERITIES

_LEROBOT = (DatasetFormat.LEROBOT_V20, DatasetFormat.LEROBOT_V21, DatasetFormat.LEROBOT_V30)


def quick_diagnose(path: str | Path) -> DoctorReport:
    """Check a dataset's format quickly; raises StudioError only when the path is missing or unknown."""
    started = time.monotonic()
    path = Path(os.path.abspath(Path(path).expanduser()))
    fmt, module = detect_format(path)
    report = DoctorReport(str(path), fmt.value, sample_frames=0)
    if fmt in _LEROBOT:
        from backend.formats.lerobot.validate import validate_lerobot

        report.findings.extend(validate_lerobot(path, quick=True))
    else:
        report.findings.extend(module.validate(path))
    try:
        dataset = module.open(path)
    except StudioError:
        report.readable = False
        report.findings.extend(staging_findings(path, [path] if path.is_dir() else []))
    else:
        with dataset:
            report.episodes, report.frames = dataset.num_episodes, dataset.num_frames
            report.findings.extend(file_findings(dataset))
    report.findings.sort(key=lambda p: SEVERITIES.index(p.severity) if p.severity in SEVERITIES else 9)
    report.seconds = time.monotonic() - started
    return report
