"""Where the job store, its logs and the user's own templates live."""

from __future__ import annotations

import os
from pathlib import Path

from backend.home import studio_home


def default_db_path() -> Path:
    """``$ROLLOUT_STUDIO_JOBS_DB``, else ``<studio home>/jobs/jobs.sqlite``."""
    value = os.environ.get("ROLLOUT_STUDIO_JOBS_DB")
    return Path(value).expanduser() if value else studio_home() / "jobs" / "jobs.sqlite"


def user_templates_dir() -> Path:
    return studio_home() / "templates"


def builtin_templates_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "resources" / "job_templates"


def repo_root() -> Path:
    """The folder holding the ``backend`` package (put on sys.path of helper processes)."""
    return Path(__file__).resolve().parents[2]
