"""Offline pseudo-label generation: streaming, exact, distributed.

Shared by DARS (distribution-aligned pseudo-labels) and the three-stage
method (``mode='argmax'``). Memory is ``O(classes × bins)`` whatever the
number of unlabeled images: one inference pass fills per-class confidence
histograms and caches each image's compact prediction (uint8 class, float16
confidence code) on disk; thresholds are computed from the all-reduced
histograms; exact random sampling takes two cheap passes over the cache;
a final pass writes one PNG per image.

Each rank takes the images ``rank, rank + world, …``; all ranks compute the
same thresholds; per-pixel sampling keys depend on the seed, the round and the
image name only, so one rank and several ranks write identical files.
Everything is written under ``<out_dir>.tmp`` and renamed to ``out_dir`` at
the end, so an interrupted generation leaves nothing half-written and simply
restarts.

Output (``out_dir``): ``labels/<image id>.png`` (uint8 class index, 255 =
ignored), ``list.txt`` (``<split entry> <label path>``, readable by the
split-file datasets as a labeled set) and ``summary.json`` (which also
records the generator settings, :meth:`PseudoLabelGenerator.settings`, so a
reused folder can be checked against the current ones).
"""
import contextlib
import hashlib
import json
import os
import os.path as osp
import shutil
import time
from typing import List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from mmengine import dist
from mmengine.config import ConfigDict
from mmengine.dataset import pseudo_collate
from mmengine.logging import print_log
from PIL import Image
from torch.utils.data import DataLoader, Subset

from ..datasets.semi_datasets import check_num_classes
from ..utils.atomic import atomic_write_text
from ..utils.dist import unwrap_model
from ..utils.progress import track
from .selection import (KEY_RANGE, MODES, NUM_CONF_BINS, SAMPLINGS,
                        class_histogram, code_to_confidence, confidence_codes,
                        keep_mask, kl_divergence, pixel_keys, radix_boundary,
                        select_thresholds)

__all__ = [
    'PseudoLabelGenerator', 'labeled_class_distribution',
    'pseudo_label_image_id', 'model_fingerprint', 'prediction_settings',
    'FLIP_AVERAGES'
]

_HALF = 1 << 16
SUMMARY_FILE = 'summary.json'
LIST_FILE = 'list.txt'
FLIP_AVERAGES = ('logits', 'probs')


def _read_label(path: str) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im)


def _all_reduce(t: torch.Tensor) -> torch.Tensor:
    dist.all_reduce(t, op='sum')
    return t


def labeled_class_distribution(dataset,
                               num_classes: int,
                               ignore_index: int = 255) -> List[int]:
    """Pixel counts per class over the labeled label maps (sharded over the
    ranks and summed), ``ignore_index`` excluded."""
    rank, world = dist.get_rank(), dist.get_world_size()
    counts = torch.zeros(num_classes, dtype=torch.int64)
    for idx in range(rank, len(dataset), world):
        info = dataset.get_data_info(idx)
        path = info.get('seg_map_path')
        if path is None:
            raise ValueError(
                f'labeled dataset {getattr(dataset, "ann_file", "")}: sample '
                f'{idx} has no label map; the class distribution needs the '
                'labeled label maps (or set class_distribution)')
        lab = _read_label(path).astype(np.int64).ravel()
        lab = lab[(lab != ignore_index) & (lab < num_classes)]
        counts += torch.from_numpy(np.bincount(lab, minlength=num_classes))
    return _all_reduce(counts).tolist()


def model_fingerprint(model) -> str:
    """SHA-256 (hex) over the names, dtypes, shapes and bytes of every tensor
    of ``model``'s state dict (parameters and buffers, e.g. BN statistics):
    equal iff the weights are bit-identical, on any device. A model wrapper
    is unwrapped first. Costs one host copy of the weights (about 0.5 s per
    200 MB)."""
    model = unwrap_model(model)
    h = hashlib.sha256()
    for name, t in model.state_dict().items():
        if not isinstance(t, torch.Tensor):
            continue
        t = t.detach().cpu().contiguous().reshape(-1)
        h.update(f'{name}|{t.dtype}|{len(t)}|'.encode())
        h.update(t.view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def pseudo_label_image_id(info: dict) -> str:
    """The id of a dataset sample in pseudo-label file names and
    ``list.txt``: ``img_id``, else the image file's stem."""
    img_id = info.get('img_id')
    if img_id is None:
        img_id = osp.splitext(osp.basename(info['img_path']))[0]
    return str(img_id)


def prediction_settings(model, dataset,
                        pipeline: Optional[Sequence] = None) -> dict:
    """What decides the predictions besides the weights and the generator
    settings, recorded in ``summary.json`` as ``prediction`` so that a
    folder is reused only for the same ones:

    - ``test_cfg``: the model's inference mode (``whole`` / ``slide``,
      window size and stride);
    - ``pipeline``: the unlabeled set's prediction pipeline, ``pipeline``
      (its config, as the hook and the offline tool pass it) or, when not
      given, the ``repr`` of the dataset's transforms;
    - ``image_ids_sha256``: SHA-256 of the image ids in dataset order (the
      names of the label files and the lines of ``list.txt``).

    JSON types, as they read back from ``summary.json``."""
    model = unwrap_model(model)
    test_cfg = getattr(model, 'test_cfg', None)
    if pipeline is None:
        transforms = getattr(getattr(dataset, 'pipeline', None),
                             'transforms', None) or []
        pipeline = [repr(t) for t in transforms]
    ids = hashlib.sha256()
    for idx in range(len(dataset)):
        ids.update(pseudo_label_image_id(dataset.get_data_info(idx)).encode())
        ids.update(b'\n')
    record = dict(
        test_cfg=None if test_cfg is None else dict(test_cfg),
        pipeline=list(pipeline),
        image_ids_sha256=ids.hexdigest())
    return json.loads(json.dumps(record, default=repr))


def _label_rel_path(img_id: str) -> str:
    stem, ext = osp.splitext(img_id)
    if ext.lower() in ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff'):
        img_id = stem
    return img_id.lstrip('/') + '.png'


class PseudoLabelGenerator:
    """Make pseudo-labels of an unlabeled set with a trained model.

    Args:
        mode (str): ``'DARS'`` (default), ``'DA'``, ``'CBST'``, ``'ST'`` or
            ``'argmax'``; see :func:`select_thresholds`.
        label_ratio (float): α in (0, 1], the fraction of unlabeled pixels to
            label (DARS/DA/ST), or of each class's pixels (CBST).
        sampling (str): ``'exact'`` keeps exactly ``min(n_j, #{conf >= t_j})``
            pixels per class; ``'bernoulli'`` keeps each candidate with
            probability ``s_j``. Both are seeded per image.
        class_distribution (sequence, optional): r_j; default: the pixel
            distribution of the labeled set.
        temperature (float): Softmax temperature of the logits.
        flip (bool): Also predict the horizontally flipped image and average
            the two predictions. Defaults to True (official DARS).
        flip_average (str): What is averaged with the flip: ``'logits'``
            (default; then the softmax with ``temperature``), as the official
            DARS pseudo-labelling (CVMI-Lab/DARS
            ``tool/gen_pseudo_label_utils.py`` lines 79-91: the softmax there
            is commented out, and lines 257-267 apply it after averaging), or
            ``'probs'`` (the softmax of each, averaged; what the official
            evaluation does, ``tool/test.py`` lines 332-342).
        test_cfg (dict, optional): Keys that replace those of the predicting
            model's ``test_cfg`` while it pseudo-labels (DARS:
            ``dict(average='logits')`` over its ``mode='slide_official'``
            windows, which flip themselves, so ``flip=False`` here); ``None``:
            the model predicts as it evaluates.
        fixed_threshold (float, optional): ST with a fixed threshold.
        seed (int): Seed of the per-image sampling keys.
        round_idx (int, optional): Self-training round, mixed into the
            sampling keys so that each round draws its random sampling anew
            (as the official code does); ``None``: keys of the seed and the
            image name only.
        num_workers (int): Data-loading workers of the inference pass.
        keep_cache (bool): Keep the per-image prediction cache
            (``<out_dir>/cache``) for inspection.
        ignore_index (int): Value of unlabeled pixels. Defaults to 255.
        progress (bool): Progress with ETA of every pass over the images
            (rank 0's shard; a bar on a terminal, a log line every 30 s
            otherwise, :class:`mmsss.utils.progress.Progress`). Does not
            change the output. Defaults to True.
    """

    def __init__(self,
                 mode: str = 'DARS',
                 label_ratio: float = 0.5,
                 sampling: str = 'exact',
                 class_distribution: Optional[Sequence[float]] = None,
                 temperature: float = 1.0,
                 flip: bool = True,
                 flip_average: str = 'logits',
                 test_cfg: Optional[dict] = None,
                 fixed_threshold: Optional[float] = None,
                 seed: int = 0,
                 round_idx: Optional[int] = None,
                 num_workers: int = 0,
                 keep_cache: bool = False,
                 ignore_index: int = 255,
                 progress: bool = True) -> None:
        if mode not in MODES:
            raise ValueError(f'pseudo-label mode must be one of {MODES}, '
                             f'got {mode!r}')
        if sampling not in SAMPLINGS:
            raise ValueError(f'sampling must be one of {SAMPLINGS}, got '
                             f'{sampling!r}')
        if not isinstance(label_ratio, (int, float)) or not (
                0. < label_ratio <= 1.):
            raise ValueError('label_ratio (α) must be a number in (0, 1], '
                             f'got {label_ratio!r}')
        if temperature <= 0:
            raise ValueError(f'temperature must be > 0, got {temperature}')
        if flip_average not in FLIP_AVERAGES:
            raise ValueError(f'flip_average must be one of {FLIP_AVERAGES}, '
                             f'got {flip_average!r}')
        self.mode = mode
        self.label_ratio = float(label_ratio)
        self.sampling = sampling
        self.class_distribution = (None if class_distribution is None else
                                   [float(v) for v in class_distribution])
        self.temperature = float(temperature)
        self.flip = bool(flip)
        self.flip_average = flip_average
        self.test_cfg = None if test_cfg is None else dict(test_cfg)
        self.fixed_threshold = fixed_threshold
        self.seed = int(seed)
        self.round_idx = None if round_idx is None else int(round_idx)
        self.num_workers = int(num_workers)
        self.keep_cache = bool(keep_cache)
        self.ignore_index = ignore_index
        self.progress = bool(progress)

    def settings(self) -> dict:
        """The settings that decide the output (JSON types), recorded in
        ``summary.json`` as ``generator``."""
        return dict(
            mode=self.mode,
            label_ratio=self.label_ratio,
            sampling=self.sampling,
            class_distribution=self.class_distribution,
            temperature=self.temperature,
            flip=self.flip,
            flip_average=self.flip_average if self.flip else None,
            test_cfg=self.test_cfg,
            fixed_threshold=(None if self.fixed_threshold is None else float(
                self.fixed_threshold)),
            seed=self.seed,
            round_idx=self.round_idx,
            ignore_index=self.ignore_index)

    # ------------------------------------------------------------ inference
    @torch.no_grad()
    def predict(self, model, data: dict):
        """Class map (uint8 numpy) and confidence codes (int16 numpy) of one
        collated sample, at the original image size."""
        probs = self.class_probabilities(model, data)
        conf, labels = probs.max(dim=0)
        return (labels.to(torch.uint8).cpu().numpy(),
                confidence_codes(conf).to(torch.int16).cpu().numpy())

    @torch.no_grad()
    def class_probabilities(self, model, data: dict) -> torch.Tensor:
        """``(C, H, W)`` class probabilities of one collated sample at the
        original image size: the softmax (with ``temperature``) of the
        model's logits, averaged with the horizontal flip as
        ``flip_average`` says."""
        logits = self._logits(model, data)
        if not self.flip:
            return F.softmax(logits / self.temperature, dim=0)
        flipped = dict(
            inputs=[x.flip(-1) for x in data['inputs']],
            data_samples=[s.clone() for s in data['data_samples']])
        for s in flipped['data_samples']:
            # the segmentor flips its logits back (mmseg postprocess_result)
            s.set_metainfo(dict(flip=True, flip_direction='horizontal'))
        logits_f = self._logits(model, flipped)
        if self.flip_average == 'logits':
            return F.softmax((logits + logits_f) / 2 / self.temperature, dim=0)
        return (F.softmax(logits / self.temperature, dim=0) +
                F.softmax(logits_f / self.temperature, dim=0)) / 2

    def _logits(self, model, data: dict) -> torch.Tensor:
        batch = model.data_preprocessor(data, False)
        with self._predicting_with_test_cfg(model):
            result = model.predict(batch['inputs'], batch['data_samples'])[0]
        return result.seg_logits.data.float()

    @contextlib.contextmanager
    def _predicting_with_test_cfg(self, model):
        """The predicting model's ``test_cfg`` (the teacher or student of a
        teacher–student model) updated with ``self.test_cfg`` while
        inside."""
        if self.test_cfg is None:
            yield
            return
        target = (model._predict_model()
                  if hasattr(model, '_predict_model') else model)
        own = target.test_cfg
        target.test_cfg = ConfigDict({**(own or {}), **self.test_cfg})
        try:
            yield
        finally:
            target.test_cfg = own

    # ------------------------------------------------------------ main entry
    def generate(self,
                 model,
                 dataset,
                 out_dir: str,
                 labeled_dataset=None,
                 extra_summary: Optional[dict] = None) -> dict:
        """Write the pseudo-labels of ``dataset`` to ``out_dir``.

        Args:
            model: A segmentor (or a model wrapper / teacher–student model)
                whose ``predict`` returns ``seg_logits`` at the original size.
            dataset: The unlabeled set with a test pipeline (load, resize,
                pack), one of the split-file datasets.
            out_dir (str): Output folder (replaced atomically).
            labeled_dataset (optional): For the class distribution r_j.
            extra_summary (dict, optional): Added to ``summary.json``.

        Returns:
            dict: The summary (thresholds, s_j, counts, KL, ...).
        """
        model = unwrap_model(model)
        num_classes = self._num_classes(model)
        check_num_classes(dataset.metainfo, num_classes, 'model.decode_head')
        if num_classes > 255:
            raise ValueError('pseudo-label PNGs are uint8: at most 255 '
                             f'classes, got {num_classes}')
        class_dist = self.class_distribution
        if class_dist is not None and len(class_dist) != num_classes:
            raise ValueError(
                f'class_distribution has {len(class_dist)} values but the '
                f'model predicts {num_classes} classes')
        if class_dist is None and labeled_dataset is None and self.mode in (
                'DARS', 'DA'):
            raise ValueError(f'mode {self.mode!r} needs the labeled set or '
                             'an explicit class_distribution')
        if class_dist is None and labeled_dataset is not None:
            # also for the other modes: KL is reported for every generation
            class_dist = labeled_class_distribution(labeled_dataset,
                                                    num_classes,
                                                    self.ignore_index)
            if sum(class_dist) == 0:
                raise ValueError('the labeled label maps have no valid '
                                 'pixel; cannot compute class_distribution')

        rank, world = dist.get_rank(), dist.get_world_size()
        out_dir = osp.abspath(out_dir)
        tmp_dir = out_dir + '.tmp'
        if rank == 0:
            if osp.exists(tmp_dir):  # an interrupted run: start over
                shutil.rmtree(tmp_dir)
            os.makedirs(osp.join(tmp_dir, 'labels'))
            os.makedirs(osp.join(tmp_dir, 'cache'))
        dist.barrier()

        was_training = model.training
        model.eval()
        start = time.time()
        try:
            hist, total = self._inference_pass(model, dataset, tmp_dir,
                                               num_classes)
        finally:
            model.train(was_training)
        sel = select_thresholds(hist, self.mode, self.label_ratio, class_dist,
                                total, self.fixed_threshold)
        key_limits = self._key_limits(sel, dataset, tmp_dir, num_classes)
        kept, gt_stats = self._write_pass(dataset, tmp_dir, num_classes,
                                          sel['codes'], key_limits)

        summary = dict(
            mode=self.mode,
            sampling=self.sampling if self.mode == 'DARS' else None,
            label_ratio=self.label_ratio,
            temperature=self.temperature,
            flip=self.flip,
            seed=self.seed,
            generator=self.settings(),
            num_images=len(dataset),
            total_pixels=total,
            classes=list(dataset.metainfo['classes']),
            class_distribution=class_dist,
            thresholds=[code_to_confidence(c) for c in sel['codes']],
            threshold_codes=sel['codes'],
            desired_counts=sel['desired'],
            candidate_counts=sel['candidates'],
            sampling_ratios=sel['ratios'],
            kept_counts=kept,
            kept_fraction=sum(kept) / max(total, 1),
            world_size=world,
            seconds=round(time.time() - start, 3))
        if class_dist is not None and sum(kept) > 0:
            summary['kl_labeled_pseudo'] = kl_divergence(class_dist, kept)
        if gt_stats is not None:
            correct, known = gt_stats
            summary['pseudo_label_accuracy'] = correct / max(known, 1)
        summary.update(extra_summary or {})
        if rank == 0:
            self._finish(dataset, tmp_dir, out_dir, summary)
        dist.barrier()
        return summary

    @staticmethod
    def _num_classes(model) -> int:
        if hasattr(model, 'num_classes'):
            return int(model.num_classes)
        return int(model.decode_head.num_classes)

    def _shard(self, dataset) -> List[int]:
        return list(range(dist.get_rank(), len(dataset),
                          dist.get_world_size()))

    @staticmethod
    def _cache_path(tmp_dir: str, idx: int) -> str:
        return osp.join(tmp_dir, 'cache', f'{idx:09d}.npz')

    def _track(self, iterable, total: int, what: str):
        """``iterable`` with progress (rank 0's shard) when enabled."""
        desc = f'pseudo-labels ({self.mode}): {what}'
        if dist.get_world_size() > 1:
            desc += f' (rank 0 of {dist.get_world_size()})'
        return track(iterable, total, desc, enabled=self.progress)

    def _inference_pass(self, model, dataset, tmp_dir: str,
                        num_classes: int):
        indices = self._shard(dataset)
        loader = DataLoader(
            Subset(dataset, indices),
            batch_size=1,
            shuffle=False,
            num_workers=self.num_workers,
            collate_fn=pseudo_collate)
        hist = torch.zeros(num_classes, NUM_CONF_BINS, dtype=torch.int64)
        total = torch.zeros((), dtype=torch.int64)
        for idx, data in self._track(
                zip(indices, loader), len(indices), 'predicting'):
            labels, codes = self.predict(model, data)
            class_histogram(
                torch.from_numpy(labels), torch.from_numpy(codes).long(),
                num_classes, NUM_CONF_BINS, out=hist)
            total += labels.size
            # inside <out_dir>.tmp, which is renamed only when complete
            np.savez_compressed(
                self._cache_path(tmp_dir, idx), labels=labels, codes=codes)
        return _all_reduce(hist), int(_all_reduce(total))

    def _cached(self, dataset, tmp_dir: str):
        """(index, image id, labels, codes) of this rank's images."""
        for idx in self._shard(dataset):
            with np.load(self._cache_path(tmp_dir, idx)) as z:
                labels = torch.from_numpy(z['labels'].astype(np.int64))
                codes = torch.from_numpy(z['codes'].astype(np.int64))
            img_id = pseudo_label_image_id(dataset.get_data_info(idx))
            yield idx, img_id, labels, codes

    def _key_limits(self, sel: dict, dataset, tmp_dir: str,
                    num_classes: int) -> Optional[torch.Tensor]:
        """Per-class key limits q_j (None: no sampling)."""
        if self.mode != 'DARS':
            return None
        if self.sampling == 'bernoulli':
            return torch.tensor(
                [int(s * KEY_RANGE) for s in sel['ratios']],
                dtype=torch.int64)
        targets, cands = sel['targets'], sel['candidates']
        limits = torch.tensor(
            [KEY_RANGE if t >= c else 0 for t, c in zip(targets, cands)],
            dtype=torch.int64)
        todo = [j for j in range(num_classes) if 0 < targets[j] < cands[j]]
        if not todo:
            return limits
        codes_t = torch.tensor(sel['codes'], dtype=torch.int64)
        # radix select, high 16 bits then low 16 bits of the keys
        high_bin = torch.full((num_classes, ), -1, dtype=torch.int64)
        need = [targets[j] for j in range(num_classes)]
        for digit in ('high', 'low'):
            hist = torch.zeros(num_classes, _HALF, dtype=torch.int64)
            for _, img_id, labels, codes in self._track(
                    self._cached(dataset, tmp_dir), len(self._shard(dataset)),
                    f'exact sampling, {digit} key digits'):
                keys = pixel_keys(img_id, self.seed, labels.shape,
                                  self.round_idx)
                cand = codes >= codes_t[labels]
                if digit == 'low':
                    cand &= (keys >> 16) == high_bin[labels]
                    values = keys & (_HALF - 1)
                else:
                    values = keys >> 16
                class_histogram(labels[cand], values[cand], num_classes,
                                _HALF, out=hist)
            _all_reduce(hist)
            bins, rest = radix_boundary(hist[todo], [need[j] for j in todo])
            for j, b, r in zip(todo, bins, rest):
                if digit == 'high':
                    high_bin[j] = b
                    need[j] = r
                else:
                    limits[j] = int(high_bin[j]) * _HALF + b + 1
        return limits

    def _write_pass(self, dataset, tmp_dir: str, num_classes: int,
                    threshold_codes, key_limits):
        codes_t = torch.tensor(threshold_codes, dtype=torch.int64)
        kept = torch.zeros(num_classes, dtype=torch.int64)
        gt_correct = torch.zeros(2, dtype=torch.int64)  # correct, known
        have_gt = torch.ones((), dtype=torch.int64)
        for idx, img_id, labels, codes in self._track(
                self._cached(dataset, tmp_dir), len(self._shard(dataset)),
                'writing'):
            keys = None if key_limits is None else pixel_keys(
                img_id, self.seed, labels.shape, self.round_idx)
            keep = keep_mask(labels, codes, keys, codes_t, key_limits)
            pseudo = torch.where(keep, labels,
                                 torch.full_like(labels, self.ignore_index))
            kept += torch.bincount(labels[keep], minlength=num_classes)
            arr = pseudo.numpy().astype(np.uint8)
            path = osp.join(tmp_dir, 'labels', _label_rel_path(img_id))
            os.makedirs(osp.dirname(path), exist_ok=True)
            Image.fromarray(arr).save(path)
            gt_path = dataset.get_data_info(idx).get('seg_map_path')
            if gt_path is not None and osp.isfile(gt_path):
                gt = _read_label(gt_path)
                if gt.shape == arr.shape:
                    known = keep.numpy() & (gt != self.ignore_index)
                    gt_correct[0] += int((arr[known] == gt[known]).sum())
                    gt_correct[1] += int(known.sum())
                    continue
            have_gt.zero_()
        if dist.get_world_size() > 1:
            dist.all_reduce(have_gt, op='min')
        _all_reduce(kept)
        _all_reduce(gt_correct)
        gt_stats = tuple(gt_correct.tolist()) if int(have_gt) else None
        return kept.tolist(), gt_stats

    def _finish(self, dataset, tmp_dir: str, out_dir: str,
                summary: dict) -> None:
        lines = []
        for idx in range(len(dataset)):
            img_id = pseudo_label_image_id(dataset.get_data_info(idx))
            label = osp.join(out_dir, 'labels', _label_rel_path(img_id))
            lines.append(f'{img_id} {label}\n')
        # atomic inside the temporary folder too: a reader never sees half a
        # summary, whatever happens to the folder rename below
        atomic_write_text(osp.join(tmp_dir, LIST_FILE), ''.join(lines))
        atomic_write_text(
            osp.join(tmp_dir, SUMMARY_FILE), json.dumps(summary, indent=2))
        if not self.keep_cache:
            shutil.rmtree(osp.join(tmp_dir, 'cache'))
        if osp.exists(out_dir):
            old = out_dir + '.old'
            if osp.exists(old):
                shutil.rmtree(old)
            os.replace(out_dir, old)
            os.replace(tmp_dir, out_dir)
            shutil.rmtree(old)
        else:
            os.replace(tmp_dir, out_dir)
        print_log(
            f'pseudo-labels ({self.mode}, α={self.label_ratio}) written to '
            f'{out_dir}: kept {summary["kept_fraction"]:.3f} of pixels'
            + (f', KL={summary["kl_labeled_pseudo"]:.5f}'
               if 'kl_labeled_pseudo' in summary else ''),
            logger='current')
