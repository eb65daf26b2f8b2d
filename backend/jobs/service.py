"""What users do with jobs: submit, cancel, retry, duplicate, edit, wait. Shared by CLI and GUI."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from backend.errors import StudioError
from backend.jobs import local, slurm
from backend.jobs.profiles import Check, Profile, check_profile, default_profile
from backend.jobs.store import (
    ACTIVE_STATES,
    CANCELLED,
    DEPENDENCY_PREFIX,
    FAILED,
    FINAL_STATES,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    Job,
    JobStore,
)
from backend.jobs.supervisor import ensure_supervisor
from backend.jobs.templates import Template, TemplateSet, build_command, load_templates, parse_template

RUNNERS = ("local", "slurm")


def get_profile(store: JobStore, name: str) -> Profile:
    data = store.load_profile(name)
    if data is None:
        known = ", ".join(store.profile_names()) or "none yet"
        raise StudioError(
            f"no environment profile {name!r} (known: {known})",
            hint="create one with `rollout-studio jobs profile set NAME --repo ... --python ...`",
        )
    return Profile.from_dict(data)


def pick_profile(store: JobStore, template: Template, name: str | None) -> Profile | None:
    """The named profile; else the only profile for the template's tool; None for tool-less templates."""
    if name:
        return get_profile(store, name)
    if not template.tool:
        return None
    matches = []
    for pname in store.profile_names():
        profile = Profile.from_dict(store.load_profile(pname) or {"name": pname})
        if profile.tool == template.tool:
            matches.append(profile)
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise StudioError(
            f"template {template.name} needs a {template.tool} environment profile and there is none",
            hint=f"create one: rollout-studio jobs profile set NAME --tool {template.tool} --repo PATH --python PATH",
        )
    raise StudioError(
        f"several {template.tool} profiles ({', '.join(p.name for p in matches)})",
        hint="choose one with --profile",
    )


def preflight(
    template: Template,
    values: dict[str, Any],
    profile: Profile | None,
    runner: str,
    check_inputs: bool = True,
) -> list[Check]:
    """Everything checked before a run: profile paths, the interpreter, required scripts, inputs."""
    checks: list[Check] = []
    uses_python = _uses(template.argv, "{python}")
    if profile is not None or template.tool:
        checks += check_profile(
            profile or default_profile(),
            requires=template.required_files(values),
            runner=runner,
            needs_repo=template.needs_repo,
            needs_python=uses_python,
        )
    elif runner == "slurm":
        checks += check_profile(default_profile(), runner=runner, needs_repo=False, needs_python=False)
    if check_inputs:
        resolved = template.resolve_paths(values)
        for name, problem in template.check_paths(resolved).items():
            checks.append(Check(f"input {name}", False, problem))
    return checks


def _uses(items: list[Any], token: str) -> bool:
    for item in items:
        if item == token:
            return True
        if isinstance(item, dict) and (
            _uses(item.get("then", []), token) or _uses(item.get("else", []), token)
        ):
            return True
    return False


def submit(
    store: JobStore,
    template_name: str,
    params: dict[str, Any] | None = None,
    *,
    profile: str | None = None,
    runner: str = "local",
    after: list[int] | None = None,
    priority: int = 0,
    name: str | None = None,
    max_retries: int = 0,
    submit_cwd: str | None = None,
    check: bool = True,
    templates: TemplateSet | None = None,
    start_supervisor: bool = True,
) -> int:
    """Validate, check, store a queued job and make sure a supervisor will run it. Returns its id."""
    if runner not in RUNNERS:
        raise StudioError(f"unknown runner {runner!r}", hint="local or slurm")
    templates = templates or load_templates()
    template = templates.get(template_name)
    chosen = pick_profile(store, template, profile)
    submit_cwd = str(Path(submit_cwd or os.getcwd()).absolute())
    values, errors = template.coerce_params(params or {}, base=Path(submit_cwd))
    if errors:
        raise StudioError(
            "bad parameters: " + "; ".join(f"{k}: {v}" for k, v in errors.items()),
            hint=f"template {template.name}",
        )
    after = [int(a) for a in after or []]
    for dep in after:
        if not store.exists(dep):
            raise StudioError(f"job {dep} does not exist", store.path, "check --after")
    if check:
        # inputs of a chained job are made by the jobs before it: they are checked when it starts
        failed = [c for c in preflight(template, values, chosen, runner, check_inputs=not after) if not c.ok]
        if failed:
            raise StudioError(
                "checks failed: " + "; ".join(f"{c.what}: {c.detail}" for c in failed),
                hint="fix the profile or parameters (or pass --no-check)",
            )
    command = build_command(template, values, chosen, submit_cwd=submit_cwd)
    spec = dict(template.raw)
    spec["_source"] = template.source
    return _add(
        store,
        template,
        spec,
        values,
        chosen,
        command,
        runner,
        after,
        priority,
        name,
        max_retries,
        submit_cwd,
        start_supervisor,
    )


def _add(
    store,
    template,
    spec,
    values,
    profile,
    command,
    runner,
    after,
    priority,
    name,
    max_retries,
    submit_cwd,
    start_supervisor,
) -> int:
    job_id = store.add_job(
        name=name or template.name,
        template=template.name,
        runner=runner,
        profile=profile.name if profile else None,
        argv=command.argv,
        env=command.extra_env(profile),
        cwd=command.cwd,
        submit_cwd=submit_cwd,
        params=values,
        template_spec=spec,
        profile_spec=profile.to_dict() if profile else None,
        gpus=command.gpus,
        priority=priority,
        max_retries=max_retries,
        deps=after,
    )
    if start_supervisor:

        ensure_supervisor(store.path)
    return job_id


def job_template(job: Job) -> Template:
    spec = dict(job.template_spec or {})
    source = spec.pop("_source", "")
    return parse_template(spec, source)


def job_profile(job: Job) -> Profile | None:
    return Profile.from_dict(job.profile_spec) if job.profile_spec else None


def cancel(store: JobStore, job_id: int) -> bool:
    """Stop a job: a queued one is cancelled at once; a running one gets its stop signal (the whole
    process group / the Slurm job), then SIGKILL after the template's grace time."""
    job = store.get(job_id)
    now = time.time()
    if job.state == QUEUED and not job.external_id:
        if store.transition(
            job.id, [QUEUED], state=CANCELLED, ended_at=now, error="cancelled before it started"
        ):
            return True
        job = store.get(job_id)  # it just started: cancel it running
    if job.state not in ACTIVE_STATES:
        return False
    if job.cancel_requested is None:
        store.update(job.id, cancel_requested=now)
    # send the stop signal now when we can; the supervisor sends it otherwise (exactly one sender)
    stop = str((job.run_spec or {}).get("stop_signal", "SIGTERM"))
    if job.runner == "local" and job.pgid and local.wrapper_alive(job):
        if store.claim_stop(job.id):
            local.stop(job, stop)
    elif job.runner == "slurm" and job.external_id:
        if store.claim_stop(job.id):
            slurm.scancel(job.external_id, None if stop == "SIGTERM" or job.state == QUEUED else stop)

    ensure_supervisor(store.path)
    return True


def reset_for_retry(store: JobStore, job: Job, bump_attempt: bool = True) -> None:
    attempt = job.attempt + 1 if bump_attempt else job.attempt
    store.update(
        job.id,
        state=QUEUED,
        attempt=attempt,
        log_path=str(Path(job.job_dir or store.root / "logs" / str(job.id)) / f"attempt-{attempt}.log"),
        started_at=None,
        ended_at=None,
        exit_code=None,
        error=None,
        external_id=None,
        external_state=None,
        pid=None,
        pid_start=None,
        pgid=None,
        cancel_requested=None,
        stop_sent=None,
        progress_done=None,
        progress_total=None,
        progress_text=None,
        loss=None,
        progress_t0=None,
        progress_d0=None,
        progress_t=None,
        eta_hint=None,
        log_offset=0,
        gpu_ids=None,
        run_spec=None,
    )
    store.clear_attempt_data(job.id)


def retry(store: JobStore, job_id: int, start_supervisor: bool = True) -> None:
    """Run a finished job again (next attempt, new log); dependents that were cancelled because of it
    are queued again too."""
    job = store.get(job_id)
    if job.state not in FINAL_STATES:
        raise StudioError(f"job {job_id} is {job.state}", hint="only finished jobs can be retried")
    reset_for_retry(store, job)
    todo = store.dependents_of(job.id)
    seen = set()
    while todo:
        dep_id = todo.pop()
        if dep_id in seen:
            continue
        seen.add(dep_id)
        dep = store.get(dep_id)
        if dep.state == CANCELLED and (dep.error or "").startswith(DEPENDENCY_PREFIX):
            reset_for_retry(store, dep, bump_attempt=False)
            todo.extend(store.dependents_of(dep_id))
    if start_supervisor:

        ensure_supervisor(store.path)


def duplicate(
    store: JobStore, job_id: int, after: list[int] | None = None, start_supervisor: bool = True
) -> int:
    """A new queued job with the same template, parameters, profile and runner."""
    job = store.get(job_id)
    template = job_template(job)
    profile = job_profile(job)
    command = build_command(template, job.params or {}, profile, submit_cwd=job.submit_cwd)
    return _add(
        store,
        template,
        job.template_spec,
        job.params or {},
        profile,
        command,
        job.runner,
        job.deps if after is None else after,
        job.priority,
        job.name,
        job.max_retries,
        job.submit_cwd or os.getcwd(),
        start_supervisor,
    )


def edit(
    store: JobStore,
    job_id: int,
    params: dict[str, Any] | None = None,
    *,
    priority: int | None = None,
    name: str | None = None,
    profile: str | None = None,
    runner: str | None = None,
) -> None:
    """Change a queued job (parameters, priority, name, profile, runner)."""
    job = store.get(job_id)
    if job.state != QUEUED or job.external_id:
        raise StudioError(
            f"job {job_id} is {job.state}", hint="only queued jobs can be edited; duplicate it instead"
        )
    fields: dict[str, Any] = {}
    if priority is not None:
        fields["priority"] = int(priority)
    if name:
        fields["name"] = name
    if runner:
        if runner not in RUNNERS:
            raise StudioError(f"unknown runner {runner!r}")
        fields["runner"] = runner
    if params is not None or profile is not None:
        template = job_template(job)
        chosen = get_profile(store, profile) if profile else job_profile(job)
        raw = dict(job.params or {})
        raw.update(params or {})
        values, errors = template.coerce_params(raw, base=Path(job.submit_cwd or os.getcwd()))
        if errors:
            raise StudioError("bad parameters: " + "; ".join(f"{k}: {v}" for k, v in errors.items()))
        command = build_command(template, values, chosen, submit_cwd=job.submit_cwd)
        fields.update(
            params=values,
            argv=command.argv,
            env=command.extra_env(chosen),
            cwd=command.cwd,
            gpus=command.gpus,
        )
        if chosen is not None:
            fields.update(profile=chosen.name, profile_spec=chosen.to_dict())
    if fields and not store.transition(job_id, [QUEUED], **fields):
        raise StudioError(f"job {job_id} started meanwhile", hint="duplicate it instead")


def exit_status(job: Job) -> int:
    """The shell exit status that stands for a finished job."""
    if job.state == SUCCEEDED:
        return 0
    if job.exit_code is not None and job.exit_code != 0:
        return max(1, min(255, int(job.exit_code)))
    return 130 if job.state == CANCELLED else 1


def wait(store: JobStore, job_id: int, timeout: float | None = None, poll: float = 0.2) -> Job:
    """Block until the job is final (keeps a supervisor alive meanwhile)."""

    deadline = None if timeout is None else time.monotonic() + timeout
    last_check = 0.0
    while True:
        job = store.get(job_id)
        if job.state in FINAL_STATES:
            return job
        if time.monotonic() - last_check > 2.0:
            ensure_supervisor(store.path)
            last_check = time.monotonic()
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} still {job.state}")
        time.sleep(poll)


def state_counts(store: JobStore) -> dict[str, int]:
    rows = store.conn.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall()
    counts = {s: 0 for s in (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)}
    counts.update({s: int(n) for s, n in rows})
    return counts
