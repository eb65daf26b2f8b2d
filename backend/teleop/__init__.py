"""Teleoperation: the Feetech bus, calibration, arms, cameras, the recording session and its recorders."""
