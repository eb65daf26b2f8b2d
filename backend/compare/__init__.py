"""Compare a source demonstration with what the pipeline made of it.

- ``align``: resampling by seconds, constant offset / time scale estimation, band-limited DTW
- ``metrics``: per-joint MAE/RMSE/max/correlation, gripper open/close events, jerk
- ``core``: ``Trajectory`` and ``compare_trajectories`` (one unit, one timeline, ``PairResult``)
- ``kinematics``: SO-101 forward kinematics from the public URDF (resources/so101/)
- ``pairing``: provenance records and episode pairing (with manual overrides)
- ``batch``: every generated episode against its source, worst first
- ``report``: CSV, JSON summary, HTML report
- ``sources``: ``PATH[:EPISODE]`` specs and an opened-dataset cache
"""

from backend.compare.align import ALIGN_MODES, Alignment
from backend.compare.core import PairResult, Trajectory, compare_trajectories

__all__ = ["ALIGN_MODES", "Alignment", "PairResult", "Trajectory", "compare_trajectories"]
