"""UniMatch V2 segmentor: Complementary Dropout, the in-batch CutMix pairing
of the official code, the loss against a hand computation and the EMA decay
schedule (official LiheYoung/UniMatch-V2 unimatch_v2.py, model/semseg/
dpt.py)."""
import copy
import math

import pytest
import torch
import torch.nn.functional as F

from tests._tiny import NUM_CLASSES, TINY_SEGMENTOR, make_sample


@pytest.fixture(autouse=True)
def _scope():
    from mmengine.registry import init_default_scope
    import mmsss  # noqa: F401
    init_default_scope('mmseg')
    torch.manual_seed(0)


def tiny_v2_segmentor():
    """The tiny ResNet with ONE encoder tap (64 channels) and a plain FCN
    head without dropout or BN: every random draw of a step is the
    segmentor's own."""
    seg = copy.deepcopy(TINY_SEGMENTOR)
    seg['backbone']['out_indices'] = (3, )
    seg['decode_head'] = dict(
        type='FCNHead',
        in_channels=64,
        in_index=0,
        channels=8,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.,
        num_classes=NUM_CLASSES,
        norm_cfg=None,
        align_corners=True,
        # official nn.CrossEntropyLoss(ignore_index=255): mean over the
        # labeled pixels (configs/*.yaml criterion)
        loss_decode=dict(type='CrossEntropyLoss',
                         use_sigmoid=False,
                         loss_weight=1.0,
                         avg_non_ignore=True))
    return seg


def build(**semi_train_cfg):
    from mmengine.config import ConfigDict
    from mmseg.registry import MODELS
    seg = tiny_v2_segmentor()
    return MODELS.build(
        ConfigDict(type='UniMatchV2Segmentor',
                   segmentor=seg,
                   data_preprocessor=dict(
                       type='MultiBranchSegDataPreProcessor',
                       data_preprocessor=seg['data_preprocessor']),
                   semi_train_cfg=semi_train_cfg))


# --------------------------------------------------------------------------
# Complementary Dropout
@pytest.mark.parametrize('num', [4, 5])
def test_complementary_masks_official_p(num):
    from mmsss.models.segmentors.unimatch_v2 import \
        complementary_dropout_masks
    torch.manual_seed(1)
    masks = complementary_dropout_masks(num, 64)
    m1, m2 = masks[:num], masks[num:]
    assert masks.shape == (2 * num, 64)
    kept = (m1 == 1).all(dim=1)
    # official: int(bs // 2 * (1 - 0.5)) images unperturbed (dpt.py:154)
    assert int(kept.sum()) == int(num * 0.5)
    assert torch.equal(m2[kept], torch.ones_like(m2[kept]))
    perturbed = ~kept
    # m1 = 2 · Binomial(0.5), m2 = 2 − m1: each channel in exactly one view
    for i in perturbed.nonzero().flatten().tolist():
        for c in range(64):
            a, b = float(m1[i, c]), float(m2[i, c])
            assert (a, b) in ((2., 0.), (0., 2.)), (i, c, a, b)
        # a fair coin per channel: both values occur
        assert 0 < int((m1[i] == 2).sum()) < 64


def test_complementary_masks_general_p_and_ratio():
    from mmsss.models.segmentors.unimatch_v2 import \
        complementary_dropout_masks
    torch.manual_seed(2)
    num, p = 8, 0.25
    masks = complementary_dropout_masks(num, 400, p=p, image_ratio=0.75)
    m1, m2 = masks[:num], masks[num:]
    kept = (m1 == 1).all(dim=1) & (m2 == 1).all(dim=1)
    assert int(kept.sum()) == int(num * 0.25)
    for i in (~kept).nonzero().flatten().tolist():
        on1, on2 = m1[i] > 0, m2[i] > 0
        assert torch.equal(on1, ~on2)  # complementary
        assert torch.allclose(m1[i][on1], torch.tensor(1 / (1 - p)))
        assert torch.allclose(m2[i][on2], torch.tensor(1 / p))
        # drop rate of the first view near p (400 channels)
        assert abs(float((~on1).float().mean()) - p) < 0.12
    # nothing perturbed with image_ratio 0; everything with 1
    assert torch.equal(complementary_dropout_masks(3, 5, image_ratio=0.),
                       torch.ones(6, 5))
    assert not (complementary_dropout_masks(3, 5, image_ratio=1.)
                == 1).all(dim=1).any()
    for bad in (dict(p=0.), dict(p=1.), dict(image_ratio=1.5)):
        with pytest.raises(ValueError, match='complementary_dropout'):
            complementary_dropout_masks(2, 2, **bad)


def test_complementary_dropout_shared_by_taps_off_in_eval():
    from mmsss.models.segmentors.unimatch_v2 import \
        complementary_dropout_masks
    model = build()
    model.train()
    n, c = 3, 16  # three images, two strong views each
    feats = [torch.randn(2 * n, c, s, s) + 3. for s in (5, 5, 3, 2)]
    torch.manual_seed(7)
    out = model.complementary_dropout(feats)
    torch.manual_seed(7)
    ref = complementary_dropout_masks(n, c)
    for f, o in zip(feats, out):
        # one mask per (image, channel), the same for every tap and token
        assert torch.equal(o, f * ref[:, :, None, None])
    # the first view of an image keeps exactly the channels the second drops
    ratio = out[0][:, :, 0, 0] / feats[0][:, :, 0, 0]
    kept = (ratio[:n] == 1).all(dim=1)
    assert int(kept.sum()) == 1
    assert torch.equal((ratio[:n][~kept] > 0), ~(ratio[n:][~kept] > 0))
    # the unperturbed image is unperturbed in both views
    assert torch.equal(out[1][:n][kept], feats[1][:n][kept])
    assert torch.equal(out[1][n:][kept], feats[1][n:][kept])
    # off in eval, and off by config
    model.eval()
    assert all(o is f
               for o, f in zip(model.complementary_dropout(feats), feats))
    off = build(complementary_dropout=None)
    off.train()
    assert all(o is f for o, f in zip(off.complementary_dropout(feats), feats))
    model.train()
    with pytest.raises(ValueError, match='same number of channels'):
        model.complementary_dropout([feats[0], feats[0][:, :8]])
    with pytest.raises(ValueError, match='even batch'):
        model.complementary_dropout([feats[0][:5]])
    with pytest.raises(ValueError, match='complementary_dropout.p'):
        build(complementary_dropout=dict(p=1.5))
    # misspelt keys are named, not ignored
    with pytest.raises(ValueError, match=r"\['conf_threshold'\]"):
        build(conf_threshold=0.9)
    with pytest.raises(ValueError,
                       match=r"complementary_dropout keys "
                       r"\['prob'\]"):
        build(complementary_dropout=dict(prob=0.5))


# --------------------------------------------------------------------------
# in-batch CutMix pairing
@pytest.mark.parametrize('num', [1, 2, 4, 5])
def test_cutmix_pairing_is_the_official_flip(num):
    from mmsss.models.segmentors.unimatch import _paste
    from mmsss.models.segmentors.unimatch_v2 import mirrored_partners
    pair = mirrored_partners(num)
    assert pair.tolist() == [num - 1 - i for i in range(num)]
    g = torch.Generator().manual_seed(num)
    img = torch.randn(num, 3, 6, 7, generator=g)
    box = torch.rand(num, 6, 7, generator=g) > 0.5
    label = torch.randint(0, 5, (num, 6, 7), generator=g)
    # the official statement, verbatim in effect (unimatch_v2.py:175,184)
    off_img = img.clone()
    b = box.long()
    off_img[b.unsqueeze(1).expand(img.shape) == 1] = img.flip(0)[b.unsqueeze(
        1).expand(img.shape) == 1]
    off_label = label.clone()
    off_label[b == 1] = label.flip(0)[b == 1]
    assert torch.equal(_paste(box, img, img[pair]), off_img)
    assert torch.equal(_paste(box, label, label[pair]), off_label)


# --------------------------------------------------------------------------
# the loss, by hand
def _ce(logits, y, x, label):
    """Cross-entropy of one pixel, by hand."""
    v = [float(logits[c, y, x]) for c in range(logits.shape[0])]
    m = max(v)
    return -(v[label] - m - math.log(sum(math.exp(a - m) for a in v)))


def test_loss_against_hand_computation(monkeypatch):
    """Three unlabeled images (odd: the middle one is its own partner),
    padding in two of them, unconfident pixels, a box in each strong view,
    Complementary Dropout on."""
    from mmsss.models.segmentors.unimatch_v2 import \
        complementary_dropout_masks
    model = build()
    model.train()
    n_l, n_u, size = 2, 3, (16, 16)
    g = torch.Generator().manual_seed(3)
    x_l = torch.randn(n_l, 3, *size, generator=g)
    lab = torch.randint(0, NUM_CLASSES, (n_l, 1, *size), generator=g)
    lab[0, 0, :4] = 255
    x_w = torch.randn(n_u, 3, *size, generator=g)
    x_s = [torch.randn(n_u, 3, *size, generator=g) for _ in range(2)]
    # padding: image 0 bottom 5 rows, image 2 right 6 columns
    pad = torch.zeros(n_u, *size, dtype=torch.bool)
    pad[0, -5:, :] = True
    pad[2, :, -6:] = True
    gt_u = torch.randint(0, NUM_CLASSES, (n_u, 1, *size), generator=g)
    samples_u = []
    for i in range(n_u):
        m = torch.full((1, *size), 254, dtype=torch.long)
        m[0][pad[i]] = 255
        samples_u.append(make_sample(m, analysis=gt_u[i], size=size))
    inputs = dict(sup=x_l,
                  unsup_weak=x_w,
                  unsup_strong1=x_s[0],
                  unsup_strong2=x_s[1])
    samples = dict(sup=[make_sample(lab[i], size=size) for i in range(n_l)],
                   unsup_weak=samples_u,
                   unsup_strong1=samples_u,
                   unsup_strong2=samples_u)
    # teacher logits: sharp (confident) on the left half, flat on the right
    t_logits = torch.randn(n_u, NUM_CLASSES, *size, generator=g)
    t_logits[..., :8] *= 8.
    t_logits[..., 8:] *= 0.5
    monkeypatch.setattr(model, 'logits_of', lambda m, x: t_logits.clone())
    # boxes: view 1 boxes images 0 and 2, view 2 boxes image 1 (itself)
    # and image 2 (partner 0 and its padding rows)
    boxes = [torch.zeros(n_u, *size, dtype=torch.bool) for _ in range(2)]
    boxes[0][0, 2:9, 3:12] = True
    boxes[0][2, 0:6, 0:16] = True
    boxes[1][1, 4:12, 4:12] = True
    boxes[1][2, 10:16, 5:14] = True
    calls = iter(boxes)
    monkeypatch.setattr(model, 'cutmix_masks', lambda num, sz, dev:
                        (next(calls), None))

    model.record_vis = True  # what PseudoLabelVisHook sets on its steps
    torch.manual_seed(11)
    losses = model.loss(inputs, samples)

    # ---- reference, written as plain loops ----
    partner = [2, 1, 0]
    prob = t_logits.softmax(dim=1)
    conf, pl = prob.max(dim=1)
    views = []
    for k in range(2):
        v = x_s[k].clone()
        for i in range(n_u):
            for y in range(size[0]):
                for x in range(size[1]):
                    if boxes[k][i, y, x]:
                        v[i, :, y, x] = x_s[k][partner[i], :, y, x]
        views.append(v)
    with torch.no_grad():
        feats = model.student.extract_feat(torch.cat(views))
        torch.manual_seed(11)
        drop = complementary_dropout_masks(n_u, 64)
        feats = [f * drop[:, :, None, None] for f in feats]
        logits = F.interpolate(model.student.decode_head.forward(feats),
                               size,
                               mode='bilinear',
                               align_corners=True)
        ref_sup = F.cross_entropy(F.interpolate(
            model.student.decode_head.forward(model.student.extract_feat(x_l)),
            size,
            mode='bilinear',
            align_corners=True),
                                  lab.squeeze(1),
                                  ignore_index=255)
    seen_unconfident = seen_padding = 0
    for k in range(2):
        total, count = 0., 0
        for i in range(n_u):
            for y in range(size[0]):
                for x in range(size[1]):
                    src = partner[i] if boxes[k][i, y, x] else i
                    if pad[src, y, x]:
                        seen_padding += 1
                        continue
                    count += 1
                    if conf[src, y, x] < 0.95:
                        seen_unconfident += 1
                        continue
                    total += _ce(logits[k * n_u + i], y, x, int(pl[src, y, x]))
        ref = 0.5 * 1.0 / 2 * total / count
        assert math.isclose(float(losses[f'unsup_loss_s{k + 1}']),
                            ref,
                            rel_tol=1e-5), (k, ref)
    assert seen_unconfident > 0 and seen_padding > 0
    assert math.isclose(float(losses['sup_decode.loss_ce']),
                        0.5 * float(ref_sup),
                        rel_tol=1e-5)
    # logged: confident among non-padding weak pixels; boxes from another
    # image (image 1 of view 2 pastes itself)
    valid = ~pad
    assert math.isclose(float(losses['unsup_conf_ratio']),
                        float(((conf >= 0.95) & valid).sum() / valid.sum()),
                        rel_tol=1e-6)
    assert math.isclose(float(losses['unsup_cutmix_rate_s1']),
                        2 / 3,
                        rel_tol=1e-6)
    assert math.isclose(float(losses['unsup_cutmix_rate_s2']),
                        1 / 3,
                        rel_tol=1e-6)
    assert 'unsup_pseudo_acc' in losses
    # pictures of view 1: its mixed pseudo-label, ignored where not kept,
    # and the analysis ground truth mixed with the same box
    panels = {title: data for title, _, data in model.last_vis['panels']}
    for i in range(2):
        for y, x in ((3, 4), (0, 15), (15, 0)):
            src = partner[i] if boxes[0][i, y, x] else i
            want = int(pl[src, y, x]) if (not pad[src, y, x]
                                          and conf[src, y, x] >= 0.95) else 255
            assert int(panels['pseudo-label'][i, y, x]) == want
            assert int(panels['ground truth'][i, y, x]) == int(gt_u[src, 0, y,
                                                                    x])


def test_step_errors():
    model = build()
    model.train()
    size = (16, 16)
    inputs = dict(sup=torch.randn(1, 3, *size),
                  unsup_weak=torch.randn(2, 3, *size))
    with pytest.raises(KeyError, match='unsup_strong1'):
        model.loss(inputs, dict(sup=[], unsup_weak=[]))
    model.set_sup_only(True)
    with pytest.raises(ValueError, match='warm-up'):
        model.loss(inputs, dict(sup=[], unsup_weak=[]))
    assert type(model).iteration_seed_per_rank is True
    assert model.with_teacher and hasattr(model, 'teacher')
    assert model.semi_test_cfg['predict_on'] == 'teacher'


# --------------------------------------------------------------------------
# EMA: min(1 - 1/(t+1), 0.996) over parameters and buffers
def test_ema_decay_schedule_and_update():
    from mmsss.engine.hooks import MeanTeacherHook
    hook = MeanTeacherHook(decay_schedule='imas', max_decay=0.996)
    official = [min(1 - 1 / (t + 1), 0.996) for t in (0, 1, 2, 249, 10**6)]
    ours = [hook.decay_at(t) for t in (0, 1, 2, 249, 10**6)]
    assert ours == pytest.approx(official, abs=1e-12)
    assert ours[0] == 0. and ours[1] == 0.5 and ours[-1] == 0.996
    model = build()
    with torch.no_grad():
        for p in model.student.parameters():
            p.add_(torch.randn_like(p))
        for name, b in model.student.named_buffers():
            if b.dtype.is_floating_point:
                b.add_(torch.rand_like(b))
    before_p = {k: v.clone() for k, v in model.teacher.named_parameters()}
    before_b = {k: v.clone() for k, v in model.teacher.named_buffers()}
    hook.ema_update(model, hook.decay_at(1))
    student_p = dict(model.student.named_parameters())
    student_b = dict(model.student.named_buffers())
    for k, t in model.teacher.named_parameters():
        assert torch.allclose(t, 0.5 * before_p[k] + 0.5 * student_p[k])
    checked = 0
    for k, t in model.teacher.named_buffers():
        if t.dtype.is_floating_point:
            checked += 1
            assert torch.allclose(t, 0.5 * before_b[k] + 0.5 * student_b[k])
    assert checked > 0


# --------------------------------------------------------------------------
# FixMatch of the V2 repository: num_strong_views=1, no Complementary
# Dropout (fixmatch.py:164-193)
def test_fixmatch_switches_against_hand_computation(monkeypatch):
    """One strong view, no dropout: L = (L_x + L_s) / 2 with the in-batch
    flip(0) box (fixmatch.py:176-193); no second view is read."""
    model = build(num_strong_views=1, complementary_dropout=None)
    model.train()
    assert model.strong_names == ['strong1']
    n_l, n_u, size = 2, 4, (16, 16)
    g = torch.Generator().manual_seed(5)
    x_l = torch.randn(n_l, 3, *size, generator=g)
    lab = torch.randint(0, NUM_CLASSES, (n_l, 1, *size), generator=g)
    x_w = torch.randn(n_u, 3, *size, generator=g)
    x_s = torch.randn(n_u, 3, *size, generator=g)
    pad = torch.zeros(n_u, *size, dtype=torch.bool)
    pad[3, -4:, :] = True
    samples_u = []
    for i in range(n_u):
        m = torch.full((1, *size), 254, dtype=torch.long)
        m[0][pad[i]] = 255
        samples_u.append(make_sample(m, size=size))
    # no unsup_strong2 branch: FixMatch packs one strong view
    inputs = dict(sup=x_l, unsup_weak=x_w, unsup_strong1=x_s)
    samples = dict(sup=[make_sample(lab[i], size=size) for i in range(n_l)],
                   unsup_weak=samples_u,
                   unsup_strong1=samples_u)
    t_logits = torch.randn(n_u, NUM_CLASSES, *size, generator=g)
    t_logits[..., :9] *= 8.
    t_logits[..., 9:] *= 0.5
    monkeypatch.setattr(model, 'logits_of', lambda m, x: t_logits.clone())
    box = torch.zeros(n_u, *size, dtype=torch.bool)
    box[0, 1:8, 2:10] = True  # from image 3 (its padding rows not reached)
    box[3, 9:16, 0:7] = True  # from image 0, over image 3's padding
    calls = []
    monkeypatch.setattr(model, 'cutmix_masks', lambda num, sz, dev:
                        (calls.append(num) or box, None))
    losses = model.loss(inputs, samples)
    assert calls == [n_u]  # one box per image, one view
    assert 'unsup_loss_s2' not in losses

    # reference: plain loops, no dropout on the features
    partner = [3, 2, 1, 0]
    conf, pl = t_logits.softmax(dim=1).max(dim=1)
    view = x_s.clone()
    for i in range(n_u):
        for y in range(size[0]):
            for x in range(size[1]):
                if box[i, y, x]:
                    view[i, :, y, x] = x_s[partner[i], :, y, x]
    with torch.no_grad():
        logits = F.interpolate(model.student.decode_head.forward(
            model.student.extract_feat(view)),
                               size,
                               mode='bilinear',
                               align_corners=True)
    total, count, unconfident = 0., 0, 0
    for i in range(n_u):
        for y in range(size[0]):
            for x in range(size[1]):
                src = partner[i] if box[i, y, x] else i
                if pad[src, y, x]:
                    continue
                count += 1
                if conf[src, y, x] < 0.95:
                    unconfident += 1
                    continue
                total += _ce(logits[i], y, x, int(pl[src, y, x]))
    assert unconfident > 0 and count < n_u * size[0] * size[1]
    # (L_x + L_s) / 2: the unlabeled term weighted 1/2, not 1/4
    assert math.isclose(float(losses['unsup_loss_s1']),
                        0.5 * total / count,
                        rel_tol=1e-5)


def test_num_strong_views_errors():
    with pytest.raises(ValueError, match='complementary_dropout=None'):
        build(num_strong_views=1)
    with pytest.raises(ValueError, match='num_strong_views must be 1 or 2'):
        build(num_strong_views=3, complementary_dropout=None)
    assert build().strong_names == ['strong1', 'strong2']


def test_joint_pass_equals_two_passes_on_the_v2_network():
    """fixmatch.py:179 runs [x, u_s] in one pass, we run two: the same
    logits for the DINOv2 ViT + DPT head (no batch-dependent layer)."""
    from mmengine.config import Config
    from mmseg.registry import MODELS
    cfg = Config.fromfile('configs/unimatch_v2/synthetic_1-16.py')
    net = MODELS.build(cfg.model.segmentor)
    net.train()
    a, b = torch.randn(2, 3, 28, 42), torch.randn(3, 3, 28, 42)
    with torch.no_grad():
        joint = net.decode_head.forward(net.extract_feat(torch.cat([a, b])))
        apart = torch.cat([
            net.decode_head.forward(net.extract_feat(a)),
            net.decode_head.forward(net.extract_feat(b))
        ])
    assert torch.allclose(joint, apart, rtol=1e-5, atol=1e-6)
