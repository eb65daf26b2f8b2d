#!/usr/bin/env bash
# Rollout Studio set-up and entry points. Everything a fresh machine needs is installed here.
#   ./dev.sh demo         set up, then open the studio on its built-in demo workspace
#   ./dev.sh test         set up, then run the whole test suite with the long kill -9 series (what CI runs)
#   ./dev.sh screenshots  regenerate docs/screenshots/
#   ./dev.sh bench        run every benchmark (JSON on stdout)
#   ./dev.sh bundle       build the one-folder desktop bundle and its .tar.gz into dist/ (--check: then test it)
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
VENV=.venv

# System packages: Qt's xcb platform for a real window / Xvfb, and Slurm + munge for the
# Slurm-runner tests (a one-node cluster on localhost). Installed only when missing and root.
SYSTEM_PACKAGES=(xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxkbcommon-x11-0
                 libegl1 libgl1 libfontconfig1 fonts-dejavu-core slurm-wlm munge)

install_system_packages() {
    local missing=()
    for pkg in "${SYSTEM_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        echo "note: missing system packages (${missing[*]}); some tests will skip" >&2
        return 0
    fi
    echo "installing system packages: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# pip's own find-links (where this machine keeps its CPU build of torch, say), for uv too
pip_find_links() {
    "$VENV/bin/python" -m pip config list 2>/dev/null | sed -n "s/^.*find-links='\(.*\)'$/\1/p" | tr ' ' '\n' | sort -u
}

# the project and the given extras into the venv: uv (about 15 s: parallel downloads and byte-compiling,
# which the test processes would otherwise do on first import, several at once) with pip's find-links,
# else pip (about a minute)
install_project() {
    local extras=$1 links=() link
    while read -r link; do
        [ -n "$link" ] && links+=(--find-links "$link")
    done < <(pip_find_links)
    if [ -x "$VENV/bin/uv" ] || "$VENV/bin/python" -m pip install -q uv; then
        "$VENV/bin/uv" pip install -q --compile-bytecode --python "$VENV/bin/python" "${links[@]}" -e ".[$extras]" && return 0
        echo "note: uv could not install the project; pip instead" >&2
    fi
    "$VENV/bin/python" -m pip install -q -e ".[$extras]"
}

setup_venv() {
    [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
    local stamp="$VENV/.rollout-studio-installed"
    local want
    want=$(sha256sum pyproject.toml | cut -d' ' -f1)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        install_project test
        echo "$want" > "$stamp"
    fi
    # the bundle's builder, for ./dev.sh bundle and a test run with ROLLOUT_STUDIO_BUNDLE=1
    if { [ "$cmd" = bundle ] || [ "${ROLLOUT_STUDIO_BUNDLE:-}" = 1 ]; } && [ ! -x "$VENV/bin/pyinstaller" ]; then
        install_project test,bundle
    fi
}

# system packages (apt) and the venv (PyPI) at the same time: both wait on downloads
setup_all() {
    install_system_packages &
    local apt=$!
    setup_venv
    wait "$apt"
}

cmd=${1:-help}
shift || true
case "$cmd" in
    demo)
        setup_all
        if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && command -v xvfb-run >/dev/null; then
            echo "no display: running under xvfb-run (use --screenshot FILE.png to see it)" >&2
            exec xvfb-run -a -s "-screen 0 1600x1000x24" "$VENV/bin/rollout-studio" --demo "$@"
        fi
        exec "$VENV/bin/rollout-studio" --demo "$@"
        ;;
    test)
        setup_all
        # cached bytecode, even where the environment turns it off (PYTHONDONTWRITEBYTECODE): without
        # it every test process rewrites and compiles ~150 test modules (12 s a worker) and every CLI
        # run and helper process the tests start compiles the studio anew (0.5 s each)
        unset PYTHONDONTWRITEBYTECODE
        "$VENV/bin/python" -m compileall -q -j 0 backend app widgets scripts >/dev/null || true
        "$VENV/bin/lint-imports"
        "$VENV/bin/ruff" check .
        if [ $# -gt 0 ]; then
            QT_QPA_PLATFORM=offscreen "$VENV/bin/python" -m pytest "$@"
            exit
        fi
        # a full run: everything, the long kill -9 series (20 kills per writer) included, on every
        # core the process may use (pytest-xdist); then the tests that drive a
        # virtual arm in real time (tests/conftest.py: REALTIME_MODULES), apart from the CPU-bound
        # bulk: beside it the arm's 20 ms replies and the recorders' fsyncs come late
        # the bulk on one worker more than cores: about a fifth of its tests wait (Slurm, kill -9 series,
        # timers), and a third worker fills that time (2 cores: 210-225 s instead of 235-245 s)
        status=0
        workers=$(( $(nproc) + 1 ))
        QT_QPA_PLATFORM=offscreen "$VENV/bin/python" -m pytest -n "$workers" --dist worksteal -m "(slow or not slow) and not realtime" || status=$?
        QT_QPA_PLATFORM=offscreen "$VENV/bin/python" -m pytest -n auto --dist worksteal -m "realtime and (slow or not slow)" || status=$?
        exit $status
        ;;
    screenshots)
        setup_all
        exec "$VENV/bin/python" scripts/screenshots.py "$@"
        ;;
    bench)
        setup_venv
        for script in benchmarks/*.py; do
            echo "== $script" >&2
            "$VENV/bin/python" "$script" "$@"
        done
        ;;
    bundle)
        # the one-folder PyInstaller bundle (packaging/rollout-studio.spec) with install.sh, the desktop
        # entry, icons and MIME types beside it, and dist/rollout-studio-VERSION-linux-ARCH.tar.gz of it;
        # --check: then tests/test_bundle.py runs the bundle from a clean environment
        setup_venv
        started=$(date +%s)
        nice -n 10 "$VENV/bin/pyinstaller" --noconfirm --log-level WARN --distpath dist \
            --workpath build/pyinstaller packaging/rollout-studio.spec
        out=dist/rollout-studio
        mkdir -p "$out/share/applications" "$out/share/mime/packages" "$out/share/icons"
        cp packaging/install.sh "$out/install.sh"
        cp packaging/rollout-studio.desktop "$out/share/applications/"
        cp packaging/rollout-studio-mime.xml "$out/share/mime/packages/rollout-studio.xml"
        cp packaging/icons/rollout-studio.svg packaging/icons/rollout-studio-*.png "$out/share/icons/"
        version=$("$VENV/bin/python" -c 'import backend; print(backend.__version__)')
        tarball="dist/rollout-studio-$version-linux-$(uname -m).tar.gz"
        nice -n 10 tar -C dist -czf "$tarball.partial" rollout-studio && mv "$tarball.partial" "$tarball"
        echo "bundle: $out ($(du -sh "$out" | cut -f1)), $tarball ($(du -sh "$tarball" | cut -f1)), built in $(( $(date +%s) - started )) s" >&2
        if [ "${1:-}" = "--check" ]; then
            ROLLOUT_STUDIO_BUNDLE=1 ROLLOUT_STUDIO_BUNDLE_PREBUILT="$out" \
                QT_QPA_PLATFORM=offscreen "$VENV/bin/python" -m pytest tests/test_bundle.py -m bundle -v
        fi
        ;;
    *)
        sed -n '2,7p' "$0"
        exit 2
        ;;
esac
