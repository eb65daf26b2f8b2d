"""Fixtures and fake tools for the job tests (this module holds no tests itself).

The fake tools are small real programs that print the exact log formats of the real ones (Cosmos
iteration lines, Hugging Face Trainer dicts with a tqdm bar), exit with chosen codes and write the
artifacts the templates register. They run through the real store, supervisor and runners.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from backend.jobs.procs import group_alive, signal_group  # noqa: E402
from backend.jobs.store import ACTIVE_STATES, JobStore  # noqa: E402
from backend.jobs.supervisor import supervisor_pid  # noqa: E402

FAKE_TOOL = r"""
import json, os, signal, subprocess, sys, time
def dump(path, data):  # atomic: a reader never sees half a file
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False)
    os.replace(path + ".tmp", path)
mode = sys.argv[1]
args = sys.argv[2:]
if mode == "argv":                      # dump argv (and a few env vars) to a JSON file
    dump(args[0], {"argv": args[1:], "cwd": os.getcwd(),
                   "env": {k: os.environ.get(k) for k in ("CUDA_VISIBLE_DEVICES", "ROLLOUT_STUDIO_JOB_ID", "RS_TEST")}})
    print("argv written")
elif mode == "exit":                    # print and exit with a code
    print("about to exit with", args[0], flush=True)
    sys.exit(int(args[0]))
elif mode == "tqdm":                    # N tqdm updates separated by \r, then a newline
    n = int(args[0]); delay = float(args[1])
    for i in range(n + 1):
        left = (n - i) * delay
        sys.stdout.write(f"\rtrain: {100*i//n:3d}%|{'#'*(10*i//n):10s}| {i}/{n} [00:0{i%10}<00:{int(left):02d}, 9.9it/s]")
        sys.stdout.flush()
        time.sleep(delay)
    print()
elif mode == "sleep":                   # a child + grandchild that record their pids, then sleep
    out = args[0]
    grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    if len(args) > 1 and args[1] == "ignore-term":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    dump(out, {"child": os.getpid(), "grandchild": grandchild.pid, "pgid": os.getpgid(0)})
    print("sleeping", flush=True)
    time.sleep(600)
elif mode == "stamp":                   # record start/end times, then exit with a code
    out, code, delay = args[0], int(args[1]), float(args[2])
    start = time.time(); time.sleep(delay)
    dump(out, {"start": start, "end": time.time(), "cuda": os.environ.get("CUDA_VISIBLE_DEVICES")})
    sys.exit(code)
elif mode == "fail-once":               # fails the first time (a marker file remembers), then succeeds
    marker = args[0]
    if not os.path.exists(marker):
        open(marker, "w").close()
        print("first attempt fails", flush=True)
        sys.exit(7)
    print("second attempt works", flush=True)
elif mode == "spam":                    # write log lines at about RATE bytes/s for SECONDS
    rate, seconds = float(args[0]), float(args[1])
    line = ("x" * 99 + "\n")
    chunk = line * max(1, int(rate / 100 / 50))
    end = time.time() + seconds
    while time.time() < end:
        sys.stdout.write(chunk); sys.stdout.flush()
        time.sleep(0.02)
elif mode == "stop-int":                # exits 0 on SIGINT (like LeIsaac teleop's Ctrl+C)
    signal.signal(signal.SIGINT, lambda *a: (print("[INFO] KeyboardInterrupt (Ctrl+C) detected. Cleaning up", flush=True), sys.exit(0)))
    print("Recorded 1 successful demonstrations.", flush=True)
    time.sleep(600)
"""

TORCHRUN_SHIM = r'''
"""Stand-in for torch.distributed.run: accepts torchrun's options, then runs the module or script."""
import runpy, sys
args = sys.argv[1:]
while args and args[0].startswith("--"):
    opt = args.pop(0)
    if "=" not in opt and opt not in ("--standalone",):
        args.pop(0)
print("[torchrun shim] nproc ok", flush=True)
if args[0] == "-m":
    module = args[1]
    sys.argv = [module] + args[2:]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
else:
    sys.argv = args
    runpy.run_path(args[0], run_name="__main__")
'''

COSMOS_TRAIN = r"""
import os, sys, time
argv = sys.argv[1:]
assert argv[0].startswith("--config="), argv
overrides = dict(a.split("=", 1) for a in argv[argv.index("--") + 1:])
root = os.environ["IMAGINAIRE_OUTPUT_ROOT"]
run = os.path.join(root, overrides["job.project"], overrides["job.group"], overrides["job.name"], "checkpoints")
max_iter = int(overrides.get("trainer.max_iter", 40))
save_iter = int(overrides.get("checkpoint.save_iter", 20))
delay = float(os.environ.get("FAKE_SLEEP", "0.005"))
print(f"[11-21 10:00:00|INFO|cosmos_predict2/utils/trainer.py:144:train] Starting training... experiment={overrides['experiment']}", flush=True)
for it in range(1, max_iter + 1):
    loss = 1.0 / it
    if it <= 5:
        print(f"[RANK 0] Iteration {it}: Hit counter: {it}/100 | Loss: {loss:.4f} | Time: 0.01s", flush=True)
    if it % 10 == 0:
        print(f"[11-21 10:00:01|INFO|cosmos_predict2/callbacks/iter_speed.py:80:every_n_impl] {it} : iter_speed 0.01 seconds per iteration | Loss: {loss:.4f}", flush=True)
    if it % save_iter == 0:
        name = f"iter_{it:09d}"
        os.makedirs(os.path.join(run, name, "model"), exist_ok=True)
        open(os.path.join(run, name, "model", "__0_0.distcp"), "wb").write(b"dcp")
        open(os.path.join(run, "latest_checkpoint.txt"), "w").write(name)
    time.sleep(delay)
sys.exit(int(os.environ.get("FAKE_EXIT", "0")))
"""

COSMOS_CONVERT = r"""
import os, sys
model_dir, out = sys.argv[1], sys.argv[2]
assert any(n.endswith(".distcp") for n in os.listdir(model_dir)), model_dir
for name in ("model.pt", "model_ema_fp32.pt", "model_ema_bf16.pt"):
    open(os.path.join(out, name), "wb").write(b"weights")
print(f"converted {model_dir}", flush=True)
"""

COSMOS_INFER = r"""
import argparse, json, os, sys
p = argparse.ArgumentParser()
p.add_argument("-i", required=True); p.add_argument("-o", required=True)
p.add_argument("--checkpoint-path", required=True); p.add_argument("--experiment", required=True)
a = p.parse_args()
assert os.path.isfile(a.checkpoint_path) and a.checkpoint_path.endswith("model_ema_bf16.pt"), a.checkpoint_path
os.makedirs(a.o, exist_ok=True)
samples = [json.loads(line) for line in open(a.i) if line.strip()]
for k, s in enumerate(samples):
    open(os.path.join(a.o, s["name"] + ".mp4"), "wb").write(b"\x00\x00\x00\x18ftypmp42")
    json.dump(s, open(os.path.join(a.o, s["name"] + ".json"), "w"))
    print(f"\r{100*(k+1)//len(samples)}%|#####| {k+1}/{len(samples)} [00:01<00:00, 1.0it/s]", end="", flush=True)
print()
"""

IDM_TRAIN = r"""
import os, sys, time
argv = sys.argv[1:]
out = argv[argv.index("--output_dir") + 1]
steps = int(argv[argv.index("--max-steps") + 1]) if "--max-steps" in argv else 30
for step in range(1, steps + 1):
    sys.stdout.write(f"\r{100*step//steps:3d}%|#         | {step}/{steps} [00:01<00:02,  9.50it/s]")
    if step % 10 == 0:
        sys.stdout.write(f"\n{{'loss': {1.0/step:.4f}, 'grad_norm': 1.5, 'learning_rate': 9.5e-05, 'epoch': {step/steps:.2f}}}\n")
        os.makedirs(os.path.join(out, f"checkpoint-{step}"), exist_ok=True)
    sys.stdout.flush()
    time.sleep(0.002)
print(f"\n{{'train_runtime': 1.5, 'train_samples_per_second': 10.0, 'train_loss': 0.05, 'epoch': 1.0}}")
"""

COSMOS_REPO_FILES = {
    "torch/__init__.py": "",
    "torch/distributed/__init__.py": "",
    "torch/distributed/run.py": TORCHRUN_SHIM,
    "scripts/__init__.py": "",
    "scripts/train.py": COSMOS_TRAIN,
    "scripts/convert_distcp_to_pt.py": COSMOS_CONVERT,
    "examples/inference.py": COSMOS_INFER,
}
DREAMS_REPO_FILES = {
    "torch/__init__.py": "",
    "torch/distributed/__init__.py": "",
    "torch/distributed/run.py": TORCHRUN_SHIM,
    "scripts/idm_training.py": IDM_TRAIN,
}


def write_files(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


@dataclass
class JobsEnv:
    home: Path
    db: Path
    tool: Path  # the fake tool script
    work: Path

    def store(self) -> JobStore:
        return JobStore(self.db)

    def cmd(self, *args: str) -> list[str]:
        return [sys.executable, str(self.tool), *args]


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def pid_gone(pid: int) -> bool:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return text[text.rfind(")") + 2 :].split()[0] in ("Z", "X")


def stop_everything(db: Path) -> None:
    """Kill the supervisor and every job process group left by a test."""
    pid = supervisor_pid(db)
    if pid and pid > 0:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if not db.exists():
        return
    with JobStore(db) as store:
        for job in store.list_jobs(states=ACTIVE_STATES):
            if job.pgid and group_alive(job.pgid):
                signal_group(job.pgid, signal.SIGKILL)
            if job.external_id:
                from backend.jobs import slurm

                slurm.scancel(job.external_id)
        for job in store.list_jobs():
            if job.pgid and group_alive(job.pgid):
                signal_group(job.pgid, signal.SIGKILL)


@pytest.fixture
def jobs_env(tmp_path, monkeypatch) -> JobsEnv:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("ROLLOUT_STUDIO_HOME", str(home))
    monkeypatch.delenv("ROLLOUT_STUDIO_JOBS_DB", raising=False)
    monkeypatch.setenv("ROLLOUT_STUDIO_SUPERVISOR_ARGS", "--poll 0.05 --idle-exit 2 --slurm-poll 0.25")
    tool = tmp_path / "fake_tool.py"
    tool.write_text(FAKE_TOOL, encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    env = JobsEnv(home=home, db=home / "jobs" / "jobs.sqlite", tool=tool, work=work)
    yield env
    stop_everything(env.db)
