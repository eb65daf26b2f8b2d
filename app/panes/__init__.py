"""The five panes of the window, in rail order.

Each pane is a ``QWidget`` subclass in its own module here, constructed as ``Pane(context, parent)``
with an ``app.context.AppContext``. A pane may define ``status_fields() -> dict[str, str]`` (shown in
the status bar) and ``save_state() -> dict`` / ``restore_state(dict)`` (persisted layout).
A pane whose module is missing is shown as a placeholder by the window.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PaneSpec:
    key: str
    title: str
    module: str
    class_name: str
    icon_text: str


PANES: list[PaneSpec] = [
    PaneSpec("teleop", "Teleop", "app.panes.teleop", "TeleopPane", "()"),
    PaneSpec("browse", "Browse", "app.panes.browse", "BrowsePane", "[]"),
    PaneSpec("convert", "Convert", "app.panes.convert", "ConvertPane", "<>"),
    PaneSpec("jobs", "Jobs", "app.panes.jobs", "JobsPane", ">>"),
    PaneSpec("compare", "Compare", "app.panes.compare", "ComparePane", "||"),
]
