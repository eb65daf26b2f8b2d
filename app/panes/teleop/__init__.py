"""The Teleop pane: connect arms and cameras, calibrate, record episodes (``pane.TeleopPane``)."""

from app.panes.teleop.pane import TeleopPane

__all__ = ["TeleopPane"]
