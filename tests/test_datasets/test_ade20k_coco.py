"""SemiADE20KDataset / SemiCOCO81Dataset on tiny trees in UniMatch's
layouts (split lines: image and label path relative to the data root)."""
import importlib.util
import os
import os.path as osp

import numpy as np
import pytest

import mmsss  # noqa: F401  isort: skip (mmcv.ops stand-in before mmseg)
from mmseg.datasets import ADE20KDataset, PascalVOCDataset
from mmseg.datasets.transforms import LoadAnnotations
from PIL import Image

from mmsss.datasets import (COCO81_CLASSES, COCO81_PALETTE,
                            SemiADE20KDataset, SemiCOCO81Dataset)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
H, W = 4, 5


def _img(path):
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(path)


def _png(path, arr):
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray(np.asarray(arr, np.uint8)).save(path)


def _lines(path, lines):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(''.join(ln + '\n' for ln in lines))


def _raw_map(seed):
    """Raw ADE20K values: 0 (other) and 1..150."""
    a = np.random.default_rng(seed).integers(0, 151, (H, W))
    a[0, 0], a[0, 1], a[0, 2] = 0, 1, 150
    return a


def _pre(raw):
    """UniMatch's pre-processing as documented: 0 -> 255, v -> v - 1."""
    return np.where(raw == 0, 255, raw - 1)


@pytest.fixture(scope='module')
def ade_root(tmp_path_factory):
    """ADEChallengeData2016 with raw maps in annotations/ and the
    pre-processed ones in unimatch/annotations/; UniMatch V2 split files
    in splits/ade20k/1_64."""
    root = str(tmp_path_factory.mktemp('ade') / 'ADEChallengeData2016')
    rows = {}
    for sub, n in (('training', 4), ('validation', 1)):
        pre = 'train' if sub == 'training' else 'val'
        for i in range(1, n + 1):
            name = f'ADE_{pre}_{i:08d}'
            _img(osp.join(root, 'images', sub, name + '.jpg'))
            raw = _raw_map(i + 10 * (sub == 'validation'))
            _png(osp.join(root, 'annotations', sub, name + '.png'), raw)
            _png(osp.join(root, 'unimatch', 'annotations', sub,
                          name + '.png'), _pre(raw))
            rows.setdefault(sub, []).append(
                f'images/{sub}/{name}.jpg annotations/{sub}/{name}.png')
            rows[name] = raw
    sp = osp.join(root, 'splits', 'ade20k')
    _lines(osp.join(sp, '1_64', 'labeled.txt'), rows['training'][2:])
    _lines(osp.join(sp, '1_64', 'unlabeled.txt'), rows['training'][:2])
    _lines(osp.join(sp, 'val.txt'), rows['validation'])
    return root, rows


def _ade(root, split, **kw):
    return SemiADE20KDataset(
        data_root=root,
        ann_file='splits/ade20k/' + split,
        serialize_data=False,  # skips mmengine's gc.collect (0.3 s)
        **kw)


def _gt(ds, i):
    info = ds.get_data_info(i)
    return LoadAnnotations()(dict(info))['gt_seg_map']


def test_ade20k_split_samples(ade_root):
    root, rows = ade_root
    lab = _ade(root, '1_64/labeled.txt', annotations='raw')
    assert [lab.get_data_info(i)['img_id'] for i in range(len(lab))] == [
        'ADE_train_00000003', 'ADE_train_00000004'
    ]
    info = lab.get_data_info(0)
    assert info['img_path'] == osp.join(root,
                                        'images/training/'
                                        'ADE_train_00000003.jpg')
    assert info['seg_map_path'] == osp.join(
        root, 'annotations/training/ADE_train_00000003.png')
    unl = _ade(root, '1_64/unlabeled.txt', is_labeled=False)
    assert len(unl) == 2
    assert all(unl.get_data_info(i)['seg_map_path'] is None for i in (0, 1))
    assert len(_ade(root, 'val.txt', annotations='raw')) == 1
    assert lab.metainfo['classes'] == ADE20KDataset.METAINFO['classes']
    assert len(lab.metainfo['palette']) == 150


def test_ade20k_raw_and_preprocessed_give_the_same_train_ids(ade_root):
    root, rows = ade_root
    raw = _ade(root, '1_64/labeled.txt', annotations='raw')
    pre = _ade(
        root,
        '1_64/labeled.txt',
        annotations='unimatch',
        data_prefix=dict(img_path='', seg_map_path='unimatch'))
    assert raw.reduce_zero_label and not pre.reduce_zero_label
    assert pre.get_data_info(0)['seg_map_path'] == osp.join(
        root, 'unimatch', 'annotations/training/ADE_train_00000003.png')
    for i, name in enumerate(['ADE_train_00000003', 'ADE_train_00000004']):
        src = rows[name]
        # plain loop: 0 ("other") -> 255, class v -> v - 1
        ref = np.array([[255 if v == 0 else v - 1 for v in r] for r in src])
        np.testing.assert_array_equal(_gt(raw, i), ref)
        np.testing.assert_array_equal(_gt(pre, i), ref)
        assert _gt(raw, i)[0, 2] == 149


def test_ade20k_annotation_mismatch_names_the_file(ade_root):
    root, _ = ade_root
    # raw maps contain 150: not UniMatch's 0-149 + 255
    with pytest.raises(ValueError) as e:
        _ade(root, '1_64/labeled.txt', annotations='unimatch')
    msg = str(e.value)
    assert "annotations='unimatch'" in msg and 'values 150' in msg
    assert 'annotations/training/ADE_train_00000003.png' in msg
    assert "set annotations='raw'" in msg
    # pre-processed maps contain 255: raw maps never do
    with pytest.raises(ValueError) as e:
        _ade(root, '1_64/labeled.txt', annotations='raw',
             data_prefix=dict(img_path='', seg_map_path='unimatch'))
    msg = str(e.value)
    assert 'unimatch/annotations/training/ADE_train_00000004.png' in msg
    assert 'values 255' in msg and "set annotations='unimatch'" in msg
    with pytest.raises(ValueError, match='contradicts'):
        _ade(root, '1_64/labeled.txt', annotations='raw',
             reduce_zero_label=False)
    with pytest.raises(ValueError, match="one of \\('unimatch', 'raw'\\)"):
        _ade(root, '1_64/labeled.txt', annotations='mmseg')


def test_ade20k_one_column_line(ade_root, tmp_path):
    root, _ = ade_root
    split = tmp_path / 'one.txt'
    split.write_text('images/training/ADE_train_00000001.jpg\n')
    ds = SemiADE20KDataset(
        data_root=root,
        ann_file=str(split),
        annotations='raw',
        serialize_data=False)
    assert ds.get_data_info(0)['seg_map_path'] == osp.join(
        root, 'annotations/training/ADE_train_00000001.png')


# -------------------------------------------------------------------- COCO
@pytest.fixture(scope='module')
def coco_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('coco'))
    maps = {}
    for sub, ids in (('train2017', (9, 25, 30, 34)), ('val2017', (139, ))):
        for i in ids:
            name = f'{i:012d}'
            _img(osp.join(root, sub, name + '.jpg'))
            m = np.random.default_rng(i).integers(0, 81, (H, W))
            m[0, 0] = 255
            _png(osp.join(root, 'masks', name + '.png'), m)
            maps[name] = m
    sp = osp.join(root, 'splits', 'coco')
    _lines(osp.join(sp, '1_512', 'labeled.txt'), [
        'train2017/000000000025.jpg masks/000000000025.png',
        'train2017/000000000034.jpg masks/000000000034.png'
    ])
    _lines(osp.join(sp, 'val.txt'),
           ['val2017/000000000139.jpg masks/000000000139.png'])
    return root, maps


def test_coco81_metainfo():
    assert len(COCO81_CLASSES) == len(COCO81_PALETTE) == 81
    assert COCO81_CLASSES[:3] == ('background', 'person', 'bicycle')
    assert COCO81_CLASSES[-1] == 'toothbrush'
    # UniMatch colours COCO with the VOC colour map (util/utils.py:85)
    assert COCO81_PALETTE[:21] == [
        list(c) for c in PascalVOCDataset.METAINFO['palette']
    ]
    assert len({tuple(c) for c in COCO81_PALETTE}) == 81


def test_coco81_split_samples_and_values(coco_root):
    root, maps = coco_root
    lab = SemiCOCO81Dataset(
        data_root=root,
        ann_file='splits/coco/1_512/labeled.txt',
        serialize_data=False)
    assert [lab.get_data_info(i)['img_id'] for i in range(len(lab))] == [
        '000000000025', '000000000034'
    ]
    assert lab.get_data_info(1)['seg_map_path'] == osp.join(
        root, 'masks/000000000034.png')
    np.testing.assert_array_equal(_gt(lab, 1), maps['000000000034'])
    val = SemiCOCO81Dataset(
        data_root=root, ann_file='splits/coco/val.txt', serialize_data=False)
    assert len(val) == 1 and val.get_data_info(0)['img_path'] == osp.join(
        root, 'val2017/000000000139.jpg')


def test_coco81_unlabeled_from_generated_list(coco_root):
    root, _ = coco_root
    split = osp.join(root, 'splits/coco/1_512')
    _unlabeled_tool().main(
        [osp.join(split, 'labeled.txt'), '--data-root', root])
    unl = SemiCOCO81Dataset(
        data_root=root,
        ann_file='splits/coco/1_512/unlabeled.txt',
        is_labeled=False,
        serialize_data=False)
    assert [unl.get_data_info(i)['img_id'] for i in range(len(unl))] == [
        '000000000009', '000000000030'
    ]


def test_coco81_bad_value_names_the_file(coco_root, tmp_path):
    root, _ = coco_root
    _png(str(tmp_path / 'masks' / 'bad.png'), np.full((H, W), 81))
    split = tmp_path / 'bad.txt'
    split.write_text(f'train2017/000000000009.jpg {tmp_path}/masks/bad.png\n')
    with pytest.raises(ValueError, match='bad.png has values 81'):
        SemiCOCO81Dataset(data_root=root, ann_file=str(split))


# ------------------------------------------------------------------ configs
def _build_from_config(path, root, split_dir, seg_prefix=''):
    """Build the labeled, unlabeled and val datasets of a data config on a
    tiny tree; run the labeled pipeline once."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS
    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(ROOT, path))
    train = cfg.train_dataloader.dataset.datasets
    sets = [train[0], train[1], cfg.val_dataloader.dataset]
    names = [
        osp.join(split_dir, 'labeled.txt'),
        osp.join(split_dir, 'unlabeled.txt'),
        osp.join(osp.dirname(split_dir), 'val.txt')
    ]
    built = []
    for ds_cfg, name in zip(sets, names):
        assert ds_cfg.ann_file.endswith(
            osp.basename(osp.dirname(name)) + '/' + osp.basename(name))
        ds_cfg = dict(
            ds_cfg,
            data_root=root,
            ann_file=name,
            serialize_data=False,
            data_prefix=dict(img_path='', seg_map_path=seg_prefix))
        built.append(DATASETS.build(ds_cfg))
    out = built[0][0]
    return built, out


@pytest.mark.parametrize('path', [
    'configs/_base_/datasets/semi_ade20k.py',
    'configs/unimatch/_base_/data_ade20k.py',
    'configs/unimatch_v2/_base_/data_ade20k.py'
])
def test_ade20k_data_configs_build(ade_root, path):
    root, _ = ade_root
    (lab, unl, val), out = _build_from_config(
        path, root, osp.join(root, 'splits/ade20k/1_64'), 'unimatch')
    assert (len(lab), len(unl), len(val)) == (2, 2, 1)
    assert lab.annotations == val.annotations == 'unimatch'
    _check_sup_labels(out, 150)


def _check_sup_labels(out, num_classes):
    """The labeled pipeline's packed label: train ids and 255 only."""
    sample = out['data_samples']
    sample = sample['sup'] if isinstance(sample, dict) else sample
    vals = set(sample.gt_sem_seg.data.unique().tolist())
    assert vals and vals <= set(range(num_classes)) | {255}, vals


def _unlabeled_tool():
    spec = importlib.util.spec_from_file_location(
        'coco_unlabeled_split',
        osp.join(ROOT, 'tools/dataset_converters/coco_unlabeled_split.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


@pytest.mark.parametrize('path', [
    'configs/_base_/datasets/semi_coco.py',
    'configs/unimatch/_base_/data_coco.py',
    'configs/unimatch_v2/_base_/data_coco.py'
])
def test_coco_data_configs_build(coco_root, path):
    root, _ = coco_root
    split = osp.join(root, 'splits/coco/1_512')
    _unlabeled_tool().main([osp.join(split, 'labeled.txt'), '--data-root',
                            root])
    (lab, unl, val), out = _build_from_config(path, root, split)
    assert (len(lab), len(unl), len(val)) == (2, 2, 1)
    _check_sup_labels(out, 81)



# ---------------------------------------------------- two CPU iterations
def _two_iteration_cfg(rel, root, split_dir, work_dir, num_classes,
                       seg_prefix=''):
    """A UniMatch/FixMatch COCO or ADE20K config on a tiny tree: its data,
    geometry and method, the network of ``unimatch/synthetic_1-16.py``
    (half-width R-18), 32-px crops, two iterations and one validation."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, 'configs', rel))
    syn = Config.fromfile(
        osp.join(ROOT, 'configs/unimatch/synthetic_1-16.py'))
    crop = (32, 32)
    seg = syn.model.segmentor
    seg.decode_head.num_classes = num_classes
    seg.data_preprocessor.size = crop
    cfg.model.segmentor = seg
    cfg.model.data_preprocessor.data_preprocessor = seg.data_preprocessor
    names = ['labeled.txt', 'unlabeled.txt', 'unlabeled.txt']
    train = cfg.train_dataloader.dataset.datasets
    for ds, name in zip(train, names):
        ds.update(
            data_root=root,
            ann_file=osp.join(split_dir, name),
            data_prefix=dict(img_path='', seg_map_path=seg_prefix))
        for t in ds.pipeline:
            if t['type'] == 'RandomCrop':
                t['crop_size'] = crop
            elif t['type'] == 'PadToSize':
                t['size'] = crop
    cfg.val_dataloader.dataset.update(
        data_root=root,
        ann_file=osp.join(osp.dirname(split_dir), 'val.txt'),
        data_prefix=dict(img_path='', seg_map_path=seg_prefix))
    for dl in (cfg.train_dataloader, cfg.val_dataloader):
        dl.update(num_workers=0, persistent_workers=False)
    cfg.test_dataloader = cfg.val_dataloader
    cfg.train_cfg = dict(
        type='SemiIterBasedTrainLoop', max_iters=2, val_interval=2)
    cfg.param_scheduler = syn.param_scheduler
    cfg.default_hooks = syn.default_hooks
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = 2
    cfg.custom_hooks = []
    cfg.env_cfg = syn.env_cfg
    cfg.work_dir = str(work_dir)
    return cfg


@pytest.mark.parametrize('rel', [
    'unimatch/coco_1-512.py', 'fixmatch/ade20k_1-64.py',
    'mean_teacher/ade20k_1-64.py'
])
def test_two_cpu_iterations(rel, ade_root, coco_root, tmp_path,
                            monkeypatch, mmseg_scope_one_thread):
    from mmengine.config import Config
    from mmengine.runner import Runner
    monkeypatch.setattr(Config, 'pretty_text',
                        property(lambda self: self.text))
    if 'coco' in rel:
        root, _ = coco_root
        split = osp.join(root, 'splits/coco/1_512')
        _unlabeled_tool().main(
            [osp.join(split, 'labeled.txt'), '--data-root', root])
        cfg = _two_iteration_cfg(rel, root, split, tmp_path, 81)
    else:
        root, _ = ade_root
        cfg = _two_iteration_cfg(rel, root,
                                 osp.join(root, 'splits/ade20k/1_64'),
                                 tmp_path, 150, seg_prefix='unimatch')
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 2
    scalars = dict(runner.message_hub.log_scalars)
    assert 'val/student/mIoU' in scalars
    # the network predicts the dataset's classes
    assert runner.model.student.decode_head.num_classes == len(
        runner.train_dataloader.dataset.datasets[0].metainfo['classes'])
    assert np.isfinite(scalars['train/loss'].current())
