"""Small in-memory datasets for the browse/curation tests (built with backend.model classes).

Frame t of episode e of camera c has every pixel of its first row... simple and checkable:
``frame[0, 0] == (e * 50 + t + c) % 256`` in all three channels; values are smooth sines in radians.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from backend.model import (
    ArrayStream,
    Dataset,
    DatasetFormat,
    DatasetReader,
    Episode,
    Feature,
    FeatureKind,
    VideoInfo,
)
from backend.units import SO101_JOINTS, JointSpace, Unit


def joint_values(episode: int, length: int, role: str) -> np.ndarray:
    t = np.arange(length, dtype=np.float64)[:, None]
    j = np.arange(6, dtype=np.float64)[None, :]
    values = 0.3 * np.sin(2 * np.pi * (t / 60.0) + j + episode) + 0.05 * j
    if role == "state":
        values = values * 0.98
    return values.astype(np.float32)


def frame_value(episode: int, t: int, camera: int) -> int:
    return (episode * 50 + t + camera) % 256


class MemoryReader(DatasetReader):
    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height

    def read_array(self, episode: Episode, key: str) -> np.ndarray:
        role = "action" if key == "actions" else "state"
        return joint_values(episode.index, episode.length, role)

    def open_stream(self, episode: Episode, camera: str) -> ArrayStream:
        c = sorted(episode.dataset.cameras).index(camera)
        frames = np.zeros((episode.length, self.height, self.width, 3), dtype=np.uint8)
        for t in range(episode.length):
            frames[t] = frame_value(episode.index, t, c)
        return ArrayStream(camera, frames, episode.dataset.fps)


def memory_dataset(
    path: str | Path,
    lengths: tuple[int, ...] = (40, 30, 50),
    tasks: tuple[str, ...] = ("Pick the orange", "Lift the cube"),
    width: int = 32,
    height: int = 24,
    fps: float = 30.0,
) -> Dataset:
    space = JointSpace(SO101_JOINTS, Unit.RADIANS)
    features = {
        "actions": Feature("actions", FeatureKind.VECTOR, "float32", (6,), list(SO101_JOINTS), space),
        "obs/joint_pos": Feature(
            "obs/joint_pos", FeatureKind.VECTOR, "float32", (6,), list(SO101_JOINTS), space
        ),
        "obs/front": Feature(
            "obs/front",
            FeatureKind.IMAGE,
            "uint8",
            (height, width, 3),
            video=VideoInfo(None, width, height, fps),
        ),
        "obs/wrist": Feature(
            "obs/wrist",
            FeatureKind.IMAGE,
            "uint8",
            (height, width, 3),
            video=VideoInfo(None, width, height, fps),
        ),
    }
    dataset = Dataset(
        path=Path(path),
        format=DatasetFormat.LEISAAC_HDF5,
        fps=fps,
        robot_type="so101",
        features=features,
        tasks=list(tasks),
        reader=MemoryReader(width, height),
        roles={"action": "actions", "state": "obs/joint_pos"},
        cameras={"front": "obs/front", "wrist": "obs/wrist"},
    )
    for i, length in enumerate(lengths):
        dataset.episodes.append(
            Episode(dataset, i, length, task=tasks[i % len(tasks)], success=i % 2 == 0, source=f"demo_{i}")
        )
    return dataset


def make_window(qtbot, tmp_path: Path, monkeypatch, workspace: str = "workspace"):
    """A main window with private settings (INI in tmp_path) and a private curation fallback dir."""
    monkeypatch.setenv("ROLLOUT_STUDIO_SETTINGS", str(tmp_path / "settings.ini"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    from PySide6.QtWidgets import QApplication

    from app.context import AppContext
    from app.main_window import MainWindow
    from app.settings import make_settings
    from app.theme import apply_theme

    apply_theme(QApplication.instance(), "dark")
    context = AppContext(make_settings(), tmp_path / workspace)
    window = MainWindow(context)
    qtbot.addWidget(window)
    window.show()
    return window


def write_hdf5(path: Path, lengths: tuple[int, ...] = (40, 30, 50), **kwargs) -> Path:
    """A real LeIsaac HDF5 file with the memory dataset's content (through the studio's writer)."""
    from backend.curation import Curation, export_curated

    dataset = memory_dataset(path.with_suffix(".memory"), lengths=lengths, **kwargs)
    curation = Curation(dataset.path, sidecar=path.parent / ".unused.curation.json")
    return export_curated(dataset, curation, path, "leisaac_hdf5")
