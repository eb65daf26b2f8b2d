"""Dataset surgery: merge, split, delete, keep, trim, retask, rename/remove a feature, recompute
statistics, re-encode, images to video. Each operation returns a ``Plan`` first (``plan_*``), then
``execute(plan)`` writes new datasets (the inputs are never changed) and validates them. See
docs/surgery.md.
"""

from backend.surgery.compat import check_merge, mismatches
from backend.surgery.features import (
    plan_images_to_video,
    plan_recompute_stats,
    plan_reencode,
    plan_remove_feature,
    plan_rename_feature,
)
from backend.surgery.merge import plan_merge
from backend.surgery.plan import Output, Piece, Plan
from backend.surgery.run import EditSummary, execute, validate_output
from backend.surgery.select import parse_episodes, plan_delete, plan_keep, plan_retask, plan_split, plan_trim

__all__ = [
    "EditSummary",
    "Output",
    "Piece",
    "Plan",
    "check_merge",
    "execute",
    "mismatches",
    "parse_episodes",
    "plan_delete",
    "plan_images_to_video",
    "plan_keep",
    "plan_merge",
    "plan_recompute_stats",
    "plan_reencode",
    "plan_remove_feature",
    "plan_rename_feature",
    "plan_retask",
    "plan_split",
    "plan_trim",
    "validate_output",
]
