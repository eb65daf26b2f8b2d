"""Browse: the episode table, the viewer (cameras, joint plots, transport), curation and the doctor.

The pane (``pane.BrowsePane``) lays out widgets and forwards to ``backend.sessions.browse.BrowseSession``
(what is open and decided) and ``backend.sessions.playback.PlaybackClock`` (the playhead).
"""

from app.panes.browse.pane import BrowsePane

__all__ = ["BrowsePane"]
