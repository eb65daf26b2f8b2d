"""Teleop's left column: the connection form (ports, calibration files, cameras, rate, format, output),
the Connect and Start virtual arms buttons with the status line, and the calibration entry. It shows
and edits the ``RecordingSession``'s form; it scrolls vertically and reflows to its width (labels above
the fields when narrow), so nothing is cut at 1280x800. Virtual arms are named in the port lists;
long paths (cameras, status) are shortened in the middle, whole in the tooltip."""

from __future__ import annotations

import re
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from backend.sessions.recording import START_VIRTUAL, RecordingSession
from backend.teleop.ports import list_arm_ports
from widgets.path_lines_edit import PathLinesEdit

ZWSP = "\u200b"
PATH = re.compile(r"(?<![\w.])/[^\s;,]+")  # an absolute path in a sentence
KEEP_PARTS = 2  # a shortened path keeps its last folder and its name


def breakable(text: str) -> str:
    """Long paths wrap in a label (a break chance after every / and _) instead of widening it."""
    return text.replace("/", "/" + ZWSP).replace("_", "_" + ZWSP)


def short_path(path: str) -> str:
    """``/tmp/pytest-1/ws/calibration/virtual_leader.json`` -> ``/tmp/…/calibration/virtual_leader.json``."""
    parts = path.split("/")  # "", "tmp", ..., name
    if len(parts) <= KEEP_PARTS + 3:
        return path
    return "/".join(parts[:2] + ["…"] + parts[-KEEP_PARTS:])


def short_paths(text: str) -> str:
    """Every absolute path in ``text`` shortened in the middle (the whole text goes in a tooltip)."""
    return PATH.sub(lambda m: short_path(m.group(0)), text)


def port_device(combo: QComboBox) -> str:
    """The device a port combo names: a listed port's device (its text may carry a label), else
    what the user typed."""
    text = combo.currentText().strip()
    index = combo.findText(text)
    device = combo.itemData(index) if index >= 0 else None
    return str(device) if device else text


def set_port(combo: QComboBox, device: str) -> None:
    index = combo.findData(device) if device else -1
    if index >= 0:
        combo.setCurrentIndex(index)
    else:
        combo.setCurrentText(device)
    show_start(combo)


def show_start(combo: QComboBox) -> None:
    """A narrow port field shows the start of its text ("/dev/pts/3 (virtual arm: de…"), whole in the
    tooltip."""
    combo.setToolTip(combo.currentText())
    if combo.lineEdit() is not None and not combo.lineEdit().hasFocus():
        combo.lineEdit().setCursorPosition(0)


class ConnectionPanel(QScrollArea):
    """The form; ``show_form()`` fills it from the session, ``store()`` writes it back."""

    def __init__(self, session: RecordingSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setObjectName("teleopConnection")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMinimumWidth(300)
        body = QWidget()
        box = QVBoxLayout(body)
        box.setContentsMargins(0, 0, 4, 0)
        conn = QGroupBox("Connection")
        form = QFormLayout(conn)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.leader_port = self._port_combo()
        self.leader_cal = QLineEdit()
        self.leader_cal.setPlaceholderText("LeRobot calibration (default place, else the servos)")
        self.follower_port = self._port_combo(optional=True)
        self.follower_cal = QLineEdit()
        self.follower_cal.setPlaceholderText("follower calibration")
        self.refresh_button = QToolButton()
        self.refresh_button.setText("↻")
        self.refresh_button.setToolTip("Look for serial ports again")
        self.refresh_button.clicked.connect(self.refresh_ports)
        leader_row = QHBoxLayout()
        leader_row.addWidget(self.leader_port, 1)
        leader_row.addWidget(self.refresh_button)
        form.addRow("Leader port", leader_row)
        form.addRow("Leader calibration", self._with_browse(self.leader_cal, "json"))
        form.addRow("Follower port", self.follower_port)
        form.addRow("Follower calibration", self._with_browse(self.follower_cal, "json"))
        self.cameras_edit = PathLinesEdit()
        self.cameras_edit.setPlaceholderText("one per line: NAME=SOURCE\nfront=/dev/video0\nwrist=/dev/wrist")
        self.cameras_edit.setFixedHeight(72)
        form.addRow("Cameras", self.cameras_edit)
        self.rate_combo = QComboBox()
        self.rate_combo.addItems(["60 Hz", "30 Hz"])
        form.addRow("Loop rate", self.rate_combo)
        self.format_combo = QComboBox()
        self.format_combo.addItem("LeIsaac HDF5", "hdf5")
        self.format_combo.addItem("LeRobot v2.1 (H.264)", "lerobot")
        self.format_combo.currentIndexChanged.connect(self._format_changed)
        form.addRow("Format", self.format_combo)
        self.out_edit = QLineEdit()
        form.addRow("Output", self._with_browse(self.out_edit, "out"))
        self.connect_button = QPushButton("Connect")
        self.connect_button.setObjectName("connectButton")
        form.addRow(self.connect_button)
        self.virtual_button = QPushButton(START_VIRTUAL)
        self.virtual_button.setObjectName("startVirtualArms")
        self.virtual_button.setToolTip(
            "Two virtual SO-101 arms (leader and follower) and two camera videos, connected for you:"
            " try recording without hardware"
        )
        form.addRow(self.virtual_button)
        self.connect_status = QLabel()
        self.connect_status.setObjectName("connectStatus")
        self.connect_status.setWordWrap(True)
        self.connect_status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        form.addRow(self.connect_status)
        box.addWidget(conn)
        cal_box = QGroupBox("Calibration")
        cal_layout = QVBoxLayout(cal_box)
        self.calibrate_button = QPushButton("Calibrate an arm…")
        cal_layout.addWidget(self.calibrate_button)
        hint = QLabel("Middle pose → sweep → saved as LeRobot JSON and written to the servos.")
        hint.setWordWrap(True)
        cal_layout.addWidget(hint)
        box.addWidget(cal_box)
        box.addStretch(1)
        self.setWidget(body)
        self._filling = False
        self.show_form()

    # -- ports and browsing -------------------------------------------------------------------------
    def _port_combo(self, optional: bool = False) -> QComboBox:
        combo = QComboBox()
        combo.setEditable(True)
        combo.setMinimumContentsLength(10)
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setProperty("optional", optional)
        combo.currentIndexChanged.connect(lambda _=0, c=combo: show_start(c))
        self._fill_ports(combo)
        return combo

    def _fill_ports(self, combo: QComboBox) -> None:
        current = port_device(combo)
        combo.clear()
        if combo.property("optional"):
            combo.addItem("", "")
        for port in list_arm_ports():
            combo.addItem(port.display, port.device)
            combo.setItemData(combo.count() - 1, port.label, Qt.ItemDataRole.ToolTipRole)
        set_port(combo, current)

    def refresh_ports(self) -> None:
        self._fill_ports(self.leader_port)
        self._fill_ports(self.follower_port)

    def ports(self) -> list[str]:
        """The devices listed (without their labels)."""
        combo = self.leader_port
        return [str(combo.itemData(i) or combo.itemText(i)) for i in range(combo.count())]

    def leader_device(self) -> str:
        return port_device(self.leader_port)

    def _with_browse(self, edit: QLineEdit, kind: str) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(edit, 1)
        button = QToolButton()
        button.setText("…")
        button.setToolTip("Choose a calibration file" if kind == "json" else "Choose where to record")
        row.addWidget(button)
        button.clicked.connect(lambda: self._browse(edit, kind))
        return box

    def _browse(self, edit: QLineEdit, kind: str) -> None:
        folder = str(self.session.recordings_dir)
        if kind == "json":
            path, _ = QFileDialog.getOpenFileName(self, "LeRobot calibration", edit.text(), "JSON (*.json)")
        elif self.format_combo.currentData() == "hdf5":
            path, _ = QFileDialog.getSaveFileName(
                self, "Record to", edit.text() or folder, "LeIsaac HDF5 (*.hdf5)"
            )
        else:
            path = QFileDialog.getExistingDirectory(self, "Record into folder", folder)
        if path:
            edit.setText(path)

    # -- the form <-> the session -------------------------------------------------------------------
    def show_form(self) -> None:
        form = self.session.form
        self._filling = True
        try:
            set_port(self.leader_port, form.leader)
            self.leader_cal.setText(form.leader_cal)
            set_port(self.follower_port, form.follower)
            self.follower_cal.setText(form.follower_cal)
            self.cameras_edit.set_value(form.cameras)
            self.format_combo.setCurrentIndex(max(0, self.format_combo.findData(form.format)))
            self.rate_combo.setCurrentIndex(form.rate)
            self.out_edit.setText(form.out)
            for edit in (self.leader_cal, self.follower_cal, self.out_edit):
                edit.setToolTip(edit.text())
        finally:
            self._filling = False

    def store(self) -> None:
        """The widgets' values into the session's form (before connecting or saving)."""
        form = self.session.form
        form.leader = port_device(self.leader_port)
        form.leader_cal = self.leader_cal.text().strip()
        form.follower = port_device(self.follower_port)
        form.follower_cal = self.follower_cal.text().strip()
        form.cameras = self.cameras_edit.value()
        form.rate = self.rate_combo.currentIndex()
        form.format = self.format_combo.currentData()
        form.out = self.out_edit.text().strip()

    def _format_changed(self) -> None:
        if self._filling:
            return
        self.store()
        self.session.set_format(self.format_combo.currentData())  # the pane hears "form" and refills

    def show_connection(self) -> None:
        """Button, status line and which fields can be edited, after the session's connection."""
        session = self.session
        state = session.connection
        self.connect_button.setText("Disconnect" if state in ("connected", "disconnecting") else "Connect")
        self.connect_button.setEnabled(state in ("connected", "disconnected"))
        self.connect_status.setText(breakable(short_paths(session.status_text)))
        self.connect_status.setToolTip(session.status_text)
        editable = state == "disconnected"
        for widget in (
            self.leader_port,
            self.follower_port,
            self.leader_cal,
            self.follower_cal,
            self.cameras_edit,
            self.rate_combo,
            self.format_combo,
            self.out_edit,
            self.calibrate_button,
            self.virtual_button,
        ):
            widget.setEnabled(editable)

    def on_connect(self, slot: Callable[[], None]) -> None:
        self.connect_button.clicked.connect(slot)

    def on_start_virtual(self, slot: Callable[[], None]) -> None:
        self.virtual_button.clicked.connect(slot)

    def on_calibrate(self, slot: Callable[[], None]) -> None:
        self.calibrate_button.clicked.connect(slot)
