"""Teleop's left column: the connection form (ports, calibration files, cameras, rate, format, output),
the Connect button with its status line, and the calibration entry. It shows and edits the
``RecordingSession``'s form; it scrolls vertically and reflows to its width (labels above the fields
when narrow), so nothing is cut at 1280x800."""

from __future__ import annotations

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
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from backend.sessions.recording import RecordingSession
from backend.teleop.ports import list_arm_ports

ZWSP = "\u200b"


def breakable(text: str) -> str:
    """Long paths wrap in a label (a break chance after every / and _) instead of widening it."""
    return text.replace("/", "/" + ZWSP).replace("_", "_" + ZWSP)


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
        self.cameras_edit = QPlainTextEdit()
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
        self.connect_status = QLabel()
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
        self._fill_ports(combo)
        return combo

    def _fill_ports(self, combo: QComboBox) -> None:
        current = combo.currentText()
        combo.clear()
        if combo.property("optional"):
            combo.addItem("")
        for port in list_arm_ports():
            combo.addItem(port.device)
            combo.setItemData(combo.count() - 1, port.label, Qt.ItemDataRole.ToolTipRole)
        combo.setCurrentText(current)

    def refresh_ports(self) -> None:
        self._fill_ports(self.leader_port)
        self._fill_ports(self.follower_port)

    def ports(self) -> list[str]:
        return [self.leader_port.itemText(i) for i in range(self.leader_port.count())]

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
            self.leader_port.setCurrentText(form.leader)
            self.leader_cal.setText(form.leader_cal)
            self.follower_port.setCurrentText(form.follower)
            self.follower_cal.setText(form.follower_cal)
            self.cameras_edit.setPlainText(form.cameras)
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
        form.leader = self.leader_port.currentText().strip()
        form.leader_cal = self.leader_cal.text().strip()
        form.follower = self.follower_port.currentText().strip()
        form.follower_cal = self.follower_cal.text().strip()
        form.cameras = self.cameras_edit.toPlainText()
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
        self.connect_status.setText(breakable(session.status_text))
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
        ):
            widget.setEnabled(editable)

    def on_connect(self, slot: Callable[[], None]) -> None:
        self.connect_button.clicked.connect(slot)

    def on_calibrate(self, slot: Callable[[], None]) -> None:
        self.calibrate_button.clicked.connect(slot)
