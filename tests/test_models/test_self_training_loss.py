"""DARS loss normalisation: with the DARS configs, each branch's loss
(labeled, pseudo-labeled; decode and auxiliary heads) is a mean over that
branch's own valid pixels, as the official
``nn.CrossEntropyLoss(ignore_index=255)`` per batch (CVMI-Lab/DARS
tool/train.py line 170, tool/train_func.py lines 91-120), checked against a
hand computation with different ignored fractions in the two branches."""
import glob
import os.path as osp

import pytest
import torch
import torch.nn.functional as F

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DARS_CONFIGS = sorted(
    glob.glob(osp.join(ROOT, 'configs/dars/*.py')) +
    glob.glob(osp.join(ROOT, 'configs/dars/ablation/*.py')))


@pytest.fixture(autouse=True)
def _scope():
    from mmengine.registry import init_default_scope
    import mmsss  # noqa: F401
    init_default_scope('mmseg')


def _samples(labels):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    out = []
    for lab in labels:
        s = SegDataSample()
        size = tuple(lab.shape)
        s.set_metainfo(dict(img_shape=size, ori_shape=size, pad_shape=size))
        s.gt_sem_seg = PixelData(data=lab[None])
        out.append(s)
    return out


def _labels(n, size, num_classes, ignored, seed):
    """Random labels with a fraction ``ignored`` of 255 pixels."""
    g = torch.Generator().manual_seed(seed)
    lab = torch.randint(0, num_classes, (n, *size), generator=g)
    lab[torch.rand(n, *size, generator=g) < ignored] = 255
    return lab


def _valid_mean_ce(logits, labels):
    """Hand computation: per-pixel CE of the logits bilinearly resized to
    the labels, summed over the valid pixels, divided by their number."""
    logits = F.interpolate(
        logits, size=labels.shape[-2:], mode='bilinear', align_corners=False)
    logp = logits.log_softmax(1)
    valid = labels != 255
    picked = logp.gather(1, labels.clamp(max=logits.shape[1] - 1)[:, None])
    return -(picked[:, 0][valid]).sum() / valid.sum()


@pytest.mark.parametrize('config,size', [
    ('configs/dars/synthetic_1-8.py', (64, 64)),
    ('configs/dars/cityscapes_1-8_pspnet50_713.py', (33, 41)),
])
def test_each_branch_is_a_mean_over_its_own_valid_pixels(config, size):
    from mmengine.config import Config
    from mmseg.registry import MODELS
    cfg = Config.fromfile(osp.join(ROOT, config))
    cfg.model.pop('pretrained', None)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.eval()  # BN on running statistics: branches independent of batch
    nc = model.decode_head.num_classes
    x_l, x_p = torch.randn(2, 3, *size), torch.randn(3, 3, *size)
    lab_l = _labels(2, size, nc, ignored=0.1, seed=1)
    lab_p = _labels(3, size, nc, ignored=0.7, seed=2)
    frac_l = float((lab_l != 255).float().mean())
    frac_p = float((lab_p != 255).float().mean())
    assert frac_l > 0.85 and frac_p < 0.35
    with torch.no_grad():
        losses = model.loss({
            'sup': x_l,
            'pseudo': x_p
        }, {
            'sup': _samples(lab_l),
            'pseudo': _samples(lab_p)
        })
        heads = [('decode', model.decode_head, 1.0)]
        if model.with_auxiliary_head:
            heads.append(('aux', model.auxiliary_head, 0.4))
        for prefix, x, lab in (('sup_', x_l, lab_l), ('unsup_', x_p, lab_p)):
            feats = model.extract_feat(x)
            for name, head, weight in heads:
                want = weight * _valid_mean_ce(head.forward(feats), lab)
                got = losses[f'{prefix}{name}.loss_ce']
                torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
                # the all-pixel mean would differ by the valid fraction
                frac = frac_l if prefix == 'sup_' else frac_p
                assert abs(float(got) - float(want) * frac) > 0.05 * float(
                    want)
    assert model.with_auxiliary_head == ('pspnet' in config)


@pytest.mark.parametrize(
    'path', DARS_CONFIGS, ids=lambda p: osp.relpath(p, ROOT))
def test_dars_configs_use_the_official_loss_lr_and_flip(path):
    """Every DARS config: valid-pixel means on every CE loss, the official
    lr schedule (but the restart ablations), logit-space flip averaging in
    pseudo-labelling; evaluation with the softmax of each window and its
    flip averaged (official windows; the synthetic configs: a flip TTA)."""
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    heads = [cfg.model.decode_head]
    if cfg.model.get('auxiliary_head'):
        heads.append(cfg.model.auxiliary_head)
    for head in heads:
        losses = head.loss_decode
        for loss in losses if isinstance(losses, list) else [losses]:
            if loss.type == 'CrossEntropyLoss':
                assert loss.get('avg_non_ignore') is True, path
    want = 'restart' if 'restart-lr' in path else 'extend'
    assert cfg.train_cfg.lr_schedule == want
    [hook] = [h for h in cfg.custom_hooks
              if h.type == 'PseudoLabelRoundHook']
    if 'synthetic' not in path:
        # the windows flip themselves (slide_official), the generator
        # averages their logits (gen_pseudo_label_utils.py:70-127)
        assert cfg.model.test_cfg.mode == 'slide_official'
        assert cfg.model.test_cfg.flip is True
        assert hook.generator.flip is False
        assert hook.generator.test_cfg == dict(average='logits')
        assert 'tta_pipeline' not in cfg
        return
    assert hook.generator.flip is True
    assert hook.generator.flip_average == 'logits'
    assert cfg.tta_model.type == 'SegTTAModel'
    tta = cfg.tta_pipeline[1]
    assert tta.type == 'TestTimeAug'
    assert [t.prob for t in tta.transforms[0]] == [0., 1.]


def test_flip_tta_of_a_dars_config_averages_softmax(synthetic_voc_root):
    """``tools/test.py --tta`` with a DARS config: the image and its flip,
    softmax averaged (the official evaluation, CVMI-Lab/DARS tool/test.py
    lines 332-342, up to mmseg's per-image rather than per-window softmax),
    against the two views predicted one by one."""
    from mmengine.config import Config
    from mmengine.dataset import Compose, pseudo_collate
    from mmseg.registry import MODELS

    from mmsss.engine.hooks.data_check_hook import _heads
    cfg = Config.fromfile(osp.join(ROOT, 'configs/dars/synthetic_1-8.py'))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():  # random weights, but logits far from uniform
        model.decode_head.conv_seg.weight.normal_(0, 200.)
    tta = MODELS.build(dict(cfg.tta_model, module=model))
    assert [w for w, _ in _heads(tta)] == ['model.decode_head']
    pipeline = Compose(cfg.tta_pipeline)
    name = 'train_000000'
    sample = pipeline(
        dict(
            img_path=osp.join(synthetic_voc_root, 'JPEGImages',
                              name + '.jpg'),
            seg_map_path=osp.join(synthetic_voc_root, 'SegmentationClass',
                                  name + '.png'),
            reduce_zero_label=False,
            seg_fields=[]))
    batch = pseudo_collate([sample])
    assert len(batch['inputs']) == 2  # the image and its flip
    with torch.no_grad():
        [merged] = tta.test_step(batch)
        views = [
            model.test_step(dict(inputs=i, data_samples=s))[0]
            for i, s in zip(batch['inputs'], batch['data_samples'])
        ]
    flips = [v.metainfo.get('flip') for v in views]
    assert flips == [False, True]
    logits = [v.seg_logits.data for v in views]
    assert (logits[0] - logits[1]).abs().max() > 0.5
    want = (logits[0].softmax(0) + logits[1].softmax(0)).argmax(0)
    assert torch.equal(merged.pred_sem_seg.data[0], want)
    assert not torch.equal(want, logits[0].argmax(0))  # the flip counts
