"""Install mmsss.

``pip install -e .`` (or ``mim install -e .``) next to mmcv-lite or mmcv
>=2.0.0rc4,<2.2.0 (extras ``[lite]`` / ``[full]``); ``tools/setup_env.sh``
installs the pinned, tested stack.
"""
import os
import os.path as osp
import platform
import shutil
import sys
import warnings

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

ROOT = osp.dirname(osp.abspath(__file__))


def get_version():
    scope = {}
    with open(osp.join(ROOT, 'mmsss', 'version.py')) as f:
        exec(compile(f.read(), 'mmsss/version.py', 'exec'), scope)
    return scope['__version__']


def parse_requirements(fname):
    """Read a requirements file, following ``-r other.txt`` includes."""
    reqs = []
    path = osp.join(ROOT, fname)
    if not osp.exists(path):
        return reqs
    with open(path) as f:
        for line in f:
            line = line.split('#')[0].strip()
            if not line:
                continue
            if line.startswith('-r '):
                reqs += parse_requirements(
                    osp.join(osp.dirname(fname), line[3:].strip()))
            else:
                reqs.append(line)
    return reqs


MIM_ITEMS = ('tools', 'configs', 'model-index.yml')


def _copy_item(src, dst):
    if osp.islink(dst) or osp.isfile(dst):
        os.remove(dst)
    elif osp.isdir(dst):
        shutil.rmtree(dst)
    if osp.isfile(src):
        shutil.copyfile(src, dst)
    else:
        shutil.copytree(
            src, dst, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))


def link_mim_items():
    """Editable installs: ``mmsss/.mim/{tools,configs,model-index.yml}`` as
    symlinks to the checkout (copies on Windows), so that ``mim train/test/run
    mmsss`` sees the live files. Wheel builds never touch the source tree
    (see :class:`BuildPyWithMim`)."""
    if 'develop' not in sys.argv and 'editable_wheel' not in sys.argv:
        return
    mim_path = osp.join(ROOT, 'mmsss', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for name in MIM_ITEMS:
        src = osp.join(ROOT, name)
        if not osp.exists(src):
            continue
        dst = osp.join(mim_path, name)
        if platform.system() != 'Windows':
            if osp.islink(dst) and os.readlink(dst) == osp.relpath(
                    src, mim_path):
                continue
            if osp.lexists(dst):
                if osp.islink(dst) or osp.isfile(dst):
                    os.remove(dst)
                else:
                    shutil.rmtree(dst)
            try:
                os.symlink(osp.relpath(src, mim_path), dst)
                continue
            except OSError:
                warnings.warn(f'could not symlink {src}; copying it')
        _copy_item(src, dst)


class BuildPyWithMim(build_py):
    """``build_py`` that also puts copies of ``tools/``, ``configs/`` and
    ``model-index.yml`` in the build's ``mmsss/.mim`` (wheels, ``pip install
    .``, ``mim install .``), as mmseg ships them, without writing to the
    source tree."""

    def run(self):
        super().run()
        if getattr(self, 'editable_mode', False):
            return
        target = osp.join(self.build_lib, 'mmsss', '.mim')
        os.makedirs(target, exist_ok=True)
        for name in MIM_ITEMS:
            src = osp.join(ROOT, name)
            if osp.exists(src):
                _copy_item(src, osp.join(target, name))


if __name__ == '__main__':
    link_mim_items()
    setup(
        name='mmsss',
        version=get_version(),
        description='Semi-supervised semantic segmentation for MMSegmentation '
        '(iMAS, DARS, three-stage self-training, ESL)',
        long_description=open(osp.join(ROOT, 'README.md')).read()
        if osp.exists(osp.join(ROOT, 'README.md')) else '',
        long_description_content_type='text/markdown',
        keywords='semi-supervised learning, semantic segmentation, OpenMMLab',
        packages=find_packages(exclude=('configs', 'configs.*', 'tools',
                                        'tools.*', 'tests', 'tests.*',
                                        'projects', 'projects.*')),
        cmdclass={'build_py': BuildPyWithMim},
        python_requires='>=3.8',
        license='Apache License 2.0',
        install_requires=parse_requirements('requirements/runtime.txt'),
        extras_require=dict(
            tests=parse_requirements('requirements/tests.txt'),
            optional=parse_requirements('requirements/optional.txt'),
            mim=parse_requirements('requirements/mim.txt'),
            lite=parse_requirements('requirements/mmcv_lite.txt'),
            full=parse_requirements('requirements/mmcv_full.txt'),
        ),
        zip_safe=False)
