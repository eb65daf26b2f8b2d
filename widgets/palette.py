"""One palette for every pane: joint colours, line styles, A/B alpha, theme colours.

The same joint has the same colour everywhere (Browse, Teleop, Compare). Action is drawn solid,
state dashed; a second source (B) is drawn translucent.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPen

# SO-101 joints, in the arm's order (Okabe-Ito inspired: distinct on dark and light backgrounds)
JOINT_COLORS: dict[str, str] = {
    "shoulder_pan": "#4e9bff",
    "shoulder_lift": "#ff9f1c",
    "elbow_flex": "#2ec27e",
    "wrist_flex": "#f25f5c",
    "wrist_roll": "#b48ead",
    "gripper": "#f6d32d",
}
# the same hues, deeper where the dark-theme colour is too pale on white (light theme only)
JOINT_COLORS_LIGHT: dict[str, str] = {
    "shoulder_pan": "#2f7de1",
    "shoulder_lift": "#e8890c",
    "elbow_flex": "#1f9d63",
    "wrist_roll": "#95689a",
    "gripper": "#c49a00",
}
# for joints that are not SO-101 joints, by position
EXTRA_COLORS = [
    "#56b4e9",
    "#e69f00",
    "#009e73",
    "#cc79a7",
    "#d55e00",
    "#0072b2",
    "#f0e442",
    "#999999",
    "#8fbcbb",
    "#ebcb8b",
    "#a3be8c",
    "#bf616a",
]
B_ALPHA = 110  # translucent second source (0..255)

# theme colours: window background, panels, text, muted text, accent, good, bad, flag, trim
THEMES: dict[str, dict[str, str]] = {
    "dark": {
        "window": "#1e2126",
        "panel": "#252930",
        "plot_bg": "#1a1d22",
        "grid": "#3a3f47",
        "text": "#e6e6e6",
        "muted": "#9aa0a6",
        "accent": "#4e9bff",
        "good": "#2ec27e",
        "bad": "#f25f5c",
        "flag": "#ff9f1c",
        "trim": "#4e9bff",
        "playhead": "#ffffff",
    },
    "light": {
        "window": "#f4f5f7",
        "panel": "#ffffff",
        "plot_bg": "#ffffff",
        "grid": "#d0d4da",
        "text": "#1d1f23",
        "muted": "#5f6368",
        "accent": "#1a73e8",
        "good": "#188038",
        "bad": "#d93025",
        "flag": "#e37400",
        "trim": "#1a73e8",
        "playhead": "#111111",
    },
}

_current_theme = "dark"


def set_theme(name: str) -> None:
    global _current_theme
    _current_theme = name if name in THEMES else "dark"


def theme_name() -> str:
    return _current_theme


def color(role: str) -> QColor:
    """A theme colour by role ("text", "accent", "good", ...)."""
    return QColor(THEMES[_current_theme][role])


def _base(name: str) -> str:
    core = name.split(".")[0]
    for prefix in ("left_", "right_"):
        if core.startswith(prefix):
            core = core[len(prefix) :]
    return core


def joint_color(name: str, position: int = 0) -> QColor:
    """The colour of a joint ("shoulder_pan", "left_gripper", "gripper.pos"), else by position."""
    base = _base(name)
    light = JOINT_COLORS_LIGHT.get(base) if _current_theme == "light" else None
    hex_color = light or JOINT_COLORS.get(base)
    if hex_color is None:
        hex_color = EXTRA_COLORS[position % len(EXTRA_COLORS)]
    return QColor(hex_color)


def joint_pen(
    name: str, position: int = 0, state: bool = False, second: bool = False, width: float = 1.6
) -> QPen:
    """Action: solid; state: dashed; second source: translucent."""
    qcolor = joint_color(name, position)
    if second:
        qcolor.setAlpha(B_ALPHA)
    pen = QPen(qcolor)
    pen.setWidthF(width)
    pen.setCosmetic(True)
    if state:
        pen.setStyle(Qt.PenStyle.DashLine)
    return pen
