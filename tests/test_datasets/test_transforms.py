# Copyright (c) mmsss contributors. All rights reserved.
"""Tests of mmsss.datasets.transforms (synthetic images, no dataset needed)."""
import copy
import random

import cv2
import mmcv
import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from PIL import Image, ImageEnhance, ImageOps
from scipy import ndimage

from mmseg.registry import TRANSFORMS
from mmseg.structures import SegDataSample
from mmsss.datasets.transforms import (STRONG_INTENSITY_OPS,
                                       LoadUnlabeledAnnotations, MultiBranch,
                                       PackSemiSegInputs, StrongIntensityAug,
                                       apply_intensity_op)

BRANCHES = ['sup', 'unsup_weak', 'unsup_strong']


@pytest.fixture(autouse=True)
def _mmseg_scope():
    # Real runs set default_scope='mmseg'; mmcv's RandomResize builds its
    # inner Resize through the scope (mmseg's Resize warps all seg_fields).
    init_default_scope('mmseg')


def _rand_img(h=17, w=23, seed=0):
    return np.random.default_rng(seed).integers(
        0, 256, (h, w, 3), dtype=np.uint8)


def _smooth_img(h=32, w=40, seed=0):
    return cv2.GaussianBlur(_rand_img(h, w, seed), (0, 0), 2)


def _write_png(path, arr):
    assert cv2.imwrite(str(path), arr)
    return str(path)


def _to_pil(img):
    return Image.fromarray(np.ascontiguousarray(img[..., ::-1]))


def _from_pil(pil_img):
    return np.asarray(pil_img)[..., ::-1]


def _maxdiff(a, b):
    return int(np.abs(a.astype(np.int64) - b.astype(np.int64)).max())


# --------------------------------------------------------------------------
# LoadUnlabeledAnnotations
# --------------------------------------------------------------------------
def test_load_unlabeled_placeholder_only():
    results = dict(img=_rand_img(7, 9), seg_map_path=None, seg_fields=[])
    out = LoadUnlabeledAnnotations()(results)
    gt = out['gt_seg_map']
    assert gt.dtype == np.uint8 and gt.shape == (7, 9)
    assert (gt == 255).all()
    assert out['seg_fields'] == ['gt_seg_map']
    assert 'gt_seg_map_analysis' not in out

    # seg_fields created when missing; custom ignore value honoured
    out = LoadUnlabeledAnnotations(ignore_index=0)(dict(img=_rand_img(3, 4)))
    assert (out['gt_seg_map'] == 0).all() and out['seg_fields'] == [
        'gt_seg_map'
    ]


def test_load_unlabeled_analysis_gt(tmp_path):
    rng = np.random.default_rng(1)
    label = rng.integers(0, 6, (7, 9)).astype(np.uint8)
    label[0, :3] = 255
    path = _write_png(tmp_path / 'a.png', label)
    results = dict(
        img=_rand_img(7, 9),
        seg_map_path=path,
        reduce_zero_label=False,
        seg_fields=[])
    out = LoadUnlabeledAnnotations()(results)
    assert (out['gt_seg_map'] == 255).all()
    np.testing.assert_array_equal(out['gt_seg_map_analysis'], label)
    assert out['gt_seg_map_analysis'].dtype == np.uint8
    assert out['seg_fields'] == ['gt_seg_map', 'gt_seg_map_analysis']

    # label_map (swap 1 <-> 2, 3 -> 0) against an independent lookup table
    label_map = {1: 2, 2: 1, 3: 0}
    out = LoadUnlabeledAnnotations()(
        dict(img=_rand_img(7, 9), seg_map_path=path, label_map=label_map))
    lut = np.arange(256)
    for k, v in label_map.items():
        lut[k] = v
    np.testing.assert_array_equal(out['gt_seg_map_analysis'], lut[label])

    # reduce_zero_label: 0 -> 255, k -> k - 1, 255 stays 255
    out = LoadUnlabeledAnnotations()(
        dict(img=_rand_img(7, 9), seg_map_path=path, reduce_zero_label=True))
    ref = np.where((label == 0) | (label == 255), 255,
                   label.astype(np.int64) - 1)
    np.testing.assert_array_equal(out['gt_seg_map_analysis'], ref)

    # disabled loading
    out = LoadUnlabeledAnnotations(with_analysis_gt=False)(
        dict(img=_rand_img(7, 9), seg_map_path=path))
    assert 'gt_seg_map_analysis' not in out
    assert out['seg_fields'] == ['gt_seg_map']


def test_load_unlabeled_errors(tmp_path):
    path = _write_png(tmp_path / 'b.png', np.zeros((5, 5), np.uint8))
    with pytest.raises(ValueError, match='shape'):
        LoadUnlabeledAnnotations()(
            dict(img=_rand_img(7, 9), seg_map_path=path))
    with pytest.raises(FileNotFoundError):
        LoadUnlabeledAnnotations()(
            dict(img=_rand_img(5, 5), seg_map_path=str(tmp_path / 'no.png')))
    with pytest.raises(ValueError, match='reduce_zero_label'):
        LoadUnlabeledAnnotations(reduce_zero_label=True)(
            dict(
                img=_rand_img(5, 5), seg_map_path=path,
                reduce_zero_label=False))
    with pytest.raises(ValueError, match='LoadImageFromFile'):
        LoadUnlabeledAnnotations()(dict(seg_map_path=path))


# --------------------------------------------------------------------------
# PackSemiSegInputs
# --------------------------------------------------------------------------
def test_pack_semi_seg_inputs():
    img = _rand_img(6, 8)
    ana = np.random.default_rng(2).integers(0, 21, (6, 8)).astype(np.uint8)
    results = dict(
        img=img,
        gt_seg_map=np.full((6, 8), 255, np.uint8),
        gt_seg_map_analysis=ana,
        is_labeled=False,
        img_id='2007_000033',
        sample_idx=3,
        img_shape=(6, 8),
        ori_shape=(6, 8),
        flip=False)
    packed = PackSemiSegInputs()(results)
    assert packed['inputs'].shape == (3, 6, 8)
    assert torch.equal(packed['inputs'],
                       torch.from_numpy(img.transpose(2, 0, 1).copy()))
    ds = packed['data_samples']
    assert isinstance(ds, SegDataSample)
    assert ds.gt_sem_seg.data.shape == (1, 6, 8)
    assert (ds.gt_sem_seg.data == 255).all()
    a = ds.gt_sem_seg_analysis.data
    assert a.shape == (1, 6, 8) and a.dtype == torch.int64
    assert torch.equal(a[0], torch.from_numpy(ana.astype(np.int64)))
    assert ds.is_labeled is False and ds.img_id == '2007_000033'
    assert ds.sample_idx == 3 and ds.flip is False

    # no analysis GT -> no field
    results.pop('gt_seg_map_analysis')
    ds = PackSemiSegInputs()(results)['data_samples']
    assert 'gt_sem_seg_analysis' not in ds
    # non-contiguous (cropped) analysis map
    results['gt_seg_map_analysis'] = np.arange(
        12 * 16, dtype=np.uint8).reshape(12, 16)[::2, ::2]
    ds = PackSemiSegInputs()(results)['data_samples']
    assert torch.equal(
        ds.gt_sem_seg_analysis.data[0],
        torch.from_numpy(results['gt_seg_map_analysis'].astype(np.int64)))


# --------------------------------------------------------------------------
# MultiBranch
# --------------------------------------------------------------------------
def test_multi_branch_none_filling_and_copies():
    img = _rand_img(6, 8)
    results = dict(img=img.copy(), gt_seg_map=np.zeros((6, 8), np.uint8))
    mb = TRANSFORMS.build(
        dict(
            type='MultiBranch',
            branch_field=BRANCHES,
            sup=dict(type='PackSemiSegInputs')))
    out = mb(results)
    assert set(out) == {'inputs', 'data_samples'}
    assert list(out['inputs']) == BRANCHES
    assert list(out['data_samples']) == BRANCHES
    assert out['inputs']['unsup_weak'] is None
    assert out['inputs']['unsup_strong'] is None
    assert out['data_samples']['unsup_strong'] is None
    assert isinstance(out['data_samples']['sup'], SegDataSample)

    # each branch works on its own deep copy
    mb = MultiBranch(
        branch_field=BRANCHES,
        unsup_weak=[dict(type='PackSemiSegInputs')],
        unsup_strong=[
            dict(type='StrongIntensityAug', num_ops=1, ops=['invert']),
            dict(type='PackSemiSegInputs')
        ])
    out = mb(results)
    assert out['inputs']['sup'] is None
    weak, strong = out['inputs']['unsup_weak'], out['inputs']['unsup_strong']
    assert torch.equal(weak, torch.from_numpy(img.transpose(2, 0, 1).copy()))
    assert torch.equal(strong, 255 - weak)
    np.testing.assert_array_equal(results['img'], img)  # input untouched
    assert 'strong_aug_ops' not in results


def test_multi_branch_none_and_errors():
    results = dict(img=_rand_img(4, 4), gt_seg_map=np.zeros((4, 4), np.uint8))
    mb = MultiBranch(
        branch_field=BRANCHES,
        unsup_weak=[dict(type='PackSemiSegInputs')],
        unsup_strong=[lambda r: None,
                      dict(type='PackSemiSegInputs')])
    assert mb(results) is None
    with pytest.raises(ValueError, match='not in branch_field'):
        MultiBranch(branch_field=['sup'], unsup=dict(type='PackSemiSegInputs'))
    with pytest.raises(ValueError, match='packing'):
        MultiBranch(branch_field=['sup'], sup=[lambda r: r])(results)
    with pytest.raises(ValueError):
        MultiBranch(branch_field='sup', sup=dict(type='PackSemiSegInputs'))


# --------------------------------------------------------------------------
# Weak/strong alignment through mmseg geometric transforms
# --------------------------------------------------------------------------
def _coord_sample(tmp_path, h=40, w=60):
    """Image whose channels encode (y, x, label); GT = label."""
    yy, xx = np.mgrid[0:h, 0:w]
    label = ((yy // 5) * 7 + (xx // 6)) % 21
    label[(yy + xx) % 11 == 0] = 255
    label = label.astype(np.uint8)
    img = np.stack([yy, xx, label], -1).astype(np.uint8)
    path = _write_png(tmp_path / 'gt.png', label)
    img_path = _write_png(tmp_path / 'img.png', img)  # lossless, BGR
    results = dict(
        img_path=img_path,
        seg_map_path=path,
        reduce_zero_label=False,
        seg_fields=[],
        is_labeled=False,
        img_id='img',
        sample_idx=0)
    return results, label


def _unsup_pipeline(interpolation='bilinear', strong_ops=('identity', )):
    return [
        dict(type='LoadImageFromFile'),
        dict(type='LoadUnlabeledAnnotations'),
        dict(
            type='RandomResize',
            scale=(60, 40),
            ratio_range=(1.0, 2.0),
            keep_ratio=True,
            interpolation=interpolation),
        dict(type='RandomCrop', crop_size=(32, 32), cat_max_ratio=0.75),
        dict(type='RandomFlip', prob=0.5),
        dict(
            type='MultiBranch',
            branch_field=BRANCHES,
            unsup_weak=[dict(type='PackSemiSegInputs')],
            unsup_strong=[
                dict(type='StrongIntensityAug', num_ops=2, ops=strong_ops),
                dict(type='PackSemiSegInputs')
            ]),
    ]


def test_weak_strong_alignment_identity_pool(tmp_path):
    """Nearest-resized coordinate image: every view must be consistent."""
    from mmcv.transforms import Compose
    pipeline = Compose(
        [TRANSFORMS.build(t) for t in _unsup_pipeline('nearest')])
    flips = set()
    for seed in range(12):
        np.random.seed(seed)
        results, label = _coord_sample(tmp_path)
        out = pipeline(results)
        weak = out['inputs']['unsup_weak'].numpy().transpose(1, 2, 0)
        strong = out['inputs']['unsup_strong'].numpy().transpose(1, 2, 0)
        np.testing.assert_array_equal(weak, strong)
        assert out['inputs']['sup'] is None
        assert out['data_samples']['sup'] is None
        ds_w = out['data_samples']['unsup_weak']
        ds_s = out['data_samples']['unsup_strong']
        assert weak.shape[:2] == (32, 32)
        gt_w = ds_w.gt_sem_seg_analysis.data[0].numpy()
        gt_s = ds_s.gt_sem_seg_analysis.data[0].numpy()
        np.testing.assert_array_equal(gt_w, gt_s)
        # warped GT == GT at the source pixel each output pixel came from
        src_y, src_x = weak[..., 0].astype(int), weak[..., 1].astype(int)
        np.testing.assert_array_equal(gt_w, label[src_y, src_x])
        np.testing.assert_array_equal(gt_w, weak[..., 2])
        for ds in (ds_w, ds_s):
            assert (ds.gt_sem_seg.data == 255).all()
            assert ds.gt_sem_seg.data.shape == (1, 32, 32)
            assert ds.is_labeled is False and ds.img_id == 'img'
        assert ds_w.flip == ds_s.flip
        if ds_w.flip:
            # horizontal flip: source x decreases along the width
            assert (np.diff(src_x, axis=1) <= 0).all()
        else:
            assert (np.diff(src_x, axis=1) >= 0).all()
        flips.add(bool(ds_w.flip))
    assert flips == {True, False}


def test_weak_strong_alignment_bilinear_and_photometric(tmp_path):
    from mmcv.transforms import Compose
    np.random.seed(3)
    pipeline = Compose([TRANSFORMS.build(t) for t in _unsup_pipeline()])
    out = pipeline(_coord_sample(tmp_path)[0])
    weak = out['inputs']['unsup_weak']
    assert torch.equal(weak, out['inputs']['unsup_strong'])
    ana = out['data_samples']['unsup_weak'].gt_sem_seg_analysis.data
    assert ana.shape == (1, 32, 32)
    assert torch.equal(
        ana, out['data_samples']['unsup_strong'].gt_sem_seg_analysis.data)

    # photometric-only strong view: invert -> exactly 255 - weak
    pipeline = Compose([
        TRANSFORMS.build(t) for t in _unsup_pipeline(strong_ops=('invert', ))
    ])
    np.random.seed(3)
    out2 = pipeline(_coord_sample(tmp_path)[0])
    assert torch.equal(out2['inputs']['unsup_weak'], weak)  # same geometry
    # num_ops=2 with replacement: invert twice == identity
    assert torch.equal(out2['inputs']['unsup_strong'], weak)


# --------------------------------------------------------------------------
# StrongIntensityAug: individual ops
# --------------------------------------------------------------------------
MAGNITUDE_OPS = {
    name: spec[1]
    for name, spec in STRONG_INTENSITY_OPS.items() if spec[1] is not None
}


def test_pool_matches_official_code_and_paper_switch():
    """Default ranges: the official code (imas/dataset/augmentations.py,
    augment_list); ranges='paper': Table 1."""
    assert set(STRONG_INTENSITY_OPS) == {
        'identity', 'invert', 'autocontrast', 'equalize', 'blur', 'contrast',
        'sharpness', 'color', 'brightness', 'hue', 'posterize', 'solarize'
    }
    code = StrongIntensityAug().ranges
    paper = StrongIntensityAug(ranges='paper').ranges
    for name in ('contrast', 'sharpness', 'color', 'brightness'):
        assert MAGNITUDE_OPS[name] == code[name] == (0.1, 0.95)
        assert paper[name] == (0.05, 0.95)
    assert code['posterize'] == (4, 7) and paper['posterize'] == (4, 8)
    for rngs in (code, paper):
        assert rngs['blur'] == (0.1, 2.0)
        assert rngs['hue'] == (0.0, 0.5)
        assert rngs['solarize'] == (1, 255)
    with pytest.raises(ValueError, match='ranges'):
        StrongIntensityAug(ranges='table1')


def test_official_posterize_bits_distribution():
    """The code keeps 8 - max(1, ceil(4 u)) bits: uniform over 4..7."""
    aug = StrongIntensityAug(num_ops=1, ops=['posterize'])
    np.random.seed(0)
    bits = [aug.sample_ops()[0][1] for _ in range(4000)]
    values, counts = np.unique(bits, return_counts=True)
    assert list(values) == [4, 5, 6, 7]
    assert counts.min() > 900
    ref = 8 - np.maximum(1, np.ceil(4 * np.random.rand(4000)))
    assert set(ref.astype(int)) == {4, 5, 6, 7}


@pytest.mark.parametrize('name', sorted(STRONG_INTENSITY_OPS))
def test_each_op_dtype_shape_label_range(name):
    aug = StrongIntensityAug(num_ops=1, ops=[name])
    seg = np.random.default_rng(5).integers(0, 21, (17, 23)).astype(np.uint8)
    mags = []
    for i in range(200 if name in MAGNITUDE_OPS else 3):
        img = _rand_img(seed=i)
        results = dict(
            img=img.copy(), gt_seg_map=seg.copy(), seg_fields=['gt_seg_map'])
        out = aug(results)
        assert out['img'].dtype == np.uint8
        assert out['img'].shape == img.shape
        np.testing.assert_array_equal(out['gt_seg_map'], seg)
        assert out['seg_fields'] == ['gt_seg_map']
        (op, mag), = out['strong_aug_ops']
        assert op == name
        mags.append(mag)
    if name not in MAGNITUDE_OPS:
        assert all(m is None for m in mags)
        return
    low, high = MAGNITUDE_OPS[name]
    mags = np.array(mags, dtype=float)
    if name == 'hue':
        assert (np.abs(mags) <= high).all()
        assert (mags < 0).any() and (mags > 0).any()  # random sign
        mags = np.abs(mags)
    assert (mags >= low).all() and (mags <= high).all()
    if name in ('posterize', 'solarize'):
        assert (mags == np.round(mags)).all()
    if name == 'posterize':
        assert set(mags.astype(int)) == {4, 5, 6, 7}
    else:  # spread over the range, not stuck at one value
        span = high - low
        assert mags.min() < low + 0.1 * span
        assert mags.max() > high - 0.1 * span


def test_parameterless_ops_against_references():
    img = _rand_img(seed=7)
    np.testing.assert_array_equal(apply_intensity_op(img, 'identity'), img)
    np.testing.assert_array_equal(
        apply_intensity_op(img, 'invert'), 255 - img.astype(np.int64))
    assert _maxdiff(
        apply_intensity_op(img, 'autocontrast'),
        _from_pil(ImageOps.autocontrast(_to_pil(img)))) == 0
    assert _maxdiff(
        apply_intensity_op(img, 'equalize'),
        _from_pil(ImageOps.equalize(_to_pil(img)))) == 0
    # autocontrast stretches a low-contrast image to [0, 255] (the float
    # LUT is truncated, so the top may land on 254, as in PIL)
    low = (img // 4 + 100).astype(np.uint8)
    out = apply_intensity_op(low, 'autocontrast')
    assert out.min() == 0 and out.max() >= 254


@pytest.mark.parametrize('bits', [4, 5, 6, 7, 8])
def test_posterize_reference(bits):
    img = _rand_img(seed=bits)
    mask = (0xFF << (8 - bits)) & 0xFF
    np.testing.assert_array_equal(
        apply_intensity_op(img, 'posterize', bits), img & mask)


@pytest.mark.parametrize('thr', [1, 64, 128, 255])
def test_solarize_reference(thr):
    img = _rand_img(seed=thr)
    ref = np.where(img >= thr, 255 - img.astype(np.int64), img)
    out = apply_intensity_op(img, 'solarize', thr)
    np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize('factor', [0.05, 0.5, 0.95])
def test_enhance_ops_match_pil(factor):
    """Factors mean the same as PIL ImageEnhance (official iMAS code)."""
    for img in (_rand_img(seed=11), _smooth_img(seed=12)):
        pil = _to_pil(img)
        for name, enh in [('contrast', ImageEnhance.Contrast),
                          ('brightness', ImageEnhance.Brightness),
                          ('color', ImageEnhance.Color)]:
            ref = _from_pil(enh(pil).enhance(factor))
            assert _maxdiff(apply_intensity_op(img, name, factor), ref) <= 2
        # PIL leaves the 1-pixel border unsharpened; compare the interior
        ref = _from_pil(ImageEnhance.Sharpness(pil).enhance(factor))
        out = apply_intensity_op(img, 'sharpness', factor)
        assert _maxdiff(out[1:-1, 1:-1], ref[1:-1, 1:-1]) <= 1


@pytest.mark.parametrize('sigma', [0.1, 0.7, 2.0])
def test_blur_reference(sigma):
    img = _rand_img(seed=13)
    ref = np.stack([
        ndimage.gaussian_filter(
            img[..., c].astype(float), sigma, mode='mirror', truncate=3.0)
        for c in range(3)
    ], -1)
    out = apply_intensity_op(img, 'blur', sigma)
    assert np.abs(out - ref).max() <= 1.5
    if sigma >= 0.7:
        assert out.std() < img.std()


def _pil_hue(img, shift):
    """Official iMAS hue op (PIL HSV, uint8 wrap-around)."""
    h, s, v = _to_pil(img).convert('HSV').split()
    nh = (np.array(h).astype(np.int64) + int(shift * 255)) % 256
    hsv = Image.merge('HSV', (Image.fromarray(nh.astype(np.uint8), 'L'), s, v))
    return _from_pil(hsv.convert('RGB'))


@pytest.mark.parametrize('shift', [0.0, 0.1, 0.49, -0.2, -0.5])
def test_hue_reference(shift):
    img = _smooth_img(seed=14)
    out = apply_intensity_op(img, 'hue', shift)
    if shift >= 0:  # mmcv.adjust_hue only handles shift >= 0 under numpy 2
        np.testing.assert_array_equal(out, mmcv.adjust_hue(img, shift))
    ref = _pil_hue(img, shift)
    diff = np.abs(out.astype(np.int64) - ref)
    assert diff.max() <= 4 and diff.mean() < 0.5
    # pure blue (BGR) shifted by +1/3 of the circle becomes red-dominant
    blue = np.zeros((2, 2, 3), np.uint8)
    blue[..., 0] = 255
    red = apply_intensity_op(blue, 'hue', 1 / 3)
    assert (red[..., 2] > 200).all() and (red[..., 0] < 60).all()


# --------------------------------------------------------------------------
# StrongIntensityAug: sampling
# --------------------------------------------------------------------------
def test_sampling_with_replacement():
    # invert drawn twice in one image: only possible with replacement
    aug = StrongIntensityAug(num_ops=2, ops=['invert'])
    img = _rand_img()
    out = aug(dict(img=img.copy()))
    assert out['strong_aug_ops'] == [('invert', None), ('invert', None)]
    np.testing.assert_array_equal(out['img'], img)

    np.random.seed(0)
    aug = StrongIntensityAug(num_ops=2, ops=['identity', 'invert'])
    same = sum(
        len({n for n, _ in aug.sample_ops()}) == 1 for _ in range(2000))
    # with replacement P(same) = 0.5 (without it would be 0)
    assert 0.45 < same / 2000 < 0.55

    np.random.seed(1)
    aug = StrongIntensityAug(num_ops=3)
    counts = dict.fromkeys(STRONG_INTENSITY_OPS, 0)
    n_draws = 3000
    for _ in range(n_draws):
        for name, _ in aug.sample_ops():
            counts[name] += 1
    expected = 3 * n_draws / 12
    # uniform over the 12 ops: binomial std ~ 26 here, allow ~5 std
    assert all(abs(c - expected) < 130 for c in counts.values()), counts


def test_sampling_uses_global_numpy_rng():
    aug = StrongIntensityAug(num_ops=3)
    img = _rand_img(seed=21)

    def run(seed, py_seed):
        np.random.seed(seed)
        random.seed(py_seed)  # python RNG must not matter
        out = aug(dict(img=img.copy()))
        return out['strong_aug_ops'], out['img'], np.random.rand()

    ops_a, img_a, nxt_a = run(123, 0)
    ops_b, img_b, nxt_b = run(123, 999)
    assert ops_a == ops_b
    np.testing.assert_array_equal(img_a, img_b)
    assert nxt_a == nxt_b
    # the draws advance the global numpy state (no private generator)
    np.random.seed(123)
    assert np.random.rand() != nxt_a
    # other seeds give other op lists
    assert any(run(s, 0)[0] != ops_a for s in range(124, 134))


def test_prob_and_validation():
    img = _rand_img()
    out = StrongIntensityAug(prob=0.0)(dict(img=img.copy()))
    assert out['strong_aug_ops'] == []
    np.testing.assert_array_equal(out['img'], img)

    np.random.seed(0)
    aug = StrongIntensityAug(num_ops=1, prob=0.3)
    applied = sum(bool(aug.sample_ops()) for _ in range(2000))
    assert 0.25 < applied / 2000 < 0.35

    aug = StrongIntensityAug(
        num_ops=1, ops=['contrast'],
        magnitude_ranges=dict(contrast=(0.1, 0.2)))
    for _ in range(50):
        (_, m), = aug.sample_ops()
        assert 0.1 <= m <= 0.2

    with pytest.raises(ValueError, match='Unknown'):
        StrongIntensityAug(ops=['rotate'])
    with pytest.raises(ValueError):
        StrongIntensityAug(magnitude_ranges=dict(invert=(0, 1)))
    with pytest.raises(ValueError):
        StrongIntensityAug(num_ops=-1)
    with pytest.raises(ValueError, match='uint8'):
        StrongIntensityAug()(dict(img=img.astype(np.float32)))
    with pytest.raises(ValueError, match='uint8'):
        StrongIntensityAug()(dict(img=img[..., 0]))
    built = TRANSFORMS.build(dict(type='StrongIntensityAug', num_ops=2))
    assert isinstance(built, StrongIntensityAug) and built.num_ops == 2
    assert 'StrongIntensityAug(num_ops=2' in repr(built)
    assert isinstance(copy.deepcopy(built), StrongIntensityAug)


# --------------------------------------------------------------------------
# UniMatch/FixMatch pipelines: black padding before the strong views
# (LiheYoung/UniMatch dataset/semi.py:41-69, dataset/transform.py:9-22)
# --------------------------------------------------------------------------
@pytest.mark.parametrize('config', [
    'configs/unimatch/voc_732.py', 'configs/unimatch/cityscapes_1-8.py',
    'configs/fixmatch/voc_blended_1323.py'
])
def test_unimatch_pipeline_pads_black_before_the_strong_views(
        config, tmp_path):
    """The config's unlabeled pipeline on an image smaller than the crop:
    the weak view is the image, black (0) below/right of it; the label map
    is 254 on the image and 255 on the padding (the loss's non-padding
    mask); a strong view blurred with PIL (prob 1, fixed sigma) equals
    PIL's blur of the padded weak view, so the blur saw the black padding,
    as officially."""
    from mmcv.transforms import Compose
    from mmengine.config import Config
    from PIL import ImageFilter
    cfg = Config.fromfile(config)
    pipeline = copy.deepcopy(cfg.unlabeled_pipeline)
    types = [t['type'] for t in pipeline]
    assert types.index('PadToSize') < types.index('MultiBranch')
    pack = pipeline[-1]
    blur = [dict(type='PILGaussianBlur', prob=1., sigma_range=(1.5, 1.5)),
            dict(type='PackSemiSegInputs')]
    # the config's strong view holds the same ops, in PIL, after the pad
    assert [t['type'] for t in pack['unsup_strong1']][-2:] == [
        'PILGaussianBlur', 'PackSemiSegInputs']
    pack['unsup_strong1'] = blur
    pipe = Compose([TRANSFORMS.build(t) for t in pipeline])
    crop = cfg.crop_size
    img = _smooth_img(30, 40, seed=1) // 2 + 100  # bright, never black
    path = _write_png(tmp_path / 'small.png', img)
    flips = set()
    for seed in range(6):
        np.random.seed(seed)
        out = pipe(dict(img_path=path, seg_map_path=None, seg_fields=[],
                        reduce_zero_label=False, is_labeled=False,
                        img_id='small', sample_idx=0))
        weak = out['inputs']['unsup_weak'].numpy().transpose(1, 2, 0)
        strong = out['inputs']['unsup_strong1'].numpy().transpose(1, 2, 0)
        gt = out['data_samples']['unsup_weak'].gt_sem_seg.data[0].numpy()
        assert weak.shape[:2] == tuple(crop) and gt.shape == tuple(crop)
        image = gt == 254
        assert set(np.unique(gt)) == {254, 255}
        # rescaled at most 2x: the image is a corner block, the rest pad
        assert (weak[~image] == 0).all() and (weak[image] > 0).all()
        rows, cols = np.nonzero(image)
        assert rows.min() == 0 and image[:rows.max() + 1].all(axis=0).sum() \
            == cols.max() - cols.min() + 1
        flips.add(int(cols.min() > 0))
        want = _from_pil(_to_pil(weak).filter(ImageFilter.GaussianBlur(1.5)))
        np.testing.assert_array_equal(strong, want)
        # next to the padding the blur darkened the image
        edge_row = rows.max()
        assert (strong[edge_row, cols.min():cols.max() + 1].astype(int) <
                weak[edge_row, cols.min():cols.max() + 1].astype(int) -
                10).all()
    assert flips == {0, 1}  # the flip moves the padding to the left
