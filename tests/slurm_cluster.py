"""A one-node Slurm cluster on localhost for tests (munged + slurmctld + slurmd under a temp folder).

Needs Debian's ``slurm-wlm`` and ``munge`` packages and root (SlurmUser=root, munged run as the
``munge`` user). Tests that use the ``slurm_cluster`` fixture are skipped with the reason when
these are missing. The fixture sets ``SLURM_CONF`` for the test session and stops the daemons by pid.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

NEEDED = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo", "setpriv")


@dataclass
class SlurmCluster:
    root: Path
    conf: Path
    procs: list[subprocess.Popen[bytes]]

    def env(self) -> dict[str, str]:
        return {"SLURM_CONF": str(self.conf)}

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def missing_reason() -> str | None:
    missing = [tool for tool in NEEDED if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists()]
    if missing:
        return f"Slurm test cluster needs {', '.join(missing)} (apt-get install slurm-wlm munge)"
    if os.geteuid() != 0:
        return "Slurm test cluster needs root (SlurmUser=root and munged as the munge user)"
    try:
        pwd.getpwnam("munge")
    except KeyError:
        return "no 'munge' user (install the munge package)"
    if not Path("/etc/munge/munge.key").exists() and shutil.which("mungekey") is None:
        return "no munge key and no mungekey to make one"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _exe(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin") / name)


def start_cluster(cpus: int = 2, timeout: float = 30.0) -> SlurmCluster:
    root = Path(tempfile.mkdtemp(prefix="rs-slurm-"))
    root.chmod(0o755)
    munge_user = pwd.getpwnam("munge")
    mdir = root / "munge"
    mdir.mkdir()
    key = mdir / "munge.key"
    if Path("/etc/munge/munge.key").exists():
        shutil.copyfile("/etc/munge/munge.key", key)
    else:
        subprocess.run([_exe("mungekey"), "--create", f"--keyfile={key}"], check=True)
    for path in (mdir, key):
        os.chown(path, munge_user.pw_uid, munge_user.pw_gid)
    key.chmod(0o400)
    mdir.chmod(0o711)  # the socket's folder must be searchable by everyone
    sock = mdir / "munge.socket"
    procs: list[subprocess.Popen[bytes]] = []
    log = open(root / "daemons.log", "ab")  # noqa: SIM115 - closed with the process group
    procs.append(
        subprocess.Popen(
            [
                _exe("setpriv"),
                f"--reuid={munge_user.pw_uid}",
                f"--regid={munge_user.pw_gid}",
                "--clear-groups",
                _exe("munged"),
                "-F",
                f"--socket={sock}",
                f"--key-file={key}",
                f"--log-file={mdir / 'munged.log'}",
                f"--pid-file={mdir / 'munged.pid'}",
                f"--seed-file={mdir / 'munged.seed'}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    )
    deadline = time.monotonic() + timeout
    while not sock.exists():
        if procs[0].poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"munged did not start: {(root / 'daemons.log').read_text(errors='replace')}")
        time.sleep(0.05)
    for sub in ("state", "spool", "log"):
        (root / sub).mkdir()
    conf = root / "slurm.conf"
    conf.write_text(
        "\n".join(
            [
                "ClusterName=rstest",
                "SlurmctldHost=localhost",
                "AuthType=auth/munge",
                "CredType=cred/munge",
                f"AuthInfo=socket={sock}",
                "SlurmUser=root",
                "SlurmdUser=root",
                f"SlurmctldPort={_free_port()}",
                f"SlurmdPort={_free_port()}",
                f"StateSaveLocation={root / 'state'}",
                f"SlurmdSpoolDir={root / 'spool'}",
                f"SlurmctldPidFile={root / 'slurmctld.pid'}",
                f"SlurmdPidFile={root / 'slurmd.pid'}",
                f"SlurmctldLogFile={root / 'log' / 'slurmctld.log'}",
                f"SlurmdLogFile={root / 'log' / 'slurmd.log'}",
                "ProctrackType=proctrack/linuxproc",
                "TaskPlugin=task/none",
                "SelectType=select/cons_tres",
                "SelectTypeParameters=CR_Core",
                "MpiDefault=none",
                "JobAcctGatherType=jobacct_gather/none",
                "AccountingStorageType=accounting_storage/none",
                "ReturnToService=2",
                "KillWait=5",
                "SchedulerParameters=batch_sched_delay=0,sched_min_interval=50000,sched_interval=1,default_queue_depth=100",
                "MinJobAge=300",
                f"NodeName=localhost CPUs={cpus} RealMemory=2000 State=UNKNOWN",
                "PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP",
                "",
            ]
        )
    )
    env = dict(os.environ, SLURM_CONF=str(conf))
    procs.append(
        subprocess.Popen(
            [_exe("slurmctld"), "-D", "-f", str(conf)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    )
    procs.append(
        subprocess.Popen(
            [_exe("slurmd"), "-D", "-N", "localhost", "-f", str(conf)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    )
    cluster = SlurmCluster(root, conf, procs)
    while True:
        result = subprocess.run(["sinfo", "-h", "-o", "%t"], env=env, capture_output=True, text=True)
        if result.stdout.strip() == "idle":
            return cluster
        if any(p.poll() is not None for p in procs) or time.monotonic() > deadline:
            cluster.stop()
            text = (root / "daemons.log").read_text(errors="replace")
            raise RuntimeError(
                f"Slurm node not idle after {timeout:.0f} s: {result.stdout} {result.stderr} {text}"
            )
        time.sleep(0.1)


@pytest.fixture(scope="session")
def slurm_cluster():
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    cluster = start_cluster()
    old = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(cluster.conf)
    try:
        yield cluster
    finally:
        if old is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = old
        cluster.stop()
        with contextlib.suppress(OSError):
            shutil.rmtree(cluster.root)
