import os
import os.path as osp
import shutil

import numpy as np
import pytest
from mmseg.registry import DATASETS
from PIL import Image

from mmsss.datasets import (SYNTHETIC_CLASSES, SemiCityscapesDataset,
                            SemiSyntheticDataset, SemiVOCDataset,
                            check_num_classes)
from mmsss.datasets.semi_datasets import read_split_file

KEYS = {
    'img_path', 'seg_map_path', 'label_map', 'reduce_zero_label', 'seg_fields',
    'sample_idx', 'is_labeled', 'img_id'
}


def _ids(path):
    with open(path) as f:
        return [ln.strip() for ln in f if ln.strip()]


def _write(path, lines):
    os.makedirs(osp.dirname(str(path)), exist_ok=True)
    with open(path, 'w') as f:
        f.write(''.join(f'{ln}\n' for ln in lines))
    return str(path)


@pytest.fixture
def voc_copy(synthetic_voc_root, tmp_path):
    """A writable copy of the synthetic VOC set."""
    dst = tmp_path / 'voc'
    shutil.copytree(synthetic_voc_root, dst)
    return str(dst)


# ------------------------------------------------------------------ VOC
def test_voc_labeled(synthetic_voc_root):
    split = 'splits/1-4/labeled.txt'
    ds = SemiVOCDataset(data_root=synthetic_voc_root, ann_file=split)
    ids = _ids(osp.join(synthetic_voc_root, split))
    assert len(ds) == len(ids) == 12
    assert ds.metainfo['classes'][:2] == ('background', 'aeroplane')
    assert len(ds.metainfo['classes']) == len(ds.metainfo['palette']) == 21
    for i, img_id in enumerate(ids):
        info = ds.get_data_info(i)
        assert set(info) == KEYS
        assert info['is_labeled'] is True and info['img_id'] == img_id
        assert info['img_path'] == osp.join(synthetic_voc_root, 'JPEGImages',
                                            img_id + '.jpg')
        assert info['seg_map_path'] == osp.join(
            synthetic_voc_root, 'SegmentationClass', img_id + '.png')
        assert info['seg_fields'] == [] and info['sample_idx'] == i


def test_voc_unlabeled_and_keep_gt(voc_copy):
    split = 'splits/1-4/unlabeled.txt'
    ids = _ids(osp.join(voc_copy, split))
    ds = SemiVOCDataset(data_root=voc_copy, ann_file=split, is_labeled=False)
    assert len(ds) == len(ids) == 36
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert all(i['is_labeled'] is False for i in infos)
    assert all(i['seg_map_path'] is None for i in infos)
    assert [i['img_id'] for i in infos] == ids
    # keep_gt_for_analysis: the label path if the file exists, else None
    os.remove(osp.join(voc_copy, 'SegmentationClass', ids[1] + '.png'))
    ds = SemiVOCDataset(
        data_root=voc_copy,
        ann_file=split,
        is_labeled=False,
        keep_gt_for_analysis=True)
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert infos[1]['seg_map_path'] is None
    assert infos[0]['seg_map_path'] == osp.join(voc_copy, 'SegmentationClass',
                                                ids[0] + '.png')
    assert all(i['is_labeled'] is False for i in infos)
    # keep_gt_for_analysis on a labeled set is a config mistake
    with pytest.raises(ValueError, match='unlabeled.txt.*is_labeled=False'):
        SemiVOCDataset(
            data_root=voc_copy, ann_file=split, keep_gt_for_analysis=True)


def test_voc_path_forms(synthetic_voc_root, tmp_path):
    r = synthetic_voc_root
    split = _write(tmp_path / 'mixed.txt', [
        '# comment', 'train_000001', '',
        'JPEGImages/train_000002.jpg SegmentationClass/train_000003.png',
        'JPEGImages/train_000004.jpg', '  train_000005\t'
    ])
    ds = SemiVOCDataset(data_root=r, ann_file=split)
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert [i['img_id'] for i in infos] == [
        'train_000001', 'train_000002', 'train_000004', 'train_000005'
    ]
    assert infos[1]['img_path'] == osp.join(r, 'JPEGImages/train_000002.jpg')
    assert infos[1]['seg_map_path'] == osp.join(
        r, 'SegmentationClass/train_000003.png')
    assert infos[2]['seg_map_path'] == osp.join(r, 'SegmentationClass',
                                                'train_000004.png')
    assert [n for n, _ in read_split_file(split)] == [2, 4, 5, 6]


def test_voc_prefix_aug_and_registry(voc_copy):
    # blended labels in SegmentationClassAug (grayscale PNG)
    aug = osp.join(voc_copy, 'SegmentationClassAug')
    os.makedirs(aug)
    for fn in os.listdir(osp.join(voc_copy, 'SegmentationClass')):
        arr = np.asarray(Image.open(osp.join(voc_copy, 'SegmentationClass',
                                             fn)))
        Image.fromarray(arr).save(osp.join(aug, fn))
    ds = DATASETS.build(
        dict(
            type='SemiSyntheticDataset',
            data_root=voc_copy,
            ann_file='splits/1-16/labeled.txt',
            data_prefix=dict(
                img_path='JPEGImages', seg_map_path='SegmentationClassAug')))
    assert isinstance(ds, SemiSyntheticDataset)
    assert ds.metainfo['classes'] == SYNTHETIC_CLASSES
    assert 'SegmentationClassAug' in ds.get_data_info(0)['seg_map_path']


def test_mmseg_pipeline_reads_class_indices(synthetic_voc_root):
    from mmcv.transforms import LoadImageFromFile
    from mmseg.datasets.transforms import LoadAnnotations
    ds = SemiSyntheticDataset(
        data_root=synthetic_voc_root,
        ann_file='ImageSets/Segmentation/val.txt',
        pipeline=[LoadImageFromFile(), LoadAnnotations()])
    res = ds[0]
    ref = np.asarray(Image.open(ds.get_data_info(0)['seg_map_path']))
    assert res['img'].shape == (64, 64, 3)
    np.testing.assert_array_equal(res['gt_seg_map'], ref)
    assert res['is_labeled'] is True and res['img_id'] == 'val_000000'


# ----------------------------------------------------------- Cityscapes
def test_cityscapes(tiny_cityscapes_root):
    r = tiny_cityscapes_root
    ds = SemiCityscapesDataset(data_root=r, ann_file='splits/1-2/labeled.txt')
    lines = _ids(osp.join(r, 'splits/1-2/labeled.txt'))
    assert len(ds) == 3 and len(ds.metainfo['classes']) == 19
    for i, line in enumerate(lines):
        info = ds.get_data_info(i)
        assert set(info) == KEYS
        assert info['img_id'] == line and info['is_labeled'] is True
        assert info['img_path'] == osp.join(r, line)
        assert info['seg_map_path'] == osp.join(
            r,
            line.replace('leftImg8bit/', 'gtFine/').replace(
                '_leftImg8bit.png', '_gtFine_labelTrainIds.png'))
        assert osp.isfile(info['seg_map_path'])
    two = SemiCityscapesDataset(
        data_root=r, ann_file='splits/1-2/labeled_2col.txt')
    assert [two.get_data_info(i) for i in range(3)] == \
        [ds.get_data_info(i) for i in range(3)]
    unl = SemiCityscapesDataset(
        data_root=r, ann_file='splits/1-2/unlabeled.txt', is_labeled=False)
    assert len(unl) == 3
    assert all(
        unl.get_data_info(i)['seg_map_path'] is None for i in range(3))
    keep = SemiCityscapesDataset(
        data_root=r,
        ann_file='splits/1-2/unlabeled.txt',
        is_labeled=False,
        keep_gt_for_analysis=True)
    assert all(
        osp.isfile(keep.get_data_info(i)['seg_map_path']) for i in range(3))
    val = SemiCityscapesDataset(data_root=r, ann_file='val.txt')
    assert len(val) == 2


def test_cityscapes_underivable_label(tiny_cityscapes_root, tmp_path):
    src = osp.join(tiny_cityscapes_root, 'leftImg8bit/train/aachen',
                   'aachen_000000_000019_leftImg8bit.png')
    dst = tmp_path / 'leftImg8bit' / 'x.png'
    os.makedirs(dst.parent)
    shutil.copy(src, dst)
    split = _write(tmp_path / 'l.txt', ['leftImg8bit/x.png'])
    with pytest.raises(ValueError, match=r'l\.txt, line 1.*second column'):
        SemiCityscapesDataset(data_root=str(tmp_path), ann_file=split)
    # unlabeled needs no label
    ds = SemiCityscapesDataset(
        data_root=str(tmp_path), ann_file=split, is_labeled=False)
    assert len(ds) == 1


# ------------------------------------------------------------- errors
def test_missing_data_root(tmp_path):
    with pytest.raises(FileNotFoundError, match='data_root.*nowhere'):
        SemiVOCDataset(
            data_root=str(tmp_path / 'nowhere'), ann_file='labeled.txt')


def test_missing_split_file(synthetic_voc_root):
    with pytest.raises(FileNotFoundError, match='no_such_split.txt'):
        SemiVOCDataset(
            data_root=synthetic_voc_root, ann_file='splits/no_such_split.txt')
    with pytest.raises(ValueError, match='ann_file'):
        SemiVOCDataset(data_root=synthetic_voc_root, ann_file='')
    with pytest.raises(ValueError, match='folder'):
        SemiVOCDataset(data_root=synthetic_voc_root, ann_file='splits')


@pytest.mark.parametrize('is_labeled', [True, False])
def test_empty_split(synthetic_voc_root, tmp_path, is_labeled):
    split = _write(tmp_path / 'empty_split.txt', ['', '# nothing', '   '])
    name = 'labeled' if is_labeled else 'unlabeled'
    with pytest.raises(ValueError, match=f'^{name} set is empty: .*'
                       'empty_split.txt'):
        SemiVOCDataset(
            data_root=synthetic_voc_root,
            ann_file=split,
            is_labeled=is_labeled)


def test_three_columns(synthetic_voc_root, tmp_path):
    split = _write(tmp_path / 'bad3.txt', ['train_000001', 'a b c'])
    with pytest.raises(ValueError, match=r'bad3\.txt, line 2.*got 3'):
        SemiVOCDataset(data_root=synthetic_voc_root, ann_file=split)


def test_missing_image_and_label(voc_copy, tmp_path):
    ids = _ids(osp.join(voc_copy, 'splits/1-4/labeled.txt'))
    os.remove(osp.join(voc_copy, 'JPEGImages', ids[2] + '.jpg'))
    os.remove(osp.join(voc_copy, 'SegmentationClass', ids[4] + '.png'))
    with pytest.raises(FileNotFoundError) as e:
        SemiVOCDataset(data_root=voc_copy, ann_file='splits/1-4/labeled.txt')
    msg = str(e.value)
    assert 'labeled.txt' in msg and '2 file(s)' in msg
    assert f'line 3: image {osp.join(voc_copy, "JPEGImages", ids[2])}.jpg' \
        in msg
    assert f'line 5: label ' \
        f'{osp.join(voc_copy, "SegmentationClass", ids[4])}.png' in msg
    # unlabeled: the missing label is fine, the missing image is not
    split = _write(tmp_path / 'unl.txt', [ids[4], ids[2]])
    with pytest.raises(FileNotFoundError, match=r'line 2: image .*' + ids[2]):
        SemiVOCDataset(data_root=voc_copy, ann_file=split, is_labeled=False)
    ok = _write(tmp_path / 'unl_ok.txt', [ids[4]])
    assert len(
        SemiVOCDataset(data_root=voc_copy, ann_file=ok, is_labeled=False)) == 1


def test_many_missing_truncated(synthetic_voc_root, tmp_path):
    split = _write(tmp_path / 'ghosts.txt', [f'ghost_{i}' for i in range(12)])
    with pytest.raises(FileNotFoundError) as e:
        SemiVOCDataset(
            data_root=synthetic_voc_root, ann_file=split, is_labeled=False)
    msg = str(e.value)
    assert 'ghosts.txt' in msg and '12 file(s)' in msg
    assert 'ghost_4.jpg' in msg and 'ghost_5.jpg' not in msg
    assert msg.rstrip().endswith('and 7 more')


def test_bad_label_values(voc_copy, tmp_path):
    ids = _ids(osp.join(voc_copy, 'splits/1-4/labeled.txt'))
    bad_png = osp.join(voc_copy, 'SegmentationClass', ids[1] + '.png')
    im = Image.open(bad_png)
    arr = np.array(im)
    arr[0, :3] = [7, 9, 200]
    out = Image.fromarray(arr)
    out.putpalette(im.getpalette())
    out.save(bad_png)
    kw = dict(data_root=voc_copy, ann_file='splits/1-4/labeled.txt')
    with pytest.raises(ValueError) as e:
        SemiSyntheticDataset(**kw)
    msg = str(e.value)
    assert 'labeled.txt' in msg and bad_png in msg and 'line 2' in msg
    assert '7, 9, 200' in msg and '[0, 7)' in msg
    # VOC metainfo has 21 classes: 7 and 9 are fine there, 200 is not
    with pytest.raises(ValueError, match=r'values 200$|values 200\n'):
        SemiVOCDataset(**kw)
    assert len(SemiSyntheticDataset(check_label_values=False, **kw)) == 12
    # unlabeled sets never check values, even with GT kept for analysis
    assert len(
        SemiSyntheticDataset(
            is_labeled=False, keep_gt_for_analysis=True, **kw)) == 12
    # reduce_zero_label: raw value num_classes (7) becomes class 6 -> valid
    arr[0, :3] = [7, 7, 255]
    out = Image.fromarray(arr)
    out.putpalette(im.getpalette())
    out.save(bad_png)
    os.utime(bad_png, ns=(1, 1))  # defeat the (path, mtime) cache
    with pytest.raises(ValueError, match='values 7'):
        SemiSyntheticDataset(**kw)
    assert len(SemiSyntheticDataset(reduce_zero_label=True, **kw)) == 12


def test_rgb_label_rejected(voc_copy):
    ids = _ids(osp.join(voc_copy, 'splits/1-16/labeled.txt'))
    path = osp.join(voc_copy, 'SegmentationClass', ids[0] + '.png')
    Image.open(path).convert('RGB').save(path)
    with pytest.raises(ValueError, match="mode 'RGB'.*single-channel"):
        SemiSyntheticDataset(
            data_root=voc_copy, ann_file='splits/1-16/labeled.txt')


def test_lazy_init_defers_validation(tmp_path):
    ds = SemiVOCDataset(
        data_root=str(tmp_path), ann_file='missing.txt', lazy_init=True)
    with pytest.raises(FileNotFoundError, match='missing.txt'):
        ds.full_init()


# ------------------------------------------------------ num_classes
def test_check_num_classes(synthetic_voc_root):
    ds = SemiSyntheticDataset(
        data_root=synthetic_voc_root, ann_file='splits/1-16/labeled.txt')
    check_num_classes(ds.metainfo, 7, 'model.decode_head')
    with pytest.raises(ValueError,
                       match=r'model\.decode_head\.num_classes=21 but the '
                       r'dataset has 7 classes \(background, circle'):
        check_num_classes(ds.metainfo, 21, 'model.decode_head')
    with pytest.raises(ValueError, match='no "classes"'):
        check_num_classes({}, 7, 'model')
    with pytest.raises(TypeError):
        check_num_classes(ds.metainfo, '7', 'model')
