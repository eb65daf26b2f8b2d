"""backend/torch_threads.py: overlapping users of torch's process-wide thread count."""

from __future__ import annotations

import threading

import pytest

from backend.torch_threads import active_users, torch_threads

torch = pytest.importorskip("torch")


@pytest.fixture
def start_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    yield 3
    torch.set_num_threads(before)


def test_overlapping_users_restore_the_count_from_before(start_threads) -> None:
    first, second = torch_threads(1), torch_threads(2)
    first.__enter__()
    assert torch.get_num_threads() == 1
    second.__enter__()
    assert torch.get_num_threads() == 1  # the smallest any active user asked for
    first.__exit__(None, None, None)  # the first ends while the second still runs
    assert torch.get_num_threads() == 2 and active_users() == 1
    second.__exit__(None, None, None)
    assert torch.get_num_threads() == start_threads and active_users() == 0


def test_the_count_comes_back_after_an_error(start_threads) -> None:
    with pytest.raises(RuntimeError), torch_threads(1):
        assert torch.get_num_threads() == 1
        raise RuntimeError("boom")
    assert torch.get_num_threads() == start_threads and active_users() == 0


def test_threads_that_overlap_leave_the_count_as_it_was(start_threads) -> None:
    inside = threading.Barrier(2)
    seen: list[int] = []

    def user(count: int) -> None:
        with torch_threads(count):
            inside.wait(timeout=5)  # both bodies run at once
            seen.append(torch.get_num_threads())
            inside.wait(timeout=5)

    workers = [threading.Thread(target=user, args=(n,)) for n in (1, 2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=5)
    assert seen == [1, 1]
    assert torch.get_num_threads() == start_threads and active_users() == 0
