"""The Jobs pane: ``pane`` lays it out, ``model`` shows the queue, ``job_tabs`` the selected job,
``submit_dialog`` and ``profiles_dialog`` its two dialogs. Its state is ``backend.sessions.jobs``."""

from app.panes.jobs.pane import JobsPane

__all__ = ["JobsPane"]
