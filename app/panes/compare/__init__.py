"""The Compare pane: a source demonstration and what the pipeline made of it, on one playhead."""

from app.panes.compare.pane import ComparePane

__all__ = ["ComparePane"]
