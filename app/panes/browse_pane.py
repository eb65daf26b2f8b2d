"""The Browse pane moved to ``app.panes.browse`` (this name stays while the pane list still uses it)."""

from app.panes.browse.pane import BrowsePane  # noqa: F401
from backend.sessions.browse import resolve_dataset_path as _resolve_dataset_path  # noqa: F401
