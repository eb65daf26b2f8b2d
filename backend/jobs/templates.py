"""Declarative job templates: YAML files validated by ``resources/job_templates/schema.json``.

A template declares typed parameters with checks, the argv it builds (a list, never a shell string),
environment variables, how many GPUs it takes, a progress parser and the artifacts to register.
Built-in templates live in ``resources/job_templates/``; users add their own in
``$ROLLOUT_STUDIO_HOME/templates/`` (same name overrides a built-in).

Placeholders ``{name}`` in argv/env/artifact strings take parameter values; built-ins are ``{repo}``,
``{job_id}``, ``{job_dir}``, ``{submit_cwd}`` and, as a whole argv element only, ``{python}`` (the
profile's interpreter command) and ``{studio}`` (this studio's CLI). ``{{`` and ``}}`` are literal
braces. An argv element that names an unset optional parameter is left out.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from backend.errors import StudioError
from backend.jobs.paths import builtin_templates_dir, user_templates_dir
from backend.jobs.profiles import Profile

PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")
WHOLE_ONLY = {"python", "studio"}
BUILTINS = {"repo", "job_id", "job_dir", "submit_cwd", "python", "studio"}
PARAM_TYPES = ("string", "int", "float", "bool", "choice", "path", "list")
_TRUE = {"1", "true", "yes", "on", "y"}
_FALSE = {"0", "false", "no", "off", "n", ""}


class _Unset:
    """Marks a placeholder whose parameter has no value."""


UNSET = _Unset()


@dataclass
class Param:
    name: str
    type: str = "string"
    label: str = ""
    help: str = ""
    default: Any = None
    required: bool | None = None
    min: float | None = None
    max: float | None = None
    pattern: str | None = None
    choices: list[Any] | None = None
    exists: str | None = None  # file | dir | any: must exist when the job starts
    resolve: str | None = None  # latest | cosmos_model (see Template.resolve_paths)
    contains: list[str] | None = None  # folder entries that must exist when the job starts
    advanced: bool = False

    @property
    def is_required(self) -> bool:
        if self.required is not None:
            return bool(self.required)
        return self.default is None and self.type not in ("bool", "list")

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    def coerce(self, value: Any, base: Path | None = None) -> Any:
        """Turn user input (CLI text or native values) into the parameter's type; raise ValueError."""
        if value is None:
            return None
        kind = self.type
        if kind == "list":
            if isinstance(value, str):
                text = value.strip()
                if text.startswith("["):
                    value = json.loads(text)
                else:
                    value = [value]
            if not isinstance(value, (list, tuple)):
                raise ValueError("expected a list")
            return [str(v) for v in value]
        if isinstance(value, (list, tuple, dict)):
            raise ValueError(f"expected one {kind} value")
        if kind == "int":
            if isinstance(value, bool):
                raise ValueError("expected an integer")
            if isinstance(value, float):
                if not value.is_integer():
                    raise ValueError(f"{value} is not an integer")
                return int(value)
            return int(str(value).strip())
        if kind == "float":
            number = float(str(value).strip()) if not isinstance(value, (int, float)) else float(value)
            if not math.isfinite(number):
                raise ValueError("expected a finite number")
            return number
        if kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError(f"expected true or false, not {value!r}")
        if kind == "choice":
            for choice in self.choices or []:
                if str(choice) == str(value):
                    return choice
            raise ValueError(f"{value!r} is not one of {', '.join(str(c) for c in self.choices or [])}")
        if kind == "path":
            text = os.path.expanduser(str(value))
            if not text:
                return None
            path = Path(text)
            if not path.is_absolute() and base is not None:
                path = base / path
            return os.path.normpath(str(path))
        return str(value)

    def check(self, value: Any) -> str | None:
        """A message if ``value`` (already coerced) breaks a rule, else None."""
        if value is None or value == "" or value == []:
            return "required" if self.is_required else None
        if self.type in ("int", "float"):
            if self.min is not None and value < self.min:
                return f"must be at least {self.min:g}"
            if self.max is not None and value > self.max:
                return f"must be at most {self.max:g}"
        if self.pattern and self.type in ("string", "path"):
            if not re.fullmatch(self.pattern, str(value)):
                return f"must match {self.pattern}"
        if self.type == "list" and self.pattern:
            for item in value:
                if not re.fullmatch(self.pattern, item):
                    return f"{item!r} must match {self.pattern}"
        return None

    def check_exists(self, value: Any) -> str | None:
        if self.type != "path" or not self.exists or value in (None, ""):
            return None
        path = Path(value)
        if self.exists == "file" and not path.is_file():
            return f"{path} is not a file"
        if self.exists == "dir" and not path.is_dir():
            return f"{path} is not a folder"
        if self.exists == "any" and not path.exists():
            return f"{path} does not exist"
        for entry in self.contains or []:
            if not (path / entry).exists():
                return f"{path} has no {entry}"
        return None


@dataclass
class Template:
    name: str
    title: str
    description: str
    argv: list[Any]
    params: list[Param]
    tool: str | None = None
    category: str = ""
    cwd: str | None = None
    requires: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    gpus: int | str = 0
    progress: dict[str, Any] = field(default_factory=dict)
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    stop_signal: str = "SIGTERM"
    kill_after: float = 20.0
    stop_is_success: bool = False
    source: str = ""
    raw: dict[str, Any] = field(default_factory=dict)

    def param(self, name: str) -> Param:
        for param in self.params:
            if param.name == name:
                return param
        raise KeyError(name)

    def has_param(self, name: str) -> bool:
        return any(p.name == name for p in self.params)

    @property
    def needs_repo(self) -> bool:
        return self.tool is not None

    @property
    def command_param(self) -> str | None:
        """The list parameter that is the program and its arguments (the argv starts with ``each:``
        of it, as the "command" template's does), else None."""
        first = self.argv[0] if self.argv else None
        if isinstance(first, dict) and "each" in first:
            return str(first["each"])
        return None

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "tool": self.tool,
            "category": self.category,
            "description": self.description,
            "source": self.source,
            "params": [
                {
                    k: v
                    for k, v in {
                        "name": p.name,
                        "type": p.type,
                        "label": p.title,
                        "help": p.help,
                        "default": p.default,
                        "required": p.is_required,
                        "min": p.min,
                        "max": p.max,
                        "pattern": p.pattern,
                        "choices": p.choices,
                        "exists": p.exists,
                    }.items()
                    if v is not None and v != ""
                }
                for p in self.params
            ],
        }

    # -- parameters ------------------------------------------------------------------------------
    def coerce_params(
        self, raw: dict[str, Any], base: Path | None = None
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Typed values (defaults filled in) and a {name: problem} dict."""
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        unknown = set(raw) - {p.name for p in self.params}
        for name in sorted(unknown):
            errors[name] = (
                f"unknown parameter (this template takes: {', '.join(p.name for p in self.params)})"
            )
        for param in self.params:
            value = raw.get(param.name, param.default)
            if param.type == "path" and value is not None and param.name not in raw:
                value = str(value)  # defaults resolve like user input
            try:
                value = param.coerce(value, base)
            except (ValueError, TypeError, json.JSONDecodeError) as error:
                errors[param.name] = str(error) or "bad value"
                continue
            if value is None and param.type == "list":
                value = []
            problem = param.check(value)
            if problem:
                errors[param.name] = problem
            values[param.name] = value
        return values, errors

    def check_paths(self, values: dict[str, Any]) -> dict[str, str]:
        errors = {}
        for param in self.params:
            problem = param.check_exists(values.get(param.name))
            if problem:
                errors[param.name] = problem
        return errors

    def resolve_paths(self, values: dict[str, Any]) -> dict[str, Any]:
        """Apply start-time resolvers (``resolve: latest``) and return new values."""
        out = dict(values)
        for param in self.params:
            if not param.resolve or not out.get(param.name):
                continue
            path = latest_checkpoint(Path(out[param.name]))
            if param.resolve == "cosmos_model" and path.is_dir():
                path = path / "model_ema_bf16.pt"
            out[param.name] = str(path)
        return out

    def required_files(self, values: dict[str, Any]) -> list[str]:
        """The template's ``requires`` with placeholders filled in."""
        out = []
        for item in self.requires:
            text = _substitute(item, values)
            if text is not UNSET and text:
                out.append(str(text))
        return out


def latest_checkpoint(path: Path) -> Path:
    """A checkpoints folder -> its newest checkpoint (Cosmos ``latest_checkpoint.txt``, else the
    highest ``iter_*`` / ``checkpoint-*``); anything else unchanged."""
    marker = path / "latest_checkpoint.txt"
    if marker.is_file():
        name = marker.read_text(encoding="utf-8").strip()
        if name:
            return path / name
    best: tuple[int, Path] | None = None
    if path.is_dir():
        for child in path.iterdir():
            m = re.fullmatch(r"(?:iter_|checkpoint-)(\d+)", child.name)
            if m and child.is_dir() and (best is None or int(m.group(1)) > best[0]):
                best = (int(m.group(1)), child)
    return best[1] if best else path


# -- loading -----------------------------------------------------------------------------------------
_schema_cache: dict[str, Any] | None = None
_validator_cache: Any = None
_file_cache: dict[str, tuple[float, int, Template]] = {}
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def schema() -> dict[str, Any]:
    global _schema_cache
    if _schema_cache is None:
        _schema_cache = json.loads((builtin_templates_dir() / "schema.json").read_text(encoding="utf-8"))
    return _schema_cache


def _validator() -> Any:
    global _validator_cache
    if _validator_cache is None:
        import jsonschema

        cls = jsonschema.validators.validator_for(schema())
        cls.check_schema(schema())
        _validator_cache = cls(schema())
    return _validator_cache


def parse_template(data: Any, source: str = "") -> Template:
    """Validate one template document (already loaded from YAML) and build a :class:`Template`."""
    import jsonschema

    try:
        _validator().validate(data)
    except jsonschema.ValidationError as error:
        best = jsonschema.exceptions.best_match([error]) or error
        where = "/".join(str(p) for p in best.absolute_path) or "(top)"
        raise StudioError(f"template is invalid at {where}: {best.message}", source or None) from None
    params = [Param(**p) for p in data.get("params", [])]
    names = [p.name for p in params]
    if len(set(names)) != len(names):
        raise StudioError("template declares a parameter twice", source or None)
    for param in params:
        if param.name in BUILTINS:
            raise StudioError(f"parameter name {param.name!r} is reserved", source or None)
        if param.type == "choice" and not param.choices:
            raise StudioError(f"choice parameter {param.name!r} lists no choices", source or None)
        if param.pattern:
            try:
                re.compile(param.pattern)
            except re.error as error:
                raise StudioError(f"parameter {param.name!r}: bad pattern: {error}", source or None) from None
    template = Template(
        name=data["name"],
        title=data.get("title", data["name"]),
        description=data.get("description", "").strip(),
        argv=data["argv"],
        params=params,
        tool=data.get("tool"),
        category=data.get("category", ""),
        cwd=data.get("cwd"),
        requires=list(data.get("requires", [])),
        env={str(k): str(v) for k, v in (data.get("env") or {}).items()},
        gpus=data.get("gpus", 0),
        progress=dict(data.get("progress") or {}),
        artifacts=list(data.get("artifacts") or []),
        stop_signal=str(data.get("stop_signal", "SIGTERM")),
        kill_after=float(data.get("kill_after", 20.0)),
        stop_is_success=bool(data.get("stop_is_success", False)),
        source=source,
        raw=data,
    )
    _check_placeholders(template, source)
    return template


def _strings_in_argv(items: list[Any]) -> list[str]:
    out: list[str] = []
    for item in items:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            if "if" in item:
                out.extend(_strings_in_argv(item.get("then", [])))
                out.extend(_strings_in_argv(item.get("else", [])))
            elif "opt" in item:
                out.append(item["opt"])
    return out


def _check_placeholders(template: Template, source: str) -> None:
    known = {p.name for p in template.params} | BUILTINS
    texts = _strings_in_argv(template.argv) + list(template.env.values()) + list(template.requires)
    texts += [a.get("path", "") for a in template.artifacts]
    if isinstance(template.gpus, str):
        texts.append(template.gpus)
    if isinstance(template.progress.get("total"), str):
        texts.append(template.progress["total"])
    if template.cwd:
        texts.append(template.cwd)
    refs: list[str] = []
    for text in texts:
        for m in PLACEHOLDER.finditer(text):
            if m.group(1):
                refs.append(m.group(1))
                if m.group(1) in WHOLE_ONLY and text != "{" + m.group(1) + "}":
                    raise StudioError(
                        f"{{{m.group(1)}}} must be a whole argv element, not part of {text!r}", source
                    )
    for item in _walk_dicts(template.argv):
        for key in ("if", "each", "param"):
            if key in item:
                refs.append(item[key].lstrip("!"))
    for ref in refs:
        if ref not in known:
            raise StudioError(f"placeholder {{{ref}}} names no parameter", source or None)


def _walk_dicts(items: list[Any]) -> list[dict[str, Any]]:
    out = []
    for item in items:
        if isinstance(item, dict):
            out.append(item)
            out.extend(_walk_dicts(item.get("then", [])))
            out.extend(_walk_dicts(item.get("else", [])))
    return out


def load_template_file(path: Path) -> Template:
    try:
        stat = path.stat()
        cached = _file_cache.get(str(path))
        if cached and cached[0] == stat.st_mtime and cached[1] == stat.st_size:
            return cached[2]
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)  # noqa: S506 - a safe loader
    except (OSError, yaml.YAMLError) as error:
        raise StudioError(f"cannot read template: {error}", path) from None
    template = parse_template(data, str(path))
    if template.name != path.stem:
        raise StudioError(f"template name {template.name!r} differs from its file name", path, "rename one")
    _file_cache[str(path)] = (stat.st_mtime, stat.st_size, template)
    return template


@dataclass
class TemplateSet:
    templates: dict[str, Template]
    problems: list[str]

    def get(self, name: str) -> Template:
        if name not in self.templates:
            raise StudioError(
                f"no job template {name!r}", hint="see `rollout-studio jobs templates` for the list"
            )
        return self.templates[name]

    def __iter__(self):
        return iter(sorted(self.templates.values(), key=lambda t: (t.category, t.name)))


def load_templates(extra_dirs: list[Path] | None = None) -> TemplateSet:
    """Built-in templates, then the user's (which may override by name). Bad user files are reported,
    not fatal; a bad built-in is a bug and raises."""
    templates: dict[str, Template] = {}
    problems: list[str] = []
    for path in sorted(builtin_templates_dir().glob("*.yaml")):
        template = load_template_file(path)
        templates[template.name] = template
    for folder in [user_templates_dir(), *(extra_dirs or [])]:
        if not folder.is_dir():
            continue
        for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
            try:
                template = load_template_file(path)
            except StudioError as error:
                problems.append(error.message)
                continue
            templates[template.name] = template
    return TemplateSet(templates, problems)


# -- building a command ------------------------------------------------------------------------------
@dataclass
class Command:
    argv: list[str]
    env: dict[str, str]
    cwd: str
    gpus: int
    total: float | None
    artifacts: list[dict[str, Any]]
    param_env: list[str] = field(default_factory=list)  # env keys set from parameters

    def extra_env(self, profile: Profile | None) -> dict[str, str]:
        """Variables to add to the runner's environment: the template's fixed values, then the
        profile's (a profile may override e.g. PYTHONPATH), then those set from parameters."""
        env = {k: v for k, v in self.env.items() if k not in self.param_env}
        if profile is not None:
            env.update(profile.resolved_env())
        env.update({k: self.env[k] for k in self.param_env})
        return env


def _substitute(text: str, values: dict[str, Any]) -> str | _Unset:
    unset = False

    def repl(m: re.Match[str]) -> str:
        nonlocal unset
        token = m.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        value = values.get(m.group(1))
        if value is None or value == "" or value == []:
            unset = True
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (list, tuple)):
            raise StudioError(f"list parameter {m.group(1)!r} can only be used with 'each'")
        return str(value)

    out = PLACEHOLDER.sub(repl, text)
    return UNSET if unset else out


def _truthy(value: Any) -> bool:
    return value not in (None, "", [], False, 0)


def _expand(items: list[Any], values: dict[str, Any], whole: dict[str, list[str]]) -> list[str]:
    argv: list[str] = []
    for item in items:
        if isinstance(item, str):
            if item.startswith("{") and item.endswith("}") and item[1:-1] in whole:
                argv.extend(whole[item[1:-1]])
                continue
            text = _substitute(item, values)
            if text is not UNSET:
                argv.append(text)  # type: ignore[arg-type]
        elif "if" in item:
            name = item["if"]
            negate = name.startswith("!")
            value = values.get(name.lstrip("!"))
            cond = (str(value) == str(item["equals"])) if "equals" in item else _truthy(value)
            if negate:
                cond = not cond
            argv.extend(_expand(item.get("then" if cond else "else", []) or [], values, whole))
        elif "each" in item:
            for entry in values.get(item["each"]) or []:
                argv.append(str(entry))
        elif "opt" in item:
            value = values.get(item["param"])
            if value not in (None, "", []):
                if isinstance(value, (list, tuple)):
                    argv.append(item["opt"])
                    argv.extend(str(v) for v in value)
                else:
                    text = _substitute("{" + item["param"] + "}", values)
                    if item.get("join"):
                        argv.append(f"{item['opt']}{item['join']}{text}")
                    else:
                        argv.extend([item["opt"], str(text)])
    return argv


def studio_argv() -> list[str]:
    """This studio's CLI as an argv prefix that works without installing the package (a frozen bundle:
    its own executable, a command word runs the CLI)."""
    from backend.children import frozen
    from backend.jobs.paths import repo_root

    if frozen():
        return [sys.executable]

    code = f"import sys; sys.path.insert(0, {str(repo_root())!r}); from backend.cli import main; sys.exit(main(sys.argv[1:]))"
    return [sys.executable, "-c", code]


def build_command(
    template: Template,
    values: dict[str, Any],
    profile: Profile | None,
    *,
    job_id: int | None = None,
    job_dir: str | None = None,
    submit_cwd: str | None = None,
) -> Command:
    """argv, extra environment, working folder, GPU count, progress total and artifact specs."""
    if profile is None:
        from backend.jobs.profiles import default_profile

        profile = default_profile()
    submit_cwd = submit_cwd or os.getcwd()
    context = dict(values)
    context.update(
        repo=str(Path(profile.repo).expanduser()) if profile.repo else "",
        job_id=str(job_id) if job_id is not None else "",
        job_dir=job_dir or "",
        submit_cwd=submit_cwd,
    )
    whole = {"python": [os.path.expanduser(profile.python[0]), *profile.python[1:]], "studio": studio_argv()}
    argv = _expand(template.argv, context, whole)
    if not argv:
        raise StudioError(
            f"template {template.name} built an empty command", hint="give the command after --"
        )
    env = {}
    param_env = []
    for key, value in template.env.items():
        text = _substitute(value, context)
        if text is not UNSET:
            env[key] = text  # type: ignore[assignment]
            if any(m.group(1) for m in PLACEHOLDER.finditer(value)):
                param_env.append(key)
    cwd_text = template.cwd or ("{repo}" if template.tool else "{submit_cwd}")
    cwd = _substitute(cwd_text, context)
    if cwd is UNSET or not cwd:
        cwd = submit_cwd
    gpus = template.gpus
    if isinstance(gpus, str):
        text = _substitute(gpus, context)
        gpus = int(float(text)) if text is not UNSET and text else 0  # type: ignore[arg-type]
    total = template.progress.get("total")
    if isinstance(total, str):
        text = _substitute(total, context)
        total = float(text) if text is not UNSET and text else None  # type: ignore[arg-type]
    if not total or total <= 0:
        total = None
    artifacts = []
    for spec in template.artifacts:
        path = _substitute(spec["path"], context)
        if path is UNSET:
            continue
        item = dict(spec)
        item["path"] = os.path.normpath(os.path.join(str(cwd), os.path.expanduser(str(path))))
        artifacts.append(item)
    return Command(
        argv=argv,
        env=env,
        cwd=str(cwd),
        gpus=int(gpus),
        total=total,
        artifacts=artifacts,
        param_env=param_env,
    )
