"""The studio's own folder for its state (job store, logs, output ledger, user templates)."""

from __future__ import annotations

import os
from pathlib import Path


def studio_home() -> Path:
    """``$ROLLOUT_STUDIO_HOME``, else ``~/.local/share/rollout-studio``."""
    value = os.environ.get("ROLLOUT_STUDIO_HOME")
    return Path(value).expanduser() if value else Path.home() / ".local" / "share" / "rollout-studio"
