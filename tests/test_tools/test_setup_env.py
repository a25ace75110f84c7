"""tools/setup_env.sh with a PYTHONPATH that holds another mmsss checkout:
the set-up succeeds (mmsss is installed from this checkout) and says where
python imports mmsss from and why (issue 29).

Runs the script's second-run path on the project venv (everything already
installed, so it only checks; about 12 s of CPU)."""
import os
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_pythonpath_shadowing_another_checkout_is_reported(tmp_path):
    venv = osp.join(ROOT, '.venv')
    if osp.realpath(sys.prefix) != osp.realpath(venv) or not osp.isdir(
            osp.join(ROOT, 'mmsss', '.mim', 'tools')):
        pytest.skip('needs the venv made by tools/setup_env.sh (a second '
                    'run only checks it)')
    other = tmp_path / 'other_checkout'
    (other / 'mmsss').mkdir(parents=True)
    (other / 'mmsss' / '__init__.py').write_text("__version__ = '0.0.0'\n")
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore',
               PYTHONPATH=str(other), VENV=venv)
    env.pop('MMSSS_MMCV', None)
    out = subprocess.run(['bash', osp.join(ROOT, 'tools', 'setup_env.sh')],
                         cwd=str(tmp_path), env=env, capture_output=True,
                         text=True, timeout=600)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-3000:]
    assert 'is not importable' not in log
    root = osp.realpath(ROOT)
    assert f'from {root}' in out.stdout  # the ready line: the install
    assert (f'python imports mmsss from {osp.realpath(str(other))}, not '
            f'from this checkout {root}') in out.stderr
    assert 'unset PYTHONPATH' in out.stderr
