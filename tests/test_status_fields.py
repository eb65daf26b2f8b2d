"""The status bar's fields at 1280 px: the short fields are shown whole, the dataset's name is cut first."""

from __future__ import annotations

from PySide6.QtWidgets import QMainWindow

from app.status_fields import StatusFields

TEXTS = {
    "episode": "episode 2 (3/6 shown)",
    "frame": "frame 48/113 · 1.60 s",
    "jobs": "no jobs running",
    "arm": "arm: connected 60.0 Hz · REC",
    "workspace": "workspace screenshots-workspace",
}


def _bar(qtbot, width: int, dataset: str) -> StatusFields:
    """A window of ``width`` px with the fields set (the window is kept alive by the fields)."""
    window = QMainWindow()
    qtbot.addWidget(window)
    fields = StatusFields(window.statusBar())
    fields.window = window  # type: ignore[attr-defined]
    fields.set("dataset", dataset)
    for name, text in TEXTS.items():
        fields.set(name, text)
    window.resize(width, 300)
    window.show()
    qtbot.waitExposed(window)
    qtbot.wait(20)
    return fields


def test_the_short_fields_are_whole_and_the_dataset_name_is_cut_first(qtbot) -> None:
    long_name = "so101_pick_orange_with_a_rather_long_recording_name.hdf5 (leisaac_hdf5, 6 episodes)"
    fields = _bar(qtbot, 1280, long_name)
    for name, text in TEXTS.items():
        assert fields.labels[name].shown_text() == text, name
    shown = fields.labels["dataset"].shown_text()
    assert shown != long_name and shown.endswith("…") and len(shown) > 20


def test_with_room_every_field_is_whole(qtbot) -> None:
    fields = _bar(qtbot, 1920, "so101_pick_orange.hdf5 (leisaac_hdf5, 6 episodes)")
    assert fields.labels["dataset"].shown_text() == "so101_pick_orange.hdf5 (leisaac_hdf5, 6 episodes)"
    for name, text in TEXTS.items():
        assert fields.labels[name].shown_text() == text, name


def test_a_short_field_keeps_its_widest_width_until_the_dataset_changes(qtbot) -> None:
    fields = _bar(qtbot, 1920, "so101_pick_orange.hdf5 (leisaac_hdf5, 1000 episodes)")
    episode, arm = fields.labels["episode"], fields.labels["arm"]
    fields.set("episode", "episode 1 (2/1000 shown)")
    qtbot.wait(20)
    wide, arm_x = episode.width(), arm.x()
    fields.set("episode", "episode 1")  # a filter hid the shown episode
    qtbot.wait(20)
    assert episode.width() == wide and arm.x() == arm_x  # the bar's fields stay where they were
    assert episode.shown_text() == "episode 1"
    fields.set("dataset", "another.hdf5 (leisaac_hdf5, 6 episodes)")
    qtbot.wait(20)
    assert episode.width() < wide  # a new dataset: the field takes its text's width again
