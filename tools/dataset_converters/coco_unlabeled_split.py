"""Unlabeled split = the images of a folder that a labeled split omits.

UniMatch publishes only the labeled lists of its COCO splits
(``splits/coco/<1_512|...|1_32>/labeled.txt``; the unlabeled lists are not in
its repository), and its unlabeled part is the rest of ``train2017``. This
tool lists ``<data-root>/<image-dir>`` (``*.jpg`` by default), drops the
images named in the first column of the labeled list and writes the rest, in
sorted order and in the labeled list's two-column format::

    train2017/000000000009.jpg masks/000000000009.png

(the mask column is only a name: unlabeled sets read no mask). The output is
written to a temporary file and renamed.

Example (every UniMatch COCO split)::

    for s in 1_512 1_256 1_128 1_64 1_32; do
      python tools/dataset_converters/coco_unlabeled_split.py \\
          data/splits/unimatch/coco/$s/labeled.txt --data-root data/coco
    done
"""
import argparse
import os
import os.path as osp
import sys
import tempfile
from typing import List


def read_labeled_images(path: str) -> List[str]:
    """First column of every non-empty, non-comment line."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'labeled split not found: {path}')
    with open(path, encoding='utf-8') as f:
        return [
            ln.split()[0] for ln in f
            if ln.strip() and not ln.lstrip().startswith('#')
        ]


def unlabeled_lines(labeled: List[str],
                    data_root: str,
                    image_dir: str = 'train2017',
                    mask_dir: str = 'masks',
                    img_suffix: str = '.jpg',
                    seg_map_suffix: str = '.png') -> List[str]:
    """Split lines of the images of ``data_root/image_dir`` not in
    ``labeled`` (paths relative to ``data_root``)."""
    folder = osp.join(data_root, image_dir)
    if not osp.isdir(folder):
        raise FileNotFoundError(f'image folder not found: {folder}')
    names = sorted(n for n in os.listdir(folder) if n.endswith(img_suffix))
    if not names:
        raise ValueError(f'no *{img_suffix} images in {folder}')
    rels = [f'{image_dir}/{n}' for n in names]
    known = set(rels)
    outside = [r for r in labeled if r not in known]
    if outside:
        shown = ', '.join(outside[:5]) + (', ...' if len(outside) > 5 else '')
        raise ValueError(
            f'{len(outside)} labeled image(s) are not in {folder} '
            f'(expected paths like {image_dir}/<name>{img_suffix}): {shown}')
    taken = set(labeled)
    return [
        f'{r} {mask_dir}/{osp.basename(r)[:-len(img_suffix)]}'
        f'{seg_map_suffix}' for r in rels if r not in taken
    ]


def write_lines_atomic(lines: List[str], path: str) -> None:
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix='.' + osp.basename(path) + '.', dir=folder)
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            f.write(''.join(ln + '\n' for ln in lines))
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Write unlabeled.txt = the images of an image folder '
        'that labeled.txt does not list.')
    parser.add_argument('labeled', help='labeled split (labeled.txt)')
    parser.add_argument(
        '--data-root', required=True, help='COCO root (data/coco)')
    parser.add_argument('--image-dir', default='train2017')
    parser.add_argument('--mask-dir', default='masks')
    parser.add_argument('--img-suffix', default='.jpg')
    parser.add_argument('--seg-map-suffix', default='.png')
    parser.add_argument(
        '--out', help='output (default: unlabeled.txt next to labeled)')
    args = parser.parse_args(argv)
    out = args.out or osp.join(osp.dirname(args.labeled), 'unlabeled.txt')
    labeled = read_labeled_images(args.labeled)
    if not labeled:
        raise SystemExit(f'labeled split is empty: {args.labeled}')
    lines = unlabeled_lines(labeled, args.data_root, args.image_dir,
                            args.mask_dir, args.img_suffix,
                            args.seg_map_suffix)
    write_lines_atomic(lines, out)
    print(f'{len(labeled)} labeled, {len(lines)} unlabeled -> {out}')


if __name__ == '__main__':
    sys.exit(main())
