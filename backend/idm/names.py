"""Task folder names from prompts, safe on every filesystem.

GR00T-Dreams' grouping step names a task folder after its prompt with . , ! ? : ; " ' removed and
spaces turned into underscores. Prompts may also carry slashes, control characters, unicode
look-alikes and hundreds of characters; those must still give a short, unique, valid name.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

_DROPPED = ".,!?:;\"'\u2018\u2019\u201c\u201d`"
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\<>|*]+")
MAX_NAME_BYTES = 120  # well below NAME_MAX (255 bytes), leaves room for suffixes


def task_folder_name(prompt: str) -> str:
    text = unicodedata.normalize("NFC", prompt).strip()
    text = text.translate({ord(c): None for c in _DROPPED})
    text = _UNSAFE.sub("_", text)
    text = re.sub(r"\s+", "_", text).strip("_")
    if not text or set(text) <= {"_"}:
        text = "task"
    if len(text.encode("utf-8")) > MAX_NAME_BYTES:
        digest = hashlib.sha1(prompt.encode("utf-8")).hexdigest()[:8]
        clipped = text.encode("utf-8")[: MAX_NAME_BYTES - 9].decode("utf-8", errors="ignore").rstrip("_")
        text = f"{clipped}_{digest}"
    if text in (".", ".."):
        text = "task"
    return text
