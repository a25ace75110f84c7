"""Multi-round offline self-training in one run (DARS)."""
import copy
import math
import os.path as osp
from typing import List, Optional, Sequence

from mmengine.dist import broadcast, broadcast_object_list, get_world_size
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log
from mmengine.optim.scheduler import PolyLR
from mmengine.runner import IterBasedTrainLoop
from mmengine.runner.loops import _InfiniteDataloaderIterator
from mmseg.registry import DATASETS, LOOPS

from ...datasets.samplers.sample_seed import SampleSeedSampler, sample_seed
from ...utils.accumulation import GradientAccumulationMixin
from ...utils.dist import unwrap_model
from ..hooks.random_state_hook import RandomStateHook
from ..schedulers.round_poly_lr import RoundPolyLR

__all__ = [
    'SelfTrainingRoundsLoop', 'set_ratio_range',
    'epoch_iterations', 'iters_per_epoch', 'source_counts', 'round_seed',
    'sync_buffers_from_rank0',
    'PSEUDO_LABEL_LIST_KEY', 'LR_SCHEDULES', 'EPOCH_OVER'
]

PSEUDO_LABEL_LIST_KEY = 'pseudo_label_list'
LR_SCHEDULES = ('extend', 'continue', 'restart')
EPOCH_OVER = ('labeled', 'unlabeled')
# keeps the round seeds apart from the other streams mixed from the run seed
_ROUND_STREAM = 0x5E1F


def round_seed(seed: Optional[int], round_idx: int) -> Optional[int]:
    """Seed of round ``round_idx``'s dataloader (sampler order and
    per-sample augmentation seeds) from the run seed: round 0 keeps the run
    seed (the runner's ``train_dataloader``), round ``k >= 1`` gets a seed
    mixed from ``(seed, k)``, so every round draws a fresh order and fresh
    augmentations, as the official code, whose round ``k`` is a new process
    with a ``DistributedSampler`` at epochs ``200 k ...`` (CVMI-Lab/DARS
    ``tool/train.py`` lines 310-315), while a resume inside a round rebuilds
    the same stream. 31 bits, as dataloader worker seeds must stay below
    2**32. ``None`` (no run seed) stays ``None``."""
    if seed is None or round_idx == 0:
        return seed
    return sample_seed(int(seed), _ROUND_STREAM, int(round_idx)) % (1 << 31)


def iters_per_epoch(num_images: int, images_per_gpu: int,
                    world_size: int) -> int:
    """Iterations of one epoch over ``num_images`` images when each of
    ``world_size`` ranks draws ``images_per_gpu`` of them per step, counted
    as the official DARS code counts them: a ``DistributedSampler`` gives
    every rank ``ceil(N / world)`` indices and the ``DataLoader`` drops the
    last incomplete batch (``drop_last=True``; CVMI-Lab/DARS
    ``tool/train.py`` lines 437-452), so an epoch is
    ``floor(ceil(N / world) / per_gpu)`` iterations (at least 1)."""
    if num_images <= 0 or images_per_gpu <= 0 or world_size <= 0:
        raise ValueError('iters_per_epoch needs positive sizes, got '
                         f'num_images={num_images}, images_per_gpu='
                         f'{images_per_gpu}, world_size={world_size}')
    per_rank = -(-int(num_images) // int(world_size))
    return max(1, per_rank // int(images_per_gpu))


def epoch_iterations(epochs: float, num_images: int, images_per_gpu: int,
                     world_size: int) -> int:
    """Iterations of ``epochs`` epochs (:func:`iters_per_epoch` each),
    rounded up for fractional epochs."""
    if not epochs > 0:
        raise ValueError(f'epochs must be > 0, got {epochs!r}')
    per_epoch = iters_per_epoch(num_images, images_per_gpu, world_size)
    # round() first: 0.1 * 30 must not become 4 iterations
    return max(1, math.ceil(round(float(epochs) * per_epoch, 6)))


def source_counts(batch_size: int, source_ratio: Sequence[float]) -> List[int]:
    """Images per source in one rank's batch, as ``MultiSourceSampler``
    splits ``batch_size`` by ``source_ratio``."""
    total = sum(source_ratio)
    counts = [int(batch_size * r / total) for r in source_ratio]
    counts[0] = batch_size - sum(counts[1:])
    return counts


def sync_buffers_from_rank0(model) -> int:
    """Copy rank 0's buffers (BN running statistics) to every rank; returns
    how many buffers were broadcast (0 on one process).

    Without SyncBN (the DARS DeepLabV2), mmengine's
    ``MMDistributedDataParallel`` (``broadcast_buffers=False``) leaves each
    rank with the running statistics of its own batches, and only rank 0's
    are saved. Pseudo-labelling and validation, which shard the images over
    the ranks, would otherwise predict each shard with other statistics and
    make files and scores that depend on the number of GPUs. With rank 0's
    on every rank they use the statistics of the saved checkpoint, which the
    official code generates from (one GPU, ``train_gpu: [4]`` in the
    ``gen_pseudo_label_*.yaml``, loading ``train_epoch_200.pth``, saved by
    rank 0: CVMI-Lab/DARS ``tool/gen_pseudo_label.py`` lines 207-245,
    ``tool/train.py`` lines 344-348) and validates with (rank 0 only,
    ``tool/train.py`` lines 350-360). Training in train mode normalises with
    batch statistics, so the gradients do not change; the other ranks'
    running statistics, never saved, restart from rank 0's (as after a
    resume)."""
    if get_world_size() <= 1:
        return 0
    buffers = list(unwrap_model(model).buffers())
    for buf in buffers:
        broadcast(buf, src=0)
    return len(buffers)


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
class SelfTrainingRoundsLoop(GradientAccumulationMixin, IterBasedTrainLoop):
    """Rounds of offline self-training, iteration-based.

    Round 0 trains on ``dataloader`` (the runner's ``train_dataloader``,
    usually the labeled set). Before round ``k >= 1`` the hook point
    ``before_train_round`` runs (``PseudoLabelRoundHook`` regenerates the
    pseudo-labels with the current model — the teacher, which the student
    then continues from), and the round's dataloader is built from
    ``round_dataloader`` with the dataset at ``pseudo_dataset_index`` of its
    ``ConcatDataset`` reading the new pseudo-label list.

    A round's length is given either in iterations (``iters``) or, as the
    official DARS yamls give it, in epochs: ``epochs`` passes over the set
    named by ``epoch_over``:

    - ``'labeled'``: the labeled set (round 0: the runner's training set;
      rounds ``k >= 1``: the non-pseudo dataset of ``round_dataloader``);
    - ``'unlabeled'``: the unlabeled set, i.e. the ``unlabeled_dataset`` of
      the ``PseudoLabelRoundHook`` (every unlabeled image gets a pseudo-label
      map, so it is also the size of the pseudo-labeled set).

    An epoch is :func:`iters_per_epoch` of that set's size, the images of
    the round's per-GPU batch that come from the round's source (round 0:
    the whole batch; rounds ``k >= 1``: the labeled or the pseudo-labeled
    share of ``MultiSourceSampler``'s batch, as ``epoch_over`` says) and
    the world size: ``floor(ceil(N / world) / per_gpu)``, the length of the
    official ``drop_last`` loader. The official code iterates round 0 over
    the labeled list (batch 16: Cityscapes 1/8 has 372 images, 23 iterations
    per epoch) and rounds ``k >= 1`` over ``*_labeled_match_len.txt``, the
    labeled list repeated to the unlabeled set's length, at 8 labeled + 8
    pseudo-labeled images per step (2,603 images, 325 iterations per epoch),
    i.e. ``epoch_over='labeled'`` then ``'unlabeled'``.

    Args:
        runner: The runner.
        dataloader: Round-0 dataloader (config or object).
        rounds (list[dict]): One dict per round with either ``iters`` or
            ``epochs`` (and ``epoch_over``: ``'labeled'`` by default in
            round 0, ``'unlabeled'`` in later rounds), for ``k >= 1``
            ``label_ratio`` (α_k, used by the hook), and optionally
            ``ratio_range`` (the random-scale range of every
            ``RandomResize``/``RandomRescale`` of the round's pipelines;
            round 0: of ``dataloader``'s pipeline, given as a config).
        round_dataloader (dict): Dataloader config of rounds ``k >= 1``.
        pseudo_dataset_index (int): Which dataset of
            ``round_dataloader.dataset.datasets`` is the pseudo-labeled one.
        lr_schedule (str): ``'extend'`` (the official DARS schedule): every
            whole-run iteration-based ``PolyLR`` of the config is replaced by
            a :class:`RoundPolyLR` with the same ``power``/``eta_min``: poly
            on the schedule position counted from the start with the current
            round's end as its horizon, in epochs when every round is given
            in epochs (as the official code counts), else in iterations; so
            round ``k`` starts at ``(1 - E_{k-1}/E_k)^power`` of the base
            rate and anneals to ``eta_min`` at its own end (every teacher is
            an annealed model); ``'continue'``: the config's schedulers run
            unchanged over all rounds (one poly over the whole run: the
            teachers of rounds ``k >= 1`` are mid-schedule models);
            ``'restart'``: every round restarts from the initial learning
            rate: a whole-run ``PolyLR`` is replaced by a
            :class:`RoundPolyLR` with ``restart=True``; otherwise give one
            scheduler per round with ``begin``/``end`` at the boundaries
            (only possible for rounds given in iterations).
        save_round_ends (bool): Save ``iter_<N>.pth`` at the end of every
            round but the last (the teacher of the next round) when the
            ``CheckpointHook`` has not saved that iteration; these are not
            removed by its ``max_keep_ckpts``. Defaults to True.
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
                 save_round_ends: bool = True,
                 val_begin: int = 1,
                 val_interval: int = 1000,
                 dynamic_intervals=None) -> None:
        if not rounds:
            raise ValueError('train_cfg.rounds must list at least one round')
        for k, r in enumerate(rounds):
            self._check_round(k, r)
        if len(rounds) > 1 and round_dataloader is None:
            raise ValueError('train_cfg.round_dataloader is needed for '
                             'rounds after round 0')
        if lr_schedule not in LR_SCHEDULES:
            raise ValueError('train_cfg.lr_schedule must be one of '
                             f'{LR_SCHEDULES}, got {lr_schedule!r}')
        self.rounds = [dict(r) for r in rounds]
        for k, r in enumerate(self.rounds):
            if 'epochs' in r:
                r.setdefault('epoch_over', 'labeled' if k == 0 else
                             'unlabeled')
        if self.rounds[0].get('ratio_range') is not None:
            dataloader = self._round0_with_ratio_range(
                dataloader, self.rounds[0]['ratio_range'])
        super().__init__(
            runner,
            dataloader,
            max_iters=1,  # set below, once the round lengths are known
            val_begin=val_begin,
            val_interval=val_interval,
            dynamic_intervals=dynamic_intervals)
        self.round_dataloader_cfg = round_dataloader
        self.pseudo_dataset_index = pseudo_dataset_index
        self.lr_schedule = lr_schedule
        self.save_round_ends = bool(save_round_ends)
        self.current_round: Optional[int] = None
        self._set_sizes = {}
        self.round_iters = [self._round_iterations(k)
                            for k in range(len(self.rounds))]
        self.round_starts = []
        total = 0
        for n in self.round_iters:
            self.round_starts.append(total)
            total += n
        self._max_iters = total
        for k, r in enumerate(self.rounds):
            if 'epochs' in r:
                print_log(
                    f'self-training round {k}: {r["epochs"]} epochs over the '
                    f'{r["epoch_over"]} set = {self.round_iters[k]} '
                    'iterations', logger='current')

    @staticmethod
    def _round0_with_ratio_range(dataloader, ratio_range):
        """Round 0's dataloader config with ``rounds[0].ratio_range`` in
        its random-scale transforms."""
        if not isinstance(dataloader, dict):
            raise ValueError(
                'train_cfg.rounds[0].ratio_range needs the round-0 '
                'dataloader as a config (set the range in train_dataloader '
                'instead)')
        dataloader = copy.deepcopy(dataloader)
        if not set_ratio_range(
                dataloader.get('dataset', {}).get('pipeline', []),
                ratio_range):
            raise ValueError(
                'train_cfg.rounds[0].ratio_range is set but the pipeline of '
                'train_dataloader.dataset has no RandomResize/RandomRescale')
        return dataloader

    @staticmethod
    def _check_round(k: int, r) -> None:
        if not isinstance(r, dict):
            raise ValueError(f'train_cfg.rounds[{k}] must be a dict, got '
                             f'{r!r}')
        if ('iters' in r) == ('epochs' in r):
            raise ValueError(f'train_cfg.rounds[{k}] needs exactly one of '
                             f'iters and epochs, got {r!r}')
        if 'iters' in r:
            if int(r['iters']) != r['iters'] or int(r['iters']) <= 0:
                raise ValueError(f'train_cfg.rounds[{k}] needs iters > 0, '
                                 f'got {r!r}')
            if 'epoch_over' in r:
                raise ValueError(f'train_cfg.rounds[{k}]: epoch_over goes '
                                 f'with epochs, not iters: {r!r}')
        else:
            if not float(r['epochs']) > 0:
                raise ValueError(f'train_cfg.rounds[{k}] needs epochs > 0, '
                                 f'got {r!r}')
            over = r.get('epoch_over', 'labeled' if k == 0 else 'unlabeled')
            if over not in EPOCH_OVER:
                raise ValueError(
                    f'train_cfg.rounds[{k}].epoch_over must be one of '
                    f'{EPOCH_OVER}, got {over!r}')
        if k > 0 and not 0. < float(r.get('label_ratio', -1)) <= 1.:
            raise ValueError(
                f'train_cfg.rounds[{k}].label_ratio (α) must be in '
                f'(0, 1], got {r.get("label_ratio")!r}')

    # ------------------------------------------------------ round lengths
    @property
    def num_rounds(self) -> int:
        return len(self.rounds)

    @property
    def epoch_based(self) -> bool:
        """Whether every round is given in epochs (the lr schedule then
        counts epochs, as the official code does)."""
        return all('epochs' in r for r in self.rounds)

    def set_size(self, which: str) -> int:
        """Number of images of the unlabeled set, or of the labeled set of
        rounds ``k >= 1`` (see the class docstring)."""
        if which not in self._set_sizes:
            self._set_sizes[which] = self._count_set(which)
        return self._set_sizes[which]

    def _count_set(self, which: str) -> int:
        if which == 'unlabeled':
            for hook in getattr(self.runner, 'hooks', None) or []:
                cfg = getattr(hook, 'unlabeled_dataset_cfg', None)
                if cfg is not None:
                    return len(DATASETS.build(copy.deepcopy(cfg)))
            raise ValueError(
                "train_cfg.rounds: epoch_over='unlabeled' counts the "
                'unlabeled set of PseudoLabelRoundHook, but custom_hooks has '
                'none')
        datasets = self.round_dataloader_cfg['dataset']['datasets']
        others = [i for i in range(len(datasets))
                  if i != self.pseudo_dataset_index]
        if len(others) != 1:
            raise ValueError(
                "train_cfg.rounds: epoch_over='labeled' needs "
                'round_dataloader.dataset.datasets = [labeled, pseudo] (one '
                f'non-pseudo dataset), got {len(datasets)} datasets')
        return len(DATASETS.build(copy.deepcopy(datasets[others[0]])))

    def images_per_gpu(self, k: int) -> int:
        """Images of round ``k``'s per-GPU batch drawn from the set its
        epochs count."""
        if k == 0:
            batch = getattr(self.dataloader, 'batch_size', None)
            if not batch:
                raise ValueError(
                    'train_cfg.rounds[0] in epochs needs a dataloader with a '
                    'batch_size')
            return int(batch)
        sampler = self.round_dataloader_cfg.get('sampler') or {}
        if sampler.get('type') != 'MultiSourceSampler':
            raise ValueError(
                f'train_cfg.rounds[{k}] in epochs needs round_dataloader to '
                'use MultiSourceSampler (its batch_size and source_ratio say '
                f'how many images per step come from each set), got '
                f'{sampler.get("type")!r}')
        counts = source_counts(
            int(sampler.get('batch_size',
                            self.round_dataloader_cfg.get('batch_size'))),
            sampler['source_ratio'])
        if len(counts) != 2:
            raise ValueError(
                f'train_cfg.rounds[{k}] in epochs needs two sources '
                f'(labeled, pseudo), got source_ratio '
                f'{sampler["source_ratio"]}')
        pseudo = counts[self.pseudo_dataset_index]
        labeled = counts[1 - self.pseudo_dataset_index]
        return pseudo if self.rounds[k]['epoch_over'] == 'unlabeled' \
            else labeled

    def _round_iterations(self, k: int) -> int:
        r = self.rounds[k]
        if 'iters' in r:
            return int(r['iters'])
        over = r['epoch_over']
        # round 0's labeled set is the one its dataloader reads
        num = (len(self.dataloader.dataset) if k == 0 and over == 'labeled'
               else self.set_size(over))
        # k micro-batches per step count as k ranks
        return epoch_iterations(r['epochs'], num, self.images_per_gpu(k),
                                get_world_size() * self.accumulative_counts)

    def round_of(self, iteration: int) -> int:
        """Round that trains 0-based iteration ``iteration``."""
        k = 0
        for i, s in enumerate(self.round_starts):
            if iteration >= s:
                k = i
        return k

    def round_end(self, k: int) -> int:
        return self.round_starts[k] + self.round_iters[k]

    # ------------------------------------------------------------- rounds
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
            seed=round_seed(self.runner.seed, k),
            diff_rank_seed=self.runner._randomness_cfg.get(
                'diff_rank_seed', False))

    def _enter_round(self, k: int) -> None:
        runner = self.runner
        self.current_round = k
        if k > 0:
            # the teacher predicts with one set of BN statistics on all ranks
            sync_buffers_from_rank0(runner.model)
        runner.call_hook(
            'before_train_round', round_idx=k, round_cfg=self.rounds[k])
        if k > 0:  # round 0 keeps the iterator made in __init__
            pseudo_list = runner.message_hub.get_info(PSEUDO_LABEL_LIST_KEY)
            if pseudo_list is None:
                raise RuntimeError(
                    f'round {k} needs pseudo-labels but no hook produced '
                    'them: add PseudoLabelRoundHook to custom_hooks')
            self.dataloader = self.build_round_dataloader(k, pseudo_list)
            for hook in getattr(runner, 'hooks', None) or []:
                if isinstance(hook, RandomStateHook) and hook.seed_dataloader(
                        runner, self.dataloader):
                    # per-sample pipeline seeds, as for round 0, from this
                    # round's seed (MultiSourceSampler yields its own, from
                    # the seed it was built with)
                    sampler = self.dataloader.batch_sampler.sampler
                    if (isinstance(sampler, SampleSeedSampler)
                            and runner.seed is not None):
                        sampler.seed = round_seed(runner.seed, k)
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
            for _ in range((self._iter - start) * self.accumulative_counts):
                next(self.dataloader_iterator)
        print_log(
            f'self-training round {k}/{self.num_rounds - 1}: iterations '
            f'{start}-{self.round_end(k)}', logger='current')

    # ----------------------------------------------------------- schedules
    def check_restart_schedulers(self, schedulers) -> None:
        """With ``lr_schedule='restart'`` and one scheduler per round, every
        iteration-based parameter scheduler must lie inside one round; a
        scheduler spanning a boundary would not decay to its minimum at the
        round's end."""
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
                    f'end={ends[1] if len(ends) > 1 else ends[0]}), ...; or '
                    'one PolyLR over the whole run, which the loop replaces '
                    'by a per-round restart')

    def _scheduler_groups(self):
        schedulers = getattr(self.runner, 'param_schedulers', None)
        return (list(schedulers.values()) if isinstance(schedulers, dict)
                else [schedulers or []])

    def _is_whole_run_poly(self, s) -> bool:
        return (isinstance(s, RoundPolyLR)
                or (isinstance(s, PolyLR) and not s.by_epoch
                    and s.begin == 0 and s.end >= self._max_iters))

    def install_round_poly_lr(self, restart: bool = False) -> None:
        """Replace each learning-rate scheduler of the runner (a ``PolyLR``
        from iteration 0 over the whole run, by iteration) with a
        :class:`RoundPolyLR` of the same power and ``eta_min``, positioned at
        the current iteration (also after a resume: the value depends on the
        iteration only). ``restart=False``: ``lr_schedule='extend'``, the
        schedule counted in epochs when every round is given in epochs;
        ``restart=True``: ``lr_schedule='restart'``."""
        ends = [self.round_end(k) for k in range(self.num_rounds)]
        spans = ([float(r['epochs']) for r in self.rounds]
                 if self.epoch_based else None)
        mode = 'restart' if restart else 'extend'
        installed = 0
        for group in self._scheduler_groups():
            for i, s in enumerate(group):
                if getattr(s, 'param_name', None) != 'lr':
                    continue
                if not self._is_whole_run_poly(s):
                    raise ValueError(
                        f"train_cfg.lr_schedule='{mode}' needs the learning "
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
                    round_spans=spans,
                    power=s.power,
                    eta_min=s.eta_min,
                    restart=restart,
                    last_step=self._iter - 1)
                installed += 1
        if not installed:
            raise ValueError(
                f"train_cfg.lr_schedule='{mode}' needs a PolyLR "
                'param_scheduler (by iteration, from 0, over the whole run)')

    def save_round_end_checkpoint(self) -> None:
        """``iter_<N>.pth`` at the current iteration (a round's end), in the
        ``CheckpointHook``'s folder, unless that hook has just saved it."""
        runner = self.runner
        out_dir = runner.work_dir
        for hook in getattr(runner, 'hooks', None) or []:
            if isinstance(hook, CheckpointHook):
                out_dir = getattr(hook, 'out_dir', None) or out_dir
        filename = f'iter_{self._iter}.pth'
        # rank 0 decides for all: saving gathers every rank's random state
        # (RandomStateHook), so all ranks must take the same branch
        exists = [osp.isfile(osp.join(out_dir, filename))]
        if get_world_size() > 1:
            broadcast_object_list(exists, src=0)
        if exists[0]:
            return
        runner.save_checkpoint(
            out_dir,
            filename,
            meta=dict(epoch=runner.epoch, iter=self._iter),
            by_epoch=False)

    def prepare_lr_schedule(self) -> None:
        """Put the runner's learning-rate schedulers in the form
        ``lr_schedule`` asks for (called at the start of :meth:`run`)."""
        if self.lr_schedule == 'restart':
            lr_schedulers = [
                s for group in self._scheduler_groups() for s in group
                if getattr(s, 'param_name', None) == 'lr'
            ]
            if lr_schedulers and all(
                    self._is_whole_run_poly(s) for s in lr_schedulers):
                self.install_round_poly_lr(restart=True)
            else:
                self.check_restart_schedulers(
                    getattr(self.runner, 'param_schedulers', None))
        elif self.lr_schedule == 'extend':
            self.install_round_poly_lr()

    def run(self):
        self.init_accumulation()
        self.prepare_lr_schedule()
        self.runner.call_hook('before_train')
        self.runner.call_hook('before_train_epoch')
        while self._iter < self._max_iters and not self.stop_training:
            k = self.round_of(self._iter)
            if k != self.current_round:
                self._enter_round(k)
            self.runner.model.train()
            data_batch = next(self.dataloader_iterator)
            self.run_iter(data_batch)
            if (self.save_round_ends and k < self.num_rounds - 1
                    and self._iter == self.round_end(k)):
                self.save_round_end_checkpoint()
            self._decide_current_val_interval()
            if (self.runner.val_loop is not None
                    and self._iter >= self.val_begin
                    and (self._iter % self.val_interval == 0
                         or self._iter == self.round_end(k))):
                # every rank validates its shard with rank 0's statistics
                sync_buffers_from_rank0(self.runner.model)
                self.runner.val_loop.run()
        self.runner.call_hook('after_train_epoch')
        self.runner.call_hook('after_train')
        return self.runner.model
