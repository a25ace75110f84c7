"""Multi-round offline self-training in one run (DARS)."""
import copy
from typing import List, Optional, Sequence

from mmengine.logging import print_log
from mmengine.optim.scheduler import PolyLR
from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import INF, _ParamScheduler
from mmengine.runner import IterBasedTrainLoop
from mmengine.runner.loops import _InfiniteDataloaderIterator
from mmseg.registry import LOOPS

__all__ = [
    'SelfTrainingRoundsLoop', 'RoundPolyLR', 'set_ratio_range',
    'PSEUDO_LABEL_LIST_KEY', 'LR_SCHEDULES'
]

PSEUDO_LABEL_LIST_KEY = 'pseudo_label_list'
LR_SCHEDULES = ('extend', 'continue', 'restart')


class RoundPolyLR(LRSchedulerMixin, _ParamScheduler):
    """Poly learning rate on the global iteration count whose horizon is the
    end of the round being trained (``lr_schedule='extend'``).

    For the global (0-based) iteration ``t`` of round ``k``, which ends at
    iteration ``E_k`` (exclusive)::

        lr(t) = (base - eta_min) * (1 - t / E_k) ** power + eta_min

    so round 0 starts at ``base`` and round ``k >= 1`` at
    ``(1 - E_{k-1} / E_k) ** power`` of it, and every round anneals towards
    ``eta_min`` at its own end; after the last round the value is
    ``eta_min``. ``base`` is each parameter group's ``initial_lr`` (with its
    ``lr_mult``).

    This is the official DARS schedule: each round resumes the previous
    round's checkpoint (optimizer included) with ``epochs`` raised, and
    ``poly_learning_rate(base_lr, current_iter, max_iter)`` uses the global
    ``current_iter`` and the new run's ``max_iter`` (CVMI-Lab/DARS
    ``tool/train_func.py`` lines 68-75 and 159-165, ``tool/train.py`` lines
    240-248). One iteration differs: there, the first step of a resumed
    round runs with the learning rate restored from the optimizer state
    (the previous round's final value, 0) before the new schedule is set.

    Args:
        optimizer: Optimizer or optimizer wrapper.
        round_ends (sequence[int]): ``E_0 < E_1 < ...``, the global iteration
            at which each round ends.
        power (float): Poly power. Defaults to 0.9.
        eta_min (float): Final value. Defaults to 0.
        last_step (int): The last global iteration stepped (-1: none).
        verbose (bool): Print every update.
    """

    def __init__(self,
                 optimizer,
                 round_ends: Sequence[int],
                 power: float = 0.9,
                 eta_min: float = 0.,
                 last_step: int = -1,
                 verbose: bool = False) -> None:
        ends = [int(e) for e in round_ends]
        if not ends or ends[0] <= 0 or any(
                b <= a for a, b in zip(ends, ends[1:])):
            raise ValueError('round_ends must be increasing positive '
                             f'iterations, got {list(round_ends)}')
        self.round_ends = ends
        self.power = float(power)
        self.eta_min = float(eta_min)
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

    def value_at(self, iteration: int) -> List[float]:
        """Learning rate of every parameter group at ``iteration``."""
        end = self.horizon(iteration)
        factor = 0. if end is None else (1. - iteration / end)**self.power
        return [(base - self.eta_min) * factor + self.eta_min
                for base in self.base_values]

    def _get_value(self) -> List[float]:
        # last_step counts the steps since iteration 0: the value set now is
        # the one iteration ``last_step`` trains with
        return self.value_at(self.last_step)


def set_ratio_range(pipeline: list, ratio_range: Sequence[float]) -> int:
    """Set ``ratio_range`` of every ``RandomResize`` / ``RandomRescale`` in a
    pipeline config (``MultiBranch`` sub-pipelines included); returns how
    many were set."""
    found = 0
    for t in pipeline:
        if not isinstance(t, dict):
            continue
        if t.get('type') in ('RandomResize', 'RandomRescale'):
            t['ratio_range'] = tuple(ratio_range)
            found += 1
        for v in t.values():
            if isinstance(v, list) and v and isinstance(v[0], dict):
                found += set_ratio_range(v, ratio_range)
    return found


@LOOPS.register_module()
class SelfTrainingRoundsLoop(IterBasedTrainLoop):
    """Rounds of offline self-training, iteration-based.

    Round 0 trains on ``dataloader`` (the runner's ``train_dataloader``,
    usually the labeled set). Before round ``k >= 1`` the hook point
    ``before_train_round`` runs (``PseudoLabelRoundHook`` regenerates the
    pseudo-labels with the current model — the teacher, which the student
    then continues from), and the round's dataloader is built from
    ``round_dataloader`` with the dataset at ``pseudo_dataset_index`` of its
    ``ConcatDataset`` reading the new pseudo-label list.

    Args:
        runner: The runner.
        dataloader: Round-0 dataloader (config or object).
        rounds (list[dict]): One dict per round with ``iters`` and, for
            ``k >= 1``, ``label_ratio`` (α_k, used by the hook) and optionally
            ``ratio_range`` (the random-scale range of every ``RandomResize``
            of the round's pipelines).
        round_dataloader (dict): Dataloader config of rounds ``k >= 1``.
        pseudo_dataset_index (int): Which dataset of
            ``round_dataloader.dataset.datasets`` is the pseudo-labeled one.
        lr_schedule (str): ``'extend'`` (the official DARS schedule): every
            whole-run iteration-based ``PolyLR`` of the config is replaced by
            a :class:`RoundPolyLR` with the same ``power``/``eta_min``: poly
            on the global iteration count with the current round's end as
            its horizon, so round ``k`` starts at
            ``(1 - E_{k-1}/E_k)^power`` of the base rate and anneals to
            ``eta_min`` at its own end (every teacher is an annealed model);
            ``'continue'``: the config's schedulers run unchanged over all
            rounds (one poly over the whole run: the teachers of rounds
            ``k >= 1`` are mid-schedule models); ``'restart'``: every round
            restarts from the initial learning rate (give one scheduler per
            round with ``begin``/``end`` at the boundaries).
        val_begin (int), val_interval (int), dynamic_intervals: As in
            ``IterBasedTrainLoop``; validation also runs at every round end.
    """

    def __init__(self,
                 runner,
                 dataloader,
                 rounds: List[dict],
                 round_dataloader: Optional[dict] = None,
                 pseudo_dataset_index: int = 1,
                 lr_schedule: str = 'extend',
                 val_begin: int = 1,
                 val_interval: int = 1000,
                 dynamic_intervals=None) -> None:
        if not rounds:
            raise ValueError('train_cfg.rounds must list at least one round')
        for k, r in enumerate(rounds):
            if not isinstance(r, dict) or int(r.get('iters', 0)) <= 0:
                raise ValueError(f'train_cfg.rounds[{k}] needs iters > 0, '
                                 f'got {r!r}')
            if k > 0 and not 0. < float(r.get('label_ratio', -1)) <= 1.:
                raise ValueError(
                    f'train_cfg.rounds[{k}].label_ratio (α) must be in '
                    f'(0, 1], got {r.get("label_ratio")!r}')
        if len(rounds) > 1 and round_dataloader is None:
            raise ValueError('train_cfg.round_dataloader is needed for '
                             'rounds after round 0')
        if lr_schedule not in LR_SCHEDULES:
            raise ValueError('train_cfg.lr_schedule must be one of '
                             f'{LR_SCHEDULES}, got {lr_schedule!r}')
        self.rounds = [dict(r) for r in rounds]
        self.round_starts = []
        total = 0
        for r in self.rounds:
            self.round_starts.append(total)
            total += int(r['iters'])
        super().__init__(
            runner,
            dataloader,
            max_iters=total,
            val_begin=val_begin,
            val_interval=val_interval,
            dynamic_intervals=dynamic_intervals)
        self.round_dataloader_cfg = round_dataloader
        self.pseudo_dataset_index = pseudo_dataset_index
        self.lr_schedule = lr_schedule
        self.current_round: Optional[int] = None

    @property
    def num_rounds(self) -> int:
        return len(self.rounds)

    def round_of(self, iteration: int) -> int:
        """Round that trains 0-based iteration ``iteration``."""
        k = 0
        for i, s in enumerate(self.round_starts):
            if iteration >= s:
                k = i
        return k

    def round_end(self, k: int) -> int:
        return self.round_starts[k] + int(self.rounds[k]['iters'])

    def build_round_dataloader(self, k: int, pseudo_label_list: str):
        cfg = copy.deepcopy(self.round_dataloader_cfg)
        datasets = cfg['dataset']['datasets']
        datasets[self.pseudo_dataset_index]['ann_file'] = pseudo_label_list
        ratio_range = self.rounds[k].get('ratio_range')
        if ratio_range is not None:
            for ds in datasets:
                if not set_ratio_range(ds.get('pipeline', []), ratio_range):
                    raise ValueError(
                        f'train_cfg.rounds[{k}].ratio_range is set but a '
                        'dataset of round_dataloader has no RandomResize')
        return self.runner.build_dataloader(
            cfg,
            seed=self.runner.seed,
            diff_rank_seed=self.runner._randomness_cfg.get(
                'diff_rank_seed', False))

    def _enter_round(self, k: int) -> None:
        runner = self.runner
        self.current_round = k
        runner.call_hook(
            'before_train_round', round_idx=k, round_cfg=self.rounds[k])
        if k > 0:  # round 0 keeps the iterator made in __init__
            pseudo_list = runner.message_hub.get_info(PSEUDO_LABEL_LIST_KEY)
            if pseudo_list is None:
                raise RuntimeError(
                    f'round {k} needs pseudo-labels but no hook produced '
                    'them: add PseudoLabelRoundHook to custom_hooks')
            self.dataloader = self.build_round_dataloader(k, pseudo_list)
            self.dataloader_iterator = _InfiniteDataloaderIterator(
                self.dataloader)
        start = self.round_starts[k]
        if self._iter == start:
            if k > 0 and self.lr_schedule == 'restart':
                for group in runner.optim_wrapper.param_groups:
                    group['lr'] = group.get('initial_lr', group['lr'])
        else:  # resumed inside the round: skip what was trained
            print_log(
                f'round {k}: skipping {self._iter - start} batches already '
                'trained', logger='current')
            for _ in range(self._iter - start):
                next(self.dataloader_iterator)
        print_log(
            f'self-training round {k}/{self.num_rounds - 1}: iterations '
            f'{start}-{self.round_end(k)}', logger='current')

    def check_restart_schedulers(self, schedulers) -> None:
        """With ``lr_schedule='restart'`` every iteration-based parameter
        scheduler must lie inside one round; a scheduler spanning a boundary
        (e.g. one ``PolyLR`` without ``end``) would not decay to its minimum
        at the round's end."""
        if isinstance(schedulers, dict):
            schedulers = [s for group in schedulers.values() for s in group]
        ends = [self.round_end(k) for k in range(self.num_rounds)]
        for s in schedulers or []:
            if getattr(s, 'by_epoch', False):
                continue
            begin, end = int(s.begin), min(s.end, self._max_iters)
            if not any(start <= begin and end <= stop for start, stop in zip(
                    self.round_starts, ends)):
                raise ValueError(
                    "train_cfg.lr_schedule='restart' needs every "
                    'param_scheduler inside one round (rounds start at '
                    f'{self.round_starts} and end at {ends}), but '
                    f'{type(s).__name__} runs from {begin} to {end}: give '
                    'one scheduler per round, e.g. PolyLR(begin=0, '
                    f'end={ends[0]}), PolyLR(begin={ends[0]}, '
                    f'end={ends[1] if len(ends) > 1 else ends[0]}), ...')

    def install_round_poly_lr(self) -> None:
        """``lr_schedule='extend'``: replace each learning-rate scheduler of
        the runner (a ``PolyLR`` from iteration 0 over the whole run, by
        iteration) with a :class:`RoundPolyLR` of the same power and
        ``eta_min``, positioned at the current iteration (also after a
        resume: the value depends on the iteration only)."""
        schedulers = getattr(self.runner, 'param_schedulers', None)
        groups = (list(schedulers.values()) if isinstance(schedulers, dict)
                  else [schedulers or []])
        ends = [self.round_end(k) for k in range(self.num_rounds)]
        installed = 0
        for group in groups:
            for i, s in enumerate(group):
                if getattr(s, 'param_name', None) != 'lr':
                    continue
                if isinstance(s, RoundPolyLR):
                    power, eta_min = s.power, s.eta_min
                elif (isinstance(s, PolyLR) and not s.by_epoch
                      and s.begin == 0 and s.end >= self._max_iters):
                    power, eta_min = s.power, s.eta_min
                else:
                    raise ValueError(
                        "train_cfg.lr_schedule='extend' needs the learning "
                        'rate scheduled by one iteration-based PolyLR from '
                        'iteration 0 to the end of the run (its power and '
                        'eta_min are used, its horizon becomes each '
                        f'round\'s end), got {type(s).__name__} '
                        f'(by_epoch={getattr(s, "by_epoch", None)}, '
                        f'begin={getattr(s, "begin", None)}, '
                        f'end={getattr(s, "end", None)})')
                group[i] = RoundPolyLR(
                    s.optimizer,
                    ends,
                    power=power,
                    eta_min=eta_min,
                    last_step=self._iter - 1)
                installed += 1
        if not installed:
            raise ValueError(
                "train_cfg.lr_schedule='extend' needs a PolyLR "
                'param_scheduler (by iteration, from 0, over the whole run)')

    def run(self):
        if self.lr_schedule == 'restart':
            self.check_restart_schedulers(
                getattr(self.runner, 'param_schedulers', None))
        elif self.lr_schedule == 'extend':
            self.install_round_poly_lr()
        self.runner.call_hook('before_train')
        self.runner.call_hook('before_train_epoch')
        while self._iter < self._max_iters and not self.stop_training:
            k = self.round_of(self._iter)
            if k != self.current_round:
                self._enter_round(k)
            self.runner.model.train()
            data_batch = next(self.dataloader_iterator)
            self.run_iter(data_batch)
            self._decide_current_val_interval()
            if (self.runner.val_loop is not None
                    and self._iter >= self.val_begin
                    and (self._iter % self.val_interval == 0
                         or self._iter == self.round_end(k))):
                self.runner.val_loop.run()
        self.runner.call_hook('after_train_epoch')
        self.runner.call_hook('after_train')
        return self.runner.model
