"""Job queue for Cosmos, IDM, LeIsaac and GR00T runs: store, templates, profiles, runners, supervisor.

- ``store.JobStore``: the SQLite (WAL) store shared by GUI, CLI and supervisor.
- ``templates``: declarative YAML templates -> argv (never a shell string), env, GPUs, artifacts.
- ``profiles``: where a tool lives and which interpreter runs it, checked before a run.
- ``service``: submit / cancel / retry / duplicate / edit / wait.
- ``daemon``: the detached supervisor that starts, watches and records jobs (local and Slurm).
"""

from backend.jobs.paths import default_db_path, studio_home
from backend.jobs.store import (
    ACTIVE_STATES,
    CANCELLED,
    FAILED,
    FINAL_STATES,
    QUEUED,
    RUNNING,
    STATES,
    SUCCEEDED,
    Job,
    JobStore,
)

__all__ = [
    "ACTIVE_STATES",
    "CANCELLED",
    "FAILED",
    "FINAL_STATES",
    "QUEUED",
    "RUNNING",
    "STATES",
    "SUCCEEDED",
    "Job",
    "JobStore",
    "default_db_path",
    "studio_home",
]
