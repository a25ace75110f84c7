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


def add_mim_extension():
    """Expose configs/, tools/ and model-index.yml under ``mmsss/.mim``.

    Symlinks for editable installs, copies for sdist/wheel builds, as mmseg
    does, so ``mim train mmsss configs/...`` finds them.
    """
    if 'develop' in sys.argv or 'editable_wheel' in sys.argv:
        mode = 'copy' if platform.system() == 'Windows' else 'symlink'
    elif 'sdist' in sys.argv or 'bdist_wheel' in sys.argv or \
            platform.system() == 'Windows':
        mode = 'copy'
    else:
        return
    mim_path = osp.join(ROOT, 'mmsss', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for name in ['tools', 'configs', 'model-index.yml']:
        src = osp.join(ROOT, name)
        if not osp.exists(src):
            continue
        dst = osp.join(mim_path, name)
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            try:
                os.symlink(osp.relpath(src, mim_path), dst)
                continue
            except OSError:
                warnings.warn(f'could not symlink {src}; copying it')
        if osp.isfile(src):
            shutil.copyfile(src, dst)
        else:
            shutil.copytree(src, dst)


if __name__ == '__main__':
    add_mim_extension()
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
        include_package_data=True,
        package_data={'mmsss': ['.mim/**/*']},
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
