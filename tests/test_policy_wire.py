"""The GR00T inference wire format, the ZeroMQ and HTTP clients and the reference server (real sockets)."""

from __future__ import annotations

import io
import json

import msgpack
import numpy as np
import pytest

from backend.policy import wire
from backend.policy.client import HttpPolicyClient, PolicyError, ZmqPolicyClient, connect
from backend.policy.modality import ActionFault, Modality
from backend.policy.reference_server import ReferenceHttpServer, ReferencePolicy, ReferenceServer

MODALITY = Modality.default(["front", "wrist"])
ACTIONS = np.stack([np.linspace(-40, 40, 50) + j for j in range(6)], axis=1).astype(np.float32)
ACTIONS[:, 5] = np.linspace(10, 60, 50)


def observation() -> dict:
    image = np.arange(48 * 64 * 3, dtype=np.uint8).reshape(48, 64, 3)
    return MODALITY.observation({"front": image, "wrist": image[::-1].copy()}, np.arange(6.0), "pick the cube")


def test_msgpack_request_is_the_services_layout():
    obs = observation()
    raw = msgpack.unpackb(wire.request("get_action", obs, "tok"))  # no hook: the bytes as they travel
    assert set(raw) == {"endpoint", "data", "api_token"}
    assert raw["endpoint"] == "get_action" and raw["api_token"] == "tok"
    encoded = raw["data"]["state.single_arm"]
    assert set(encoded) == {"__ndarray_class__", "as_npy"} and encoded["__ndarray_class__"] is True
    assert encoded["as_npy"].startswith(b"\x93NUMPY")  # np.save's format
    np.testing.assert_array_equal(np.load(io.BytesIO(encoded["as_npy"]), allow_pickle=False), [[0, 1, 2, 3, 4]])
    assert raw["data"]["annotation.human.task_description"] == ["pick the cube"]
    decoded = wire.unpack(wire.request("get_action", obs))
    assert decoded["data"]["video.front"].shape == (1, 48, 64, 3)
    np.testing.assert_array_equal(decoded["data"]["video.wrist"][0], obs["video.wrist"][0])
    assert "data" not in msgpack.unpackb(wire.request("ping"))


def test_json_numpy_round_trip_and_bad_messages():
    obs = observation()
    body = json.loads(wire.json_dumps({"observation": obs}))
    state = body["observation"]["state.gripper"]
    assert set(state) == {"__numpy__", "dtype", "shape"} and state["shape"] == [1, 1] and state["dtype"] == "<f8"
    back = wire.json_loads(wire.json_dumps(obs))
    np.testing.assert_array_equal(back["video.front"], obs["video.front"])
    assert wire.as_arrays({"action.gripper": [[1.0], [2.0]]})["action.gripper"].shape == (2, 1)
    with pytest.raises(wire.WireError):
        wire.unpack(b"\xc1")
    with pytest.raises(wire.WireError):
        wire.unpack(msgpack.packb([1, 2]))


def test_action_chunk_from_slices_and_faults():
    reply = MODALITY.reply(ACTIONS[:16])
    assert {k: v.shape for k, v in reply.items()} == {"action.single_arm": (16, 5), "action.gripper": (16, 1)}
    np.testing.assert_array_equal(MODALITY.action_chunk(reply, 16), ACTIONS[:16])
    with pytest.raises(ActionFault, match=r"action.gripper has shape \(15, 1\), expected \(16, 1\)"):
        MODALITY.action_chunk({**reply, "action.gripper": reply["action.gripper"][:-1]}, 16)
    with pytest.raises(ActionFault, match="no action.single_arm"):
        MODALITY.action_chunk({"action.gripper": reply["action.gripper"]}, 16)


def test_modality_from_modality_json(tmp_path):
    meta = tmp_path / "meta"
    meta.mkdir()
    (meta / "modality.json").write_text(json.dumps({
        "state": {"single_arm": {"start": 0, "end": 5}, "gripper": {"start": 5, "end": 6}},
        "action": {"single_arm": {"start": 0, "end": 5}, "gripper": {"start": 5, "end": 6}},
        "video": {"scene": {"original_key": "observation.images.front"}},
        "annotation": {"human.action.task_description": {}},
    }))
    modality = Modality.for_dataset(tmp_path, ["front"])
    assert modality.video == {"scene": "front"}
    assert modality.language_key == "annotation.human.action.task_description"
    obs = modality.observation({"front": np.zeros((4, 4, 3), np.uint8)}, np.zeros(6), "t")
    assert sorted(obs) == ["annotation.human.action.task_description", "state.gripper", "state.single_arm",
                           "video.scene"]


@pytest.mark.parametrize("transport", ["zmq", "http"])
def test_client_against_reference_server(transport):
    policy = ReferencePolicy(ACTIONS, MODALITY)
    server_cls = ReferenceServer if transport == "zmq" else ReferenceHttpServer
    with server_cls(policy) as server:
        client = connect(server.address, timeout_ms=3000)
        assert isinstance(client, ZmqPolicyClient if transport == "zmq" else HttpPolicyClient)
        try:
            assert client.ping()
            first = client.get_action(observation())
            np.testing.assert_array_equal(MODALITY.action_chunk(first, 16), ACTIONS[:16])
            pending = client.submit(observation())
            assert pending.wait(3.0)
            np.testing.assert_array_equal(MODALITY.action_chunk(pending.result(), 16), ACTIONS[16:32])
            assert pending.received_at >= pending.sent_at
            # past the end the last row is repeated
            client.get_action(observation())
            last = MODALITY.action_chunk(client.get_action(observation()), 16)
            np.testing.assert_array_equal(last[:2], ACTIONS[48:50])
            np.testing.assert_array_equal(last[2:], np.repeat(ACTIONS[49:], 14, axis=0))
        finally:
            client.close()
    assert policy.calls == 4 and len(policy.sent) == 4
    assert policy.observations[0]["video.front"] == (1, 48, 64, 3)


def test_zmq_error_reply_and_silence_are_clear_errors():
    policy = ReferencePolicy(ACTIONS, MODALITY, misbehave="dies", after=1)
    with ReferenceServer(policy) as server:
        client = ZmqPolicyClient("127.0.0.1", server.port, timeout_ms=3000)
        try:
            with pytest.raises(PolicyError, match="Unknown endpoint: nope"):
                client.call("nope", {})
            client.get_action(observation())
            with pytest.raises(PolicyError, match=rf"tcp://127.0.0.1:{server.port}: no answer to 'get_action' "
                                                  r"within 200 ms"):
                client.get_action(observation(), timeout_s=0.2)
            assert not client.ping(timeout_s=0.1)
        finally:
            client.close()


def test_http_unreachable_and_bad_address():
    client = HttpPolicyClient("http://127.0.0.1:9", timeout_ms=500)
    assert not client.ping(0.5)
    with pytest.raises(PolicyError, match="cannot reach the policy server"):
        client.get_action(observation())
    with pytest.raises(PolicyError, match="not a policy server address"):
        connect("udp://x:1")
    assert connect("localhost:5555").address == "tcp://localhost:5555"


def test_inference_server_template_and_where_its_job_listens(tmp_path):
    from types import SimpleNamespace

    from backend.jobs.templates import build_command, load_templates
    from backend.policy.endpoint import job_address, listen_address

    template = load_templates().get("gr00t-inference-server")
    values, errors = template.coerce_params({"model_path": "/ck/checkpoint-10000", "http": True, "port": 8000})
    assert errors == {}
    argv = build_command(template, values, None).argv
    assert argv[1:] == ["scripts/inference_service.py", "--server", "--model-path", "/ck/checkpoint-10000",
                        "--data-config", "so100_dualcam", "--embodiment-tag", "new_embodiment", "--host", "0.0.0.0",
                        "--port", "8000", "--denoising-steps", "4", "--http-server"]
    assert template.stop_signal == "SIGINT" and template.gpus == 1

    assert listen_address("loading...\n") is None
    assert listen_address("Server is ready and listening on tcp://*:5555\n") == "tcp://127.0.0.1:5555"
    slurm = "[rollout-studio] job 7 attempt 1: slurm job 4242 on gpu-node-3 started 2026-12-06 12:00:00\n"
    assert listen_address(slurm + "INFO:     Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C)\n") == \
        "http://gpu-node-3:8000"
    log = tmp_path / "job.log"
    log.write_text(slurm + "Server is ready and listening on tcp://*:5555\n")
    job = SimpleNamespace(template="gr00t-inference-server", state="running", log_path=str(log))
    assert job_address(job) == "tcp://gpu-node-3:5555"
    job.state = "succeeded"
    assert job_address(job) is None


def test_reference_actions_from_the_real_lerobot_dataset(shared_data):
    from backend.policy.run import episode_actions, training_info

    root = shared_data / "lerobot061_so101_v30_h264"
    if not root.is_dir():
        pytest.skip(f"{root} not found")
    actions, fps = episode_actions(root, 0)
    info = training_info(root)
    assert fps == info.fps == 30.0 and info.cameras == ["front", "wrist"]
    assert actions.shape == (60, 6) and actions.dtype == np.float32
    reply = info.modality.reply(actions[:16])
    np.testing.assert_array_equal(info.modality.action_chunk(reply, 16), actions[:16])


def test_api_token_is_checked_like_the_service():
    policy = ReferencePolicy(ACTIONS, MODALITY)
    with ReferenceServer(policy, api_token="secret") as server:
        wrong = ZmqPolicyClient("127.0.0.1", server.port, timeout_ms=3000, api_token="nope")
        right = ZmqPolicyClient("127.0.0.1", server.port, timeout_ms=3000, api_token="secret")
        try:
            with pytest.raises(PolicyError, match="Unauthorized: Invalid API token"):
                wrong.get_action(observation())
            assert right.ping() and policy.calls == 0
            np.testing.assert_array_equal(MODALITY.action_chunk(right.get_action(observation()), 16), ACTIONS[:16])
        finally:
            wrong.close()
            right.close()
