"""What every conversion wizard does when a run ends, shared by the Convert pane's families and the
Cosmos/IDM flows (one shape, one behaviour)."""

from __future__ import annotations

from typing import Any


class WizardRunEndings:
    """Mixin for a wizard widget with ``context``, ``run_view``, ``last_error`` and ``_update_next``."""

    context: Any
    run_view: Any
    last_error: str | None

    def failure_title(self) -> str:
        return "The conversion failed"

    def _run_failed(self, message: str, details: str) -> None:
        self.last_error = message
        self.run_view.finish(False, f"failed: {message} (nothing was written)")
        self._update_next()
        self._status("")
        from app.error_dialog import show_error

        show_error(self, self.failure_title(), message, details)

    def _run_cancelled(self) -> None:
        self.last_error = "cancelled"
        self.run_view.finish(False, "cancelled: nothing was written")
        self._update_next()
        self._status("")

    def _status(self, text: str) -> None:
        if hasattr(self.context, "set_status"):
            self.context.set_status("convert", text)

    def _open_in_browse(self, path: str) -> None:
        if not path:
            return
        self.context.openDatasetRequested.emit(path)
        if hasattr(self.context, "showPaneRequested"):
            self.context.showPaneRequested.emit("browse")

    def _update_next(self) -> None:  # pragma: no cover - every wizard defines it
        raise NotImplementedError
