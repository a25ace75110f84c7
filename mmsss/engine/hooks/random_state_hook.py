"""Random state that survives a resume.

mmengine saves no random state in its checkpoints and restarts the
``random`` / ``np.random`` / torch streams on resume (it only re-applies the
seed), so the CutMix boxes, pairings, dropout masks... after the resume
point differ from the run that was never interrupted.

:class:`RandomStateHook` makes them equal:

- **per-iteration streams**: before every training iteration it seeds
  torch (CPU and every CUDA device), ``np.random`` and ``random`` from
  ``(run seed, iteration[, rank])``, so what one iteration draws does not
  depend on what ran before it (validation, a hook, a resume). Whether the
  rank is in that seed (so each GPU draws its own CutMix boxes, triggers,
  partners, dropout masks) follows the official code of the method: the
  model's ``iteration_seed_per_rank`` attribute (``rank_seed=None``, the
  default), e.g. False for the mean teacher and iMAS, whose official code
  seeds every process with the same ``--seed`` (identical draws on every
  GPU), True for UniMatch, whose boxes are drawn per sample in each rank's
  dataloader workers (recipe tables, row "random draws across GPUs");
  ``randomness.diff_rank_seed=True`` or ``rank_seed=True`` puts it in for
  any method. With gradient accumulation (``accumulative_counts=k``, one
  iteration = k micro-batches) micro-batch ``j`` of rank ``r`` is seeded as
  rank ``r·k + j`` (``j`` without the rank in the seed), so micro-batches
  draw different numbers and micro-batch 0 draws as without accumulation;
- **saved states**: every checkpoint holds each rank's torch CPU, CUDA,
  numpy and Python states at the time it was written
  (``checkpoint['random_state']``, gathered from all ranks); a resume puts
  rank ``r``'s back right after loading, for whatever runs between the
  load and the first iteration (with ``per_iteration=False`` this is the
  only mechanism, and it is exact only if nothing draws between the save
  and the next iteration);
- **per-sample pipeline seeds**: before training it makes the training
  sampler yield seeded keys (:func:`~mmsss.datasets.samplers.
  install_sample_seeds`), so the augmentation of every sample depends on
  ``(seed, index, draw)`` only, not on the dataloader worker nor the rank
  (``seed`` is the configured ``randomness.seed``, without the rank that
  mmengine adds to ``runner.seed`` under ``diff_rank_seed``).

It is a default hook (``default_hooks.random_state`` in
``configs/_base_/default_runtime.py``), so configs that replace
``custom_hooks`` keep it.
"""
import random
from functools import wraps
from typing import Optional

import numpy as np
import torch
from mmengine import dist
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmseg.registry import HOOKS

from ...datasets.samplers.sample_seed import install_sample_seeds, sample_seed
from ...utils import unwrap_model
from ...utils.accumulation import accumulative_counts_of

__all__ = ['RandomStateHook', 'get_random_state', 'set_random_state',
           'RANDOM_STATE_KEY']

RANDOM_STATE_KEY = 'random_state'
# keeps the per-iteration seeds apart from the per-sample ones
_ITER_STREAM = 0x17E5


def get_random_state() -> dict:
    """This process's torch CPU / CUDA, numpy and Python random states, as
    tensors and plain numbers (loadable with ``weights_only=True``)."""
    py_version, py_state, py_gauss = random.getstate()
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    state = dict(
        torch=torch.get_rng_state(),
        python=dict(
            version=int(py_version),
            state=torch.tensor(py_state, dtype=torch.int64),
            gauss=py_gauss),
        numpy=dict(
            name=str(np_name),
            keys=torch.from_numpy(np.asarray(np_keys, dtype=np.int64)),
            pos=int(np_pos),
            has_gauss=int(np_has_gauss),
            cached_gaussian=float(np_gauss)),
        cuda=[])
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = [s.cpu() for s in torch.cuda.get_rng_state_all()]
    return state


def set_random_state(state: dict) -> None:
    """Restore what :func:`get_random_state` returned."""
    torch.set_rng_state(state['torch'].cpu())
    py = state['python']
    random.setstate((py['version'], tuple(int(v) for v in py['state']),
                     py['gauss']))
    npy = state['numpy']
    np.random.set_state(
        (npy['name'], npy['keys'].numpy().astype(np.uint32), npy['pos'],
         npy['has_gauss'], npy['cached_gaussian']))
    cuda = state.get('cuda') or []
    if cuda and torch.cuda.is_available():
        if len(cuda) != torch.cuda.device_count():
            print_log(
                f'RandomStateHook: the checkpoint has {len(cuda)} CUDA '
                f'generator states, this process sees '
                f'{torch.cuda.device_count()} devices; CUDA states not '
                'restored', logger='current', level=30)
        else:
            torch.cuda.set_rng_state_all([s.cpu() for s in cuda])


def _randomness_cfg(runner) -> dict:
    return getattr(runner, '_randomness_cfg', None) or {}


def seed_everything(seed: int) -> None:
    """Seed torch (CPU, all CUDA devices), ``np.random`` and ``random``."""
    torch.manual_seed(seed)
    np.random.seed(seed & 0xFFFFFFFF)
    random.seed(seed)


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Make training randomness resumable (see the module docstring).

    Args:
        per_iteration (bool): Reseed every generator from ``(seed,
            iteration[, rank])`` before each training iteration. Defaults
            to True.
        sample_seeds (bool): Give the training sampler per-sample pipeline
            seeds. Defaults to True.
        rank_seed (bool, optional): Put the rank into the per-iteration
            seed (each GPU draws its own boxes, triggers, ...). None (the
            default): True with ``randomness.diff_rank_seed``, else the
            model's ``iteration_seed_per_rank`` attribute (False if it has
            none), which says what the method's official code does.
    """

    priority = 'VERY_HIGH'

    def __init__(self,
                 per_iteration: bool = True,
                 sample_seeds: bool = True,
                 rank_seed: Optional[bool] = None) -> None:
        self.per_iteration = bool(per_iteration)
        self.sample_seeds = bool(sample_seeds)
        if rank_seed is not None and not isinstance(rank_seed, bool):
            raise TypeError('RandomStateHook: rank_seed must be None, True '
                            f'or False, got {rank_seed!r}')
        self.rank_seed = rank_seed
        self._gathered = None

    @staticmethod
    def _seed(runner) -> int:
        """The configured run seed, the same on every rank: mmengine's
        ``runner.seed`` has the rank added under ``diff_rank_seed``
        (``set_random_seed``), taken off again here."""
        seed = getattr(runner, 'seed', None)
        if seed is None:
            return 0
        if _randomness_cfg(runner).get('diff_rank_seed', False):
            seed = int(seed) - dist.get_rank()
        return int(seed)

    def seeds_per_rank(self, runner) -> bool:
        """Whether the per-iteration seed holds the rank (see
        ``rank_seed``)."""
        if self.rank_seed is not None:
            return self.rank_seed
        if _randomness_cfg(runner).get('diff_rank_seed', False):
            return True
        model = unwrap_model(getattr(runner, 'model', None))
        return bool(getattr(model, 'iteration_seed_per_rank', False))

    def iteration_seed(self, runner, micro_batch_idx: int = 0) -> int:
        """The seed of every generator for the coming iteration
        ``runner.iter``: ``sample_seed(seed, ·, iteration, rank or 0)``
        (rank 0's seed is the same with and without the rank); with k
        micro-batches per iteration, micro-batch j uses ``rank · k + j``
        (or ``j``) in place of the rank."""
        rank = dist.get_rank() if self.seeds_per_rank(runner) else 0
        k = accumulative_counts_of(getattr(runner, 'optim_wrapper', None))
        rank = rank * k + micro_batch_idx
        return sample_seed(self._seed(runner), _ITER_STREAM, runner.iter,
                           rank)

    # ------------------------------------------------------------ sampling
    def seed_dataloader(self, runner, dataloader) -> bool:
        """Give ``dataloader``'s sampler per-sample pipeline seeds (with
        ``sample_seeds``); call it before the dataloader's iterator is made,
        as here for the first one and ``SelfTrainingRoundsLoop`` for each
        round's. Returns True if it wrapped the sampler."""
        return self.sample_seeds and install_sample_seeds(
            dataloader, self._seed(runner))

    def before_train(self, runner) -> None:
        loop = runner.train_loop
        dataloader = getattr(loop, 'dataloader', None)
        if dataloader is None:
            return
        if self.seed_dataloader(runner, dataloader) and hasattr(
                loop, 'dataloader_iterator'):
            # the iterator made when the loop was built holds the old
            # sampler: make a new one (before mmengine skips the batches of
            # a resume)
            loop.dataloader_iterator = type(loop.dataloader_iterator)(
                dataloader)

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        if not self.per_iteration:
            return
        seed_everything(self.iteration_seed(runner))

    def before_train_micro_batch(self,
                                 runner,
                                 batch_idx: int,
                                 micro_batch_idx: int,
                                 data_batch: Optional[dict] = None) -> None:
        """Micro-batch ``micro_batch_idx >= 1`` of a gradient-accumulation
        step (called by ``GradientAccumulationMixin.run_iter``)."""
        if not self.per_iteration:
            return
        seed_everything(self.iteration_seed(runner, micro_batch_idx))

    # --------------------------------------------------------- checkpoints
    def before_run(self, runner) -> None:
        """Gather every rank's state when the runner is asked to save.

        ``Runner.save_checkpoint`` (and so ``before_save_checkpoint``) runs
        on rank 0 only (``@master_only``), but every rank calls it
        (``CheckpointHook``, the self-training round ends): the gather, a
        collective, happens in this wrapper, on all ranks, before it."""
        save = runner.save_checkpoint
        if getattr(save, '_mmsss_gathers_random_state', False):
            return
        hook = self

        @wraps(save)
        def save_checkpoint(*args, **kwargs):
            hook._gathered = dist.all_gather_object(get_random_state())
            try:
                return save(*args, **kwargs)
            finally:
                hook._gathered = None

        save_checkpoint._mmsss_gathers_random_state = True
        runner.save_checkpoint = save_checkpoint

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        states = getattr(self, '_gathered', None)
        if states is None:  # saved around the wrapper: this process only
            states = [get_random_state()]
        checkpoint[RANDOM_STATE_KEY] = dict(
            world_size=len(states), ranks=states)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not getattr(runner, '_resume', False):
            return  # load_from / testing: weights only
        saved = checkpoint.get(RANDOM_STATE_KEY)
        if not saved:
            print_log(
                'RandomStateHook: the checkpoint has no random state '
                '(written without this hook); the streams restart',
                logger='current', level=30)
            return
        rank, world = dist.get_rank(), dist.get_world_size()
        ranks = saved['ranks']
        if len(ranks) != world:
            print_log(
                f'RandomStateHook: the checkpoint was written by '
                f'{len(ranks)} processes, this run has {world}; every rank '
                'restores rank 0\'s state', logger='current', level=30)
            rank = 0
        set_random_state(ranks[rank])
