import importlib.util
import json
import math
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from PIL import Image

from mmsss.datasets.synthetic import (SYNTHETIC_CLASSES, SYNTHETIC_PALETTE,
                                      SYNTHETIC_SPLITS, generate_synthetic_voc,
                                      voc_colormap)

TOOL = osp.join(
    osp.dirname(__file__), '..', '..', 'tools', 'misc',
    'make_synthetic_voc.py')
SMALL = dict(num_train=16, num_val=4, size=32)


def _read_ids(path):
    with open(path) as f:
        return [ln.strip() for ln in f if ln.strip()]


def _tree(root):
    """relative path -> bytes for every file under root."""
    out = {}
    for d, _, files in os.walk(root):
        for fn in files:
            p = osp.join(d, fn)
            with open(p, 'rb') as f:
                out[osp.relpath(p, root)] = f.read()
    return out


def test_layout_and_labels(synthetic_voc_root, synthetic_voc_info):
    root = synthetic_voc_root
    iss = osp.join(root, 'ImageSets', 'Segmentation')
    train, val = _read_ids(osp.join(iss, 'train.txt')), _read_ids(
        osp.join(iss, 'val.txt'))
    assert len(train) == 48 and len(val) == 16
    assert not set(train) & set(val)
    assert _read_ids(osp.join(iss, 'trainval.txt')) == train + val
    for img_id in train + val:
        img = Image.open(osp.join(root, 'JPEGImages', img_id + '.jpg'))
        assert img.format == 'JPEG' and img.mode == 'RGB'
        assert img.size == (64, 64)
        lab = Image.open(osp.join(root, 'SegmentationClass', img_id + '.png'))
        assert lab.mode == 'P' and lab.size == (64, 64)
        vals = set(np.unique(np.asarray(lab)).tolist())
        assert vals <= set(range(len(SYNTHETIC_CLASSES))) | {255}
        assert 255 in vals  # boundary band like VOC
    # palette: VOC colours, 255 = VOC ignore colour
    pal = np.asarray(lab.getpalette()[:768]).reshape(-1, 3)
    assert pal[:len(SYNTHETIC_CLASSES)].tolist() == SYNTHETIC_PALETTE
    assert pal[255].tolist() == [224, 224, 192]
    assert SYNTHETIC_PALETTE[:3] == [[0, 0, 0], [128, 0, 0], [0, 128, 0]]
    assert len(voc_colormap()) == 256
    assert synthetic_voc_info['classes'] == SYNTHETIC_CLASSES


def test_splits(synthetic_voc_root, synthetic_voc_info):
    train = _read_ids(
        osp.join(synthetic_voc_root, 'ImageSets', 'Segmentation',
                 'train.txt'))
    assert set(synthetic_voc_info['splits']) == set(SYNTHETIC_SPLITS)
    for name, denom in SYNTHETIC_SPLITS.items():
        files = synthetic_voc_info['splits'][name]
        lab, unl = _read_ids(files['labeled']), _read_ids(files['unlabeled'])
        if denom == 1:
            assert lab == train and unl == train
            continue
        assert len(lab) == math.ceil(len(train) / denom)
        assert synthetic_voc_info['num_labeled'][name] == len(lab)
        assert not set(lab) & set(unl)
        assert sorted(lab + unl) == sorted(train)
        assert lab == [i for i in train if i in set(lab)]  # order kept


def test_long_tailed_and_not_colour_separable(synthetic_voc_root,
                                              synthetic_voc_info):
    root = synthetic_voc_root
    train = _read_ids(
        osp.join(root, 'ImageSets', 'Segmentation', 'train.txt'))
    counts = np.zeros(256, np.int64)
    pix_rgb, pix_cls = [], []
    for img_id in train:
        lab = np.asarray(
            Image.open(osp.join(root, 'SegmentationClass', img_id + '.png')))
        img = np.asarray(
            Image.open(osp.join(root, 'JPEGImages', img_id + '.jpg')))
        counts += np.bincount(lab.ravel(), minlength=256)
        fg = (lab > 0) & (lab < 255)
        pix_rgb.append(img[fg].astype(np.float64))
        pix_cls.append(lab[fg])
    n = len(SYNTHETIC_CLASSES)
    # independent count agrees with the generator's bookkeeping
    assert counts[:n].tolist() == synthetic_voc_info['train_class_pixels']
    fg = counts[1:n]
    assert (fg > 0).all(), 'every class must appear'
    # mildly long-tailed: the head class (circle, drawn most often and
    # with the largest area) has clearly more pixels than the tail
    assert int(np.argmax(fg)) + 1 == SYNTHETIC_CLASSES.index('circle')
    assert fg.max() / fg.min() > 1.5
    assert counts[0] > fg.sum()  # background dominates like VOC

    # colour helps but does not decide: classifying each foreground pixel by
    # the nearest class hue (computed here with OpenCV's HSV, not the
    # generator's code) beats the majority class yet stays far from perfect
    rgb, cls = np.concatenate(pix_rgb), np.concatenate(pix_cls)
    hsv = cv2.cvtColor(
        np.clip(rgb, 0, 255).astype(np.uint8)[None], cv2.COLOR_RGB2HSV)[0]
    hue = hsv[:, 0].astype(np.float64) * 2
    class_hues = np.arange(n - 1) * 360.0 / (n - 1)
    dist = np.abs((hue[:, None] - class_hues[None] + 180) % 360 - 180)
    acc = ((dist.argmin(1) + 1) == cls).mean()
    majority = np.bincount(cls).max() / len(cls)
    assert majority + 0.1 < acc < 0.85


def test_deterministic(tmp_path):
    a = generate_synthetic_voc(str(tmp_path / 'a'), seed=3, **SMALL)
    b = generate_synthetic_voc(str(tmp_path / 'b'), seed=3, **SMALL)
    c = generate_synthetic_voc(str(tmp_path / 'c'), seed=4, **SMALL)
    assert a['generated'] and b['generated'] and c['generated']
    ta, tb, tc = _tree(a['root']), _tree(b['root']), _tree(c['root'])
    assert len(ta) > 2 * (16 + 4)
    assert ta == tb
    assert set(ta) == set(tc)
    diff = [k for k in ta if k.startswith('JPEGImages') and ta[k] != tc[k]]
    assert len(diff) == 16 + 4
    assert any(ta[k] != tc[k] for k in ta if k.startswith('Segmentation'))
    # image i depends only on (seed, split, i): more images keep the first
    d = generate_synthetic_voc(
        str(tmp_path / 'd'), seed=3, num_train=17, num_val=4, size=32)
    td = _tree(d['root'])
    for k in ta:
        if k.startswith(('JPEGImages', 'SegmentationClass')):
            assert td[k] == ta[k], k


def test_idempotent_and_atomic(tmp_path):
    root = str(tmp_path / 'syn')
    info = generate_synthetic_voc(root, seed=1, **SMALL)
    assert info['generated']
    with open(osp.join(root, '.complete')) as f:
        marker = json.load(f)
    assert marker['seed'] == 1 and marker['size'] == 32
    # no temp folders left next to the root
    assert os.listdir(tmp_path) == ['syn']
    probe = osp.join(root, 'JPEGImages', 'train_000000.jpg')
    os.utime(probe, (1, 1))
    again = generate_synthetic_voc(root, seed=1, **SMALL)
    assert not again['generated']
    assert os.stat(probe).st_mtime == 1  # untouched
    assert again['train_class_pixels'] == info['train_class_pixels']
    # other parameters: refuse unless overwrite
    with pytest.raises(FileExistsError, match='syn'):
        generate_synthetic_voc(root, seed=2, **SMALL)
    new = generate_synthetic_voc(root, seed=2, overwrite=True, **SMALL)
    assert new['generated'] and new['seed'] == 2
    assert os.stat(probe).st_mtime != 1
    assert sorted(os.listdir(tmp_path)) == ['syn']
    # non-empty folder without marker
    other = tmp_path / 'other'
    other.mkdir()
    (other / 'x.txt').write_text('x')
    with pytest.raises(FileExistsError, match='no .complete marker'):
        generate_synthetic_voc(str(other), **SMALL)
    # an existing empty folder is fine
    empty = tmp_path / 'empty'
    empty.mkdir()
    assert generate_synthetic_voc(str(empty), **SMALL)['generated']


@pytest.mark.parametrize('kwargs', [
    dict(num_train=8),
    dict(num_val=0),
    dict(size=8),
])
def test_bad_arguments(tmp_path, kwargs):
    with pytest.raises(ValueError):
        generate_synthetic_voc(str(tmp_path / 'x'), **{**SMALL, **kwargs})
    assert not osp.exists(tmp_path / 'x')


def test_cli(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location('make_synthetic_voc', TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    root = str(tmp_path / 'cli')
    argv = [root, '--num-train', '16', '--num-val', '2', '--size', '24']
    assert tool.main(argv) == 0
    assert 'generated' in capsys.readouterr().out
    assert len(os.listdir(osp.join(root, 'JPEGImages'))) == 18
    assert tool.main(argv) == 0
    assert 'already present' in capsys.readouterr().out
