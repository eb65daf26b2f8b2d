"""Browse's Problems dock: the dataset doctor in the background, and "Repair copy...".

When a dataset opens, ``backend.doctor.diagnose`` runs in a child process
(``backend.quality_worker``; the pane's "doctor" task waits on it and kills it when cancelled) with progress; a
dataset closed or another opened cancels it and the latest wins (a replaced run's answer is dropped). Double-clicking a finding moves Browse to its episode (and frame). "Repair copy..." asks for
a new output and runs ``backend.repair.repair`` with progress and cancel; the dataset itself is never
edited, and the copy is offered to open when it is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QDockWidget, QFileDialog

from app.error_dialog import show_error
from app.tasks import BACKGROUND
from backend.doctor import episode_name
from backend.model import Dataset, DatasetFormat
from backend.quality_worker import diagnose_in_child
from backend.repair import RepairReport, repair
from widgets.problems_view import ProblemsView


def default_repair_path(source: Path) -> Path:
    """``<name>_repaired`` beside the source (``<stem>_repaired.hdf5`` for a file), never taken."""
    source = Path(source)
    stem, suffix = (source.stem, source.suffix) if source.is_file() else (source.name, "")
    candidate = source.with_name(f"{stem}_repaired{suffix}")
    number = 2
    while candidate.exists():
        candidate = source.with_name(f"{stem}_repaired_{number}{suffix}")
        number += 1
    return candidate


class BrowseProblems(QObject):
    """Owns the Problems dock of a Browse pane (``pane.inner``, ``pane.curation_dock``, ``pane.toast``,
    ``pane.tasks``: its tasks are the pane's, so closing the pane cancels and waits for them)."""

    checked = Signal(object)  # backend.doctor.DoctorReport of the dataset shown
    repairFinished = Signal(object)  # backend.repair.RepairReport

    def __init__(self, pane: Any) -> None:
        super().__init__(pane)
        self.pane = pane
        self.view = ProblemsView()
        self.dock = QDockWidget("Problems", pane.inner)
        self.dock.setObjectName("browse.problems")
        self.dock.setFeatures(pane.curation_dock.features())
        self.dock.setWidget(self.view)
        pane.inner.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.dock)
        pane.inner.tabifyDockWidget(pane.curation_dock, self.dock)
        pane.curation_dock.raise_()
        self.view.episodeRequested.connect(lambda index: pane.show_episode(index, 0))
        self.view.frameRequested.connect(pane.show_episode)
        self.view.repairRequested.connect(self.repair_dialog)
        self.view.cancelRequested.connect(self.cancel)
        self.view.refreshRequested.connect(self.check)
        self.path: Path | None = None
        self.format: DatasetFormat | None = None
        self.names: dict[str, int] = {}
        self.report: Any = None

    # -- the doctor -------------------------------------------------------------------------------
    def dataset_opened(self, dataset: Dataset, check: bool = True) -> None:
        """A dataset is shown; ``check`` runs the doctor now (else the pane calls ``check`` later)."""
        self.path, self.format = Path(dataset.path), dataset.format
        self.names = {episode_name(dataset, e): e.index for e in dataset.episodes}
        if check:
            self.check()

    @property
    def tasks(self) -> Any:
        return self.pane.tasks

    @property
    def repairing(self) -> bool:
        return self.tasks.busy("repair")

    def dataset_closed(self) -> None:
        self.tasks.cancel("doctor")
        self.path, self.report = None, None
        if not self.repairing:
            self.view.clear("No dataset")

    def check(self) -> None:
        """Run the doctor on the dataset shown (an earlier run is cancelled: the latest wins)."""
        if self.path is None:
            return
        self.view.clear()
        self.view.set_busy(f"Checking {self.path.name}…")
        self.tasks.run(
            diagnose_in_child,  # a child process: no thread here holds the GIL against the GUI
            str(self.path),
            key="doctor",
            lane=BACKGROUND,
            on_progress=lambda d, t, s: self.view.set_busy(s, d, t),
            on_done=self._checked,
            on_error=lambda m, _d: self._check_failed(m),
        )

    def _checked(self, report: Any) -> None:
        self.report = report
        self.view.set_findings(report.findings, self.names.get)
        counts = self.view.counts()
        verdict = "no problems found" if not report.findings else ", ".join(
            f"{n} {s}{'s' if n != 1 and s != 'info' else ''}" for s, n in counts.items() if n
        )
        self.view.set_done(f"{self.path.name if self.path else ''}: {verdict} ({report.seconds:.1f} s)")
        self.checked.emit(report)

    def _check_failed(self, message: str) -> None:
        self.view.set_done(f"Could not check: {message}")

    # -- the repair -------------------------------------------------------------------------------
    def repair_dialog(self) -> None:
        if self.path is None or self.repairing:
            return
        start = default_repair_path(self.path)
        if self.format is DatasetFormat.LEISAAC_HDF5:
            out, _ = QFileDialog.getSaveFileName(
                self.pane, "Write the repaired copy to", str(start), "HDF5 (*.hdf5 *.h5)"
            )
        else:
            out, _ = QFileDialog.getSaveFileName(
                self.pane, "Write the repaired copy to (a new folder)", str(start), "",
                options=QFileDialog.Option.DontConfirmOverwrite,
            )
        if out:
            self.start_repair(Path(out))

    def start_repair(self, out: Path, overwrite: bool = False) -> None:
        """Write a repaired copy of the dataset shown to ``out`` in the background."""
        if self.path is None or self.repairing:
            return
        self.tasks.cancel("doctor")
        self.view.set_busy(f"Repairing into {out.name}…")
        self.tasks.run(
            repair,
            str(self.path),
            str(out),
            overwrite,
            key="repair",
            lane=BACKGROUND,
            outputs=[out],
            on_progress=lambda d, t, s: self.view.set_busy(s, d, t),
            on_done=self._repaired,
            on_error=self._repair_failed,
            on_cancelled=self._repair_cancelled,
        )

    def cancel(self) -> None:
        repairing = self.tasks.get("repair")
        if repairing is not None:
            self.view.set_busy("Cancelling…")
            repairing.cancel()  # not stale: its cancelled callback restores the findings
        elif self.tasks.busy("doctor"):
            self.tasks.cancel("doctor")
            self.view.set_done("Check cancelled")

    def _repaired(self, report: RepairReport) -> None:
        self._restore()
        out = report.output
        if report.written:
            left = (
                "not checked (cancelled)" if not report.checked
                else f"{report.errors} error(s) remain" if report.errors else "the copy checks clean"
            )
            fixes = "\n".join(f"• {f.what}" for f in report.fixes[:6])
            self.pane.toast.show_message(
                f"Repaired copy written to {out}: {len(report.fixes)} fix(es), {left}.\n{fixes}",
                [("Open the copy", lambda: self.pane.context.openDatasetRequested.emit(out))],
                timeout_ms=30000,
            )
        else:
            self.pane.toast.show_message("Nothing to fix: no copy was written.")
        self.repairFinished.emit(report)

    def _repair_failed(self, message: str, details: str) -> None:
        self._restore()
        show_error(self.pane, "Repair failed (nothing was written)", message, details)

    def _repair_cancelled(self) -> None:
        self._restore()
        self.pane.toast.show_message("Repair cancelled; nothing was written.")

    def _restore(self) -> None:
        """Back to the findings of the dataset shown (or the empty view)."""
        if self.path is None:
            self.view.clear("No dataset")
        elif self.report is not None:
            self._checked(self.report)
        else:
            self.check()
