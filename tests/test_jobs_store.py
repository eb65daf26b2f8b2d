"""The SQLite job store: rows, revisions, transitions, several connections at once."""

from __future__ import annotations

import threading

import pytest

from backend.errors import StudioError
from backend.jobs.store import CANCELLED, QUEUED, RUNNING, SUCCEEDED, JobStore, Point


def add(store: JobStore, **kw) -> int:
    args = dict(
        name="n",
        template="command",
        runner="local",
        profile=None,
        argv=["echo", "hi"],
        env={},
        cwd="/tmp",
        submit_cwd="/tmp",
        params={"args": ["echo", "hi"]},
        template_spec={"name": "command"},
        profile_spec=None,
    )
    args.update(kw)
    return store.add_job(**args)


def test_add_get_list_and_wal(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    a = add(store, priority=2, gpus=1)
    b = add(store, deps=[a], name="second")
    job = store.get(b)
    assert job.state == QUEUED and job.deps == [a] and job.argv == ["echo", "hi"] and job.params["args"]
    assert job.log_path.endswith(f"logs/{b}/attempt-1.log") and (tmp_path / "logs" / str(b)).is_dir()
    listed = store.list_jobs()
    assert [j.id for j in listed] == [b, a] and listed[0].argv is None  # light rows
    assert store.dependents_of(a) == [b] and store.chain_of(b) == [a, b]
    with pytest.raises(StudioError, match="job 99 does not exist"):
        add(store, deps=[99])
    with pytest.raises(StudioError, match="no job 42"):
        store.get(42)


def test_revisions_and_transitions(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    a = add(store)
    b = add(store)
    rev, _epoch = store.revision()
    store.update(a, progress_done=5.0, progress_text="5/10")
    changed = store.changed_since(rev)
    assert [j.id for j in changed] == [a] and changed[0].progress_done == 5
    assert store.transition(a, [QUEUED], state=RUNNING)
    assert not store.transition(a, [QUEUED], state=CANCELLED)  # compare-and-set
    assert store.get(a).state == RUNNING
    store.delete(b)
    assert store.revision()[1] == 1 and not store.exists(b)
    with pytest.raises(KeyError):
        store.update(a, nonsense=1)


def test_points_artifacts_profiles_settings(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    a = add(store)
    store.add_points(a, 1, [Point(10, 1.0, 0.5), Point(20, 2.0, 0.25, {"lr": 1e-4})])
    store.add_points(a, 1, [Point(20, 3.0, 0.2)])  # same step again replaces
    assert [(p.step, p.loss) for p in store.points(a)] == [(10, 0.5), (20, 0.2)]
    assert store.points(a, after_step=10)[0].step == 20
    assert store.add_artifacts(a, [("/x/ckpt", "checkpoint", "c"), ("/x/ckpt", "checkpoint", "c")]) == 1
    assert [x.path for x in store.artifacts(a)] == ["/x/ckpt"]
    store.save_profile("p", {"name": "p", "repo": "/r"})
    assert store.profile_names() == ["p"] and store.load_profile("p")["repo"] == "/r"
    store.set_setting("k", "v")
    assert store.get_setting("k") == "v"
    store.set_setting("k", None)
    assert store.get_setting("k", "d") == "d"


def test_concurrent_writers(tmp_path):
    path = tmp_path / "jobs.sqlite"
    JobStore(path).close()
    errors = []

    def writer(n: int) -> None:
        try:
            with JobStore(path) as own:
                for _ in range(50):
                    job_id = add(own, name=f"w{n}")
                    own.update(job_id, state=SUCCEEDED)
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with JobStore(path) as store:
        assert store.count() == 200 and store.count([SUCCEEDED]) == 200
        before = store.data_version()
        with JobStore(path) as other:
            add(other)
        assert store.data_version() != before


def test_missing_store_without_create(tmp_path):
    with pytest.raises(StudioError, match="no job store"):
        JobStore(tmp_path / "none.sqlite", create=False)
