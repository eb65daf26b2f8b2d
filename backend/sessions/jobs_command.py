"""A command typed as one line, without Qt: split into the argument list a job runs (no shell ever runs
it), a warning where the line looks like shell syntax (``;``, ``|``, ``>``... reach the program as plain
arguments), and where the program is found on PATH.

    line = split_line("sleep 5; echo hi")
    line.argv      # ['sleep', '5;', 'echo', 'hi']: what the job runs, as the dialog shows it
    line.warning   # 'No shell runs this command: ";" reaches sleep inside the argument "5;" ...'
    line.fix       # "sh -c 'sleep 5; echo hi'": the same line through a shell, when that was meant
    find_program("nosuchprog", cwd, path)  # Check(ok=False, 'nosuchprog is not on PATH ...')
"""

from __future__ import annotations

import os
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from backend.jobs.profiles import Check

OPERATORS = (";", "&&", "||", "|", "&", ">>", ">", "<")
NO_SHELL_NOTE = "Runs without a shell: ; | > & $ reach the program as plain arguments."


@dataclass
class CommandLine:
    """One typed command line: the arguments it gives, or why it cannot be split."""

    text: str
    argv: list[str] = field(default_factory=list)
    error: str = ""
    warning: str = ""
    fix: str = ""  # the line through ``sh -c`` when it holds shell syntax


def _unquoted_operators(text: str) -> list[str]:
    """Shell operators outside quotes (a quoted ';' was meant as an argument)."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:
        return []
    found = []
    for token in tokens:
        if token and all(c in "();<>|&" for c in token):
            found.append(token)
    return found


def split_line(text: str) -> CommandLine:
    """Split as a shell would split words, but nothing else a shell does happens."""
    line = CommandLine(text)
    try:
        line.argv = shlex.split(text)
    except ValueError as error:
        line.error = f"cannot split the command: {str(error).lower()} (close the quote)"
        return line
    line.warning = shell_warning(text, line.argv)
    if line.warning:
        line.fix = shlex.join(["sh", "-c", text.strip()])
    return line


def shell_warning(text: str, argv: list[str]) -> str:
    """Why the line will not do what a shell would do with it ("" when it reads as plain arguments)."""
    if not argv:
        return ""
    program = os.path.basename(argv[0]) or argv[0]
    operators = _unquoted_operators(text)
    if operators:
        op = operators[0]
        holder = next((a for a in argv if op in a), op)
        inside = f' inside the argument "{holder}"' if holder != op else " as an argument"
        return (
            f'No shell runs this command: "{op}" reaches {program}{inside} instead of '
            f"{'separating commands' if op in (';', '&&', '||', '&') else 'piping or redirecting'}."
        )
    for arg in argv:
        if arg.startswith("~"):
            return f'No shell runs this command: "~" in "{arg}" is not your home folder; write the full path.'
        if "$" in arg or "`" in arg:
            return f'No shell runs this command: "{arg}" reaches {program} as it is, not expanded.'
    return ""


def find_program(program: str, cwd: str, path: str | None = None) -> Check:
    """Where the job's program is: a path (relative to the working folder) or a name looked up on
    ``path`` (the job's PATH; this process's when None)."""
    if not program:
        return Check("program", False, "the command is empty")
    if os.sep in program:
        target = Path(cwd, os.path.expanduser(program))
        if target.is_file() and os.access(target, os.X_OK):
            return Check("program", True, f"{program} is {os.path.normpath(target)}")
        if target.is_file():
            return Check(
                "program", False, f"{target} is not executable (chmod +x, or run it with its interpreter)"
            )
        return Check("program", False, f"{target} does not exist")
    search = path if path is not None else os.environ.get("PATH", "")
    found = shutil.which(program, path=search)
    if found:
        return Check("program", True, f"{program} is {found}")
    folders = [p for p in search.split(os.pathsep) if p]
    return Check(
        "program",
        False,
        f"{program} is not on PATH ({len(folders)} folders looked in): write its full path, install it, "
        "or set PATH in the environment profile",
    )
