"""The real serial code (pyserial) against the virtual SO-101 on a pseudo-terminal."""

from __future__ import annotations

import errno
import time

import numpy as np
import pytest
import serial

from backend.teleop import bus as busmod
from backend.teleop import protocol as P
from backend.teleop.arm import SO101Arm
from backend.teleop.bus import (
    BusChecksumError,
    BusDisconnectedError,
    BusTimeoutError,
    FeetechBus,
    PortBusyError,
    PortNotFoundError,
    PortPermissionError,
)
from backend.teleop.calibration import JOINTS, CalibrationError
from backend.teleop.calibration_procedure import CalibrationProcedure
from backend.teleop.motions import MID_POSE
from backend.teleop.virtual_arm import HALF_RANGE, VirtualSO101, ideal_calibration, preload_calibration


@pytest.fixture
def varm():
    arm = VirtualSO101("still", wire_delay=False, follow_tau=0.0).start()
    yield arm
    arm.stop()


def test_ping_read_write_and_model(varm):
    with FeetechBus(varm.port, retries=0) as bus:
        assert bus.ping(1) == 0
        assert bus.read_register(3, "Model_Number") == P.STS3215_MODEL_NUMBER
        with pytest.raises(BusTimeoutError, match="There is no status packet from id 9"):
            bus.ping(9)
        bus.write_register(2, "Return_Delay_Time", 0)
        assert varm.register(2, "Return_Delay_Time") == 0
        # 50 ms an id, as ports.probe scans: the virtual arm answers from a thread of this busy test
        # process, and at scan's 5 ms default it missed id 1 once in a CI run (load of other tests)
        assert bus.scan(range(0, 10), timeout=0.05) == dict.fromkeys(range(1, 7), P.STS3215_MODEL_NUMBER)


def test_sync_read_positions_follow_homing_offset(varm):
    with FeetechBus(varm.port) as bus:
        pose = np.array([0.2, -0.3, 0.1, 0.0, 0.5, 0.7])
        varm.set_pose(pose)
        before = bus.sync_read_register("Present_Position", range(1, 7))
        expected = np.rint(varm.pose_to_actual(pose)).astype(int)
        assert [before[i] for i in range(1, 7)] == expected.tolist()
        bus.write_register(1, "Lock", 0)
        bus.write_register(1, "Homing_Offset", -156)
        after = bus.sync_read_register("Present_Position", [1])
        assert after[1] == before[1] + 156  # Present = actual - Homing_Offset
        assert varm.register(1, "Homing_Offset") == -156
        raw = bus.read(1, 31, 2)
        assert int.from_bytes(raw, "little") == 156 | (1 << 11)  # sign-magnitude, bit 11


def test_eeprom_is_stored_only_while_unlocked(varm):
    with FeetechBus(varm.port) as bus:
        bus.write_register(4, "Max_Position_Limit", 3000)  # Lock is 1 after power-on
        assert varm.register(4, "Max_Position_Limit") == 3000
        varm.power_cycle()
        assert varm.register(4, "Max_Position_Limit") == 4095
        bus.write_register(4, "Lock", 0)
        bus.write_register(4, "Max_Position_Limit", 3000)
        varm.power_cycle()
        assert varm.eeprom_value(4, "Max_Position_Limit") == 3000 == varm.register(4, "Max_Position_Limit")


def test_follower_tracks_goals_within_limits(varm):
    arm = SO101Arm(varm.port, ideal_calibration(varm), role="follower")
    arm.connect()
    arm.apply_calibration()
    arm.write_goal_raw(arm.read_raw())
    arm.set_torque(True)
    goal = np.array([-80.0, 10.0, 55.5, 0.0, 99.0, 30.0])
    ticks = arm.write_goal(goal)
    np.testing.assert_array_equal(arm.read_raw(), ticks)  # follow_tau 0: at the goal at once
    np.testing.assert_allclose(arm.read(), goal, atol=0.2)
    arm.write_goal_raw(np.full(6, 4000))  # beyond Max_Position_Limit: the servo clamps
    cal = arm.calibration
    assert arm.read_raw().tolist() == [cal[j].range_max for j in JOINTS]
    arm.disconnect()
    assert varm.register(1, "Torque_Enable") == 0


@pytest.mark.parametrize("fault", ["bad_checksum", "no_reply", "garbage", "truncated", "wrong_id"])
def test_faults_are_retried(varm, fault):
    bus = FeetechBus(varm.port, timeout=0.01, retries=2).open()
    varm.inject(fault, 1, servo_id=3)
    values = bus.sync_read_register("Present_Position", range(1, 7))
    assert len(values) == 6
    if fault != "garbage":
        assert bus.stats.retries == 1
    if fault == "bad_checksum":
        assert bus.stats.checksum_errors == 1
    if fault != "garbage":  # a cut reply swallows the next header: seen as a checksum error or a timeout
        assert bus.stats.checksum_errors + bus.stats.timeouts == 1
    bus.close()


def test_persistent_faults_give_the_field_errors(varm):
    bus = FeetechBus(varm.port, timeout=0.005, retries=2).open()
    varm.inject("no_reply", 3, servo_id=2)
    with pytest.raises(BusTimeoutError, match="There is no status packet from id 2"):
        bus.sync_read_register("Present_Position", range(1, 7))
    varm.inject("bad_checksum", 3)
    with pytest.raises(BusChecksumError, match="Incorrect status packet"):
        bus.read_register(1, "Present_Position")
    assert bus.stats.retries == 4
    bus.close()


def test_disconnect_and_missing_port(tmp_path):
    link = tmp_path / "leader"
    varm = VirtualSO101("still", wire_delay=False, link=link).start()
    bus = FeetechBus(str(link)).open()
    bus.ping(1)
    varm.disconnect()
    with pytest.raises(BusDisconnectedError, match="disconnected"):
        bus.sync_read_register("Present_Position", range(1, 7))
    assert not bus.is_open
    with pytest.raises(PortNotFoundError):
        bus.open()
    varm.reconnect()  # the link now points to a new pty
    bus.open()
    assert bus.ping(6) == 0
    bus.close()
    varm.stop()
    with pytest.raises(PortNotFoundError, match="serial port not found") as info:
        FeetechBus(str(tmp_path / "nope")).open()
    assert "rollout-studio ports" in info.value.message


def test_permission_and_busy_errors_are_clear(monkeypatch, varm):
    monkeypatch.setattr(busmod.os, "access", lambda *a: False)
    with pytest.raises(PortPermissionError, match="dialout"):
        FeetechBus(varm.port).open()
    monkeypatch.undo()

    def busy(*a, **k):
        raise serial.SerialException(errno.EBUSY, "could not open port: [Errno 16] Device or resource busy")

    monkeypatch.setattr(busmod.serial, "Serial", busy)
    with pytest.raises(PortBusyError, match="busy"):
        FeetechBus(varm.port).open()


def test_check_motors_names_the_silent_ones(varm):
    del varm._by_id[3]
    with pytest.raises(busmod.BusError, match=r"elbow_flex \(id 3\)"):
        SO101Arm(varm.port, timeout=0.005, retries=0).connect()


def test_calibration_procedure_recovers_the_virtual_arm_exactly(varm):
    arm = SO101Arm(varm.port).connect()
    proc = CalibrationProcedure(arm, poll_hz=200).start()
    varm.set_pose(MID_POSE)
    offsets = proc.set_middle()
    assert list(offsets.values()) == varm.assembly_offsets.astype(int).tolist()
    for u in (-1.0, 1.0):  # every joint to both ends
        pose = np.full(6, u)
        pose[5] = (u + 1) / 2
        varm.set_pose(pose)
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            snap = proc.snapshot()
            if snap.samples and all(
                snap.raw.get(j) == v for j, v in zip(JOINTS, varm.expected_present(pose), strict=True)
            ):
                break
            time.sleep(0.01)
        time.sleep(0.03)
    cal = proc.finish()
    half = np.rint(HALF_RANGE).astype(int)
    assert [cal[j].range_min for j in JOINTS] == (2047 - half).tolist()
    assert [cal[j].range_max for j in JOINTS] == (2047 + half).tolist()
    assert cal == ideal_calibration(varm)
    assert arm.read_calibration().to_dict() == {j: {**cal[j].__dict__} for j in JOINTS}
    varm.set_pose(np.array([0.5, -0.25, 0.0, 1.0, -1.0, 0.8]))
    np.testing.assert_allclose(arm.read(), [50, -25, 0, 100, -100, 80], atol=0.1)
    arm.disconnect()


def test_calibration_refuses_a_joint_far_from_the_middle(varm):
    arm = SO101Arm(varm.port).connect()
    proc = CalibrationProcedure(arm).start()
    varm.assembly_offsets[4] = 2114  # wrist_roll assembled half a turn off
    varm.set_pose(MID_POSE)
    with pytest.raises(CalibrationError, match="Magnitude 2114 exceeds 2047"):
        proc.set_middle()
    proc.stop()


def test_preloaded_calibration_reads_calibrated(varm):
    cal = ideal_calibration(varm)
    preload_calibration(varm, cal)
    arm = SO101Arm(varm.port).connect()
    assert arm.read_calibration() == cal
    assert arm.calibration_mismatches(cal) == []
    arm.calibration = cal
    varm.set_pose(MID_POSE)
    np.testing.assert_allclose(arm.read(), [0, 0, 0, 0, 0, 50], atol=0.1)
