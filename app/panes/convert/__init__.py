"""The Convert pane (``pane.ConvertPane``): its wizard, one family module per kind of conversion."""

from app.panes.convert.pane import ConvertPane

__all__ = ["ConvertPane"]
