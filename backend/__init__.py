"""Rollout Studio engine: everything that reads, writes, converts, records, runs or measures.

Pure Python, no Qt: usable from the CLI, from scripts and from the GUI's worker threads.
"""

__version__ = "0.1.0"
