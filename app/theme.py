"""The window's look: Fusion style, the theme's palette and style sheet (plots read the palette too)."""

from __future__ import annotations

from pathlib import Path


def _style_dir() -> Path:
    return Path(__file__).resolve().parents[1] / "resources" / "style"


def apply_theme(app, name: str) -> None:
    """Fusion style + the theme's style sheet + the shared palette module (plots read it too)."""
    from PySide6.QtGui import QColor, QPalette

    from widgets import palette

    palette.set_theme(name)
    colors = palette.THEMES[palette.theme_name()]
    qpal = QPalette()
    qpal.setColor(QPalette.ColorRole.Window, QColor(colors["window"]))
    qpal.setColor(QPalette.ColorRole.WindowText, QColor(colors["text"]))
    qpal.setColor(QPalette.ColorRole.Base, QColor(colors["panel"]))
    qpal.setColor(QPalette.ColorRole.AlternateBase, QColor(colors["window"]))
    qpal.setColor(QPalette.ColorRole.Text, QColor(colors["text"]))
    qpal.setColor(QPalette.ColorRole.Button, QColor(colors["panel"]))
    qpal.setColor(QPalette.ColorRole.ButtonText, QColor(colors["text"]))
    qpal.setColor(QPalette.ColorRole.Highlight, QColor(colors["accent"]))
    qpal.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    qpal.setColor(QPalette.ColorRole.ToolTipBase, QColor(colors["panel"]))
    qpal.setColor(QPalette.ColorRole.ToolTipText, QColor(colors["text"]))
    qpal.setColor(QPalette.ColorRole.PlaceholderText, QColor(colors["muted"]))
    for group in (QPalette.ColorGroup.Disabled,):
        qpal.setColor(group, QPalette.ColorRole.Text, QColor(colors["muted"]))
        qpal.setColor(group, QPalette.ColorRole.ButtonText, QColor(colors["muted"]))
        qpal.setColor(group, QPalette.ColorRole.WindowText, QColor(colors["muted"]))
    app.setStyle("Fusion")
    app.setPalette(qpal)
    qss = _style_dir() / f"{palette.theme_name()}.qss"
    app.setStyleSheet(qss.read_text(encoding="utf-8") if qss.is_file() else "")
