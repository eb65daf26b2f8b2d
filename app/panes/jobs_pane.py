"""Where the Jobs pane used to live: it is the package ``app.panes.jobs`` now. This module re-exports
it until the window's pane list names the package."""

from app.panes.jobs.model import JobsFilter, JobsModel, ProgressDelegate
from app.panes.jobs.pane import JobsPane
from app.panes.jobs.profiles_dialog import ProfilesDialog
from app.panes.jobs.submit_dialog import SubmitDialog
from backend.sessions.jobs_queue import COL_ID, COL_STATE, COLUMNS, state_text

__all__ = [
    "COLUMNS",
    "COL_ID",
    "COL_STATE",
    "JobsFilter",
    "JobsModel",
    "JobsPane",
    "ProfilesDialog",
    "ProgressDelegate",
    "SubmitDialog",
    "state_text",
]
