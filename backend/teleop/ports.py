"""Find SO-101 serial ports: USB adapters (CH340 1a86:7523 first), udev names, virtual arms.

A running ``rollout-studio virtual-arm`` registers itself in ``$XDG_RUNTIME_DIR/rollout-studio``
(or the temp dir) so the GUI's port list shows it next to real adapters, labelled as a virtual arm
(``PortInfo.display``). An entry counts only while its process runs: the pid and the process's start
time must both match, so a reused pid never labels another program's terminal as an arm.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from serial.tools import list_ports

from backend.atomic import register_state_root, remove_path
from backend.teleop.bus import BusError, FeetechBus

CH340 = (0x1A86, 0x7523)
UDEV_NAMES = ("/dev/leader", "/dev/follower", "/dev/so101_leader", "/dev/so101_follower")


@dataclass
class PortInfo:
    device: str
    description: str = ""
    vid: int | None = None
    pid: int | None = None
    serial_number: str = ""
    kind: str = "usb"  # usb | udev | virtual
    target: str = ""  # what a udev/virtual link points to
    name: str = ""  # a virtual arm's name ("demo leader")

    @property
    def likely_arm(self) -> bool:
        return self.kind in ("udev", "virtual") or (self.vid, self.pid) == CH340

    @property
    def label(self) -> str:
        extra = self.description or self.kind
        return f"{self.device} ({extra})"

    @property
    def display(self) -> str:
        """What a port list shows: the device, and for a virtual arm which one it is."""
        return f"{self.device} (virtual arm: {self.name})" if self.kind == "virtual" else self.device

    def as_dict(self) -> dict:
        return {**asdict(self), "likely_arm": self.likely_arm}


def registry_dir() -> Path:
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    return Path(base) / "rollout-studio" / "virtual-arms"


def process_start(pid: int) -> str:
    """When process ``pid`` started (clock ticks since boot, from /proc), "" where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return ""
    fields = stat.rsplit(")", 1)[-1].split()  # after "pid (comm)": state is field 3, starttime 22
    return fields[19] if len(fields) > 19 else ""


def register_virtual(device: str, name: str, pid: int | None = None) -> Path:
    """Announce a virtual arm serving ``device`` from process ``pid`` (this one by default)."""
    pid = pid or os.getpid()
    folder = registry_dir()
    folder.mkdir(parents=True, exist_ok=True)
    entry = folder / f"{pid}-{name}.json"
    record = {"device": device, "name": name, "pid": pid, "start": process_start(pid)}
    entry.write_text(json.dumps(record), encoding="utf-8")
    return entry


def _alive(data: dict) -> bool:
    pid = int(data["pid"])
    os.kill(pid, 0)  # OSError when gone
    start = str(data.get("start") or "")
    return not start or start == process_start(pid)


def virtual_ports() -> list[PortInfo]:
    out = []
    folder = registry_dir()
    if not folder.is_dir():
        return out
    for entry in sorted(folder.glob("*.json")):
        try:
            data = json.loads(entry.read_text(encoding="utf-8"))
            alive = _alive(data)
        except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError):
            alive = False
        if not alive:
            register_state_root(folder)
            remove_path(entry)  # the virtual arm is gone
            continue
        if os.path.exists(data["device"]):
            name = str(data["name"])
            out.append(PortInfo(data["device"], f"virtual SO-101 '{name}'", kind="virtual", name=name))
    return out


def list_arm_ports() -> list[PortInfo]:
    """All serial ports, likely arms first (CH340 adapters, udev names, virtual arms)."""
    found: dict[str, PortInfo] = {}
    for name in UDEV_NAMES:
        if os.path.exists(name):
            found[name] = PortInfo(name, "udev name", kind="udev", target=os.path.realpath(name))
    for info in list_ports.comports():
        found.setdefault(
            info.device,
            PortInfo(
                info.device,
                info.description if info.description != "n/a" else "",
                info.vid,
                info.pid,
                info.serial_number or "",
            ),
        )
    for port in virtual_ports():
        found.setdefault(port.device, port)
    return sorted(found.values(), key=lambda p: (not p.likely_arm, p.kind != "udev", p.device))


def find_new_port(before: list[str], after: list[str]) -> str | None:
    """LeRobot's find-port trick: the port present in one listing and not the other (unplug/replug)."""
    diff = set(before) ^ set(after)
    return diff.pop() if len(diff) == 1 else None


def probe(port: str, ids: range = range(1, 7), timeout: float = 0.05) -> dict[int, int]:
    """{id: model number} of the servos answering on ``port`` ({} if it is not a Feetech bus)."""
    try:
        with FeetechBus(port, timeout=timeout, retries=0) as bus:
            return bus.scan(ids, timeout=timeout)
    except BusError:
        return {}
