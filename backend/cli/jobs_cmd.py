"""`rollout-studio jobs ...`: the job queue from the command line (same store as the GUI).

rollout-studio jobs templates [--json]
rollout-studio jobs submit TEMPLATE [--param KEY=VALUE ...] [--profile NAME] [--runner local|slurm]
                           [--after JOB_ID ...] [--priority N] [--retries N] [-- ARGV ...]
rollout-studio jobs list|show|logs|cancel|retry|wait|duplicate JOB_ID [--json]
rollout-studio jobs profile list|show|set|rm|check ...
rollout-studio jobs config [--gpus auto|0,1|none] [--max-local-jobs N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from backend.cli._common import path_arg, print_json
from backend.errors import StudioError


class _DashDashParser(argparse.ArgumentParser):
    """Keeps everything after ``--`` as the command's argv, whatever it looks like (argparse would
    otherwise match the optional positional early and reject the rest)."""

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        args = list(sys.argv[1:] if args is None else args)
        tail: list[str] = []
        if "--" in args:
            cut = args.index("--")
            args, tail = args[:cut], args[cut + 1 :]
        namespace, extras = super().parse_known_args(args, namespace)
        namespace.argv = list(getattr(namespace, "argv", None) or []) + tail
        return namespace, extras


def register(subparsers: argparse._SubParsersAction) -> None:
    top = argparse.ArgumentParser(add_help=False)
    top.add_argument("--db", type=path_arg, help="job store (default $ROLLOUT_STUDIO_HOME/jobs/jobs.sqlite)")
    # the actions repeat --db without a default, so `jobs --db X list` keeps X (argparse lets a
    # subparser's default overwrite the value parsed before the action)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        default=argparse.SUPPRESS,
        type=path_arg,
        help="job store (default $ROLLOUT_STUDIO_HOME/jobs/jobs.sqlite)",
    )
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="machine-readable output")

    parser = subparsers.add_parser(
        "jobs",
        parents=[top],
        help="job queue: submit, watch, cancel and retry tool runs",
        description="Queue Cosmos, IDM, LeIsaac and GR00T runs locally or on Slurm; they go on when the GUI is closed.",
    )
    sub = parser.add_subparsers(dest="jobs_command", metavar="ACTION")
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])

    p = sub.add_parser("templates", parents=[common, as_json], help="list job templates")
    p.set_defaults(func=cmd_templates)

    default_class = sub._parser_class
    sub._parser_class = _DashDashParser  # only for "submit"
    p = sub.add_parser("submit", parents=[common, as_json], help="queue a job; prints its id")
    sub._parser_class = default_class
    p.add_argument("template")
    p.add_argument(
        "--param",
        "-p",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="template parameter (repeat; a list parameter takes several)",
    )
    p.add_argument("--profile", help="environment profile (default: the only one for the template's tool)")
    p.add_argument("--runner", choices=("local", "slurm"), default="local")
    p.add_argument(
        "--after",
        action="append",
        type=int,
        default=[],
        metavar="JOB_ID",
        help="start only when this job has succeeded (repeat)",
    )
    p.add_argument("--priority", type=int, default=0, help="higher starts first")
    p.add_argument("--retries", type=int, default=0, help="automatic retries when it fails")
    p.add_argument("--name", help="a name for the queue table")
    p.add_argument("--no-check", action="store_true", help="skip the profile and input checks")
    p.add_argument("--wait", action="store_true", help="wait for the job and exit with its exit code")
    p.add_argument("argv", nargs="*", help="after --: the command (template 'command') or extra arguments")
    p.set_defaults(func=cmd_submit)

    p = sub.add_parser("list", parents=[common, as_json], help="the queue, newest first")
    p.add_argument(
        "--state", action="append", choices=("queued", "running", "succeeded", "failed", "cancelled")
    )
    p.add_argument("--limit", type=int, default=None)
    p.set_defaults(func=cmd_list)

    for name, func, text in (
        ("show", "cmd_show", "details of one job"),
        ("cancel", "cmd_cancel", "stop a job (its whole process group / Slurm job)"),
        ("retry", "cmd_retry", "run a finished job again (and what was cancelled because of it)"),
        ("duplicate", "cmd_duplicate", "queue a copy of a job; prints the new id"),
    ):
        p = sub.add_parser(name, parents=[common, as_json], help=text)
        p.add_argument("job_id", type=int)
        p.set_defaults(func=globals()[func])

    p = sub.add_parser("wait", parents=[common, as_json], help="wait for a job; exits with its exit code")
    p.add_argument("job_id", type=int)
    p.add_argument("--timeout", type=float, default=None, help="seconds (exit 124 when reached)")
    p.set_defaults(func=cmd_wait)

    p = sub.add_parser("logs", parents=[common, as_json], help="print a job's log")
    p.add_argument("job_id", type=int)
    p.add_argument("--follow", "-f", action="store_true", help="keep printing until the job ends")
    p.add_argument("--tail", type=int, default=None, metavar="LINES", help="only the last LINES lines")
    p.add_argument("--attempt", type=int, default=None)
    p.set_defaults(func=cmd_logs)

    p = sub.add_parser("config", parents=[common, as_json], help="local runner settings")
    p.add_argument("--gpus", help="GPU ids for local jobs: auto (nvidia-smi), none, or e.g. 0,1")
    p.add_argument("--max-local-jobs", type=int, help="local jobs running at once")
    p.set_defaults(func=cmd_config)

    p = sub.add_parser("supervisor", parents=[common, as_json], help="status of the background supervisor")
    p.add_argument("--start", action="store_true", help="start one if none runs")
    p.set_defaults(func=cmd_supervisor)

    prof = sub.add_parser("profile", parents=[common], help="environment profiles")
    psub = prof.add_subparsers(dest="profile_command", metavar="ACTION")
    prof.set_defaults(func=lambda args: (prof.print_help(), 2)[1])
    p = psub.add_parser("list", parents=[common, as_json], help="list profiles")
    p.set_defaults(func=cmd_profile_list)
    p = psub.add_parser("show", parents=[common, as_json], help="show a profile")
    p.add_argument("name")
    p.set_defaults(func=cmd_profile_show)
    p = psub.add_parser("rm", parents=[common], help="delete a profile")
    p.add_argument("name")
    p.set_defaults(func=cmd_profile_rm)
    p = psub.add_parser("set", parents=[common, as_json], help="create or update a profile")
    p.add_argument("name")
    p.add_argument(
        "--tool", help="cosmos-predict2.5, cosmos-reason2, gr00t-dreams, leisaac, isaac-gr00t, ..."
    )
    p.add_argument("--repo", type=_optional_path, help="the tool's repository checkout")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--python", help='interpreter command, e.g. /opt/venv/bin/python or "uv run python"')
    group.add_argument("--venv", type=path_arg, help="a virtual environment folder (uses its bin/python)")
    group.add_argument("--conda", metavar="ENV", help="a conda environment (conda run -n ENV python)")
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="extra variable (repeat)")
    p.add_argument("--unset-env", action="append", default=[], metavar="KEY")
    p.add_argument("--gpus", help="pin CUDA_VISIBLE_DEVICES for this profile, e.g. 0,1 ('' to clear)")
    p.add_argument(
        "--slurm",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Slurm option: partition, time, cpus_per_task, mem, account, qos, constraint",
    )
    p.add_argument(
        "--slurm-extra",
        action="append",
        default=[],
        metavar="OPTION",
        help="a raw sbatch option line, e.g. --exclusive (repeat)",
    )
    p.add_argument("--description")
    p.set_defaults(func=cmd_profile_set)
    p = psub.add_parser(
        "check", parents=[common, as_json], help="check a profile (paths, interpreter, scripts)"
    )
    p.add_argument("name")
    p.add_argument("--template", help="also check the scripts this template needs")
    p.add_argument("--runner", choices=("local", "slurm"), default="local")
    p.set_defaults(func=cmd_profile_check)


# -- helpers -----------------------------------------------------------------------------------------
def _store(args: argparse.Namespace, create: bool = True):
    from backend.jobs.paths import default_db_path
    from backend.jobs.store import JobStore

    return JobStore(Path(args.db).expanduser() if args.db else default_db_path(), create=create)


def _optional_path(text: str) -> str:
    """A path argument where '' means "none" (clears the setting)."""
    return path_arg(text) if text else ""


def _pairs(items: list[str], what: str) -> list[tuple[str, str]]:
    out = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise StudioError(f"{what} {item!r} is not KEY=VALUE")
        out.append((key.strip(), value))
    return out


def _when(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else "-"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def progress_cell(job: Any) -> str:
    fraction = job.fraction
    text = job.progress_text or ""
    if fraction is not None:
        return f"{100 * fraction:5.1f}% {text}".strip()
    return text or "-"


# -- commands ------------------------------------------------------------------------------------------
def cmd_templates(args: argparse.Namespace) -> int:
    from backend.jobs.templates import load_templates

    templates = load_templates()
    if args.json:
        print_json({"templates": [t.summary() for t in templates], "problems": templates.problems})
        return 0
    for template in templates:
        tool = f"[{template.tool}]" if template.tool else ""
        print(f"{template.name:22s} {template.title} {tool}")
    for problem in templates.problems:
        print(f"warning: {problem}", file=sys.stderr)
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    from backend.jobs import service
    from backend.jobs.templates import load_templates

    templates = load_templates()
    template = templates.get(args.template)
    raw: dict[str, Any] = {}
    for key, value in _pairs(args.param, "--param"):
        is_list = template.has_param(key) and template.param(key).type == "list"
        if is_list:
            raw.setdefault(key, [])
            raw[key].append(value)
        elif key in raw:
            raise StudioError(f"--param {key} given twice")
        else:
            raw[key] = value
    if args.argv:
        if not template.has_param("args"):
            raise StudioError(f"template {template.name} takes no arguments after --")
        raw.setdefault("args", [])
        raw["args"] = list(raw["args"]) + list(args.argv)
    with _store(args) as store:
        job_id = service.submit(
            store,
            template.name,
            raw,
            profile=args.profile,
            runner=args.runner,
            after=args.after,
            priority=args.priority,
            name=args.name,
            max_retries=args.retries,
            check=not args.no_check,
            templates=templates,
        )
        if args.json:
            print_json(store.get(job_id).to_dict())
        else:
            print(job_id)
        sys.stdout.flush()
        if args.wait:
            return service.exit_status(service.wait(store, job_id))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with _store(args) as store:
        jobs = store.list_jobs(states=args.state, limit=args.limit)
        if args.json:
            print_json([j.to_dict() for j in jobs])
            return 0
        print(
            f"{'ID':>6} {'STATE':10} {'TEMPLATE':20} {'RUNNER':6} {'PROGRESS':28} {'ETA':>7} {'STARTED':19}  NAME"
        )
        for job in jobs:
            state = job.state
            if job.external_state and job.state == "queued":
                state = "queued*"
            print(
                f"{job.id:>6} {state:10} {job.template[:20]:20} {job.runner:6} {progress_cell(job)[:28]:28} "
                f"{_duration(job.eta()):>7} {_when(job.started_at):19}  {job.name}"
            )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    with _store(args, create=False) as store:
        job = store.get(args.job_id)
        artifacts = store.artifacts(job.id)
        dependents = store.dependents_of(job.id)
        if args.json:
            data = job.to_dict()
            data["artifacts"] = [a.to_dict() for a in artifacts]
            data["dependents"] = dependents
            print_json(data)
            return 0
        lines = [
            f"job {job.id}: {job.name}",
            f"  template   {job.template}    runner {job.runner}    profile {job.profile or '-'}",
            f"  state      {job.state}"
            + (f" ({job.external_state})" if job.external_state else "")
            + (f"    exit code {job.exit_code}" if job.exit_code is not None else ""),
            f"  attempt    {job.attempt} (automatic retries: {job.max_retries})    priority {job.priority}",
            f"  created    {_when(job.created_at)}    started {_when(job.started_at)}    ended {_when(job.ended_at)}",
            f"  elapsed    {_duration(job.elapsed())}    ETA {_duration(job.eta())}",
            f"  progress   {progress_cell(job)}",
            f"  GPUs       {job.gpus}" + (f" ({job.gpu_ids})" if job.gpu_ids else ""),
        ]
        if job.error:
            lines.append(f"  error      {job.error}")
        if job.external_id:
            lines.append(f"  slurm id   {job.external_id}")
        if job.deps:
            lines.append(f"  after      {', '.join(str(d) for d in job.deps)}")
        if dependents:
            lines.append(f"  before     {', '.join(str(d) for d in dependents)}")
        lines.append(f"  cwd        {job.cwd}")
        lines.append(f"  command    {shlex.join(job.argv or [])}")
        for key, value in (job.env or {}).items():
            lines.append(f"  env        {key}={value}")
        lines.append(f"  log        {job.log_path}")
        for artifact in artifacts:
            lines.append(f"  artifact   [{artifact.kind}] {artifact.path}")
        print("\n".join(lines))
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    from backend.jobs import service

    with _store(args, create=False) as store:
        done = service.cancel(store, args.job_id)
        job = store.get(args.job_id)
        if args.json:
            print_json({"id": job.id, "cancelling": done, "state": job.state})
        elif done:
            print(f"job {job.id}: " + ("cancelled" if job.state == "cancelled" else "stopping"))
        else:
            print(f"job {job.id} is already {job.state}")
    return 0


def cmd_retry(args: argparse.Namespace) -> int:
    from backend.jobs import service

    with _store(args, create=False) as store:
        service.retry(store, args.job_id)
        job = store.get(args.job_id)
        if args.json:
            print_json(job.to_dict())
        else:
            print(f"job {job.id}: queued again (attempt {job.attempt})")
    return 0


def cmd_duplicate(args: argparse.Namespace) -> int:
    from backend.jobs import service

    with _store(args, create=False) as store:
        new_id = service.duplicate(store, args.job_id)
        if args.json:
            print_json(store.get(new_id).to_dict())
        else:
            print(new_id)
    return 0


def cmd_wait(args: argparse.Namespace) -> int:
    from backend.jobs import service

    with _store(args, create=False) as store:
        try:
            job = service.wait(store, args.job_id, timeout=args.timeout)
        except TimeoutError as error:
            print(f"timeout: {error}", file=sys.stderr)
            return 124
        if args.json:
            print_json(job.to_dict())
        else:
            print(
                f"job {job.id} {job.state}"
                + (f" (exit code {job.exit_code})" if job.exit_code is not None else "")
                + (f": {job.error}" if job.error and job.state != "succeeded" else ""),
                file=sys.stderr,
            )
        return service.exit_status(job)


def cmd_logs(args: argparse.Namespace) -> int:
    from backend.jobs.logtail import LogTail

    with _store(args, create=False) as store:
        job = store.get(args.job_id)
        path = Path(job.log_path or "")
        if args.attempt:
            path = Path(job.job_dir or "") / f"attempt-{args.attempt}.log"
        if args.json:
            text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
            print_json({"id": job.id, "path": str(path), "text": text})
            return 0
        out = sys.stdout.buffer
        offset = 0
        if args.tail is not None and path.exists():
            data = path.read_bytes()
            lines = data.splitlines(keepends=True)[-args.tail :] if args.tail > 0 else []
            out.write(b"".join(lines))
            offset = len(data)
        tail = LogTail(path, offset)
        while True:
            text = tail.read(final=True)
            if text:
                out.write(text.encode("utf-8"))
                out.flush()
                continue
            if not args.follow:
                break
            if store.get(job.id).final:
                text = tail.read(final=True)
                out.write(text.encode("utf-8"))
                break
            time.sleep(0.2)
        out.flush()
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    with _store(args) as store:
        if args.gpus is not None:
            value = args.gpus.strip().lower()
            store.set_setting("local_gpus", "" if value == "none" else value)
        if args.max_local_jobs is not None:
            if args.max_local_jobs < 1:
                raise StudioError("--max-local-jobs must be at least 1")
            store.set_setting("max_local_jobs", str(args.max_local_jobs))
        data = {
            "db": str(store.path),
            "local_gpus": store.get_setting("local_gpus", "auto"),
            "gpus_total": store.get_setting("gpus_total"),
            "max_local_jobs": int(store.get_setting("max_local_jobs", "4") or 4),
        }
        if args.json:
            print_json(data)
        else:
            for key, value in data.items():
                print(f"{key}: {value}")
    return 0


def cmd_supervisor(args: argparse.Namespace) -> int:
    from backend.jobs.supervisor import ensure_supervisor, supervisor_pid

    with _store(args) as store:
        started = ensure_supervisor(store.path) if args.start else False
        pid = supervisor_pid(store.path)
        if args.json:
            print_json({"db": str(store.path), "pid": pid, "started": started})
        else:
            print(
                f"supervisor: {'pid ' + str(pid) if pid else 'not running'}"
                + (" (started)" if started else "")
            )
    return 0


def cmd_profile_list(args: argparse.Namespace) -> int:
    from backend.jobs.profiles import Profile

    with _store(args) as store:
        profiles = [Profile.from_dict(store.load_profile(n) or {"name": n}) for n in store.profile_names()]
        if args.json:
            print_json([p.to_dict() for p in profiles])
            return 0
        for profile in profiles:
            print(
                f"{profile.name:20s} {profile.tool or '-':18s} {profile.repo or '-'}  ({shlex.join(profile.python)})"
            )
    return 0


def cmd_profile_show(args: argparse.Namespace) -> int:
    from backend.jobs.service import get_profile

    with _store(args) as store:
        profile = get_profile(store, args.name)
        if args.json:
            print_json(profile.to_dict())
        else:
            for key, value in profile.to_dict().items():
                print(f"{key}: {value}")
    return 0


def cmd_profile_rm(args: argparse.Namespace) -> int:
    with _store(args) as store:
        if store.load_profile(args.name) is None:
            raise StudioError(f"no profile {args.name!r}")
        store.delete_profile(args.name)
    return 0


def cmd_profile_set(args: argparse.Namespace) -> int:
    from backend.jobs.profiles import Profile, conda_python, venv_python

    with _store(args) as store:
        data = store.load_profile(args.name) or {"name": args.name}
        profile = Profile.from_dict(data)
        if args.tool is not None:
            profile.tool = args.tool or None
        if args.repo is not None:
            profile.repo = str(Path(args.repo).expanduser().absolute()) if args.repo else None
        if args.python:
            profile.python = shlex.split(args.python)
        elif args.venv:
            profile.python = venv_python(args.venv)
        elif args.conda:
            profile.python = conda_python(args.conda)
        for key, value in _pairs(args.env, "--env"):
            profile.env[key] = value
        for key in args.unset_env:
            profile.env.pop(key, None)
        if args.gpus is not None:
            profile.gpus = args.gpus or None
        for key, value in _pairs(args.slurm, "--slurm"):
            if value:
                profile.slurm[key] = value
            else:
                profile.slurm.pop(key, None)
        if args.slurm_extra:
            profile.slurm["extra"] = list(profile.slurm.get("extra", [])) + args.slurm_extra
        if args.description is not None:
            profile.description = args.description
        profile.validate()
        store.save_profile(profile.name, profile.to_dict())
        if args.json:
            print_json(profile.to_dict())
        else:
            print(f"profile {profile.name} saved")
    return 0


def cmd_profile_check(args: argparse.Namespace) -> int:
    from backend.jobs.profiles import check_profile
    from backend.jobs.service import get_profile
    from backend.jobs.templates import load_templates

    with _store(args) as store:
        profile = get_profile(store, args.name)
        requires: list[str] = []
        if args.template:
            template = load_templates().get(args.template)
            values, _errors = template.coerce_params({})
            requires = template.required_files(values)
        checks = check_profile(
            profile, requires=requires, runner=args.runner, needs_repo=bool(profile.repo or profile.tool)
        )
        if args.json:
            print_json([c.to_dict() for c in checks])
        else:
            for check in checks:
                print(f"{'ok ' if check.ok else 'BAD'} {check.what}: {check.detail}")
        return 0 if all(c.ok for c in checks) else 1
