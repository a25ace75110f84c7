"""Per-class telemetry of online pseudo-labels (class distribution vs the
labeled set's, per-class precision/recall against analysis ground truth)."""
import re
import time
from typing import Dict, Optional, Sequence

import torch
from mmengine import dist
from mmengine.hooks import Hook
from mmseg.registry import DATASETS, HOOKS

from ...models.utils.pseudo_label_stats import COUNT_KEYS, class_statistics
from ...pseudo_labels.generator import labeled_class_distribution
from ...utils.dist import unwrap_model

__all__ = ['PseudoLabelStatsHook']



def _tag(name: str) -> str:
    return re.sub(r'[^0-9A-Za-z_.-]+', '_', str(name)).strip('_')


@HOOKS.register_module()
class PseudoLabelStatsHook(Hook):
    """Log, every ``interval`` iterations, statistics of the confident
    pseudo-labels of the window (counts summed over its iterations and over
    the ranks):

    - ``pseudo_labels/kl_labeled_pseudo``: ``KL(labeled ‖ pseudo)`` of the
      class distributions, the quantity DARS reports per round
      (:func:`~mmsss.pseudo_labels.selection.kl_divergence`);
    - ``pseudo_labels/frac_<class>``: share of each class;
    - with analysis ground truth (``keep_gt_for_analysis=True`` on the
      unlabeled set): ``pseudo_labels/precision_<class>``,
      ``pseudo_labels/recall_<class>`` and their means over the classes
      where they are defined (``mean_precision``, ``mean_recall``). Recall
      counts unconfident pixels as misses.

    Scalars go through ``runner.visualizer.add_scalars`` (``scalars.json``,
    TensorBoard, W&B) at step ``iter + 1``, with one log line.

    The segmentor supplies the counts when ``model.record_class_stats`` is
    set (:func:`mmsss.models.utils.vis_record.store_class_counts`, a few
    bincounts per step on the device, no host sync).

    The labeled distribution is computed once at ``before_train`` from the
    labeled label maps (one read of every labeled PNG, sharded over the
    ranks: about 1 s per 1,000 small maps; for a large labeled set pass the
    counts as ``class_distribution``, e.g. from a DARS ``summary.json``).

    Args:
        interval (int): Window length in iterations. Defaults to 50.
        class_distribution (sequence, optional): Labeled class counts or
            frequencies; skips reading the label maps.
        labeled_dataset (dict, optional): Config of the labeled set to count;
            default: sub-dataset ``labeled_dataset_index`` of the training
            ``ConcatDataset``.
        labeled_dataset_index (int): See above. Defaults to 0.
        per_class (bool): Also log the per-class scalars. Defaults to True.
    """

    priority = 'LOW'

    def __init__(self,
                 interval: int = 50,
                 class_distribution: Optional[Sequence[float]] = None,
                 labeled_dataset: Optional[dict] = None,
                 labeled_dataset_index: int = 0,
                 per_class: bool = True) -> None:
        if not isinstance(interval, int) or interval < 1:
            raise ValueError('PseudoLabelStatsHook: interval must be an int '
                             f'>= 1, got {interval!r}')
        self.interval = interval
        self.class_distribution = (None if class_distribution is None else
                                   [float(v) for v in class_distribution])
        self.labeled_dataset_cfg = labeled_dataset
        self.labeled_dataset_index = labeled_dataset_index
        self.per_class = per_class
        self._acc: Optional[Dict[str, torch.Tensor]] = None
        self.last_stats: Optional[dict] = None

    def _labeled_dataset(self, runner):
        if self.labeled_dataset_cfg is not None:
            return DATASETS.build(self.labeled_dataset_cfg)
        dataset = runner.train_dataloader.dataset
        subsets = getattr(dataset, 'datasets', None)
        if subsets is None:
            raise ValueError(
                'PseudoLabelStatsHook: the training set is not a '
                'ConcatDataset; set labeled_dataset or class_distribution')
        if not 0 <= self.labeled_dataset_index < len(subsets):
            raise ValueError(
                f'PseudoLabelStatsHook: labeled_dataset_index='
                f'{self.labeled_dataset_index} but the training '
                f'ConcatDataset has {len(subsets)} datasets')
        return subsets[self.labeled_dataset_index]

    def before_train(self, runner) -> None:
        model = unwrap_model(runner.model)
        num_classes = int(model.num_classes)
        self.classes = list(
            runner.train_dataloader.dataset.metainfo.get('classes') or
            [str(c) for c in range(num_classes)])
        if self.class_distribution is None:
            start = time.time()
            dataset = self._labeled_dataset(runner)
            self.class_distribution = [
                float(v)
                for v in labeled_class_distribution(dataset, num_classes)
            ]
            runner.logger.info(
                'PseudoLabelStatsHook: labeled class distribution from '
                f'{len(dataset)} label maps in {time.time() - start:.1f} s')
        if len(self.class_distribution) != num_classes:
            raise ValueError(
                f'PseudoLabelStatsHook: class_distribution has '
                f'{len(self.class_distribution)} values, the model predicts '
                f'{num_classes} classes')
        if sum(self.class_distribution) <= 0:
            raise ValueError('PseudoLabelStatsHook: the labeled class '
                             'distribution is empty')
        model.record_class_stats = True
        self._acc = None

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        model = unwrap_model(runner.model)
        counts = getattr(model, 'last_class_counts', None)
        model.last_class_counts = None
        if counts is not None:
            if self._acc is None:
                self._acc = {k: v.clone() for k, v in counts.items()}
            else:
                for k, v in counts.items():
                    self._acc[k] += v
        if self.every_n_train_iters(runner, self.interval):
            self._flush(runner)

    def _flush(self, runner) -> None:
        acc, self._acc = self._acc, None
        world = dist.get_world_size()
        if world > 1:  # every rank reaches here at the same iteration
            flag = torch.tensor([0 if acc is None else 1])
            dist.all_reduce(flag, op='min')
            if int(flag) == 0:
                return
            for k in COUNT_KEYS:
                if k in acc:
                    dist.all_reduce(acc[k], op='sum')
        if acc is None:
            return
        stats = class_statistics(acc, self.class_distribution)
        self.last_stats = stats
        if dist.get_rank() != 0:
            return
        scalars = {}
        if 'kl_labeled_pseudo' in stats:
            scalars['pseudo_labels/kl_labeled_pseudo'] = \
                stats['kl_labeled_pseudo']
        for key in ('precision', 'recall'):
            vals = [v for v in stats.get(key, []) if v is not None]
            if vals:
                scalars[f'pseudo_labels/mean_{key}'] = sum(vals) / len(vals)
        if self.per_class:
            for c, name in enumerate(self.classes):
                scalars[f'pseudo_labels/frac_{_tag(name)}'] = \
                    stats['fractions'][c]
                for key in ('precision', 'recall'):
                    if key in stats and stats[key][c] is not None:
                        scalars[f'pseudo_labels/{key}_{_tag(name)}'] = \
                            stats[key][c]
        step = runner.iter + 1
        runner.visualizer.add_scalars(scalars, step=step)
        head = ', '.join(f'{k.split("/", 1)[1]}={v:.4f}'
                         for k, v in scalars.items()
                         if k.split('/', 1)[1] in ('kl_labeled_pseudo',
                                                   'mean_precision',
                                                   'mean_recall'))
        if head:
            runner.logger.info(f'pseudo-labels of iterations '
                               f'{step - self.interval + 1}-{step}: {head}')

    def after_train(self, runner) -> None:
        unwrap_model(runner.model).record_class_stats = False
