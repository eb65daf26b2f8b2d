"""Measure ``rollout-studio validate`` (the dataset doctor) against its peers on injected faults.

Builds a fault set in a temp dir: clean bases, each copied once per fault of tests/fault_injection.py
(one fault per copy), then runs every tool on every dataset and classifies each result:

- on a clean copy: ``clean``, or ``false_alarm`` when the tool reports a problem;
- on a faulty copy: ``caught`` when the tool reports a problem it did not report on the clean copy
  of the same base (same check, same text with numbers masked), else ``missed``; ``crashed`` when
  it gave no report at all; ``unsupported`` (every dataset of a base) when it cannot read the
  base's clean copy (then its faulty copies are not run).

"A problem" is judged at two levels, each tool's own: ``error`` (what makes the tool fail: validate
errors, lerobot-doctor FAIL, deepen-grade defect checks that fail, lerobot-lint errors,
lerobot-quality-gates high/critical) and ``warning`` (anything it rates warning or worse).

Bases: ``lerobot061_v3.0`` (a copy of ../shared/data/lerobot061_so101_v30_h264, written by LeRobot
0.6.1), ``lerobot061_v2.1`` (the studio's v3 -> v2 conversion of it), ``demo_v3.0`` (the studio's
HDF5 -> LeRobot conversion of ``rollout-studio demo-data``), ``demo_hdf5`` (that LeIsaac HDF5) and
``cosmos`` (Cosmos stand-in clips of demo_v3.0, tests/cosmos_data.py). The peers read LeRobot
folders only: on the HDF5 and the Cosmos folder they are run once on the clean copy for the record.

Peers come from PyPI in their own venv (``benchmarks/install_peers.sh`` makes ``.cache/peers-venv``,
see --peers-venv): lerobot-doctor, deepen-grade[lerobot], lerobot-lint (needs ``lerobot``: 0.4.4,
the last for Python 3.11, reads v3.0 only), lerobot-quality-gates. They run offline
(HF_HUB_OFFLINE=1) with caches in the temp dir.
lerobot-lint spends ~10 s importing lerobot/torch on every start: it runs in ONE process that calls
its CLI entry (``lerobot_lint.cli.app``, the function ``lelint`` runs) per dataset; its per-dataset
seconds exclude that start, reported once as ``startup_s``. The others run as their CLI, one process
per dataset. Seconds are wall time on this machine (2 shared cores: noisy).

Then ``--large-episodes`` (1,000) short episodes (``--large-frames`` 30 each: long enough that no tool
reports them as too short, so the time is checking, not reporting) are written by
benchmarks/make_large_dataset.py and validate and lerobot-doctor are timed on them.

``--baseline-rev REV`` adds ``validate`` of an older revision (its backend/ from git archive, run on
this venv) as one more tool, for before/after numbers in one run.

Usage: .venv/bin/python benchmarks/doctor_peers.py [--peers-venv DIR] [--work DIR] [--keep]
       [--large-episodes 1000 | --no-large] [--bases NAME,NAME] [--tools NAME,NAME] [--baseline-rev REV]
Prints JSON only on stdout (progress on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
os.environ.setdefault("SVT_LOG", "1")

import fault_injection as fi  # noqa: E402

SHARED_LEROBOT = REPO.parent / "shared" / "data" / "lerobot061_so101_v30_h264"
STUDIO = REPO / ".venv" / "bin" / "rollout-studio"
STUDIO_PY = REPO / ".venv" / "bin" / "python"
LEVELS = ("error", "warning")
TIMEOUT_S = 300


def log(*parts: Any) -> None:
    print(*parts, file=sys.stderr, flush=True)


# -- findings -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    level: str  # "error" | "warning" | "info"
    key: str  # check + text with numbers masked: the identity compared with the clean copy
    text: str


@dataclass
class Run:
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0
    rc: int | str | None = None
    crashed: str | None = None  # no report: why
    unreadable: str | None = None  # the tool says it cannot read this dataset at all


_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?", re.IGNORECASE)


def masked(text: str) -> str:
    return _NUMBER.sub("#", " ".join(str(text).split()))[:300]


def finding(level: str, check: str, text: str) -> Finding:
    return Finding(level, f"{check}: {masked(text)}", f"{check}: {text}"[:400])


def at_level(findings: list[Finding], level: str) -> list[Finding]:
    wanted = ("error",) if level == "error" else ("error", "warning")
    return [f for f in findings if f.level in wanted]


def _json(text: str) -> Any:
    text = text.strip()
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    return json.loads(text[start:]) if start >= 0 else json.loads(text)


# -- tools ----------------------------------------------------------------------------------------


def parse_validate(out: str, err: str, rc: int, extra: Path | None) -> Run:
    """Both schemas: ``problems`` (before the doctor) and ``findings`` (rollout_studio.validate/1)."""
    report = _json(out)
    run = Run(rc=rc)
    for p in report.get("findings", report.get("problems", [])):
        text = p.get("what", p.get("problem", ""))  # "problem": the schema before the doctor
        run.findings.append(finding(p["severity"], p.get("code", "problem"), text))
    if not report.get("readable", True):
        run.unreadable = "validate: dataset cannot be opened"
    return run


_DOCTOR_LEVELS = {"FAIL": "error", "WARN": "warning", "INFO": "info"}


def parse_doctor(out: str, err: str, rc: int, extra: Path | None) -> Run:
    try:
        report = _json(out)
    except ValueError:
        return Run(rc=rc, crashed=(out + err).strip()[-300:] or f"exit {rc}")
    run = Run(rc=rc)
    for check in report.get("checks", []):
        for message in check.get("messages", []):
            level = _DOCTOR_LEVELS.get(message.get("severity", ""))
            if level:
                run.findings.append(finding(level, check["name"], message.get("message", "")))
    return run


def parse_deepen(out: str, err: str, rc: int, extra: Path | None) -> Run:
    try:
        report = _json(out)
    except ValueError:
        return Run(rc=rc, crashed=(out + err).strip()[-300:] or f"exit {rc}")
    if "error" in report and "checks" not in report and "episodes" not in report:
        return Run(rc=rc, unreadable=str(report["error"])[:300])
    run = Run(rc=rc)
    checks = list(report.get("dataset_level_checks", []))
    for episode in report.get("episodes", []):
        checks += episode.get("checks", [])
    for check in checks:
        severity = check.get("severity")
        if severity not in ("warn", "fail"):
            continue
        # the grade moves only with defect checks: those are deepen's failures
        level = "error" if severity == "fail" and check.get("claim_type") == "defect" else "warning"
        run.findings.append(finding(level, f"{check.get('check_id')}/{severity}", check.get("summary", "")))
    if report.get("content_plausibility", {}).get("flagged"):
        run.findings.append(finding("warning", "content_plausibility", str(report["content_plausibility"])))
    return run


def parse_lint(out: str, err: str, rc: int, extra: Path | None) -> Run:
    if extra is not None and extra.is_file():
        report = json.loads(extra.read_text(encoding="utf-8"))
        run = Run(rc=rc)
        for f in report.get("findings", []):
            run.findings.append(finding(f.get("severity", "info"), f.get("check", ""), f.get("message", "")))
        return run
    text = (out + err).strip()
    if rc == 2 and ("Could not load dataset" in text or "BackwardCompatibility" in text):
        return Run(rc=rc, unreadable=text[-300:])
    return Run(rc=rc, crashed=text[-300:] or f"exit {rc}")


_GATE_LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "info"}


def parse_gates(out: str, err: str, rc: int, extra: Path | None) -> Run:
    try:
        report = _json(out)
    except ValueError:
        return Run(rc=rc, crashed=(out + err).strip()[-300:] or f"exit {rc}")
    run = Run(rc=rc)
    for f in report.get("findings", []):
        level = _GATE_LEVELS.get(f.get("severity", ""), "info")
        run.findings.append(finding(level, f.get("gate", ""), f.get("message", "")))
    return run


@dataclass
class Tool:
    name: str
    argv: Callable[[Path, Path], list[str]]  # (dataset, extra output file) -> argv
    parse: Callable[[str, str, int, Path | None], Run]
    formats: tuple[str, ...]  # kinds of base it is meant to read
    in_process: bool = False  # lerobot-lint: one process, see LINT_DRIVER
    env: dict[str, str] = field(default_factory=dict)  # added to the environment


def baseline_tool(rev: str, source: Path) -> Tool:
    """``validate`` of an older revision: its backend/ (git archive, in ``source``) on this venv."""
    return Tool(
        f"rollout-studio validate @{rev}",
        lambda p, x: [str(STUDIO_PY), "-m", "backend.cli", "validate", "--json", str(p)],
        parse_validate,
        ("lerobot", "hdf5", "cosmos"),
        env={"PYTHONPATH": str(source)},
    )


def extract_revision(rev: str, into: Path) -> Path:
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", rev, "backend"], capture_output=True, check=False
    )
    if archive.returncode != 0:
        raise SystemExit(f"error: git archive {rev}: {archive.stderr.decode(errors='replace').strip()}")
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def tools(peers: Path) -> list[Tool]:
    bin_ = peers / "bin"
    return [
        Tool(
            "rollout-studio validate",
            lambda p, x: [str(STUDIO), "validate", "--json", str(p)],
            parse_validate,
            ("lerobot", "hdf5", "cosmos"),
        ),
        Tool(
            "lerobot-doctor",
            lambda p, x: [str(bin_ / "lerobot-doctor"), "check", "--json", str(p)],
            parse_doctor,
            ("lerobot",),
        ),
        Tool(
            "deepen-grade",
            lambda p, x: [str(bin_ / "deepen"), "grade", "--json", "--quiet", str(p)],
            parse_deepen,
            ("lerobot",),
        ),
        Tool(
            "lerobot-lint",
            lambda p, x: [str(bin_ / "lelint"), "check", str(p), "--json", str(x)],
            parse_lint,
            ("lerobot",),
            in_process=True,
        ),
        Tool(
            "lerobot-quality-gates",
            lambda p, x: [str(bin_ / "lerobot-quality-gates"), "check", "--format", "json", str(p)],
            parse_gates,
            ("lerobot",),
        ),
    ]


def run_cli(tool: Tool, path: Path, extra: Path, env: dict[str, str]) -> Run:
    extra.unlink(missing_ok=True)  # the benchmark's own report file in its temp dir
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            tool.argv(path, extra),
            capture_output=True,
            text=True,
            env={**env, **tool.env},
            timeout=TIMEOUT_S,
            cwd=path.parent,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Run(seconds=TIMEOUT_S, crashed=f"timed out after {TIMEOUT_S} s")
    seconds = time.perf_counter() - start
    try:
        run = tool.parse(proc.stdout, proc.stderr, proc.returncode, extra)
    except (ValueError, KeyError, TypeError) as error:
        run = Run(
            rc=proc.returncode, crashed=f"unparseable output ({error}): {(proc.stdout + proc.stderr)[-300:]}"
        )
    run.seconds = round(seconds, 3)
    return run


# lerobot-lint in one process: its CLI entry called once per dataset (argv as `lelint` gets it).
LINT_DRIVER = r"""
import contextlib, io, json, sys, time
start = time.perf_counter()
from lerobot_lint.cli import app
import lerobot.datasets.lerobot_dataset  # what the first check imports anyway
startup = time.perf_counter() - start
results = []
for path, extra in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    t = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = app(["check", path, "--json", extra], standalone_mode=False)
        except SystemExit as exit_:
            rc = exit_.code
        except BaseException as error:
            rc = "crash: " + repr(error)[:300]
    results.append({"path": path, "rc": rc, "seconds": time.perf_counter() - t,
                    "stdout": out.getvalue()[-3000:], "stderr": err.getvalue()[-3000:]})
print(json.dumps({"startup_s": startup, "results": results}))
"""


def run_lint_batch(
    tool: Tool, jobs: list[tuple[Path, Path]], peers: Path, env: dict[str, str], work: Path
) -> tuple[dict[Path, Run], float | None]:
    if not jobs:
        return {}, None
    for _, extra in jobs:
        extra.unlink(missing_ok=True)
    arg = json.dumps([[str(p), str(x)] for p, x in jobs])
    driver = work / "lint_driver.py"
    driver.write_text(LINT_DRIVER, encoding="utf-8")
    proc = subprocess.run(
        [str(peers / "bin" / "python"), str(driver), arg],
        capture_output=True,
        text=True,
        env=env,
        timeout=TIMEOUT_S * 2,
        cwd=work,
        check=False,
    )
    try:
        report = _json(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        why = f"driver failed (exit {proc.returncode}): {(proc.stdout + proc.stderr)[-300:]}"
        return {p: Run(crashed=why) for p, _ in jobs}, None
    runs = {}
    for (path, extra), result in zip(jobs, report["results"], strict=True):
        rc = result["rc"] if isinstance(result["rc"], (int, str)) else 0
        if isinstance(rc, str):
            run = Run(rc=rc, crashed=rc)
        else:
            run = tool.parse(result["stdout"], result["stderr"], rc, extra)
        run.seconds = round(result["seconds"], 3)
        runs[path] = run
    return runs, round(report["startup_s"], 2)


def cli_once(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, capture_output=True, env=env, timeout=TIMEOUT_S, check=False)
    return round(time.perf_counter() - start, 2)


# -- the fault set --------------------------------------------------------------------------------


@dataclass
class Dataset:
    base: str
    kind: str  # "lerobot" | "hdf5" | "cosmos"
    fault: str  # "clean" or a fault name
    path: Path
    details: dict[str, Any] = field(default_factory=dict)


def studio(*args: str) -> None:
    proc = subprocess.run(
        [str(STUDIO), *args], capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"rollout-studio {' '.join(args)}: {proc.stderr.strip()[-500:]}")


def build_bases(work: Path, wanted: set[str]) -> dict[str, tuple[str, Path]]:
    """Clean bases: name -> (kind, path)."""
    src = work / "src"
    src.mkdir()
    bases: dict[str, tuple[str, Path]] = {}
    lerobot061 = fi.copy_dataset(SHARED_LEROBOT, src / "lerobot061_v3.0")
    bases["lerobot061_v3.0"] = ("lerobot", lerobot061)
    if "lerobot061_v2.1" in wanted:
        studio(
            "convert", "lerobot-v3-to-v2", "--quiet", "--out", str(src / "lerobot061_v2.1"), str(lerobot061)
        )
        bases["lerobot061_v2.1"] = ("lerobot", src / "lerobot061_v2.1")
    if wanted & {"demo_v3.0", "demo_hdf5", "cosmos"}:
        studio("demo-data", "--quiet", str(src / "demo"))
        hdf5 = src / "demo" / "so101_pick_orange.hdf5"
        bases["demo_hdf5"] = ("hdf5", hdf5)
        studio(
            "convert",
            "hdf5-to-lerobot",
            "--quiet",
            "--format",
            "v3.0",
            "--preset",
            "ultrafast",
            "--out",
            str(src / "demo_v3.0"),
            str(hdf5),
        )
        bases["demo_v3.0"] = ("lerobot", src / "demo_v3.0")
    if "cosmos" in wanted:
        from tests.cosmos_data import StandinSample, write_standin_outputs

        prompt = "Pick up the orange and place it on the plate."
        write_standin_outputs(
            bases["demo_v3.0"][1],
            src / "cosmos",
            [StandinSample(f"sample_{i}", i, 100, prompt=prompt, size=(160, 120)) for i in range(3)],
        )
        bases["cosmos"] = ("cosmos", src / "cosmos")
    return {name: value for name, value in bases.items() if name in wanted}


FAULTS = {"lerobot": fi.LEROBOT_FAULTS, "hdf5": fi.HDF5_FAULTS, "cosmos": fi.COSMOS_FAULTS}


def build_fault_set(work: Path, bases: dict[str, tuple[str, Path]]) -> list[Dataset]:
    sets = work / "sets"
    datasets = []
    for base, (kind, path) in bases.items():
        suffix = path.suffix if path.is_file() else ""
        clean = fi.copy_dataset(path, sets / base / f"clean{suffix}")
        datasets.append(Dataset(base, kind, "clean", clean))
        for fault in FAULTS[kind]:
            copy = fi.copy_dataset(path, sets / base / f"{fault}{suffix}")
            record = fi.inject(kind, fault, copy)
            datasets.append(Dataset(base, kind, fault, copy, record.to_dict()))
    return datasets


# -- classification -------------------------------------------------------------------------------


def classify(run: Run, clean: Run | None, fault: str, level: str) -> tuple[str, list[str]]:
    problems = at_level(run.findings, level)
    if run.crashed:
        return "crashed", [run.crashed]
    if fault == "clean":
        return ("false_alarm" if problems else "clean"), [f.text for f in problems]
    if run.unreadable and not problems:
        return "caught", [run.unreadable]
    seen = {(f.level, f.key) for f in (clean.findings if clean else [])}
    new = [f for f in problems if (f.level, f.key) not in seen]
    return ("caught" if new else "missed"), [f.text for f in new]


def _report_file(work: Path, tool: Tool, d: Dataset) -> Path:
    return work / "reports" / f"{tool.name.replace(' ', '_')}-{d.base}-{d.fault}.json"


def run_tool(
    tool: Tool, datasets: list[Dataset], peers: Path, env: dict[str, str], work: Path
) -> dict[str, Any]:
    """Run ``tool`` on the clean copy of every base and, where it reads the clean copy, on its faults."""
    cleans = [d for d in datasets if d.fault == "clean"]
    runs: dict[Path, Run] = {}
    startup = None
    if tool.in_process:  # one process for everything (each start costs ~10 s); unreadable ones fail fast
        chosen = [d for d in datasets if d.fault == "clean" or d.kind in tool.formats]
        runs, startup = run_lint_batch(
            tool, [(d.path, _report_file(work, tool, d)) for d in chosen], peers, env, work
        )
    else:
        for d in cleans:
            runs[d.path] = run_cli(tool, d.path, _report_file(work, tool, d), env)
    per_base: dict[str, Any] = {}
    for clean in cleans:
        run = runs[clean.path]
        supported = clean.kind in tool.formats and not run.unreadable and not run.crashed
        entry: dict[str, Any] = {"supported": supported}
        if not supported:
            entry["why"] = (run.unreadable or run.crashed or f"reads {', '.join(tool.formats)} only")[:300]
        entry["datasets"] = {}
        for d in (x for x in datasets if x.base == clean.base):
            if d.fault != "clean" and not supported:
                continue
            if d.path not in runs:
                runs[d.path] = run_cli(tool, d.path, _report_file(work, tool, d), env)
            run = runs[d.path]
            record: dict[str, Any] = {"seconds": run.seconds, "rc": run.rc}
            for level in LEVELS:
                outcome, why = classify(run, runs[clean.path], d.fault, level)
                record[level] = outcome if supported else "unsupported"
                if why:
                    record[f"{level}_findings"] = why[:6]
            entry["datasets"][d.fault] = record
        per_base[clean.base] = entry
    result: dict[str, Any] = {"bases": per_base}
    if tool.in_process:
        result["startup_s"] = startup
        result["note"] = "one process: per-dataset seconds exclude the start-up (imports), given once"
    return result


def summarise(results: dict[str, Any], datasets: list[Dataset]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    table: dict[str, Any] = {level: {} for level in LEVELS}
    for tool, result in results.items():
        summary[tool] = {}
        for base, entry in result["bases"].items():
            if not entry["supported"]:
                summary[tool][base] = "unsupported"
                continue
            runs = entry["datasets"]
            faults = [f for f in runs if f != "clean"]
            summary[tool][base] = {
                level: {
                    "caught": sum(runs[f][level] == "caught" for f in faults),
                    "of": len(faults),
                    "false_alarm_on_clean": runs["clean"][level] == "false_alarm",
                    "crashed": sum(runs[f][level] == "crashed" for f in faults),
                }
                for level in LEVELS
            }
            summary[tool][base]["seconds_total"] = round(sum(r["seconds"] for r in runs.values()), 2)
            for level in LEVELS:
                for fault, record in runs.items():
                    table[level].setdefault(tool, {}).setdefault(fault, {})[base] = record[level]
    return {"summary": summary, "table": table}


# -- the large dataset ----------------------------------------------------------------------------


def time_large(
    work: Path, episodes: int, frames: int, chosen: list[Tool], env: dict[str, str]
) -> dict[str, Any]:
    sys.path.insert(0, str(REPO / "benchmarks"))
    from make_large_dataset import make_large_dataset

    path = work / f"large-{episodes}"
    start = time.perf_counter()
    make_large_dataset(path, episodes=episodes, frames=frames)
    out: dict[str, Any] = {
        "episodes": episodes,
        "frames_per_episode": frames,
        "camera": "64x48 h264",
        "build_s": round(time.perf_counter() - start, 2),
    }
    for tool in chosen:
        run = run_cli(tool, path, work / "large-report.json", env)
        out[tool.name] = {
            "seconds": run.seconds,
            "rc": run.rc,
            "errors": len(at_level(run.findings, "error")),
            "warnings": len(at_level(run.findings, "warning")) - len(at_level(run.findings, "error")),
            **({"crashed": run.crashed} if run.crashed else {}),
        }
    return out


def versions(peers: Path) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json; print(json.dumps({n: m.version(n) for n in "
        "['lerobot-doctor', 'deepen-grade', 'lerobot-lint', 'lerobot-quality-gates', 'lerobot', 'torch']}))"
    )
    proc = subprocess.run(
        [str(peers / "bin" / "python"), "-c", code], capture_output=True, text=True, check=False
    )
    found = json.loads(proc.stdout) if proc.returncode == 0 else {}
    head = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    found["rollout-studio"] = (
        f"{head} (backend/doctor.py {'present' if (REPO / 'backend/doctor.py').exists() else 'absent'})"
    )
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers-venv", default=str(REPO / ".cache" / "peers-venv"))
    parser.add_argument("--work", help="folder for the fault set (default: a temp dir, removed at the end)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (its path goes to stderr)")
    parser.add_argument("--large-episodes", type=int, default=1000)
    parser.add_argument(
        "--large-frames", type=int, default=30, help="frames per episode (30: no tool calls them too short)"
    )
    parser.add_argument("--no-large", action="store_true")
    parser.add_argument("--bases", default="lerobot061_v3.0,lerobot061_v2.1,demo_v3.0,demo_hdf5,cosmos")
    parser.add_argument("--tools", default="", help="comma-separated tool names (default: all)")
    parser.add_argument(
        "--baseline-rev", help="also run validate of this git revision (its backend/) as a tool: before/after"
    )
    args = parser.parse_args(argv)
    peers = Path(args.peers_venv).resolve()
    if not SHARED_LEROBOT.is_dir():
        raise SystemExit(f"error: {SHARED_LEROBOT}: not found (the clean base)")
    all_tools = [t for t in tools(peers) if not args.tools or t.name in args.tools.split(",")]
    if any(t.name != "rollout-studio validate" for t in all_tools) and not (peers / "bin").is_dir():
        raise SystemExit(f"error: {peers}: no peers venv (install the peers first, see the docstring)")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="doctor-peers-", dir=args.work) as tmp:
        work = Path(tmp)
        if args.keep:
            work = Path(tempfile.mkdtemp(prefix="doctor-peers-kept-", dir=args.work))
            log(f"work dir: {work}")
        hf = work / "hf"
        env = {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "HF_HOME": str(hf),
            "HF_LEROBOT_HOME": str(hf / "lerobot"),
            "TRANSFORMERS_OFFLINE": "1",
            "NO_COLOR": "1",
            "PYTHONWARNINGS": "ignore",
        }
        (work / "reports").mkdir()
        if args.baseline_rev:
            all_tools.insert(
                1, baseline_tool(args.baseline_rev, extract_revision(args.baseline_rev, work / "rev"))
            )
        t0 = time.perf_counter()
        log("building bases")
        bases = build_bases(work, set(args.bases.split(",")))
        log("injecting faults")
        datasets = build_fault_set(work, bases)
        build_s = round(time.perf_counter() - t0, 2)
        results = {}
        for tool in all_tools:
            log(f"running {tool.name}")
            results[tool.name] = run_tool(tool, datasets, peers, env, work)
        lint = next((t for t in all_tools if t.in_process), None)
        if lint is not None:
            clean = next(d for d in datasets if d.fault == "clean" and d.kind == "lerobot")
            results[lint.name]["cli_wall_s_on_clean"] = cli_once(lint.argv(clean.path, work / "x.json"), env)
        report: dict[str, Any] = {
            "benchmark": "doctor_peers",
            "machine": {
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "load_avg": [round(x, 2) for x in os.getloadavg()],
            },
            "versions": versions(peers),
            "levels": {
                "error": "the tool's own failing verdict",
                "warning": "anything rated warning or worse",
            },
            "faults": {f"{d.base}/{d.fault}": d.details for d in datasets if d.fault != "clean"},
            "build_s": build_s,
        }
        report.update(summarise(results, datasets))
        report["results"] = results
        if not args.no_large:
            log(f"large dataset: {args.large_episodes} episodes")
            large_tools = [
                t for t in all_tools if t.name.startswith("rollout-studio") or t.name == "lerobot-doctor"
            ]
            report["large"] = time_large(work, args.large_episodes, args.large_frames, large_tools, env)
        report["total_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
