"""The window fits the screen it opens on, and a geometry saved on a larger screen is clamped."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSettings

from app.geometry import clamp_to_screen, default_size, fit


def test_default_size_is_the_designed_one_where_it_fits_and_shrinks_on_small_screens() -> None:
    assert default_size(QRect(0, 0, 1920, 1050)).toTuple() == (1480, 920)
    small = default_size(QRect(0, 0, 1280, 770))
    assert small.width() <= 1280 and small.height() <= 770
    assert small.toTuple() == (int(1280 * 0.92), int(770 * 0.92))


def test_fit_moves_and_shrinks_into_the_area() -> None:
    area = QRect(0, 30, 1280, 770)
    assert fit(QRect(900, 500, 1480, 920), area) == QRect(0, 30, 1280, 770)
    assert fit(QRect(-50, 0, 400, 300), area) == QRect(0, 30, 400, 300)
    assert fit(QRect(1100, 700, 400, 300), area) == QRect(880, 500, 400, 300)


def test_window_opens_inside_the_screen_and_clamps_a_saved_geometry(qtbot, tmp_path) -> None:
    from app.context import AppContext
    from app.main_window import MainWindow

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    window = MainWindow(AppContext(settings, tmp_path / "ws"))
    qtbot.addWidget(window)
    area = window.screen().availableGeometry()
    assert area.contains(window.frameGeometry()) or area.contains(window.geometry())
    assert (window.width(), window.height()) == default_size(area).toTuple()

    window.setGeometry(area.right() - 100, area.bottom() - 100, area.width() + 400, area.height() + 300)
    clamp_to_screen(window)
    assert area.contains(window.geometry()), (window.geometry(), area)


def test_status_fields_shorten_instead_of_leaving_the_window(qtbot, tmp_path) -> None:
    from app.context import AppContext
    from app.main_window import MainWindow

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    window = MainWindow(AppContext(settings, tmp_path / "ws"))
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    long_text = "so101_pick_orange_with_a_very_long_name.hdf5 (leisaac hdf5, 6 episodes, 2 cameras) " * 2
    window.set_status("dataset", long_text)
    window.set_status("episode", "B vs A: RMSE 17.70 deg, worst gripper at 3.2 s, aligned by DTW")
    qtbot.wait(50)
    bar = window.statusBar()
    for name in ("dataset", "episode"):
        label = window.status_labels[name]
        assert label.isVisible() and label.toolTip() == window.status_text(name)
        right = label.mapTo(bar, label.rect().topRight()).x()
        assert right <= bar.width(), (name, right, bar.width())
    assert window.status_labels["dataset"].shown_text().endswith("…")
