"""Feetech packets: encoding, checksums, sign-magnitude fields, and a fuzzed stream parser."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.teleop import protocol as P


def test_ping_and_read_packets_match_the_wire_format():
    assert P.ping_packet(1) == bytes.fromhex("ff ff 01 02 01 fb")
    # READ Present_Position (56 = 0x38), 2 bytes: ~(1 + 4 + 2 + 0x38 + 2) & 0xff = 0xbe
    assert P.read_packet(1, 0x38, 2) == bytes.fromhex("ff ff 01 04 02 38 02 be")


def test_write_sync_read_and_sync_write_layouts():
    pkt = P.write_packet(3, 42, (2047).to_bytes(2, "little"))
    assert pkt[:6] == bytes([0xFF, 0xFF, 3, 5, 0x03, 42]) and pkt[6:8] == b"\xff\x07"
    assert pkt[-1] == P.checksum(pkt[2:-1])
    sr = P.sync_read_packet(56, 2, [1, 2, 3, 4, 5, 6])
    assert (
        sr[2] == P.BROADCAST_ID
        and sr[3] == 6 + 4
        and sr[4] == 0x82
        and list(sr[5:13]) == [56, 2, 1, 2, 3, 4, 5, 6]
    )
    sw = P.sync_write_packet(42, 2, {1: b"\x01\x02", 2: b"\x03\x04"})
    assert list(sw[5:13]) == [42, 2, 1, 1, 2, 2, 3, 4] and sw[3] == 8 + 2
    with pytest.raises(P.ProtocolError):
        P.sync_write_packet(42, 2, {1: b"\x01"})


def test_checksum_formula():
    body = bytes([7, 4, 0, 0x10, 0x20])
    assert P.checksum(body) == (~(7 + 4 + 0 + 0x10 + 0x20)) & 0xFF


@pytest.mark.parametrize(
    ("value", "bit", "raw"),
    [
        (0, 11, 0),
        (156, 11, 156),
        (-156, 11, 156 | 2048),
        (2047, 11, 2047),
        (-2047, 11, 4095),
        (-1, 15, 0x8001),
        (-4095, 15, 0x8FFF),
        (-5, 10, 1024 + 5),
    ],
)
def test_sign_magnitude(value, bit, raw):
    assert P.encode_sign_magnitude(value, bit) == raw
    assert P.decode_sign_magnitude(raw, bit) == value


def test_homing_offset_beyond_2047_is_refused_like_the_servo_sdk():
    reg = P.REGISTERS["Homing_Offset"]
    with pytest.raises(P.ProtocolError, match="Magnitude 2114 exceeds 2047"):
        P.encode_value(reg, -2114)


def test_register_round_trips():
    for name in (
        "Homing_Offset",
        "Goal_Position",
        "Present_Position",
        "Present_Load",
        "Torque_Enable",
        "Max_Position_Limit",
    ):
        reg = P.REGISTERS[name]
        limit = (1 << reg.sign_bit) - 1 if reg.sign_bit is not None else (1 << (8 * reg.size)) - 1
        for value in (0, 1, 200, min(1023, limit), limit):
            assert P.decode_value(reg, P.encode_value(reg, value)) == value
            if reg.sign_bit is not None:
                assert P.decode_value(reg, P.encode_value(reg, -value)) == -value
    with pytest.raises(P.ProtocolError):
        P.encode_value(P.REGISTERS["Torque_Enable"], 256)


def test_parser_skips_noise_and_resynchronises_after_a_bad_checksum():
    good = P.build_packet(2, 0, b"\x10\x20")
    bad = bytearray(P.build_packet(3, 0, b"\x01\x02"))
    bad[-1] ^= 0xFF
    parser = P.PacketParser()
    parser.feed(b"\x00\x13\xff" + bytes(bad) + good)
    items = parser.packets()
    assert isinstance(items[0], P.BadPacket) and items[0].servo_id == 3
    assert items[-1] == P.Packet(2, 0, b"\x10\x20")
    assert parser.pending == 0


def test_parser_byte_by_byte():
    stream = P.build_packet(1, 0, b"\xaa") + P.build_packet(6, 0x20, b"")
    parser = P.PacketParser()
    out = []
    for byte in stream:
        assert parser.bytes_needed() >= 1
        parser.feed(bytes([byte]))
        out += parser.packets()
    assert out == [P.Packet(1, 0, b"\xaa"), P.Packet(6, 0x20, b"")]


def test_parse_packet_requires_exactly_one():
    assert P.parse_packet(P.ping_packet(9)).code == P.Instruction.PING
    with pytest.raises(P.ProtocolError):
        P.parse_packet(P.ping_packet(9) + b"\x00")


packets = st.builds(
    lambda i, c, p: P.build_packet(i, c, p),
    st.integers(0, P.MAX_ID),
    st.integers(0, 255),
    st.binary(max_size=40),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(packets, max_size=8), st.lists(st.integers(1, 9), min_size=1, max_size=8))
def test_fuzz_valid_streams_parse_back_exactly_whatever_the_chunking(frames, cuts):
    stream = b"".join(frames)
    parser = P.PacketParser()
    out, pos, k = [], 0, 0
    while pos < len(stream):
        step = cuts[k % len(cuts)]
        parser.feed(stream[pos : pos + step])
        out += parser.packets()
        pos, k = pos + step, k + 1
    assert [P.build_packet(p.servo_id, p.code, p.params) for p in out] == frames
    assert parser.pending == 0


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_random_bytes_never_crash_and_what_parses_is_consistent(noise):
    parser = P.PacketParser()
    parser.feed(noise)
    for item in parser.packets():
        if isinstance(item, P.Packet):
            frame = P.build_packet(item.servo_id, item.code, item.params)
            assert frame in noise  # a reported packet is really in the stream, checksum and all
        else:
            assert P.checksum(item.raw[2:-1]) != item.raw[-1]
    assert parser.pending <= P.MAX_PACKET_LEN + 4


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=60).map(lambda b: b.replace(b"\xff", b"")), packets)
def test_fuzz_a_packet_after_garbage_is_found(garbage, frame):
    parser = P.PacketParser()
    parser.feed(garbage + frame)
    items = [i for i in parser.packets() if isinstance(i, P.Packet)]
    assert items and P.build_packet(items[-1].servo_id, items[-1].code, items[-1].params) == frame
