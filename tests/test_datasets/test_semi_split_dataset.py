"""SemiSplitDataset: any mmseg dataset with a split file or an image folder;
bad input fails at load time naming the file; browse_dataset; two CPU
iterations of the mean-teacher synthetic config on the wrapper."""
import importlib.util
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CLASSES = ('bg', 'cat', 'dog')


def _save(path, arr):
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray(arr).save(path)


def _img(h, w, v=0):
    return np.full((h, w, 3), v, np.uint8)


@pytest.fixture
def tree(tmp_path):
    """images/train/{a/0,a/1,b/2}.jpg + masks/train/...png (values 0..2,
    255), images of other sizes in unlabeled/ (nested, upper-case
    extension, plus files that are not images)."""
    root = tmp_path / 'my_data'
    for i, rel in enumerate(['a/0', 'a/1', 'b/2']):
        _save(str(root / 'images/train' / f'{rel}.jpg'), _img(8, 10, i))
        lab = np.full((8, 10), i, np.uint8)
        lab[0] = 255
        _save(str(root / 'masks/train' / f'{rel}.png'), lab)
    _save(str(root / 'unlabeled/x/u0.PNG'), _img(6, 7))
    _save(str(root / 'unlabeled/u1.jpeg'), _img(5, 9))
    _save(str(root / 'unlabeled/.hidden.jpg'), _img(5, 9))
    (root / 'unlabeled/notes.txt').write_text('not an image')
    (root / 'splits').mkdir()
    # three line forms: path, mmseg name, two columns
    (root / 'splits/labeled.txt').write_text(
        'images/train/a/0.jpg\n# comment\nb/2\n'
        'images/train/a/1.jpg masks/train/a/1.png\n')
    (root / 'splits/unlabeled.txt').write_text('images/train/a/1.jpg\n')
    return str(root)


def _wrapped(root, **kw):
    cfg = dict(
        type='BaseSegDataset',
        data_root=root,
        metainfo=dict(classes=CLASSES,
                      palette=[[0, 0, 0], [255, 0, 0], [0, 255, 0]]),
        data_prefix=dict(img_path='images/train',
                         seg_map_path='masks/train'))
    cfg.update(kw)
    return cfg


def _build(**kw):
    import mmsss  # noqa: F401
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS
    init_default_scope('mmseg')
    return DATASETS.build(dict(type='SemiSplitDataset', **kw))


def test_plain_base_dataset_split_file(tree):
    ds = _build(dataset=_wrapped(tree), ann_file='splits/labeled.txt')
    got = [(d['img_id'], osp.relpath(d['img_path'], tree),
            osp.relpath(d['seg_map_path'], tree), d['is_labeled'])
           for d in ds]
    assert got == [
        ('a/0', 'images/train/a/0.jpg', 'masks/train/a/0.png', True),
        ('b/2', 'images/train/b/2.jpg', 'masks/train/b/2.png', True),
        ('a/1', 'images/train/a/1.jpg', 'masks/train/a/1.png', True),
    ]
    assert ds.metainfo['classes'] == CLASSES
    assert ds.metainfo['palette'][1] == [255, 0, 0]
    assert ds.label_map is None and ds.data_root == tree
    # the pipeline loads the listed label
    ds = _build(dataset=_wrapped(tree), ann_file='splits/labeled.txt',
                pipeline=[dict(type='LoadImageFromFile'),
                          dict(type='LoadAnnotations')])
    gt = ds[1]['gt_seg_map']
    assert gt.shape == (8, 10) and set(np.unique(gt)) == {2, 255}
    # unlabeled part of a split file: no label path
    ds = _build(dataset=_wrapped(tree), ann_file='splits/unlabeled.txt',
                is_labeled=False)
    assert [(d['img_id'], d['seg_map_path']) for d in ds] == [('a/1', None)]


def test_registered_subclass_ade20k(tree):
    # ADE20KDataset: its 150 classes, reduce_zero_label=True, raw values
    # 0..150 allowed (0 = other)
    ade = dict(type='ADE20KDataset', data_root=tree,
               data_prefix=dict(img_path='images/train',
                                seg_map_path='masks/train'))
    ds = _build(dataset=ade, ann_file='splits/labeled.txt')
    assert len(ds) == 3 and len(ds.metainfo['classes']) == 150
    assert ds.reduce_zero_label and ds[0]['reduce_zero_label']
    assert ds._num_raw_label_values() == 151
    # a subset of its classes: label_map from the wrapped class, raw values
    # still checked against its 150 classes
    from mmseg.datasets import ADE20KDataset
    sub = ADE20KDataset.METAINFO['classes'][:3]
    ds = _build(dataset=dict(ade, metainfo=dict(classes=sub)),
                ann_file='splits/labeled.txt')
    assert ds.metainfo['classes'] == sub
    assert ds.label_map[0] == 0 and ds.label_map[5] == 255
    assert ds[0]['label_map'] == ds.label_map
    assert ds._num_raw_label_values() == 151
    # the wrapped pipeline is used when the wrapper has none
    ds = _build(dataset=dict(ade, pipeline=[dict(type='LoadImageFromFile')]),
                ann_file='splits/labeled.txt')
    assert ds[0]['img'].shape == (8, 10, 3)


def test_unlabeled_folder(tree):
    ds = _build(
        dataset=_wrapped(tree), img_dir='unlabeled', is_labeled=False,
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadUnlabeledAnnotations')])
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert [(d['img_id'], d['seg_map_path'], d['is_labeled'])
            for d in infos] == [('u1', None, False), ('x/u0', None, False)]
    assert infos[1]['img_path'] == osp.join(tree, 'unlabeled', 'x/u0.PNG')
    for i, shape in enumerate([(5, 9), (6, 7)]):
        out = ds[i]
        assert out['gt_seg_map'].shape == shape
        assert (out['gt_seg_map'] == 255).all()


@pytest.mark.parametrize('kw, err, match', [
    (dict(ann_file='splits/labeled.txt', img_dir='unlabeled',
          is_labeled=False), ValueError, 'exactly one of ann_file'),
    (dict(), ValueError, 'exactly one of ann_file'),
    (dict(img_dir='unlabeled'), ValueError, 'is_labeled=False'),
    (dict(img_dir='unlabeled', is_labeled=False, keep_gt_for_analysis=True),
     ValueError, 'keep_gt_for_analysis needs a split file'),
    (dict(ann_file='splits/labeled.txt', metainfo=dict(classes=CLASSES)),
     ValueError, 'set metainfo on the wrapped dataset'),
    (dict(img_dir='nope', is_labeled=False), FileNotFoundError,
     'image folder .*nope'),
])
def test_wrapper_argument_errors(tree, kw, err, match):
    with pytest.raises(err, match=match):
        _build(dataset=_wrapped(tree), **kw)


def test_no_classes_and_bad_type(tree):
    with pytest.raises(ValueError, match='BaseSegDataset has no classes'):
        _build(dataset=_wrapped(tree, metainfo=None),
               ann_file='splits/labeled.txt')
    with pytest.raises(TypeError, match='must be a dataset config'):
        _build(dataset='BaseSegDataset', ann_file='splits/labeled.txt')


def test_folder_without_images(tree):
    os.makedirs(osp.join(tree, 'empty/sub'))
    open(osp.join(tree, 'empty/sub/readme.txt'), 'w').close()
    with pytest.raises(ValueError, match=r'empty has no images'):
        _build(dataset=_wrapped(tree), img_dir='empty', is_labeled=False)


def test_empty_and_unreadable_images(tree):
    open(osp.join(tree, 'unlabeled/zero.jpg'), 'w').close()
    with open(osp.join(tree, 'unlabeled/x/broken.png'), 'w') as f:
        f.write('not a png')
    with pytest.raises(ValueError) as e:
        _build(dataset=_wrapped(tree), img_dir='unlabeled', is_labeled=False)
    msg = str(e.value)
    assert '2 image(s) of the unlabeled set' in msg
    assert 'zero.jpg: empty file (0 bytes)' in msg
    assert 'broken.png: cannot read image' in msg
    # the same from a split file
    with open(osp.join(tree, 'splits/u2.txt'), 'w') as f:
        f.write('unlabeled/zero.jpg\nimages/train/a/0.jpg\n')
    with pytest.raises(ValueError, match='zero.jpg: empty file'):
        _build(dataset=_wrapped(tree), ann_file='splits/u2.txt',
               is_labeled=False)
    # opt-out loads them
    ds = _build(dataset=_wrapped(tree), img_dir='unlabeled',
                is_labeled=False, check_images=False)
    assert len(ds) == 4


def test_find_image_problem_zero_pixels(tmp_path, monkeypatch):
    from mmsss.datasets import semi_split_dataset as m
    p = str(tmp_path / 'a.png')
    _save(p, _img(3, 4))
    assert m.find_image_problem(p) is None
    assert 'file not found' in m.find_image_problem(p + 'x')

    class Zero:
        size = (0, 4)

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

    monkeypatch.setattr(m.Image, 'open', lambda path: Zero())
    assert m.find_image_problem(p) == f'{p}: empty image (0x4 pixels)'


def test_label_values_outside_classes(tree):
    bad = np.zeros((8, 10), np.uint8)
    bad[2, 3] = 3  # 3 classes: 0..2 and 255 allowed
    _save(osp.join(tree, 'masks/train/b/2.png'), bad)
    with pytest.raises(ValueError) as e:
        _build(dataset=_wrapped(tree), ann_file='splits/labeled.txt')
    assert 'line 3: ' + osp.join(tree, 'masks/train/b/2.png') + \
        ' has values 3' in str(e.value)
    # with reduce_zero_label the raw values 0..3 fit
    ds = _build(dataset=_wrapped(tree, reduce_zero_label=True),
                ann_file='splits/labeled.txt')
    assert len(ds) == 3


def test_label_not_derivable_and_missing_files(tree):
    with open(osp.join(tree, 'splits/out.txt'), 'w') as f:
        f.write('unlabeled/u1.jpeg\n')
    with pytest.raises(ValueError, match='line 1: cannot derive the label'):
        _build(dataset=_wrapped(tree), ann_file='splits/out.txt')
    ds = _build(dataset=_wrapped(tree), ann_file='splits/out.txt',
                is_labeled=False)
    assert ds[0]['seg_map_path'] is None
    os.remove(osp.join(tree, 'masks/train/a/0.png'))
    with pytest.raises(FileNotFoundError, match='line 1: label .*a/0.png'):
        _build(dataset=_wrapped(tree), ann_file='splits/labeled.txt')


def test_class_names_vs_num_classes(tree):
    from mmsss.datasets import check_num_classes
    ds = _build(dataset=_wrapped(tree), ann_file='splits/labeled.txt')
    check_num_classes(ds.metainfo, 3)
    with pytest.raises(ValueError,
                       match=r'num_classes=4 but the dataset has 3 classes '
                       r'\(bg, cat, dog\)'):
        check_num_classes(ds.metainfo, 4, 'model.decode_head')


# ------------------------------------------------------ synthetic config runs
def _synthetic_cfg(root, work_dir):
    """configs/mean_teacher/synthetic_1-16.py with its training data read
    through SemiSplitDataset around a plain BaseSegDataset (the custom-data
    path): labeled part from the split file, unlabeled part = every image
    of JPEGImages (a folder, no masks)."""
    from mmengine.config import Config

    from mmsss.datasets.synthetic import SYNTHETIC_CLASSES, SYNTHETIC_PALETTE
    from tests.test_engine.test_train_synthetic import data_options
    cfg = Config.fromfile(osp.join(ROOT, 'configs/mean_teacher/'
                                   'synthetic_1-16.py'))
    opts = {}
    for kv in data_options(root):
        k, v = kv.split('=', 1)
        opts[k] = int(v) if v.isdigit() else (False if v == 'False' else v)
    cfg.merge_from_dict(opts)
    wrapped = dict(
        type='BaseSegDataset', data_root=root,
        metainfo=dict(classes=tuple(SYNTHETIC_CLASSES),
                      palette=[list(c) for c in SYNTHETIC_PALETTE]),
        data_prefix=dict(img_path='JPEGImages',
                         seg_map_path='SegmentationClass'))
    lab, unl = cfg.train_dataloader.dataset.datasets
    cfg.train_dataloader.dataset.datasets = [
        dict(type='SemiSplitDataset', dataset=wrapped,
             ann_file='splits/1-16/labeled.txt', pipeline=lab.pipeline),
        dict(type='SemiSplitDataset', dataset=wrapped, img_dir='JPEGImages',
             is_labeled=False, pipeline=unl.pipeline),
    ]
    cfg.train_cfg.max_iters = 2
    cfg.train_cfg.val_interval = 2
    cfg.custom_hooks = [
        h for h in cfg.custom_hooks if h['type'] == 'MeanTeacherHook'
    ]
    cfg.custom_hooks[0].copy_iters = None
    cfg.work_dir = str(work_dir)
    return cfg


def test_browse_dataset_writes_every_view(synthetic_voc_root, tmp_path):
    spec = importlib.util.spec_from_file_location(
        'browse_dataset', osp.join(ROOT, 'tools/misc/browse_dataset.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    cfg = _synthetic_cfg(synthetic_voc_root, tmp_path)
    out = str(tmp_path / 'browse')
    written = tool.browse(cfg, out, num=2, seed=0)
    names = sorted(osp.basename(p) for p in written)
    assert sorted(os.listdir(out)) == names and len(names) == 6
    views = [n.rsplit('_', 1)[-1] for n in names]
    assert views.count('sup.png') == 2
    assert sum('_unsup_weak.png' in n for n in names) == 2
    assert sum('_unsup_strong.png' in n for n in names) == 2
    assert all(n.startswith('0_labeled_') for n in names if 'sup.png' in n
               and 'unsup' not in n)
    # labeled: the right half is the image with the label blended in;
    # unlabeled placeholder (all ignore): both halves equal
    import cv2
    for n in names:
        im = cv2.imread(osp.join(out, n))
        assert im.shape == (64, 128, 3)
        left, right = im[:, :64], im[:, 64:]
        assert np.array_equal(left, right) == ('unsup' in n), n
    # the drawing itself: alpha 0.5 of palette colour (RGB -> BGR)
    img = np.full((1, 2, 3), 100, np.uint8)
    canvas = tool.draw_view(img, np.array([[1, 255]]), [[0, 0, 0],
                                                         [200, 0, 0]])
    assert canvas[0, 2].tolist() == [50, 50, 150]
    assert canvas[0, 3].tolist() == [100, 100, 100]


def test_two_iterations_on_the_wrapper(synthetic_voc_root, tmp_path,
                                       monkeypatch, mmseg_scope_one_thread):
    from mmengine.config import Config
    from mmengine.runner import Runner
    monkeypatch.setattr(Config, 'pretty_text',
                        property(lambda self: self.text))
    runner = Runner.from_cfg(_synthetic_cfg(synthetic_voc_root, tmp_path))
    lab, unl = runner.train_dataloader.dataset.datasets
    assert type(lab).__name__ == type(unl).__name__ == 'SemiSplitDataset'
    assert len(unl) == len(os.listdir(
        osp.join(synthetic_voc_root, 'JPEGImages')))
    runner.train()
    assert runner.iter == 2
    scalars = dict(runner.message_hub.log_scalars)
    assert 'val/teacher/mIoU' in scalars
    assert np.isfinite(scalars['train/loss'].current())


def test_custom_template_builds(tree):
    """configs/_base_/datasets/semi_custom.py on a filled-in tree: labeled
    split, unlabeled folder, validation on the wrapped type's val folder."""
    from mmengine.config import Config
    _save(osp.join(tree, 'images/val/v.jpg'), _img(4, 4))
    _save(osp.join(tree, 'masks/val/v.png'), np.zeros((4, 4), np.uint8))
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs/_base_/datasets/semi_custom.py'))
    lab, unl = cfg.train_dataloader.dataset.datasets
    for d in (lab, unl, cfg.val_dataloader.dataset):
        (d.dataset if 'dataset' in d else d).data_root = tree
        (d.dataset if 'dataset' in d else d).metainfo.classes = CLASSES
    lab.ann_file = 'splits/labeled.txt'
    del unl['ann_file']
    unl.img_dir = 'unlabeled'
    labeled = _build(**{k: v for k, v in lab.items() if k != 'type'})
    unlabeled = _build(**{k: v for k, v in unl.items() if k != 'type'})
    assert (len(labeled), len(unlabeled)) == (3, 2)
    assert unlabeled[0]['data_samples']['unsup_weak'] is not None
    from mmseg.registry import DATASETS
    val = DATASETS.build(cfg.val_dataloader.dataset)
    assert len(val) == 1 and osp.relpath(
        val.get_data_info(0)['seg_map_path'], tree) == 'masks/val/v.png'
    assert type(val).__name__ == 'BaseSegDataset'
