"""The Evaluate mode's session without Qt: form -> settings, run states, texts, server jobs."""

from __future__ import annotations

import pytest

from backend.errors import StudioError
from backend.jobs.store import JobStore
from backend.policy.evaluation import EpisodeOutcome, EvalResult
from backend.sessions.evaluate import EvalForm, EvaluateSession, server_jobs


def filled() -> EvaluateSession:
    session = EvaluateSession()
    session.restore_form({"server": "tcp://gpu:5555", "follower": "/dev/ttyACM1", "training": "/d/train",
                          "out": "/d/eval.hdf5", "cameras": "front=0, wrist=/v/w.mp4", "episodes": 5,
                          "episode_seconds": 12.5, "unknown": 1})
    return session


def test_settings_from_the_form():
    heard = []
    session = EvaluateSession()
    session.listen(heard.append)
    session.restore_form(filled().form.to_json())
    settings = session.settings()
    assert heard == ["form"]
    assert (settings.server, settings.follower_port, settings.training, settings.out) == \
        ("tcp://gpu:5555", "/dev/ttyACM1", "/d/train", "/d/eval.hdf5")
    assert settings.cameras == {"front": "0", "wrist": "/v/w.mp4"}
    assert settings.config.episodes == 5 and settings.config.episode_seconds == 12.5
    assert settings.follower_calibration is None
    assert EvalForm.from_json(session.form.to_json()) == session.form


@pytest.mark.parametrize("field, value, message", [
    ("server", " ", "the policy server is empty"),
    ("follower", "", "the follower port is empty"),
    ("cameras", "front", "camera 'front' is not NAME=SOURCE"),
    ("episodes", 0, "episodes and seconds per episode must be positive"),
])
def test_bad_form_names_the_field(field, value, message):
    session = filled()
    setattr(session.form, field, value)
    with pytest.raises(StudioError, match=message):
        session.settings()


def test_run_states_and_texts():
    session = filled()
    heard = []
    session.listen(heard.append)
    session.press("s")  # ignored while idle
    assert session.keys.poll() is None
    session.starting()
    assert session.running and session.status_text().startswith("connecting")
    session.press("f")
    assert session.keys.poll() == "f"
    result = EvalResult([EpisodeOutcome(0, "success", "operator", 48, 1.6, [40.0]),
                         EpisodeOutcome(1, "aborted", "the policy sent nan for gripper (step 2 of the chunk)", 0, 0.0)],
                        fault="the policy sent nan for gripper (step 2 of the chunk)", arm="held")
    report = {"success": {"episodes": 1, "successes": 1, "aborted": 1, "rate": 1.0, "ci95": [0.2065, 1.0]},
              "duration_s": {"mean": 0.8, "min": 0.0, "max": 1.6},
              "latency_ms": {"p50": 40.0, "p90": 40.0, "p99": 40.0, "max": 40.0, "count": 1}, "episodes": []}
    session.finished((result, report))
    assert session.state == "fault" and heard == ["state", "state"]
    assert session.status_text() == "the policy sent nan for gripper (step 2 of the chunk) (arm held)"
    assert session.episodes_text() == [
        "episode 1: success · 1.60 s · 48 steps",
        "episode 2: aborted · 0.00 s · 0 steps · the policy sent nan for gripper (step 2 of the chunk)",
    ]
    assert session.report_text().startswith("success 1/1 = 100 % (95 % CI 21-100 %), aborted 1")
    session.failed("tcp://gpu:5555: the policy server does not answer ping")
    assert session.status_text() == "tcp://gpu:5555: the policy server does not answer ping"


def test_server_jobs_lists_listening_inference_servers(tmp_path):
    db = tmp_path / "jobs.sqlite"
    assert server_jobs(db) == []
    logs = {}
    with JobStore(db) as store:
        for name, template, text in (
            ("serve", "gr00t-inference-server", "Server is ready and listening on tcp://*:5555\n"),
            ("loading", "gr00t-inference-server", "loading checkpoint\n"),
            ("train", "gr00t-finetune", "Server is ready and listening on tcp://*:6000\n"),
        ):
            job_id = store.add_job(name=name, template=template, runner="local", profile=None, argv=["x"], env={},
                                   cwd=str(tmp_path), submit_cwd=str(tmp_path), params={}, template_spec={},
                                   profile_spec=None)
            logs[name] = tmp_path / f"{name}.log"
            logs[name].write_text(text)
            store.update(job_id, state="running", log_path=str(logs[name]))
    assert server_jobs(db) == [("job 1 serve: tcp://127.0.0.1:5555", "tcp://127.0.0.1:5555")]


def test_demo_fills_the_form(tmp_path):
    from backend.policy.demo import EvalDemo

    session = EvaluateSession()
    heard = []
    session.listen(heard.append)
    demo = EvalDemo([], "/dev/pts/7", "/w/calibration/f.json", "tcp://127.0.0.1:40000", "/w/datasets/d.hdf5",
                    {"front": "/w/front.mp4", "wrist": "/w/wrist.mp4"})
    session.demo_ready(demo, tmp_path)
    f = session.form
    assert (f.server, f.follower, f.follower_calibration, f.training) == \
        ("tcp://127.0.0.1:40000", "/dev/pts/7", "/w/calibration/f.json", "/w/datasets/d.hdf5")
    assert f.cameras == "front=/w/front.mp4, wrist=/w/wrist.mp4"
    assert f.out.startswith(str(tmp_path / "evaluations" / "eval-")) and f.out.endswith(".hdf5")
    assert heard == ["form", "state"] and session.demo is demo
    assert session.status_text() == "demo ready: a virtual follower and the reference server"
    assert session.settings().cameras == {"front": "/w/front.mp4", "wrist": "/w/wrist.mp4"}
    session.stop_demo()
    assert session.demo is None
