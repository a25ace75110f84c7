"""The DARS configs hold the values of their recipe table
(``configs/dars/README.md``, "Recipe", issue 16), so that a config cannot
drift from the official recipe without a test failing. Only parsing: no
model is built. Every config under ``configs/dars/`` must be
listed here.

Official values: repository CVMI-Lab/DARS, ``config/cityscapes/*.yaml``,
``config/voc2012/*.yaml`` (``train_*_round{0,1,2}.yaml`` and
``gen_pseudo_label_*_for_round{1,2}.yaml``), ``tool/scripts/*.sh``,
``tool/train.py``, ``tool/train_func.py``, ``model/deeplabv2.py``; the
official list sizes are those of ``data_split/*.txt``.

The last test reads the official split lists, when they are at
``../shared/splits/dars/`` next to the repository (they are not shipped),
with our dataset classes on a small tree generated in the real layout.
"""
import functools
import glob
import math
import os
import os.path as osp

import numpy as np
import pytest

from tests._recipe import network_of_variant

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DARS_DIR = osp.join(ROOT, 'configs', 'dars')
DARS_SPLITS = osp.join(ROOT, '..', 'shared', 'splits', 'dars')

# Sizes of the official lists (data_split/): labeled, unlabeled (=
# *_labeled_match_len.txt)
SIZES = {
    'cs8': (372, 2603),
    'cs4': (744, 2231),
    'voc': (1464, 9118),
}
DARS_LISTS = {
    'cs8': ('../splits/dars/cs_split8_labeled.txt',
            '../splits/dars/cs_split8_unlabeled.txt'),
    'cs4': ('../splits/dars/cs_split4_labeled.txt',
            '../splits/dars/cs_split4_unlabeled.txt'),
    'voc': ('../../splits/pascal/1464/labeled.txt',
            '../../splits/pascal/1464/unlabeled.txt'),
}

# The recipe table, one row per config. ``gpus`` x ``per_gpu``: the launch
# the config is written for (round 0: images per GPU; later rounds:
# (labeled, pseudo-labeled) per GPU); ``official_iters``: the iterations of
# the official rounds (epochs x the official loader's length with the
# yamls' GPUs and batches), which our conversion must give with our launch.
RECIPES = {
    'cityscapes_1-8_pspnet50_713': dict(
        yaml='train_psp50_cityscapes_split8_crop713',
        split='cs8', arch='pspnet', crop=713, lr=0.01,
        alphas=(0.4, 0.65),
        ranges=((0.5, 2.0), (0.5, 2.0), (0.5, 3.0)),
        epochs=(200, 200, 200),
        over=('labeled', 'unlabeled', 'unlabeled'),
        base_size=None, gpus=4, per_gpu=(4, (2, 2)),
        official_iters=(4600, 65000, 65000)),
    'cityscapes_1-4_pspnet50_713': dict(
        yaml='train_psp50_cityscapes_split4_crop713',
        split='cs4', arch='pspnet', crop=713, lr=0.01,
        alphas=(0.4, 0.65),
        ranges=((0.5, 2.0), (0.5, 2.0), (0.4, 2.5)),
        epochs=(200, 200, 200),
        over=('labeled', 'unlabeled', 'unlabeled'),
        base_size=None, gpus=4, per_gpu=(4, (2, 2)),
        official_iters=(9200, 55800, 55800)),
    'cityscapes_1-8_pspnet50_361': dict(
        yaml='train_psp50_cityscapes_split8_crop361',
        split='cs8', arch='pspnet', crop=361, lr=0.01,
        alphas=(0.2, 0.5),
        ranges=((0.25, 1.0), (0.25, 1.0), (0.2, 1.5)),
        epochs=(200, 200, 200),
        over=('labeled', 'unlabeled', 'unlabeled'),
        base_size=1024, gpus=4, per_gpu=(4, (2, 2)),
        official_iters=(4600, 65000, 65000)),
    'cityscapes_1-4_pspnet50_361': dict(
        yaml='train_psp50_cityscapes_split4_crop361',
        split='cs4', arch='pspnet', crop=361, lr=0.01,
        alphas=(0.4, 0.6),
        ranges=((0.25, 1.0), (0.25, 1.0), (0.2, 1.5)),
        epochs=(200, 200, 200),
        over=('labeled', 'unlabeled', 'unlabeled'),
        base_size=1024, gpus=4, per_gpu=(4, (2, 2)),
        official_iters=(9200, 55800, 55800)),
    'cityscapes_1-8_deeplabv2_r101_361': dict(
        yaml='train_deeplabv2_cityscapes_split8_crop361',
        split='cs8', arch='deeplabv2', crop=361, lr=0.002,
        alphas=(0.2, 0.45),
        ranges=((0.25, 1.0), (0.25, 1.0), (0.25, 1.0)),
        epochs=(200, 200, 200),
        # round 0 iterates over cs_split8_labeled_match_len.txt (2,603)
        over=('unlabeled', 'unlabeled', 'unlabeled'),
        base_size=1024, gpus=2, per_gpu=(8, (2, 2)),
        official_iters=(32400, 130200, 130200)),
    'voc_1464_pspnet50_321': dict(
        yaml='train_psp50_voc_split1464_crop321',
        split='voc', arch='pspnet', crop=321, lr=0.01,
        alphas=(0.4, 0.5),
        ranges=((0.5, 1.5), (0.5, 1.5), (0.5, 2.0)),
        epochs=(50, 50, 50),
        over=('labeled', 'unlabeled', 'unlabeled'),
        base_size=400, gpus=4, per_gpu=(4, (2, 2)),
        official_iters=(4550, 57000, 57000)),
    # not an official setting: voc_1464_pspnet50_321 with the DARS DeepLabV2
    'voc_1464_deeplabv2_r101_321': dict(
        yaml=None,
        split='voc', arch='deeplabv2', crop=321, lr=0.002,
        alphas=(0.4, 0.5),
        ranges=((0.5, 1.5), (0.5, 1.5), (0.5, 2.0)),
        epochs=(50, 50, 50),
        over=('labeled', 'unlabeled', 'unlabeled'),
        base_size=400, gpus=4, per_gpu=(4, (2, 2)),
        official_iters=(4550, 57000, 57000)),
}
# Ablations: one switch away from their base config.
ABLATIONS = {
    'ablation/cityscapes_1-8_pspnet50_713_bernoulli':
    ('cityscapes_1-8_pspnet50_713', 'generator', dict(sampling='bernoulli')),
    'ablation/cityscapes_1-8_pspnet50_713_cbst':
    ('cityscapes_1-8_pspnet50_713', 'generator', dict(mode='CBST')),
    'ablation/cityscapes_1-8_pspnet50_713_da':
    ('cityscapes_1-8_pspnet50_713', 'generator', dict(mode='DA')),
    'ablation/cityscapes_1-8_pspnet50_713_st':
    ('cityscapes_1-8_pspnet50_713', 'generator', dict(mode='ST')),
    'ablation/cityscapes_1-8_pspnet50_713_t2':
    ('cityscapes_1-8_pspnet50_713', 'generator', dict(temperature=2.0)),
    'ablation/cityscapes_1-8_pspnet50_713_restart-lr':
    ('cityscapes_1-8_pspnet50_713', 'train_cfg',
     dict(lr_schedule='restart')),
    'ablation/synthetic_1-8_restart-lr':
    ('synthetic_1-8', 'train_cfg', dict(lr_schedule='restart')),
}
# CPU-sized synthetic configs (no official counterpart): rounds in
# iterations.
SYNTHETIC = {
    'synthetic_1-8': dict(
        iters=(1000, 1000, 1000), alphas=(0.4, 0.65),
        ranges=((0.75, 1.5), (0.75, 2.0))),
    'synthetic_1-8_supervised': dict(iters=(3000, ), alphas=(),
                                     ranges=()),
}

# official pseudo-labelling (tool/gen_pseudo_label_utils.py:70-127,
# 257-267): the evaluation's windows with window and flip logits averaged
GENERATOR = dict(
    mode='DARS', sampling='exact', temperature=1.0, flip=False,
    test_cfg=dict(average='logits'))
NUM_CLASSES = dict(cs8=19, cs4=19, voc=21)


def _dars_configs():
    paths = glob.glob(osp.join(DARS_DIR, '**', '*.py'), recursive=True)
    return sorted(osp.splitext(osp.relpath(p, DARS_DIR))[0] for p in paths)


@functools.lru_cache(maxsize=None)
def _load(name):
    import mmsss  # noqa: F401
    from mmengine.config import Config
    return Config.fromfile(osp.join(DARS_DIR, f'{name}.py'))


def _walk(obj, found):
    if isinstance(obj, dict):
        if 'type' in obj:
            found.append(obj)
        for v in obj.values():
            _walk(v, found)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _walk(v, found)
    return found


def _transforms(pipeline, type_):
    return [t for t in _walk(pipeline, []) if t['type'] == type_]


def _train_pipelines(cfg):
    """(round 0 pipeline, [round k>=1 dataset pipelines])."""
    return (cfg.train_dataloader.dataset.pipeline, [
        d.pipeline for d in cfg.train_cfg.round_dataloader.dataset.datasets
    ])


def test_every_dars_config_is_covered():
    """A new DARS config must enter the recipe table and this test."""
    covered = set(RECIPES) | set(ABLATIONS) | set(SYNTHETIC)
    found = set(_dars_configs()) - set(_official_arch_configs())
    # an official-arch variant is checked against its recipe-tested base
    assert {n[:-len(OFFICIAL_ARCH)] for n in _official_arch_configs()} <= \
        set(RECIPES)
    assert found == covered, (
        f'not in the recipe test: {sorted(found - covered)}; '
        f'listed but absent: {sorted(covered - found)}')


OFFICIAL_ARCH = '_official-arch'


def _official_arch_configs():
    return [n for n in _dars_configs() if n.endswith(OFFICIAL_ARCH)]


@pytest.mark.parametrize('name', _official_arch_configs())
def test_official_arch_variant_changes_only_the_network(name):
    """semseg's PSPNet-50 (deep-base ResNet-50, align_corners=True) and
    nothing else: losses, heads' layers, schedule and pipelines are the
    recipe-tested config's."""
    model_b, model_v = network_of_variant(
        _load(name[:-len(OFFICIAL_ARCH)]), _load(name), 'official_', None)
    assert model_v['backbone']['type'] == 'DeepStemResNet'
    assert model_v['backbone']['depth'] == 50
    assert model_v['backbone']['init_cfg']['checkpoint'].endswith(
        'resnet50_v2_semseg_mmseg.pth')
    assert model_v.get('pretrained') is None
    for head in ('decode_head', 'auxiliary_head'):
        assert model_v[head].pop('align_corners') is True
        model_b[head].pop('align_corners')
        # the official heads' PyTorch initialisation (issue 25, point 10)
        assert model_v[head].pop('init_cfg') == dict(type='PyTorchDefault')
        assert model_v[head] == model_b[head], head
    for key in set(model_b) | set(model_v):
        if key not in ('backbone', 'pretrained', 'decode_head',
                       'auxiliary_head'):
            assert model_v.get(key) == model_b.get(key), key


@pytest.mark.parametrize('name', sorted(set(RECIPES) | set(SYNTHETIC)))
def test_config_names_its_official_yaml(name):
    """Each config says in its opening comment which official yaml it
    reproduces (or that it reproduces none)."""
    with open(osp.join(DARS_DIR, f'{name}.py')) as f:
        head = ''.join(f.readline() for _ in range(12))
    head = ' '.join(head.replace('#', ' ').split()).replace('_ ', '_')
    yaml = RECIPES.get(name, {}).get('yaml')
    if yaml is None:
        assert 'not an official setting' in head or \
            'no official counterpart' in head, head
    else:
        assert yaml + '_round{0,1,2}.yaml' in head, (yaml, head)


@pytest.mark.parametrize('name', sorted(RECIPES))
def test_model_is_the_official_network(name):
    r, cfg = RECIPES[name], _load(name)
    model = cfg.model
    assert model.type == 'SelfTrainingSegmentor'
    assert model.pseudo_weight == 1.0  # consistency_lambda 1.0
    # two forward passes per step (labeled, then pseudo-labeled), the
    # segmentor's default
    assert model.get('bn_passes', 'separate') == 'separate'
    nc = NUM_CLASSES[r['split']]
    head = model.decode_head
    assert head.num_classes == nc
    heads = [head]
    if r['arch'] == 'pspnet':
        assert head.type == 'PSPHead'
        assert tuple(head.pool_scales) == (1, 2, 3, 6)
        assert head.dropout_ratio == 0.1
        aux = model.auxiliary_head
        assert aux.type == 'FCNHead' and aux.in_index == 2
        assert aux.num_classes == nc
        assert aux.loss_decode.loss_weight == 0.4  # aux_weight 0.4
        heads.append(aux)
        assert model.backbone.depth == 50
        # sync_bn: True in every PSPNet yaml
        assert model.backbone.norm_cfg.type == 'SyncBN'
        assert head.norm_cfg.type == 'SyncBN'
    else:
        assert not model.get('auxiliary_head')  # aux_weight 0.0
        assert head.type == 'ASPPV2Head'
        assert tuple(head.dilations) == (6, 12, 18, 24)
        assert head.official_early_return is True
        assert head.dropout_ratio == 0.
        bb = model.backbone
        assert bb.type == 'ResNet' and bb.depth == 101
        assert model.pretrained == 'torchvision://resnet101'
        assert bb.style == 'caffe' and bb.contract_dilation is False
        assert tuple(bb.dilations) == (1, 1, 2, 4)
        assert tuple(bb.strides) == (1, 2, 1, 1)
        assert dict(bb.norm_cfg) == dict(type='BN', requires_grad=False)
        assert bb.norm_eval is False
    for h in heads:
        assert h.loss_decode.type == 'CrossEntropyLoss'
        assert h.loss_decode.avg_non_ignore is True


@pytest.mark.parametrize('name', sorted(RECIPES))
def test_optimizer_and_schedule(name):
    r, cfg = RECIPES[name], _load(name)
    opt = cfg.optim_wrapper.optimizer
    assert opt.type == 'SGD' and opt.lr == r['lr']
    assert opt.momentum == 0.9 and opt.weight_decay == 1e-4
    keys = cfg.optim_wrapper.paramwise_cfg.custom_keys
    assert keys.decode_head.lr_mult == 10.  # tool/train.py:196-200
    assert keys.auxiliary_head.lr_mult == 10.
    # DeepLabV2: layer4 is the sixth of the official pretrained groups and
    # index_split = 5 (tool/train.py:193-202, train_func.py:162-165)
    if r['arch'] == 'deeplabv2':
        assert keys['backbone.layer4'].lr_mult == 10.
    else:
        assert 'backbone.layer4' not in keys
    [poly] = cfg.param_scheduler
    assert poly.type == 'PolyLR' and poly.power == 0.9
    assert poly.eta_min == 0. and poly.begin == 0 and not poly.by_epoch
    assert poly.get('end') is None
    assert cfg.train_cfg.type == 'SelfTrainingRoundsLoop'
    assert cfg.train_cfg.lr_schedule == 'extend'


# Parameters the official code trains at 10x the base lr, by module: the
# optimizer groups after ``index_split = 5`` (CVMI-Lab/DARS tool/train.py
# lines 175-176 and 193-202, tool/train_func.py 162-165). PSPNet: layer0..4
# at 1x, ppm/cls/aux at 10x; DeepLabV2: conv1, bn1, layer1..layer4
# (model/deeplabv2.py 249-265) then layer5 (the classifier), so layer4 is
# group 5 and takes 10x with the classifier.
OFFICIAL_X10_MODULES = dict(
    pspnet=('decode_head.', 'auxiliary_head.'),
    deeplabv2=('backbone.layer4.', 'decode_head.'))


@pytest.mark.parametrize('name', [
    'cityscapes_1-8_pspnet50_713', 'cityscapes_1-8_deeplabv2_r101_361',
    'voc_1464_deeplabv2_r101_321'
])
def test_lr_of_every_parameter_is_the_official_group_lr(name):
    """The optimizer built from the config on the config's network (random
    weights): every trainable parameter's group lr is the base lr, or 10x it
    exactly for the modules the official code puts after index_split."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    r, cfg = RECIPES[name], _load(name)
    model_cfg = cfg.model.to_dict()
    model_cfg['pretrained'] = None
    model_cfg['backbone'].pop('init_cfg', None)
    model = MODELS.build(model_cfg)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper.to_dict())
    lr_of = {}
    for group in wrapper.optimizer.param_groups:
        for p in group['params']:
            lr_of[id(p)] = group['lr']
    x10 = OFFICIAL_X10_MODULES[r['arch']]
    seen = {1.: 0, 10.: 0}
    for pname, p in model.named_parameters():
        if not p.requires_grad:
            continue
        mult = 10. if pname.startswith(x10) else 1.
        assert lr_of[id(p)] == pytest.approx(r['lr'] * mult), pname
        seen[mult] += 1
    assert seen[1.] > 0 and seen[10.] > 0
    if r['arch'] == 'deeplabv2':
        assert any(n.startswith('backbone.layer4.')
                   for n, p in model.named_parameters() if p.requires_grad)


@pytest.mark.parametrize('name', sorted(RECIPES))
def test_rounds_epochs_and_iterations(name):
    """α, scale range and epochs of every round, and the round lengths
    they give with our launch equal the official iterations."""
    from mmsss.engine.runner.self_training_loop import (epoch_iterations,
                                                        source_counts)
    r, cfg = RECIPES[name], _load(name)
    rounds = cfg.train_cfg.rounds
    assert len(rounds) == 3
    assert [x.epochs for x in rounds] == list(r['epochs'])
    assert [x.epoch_over for x in rounds] == list(r['over'])
    assert 'iters' not in rounds[0] and 'label_ratio' not in rounds[0]
    assert [x.label_ratio for x in rounds[1:]] == list(r['alphas'])
    assert [tuple(x.ratio_range) for x in rounds] == list(r['ranges'])
    # the configs' pipelines start from round 0's range
    round0, later = _train_pipelines(cfg)
    scale_type = 'RandomRescale' if r['split'] == 'voc' else 'RandomResize'
    for pipeline in [round0, *later]:
        [scale] = _transforms(pipeline, scale_type)
        assert tuple(scale.ratio_range) == r['ranges'][0]
        if scale_type == 'RandomResize':
            assert tuple(scale.scale) == (2048, 1024) and scale.keep_ratio
    # batches: round 0 per GPU, then (labeled, pseudo) per GPU
    per0, (lab, pse) = r['per_gpu']
    assert cfg.train_dataloader.batch_size == per0
    rd = cfg.train_cfg.round_dataloader
    assert rd.sampler.type == 'MultiSourceSampler'
    assert rd.batch_size == rd.sampler.batch_size
    assert source_counts(rd.sampler.batch_size,
                         rd.sampler.source_ratio) == [lab, pse]
    assert cfg.train_cfg.pseudo_dataset_index == 1
    n_lab, n_unl = SIZES[r['split']]
    iters = []
    for k, x in enumerate(rounds):
        n = n_lab if x.epoch_over == 'labeled' else n_unl
        per = per0 if k == 0 else (pse if x.epoch_over == 'unlabeled' else
                                   lab)
        iters.append(epoch_iterations(x.epochs, n, per, r['gpus']))
    assert tuple(iters) == r['official_iters']


@pytest.mark.parametrize('name', sorted(RECIPES))
def test_crop_augmentation_and_split(name):
    r, cfg = RECIPES[name], _load(name)
    crop = (r['crop'], r['crop'])
    pre = cfg.model.data_preprocessor.data_preprocessor
    assert tuple(pre.size) == crop
    assert pre.mean == [123.675, 116.28, 103.53]
    assert pre.std == [58.395, 57.12, 57.375] and pre.bgr_to_rgb
    round0, later = _train_pipelines(cfg)
    for pipeline in [round0, *later]:
        [c] = _transforms(pipeline, 'RandomCrop')
        assert tuple(c.crop_size) == crop
        [rot] = _transforms(pipeline, 'RandomRotate')
        assert rot.prob == 0.5 and rot.degree == 10
        assert rot.seg_pad_val == 255
        [blur] = _transforms(pipeline, 'RandomGaussianBlur')
        assert blur.prob == 0.5 and blur.kernel_size == 5
        [flip] = _transforms(pipeline, 'RandomFlip')
        assert flip.prob == 0.5
    # the split lists
    labeled, unlabeled = DARS_LISTS[r['split']]
    hook = [h for h in cfg.custom_hooks
            if h.type == 'PseudoLabelRoundHook'][0]
    if r['split'] != 'voc':
        assert cfg.split_source == 'dars'
    assert cfg.train_dataloader.dataset.ann_file == labeled
    datasets = cfg.train_cfg.round_dataloader.dataset.datasets
    assert datasets[0].ann_file == labeled
    assert datasets[1].ann_file is None  # set per round
    assert hook.labeled_dataset.ann_file == labeled
    assert hook.unlabeled_dataset.ann_file == unlabeled


@pytest.mark.parametrize('name', sorted(RECIPES))
def test_pseudo_labelling_and_evaluation(name):
    """The official sliding windows of the crop at stride ceil(2/3 crop)
    (centred mean padding, last window shifted back, each window flipped),
    at the official base size (Cityscapes 713: full resolution): softmax
    averaged for evaluation (tool/test.py), logits for pseudo-labels."""
    r, cfg = RECIPES[name], _load(name)
    crop = r['crop']
    stride = math.ceil(crop * 2 / 3)  # scale_process, stride_rate 2/3
    assert dict(cfg.model.test_cfg) == dict(
        mode='slide_official', crop_size=(crop, crop),
        stride=(stride, stride), window='shift', flip=True)
    hook = [h for h in cfg.custom_hooks
            if h.type == 'PseudoLabelRoundHook'][0]
    gen = hook.generator
    for key, value in GENERATOR.items():
        assert gen[key] == value, key
    pipelines = dict(
        val=cfg.val_dataloader.dataset.pipeline,
        test=cfg.test_dataloader.dataset.pipeline,
        predict=hook.unlabeled_dataset.pipeline)
    for where, pipeline in pipelines.items():
        resizes = _transforms(pipeline, 'Resize')
        if r['base_size'] is None:
            assert not resizes, where
            continue
        [resize] = resizes
        assert tuple(resize.scale) == (r['base_size'], r['base_size'])
        assert resize.keep_ratio is True, where
    # the label is read after the resize: evaluation at full resolution
    for where in ('val', 'test'):
        types = [t['type'] for t in pipelines[where]]
        if r['base_size'] is not None:
            assert types.index('Resize') < types.index('LoadAnnotations')
    # no flip TTA on top of the windows' own flip
    assert 'tta_pipeline' not in cfg
    assert cfg.val_cfg.type == 'ValLoop'


@pytest.mark.parametrize('name', sorted(ABLATIONS))
def test_ablations_change_one_switch(name):
    """An ablation is its base config with one switch changed."""
    base_name, where, change = ABLATIONS[name]
    cfg, base = _load(name), _load(base_name)

    def part(c):
        if where == 'generator':
            return [h for h in c.custom_hooks
                    if h.type == 'PseudoLabelRoundHook'][0].generator
        return c.train_cfg

    got, want = part(cfg).to_dict(), part(base).to_dict()
    for key, value in change.items():
        assert got[key] == value and want[key] != value
        want[key] = value
    assert got == want
    for key in ('model', 'optim_wrapper', 'train_dataloader'):
        assert cfg[key].to_dict() == base[key].to_dict(), key
    if change.get('lr_schedule') == 'restart':
        if 'epochs' in base.train_cfg.rounds[0]:
            # rounds in epochs: the whole-run PolyLR is kept (the loop
            # restarts it in every round)
            assert cfg.param_scheduler == base.param_scheduler
        else:  # rounds in iterations: one PolyLR per round
            ends = list(np.cumsum([x.iters for x in base.train_cfg.rounds]))
            assert [(p.begin, p.end) for p in cfg.param_scheduler] == list(
                zip([0] + ends[:-1], ends))


@pytest.mark.parametrize('name', sorted(SYNTHETIC))
def test_synthetic_configs(name):
    s, cfg = SYNTHETIC[name], _load(name)
    rounds = cfg.train_cfg.rounds
    assert [x.iters for x in rounds] == list(s['iters'])
    assert [x.label_ratio for x in rounds[1:]] == list(s['alphas'])
    assert [tuple(x.ratio_range) for x in rounds[1:]] == list(s['ranges'])
    assert cfg.train_cfg.lr_schedule == 'extend'
    assert cfg.model.decode_head.loss_decode.avg_non_ignore is True


# ---------------------------------------------------------------------------
# The official DARS split lists with our dataset classes

LISTS = [
    # (file, dataset type, labeled)
    ('cs_split8_labeled.txt', 'cityscapes', True),
    ('cs_split8_unlabeled.txt', 'cityscapes', False),
    ('cs_split4_labeled.txt', 'cityscapes', True),
    ('cs_split4_unlabeled.txt', 'cityscapes', False),
    ('cs_split8_labeled_match_len.txt', 'cityscapes', True),
    ('voc_1464_labeled.txt', 'voc', True),
    ('voc_1464_unlabeled.txt', 'voc', False),
]


def _write_png(path, array):
    from PIL import Image
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path)


@pytest.mark.parametrize('list_name,kind,labeled', LISTS,
                         ids=[x[0] for x in LISTS])
def test_official_split_lists_read_with_our_datasets(tmp_path, list_name,
                                                     kind, labeled):
    """The first lines of an official DARS list, copied to the place the
    configs read it from (data/splits/dars/), over a tree of those images
    and labels in the real layout: our dataset classes resolve both
    columns relative to data_root, with the image ids the pseudo-label
    engine keys on."""
    src = osp.join(DARS_SPLITS, list_name)
    if not osp.isfile(src):
        pytest.skip(f'official DARS list not present: {src}')
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS

    import mmsss  # noqa: F401
    init_default_scope('mmseg')
    with open(src) as f:
        lines = [ln for ln in f.read().splitlines() if ln.strip()][:4]
    assert all(len(ln.split()) == 2 for ln in lines), lines
    data = tmp_path / 'data'
    if kind == 'cityscapes':
        data_root = str(data / 'cityscapes')
        ann_file = '../splits/dars/' + list_name
        n = 19
    else:
        data_root = str(data / 'VOCdevkit' / 'VOC2012')
        ann_file = '../../splits/dars/' + list_name
        n = 21
    rng = np.random.default_rng(0)
    for ln in lines:
        img_rel, lab_rel = ln.split()
        _write_png(osp.join(data_root, img_rel),
                   rng.integers(0, 256, (8, 16, 3), dtype=np.uint8))
        lab = rng.integers(0, n, (8, 16), dtype=np.uint8)
        lab[0] = 255
        _write_png(osp.join(data_root, lab_rel), lab)
    split_dir = data / 'splits' / 'dars'
    split_dir.mkdir(parents=True)
    (split_dir / list_name).write_text('\n'.join(lines) + '\n')
    if kind == 'cityscapes':
        # the dataset of the DARS configs, with this list
        cfg = _load('cityscapes_1-8_pspnet50_713')
        ds_cfg = (cfg.custom_hooks[0].labeled_dataset if labeled else
                  cfg.custom_hooks[0].unlabeled_dataset).to_dict()
        if list_name.startswith('cs_split8_') and 'match' not in list_name:
            want = DARS_LISTS['cs8'][0 if labeled else 1]
            assert ds_cfg['ann_file'] == want
        ds_cfg.update(data_root=data_root, ann_file=ann_file, pipeline=[])
    else:
        ds_cfg = dict(
            type='SemiVOCDataset',
            data_root=data_root,
            ann_file=ann_file,
            data_prefix=dict(
                img_path='JPEGImages', seg_map_path='SegmentationClass'),
            is_labeled=labeled,
            keep_gt_for_analysis=not labeled,
            pipeline=[])
    ds = DATASETS.build(ds_cfg)
    assert len(ds) == len(lines)
    for i, ln in enumerate(lines):
        img_rel, lab_rel = ln.split()
        info = ds.get_data_info(i)
        assert info['img_path'] == osp.join(data_root, img_rel)
        # labeled: the second column; unlabeled: kept for analysis
        assert info['seg_map_path'] == osp.join(data_root, lab_rel)
        stem = osp.basename(img_rel).split('.')[0]
        if kind == 'cityscapes':
            assert info['img_id'] == img_rel
        else:
            assert info['img_id'] == stem


def test_split_source_switch_in_a_child_config(tmp_path):
    """The child config of the README ("Split lists") moves every list of a
    DARS config to the U2PL/iMAS split."""
    from mmengine.config import Config

    import mmsss  # noqa: F401
    child = tmp_path / 'u2pl.py'
    base = osp.join(DARS_DIR, 'cityscapes_1-8_pspnet50_713.py')
    child.write_text(
        f"_base_ = {base!r}\n"
        "split_source = 'u2pl'\n"
        "labeled_list, unlabeled_list = "
        "_base_.split_lists[split_source]['372']\n"
        "train_dataloader = dict(dataset=dict(ann_file=labeled_list))\n"
        "train_cfg = _base_.train_cfg\n"
        "train_cfg.round_dataloader.dataset.datasets[0].ann_file = "
        "labeled_list\n"
        "custom_hooks = _base_.custom_hooks\n"
        "custom_hooks[0].labeled_dataset.ann_file = labeled_list\n"
        "custom_hooks[0].unlabeled_dataset.ann_file = unlabeled_list\n")
    with open(osp.join(ROOT, 'configs', 'dars', 'README.md')) as f:
        readme = f.read()
    snippet = child.read_text().split('\n', 1)[1]  # after _base_
    assert snippet in readme.replace(
        "_base_ = './cityscapes_1-8_pspnet50_713.py'\n", '')
    cfg = Config.fromfile(str(child))
    lab = '../splits/cityscapes/372/labeled.txt'
    unl = '../splits/cityscapes/372/unlabeled.txt'
    assert cfg.train_dataloader.dataset.ann_file == lab
    datasets = cfg.train_cfg.round_dataloader.dataset.datasets
    assert datasets[0].ann_file == lab and datasets[1].ann_file is None
    hook = cfg.custom_hooks[0]
    assert hook.labeled_dataset.ann_file == lab
    assert hook.unlabeled_dataset.ann_file == unl
    # nothing else changes
    base_cfg = _load('cityscapes_1-8_pspnet50_713')
    assert cfg.model.to_dict() == base_cfg.model.to_dict()
    assert cfg.train_cfg.rounds == base_cfg.train_cfg.rounds
