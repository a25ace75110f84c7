"""Per-object accuracy on the synthetic shapes set, split by whether the
object's colour is near its class's hue ("on-hue") or not ("off-hue").

An object is a connected component (≥ ``--min-pixels``) of one class in the
ground truth; it counts as correct when the majority of its pixels are
predicted as its class. Works with any mmsss or mmseg config and checkpoint
(teacher-student models predict with ``semi_test_cfg.predict_on``).

    python projects/pseudo_label_oracle/tools/object_errors_by_hue.py \
        CONFIG CKPT [CKPT ...] --data-root data/synthetic_voc
"""
import argparse
import os.path as osp

import cv2
import mmsss  # noqa: F401  (before mmseg: mmcv-lite stand-in)
import numpy as np
from mmseg.apis import inference_model, init_model
from PIL import Image

from mmsss.datasets.synthetic import SYNTHETIC_CLASS_HUES


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoints', nargs='+')
    p.add_argument('--data-root', default='data/synthetic_voc')
    p.add_argument('--split', default='val')
    p.add_argument('--hue-tolerance', type=float, default=40.,
                   help='degrees from the class hue that count as on-hue')
    p.add_argument('--min-pixels', type=int, default=20)
    p.add_argument('--device', default='cpu')
    return p.parse_args()


def hue_distance(hue: float, ref: float) -> float:
    d = abs(hue - ref) % 360
    return min(d, 360 - d)


def object_records(img_bgr, gt, pred, tolerance, min_pixels):
    """(on_hue, majority_correct, pixel_accuracy) per ground-truth object."""
    hue = cv2.cvtColor(img_bgr, cv2.COLOR_BGR2HSV_FULL)[..., 0] * (360 / 256)
    out = []
    for cls in range(1, len(SYNTHETIC_CLASS_HUES) + 1):
        n, comp = cv2.connectedComponents((gt == cls).astype(np.uint8))
        for k in range(1, n):
            m = comp == k
            if m.sum() < min_pixels:
                continue
            on = hue_distance(float(np.median(hue[m])),
                              SYNTHETIC_CLASS_HUES[cls - 1]) < tolerance
            votes = np.bincount(pred[m], minlength=256)
            out.append((on, votes.argmax() == cls, float(
                (pred[m] == cls).mean())))
    return out


def main():
    args = parse_args()
    split = osp.join(args.data_root, 'ImageSets', 'Segmentation',
                     f'{args.split}.txt')
    with open(split) as f:
        ids = [ln.split()[0] for ln in f if ln.strip()]
    print('| checkpoint | objects | correct (all) | on-hue | off-hue | '
          'pixel acc. on-hue | off-hue |')
    print('| --- | --- | --- | --- | --- | --- | --- |')
    for ckpt in args.checkpoints:
        model = init_model(args.config, ckpt, device=args.device)
        recs = []
        for img_id in ids:
            path = osp.join(args.data_root, 'JPEGImages', img_id + '.jpg')
            img = cv2.imread(path)
            gt = np.array(Image.open(osp.join(args.data_root,
                                              'SegmentationClass',
                                              img_id + '.png')))
            pred = inference_model(model, img).pred_sem_seg.data[0].cpu()
            recs += object_records(img, gt, pred.numpy(), args.hue_tolerance,
                                   args.min_pixels)
        r = np.array(recs, dtype=float).reshape(-1, 3)
        on, off = r[r[:, 0] == 1], r[r[:, 0] == 0]

        def mean(a, col):
            return f'{a[:, col].mean():.3f}' if len(a) else '-'

        print(f'| {ckpt} | {len(r)} ({len(off)} off-hue) | {mean(r, 1)} | '
              f'{mean(on, 1)} | {mean(off, 1)} | {mean(on, 2)} | '
              f'{mean(off, 2)} |')


if __name__ == '__main__':
    main()
