"""Per-round poly learning rate of multi-round self-training (DARS)."""
from typing import List, Optional, Sequence

from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import INF, _ParamScheduler
from mmseg.registry import PARAM_SCHEDULERS

__all__ = ['RoundPolyLR']


@PARAM_SCHEDULERS.register_module()
class RoundPolyLR(LRSchedulerMixin, _ParamScheduler):
    """Poly learning rate per self-training round.

    ``restart=False`` (``lr_schedule='extend'``, the official DARS
    schedule): poly on the schedule position counted from the start of
    training, with the end of the round being trained as its horizon. Round
    ``k`` spans ``s_k`` schedule units (its epochs, or its iterations when
    ``round_spans`` is not given) over its ``n_k`` iterations, and ends at
    ``S_k = s_0 + ... + s_k`` units. Global (0-based) iteration ``t``, the
    ``j``-th of round ``k``, trains with::

        lr(t) = (base - eta_min) * (1 - P / S_k) ** power + eta_min,
        P = S_{k-1} + j * s_k / n_k

    so round 0 starts at ``base`` and round ``k >= 1`` at
    ``(1 - S_{k-1} / S_k) ** power`` of it, and every round anneals towards
    ``eta_min`` at its own end; after the last round the value is
    ``eta_min``. ``base`` is each parameter group's ``initial_lr`` (with its
    ``lr_mult``).

    This is the official DARS schedule: each round resumes the previous
    round's checkpoint (optimizer included) with ``epochs`` raised (200 ->
    400 -> 600), and ``poly_learning_rate(base_lr, current_iter, max_iter)``
    uses ``current_iter = epoch * L_k + i`` and ``max_iter = epochs * L_k``
    with the epoch counter continued from the checkpoint and ``L_k`` the
    iterations of one of *this* round's epochs (CVMI-Lab/DARS
    ``tool/train_func.py`` lines 68-75 and 159-165, ``tool/train.py`` lines
    240-248 and 310). In epochs that is ``P / S_k`` above with
    ``s_k = epochs`` and ``n_k = s_k * L_k``: round 1 starts at
    ``(1 - 200/400)^0.9`` of the base rate even though its 200 epochs are
    14x longer in iterations than round 0's (Cityscapes 1/8: 4,600 then
    65,000 iterations). One iteration differs: there, the first step of a
    resumed round runs with the learning rate restored from the optimizer
    state (the previous round's final value, 0) before the new schedule is
    set.

    ``restart=True`` (``lr_schedule='restart'``): every round restarts the
    poly from ``base``, ``lr = (base - eta_min) * (1 - j / n_k) ** power +
    eta_min``.

    Args:
        optimizer: Optimizer or optimizer wrapper.
        round_ends (sequence[int]): ``E_0 < E_1 < ...``, the global iteration
            at which each round ends.
        round_spans (sequence[float], optional): ``s_k``, each round's length
            in schedule units (epochs). Defaults to the rounds' iterations.
        power (float): Poly power. Defaults to 0.9.
        eta_min (float): Final value. Defaults to 0.
        restart (bool): Restart the poly in every round. Defaults to False.
        last_step (int): The last global iteration stepped (-1: none).
        verbose (bool): Print every update.
    """

    def __init__(self,
                 optimizer,
                 round_ends: Sequence[int],
                 round_spans: Optional[Sequence[float]] = None,
                 power: float = 0.9,
                 eta_min: float = 0.,
                 restart: bool = False,
                 last_step: int = -1,
                 verbose: bool = False) -> None:
        ends = [int(e) for e in round_ends]
        if not ends or ends[0] <= 0 or any(
                b <= a for a, b in zip(ends, ends[1:])):
            raise ValueError('round_ends must be increasing positive '
                             f'iterations, got {list(round_ends)}')
        starts = [0] + ends[:-1]
        if round_spans is None:
            spans = [float(e - s) for s, e in zip(starts, ends)]
        else:
            spans = [float(x) for x in round_spans]
            if len(spans) != len(ends) or min(spans) <= 0:
                raise ValueError(
                    'round_spans must give one positive length per round, '
                    f'got {list(round_spans)} for {len(ends)} rounds')
        self.round_ends = ends
        self.round_starts = starts
        self.round_spans = spans
        self.power = float(power)
        self.eta_min = float(eta_min)
        self.restart = bool(restart)
        super().__init__(
            optimizer,
            begin=0,
            end=INF,
            last_step=last_step,
            by_epoch=False,
            verbose=verbose)

    def horizon(self, iteration: int) -> Optional[int]:
        """End of the round that trains ``iteration`` (None: after the
        last round)."""
        for end in self.round_ends:
            if iteration < end:
                return end
        return None

    def progress(self, iteration: int) -> float:
        """Fraction of the current poly horizon done before ``iteration``
        (``P / S_k``; 1 after the last round)."""
        for k, end in enumerate(self.round_ends):
            if iteration < end:
                start = self.round_starts[k]
                frac = (iteration - start) / (end - start)
                if self.restart:
                    return frac
                done = sum(self.round_spans[:k])
                return (done + frac * self.round_spans[k]) / (
                    done + self.round_spans[k])
        return 1.

    def value_at(self, iteration: int) -> List[float]:
        """Learning rate of every parameter group at ``iteration``."""
        factor = (1. - self.progress(iteration))**self.power
        return [(base - self.eta_min) * factor + self.eta_min
                for base in self.base_values]

    def _get_value(self) -> List[float]:
        # last_step counts the steps since iteration 0: the value set now is
        # the one iteration ``last_step`` trains with
        return self.value_at(self.last_step)
