"""tools/dataset_converters: COCO instances -> 81-class masks and the
unlabeled list of the rest of train2017."""
import importlib.util
import json
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _tool(name):
    spec = importlib.util.spec_from_file_location(
        name, osp.join(ROOT, 'tools', 'dataset_converters', name + '.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


conv = _tool('coco_instances_to_masks')
unl = _tool('coco_unlabeled_split')

# 6 x 8 image; categories 1, 3, 90 -> 1, 2, 3
A = dict(  # 6 x 5 rectangle: x 0..5, y 0..4 (30 px), category 1
    id=7, image_id=1, category_id=1, iscrowd=0,
    segmentation=[[0, 0, 6, 0, 6, 5, 0, 5]])
B = dict(  # 4 x 4 rectangle: x 4..7, y 2..5 (16 px), category 90
    id=9, image_id=1, category_id=90, iscrowd=0,
    segmentation=[[4, 2, 8, 2, 8, 6, 4, 6]])
# crowd, category 3: column-major pixels 4, 5, 10, 11 = (y 4..5, x 0..1);
# counts [4, 2, 4, 2, 36] compressed by hand (maskApi.c rleToString):
# '4', '2', '4', then 2 - 2 = 0 -> '0', then 36 - 4 = 32 -> 'P1'
CROWD = dict(
    id=3, image_id=1, category_id=3, iscrowd=1,
    segmentation=dict(size=[6, 8], counts='4240P1'))
EXPECTED = np.array([
    [1, 1, 1, 1, 1, 1, 0, 0],
    [1, 1, 1, 1, 1, 1, 0, 0],
    [1, 1, 1, 1, 3, 3, 3, 3],
    [1, 1, 1, 1, 3, 3, 3, 3],
    [1, 1, 1, 1, 3, 3, 3, 3],
    [255, 255, 0, 0, 3, 3, 3, 3],
], dtype=np.uint8)


def _coco(tmp_path):
    data = dict(
        images=[
            dict(id=1, file_name='000000000001.jpg', height=6, width=8),
            dict(id=2, file_name='000000000002.jpg', height=3, width=4)
        ],
        # the smaller instance first: the order comes from the areas
        annotations=[B, CROWD, A],
        categories=[dict(id=90, name='toothbrush'), dict(id=1, name='person'),
                    dict(id=3, name='car')])
    path = tmp_path / 'instances_train2017.json'
    path.write_text(json.dumps(data))
    return str(path)


def test_rle_string_by_hand():
    assert conv.rle_counts_from_string('4240P1') == [4, 2, 4, 2, 36]
    # [3, 2, 4, 1]: the last stored as 1 - 2 = -1 -> 'O'; 40 -> 'X1'
    assert conv.rle_counts_from_string('324O') == [3, 2, 4, 1]
    assert conv.rle_counts_from_string('X1') == [40]
    m = conv.rle_to_mask([3, 2, 4, 1], 2, 5)
    # column-major: pixels 3, 4 and 9 are set
    ref = np.zeros(10, np.uint8)
    ref[[3, 4, 9]] = 1
    np.testing.assert_array_equal(m, ref.reshape(5, 2).T)
    with pytest.raises(ValueError, match='expected 2 x 5 = 10'):
        conv.rle_to_mask([3, 2], 2, 5)


def _inside(px, py, poly):
    """Plain ray casting (even-odd) of one point."""
    pts = list(zip(poly[0::2], poly[1::2]))
    inside = False
    for (xa, ya), (xb, yb) in zip(pts, pts[1:] + pts[:1]):
        if (ya <= py) != (yb <= py):
            if px > xa + (py - ya) * (xb - xa) / (yb - ya):
                inside = not inside
    return inside


def test_polygon_pixel_centres_against_loop():
    # non-convex, fractional vertices, partly outside the image
    poly = [0.3, 0.2, 9.7, 1.4, 4.1, 3.3, 8.8, 7.9, -1.5, 6.2]
    h, w = 7, 9
    got = conv.polygon_to_mask([poly], h, w)
    ref = np.array([[_inside(x + 0.5, y + 0.5, poly) for x in range(w)]
                    for y in range(h)], dtype=np.uint8)
    assert 5 < ref.sum() < h * w
    np.testing.assert_array_equal(got, ref)
    # random self-intersecting polygons reaching past every border
    rng = np.random.default_rng(0)
    for _ in range(3):
        poly = rng.uniform(-3, 14, 16).round(2).tolist()
        got = conv.polygon_to_mask([poly], 9, 11)
        ref = np.array([[_inside(x + 0.5, y + 0.5, poly) for x in range(11)]
                        for y in range(9)], dtype=np.uint8)
        np.testing.assert_array_equal(got, ref)
    rect = conv.polygon_to_mask([[0, 0, 4, 0, 4, 3, 0, 3]], 5, 6)
    assert rect.sum() == 12 and rect[:3, :4].all()


def test_two_instances_overlap_and_crowd(tmp_path):
    out = tmp_path / 'masks'
    data = conv.load_instances(_coco(tmp_path))
    assert conv.convert(data, str(out)) == dict(written=2, skipped=0)
    got = np.asarray(Image.open(out / '000000000001.png'))
    np.testing.assert_array_equal(got, EXPECTED)
    # an image without annotations is all background
    empty = np.asarray(Image.open(out / '000000000002.png'))
    assert empty.shape == (3, 4) and not empty.any()
    # rerun skips what is there; no temporary files are left behind
    assert conv.convert(data, str(out)) == dict(written=0, skipped=2)
    assert sorted(os.listdir(out)) == [
        '000000000001.png', '000000000002.png'
    ]
    # crowd as its category: the smallest region (4 px), so on top
    conv.main([_coco(tmp_path), '--out-dir', str(out), '--crowd',
               'category', '--overwrite'])
    got = np.asarray(Image.open(out / '000000000001.png'))
    ref = EXPECTED.copy()
    ref[4:6, 0:2] = 2
    np.testing.assert_array_equal(got, ref)


def test_bad_annotation_named(tmp_path):
    bad = dict(A, category_id=5)
    with pytest.raises(ValueError, match='annotation id 7: category_id 5'):
        conv.instances_to_mask([bad], 6, 8, {1: 1})
    with pytest.raises(ValueError, match='RLE size'):
        conv.instances_to_mask([CROWD], 5, 8, {3: 1})
    p = tmp_path / 'x.json'
    p.write_text(json.dumps(dict(images=[])))
    with pytest.raises(ValueError, match='no "annotations"'):
        conv.load_instances(str(p))


def test_unlabeled_is_the_rest(tmp_path):
    root = tmp_path / 'coco'
    (root / 'train2017').mkdir(parents=True)
    names = [f'{i:012d}.jpg' for i in (5, 1, 3, 2, 4)]
    for n in names:
        (root / 'train2017' / n).write_bytes(b'')
    (root / 'train2017' / 'notes.txt').write_text('x')
    split = tmp_path / 'splits' / '1_512'
    split.mkdir(parents=True)
    (split / 'labeled.txt').write_text(
        'train2017/000000000003.jpg masks/000000000003.png\n'
        'train2017/000000000005.jpg masks/000000000005.png\n')
    unl.main([str(split / 'labeled.txt'), '--data-root', str(root)])
    lines = (split / 'unlabeled.txt').read_text().splitlines()
    assert lines == [
        f'train2017/{i:012d}.jpg masks/{i:012d}.png' for i in (1, 2, 4)
    ]
    (split / 'labeled.txt').write_text('val2017/000000000003.jpg m.png\n')
    with pytest.raises(ValueError, match='not in .*train2017'):
        unl.main([str(split / 'labeled.txt'), '--data-root', str(root)])
