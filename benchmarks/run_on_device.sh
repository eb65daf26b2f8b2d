#!/usr/bin/env bash
# benchmarks/convert_scale.py on the device machine (16 cores, Python 3.12, no internet).
#
# Here, once (needs PyPI; ~3 min, mostly xz):
#   benchmarks/run_on_device.sh pack
# makes .cache/carry/site312.tar.xz (~37 MB): LeRobot 0.6.1 and what its dataset writer imports that the
# device lacks (datasets, pandas, draccus, gymnasium, ...) and av 15.1 (LeRobot 0.6.1 needs av < 16; the
# studio runs on it too, since two av builds do not fit the 64 MiB a call may carry). The device's own
# torch, torchvision, numpy, pyarrow, h5py, opencv, PyYAML, pillow, huggingface_hub are used.
#
# There, through the `run` tool with carry [".cache/carry"]:
#   benchmarks/run_on_device.sh run [convert_scale.py options]
# unpacks it into /tmp/site312, prints where each module comes from, then runs the benchmark; the JSON
# lands in $OUT/convert_scale.json (rewritten after every part, so a run cut short keeps its figures).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CARRY="$ROOT/.cache/carry/site312.tar.xz"

pack() {
    local site="$ROOT/.cache/site312"
    local py="${PYTHON:-$ROOT/.venv/bin/python}"
    rm -rf "$site" && mkdir -p "$site" "$(dirname "$CARRY")"
    "$py" -m pip install -q --no-deps --no-compile --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 --target "$site" \
        lerobot==0.6.1 "av==15.1.0" datasets==4.8.5 dill==0.4.1 multiprocess==0.70.19 xxhash==4.1.0 \
        draccus==0.11.6 mergedeep==1.3.4 toml==0.10.2 typing-inspect==0.9.0 mypy_extensions==1.2.0 \
        gymnasium==1.4.0 cloudpickle==3.1.3 farama-notifications==0.0.6 einops==0.8.2 jsonlines==4.0.0 \
        attrs==26.1.0 termcolor==3.3.0 pandas==2.3.3 python-dateutil==4.0.0 pytz==2026.6 tzdata==2026.6
    rm -rf "$site/pandas/tests" "$site/tests"  # a wheel's top-level tests/ would hide the studio's
    find "$site" \( -name '*.pyi' -o -name '*.pxd' -o -name '*.pyx' \) -delete
    tar -cf - -C "$site" . | xz -T0 -6 >"$CARRY"
    du -h "$CARRY"
}

where() {
    "${PYTHON:-python3}" - <<'EOF'
import importlib, platform
print("python", platform.python_version(), "cores", __import__("os").cpu_count())
for name in ["av", "lerobot", "datasets", "pandas", "torch", "torchvision", "numpy", "pyarrow", "h5py", "cv2",
             "yaml", "PIL", "huggingface_hub", "fsspec", "requests", "xxhash", "draccus", "gymnasium"]:
    try:
        module = importlib.import_module(name)
        print(f"{name:16} {getattr(module, '__version__', '?'):14} {module.__file__}")
    except Exception as exc:  # noqa: BLE001
        print(f"{name:16} MISSING        {type(exc).__name__}: {exc}")
EOF
}

run() {
    [ -f "$CARRY" ] || { echo "no $CARRY: run '$0 pack' here and carry .cache/carry" >&2; exit 2; }
    mkdir -p /tmp/site312
    tar -xJf "$CARRY" -C /tmp/site312
    rm -rf /tmp/site312/tests  # a wheel's top-level tests/ package would hide the studio's tests/recordings.py
    export PYTHONPATH="/tmp/site312${PYTHONPATH:+:$PYTHONPATH}"
    where
    local out="${OUT:-/tmp}"
    cd "$ROOT"
    PYTHONUNBUFFERED=1 "${PYTHON:-python3}" benchmarks/convert_scale.py --json-out "$out/convert_scale.json" "$@"
}

case "${1:-}" in
    pack) pack ;;
    run) shift; run "$@" ;;
    *) echo "usage: $0 pack | run [convert_scale.py options]" >&2; exit 2 ;;
esac
