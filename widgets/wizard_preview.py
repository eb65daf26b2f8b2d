"""The preview of a conversion: episodes kept / skipped and why, sample values in every unit,
the output tree, warnings and blocking errors.

It shows a plain dict (``Plan.to_dict()`` of backend/convert/common.py) and knows nothing else:
    {"episodes": [{source, source_name, length, kept, reason, output_index, frame_offset,
                   frames_out, task, extra}],
     "samples": [{role, frame, episode, names, source_unit, target_unit, values{unit: [..]},
                  source_values, output_values, note}],
     "tree": [str], "warnings": [str], "errors": [str], "summary": {...}}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from backend.numbers import fixed
from widgets.elided_label import WrapLabel
from widgets.palette import color

UNIT_LABELS = {
    "rad": "rad",
    "deg": "deg",
    "lerobot": "LeRobot",
    "lerobot_deg": "LeRobot deg",
    "ticks": "ticks",
    "other": "as stored",
}


def _item(text: Any, align_right: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem("" if text is None else str(text))
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    if align_right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


class PreviewView(QWidget):
    # short headers (the full meaning in each header's tooltip): the reason keeps a readable width
    EPISODE_COLUMNS = ["episode", "frames", "kept", "→ #", "offset", "written", "reason / note", "source"]
    COLUMN_TIPS = [
        "the episode or demo in the input",
        "frames in the input",
        "kept (✓) or skipped (✗)",
        "its episode number in the output",
        "the input frame the output episode starts at",
        "frames written to the output",
        "why it is skipped, or how it was matched (full text in the cell's tooltip)",
        "the input file",
    ]
    REASON_COLUMN = 6

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._plan: dict[str, Any] = {}
        self.status = WrapLabel("Add inputs to see what the conversion will do.")
        self.status.setWordWrap(True)
        self.messages = WrapLabel("")
        self.messages.setWordWrap(True)
        self.messages.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.filter = QComboBox()
        self.filter.addItems(["All episodes", "Kept", "Skipped"])
        self.filter.currentIndexChanged.connect(lambda _i: self._fill_episodes())
        self.episodes = QTableWidget(0, len(self.EPISODE_COLUMNS))
        self.episodes.setHorizontalHeaderLabels(self.EPISODE_COLUMNS)
        for column, tip in enumerate(self.COLUMN_TIPS):
            self.episodes.horizontalHeaderItem(column).setToolTip(tip)
        self.episodes.verticalHeader().setVisible(False)
        # the reason takes the spare width (elided, full text in its tooltip): never scrolled away
        self.episodes.horizontalHeader().setSectionResizeMode(
            self.REASON_COLUMN, QHeaderView.ResizeMode.Stretch
        )
        self.episodes.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        episodes_page = QWidget()
        layout = QVBoxLayout(episodes_page)
        row = QHBoxLayout()
        self.counts = QLabel("")
        row.addWidget(self.counts, 1)
        row.addWidget(self.filter)
        layout.addLayout(row)
        layout.addWidget(self.episodes, 1)
        self.values = QTableWidget(0, 1)
        self.values.verticalHeader().setVisible(False)
        self.values_note = WrapLabel("")
        self.values_note.setWordWrap(True)
        values_page = QWidget()
        layout = QVBoxLayout(values_page)
        layout.addWidget(self.values_note)
        layout.addWidget(self.values, 1)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["output"])
        self.tabs = QTabWidget()
        self.tabs.addTab(episodes_page, "Episodes")
        self.tabs.addTab(values_page, "Values")
        self.tabs.addTab(self.tree, "Output")
        main = QVBoxLayout(self)
        main.setContentsMargins(0, 0, 0, 0)
        main.addWidget(self.status)
        main.addWidget(self.messages)
        main.addWidget(self.tabs, 1)

    # -- public -------------------------------------------------------------------------------------
    def setBusy(self, text: str = "Computing the preview…") -> None:
        self.status.setText(text)

    def setError(self, text: str) -> None:
        self._plan = {}
        self.status.setText("The preview failed.")
        self.messages.setText(f"<span style='color:{color('bad').name()}'>{text}</span>")

    def plan(self) -> dict[str, Any]:
        return self._plan

    def setPlan(self, plan: dict[str, Any]) -> None:
        self._plan = plan or {}
        summary = self._plan.get("summary", {})
        kept, skipped = summary.get("episodes_kept", 0), summary.get("episodes_skipped", 0)
        out = self._plan.get("output", "")
        self.status.setText(
            f"{kept} episodes kept, {skipped} skipped, {summary.get('frames_out', 0)} frames → "
            f"{Path(out).name or out} ({self._plan.get('output_format', '')})"
        )
        lines = []
        for error in self._plan.get("errors", []):
            lines.append(f"<span style='color:{color('bad').name()}'>✗ {_escape(error)}</span>")
        for warning in self._plan.get("warnings", []):
            lines.append(f"<span style='color:{color('flag').name()}'>⚠ {_escape(warning)}</span>")
        self.messages.setText("<br>".join(lines))
        self.counts.setText(f"{kept} kept · {skipped} skipped")
        self._fill_episodes()
        self._fill_values()
        self._fill_tree()

    # -- tables ---------------------------------------------------------------------------------------
    def _fill_episodes(self) -> None:
        rows = self._plan.get("episodes", [])
        mode = self.filter.currentIndex()
        if mode == 1:
            rows = [r for r in rows if r.get("kept")]
        elif mode == 2:
            rows = [r for r in rows if not r.get("kept")]
        table = self.episodes
        table.setRowCount(len(rows))
        good, bad = QBrush(color("good")), QBrush(color("bad"))
        for i, r in enumerate(rows):
            kept = bool(r.get("kept"))
            reason = _item(r.get("reason") or _note(r))
            reason.setToolTip(reason.text())
            cells = [
                _item(r.get("source_name")),
                _item(r.get("length"), True),
                _item("✓" if kept else "✗"),
                _item(r.get("output_index") if kept else "", True),
                _item(r.get("frame_offset") if kept else "", True),
                _item(r.get("frames_out") if kept else "", True),
                reason,
                _item(Path(str(r.get("source", ""))).name),
            ]
            cells[2].setForeground(good if kept else bad)
            for column, cell in enumerate(cells):
                table.setItem(i, column, cell)
        table.resizeColumnsToContents()
        # one input file: its name is in every row and in the title, so the column only costs width
        sources = {str(r.get("source", "")) for r in self._plan.get("episodes", [])}
        table.setColumnHidden(len(self.EPISODE_COLUMNS) - 1, len(sources) <= 1)

    def _fill_values(self) -> None:
        samples = self._plan.get("samples", [])
        table = self.values
        if not samples:
            table.setRowCount(0)
            table.setColumnCount(1)
            table.setHorizontalHeaderLabels(["values"])
            self.values_note.setText("No sample frame (no episode is kept).")
            return
        units: list[str] = []
        for s in samples:
            for unit in s.get("values", {}):
                if unit not in units:
                    units.append(unit)
        # short headers (the meaning in their tooltips): every column fits a 1280-wide window
        headers = ["", "joint", "stored", *[UNIT_LABELS.get(u, u) for u in units], "written"]
        table.setColumnCount(len(headers))
        table.setHorizontalHeaderLabels(headers)
        table.horizontalHeaderItem(2).setToolTip("the value as stored in the input")
        table.horizontalHeaderItem(len(headers) - 1).setToolTip("the value written to the output")
        rows = sum(len(s.get("names", [])) for s in samples)
        table.setRowCount(rows)
        row = 0
        notes = []
        for s in samples:
            src, dst = s.get("source_unit"), s.get("target_unit")
            notes.append(
                f"{s.get('role')}: {s.get('episode')} frame {s.get('frame')}, stored in "
                f"{UNIT_LABELS.get(src, src)}, written in {UNIT_LABELS.get(dst, dst)}"
                + (f" ({s['note']})" if s.get("note") else "")
            )
            for j, name in enumerate(s.get("names", [])):
                table.setItem(row, 0, _item(s.get("role") if j == 0 else ""))
                joint = _item(name)
                joint.setToolTip(str(name))
                table.setItem(row, 1, joint)
                table.setItem(row, 2, _item(_fmt(s["source_values"][j]), True))
                for k, unit in enumerate(units):
                    values = s.get("values", {}).get(unit)
                    cell = _item(_fmt(values[j]) if values else "", True)
                    if unit in (src, dst):
                        cell.setForeground(QBrush(color("accent")))
                    table.setItem(row, 3 + k, cell)
                table.setItem(row, 3 + len(units), _item(_fmt(s["output_values"][j]), True))
                row += 1
        self.values_note.setText("\n".join(notes))
        # the numbers keep their width; the joint names give way (elided, full name in the tooltip)
        header = table.horizontalHeader()
        for column in range(len(headers)):
            mode = QHeaderView.ResizeMode.Stretch if column == 1 else QHeaderView.ResizeMode.ResizeToContents
            header.setSectionResizeMode(column, mode)

    def _fill_tree(self) -> None:
        self.tree.clear()
        out = self._plan.get("output", "")
        root = QTreeWidgetItem([Path(out).name or out])
        self.tree.addTopLevelItem(root)
        nodes: dict[str, QTreeWidgetItem] = {"": root}
        for line in self._plan.get("tree", []):
            if line.startswith("... ") or "/" not in line.lstrip("/"):
                parent_key = ""
                label = line
            else:
                text = line.lstrip("/")
                path, _, label = text.rpartition("/")
                parent_key = path
                parent = ""
                for part in path.split("/"):
                    key = f"{parent}/{part}" if parent else part
                    if key not in nodes:
                        node = QTreeWidgetItem([part])
                        nodes[parent].addChild(node)
                        nodes[key] = node
                    parent = key
            nodes[parent_key].addChild(QTreeWidgetItem([label]))
        self.tree.expandAll()


def _note(row: dict[str, Any]) -> str:
    extra = row.get("extra") or {}
    if "demo_name" in extra and extra.get("demo_name"):
        return (
            f"→ {extra['demo_name']} ({extra.get('matched_by', '')}, offset {extra.get('offset_from', '')})"
        )
    signals = extra.get("signals")  # joint -> EEF: where each subtask signal turns on
    if isinstance(signals, dict):
        where = ", ".join(f"{name} at {frame}" for name, frame in signals.items()) or "no subtask boundary"
        return f"{where} (from {extra.get('subtasks_from', '?')})"
    return ""


def _fmt(value: Any) -> str:
    """Four decimals, never a negative zero ("-0.0000" reads as a value below zero)."""
    try:
        return fixed(float(value), ".4f")
    except (TypeError, ValueError):
        return str(value)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
