"""Pictures of what the teacher teaches: a grid per sampled unlabeled image
every ``interval`` iterations, and a few generated pseudo-labels at each
DARS round boundary."""
import math
import os.path as osp
from typing import List, Optional, Sequence

import cv2
import mmcv
import numpy as np
from mmengine import dist
from mmengine.hooks import Hook
from mmengine.structures import PixelData
from mmseg.registry import HOOKS
from PIL import Image

from ...utils.dist import unwrap_model

__all__ = ['PseudoLabelVisHook', 'draw_grid', 'colorize_labels']

IGNORE_INDEX = 255
HEADER = 14  # title strip height (px)
SEP = 4  # white gap between panels (px)
# ignored pixels: a light grey/white checkerboard of 4 px squares
CHECKER = ((255, 255, 255), (200, 200, 200))


def checker(h: int, w: int) -> np.ndarray:
    """``(h, w, 3)`` uint8 checkerboard marking ignored pixels."""
    ys, xs = np.mgrid[0:h, 0:w]
    odd = ((ys // 4 + xs // 4) % 2).astype(bool)
    out = np.empty((h, w, 3), np.uint8)
    out[~odd] = CHECKER[0]
    out[odd] = CHECKER[1]
    return out


def colorize_labels(labels: np.ndarray,
                    classes: Sequence[str],
                    palette: Sequence[Sequence[int]],
                    visualizer=None) -> np.ndarray:
    """``(H, W)`` class indices to ``(H, W, 3)`` RGB: the palette colour of
    every class, :data:`CHECKER` where the label is not a class (255 =
    ignored). Drawn with mmseg's ``SegLocalVisualizer._draw_sem_seg`` (fully
    opaque, no class names) when ``visualizer`` is one."""
    labels = np.asarray(labels)
    h, w = labels.shape
    base = np.zeros((h, w, 3), np.uint8)
    if visualizer is not None and hasattr(visualizer, '_draw_sem_seg'):
        alpha = getattr(visualizer, 'alpha', 0.8)
        visualizer.alpha = 1.0
        try:
            rgb = visualizer._draw_sem_seg(
                base, PixelData(data=labels[None]), list(classes),
                [tuple(c) for c in palette], False)
        finally:
            visualizer.alpha = alpha
        rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    else:
        pal = np.zeros((256, 3), np.uint8)
        pal[:len(palette)] = np.asarray(palette, np.uint8)
        rgb = pal[labels]
    ignored = labels >= len(classes)
    rgb[ignored] = checker(h, w)[ignored]
    return rgb


def _colorize_confidence(conf: np.ndarray) -> np.ndarray:
    """Confidence in [0, 1] as a viridis RGB map."""
    gray = np.clip(np.round(conf * 255), 0, 255).astype(np.uint8)
    return cv2.applyColorMap(gray, cv2.COLORMAP_VIRIDIS)[..., ::-1]


def upscale_factor(h: int, w: int, min_panel_size: int) -> int:
    """Integer (nearest) upscaling so that a panel's short side reaches
    ``min_panel_size``."""
    return max(1, int(math.ceil(min_panel_size / max(1, min(h, w)))))


def draw_grid(panels: List[tuple],
              index: int,
              classes: Sequence[str],
              palette: Sequence[Sequence[int]],
              visualizer=None,
              min_panel_size: int = 96) -> np.ndarray:
    """One row of panels of image ``index``: ``(title, kind, batch)`` with
    kind ``'image'`` (uint8 ``(N, H, W, 3)`` RGB), ``'label'`` (``(N, H, W)``
    class indices, 255 ignored) or ``'map'`` (``(N, H, W)`` in [0, 1]).

    Layout: a white title strip of :data:`HEADER` px, then the panels left
    to right, each upscaled (nearest) by :func:`upscale_factor`, separated by
    :data:`SEP` white columns. Returns uint8 RGB.
    """
    tiles, titles = [], []
    for title, kind, batch in panels:
        x = np.asarray(batch[index])
        if kind == 'image':
            tile = x.astype(np.uint8)
        elif kind == 'label':
            tile = colorize_labels(x, classes, palette, visualizer)
        elif kind == 'map':
            tile = _colorize_confidence(x.astype(np.float32))
        else:
            raise ValueError(f'unknown panel kind {kind!r} ({title})')
        tiles.append(tile)
        titles.append(title)
    h, w = tiles[0].shape[:2]
    f = upscale_factor(h, w, min_panel_size)
    ph, pw = h * f, w * f
    width = len(tiles) * pw + (len(tiles) - 1) * SEP
    grid = np.full((HEADER + ph, width, 3), 255, np.uint8)
    for j, (tile, title) in enumerate(zip(tiles, titles)):
        if tile.shape[:2] != (h, w):
            raise ValueError(f'panel {title!r} is {tile.shape[:2]}, the '
                             f'first panel {(h, w)}')
        x0 = j * (pw + SEP)
        grid[HEADER:, x0:x0 + pw] = tile.repeat(f, 0).repeat(f, 1)
        scale = 0.35
        (tw, _), _ = cv2.getTextSize(title, cv2.FONT_HERSHEY_SIMPLEX, scale,
                                     1)
        if tw > pw:
            scale *= pw / tw
        cv2.putText(grid, title, (x0 + 1, HEADER - 4),
                    cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1,
                    cv2.LINE_AA)
    return grid


@HOOKS.register_module()
class PseudoLabelVisHook(Hook):
    """Draw what the teacher teaches, through the runner's visualizer
    backends (PNG files under ``<work_dir>/<timestamp>/vis_data/vis_image``
    with ``LocalVisBackend``; TensorBoard / W&B when configured).

    **Online methods** (mean teacher, iMAS, ESL, three-stage, and any
    segmentor that calls :func:`mmsss.models.utils.vis_record.store_vis`):
    on every ``interval``-th iteration (``(iter + 1) % interval == 0``) the
    hook sets ``model.record_vis`` before the step; the step keeps detached
    CPU copies of its first ``num_images`` unlabeled images in
    ``model.last_vis``; after the step the hook draws one grid per image,
    named ``<name>_<i>`` at step ``iter + 1``, and clears it. Panels, left to
    right: weak view | student input (strong / CutMix view) | pseudo-label
    (the student's target, ignored pixels as a grey checkerboard) | method
    extras (three-stage: the pseudo-mask ŷ) | confidence (viridis, 0 dark
    → 1 yellow) | student prediction on its input | ground truth (when the
    unlabeled set keeps it for analysis, mixed like the student input).
    Iterations without a picture cost nothing: the flag is off, nothing is
    kept. Warm-up (supervised-only) steps keep nothing either.

    **DARS rounds** (:class:`~mmsss.engine.hooks.PseudoLabelRoundHook`): at
    the start of every round k ≥ 1 (after the pseudo-labels are made; this
    hook runs at ``LOW`` priority) ``round_num_images`` generated
    pseudo-labels, evenly spaced in the round's list, are drawn as image |
    pseudo-label | ground truth (when the label map exists), named
    ``<name>_round<k>_<i>``.

    Rank 0 only: other ranks never set the flag and draw nothing. Colours:
    the dataset's palette (``metainfo['palette']`` of the training set, else
    the visualizer's ``dataset_meta``), drawn with mmseg's
    ``SegLocalVisualizer``.

    Args:
        interval (int): Draw every ``interval`` iterations. Defaults to 50.
        num_images (int): Unlabeled images drawn per drawing step.
            Defaults to 2.
        round_num_images (int): Pseudo-labels drawn per DARS round (0: off).
            Defaults to 4.
        min_panel_size (int): Panels are upscaled (nearest, by an integer)
            until their short side reaches this. Defaults to 96.
        name (str): Image name prefix. Defaults to ``'pseudo_labels'``.
    """

    priority = 'LOW'

    def __init__(self,
                 interval: int = 50,
                 num_images: int = 2,
                 round_num_images: int = 4,
                 min_panel_size: int = 96,
                 name: str = 'pseudo_labels') -> None:
        for key, value, low in (('interval', interval, 1),
                                ('num_images', num_images, 1),
                                ('round_num_images', round_num_images, 0),
                                ('min_panel_size', min_panel_size, 1)):
            if not isinstance(value, int) or value < low:
                raise ValueError(f'PseudoLabelVisHook: {key} must be an int '
                                 f'>= {low}, got {value!r}')
        self.interval = interval
        self.num_images = num_images
        self.round_num_images = round_num_images
        self.min_panel_size = min_panel_size
        self.name = name
        self.written: List[str] = []  # names of the images drawn

    # ------------------------------------------------------------ meta
    @staticmethod
    def dataset_meta(runner) -> dict:
        """``classes`` and ``palette`` of the training set (else of the
        visualizer)."""
        meta = {}
        try:
            meta = dict(runner.train_dataloader.dataset.metainfo or {})
        except Exception:  # no train dataloader (e.g. a test run)
            pass
        if not meta.get('palette'):
            meta = dict(getattr(runner.visualizer, 'dataset_meta', None) or
                        {})
        classes, palette = meta.get('classes'), meta.get('palette')
        if not classes or not palette:
            raise ValueError('PseudoLabelVisHook: the training set has no '
                             "metainfo 'classes'/'palette' and the "
                             'visualizer no dataset_meta')
        return dict(classes=list(classes), palette=[tuple(c)
                                                    for c in palette])

    def _draw(self, runner, panels, index, name, step) -> None:
        meta = self.dataset_meta(runner)
        grid = draw_grid(panels, index, meta['classes'], meta['palette'],
                         runner.visualizer, self.min_panel_size)
        runner.visualizer.add_image(name, grid, step=step)
        self.written.append(f'{name}_{step}')

    # ------------------------------------------------------------ online
    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        model = unwrap_model(runner.model)
        draw = (dist.get_rank() == 0
                and self.every_n_train_iters(runner, self.interval))
        model.record_vis = draw
        if draw:
            model.vis_max_images = self.num_images
            model.last_vis = None

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        model = unwrap_model(runner.model)
        vis = getattr(model, 'last_vis', None)
        model.record_vis = False
        model.last_vis = None
        if vis is None or dist.get_rank() != 0:
            return
        panels = vis['panels']
        for i in range(len(panels[0][2])):
            self._draw(runner, panels, i, f'{self.name}_{i}', runner.iter + 1)

    def after_train(self, runner) -> None:
        model = unwrap_model(runner.model)
        model.record_vis = False
        model.last_vis = None

    # ------------------------------------------------------------ DARS
    @staticmethod
    def _round_hook(runner):
        for hook in runner.hooks:
            if hasattr(hook, 'unlabeled_dataset') and hasattr(
                    hook, 'round_dir'):
                return hook
        return None

    def before_train_round(self, runner, round_idx: int,
                           round_cfg: dict) -> None:
        if round_idx == 0 or not self.round_num_images or \
                dist.get_rank() != 0:
            return
        from ..runner.self_training_loop import PSEUDO_LABEL_LIST_KEY
        list_file = runner.message_hub.get_info(PSEUDO_LABEL_LIST_KEY)
        hook = self._round_hook(runner)
        if list_file is None or hook is None or not osp.isfile(list_file):
            return
        with open(list_file) as f:
            entries = [ln.split() for ln in f if ln.strip()]
        dataset = hook.unlabeled_dataset()
        if len(entries) != len(dataset):
            runner.logger.warning(
                f'PseudoLabelVisHook: {list_file} has {len(entries)} entries'
                f', the unlabeled set {len(dataset)}; not drawing round '
                f'{round_idx}')
            return
        num = min(self.round_num_images, len(entries))
        picks = sorted({int(i * len(entries) / num) for i in range(num)})
        for n, idx in enumerate(picks):
            info = dataset.get_data_info(idx)
            panels = self.round_panels(info, entries[idx][-1])
            self._draw(runner, panels, 0, f'{self.name}_round{round_idx}_{n}',
                       runner.iter)

    @staticmethod
    def round_panels(info: dict, label_path: str) -> List[tuple]:
        """image | pseudo-label | ground truth (when readable and of the
        label's size) of one generated pseudo-label file."""
        img = mmcv.imread(info['img_path'], channel_order='rgb')
        with Image.open(label_path) as im:
            pseudo = np.asarray(im)
        panels = [('image', 'image', img[None]),
                  ('pseudo-label', 'label', pseudo[None])]
        gt_path: Optional[str] = info.get('seg_map_path')
        if gt_path and osp.isfile(gt_path):
            with Image.open(gt_path) as im:
                gt = np.asarray(im)
            if gt.shape == pseudo.shape:
                panels.append(('ground truth', 'label', gt[None]))
        return panels
