"""The episode-quality signals beyond the doctor's (:data:`SCORE_SIGNALS`): their thresholds and specs.

The doctor's :data:`backend.signals.SIGNALS` lists what it reports (docs/validate.md documents each);
these are measured by the quality scores (``backend/scores/compute.py``, docs/signals.md) and share
the same :class:`Signal` shape. :data:`ALL_SIGNALS` holds both.
"""

from __future__ import annotations

from backend.signals.base import ACTION_CHUNK, SIGNALS, Signal

# -- thresholds ---------------------------------------------------------------------------------------
TRAJECTORY_FACTOR = 3.0  # DTW distance to the task's medoid over the task's median distance
TRAJECTORY_POINTS = 64  # trajectories are resampled to this many points before DTW
TRAJECTORY_BAND = 0.1  # Sakoe-Chiba band: fraction of the points either side of the diagonal
TRAJECTORY_MIN_EPISODES = 5  # fewer episodes of a task: no medoid worth comparing with
DROPPED_GAP = 1.5  # a step between two timestamps over this many frame periods drops frames
BLUR_RELATIVE = 0.35  # Laplacian variance under this fraction of the camera's median in the episode
BLUR_MIN_FRACTION = 0.10  # ... in at least this fraction of the measured frames (and BLUR_MIN_FRAMES)
BLUR_MIN_FRAMES = 3
EXPOSURE_JUMP = 30.0  # grey levels the mean brightness changes between two consecutive frames
EXPOSURE_GAP = 8  # ... or between two measured frames at most this many frames apart
FLICKER_LEVELS = 2.0  # grey levels: median |second difference| of the mean brightness over time
DIFF_SPIKE_FACTOR = 4.0  # a frame-to-frame difference over this many times the video's median ...
DIFF_SPIKE_FLOOR = 8.0  # ... and over this many grey levels
DRIFT_LEVELS = 25.0  # grey levels: the first frames' mean distance from the conditioning frame
DRIFT_FRAMES = 4
PSNR_DB = 12.0  # mean PSNR to the source video under this: far from the source (info)
SSIM_MIN = 0.25  # mean SSIM to the source video under this (info)
ENVELOPE_MARGIN = 0.10  # of the source joint's span (range) and of its peak speed (velocity)
ENVELOPE_SPEED_MARGIN = 0.5  # of the source's peak speed (IDM labels are noisier than a demonstration)
ENVELOPE_FRACTION = 0.05  # fraction of the frames outside the envelope that fires
CHUNK_JUMP_FACTOR = 3.0  # median step at chunk boundaries over the median step elsewhere
CHUNK_MIN_STEP = 0.5  # deg (SO-101) or fraction of the span x 100: smaller steps do not count
LENGTH_MISMATCH_FRAMES = 1  # video and labels differing by more than this
REASON_KEEP = 3.0  # Cosmos-Reason plausibility 1..5: under this (1, 2) fires; keep 4-5

SCORE_SIGNALS: dict[str, Signal] = {
    s.name: s
    for s in (
        Signal("trajectory_outlier", "warning", "x median", TRAJECTORY_FACTOR,
               f"the action's DTW distance to the medoid of its task is over {TRAJECTORY_FACTOR:g} times the "
               "task's median distance", "watch it: a different strategy or a failed attempt; drop it (curate)"),
        Signal("dropped_frames", "warning", "frames", 0,
               f"timestamps step by more than {DROPPED_GAP:g} frame periods: frames were dropped",
               "record at a rate the machine sustains (USB bandwidth, disk); trim or drop the episode"),
        Signal("blurred_frames", "warning", "fraction", BLUR_MIN_FRACTION,
               f"frames whose sharpness (variance of the Laplacian over variance of the picture) is under "
               f"{BLUR_RELATIVE:.0%} of the camera's median in the episode",
               "motion blur or lost focus: slow down, light the scene, fix the focus"),
        Signal("exposure_change", "warning", "grey levels", EXPOSURE_JUMP,
               f"the mean brightness jumps by more than {EXPOSURE_JUMP:g} grey levels between two frames",
               "auto-exposure or lights switching: fix the camera's exposure and re-record"),
        Signal("length_mismatch", "warning", "frames", LENGTH_MISMATCH_FRAMES,
               "a camera's video holds a different number of frames than the episode's labels",
               "labels and video drifted apart (IDM, conversion): re-run the step that wrote them"),
        Signal("flicker", "warning", "grey levels", FLICKER_LEVELS,
               f"the mean brightness of a generated video flickers (median second difference over "
               f"{FLICKER_LEVELS:g} grey levels)", "drop the generated episode or regenerate it"),
        Signal("frame_diff_spikes", "warning", "x median", DIFF_SPIKE_FACTOR,
               f"a frame-to-frame difference over {DIFF_SPIKE_FACTOR:g} times the video's median: a cut or glitch",
               "drop the generated episode or regenerate it"),
        Signal("conditioning_drift", "warning", "grey levels", DRIFT_LEVELS,
               f"the first {DRIFT_FRAMES} generated frames differ from the conditioning (source) frame by more "
               f"than {DRIFT_LEVELS:g} grey levels", "the model did not follow its conditioning frame: drop it"),
        Signal("source_psnr", "info", "dB", PSNR_DB,
               f"mean PSNR of the generated video against its source under {PSNR_DB:g} dB",
               "expected for a new variant; review it if the scene should match the source"),
        Signal("source_ssim", "info", "SSIM", SSIM_MIN,
               f"mean SSIM of the generated video against its source under {SSIM_MIN:g}",
               "expected for a new variant; review it if the scene should match the source"),
        Signal("idm_envelope", "warning", "fraction", ENVELOPE_FRACTION,
               "IDM actions outside the source episode's range (plus "
               f"{ENVELOPE_MARGIN:.0%} of its span) or peak speed (plus {ENVELOPE_SPEED_MARGIN:.0%}) in {ENVELOPE_FRACTION:.0%} of the frames or more",
               "the IDM invented motion the demonstrations never made: drop the episode"),
        Signal("chunk_boundary_jumps", "warning", "x median step", CHUNK_JUMP_FACTOR,
               f"the action steps at the IDM's {ACTION_CHUNK}-frame chunk boundaries are over "
               f"{CHUNK_JUMP_FACTOR:g} times its other steps", "the IDM's chunks do not join: drop or smooth it"),
        Signal("reason_score", "warning", "1..5", REASON_KEEP,
               f"Cosmos-Reason rated the video's physical plausibility under {REASON_KEEP:g} (1 = none, 5 = "
               "perfect)", "drop it (keep 4-5, drop 1-2, as the Cosmos cookbook does)"),
    )
}

ALL_SIGNALS: dict[str, Signal] = {**SIGNALS, **SCORE_SIGNALS}
