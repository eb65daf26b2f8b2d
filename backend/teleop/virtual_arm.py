"""A virtual SO-101 on a pseudo-terminal, speaking the Feetech protocol byte for byte.

The studio's real serial code (``FeetechBus`` over pyserial) opens ``arm.port`` and cannot tell it
from a USB adapter: six STS3215 control tables (EEPROM and RAM, Lock, sign-magnitude fields),
``Present = actual - Homing_Offset``, position limits, torque and goal tracking for a follower,
and the wire time of 1 Mbaud. An operator's hand is a *motion* (``motions.py``) played on a clock:
``clock="time"`` (real time) or ``clock="reads"`` (one step per position read, deterministic for
tests). Faults can be injected: no reply, bad checksum, garbage, a truncated reply, a disconnect.

    with VirtualSO101(motion="wave") as arm:
        bus = FeetechBus(arm.port).open()
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import select
import threading
import time
import tty
from collections import deque
from collections.abc import Callable
from pathlib import Path

import numpy as np

from backend.atomic import place_link, remove_link
from backend.teleop import protocol as P
from backend.teleop.calibration import JOINTS, Calibration, MotorCalibration
from backend.teleop.motions import MID_POSE, Motion, load_motion

TICKS_PER_DEGREE = P.RESOLUTION / 360.0
# Mechanical half ranges (ticks) from the USD joint ranges; gripper: full span.
HALF_RANGE = np.array([110, 100, 95, 95, 160, 110]) * TICKS_PER_DEGREE
HALF_RANGE[5] /= 2.0
# Where each joint's middle sits on its encoder (actual ticks - 2047): how the arm was assembled.
ASSEMBLY_OFFSETS = {
    0: np.array([-156, 89, 210, -120, 40, -60]),
    1: np.array([312, -240, -75, 188, -22, 140]),
}

FAULT_KINDS = ("no_reply", "bad_checksum", "garbage", "truncated", "wrong_id")


class VirtualServo:
    """One STS3215's control table plus its mechanics."""

    def __init__(self, servo_id: int, voltage: int = 74) -> None:
        self.eeprom = bytearray(P.CONTROL_TABLE_SIZE)
        self.mem = self.eeprom  # replaced by a RAM copy in power_on
        w = self._put_eeprom
        w("Firmware_Major_Version", 3)
        w("Firmware_Minor_Version", 10)
        w("Model_Number", P.STS3215_MODEL_NUMBER)
        w("ID", servo_id)
        w("Baud_Rate", 0)
        w("Return_Delay_Time", 0)
        w("Response_Status_Level", 1)
        w("Min_Position_Limit", 0)
        w("Max_Position_Limit", P.MAX_RAW)
        w("Max_Temperature_Limit", 70)
        w("Max_Voltage_Limit", 140)
        w("Min_Voltage_Limit", 40)
        w("Max_Torque_Limit", 1000)
        w("P_Coefficient", 32)
        w("D_Coefficient", 32)
        w("Protection_Current", 500)
        w("Angular_Resolution", 1)
        w("Homing_Offset", 0)
        w("Operating_Mode", 0)
        w("Overload_Torque", 80)
        self.voltage = voltage
        self.actual = 2047.0  # encoder ticks, unbounded float; reported rounded
        self.velocity = 0.0  # ticks/s
        self.power_on()

    def _put_eeprom(self, name: str, value: int) -> None:
        reg = P.REGISTERS[name]
        self.eeprom[reg.address : reg.address + reg.size] = P.encode_value(reg, value)

    def power_on(self) -> None:
        self.mem = bytearray(self.eeprom)
        self.set("Lock", 1)
        self.set("Torque_Enable", 0)
        self.set("Max_Torque_Limit", self.get("Max_Torque_Limit"))
        self.set("Torque_Limit", 1000)

    @property
    def servo_id(self) -> int:
        return self.mem[5]

    def get(self, name: str) -> int:
        reg = P.REGISTERS[name]
        return P.decode_value(reg, self.mem[reg.address : reg.address + reg.size])

    def set(self, name: str, value: int) -> None:
        reg = P.REGISTERS[name]
        self.mem[reg.address : reg.address + reg.size] = P.encode_value(reg, value)

    @property
    def torque(self) -> bool:
        return bool(self.mem[P.REGISTERS["Torque_Enable"].address])

    def present(self) -> int:
        return int(round(self.actual)) - self.get("Homing_Offset")

    def goal_actual(self) -> float:
        goal = self.get("Goal_Position")
        goal = min(max(goal, self.get("Min_Position_Limit")), self.get("Max_Position_Limit"))
        return float(goal + self.get("Homing_Offset"))

    def refresh_live_registers(self) -> None:
        """Fill Present_* registers from the mechanics before a read."""
        present = max(-32767, min(32767, self.present()))
        self.set("Present_Position", present)
        self.set("Present_Velocity", max(-32767, min(32767, int(round(self.velocity)))))
        load = 0
        if self.torque:
            load = int(max(-1000, min(1000, (self.goal_actual() - self.actual) * 2)))
        self.set("Present_Load", load)
        self.set("Present_Voltage", self.voltage)
        self.set("Present_Temperature", 31)
        self.set("Present_Current", abs(load) // 4)
        self.set("Moving", int(abs(self.velocity) > 20))

    def write(self, address: int, data: bytes) -> int:
        """Apply a WRITE; returns the status error byte. EEPROM is stored only while Lock == 0."""
        end = address + len(data)
        if address < 0 or end > P.CONTROL_TABLE_SIZE:
            return 0x08
        was_torque = self.torque
        self.mem[address:end] = data
        if address < P.EEPROM_END and self.get("Lock") == 0:
            stop = min(end, P.EEPROM_END)
            self.eeprom[address:stop] = self.mem[address:stop]
        if self.torque and not was_torque and not (address <= 42 < end):
            # Enabling torque without a new goal holds the present position.
            self.set("Goal_Position", max(-32767, min(32767, self.present())))
        return 0


class VirtualSO101:
    """Six virtual STS3215 on one pseudo-terminal, served by a background thread."""

    def __init__(
        self,
        motion: str | Motion = "wave",
        *,
        clock: str = "time",
        read_dt: float = 1.0 / 60.0,
        speed: float = 1.0,
        assembly: int | np.ndarray = 0,
        follow_tau: float = 0.04,
        wire_delay: bool = True,
        fault_rate: float = 0.0,
        seed: int = 0,
        link: str | Path | None = None,
        voltage: int = 74,
        record_served: bool = False,
        start_on_request: bool = False,
        realtime: bool = False,
    ) -> None:
        if clock not in ("time", "reads"):
            raise ValueError("clock must be 'time' or 'reads'")
        self.motion: Motion = load_motion(motion) if isinstance(motion, str) else motion
        self.clock = clock
        self.read_dt = read_dt
        self.speed = speed
        offsets = ASSEMBLY_OFFSETS[assembly] if isinstance(assembly, int) else np.asarray(assembly)
        self.assembly_offsets = np.asarray(offsets, dtype=np.float64)
        self.follow_tau = follow_tau
        self.wire_delay = wire_delay
        self.fault_rate = fault_rate
        self._rng = random.Random(seed)
        self.link = Path(link) if link else None
        self.servos = {i + 1: VirtualServo(i + 1, voltage) for i in range(len(JOINTS))}
        self._by_id = dict(self.servos)
        self._faults: deque[tuple[str, int | None]] = deque()
        self._lock = threading.RLock()
        self._manual_pose: np.ndarray | None = None
        self._t0 = time.monotonic()
        self._reads = 0
        self._last_update: float | None = None
        self.requests = 0
        self.replies = 0
        self.bad_requests = 0
        self.record_served = record_served
        self._clock_waiting = start_on_request  # motion time starts at the first request
        self.realtime = realtime  # serve with SCHED_FIFO when allowed (hardware needs no CPU time)
        self.served: list[np.ndarray] = []  # Present_Position vectors sent (when record_served)
        self.on_request: Callable[[P.Packet], None] | None = None
        self._master = self._slave = -1
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.port = ""
        self._update_mechanics(force_pose=True)

    # -- life cycle -------------------------------------------------------------------------------
    def start(self) -> VirtualSO101:
        self._open_pty()
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name="virtual-so101", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        self._close_pty()
        if self.link is not None and self.port:
            remove_link(self.link, self.port)

    def __enter__(self) -> VirtualSO101:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _open_pty(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self.port = os.ttyname(slave)
        if self.link is not None:
            place_link(self.link, self.port)

    def _close_pty(self) -> None:
        for fd in (self._master, self._slave):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = -1

    @property
    def device(self) -> str:
        """The path clients should open: the stable link if any, else the pty."""
        return str(self.link) if self.link is not None else self.port

    # -- faults and operator ----------------------------------------------------------------------
    def inject(self, kind: str, count: int = 1, servo_id: int | None = None) -> None:
        """Queue ``count`` faults for the next replies (of ``servo_id`` if given)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; one of {FAULT_KINDS}")
        with self._lock:
            self._faults.extend([(kind, servo_id)] * count)

    def disconnect(self) -> None:
        """Unplug: the pty vanishes; clients get I/O errors, reopening fails."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        self._close_pty()

    def reconnect(self) -> None:
        """Plug back in: a new pty (new /dev/pts/N); the link, if any, points to it."""
        self.disconnect()
        self.start()

    def power_cycle(self) -> None:
        with self._lock:
            for servo in self.servos.values():
                servo.power_on()
            self._by_id = {s.servo_id: s for s in self.servos.values()}

    def set_pose(self, pose: np.ndarray | None) -> None:
        """Hold the arm by hand at ``pose`` (joint fractions); None returns to the motion."""
        with self._lock:
            self._manual_pose = None if pose is None else np.asarray(pose, dtype=np.float64)
            self._update_mechanics(force_pose=True)

    def set_motion(self, motion: str | Motion) -> None:
        with self._lock:
            self.motion = load_motion(motion) if isinstance(motion, str) else motion
            self._t0 = time.monotonic()
            self._reads = 0

    # -- mechanics --------------------------------------------------------------------------------
    def motion_time(self) -> float:
        if self.clock == "reads":
            return self._reads * self.read_dt
        return (time.monotonic() - self._t0) * self.speed

    def pose_to_actual(self, pose: np.ndarray) -> np.ndarray:
        """Joint fractions -> actual encoder ticks (float) for this arm's assembly."""
        mid = P.MID_RAW + self.assembly_offsets
        actual = mid + np.asarray(pose, dtype=np.float64) * HALF_RANGE
        actual[5] = mid[5] + (pose[5] - 0.5) * 2.0 * HALF_RANGE[5]
        return actual

    def expected_present(self, pose: np.ndarray) -> np.ndarray:
        """Present_Position (ints) a read would return in ``pose`` with the current homing offsets."""
        offsets = np.array([self.servos[i + 1].get("Homing_Offset") for i in range(len(JOINTS))])
        return np.rint(self.pose_to_actual(pose)).astype(np.int64) - offsets

    def _update_mechanics(self, force_pose: bool = False) -> None:
        now = time.monotonic()
        dt = 0.0 if self._last_update is None else now - self._last_update
        self._last_update = now
        pose = self._manual_pose if self._manual_pose is not None else self.motion(self.motion_time())
        if pose is None:
            pose = MID_POSE
        hand = self.pose_to_actual(pose)
        for i, servo in enumerate(self.servos.values()):
            previous = servo.actual
            if servo.torque and not force_pose:
                target = servo.goal_actual()
                if self.follow_tau <= 0:
                    servo.actual = target
                else:
                    servo.actual += (target - servo.actual) * (1.0 - math.exp(-dt / self.follow_tau))
            elif not servo.torque:
                servo.actual = float(hand[i])
            if dt > 0:
                servo.velocity = (servo.actual - previous) / dt

    # -- serving ----------------------------------------------------------------------------------
    def _serve(self) -> None:
        if self.realtime:
            with contextlib.suppress(OSError, AttributeError):
                os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(20))
        parser = P.PacketParser()
        master = self._master
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([master], [], [], 0.05)
            except (OSError, ValueError):
                return
            if not ready:
                continue
            try:
                data = os.read(master, 4096)
            except BlockingIOError:
                continue
            except OSError:
                return
            if not data:
                continue
            parser.feed(data)
            for item in parser.packets():
                if isinstance(item, P.BadPacket):
                    self.bad_requests += 1  # a servo ignores a corrupt instruction
                    continue
                reply = self._handle(item)
                if reply is None:
                    continue
                request_len = len(item.params) + 6
                if self.wire_delay:
                    baud = P.BAUD_RATES.get(self.servos[1].mem[6], 1_000_000)
                    delay = (request_len + len(reply)) * 10.0 / baud
                    delay += self.servos[1].get("Return_Delay_Time") * 2e-6
                    time.sleep(delay)
                try:
                    os.write(master, reply)
                except OSError:
                    return

    def _status(self, servo: VirtualServo, error: int = 0, params: bytes = b"") -> bytes:
        packet = P.build_packet(servo.servo_id, error, params)
        fault = self._next_fault(servo.servo_id)
        if fault is None:
            self.replies += 1
            return packet
        if fault == "no_reply":
            return b""
        if fault == "bad_checksum":
            return packet[:-1] + bytes([packet[-1] ^ 0x5A])
        if fault == "garbage":
            return bytes(self._rng.randrange(256) for _ in range(7)) + packet
        if fault == "truncated":
            return packet[: len(packet) // 2]
        if fault == "wrong_id":
            other = servo.servo_id % len(self.servos) + 1
            return P.build_packet(other, error, params)
        return packet

    def _next_fault(self, servo_id: int) -> str | None:
        with self._lock:
            for index, (kind, target) in enumerate(self._faults):
                if target is None or target == servo_id:
                    del self._faults[index]
                    return kind
        if self.fault_rate and self._rng.random() < self.fault_rate:
            return self._rng.choice(("no_reply", "bad_checksum"))
        return None

    def _handle(self, packet: P.Packet) -> bytes | None:
        self.requests += 1
        if self._clock_waiting:
            self._clock_waiting = False
            self._t0 = time.monotonic()
        if self.on_request is not None:
            self.on_request(packet)
        with self._lock:
            inst, params = packet.code, packet.params
            reads_position = False
            if inst in (P.Instruction.READ, P.Instruction.SYNC_READ) and len(params) >= 2:
                addr, length = params[0], params[1]
                reads_position = addr <= P.REGISTERS["Present_Position"].address < addr + length
            self._update_mechanics()
            if reads_position and self.clock == "reads":
                self._reads += 1  # the next read sees the next step of the motion
            if inst == P.Instruction.PING:
                servo = self._by_id.get(packet.servo_id)
                return self._status(servo) if servo else None
            if inst == P.Instruction.READ:
                servo = self._by_id.get(packet.servo_id)
                if servo is None or len(params) != 2:
                    return None
                servo.refresh_live_registers()
                addr, length = params
                reply = self._status(servo, 0, bytes(servo.mem[addr : addr + length]))
                self._remember([servo], addr, length)
                return reply
            if inst in (P.Instruction.WRITE, P.Instruction.REG_WRITE):
                if len(params) < 2:
                    return None
                targets = (
                    list(self._by_id.values())
                    if packet.servo_id == P.BROADCAST_ID
                    else ([self._by_id[packet.servo_id]] if packet.servo_id in self._by_id else [])
                )
                error = 0
                for servo in targets:
                    error = servo.write(params[0], params[1:])
                self._by_id = {s.servo_id: s for s in self.servos.values()}
                if packet.servo_id == P.BROADCAST_ID or not targets:
                    return None
                servo = targets[0]
                if servo.get("Response_Status_Level") == 0:
                    return None
                return self._status(self._by_id.get(servo.servo_id, servo), error)
            if inst == P.Instruction.ACTION:
                return None
            if inst == P.Instruction.SYNC_READ:
                if len(params) < 3:
                    return None
                addr, length, ids = params[0], params[1], list(params[2:])
                out = bytearray()
                served = []
                for servo_id in ids:
                    servo = self._by_id.get(servo_id)
                    if servo is None:
                        continue
                    servo.refresh_live_registers()
                    out += self._status(servo, 0, bytes(servo.mem[addr : addr + length]))
                    served.append(servo)
                self._remember(served, addr, length)
                return bytes(out)
            if inst == P.Instruction.SYNC_WRITE:
                if len(params) < 2:
                    return None
                addr, length = params[0], params[1]
                body = params[2:]
                for k in range(0, len(body) - length, length + 1):
                    servo = self._by_id.get(body[k])
                    if servo is not None:
                        servo.write(addr, body[k + 1 : k + 1 + length])
                self._update_mechanics()
                return None
            return None

    def _remember(self, servos: list[VirtualServo], addr: int, length: int) -> None:
        if self.record_served and addr == P.REGISTERS["Present_Position"].address and length == 2:
            if len(servos) == len(self.servos):
                self.served.append(np.array([s.get("Present_Position") for s in servos]))

    # -- inspection (tests) -----------------------------------------------------------------------
    def register(self, servo_id: int, name: str) -> int:
        with self._lock:
            return self.servos[servo_id].get(name)

    def eeprom_value(self, servo_id: int, name: str) -> int:
        reg = P.REGISTERS[name]
        servo = self.servos[servo_id]
        return P.decode_value(reg, servo.eeprom[reg.address : reg.address + reg.size])


def ideal_calibration(arm: VirtualSO101) -> Calibration:
    """The calibration a perfect operator would get on this virtual arm: middle pose exactly in the
    middle, every joint swept to both mechanical ends (what ``load_calibration`` would read)."""
    calibration = Calibration()
    for i, name in enumerate(JOINTS):
        half = int(round(HALF_RANGE[i]))
        calibration[name] = MotorCalibration(
            id=i + 1,
            drive_mode=0,
            homing_offset=int(round(arm.assembly_offsets[i])),
            range_min=P.MID_RAW - half,
            range_max=P.MID_RAW + half,
        )
    return calibration


def preload_calibration(arm: VirtualSO101, calibration: Calibration) -> None:
    """Store a calibration in the servos' EEPROM, as if the arm had been calibrated before."""
    with arm._lock:
        for name, motor in calibration.items():
            servo = arm.servos[JOINTS.index(name) + 1]
            for reg, value in (
                ("Homing_Offset", motor.homing_offset),
                ("Min_Position_Limit", motor.range_min),
                ("Max_Position_Limit", motor.range_max),
            ):
                servo._put_eeprom(reg, value)
                servo.set(reg, value)
