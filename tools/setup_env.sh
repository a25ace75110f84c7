#!/usr/bin/env bash
# Create (or update) a virtual environment with the pinned, tested mmsss stack.
# Idempotent: a second run only checks what is already there.
#   bash tools/setup_env.sh            # venv in ./.venv
#   VENV=/path/to/venv bash tools/setup_env.sh
# Set MMSSS_KEEP_TORCH=1 to keep a torch you installed yourself (e.g. a CUDA build on a cluster).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
  echo "[mmsss] creating virtual environment $VENV"
  "$PY" -m venv "$VENV"
fi
# shellcheck disable=SC1091
source "$VENV/bin/activate"
pip_q() { python -m pip install --disable-pip-version-check -q "$@"; }

have() { python - "$@" <<'PYEOF' 2>/dev/null
import importlib.metadata as md, sys
for spec in sys.argv[1:]:
    name, _, ver = spec.partition('==')
    try:
        got = md.version(name)
    except md.PackageNotFoundError:
        sys.exit(1)
    if ver and got.split('+')[0] != ver:
        sys.exit(1)
PYEOF
}

if [ "${MMSSS_KEEP_TORCH:-0}" != 1 ] && ! have torch==2.14.1 torchvision==0.29.1; then
  echo "[mmsss] installing torch 2.14.1 + torchvision 0.29.1"
  pip_q torch==2.14.1 torchvision==0.29.1
fi

if ! have mmengine==0.10.7 mmsegmentation==1.2.2 mmpretrain==1.2.0; then
  echo "[mmsss] installing OpenMMLab runtime requirements"
  pip_q -r "$ROOT/requirements/runtime.txt"
fi
# mmcv 2.1.0 has no wheels for this torch: build it from source once and keep
# the wheel in a cache keyed by the torch and Python versions. torch >= 2.10
# headers need C++20, while mmcv 2.1.0's setup.py asks for C++14/17, so the
# flag is raised in a private copy of the source before building.
if ! python -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '2.1.0'" 2>/dev/null; then
  TORCH_TAG=$(python -c "import sys, torch; print(f'torch{torch.__version__.split(\"+\")[0]}-py{sys.version_info[0]}{sys.version_info[1]}')")
  WHEEL_DIR="${MMSSS_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmsss/wheels}/$TORCH_TAG"
  WHEEL=$(ls "$WHEEL_DIR"/mmcv-2.1.0-*.whl 2>/dev/null | head -n1 || true)
  if [ -z "$WHEEL" ]; then
    echo "[mmsss] building mmcv 2.1.0 with ops (first time ~15 min on 2 cores, cached in $WHEEL_DIR)"
    pip_q "setuptools<70" wheel ninja
    TMP=$(mktemp -d)
    trap 'rm -rf "$TMP"' EXIT
    python -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
      --no-build-isolation -d "$TMP" mmcv==2.1.0
    tar -xzf "$TMP"/mmcv-2.1.0.tar.gz -C "$TMP"
    ATEN_H=$(python -c "import os, torch; print(os.path.join(os.path.dirname(torch.__file__), 'include', 'ATen', 'ATen.h'))")
    if grep -q "C++20" "$ATEN_H" 2>/dev/null; then
      sed -i 's/-std=c++14/-std=c++20/g; s/-std=c++17/-std=c++20/g' "$TMP"/mmcv-2.1.0/setup.py
    fi
    ( cd "$TMP"/mmcv-2.1.0 && MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
        python -m pip wheel -q --disable-pip-version-check --no-deps --no-build-isolation -w "$TMP/wheel" . )
    mkdir -p "$WHEEL_DIR"
    for w in "$TMP"/wheel/mmcv-2.1.0-*.whl; do
      cp "$w" "$WHEEL_DIR/.$(basename "$w").part" && mv "$WHEEL_DIR/.$(basename "$w").part" "$WHEEL_DIR/$(basename "$w")"
    done
    WHEEL=$(ls "$WHEEL_DIR"/mmcv-2.1.0-*.whl | head -n1)
  fi
  pip_q --no-deps "$WHEEL"
fi

if ! have pytest; then
  pip_q -r "$ROOT/requirements/tests.txt"
fi
if ! python -c "import mmsss" 2>/dev/null || [ "$(python -c 'import mmsss,os;print(os.path.dirname(os.path.dirname(mmsss.__file__)))' 2>/dev/null)" != "$ROOT" ]; then
  echo "[mmsss] installing mmsss (editable)"
  pip_q --no-deps --no-build-isolation -e "$ROOT"
fi
python -c "import torch, mmcv, mmengine, mmseg, mmpretrain, mmsss; print('[mmsss] ready: torch', torch.__version__, '| mmcv', mmcv.__version__, '| mmengine', mmengine.__version__, '| mmseg', mmseg.__version__, '| mmpretrain', mmpretrain.__version__, '| mmsss', mmsss.__version__)"
