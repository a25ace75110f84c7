"""tools/misc/three_stage_splits.py: the labelled sets of the official
three-stage code (first n of its shipped permutation, in its loaders' sample
order), on the real permutations of ../shared/splits/three_stage/."""
import importlib.util
import os.path as osp
import random

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SHARED = osp.join(osp.dirname(ROOT), 'shared', 'splits')
PERM_DIR = osp.join(SHARED, 'three_stage')
CITIES = ('aachen', 'bochum', 'bremen', 'cologne', 'darmstadt', 'dusseldorf',
          'erfurt', 'hamburg', 'hanover', 'jena', 'krefeld',
          'monchengladbach', 'strasbourg', 'stuttgart', 'tubingen', 'ulm',
          'weimar', 'zurich')


def _tool():
    spec = importlib.util.spec_from_file_location(
        'three_stage_splits', osp.join(ROOT,
                                       'tools/misc/three_stage_splits.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _real(name):
    path = osp.join(PERM_DIR, name)
    if not osp.isfile(path):
        pytest.skip(f'{path} not available')
    return path


def _lines(path):
    with open(path) as f:
        return [ln.strip() for ln in f if ln.strip()]


def test_cityscapes_split_from_the_real_permutation(tmp_path):
    perm_path = _real('cityscapes_split_0.txt')
    perm = [int(x) for x in _lines(perm_path)]
    assert len(perm) == 2975
    # 2975 training paths in a shuffled order, as `find` lists them
    rng = random.Random(0)
    frames = [(CITIES[i % len(CITIES)], i) for i in range(2975)]
    paths = [f'leftImg8bit/train/{c}/{c}_{i:06d}_000019_leftImg8bit.png'
             for c, i in frames]
    rng.shuffle(paths)
    samples = tmp_path / 'train.txt'
    samples.write_text('\n'.join(paths) + '\n')
    _tool().main([perm_path, str(samples), str(tmp_path / 'out'),
                  '--dataset', 'cityscapes', '--num-labeled', '100', '1488'])
    # the official order: sorted "train/<city>/<frame>" names
    # (cityscapes_dataset.py:103-119), indexed by the permutation
    official = sorted(frames)  # (city, frame number) sorts the same way
    for n in (100, 1488):
        labeled = _lines(tmp_path / 'out' / str(n) / 'labeled.txt')
        unlabeled = _lines(tmp_path / 'out' / str(n) / 'unlabeled.txt')
        assert len(labeled) == n and len(unlabeled) == 2975 - n
        assert sorted(labeled + unlabeled) == sorted(paths)
        for k in (0, 1, n - 1):
            city, i = official[perm[k]]
            assert labeled[k] == (f'leftImg8bit/train/{city}/'
                                  f'{city}_{i:06d}_000019_leftImg8bit.png')
        city, i = official[perm[n]]
        assert unlabeled[0].endswith(f'{city}_{i:06d}_000019_leftImg8bit.png')


def test_voc_split_from_the_real_permutation(tmp_path):
    perm_path = _real('pascal_aug_split_0.txt')
    perm = [int(x) for x in _lines(perm_path)]
    assert len(perm) == 10582
    # ids in the list's order (any 10,582 distinct ids; the real list is
    # the official train_aug.txt)
    ids = [f'20{7 + i % 5:02d}_{i:06d}' for i in range(10582)]
    samples = tmp_path / 'train_aug.txt'
    samples.write_text(''.join(f'JPEGImages/{x}.jpg SegmentationClass/{x}.png'
                               '\n' for x in ids))
    _tool().main([perm_path, str(samples), str(tmp_path / 'out'),
                  '--dataset', 'voc', '--num-labeled', '212'])
    labeled = _lines(tmp_path / 'out' / '212' / 'labeled.txt')
    unlabeled = _lines(tmp_path / 'out' / '212' / 'unlabeled.txt')
    # datapipe/pascal_voc_dataset.py:95,134 + datasets.py:52: the list's
    # order permuted, the first 212 labelled
    assert labeled == [ids[i] for i in perm[:212]]
    assert unlabeled == [ids[i] for i in perm[212:]]
    assert labeled[0] == ids[3458]  # the file's first index


def test_bad_inputs(tmp_path):
    tool = _tool()
    bad = tmp_path / 'perm.txt'
    bad.write_text('0\n2\n2\n')
    with pytest.raises(ValueError, match='not a permutation'):
        tool.read_permutation(str(bad))
    with pytest.raises(ValueError, match='3 indices'):
        tool.three_stage_split([0, 1, 2], ['a', 'b'], 1)
    with pytest.raises(ValueError, match='training image path'):
        tool.official_order(['leftImg8bit/val/x/x_leftImg8bit.png'],
                            'cityscapes')
