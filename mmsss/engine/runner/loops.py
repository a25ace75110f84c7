"""Training/validation loops for teacher–student models."""
import math
from typing import Optional

from mmengine.model import is_model_wrapper
from mmengine.runner import IterBasedTrainLoop, ValLoop
from mmengine.runner.utils import calc_dynamic_intervals
from mmseg.registry import LOOPS

__all__ = ['SemiIterBasedTrainLoop', 'TeacherStudentValLoop']


@LOOPS.register_module()
class SemiIterBasedTrainLoop(IterBasedTrainLoop):
    """``IterBasedTrainLoop`` whose length may be given in epochs.

    An epoch is one pass over the *unlabeled* set by all ranks together (the
    iMAS/U2PL convention), computed from the ``MultiSourceSampler``:
    ``max_iters = max_epochs · ceil(N_u / (unlabeled per batch · world))``.
    ``val_interval`` may likewise be given as ``val_interval_epochs``.
    Param schedulers without an explicit ``end`` run to ``max_iters``.

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
    """

    def __init__(self,
                 runner,
                 dataloader,
                 max_iters: Optional[int] = None,
                 max_epochs: Optional[float] = None,
                 val_begin: int = 1,
                 val_interval: int = 1000,
                 val_interval_epochs: Optional[float] = None,
                 dynamic_intervals=None) -> None:
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
        sampler = getattr(self.dataloader, 'sampler', None)
        if hasattr(sampler, 'iters_per_epoch'):
            return sampler.iters_per_epoch()
        batch_sampler = getattr(self.dataloader, 'batch_sampler', None)
        if hasattr(batch_sampler, 'iters_per_epoch'):
            return batch_sampler.iters_per_epoch()
        return len(self.dataloader)


@LOOPS.register_module()
class TeacherStudentValLoop(ValLoop):
    """Validate both the teacher and the student; metrics are prefixed
    ``teacher/`` and ``student/`` (mmdet 3.x convention). A teacher-free
    model (``with_teacher = False``) is validated once, as ``student/``."""

    def run(self) -> dict:
        self.runner.call_hook('before_val')
        self.runner.call_hook('before_val_epoch')
        self.runner.model.eval()
        model = self.runner.model
        if is_model_wrapper(model):
            model = model.module
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
