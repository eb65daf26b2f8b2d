"""Where the studio keeps its settings, and small helpers to store plain values in them.

``ROLLOUT_STUDIO_SETTINGS=/path/file.ini`` makes the studio use that INI file (tests, scripts,
screenshots); otherwise Qt's native place for organisation "RolloutStudio", application
"Rollout Studio".
"""

from __future__ import annotations

import json
import os
from typing import Any

from PySide6.QtCore import QSettings

ORGANIZATION = "RolloutStudio"
APPLICATION = "Rollout Studio"
SETTINGS_ENV = "ROLLOUT_STUDIO_SETTINGS"
REOPEN_KEY = "startup/reopen_last_dataset"  # bool, on by default: no PATH at start opens the last dataset


def make_settings() -> QSettings:
    path = os.environ.get(SETTINGS_ENV)
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)


def get_json(settings: QSettings, key: str, default: Any = None) -> Any:
    """A JSON value stored as text (INI files keep only strings and lists reliably)."""
    raw = settings.value(key, None)
    if raw in (None, ""):
        return default
    try:
        return json.loads(str(raw))
    except (TypeError, ValueError):
        return default


def set_json(settings: QSettings, key: str, value: Any) -> None:
    settings.setValue(key, json.dumps(value))


def get_bool(settings: QSettings, key: str, default: bool) -> bool:
    value = settings.value(key, default)
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)
