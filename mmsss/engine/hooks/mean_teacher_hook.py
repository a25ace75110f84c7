"""EMA of the student into the teacher."""
from typing import Optional

import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

__all__ = ['MeanTeacherHook']


@HOOKS.register_module()
class MeanTeacherHook(Hook):
    """Update the teacher as an exponential moving average of the student.

    ``teacher = decay · teacher + (1 − decay) · student`` after every
    ``interval`` training iterations, where ``decay`` is either fixed
    (``1 − momentum``, mmdet's convention) or, with
    ``decay_schedule='imas'``, ``min(1 − 1 / (iter + 1), max_decay)`` with
    ``iter`` the 0-based index of the iteration just finished (iMAS official
    code: the first update copies the student).

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
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self,
                 momentum: float = 0.001,
                 interval: int = 1,
                 skip_buffers: bool = False,
                 decay_schedule: str = 'fixed',
                 max_decay: float = 0.996) -> None:
        if not 0 < momentum < 1:
            raise ValueError(f'momentum must be in (0, 1), got {momentum}')
        if decay_schedule not in ('fixed', 'imas'):
            raise ValueError("decay_schedule must be 'fixed' or 'imas', got "
                             f'{decay_schedule!r}')
        if not 0 <= max_decay < 1:
            raise ValueError(f'max_decay must be in [0, 1), got {max_decay}')
        self.momentum = momentum
        self.interval = interval
        self.skip_buffers = skip_buffers
        self.decay_schedule = decay_schedule
        self.max_decay = max_decay

    @staticmethod
    def _unwrap(runner) -> nn.Module:
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        if not (hasattr(model, 'teacher') and hasattr(model, 'student')):
            raise TypeError('MeanTeacherHook needs a model with `teacher` and '
                            f'`student`, got {type(model).__name__}')
        return model

    def before_train(self, runner) -> None:
        model = self._unwrap(runner)
        # a fresh run starts with teacher == student
        if runner.iter == 0:
            self.ema_update(model, decay=0.)

    def decay_at(self, iteration: int) -> float:
        """Decay applied after 0-based iteration ``iteration``."""
        if self.decay_schedule == 'imas':
            return min(1. - 1. / (iteration + 1), self.max_decay)
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
