"""A Feetech STS3215 serial bus over pyserial: PING, READ, WRITE, SYNC_READ, SYNC_WRITE.

Every transaction checks checksums and ids, times out, retries (the "There is no status packet" /
"Incorrect status packet" failures of real buses come and go) and counts what happened in
``stats``. Port problems a user can fix (missing port, permission, busy) raise ``BusError``
subclasses with a hint; a port that disappears mid-run raises ``BusDisconnectedError``.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import serial

from backend.errors import StudioError
from backend.teleop import protocol as P

DEFAULT_BAUDRATE = 1_000_000


class BusError(StudioError):
    """A serial-bus problem, with the port as the path and what to do as the hint."""


class PortNotFoundError(BusError):
    pass


class PortPermissionError(BusError):
    pass


class PortBusyError(BusError):
    pass


class BusDisconnectedError(BusError):
    pass


class BusTimeoutError(BusError):
    """No (complete) status packet arrived in time."""


class BusChecksumError(BusError):
    """A status packet arrived with a wrong checksum or from the wrong id."""


HINT_NOT_FOUND = (
    "check the USB cable and the arm's power; `rollout-studio ports` lists the ports there are; "
    "udev names like /dev/leader need their rule"
)
HINT_PERMISSION = "add your user to the dialout group (sudo usermod -aG dialout $USER) and log in again"
HINT_BUSY = "another program (or another studio window) has the port open; close it"


@dataclass
class BusStats:
    transactions: int = 0
    retries: int = 0
    timeouts: int = 0
    checksum_errors: int = 0
    servo_errors: int = 0  # status packets with a non-zero error byte
    tx_bytes: int = 0
    rx_bytes: int = 0
    last_error: str = ""
    last_servo_error: dict[int, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {k: (dict(v) if isinstance(v, dict) else v) for k, v in self.__dict__.items()}


def _is_url(port: str) -> bool:
    return "://" in port


def open_serial(port: str, baudrate: int = DEFAULT_BAUDRATE, timeout: float = 0.02) -> serial.Serial:
    """Open a port 8N1 with clear errors for a missing port, a permission problem or a busy port."""
    if not _is_url(port):
        if not os.path.exists(port):
            raise PortNotFoundError("serial port not found", port, HINT_NOT_FOUND)
        if not os.access(port, os.R_OK | os.W_OK):
            raise PortPermissionError("no permission to open the serial port", port, HINT_PERMISSION)
    try:
        if _is_url(port):
            ser = serial.serial_for_url(port, baudrate=baudrate, timeout=timeout, write_timeout=1.0)
        else:
            ser = serial.Serial(port, baudrate=baudrate, timeout=timeout, write_timeout=1.0, exclusive=True)
    except serial.SerialException as error:
        code = getattr(error, "errno", None)
        text = str(error)
        if code == errno.ENOENT or "No such file" in text:
            raise PortNotFoundError("serial port not found", port, HINT_NOT_FOUND) from error
        if code in (errno.EACCES, errno.EPERM) or "Permission denied" in text:
            raise PortPermissionError(
                "no permission to open the serial port", port, HINT_PERMISSION
            ) from error
        if code == errno.EBUSY or "lock" in text.lower() or "busy" in text.lower():
            raise PortBusyError("serial port is busy", port, HINT_BUSY) from error
        raise BusError(f"cannot open serial port: {text}", port, HINT_NOT_FOUND) from error
    try:  # FTDI adapters answer faster with it; CH340 and ptys simply do not support it
        ser.set_low_latency_mode(True)
    except (AttributeError, ValueError, OSError, NotImplementedError):
        pass
    return ser


class FeetechBus:
    """One serial port with STS servos on it. Thread-safe: one transaction at a time."""

    def __init__(
        self,
        port: str,
        baudrate: int = DEFAULT_BAUDRATE,
        timeout: float = 0.02,
        retries: int = 2,
        serial_factory: Callable[[str, int, float], Any] | None = None,
    ) -> None:
        self.port = port
        self.baudrate = baudrate
        self.timeout = timeout
        self.retries = retries
        self._factory = serial_factory or open_serial
        self._ser: Any = None
        self._parser = P.PacketParser()
        self._lock = threading.RLock()
        self.stats = BusStats()

    # -- connection -------------------------------------------------------------------------------
    def open(self) -> FeetechBus:
        with self._lock:
            if self._ser is None:
                self._ser = self._factory(self.port, self.baudrate, self.timeout)
                self._parser.clear()
        return self

    def close(self) -> None:
        with self._lock:
            if self._ser is not None:
                try:
                    self._ser.close()
                except Exception:  # noqa: BLE001 - a vanished device may fail to close
                    pass
                self._ser = None

    @property
    def is_open(self) -> bool:
        return self._ser is not None

    def __enter__(self) -> FeetechBus:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _require_open(self) -> Any:
        if self._ser is None:
            raise BusDisconnectedError("serial port is not open", self.port, "connect first")
        return self._ser

    def _disconnected(self, error: Exception) -> BusDisconnectedError:
        self.close()
        self.stats.last_error = f"disconnected: {error}"
        return BusDisconnectedError(f"serial port disconnected ({error})", self.port, HINT_NOT_FOUND)

    # -- raw I/O ----------------------------------------------------------------------------------
    def _send(self, packet: bytes) -> None:
        ser = self._require_open()
        try:
            if ser.in_waiting:
                ser.reset_input_buffer()
            self._parser.clear()
            ser.write(packet)
        except (serial.SerialException, OSError) as error:
            raise self._disconnected(error) from error
        self.stats.tx_bytes += len(packet)

    def _receive(self, expected_id: int, deadline: float, later_ids: tuple[int, ...] = ()) -> P.Packet:
        ser = self._require_open()
        while True:
            item = self._parser.next()
            if isinstance(item, P.BadPacket):
                self.stats.checksum_errors += 1
                raise BusChecksumError(
                    f"Incorrect status packet from id {item.servo_id} (checksum)", self.port
                )
            if item is not None:
                if item.servo_id in later_ids:  # the expected servo stayed silent
                    self.stats.timeouts += 1
                    raise BusTimeoutError(f"There is no status packet from id {expected_id}", self.port)
                if item.servo_id != expected_id:
                    self.stats.checksum_errors += 1
                    raise BusChecksumError(
                        f"Incorrect status packet: id {item.servo_id}, expected {expected_id}", self.port
                    )
                if item.error:
                    self.stats.servo_errors += 1
                    self.stats.last_servo_error[item.servo_id] = item.error
                return item
            if time.perf_counter() > deadline:
                self.stats.timeouts += 1
                raise BusTimeoutError(f"There is no status packet from id {expected_id}", self.port)
            try:
                data = ser.read(self._parser.bytes_needed())
            except (serial.SerialException, OSError) as error:
                raise self._disconnected(error) from error
            if data:
                self.stats.rx_bytes += len(data)
                self._parser.feed(data)

    def _transact(self, packet: bytes, reply_ids: list[int], timeout: float | None = None) -> list[P.Packet]:
        """Send one packet and collect one status packet per id in ``reply_ids``, with retries."""
        budget = timeout if timeout is not None else self.timeout * max(1, len(reply_ids))
        last: BusError | None = None
        with self._lock:
            for attempt in range(self.retries + 1):
                if attempt:
                    self.stats.retries += 1
                self.stats.transactions += 1
                self._send(packet)
                deadline = time.perf_counter() + budget
                try:
                    return [
                        self._receive(i, deadline, tuple(reply_ids[k + 1 :])) for k, i in enumerate(reply_ids)
                    ]
                except (BusTimeoutError, BusChecksumError) as error:
                    last = error
                    self.stats.last_error = error.problem
                    time.sleep(0.0005)  # let a late reply arrive before the buffer is reset
            assert last is not None
            raise last

    # -- instructions -----------------------------------------------------------------------------
    def ping(self, servo_id: int) -> int:
        """PING a servo; returns its status error byte. Raises ``BusTimeoutError`` if silent."""
        (reply,) = self._transact(P.ping_packet(servo_id), [servo_id])
        return reply.error

    def read(self, servo_id: int, address: int, length: int) -> bytes:
        (reply,) = self._transact(P.read_packet(servo_id, address, length), [servo_id])
        if len(reply.params) != length:
            raise BusChecksumError(
                f"Incorrect status packet: {len(reply.params)} bytes from id {servo_id}, expected {length}",
                self.port,
            )
        return reply.params

    def write(self, servo_id: int, address: int, data: bytes) -> None:
        if servo_id == P.BROADCAST_ID:
            with self._lock:
                self._send(P.write_packet(servo_id, address, data))
            return
        self._transact(P.write_packet(servo_id, address, data), [servo_id])

    def sync_read(self, address: int, length: int, ids: Iterable[int]) -> dict[int, bytes]:
        ids = list(ids)
        replies = self._transact(P.sync_read_packet(address, length, ids), ids)
        out: dict[int, bytes] = {}
        for servo_id, reply in zip(ids, replies, strict=True):
            if len(reply.params) != length:
                raise BusChecksumError(
                    f"Incorrect status packet: {len(reply.params)} bytes from id {servo_id}", self.port
                )
            out[servo_id] = reply.params
        return out

    def sync_write(self, address: int, length: int, data: dict[int, bytes]) -> None:
        """SYNC_WRITE gets no reply: nothing to retry, only a disconnect can fail it."""
        with self._lock:
            self.stats.transactions += 1
            self._send(P.sync_write_packet(address, length, data))

    # -- registers by name ------------------------------------------------------------------------
    def read_register(self, servo_id: int, name: str) -> int:
        reg = P.REGISTERS[name]
        return P.decode_value(reg, self.read(servo_id, reg.address, reg.size))

    def write_register(self, servo_id: int, name: str, value: int) -> None:
        reg = P.REGISTERS[name]
        self.write(servo_id, reg.address, P.encode_value(reg, value))

    def sync_read_register(self, name: str, ids: Iterable[int]) -> dict[int, int]:
        reg = P.REGISTERS[name]
        raw = self.sync_read(reg.address, reg.size, ids)
        return {i: P.decode_value(reg, data) for i, data in raw.items()}

    def sync_write_register(self, name: str, values: dict[int, int]) -> None:
        reg = P.REGISTERS[name]
        self.sync_write(reg.address, reg.size, {i: P.encode_value(reg, v) for i, v in values.items()})

    def scan(self, ids: Iterable[int] = range(0, P.MAX_ID + 1), timeout: float = 0.005) -> dict[int, int]:
        """PING every id once (no retries); returns {id: model number} of those that answer."""
        found: dict[int, int] = {}
        with self._lock:
            for servo_id in ids:
                self._send(P.ping_packet(servo_id))
                try:
                    self._receive(servo_id, time.perf_counter() + timeout)
                except (BusTimeoutError, BusChecksumError):
                    continue
                try:
                    found[servo_id] = self.read_register(servo_id, "Model_Number")
                except BusError:
                    found[servo_id] = -1
        return found
