#!/usr/bin/env bash
# What this stop checks on the device machine (16 cores, a GPU, Python 3.12, no internet), in one call:
#   1. LeRobot 0.6.1's own LeRobotDataset loads the studio's surgery outputs (#19): split, merge back,
#      delete, keep, trim, retask, rename-feature, recompute-stats, on LeRobot 0.6.1's own v3.0 data
#      and on a studio conversion;
#   2. LeRobot 0.6.1 reads the studio's subtask export (language columns, #19);
#   3. lerobot-edit-dataset 0.6.1 beside `rollout-studio edit` on the same inputs (#19);
#   4. the quality signals' video batches on CUDA beside the CPU (#18).
#
# Here, once: benchmarks/run_on_device.sh pack (LeRobot 0.6.1 and what it needs, .cache/carry/site312.tar.xz)
# and `benchmarks/device_checks.sh data` (the real LeRobot dataset, for the carry only; removed after), and
# jsonschema, pyserial, msgpack, pyzmq for Python 3.12 into .cache/carry/extra312 (pip install --target).
# There, through the `run` tool with carry [".cache/carry"]: benchmarks/device_checks.sh run
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CARRY="$ROOT/.cache/carry"
OUT="${OUT:-/tmp/device-out}"
mkdir -p "$OUT"

data() {
    tar -cf "$CARRY/data.tar" -C "$ROOT/../shared/data" lerobot061_so101_v30_h264
    du -h "$CARRY/data.tar"
}

step() {  # step NAME COMMAND...: runs it, its output in $OUT/NAME.txt, one line of status
    local name=$1
    shift
    local started=$SECONDS
    "$@" >"$OUT/$name.txt" 2>&1
    local rc=$?
    echo "$name: exit $rc in $((SECONDS - started)) s"
    tail -n 3 "$OUT/$name.txt" | sed 's/^/    /'
}

run() {
    mkdir -p /tmp/site312 /tmp/dc
    tar -xJf "$CARRY/site312.tar.xz" -C /tmp/site312
    rm -rf /tmp/site312/tests
    tar -xf "$CARRY/data.tar" -C /tmp/dc
    export PYTHONPATH="/tmp/site312:$CARRY/extra312:$ROOT" HF_HUB_OFFLINE=1 HF_HOME=/tmp/dc/hf HF_LEROBOT_HOME=/tmp/dc/hf
    local py=python3 real=/tmp/dc/lerobot061_so101_v30_h264 w=/tmp/dc/edit
    cd "$ROOT"
    cp -r "$CARRY/extra312" /tmp/extra312 2>/dev/null || true
    "$py" -c "import platform, os, torch, lerobot, av; print('python', platform.python_version(), 'cores', os.cpu_count(), 'torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'lerobot', lerobot.__version__, 'av', av.__version__)"
    # 4 first (the shortest): quality signals on the GPU beside its CPU
    step quality-speed-cuda "$py" benchmarks/quality_speed.py --device cuda --skip-motion
    # 1. surgery outputs, loaded by LeRobot 0.6.1
    local cli=("$py" -m backend.cli)
    mkdir -p "$w"
    step demo-data "${cli[@]}" demo-data "$w/demo" --quiet
    step studio-v30 "${cli[@]}" convert hdf5-to-lerobot "$(ls "$w"/demo/*.hdf5 | head -1)" --out "$w/ours" --format v3.0 --task "Pick the orange"
    for src in real ours; do
        local d=$real
        [ "$src" = ours ] && d=$w/ours
        step "$src-split" "${cli[@]}" edit split "$d" --fraction 0.5 --seed 1 --out "$w/$src-a" --out "$w/$src-b" --quiet
        step "$src-merge" "${cli[@]}" edit merge "$w/$src-a" "$w/$src-b" --out "$w/$src-merged" --quiet
        step "$src-delete" "${cli[@]}" edit delete "$d" --episodes 0 --out "$w/$src-deleted" --quiet
        step "$src-keep" "${cli[@]}" edit keep "$d" --episodes 1 --out "$w/$src-kept" --quiet
        step "$src-trim" "${cli[@]}" edit trim "$d" --frames 0:5-40 --out "$w/$src-trimmed" --quiet
        step "$src-retask" "${cli[@]}" edit retask "$d" --task "Put it back" --episodes 0 --out "$w/$src-retasked" --quiet
        step "$src-stats" "${cli[@]}" edit recompute-stats "$d" --out "$w/$src-stats" --quiet
    done
    step real-rename "${cli[@]}" edit rename-feature "$real" observation.images.front observation.images.top --out "$w/real-renamed" --quiet
    local loads=()
    for d in "$w"/real-* "$w"/ours-*; do [ -f "$d/meta/info.json" ] && loads+=("$d"); done
    step lerobot-load "$py" benchmarks/surgery_lerobot_load.py "${loads[@]}"
    # 2. subtasks read by LeRobot 0.6.1
    step subtasks-make "$py" scripts/lerobot_subtasks_check.py make /tmp/dc/subtasks
    step subtasks-read "$py" scripts/lerobot_subtasks_check.py read /tmp/dc/subtasks
    # 3. lerobot-edit-dataset beside the studio (a "venv" of wrappers around this Python)
    mkdir -p /tmp/dc/peers/bin
    printf '#!/bin/sh\nexec python3 "$@"\n' >/tmp/dc/peers/bin/python
    printf '#!/bin/sh\nexec python3 -m lerobot.scripts.lerobot_edit_dataset "$@"\n' >/tmp/dc/peers/bin/lerobot-edit-dataset
    chmod +x /tmp/dc/peers/bin/*
    step surgery-vs-lerobot "$py" benchmarks/surgery_vs_lerobot.py --peers-venv /tmp/dc/peers --work /tmp/dc/svl
}

peers() {  # LeRobot 0.5.1 reads the subtask_index export; lerobot-surgery 0.1.0 timed beside edit
    # here first: pip install --target .cache/carry/extra05 lerobot==0.5.1 and --target
    # .cache/carry/extra_surgery lerobot-surgery click tqdm (--no-deps, --python-version 3.12)
    mkdir -p /tmp/site312 /tmp/dc
    [ -d /tmp/site312/lerobot ] || { tar -xJf "$CARRY/site312.tar.xz" -C /tmp/site312; rm -rf /tmp/site312/tests; }
    [ -d /tmp/dc/lerobot061_so101_v30_h264 ] || tar -xf "$CARRY/data.tar" -C /tmp/dc
    local base="/tmp/site312:$CARRY/extra312:$ROOT" py=python3
    export HF_HUB_OFFLINE=1 HF_HOME=/tmp/dc/hf HF_LEROBOT_HOME=/tmp/dc/hf
    cd "$ROOT"
    step subtasks05-make env PYTHONPATH="$base" "$py" scripts/lerobot_subtasks_check.py make /tmp/dc/subtasks05
    step subtasks05-read env PYTHONPATH="$CARRY/extra05:$base" "$py" scripts/lerobot_subtasks_check.py read /tmp/dc/subtasks05 --pyav
    [ "${SUBTASKS_ONLY:-}" = 1 ] && return 0
    mkdir -p /tmp/dc/peers-surgery/bin /tmp/dc/svl-surgery
    printf '#!/bin/sh\nexec python3 "$@"\n' >/tmp/dc/peers-surgery/bin/python
    printf '#!/bin/sh\nexec python3 -m lerobot_surgery.cli "$@"\n' >/tmp/dc/peers-surgery/bin/lerobot-surgery
    chmod +x /tmp/dc/peers-surgery/bin/*
    step surgery-vs-lerobot-surgery env PYTHONPATH="$CARRY/extra_surgery:$base" "$py" benchmarks/surgery_vs_lerobot.py \
        --peers-venv /tmp/dc/peers-surgery --work /tmp/dc/svl-surgery --lerobot-data /tmp/dc/lerobot061_so101_v30_h264
}

case "${1:-}" in
    data) data ;;
    run) run ;;
    peers) peers ;;
    subtasks05) SUBTASKS_ONLY=1 peers ;;
    *) echo "usage: $0 data | run | peers | subtasks05" >&2; exit 2 ;;
esac
