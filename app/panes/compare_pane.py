"""Old import path of the Compare pane (now the package ``app.panes.compare``)."""

from app.panes.compare.pane import ComparePane

__all__ = ["ComparePane"]
