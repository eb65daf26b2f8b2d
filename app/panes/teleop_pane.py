"""The old import path of the Teleop pane (``app.panes.PANES`` names it); the pane lives in
``app/panes/teleop/``."""

from app.panes.teleop.pane import TeleopPane

__all__ = ["TeleopPane"]
