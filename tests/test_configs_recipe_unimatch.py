"""The UniMatch / FixMatch configs hold the values of the recipe table in
``configs/unimatch/README.md`` (LiheYoung/UniMatch ``configs/pascal.yaml``,
``configs/cityscapes.yaml``, ``unimatch.py``, ``fixmatch.py``), and the
``*_mmseg-arch`` variants differ from their configs only in the network.
Only parsing: no model is built."""
import functools
import glob
import os.path as osp

import pytest

from tests._recipe import network_of_variant

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
MMSEG_ARCH = '_mmseg-arch'

# dataset -> (crop, classes, lr, head lr multiplier, epochs, tau)
RECIPE = dict(
    voc=((321, 321), 21, 0.001, 10., 80, 0.95),
    voc_blended=((513, 513), 21, 0.001, 10., 80, 0.95),
    cityscapes=((801, 801), 19, 0.005, 1., 240, 0.0),
    coco=((513, 513), 81, 0.004, 10., 30, 0.95),
    # V1 has no ADE20K recipe: COCO's, with V2's 60 epochs (README table)
    ade20k=((513, 513), 150, 0.004, 10., 60, 0.95))
OHEM = dict(type='U2PLOhemCrossEntropy', thresh=0.7, min_kept=200000)


def _configs(mmseg_arch):
    out = []
    for method in ('unimatch', 'fixmatch'):
        for path in sorted(
                glob.glob(osp.join(ROOT, 'configs', method, '*.py'))):
            name = osp.splitext(osp.basename(path))[0]
            if 'synthetic' in name:
                continue  # the CPU config
            if '_dinov2-' in name:
                continue  # tests/test_configs_recipe_unimatch_v2.py
            if name.endswith(MMSEG_ARCH) == mmseg_arch:
                out.append(f'{method}/{name}')
    return out


@functools.lru_cache(maxsize=None)
def _load(rel):
    import mmsss  # noqa: F401
    from mmengine.config import Config
    return Config.fromfile(osp.join(ROOT, 'configs', f'{rel}.py'))


def _dataset(name):
    for dataset in ('cityscapes', 'coco', 'ade20k'):
        if name.startswith(dataset):
            return dataset
    return 'voc_blended' if name.startswith('voc_blended') else 'voc'


def test_every_split_has_a_config():
    names = {r.split('/')[1] for r in _configs(False)}
    expected = {f'voc_{n}' for n in (92, 183, 366, 732, 1464)} | {
        f'voc_blended_{n}' for n in (662, 1323, 2646)
    } | {f'cityscapes_1-{d}' for d in (16, 8, 4, 2)} | {
        f'coco_1-{d}' for d in (512, 256, 128, 64, 32)
    } | {f'ade20k_1-{d}' for d in (64, 32, 16, 8)}
    assert names == expected
    assert len(_configs(False)) == 2 * len(expected)


@pytest.mark.parametrize('rel', _configs(False))
def test_recipe(rel):
    method, name = rel.split('/')
    cfg = _load(rel)
    crop, classes, lr, head_mult, epochs, tau = RECIPE[_dataset(name)]
    assert cfg.model.type == {
        'unimatch': 'UniMatchSegmentor',
        'fixmatch': 'FixMatchSegmentor'
    }[method]
    assert cfg.model.semi_train_cfg.conf_thresh == tau
    assert cfg.model.semi_test_cfg.predict_on == 'student'
    seg = cfg.model.segmentor
    assert tuple(seg.data_preprocessor.size) == crop
    # UniMatch's network (configs/unimatch/README.md, "network")
    bb, head = seg.backbone, seg.decode_head
    assert (bb.type, bb.depth, bb.stem_channels) == ('DeepStemResNet', 101,
                                                     128)
    assert bb.ceil_mode is False and bb.get('multi_grid') is None
    assert tuple(bb.strides) == (1, 2, 2, 1)
    assert tuple(bb.dilations) == (1, 1, 1, 2)
    assert bb.init_cfg.checkpoint == 'pretrain/resnet101_deepstem_mmseg.pth'
    assert seg.get('pretrained') is None
    assert head.type == 'OfficialDeepLabV3PlusHead'
    assert head.c1_bias is False and head.align_corners is True
    assert head.dropout_ratio == 0 and head.channels == 256
    assert tuple(head.dilations) == (1, 6, 12, 18)
    assert head.num_classes == classes
    assert 'auxiliary_head' not in seg
    if classes == 19:
        assert dict(head.loss_decode) == OHEM
        assert seg.test_cfg == dict(
            mode='slide_official', crop_size=crop, stride=(534, 534))
    else:
        assert head.loss_decode.avg_non_ignore is True
        assert seg.test_cfg.mode == 'whole'
    opt = cfg.optim_wrapper
    assert opt.optimizer.type == 'SGD' and opt.optimizer.lr == lr
    assert opt.paramwise_cfg.custom_keys.decode_head.lr_mult == head_mult
    assert cfg.train_cfg.max_epochs == epochs
    # an epoch = len(trainloader_u) (unimatch.py:86-93)
    assert cfg.train_cfg.epoch_length == 'per_rank_drop_last'
    # 2 labeled + 2 unlabeled + 2 mix per GPU
    dl = cfg.train_dataloader
    assert dl.batch_size == 6 and list(dl.sampler.source_ratio) == [1, 1, 1]
    assert len(dl.dataset.datasets) == 3
    # official pairing: the mix source repeats the unlabeled order
    # (unimatch.py:121)
    assert cfg.model.semi_train_cfg.mix_partner == 'same_image'
    assert list(dl.sampler.same_order_as) == [None, None, 1]
    _check_geometry(dl.dataset.datasets, crop)


def _check_geometry(datasets, crop):
    """dataset/semi.py:41-44, transform.py:9-56: PIL rescale to an integer
    long side in [0.5 L, 2 L], crop, pad bottom/right (image 0, labels 255,
    unlabeled placeholder 254), flip; the strong views come after the pad."""
    labeled, unlabeled, mix = datasets
    assert unlabeled.ann_file == mix.ann_file
    for ds in datasets:
        types = [t['type'] for t in ds.pipeline]
        i = types.index('RandomRescale')
        assert types[i:i + 5] == [
            'RandomRescale', 'RandomCrop', 'PadToSize', 'RandomFlip',
            'MultiBranch'
        ]
        rescale, rcrop, pad, flip = ds.pipeline[i:i + 4]
        assert tuple(rescale.ratio_range) == (0.5, 2.0)
        assert (rescale.draw, rescale.backend) == ('long_side', 'pillow')
        assert rescale.get('interpolation', 'bilinear') == 'bilinear'
        assert tuple(rcrop.crop_size) == crop
        assert rcrop.get('cat_max_ratio', 1.) == 1.
        assert tuple(pad.size) == crop
        assert (pad.img_pad_val, pad.seg_pad_val) == (0, 255)
        assert flip.prob == 0.5
    for ds in (unlabeled, mix):
        (load, ) = [t for t in ds.pipeline
                    if t['type'] == 'LoadUnlabeledAnnotations']
        assert load.ignore_index == 254


@pytest.mark.parametrize('name, num_unlabeled, official, ceil', [
    # VOC classic 732: 9,850 unlabeled; floor(ceil(9850 / 4) / 2) = 1,231
    ('voc_732', 9850, 1231, 1232),
    # Cityscapes 1/8: 2,603 unlabeled; floor(651 / 2) = 325
    ('cityscapes_1-8', 2603, 325, 326),
    # COCO 1/512: 118,287 - 232 = 118,055; floor(29514 / 2) = 14,757 =
    # ceil(118055 / 8)
    ('coco_1-512', 118055, 14757, 14757),
    # ADE20K 1/64: 19,894 unlabeled; floor(4974 / 2) = 2,487 =
    # ceil(19894 / 8)
    ('ade20k_1-64', 19894, 2487, 2487),
])
def test_iterations_per_epoch_are_the_official_loader_length(
        name, num_unlabeled, official, ceil):
    """4 GPUs x (2 + 2 + 2): the official len(trainloader_u), computed
    here by hand, and iMAS's ceil(N / 8) (one more on VOC 732 and
    Cityscapes 1/8)."""
    from torch.utils.data import ConcatDataset

    from mmsss.datasets.samplers import MultiSourceSampler
    from mmsss.engine.runner.loops import unlabeled_iters_per_epoch
    for method in ('unimatch', 'fixmatch'):
        cfg = _load(f'{method}/{name}')
        kwargs = {k: v for k, v in cfg.train_dataloader.sampler.items()
                  if k != 'type'}
        dataset = ConcatDataset([
            range(cfg.num_labeled),
            range(num_unlabeled),
            range(num_unlabeled)
        ])
        sampler = MultiSourceSampler(dataset, **kwargs, seed=0)
        sampler.world_size = 4
        steps = unlabeled_iters_per_epoch(sampler,
                                          cfg.train_cfg.epoch_length)
        assert steps == official
        assert unlabeled_iters_per_epoch(sampler, 'ceil') == ceil


@pytest.mark.parametrize(
    'rel', [r for r in _configs(False) if _dataset(r.split('/')[1]) in (
        'coco', 'ade20k')])
def test_coco_ade20k_split_files(rel):
    """UniMatch's split folders (1_512 for coco_1-512), the labeled count of
    their lists, UniMatch's pre-processed ADE20K maps by default."""
    method, name = rel.split('/')
    cfg = _load(rel)
    dataset, split = name.split('_')
    folder = f'splits/{dataset}/{split.replace("-", "_")}/'
    labeled, unlabeled, mix = cfg.train_dataloader.dataset.datasets
    assert labeled.ann_file.endswith(folder + 'labeled.txt')
    assert unlabeled.ann_file == mix.ann_file
    assert unlabeled.ann_file.endswith(folder + 'unlabeled.txt')
    assert cfg.val_dataloader.dataset.ann_file.endswith(
        f'splits/{dataset}/val.txt')
    # UniMatch-V2 splits/<dataset>/<split>/labeled.txt line counts
    assert cfg.num_labeled == {
        'coco_1-512': 232, 'coco_1-256': 463, 'coco_1-128': 925,
        'coco_1-64': 1849, 'coco_1-32': 3697, 'ade20k_1-64': 316,
        'ade20k_1-32': 631, 'ade20k_1-16': 1263, 'ade20k_1-8': 2526
    }[name]
    types = {labeled.type, unlabeled.type, cfg.val_dataloader.dataset.type}
    if dataset == 'ade20k':
        assert types == {'SemiADE20KDataset'}
        assert labeled.annotations == 'unimatch'
        assert cfg.val_dataloader.dataset.annotations == 'unimatch'
    else:
        assert types == {'SemiCOCO81Dataset'}


@pytest.mark.parametrize('rel', _configs(True))
def test_mmseg_arch_variant_changes_only_the_network(rel):
    seg_b, seg_v = network_of_variant(
        _load(rel[:-len(MMSEG_ARCH)]), _load(rel), 'mmseg_', 'segmentor')
    assert seg_v['backbone']['type'] == 'ResNetV1c'
    assert seg_v['pretrained'] == 'open-mmlab://resnet101_v1c'
    assert 'init_cfg' not in seg_v['backbone']
    assert seg_v['decode_head']['type'] == 'DepthwiseSeparableASPPHead'
    for key in ('num_classes', 'loss_decode'):
        assert seg_v['decode_head'][key] == seg_b['decode_head'][key], key
    for key in ('data_preprocessor', 'test_cfg'):
        assert seg_v[key] == seg_b[key], key
