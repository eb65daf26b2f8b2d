"""Help > About shows the --version text (with the Qt the window runs on); the next start offers the
crash reports earlier runs left, once."""

from __future__ import annotations

from PySide6.QtCore import qVersion
from PySide6.QtWidgets import QApplication, QMessageBox

from app.about import AboutDialog, offer_crash_reports
from backend import crash


def test_about_shows_versions_and_copies_them(qtbot):
    dialog = AboutDialog()
    qtbot.addWidget(dialog)
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=10000)
    text = dialog.text.toPlainText()
    assert text.startswith("rollout-studio ") and f"Qt {qVersion()}" in text and "PyAV " in text
    dialog.copy()
    assert QApplication.clipboard().text() == text
    dialog.close()


def test_next_start_offers_crash_reports_once(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("ROLLOUT_STUDIO_HOME", str(tmp_path))
    assert offer_crash_reports(None) is None
    try:
        raise ValueError("a bad frame size")
    except ValueError as error:
        report = crash.write_report(type(error), error, error.__traceback__)
    box = offer_crash_reports(None)
    assert isinstance(box, QMessageBox)
    qtbot.addWidget(box)
    assert str(report) in box.informativeText() and "a bad frame size" in box.detailedText()
    box.close()
    assert offer_crash_reports(None) is None  # offered once
