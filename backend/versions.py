"""What this studio is built from: its version and commit, and the libraries it runs on.

``rollout-studio --version``, the About dialog and crash reports show it. Kept fast: Qt is never
imported here (the GUI passes its own runtime version), torch never (its package record says its
version), and only PyAV and h5py are imported (for the codecs and the HDF5 library they carry).
The commit comes from ``_build_info.json`` beside this module in a bundle (written when the bundle is
built, ``packaging/rollout-studio.spec``), else from the checkout's ``.git`` (read, no ``git`` run).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from backend import __version__

BUILD_INFO = Path(__file__).with_name("_build_info.json")
SOURCE_ROOT = Path(__file__).resolve().parents[1]
# codecs the studio writes or reads (LeRobot videos: AV1 through SVT-AV1, H.264 through x264), in order
CODECS_OF_INTEREST = ("libsvtav1", "libdav1d", "libaom-av1", "av1", "libx264", "h264", "hevc", "mpeg4", "mjpeg")
# package name -> the distribution that records its version
DISTRIBUTIONS = {
    "PySide6": ("PySide6-Essentials", "PySide6"),
    "av": ("av",),
    "h5py": ("h5py",),
    "pyarrow": ("pyarrow",),
    "numpy": ("numpy",),
    "torch": ("torch",),
}


def build_info() -> dict[str, Any]:
    """``{"commit": ..., "dirty": bool, "built": ...}`` of a bundle, or of the checkout (no ``built``)."""
    try:
        return dict(json.loads(BUILD_INFO.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        pass
    commit = _git_head(SOURCE_ROOT / ".git")
    return {"commit": commit} if commit else {}


def _git_head(git: Path) -> str | None:
    """The commit ``HEAD`` names, read from the files (a worktree's ``.git`` file is followed)."""
    try:
        if git.is_file():  # a linked worktree: "gitdir: PATH"
            git = Path(git.read_text(encoding="utf-8").split(":", 1)[1].strip())
        head = (git / "HEAD").read_text(encoding="utf-8").strip()
        if not head.startswith("ref: "):
            return head or None
        ref = head[5:]
        common = git
        if (git / "commondir").exists():
            common = (git / (git / "commondir").read_text(encoding="utf-8").strip()).resolve()
        for root in (git, common):
            if (root / ref).exists():
                return (root / ref).read_text(encoding="utf-8").strip()
        for root in (git, common):
            packed = root / "packed-refs"
            if packed.exists():
                for line in packed.read_text(encoding="utf-8").splitlines():
                    if line.endswith(" " + ref):
                        return line.split(" ", 1)[0]
    except (OSError, IndexError):
        return None
    return None


def package_version(name: str) -> str | None:
    """A package's version from its record, else from the module (never importing torch); None when
    it is not installed."""
    import importlib.metadata  # noqa: PLC0415 - only when versions are asked for (a CLI run starts fast)
    import importlib.util  # noqa: PLC0415

    for dist in DISTRIBUTIONS.get(name, (name,)):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    if name == "torch" or importlib.util.find_spec(name) is None:
        return None
    module = __import__(name)
    return str(getattr(module, "__version__", "unknown"))


def how_installed() -> str:
    if getattr(sys, "frozen", False):
        return "bundle"
    return "checkout" if (SOURCE_ROOT / ".git").exists() else "installed"


def collect(qt_runtime: str | None = None) -> dict[str, Any]:
    """Every version, as plain data (for JSON and crash reports). ``qt_runtime``: the Qt the GUI
    loaded (``qVersion()``), which the caller passes; without it PySide6's recorded version."""
    import platform  # noqa: PLC0415

    info = build_info()
    result: dict[str, Any] = {
        "rollout_studio": __version__,
        "commit": info.get("commit"),
        "dirty": bool(info.get("dirty", False)),
        "built": info.get("built"),
        "installed_as": how_installed(),
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "executable": sys.executable,
    }
    result["pyside6"] = package_version("PySide6")
    result["qt"] = qt_runtime
    result["av"], result["ffmpeg"], result["codecs"] = _pyav()
    result["h5py"], result["hdf5"] = _h5py()
    for name in ("pyarrow", "numpy", "torch"):
        result[name] = package_version(name)
    return result


def _pyav() -> tuple[str | None, str | None, list[str]]:
    try:
        import av  # noqa: PLC0415 - only when versions are asked for
    except ImportError:
        return None, None, []
    available = av.codecs_available
    ffmpeg = ".".join(str(v) for v in av.library_versions.get("libavcodec", ())) or None
    return str(av.__version__), ffmpeg, [name for name in CODECS_OF_INTEREST if name in available]


def _h5py() -> tuple[str | None, str | None]:
    try:
        import h5py  # noqa: PLC0415
    except ImportError:
        return None, None
    return str(h5py.__version__), str(h5py.version.hdf5_version)


def short_commit(versions: dict[str, Any]) -> str:
    commit = versions.get("commit")
    if not commit:
        return "commit unknown"
    return f"commit {commit[:12]}{' (modified)' if versions.get('dirty') else ''}"


def format_text(versions: dict[str, Any]) -> str:
    """The lines ``--version`` prints (and the About dialog and crash reports show)."""
    built = f", built {versions['built']}" if versions.get("built") else ""
    qt = versions.get("qt") or versions.get("pyside6")
    qt_line = f"Qt {versions['qt']}, PySide6 {versions['pyside6']}" if versions.get("qt") else f"PySide6 {qt}"
    codecs = ", ".join(versions.get("codecs") or []) or "none"
    lines = [
        f"rollout-studio {versions['rollout_studio']} ({short_commit(versions)}, "
        f"{versions['installed_as']}{built})",
        f"Python {versions['python']} on {versions['platform']}",
        qt_line if qt else "Qt: not installed",
        f"PyAV {versions['av']} (libavcodec {versions['ffmpeg']}; codecs: {codecs})"
        if versions.get("av")
        else "PyAV: not installed",
        f"h5py {versions['h5py']} (HDF5 {versions['hdf5']})" if versions.get("h5py") else "h5py: not installed",
        f"pyarrow {versions.get('pyarrow') or 'not installed'}",
        f"numpy {versions.get('numpy') or 'not installed'}",
        f"torch {versions.get('torch') or 'not installed'}",
    ]
    return "\n".join(lines)


class VersionAction(argparse.Action):
    """``--version``: print every version and exit (argparse's own prints one fixed string)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        kwargs.setdefault("help", "show the version, the commit and the library versions, then exit")
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        print(format_text(collect()), flush=True)
        parser.exit(0)
