"""Safety of a policy's actions: envelope from the calibration, step limit, chunk checks, watchdog."""

from __future__ import annotations

import numpy as np
import pytest

from backend.policy.safety import ActionFault, Envelope, Safety, SafetyConfig
from backend.teleop.calibration import DEGREES_NORM_MODES, JOINTS, Calibration, MotorCalibration


def calibration() -> Calibration:
    return Calibration({
        name: MotorCalibration(id=i + 1, drive_mode=0, homing_offset=0, range_min=1000, range_max=3000)
        for i, name in enumerate(JOINTS)
    })


def safety(**kwargs) -> Safety:
    return Safety(Envelope.from_calibration(calibration()), SafetyConfig(**kwargs))


def test_envelope_from_calibration_in_action_units():
    env = Envelope.from_calibration(calibration())
    np.testing.assert_allclose(env.low, [-100, -100, -100, -100, -100, 0])
    np.testing.assert_allclose(env.high, [100, 100, 100, 100, 100, 100])
    degrees = Envelope.from_calibration(calibration(), DEGREES_NORM_MODES)
    # 2000 ticks around the middle: +-1000 ticks = +-87.9 degrees (LeRobot divides by 4095)
    np.testing.assert_allclose(degrees.high[:5], 1000 * 360 / 4095)
    np.testing.assert_allclose(degrees.low[:5], -1000 * 360 / 4095)


def test_good_chunk_passes_and_small_overshoot_is_clipped():
    s = safety(tolerance=2.0)
    chunk = np.zeros((16, 6))
    chunk[:, 5] = 50
    chunk[4, 0] = 101.5  # within the tolerance: clipped onto the envelope
    out = s.check_chunk(chunk)
    assert out[4, 0] == 100.0 and out[0, 5] == 50.0


@pytest.mark.parametrize(
    "row, joint, value, message",
    [
        (3, 1, np.nan, "the policy sent nan for shoulder_lift (step 3 of the chunk)"),
        (0, 4, np.inf, "the policy sent inf for wrist_roll (step 0 of the chunk)"),
        (7, 0, 180.0, "outside the joint envelope: shoulder_pan 180.0 (allowed -100.0..100.0)"),
        (2, 5, -30.0, "gripper -30.0 (allowed 0.0..100.0)"),
    ],
)
def test_refused_chunks(row, joint, value, message):
    chunk = np.full((16, 6), 10.0)
    chunk[row, joint] = value
    with pytest.raises(ActionFault) as error:
        safety().check_chunk(chunk)
    assert message in str(error.value)


def test_wrong_width_is_refused():
    with pytest.raises(ActionFault, match=r"shape \(16, 5\), expected \(N, 6\)"):
        safety().check_chunk(np.zeros((16, 5)))


def test_step_limit():
    s = safety(max_step=5.0)
    previous = np.array([0, 0, 0, 0, 0, 50.0])
    goal = s.limit(np.array([20, -3, -40, 4, 100, 0.0]), previous)
    np.testing.assert_allclose(goal, [5, -3, -5, 4, 5, 45])
    np.testing.assert_allclose(s.limit(np.array([500, 0, 0, 0, 0, 0.0]), None), [100, 0, 0, 0, 0, 0])


def test_watchdog_holds_then_turns_torque_off():
    s = safety(hold_after_ms=100, torque_off_after_ms=300)
    assert s.watchdog(0.0) == "ok"  # nothing executed yet: the first chunk has its own deadline
    s.fed(10.0)
    assert s.watchdog(10.05) == "ok"
    assert s.watchdog(10.15) == "hold"
    assert s.idle_ms(10.15) == pytest.approx(150.0)
    assert s.watchdog(10.31) == "torque_off"
    s.fed(11.0)
    assert s.watchdog(11.01) == "ok"


def test_degrees_policy_recorded_in_the_same_radians_as_range():
    from backend.policy.evaluation import radians_of
    from backend.teleop.calibration import LEISAAC_NORM_MODES, Normalizer
    from backend.teleop.session import lerobot_range_to_radians

    cal = calibration()
    ticks = np.array([[1100, 1500, 2000, 2500, 2900, 1800], [2047, 2047, 2047, 2047, 2047, 2047]])
    degrees = Normalizer(cal, DEGREES_NORM_MODES).normalize(ticks)
    via_range = lerobot_range_to_radians(Normalizer(cal, LEISAAC_NORM_MODES).normalize(ticks))
    np.testing.assert_allclose(radians_of(cal, "degrees")(degrees), via_range, atol=2e-3)  # 1 tick
    assert radians_of(cal, "range") is lerobot_range_to_radians
