"""torch's intra-op thread count, shared by overlapping users.

``torch.set_num_threads`` is process-wide. Two measurements that each set it and restore their own
"before" value leave it wrong when they overlap (two GUI tasks: the first to end restores 1 while the
other still runs, then the other "restores" the 1 it saw). :func:`torch_threads` counts its users under
one lock: while any is active the count is the smallest any of them asked for (one thread when any
wants one: on a busy machine that is the safe choice), and when the last one ends the value from before
the first one is put back.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_wanted: dict[int, int] = {}  # active user -> threads it asked for
_before: int | None = None  # the count before the first active user
_tokens = itertools.count()


def _apply(torch: object) -> None:
    """Set torch to what the active users want, or back to the saved count (holding ``_lock``)."""
    global _before
    if _wanted:
        target = min(_wanted.values())
    else:
        target, _before = _before, None
    if target is not None and torch.get_num_threads() != target:  # type: ignore[attr-defined]
        torch.set_num_threads(target)  # type: ignore[attr-defined]


@contextlib.contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the body with at most ``count`` torch threads; the count from before comes back when the
    last overlapping user ends."""
    import torch

    global _before
    token = next(_tokens)
    with _lock:
        if not _wanted:
            _before = torch.get_num_threads()
        _wanted[token] = max(1, int(count))
        _apply(torch)
    try:
        yield
    finally:
        with _lock:
            del _wanted[token]
            _apply(torch)


def active_users() -> int:
    """How many :func:`torch_threads` bodies are running (for tests and diagnostics)."""
    with _lock:
        return len(_wanted)
