"""Benchmark the studio's side of a policy round trip, per action chunk, at 2 cameras 640x480.

Three numbers per chunk, p50 / p99 / max, measured in the same run against servers in their own
processes (``rollout-studio eval serve-reference``, as a GPU box would be):

- ``raw_zmq_ms``: the bare ZeroMQ REQ/REP round trip of the same bytes (the request is packed once
  before the loop; the server answers a fixed packed chunk without reading the request): the floor.
- ``studio_overhead_ms``: what the studio adds on the client per chunk: building the observation
  from the two camera frames and the state, msgpack + ``np.save`` packing, and on the reply
  ``np.load`` unpacking, slicing back into (16, 6) and the safety checks.
- ``full_round_trip_ms``: submit -> reply in hand (client packing, wire, the reference server's own
  decode/encode, client unpacking), as the evaluation loop sees it.

    python benchmarks/policy_latency.py [--chunks 300] [--http]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from backend import children  # noqa: E402
from backend.policy import wire  # noqa: E402
from backend.policy.client import connect  # noqa: E402
from backend.policy.modality import Modality  # noqa: E402
from backend.policy.safety import Envelope, Safety  # noqa: E402
from backend.teleop.calibration import JOINTS, Calibration, MotorCalibration  # noqa: E402
from tests.recordings import DemoSpec, RecordingSpec, write_recording  # noqa: E402


def pct(values: list[float]) -> dict:
    array = np.asarray(values)
    return {"p50": round(float(np.percentile(array, 50)), 3), "p99": round(float(np.percentile(array, 99)), 3),
            "max": round(float(array.max()), 3), "n": len(values)}


def start_server(dataset: Path, raw: bool, http: bool) -> tuple[subprocess.Popen, str]:
    args = ["eval", "serve-reference", "--dataset", str(dataset), "--port", "0"]
    args += ["--raw"] if raw else []
    args += ["--http"] if http else []
    proc = children.start("backend.cli", args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline().strip() if proc.stdout is not None else ""
    if not line.startswith("listening on "):
        proc.kill()
        raise RuntimeError(f"the reference server did not start: {line!r}")
    return proc, line.removeprefix("listening on ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=300)
    parser.add_argument("--http", action="store_true", help="also measure the HTTP variant's full round trip")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    modality = Modality.default(["front", "wrist"])
    images = {name: rng.integers(0, 256, (480, 640, 3), dtype=np.uint8) for name in ("front", "wrist")}
    state = np.array([1.0, -20.0, 30.0, 10.0, 0.0, 40.0])
    safety = Safety(Envelope.from_calibration(Calibration({
        name: MotorCalibration(id=i + 1, drive_mode=0, homing_offset=0, range_min=1000, range_max=3000)
        for i, name in enumerate(JOINTS)})))

    with tempfile.TemporaryDirectory() as tmp:
        dataset = write_recording(Path(tmp) / "train.hdf5", RecordingSpec([DemoSpec(400)], width=64, height=48))
        raw_proc, raw_address = start_server(dataset, raw=True, http=False)
        full_proc, full_address = start_server(dataset, raw=False, http=False)
        procs = [raw_proc, full_proc]
        try:
            raw_client = connect(raw_address)
            request = wire.request("get_action", modality.observation(images, state, "pick the orange"))
            socket = raw_client._socket  # the bare socket: the same bytes, no packing
            raw_ms = []
            for i in range(args.chunks + 10):
                t0 = time.perf_counter()
                socket.send(request)
                socket.recv()
                if i >= 10:
                    raw_ms.append(1000 * (time.perf_counter() - t0))
            raw_client.close()

            client = connect(full_address)
            full_ms, pack_ms, unpack_ms, overhead_ms = [], [], [], []
            for i in range(args.chunks + 10):
                t0 = time.perf_counter()
                observation = modality.observation(images, state, "pick the orange")
                packed = wire.request("get_action", observation)
                t1 = time.perf_counter()
                pending = client.submit(observation)  # packs again inside: the loop's real path
                pending.wait(5.0)
                reply = pending.result()
                t2 = time.perf_counter()
                safety.check_chunk(modality.action_chunk(reply, 16))
                t3 = time.perf_counter()
                # the reply's unpacking is inside result(): time it on the same bytes
                reply_bytes = wire.pack(modality.reply(modality.action_chunk(reply, 16)))
                t4 = time.perf_counter()
                wire.unpack(reply_bytes)
                t5 = time.perf_counter()
                if i >= 10:
                    pack_ms.append(1000 * (t1 - t0))
                    unpack_ms.append(1000 * ((t5 - t4) + (t3 - t2)))
                    overhead_ms.append(pack_ms[-1] + unpack_ms[-1])
                    full_ms.append(1000 * (t2 - t1) + 1000 * (t3 - t2))
                del packed
            client.close()
            http = None
            if args.http:
                http_proc, http_address = start_server(dataset, raw=False, http=True)
                procs.append(http_proc)
                http_client = connect(http_address)
                http_ms = []
                for i in range(min(args.chunks, 100) + 5):
                    t0 = time.perf_counter()
                    http_client.get_action(modality.observation(images, state, "pick the orange"))
                    if i >= 5:
                        http_ms.append(1000 * (time.perf_counter() - t0))
                http = pct(http_ms)
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=10)
                if proc.stdout is not None:
                    proc.stdout.close()

    print(json.dumps({
        "benchmark": "policy_latency",
        "cpus": os.cpu_count(),
        "usable_cores": children.usable_cores(),
        "cameras": "2 x 640x480 RGB",
        "request_bytes": len(request),
        "chunk": [16, 6],
        "raw_zmq_ms": pct(raw_ms),
        "studio_pack_ms": pct(pack_ms),
        "studio_unpack_check_ms": pct(unpack_ms),
        "studio_overhead_ms": pct(overhead_ms),
        "full_round_trip_ms": pct(full_ms),
        "http_full_round_trip_ms": http,
    }, indent=2))


if __name__ == "__main__":
    main()
