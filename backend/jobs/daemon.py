"""The supervisor: one detached process per job store that starts ready jobs, watches them, parses
their logs and records how they ended. It outlives the GUI and the CLI, re-attaches to every job
when it (re)starts, and exits by itself once nothing is queued or running.

    python -m backend.jobs.daemon --db PATH [--poll 0.2] [--idle-exit 30]

``backend.jobs.supervisor.ensure_supervisor(db)`` starts one unless one holds the store's lock file.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import fnmatch
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend import children
from backend.atomic import register_state_root, remove_path
from backend.errors import StudioError
from backend.jobs import local, slurm
from backend.jobs.logtail import LogTail
from backend.jobs.parsers import ProgressParser
from backend.jobs.procs import group_alive, signal_group
from backend.jobs.service import job_profile, job_template, reset_for_retry
from backend.jobs.store import (
    ACTIVE_STATES,
    CANCELLED,
    DEPENDENCY_PREFIX,
    FAILED,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    Job,
    JobStore,
    Point,
)
from backend.jobs.supervisor import lock_path

DEFAULT_IDLE_EXIT = 30.0
DEFAULT_MAX_LOCAL = 4
PROGRESS_WRITE_EVERY = 0.5
OFFSET_WRITE_EVERY = 5.0
ARTIFACT_SCAN_EVERY = 5.0
LOST_GRACE = 1.0  # wrapper gone without an exit file for this long: the job is lost


def detect_gpus() -> list[str]:
    try:
        result = subprocess.run(  # noqa: S603
            ["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    if result.returncode != 0:
        return []
    return [line.strip() for line in result.stdout.splitlines() if line.strip().isdigit()]


@dataclass
class Watch:
    """What the supervisor keeps in memory about one running job."""

    tail: LogTail
    parser: ProgressParser
    attempt: int
    last_write: float = 0.0
    dirty: dict[str, Any] = field(default_factory=dict)
    points: list[Point] = field(default_factory=list)
    missing_since: float | None = None
    killed: bool = False
    spec: dict[str, Any] | None = None
    last_scan: float = 0.0
    last_offset_write: float = 0.0


class Supervisor:
    def __init__(
        self, db: str | Path, poll: float = 0.2, idle_exit: float = DEFAULT_IDLE_EXIT, slurm_poll: float = 1.0
    ) -> None:
        self.db = Path(db).absolute()
        self.poll = poll
        self.idle_exit = idle_exit
        self.slurm_poll = slurm_poll
        self.store = JobStore(self.db)
        self.watches: dict[int, Watch] = {}
        self.children: dict[int, subprocess.Popen[bytes]] = {}
        self.stragglers: dict[int, float] = {}  # pgid -> when to SIGKILL
        self.last_slurm = 0.0
        self.stop_requested = False
        self._lock_handle: Any = None
        self.gpus = self._gpu_list()

    # -- lifecycle -------------------------------------------------------------------------------
    def _gpu_list(self) -> list[str]:
        setting = self.store.get_setting("local_gpus", "auto")
        self._gpu_setting = setting
        if setting in (None, "auto"):
            gpus = detect_gpus()
        else:
            gpus = [g.strip() for g in setting.split(",") if g.strip()]
        if self.store.get_setting("gpus_total") != str(len(gpus)):
            self.store.set_setting("gpus_total", str(len(gpus)))
        return gpus

    def acquire(self) -> bool:
        path = lock_path(self.db)
        handle = open(path, "a+")  # noqa: SIM115 - held for the supervisor's lifetime
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._lock_handle = handle
        return True

    def release(self) -> None:
        if self._lock_handle is not None:
            with contextlib.suppress(OSError):
                self._lock_handle.truncate(0)
                fcntl.flock(self._lock_handle.fileno(), fcntl.LOCK_UN)
            self._lock_handle.close()
            self._lock_handle = None

    def run(self) -> int:
        if not self.acquire():
            return 0  # another supervisor owns this store
        idle_since: float | None = None
        last_error: list[Any] = ["", 0.0]
        try:
            while not self.stop_requested:
                try:
                    busy = self.tick()
                except Exception as error:  # noqa: BLE001 - keep supervising; the log tells
                    text = f"{type(error).__name__}: {error}"
                    if text != last_error[0] or time.monotonic() - last_error[1] > 60:
                        print(f"[supervisor] {time.strftime('%F %T')} tick failed: {text}", flush=True)
                        last_error[:] = [text, time.monotonic()]
                    busy = True
                now = time.monotonic()
                if busy:
                    idle_since = None
                elif idle_since is None:
                    idle_since = now
                elif now - idle_since >= self.idle_exit:
                    # release, then look again: a job submitted meanwhile sees no supervisor and starts one
                    self.release()
                    if self.store.count(ACTIVE_STATES) == 0 and not self.children:
                        break
                    if not self.acquire():
                        break
                    idle_since = None
                time.sleep(self.poll)
        finally:
            self.release()
            self.store.close()
        return 0

    # -- one pass ----------------------------------------------------------------------------------
    def tick(self) -> bool:
        for job_id, proc in list(self.children.items()):
            if proc.poll() is not None:
                del self.children[job_id]
        now = time.time()
        running = self.store.list_jobs(states=[RUNNING])
        for job in running:
            if job.runner == "local":
                self._watch_local(job, now)
        queued = self.store.list_jobs(states=[QUEUED])
        slurm_jobs = [j for j in running + queued if j.runner == "slurm" and j.external_id]
        if slurm_jobs and time.monotonic() - self.last_slurm >= self.slurm_poll:
            self.last_slurm = time.monotonic()
            self._poll_slurm(slurm_jobs, now)
        for job in self.store.list_jobs(states=[RUNNING]):
            if job.id in self.watches:
                self._parse(job, now)
        self._kill_stragglers()
        self._start_ready()
        return bool(self.store.count(ACTIVE_STATES) or self.children or self.stragglers)

    # -- local jobs --------------------------------------------------------------------------------
    def _watch_for(self, job: Job) -> Watch:
        watch = self.watches.get(job.id)
        if watch is None or watch.attempt != job.attempt:
            full = self.store.get(job.id)
            spec = full.run_spec or {}
            parser = ProgressParser(spec.get("parsers"), spec.get("total"), spec.get("unit", ""))
            watch = Watch(LogTail(job.log_path or "", job.log_offset), parser, job.attempt, spec=spec)
            self.watches[job.id] = watch
        return watch

    def _watch_local(self, job: Job, now: float) -> None:
        watch = self._watch_for(job)
        info = local.read_exit(job)
        if info is not None:
            self._finish(job, info.get("code"), info.get("error"), now, info=info)
            return
        if local.wrapper_alive(job):
            watch.missing_since = None
            self._escalate(job, watch, now)
            return
        # wrapper gone without an exit file: give the file a moment, then look at the group
        if watch.missing_since is None:
            watch.missing_since = now
            return
        if now - watch.missing_since < LOST_GRACE:
            return
        if group_alive(job.pgid):
            self._escalate(job, watch, now)  # its children still run: keep watching the group
            return
        info = local.read_exit(job)
        if info is not None:
            self._finish(job, info.get("code"), info.get("error"), now, info=info)
        elif job.cancel_requested:
            self._finish(job, 128 + 9 if watch.killed else None, None, now)
        else:
            self._finish(job, None, "the job's wrapper process disappeared; its exit code is unknown", now)

    def _escalate(self, job: Job, watch: Watch, now: float) -> None:
        """A cancelled job: its stop signal once (if nobody sent it yet), SIGKILL after the grace time."""
        if not job.cancel_requested:
            return
        spec = self._run_spec(job)
        if job.stop_sent is None and job.pgid:
            if self.store.claim_stop(job.id):
                local.stop(job, spec.get("stop_signal", "SIGTERM"))
            return
        since = job.stop_sent or job.cancel_requested
        if not watch.killed and now - since >= float(spec.get("kill_after", 20.0)):
            signal_group(job.pgid, signal.SIGKILL)
            watch.killed = True

    def _run_spec(self, job: Job) -> dict[str, Any]:
        watch = self.watches.get(job.id)
        if watch is not None and watch.spec is not None:
            return watch.spec
        spec = self.store.get(job.id).run_spec or {}
        if watch is not None:
            watch.spec = spec
        return spec

    def _kill_stragglers(self) -> None:
        now = time.time()
        for pgid, deadline in list(self.stragglers.items()):
            if not group_alive(pgid):
                del self.stragglers[pgid]
            elif now >= deadline:
                signal_group(pgid, signal.SIGKILL)
                del self.stragglers[pgid]

    # -- Slurm jobs --------------------------------------------------------------------------------
    def _poll_slurm(self, jobs: list[Job], now: float) -> None:
        states = slurm.queue_states([j.external_id for j in jobs if j.external_id])
        if states is None:
            return  # squeue failed: try again later, change nothing
        for job in jobs:
            state, reason = states.get(job.external_id or "", (None, ""))
            exit_info = local.read_exit(job)
            if state in slurm.PENDING_STATES:
                text = f"{state} ({reason})" if reason and reason != "None" else state
                if job.external_state != text:
                    self.store.update(job.id, external_state=text)
                if job.cancel_requested and job.stop_sent is None and self.store.claim_stop(job.id):
                    slurm.scancel(job.external_id or "")
            elif state in slurm.RUNNING_STATES and exit_info is None:
                if job.state == QUEUED:
                    self.store.transition(
                        job.id, [QUEUED], state=RUNNING, started_at=now, external_state=state
                    )
                elif job.external_state != state:
                    self.store.update(job.id, external_state=state)
                self._watch_for(job)
                self._slurm_escalate(job, now)
            else:
                # finished (or forgotten by Slurm): the script's exit file has the code
                watch = self._watch_for(job)
                if exit_info is not None:
                    self._finish(job, exit_info.get("code"), None, now, info=exit_info)
                    continue
                killed = (state or "") in slurm.KILLED_STATES or bool(job.cancel_requested and state)
                if watch.missing_since is None and not killed:
                    watch.missing_since = now
                    continue
                if not killed and now - watch.missing_since < max(3.0, 3 * self.slurm_poll):
                    continue  # the script ended normally: its exit file may lag on a shared filesystem
                acct = slurm.sacct_exit(job.external_id or "")
                code = acct[1] if acct else None
                if job.cancel_requested or (state or "").startswith("CANCELLED"):
                    self._finish(job, code, None, now, cancelled=True)
                else:
                    reason_text = f"Slurm: {state} {reason}".strip() if state else "Slurm forgot the job"
                    self._finish(job, code, f"{reason_text}; no exit code was recorded", now)

    def _slurm_escalate(self, job: Job, now: float) -> None:
        if not job.cancel_requested:
            return
        watch = self._watch_for(job)
        spec = self._run_spec(job)
        if job.stop_sent is None:
            if self.store.claim_stop(job.id):
                stop = str(spec.get("stop_signal", "SIGTERM"))
                slurm.scancel(job.external_id or "", None if stop == "SIGTERM" else stop)
            return
        if not watch.killed and now - job.stop_sent >= float(spec.get("kill_after", 20.0)):
            slurm.scancel(job.external_id or "")
            watch.killed = True

    # -- logs, progress, artifacts -------------------------------------------------------------------
    def _parse(self, job: Job, now: float, final: bool = False) -> None:
        watch = self._watch_for(job)
        while True:
            text = watch.tail.read(final=final)
            if not text:
                break
            update = watch.parser.feed(text)
            if update.done is not None:
                watch.dirty["progress_done"] = update.done
                if job.progress_t0 is None and "progress_t0" not in watch.dirty:
                    watch.dirty["progress_t0"] = now
                    watch.dirty["progress_d0"] = update.done
                watch.dirty["progress_t"] = now
                watch.dirty["eta_hint"] = update.eta
            if update.total is not None:
                watch.dirty["progress_total"] = update.total
            if update.text:
                watch.dirty["progress_text"] = update.text
            if update.loss is not None:
                watch.dirty["loss"] = update.loss
            for step, loss, metrics in update.points:
                watch.points.append(Point(step, now, loss, metrics))
            if len(text) < watch.tail.max_chunk // 2:
                break
        watch.dirty["log_offset"] = watch.tail.offset
        if final or now - watch.last_write >= PROGRESS_WRITE_EVERY:
            self._flush(job, watch, now)
        if now - watch.last_scan >= ARTIFACT_SCAN_EVERY:
            watch.last_scan = now
            self._register_artifacts(job, live_only=True)

    def _flush(self, job: Job, watch: Watch, now: float) -> None:
        fields = {k: v for k, v in watch.dirty.items() if not k.startswith("_")}
        offset = fields.pop("log_offset", None)
        if watch.points:
            self.store.add_points(job.id, job.attempt, watch.points)
            watch.points = []
        if fields and any(getattr(job, k) != v for k, v in fields.items()):
            if offset is not None:
                fields["log_offset"] = offset
            self.store.update(job.id, **fields)
        elif (
            offset is not None
            and offset != job.log_offset
            and now - watch.last_offset_write >= OFFSET_WRITE_EVERY
        ):
            # only for a restarted supervisor (it resumes parsing there): viewers need no news of it
            self.store.update_quietly(job.id, log_offset=offset)
            watch.last_offset_write = now
        watch.dirty = {k: v for k, v in watch.dirty.items() if k.startswith("_")}
        watch.last_write = now

    def _register_artifacts(self, job: Job, live_only: bool = False, succeeded: bool = True) -> None:
        spec = (self.store.get(job.id).run_spec or {}) if job.run_spec is None else job.run_spec
        found: list[tuple[str, str, str | None]] = []
        for item in spec.get("artifacts", []):
            if live_only and not item.get("live"):
                continue
            if not live_only and not succeeded and item.get("when", "success") != "always":
                continue
            base = Path(item["path"])
            pattern = item.get("glob")
            if pattern:
                if base.is_dir():
                    matches = sorted(p for p in base.iterdir() if fnmatch.fnmatch(p.name, pattern))
                    found += [(str(p), item["kind"], item.get("label")) for p in matches]
            elif base.exists():
                found.append((str(base), item["kind"], item.get("label")))
        if found:
            self.store.add_artifacts(job.id, found)

    # -- endings ---------------------------------------------------------------------------------------
    def _finish(
        self,
        job: Job,
        code: int | None,
        error: str | None,
        now: float,
        cancelled: bool = False,
        info: dict[str, Any] | None = None,
    ) -> None:
        full = self.store.get(job.id)
        if full.state not in ACTIVE_STATES or full.attempt != job.attempt:
            return
        self._parse(full, now, final=True)
        spec = full.run_spec or {}
        if full.cancel_requested or cancelled:
            state = SUCCEEDED if spec.get("stop_is_success") and code == 0 else CANCELLED
        else:
            state = SUCCEEDED if code == 0 else FAILED
        if state == FAILED and error is None:
            error = f"exit code {code}" if code is not None else "failed"
        if state == CANCELLED and error is None:
            error = "cancelled"
        ended = float((info or {}).get("ended") or now)
        fields: dict[str, Any] = {
            "state": state,
            "exit_code": code,
            "ended_at": min(ended, now),
            "error": error,
        }
        if full.started_at is None:
            fields["started_at"] = float((info or {}).get("started") or ended)
        if state == SUCCEEDED and full.progress_total and full.progress_done is not None:
            fields["progress_done"] = max(full.progress_done, full.progress_total)
        if self.store.transition(full.id, ACTIVE_STATES, **fields):
            self._register_artifacts(full, succeeded=state == SUCCEEDED)
        self.watches.pop(full.id, None)
        if full.runner == "local" and full.pgid and group_alive(full.pgid):
            signal_group(full.pgid, signal.SIGTERM)  # leftovers of a finished job
            self.stragglers[full.pgid] = now + 5.0
        if state == FAILED and full.attempt <= full.max_retries:

            reset_for_retry(self.store, self.store.get(full.id))

    # -- starting ----------------------------------------------------------------------------------------
    def _start_ready(self) -> None:
        queued = self.store.list_jobs(states=[QUEUED])
        if not queued:
            return
        if self.store.get_setting("local_gpus", "auto") != self._gpu_setting:
            self.gpus = self._gpu_list()  # `jobs config --gpus` changed it
        queued.sort(key=lambda j: (-j.priority, j.id))
        running_local = [j for j in self.store.list_jobs(states=[RUNNING]) if j.runner == "local"]
        used: set[str] = set()
        for j in running_local:
            used.update(g for g in (j.gpu_ids or "").split(",") if g)
        max_local = int(self.store.get_setting("max_local_jobs", str(DEFAULT_MAX_LOCAL)) or DEFAULT_MAX_LOCAL)
        n_local = len(running_local)
        gpu_blocked = False
        ids = [j.id for j in queued]
        deps: dict[int, list[tuple[int, str | None]]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = self.store.conn.execute(
                "SELECT d.job_id, d.dep_id, j.state FROM deps d LEFT JOIN jobs j ON j.id = d.dep_id "
                f"WHERE d.job_id IN ({','.join('?' * len(chunk))})",
                chunk,
            ).fetchall()
            for job_id, dep_id, dep_state in rows:
                deps.setdefault(job_id, []).append((dep_id, dep_state))
        cancelled_now: set[int] = set()
        for job in queued:
            if job.external_id:
                continue  # waiting in Slurm
            blocked = False
            for dep, dep_state in sorted(deps.get(job.id, [])):
                if dep in cancelled_now:
                    dep_state = CANCELLED
                if dep_state in (FAILED, CANCELLED) or dep_state is None:
                    what = "was deleted" if dep_state is None else dep_state
                    self.store.transition(
                        job.id,
                        [QUEUED],
                        state=CANCELLED,
                        ended_at=time.time(),
                        error=f"{DEPENDENCY_PREFIX}#{dep} {what}",
                    )
                    cancelled_now.add(job.id)
                    blocked = True
                    break
                if dep_state != SUCCEEDED:
                    blocked = True
            if blocked:
                continue
            if job.runner == "slurm":
                self._launch(job, [])
                continue
            if n_local >= max_local:
                continue
            gpu_ids: list[str] = []
            if job.gpus > 0:
                if job.gpus > len(self.gpus):
                    self._fail_start(
                        job,
                        f"needs {job.gpus} GPU(s), this machine has {len(self.gpus)}",
                        hint="lower the GPU count or use the Slurm runner",
                    )
                    continue
                if gpu_blocked:
                    continue
                free = [g for g in self.gpus if g not in used]
                if len(free) < job.gpus:
                    gpu_blocked = True  # no backfill past a waiting GPU job: it would starve
                    continue
                gpu_ids = free[: job.gpus]
            if self._launch(job, gpu_ids):
                used.update(gpu_ids)
                n_local += 1

    def _fail_start(self, job: Job, problem: str, hint: str | None = None) -> None:
        text = problem + (f" ({hint})" if hint else "")
        if job.log_path:
            Path(job.log_path).parent.mkdir(parents=True, exist_ok=True)
            with open(job.log_path, "a", encoding="utf-8") as log:
                log.write(f"[rollout-studio] not started: {text}\n")
        self.store.transition(job.id, [QUEUED], state=FAILED, ended_at=time.time(), error=text)

    def _launch(self, job: Job, gpu_ids: list[str]) -> bool:
        from backend.jobs.templates import build_command

        full = self.store.get(job.id)
        try:
            template = job_template(full)
            profile = job_profile(full)
            values = template.resolve_paths(full.params or {})
            problems = template.check_paths(values)
            if problems:
                raise StudioError(
                    "; ".join(f"{k}: {v}" for k, v in problems.items()), hint="an input is missing"
                )
            command = build_command(
                template, values, profile, job_id=full.id, job_dir=full.job_dir, submit_cwd=full.submit_cwd
            )
            if template.needs_repo and not Path(command.cwd).is_dir():
                raise StudioError(
                    f"working folder {command.cwd} does not exist", hint="check the profile's repository"
                )
        except StudioError as error:
            self._fail_start(full, error.message)
            return False
        except Exception as error:  # noqa: BLE001 - a broken spec fails its job, not the supervisor
            self._fail_start(full, f"cannot build the command: {type(error).__name__}: {error}")
            return False
        extra_env = command.extra_env(profile)
        run_spec = {
            "argv": command.argv,
            "cwd": command.cwd,
            "env": extra_env,
            "artifacts": command.artifacts,
            "total": command.total,
            "parsers": template.progress.get("parsers", []),
            "unit": template.progress.get("unit", ""),
            "stop_signal": template.stop_signal,
            "kill_after": template.kill_after,
            "stop_is_success": template.stop_is_success,
        }
        now = time.time()
        if full.runner == "slurm":
            return self._launch_slurm(full, template.name, command, extra_env, run_spec, profile, now)
        env = children.user_env()  # the user's own, never the studio's source or bundle libraries
        env.update(extra_env)
        env.setdefault("PYTHONUNBUFFERED", "1")
        env["ROLLOUT_STUDIO_JOB_ID"] = str(full.id)
        if gpu_ids and not (profile and profile.gpus) and "CUDA_VISIBLE_DEVICES" not in extra_env:
            env["CUDA_VISIBLE_DEVICES"] = ",".join(gpu_ids)
        run_spec["gpu_ids"] = gpu_ids
        if not self.store.transition(
            full.id,
            [QUEUED],
            state=RUNNING,
            started_at=now,
            run_spec=run_spec,
            argv=command.argv,
            cwd=command.cwd,
            gpu_ids=",".join(gpu_ids) or None,
            progress_total=command.total,
        ):
            return False  # cancelled or edited meanwhile
        full = self.store.get(full.id)
        try:
            proc, start = local.start(full, command.argv, env, command.cwd)
        except OSError as error:
            self.store.transition(
                full.id,
                [RUNNING],
                state=FAILED,
                ended_at=time.time(),
                error=f"cannot start the wrapper: {error}",
            )
            return False
        self.children[full.id] = proc
        self.store.update(full.id, pid=proc.pid, pid_start=start, pgid=proc.pid)
        return True

    def _launch_slurm(
        self,
        job: Job,
        template_name: str,
        command: Any,
        extra_env: dict[str, str],
        run_spec: dict[str, Any],
        profile: Any,
        now: float,
    ) -> bool:
        exit_path = local.exit_file(job)
        register_state_root(exit_path.parent)
        remove_path(exit_path)
        script_path = local.attempt_file(job, "sbatch")
        try:
            script = slurm.render_script(
                job_id=job.id,
                attempt=job.attempt,
                template=template_name,
                argv=command.argv,
                env=extra_env,
                cwd=command.cwd,
                exit_file=str(exit_path),
                gpus=command.gpus,
                options=(profile.slurm if profile else {}),
            )
            script_path.write_text(script, encoding="utf-8")
            slurm_id = slurm.sbatch(
                script_path,
                name=f"rs-{job.id}-{template_name}",
                log=Path(job.log_path or ""),
                cwd=command.cwd,
            )
        except (StudioError, OSError, subprocess.TimeoutExpired) as error:
            message = error.message if isinstance(error, StudioError) else str(error)
            self._fail_start(job, message)
            return False
        run_spec["slurm_script"] = str(script_path)
        self.store.update(
            job.id,
            external_id=slurm_id,
            external_state="PENDING",
            run_spec=run_spec,
            argv=command.argv,
            cwd=command.cwd,
            progress_total=command.total,
        )
        return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend.jobs.daemon", description=__doc__)
    parser.add_argument("--db", required=True)
    parser.add_argument("--poll", type=float, default=0.2)
    parser.add_argument("--idle-exit", type=float, default=DEFAULT_IDLE_EXIT)
    parser.add_argument("--slurm-poll", type=float, default=1.0)
    args = parser.parse_args(argv)
    supervisor = Supervisor(args.db, poll=args.poll, idle_exit=args.idle_exit, slurm_poll=args.slurm_poll)

    def stop(_signum: int, _frame: object) -> None:
        supervisor.stop_requested = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"[supervisor] pid {os.getpid()} on {args.db} started {time.strftime('%F %T')}", flush=True)
    code = supervisor.run()
    print(f"[supervisor] pid {os.getpid()} stopped {time.strftime('%F %T')}", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
