"""Test setup: headless Qt, private caches, and the real shared datasets."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("XDG_CACHE_HOME", tempfile.mkdtemp(prefix="rs-test-cache-"))
os.environ.setdefault("XDG_CONFIG_HOME", tempfile.mkdtemp(prefix="rs-test-config-"))
os.environ.setdefault("SVT_LOG", "1")
# job store, logs and user templates of the tests stay out of the user's home
os.environ.setdefault("ROLLOUT_STUDIO_HOME", tempfile.mkdtemp(prefix="rs-test-home-"))

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ROLLOUT_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real datasets not found at {SHARED_DATA} (clone ../shared beside the repo)")
    return SHARED_DATA
