"""Deterministic synthetic segmentation data in the real PASCAL VOC layout.

Each image shows one to three solid objects on a dull, textured background
with a little patterned clutter (elongated ellipses and rectangles, blobs,
thick lines). The class of an object is its SHAPE (circle, square, triangle,
star, ring, cross); its colour is near the class's own hue 80 % of the time and
any hue otherwise, meant as "colour helps, shape decides". Scale and rotation
vary; class frequencies are mildly long-tailed (circle first). Object
boundaries are marked 255 (ignore) like VOC. The set is sized so that the
small CPU model of the synthetic configs learns it within their schedule:
all labels give a clearly better model than 1/16. These models learn
colour only (under 10 % of off-hue objects are right, even with all labels);
see projects/pseudo_label_oracle for what the unlabeled images can give them.

Layout written under ``root``::

    JPEGImages/<id>.jpg
    SegmentationClass/<id>.png          palette PNG, uint8 class indices
    ImageSets/Segmentation/{train,val,trainval}.txt
    splits/{1-16,1-8,1-4,full}/{labeled,unlabeled}.txt
    .complete                           JSON marker with the parameters

Ids are ``train_000000`` ... and ``val_000000`` ...; image ``i`` of a split
depends only on ``(seed, split, i)``. In ``splits/full`` both files list all
train ids (labeled = everything; unlabeled = the same images reused).
"""
import json
import os
import os.path as osp
import shutil
import tempfile
from typing import List, Tuple

import cv2
import numpy as np
from PIL import Image

from .splits import atomic_write_text, make_split

__all__ = [
    'SYNTHETIC_CLASSES', 'SYNTHETIC_PALETTE', 'SYNTHETIC_CLASS_PROBS',
    'SYNTHETIC_CLASS_HUES', 'SYNTHETIC_SPLITS', 'generate_synthetic_voc',
    'render_synthetic_sample', 'voc_colormap'
]

SYNTHETIC_CLASSES = ('background', 'circle', 'square', 'triangle', 'star',
                     'ring', 'cross')
# Probability that an object is of each foreground class (mildly long-tailed).
SYNTHETIC_CLASS_PROBS = (0.22, 0.19, 0.17, 0.15, 0.14, 0.13)
# Each class has its own hue (degrees); an object takes a hue near it with
# probability _HUE_CUE_PROB (std _HUE_CUE_STD), any hue otherwise.
SYNTHETIC_CLASS_HUES = (0, 60, 120, 180, 240, 300)
_HUE_CUE_PROB = 0.8
_HUE_CUE_STD = 15.0
# Labeled fractions written under splits/ (denominator of 1/N; 1 = full).
SYNTHETIC_SPLITS = {'1-16': 16, '1-8': 8, '1-4': 4, 'full': 1}
_FORMAT_VERSION = 6
_MARKER = '.complete'


def voc_colormap(n: int = 256) -> List[List[int]]:
    """The PASCAL VOC colour map (bit-interleaved), ``n`` RGB triplets."""
    cmap = []
    for i in range(n):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        cmap.append([r, g, b])
    return cmap


_VOC_CMAP = voc_colormap(256)
SYNTHETIC_PALETTE = [list(c) for c in _VOC_CMAP[:len(SYNTHETIC_CLASSES)]]
_PNG_PALETTE = [v for c in _VOC_CMAP for v in c]  # 768 values, 255=ignore


# ----------------------------------------------------------------- textures
def _rand_colour(rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(0, 255, size=3).astype(np.float32)


def _texture(rng: np.random.Generator,
             size: int,
             yy: np.ndarray,
             xx: np.ndarray,
             kinds=(0, 1, 2, 3, 4)) -> np.ndarray:
    """A random texture (colour and pattern both random) on the pixel grid
    ``yy``/``xx`` (h x w absolute coordinates); returns h x w x 3 float32.
    ``kinds``: 0 flat, 1 stripes, 2 checkerboard, 3 gradient, 4 blotches."""
    h, w = yy.shape
    kind = kinds[int(rng.integers(0, len(kinds)))]
    c1, c2 = _rand_colour(rng), _rand_colour(rng)
    if kind == 0:  # flat colour
        tex = np.broadcast_to(c1, (h, w, 3)).astype(np.float32)
    elif kind in (1, 2):  # stripes / checkerboard, random angle and period
        ang = rng.uniform(0, np.pi)
        period = rng.uniform(3, max(4.0, size / 6))
        u = (np.cos(ang) * xx + np.sin(ang) * yy) / period
        if kind == 1:
            m = (np.floor(u) % 2).astype(np.float32)
        else:
            v = (-np.sin(ang) * xx + np.cos(ang) * yy) / period
            m = ((np.floor(u) + np.floor(v)) % 2).astype(np.float32)
        tex = c1 + m[..., None] * (c2 - c1)
    elif kind == 3:  # linear gradient
        ang = rng.uniform(0, 2 * np.pi)
        t = (np.cos(ang) * xx + np.sin(ang) * yy) / size + 0.5
        tex = c1 + np.clip(t, 0, 1)[..., None] * (c2 - c1)
    else:  # smooth colour blotches (upsampled low-res noise)
        k = int(rng.integers(2, 6))
        low = rng.uniform(0, 255, size=(k, k, 3)).astype(np.float32)
        tex = cv2.resize(low, (w, h), interpolation=cv2.INTER_CUBIC)
    noise = rng.uniform(0, 25)
    if noise > 2:
        tex = tex + rng.normal(0, noise, size=(h, w, 1)).astype(np.float32)
    return tex


# ------------------------------------------------------------------- shapes
def _regular(cx, cy, radii, theta) -> np.ndarray:
    """Polygon with vertices at equal angular steps, radii cycling."""
    n = len(radii)
    ang = theta + np.arange(n) * 2 * np.pi / n
    pts = np.stack([cx + radii * np.cos(ang), cy + radii * np.sin(ang)], 1)
    return pts


def _fill(mask: np.ndarray, pts: np.ndarray, val: int = 1) -> None:
    cv2.fillPoly(mask, [np.round(pts * 16).astype(np.int32)], val,
                 lineType=cv2.LINE_8, shift=4)


def _circle(mask, cx, cy, r, val=1):
    cv2.circle(mask, (int(round(cx * 16)), int(round(cy * 16))),
               int(round(r * 16)), val, -1, cv2.LINE_8, 4)


def _object_mask(rng, cls: int, size: int, cx: float, cy: float,
                 r: float) -> np.ndarray:
    """Binary mask of one object of class ``cls`` (1..6)."""
    m = np.zeros((size, size), np.uint8)
    theta = rng.uniform(0, 2 * np.pi)
    name = SYNTHETIC_CLASSES[cls]
    if name == 'circle':
        _circle(m, cx, cy, r)
    elif name == 'square':
        _fill(m, _regular(cx, cy, np.full(4, r), theta))
    elif name == 'triangle':
        _fill(m, _regular(cx, cy, np.full(3, r * 1.15), theta))
    elif name == 'star':
        inner = rng.uniform(0.5, 0.6)
        npts = 5 if rng.random() < 0.7 else 6
        radii = np.tile([r * 1.1, r * 1.1 * inner], npts)
        _fill(m, _regular(cx, cy, radii, theta))
    elif name == 'ring':
        _circle(m, cx, cy, r)
        _circle(m, cx, cy, r * rng.uniform(0.4, 0.55), 0)
    elif name == 'cross':
        w = r * rng.uniform(0.34, 0.44)
        base = np.array([[w, w], [r, w], [r, -w], [w, -w], [w, -r], [-w, -r],
                         [-w, -w], [-r, -w], [-r, w], [-w, w], [-w, r],
                         [w, r]], np.float64)
        rot = np.array([[np.cos(theta), -np.sin(theta)],
                        [np.sin(theta), np.cos(theta)]])
        _fill(m, base @ rot.T + [cx, cy])
    else:
        raise ValueError(f'unknown synthetic class {cls}')
    return m


def _distractor_mask(rng, size: int) -> np.ndarray:
    """Background clutter whose shape differs from every class."""
    m = np.zeros((size, size), np.uint8)
    cx, cy = rng.uniform(-0.1, 1.1, size=2) * size
    r = size * np.exp(rng.uniform(np.log(0.06), np.log(0.3)))
    theta = rng.uniform(0, 180)
    kind = rng.integers(0, 4)
    if kind == 0:  # elongated ellipse (not a circle)
        ax = (int(round(r * 16)), int(round(r * 16 / rng.uniform(1.8, 3.5))))
        cv2.ellipse(m, (int(cx * 16), int(cy * 16)), ax, theta, 0, 360, 1,
                    -1, cv2.LINE_8, 4)
    elif kind == 1:  # elongated rectangle (not a square)
        w, h = r, r / rng.uniform(2.0, 4.0)
        box = cv2.boxPoints(((cx, cy), (2 * w, 2 * h), theta))
        _fill(m, box.astype(np.float64))
    elif kind == 2:  # smooth irregular blob
        ang = np.linspace(0, 2 * np.pi, 48, endpoint=False)
        rad = np.ones_like(ang)
        for k in (2, 3):
            rad += rng.uniform(0.1, 0.3) * np.cos(k * ang + rng.uniform(
                0, 2 * np.pi))
        pts = np.stack(
            [cx + r * rad * np.cos(ang), cy + r * rad * np.sin(ang)], 1)
        _fill(m, pts)
    else:  # thick line / polyline
        pts = (rng.uniform(-0.1, 1.1, size=(int(rng.integers(2, 4)), 2)) *
               size * 16).astype(np.int32)
        thick = int(rng.integers(1, max(2, size // 20) + 1))
        cv2.polylines(m, [pts], False, 1, thick, cv2.LINE_8, 4)
    return m


def _hsv_colour(rng: np.random.Generator, hue: float) -> np.ndarray:
    """A saturated RGB colour (float32) of the given hue in degrees."""
    hsv = np.array([[[(hue % 360) / 2, rng.uniform(150, 255),
                      rng.uniform(130, 255)]]], np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32)


def _object_colour(rng: np.random.Generator, cls: int) -> np.ndarray:
    """Colour of an object of class ``cls``: near the class's own hue with
    probability ``_HUE_CUE_PROB``, any hue otherwise, so colour is a useful
    but unreliable cue and shape decides the rest."""
    if rng.random() < _HUE_CUE_PROB:
        hue = SYNTHETIC_CLASS_HUES[cls - 1] + rng.normal(0, _HUE_CUE_STD)
    else:
        hue = rng.uniform(0, 360)
    return _hsv_colour(rng, hue)


def _background(rng: np.random.Generator, size: int, yy: np.ndarray,
                xx: np.ndarray) -> np.ndarray:
    """Dull background: smooth blotches or coarse stripes, desaturated."""
    tex = _texture(rng, size, yy, xx, kinds=(1, 2, 4))
    grey = tex.mean(-1, keepdims=True)
    return grey + rng.uniform(0.15, 0.45) * (tex - grey)


def _place_objects(rng: np.random.Generator, size: int) -> List[tuple]:
    """Centres and radii of 1-3 objects that overlap at most a little."""
    placed = []
    for _ in range(int(rng.integers(1, 4))):
        for _try in range(20):
            r = size * np.exp(rng.uniform(np.log(0.16), np.log(0.3)))
            cx, cy = rng.uniform(0.12, 0.88, size=2) * size
            if all(np.hypot(cx - x, cy - y) >= 0.75 * (r + q)
                   for x, y, q in placed):
                placed.append((cx, cy, r))
                break
    return placed


def render_synthetic_sample(rng: np.random.Generator,
                            size: int = 128) -> Tuple[np.ndarray, np.ndarray]:
    """Render one sample.

    Args:
        rng (np.random.Generator): Source of randomness.
        size (int): Image side length.

    Returns:
        tuple: ``(img, label)``: ``img`` HxWx3 uint8 RGB, ``label`` HxW uint8
        with values in ``[0, len(SYNTHETIC_CLASSES))`` or 255 (boundaries).
    """
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    img = _background(rng, size, yy, xx)
    label = np.zeros((size, size), np.uint8)

    def paste(mask, cls):
        # texture only the bounding box of the mask (speed)
        x, y, w, h = cv2.boundingRect(mask)
        if w == 0 or h == 0:
            return
        box = np.s_[y:y + h, x:x + w]
        sel = mask[box].astype(bool)
        if cls == 0:  # clutter: patterned, any colour
            fill = _texture(rng, size, yy[box], xx[box], kinds=(1, 2))
        else:  # object: solid, shaded, class-biased colour
            c1 = _object_colour(rng, cls)
            shade = 1 + rng.uniform(-0.15, 0.15) * (
                (xx[box] - x) / max(w, 1) - 0.5)
            fill = c1 * shade[..., None]
        img[box][sel] = fill[sel]
        label[box][sel] = cls

    for _ in range(int(rng.integers(0, 3))):
        paste(_distractor_mask(rng, size), 0)
    probs = np.asarray(SYNTHETIC_CLASS_PROBS)
    for cx, cy, r in _place_objects(rng, size):
        cls = int(rng.choice(len(probs), p=probs / probs.sum())) + 1
        paste(_object_mask(rng, cls, size, cx, cy, r), cls)

    # Ignore band on class boundaries (VOC style).
    edge = np.zeros_like(label, dtype=bool)
    dx = label[:, 1:] != label[:, :-1]
    dy = label[1:, :] != label[:-1, :]
    edge[:, 1:] |= dx
    edge[:, :-1] |= dx
    edge[1:, :] |= dy
    edge[:-1, :] |= dy

    # Photometric degradations: illumination, blur, sensor noise.
    ang = rng.uniform(0, 2 * np.pi)
    illum = 1 + rng.uniform(0, 0.3) * ((np.cos(ang) * xx + np.sin(ang) * yy) /
                                       size - 0.5)
    img = img * illum[..., None]
    sigma = rng.uniform(0, 0.8)
    if sigma > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    img = img + rng.normal(0, rng.uniform(1, 5), size=img.shape)
    img = np.clip(np.round(img), 0, 255).astype(np.uint8)
    label[edge] = 255
    return img, label


# ---------------------------------------------------------------- generator
def _params(num_train, num_val, size, seed) -> dict:
    return dict(
        num_train=int(num_train),
        num_val=int(num_val),
        size=int(size),
        seed=int(seed),
        format_version=_FORMAT_VERSION)


def _read_marker(root: str):
    path = osp.join(root, _MARKER)
    if not osp.isfile(path):
        return None
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _result(root: str, marker: dict, generated: bool) -> dict:
    out = dict(marker)
    out.update(
        root=root,
        generated=generated,
        classes=SYNTHETIC_CLASSES,
        palette=SYNTHETIC_PALETTE,
        splits={
            name: dict(
                labeled=osp.join(root, 'splits', name, 'labeled.txt'),
                unlabeled=osp.join(root, 'splits', name, 'unlabeled.txt'))
            for name in SYNTHETIC_SPLITS
        })
    return out


def _write_set(tmp: str, split: str, code: int, n: int, size: int, seed: int,
               pixel_counts: np.ndarray) -> List[str]:
    ids = []
    for i in range(n):
        rng = np.random.default_rng([seed, code, i])
        img, label = render_synthetic_sample(rng, size)
        img_id = f'{split}_{i:06d}'
        ok = cv2.imwrite(
            osp.join(tmp, 'JPEGImages', img_id + '.jpg'),
            cv2.cvtColor(img, cv2.COLOR_RGB2BGR),
            [cv2.IMWRITE_JPEG_QUALITY, 92])
        if not ok:
            raise OSError(f'failed to write image {img_id}.jpg under {tmp}')
        png = Image.fromarray(label)
        png.putpalette(_PNG_PALETTE)
        png.save(osp.join(tmp, 'SegmentationClass', img_id + '.png'))
        if split == 'train':
            cnt = np.bincount(label.ravel(), minlength=256)
            pixel_counts += cnt[:len(SYNTHETIC_CLASSES)]
        ids.append(img_id)
    return ids


def generate_synthetic_voc(root: str,
                           num_train: int = 1600,
                           num_val: int = 200,
                           size: int = 128,
                           seed: int = 0,
                           overwrite: bool = False) -> dict:
    """Generate (once) a synthetic segmentation dataset in VOC layout.

    Idempotent: if ``root`` holds a ``.complete`` marker with the same
    parameters, nothing is written. Data are generated into a temporary sibling
    folder and renamed to ``root`` when complete.

    Args:
        root (str): Output folder (created).
        num_train (int): Number of train images (the split pool).
        num_val (int): Number of val images.
        size (int): Image side length in pixels (>= 16).
        seed (int): Seed; same seed and parameters give identical files.
        overwrite (bool): Replace an existing, different dataset at ``root``.

    Returns:
        dict: The parameters plus ``root``, ``generated`` (False if skipped),
        ``classes``, ``palette``, ``train_class_pixels`` (per-class pixel
        counts over train, boundaries excluded), ``splits`` (name ->
        labeled/unlabeled file paths) and ``num_labeled`` (name -> count).
    """
    if int(num_train) < 16:
        raise ValueError(f'num_train must be >= 16 (for the 1/16 split), '
                         f'got {num_train}')
    if int(num_val) < 1:
        raise ValueError(f'num_val must be >= 1, got {num_val}')
    if int(size) < 16:
        raise ValueError(f'size must be >= 16, got {size}')
    root = osp.abspath(root)
    params = _params(num_train, num_val, size, seed)

    marker = _read_marker(root)
    if marker is not None and {k: marker.get(k) for k in params} == params:
        return _result(root, marker, generated=False)
    if osp.exists(root):
        if not osp.isdir(root):
            raise FileExistsError(f'synthetic root is not a folder: {root}')
        if os.listdir(root) and not overwrite:
            what = (f'a synthetic dataset with other parameters '
                    f'({ {k: marker.get(k) for k in params} })'
                    if marker else 'files but no .complete marker')
            raise FileExistsError(
                f'{root} already holds {what}; requested {params}. Delete it, '
                f'choose another root, or pass overwrite=True.')

    parent = osp.dirname(root)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f'.{osp.basename(root)}.tmp-', dir=parent)
    try:
        for sub in ('JPEGImages', 'SegmentationClass',
                    osp.join('ImageSets', 'Segmentation')):
            os.makedirs(osp.join(tmp, sub), exist_ok=True)
        pixels = np.zeros(len(SYNTHETIC_CLASSES), np.int64)
        train_ids = _write_set(tmp, 'train', 0, params['num_train'],
                               params['size'], params['seed'], pixels)
        val_ids = _write_set(tmp, 'val', 1, params['num_val'], params['size'],
                             params['seed'], pixels)

        def lines(ids):
            return ''.join(f'{i}\n' for i in ids)

        iss = osp.join(tmp, 'ImageSets', 'Segmentation')
        atomic_write_text(osp.join(iss, 'train.txt'), lines(train_ids))
        atomic_write_text(osp.join(iss, 'val.txt'), lines(val_ids))
        atomic_write_text(
            osp.join(iss, 'trainval.txt'), lines(train_ids + val_ids))
        num_labeled = {}
        for name, denom in SYNTHETIC_SPLITS.items():
            if denom == 1:
                labeled, unlabeled = list(train_ids), list(train_ids)
            else:
                labeled, unlabeled = make_split(
                    train_ids, ratio=f'1/{denom}', seed=params['seed'])
            num_labeled[name] = len(labeled)
            d = osp.join(tmp, 'splits', name)
            atomic_write_text(osp.join(d, 'labeled.txt'), lines(labeled))
            atomic_write_text(osp.join(d, 'unlabeled.txt'), lines(unlabeled))
        marker = dict(
            params,
            train_class_pixels=[int(v) for v in pixels],
            num_labeled=num_labeled)
        atomic_write_text(
            osp.join(tmp, _MARKER), json.dumps(marker, indent=1) + '\n')

        # Move into place; a concurrent generator may have won the race.
        if osp.isdir(root):
            if overwrite or not os.listdir(root):
                shutil.rmtree(root)
        try:
            os.rename(tmp, root)
        except OSError:
            other = _read_marker(root)
            if other is not None and {k: other.get(k)
                                      for k in params} == params:
                shutil.rmtree(tmp, ignore_errors=True)
                return _result(root, other, generated=False)
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return _result(root, marker, generated=True)
