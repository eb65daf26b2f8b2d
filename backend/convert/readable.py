"""Before copying a LeRobot dataset's files as they are: every parquet and JSON file must read.

Converters that re-write a dataset read every file and fail on a corrupt one. One that copies files
through (``transcode`` copies all but the videos it re-encodes) would otherwise publish a corrupt
file inside a "successful" output; this check makes it stop with the file and the problem instead.
"""

from __future__ import annotations

import json
from pathlib import Path

from backend.errors import FormatError

CORRUPT = "the file is truncated or corrupt"


def check_lerobot_files(root: Path) -> None:
    """Raise ``FormatError`` naming the first parquet, JSON or JSON-lines file under ``root`` that
    cannot be read (videos are probed by the caller, which decodes them anyway)."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    for path in sorted(root.rglob("*.parquet")):
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue  # staging or hidden working files are not part of the dataset
        try:
            pq.ParquetFile(path).read()
        except (OSError, pa.ArrowException) as error:
            raise FormatError(f"cannot read parquet ({_first_line(error)})", path, CORRUPT) from None
    meta = root / "meta"
    for path in sorted(meta.glob("*.json")) + sorted(meta.glob("*.jsonl")) if meta.is_dir() else []:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise FormatError(f"cannot read the file ({_first_line(error)})", path, CORRUPT) from None
        lines = text.splitlines() if path.suffix == ".jsonl" else [text]
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                json.loads(line)
            except ValueError as error:
                where = f"line {number} is" if path.suffix == ".jsonl" else "the file is"
                raise FormatError(f"{where} not valid JSON ({error})", path, CORRUPT) from None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
