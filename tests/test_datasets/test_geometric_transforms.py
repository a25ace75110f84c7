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


# UniMatch/FixMatch: PIL, integer long side (dataset/transform.py:43-56);
# the others keep OpenCV and a continuous factor
UNIMATCH_RESCALE = dict(draw='long_side', backend='pillow')


@pytest.mark.parametrize('config,ratio_range,step,kind', [
    ('configs/imas/voc_1-8.py', (0.5, 2.0), None, {}),
    ('configs/imas/voc_blended_1323_r50.py', (0.5, 2.0), None, {}),
    ('configs/esl/voc_92.py', (0.5, 2.0), None, {}),
    ('configs/mean_teacher/voc_1-8.py', (0.5, 2.0), None, {}),
    ('configs/three_stage/voc_aug_1-8.py', (0.5, 1.5), 0.1, {}),
    ('configs/dars/voc_1464_deeplabv2_r101_321.py', (0.5, 1.5), None, {}),
    ('configs/unimatch/voc_732.py', (0.5, 2.0), None, UNIMATCH_RESCALE),
    ('configs/unimatch/voc_blended_1323.py', (0.5, 2.0), None,
     UNIMATCH_RESCALE),
    ('configs/fixmatch/voc_92.py', (0.5, 2.0), None, UNIMATCH_RESCALE),
])
def test_voc_configs_rescale_by_own_size(config, ratio_range, step, kind):
    """Every training pipeline of the VOC configs rescales by a factor of
    the image's own size, with the official range, and has no RandomResize
    (which scales relative to a fixed target); only UniMatch/FixMatch
    resize with PIL to an integer long side."""
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
        assert t.get('draw', 'factor') == kind.get('draw', 'factor'), config
        assert t.get('backend', 'cv2') == kind.get('backend', 'cv2'), config


def test_round_ratio_range_reaches_random_rescale():
    """SelfTrainingRoundsLoop's per-round scale range (DARS VOC round 2:
    [0.5, 2.0]) is applied to RandomRescale too."""
    from mmsss.engine.runner import set_ratio_range
    pipeline = [dict(type='RandomRescale', ratio_range=(0.5, 1.5)),
                dict(type='RandomCrop', crop_size=(8, 8))]
    assert set_ratio_range(pipeline, (0.5, 2.0)) == 1
    assert pipeline[0]['ratio_range'] == (0.5, 2.0)


# --------------------------------------------------------------------------
# UniMatch's rescale (dataset/transform.py:43-56) and padding (:9-22)
def test_long_side_draw_is_the_official_integer_range():
    """randint(int(0.5 L), int(2.0 L)) with both ends, short side
    int(S L' / L + 0.5), the long side where it was (width if square)."""
    t = TRANSFORMS.build(
        dict(type='RandomRescale', ratio_range=(0.5, 2.0), draw='long_side'))
    np.random.seed(0)
    for h, w in [(5, 7), (7, 5), (6, 6)]:
        long_sides = set()
        for _ in range(300):
            r = t(_results(h, w))
            oh, ow = r['img'].shape[:2]
            long_side, short = (oh, ow) if h > w else (ow, oh)
            assert short == int(min(h, w) * long_side / max(h, w) + 0.5)
            assert r['rescale_factor'] == long_side / max(h, w)
            assert r['gt_seg_map'].shape == (oh, ow)
            long_sides.add(long_side)
        L = max(h, w)
        assert long_sides == set(range(int(0.5 * L), int(2.0 * L) + 1))
    with pytest.raises(ValueError, match='draw'):
        TRANSFORMS.build(dict(type='RandomRescale', draw='short_side'))
    with pytest.raises(ValueError, match='step'):
        TRANSFORMS.build(
            dict(type='RandomRescale', step=0.5, draw='long_side'))


def test_pillow_backend_is_pil_resize_and_antialiases():
    """backend='pillow' equals PIL's resize (bilinear image, nearest
    labels), which low-pass filters on downscaling: one white column in
    four, shrunk 4x, averages to a quarter grey with PIL; OpenCV's bilinear
    reads the two black columns between them and stays black."""
    from PIL import Image
    res = _results(48, 64, seed=3)
    pil = TRANSFORMS.build(
        dict(type='RandomRescale', ratio_range=(0.25, 0.25),
             backend='pillow'))
    out = pil(dict(res, img=res['img'].copy(),
                   gt_seg_map=res['gt_seg_map'].copy()))
    want = np.asarray(Image.fromarray(res['img']).resize(
        (16, 12), Image.BILINEAR))
    np.testing.assert_array_equal(out['img'], want)
    want_seg = np.asarray(Image.fromarray(res['gt_seg_map']).resize(
        (16, 12), Image.NEAREST))
    np.testing.assert_array_equal(out['gt_seg_map'], want_seg)

    stripes = np.zeros((48, 64, 3), np.uint8)
    stripes[:, ::4] = 255
    grey = pil(dict(_results(48, 64), img=stripes))['img'].astype(int)
    assert np.abs(grey[:, 1:-1] - 255 / 4).max() <= 1  # away from borders
    cv = TRANSFORMS.build(dict(type='RandomRescale', ratio_range=(0.25,
                                                                 0.25)))
    assert (cv(dict(_results(48, 64), img=stripes))['img'] == 0).all()
    with pytest.raises(ValueError, match='backend'):
        TRANSFORMS.build(dict(type='RandomRescale', backend='skimage'))


def test_pad_to_size_pads_image_black_and_every_seg_field():
    res = _results(5, 7)
    res['gt_seg_map_analysis'] = np.full((5, 7), 3, np.uint8)
    res['seg_fields'].append('gt_seg_map_analysis')
    img, seg = res['img'].copy(), res['gt_seg_map'].copy()
    out = TRANSFORMS.build(dict(type='PadToSize', size=(8, 9)))(res)
    assert out['img'].shape == (8, 9, 3) and out['img_shape'] == (8, 9)
    np.testing.assert_array_equal(out['img'][:5, :7], img)
    assert (out['img'][5:] == 0).all() and (out['img'][:, 7:] == 0).all()
    for key, inside in (('gt_seg_map', seg), ('gt_seg_map_analysis', 3)):
        np.testing.assert_array_equal(out[key][:5, :7], inside)
        assert (out[key][5:] == 255).all() and (out[key][:, 7:] == 255).all()
    # sides already long enough are left alone
    big = TRANSFORMS.build(dict(type='PadToSize', size=(3, 9)))(_results(5, 7))
    assert big['img'].shape == (5, 9, 3)
    with pytest.raises(ValueError, match='size'):
        TRANSFORMS.build(dict(type='PadToSize', size=(0, 4)))
    bad = _results(5, 7)
    bad['gt_seg_map'] = bad['gt_seg_map'][:4]
    with pytest.raises(ValueError, match='gt_seg_map'):
        TRANSFORMS.build(dict(type='PadToSize', size=(8, 8)))(bad)


def _official_crop(img, seg, size, x, y, ignore_value):
    """LiheYoung/UniMatch dataset/transform.py:9-22 with a given offset:
    PIL expand (image 0, label ignore_value) at the bottom/right, crop."""
    from PIL import Image, ImageOps
    h, w = seg.shape
    padw, padh = max(size - w, 0), max(size - h, 0)
    pil_img = ImageOps.expand(
        Image.fromarray(img), border=(0, 0, padw, padh), fill=0)
    pil_seg = ImageOps.expand(
        Image.fromarray(seg), border=(0, 0, padw, padh), fill=ignore_value)
    box = (x, y, x + size, y + size)
    return np.asarray(pil_img.crop(box)), np.asarray(pil_seg.crop(box))


@pytest.mark.parametrize('h,w', [(5, 6), (5, 12), (11, 4), (9, 10)])
def test_random_crop_then_pad_is_the_official_pad_then_crop(h, w):
    """RandomCrop + PadToSize gives one of the official crops (pad first,
    then a random window), and every official window occurs."""
    from mmcv.transforms import Compose
    size = 8
    pipe = Compose([
        TRANSFORMS.build(dict(type='RandomCrop', crop_size=(size, size))),
        TRANSFORMS.build(dict(type='PadToSize', size=(size, size)))
    ])
    np.random.seed(0)
    offsets = set()
    for seed in range(60):
        res = _results(h, w, seed)
        img, seg = res['img'].copy(), res['gt_seg_map'].copy()
        out = pipe(res)
        hits = [(x, y) for x in range(max(w - size, 0) + 1)
                for y in range(max(h - size, 0) + 1)
                if all(np.array_equal(a, b) for a, b in zip(
                    _official_crop(img, seg, size, x, y, 255),
                    (out['img'], out['gt_seg_map'])))]
        assert hits, (h, w, seed)
        offsets.add(hits[0])
    assert len(offsets) == (max(w - size, 0) + 1) * (max(h - size, 0) + 1)
