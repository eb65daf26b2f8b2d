"""What the Jobs pane's dialogs know, without Qt: the job being submitted or edited (template,
environment profile, runner, typed parameters) checked as the user types, an environment profile
read from its form, and the store calls the pane runs as tasks (each opens its own connection: a
store connection is not shared between threads).

    form = SubmitForm(store, templates, workspace, template="command")
    form.values = {"args": ["echo", "hi"]}
    check = form.check()           # ok, errors per field, the command preview (or why not)
    submit(db, form.template_name, form.values, form.submit_options())
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.errors import StudioError
from backend.jobs import service
from backend.jobs.profiles import TOOLS, Profile, check_profile
from backend.jobs.store import FINAL_STATES, Job, JobStore
from backend.jobs.templates import Template, TemplateSet, build_command
from backend.progress import Progress
from backend.sessions.jobs_command import NO_SHELL_NOTE, CommandLine, find_program, split_line


def template_fields(template: Template) -> list[dict[str, Any]]:
    """A template's parameters as the descriptions a parameter form is built from."""
    return [
        {
            "name": p.name,
            "type": p.type,
            "label": p.title,
            "help": p.help,
            "default": p.default,
            "required": p.is_required,
            "choices": p.choices,
            "exists": p.exists,
            "advanced": p.advanced,
            "command": p.name == template.command_param,
            "note": NO_SHELL_NOTE if p.name == template.command_param else "",
        }
        for p in template.params
    ]


def template_label(template: Template) -> str:
    return f"{template.category}: {template.title}" if template.category else template.title


@dataclass
class FormCheck:
    ok: bool
    errors: dict[str, str]
    preview: str
    commands: dict[str, CommandLine] = field(default_factory=dict)  # command lines as split


@dataclass
class SubmitForm:
    """A job being queued (or a queued job being edited): what the dialog shows and the user chose."""

    store: JobStore
    templates: TemplateSet
    workspace: Path
    template_name: str = ""
    profile: str | None = None
    runner: str = "local"
    after_text: str = ""
    name: str = ""
    priority: int = 0
    retries: int = 0
    values: dict[str, Any] = field(default_factory=dict)
    editing: Job | None = None

    @classmethod
    def for_job(cls, store: JobStore, templates: TemplateSet, workspace: Path, job: Job) -> SubmitForm:
        return cls(
            store,
            templates,
            workspace,
            template_name=job.template,
            profile=job.profile,
            runner=job.runner,
            after_text=", ".join(str(d) for d in job.deps),
            name=job.name,
            priority=job.priority,
            retries=job.max_retries,
            values=dict(job.params or {}),
            editing=job,
        )

    @classmethod
    def copy_of(cls, store: JobStore, templates: TemplateSet, workspace: Path, job: Job) -> SubmitForm:
        """A new job that starts as a copy of ``job`` (Duplicate): the user checks it, then queues it."""
        form = cls.for_job(store, templates, workspace, job)
        form.editing = None
        return form

    @property
    def template(self) -> Template:
        return self.templates.get(self.template_name)

    def profile_choices(self) -> tuple[list[tuple[str, str | None]], str]:
        """(label, profile name) to choose from, the template's tool first, and a hint when the tool
        has no profile yet."""
        template = self.template
        matching, others = [], []
        for name in self.store.profile_names():
            data = self.store.load_profile(name) or {}
            (matching if data.get("tool") == template.tool else others).append(name)
        choices: list[tuple[str, str | None]] = []
        if not template.tool:
            choices.append(("(none: this studio's Python, the workspace folder)", None))
        choices += [(name, name) for name in matching + others]
        hint = ""
        if template.tool and not matching:
            hint = (
                f"No {template.tool} profile yet: create one with Profiles... (where the checkout is and "
                "which Python runs it)."
            )
        return choices, hint

    def chosen_profile(self) -> Profile | None:
        if not self.profile:
            return None
        data = self.store.load_profile(self.profile)
        return Profile.from_dict(data) if data else None

    def after(self) -> list[int]:
        text = self.after_text.replace(",", " ").split()
        return [int(t.lstrip("#")) for t in text if t.lstrip("#").isdigit()]

    def command_lines(self) -> dict[str, CommandLine]:
        """The command typed as one line (the "command" template's), split as the job will run it."""
        name = self.template.command_param
        value = self.values.get(name) if name else None
        if name is None or not isinstance(value, str):
            return {}
        return {name: split_line(value)}

    def params(self) -> dict[str, Any]:
        """The parameters as the job gets them: a command line becomes its list of arguments."""
        values = dict(self.values)
        for name, line in self.command_lines().items():
            values[name] = line.argv
        return values

    def coerced(self) -> tuple[dict[str, Any], dict[str, str]]:
        values, errors = self.template.coerce_params(self.params(), base=self.workspace)
        for name, line in self.command_lines().items():
            if line.error:
                errors[name] = line.error
        return values, errors

    def check(self) -> FormCheck:
        """The form checked as typed: errors per field and the command a shell would run."""
        template = self.template
        values, errors = self.coerced()
        profile = self.chosen_profile()
        ok = not errors
        if template.tool and profile is None:
            ok = False
            preview = f"Choose a {template.tool} environment profile."
        elif errors:
            preview = "Fix the marked fields."
        else:
            try:
                command = build_command(template, values, profile, submit_cwd=str(self.workspace))
            except StudioError as error:
                preview = error.message
                ok = False
            else:
                env = command.extra_env(profile)
                lines = [f"cd {shlex.quote(command.cwd)}"]
                lines += [f"{k}={shlex.quote(v)}" for k, v in env.items()]
                lines.append(shlex.join(command.argv))
                if command.gpus:
                    lines.append(f"# {command.gpus} GPU(s)")
                preview = "\n".join(lines)
        bad_after = [a for a in self.after() if not self.store.exists(a)]
        if bad_after:
            ok = False
            preview = f"No job {bad_after[0]} to wait for."
        return FormCheck(ok, errors, preview, self.command_lines())

    def submit_options(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "runner": self.runner,
            "after": self.after(),
            "priority": self.priority,
            "name": self.name.strip() or None,
            "max_retries": self.retries,
            "submit_cwd": str(self.workspace),
        }

    def edit_options(self) -> dict[str, Any]:
        return {
            "priority": self.priority,
            "name": self.name.strip() or None,
            "profile": self.profile,
            "runner": self.runner,
        }


# -- environment profiles --------------------------------------------------------------------------------
PROFILE_FIELDS = [
    {"name": "name", "type": "string", "required": True, "help": "letters, digits, '.', '_' or '-'"},
    {"name": "tool", "type": "string", "help": "Tool this profile runs: " + ", ".join(TOOLS)},
    {
        "name": "repo",
        "type": "path",
        "label": "Repository",
        "exists": "dir",
        "help": "The tool's checkout; jobs run in this folder.",
    },
    {
        "name": "python",
        "type": "string",
        "label": "Interpreter",
        "required": True,
        "help": 'e.g. /home/me/cosmos/.venv/bin/python, "conda run --no-capture-output -n cosmos python", '
        '"~/IsaacSim/_build/linux-x86_64/release/python.sh" or "uv run python"',
    },
    {
        "name": "env",
        "type": "list",
        "label": "Variables",
        "help": "KEY=VALUE, one per line ({repo} is replaced)",
    },
    {
        "name": "gpus",
        "type": "string",
        "label": "Pin GPUs",
        "help": "CUDA_VISIBLE_DEVICES for every job, e.g. 0,1",
    },
    {
        "name": "slurm",
        "type": "list",
        "label": "Slurm options",
        "help": "KEY=VALUE: partition, time, cpus_per_task, mem, account, qos, constraint",
    },
    {"name": "description", "type": "string"},
]
NEW_PROFILE = {
    "name": "",
    "tool": "",
    "repo": "",
    "python": "python3",
    "env": [],
    "gpus": "",
    "slurm": [],
    "description": "",
}


def profile_form(profile: Profile) -> dict[str, Any]:
    """A profile as the profile form's values."""
    return {
        "name": profile.name,
        "tool": profile.tool or "",
        "repo": profile.repo or "",
        "python": shlex.join(profile.python),
        "env": [f"{k}={v}" for k, v in profile.env.items()],
        "gpus": profile.gpus or "",
        "slurm": [f"{k}={v}" for k, v in profile.slurm.items() if k != "extra"],
        "description": profile.description,
    }


def profile_from_form(
    values: dict[str, Any], old: dict[str, Any] | None
) -> tuple[Profile | None, dict[str, str]]:
    """The profile a form describes, or the problems per field. ``old`` (the saved profile of that
    name) keeps the Slurm lines the form does not show. ``Profile.validate`` is left to the caller."""
    env: dict[str, str] = {}
    slurm: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key, target in (("env", env), ("slurm", slurm)):
        for line in values.get(key, []):
            name, sep, value = line.partition("=")
            if not sep:
                errors[key] = f"{line!r} is not KEY=VALUE"
            else:
                target[name.strip()] = value.strip() if key == "slurm" else value
    try:
        python = shlex.split(values.get("python", ""))
    except ValueError as error:
        errors["python"] = str(error)
        python = []
    if errors:
        return None, errors
    repo = values.get("repo")
    profile = Profile(
        name=values.get("name", ""),
        tool=values.get("tool") or None,
        repo=str(Path(repo).expanduser()) if repo else None,
        python=python,
        env=env,
        gpus=values.get("gpus") or None,
        slurm=slurm,
        description=values.get("description", ""),
    )
    if old and old.get("slurm", {}).get("extra"):
        profile.slurm["extra"] = old["slurm"]["extra"]
    return profile, {}


# -- store calls run as tasks (each opens its own store connection) ----------------------------------------
def submit(
    db: str, template: str, params: dict[str, Any], options: dict[str, Any], progress: Progress | None = None
) -> int:
    with JobStore(db) as store:
        return service.submit(store, template, params, **options)


def edit(
    db: str, job_id: int, params: dict[str, Any], options: dict[str, Any], progress: Progress | None = None
) -> None:
    with JobStore(db) as store:
        service.edit(store, job_id, params, **options)


def act(db: str, action: str, job_ids: list[int], progress: Progress | None = None) -> list[str]:
    """cancel, retry, duplicate or remove each job; the problems in words (the others go on)."""
    problems = []
    with JobStore(db) as store:
        for job_id in job_ids:
            try:
                if action == "cancel":
                    service.cancel(store, job_id)
                elif action == "retry":
                    service.retry(store, job_id)
                elif action == "duplicate":
                    service.duplicate(store, job_id)
                elif action == "remove":
                    if store.get(job_id).state not in FINAL_STATES:
                        raise StudioError(f"job {job_id} is not finished")
                    store.delete(job_id)
            except StudioError as error:
                problems.append(error.message)
    return problems


def preflight(
    template: Template,
    values: dict[str, Any],
    profile: Profile | None,
    runner: str,
    check_inputs: bool,
    submit_cwd: str | None = None,
    progress: Progress | None = None,
) -> list[Any]:
    """What Check shows: the environment, the inputs and, for a typed command, where its program is."""
    checks = service.preflight(template, values, profile, runner, check_inputs=check_inputs)
    if template.command_param:
        command = build_command(template, values, profile, submit_cwd=submit_cwd)
        path = command.extra_env(profile).get("PATH")
        checks.insert(0, find_program(command.argv[0], command.cwd, path))
    return checks


def check_environment(profile: Profile, progress: Progress | None = None) -> list[Any]:
    return check_profile(profile, needs_repo=bool(profile.repo or profile.tool))
