"""``test_cfg=dict(mode='slide_official')`` against plain-loop re-writings
of the official sliding-window evaluations (written here from the official
procedures, not from mmsss code):

* UniMatch ``supervised.py:44-57`` / iMAS ``train_semi.py:693-720``: windows
  at 0, s, 2s, ... cut at the border, softmax summed;
* semseg / DARS ``tool/test.py:323-379``: centred mean padding, ceil grid
  with the last window shifted back, softmax of the window and its flip
  averaged, summed, divided by the count.
"""
import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import ConfigDict

import mmsss  # noqa: F401
from mmsss.models.utils.slide_inference import (check_official_slide_cfg,
                                                window_starts)
from tests._tiny import NUM_CLASSES, make_sample, tiny_semi_model

pytestmark = pytest.mark.usefixtures('mmseg_scope_one_thread')


def _net(seg, img):
    """The official ``model(img)``: logits upsampled to the input size."""
    logits = seg.decode_head.forward(seg.extract_feat(img))
    return F.interpolate(logits, img.shape[2:], mode='bilinear',
                         align_corners=seg.decode_head.align_corners)


def ref_unimatch(seg, img, grid):
    b, _, h, w = img.shape
    final = torch.zeros(b, NUM_CLASSES, h, w)
    row = 0
    while row < h:
        col = 0
        while col < w:
            pred = _net(seg, img[:, :, row:min(h, row + grid),
                                 col:min(w, col + grid)])
            final[:, :, row:min(h, row + grid),
                  col:min(w, col + grid)] += pred.softmax(dim=1)
            col += int(grid * 2 / 3)
        row += int(grid * 2 / 3)
    return final


def ref_semseg(seg, img, crop):
    _, _, ori_h, ori_w = img.shape
    pad_h, pad_w = max(crop - ori_h, 0), max(crop - ori_w, 0)
    ph, pw = int(pad_h / 2), int(pad_w / 2)
    img = F.pad(img, (pw, pad_w - pw, ph, pad_h - ph))  # mean = 0
    new_h, new_w = img.shape[2:]
    stride = int(math.ceil(crop * 2 / 3))
    grid_h = int(math.ceil(float(new_h - crop) / stride) + 1)
    grid_w = int(math.ceil(float(new_w - crop) / stride) + 1)
    pred = torch.zeros(1, NUM_CLASSES, new_h, new_w)
    count = torch.zeros(new_h, new_w)
    for ih in range(grid_h):
        for iw in range(grid_w):
            e_h = min(ih * stride + crop, new_h)
            e_w = min(iw * stride + crop, new_w)
            s_h, s_w = e_h - crop, e_w - crop
            win = img[:, :, s_h:e_h, s_w:e_w]
            both = _net(seg, torch.cat([win, win.flip(3)], 0)).softmax(1)
            count[s_h:e_h, s_w:e_w] += 1
            pred[:, :, s_h:e_h, s_w:e_w] += (both[0] + both[1].flip(2)) / 2
    pred /= count
    return pred[:, :, ph:ph + ori_h, pw:pw + ori_w]


def _model(test_cfg):
    model = tiny_semi_model()
    model.teacher.test_cfg = ConfigDict(test_cfg)
    with torch.no_grad():  # a non-trivial teacher (BN statistics, weights)
        for p in model.teacher.parameters():
            p.add_(torch.randn(p.shape, generator=_GEN) * 0.3)
    return model.eval()


_GEN = torch.Generator().manual_seed(0)


def _predict(model, img):
    size = tuple(img.shape[2:])
    samples = [make_sample(size=size)]
    with torch.no_grad():
        out = model.predict(img, samples)[0]
    return out.seg_logits.data, out.pred_sem_seg.data[0]


def _probs(final):
    return final / final.sum(1, keepdim=True)


@pytest.mark.parametrize('size', [(45, 61), (21, 47)])
def test_slide_official_truncate_matches_unimatch_loop(size):
    crop = 21
    model = _model(dict(mode='slide_official', crop_size=(crop, crop),
                        stride=(int(crop * 2 / 3), ) * 2))
    img = torch.randn(1, 3, *size, generator=torch.Generator().manual_seed(3))
    logits, pred = _predict(model, img)
    with torch.no_grad():
        ref = ref_unimatch(model.teacher, img, crop)
    assert torch.equal(pred, ref[0].argmax(0))
    assert torch.allclose(logits.softmax(0), _probs(ref)[0], atol=1e-5)
    # mmseg's slide (shifted windows, logits averaged) is another result
    model.teacher.test_cfg = ConfigDict(mode='slide', crop_size=(crop, crop),
                                        stride=(14, 14))
    mm_logits, _ = _predict(model, img)
    assert not torch.allclose(mm_logits.softmax(0), _probs(ref)[0],
                              atol=1e-3)


@pytest.mark.parametrize('size', [(45, 61), (17, 29)])
def test_slide_official_shift_flip_matches_semseg_loop(size):
    crop = 21
    model = _model(dict(mode='slide_official', crop_size=crop,
                        stride=int(math.ceil(crop * 2 / 3)), window='shift',
                        flip=True))
    img = torch.randn(1, 3, *size, generator=torch.Generator().manual_seed(4))
    logits, pred = _predict(model, img)
    with torch.no_grad():
        ref = ref_semseg(model.teacher, img, crop)
    assert torch.equal(pred, ref[0].argmax(0))
    assert torch.allclose(logits.softmax(0), ref[0], atol=1e-5)
    # without the flip: another result
    model.teacher.test_cfg.flip = False
    no_flip, _ = _predict(model, img)
    assert not torch.allclose(no_flip.softmax(0), ref[0], atol=1e-3)


def test_window_grids_by_hand():
    # Cityscapes 1024 x 2048, UniMatch 801 / 534 (cut at the border)
    assert window_starts(1024, 801, 534, 'truncate') == [(0, 801),
                                                         (534, 1024)]
    assert window_starts(2048, 801, 534, 'truncate') == [
        (0, 801), (534, 1335), (1068, 1869), (1602, 2048)]
    # iMAS 769 / 512
    assert window_starts(1024, 769, 512, 'truncate') == [(0, 769),
                                                         (512, 1024)]
    # semseg 713 / 476: ceil(311 / 476) + 1 = 2, ceil(1335 / 476) + 1 = 4
    assert window_starts(1024, 713, 476, 'shift') == [(0, 713), (311, 1024)]
    assert window_starts(2048, 713, 476, 'shift') == [
        (0, 713), (476, 1189), (952, 1665), (1335, 2048)]


@pytest.mark.parametrize('cfg, match', [
    (dict(mode='slide_official', crop_size=(21, 21)), 'needs stride'),
    (dict(mode='slide_official', crop_size=21, stride=14, window='pad'),
     'test_cfg.window'),
    (dict(mode='slide_official', crop_size=(0, 3), stride=14),
     'test_cfg.crop_size'),
    (dict(mode='slide_official', crop_size=21, stride=14, flip=1),
     'test_cfg.flip'),
    (dict(mode='slide_official', crop_size=21, stride=14, scales=[1.]),
     'unknown keys'),
])
def test_slide_official_bad_cfg(cfg, match):
    with pytest.raises(ValueError, match=match):
        check_official_slide_cfg(cfg)


def ref_dars_pseudo_label_logits(seg, img, crop):
    """DARS tool/gen_pseudo_label_utils.py:70-127: the grid of ``ref_semseg``
    but the logits of a window and of its flip averaged (the softmax there
    is commented out) and the windows' logits averaged."""
    _, _, ori_h, ori_w = img.shape
    pad_h, pad_w = max(crop - ori_h, 0), max(crop - ori_w, 0)
    ph, pw = int(pad_h / 2), int(pad_w / 2)
    img = F.pad(img, (pw, pad_w - pw, ph, pad_h - ph))
    new_h, new_w = img.shape[2:]
    stride = int(math.ceil(crop * 2 / 3))
    out = torch.zeros(1, NUM_CLASSES, new_h, new_w)
    count = torch.zeros(new_h, new_w)
    for ih in range(int(math.ceil(float(new_h - crop) / stride) + 1)):
        for iw in range(int(math.ceil(float(new_w - crop) / stride) + 1)):
            e_h = min(ih * stride + crop, new_h)
            e_w = min(iw * stride + crop, new_w)
            win = img[:, :, e_h - crop:e_h, e_w - crop:e_w]
            both = _net(seg, torch.cat([win, win.flip(3)], 0))
            count[e_h - crop:e_h, e_w - crop:e_w] += 1
            out[:, :, e_h - crop:e_h,
                e_w - crop:e_w] += (both[0] + both[1].flip(2)) / 2
    out /= count
    return out[:, :, ph:ph + ori_h, pw:pw + ori_w]


def _self_training_model(test_cfg):
    """A DARS ``SelfTrainingSegmentor`` (a plain ``EncoderDecoder``
    subclass) with non-trivial weights."""
    import copy
    from mmseg.registry import MODELS
    from tests._tiny import TINY_SEGMENTOR
    cfg = copy.deepcopy(TINY_SEGMENTOR)
    cfg.update(type='SelfTrainingSegmentor', test_cfg=test_cfg)
    model = MODELS.build(ConfigDict(cfg))
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():  # moderate logits: the softmax is not one-hot
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * 0.15)
    return model.eval()


@pytest.mark.parametrize('size', [(45, 61), (17, 29)])
def test_self_training_segmentor_official_windows(size):
    """DARS: softmax averaged for evaluation (tool/test.py), logits
    averaged for pseudo-labels (gen_pseudo_label_utils.py), through
    SelfTrainingSegmentor's own inference."""
    crop = 21
    test_cfg = dict(mode='slide_official', crop_size=crop,
                    stride=int(math.ceil(crop * 2 / 3)), window='shift',
                    flip=True)
    model = _self_training_model(test_cfg)
    img = torch.randn(1, 3, *size, generator=torch.Generator().manual_seed(5))
    samples = [make_sample(size=size)]
    with torch.no_grad():
        probs = model.predict(img, samples)[0].seg_logits.data.softmax(0)
        ref = ref_semseg(model, img, crop)[0]
        assert torch.allclose(probs, ref, atol=1e-5)
        model.test_cfg = ConfigDict(test_cfg, average='logits')
        logits = model.predict(img, samples)[0].seg_logits.data
        ref_logits = ref_dars_pseudo_label_logits(model, img, crop)[0]
    assert torch.allclose(logits, ref_logits, rtol=1e-5, atol=1e-5)
    assert ref_logits.softmax(0).max(0).values.mean() < 0.99  # not one-hot
    # averaging logits is another result than averaging probabilities
    assert (logits.softmax(0) - ref).abs().max() > 1e-3


def test_generator_predicts_with_its_test_cfg_update():
    """PseudoLabelGenerator(test_cfg=dict(average='logits')) predicts with
    the model's windows, logits averaged, and leaves the model's
    test_cfg as it was (evaluation keeps the softmax average)."""
    from mmsss.pseudo_labels import PseudoLabelGenerator
    crop, size = 21, (45, 61)
    test_cfg = dict(mode='slide_official', crop_size=crop,
                    stride=int(math.ceil(crop * 2 / 3)), window='shift',
                    flip=True)
    model = _self_training_model(test_cfg)
    gen = PseudoLabelGenerator(flip=False, test_cfg=dict(average='logits'))
    img = torch.randint(0, 256, (3, *size), dtype=torch.uint8,
                        generator=torch.Generator().manual_seed(6))
    data = dict(inputs=[img], data_samples=[make_sample(size=size)])
    probs = gen.class_probabilities(model, data)
    assert dict(model.test_cfg) == test_cfg
    with torch.no_grad():
        x = model.data_preprocessor(data, False)['inputs']
        ref = ref_dars_pseudo_label_logits(model, x, crop)[0].softmax(0)
    assert torch.allclose(probs, ref, atol=1e-5)
    assert gen.settings()['test_cfg'] == dict(average='logits')
