"""Browse's two halves: the episodes panel (filters over the table) and the viewer (cameras above
joint plots, the transport below), with the split that gives the cameras the height they need."""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from app.panes.browse.joints import JointsPanel
from backend.sessions.browse_table import EpisodeTable
from backend.units import Unit
from widgets.episode_table import EpisodeFilterBar, EpisodeTableModel, EpisodeTableView
from widgets.timeline import TransportBar
from widgets.video_tile import VideoGrid


class EpisodesPanel(QWidget):
    """The filter bar over the episode table (the session's column arrays -> model -> view)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = EpisodeTableModel(EpisodeTable(), self)
        self.table = EpisodeTableView()
        self.table.setModel(self.model)
        self.filters = EpisodeFilterBar(self.model)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.filters)
        layout.addWidget(self.table, 1)


class Viewer(QWidget):
    """Cameras and joints in a vertical splitter, the transport bar under them."""

    def __init__(self, unit: Unit, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.videos = VideoGrid()
        self.joints = JointsPanel(unit)
        self.transport = TransportBar()
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("browse.viewerSplitter")
        self.splitter.addWidget(self.videos)
        self.splitter.addWidget(self.joints)
        self.splitter.setStretchFactor(0, 5)
        self.splitter.setStretchFactor(1, 4)
        self.splitter.setChildrenCollapsible(False)
        self.splitter_fixed = False  # True once the user moved it or a saved layout set it
        self.splitter.splitterMoved.connect(lambda *_: setattr(self, "splitter_fixed", True))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.setSpacing(2)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.transport)

    def fit_splitter(self, dataset: Any) -> None:
        """Give the cameras the height their aspect ratio needs, the joints the rest (>= 45 %)."""
        if self.splitter_fixed or dataset is None or not self.videos.tiles:
            return
        total = sum(self.splitter.sizes())
        if total <= 0:
            return
        names = list(self.videos.tiles)
        columns = 2 if len(names) == 2 else max(1, math.ceil(math.sqrt(len(names))))
        rows = math.ceil(len(names) / columns)
        info = dataset.camera_info(names[0])
        aspect = (info.height / info.width) if info and info.width else 0.75
        tile_width = (self.videos.width() - 4 * (columns - 1)) / columns
        wanted = int(rows * tile_width * aspect + 4 * (rows - 1))
        videos = max(140, min(wanted, int(total * 0.55)))
        self.splitter.setSizes([videos, total - videos])
