"""UniMatch/FixMatch segmentors: the loss against a hand computation, feature
perturbation, the teacher-free mode, CutMix partners and boxes."""
import copy
import math
from types import SimpleNamespace

import pytest
import torch

from tests._tiny import (NUM_CLASSES, TINY_SEGMENTOR, make_sample,
                         tiny_semi_model)


@pytest.fixture(autouse=True)
def _scope():
    from mmengine.registry import init_default_scope
    import mmsss  # noqa: F401
    init_default_scope('mmseg')
    torch.manual_seed(0)


def build(type='UniMatchSegmentor', **semi_train_cfg):
    return tiny_semi_model(type, semi_test_cfg={}, **semi_train_cfg)


def unlabeled(path, size, pad=None, analysis=None):
    """Unlabeled sample: placeholder 254, 255 where ``pad`` (H, W) is True."""
    label = torch.full((1, *size), 254, dtype=torch.long)
    if pad is not None:
        label[0][pad] = 255
    s = make_sample(label, analysis=analysis, size=size)
    s.set_metainfo(dict(img_path=path))
    return s


def real_batch(n_l=2, n_u=2, size=(32, 32), strong=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    inputs = dict(sup=torch.randn(n_l, 3, *size, generator=g))
    lab = torch.randint(0, NUM_CLASSES, (n_l, 1, *size), generator=g)
    samples = dict(sup=[make_sample(lab[i], size=size) for i in range(n_l)])
    pad = torch.zeros(size, dtype=torch.bool)
    pad[:, -3:] = True
    for prefix in ('unsup', 'mix'):
        names = [f'{prefix}_weak'] + [
            f'{prefix}_strong{k + 1}' for k in range(strong)
        ]
        # the mix batch repeats the unlabeled images (the sampler's
        # same_order_as, official pairing)
        ss = [
            unlabeled(
                f'img{i}.jpg',
                size,
                pad=pad if i == 0 else None,
                analysis=torch.randint(
                    0, NUM_CLASSES, (1, *size), generator=g))
            for i in range(n_u)
        ]
        for name in names:
            inputs[name] = torch.randn(n_u, 3, *size, generator=g)
            samples[name] = ss
    return inputs, samples


# --------------------------------------------------------------------------
# the loss, by hand
def _softmax(v):
    m = max(v)
    e = [math.exp(x - m) for x in v]
    return [x / sum(e) for x in e]


def _ce(logit, label):
    return -math.log(_softmax(logit)[label])


def _pix(t, n, y, x):
    return [float(t[n, c, y, x]) for c in range(t.shape[1])]


@pytest.mark.parametrize('partner', ['same_image', 'other_image'])
def test_loss_matches_a_hand_computation(partner):
    """Tiny 4x4 tensors: padding in a target and in a mix image,
    unconfident pixels, a box in each strong view; official pairing (the
    mix batch repeats the targets' images: partner i is mix i), or the
    switch, where a mix partner is swapped because it is the target's own
    image; network outputs are fixed so the expected value is a plain loop
    over pixels."""
    H = W = 4
    C, n_l, n_u, tau = 3, 1, 2, 0.6
    size = (H, W)
    model = build(conf_thresh=tau, mix_partner=partner)
    model.train()
    g = torch.Generator().manual_seed(1)
    # weak/mix logits with a spread of confidences around tau
    logits1 = (3 * torch.randn(2 * (n_l + n_u), C, H, W, generator=g)
               ).requires_grad_()
    logits2 = torch.randn(2 * n_u, C, H, W, generator=g).requires_grad_()
    mix_logits = 3 * torch.randn(n_u, C, H, W, generator=g)
    pad_u = torch.zeros(size, dtype=torch.bool)
    pad_u[:, 3] = True  # target 0: last column is padding
    pad_m = torch.zeros(size, dtype=torch.bool)
    pad_m[3, :] = True  # mix 0: last row is padding
    samples_w = [unlabeled('a', size, pad_u), unlabeled('b', size)]
    if partner == 'same_image':
        # another view of each target's own image (own padding mask)
        samples_m = [unlabeled('a', size, pad_m), unlabeled('b', size)]
        pair = [0, 1]
    else:
        # mix 1 is target 1's own image -> target 1 must take mix 0
        samples_m = [unlabeled('x', size, pad_m), unlabeled('b', size)]
        pair = [0, 0]
    m1 = torch.zeros(n_u, H, W, dtype=torch.bool)
    m1[0, 2:, 1:4] = True  # box of view 1 on target 0 (covers its padding)
    m2 = torch.zeros(n_u, H, W, dtype=torch.bool)
    m2[1, 1:4, 0:3] = True  # box of view 2 on target 1 (mix 0's padding)
    boxes = iter([(m1, m1.flatten(1).any(1)), (m2, m2.flatten(1).any(1))])
    model.cutmix_masks = lambda num, sz, device: next(boxes)
    model.logits_of = lambda net, x: mix_logits
    seen = []

    def extract_feat(x):
        seen.append(x)
        return [x]

    outputs = iter([logits1, logits2])
    model.student.extract_feat = extract_feat
    model.student.decode_head.forward = lambda feats: next(outputs)
    model.sup_loss_from_feats = lambda f, lg, s: dict(loss_ce=torch.tensor(
        0.7))
    inputs = dict(
        sup=torch.randn(n_l, 3, H, W),
        unsup_weak=torch.randn(n_u, 3, H, W),
        mix_weak=torch.randn(n_u, 3, H, W))
    samples = dict(
        sup=[make_sample(size=size)],
        unsup_weak=samples_w,
        mix_weak=samples_m)
    for k in (1, 2):
        inputs[f'unsup_strong{k}'] = torch.randn(n_u, 3, H, W)
        inputs[f'mix_strong{k}'] = torch.randn(n_u, 3, H, W)
        samples[f'unsup_strong{k}'] = samples_w
        samples[f'mix_strong{k}'] = samples_m
    losses = model.loss(inputs, samples)

    valid_u = [~pad_u, torch.ones(size, dtype=torch.bool)]
    valid_m = [~pad_m, torch.ones(size, dtype=torch.bool)]
    clean = logits1[:n_l + n_u].detach()
    fp = logits1[n_l + n_u:].detach()

    def weak(i, y, x):
        p = _softmax(_pix(clean, n_l + i, y, x))
        return p.index(max(p)), max(p), bool(valid_u[i][y, x])

    def mixed(i, y, x):
        j = pair[i]
        p = _softmax(_pix(mix_logits, j, y, x))
        return p.index(max(p)), max(p), bool(valid_m[j][y, x])

    def term(view_logits, masks):
        num = den = 0.
        for i in range(n_u):
            for y in range(H):
                for x in range(W):
                    inside = masks is not None and bool(masks[i, y, x])
                    lab, conf, val = (mixed if inside else weak)(i, y, x)
                    den += val
                    if val and conf >= tau:
                        num += _ce(_pix(view_logits, i, y, x), lab)
        return num / den

    s = logits2.detach()
    want_s1 = term(s[:n_u], m1)
    want_s2 = term(s[n_u:], m2)
    want_fp = term(fp[n_l:], None)
    torch.testing.assert_close(losses['unsup_loss_s1'].item(),
                               0.5 * 0.25 * want_s1)
    torch.testing.assert_close(losses['unsup_loss_s2'].item(),
                               0.5 * 0.25 * want_s2)
    torch.testing.assert_close(losses['unsup_loss_fp'].item(),
                               0.5 * 0.5 * want_fp)
    torch.testing.assert_close(losses['sup_loss_ce'].item(), 0.5 * 0.7)
    # official mask_ratio: confident among non-padding weak pixels
    conf_pix = [weak(i, y, x) for i in range(n_u) for y in range(H)
                for x in range(W)]
    ratio = sum(c >= tau and v for _, c, v in conf_pix) / sum(
        v for _, _, v in conf_pix)
    torch.testing.assert_close(losses['unsup_conf_ratio'].item(), ratio)
    assert losses['unsup_cutmix_rate_s1'].item() == 0.5
    # the strong views: box content from the partner's same view
    views = seen[1]
    for k, masks in ((1, m1), (2, m2)):
        v = views[(k - 1) * n_u:k * n_u]
        for i in range(n_u):
            src = inputs[f'mix_strong{k}'][pair[i]]
            own = inputs[f'unsup_strong{k}'][i]
            m = masks[i].expand_as(own)
            assert torch.equal(v[i][m], src[m])
            assert torch.equal(v[i][~m], own[~m])
    # the backbone saw [labeled, weak] once and the strong views once
    assert [x.shape[0] for x in seen] == [n_l + n_u, 2 * n_u]
    # gradients reach the student outputs, never the mix pass
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert logits1.grad is not None and logits2.grad is not None


def test_fixmatch_is_one_view_without_fp():
    model = build('FixMatchSegmentor')
    cfg = model.semi_train_cfg
    assert (cfg['num_strong_views'], cfg['use_fp'], cfg['strong_weight'],
            cfg['loss_scale']) == (1, False, 1.0, 0.5)
    inputs, samples = real_batch(strong=1)
    model.train()
    losses = model.loss(inputs, samples)
    assert 'unsup_loss_fp' not in losses and 'unsup_loss_s2' not in losses
    assert torch.isfinite(losses['unsup_loss_s1'])


# --------------------------------------------------------------------------
# feature perturbation
def test_fp_perturbs_only_the_decoder_input_and_is_off_in_eval():
    model = build()
    model.train()
    x = torch.randn(3, 3, 32, 32)
    feats = model.student.extract_feat(x)
    head = model.student.decode_head
    seen = []
    forward = head.forward
    head.forward = lambda f: (seen.append(f), forward(f))[1]
    clean, perturbed = model.decode_with_fp(feats)
    assert clean.shape == perturbed.shape
    assert not torch.allclose(clean, perturbed)
    got = seen[0]
    assert model.fp_level_indices(len(feats)) == [0, 3]  # c1 and in_index
    for level, f in enumerate(feats):
        a, b = got[level][:3], got[level][3:]
        assert torch.equal(a, f)
        if level in (1, 2):  # not read by the head: an unchanged copy
            assert torch.equal(b, f)
            continue
        # Dropout2d(0.5): every channel zeroed or scaled by 2
        zero = b.flatten(2).abs().amax(2) == 0
        scaled = torch.isclose(b, 2 * f).flatten(2).all(2)
        assert bool((zero | scaled).all()) and zero.any() and scaled.any()
    model.eval()
    seen.clear()
    clean, perturbed = model.decode_with_fp(feats)
    torch.testing.assert_close(clean, perturbed)


def test_backbone_runs_once_per_pass_and_decoder_sees_fp_batch():
    model = build()
    model.train()
    sizes = dict(backbone=[], head=[])
    model.student.backbone.register_forward_hook(
        lambda m, i, o: sizes['backbone'].append(i[0].shape[0]))
    head = model.student.decode_head
    forward = head.forward  # called as .forward(), so no module hook
    head.forward = lambda f: (sizes['head'].append(f[0].shape[0]),
                              forward(f))[1]
    inputs, samples = real_batch(n_l=2, n_u=2)
    losses = model.loss(inputs, samples)
    # mix (eval), [labeled, weak], strong views
    assert sizes['backbone'] == [2, 4, 4]
    assert sizes['head'] == [2, 8, 4]  # the FP pass doubles the decoder
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    assert 0 <= losses['unsup_pseudo_acc'] <= 1
    assert 'unsup_mix_pseudo_acc' in losses


def test_telemetry_hooks_get_pictures_and_class_counts():
    model = build()
    model.train()
    model.record_vis, model.record_class_stats = True, True
    inputs, samples = real_batch()
    model.loss(inputs, samples)
    titles = [p[0] for p in model.last_vis['panels']]
    assert 'pseudo-label' in titles and 'ground truth' in titles
    assert model.last_class_counts is not None


# --------------------------------------------------------------------------
# teacher-free mode
def test_teacher_free_builds_one_network_and_predicts_with_it():
    from mmseg.registry import MODELS
    model = build()
    plain = MODELS.build(copy.deepcopy(TINY_SEGMENTOR))
    count = sum(p.numel() for p in model.parameters())
    assert count == sum(p.numel() for p in plain.parameters())
    assert not hasattr(model, 'teacher')
    assert all(k.startswith('student.') for k in model.state_dict())
    model.eval()
    x = torch.randn(2, 3, 32, 32)
    got = model.predict(x, [make_sample(size=(32, 32)) for _ in range(2)])
    want = model.student.predict(
        x, [make_sample(size=(32, 32)) for _ in range(2)])
    for a, b in zip(got, want):
        torch.testing.assert_close(a.seg_logits.data, b.seg_logits.data)
    with pytest.raises(ValueError, match='teacher-free'):
        from mmengine.config import ConfigDict
        seg = copy.deepcopy(TINY_SEGMENTOR)
        MODELS.build(
            ConfigDict(
                type='UniMatchSegmentor',
                segmentor=seg,
                semi_test_cfg=dict(predict_on='teacher')))


def test_teacher_free_checkpoint_round_trip_and_plain_checkpoint():
    from mmseg.registry import MODELS
    model = build()
    model.train()
    inputs, samples = real_batch()
    sum(v for k, v in model.loss(inputs, samples).items()
        if 'loss' in k).backward()  # BN statistics move away from init
    state = {k: v.clone() for k, v in model.state_dict().items()}
    other = build()
    other.load_state_dict(state, strict=True)
    for k, v in other.state_dict().items():
        assert torch.equal(v, state[k]), k
    # a plain mmseg checkpoint initialises the student
    plain = MODELS.build(copy.deepcopy(TINY_SEGMENTOR))
    fresh = build()
    fresh.load_state_dict(plain.state_dict(), strict=True)
    for k, v in plain.state_dict().items():
        assert torch.equal(fresh.state_dict()['student.' + k], v), k


def test_mean_teacher_hook_refuses_a_teacher_free_model():
    from mmsss.engine.hooks import MeanTeacherHook
    runner = SimpleNamespace(model=build('FixMatchSegmentor'), iter=0)
    with pytest.raises(TypeError, match='teacher-free'):
        MeanTeacherHook().before_train(runner)


# --------------------------------------------------------------------------
# CutMix partners, boxes, padding
def test_mix_partners_never_the_same_image_when_avoidable():
    model = build(mix_partner='other_image')
    size = (4, 4)
    t = [unlabeled(p, size) for p in ('a', 'b', 'c')]
    m = [unlabeled(p, size) for p in ('a', 'b', 'x')]
    pair = model.mix_partners(t, m, 'cpu').tolist()
    for i, j in enumerate(pair):
        assert m[j].img_path != t[i].img_path
    assert pair[2] == 2  # no collision: the aligned mix image
    # only the same image available: kept (and warned), never an error
    assert model.mix_partners([t[0]], [m[0]], 'cpu').tolist() == [0]


def test_official_same_image_pairing_is_the_default():
    model = build()
    assert model.semi_train_cfg['mix_partner'] == 'same_image'
    size = (4, 4)
    t = [unlabeled(p, size) for p in ('a', 'b', 'c')]
    # the sampler's same_order_as: the mix batch repeats the unlabeled one
    same = [unlabeled(p, size) for p in ('a', 'b', 'c')]
    assert model.mix_partners(t, same, 'cpu').tolist() == [0, 1, 2]
    # another order means the sampler is not set for it: a clear error
    other = [unlabeled(p, size) for p in ('b', 'a', 'c')]
    with pytest.raises(ValueError, match='same_order_as'):
        model.mix_partners(t, other, 'cpu')
    with pytest.raises(ValueError, match='mix_partner'):
        build(mix_partner='itself')


def test_rejection_boxes_follow_the_official_distribution():
    from mmsss.models.utils import box_masks, rejection_cutmix_boxes
    h, w = 21, 30
    g = torch.Generator().manual_seed(0)
    boxes, trigger = rejection_cutmix_boxes(
        2000, (h, w), prob=0.5, generator=g)
    assert abs(trigger.float().mean().item() - 0.5) < 0.05
    on = boxes[trigger]
    assert (boxes[~trigger] == 0).all()
    y1, x1, y2, x2 = on.unbind(1)
    assert (y1 >= 0).all() and (x1 >= 0).all()
    assert (y2 <= h).all() and (x2 <= w).all()
    area = (y2 - y1) * (x2 - x1)
    assert (area > 0).all() and (area <= 0.4 * h * w).all()
    masks = box_masks(boxes, (h, w))
    assert torch.equal(masks.flatten(1).sum(1)[trigger], area)
    # the same generator state gives the same boxes
    g2 = torch.Generator().manual_seed(0)
    again, _ = rejection_cutmix_boxes(2000, (h, w), generator=g2)
    assert torch.equal(again, boxes)


def test_padding_needs_a_distinct_placeholder():
    model = build()
    size = (4, 4)
    ok = model.non_padding(
        [unlabeled('a', size, pad=torch.eye(4, dtype=torch.bool))], size)
    assert torch.equal(ok[0], ~torch.eye(4, dtype=torch.bool))
    bad = make_sample(size=size)  # placeholder 255 = padding everywhere
    with pytest.raises(ValueError, match='ignore_index=254'):
        model.non_padding([bad], size)


def test_missing_branch_is_named():
    model = build()
    inputs, samples = real_batch(strong=1)
    with pytest.raises(KeyError, match='unsup_strong2'):
        model.loss(inputs, samples)
