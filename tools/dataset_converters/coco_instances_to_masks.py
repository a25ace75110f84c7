"""COCO instance annotations -> UniMatch-style 81-class masks.

UniMatch's own pre-processed masks (linked from its README) are preferred
when available: its published numbers use them, and this tool is not known to
reproduce them pixel for pixel. Use it when the download is unavailable, or
for another COCO-format annotation file.

Output: one single-channel PNG per image, ``<out-dir>/<image stem>.png``
(``masks/000000177254.png`` for ``train2017/000000177254.jpg``), values

- 0: background (no instance),
- 1-80: the thing categories in ascending category id (COCO's ids 1-90 with
  gaps -> 1-80; the order of ``SemiCOCO81Dataset`` classes),
- 255: ignored: crowd regions (``iscrowd=1``) not covered by a non-crowd
  instance (``--crowd ignore``, the default).

Overlap rule: crowd regions are painted first; then the non-crowd instances
in decreasing pixel area (ties: ascending annotation id), so a smaller
instance lies on top of a larger one that overlaps it. ``--crowd category``
paints crowd regions with their category, ordered with the other instances.

Decoding needs no pycocotools: polygons are filled by the pixel-centre rule
(pixel (x, y) belongs to the polygon when (x + 0.5, y + 0.5) lies inside it,
even-odd rule; a border pixel may differ from pycocotools' rasterisation),
RLEs are decoded from their uncompressed (list) and compressed (string)
forms as in the COCO API (maskApi.c rleFrString). Each mask is written to a
temporary file and renamed, so an interrupted run leaves no partial PNG and
a rerun skips the masks already written (``--overwrite`` redoes them).

Example::

    python tools/dataset_converters/coco_instances_to_masks.py \\
        data/coco/annotations/instances_train2017.json \\
        data/coco/annotations/instances_val2017.json \\
        --out-dir data/coco/masks --nproc 8
"""
import argparse
import json
import os
import os.path as osp
import sys
import tempfile
from collections import defaultdict
from multiprocessing import Pool
from typing import Dict, List, Sequence

import numpy as np
from PIL import Image

IGNORE = 255


# ------------------------------------------------------------------ decoding
def rle_counts_from_string(s: str) -> List[int]:
    """Run lengths of a compressed COCO RLE string (maskApi.c rleFrString):
    5-bit groups, LSB first, offset by 48, 0x20 = continuation, 0x10 =
    sign of the last group; counts from the third on are stored as the
    difference to the count two before."""
    counts: List[int] = []
    p = 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            if p >= len(s):
                raise ValueError(f'truncated compressed RLE string {s!r}')
            c = ord(s[p]) - 48
            x |= (c & 0x1f) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def rle_to_mask(counts: Sequence[int], height: int, width: int) -> np.ndarray:
    """Binary mask (H, W) of run lengths that alternate 0s and 1s, starting
    with 0s, over the pixels in column-major order."""
    counts = np.asarray(counts, dtype=np.int64)
    if (counts < 0).any() or counts.sum() != height * width:
        raise ValueError(
            f'RLE counts sum to {int(counts.sum())} (or are negative); '
            f'expected {height} x {width} = {height * width} pixels')
    values = (np.arange(len(counts)) % 2).astype(np.uint8)
    flat = np.repeat(values, counts)
    return flat.reshape(width, height).T.copy()


def polygon_to_mask(polygons: Sequence[Sequence[float]], height: int,
                    width: int) -> np.ndarray:
    """Union of COCO polygons ``[x1, y1, x2, y2, ...]`` (pixel-centre,
    even-odd rule per polygon) as a binary (H, W) mask."""
    mask = np.zeros((height, width), dtype=bool)
    for poly in polygons:
        xy = np.asarray(poly, dtype=np.float64).reshape(-1, 2)
        if len(xy) < 3:
            continue
        x1, y1 = xy[:, 0], xy[:, 1]
        # only the rows whose centre lies in [min y, max y] and the columns
        # from the first one right of min x to the last one left of max x
        # can be inside
        r0 = max(0, int(np.ceil(y1.min() - 0.5)))
        r1 = min(height, int(np.floor(y1.max() - 0.5)) + 1)
        c0 = min(max(0, int(np.floor(x1.min() - 0.5)) + 1), width)
        c1 = min(max(0, int(np.floor(x1.max() - 0.5)) + 1), width)
        if r1 <= r0 or c1 <= c0:
            continue
        x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
        yc = (np.arange(r0, r1) + 0.5)[:, None]
        # half-open rule: an edge crosses row y when y1 <= y < y2 or
        # y2 <= y < y1 (horizontal edges never cross)
        crosses = (y1 <= yc) != (y2 <= yc)
        with np.errstate(divide='ignore', invalid='ignore'):
            xs = x1 + (yc - y1) * (x2 - x1) / (y2 - y1)
        xs = np.where(crosses, xs, 0.0)
        # a crossing at xs toggles every pixel whose centre col + 0.5 > xs,
        # i.e. from column floor(xs - 0.5) + 1 on
        first_col = np.floor(xs - 0.5).astype(np.int64) + 1 - c0
        w = c1 - c0
        first_col = np.clip(np.where(crosses, first_col, w), 0, w)
        rows = np.broadcast_to(
            np.arange(r1 - r0)[:, None], first_col.shape)
        toggles = np.bincount(
            (rows * (w + 1) + first_col).ravel(),
            minlength=(r1 - r0) * (w + 1)).reshape(r1 - r0, w + 1)
        inside = np.cumsum(toggles[:, :w], axis=1) % 2 == 1
        mask[r0:r1, c0:c1] |= inside
    return mask.astype(np.uint8)


def segmentation_to_mask(segm, height: int, width: int) -> np.ndarray:
    """Binary mask of a COCO ``segmentation``: a polygon list, or an RLE
    dict with ``counts`` as a list (uncompressed) or a string
    (compressed)."""
    if isinstance(segm, list):
        return polygon_to_mask(segm, height, width)
    if isinstance(segm, dict) and 'counts' in segm:
        size = segm.get('size', [height, width])
        if list(size) != [height, width]:
            raise ValueError(f'RLE size {size} differs from the image size '
                             f'{[height, width]}')
        counts = segm['counts']
        if isinstance(counts, bytes):
            counts = counts.decode('ascii')
        if isinstance(counts, str):
            counts = rle_counts_from_string(counts)
        return rle_to_mask(counts, height, width)
    raise ValueError(f'unsupported segmentation of type '
                     f'{type(segm).__name__}: expected a polygon list or an '
                     f'RLE dict with "counts"')


# ------------------------------------------------------------------- masks
def category_to_index(categories: Sequence[dict]) -> Dict[int, int]:
    """COCO category id -> 1..N in ascending id order (0 = background)."""
    ids = sorted(int(c['id']) for c in categories)
    return {cid: i + 1 for i, cid in enumerate(ids)}


def instances_to_mask(anns: Sequence[dict],
                      height: int,
                      width: int,
                      cat_to_idx: Dict[int, int],
                      crowd: str = 'ignore') -> np.ndarray:
    """Class-index mask of one image by the module's overlap rule."""
    if crowd not in ('ignore', 'category'):
        raise ValueError(f"crowd must be 'ignore' or 'category', got "
                         f'{crowd!r}')
    out = np.zeros((height, width), dtype=np.uint8)
    things = []
    for ann in anns:
        try:
            m = segmentation_to_mask(ann['segmentation'], height, width)
        except (KeyError, ValueError) as e:
            raise ValueError(f'annotation id {ann.get("id")} (image '
                             f'{ann.get("image_id")}): {e}') from None
        if ann.get('iscrowd', 0) and crowd == 'ignore':
            out[m > 0] = IGNORE
            continue
        cid = int(ann['category_id'])
        if cid not in cat_to_idx:
            raise ValueError(f'annotation id {ann.get("id")}: category_id '
                             f'{cid} is not in "categories"')
        things.append((-int(m.sum()), int(ann.get('id', 0)), m,
                       cat_to_idx[cid]))
    for _, _, m, idx in sorted(things, key=lambda t: (t[0], t[1])):
        out[m > 0] = idx
    return out


def write_png_atomic(arr: np.ndarray, path: str) -> None:
    """Write ``arr`` as a PNG through a temporary file in the same folder,
    then rename it over ``path``."""
    folder = osp.dirname(osp.abspath(path))
    fd, tmp = tempfile.mkstemp(
        prefix='.' + osp.basename(path) + '.', suffix='.png', dir=folder)
    os.close(fd)
    try:
        Image.fromarray(arr).save(tmp, format='PNG')
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def _convert_one(job):
    img, anns, cat_to_idx, out_path, crowd = job
    mask = instances_to_mask(anns, int(img['height']), int(img['width']),
                             cat_to_idx, crowd)
    write_png_atomic(mask, out_path)
    return out_path


def load_instances(ann_file: str) -> dict:
    """Read a COCO instances file and check its top-level keys."""
    with open(ann_file, encoding='utf-8') as f:
        data = json.load(f)
    for key in ('images', 'annotations', 'categories'):
        if key not in data:
            raise ValueError(f'{ann_file}: no "{key}": expected a COCO '
                             f'instances file (instances_train2017.json)')
    return data


def convert(data: dict,
            out_dir: str,
            crowd: str = 'ignore',
            overwrite: bool = False,
            nproc: int = 1,
            cat_to_idx: Dict[int, int] = None) -> Dict[str, int]:
    """Write the masks of every image of loaded COCO instances ``data``.

    Returns:
        dict: ``written`` and ``skipped`` (already present) counts.
    """
    if cat_to_idx is None:
        cat_to_idx = category_to_index(data['categories'])
    if max(cat_to_idx.values(), default=0) >= IGNORE:
        raise ValueError(f'{len(cat_to_idx)} categories do not fit in an '
                         f'8-bit mask with {IGNORE} as ignore')
    by_image = defaultdict(list)
    for ann in data['annotations']:
        by_image[ann['image_id']].append(ann)
    os.makedirs(out_dir, exist_ok=True)
    jobs, skipped = [], 0
    for img in data['images']:
        stem = osp.splitext(osp.basename(img['file_name']))[0]
        out_path = osp.join(out_dir, stem + '.png')
        if not overwrite and osp.isfile(out_path):
            skipped += 1
            continue
        jobs.append((img, by_image.get(img['id'], []), cat_to_idx, out_path,
                     crowd))
    if nproc > 1 and len(jobs) > 1:
        with Pool(nproc) as pool:
            for _ in pool.imap_unordered(_convert_one, jobs, chunksize=16):
                pass
    else:
        for job in jobs:
            _convert_one(job)
    return dict(written=len(jobs), skipped=skipped)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='COCO instance annotations -> 81-class masks '
        '(0 background, 1-80 things, 255 ignore) as UniMatch uses; '
        "prefer UniMatch's own masks when available.")
    parser.add_argument(
        'ann_files', nargs='+', help='instances_train2017.json, ...')
    parser.add_argument(
        '--out-dir', required=True, help='mask folder (data/coco/masks)')
    parser.add_argument(
        '--crowd',
        choices=['ignore', 'category'],
        default='ignore',
        help='crowd regions: 255 under the non-crowd instances (default) '
        'or their category')
    parser.add_argument(
        '--overwrite', action='store_true', help='redo existing masks')
    parser.add_argument('--nproc', type=int, default=1)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    ref, ref_file = None, None
    for ann_file in args.ann_files:
        data = load_instances(ann_file)
        idx = category_to_index(data['categories'])
        if ref is not None and idx != ref:
            raise SystemExit(f'{ann_file}: categories differ from '
                             f'{ref_file}; convert them separately')
        ref, ref_file = idx, ann_file
        res = convert(data, args.out_dir, args.crowd, args.overwrite,
                      args.nproc, idx)
        print(f'{ann_file}: {res["written"]} masks written, '
              f'{res["skipped"]} already present -> {args.out_dir}')


if __name__ == '__main__':
    sys.exit(main())
