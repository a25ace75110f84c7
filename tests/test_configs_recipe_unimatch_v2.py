"""The UniMatch V2 configs hold the values of the recipe table in
``configs/unimatch_v2/README.md`` (LiheYoung/UniMatch-V2 ``configs/*.yaml``,
``unimatch_v2.py``, ``model/semseg/dpt.py``, ``supervised.py``), the
``*_frozen`` variants differ from their configs only in the frozen encoder,
and the DINOv2-B FixMatch / UniMatch V1 / supervised configs use the same
network, geometry, optimiser and evaluation. Only parsing: no model is
built."""
import functools
import glob
import os.path as osp

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# encoder size -> (arch, width, DPT features, DPT level widths),
# unimatch_v2.py:54-59
ARCH = dict(
    s=('small', 384, 64, (48, 96, 192, 384)),
    b=('base', 768, 128, (96, 192, 384, 768)),
    l=('large', 1024, 256, (256, 512, 1024, 1024)))
# dataset -> (crop, classes, per-GPU labeled + unlabeled, epochs):
# configs/{pascal,cityscapes,ade20k,coco}.yaml:5, 4, 9, 8
RECIPE = dict(
    voc=((518, 518), 21, 8, 60),
    cityscapes=((798, 798), 19, 4, 180),
    ade20k=((518, 518), 150, 4, 60),
    coco=((518, 518), 81, 8, 20))
# dataset -> (dataset type, data root, split folder relative to it,
# annotations of SemiADE20KDataset): as configs/_base_/datasets/semi_*.py
DATA = dict(
    voc=('SemiVOCDataset', 'data/VOCdevkit/VOC2012/',
         '../../splits/unimatch/pascal/', None),
    cityscapes=('SemiCityscapesDataset', 'data/cityscapes/',
                '../splits/unimatch/cityscapes/', None),
    ade20k=('SemiADE20KDataset', 'data/ade/ADEChallengeData2016/',
            '../../splits/ade20k/', 'unimatch'),
    coco=('SemiCOCO81Dataset', 'data/coco/', '../splits/coco/', None))
OHEM = dict(type='U2PLOhemCrossEntropy', thresh=0.7, min_kept=200000)


def _names(frozen):
    out = []
    for p in sorted(glob.glob(osp.join(ROOT, 'configs', 'unimatch_v2', '*.py'))):
        name = osp.basename(p)[:-3]
        if 'synthetic' in name:
            continue  # the CPU config (its own test)
        if name.endswith('_frozen') == frozen:
            out.append(name)
    return out


@functools.lru_cache(maxsize=None)
def _load(rel):
    from mmengine.config import Config
    return Config.fromfile(osp.join(ROOT, 'configs', f'{rel}.py'))


def _size(name):
    return name.split('_dinov2-')[1][0]


def test_every_split_and_encoder_has_a_config():
    voc = {f'voc_{n}_dinov2-{a}'
           for n in (92, 183, 366, 732, 1464) for a in 'sbl'}
    city = {f'cityscapes_1-{d}_dinov2-{a}' for d in (16, 8, 4, 2)
            for a in 'sb'}
    # UniMatch-V2 splits/ade20k, splits/coco; DINOv2-B only (the official
    # README reports B only)
    ade = {f'ade20k_1-{d}_dinov2-b' for d in (64, 32, 16, 8, 4, 2)}
    coco = {f'coco_1-{d}_dinov2-b' for d in (512, 256, 128, 64, 32)}
    assert set(_names(False)) == voc | city | ade | coco
    assert set(_names(True)) == {
        f'voc_{n}_dinov2-{a}_frozen'
        for n in (92, 183, 366, 732, 1464) for a in 'sb'} | {
            f'{n}_frozen' for n in ade}


def _check_network(seg, size, classes, crop):
    arch, width, features, levels = ARCH[size]
    bb, head = seg.backbone, seg.decode_head
    assert (bb.type, bb.arch, bb.img_size, bb.patch_size) == (
        'DINOv2ViT', arch, 518, 14)
    assert bb.drop_path_rate == 0. and bb.get('out_indices') is None
    assert bb.init_cfg.checkpoint == f'pretrain/dinov2_vit{size}14_mmsss.pth'
    assert head.type == 'UniMatchV2DPTHead'
    assert (head.in_channels, head.channels) == (width, features)
    assert tuple(head.level_channels) == levels
    assert tuple(head.in_index) == (0, 1, 2, 3)
    assert head.align_corners is True and head.dropout_ratio == 0
    assert head.num_classes == classes
    assert tuple(seg.data_preprocessor.size) == crop
    if classes == 19:
        assert dict(head.loss_decode) == OHEM
        # supervised.py:58-63: the last window moved back inside
        assert seg.test_cfg == dict(
            mode='slide_official', crop_size=crop, stride=(532, 532),
            window='shift')
    else:
        assert head.loss_decode.avg_non_ignore is True
        assert seg.test_cfg == dict(mode='resize_multiple', size_divisor=14)


def _check_optimiser(cfg, epochs):
    opt = cfg.optim_wrapper
    assert opt.optimizer.type == 'AdamW' and opt.optimizer.lr == 5e-6
    assert tuple(opt.optimizer.betas) == (0.9, 0.999)
    assert opt.optimizer.weight_decay == 0.01
    assert opt.paramwise_cfg.custom_keys == dict(decode_head=dict(lr_mult=40.))
    (poly, ) = cfg.param_scheduler
    assert (poly.type, poly.power, poly.by_epoch) == ('PolyLR', 0.9, False)
    if 'max_epochs' in cfg.train_cfg:
        assert cfg.train_cfg.max_epochs == epochs
        assert cfg.train_cfg.epoch_length == 'per_rank_drop_last'


def _check_geometry(datasets, crop):
    for ds in datasets:
        types = [t['type'] for t in ds.pipeline]
        i = types.index('RandomRescale')
        assert types[i:i + 4] == [
            'RandomRescale', 'RandomCrop', 'PadToSize', 'RandomFlip']
        rescale, rcrop, pad, flip = ds.pipeline[i:i + 4]
        assert tuple(rescale.ratio_range) == (0.5, 2.0)
        assert (rescale.draw, rescale.backend) == ('long_side', 'pillow')
        assert tuple(rcrop.crop_size) == crop and tuple(pad.size) == crop
        assert (pad.img_pad_val, pad.seg_pad_val) == (0, 255)
        assert flip.prob == 0.5


@pytest.mark.parametrize('name', _names(False))
def test_recipe(name):
    cfg = _load(f'unimatch_v2/{name}')
    dataset = name.split('_')[0]
    crop, classes, batch, epochs = RECIPE[dataset]
    assert cfg.model.type == 'UniMatchV2Segmentor'
    assert cfg.model.semi_train_cfg == dict(conf_thresh=0.95)
    assert cfg.model.semi_test_cfg.predict_on == 'teacher'
    _check_network(cfg.model.segmentor, _size(name), classes, crop)
    assert cfg.model.segmentor.backbone.frozen is False
    _check_optimiser(cfg, epochs)
    (hook, ) = cfg.custom_hooks
    assert dict(hook) == dict(type='MeanTeacherHook', decay_schedule='imas',
                              max_decay=0.996, skip_buffers=False)
    ckpt = cfg.default_hooks.checkpoint
    assert (ckpt.save_best, ckpt.save_last) == ('teacher/mIoU', True)
    dl = cfg.train_dataloader
    assert dl.batch_size == batch == dl.sampler.batch_size
    assert list(dl.sampler.source_ratio) == [1, 1]
    assert dl.sampler.get('same_order_as') is None
    labeled, unlabeled = dl.dataset.datasets
    split = name.split('_')[1].replace('-', '_')
    assert labeled.ann_file.endswith(f'/{split}/labeled.txt')
    assert unlabeled.ann_file.endswith(f'/{split}/unlabeled.txt')
    assert unlabeled.keep_gt_for_analysis is False
    dataset_type, data_root, split_root, annotations = DATA[dataset]
    val = cfg.val_dataloader.dataset
    for ds in (labeled, unlabeled, val):
        assert (ds.type, ds.data_root) == (dataset_type, data_root)
        assert ds.get('annotations') == annotations
    assert labeled.is_labeled is True and unlabeled.is_labeled is False
    assert labeled.ann_file == f'{split_root}{split}/labeled.txt'
    assert val.ann_file == f'{split_root}val.txt'
    # whole image, no resize in the pipeline (supervised.py:68-81 resizes)
    assert [t['type'] for t in val.pipeline] == [
        'LoadImageFromFile', 'LoadAnnotations', 'PackSegInputs']
    assert cfg.test_dataloader.dataset == val
    (pack, ) = [t for t in unlabeled.pipeline if t['type'] == 'MultiBranch']
    assert list(pack.branch_field) == [
        'sup', 'unsup_weak', 'unsup_strong1', 'unsup_strong2']
    _check_geometry(dl.dataset.datasets, crop)


@pytest.mark.parametrize('name', _names(True))
def test_frozen_variant_changes_only_the_encoder_lock(name):
    base, variant = (_load(f'unimatch_v2/{n}').to_dict()
                     for n in (name[:-len('_frozen')], name))
    assert variant['model']['segmentor']['backbone'].pop('frozen') is True
    assert base['model']['segmentor']['backbone'].pop('frozen') is False
    for key in ('model', 'train_dataloader', 'optim_wrapper', 'train_cfg',
                'custom_hooks', 'val_dataloader'):
        assert variant[key] == base[key], key


@pytest.mark.parametrize('rel, segmentor, batch', [
    ('unimatch/voc_92_dinov2-b', 'UniMatchSegmentor', 12),
    ('fixmatch/voc_92_dinov2-b', 'UniMatchV2Segmentor', 8),
    ('supervised/voc_92_dinov2-b', 'TestModesEncoderDecoder', 8),
])
def test_dinov2_configs_of_the_other_methods(rel, segmentor, batch):
    """V2's table-5 / labeled-only setting: V2 network, crop, optimiser and
    evaluation (configs/unimatch_v2/README.md, last section)."""
    cfg = _load(rel)
    assert cfg.model.type == segmentor
    seg = cfg.model if segmentor == 'TestModesEncoderDecoder' else \
        cfg.model.segmentor
    _check_network(seg, 'b', 21, (518, 518))
    _check_optimiser(cfg, 60)
    dl = cfg.train_dataloader
    assert dl.batch_size == batch
    datasets = dl.dataset.datasets if 'datasets' in dl.dataset else [
        dl.dataset]
    assert datasets[0].ann_file.endswith('/92/labeled.txt')
    _check_geometry(datasets, (518, 518))
    if segmentor == 'UniMatchV2Segmentor':
        # V2's own FixMatch (fixmatch.py:164-193): one strong view, no
        # Complementary Dropout, EMA teacher, tau 0.95 (pascal.yaml:16)
        assert cfg.model.semi_train_cfg == dict(
            conf_thresh=0.95, num_strong_views=1, complementary_dropout=None)
        for ds in datasets:
            assert ds.pipeline[-1].branch_field == [
                'sup', 'unsup_weak', 'unsup_strong1']
        assert [h.type for h in cfg.custom_hooks] == ['MeanTeacherHook']
        hook = cfg.custom_hooks[0]
        assert (hook.decay_schedule, hook.max_decay,
                hook.skip_buffers) == ('imas', 0.996, False)
    if segmentor == 'TestModesEncoderDecoder':
        # supervised.py:115, 167-191: floor(ceil(3000 / 4) / 8) = 93 per
        # epoch, 60 epochs
        assert (cfg.train_cfg.max_iters, cfg.train_cfg.val_interval) == (
            60 * (-(-3000 // 4) // 8), 93)


# the official README's column heads (ADE20K 1/64 ... 1/8, COCO 1/512 ...
# 1/32; ADE20K 1/4 and 1/2: the line counts of UniMatch-V2
# splits/ade20k/1_{4,2}/labeled.txt)
NUM_LABELED = {
    'ade20k_1-64': 316, 'ade20k_1-32': 631, 'ade20k_1-16': 1263,
    'ade20k_1-8': 2526, 'ade20k_1-4': 5052, 'ade20k_1-2': 10105,
    'coco_1-512': 232, 'coco_1-256': 463, 'coco_1-128': 925,
    'coco_1-64': 1849, 'coco_1-32': 3697}


@pytest.mark.parametrize('split', sorted(NUM_LABELED))
def test_ade20k_coco_labeled_counts(split):
    assert _load(f'unimatch_v2/{split}_dinov2-b').num_labeled == NUM_LABELED[
        split]
