"""mmsss installed as users install it, then driven with mim from elsewhere.

Each install goes into a throw-away venv that sees the project venv's
packages through a ``.pth`` line (nothing big is reinstalled); mmsss itself
is installed with ``--no-deps`` from a copy of the checkout, as a wheel and
as an editable install. From a temporary directory, ``mim run`` makes a tiny
synthetic dataset, ``mim train`` runs two iterations of a config named by its
unique file name alone, and ``mim test`` evaluates the checkpoint.
"""
import os
import os.path as osp
import shutil
import site
import subprocess
import sys
import sysconfig

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = 'mean_teacher_synthetic_1-16.py'
SKIP_DIRS = {'.venv', '.git', 'work_dirs', 'data', 'build', '.devkit',
             '__pycache__', '.mim', '.pytest_cache'}


def _run(cmd, cwd, env, timeout=300):
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True,
                         text=True, timeout=timeout)
    assert out.returncode == 0, (
        f'{cmd} failed ({out.returncode}):\n{out.stdout[-3000:]}\n'
        f'{out.stderr[-3000:]}')
    return out.stdout + out.stderr


def _copy_checkout(dst):
    def ignore(d, names):
        skip = {n for n in names if n in SKIP_DIRS or n.endswith('.egg-info')}
        return skip
    shutil.copytree(ROOT, dst, ignore=ignore)
    return dst


def _throwaway_venv(path):
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip',
                    str(path)], check=True)
    py = osp.join(path, 'bin', 'python')
    purelib = subprocess.run(
        [py, '-c', 'import sysconfig; print(sysconfig.get_paths()'
         "['purelib'])"], capture_output=True, text=True,
        check=True).stdout.strip()
    parents = site.getsitepackages() + [sysconfig.get_paths()['purelib']]
    with open(osp.join(purelib, 'zz_project_venv.pth'), 'w') as f:
        f.write('\n'.join(dict.fromkeys(parents)) + '\n')
    return py, purelib


def _env():
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore')
    env.pop('PYTHONPATH', None)
    return env


def _mim_round_trip(py, workdir, expect_root, data_root=None):
    """``mim run`` (the dataset), ``mim train`` and ``mim test``; with
    ``data_root`` (a dataset already made) ``mim train`` only."""
    env = _env()
    # the file `import mmsss` would run, found without running it (an
    # import is seconds; mim train and test import it below)
    where = _run([py, '-c', 'import importlib.util as u, os; print(os.path.'
                  "realpath(u.find_spec('mmsss').origin))"], workdir,
                 env).strip().splitlines()[-1]
    assert where.startswith(expect_root), where
    if data_root is None:
        _run([py, '-m', 'mim', 'run', 'mmsss', 'make_synthetic_voc',
              'data/synthetic_voc', '--num-train', '32', '--num-val', '4',
              '--size', '64'], workdir, env)
    else:
        os.makedirs(osp.join(workdir, 'data'))
        os.symlink(data_root, osp.join(workdir, 'data', 'synthetic_voc'))
    log = _run([
        py, '-m', 'mim', 'train', 'mmsss', CONFIG, '--work-dir', 'wd',
        '--cfg-options', 'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
        'default_hooks.checkpoint.interval=2'
    ], workdir, env)
    assert "doesn't exist but we find the config file" in log
    ckpt = osp.join(workdir, 'wd', 'iter_2.pth')
    assert osp.isfile(ckpt)
    if data_root is not None:
        return
    log = _run([
        py, '-m', 'mim', 'test', 'mmsss', CONFIG, '--checkpoint', ckpt,
        '--work-dir', 'wd_test'
    ], workdir, env)
    assert 'mIoU' in log


@pytest.fixture(scope='module')
def checkout(tmp_path_factory):
    return _copy_checkout(str(tmp_path_factory.mktemp('src') / 'mmsss'))


def test_wheel_install_then_mim(checkout, tmp_path):
    wheels = tmp_path / 'wheels'
    _run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps',
          '--no-build-isolation', '-w', str(wheels), checkout], checkout,
         _env())
    assert not osp.exists(osp.join(checkout, 'mmsss', '.mim')), \
        'a wheel build wrote into the source tree'
    (whl, ) = list(wheels.glob('mmsss-*.whl'))
    py, purelib = _throwaway_venv(tmp_path / 'venv')
    _run([py, '-m', 'pip', 'install', '-q', '--no-deps', str(whl)],
         str(tmp_path), _env())
    for item in ('tools/train.py', 'tools/misc/make_synthetic_voc.py',
                 f'configs/_aliases_/{CONFIG}', 'model-index.yml'):
        assert osp.isfile(osp.join(purelib, 'mmsss', '.mim', item)), item
    work = tmp_path / 'run'
    work.mkdir()
    _mim_round_trip(py, str(work), osp.join(purelib, 'mmsss'))


def test_editable_install_then_mim(checkout, tmp_path, synthetic_voc_root):
    """The live .mim links of an editable install: mim finds the config and
    tools/train.py through them (mim run and mim test, the same look-up,
    run in the wheel test)."""
    py, purelib = _throwaway_venv(tmp_path / 'venv')
    _run([py, '-m', 'pip', 'install', '-q', '--no-deps',
          '--no-build-isolation', '-e', checkout], str(tmp_path), _env())
    mim_dir = osp.join(checkout, 'mmsss', '.mim')
    assert osp.islink(osp.join(mim_dir, 'configs'))  # live, not a copy
    work = tmp_path / 'run'
    work.mkdir()
    _mim_round_trip(py, str(work), osp.join(checkout, 'mmsss'),
                    data_root=synthetic_voc_root)


def test_setup_env_installed_mmsss_for_real():
    """In the venv made by tools/setup_env.sh, mmsss imports from / and its
    installed metadata matches its version."""
    venv = osp.join(ROOT, '.venv')
    if osp.realpath(sys.prefix) != osp.realpath(venv):
        pytest.skip('not running in the venv made by tools/setup_env.sh')
    # mmsss found and its version.py read without importing the package
    # (seconds of torch/mmseg imports)
    out = _run([
        sys.executable, '-c',
        'import importlib.metadata as md, importlib.util as u, os, runpy; '
        "f = u.find_spec('mmsss').origin; v = runpy.run_path(os.path.join("
        "os.path.dirname(f), 'version.py'))['__version__']; "
        "print(md.version('mmsss'), v, os.path.realpath(f))"
    ], '/', _env()).strip().splitlines()[-1].split()
    assert out[0] == out[1]
    assert out[2] == osp.join(osp.realpath(ROOT), 'mmsss', '__init__.py')
