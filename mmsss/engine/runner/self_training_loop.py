"""Multi-round offline self-training in one run (DARS)."""
import copy
from typing import List, Optional, Sequence

from mmengine.logging import print_log
from mmengine.runner import IterBasedTrainLoop
from mmengine.runner.loops import _InfiniteDataloaderIterator
from mmseg.registry import LOOPS

__all__ = [
    'SelfTrainingRoundsLoop', 'set_ratio_range', 'PSEUDO_LABEL_LIST_KEY'
]

PSEUDO_LABEL_LIST_KEY = 'pseudo_label_list'


def set_ratio_range(pipeline: list, ratio_range: Sequence[float]) -> int:
    """Set ``ratio_range`` of every ``RandomResize`` in a pipeline config
    (``MultiBranch`` sub-pipelines included); returns how many were set."""
    found = 0
    for t in pipeline:
        if not isinstance(t, dict):
            continue
        if t.get('type') == 'RandomResize':
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
        lr_schedule (str): ``'continue'``: one schedule over all rounds (the
            official DARS runs, cumulative epochs); ``'restart'``: every
            round restarts from the initial learning rate (give one
            scheduler per round with ``begin``/``end`` at the boundaries).
        val_begin (int), val_interval (int), dynamic_intervals: As in
            ``IterBasedTrainLoop``; validation also runs at every round end.
    """

    def __init__(self,
                 runner,
                 dataloader,
                 rounds: List[dict],
                 round_dataloader: Optional[dict] = None,
                 pseudo_dataset_index: int = 1,
                 lr_schedule: str = 'continue',
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
        if lr_schedule not in ('continue', 'restart'):
            raise ValueError("train_cfg.lr_schedule must be 'continue' or "
                             f"'restart', got {lr_schedule!r}")
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

    def run(self):
        if self.lr_schedule == 'restart':
            self.check_restart_schedulers(
                getattr(self.runner, 'param_schedulers', None))
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
