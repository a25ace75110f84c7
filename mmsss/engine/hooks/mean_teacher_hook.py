"""EMA of the student into the teacher."""
from typing import Optional

import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

from ...utils.dist import unwrap_model

__all__ = ['MeanTeacherHook']


@HOOKS.register_module()
class MeanTeacherHook(Hook):
    """Update the teacher as an exponential moving average of the student.

    ``teacher = decay · teacher + (1 − decay) · student`` after every
    ``interval`` training iterations, where ``decay`` is either fixed
    (``1 − momentum``, mmdet's convention) or, with
    ``decay_schedule='imas'``, ``min(1 − 1 / (iter − sup_only + 1),
    max_decay)`` with ``iter`` the 0-based index of the iteration just
    finished (iMAS/U2PL official code: the first update copies the student).

    **Warm-up** (official ``train_semi.py``, ``trainer.sup_only_epoch``):

    - for the first ``sup_only_iters`` iterations (or ``sup_only_epochs``
      unlabeled epochs of :class:`SemiIterBasedTrainLoop`) the segmentor
      trains on the labeled batch only: before every iteration this hook
      calls ``model.set_sup_only(iter < sup_only)``;
    - while ``iter < copy_iters`` (or ``copy_epochs``; default: the
      supervised-only length) the teacher is a plain copy of the student
      (decay 0);
    - afterwards the iMAS decay count restarts at the end of the
      supervised-only part: ``iter − sup_only`` replaces ``iter``.

    The official code tests ``epoch > sup_only_epoch`` for the EMA, so its
    teacher stays a copy of the student through the first semi-supervised
    epoch too (with ``sup_only_epoch = 0``, its published setting, the
    teacher equals the student for all of epoch 0): that is
    ``copy_epochs = sup_only_epochs + 1``. All defaults 0 keep the plain
    schedule from iteration 0.

    Args:
        momentum (float): Weight of the student in the fixed schedule.
            Defaults to 0.001.
        interval (int): Update every ``interval`` iterations. Defaults to 1.
        skip_buffers (bool): If True only parameters are averaged and the
            teacher's buffers (BN running statistics) keep their initial
            values — only right for frozen-BN models (mmdet's default). If
            False, floating buffers are averaged too and integer buffers (e.g.
            ``num_batches_tracked``) are copied. Defaults to False.
        decay_schedule (str): ``'fixed'`` or ``'imas'``.
        max_decay (float): Upper bound of the iMAS schedule. Defaults to
            0.996.
        sup_only_iters (int): Supervised-only warm-up, in iterations.
            Defaults to 0.
        sup_only_epochs (float, optional): The same in unlabeled epochs
            (needs a loop with ``iters_per_epoch``); overrides
            ``sup_only_iters``.
        copy_iters (int, optional): The teacher copies the student while
            ``iter < copy_iters``. Defaults to (and is never less than) the
            supervised-only length.
        copy_epochs (float, optional): The same in unlabeled epochs;
            overrides ``copy_iters``.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self,
                 momentum: float = 0.001,
                 interval: int = 1,
                 skip_buffers: bool = False,
                 decay_schedule: str = 'fixed',
                 max_decay: float = 0.996,
                 sup_only_iters: int = 0,
                 sup_only_epochs: Optional[float] = None,
                 copy_iters: Optional[int] = None,
                 copy_epochs: Optional[float] = None) -> None:
        if not 0 < momentum < 1:
            raise ValueError(f'momentum must be in (0, 1), got {momentum}')
        if decay_schedule not in ('fixed', 'imas'):
            raise ValueError("decay_schedule must be 'fixed' or 'imas', got "
                             f'{decay_schedule!r}')
        if not 0 <= max_decay < 1:
            raise ValueError(f'max_decay must be in [0, 1), got {max_decay}')
        for name, v in (('sup_only_iters', sup_only_iters),
                        ('sup_only_epochs', sup_only_epochs),
                        ('copy_iters', copy_iters),
                        ('copy_epochs', copy_epochs)):
            if v is not None and v < 0:
                raise ValueError(f'{name} must be >= 0, got {v}')
        self.momentum = momentum
        self.interval = interval
        self.skip_buffers = skip_buffers
        self.decay_schedule = decay_schedule
        self.max_decay = max_decay
        self.sup_only_epochs = sup_only_epochs
        self.copy_epochs = copy_epochs
        # resolved to iterations (epochs: in before_train)
        self.sup_only_iters = int(sup_only_iters)
        self.copy_iters = None if copy_iters is None else int(copy_iters)

    @property
    def _copy_until(self) -> int:
        # never shorter than the supervised-only part (the restarted count
        # starts there)
        return max(self.sup_only_iters, self.copy_iters or 0)

    def _resolve_epochs(self, runner) -> None:
        if self.sup_only_epochs is None and self.copy_epochs is None:
            return
        per_epoch = getattr(getattr(runner, 'train_loop', None),
                            'iters_per_epoch', None)
        if not per_epoch:
            raise TypeError('MeanTeacherHook: sup_only_epochs/copy_epochs '
                            'need a train loop with `iters_per_epoch` '
                            '(SemiIterBasedTrainLoop); give iterations '
                            'instead')
        if self.sup_only_epochs is not None:
            self.sup_only_iters = int(round(self.sup_only_epochs * per_epoch))
        if self.copy_epochs is not None:
            self.copy_iters = int(round(self.copy_epochs * per_epoch))

    @staticmethod
    def _unwrap(runner) -> nn.Module:
        model = unwrap_model(runner.model)
        if not getattr(model, 'with_teacher', True):
            raise TypeError(
                f'MeanTeacherHook: {type(model).__name__} is teacher-free '
                '(with_teacher=False): it has no EMA teacher to update; '
                'remove MeanTeacherHook from custom_hooks')
        if not (hasattr(model, 'teacher') and hasattr(model, 'student')):
            raise TypeError('MeanTeacherHook needs a model with `teacher` and '
                            f'`student`, got {type(model).__name__}')
        return model

    def before_train(self, runner) -> None:
        model = self._unwrap(runner)
        self._resolve_epochs(runner)
        if self.sup_only_iters > 0 and not hasattr(model, 'set_sup_only'):
            raise TypeError('MeanTeacherHook: a supervised-only warm-up '
                            'needs a model with `set_sup_only`, got '
                            f'{type(model).__name__}')
        # a fresh run starts with teacher == student
        if runner.iter == 0:
            self.ema_update(model, decay=0.)

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        if self.sup_only_iters > 0:
            self._unwrap(runner).set_sup_only(
                runner.iter < self.sup_only_iters)

    def decay_at(self, iteration: int) -> float:
        """Decay applied after 0-based iteration ``iteration``."""
        if iteration < self._copy_until:
            return 0.
        if self.decay_schedule == 'imas':
            return min(1. - 1. / (iteration - self.sup_only_iters + 1),
                       self.max_decay)
        return 1. - self.momentum

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        if (runner.iter + 1) % self.interval != 0:
            return
        self.ema_update(self._unwrap(runner), self.decay_at(runner.iter))

    @torch.no_grad()
    def ema_update(self, model: nn.Module, decay: float) -> None:
        student = dict(model.student.named_parameters())
        for name, t in model.teacher.named_parameters():
            t.data.mul_(decay).add_(student[name].data, alpha=1. - decay)
        if self.skip_buffers:
            return
        student_bufs = dict(model.student.named_buffers())
        for name, t in model.teacher.named_buffers():
            s = student_bufs[name]
            if t.dtype.is_floating_point:
                t.data.mul_(decay).add_(s.data, alpha=1. - decay)
            else:
                t.data.copy_(s.data)
