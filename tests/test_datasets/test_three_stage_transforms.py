"""Three-stage transforms: the strong augmentation A and its geometric part
B (seeded), pseudo-mask loading and packing."""
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image


def aug(**kw):
    from mmsss.datasets.transforms import SegRandAugment
    return SegRandAugment(**kw)


def sample(seed=0, h=40, w=48):
    rng = np.random.default_rng(seed)
    lab = rng.integers(0, 200, size=(h, w), dtype=np.uint8)
    other = rng.integers(0, 21, size=(h, w), dtype=np.uint8)
    return dict(
        img=np.repeat(lab[..., None], 3, axis=2),
        gt_seg_map=lab.copy(),
        gt_pseudo_mask=other.copy(),
        seg_fields=['gt_seg_map', 'gt_pseudo_mask']), lab, other


def take(arr, index, fill):
    """Independent reference of B: out[i, j] = arr[index[i, j]]."""
    valid = index[..., 0] >= 0
    out = np.full(index.shape[:2], fill, dtype=arr.dtype)
    out[valid] = arr[index[valid, 0], index[valid, 1]]
    return out, valid


def test_b_warps_masks_exactly_as_a_warps_images():
    from mmsss.datasets.transforms import GEOMETRIC_OPS, warp_by_index
    t = aug(ops=GEOMETRIC_OPS, num_ops=3, prob=1., num_cutouts=0)
    moved = 0
    for seed in range(12):
        np.random.seed(seed)
        res, lab, other = sample(seed)
        res = t(res)
        index = res['strong_aug_index']
        ref_lab, valid = take(lab, index, 255)
        ref_other, _ = take(other, index, 255)
        # masks follow the recorded index exactly, outside is ignored
        assert np.array_equal(res['gt_seg_map'], ref_lab)
        assert np.array_equal(res['gt_pseudo_mask'], ref_other)
        # the image (nearest, like the official PIL ops) moved the same way
        assert np.array_equal(res['img'][..., 0][valid], lab[index[valid, 0],
                                                             index[valid, 1]])
        assert (res['img'][~valid] == 127).all()
        # the device-side B applied to an un-augmented map gives the same
        warped = warp_by_index(
            torch.from_numpy(other.astype(np.int64))[None],
            torch.from_numpy(index.transpose(2, 0, 1).copy())[None])[0]
        assert np.array_equal(warped.numpy(), res['gt_pseudo_mask'])
        ident = np.stack(np.meshgrid(np.arange(40), np.arange(48),
                                     indexing='ij'), -1)
        moved += int(not np.array_equal(index, ident))
    assert moved >= 10
    # seeded: the same seed gives the same A
    outs = []
    for _ in range(2):
        np.random.seed(3)
        outs.append(aug()(sample(3)[0]))
    assert np.array_equal(outs[0]['img'], outs[1]['img'])
    assert np.array_equal(outs[0]['strong_aug_index'],
                          outs[1]['strong_aug_index'])
    assert outs[0]['strong_aug_ops'] == outs[1]['strong_aug_ops']


def test_translate_index_is_a_shift():
    t = aug(ops=['TranslateX'], num_ops=1, prob=1., num_cutouts=0)
    for seed in range(4):
        np.random.seed(seed)
        res = t(sample(seed)[0])
        [(name, offset)] = res['strong_aug_ops']
        off = int(offset)
        assert name == 'TranslateX' and 1 <= abs(off) <= 9
        idx = res['strong_aug_index']
        cols = np.arange(48)
        src = cols - off
        inside = (src >= 0) & (src < 48)
        assert (idx[:, inside, 1] == src[inside]).all()
        assert (idx[:, ~inside] == -1).all()
        assert (idx[:, inside, 0] == np.arange(40)[:, None]).all()


def test_full_augmentation_keeps_masks_aligned_and_cuts_out():
    t = aug()  # 3 of 14 ops, p = 0.5, three 32 px cutouts
    seen_cutout = seen_photo = False
    for seed in range(20):
        np.random.seed(seed)
        res, lab, other = sample(seed, 64, 64)
        res = t(res)
        ref, _ = take(other, res['strong_aug_index'], 255)
        assert np.array_equal(res['gt_pseudo_mask'], ref)
        names = [n for n, _ in res['strong_aug_ops']]
        assert names.count('Cutout') == 3
        seen_photo |= any(n in ('Solarize', 'Color', 'Contrast', 'Posterize',
                                'Brightness', 'Equalize') for n in names)
        for name, box in res['strong_aug_ops']:
            if name == 'Cutout':
                y0, x0, y1, x1 = box
                assert y1 - y0 <= 32 and x1 - x0 <= 32
                assert (res['img'][y0:y1, x0:x1] == 127).all()
                seen_cutout |= (y1 > y0 and x1 > x0)
    assert seen_cutout and seen_photo


def test_official_magnitudes():
    from mmsss.datasets.transforms.three_stage import op_magnitude
    assert op_magnitude('Rotate', 9) == 27
    assert op_magnitude('Posterize', 1) == 4
    assert op_magnitude('Posterize', 9) == 1
    assert op_magnitude('Solarize', 1) == 231
    assert op_magnitude('Color', 5) == pytest.approx(1.0)
    assert op_magnitude('ShearX', 5) == pytest.approx(0.15)
    assert op_magnitude('TranslateY', 7) == 7
    assert op_magnitude('Identity', 3) is None
    with pytest.raises(ValueError):
        aug(ops=['Rotate', 'Zoom'])


def test_load_and_pack_pseudo_mask(tmp_path):
    from mmseg.datasets.transforms import RandomFlip

    from mmsss.datasets.transforms import (LoadPseudoMask,
                                           PackSegInputsWithMaps)
    h, w = 16, 20
    mask = np.random.default_rng(0).integers(0, 5, (h, w), dtype=np.uint8)
    path = osp.join(tmp_path, 'a.png')
    Image.fromarray(mask).save(path)
    lst = osp.join(tmp_path, 'list.txt')
    with open(lst, 'w') as f:
        f.write(f'img_a {path}\n')
    img = np.zeros((h, w, 3), np.uint8)
    res = LoadPseudoMask(list_file=lst)(
        dict(img=img, img_id='img_a', seg_fields=[], img_shape=(h, w),
             ori_shape=(h, w)))
    assert np.array_equal(res['gt_pseudo_mask'], mask)
    res = RandomFlip(prob=1.)(res)  # seg fields follow the geometry
    assert np.array_equal(res['gt_pseudo_mask'], mask[:, ::-1])
    np.random.seed(0)
    res = aug(num_cutouts=0)(res)
    packed = PackSegInputsWithMaps()(res)['data_samples']
    assert packed.gt_pseudo_mask.data.shape == (1, h, w)
    assert packed.strong_aug_index.data.shape == (2, h, w)
    with pytest.raises(KeyError):
        LoadPseudoMask(list_file=lst)(dict(img=img, img_id='other'))


# mean/std of f_θ's preprocessor (RGB), the image is BGR
NORM = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
            bgr_to_rgb=True)


def stretch_by_hand(img):
    """The official RandAugmentTransformPost stretch, pixel by pixel on the
    RGB image normalised as the preprocessor does: (u, lo, hi)."""
    h, w, _ = img.shape
    norm = np.zeros((h, w, 3), np.float64)
    for c in range(3):  # RGB channel c is BGR channel 2 - c
        norm[..., c] = (img[..., 2 - c] - NORM['mean'][c]) / NORM['std'][c]
    lo, hi = norm.min(), norm.max()
    u = np.floor((norm - lo) / (hi - lo) * 255.)
    return u, lo, hi


def preprocessed(img):
    """What the model sees: BGR -> RGB, (x - mean) / std."""
    rgb = img[..., ::-1].astype(np.float64)
    return (rgb - np.array(NORM['mean'])) / np.array(NORM['std'])


def test_norm_stretch_identity_is_the_official_quantisation():
    rng = np.random.default_rng(0)
    img = rng.integers(30, 200, (6, 7, 3), dtype=np.uint8)
    res = aug(ops=['Identity'], num_ops=1, prob=1., num_cutouts=0,
              norm_stretch=NORM)(dict(img=img.copy(), seg_fields=[]))
    assert res['img'].dtype == np.float32 and res['img'].shape == img.shape
    u, lo, hi = stretch_by_hand(img)
    # the model sees u / 255 * (hi - lo) + lo (seg_transforms_cv.py:769)
    np.testing.assert_allclose(
        preprocessed(res['img']), u / 255. * (hi - lo) + lo, atol=1e-4)
    # a real stretch: this crop spans [30, 200), far from 0-255
    assert u.min() == 0 and u.max() == 255
    # without norm_stretch the image stays the uint8 crop
    plain = aug(ops=['Identity'], num_ops=1, prob=1., num_cutouts=0)(
        dict(img=img.copy(), seg_fields=[]))
    assert np.array_equal(plain['img'], img)


def test_norm_stretch_ops_and_cutout_act_on_the_stretched_crop():
    rng = np.random.default_rng(1)
    img = rng.integers(40, 180, (8, 9, 3), dtype=np.uint8)
    np.random.seed(0)
    res = aug(ops=['Solarize'], num_ops=1, prob=1., num_cutouts=1,
              cutout_size=4, norm_stretch=NORM)(
                  dict(img=img.copy(), seg_fields=[]))
    (solarize, thr), (cutout, (y0, x0, y1, x1)) = res['strong_aug_ops']
    assert (solarize, cutout) == ('Solarize', 'Cutout')
    u, lo, hi = stretch_by_hand(img)
    # solarize inverts the stretched values >= thr, then the cutout box
    # gets gray 127 (the official 0 of [-1, 1]) in the stretched domain
    expected = np.where(u >= thr, 255. - u, u)
    expected[y0:y1, x0:x1] = 127.
    assert (u >= thr).any() and (u < thr).any()
    np.testing.assert_allclose(
        preprocessed(res['img']), expected / 255. * (hi - lo) + lo,
        atol=1e-4)


def test_norm_stretch_bad_arguments():
    with pytest.raises(ValueError, match='norm_stretch'):
        aug(norm_stretch=dict(mean=[0, 0, 0]))
    with pytest.raises(ValueError, match='norm_stretch'):
        aug(norm_stretch=dict(mean=[0, 0], std=[1, 1]))


def test_ignore_fixed_region_on_a_generated_mask(tmp_path):
    from mmsss.datasets.transforms import IgnoreFixedRegion
    rng = np.random.default_rng(0)
    region = np.zeros((8, 16), np.uint8)
    region[5:, 3:12] = 1  # a "bonnet"
    region[0, :] = 1  # a border row
    path = osp.join(tmp_path, 'ego.png')
    Image.fromarray(region).save(path)
    t = IgnoreFixedRegion(mask_file=path, keys=['gt_seg_map', 'other'])
    full = rng.integers(0, 19, (8, 16), dtype=np.uint8)
    half = rng.integers(0, 19, (4, 8), dtype=np.uint8)
    res = t(dict(gt_seg_map=full.copy(), other=half.copy()))
    for got, src, k in ((res['gt_seg_map'], full, 1),
                        (res['other'], half, 2)):
        for i in range(src.shape[0]):
            for j in range(src.shape[1]):
                # the official mask[::2, ::2] for the half-size map
                want = 255 if region[i * k, j * k] else src[i, j]
                assert got[i, j] == want, (k, i, j)
    with pytest.raises(ValueError, match='does not fit'):
        t(dict(gt_seg_map=np.zeros((5, 16), np.uint8)))
    with pytest.raises(FileNotFoundError, match='mask_file'):
        IgnoreFixedRegion(mask_file=osp.join(tmp_path, 'no.png'))(
            dict(gt_seg_map=full.copy()))


def test_block_downsample_is_the_official_conversion():
    from mmsss.datasets.transforms import (CITYSCAPES_LABEL_ID_TO_TRAIN_ID,
                                           BlockDownsample)
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    ids = rng.choice([0, 1, 4, 7, 8, 26, 33], size=(6, 8)).astype(np.uint8)
    ids[0:2, 0:2] = [[7, 7], [0, 0]]  # tie road/unlabeled: labelId 0 wins
    ids[0:2, 2:4] = [[26, 7], [26, 4]]  # car by majority
    res = BlockDownsample(factor=2, label_id_to_train_id=True)(
        dict(img=img.copy(), gt_seg_map=ids.copy(), img_shape=(6, 8),
             ori_shape=(6, 8)))
    assert res['img_shape'] == res['ori_shape'] == (3, 4)
    for i in range(3):
        for j in range(4):
            block = img[2 * i:2 * i + 2, 2 * j:2 * j + 2].reshape(4, 3)
            # skimage downscale_local_mean, then .astype(uint8): floor
            assert (res['img'][i, j] == np.floor(block.mean(0))).all()
            votes = ids[2 * i:2 * i + 2, 2 * j:2 * j + 2].ravel().tolist()
            best = max(sorted(set(votes)), key=votes.count)  # smallest tie
            want = CITYSCAPES_LABEL_ID_TO_TRAIN_ID.get(best, 255)
            assert res['gt_seg_map'][i, j] == want, (i, j, votes)
    assert res['gt_seg_map'][0, 0] == 255 and res['gt_seg_map'][0, 1] == 13
    # a pseudo-mask already at the downsampled size is kept as it is
    pm = rng.integers(0, 19, (3, 4), dtype=np.uint8)
    kept = BlockDownsample(factor=2, label_id_to_train_id=True)(
        dict(img=img.copy(), gt_seg_map=pm.copy()))
    assert np.array_equal(kept['gt_seg_map'], pm)
    with pytest.raises(ValueError, match='fits neither'):
        BlockDownsample()(dict(img=img, gt_seg_map=np.zeros((5, 5))))
