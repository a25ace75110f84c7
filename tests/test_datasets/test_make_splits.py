import importlib.util
import os
import os.path as osp
from fractions import Fraction

import pytest

from mmsss.datasets.splits import (make_split, num_labeled_from_ratio,
                                   parse_ratio, read_list_file, write_split)

TOOL = osp.join(
    osp.dirname(__file__), '..', '..', 'tools', 'misc', 'make_splits.py')
VOC_IDS = [f'2007_{i:06d}' for i in range(0, 300, 3)]
CITY = [
    f'leftImg8bit/train/c{i % 3}/c{i % 3}_{i:06d}_000019_leftImg8bit.png'
    for i in range(40)
]


def _load_tool():
    spec = importlib.util.spec_from_file_location('make_splits', TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


@pytest.mark.parametrize('seed', [0, 1, 7])
@pytest.mark.parametrize('k', [1, 13, 50, 99, 100])
def test_split_properties(seed, k):
    lab, unl = make_split(VOC_IDS, num_labeled=k, seed=seed)
    assert len(lab) == k and len(unl) == len(VOC_IDS) - k
    assert not set(lab) & set(unl)
    assert set(lab) | set(unl) == set(VOC_IDS)
    # original order preserved within each output
    pos = {x: i for i, x in enumerate(VOC_IDS)}
    assert [pos[x] for x in lab] == sorted(pos[x] for x in lab)
    assert [pos[x] for x in unl] == sorted(pos[x] for x in unl)
    # reproducible
    assert make_split(VOC_IDS, num_labeled=k, seed=seed) == (lab, unl)


def test_seed_changes_sample():
    draws = {tuple(make_split(VOC_IDS, num_labeled=10, seed=s)[0])
             for s in range(5)}
    assert len(draws) == 5
    # the sample is not just the first / last entries
    lab, _ = make_split(VOC_IDS, num_labeled=10, seed=0)
    assert lab != VOC_IDS[:10] and lab != VOC_IDS[-10:]


def test_ratio_rounding_matches_public_splits():
    # U2PL / UniMatch counts: VOC aug 10582 and Cityscapes 2975
    assert num_labeled_from_ratio(10582, '1/16') == 662
    assert num_labeled_from_ratio(10582, '1/8') == 1323
    assert num_labeled_from_ratio(10582, '1/4') == 2646
    assert num_labeled_from_ratio(2975, '1/16') == 186
    assert num_labeled_from_ratio(2975, '1/8') == 372
    assert num_labeled_from_ratio(2975, '1/2') == 1488
    assert parse_ratio(0.125) == parse_ratio('1/8') == Fraction(1, 8)
    assert parse_ratio('0.25') == Fraction(1, 4)
    lab, _ = make_split(CITY, ratio='1/8', seed=0)
    assert len(lab) == 5
    assert make_split(CITY, ratio=0.125, seed=0) == make_split(
        CITY, num_labeled=5, seed=0)


@pytest.mark.parametrize('kwargs, match', [
    (dict(), 'exactly one'),
    (dict(num_labeled=3, ratio='1/8'), 'exactly one'),
    (dict(num_labeled=0), r'\[1, 100\]'),
    (dict(num_labeled=101), r'\[1, 100\]'),
    (dict(num_labeled=2.5), 'integer'),
    (dict(ratio='2'), r'\(0, 1\]'),
    (dict(ratio='0'), r'\(0, 1\]'),
    (dict(ratio='abc'), 'invalid ratio'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_split(VOC_IDS, **kwargs)


def test_bad_inputs():
    with pytest.raises(ValueError, match='empty'):
        make_split([], num_labeled=1)
    with pytest.raises(ValueError, match="duplicate sample '2007_000003'"):
        make_split(VOC_IDS + ['2007_000003'], num_labeled=1)


def test_write_split_two_columns(tmp_path):
    lines = [f'{p} {p.replace("leftImg8bit", "gtFine")}' for p in CITY]
    src = tmp_path / 'train.txt'
    src.write_text('# comment\n' + '\n'.join(lines) + '\n\n')
    assert read_list_file(str(src)) == lines
    out = tmp_path / 'out' / '1-4'
    lab, unl = write_split(str(src), str(out), ratio='1/4', seed=3)
    assert sorted(os.listdir(out)) == ['labeled.txt', 'unlabeled.txt']
    assert (out / 'labeled.txt').read_text().splitlines() == lab
    assert (out / 'unlabeled.txt').read_text().splitlines() == unl
    assert len(lab) == 10 and sorted(lab + unl) == sorted(lines)
    assert all(len(ln.split()) == 2 for ln in lab + unl)  # kept verbatim
    with pytest.raises(FileNotFoundError, match='nope.txt'):
        write_split(str(tmp_path / 'nope.txt'), str(out), num_labeled=1)
    (tmp_path / 'empty.txt').write_text('\n')
    with pytest.raises(ValueError, match='empty.txt'):
        write_split(str(tmp_path / 'empty.txt'), str(out), num_labeled=1)


def test_cli(tmp_path, capsys):
    tool = _load_tool()
    src = tmp_path / 'train.txt'
    src.write_text('\n'.join(VOC_IDS) + '\n')
    out = tmp_path / 'splits' / '1-16'
    assert tool.main([str(src), str(out), '--ratio', '1/16', '--seed',
                      '5']) == 0
    assert '7 labeled, 93 unlabeled' in capsys.readouterr().out
    lab = (out / 'labeled.txt').read_text().splitlines()
    assert (lab, (out / 'unlabeled.txt').read_text().splitlines()) == \
        make_split(VOC_IDS, num_labeled=7, seed=5)
    # rerun with --num-labeled gives the same files (atomic rewrite)
    assert tool.main([str(src), str(out), '--num-labeled', '7', '--seed',
                      '5']) == 0
    assert (out / 'labeled.txt').read_text().splitlines() == lab
    assert sorted(os.listdir(out)) == ['labeled.txt', 'unlabeled.txt']
    with pytest.raises(SystemExit):
        tool.main([str(src), str(out), '--ratio', '1/2', '--num-labeled', '3'])
    with pytest.raises(SystemExit):
        tool.main([str(src), str(out)])


def _image_tree(tmp_path):
    from PIL import Image
    root = tmp_path / 'my_data'
    names = [f'images/train/{d}/{i:02d}.{e}' for d, e in
             (('a', 'jpg'), ('b', 'PNG')) for i in range(10)]
    for rel in names:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.new('RGB', (4, 3)).save(
            str(root / rel), format='PNG' if rel.endswith('PNG') else 'JPEG')
    (root / 'images/train/a/notes.txt').write_text('x')
    (root / 'images/train/.cache.jpg').write_text('x')
    return root, sorted(names)


def test_folder_lines_and_split(tmp_path):
    tool = _load_tool()
    root, names = _image_tree(tmp_path)
    img_dir = str(root / 'images/train')
    # every image below the folder, sorted, relative to the data root
    assert tool.folder_lines(img_dir, str(root)) == names
    out = tmp_path / 'splits' / '1-4'
    lab, unl = tool.write_folder_split(img_dir, str(out), str(root),
                                       ratio='1/4', seed=3)
    assert len(lab) == 5 and sorted(lab + unl) == names
    assert (lab, unl) == make_split(names, num_labeled=5, seed=3)
    assert (out / 'labeled.txt').read_text().splitlines() == lab
    assert (out / 'unlabeled.txt').read_text().splitlines() == unl
    # count, seed reproducible, another seed another draw
    assert tool.write_folder_split(img_dir, str(out), str(root),
                                   num_labeled=5, seed=3) == (lab, unl)
    assert tool.write_folder_split(img_dir, str(out), str(root),
                                   num_labeled=5, seed=4)[0] != lab
    with pytest.raises(ValueError, match='not below --data-root'):
        tool.folder_lines(img_dir, str(root / 'images/train/a'))
    (root / 'none').mkdir()
    with pytest.raises(ValueError, match='no images .* below .*none'):
        tool.folder_lines(str(root / 'none'), str(root))


def test_folder_cli_lines_read_by_the_dataset(tmp_path, capsys):
    tool = _load_tool()
    root, names = _image_tree(tmp_path)
    out = root / 'splits' / 'n3'
    assert tool.main(['--img-dir', str(root / 'images/train'),
                      '--data-root', str(root), str(out),
                      '--num-labeled', '3', '--seed', '1']) == 0
    assert '3 labeled, 17 unlabeled' in capsys.readouterr().out
    for argv in ([str(out), '--ratio', '1/2'],
                 ['--img-dir', str(root), str(out), '--ratio', '1/2'],
                 [str(out), str(out), '--img-dir', str(root), '--data-root',
                  str(root), '--ratio', '1/2']):
        with pytest.raises(SystemExit):
            tool.main(argv)
    # the lines are what SemiSplitDataset reads (unlabeled: no masks)
    import mmsss  # noqa: F401
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS
    init_default_scope('mmseg')
    ds = DATASETS.build(dict(
        type='SemiSplitDataset',
        dataset=dict(type='BaseSegDataset', data_root=str(root),
                     metainfo=dict(classes=('a', 'b')),
                     data_prefix=dict(img_path='images/train',
                                      seg_map_path='masks/train')),
        ann_file='splits/n3/unlabeled.txt', is_labeled=False))
    assert [osp.relpath(d['img_path'], str(root)) for d in ds] == \
        (out / 'unlabeled.txt').read_text().splitlines()
