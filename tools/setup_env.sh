#!/usr/bin/env bash
# Create (or update) a virtual environment with the pinned, tested mmsss stack
# and install mmsss into it (editable). Idempotent: a second run only checks.
#   bash tools/setup_env.sh                 # venv in ./.venv, mmcv-lite
#   VENV=/path/to/venv bash tools/setup_env.sh
#   MMSSS_MMCV=full bash tools/setup_env.sh # compiled mmcv 2.1.0 (built once, cached)
# MMSSS_KEEP_TORCH=1 keeps a torch you installed yourself (e.g. a CUDA build).
# mmcv: an installed full mmcv 2.0.x-2.1.x (with compiled ops) is kept as it
# is; otherwise mmcv-lite 2.1.0 (pure Python, nothing to compile) is installed,
# unless MMSSS_MMCV=full asks for the compiled one. mmsss never calls a
# compiled mmcv op; see mmsss/mmcv_ops_stand_in.py.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"
MMCV_FLAVOUR="${MMSSS_MMCV:-lite}"
case "$MMCV_FLAVOUR" in lite|full) ;; *)
  echo "[mmsss] MMSSS_MMCV must be 'lite' or 'full', got '$MMCV_FLAVOUR'" >&2; exit 2;;
esac
# setuptools: torch 2.14 needs >=77.0.3; openmim needs pkg_resources (<81);
# an editable install that mim can find (setup.py develop) needs <80.
SETUPTOOLS_SPEC='setuptools>=77.0.3,<80'
# pip >= 25.3 has no 'setup.py develop', which mim needs for editable installs.
PIP_SPEC='pip>=23,<25.3'

if [ ! -x "$VENV/bin/python" ]; then
  echo "[mmsss] creating virtual environment $VENV"
  "$PY" -m venv "$VENV"
fi
# shellcheck disable=SC1091
source "$VENV/bin/activate"
pip_q() { python -m pip install --disable-pip-version-check -q "$@" 2>&1 | { grep -v "^WARNING: Location .* is ignored" || true; }; }

have() { python - "$@" <<'PYEOF' 2>/dev/null
import importlib.metadata as md, sys
from packaging.requirements import Requirement
for spec in sys.argv[1:]:
    req = Requirement(spec)
    try:
        got = md.version(req.name)
    except md.PackageNotFoundError:
        sys.exit(1)
    if req.specifier and not req.specifier.contains(got.split('+')[0], prereleases=True):
        sys.exit(1)
PYEOF
}
python -c "import packaging" 2>/dev/null || pip_q packaging

if ! have "$PIP_SPEC" "$SETUPTOOLS_SPEC" wheel; then
  echo "[mmsss] installing build tools ($PIP_SPEC, $SETUPTOOLS_SPEC, wheel)"
  pip_q "$PIP_SPEC" "$SETUPTOOLS_SPEC" wheel
fi

if [ "${MMSSS_KEEP_TORCH:-0}" != 1 ] && ! have torch==2.14.1 torchvision==0.29.1; then
  echo "[mmsss] installing torch 2.14.1 + torchvision 0.29.1"
  pip_q torch==2.14.1 torchvision==0.29.1 "$SETUPTOOLS_SPEC"
fi

# mmcv: which flavour is installed now? full | lite | none | bad-version
mmcv_state() { python - <<'PYEOF' 2>/dev/null || echo none
import importlib.metadata as md, importlib.util
from packaging.version import Version
try:
    import mmcv
except ImportError:
    print('none'); raise SystemExit
v = Version(mmcv.__version__)
if not Version('2.0.0rc4') <= v < Version('2.2.0'):
    print('bad-version')
elif importlib.util.find_spec('mmcv._ext') is not None:
    print('full')
else:
    print('lite')
PYEOF
}
STATE=$(mmcv_state)
if [ "$STATE" = bad-version ]; then
  echo "[mmsss] mmcv $(python -c 'import mmcv; print(mmcv.__version__)') is outside >=2.0.0rc4,<2.2.0 (mmseg 1.2.2's range); replacing it"
  python -m pip uninstall -y -q mmcv mmcv-lite mmcv-full 2>/dev/null || true
  STATE=none
fi

if [ "$MMCV_FLAVOUR" = full ] && [ "$STATE" != full ]; then
  # mmcv 2.1.0 has no wheels for this torch: build it from source once and
  # keep the wheel in a cache keyed by the torch and Python versions. torch
  # >= 2.10 headers need C++20 while mmcv 2.1.0's setup.py asks for C++14/17,
  # so the flag is raised in a private copy of the source. mmcv's setup.py
  # needs setuptools < 70 while building; the pinned range is restored after.
  TORCH_TAG=$(python -c "import sys, torch; print(f'torch{torch.__version__.split(\"+\")[0]}-py{sys.version_info[0]}{sys.version_info[1]}')")
  WHEEL_DIR="${MMSSS_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmsss/wheels}/$TORCH_TAG"
  WHEEL=$(ls "$WHEEL_DIR"/mmcv-2.1.0-*.whl 2>/dev/null | head -n1 || true)
  if [ -z "$WHEEL" ]; then
    echo "[mmsss] building mmcv 2.1.0 with ops (first time ~20 min on 2 cores, cached in $WHEEL_DIR)"
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
    pip_q "$SETUPTOOLS_SPEC"
  fi
  # both flavours install into mmcv/: remove the lite one first
  python -m pip uninstall -y -q mmcv-lite 2>/dev/null || true
  pip_q --no-deps "$WHEEL"
elif [ "$STATE" = none ]; then
  echo "[mmsss] installing mmcv-lite 2.1.0 (no compiled ops needed)"
  pip_q "mmcv-lite==2.1.0"
fi

if ! have mmengine==0.10.7 mmsegmentation==1.2.2 mmpretrain==1.2.0 openmim "$SETUPTOOLS_SPEC"; then
  echo "[mmsss] installing OpenMMLab runtime requirements and openmim"
  pip_q -r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/pinned.txt" \
    -r "$ROOT/requirements/mim.txt"
fi
if ! have pytest; then
  pip_q -r "$ROOT/requirements/tests.txt"
fi

# Install mmsss itself (editable, as setup.py develop so that mim finds its
# tools and configs). Checked from outside the repository, where the current
# directory cannot stand in for an installed package, and without
# PYTHONPATH: its folders come before site-packages, so a PYTHONPATH holding
# another checkout would hide this install (reported below, not an error).
# mmsss_root [ENV...]: the checkout mmsss imports from, or "none: <error>".
mmsss_root() { ( cd / && env "$@" python - <<'PYEOF' 2>/dev/null ) || echo "none: python failed"
import os
try:
    import mmsss
except Exception as e:  # an ImportError or a broken checkout
    print(f'none: {type(e).__name__}: {e}'.splitlines()[0])
else:
    print(os.path.dirname(os.path.dirname(os.path.realpath(mmsss.__file__))))
PYEOF
}
installed_root() { ( cd / && env -u PYTHONPATH python -c "import importlib.metadata as md, os, mmsss; md.version('mmsss'); print(os.path.dirname(os.path.dirname(os.path.realpath(mmsss.__file__))))" 2>/dev/null ) || true; }
if [ "$(installed_root)" != "$ROOT" ] || [ ! -e "$ROOT/mmsss/.mim/tools" ]; then
  echo "[mmsss] installing mmsss (editable)"
  ( cd "$ROOT" && pip_q --no-deps --no-build-isolation -e . )
  if [ "$(installed_root)" != "$ROOT" ]; then
    echo "[mmsss] mmsss is not importable from $ROOT after 'pip install -e': $VENV/bin/python (PYTHONPATH unset) imports it from $(mmsss_root -u PYTHONPATH)" >&2
    exit 1
  fi
fi
( cd / && env -u PYTHONPATH python -c "import os, torch, mmcv, mmengine, mmseg, mmpretrain, mmsss; from mmsss.mmcv_ops_stand_in import compiled_ops_available as c; print('[mmsss] ready: torch', torch.__version__, '| mmcv', mmcv.__version__, '(full)' if c() else '(lite)', '| mmengine', mmengine.__version__, '| mmseg', mmseg.__version__, '| mmpretrain', mmpretrain.__version__, '| mmsss', mmsss.__version__, 'from', os.path.dirname(os.path.dirname(os.path.realpath(mmsss.__file__))))" )
# The caller's PYTHONPATH: does it hide this checkout's mmsss?
if [ -n "${PYTHONPATH:-}" ]; then
  SEEN=$(mmsss_root)
  case "$SEEN" in
    "$ROOT") ;;
    none:*) echo "[mmsss] warning: with your PYTHONPATH ($PYTHONPATH), python cannot import mmsss (${SEEN#none: }), although it is installed from this checkout $ROOT: PYTHONPATH comes before the installed packages. Unset it (unset PYTHONPATH) or point it at $ROOT." >&2 ;;
    *) echo "[mmsss] warning: with your PYTHONPATH ($PYTHONPATH), python imports mmsss from $SEEN, not from this checkout $ROOT where it is installed: PYTHONPATH comes before the installed packages. Unset it (unset PYTHONPATH) or point it at $ROOT." >&2 ;;
  esac
fi
