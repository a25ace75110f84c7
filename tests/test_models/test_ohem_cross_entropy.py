"""U2PLOhemCrossEntropy (issue 17, bug 2) against hand computations: the
mean over the *kept* pixels, threshold 0.7, ``min_kept`` over the whole
batch (official ``OhemCrossEntropy2dTensor``, iMAS
``imas/utils/loss_helper.py``)."""
import math

import numpy as np
import pytest
import torch

IGNORE = 255


@pytest.fixture(autouse=True)
def _scope():
    from mmengine.registry import init_default_scope
    import mmsss  # noqa: F401
    init_default_scope('mmseg')


def _logits_with_target_prob(probs, labels, num_classes=3):
    """Logits (N, C, H, W) whose softmax gives the labelled class exactly
    the probability ``probs`` (the rest shared by the other classes);
    ignored pixels get arbitrary logits."""
    probs = torch.as_tensor(probs, dtype=torch.float64)
    labels = torch.as_tensor(labels)
    other = (1 - probs) / (num_classes - 1)
    logits = other.log().unsqueeze(1).repeat(1, num_classes, 1, 1)
    safe = torch.where(labels == IGNORE, 0, labels)
    logits.scatter_(1, safe.unsqueeze(1), probs.log().unsqueeze(1))
    ignored = (labels == IGNORE).unsqueeze(1).expand_as(logits)
    logits[ignored] = torch.randn(int(ignored.sum()), dtype=torch.float64)
    return logits.float(), labels.long()


def _loss(min_kept, thresh=0.7):
    from mmsss.models.losses import U2PLOhemCrossEntropy
    return U2PLOhemCrossEntropy(thresh=thresh, min_kept=min_kept)


def _mean_nll(ps):
    return sum(-math.log(p) for p in ps) / len(ps)


# two images, 2 x 3 pixels; the labelled-class probabilities:
#   image 0: 0.9 (easy)  0.3        ignored
#            0.6         0.95(easy) 0.2
#   image 1: 0.8 (easy)  ignored    0.99 (easy)
#            0.85 (easy) 0.75(easy) 0.5
PROBS = [[[0.9, 0.3, 0.5], [0.6, 0.95, 0.2]],
         [[0.8, 0.5, 0.99], [0.85, 0.75, 0.5]]]
LABELS = [[[0, 1, IGNORE], [2, 1, 0]], [[1, IGNORE, 2], [0, 0, 1]]]
HARD = [0.3, 0.6, 0.2, 0.5]  # valid and <= 0.7
VALID = [0.9, 0.3, 0.6, 0.95, 0.2, 0.8, 0.99, 0.85, 0.75, 0.5]


def test_threshold_keeps_hard_valid_pixels_and_averages_over_them():
    logits, labels = _logits_with_target_prob(PROBS, LABELS)
    loss = _loss(min_kept=1)(logits, labels, ignore_index=IGNORE)
    assert loss.item() == pytest.approx(_mean_nll(HARD), rel=1e-5)
    # mmseg's OHEMPixelSampler + CrossEntropyLoss: the same kept sum over
    # all 12 pixels, i.e. 4/12 of this value
    mmseg_style = sum(-math.log(p) for p in HARD) / 12
    assert loss.item() == pytest.approx(mmseg_style * 12 / 4, rel=1e-5)


def test_min_kept_counts_over_the_batch_and_forces_extra_pixels_in():
    logits, labels = _logits_with_target_prob(PROBS, LABELS)
    # 6th smallest valid probability is 0.8 > 0.7: every valid p <= 0.8
    kept = [0.3, 0.6, 0.2, 0.5, 0.75, 0.8]
    loss = _loss(min_kept=6)(logits, labels, ignore_index=IGNORE)
    assert loss.item() == pytest.approx(_mean_nll(kept), rel=1e-5)
    # 5 over the batch keeps 0.75 but not 0.8 (5 per image would keep
    # all 10 valid pixels: each image has 5)
    loss5 = _loss(min_kept=5)(logits, labels, ignore_index=IGNORE)
    assert loss5.item() == pytest.approx(
        _mean_nll([0.3, 0.6, 0.2, 0.5, 0.75]), rel=1e-5)


def test_fewer_valid_pixels_than_min_kept_keeps_every_valid_pixel():
    logits, labels = _logits_with_target_prob(PROBS, LABELS)
    for min_kept in (10, 11, 100000):  # 10 valid pixels
        loss = _loss(min_kept)(logits, labels, ignore_index=IGNORE)
        assert loss.item() == pytest.approx(_mean_nll(VALID), rel=1e-5)


def test_ties_at_the_threshold_are_all_kept():
    probs = [[[0.1, 0.8, 0.8, 0.9]]]
    labels = [[[0, 1, 1, 2]]]
    logits, labels = _logits_with_target_prob(probs, labels)
    # 2nd smallest is 0.8, shared by two pixels: both kept (p <= t)
    loss = _loss(min_kept=2)(logits, labels, ignore_index=IGNORE)
    assert loss.item() == pytest.approx(_mean_nll([0.1, 0.8, 0.8]), rel=1e-5)


def test_no_valid_pixel_gives_zero_with_a_graph():
    logits = torch.randn(1, 3, 2, 2, requires_grad=True)
    labels = torch.full((1, 2, 2), IGNORE)
    loss = _loss(min_kept=1)(logits, labels, ignore_index=IGNORE)
    assert loss.item() == 0.
    loss.backward()
    assert torch.equal(logits.grad, torch.zeros_like(logits))


def _np_reference(logits, labels, thresh, min_kept):
    """The kept-mean rule restated with numpy sorting, float64."""
    z = logits.double().numpy()
    y = labels.numpy().ravel()
    z = np.moveaxis(z, 1, -1).reshape(-1, z.shape[1])
    logp = z - z.max(1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(1, keepdims=True))
    valid = y != IGNORE
    ys = np.where(valid, y, 0)
    p = np.exp(logp[np.arange(len(y)), ys])
    if valid.sum() < min_kept:
        kept = valid
    else:
        t = max(thresh, np.sort(p[valid])[min_kept - 1])
        kept = valid & (p <= t)
    return -(logp[np.arange(len(y)), ys][kept]).mean()


@pytest.mark.parametrize('seed', range(3))
@pytest.mark.parametrize('thresh', [0.7, 0.3])
@pytest.mark.parametrize('min_kept', [1, 50, 150, 220, 1000])
def test_random_batches_match_the_numpy_rule(seed, thresh, min_kept):
    g = torch.Generator().manual_seed(seed)
    logits = 3 * torch.randn(3, 5, 9, 11, generator=g)
    labels = torch.randint(0, 5, (3, 9, 11), generator=g)
    labels[torch.rand(3, 9, 11, generator=g) < 0.2] = IGNORE
    loss = _loss(min_kept, thresh)(logits, labels, ignore_index=IGNORE)
    ref = _np_reference(logits, labels, thresh, min_kept)
    assert loss.item() == pytest.approx(ref, rel=1e-5)


def test_decode_head_calls_it_like_an_mmseg_loss():
    from mmengine.config import ConfigDict
    from mmseg.registry import MODELS

    from tests._tiny import TINY_SEGMENTOR, make_sample
    cfg = ConfigDict(TINY_SEGMENTOR)
    cfg.decode_head.loss_decode = dict(
        type='U2PLOhemCrossEntropy', thresh=0.7, min_kept=40,
        loss_weight=0.4)
    head = MODELS.build(cfg).decode_head
    assert head.loss_decode.loss_name == 'loss_ce'
    g = torch.Generator().manual_seed(0)
    seg_logits = torch.randn(2, 4, 8, 8, generator=g)
    labels = torch.randint(0, 4, (2, 1, 32, 32), generator=g)
    labels[:, :, :4] = IGNORE
    samples = [make_sample(labels[i]) for i in range(2)]
    losses = head.loss_by_feat(seg_logits, samples)
    up = torch.nn.functional.interpolate(
        seg_logits, (32, 32), mode='bilinear', align_corners=False)
    ref = 0.4 * _np_reference(up, labels[:, 0], 0.7, 40)
    assert losses['loss_ce'].item() == pytest.approx(ref, rel=1e-5)
    # pixel weights (a head's sampler) would be a second selection
    with pytest.raises(ValueError, match='sampler'):
        head.loss_decode(up, labels[:, 0], weight=torch.ones(2, 32, 32))


def test_arguments_are_checked():
    with pytest.raises(ValueError, match='min_kept'):
        _loss(min_kept=0)
    with pytest.raises(ValueError, match='thresh'):
        _loss(min_kept=1, thresh=1.5)
