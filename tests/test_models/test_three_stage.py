"""Three-stage multi-task network: which parameters the pseudo-mask branch
shares with f_θ (stage 2 ĝ vs stage 3 g̃), gradients of L_pl, the losses
against a hand-written reference, the plain f_θ checkpoint and the EMA
schedule."""
import copy

import pytest
import torch
import torch.nn.functional as F

from tests._tiny import NUM_CLASSES, TINY_SEGMENTOR, make_sample

SIZE = (32, 32)


def tiny_f_theta():
    seg = copy.deepcopy(TINY_SEGMENTOR)
    seg['decode_head'] = dict(
        type='ASPPV2Head',
        in_channels=64,
        in_index=3,
        dilations=(1, 2),
        dropout_ratio=0.,
        num_classes=NUM_CLASSES,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0))
    return seg


def build(aux='hat', **train_cfg):
    from mmengine.config import ConfigDict
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    import mmsss  # noqa: F401
    init_default_scope('mmseg')
    seg = tiny_f_theta()
    torch.manual_seed(0)
    model = MODELS.build(
        ConfigDict(
            type='ThreeStageSegmentor',
            segmentor=seg,
            aux_branch=None if aux is None else dict(type=aux),
            data_preprocessor=dict(
                type='MultiBranchSegDataPreProcessor',
                data_preprocessor=seg['data_preprocessor']),
            semi_train_cfg=train_cfg))
    model.init_weights()
    return model


def batch(n_l=2, n_u=2, seed=0, shift=3):
    """Preprocessed branches; the strong view is the weak one translated by
    ``shift`` columns (its index map says so), its pseudo-mask likewise."""
    from mmengine.structures import PixelData
    g = torch.Generator().manual_seed(seed)
    h, w = SIZE
    x_l = torch.randn(n_l, 3, h, w, generator=g)
    x_w = torch.randn(n_u, 3, h, w, generator=g)
    y_l = torch.randint(0, NUM_CLASSES, (n_l, 1, h, w), generator=g)
    pm_l = torch.randint(0, NUM_CLASSES, (n_l, 1, h, w), generator=g)
    pm_u = torch.randint(0, NUM_CLASSES, (n_u, 1, h, w), generator=g)
    pm_u[:, :, :2] = 255  # some unlabeled pixels in ŷ
    # B: out[:, j] = in[:, j - shift] for j >= shift, outside else
    x_s = torch.zeros_like(x_w)
    x_s[..., shift:] = x_w[..., :w - shift]
    pm_s = torch.full_like(pm_u, 255)
    pm_s[..., shift:] = pm_u[..., :w - shift]
    rows = torch.arange(h).view(h, 1).expand(h, w)
    cols = torch.arange(w).view(1, w).expand(h, w) - shift
    index = torch.stack([rows, cols])
    index[:, cols < 0] = -1
    s_l, s_w, s_s = [], [], []
    for i in range(n_l):
        s = make_sample(y_l[i], size=SIZE)
        s.gt_pseudo_mask = PixelData(data=pm_l[i])
        s_l.append(s)
    for i in range(n_u):
        s_w.append(make_sample(pm_u[i], size=SIZE))
        s = make_sample(pm_s[i], size=SIZE)
        s.strong_aug_index = PixelData(data=index.clone())
        s_s.append(s)
    inputs = dict(sup=x_l, unsup_weak=x_w, unsup_strong=x_s)
    samples = dict(sup=s_l, unsup_weak=s_w, unsup_strong=s_s)
    ref = dict(y_l=y_l[:, 0], pm_l=pm_l[:, 0], pm_s=pm_s[:, 0], shift=shift)
    return inputs, samples, ref


def grad_owners(model, loss):
    model.zero_grad()
    loss.backward()
    return {
        n
        for n, p in model.named_parameters()
        if p.grad is not None and p.grad.abs().sum() > 0
    }


def prefixes(names, prefixes):
    return {p for p in prefixes if any(n.startswith(p) for n in names)}


STEM = 'student.backbone.stem'
LAYERS = [f'student.backbone.layer{i}' for i in range(1, 5)]


@pytest.mark.parametrize('aux', ['hat', 'tilde'])
def test_branch_shares_exactly_the_paper_blocks(aux):
    model = build(aux, sup_weight=0., con_weight=0., pl_weight=1.)
    bb = model.student.backbone
    # own parameters: disjoint from f_θ's, named under aux_branch
    own = {id(p) for p in model.aux_branch.parameters()}
    assert not own & {id(p) for p in model.student.parameters()}
    assert not own & {id(p) for p in model.teacher.parameters()}
    names = {n.split('.')[0] for n, _ in model.aux_branch.named_parameters()}
    if aux == 'hat':
        assert names == {'layer', 'head'}
        # its own last stage with half the channels, same depth/dilation
        assert len(model.aux_branch.layer) == len(bb.layer4)
        out_ch = model.aux_branch.layer[-1].conv2.out_channels
        assert out_ch * 2 == bb.layer4[-1].conv2.out_channels
        assert model.aux_branch.head.in_channels == bb.feat_dim // 2
        assert model.aux_branch.layer[0].conv1.in_channels == \
            bb.layer4[0].conv1.in_channels
        assert [b.conv2.dilation for b in model.aux_branch.layer] == \
            [b.conv2.dilation for b in bb.layer4]
    else:
        assert names == {'head'}
        assert model.aux_branch.head.in_channels == bb.feat_dim

    inputs, samples, _ = batch()
    losses = model.loss(inputs, samples)
    assert set(losses) >= {'sup_decode.loss_ce', 'unsup_loss_con',
                           'unsup_loss_pl'}
    touched = grad_owners(model, losses['unsup_loss_pl'])
    shared = {STEM, *LAYERS[:3]} | ({LAYERS[3]} if aux == 'tilde' else set())
    hit = prefixes(touched, [STEM, *LAYERS, 'student.decode_head',
                             'teacher', 'aux_branch.layer',
                             'aux_branch.head'])
    expected = shared | {'aux_branch.head'}
    if aux == 'hat':
        expected.add('aux_branch.layer')
    # L_pl reaches exactly the shared blocks and the branch's own ones
    assert hit == expected


def test_consistency_loss_trains_f_theta_not_the_branch():
    model = build('hat', sup_weight=0., con_weight=1., pl_weight=0.)
    inputs, samples, _ = batch()
    losses = model.loss(inputs, samples)
    touched = grad_owners(model, losses['unsup_loss_con'])
    hit = prefixes(touched, [STEM, *LAYERS, 'student.decode_head',
                             'teacher', 'aux_branch'])
    assert hit == {STEM, *LAYERS, 'student.decode_head'}


def test_losses_match_a_reference():
    """L_seg, L_con (teacher argmax warped by B) and L_pl (B·ŷ) against an
    independent computation with a hand-made shift as B."""
    lam1, lam2, sup_w = 0.3, 0.7, 0.5
    model = build('hat', sup_weight=sup_w, con_weight=lam1, pl_weight=lam2)
    with torch.no_grad():  # teacher != student
        for p in model.teacher.parameters():
            p.add_(0.05 * torch.randn_like(p))
    model.train()
    inputs, samples, ref = batch()
    torch.manual_seed(1)
    losses = model.loss(inputs, samples)

    x_l, x_w, x_s = (inputs[k] for k in ('sup', 'unsup_weak', 'unsup_strong'))
    n_l = x_l.shape[0]
    model.train()
    with torch.no_grad():
        feats = model.student.extract_feat(torch.cat([x_l, x_s]))
        logits = F.interpolate(
            model.student.decode_head(feats), SIZE, mode='bilinear')
        aux = F.interpolate(model.aux_branch(feats), SIZE, mode='bilinear')
        model.teacher.eval()
        t = model.teacher.decode_head(
            model.teacher.extract_feat(torch.cat([x_l, x_w])))
        t = F.interpolate(t, SIZE, mode='bilinear').argmax(1)
    s = ref['shift']
    t_u = torch.full_like(t[n_l:], 255)
    t_u[..., s:] = t[n_l:, :, :SIZE[1] - s]  # B by hand
    con_t = torch.cat([t[:n_l], t_u])
    pl_t = torch.cat([ref['pm_l'], ref['pm_s']])
    ref_con = F.cross_entropy(logits, con_t, ignore_index=255)
    ref_pl = F.cross_entropy(aux, pl_t, ignore_index=255)
    ref_seg = F.cross_entropy(logits[:n_l], ref['y_l'], ignore_index=255)
    torch.testing.assert_close(losses['unsup_loss_con'], lam1 * ref_con,
                               rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(losses['unsup_loss_pl'], lam2 * ref_pl,
                               rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(losses['sup_decode.loss_ce'], sup_w * ref_seg,
                               rtol=1e-4, atol=1e-5)


def test_switches_and_plain_checkpoint():
    from mmseg.models.segmentors import EncoderDecoder
    from mmseg.registry import MODELS
    from mmengine.config import ConfigDict

    from mmsss.utils.export import plain_segmentor_state_dict
    inputs, samples, _ = batch()
    # λ1 = 0 (no teacher pass), λ2 = 0 / no branch, no strong augmentation
    m = build('tilde', con_weight=0.)
    assert float(m.loss(inputs, samples)['unsup_loss_con']) == 0.
    m = build(None)
    assert float(m.loss(inputs, samples)['unsup_loss_pl']) == 0.
    assert m.aux_branch is None
    m = build('hat', use_strong_aug=False, sup_weight=0., con_weight=0.)
    # without A the branch learns ŷ on the un-augmented view
    no_aug = m.loss(inputs, samples)['unsup_loss_pl']
    inputs2 = dict(inputs, unsup_strong=inputs['unsup_strong'] * 0 + 7)
    assert torch.equal(no_aug, m.loss(inputs2, samples)['unsup_loss_pl'])
    with pytest.raises(KeyError):
        build('hat', lambda1=0.5)
    with pytest.raises(ValueError):
        build('wide')
    # f_θ is an ordinary mmseg segmentor: the teacher exports to one
    state = plain_segmentor_state_dict(m.state_dict(), 'teacher')
    plain = MODELS.build(ConfigDict(tiny_f_theta()))
    assert isinstance(plain, EncoderDecoder)
    plain.load_state_dict(state, strict=True)
    assert not any(k.startswith('aux') for k in state)
    m.eval()
    x = torch.randn(1, 3, *SIZE)
    meta = [make_sample(size=SIZE)]
    plain.eval()
    torch.testing.assert_close(
        m.predict(x, copy.deepcopy(meta))[0].seg_logits.data,
        plain.predict(x, copy.deepcopy(meta))[0].seg_logits.data)


def test_multistep_ema_schedule():
    from mmsss.engine.hooks import MultiStepEMAHook
    hook = MultiStepEMAHook()  # official: per 1000-iteration epoch
    assert [hook.decay_at(i) for i in (0, 19999, 20000, 39999, 40000,
                                       49999, 50000, 59999)] == \
        [0.99, 0.99, 0.995, 0.995, 0.9975, 0.9975, 0.999, 0.999]
    with pytest.raises(ValueError):
        MultiStepEMAHook(decays=(0.9, 0.99), milestones=(5, 10))
    with pytest.raises(ValueError):
        MultiStepEMAHook(decays=(0.9, 1.0), milestones=(5, ))
    # "without EMA": the teacher is the student after every update
    model = build('hat')
    with torch.no_grad():
        for p in model.student.parameters():
            p.add_(1.)
    no_ema = MultiStepEMAHook(decays=(0., ), milestones=())
    no_ema.ema_update(model, no_ema.decay_at(5))
    for (n, t), s in zip(model.teacher.state_dict().items(),
                         model.student.state_dict().values()):
        assert torch.equal(t, s), n


# ---------------------------------------------------------------------------
# L_seg normalisation (official main.py:125,300-302: CrossEntropyLoss with
# ignore_index=255 averages over the valid pixels of the labeled images)


def _valid_mean_ce(logits, target, ignore=255):
    """Cross-entropy summed over the non-ignored pixels, divided by their
    number: the hand computation (no F.cross_entropy reduction)."""
    logp = torch.log_softmax(logits.double(), dim=1)
    valid = target != ignore
    safe = torch.where(valid, target, torch.zeros_like(target))
    nll = -logp.gather(1, safe[:, None])[:, 0]
    return nll[valid].sum() / valid.sum(), valid.double().mean()


def _with_ignored_labels(samples):
    """Make a third of image 0 (top rows) and a block of image 1 ignored."""
    h, w = SIZE
    y0 = samples['sup'][0].gt_sem_seg.data
    y0[:, :h // 3] = 255
    y1 = samples['sup'][1].gt_sem_seg.data
    y1[:, 5:20, 3:30] = 255
    return torch.cat([s.gt_sem_seg.data for s in samples['sup']])


@pytest.mark.parametrize('sup_w', [1.0, 0.5])
def test_supervised_loss_averages_over_valid_pixels(sup_w):
    """L_seg = sup_weight · Σ_valid CE / #valid over the labeled sub-batch,
    whatever the config's CrossEntropyLoss says (tiny_f_theta leaves mmseg's
    all-pixel default)."""
    model = build('hat', sup_weight=sup_w, con_weight=0., pl_weight=0.)
    model.train()
    inputs, samples, _ = batch()
    y_l = _with_ignored_labels(samples)
    losses = model.loss(inputs, samples)
    n_l = y_l.shape[0]
    with torch.no_grad():
        feats = model.student.extract_feat(
            torch.cat([inputs['sup'], inputs['unsup_strong']]))
        logits = F.interpolate(
            model.student.decode_head(feats)[:n_l], SIZE, mode='bilinear')
    ref, valid_frac = _valid_mean_ce(logits, y_l)
    assert 0.5 < float(valid_frac) < 0.8  # the case matters
    torch.testing.assert_close(
        losses['sup_decode.loss_ce'].double(), sup_w * ref,
        rtol=1e-4, atol=1e-6)
    # mmseg's default (mean over every pixel) would be valid_frac × smaller
    assert float(losses['sup_decode.loss_ce']) > \
        1.2 * sup_w * float(ref * valid_frac)


def test_supervised_loss_of_the_real_config_stage1_and_multitask(tmp_path):
    """The synthetic config: stage 1 (a plain EncoderDecoder, the official
    main.py:331) and stage 2 both average L_seg over the valid pixels."""
    import os.path as osp

    from mmengine.config import Config, ConfigDict
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    from mmsss.engine.runner.stages import build_stage_config
    import mmsss  # noqa: F401
    init_default_scope('mmseg')
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    cfg = Config.fromfile(
        osp.join(root, 'configs/three_stage/synthetic_1-8.py'))
    cfg.work_dir = str(tmp_path)
    size = (64, 64)
    g = torch.Generator().manual_seed(3)
    x = torch.randn(2, 3, *size, generator=g)
    y = torch.randint(0, 7, (2, 1, *size), generator=g)
    y[0, :, :40] = 255
    y[1, :, :, 50:] = 255
    samples = [make_sample(y[i].clone(), size=size) for i in range(2)]
    # stage 1
    torch.manual_seed(0)
    f = MODELS.build(ConfigDict(cfg.model.to_dict()))
    f.init_weights()
    f.train()
    loss = f.loss(x, [copy.deepcopy(s) for s in samples])['decode.loss_ce']
    with torch.no_grad():
        logits = F.interpolate(f.decode_head(f.extract_feat(x)), size,
                               mode='bilinear')
    ref, _ = _valid_mean_ce(logits, y[:, 0])
    torch.testing.assert_close(loss.double(), ref, rtol=1e-4, atol=1e-6)
    # stage 2: the multi-task model of the same config
    scfg = build_stage_config(cfg, 1, '/pm')
    torch.manual_seed(0)
    m = MODELS.build(scfg.model)
    m.init_weights()
    m.train()
    feats = m.student.extract_feat(x)
    out = m.student.decode_head.forward(feats)
    from mmsss.models.utils import head_losses
    loss2 = head_losses(m.student, feats, out,
                        [copy.deepcopy(s) for s in samples])['decode.loss_ce']
    with torch.no_grad():
        ref2, _ = _valid_mean_ce(
            F.interpolate(out, size, mode='bilinear'), y[:, 0])
    torch.testing.assert_close(loss2.double(), ref2, rtol=1e-4, atol=1e-6)


# ---------------------------------------------------------------------------
# ĝ's own last stage: the official layer4_2 (deeplab2.py:163,176-186,168-174)


def build_with_backbone(**backbone):
    """``build('hat')`` with backbone overrides (e.g. a Bottleneck ResNet or
    frozen BN as the real configs)."""
    from mmengine.config import ConfigDict
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    import mmsss  # noqa: F401
    init_default_scope('mmseg')
    seg = tiny_f_theta()
    seg['backbone'].update(backbone)
    if backbone.get('depth', 18) >= 50:
        seg['decode_head']['in_channels'] = 8 * 8 * 4
    torch.manual_seed(0)
    model = MODELS.build(
        ConfigDict(
            type='ThreeStageSegmentor',
            segmentor=seg,
            aux_branch=dict(type='hat'),
            data_preprocessor=dict(
                type='MultiBranchSegDataPreProcessor',
                data_preprocessor=seg['data_preprocessor'])))
    model.init_weights()
    return model


BACKBONES = {
    'basic': dict(),  # ResNet-18-like: BasicBlock, 32 -> 32 channels
    'bottleneck': dict(  # ResNet-50/101-like: Bottleneck, 128 -> 4·32
        depth=50,
        norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=True),
}


@pytest.mark.parametrize('kind', list(BACKBONES))
def test_hat_first_block_has_the_official_projection_shortcut(kind):
    model = build_with_backbone(**BACKBONES[kind])
    bb = model.student.backbone
    branch = model.aux_branch
    first = branch.layer[0]
    inplanes = bb.layer3[-1].conv1.in_channels if kind == 'basic' else \
        bb.layer3[-1].conv3.out_channels
    out = branch.in_channels
    # half width, same width in and out: mmseg's ResLayer adds no shortcut
    assert out * 2 == bb.feat_dim and inplanes == out
    conv, norm = first.downsample
    assert isinstance(conv, torch.nn.Conv2d) and conv.bias is None
    assert conv.kernel_size == (1, 1) and conv.stride == (1, 1)
    assert (conv.in_channels, conv.out_channels) == (inplanes, out)
    assert isinstance(norm, torch.nn.BatchNorm2d) and norm.num_features == out
    # the other blocks keep identity shortcuts
    assert all(b.downsample is None for b in list(branch.layer)[1:])
    # shapes: stage-3 features in, stage-4-sized (half width) features out
    x = torch.randn(2, 3, *SIZE)
    model.eval()
    with torch.no_grad():
        feats = model.student.extract_feat(x)
        x3 = feats[branch.feat_index]
        y = branch.layer(x3)
        assert y.shape == (2, out, *x3.shape[-2:])
        assert branch(feats).shape[:2] == (2, NUM_CLASSES)
        # the shortcut is the projection: with the residual path silenced
        # (last norm of the block → 0) the block is relu(downsample(x))
        last = first.norm3 if kind == 'bottleneck' else first.norm2
        last.weight.zero_()
        last.bias.zero_()
        torch.testing.assert_close(first(x3), F.relu(first.downsample(x3)))
    if kind == 'bottleneck':  # frozen BN as the backbone (official)
        model.train()
        assert not norm.training
        assert not any(p.requires_grad for p in norm.parameters())


@pytest.mark.parametrize('kind', list(BACKBONES))
def test_hat_stage_has_the_official_initialisation(kind):
    """Every convolution of ĝ's stage (the projection included) ~ N(0, 0.01²)
    and every BN weight 1 / bias 0 after init_weights (deeplab2.py:168-174);
    PyTorch's default would give std 1/sqrt(3·fan_in) (> 0.03 here)."""
    model = build_with_backbone(**BACKBONES[kind])
    convs = [m for m in model.aux_branch.layer.modules()
             if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 3 * len(model.aux_branch.layer) + 1 + \
        (-len(model.aux_branch.layer) if kind == 'basic' else 0)
    for conv in convs:
        w = conv.weight.detach()
        assert abs(float(w.mean())) < 2e-3
        assert 0.0085 < float(w.std()) < 0.0115, (conv, float(w.std()))
    norms = [m for m in model.aux_branch.layer.modules()
             if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(norms) == len(convs)
    for n in norms:
        assert torch.equal(n.weight, torch.ones_like(n.weight))
        assert torch.equal(n.bias, torch.zeros_like(n.bias))
    # f_θ's own stage keeps its own initialisation (not N(0, 0.01²))
    assert float(model.student.backbone.layer4[0].conv1.weight.std()) > 0.02


@pytest.mark.parametrize('aux', ['hat', 'tilde'])
def test_official_aspp_early_return_reaches_the_branch(aux):
    """The three-stage configs use the official Classifier_Module
    (deeplab2.py:126-130: the sum of the first two rates only) for f_θ,
    and ĝ/g̃ copy f_θ's head: every head sums its first two convolutions,
    checked against a hand sum."""
    from mmengine.config import ConfigDict
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    import mmsss  # noqa: F401
    init_default_scope('mmseg')
    seg = tiny_f_theta()
    seg['decode_head'].update(dilations=(1, 2, 3), official_early_return=True)
    model = MODELS.build(ConfigDict(
        type='ThreeStageSegmentor', segmentor=seg,
        aux_branch=dict(type=aux),
        data_preprocessor=dict(type='MultiBranchSegDataPreProcessor',
                               data_preprocessor=seg['data_preprocessor'])))
    model.init_weights()
    heads = [model.student.decode_head, model.aux_branch.head]
    for head in heads:
        assert head.dilations == (1, 2)
        x = torch.randn(1, head.in_channels, 6, 6)
        want = sum(
            F.conv2d(x, c.weight, c.bias, padding=d, dilation=d)
            for c, d in zip(head.aspp, (1, 2)))
        torch.testing.assert_close(head.forward([x] * 4), want)
