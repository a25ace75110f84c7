"""iMAS hardness (easiness) against an independent per-image numpy reference
(tests/_hardness_ref.py) and hand-computed edge cases."""
import numpy as np
import pytest
import torch

from mmsss.models.utils.hardness import (class_weighted_iou, compute_easiness,
                                         confidence_ratio)
from tests._hardness_ref import np_easiness as _np_easiness
from tests._hardness_ref import np_softmax as _np_softmax
from tests._hardness_ref import np_wiou as _np_wiou


def _logits(seed, n=4, c=5, h=9, w=11, scale=3.):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, c, h, w)) * scale).astype(np.float32)


@pytest.mark.parametrize('seed', [0, 1, 2])
@pytest.mark.parametrize('ignore_bg', [False, True])
def test_easiness_matches_numpy_reference(seed, ignore_bg):
    t = _logits(seed)
    s = t + _logits(seed + 100, scale=2.)  # correlated but different maps
    got = compute_easiness(
        torch.from_numpy(t),
        torch.from_numpy(s),
        0.8,
        ignore_background=ignore_bg)
    ref = _np_easiness(t, s, 0.8, ignore_bg)
    assert 0 < ref.min() and ref.max() < 1  # a non-trivial case
    np.testing.assert_allclose(got['easiness'].numpy(), ref, rtol=1e-5)
    # the pieces too
    for i in range(t.shape[0]):
        lt, ls = t[i].argmax(0), s[i].argmax(0)
        assert got['wiou_teacher'][i].item() == pytest.approx(
            _np_wiou(lt, ls, 5, ignore_bg), rel=1e-5)
        assert got['wiou_student'][i].item() == pytest.approx(
            _np_wiou(ls, lt, 5, ignore_bg), rel=1e-5)
    assert torch.equal(got['teacher_label'],
                       torch.from_numpy(t).argmax(1))


def test_plain_mean_iou_variant():
    t, s = _logits(3), _logits(4)
    got = compute_easiness(
        torch.from_numpy(t), torch.from_numpy(s), 0.5, class_weighted=False)
    ref = _np_easiness(t, s, 0.5, False, weighted=False)
    np.testing.assert_allclose(got['easiness'].numpy(), ref, rtol=1e-5)


def test_images_are_independent_of_the_batch():
    t, s = torch.from_numpy(_logits(5)), torch.from_numpy(_logits(6))
    full = compute_easiness(t, s, 0.7, ignore_background=True)['easiness']
    for i in range(t.shape[0]):
        one = compute_easiness(
            t[i:i + 1], s[i:i + 1], 0.7, ignore_background=True)['easiness']
        assert one.item() == pytest.approx(full[i].item(), abs=1e-7)


@pytest.mark.parametrize('ignore_bg', [False, True])
def test_identical_maps_give_the_confidence_ratio(ignore_bg):
    t = torch.from_numpy(_logits(7))
    t[:, 1] += 1.  # make sure a non-background class is present
    out = compute_easiness(t, t.clone(), 0.6, ignore_background=ignore_bg)
    conf = t.softmax(1).max(1)[0]
    ratio = (conf >= 0.6).flatten(1).float().mean(1)
    assert 0 < ratio.min() and ratio.max() < 1
    torch.testing.assert_close(out['easiness'], ratio)
    torch.testing.assert_close(out['wiou_teacher'], torch.ones(4))


def test_all_background_reference_with_ignore_background():
    c, h, w = 3, 4, 4
    t = torch.zeros(1, c, h, w)
    t[:, 0] = 10.  # teacher: all background, confident
    s = t.clone()
    s[0, 2, :2, :] = 20.  # student: class 2 on the top half
    out = compute_easiness(t, s, 0.9, ignore_background=True)
    # reference = teacher: nothing left after excluding background -> 0;
    # reference = student: only class 2, which the teacher never predicts
    assert out['wiou_teacher'].item() == 0.
    assert out['wiou_student'].item() == 0.
    assert out['easiness'].item() == 0.
    # without the exclusion background counts: IoU_bg = 8/16 with weight 1
    # (teacher ref) and 8/16 of the student's pixels
    out2 = compute_easiness(t, s, 0.9, ignore_background=False)
    assert out2['wiou_teacher'].item() == pytest.approx(0.5)
    assert out2['wiou_student'].item() == pytest.approx(0.5 * 0.5)
    assert out2['easiness'].item() == pytest.approx((0.5 + 0.25) / 2)


def test_class_present_in_only_one_map():
    ref = torch.tensor([[[1, 1, 2, 2], [1, 1, 2, 2]]])
    other = torch.tensor([[[1, 1, 1, 3], [1, 1, 3, 3]]])
    # ref shares: 1 -> 4/8, 2 -> 4/8; IoU_1 = 4/5, IoU_2 = 0; class 3 has
    # weight 0 (absent from ref); class 0 absent from both: skipped
    got = class_weighted_iou(ref, other, 4)
    assert got.item() == pytest.approx(0.5 * 0.8)
    # the other way round: shares 1 -> 5/8, 3 -> 3/8; IoU_3 = 0
    got = class_weighted_iou(other, ref, 4)
    assert got.item() == pytest.approx(5 / 8 * 0.8)
    for a, b in ((ref, other), (other, ref)):
        assert class_weighted_iou(a, b, 4).item() == pytest.approx(
            _np_wiou(a[0].numpy(), b[0].numpy(), 4, False))


def test_no_pixel_above_threshold_gives_zero():
    t = torch.zeros(2, 4, 5, 5)  # uniform: max prob 0.25 everywhere
    s = torch.randn(2, 4, 5, 5) * 0.01
    out = compute_easiness(t, s, 0.95)
    assert torch.equal(out['easiness'], torch.zeros(2))
    assert torch.equal(out['ratio_teacher'], torch.zeros(2))
    assert confidence_ratio(torch.full((1, 3, 3), 0.95), 0.95).item() == 1.


def test_high_ratios_and_losses_strategies():
    t = torch.from_numpy(_logits(8))
    s = torch.from_numpy(_logits(9))
    tau = 0.7
    hr = compute_easiness(t, s, tau, strategy='high-ratios')
    rt = (t.softmax(1).max(1)[0] >= tau).flatten(1).float().mean(1)
    rs = (s.softmax(1).max(1)[0] >= tau).flatten(1).float().mean(1)
    torch.testing.assert_close(hr['easiness'], (rt + rs) / 2)

    lo = compute_easiness(t, s, tau, strategy='losses')
    tn, sn = t.numpy().astype(np.float64), s.numpy().astype(np.float64)
    for i in range(tn.shape[0]):
        lab = tn[i].argmax(0)
        logp = np.log(_np_softmax(sn[i]))
        ce = -np.take_along_axis(logp, lab[None], 0).mean()
        assert lo['easiness'][i].item() == pytest.approx(np.exp(-ce),
                                                         rel=1e-5)
    # identical predictions are the easiest under 'losses' too
    same = compute_easiness(t, t, tau, strategy='losses')['easiness']
    assert (same > lo['easiness']).all()


def test_bad_arguments():
    t = torch.zeros(1, 3, 4, 4)
    with pytest.raises(ValueError, match='hardness_strategy'):
        compute_easiness(t, t, 0.9, strategy='entropy')
    with pytest.raises(ValueError, match='same shape'):
        compute_easiness(t, torch.zeros(1, 3, 4, 5), 0.9)
    with pytest.raises(ValueError, match='same shape'):
        class_weighted_iou(torch.zeros(1, 4, 4), torch.zeros(1, 4, 5), 3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_no_host_sync_on_cuda():
    t = torch.randn(4, 21, 65, 65, device='cuda')
    s = torch.randn(4, 21, 65, 65, device='cuda')
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode('error')
    try:
        for strategy in ('imas', 'high-ratios', 'losses'):
            compute_easiness(
                t, s, 0.9, strategy=strategy, ignore_background=True)
    finally:
        torch.cuda.set_sync_debug_mode('default')
