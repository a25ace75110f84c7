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

# mmcv 2.1.0 has no wheels for this torch: build it from source once (pip caches the wheel).
if ! python -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '2.1.0'" 2>/dev/null; then
  echo "[mmsss] building mmcv 2.1.0 with ops (first time ~15 min on 2 cores, cached afterwards)"
  pip_q "setuptools<70" wheel ninja
  MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" pip_q --no-build-isolation mmcv==2.1.0
fi

if ! have mmengine==0.10.7 mmsegmentation==1.2.2 mmpretrain==1.2.0; then
  echo "[mmsss] installing OpenMMLab runtime requirements"
  pip_q -r "$ROOT/requirements/runtime.txt"
fi
if ! have pytest; then
  pip_q -r "$ROOT/requirements/tests.txt"
fi
if ! python -c "import mmsss" 2>/dev/null || [ "$(python -c 'import mmsss,os;print(os.path.dirname(os.path.dirname(mmsss.__file__)))' 2>/dev/null)" != "$ROOT" ]; then
  echo "[mmsss] installing mmsss (editable)"
  pip_q --no-deps --no-build-isolation -e "$ROOT"
fi
python -c "import torch, mmcv, mmengine, mmseg, mmpretrain, mmsss; print('[mmsss] ready: torch', torch.__version__, '| mmcv', mmcv.__version__, '| mmengine', mmengine.__version__, '| mmseg', mmseg.__version__, '| mmpretrain', mmpretrain.__version__, '| mmsss', mmsss.__version__)"
