"""Shared pytest fixtures: tiny generated datasets in the real layouts.

- ``synthetic_voc_root``: the synthetic shapes dataset in VOC layout
  (48 train + 16 val, 64x64, seed 0), generated once per session.
- ``synthetic_voc_info``: the dict returned by ``generate_synthetic_voc``.
- ``tiny_cityscapes_root``: a few images in the real Cityscapes layout, with
  split files ``train.txt``, ``val.txt``,
  ``splits/1-2/{labeled,unlabeled}.txt`` (one column) and
  ``splits/1-2/labeled_2col.txt`` (image and label columns).
- ``_unformatted_config_text`` (session, automatic): mmengine's config
  text without its yapf layout (valid Python, seconds less per run).
- ``_memoized_config_parsing`` (session, automatic): mmengine's parse of a
  config file remembered while the file and its bases are unchanged.
"""
import copy
import hashlib
import os
import os.path as osp

import numpy as np
import pytest

SYNTHETIC_TEST_PARAMS = dict(num_train=48, num_val=16, size=64, seed=0)

# (split, city, frame) of the tiny Cityscapes set.
TINY_CITYSCAPES = [('train', 'aachen', f'aachen_{i:06d}_000019')
                   for i in range(3)] + [
                       ('train', 'bochum', f'bochum_{i:06d}_000313')
                       for i in range(3)
                   ] + [('val', 'frankfurt', f'frankfurt_{i:06d}_000294')
                        for i in range(2)]


@pytest.fixture(scope='session', autouse=True)
def _unformatted_config_text():
    """``Config.pretty_text`` lays the config text out with yapf (1-2 s of
    CPU per config on 2 cores) at every runner start, config dump and
    checkpoint meta; in this process the text stays as mmengine writes it
    before yapf (valid Python, the same config: only the line layout
    differs). The tools' subprocesses still format with yapf
    (``mmsss.utils.config.remember_config_formatting``, tested with yapf
    in ``test_utils/test_config_formatting.py``)."""
    from mmengine.config import config as config_module

    def unformatted(text, style_config=None, **kwargs):
        return text, False

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(config_module, 'FormatCode', unformatted)
        yield


def _file_stamp(path):
    """(path, sha1 of the content, and whether it reads environment
    variables ``{{$VAR}}``)."""
    with open(path, 'rb') as f:
        content = f.read()
    return path, hashlib.sha1(content).hexdigest(), b'{{$' in content


@pytest.fixture(scope='session', autouse=True)
def _memoized_config_parsing():
    """``Config.fromfile`` parses a config and again every base it names,
    and the suite parses the ~230 method configs several times (builds,
    aliases, snapshots, recipe tables): mmengine's ``Config._file2dict``
    result is remembered per file and arguments, used while the file and
    every file its parse read have the same content, and handed out as a
    deep copy. A parse that reads environment variables is not kept."""
    from mmengine.config import Config
    parse = Config._file2dict  # the plain function of the staticmethod
    parsed = {}  # key -> (stamps of the files read, result)
    reading = []  # stamps of the parses in progress, innermost last

    def memoized_file2dict(filename, use_predefined_variables=True,
                           use_environment_variables=True,
                           lazy_import=None):
        path = osp.abspath(osp.expanduser(str(filename)))
        key = (path, use_predefined_variables, use_environment_variables,
               lazy_import)
        if key in parsed and osp.isfile(path):
            stamps, result = parsed[key]
            if all(osp.isfile(s[0]) and _file_stamp(s[0]) == s
                   for s in stamps):
                for outer in reading:
                    outer.update(stamps)
                return copy.deepcopy(result)
        stamps = set()
        reading.append(stamps)
        try:
            result = parse(filename, use_predefined_variables,
                           use_environment_variables, lazy_import)
        finally:
            reading.pop()
        stamps.add(_file_stamp(path))
        for outer in reading:
            outer.update(stamps)
        if not any(s[2] for s in stamps):
            parsed[key] = (frozenset(stamps), copy.deepcopy(result))
        return result

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Config, '_file2dict',
                      staticmethod(memoized_file2dict))
        yield


@pytest.fixture(scope='session')
def synthetic_voc_info(tmp_path_factory):
    from mmsss.datasets.synthetic import generate_synthetic_voc
    root = tmp_path_factory.mktemp('synthetic_voc') / 'data'
    return generate_synthetic_voc(str(root), **SYNTHETIC_TEST_PARAMS)


@pytest.fixture(scope='session')
def synthetic_voc_root(synthetic_voc_info):
    return synthetic_voc_info['root']


def _write_lines(path, lines):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.writelines(f'{ln}\n' for ln in lines)


@pytest.fixture(scope='session')
def tiny_cityscapes_root(tmp_path_factory):
    from PIL import Image
    root = str(tmp_path_factory.mktemp('cityscapes'))
    rng = np.random.default_rng(0)
    h, w = 32, 64
    rows = {'train': [], 'val': []}
    for split, city, frame in TINY_CITYSCAPES:
        img_rel = f'leftImg8bit/{split}/{city}/{frame}_leftImg8bit.png'
        lab_rel = f'gtFine/{split}/{city}/{frame}_gtFine_labelTrainIds.png'
        img = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        lab = rng.integers(0, 19, size=(h, w), dtype=np.uint8)
        lab[:2] = 255
        for rel, arr in ((img_rel, img), (lab_rel, lab)):
            os.makedirs(osp.join(root, osp.dirname(rel)), exist_ok=True)
            Image.fromarray(arr).save(osp.join(root, rel))
        rows[split].append((img_rel, lab_rel))
    train = rows['train']
    _write_lines(osp.join(root, 'train.txt'), [r[0] for r in train])
    _write_lines(osp.join(root, 'val.txt'), [r[0] for r in rows['val']])
    _write_lines(
        osp.join(root, 'splits/1-2/labeled.txt'), [r[0] for r in train[::2]])
    _write_lines(
        osp.join(root, 'splits/1-2/unlabeled.txt'),
        [r[0] for r in train[1::2]])
    _write_lines(
        osp.join(root, 'splits/1-2/labeled_2col.txt'),
        [f'{a} {b}' for a, b in train[::2]])
    return root


@pytest.fixture
def mmseg_scope_one_thread():
    """mmseg default scope with mmsss registered, torch seeded with 0 and
    one intra-op thread for the test (restored afterwards)."""
    import torch
    from mmengine.registry import init_default_scope

    import mmsss  # noqa: F401
    init_default_scope('mmseg')
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
