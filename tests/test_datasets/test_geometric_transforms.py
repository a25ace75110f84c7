"""RandomRescale, RandomGaussianBlur and the DARS rotation (mmseg's
RandomRotate as the DARS pipelines configure it), against references
computed another way."""
import numpy as np
import pytest
from mmengine.registry import init_default_scope

import mmsss  # noqa: F401
from mmseg.registry import TRANSFORMS


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('mmseg')


def _results(h, w, seed=0):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    seg = rng.integers(0, 5, (h, w)).astype(np.uint8)
    return dict(img=img, gt_seg_map=seg, seg_fields=['gt_seg_map'],
                img_shape=(h, w), ori_shape=(h, w))


def test_random_rescale_is_a_factor_of_the_own_size():
    t = TRANSFORMS.build(dict(type='RandomRescale', ratio_range=(0.5, 2.0)))
    np.random.seed(0)
    for h, w in [(375, 500), (500, 333), (64, 64)]:
        for _ in range(20):
            r = t(_results(h, w))
            f = r['rescale_factor']
            assert 0.5 <= f <= 2.0
            assert r['img'].shape[:2] == (round(h * f), round(w * f))
            assert r['gt_seg_map'].shape == r['img'].shape[:2]
            # nearest for labels: no new values
            assert set(np.unique(r['gt_seg_map'])) <= set(range(5))


def test_random_rescale_factor_distribution():
    t = TRANSFORMS.build(dict(type='RandomRescale', ratio_range=(0.5, 2.0)))
    np.random.seed(1)
    fs = np.array([t(_results(8, 8))['rescale_factor'] for _ in range(2000)])
    assert fs.min() >= 0.5 and fs.max() <= 2.0
    assert abs(fs.mean() - 1.25) < 0.03  # uniform on [0.5, 2.0]


def test_random_rescale_grid():
    """step=0.1 on [0.5, 1.5]: the 11 factors of the three-stage code."""
    t = TRANSFORMS.build(
        dict(type='RandomRescale', ratio_range=(0.5, 1.5), step=0.1))
    np.random.seed(2)
    fs = [round(t(_results(10, 10))['rescale_factor'], 6)
          for _ in range(1100)]
    values, counts = np.unique(fs, return_counts=True)
    np.testing.assert_allclose(values, np.round(np.arange(5, 16) / 10, 6))
    assert counts.min() > 60  # ~100 each
    with pytest.raises(ValueError, match='step'):
        TRANSFORMS.build(
            dict(type='RandomRescale', ratio_range=(0.5, 1.5), step=0.3))


def test_random_rescale_rejects_bad_range():
    with pytest.raises(ValueError, match='ratio_range'):
        TRANSFORMS.build(dict(type='RandomRescale', ratio_range=(0, 2)))


def _gaussian_reference(img, k, sigma):
    """Separable Gaussian, reflect-101 border (OpenCV's default), float.
    sigma <= 0 and k <= 7: OpenCV's fixed binomial kernels."""
    binomial = {1: [1], 3: [1, 2, 1], 5: [1, 4, 6, 4, 1],
                7: [1, 6, 15, 20, 15, 6, 1]}
    if sigma <= 0 and k in binomial:
        g = np.array(binomial[k], np.float64)
    else:
        if sigma <= 0:
            sigma = 0.3 * ((k - 1) * 0.5 - 1) + 0.8
        x = np.arange(k) - (k - 1) / 2
        g = np.exp(-x**2 / (2 * sigma**2))
    g = g / g.sum()
    r = k // 2
    pad = np.pad(img.astype(np.float64), ((r, r), (r, r), (0, 0)),
                 mode='reflect')  # numpy 'reflect' == OpenCV REFLECT_101
    h, w = img.shape[:2]
    tmp = sum(g[i] * pad[:, i:i + w] for i in range(k))
    return sum(g[i] * tmp[i:i + h] for i in range(k))


@pytest.mark.parametrize('k,sigma', [(5, 0.0), (3, 0.0), (5, 2.0)])
def test_gaussian_blur_matches_reference(k, sigma):
    t = TRANSFORMS.build(
        dict(type='RandomGaussianBlur', prob=1.0, kernel_size=k,
             sigma=sigma))
    r = _results(17, 23)
    seg = r['gt_seg_map'].copy()
    ref = _gaussian_reference(r['img'], k, sigma)
    out = t(r)
    assert out['img'].dtype == np.uint8
    assert np.abs(out['img'].astype(np.float64) - ref).max() <= 1.0
    np.testing.assert_array_equal(out['gt_seg_map'], seg)


def test_gaussian_blur_probability():
    t = TRANSFORMS.build(dict(type='RandomGaussianBlur', prob=0.5))
    np.random.seed(0)
    changed = 0
    for i in range(400):
        r = _results(8, 8, seed=i)
        before = r['img'].copy()
        changed += int(not np.array_equal(t(r)['img'], before))
    assert 160 <= changed <= 240
    with pytest.raises(ValueError, match='odd'):
        TRANSFORMS.build(dict(type='RandomGaussianBlur', kernel_size=4))


def test_dars_rotation_pads_label_255_and_keeps_alignment():
    """mmseg's RandomRotate as the DARS configs set it: image and label turn
    together (blocks keep their label), the uncovered corners get the mean
    colour and label 255."""
    from mmengine.config import Config
    cfg = Config.fromfile('configs/_base_/datasets/self_training_voc.py')
    rot = [t for t in cfg.geometric if t['type'] == 'RandomRotate']
    assert len(rot) == 1
    rot = dict(rot[0], prob=1.0)
    t = TRANSFORMS.build(rot)
    h = w = 60
    seg = np.zeros((h, w), np.uint8)
    for i in range(3):
        for j in range(3):
            seg[i * 20:(i + 1) * 20, j * 20:(j + 1) * 20] = i * 3 + j
    img = np.repeat((seg * 25)[..., None], 3, axis=2).astype(np.uint8)
    np.random.seed(3)
    padded = 0
    for _ in range(10):
        r = t(dict(img=img.copy(), gt_seg_map=seg.copy(),
                   seg_fields=['gt_seg_map'], img_shape=(h, w)))
        out_img, out_seg = r['img'], r['gt_seg_map']
        pad = out_seg == 255
        padded += int(pad.any())  # all but tiny angles uncover corners
        # padded pixels carry the configured mean colour (BGR, rounded)
        mean = np.round(np.array(rot['pad_val'])).astype(np.int64)
        deep = pad.copy()  # padded pixels whose neighbours are padded too
        deep[1:-1, 1:-1] &= (pad[:-2, 1:-1] & pad[2:, 1:-1] & pad[1:-1, :-2]
                             & pad[1:-1, 2:])
        deep[[0, -1], :] = False
        deep[:, [0, -1]] = False
        if deep.any():
            diff = np.abs(out_img[deep].astype(np.int64) - mean[None])
            assert diff.max() <= 1
        # inside blocks (away from edges), image value == 25 * label
        inner = ~pad
        for _ in range(2):  # erode: drop pixels next to a label change
            nb = np.ones_like(inner)
            nb[1:-1, 1:-1] = (
                (out_seg[1:-1, 1:-1] == out_seg[:-2, 1:-1])
                & (out_seg[1:-1, 1:-1] == out_seg[2:, 1:-1])
                & (out_seg[1:-1, 1:-1] == out_seg[1:-1, :-2])
                & (out_seg[1:-1, 1:-1] == out_seg[1:-1, 2:]))
            inner &= nb
            inner[[0, -1], :] = False
            inner[:, [0, -1]] = False
        assert inner.sum() > 1000
        np.testing.assert_array_equal(
            out_img[inner][:, 0].astype(np.int64),
            out_seg[inner].astype(np.int64) * 25)
    assert padded >= 7


@pytest.mark.parametrize('config,ratio_range,step', [
    ('configs/imas/voc_1-8.py', (0.5, 2.0), None),
    ('configs/imas/voc_blended_1323_r50.py', (0.5, 2.0), None),
    ('configs/esl/voc_92.py', (0.5, 2.0), None),
    ('configs/mean_teacher/voc_1-8.py', (0.5, 2.0), None),
    ('configs/three_stage/voc_aug_1-8.py', (0.5, 1.5), 0.1),
    ('configs/dars/voc_1464_deeplabv2_r101_321.py', (0.5, 1.5), None),
])
def test_voc_configs_rescale_by_own_size(config, ratio_range, step):
    """Every training pipeline of the VOC configs rescales by a factor of
    the image's own size, with the official range, and has no RandomResize
    (which scales relative to a fixed target)."""
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    found = []

    def walk(obj):
        if isinstance(obj, dict):
            if obj.get('type') in ('RandomRescale', 'RandomResize'):
                found.append(obj)
            for v in obj.values():
                walk(v)
        elif isinstance(obj, (list, tuple)):
            for v in obj:
                walk(v)

    walk(cfg.train_dataloader.to_dict())
    walk(cfg.train_cfg.to_dict())  # DARS: per-round dataloaders
    assert found, config
    for t in found:
        assert t['type'] == 'RandomRescale', (config, t)
        assert tuple(t['ratio_range']) == ratio_range, (config, t)
        assert t.get('step') == step, (config, t)


def test_round_ratio_range_reaches_random_rescale():
    """SelfTrainingRoundsLoop's per-round scale range (DARS VOC round 2:
    [0.5, 2.0]) is applied to RandomRescale too."""
    from mmsss.engine.runner import set_ratio_range
    pipeline = [dict(type='RandomRescale', ratio_range=(0.5, 1.5)),
                dict(type='RandomCrop', crop_size=(8, 8))]
    assert set_ratio_range(pipeline, (0.5, 2.0)) == 1
    assert pipeline[0]['ratio_range'] == (0.5, 2.0)
