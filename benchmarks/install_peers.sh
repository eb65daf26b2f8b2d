#!/usr/bin/env bash
# Install the four peer dataset checkers that benchmarks/doctor_peers.py measures, from PyPI, into
# their own venv (default .cache/peers-venv, ignored by git; ~6 GB, mostly torch):
#   lerobot-doctor 0.2.0, deepen-grade[lerobot] 0.4.1, lerobot-quality-gates 0.1.7, lerobot-lint 0.1.1.
# lerobot-lint needs `lerobot[dataset]`: lerobot 0.5+ needs Python >= 3.12, so on Python 3.11 it is
# lerobot 0.4.4 (reads LeRobot v3.0 only), installed without its pins (torch < 2.11, av < 16, ...)
# plus the few packages LeRobotDataset imports. torch must come with a torchvision built for it:
# torch 2.14.1 + torchvision 0.29.1 (PyPI's CUDA builds; they run on the CPU). A CPU-only torch with
# PyPI's torchvision fails (torchvision::nms missing).
set -euo pipefail
VENV="${1:-$(cd "$(dirname "$0")/.." && pwd)/.cache/peers-venv}"
PY="${PYTHON:-python3.11}"
"$PY" -m venv "$VENV"
PIP=("$VENV/bin/pip" install -q)
"${PIP[@]}" "lerobot-doctor==0.2.0" "deepen-grade[lerobot]==0.4.1" "lerobot-quality-gates==0.1.7" typer pyyaml
"${PIP[@]}" --no-deps "lerobot-lint==0.1.1" "lerobot==0.4.4"
"${PIP[@]}" "torch==2.14.1" "torchvision==0.29.1" "datasets>=4,<5" "huggingface-hub>=0.34.2,<0.36" \
    jsonlines packaging "draccus==0.10.0" einops deepdiff termcolor pillow accelerate
"$VENV/bin/python" -c "import lerobot.datasets.lerobot_dataset, lerobot_lint.cli, lerobot_doctor, deepen_grade"
echo "peers installed in $VENV"
