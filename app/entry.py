"""Console entry point: a command word runs headless; anything else opens the GUI.

`rollout-studio` / `rollout-studio PATH` / `rollout-studio --demo ...` open the window;
`rollout-studio inspect PATH` and every other command run without loading Qt.
"""

from __future__ import annotations

import sys
from pathlib import Path

from backend.cli import COMMAND_WORDS

CLI_FLAGS = ("-h", "--help", "--version")


def wants_gui(argv: list[str]) -> bool:
    """Decided without importing the CLI modules (that costs time before the first frame)."""
    if not argv:
        return True
    first = argv[0]
    if first in CLI_FLAGS or first in COMMAND_WORDS:
        return False
    if first.startswith("-"):
        return True  # GUI options: --demo, --screenshot, --workspace, ...
    return Path(first).exists()  # a dataset to open; otherwise it is a command word


def main(argv: list[str] | None = None) -> int:
    import multiprocessing

    from backend.children import run_child_if_asked

    if argv is None:
        run_child_if_asked()  # a frozen bundle started as a worker: `EXE --studio-child MODULE ...`

    multiprocessing.freeze_support()  # the recorder process in frozen (PyInstaller) builds
    argv = list(sys.argv[1:] if argv is None else argv)
    if not wants_gui(argv):
        from backend.cli import main as cli_main

        return cli_main(argv)
    from app.gui_main import run_gui  # Qt is imported only on this path

    return run_gui(argv)


if __name__ == "__main__":
    sys.exit(main())
