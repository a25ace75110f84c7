"""The fast paths of the data pipeline (issue 28) give the same bytes as the
straightforward code: mmseg's ``PackSegInputs``, a fresh mmseg ``Resize`` of
every map, and PIL's own RGB<->BGR conversions."""
import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from PIL import Image

from mmsss.datasets.transforms import PackSemiSegInputs  # first: mmcv-lite
from mmsss.datasets.transforms.photometric import _from_pil, _to_pil
from mmseg.datasets.transforms import PackSegInputs  # noqa: I001
from mmseg.registry import TRANSFORMS


def _img(h, w, seed=0):
    return np.random.RandomState(seed).randint(0, 256, (h, w, 3), np.uint8)


@pytest.mark.parametrize('layout', ['contiguous', 'flipped', 'gray'])
def test_pack_semi_seg_inputs_same_as_mmseg(layout):
    img = _img(7, 9)
    if layout == 'flipped':
        img = img[:, ::-1]  # a view, not C-contiguous
    elif layout == 'gray':
        img = img[..., 0].copy()
    gt = np.random.RandomState(1).randint(0, 21, (7, 9)).astype(np.uint8)
    results = dict(img=img, gt_seg_map=gt, img_shape=(7, 9), flip=False)
    ours = PackSemiSegInputs()(dict(results))
    ref = PackSegInputs()(dict(results))
    assert ours['inputs'].dtype == ref['inputs'].dtype == torch.uint8
    assert ours['inputs'].is_contiguous()
    assert torch.equal(ours['inputs'], ref['inputs'])
    assert torch.equal(ours['data_samples'].gt_sem_seg.data,
                       ref['data_samples'].gt_sem_seg.data)
    assert ours['data_samples'].metainfo == ref['data_samples'].metainfo


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
@pytest.mark.parametrize('draw', ['factor', 'long_side'])
def test_random_rescale_constant_maps_same_as_resize(backend, draw):
    init_default_scope('mmseg')
    tf = TRANSFORMS.build(
        dict(type='RandomRescale', ratio_range=(0.5, 2.0), draw=draw,
             backend=backend))
    almost = np.full((15, 20), 254, np.uint8)
    almost[7, 3] = 3  # one odd pixel: resized as a label map
    for seed in range(4):
        results = dict(
            img=_img(15, 20, seed),
            gt_seg_map=np.full((15, 20), 254, np.uint8),
            gt_seg_map_analysis=almost.copy(),
            seg_fields=['gt_seg_map', 'gt_seg_map_analysis'])
        ref_in = {k: (v.copy() if hasattr(v, 'copy') else v)
                  for k, v in results.items()}
        np.random.seed(seed)
        out = tf(results)
        h, w = out['img'].shape[:2]
        ref = TRANSFORMS.build(
            dict(type='Resize', scale=(w, h), keep_ratio=False,
                 interpolation='bilinear', backend=backend))(ref_in)
        for key in ('img', 'gt_seg_map', 'gt_seg_map_analysis'):
            assert out[key].dtype == ref[key].dtype
            assert np.array_equal(out[key], ref[key]), (seed, key)
        assert out['img_shape'] == ref['img_shape']
        assert np.allclose(out['scale_factor'], ref['scale_factor'])


def test_pil_conversions_same_bytes():
    img = _img(6, 5)
    pil = _to_pil(img)
    assert pil.mode == 'RGB'
    assert np.array_equal(np.asarray(pil), img[..., ::-1])
    back = _from_pil(pil)
    assert back.flags.writeable and back.flags.c_contiguous
    assert np.array_equal(back, img)
    gray = Image.fromarray(img[..., 0])  # mode 'L' -> replicated channels
    assert np.array_equal(_from_pil(gray),
                          np.repeat(img[..., :1], 3, axis=2))


def test_shared_image_loader_same_bytes_one_decode(tmp_path, monkeypatch):
    import cv2
    from mmcv.transforms import LoadImageFromFile

    from mmsss.datasets.transforms import LoadImageFromFileShared
    from mmsss.datasets.transforms import loading
    paths = []
    for i in range(3):
        path = str(tmp_path / f'{i}.png')
        cv2.imwrite(path, _img(5, 4, seed=i))
        paths.append(path)
    monkeypatch.setattr(loading, '_DECODED', type(loading._DECODED)())
    decodes = []
    real = LoadImageFromFile.transform

    def counting(self, results):
        decodes.append(results['img_path'])
        return real(self, results)

    monkeypatch.setattr(LoadImageFromFile, 'transform', counting)
    shared = LoadImageFromFileShared(cache_size=2)
    # unlabeled then mix loads of a batch: each image decoded once
    outs = [shared(dict(img_path=p)) for p in paths[:2] + paths[:2]]
    assert decodes == paths[:2]
    for out, path in zip(outs, paths[:2] * 2):
        ref = real(LoadImageFromFile(), dict(img_path=path))
        assert np.array_equal(out['img'], ref['img'])
        assert out['img_shape'] == out['ori_shape'] == ref['img_shape']
    outs[0]['img'][:] = 0  # a consumer writing in place: the cache is intact
    assert np.array_equal(shared(dict(img_path=paths[0]))['img'],
                          outs[2]['img'])
    shared(dict(img_path=paths[2]))  # evicts the least recent (paths[1])
    shared(dict(img_path=paths[1]))
    assert decodes == paths[:2] + paths[2:] + paths[1:2]
    with pytest.raises(ValueError, match='cache_size'):
        LoadImageFromFileShared(cache_size=0)
