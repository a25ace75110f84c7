"""Per-sample seeds for the data pipeline.

mmengine seeds each dataloader worker once (``worker_init_fn``) and the
augmentations then draw from that worker's running ``random`` /
``np.random`` / ``torch`` stream, so what sample ``i`` gets depends on
which worker loads it, how many samples that worker loaded before, and on
whether the workers were recreated by a resume. Here every draw the
pipeline makes for one sample comes from a seed that depends only on
``(run seed, sample index, how many times the sampler has yielded it)``:

- the sampler yields :class:`SampleKey` s, plain ints (the index the
  ``DataLoader`` and ``ConcatDataset`` see) that carry ``sample_seed``;
  :class:`~mmsss.datasets.MultiSourceSampler` yields them itself (the count
  is the pass over the source, the same for every world size);
  :class:`SampleSeedSampler` adds them to any other sampler (the count is
  per rank);
- the dataset (:class:`~mmsss.datasets.SemiBaseSegDataset`) runs the
  pipeline of a keyed sample inside :func:`seeded_rng`, which seeds
  ``random``, ``np.random`` and torch's CPU generator and restores them
  afterwards, so loading a sample in the main process (``num_workers=0``)
  does not move the training stream either.

So the same batches come out with 0, 2 or 8 workers and after a resume.
"""
import random
from contextlib import contextmanager
from typing import Dict, Iterator, Optional

import numpy as np
import torch
from torch.utils.data import Sampler

__all__ = [
    'SampleKey', 'sample_seed', 'seeded_rng', 'SampleSeedSampler',
    'install_sample_seeds'
]


class SampleKey(int):
    """A dataset index carrying the seed of this draw of the sample.

    Behaves as the int it is; ``+``/``-`` with an int (what
    ``ConcatDataset`` does to map a global index to a local one) keep
    ``sample_seed``, so the leaf dataset still sees it. Picklable, so it
    reaches dataloader workers.
    """

    def __new__(cls, value: int, sample_seed: int):
        obj = super().__new__(cls, value)
        obj.sample_seed = int(sample_seed)
        return obj

    def __reduce__(self):
        return (SampleKey, (int(self), self.sample_seed))

    def __add__(self, other):
        res = int.__add__(self, other)
        return res if res is NotImplemented else SampleKey(
            res, self.sample_seed)

    __radd__ = __add__

    def __sub__(self, other):
        res = int.__sub__(self, other)
        return res if res is NotImplemented else SampleKey(
            res, self.sample_seed)

    def __repr__(self) -> str:
        return f'SampleKey({int(self)}, sample_seed={self.sample_seed})'


def sample_seed(*words: int) -> int:
    """A 64-bit seed mixed from non-negative ints (numpy ``SeedSequence``,
    so nearby inputs give unrelated seeds)."""
    state = np.random.SeedSequence([int(w) & 0xFFFFFFFFFFFFFFFF
                                    for w in words]).generate_state(2)
    return int(state[0]) | (int(state[1]) << 32)


@contextmanager
def seeded_rng(seed: int) -> Iterator[None]:
    """Seed ``random``, ``np.random`` and torch's CPU generator with
    ``seed`` for the body, then put back the states they had before."""
    py_state = random.getstate()
    np_state = np.random.get_state()
    torch_state = torch.get_rng_state()
    random.seed(seed)
    np.random.seed(seed & 0xFFFFFFFF)
    # CPU generator only: workers must not touch CUDA
    torch.random.default_generator.manual_seed(seed)
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
        torch.set_rng_state(torch_state)


class SampleSeedSampler(Sampler):
    """Wrap a sampler of plain indices so that it yields
    :class:`SampleKey` s: draw ``c`` (0, 1, ...) of index ``i`` since
    ``iter()`` gets seed ``sample_seed(seed, i, c, epoch)`` (``epoch``: the
    wrapped sampler's, 0 if it has none). The counts are this rank's (use
    ``MultiSourceSampler`` for world-size independent draws).

    Everything else (``set_epoch``, ``len``, attributes) is the wrapped
    sampler's.
    """

    yields_sample_keys = True

    def __init__(self, sampler, seed: int) -> None:
        self.sampler = sampler
        self.seed = int(seed)

    def __iter__(self) -> Iterator[SampleKey]:
        counts: Dict[int, int] = {}
        # epoch-based samplers (DefaultSampler) restart every epoch: the
        # epoch keeps the epochs' draws apart
        epoch = int(getattr(self.sampler, 'epoch', 0) or 0)
        for idx in self._indices():
            idx = int(idx)
            c = counts.get(idx, 0)
            counts[idx] = c + 1
            yield SampleKey(idx, sample_seed(self.seed, idx, c, epoch))

    def _indices(self) -> Iterator[int]:
        """A new iterator of the wrapped sampler's indices. mmengine's
        ``InfiniteSampler`` yields from one generator made in its
        ``__init__``, shared by every ``iter()``: closing an earlier
        iterator (the dataloader iterator that ``RandomStateHook`` replaces
        after wrapping) would close it for all, and the training dataloader
        would stop at its first batch (seen with persistent workers). Its
        ``_indices_of_rank()`` makes a fresh one (the same order)."""
        fresh = getattr(self.sampler, '_indices_of_rank', None)
        return fresh() if callable(fresh) else iter(self.sampler)

    def __len__(self) -> int:
        return len(self.sampler)

    def __getattr__(self, name):
        # only called for attributes not found on the wrapper
        if name == 'sampler':
            raise AttributeError(name)
        return getattr(self.sampler, name)


def install_sample_seeds(dataloader, seed: Optional[int]) -> bool:
    """Make ``dataloader``'s sampler yield :class:`SampleKey` s (wrap it in
    :class:`SampleSeedSampler` unless it yields them already).

    Must run before the dataloader's iterator is made (an existing
    iterator keeps its sampler). Returns True if it wrapped the sampler.
    """
    batch_sampler = getattr(dataloader, 'batch_sampler', None)
    inner = getattr(batch_sampler, 'sampler', None)
    if inner is None or getattr(inner, 'yields_sample_keys', False):
        return False
    if seed is None:
        seed = getattr(inner, 'seed', None) or 0
    # the DataLoader forbids replacing its sampler, not the BatchSampler's
    batch_sampler.sampler = SampleSeedSampler(inner, seed)
    return True
