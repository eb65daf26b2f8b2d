"""Compare's report: a folder with report.html, a picture of the pair view, metrics.csv, summary.json."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog

from app.error_dialog import show_error
from backend.compare.report import write_report


def export_report(pane: Any, folder: str | Path) -> Path:
    """Write the report of what ``pane`` (a ComparePane) shows into ``folder``."""
    view = pane.view
    result = view.sides[1].result if view is not None and len(view.sides) > 1 else None
    return write_report(
        folder,
        result,
        picture_png=pane.picture_png() if view else None,
        batch=pane.batch,
        overwrite=True,
        extra=pane.session.report_extra(),
    )


def export_dialog(pane: Any) -> None:
    """Ask for a folder and write a dated report folder into it."""
    if pane.view is None and pane.batch is None:
        show_error(pane, "Nothing to export", "Compare two sources (or run a batch) first.")
        return
    base = QFileDialog.getExistingDirectory(
        pane, "Export the comparison into…", pane.context.last_folder("reports")
    )
    if not base:
        return
    pane.context.set_last_folder("reports", base)
    folder = Path(base) / f"compare_{datetime.now().strftime('%Y%m%d_%H%M%S')}"
    try:
        out = export_report(pane, folder)
    except Exception as error:  # noqa: BLE001 - shown to the user in one sentence
        show_error(pane, "Could not write the report", str(error), path=str(folder))
        return
    pane.status_label.setText(f"report written to {out}")
