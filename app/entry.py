"""Console entry point: a known command runs headless; anything else opens the GUI."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    import multiprocessing

    multiprocessing.freeze_support()  # the recorder's writer process in frozen (PyInstaller) builds
    argv = list(sys.argv[1:] if argv is None else argv)
    from backend.cli import command_names

    first = next((a for a in argv if not a.startswith("-")), None)
    if first in command_names() or (argv and argv[0] in ("-h", "--help", "--version")):
        from backend.cli import main as cli_main

        return cli_main(argv)
    from app.gui_main import run_gui  # Qt is imported only on this path

    return run_gui(argv)


if __name__ == "__main__":
    sys.exit(main())
