"""What Browse remembers between runs: its dock layout, split, table header and speed, and the
episode and frame last shown per dataset."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

from app.settings import get_json, set_json
from backend.sessions.browse import resolve_dataset_path

PLACES = "browse/places"
MAX_PLACES = 50


def _b64(data: QByteArray) -> str:
    return base64.b64encode(bytes(data.data())).decode("ascii")


def save_layout(pane: Any) -> dict[str, Any]:
    return {
        "docks": _b64(pane.inner.saveState()),
        "splitter": pane.splitter.sizes(),
        "header": _b64(pane.table.horizontalHeader().saveState()),
        "speed": pane.speed,
    }


def restore_layout(pane: Any, state: dict[str, Any]) -> None:
    try:
        if state.get("docks"):
            pane.inner.restoreState(QByteArray(base64.b64decode(state["docks"])))
        if state.get("splitter"):
            pane.splitter.setSizes([int(x) for x in state["splitter"]])
            pane.viewer.splitter_fixed = True
        if state.get("header"):
            pane.table.horizontalHeader().restoreState(QByteArray(base64.b64decode(state["header"])))
        if state.get("speed"):
            pane.set_speed(float(state["speed"]))
    except (ValueError, TypeError):
        pass  # a layout from another version: keep the default


def remember_place(settings: QSettings, dataset_path: Path, episode: int, frame: int) -> None:
    """Store the episode/frame shown of a dataset so reopening it shows the same place."""
    places = get_json(settings, PLACES, {}) or {}
    places[str(Path(dataset_path).absolute())] = [episode, frame]
    set_json(settings, PLACES, dict(list(places.items())[-MAX_PLACES:]))


def remembered_place(settings: QSettings, path: str | Path) -> tuple[int, int] | None:
    places = get_json(settings, PLACES, {}) or {}
    value = places.get(str(resolve_dataset_path(path).absolute()))
    return (int(value[0]), int(value[1])) if value else None
