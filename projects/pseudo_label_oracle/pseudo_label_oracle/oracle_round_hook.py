"""Self-training rounds with the teacher's correct pseudo-labels only
(analysis only)."""
import os
import os.path as osp

import mmsss  # noqa: F401  (before mmseg: mmcv-lite stand-in)
import numpy as np
from mmseg.registry import HOOKS
from PIL import Image

from mmsss.engine.hooks import PseudoLabelRoundHook
from mmsss.pseudo_labels import LIST_FILE, pseudo_label_image_id

IGNORE_INDEX = 255


def mask_incorrect(pseudo: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Keep the pseudo-labels that equal the ground truth; 255 elsewhere."""
    if pseudo.shape != gt.shape:
        raise ValueError(f'pseudo-label {pseudo.shape} and ground truth '
                         f'{gt.shape} differ in size')
    keep = (pseudo == gt) & (gt != IGNORE_INDEX)
    return np.where(keep, pseudo, IGNORE_INDEX).astype(np.uint8)


@HOOKS.register_module()
class OracleCorrectPseudoLabelRoundHook(PseudoLabelRoundHook):
    """``PseudoLabelRoundHook`` that, after each round's pseudo-labels are
    written, drops every pixel whose pseudo-label differs from the ground
    truth of the unlabeled image (``seg_map_path`` of the unlabeled dataset).

    With ``generator=dict(mode='argmax')`` the round trains on all of the
    teacher's correct predictions and none of its mistakes. Rewrites are
    atomic and idempotent, so a restarted round gives the same files.
    """

    def before_train_round(self, runner, round_idx: int,
                           round_cfg: dict) -> None:
        super().before_train_round(runner, round_idx, round_cfg)
        if round_idx == 0:
            return
        unlabeled, _ = self._build_datasets()
        gt_of = {}
        for idx in range(len(unlabeled)):
            info = unlabeled.get_data_info(idx)
            gt_of[pseudo_label_image_id(info)] = info.get('seg_map_path')
        kept = total = 0
        out = self.round_dir(runner, round_idx)
        with open(osp.join(out, LIST_FILE)) as f:
            entries = [line.split() for line in f if line.strip()]
        for img_id, label_path in entries:
            gt_path = gt_of.get(img_id)
            if gt_path is None or not osp.isfile(gt_path):
                raise FileNotFoundError(
                    f'oracle: no ground truth for unlabeled image {img_id!r} '
                    f'(seg_map_path {gt_path!r})')
            masked = mask_incorrect(
                np.array(Image.open(label_path)),
                np.array(Image.open(gt_path)))
            tmp = label_path + '.tmp.png'
            Image.fromarray(masked).save(tmp)
            os.replace(tmp, label_path)
            kept += int((masked != IGNORE_INDEX).sum())
            total += masked.size
        runner.logger.info(f'round {round_idx}: oracle kept '
                           f'{kept / max(total, 1):.4f} of the pixels, all '
                           'correct')
