"""Training/validation loops for teacher–student models."""
import logging
import math
from typing import Optional

from mmengine.logging import print_log
from mmengine.runner import IterBasedTrainLoop, ValLoop
from mmengine.runner.utils import calc_dynamic_intervals
from mmseg.registry import LOOPS

from ...utils.accumulation import GradientAccumulationMixin
from ...utils.dist import unwrap_model
from .self_training_loop import iters_per_epoch as loader_iters_per_epoch

__all__ = [
    'SemiIterBasedTrainLoop', 'TeacherStudentValLoop', 'EPOCH_LENGTHS',
    'unlabeled_iters_per_epoch'
]

EPOCH_LENGTHS = ('ceil', 'per_rank_drop_last')


def unlabeled_iters_per_epoch(sampler,
                              rule: str = 'ceil',
                              accumulative_counts: int = 1) -> int:
    """Iterations of one pass over the unlabeled (last) source of a
    ``MultiSourceSampler`` by all ranks, N_u images, b per rank and batch,
    W ranks (times ``accumulative_counts`` k: an iteration is one optimiser
    step of k micro-batches, so W stands for W·k below):

    - ``'ceil'``: ``ceil(N_u / (b W))`` (``sampler.iters_per_epoch()``, the
      iMAS/U2PL epoch);
    - ``'per_rank_drop_last'``: ``floor(ceil(N_u / W) / b)``, the length of
      a ``DataLoader(batch_size=b, drop_last=True)`` over a
      ``DistributedSampler`` (UniMatch ``len(trainloader_u)``,
      ``unimatch.py:86-93``; counted by the DARS loop's own function).
    """
    if rule not in EPOCH_LENGTHS:
        raise ValueError(f'train_cfg.epoch_length must be one of '
                         f'{EPOCH_LENGTHS}, got {rule!r}')
    k = int(accumulative_counts)
    if rule == 'ceil':
        if k == 1:
            return sampler.iters_per_epoch()
        for key in ('source_sizes', 'num_per_source', 'world_size'):
            if not hasattr(sampler, key):
                raise TypeError(f'gradient accumulation needs a '
                                f'MultiSourceSampler (no {key!r} in '
                                f'{type(sampler).__name__})')
        per_step = sampler.num_per_source[-1] * sampler.world_size * k
        return max(1, math.ceil(sampler.source_sizes[-1] / per_step))
    for key in ('source_sizes', 'num_per_source', 'world_size'):
        if not hasattr(sampler, key):
            raise TypeError(f"epoch_length='{rule}' needs a "
                            f'MultiSourceSampler (no {key!r} in '
                            f'{type(sampler).__name__})')
    return loader_iters_per_epoch(sampler.source_sizes[-1],
                                  sampler.num_per_source[-1],
                                  sampler.world_size * k)


@LOOPS.register_module()
class SemiIterBasedTrainLoop(GradientAccumulationMixin, IterBasedTrainLoop):
    """``IterBasedTrainLoop`` whose length may be given in epochs.

    An epoch is one pass over the *unlabeled* set by all ranks together,
    its length counted by :func:`unlabeled_iters_per_epoch` from the
    ``MultiSourceSampler`` (rule ``epoch_length``), with N_u the unlabeled
    set, b the unlabeled images per rank and batch, W the world size:
    ``'ceil'`` = ``ceil(N_u / (b W))`` (the iMAS/U2PL convention, default)
    or ``'per_rank_drop_last'`` = ``floor(ceil(N_u / W) / b)`` (UniMatch:
    ``len(trainloader_u)`` of a ``DistributedSampler`` with
    ``drop_last=True``, ``unimatch.py:86-93``).
    ``max_iters = ceil(max_epochs · iters_per_epoch)``.
    ``val_interval`` may likewise be given as ``val_interval_epochs``.
    Param schedulers without an explicit ``end`` run to ``max_iters``.
    With ``optim_wrapper.accumulative_counts=k`` an iteration is one
    optimiser step of k micro-batches
    (:class:`~mmsss.utils.accumulation.GradientAccumulationMixin`;
    the epoch counts W·k ranks).

    Args:
        runner: The runner.
        dataloader: Training dataloader (config or object).
        max_iters (int, optional): Number of iterations.
        max_epochs (int | float, optional): Number of unlabeled epochs.
            Exactly one of ``max_iters`` and ``max_epochs`` must be given.
        val_begin (int): First iteration that validates.
        val_interval (int, optional): Validation interval in iterations.
        val_interval_epochs (float, optional): Validation interval in
            unlabeled epochs (overrides ``val_interval``).
        epoch_length (str): How an epoch's iterations are counted: 'ceil'
            (default) or 'per_rank_drop_last' (see above); the latter
            needs a sampler with ``iters_per_epoch``.
    """

    def __init__(self,
                 runner,
                 dataloader,
                 max_iters: Optional[int] = None,
                 max_epochs: Optional[float] = None,
                 val_begin: int = 1,
                 val_interval: int = 1000,
                 val_interval_epochs: Optional[float] = None,
                 dynamic_intervals=None,
                 epoch_length: str = 'ceil') -> None:
        if epoch_length not in EPOCH_LENGTHS:
            raise ValueError(f'train_cfg.epoch_length must be one of '
                             f'{EPOCH_LENGTHS}, got {epoch_length!r}')
        if (max_iters is None) == (max_epochs is None):
            raise ValueError('train_cfg: give exactly one of max_iters and '
                             f'max_epochs (got max_iters={max_iters}, '
                             f'max_epochs={max_epochs})')
        super().__init__(
            runner,
            dataloader,
            max_iters=max_iters or 1,
            val_begin=val_begin,
            val_interval=val_interval,
            dynamic_intervals=dynamic_intervals)
        self.epoch_length = epoch_length
        self.iters_per_epoch = self._iters_per_epoch()
        if max_epochs is not None:
            self._max_iters = int(math.ceil(max_epochs *
                                            self.iters_per_epoch))
        if val_interval_epochs is not None:
            self.val_interval = max(
                1, int(round(val_interval_epochs * self.iters_per_epoch)))
            self.dynamic_milestones, self.dynamic_intervals = \
                calc_dynamic_intervals(self.val_interval, dynamic_intervals)
        self.runner.logger.info(
            f'SemiIterBasedTrainLoop: {self._max_iters} iterations '
            f'({self.iters_per_epoch} per unlabeled epoch)')

    def _iters_per_epoch(self) -> int:
        for name in ('sampler', 'batch_sampler'):
            sampler = getattr(self.dataloader, name, None)
            if hasattr(sampler, 'iters_per_epoch'):
                return unlabeled_iters_per_epoch(sampler, self.epoch_length,
                                                 self.accumulative_counts)
        if self.epoch_length != 'ceil':
            raise ValueError(
                f"train_cfg.epoch_length={self.epoch_length!r} needs a "
                'MultiSourceSampler, got '
                f'{type(getattr(self.dataloader, "sampler", None)).__name__}')
        return len(self.dataloader) // self.accumulative_counts or 1

    def run(self) -> None:
        """``IterBasedTrainLoop.run`` (mmengine 0.10) with k micro-batches
        per iteration: a resume skips ``iter · k`` batches."""
        self.init_accumulation()
        self.runner.call_hook('before_train')
        self.runner.call_hook('before_train_epoch')
        if self._iter > 0:
            skip = self._iter * self.accumulative_counts
            print_log(
                f'Advance dataloader {skip} steps to skip data that has '
                'already been trained',
                logger='current',
                level=logging.WARNING)
            for _ in range(skip):
                next(self.dataloader_iterator)
        while self._iter < self._max_iters and not self.stop_training:
            self.runner.model.train()
            data_batch = next(self.dataloader_iterator)
            self.run_iter(data_batch)
            self._decide_current_val_interval()
            if (self.runner.val_loop is not None
                    and self._iter >= self.val_begin
                    and (self._iter % self.val_interval == 0
                         or self._iter == self._max_iters)):
                self.runner.val_loop.run()
        self.runner.call_hook('after_train_epoch')
        self.runner.call_hook('after_train')
        return self.runner.model


@LOOPS.register_module()
class TeacherStudentValLoop(ValLoop):
    """Validate both the teacher and the student; metrics are prefixed
    ``teacher/`` and ``student/`` (mmdet 3.x convention). A teacher-free
    model (``with_teacher = False``) is validated once, as ``student/``."""

    def run(self) -> dict:
        self.runner.call_hook('before_val')
        self.runner.call_hook('before_val_epoch')
        self.runner.model.eval()
        model = unwrap_model(self.runner.model)
        with_teacher = getattr(model, 'with_teacher', True)
        missing_teacher = with_teacher and not hasattr(model, 'teacher')
        if not hasattr(model, 'student') or missing_teacher:
            raise TypeError('TeacherStudentValLoop needs a model with '
                            '`teacher` and `student` (or a teacher-free one '
                            f'with `student`), got {type(model).__name__}')
        predict_on = model.semi_test_cfg.get('predict_on', 'teacher')
        metrics = {}
        try:
            for name in (('teacher', 'student')
                         if with_teacher else ('student', )):
                model.semi_test_cfg['predict_on'] = name
                for idx, data_batch in enumerate(self.dataloader):
                    self.run_iter(idx, data_batch)
                result = self.evaluator.evaluate(len(self.dataloader.dataset))
                metrics.update({f'{name}/{k}': v for k, v in result.items()})
        finally:
            model.semi_test_cfg['predict_on'] = predict_on
        self.runner.call_hook('after_val_epoch', metrics=metrics)
        self.runner.call_hook('after_val')
        return metrics
