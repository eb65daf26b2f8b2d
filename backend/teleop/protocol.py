"""Feetech SCS/STS serial-bus protocol ("protocol 0"): packets, checksums, registers, encodings.

Pure functions and a byte-stream parser; no I/O. Shared by the real bus (``bus.py``) and the
virtual arm (``virtual_arm.py``) so both speak exactly the same wire format.

Instruction packet: ``FF FF ID LEN INST PARAM... CHK`` with ``LEN = len(params) + 2``.
Status packet:      ``FF FF ID LEN ERR  PARAM... CHK``.
``CHK = ~(ID + LEN + INST|ERR + sum(params)) & 0xFF``. Multi-byte values are little-endian.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

HEADER = b"\xff\xff"
BROADCAST_ID = 0xFE
MAX_ID = 0xFD
MAX_PACKET_LEN = 250  # sanity bound on LEN; real packets are far shorter

# One STS3215 position encoder turn.
RESOLUTION = 4096
MAX_RAW = RESOLUTION - 1
MID_RAW = MAX_RAW // 2  # 2047
STS3215_MODEL_NUMBER = 777


class Instruction(IntEnum):
    PING = 0x01
    READ = 0x02
    WRITE = 0x03
    REG_WRITE = 0x04
    ACTION = 0x05
    SYNC_READ = 0x82
    SYNC_WRITE = 0x83


# Status error byte bits (SCServo SDK names).
ERROR_BITS = {
    0x01: "input voltage",
    0x02: "angle sensor",
    0x04: "overheat",
    0x08: "overcurrent",
    0x20: "overload",
}


def describe_error(error: int) -> str:
    names = [name for bit, name in ERROR_BITS.items() if error & bit]
    unknown = error & ~sum(ERROR_BITS)
    if unknown:
        names.append(f"0x{unknown:02x}")
    return ", ".join(names) or "none"


@dataclass(frozen=True)
class Register:
    name: str
    address: int
    size: int
    sign_bit: int | None = None  # sign-magnitude encoding: bit holding the sign
    eeprom: bool = False  # persisted across power cycles (needs Lock = 0 to store)


# The STS3215 control table (the part the studio uses).
_REGISTERS = [
    Register("Firmware_Major_Version", 0, 1, eeprom=True),
    Register("Firmware_Minor_Version", 1, 1, eeprom=True),
    Register("Model_Number", 3, 2, eeprom=True),
    Register("ID", 5, 1, eeprom=True),
    Register("Baud_Rate", 6, 1, eeprom=True),
    Register("Return_Delay_Time", 7, 1, eeprom=True),
    Register("Response_Status_Level", 8, 1, eeprom=True),
    Register("Min_Position_Limit", 9, 2, eeprom=True),
    Register("Max_Position_Limit", 11, 2, eeprom=True),
    Register("Max_Temperature_Limit", 13, 1, eeprom=True),
    Register("Max_Voltage_Limit", 14, 1, eeprom=True),
    Register("Min_Voltage_Limit", 15, 1, eeprom=True),
    Register("Max_Torque_Limit", 16, 2, eeprom=True),
    Register("Phase", 18, 1, eeprom=True),
    Register("Unloading_Condition", 19, 1, eeprom=True),
    Register("LED_Alarm_Condition", 20, 1, eeprom=True),
    Register("P_Coefficient", 21, 1, eeprom=True),
    Register("D_Coefficient", 22, 1, eeprom=True),
    Register("I_Coefficient", 23, 1, eeprom=True),
    Register("Minimum_Startup_Force", 24, 2, eeprom=True),
    Register("CW_Dead_Zone", 26, 1, eeprom=True),
    Register("CCW_Dead_Zone", 27, 1, eeprom=True),
    Register("Protection_Current", 28, 2, eeprom=True),
    Register("Angular_Resolution", 30, 1, eeprom=True),
    Register("Homing_Offset", 31, 2, sign_bit=11, eeprom=True),
    Register("Operating_Mode", 33, 1, eeprom=True),
    Register("Protective_Torque", 34, 1, eeprom=True),
    Register("Protection_Time", 35, 1, eeprom=True),
    Register("Overload_Torque", 36, 1, eeprom=True),
    Register("Torque_Enable", 40, 1),
    Register("Acceleration", 41, 1),
    Register("Goal_Position", 42, 2, sign_bit=15),
    Register("Goal_Time", 44, 2),
    Register("Goal_Velocity", 46, 2, sign_bit=15),
    Register("Torque_Limit", 48, 2),
    Register("Lock", 55, 1),
    Register("Present_Position", 56, 2, sign_bit=15),
    Register("Present_Velocity", 58, 2, sign_bit=15),
    Register("Present_Load", 60, 2, sign_bit=10),
    Register("Present_Voltage", 62, 1),
    Register("Present_Temperature", 63, 1),
    Register("Status", 65, 1),
    Register("Moving", 66, 1),
    Register("Present_Current", 69, 2),
    Register("Maximum_Acceleration", 85, 1),
]
REGISTERS: dict[str, Register] = {r.name: r for r in _REGISTERS}
# First RAM address: writes below it touch EEPROM.
EEPROM_END = 40
CONTROL_TABLE_SIZE = 128

BAUD_RATES = {0: 1_000_000, 1: 500_000, 2: 250_000, 3: 128_000, 4: 115_200, 5: 57_600, 6: 38_400, 7: 19_200}


class ProtocolError(ValueError):
    """A value or packet that the protocol cannot carry."""


def checksum(body: bytes | bytearray) -> int:
    """Checksum over ID, LEN, INST/ERR and params (everything after the FF FF header)."""
    return (~sum(body)) & 0xFF


def _check_id(servo_id: int, allow_broadcast: bool = True) -> None:
    if not 0 <= servo_id <= MAX_ID and not (allow_broadcast and servo_id == BROADCAST_ID):
        raise ProtocolError(f"servo id {servo_id} out of range 0..{MAX_ID}")


def build_packet(servo_id: int, code: int, params: bytes | bytearray = b"") -> bytes:
    """Build an instruction (``code`` = instruction) or status (``code`` = error byte) packet."""
    _check_id(servo_id)
    if len(params) + 2 > MAX_PACKET_LEN:
        raise ProtocolError(f"packet too long ({len(params)} params)")
    body = bytes([servo_id, len(params) + 2, code & 0xFF]) + bytes(params)
    return HEADER + body + bytes([checksum(body)])


def ping_packet(servo_id: int) -> bytes:
    return build_packet(servo_id, Instruction.PING)


def read_packet(servo_id: int, address: int, length: int) -> bytes:
    return build_packet(servo_id, Instruction.READ, bytes([address, length]))


def write_packet(servo_id: int, address: int, data: bytes | bytearray) -> bytes:
    return build_packet(servo_id, Instruction.WRITE, bytes([address]) + bytes(data))


def sync_read_packet(address: int, length: int, ids: list[int] | tuple[int, ...]) -> bytes:
    for i in ids:
        _check_id(i, allow_broadcast=False)
    return build_packet(BROADCAST_ID, Instruction.SYNC_READ, bytes([address, length, *ids]))


def sync_write_packet(address: int, length: int, data: dict[int, bytes]) -> bytes:
    params = bytearray([address, length])
    for servo_id, value in data.items():
        _check_id(servo_id, allow_broadcast=False)
        if len(value) != length:
            raise ProtocolError(f"sync write to id {servo_id}: {len(value)} bytes, expected {length}")
        params.append(servo_id)
        params += value
    return build_packet(BROADCAST_ID, Instruction.SYNC_WRITE, params)


# -- value encodings ------------------------------------------------------------------------------


def encode_sign_magnitude(value: int, sign_bit: int) -> int:
    magnitude = abs(int(value))
    limit = (1 << sign_bit) - 1
    if magnitude > limit:
        raise ProtocolError(f"Magnitude {magnitude} exceeds {limit} (sign bit {sign_bit})")
    return magnitude | (1 << sign_bit) if value < 0 else magnitude


def decode_sign_magnitude(raw: int, sign_bit: int) -> int:
    magnitude = raw & ((1 << sign_bit) - 1)
    return -magnitude if raw & (1 << sign_bit) else magnitude


def encode_value(register: Register, value: int) -> bytes:
    """Register value -> little-endian bytes (sign-magnitude where the register says so)."""
    value = int(value)
    if register.sign_bit is not None:
        word = encode_sign_magnitude(value, register.sign_bit)
    else:
        if value < 0 or value >= 1 << (8 * register.size):
            raise ProtocolError(f"{register.name}: {value} does not fit in {register.size} byte(s)")
        word = value
    return word.to_bytes(register.size, "little")


def decode_value(register: Register, data: bytes | bytearray) -> int:
    word = int.from_bytes(bytes(data[: register.size]), "little")
    if register.sign_bit is not None:
        return decode_sign_magnitude(word, register.sign_bit)
    return word


# -- parsing --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Packet:
    """A parsed packet: ``code`` is the instruction (requests) or the error byte (status)."""

    servo_id: int
    code: int
    params: bytes

    @property
    def error(self) -> int:
        return self.code


@dataclass(frozen=True)
class BadPacket:
    """A frame with the right shape but a wrong checksum (the "Incorrect status packet")."""

    servo_id: int
    raw: bytes


class PacketParser:
    """Incremental parser: ``feed(bytes)`` then iterate ``packets()``.

    Survives noise: bytes before a header are skipped (counted in ``skipped``); a frame with a
    bad checksum is reported as ``BadPacket`` and parsing resynchronises one byte after its header.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.skipped = 0

    def feed(self, data: bytes | bytearray) -> None:
        self._buf += data

    def clear(self) -> None:
        self._buf.clear()

    @property
    def pending(self) -> int:
        return len(self._buf)

    def bytes_needed(self) -> int:
        """How many more bytes the next frame needs at least (>= 1)."""
        buf = self._buf
        start = buf.find(HEADER)
        if start < 0:
            return 4 if not buf or buf[-1] != 0xFF else 3
        have = len(buf) - start
        if have < 4:
            return 4 - have
        servo_id, length = buf[start + 2], buf[start + 3]
        if servo_id == 0xFF or length < 2 or length > MAX_PACKET_LEN:
            return 1
        total = 4 + length
        return max(1, total - have)

    def next(self) -> Packet | BadPacket | None:
        buf = self._buf
        while True:
            start = buf.find(HEADER)
            if start < 0:
                keep = 1 if buf and buf[-1] == 0xFF else 0
                self.skipped += len(buf) - keep
                del buf[: len(buf) - keep]
                return None
            if start:
                self.skipped += start
                del buf[:start]
            if len(buf) < 4:
                return None
            servo_id, length = buf[2], buf[3]
            if servo_id == 0xFF or length < 2 or length > MAX_PACKET_LEN:
                # FF FF FF ... (a run of FF) or an impossible length: slide by one byte.
                self.skipped += 1
                del buf[:1]
                continue
            total = 4 + length
            if len(buf) < total:
                return None
            frame = bytes(buf[:total])
            if checksum(frame[2:-1]) != frame[-1]:
                del buf[:2]  # resynchronise just after this header
                self.skipped += 2
                return BadPacket(servo_id, frame)
            del buf[:total]
            return Packet(servo_id, frame[4], frame[5:-1])

    def packets(self) -> list[Packet | BadPacket]:
        out: list[Packet | BadPacket] = []
        while (item := self.next()) is not None:
            out.append(item)
        return out


def parse_packet(frame: bytes) -> Packet:
    """Parse exactly one complete frame; raise ``ProtocolError`` if it is not one."""
    parser = PacketParser()
    parser.feed(frame)
    item = parser.next()
    if item is None or parser.pending or parser.skipped:
        raise ProtocolError(f"not exactly one packet: {frame.hex(' ')}")
    if isinstance(item, BadPacket):
        raise ProtocolError(f"bad checksum: {frame.hex(' ')}")
    return item
