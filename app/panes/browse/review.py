"""Browse's review grid: looping thumbnails of a page of episodes to accept, reject and flag by key.

A view of the Browse pane ("Table | Grid" tabs at its top). What it shows and what the keys do
live in ``backend.sessions.review.ReviewSession``; decisions go to Browse's curation (undo, export).
Thumbnails decode on the interactive lane, one task per page (key ``review.page``: a new page or
camera cancels the previous one), each episode's frames turned into QImages in the task's thread and
sent to the grid as they are ready. The score table is read from its sidecar when the dataset opens;
"Score this dataset" computes it on the background lane.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QImage
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QTabBar,
    QVBoxLayout,
    QWidget,
)

from app.error_dialog import show_error
from app.tasks import BACKGROUND, INTERACTIVE
from backend.sessions.review import (
    ALL_CAMERAS,
    DECISION_FILTERS,
    KEY_HELP,
    ReviewCell,
    ReviewSession,
    visible_first,
)
from backend.sessions.review_work import camera_size, load_table, loop_frames, score_dataset
from widgets.thumbnail_grid import GridItem, ThumbnailGrid


def to_qimage(rgb: np.ndarray) -> QImage:
    """A QImage owning a copy of an RGB uint8 frame (safe to build off the GUI thread)."""
    rgb = np.ascontiguousarray(rgb)
    height, width = rgb.shape[:2]
    image = QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    return image.convertToFormat(QImage.Format.Format_RGB32)  # the screen's format: painted as a plain copy


class ReviewView(QWidget):
    """The grid, its bar (sort, filter, decisions shown, camera, grouping, pages, scoring) and keys."""

    _arrived = Signal(int, int, object)  # generation, episode, [QImage] (from the task's thread)
    episodeOpened = Signal(int, int)  # episode, frame: shown in the player
    pageShown = Signal(int)  # cells on the page (after the model was filled)
    thumbnailsShown = Signal(int)  # episodes whose loops arrived for the page shown

    def __init__(self, pane: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pane = pane
        self.session = ReviewSession()
        self.generation = 0
        self.cache: dict[int, list[QImage]] = {}  # episode -> loop of the page shown, this camera choice
        self._shown: list[int] = []
        self._syncing = False
        self.active = False  # the Grid tab shows: only then are thumbnails decoded
        self._build()
        self.session.add_listener(self._sync)
        self._arrived.connect(self._on_arrived)

    def _build(self) -> None:
        bar = QHBoxLayout()
        self.tabs = view_tabs()  # "Table | Grid" (synced with the one over the episode table)
        bar.addWidget(self.tabs)
        self.sort_combo = QComboBox(
            toolTip="Order of the cells: any score, the predicted rating or a decision"
        )
        self.sort_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.sort_combo.setMinimumContentsLength(12)
        self.descending = QCheckBox("desc")
        self.filter_edit = QLineEdit(placeholderText="filter: jerky>5000 and not frozen_camera")
        self.decision_combo = QComboBox(toolTip="Only the episodes with this decision")
        self.decision_combo.addItems(DECISION_FILTERS)
        self.camera_combo = QComboBox(toolTip="One camera, or every camera side by side")
        self.group_check = QCheckBox("group", checked=True, toolTip="Generated variants under their source")
        self.prev_button, self.next_button = QPushButton("◀"), QPushButton("▶")
        self.page_label = QLabel()
        self.score_button = QPushButton("Score this dataset")
        for widget in (QLabel("Sort"), self.sort_combo, self.descending, self.filter_edit):
            bar.addWidget(widget)
        for widget in (QLabel("Show"), self.decision_combo, self.camera_combo, self.group_check):
            bar.addWidget(widget)
        bar.setStretchFactor(self.filter_edit, 1)
        self.filter_edit.setMinimumWidth(160)
        for combo in (self.decision_combo, self.camera_combo):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(7)
        self.grid = ThumbnailGrid()
        self.help_label = QLabel("   ".join(f"{key} {text}" for key, text in KEY_HELP))
        self.help_label.setWordWrap(True)
        self.summary_label = QLabel()  # Browse's curation summary (its dock is not shown with the grid)
        self.message = QLabel()
        self.message.hide()
        foot = QHBoxLayout()  # the curation summary; pages and scoring
        foot.addWidget(self.summary_label, 1)
        for widget in (self.prev_button, self.page_label, self.next_button, self.score_button):
            foot.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.message)
        layout.addWidget(self.grid, 1)
        layout.addLayout(foot)
        layout.addWidget(self.help_label)
        self.sort_combo.activated.connect(self._on_sort)
        self.descending.toggled.connect(self._on_sort)
        self.filter_edit.editingFinished.connect(self._on_filter)
        self.decision_combo.activated.connect(
            lambda: self.session.set_decision_filter(self.decision_combo.currentText())
        )
        self.camera_combo.activated.connect(self._on_camera)
        self.group_check.toggled.connect(self.session.set_grouped)
        self.prev_button.clicked.connect(lambda: self.session.set_page(self.session.page - 1))
        self.next_button.clicked.connect(lambda: self.session.set_page(self.session.page + 1))
        self.score_button.clicked.connect(self.score)
        self.grid.keyPressed.connect(self.key)
        self._scroll_timer = QTimer(self, singleShot=True, interval=200, timeout=self._scrolled)
        self.grid.verticalScrollBar().valueChanged.connect(lambda _: self._scroll_timer.start())
        self.grid.currentRowChanged.connect(self._on_current_row)
        self.grid.rowActivated.connect(lambda row: (self.session.set_current(row), self.open_current()))

    # -- the dataset --------------------------------------------------------------------------------
    def dataset_opened(self, *_: Any) -> None:
        """Browse opened a dataset: review its episodes; the stored scores are read in a task."""
        browse = self.pane.session
        dataset = browse.dataset
        if dataset is None:
            return
        self.pane.tasks.cancel("review.page")  # the previous dataset's page (what it still sends is dropped)
        self.generation += 1
        self.cache, self._shown = {}, []
        table = browse.table
        self.session.camera = ALL_CAMERAS
        self.session.load(table.index.tolist(), dict(table.lengths), browse.curation, None)
        self.filter_edit.setText(self.session.filter_text)
        self.camera_combo.clear()
        self.camera_combo.addItem("all cameras", ALL_CAMERAS)
        for camera in browse.cameras():
            self.camera_combo.addItem(camera, camera)
        self._fill_sort_keys()
        self.pane.tasks.run(
            load_table,
            dataset.path,
            key="review.table",
            lane=INTERACTIVE,
            on_done=lambda table: self.set_scores(table, dataset.path),
            on_error=lambda m, d: self.say(f"Scores not read: {m}"),
        )

    def set_scores(self, table: Any, path: Any = None) -> None:
        """Sort and filter by ``table`` (None: no scores), unless it is of another dataset than the
        one shown (``path``: the dataset it was read or computed for)."""
        dataset = self.pane.session.dataset
        if dataset is None or (path is not None and path != dataset.path):
            return
        self.session.set_scores(table)
        self._fill_sort_keys()
        self.score_button.setText("Score again" if table is not None else "Score this dataset")
        self.say(
            ""
            if table is not None
            else "No scores yet: the grid sorts by episode; "
            "Score this dataset to sort and filter by its signals"
        )

    def _fill_sort_keys(self) -> None:
        current = self.session.sort_key
        self.sort_combo.clear()
        self.sort_combo.addItems(self.session.sort_keys())
        self.sort_combo.setCurrentText(current)

    def curation_changed(self, episodes: list[int]) -> None:
        """A decision changed (here, in the table or by undo): badges, borders, filters again."""
        if self.session.curation is not None and self.pane.session.curation is self.session.curation:
            self.session.decisions_changed()

    def score(self) -> None:
        browse = self.pane.session
        if browse.dataset is None or browse.curation is None:
            return
        self.score_button.setEnabled(False)
        self.say("Scoring…")
        self.pane.tasks.run(
            score_dataset,
            browse.dataset,
            browse.curation.snapshot(),
            key="review.score",
            lane=BACKGROUND,
            holds=[browse.share()],
            on_done=lambda table, path=browse.dataset.path: self.set_scores(table, path),
            on_error=self._on_score_failed,
            on_progress=lambda done, total, text: self.say(f"Scoring… {done}/{total} {text}"),
            on_finished=lambda: self.score_button.setEnabled(True),
        )

    def say(self, text: str) -> None:
        """A line above the grid (hidden when there is nothing to say)."""
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def _on_score_failed(self, message: str, details: str) -> None:
        self.say(f"Scoring failed: {message}")
        show_error(self, "Could not score the dataset", message, details)

    # -- the bar ------------------------------------------------------------------------------------
    def _on_sort(self, *_: Any) -> None:
        key = self.sort_combo.currentText()
        if key:
            self.session.set_sort(key, self.descending.isChecked())

    def _on_filter(self) -> None:
        if self.filter_edit.text() == self.session.filter_text:
            return
        ok = self.session.set_filter(self.filter_edit.text())
        self.say("" if ok else f"Filter not applied: {self.session.filter_error}")

    def _on_camera(self, *_: Any) -> None:
        self.session.camera = self.camera_combo.currentData() or ALL_CAMERAS
        self.cache, self._shown = {}, []
        self._sync()

    def cameras(self) -> list[str]:
        chosen = self.session.camera
        return [chosen] if chosen else list(self.pane.session.cameras())

    # -- keys ---------------------------------------------------------------------------------------
    def key(self, name: str) -> None:
        action = self.session.key(name, self.grid.columns())
        if action == "open":
            self.open_current()

    def selected_episodes(self) -> list[int]:
        """The grid's selection (the current cell's episode) while the grid is shown, else []."""
        cell = self.session.current_cell() if self.active else None
        return [cell.episode] if cell is not None else []

    def open_current(self) -> None:
        target = self.session.open_target()
        if target is not None:
            self.episodeOpened.emit(*target)

    def _on_current_row(self, row: int) -> None:
        if not self._syncing and row >= 0:
            self.session.set_current(row)

    # -- the grid follows the session ---------------------------------------------------------------
    def _item(self, cell: ReviewCell) -> GridItem:
        session = self.session
        decision = session.decision_of(cell.episode) if session.curation is not None else None
        findings = session.findings(cell.episode)
        tooltip = "\n".join(
            f"{f.severity}: {f.signal} (frames {f.frames[0]}–{f.frames[1]}): {f.message}"
            for f in findings[:8]
        )
        return GridItem(
            session.caption(cell),
            session.badges(cell.episode),
            decision.rating if decision is not None else None,
            bool(decision and decision.flagged),
            cell.best,
            cell.source is not None,
            tooltip or f"episode {cell.episode}: nothing fired",
        )

    def set_active(self, active: bool) -> None:
        self.active = active
        if active:
            self._sync()
            self.grid.setFocus(Qt.FocusReason.OtherFocusReason)
        else:
            self.pane.tasks.cancel("review.page")
            self.generation += 1
            self._shown = []  # decoded again (what is cached stays) when the grid shows again

    def _sync(self) -> None:
        if not self.active:
            return
        cells = self.session.page_cells()
        episodes = [c.episode for c in cells]
        items = [self._item(c) for c in cells]
        self._syncing = True
        try:
            if episodes != self._shown:
                width, height = camera_size(len(self.cameras()))
                self.grid.set_cell_size(QSize(width * max(1, len(self.cameras())), height))
                self.grid.model.set_items(items, [self.cache.get(e, []) for e in episodes])
                self._shown = episodes
                self._request_page(episodes)
                self.pageShown.emit(len(items))
            else:  # an unchanged cell keeps its item, so the grid keeps its painted parts
                shown = self.grid.model.items
                self.grid.model.update_items([a if a == b else b for a, b in zip(shown, items, strict=True)])
            self.grid.set_current_row(self.session.current)
        finally:
            self._syncing = False
        self._sync_bar()

    def _sync_bar(self) -> None:
        """The bar says what the session does (a sort or filter set elsewhere shows here too)."""
        session = self.session
        for widget, value in (
            (self.sort_combo, session.sort_key),
            (self.decision_combo, session.decision_filter),
        ):
            if widget.currentText() != value:
                widget.blockSignals(True)
                widget.setCurrentText(value)
                widget.blockSignals(False)
        if self.descending.isChecked() != session.descending:
            self.descending.blockSignals(True)
            self.descending.setChecked(session.descending)
            self.descending.blockSignals(False)
        self.page_label.setText(self.session.status_text())
        self.summary_label.setText(self.pane.session.summary_text())
        self.prev_button.setEnabled(self.session.page > 0)
        self.next_button.setEnabled(self.session.page < self.session.page_count - 1)

    def _request_page(self, episodes: list[int]) -> None:
        self.cache = {e: self.cache[e] for e in episodes if e in self.cache}  # only the page shown
        in_view = {episodes[row] for row in self.grid.visible_rows() if row < len(episodes)}
        missing = visible_first(
            [e for e in episodes if len(self.cache.get(e, ())) < 2], in_view
        )  # no loop yet
        self.generation += 1
        browse = self.pane.session
        if not missing or browse.dataset is None or not self.cameras():
            self.pane.tasks.cancel("review.page")
            return
        generation, emit = self.generation, self._arrived.emit

        def arrived(episode: int, frames: list[np.ndarray]) -> None:  # in the task's thread
            emit(generation, episode, [to_qimage(f) for f in frames])

        first = sum(e in in_view for e in missing)  # loops of the cells in view come first
        posters = [e for e in missing[first:] if e not in self.cache]
        self.pane.tasks.run(
            loop_frames,
            browse.dataset,
            missing,
            self.cameras(),
            arrived,
            posters=posters,
            first=first,
            key="review.page",
            lane=INTERACTIVE,
            holds=[browse.share()],
        )

    def _scrolled(self) -> None:
        """Scrolled while the page still decodes: what came into view is decoded next."""
        if self.active and self.pane.tasks.busy("review.page"):
            self._request_page(self._shown)

    def _on_arrived(self, generation: int, episode: int, images: list[QImage]) -> None:
        if generation != self.generation:
            return  # a page or camera no longer shown
        self.cache[episode] = images
        for row, shown in enumerate(self._shown):
            if shown == episode:
                self.grid.model.set_frames(row, images)
        if len(images) > 1:
            self.thumbnailsShown.emit(sum(len(loop) > 1 for loop in self.cache.values()))


def selected_episodes(pane: Any) -> list[int]:
    """What Browse's episode operations (Edit dataset, copying subtasks) act on: the review grid's
    selection while the grid is shown, else the episode table's."""
    review = getattr(pane, "review", None)
    if review is not None and review.active:
        return review.selected_episodes()
    return pane.table.selected_episodes()


def view_tabs() -> QTabBar:
    """A "Table | Grid" tab bar (Browse has two: over the episode table, and in the grid's bar)."""
    tabs = QTabBar()
    tabs.setDocumentMode(True)
    tabs.setDrawBase(False)
    tabs.setExpanding(False)
    tabs.addTab("Table")
    tabs.addTab("Grid")
    tabs.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
    tabs.setUsesScrollButtons(False)
    tabs.setElideMode(Qt.TextElideMode.ElideNone)
    tabs.setToolTip(
        "Table: the episode table and the player; Grid: review episodes by their looping thumbnails"
    )
    return tabs


def attach_review(pane: Any) -> ReviewView:
    """Offer the review grid as a view of Browse: "Table | Grid" tabs over the episode table (its
    dock's column is not the one that sets the pane's minimum height, so the pane grows no taller)
    and in the grid's bar. Grid shows the review view in place of the whole pane (the docks' layout
    is left as it is); Enter in the grid opens the episode in the player at its finding."""
    view = ReviewView(pane)
    # the grid's bar is wide: it must not make the pane (and the window) wider than the Table view needs
    view.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    stack = QStackedWidget()
    layout = pane.layout()
    layout.removeWidget(pane.inner)
    stack.addWidget(pane.inner)
    stack.addWidget(view)
    layout.addWidget(stack, 1)
    view.table_tabs = view_tabs()
    pane.episodes_dock.widget().layout().insertWidget(0, view.table_tabs)
    bars = (view.table_tabs, view.tabs)

    def on_tab(index: int) -> None:
        for bar in bars:
            bar.blockSignals(True)
            bar.setCurrentIndex(index)
            bar.blockSignals(False)
        stack.setCurrentIndex(index)
        view.set_active(index == 1)

    def on_open(episode: int, frame: int) -> None:
        on_tab(0)
        pane.show_episode(episode, frame)

    for bar in bars:
        bar.currentChanged.connect(on_tab)
    view.episodeOpened.connect(on_open)
    pane.datasetLoaded.connect(view.dataset_opened)
    pane.session.add_listener(view.curation_changed)
    pane.subtasks.attach_grid(view.grid)  # right-click: copy subtasks to the grid's selection, and
    edit = QAction("Edit dataset… (Ctrl+Shift+E)", view.grid)  # surgery from it
    edit.triggered.connect(lambda: pane.surgery.open())
    view.grid.addAction(edit)
    return view
