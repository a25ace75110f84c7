"""Gradient accumulation: the official total batch on fewer GPUs.

mmengine's ``optim_wrapper.accumulative_counts=k`` makes the optimiser step
after every ``k``-th backward, with each loss scaled by ``1/k``
(``OptimWrapper.update_params``/``scale_loss``), but the mmengine loops
still count one *runner iteration per micro-batch*, so everything driven by
``runner.iter`` (EMA updates and decays, warm-ups, param schedulers,
validation/checkpoint intervals, the per-iteration seeds of
:class:`~mmsss.engine.hooks.RandomStateHook`, the DARS rounds) would advance
``k`` times per optimiser step.

The mmsss training loops (:class:`~mmsss.engine.runner.SemiIterBasedTrainLoop`,
:class:`~mmsss.engine.runner.SelfTrainingRoundsLoop`) take the other
convention through :class:`GradientAccumulationMixin`: **one runner
iteration is one optimiser step** of ``k`` micro-batches. ``before_train_iter``
and ``after_train_iter`` run once per step, ``train_step`` once per
micro-batch, so ``max_iters``, epochs, intervals and schedulers keep the
official numbers (in steps) and no hook changes. Micro-batch ``j >= 1``
calls the extra hook point ``before_train_micro_batch`` (RandomStateHook
reseeds there, so micro-batches draw different numbers). The logged losses
are the mean over the micro-batches.

With DDP, ``k`` micro-batches of ``b`` on ``W`` GPUs give the gradient of
``W·k`` GPUs × ``b``: both average per-micro-batch (per-rank) losses. See
``docs/fewer_gpus.md`` for what differs (BatchNorm, cross-rank reductions).
"""
from collections import OrderedDict
from typing import Any, List

import torch
from mmengine.optim import OptimWrapper, OptimWrapperDict

__all__ = [
    'accumulative_counts_of', 'GradientAccumulationMixin',
    'mean_log_vars', 'set_accumulative_counts'
]


def accumulative_counts_of(optim_wrapper: Any) -> int:
    """``accumulative_counts`` of a built optimiser wrapper or of its config
    (the train loop is built before the wrapper): 1 when not set. A
    ``OptimWrapperDict`` must use one value for all its wrappers."""
    if optim_wrapper is None:
        return 1
    if isinstance(optim_wrapper, OptimWrapperDict):
        counts = {accumulative_counts_of(w) for w in optim_wrapper.values()}
        if len(counts) > 1:
            raise ValueError('gradient accumulation needs one '
                             'accumulative_counts for every optimiser '
                             f'wrapper, got {sorted(counts)}')
        return counts.pop() if counts else 1
    if isinstance(optim_wrapper, OptimWrapper):
        return int(getattr(optim_wrapper, '_accumulative_counts', 1))
    if isinstance(optim_wrapper, dict):
        k = optim_wrapper.get('accumulative_counts', 1)
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ValueError('optim_wrapper.accumulative_counts must be an '
                             f'integer >= 1, got {k!r}')
        return k
    return int(getattr(optim_wrapper, '_accumulative_counts', 1))


def set_accumulative_counts(cfg, k: int):
    """Config side of ``tools/train.py --accumulate k``: ``k`` micro-batches
    of the config's per-GPU batch per optimiser step
    (``cfg.optim_wrapper.accumulative_counts = k``). Iterations, epochs,
    intervals and schedulers stay in optimiser steps: nothing else changes.
    Launch on ``official GPUs / k`` GPUs to keep the official total batch.
    """
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f'--accumulate must be an integer >= 1, got {k!r}')
    optim = cfg.get('optim_wrapper')
    if not isinstance(optim, dict):
        raise ValueError('--accumulate needs an optim_wrapper in the config')
    if 'constructor' in optim or optim.get('type') == 'OptimWrapperDict':
        raise ValueError('--accumulate supports one optimiser wrapper '
                         '(optim_wrapper.type OptimWrapper/AmpOptimWrapper), '
                         f'got {optim.get("type")!r}')
    auto_lr = cfg.get('auto_scale_lr') or {}
    if k > 1 and auto_lr.get('enable', False):
        raise ValueError(
            '--accumulate with auto_scale_lr.enable=True: mmengine scales '
            'the learning rate by GPUs × per-GPU batch, which misses the '
            'factor k; disable auto_scale_lr (the recipes give the lr of '
            'the official total batch)')
    optim['accumulative_counts'] = k
    if k > 1:
        _use_accumulating_loop(cfg)
    return cfg


def _use_accumulating_loop(cfg) -> None:
    """``train_cfg`` must name a loop with :class:`GradientAccumulationMixin`
    (one iteration = one step); mmengine's ``IterBasedTrainLoop`` (the
    supervised and three-stage configs) becomes ``SemiIterBasedTrainLoop``,
    which takes the same arguments."""
    from mmengine.runner import IterBasedTrainLoop
    from mmseg.registry import LOOPS
    train_cfg = cfg.get('train_cfg')
    if not isinstance(train_cfg, dict) or 'type' not in train_cfg:
        raise ValueError('--accumulate needs train_cfg.type (an mmsss '
                         'training loop)')
    loop = train_cfg['type']
    cls = LOOPS.get(loop) if isinstance(loop, str) else loop
    if isinstance(cls, type) and issubclass(cls, GradientAccumulationMixin):
        return
    if cls is IterBasedTrainLoop:
        train_cfg['type'] = 'SemiIterBasedTrainLoop'
        return
    raise ValueError(
        f'--accumulate: train_cfg.type={loop!r} counts one iteration per '
        'micro-batch; use SemiIterBasedTrainLoop or SelfTrainingRoundsLoop '
        '(one iteration per optimiser step, docs/fewer_gpus.md)')


def mean_log_vars(outputs: List[dict]) -> dict:
    """Mean of the micro-batches' ``train_step`` outputs, key by key
    (tensors detached; keys missing in a micro-batch are averaged over the
    micro-batches that have them)."""
    if len(outputs) == 1:
        return outputs[0]
    sums, counts = OrderedDict(), {}
    for out in outputs:
        for key, value in (out or {}).items():
            if isinstance(value, torch.Tensor):
                value = value.detach()
            sums[key] = value if key not in sums else sums[key] + value
            counts[key] = counts.get(key, 0) + 1
    return OrderedDict((k, v / counts[k]) for k, v in sums.items())


class GradientAccumulationMixin:
    """``k`` micro-batches per runner iteration (one optimiser step), ``k``
    from ``optim_wrapper.accumulative_counts`` (see the module docstring).

    Put it before the mmengine loop class in the bases; the loop must have
    ``runner``, ``dataloader_iterator`` and ``_iter``/``_max_iters``.
    """

    @property
    def accumulative_counts(self) -> int:
        """Micro-batches per optimiser step (1: no accumulation)."""
        return accumulative_counts_of(
            getattr(self.runner, 'optim_wrapper', None))

    def init_accumulation(self) -> None:
        """Count the optimiser wrapper's backwards in micro-batches: mmengine
        initialises them to ``(iter, max_iters)``, one per runner
        iteration; here they are ``k`` per iteration (also after a
        resume)."""
        k = self.accumulative_counts
        if k > 1:
            self.runner.optim_wrapper.initialize_count_status(
                self.runner.model, self._iter * k, self._max_iters * k)

    def run_iter(self, data_batch) -> None:
        """One optimiser step: ``data_batch`` and ``k - 1`` more batches of
        the training dataloader, each through ``train_step``."""
        k = self.accumulative_counts
        if k == 1:
            return super().run_iter(data_batch)
        runner = self.runner
        runner.call_hook(
            'before_train_iter', batch_idx=self._iter, data_batch=data_batch)
        outputs = []
        for micro in range(k):
            if micro:
                data_batch = next(self.dataloader_iterator)
                runner.call_hook(
                    'before_train_micro_batch',
                    batch_idx=self._iter,
                    micro_batch_idx=micro,
                    data_batch=data_batch)
            outputs.append(
                runner.model.train_step(
                    data_batch, optim_wrapper=runner.optim_wrapper))
        runner.call_hook(
            'after_train_iter',
            batch_idx=self._iter,
            data_batch=data_batch,
            outputs=mean_log_vars(outputs))
        self._iter += 1
