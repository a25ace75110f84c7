"""Infinite labeled/unlabeled batch sampler (mmdet 3.x ``MultiSourceSampler``
convention, for segmentation)."""
import itertools
import math
from typing import Iterator, List, Optional, Sized, Tuple, Union

import torch
from mmengine.dist import get_dist_info, sync_random_seed
from mmseg.registry import DATA_SAMPLERS
from torch.utils.data import Sampler

from .sample_seed import SampleKey, sample_seed

__all__ = ['MultiSourceSampler']


@DATA_SAMPLERS.register_module()
class MultiSourceSampler(Sampler):
    """Give every batch a fixed number of samples from each source dataset.

    The dataset must be a ``ConcatDataset`` (e.g. ``[labeled, unlabeled]``).
    Each source is an independent infinite stream of seeded permutations,
    sliced by rank, so smaller sources (the labeled set) are oversampled and
    every rank sees disjoint indices of each permutation. With
    ``batch_size=8, source_ratio=[1, 1]`` every batch holds 4 labeled and 4
    unlabeled samples, labeled first.

    Args:
        dataset (Sized): A ``ConcatDataset`` with one sub-dataset per source.
        batch_size (int): Samples per batch on one rank (must equal the
            dataloader's ``batch_size``).
        source_ratio (list[int | float]): Relative share of each source.
        shuffle (bool): Shuffle each source. Defaults to True.
        seed (int, optional): Seed shared by all ranks. Defaults to a random
            seed synchronised across ranks.
        same_order_as (list[int | None], optional): Per source, another
            source whose index order it repeats (same size required), e.g.
            ``[None, None, 1]``: the third source draws the same images as
            the second, in the same order, with its own augmentation seeds
            (UniMatch's official loop reads one unlabeled loader twice,
            ``unimatch.py``:121). Defaults to independent orders.
    """

    def __init__(self,
                 dataset: Sized,
                 batch_size: int,
                 source_ratio: List[Union[int, float]],
                 shuffle: bool = True,
                 seed: Optional[int] = None,
                 same_order_as: Optional[List[Optional[int]]] = None) -> None:
        if not hasattr(dataset, 'cumulative_sizes'):
            raise TypeError('MultiSourceSampler needs a ConcatDataset of '
                            f'[labeled, unlabeled], got {type(dataset)}')
        if not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f'batch_size must be a positive int, got '
                             f'{batch_size!r}')
        if len(source_ratio) != len(dataset.cumulative_sizes):
            raise ValueError(
                f'source_ratio {source_ratio} has {len(source_ratio)} entries '
                f'but the ConcatDataset has {len(dataset.cumulative_sizes)} '
                'datasets')
        self.rank, self.world_size = get_dist_info()
        self.dataset = dataset
        self.offsets = [0] + list(dataset.cumulative_sizes[:-1])
        self.source_sizes = [len(d) for d in dataset.datasets]
        for i, size in enumerate(self.source_sizes):
            if size == 0:
                raise ValueError(f'source {i} of the ConcatDataset is empty')
        self.batch_size = batch_size
        self.source_ratio = list(source_ratio)
        total = sum(self.source_ratio)
        self.num_per_source = [
            int(batch_size * r / total) for r in self.source_ratio
        ]
        self.num_per_source[0] = batch_size - sum(self.num_per_source[1:])
        if min(self.num_per_source) <= 0:
            raise ValueError(
                f'batch_size {batch_size} with source_ratio {source_ratio} '
                f'gives {self.num_per_source} samples per source; every '
                'source needs at least one')
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed
        num = len(self.source_sizes)
        order = list(same_order_as) if same_order_as is not None else \
            [None] * num
        if len(order) != num:
            raise ValueError(f'same_order_as {same_order_as} has {len(order)} '
                             f'entries, the ConcatDataset {num} datasets')
        for i, j in enumerate(order):
            if j is None:
                continue
            if not (isinstance(j, int) and 0 <= j < num and j != i
                    and order[j] is None):
                raise ValueError(
                    f'same_order_as[{i}] = {j!r}: expected the index of '
                    'another source that itself has its own order (None)')
            if self.source_sizes[j] != self.source_sizes[i]:
                raise ValueError(
                    f'same_order_as[{i}] = {j}: sources {i} and {j} have '
                    f'{self.source_sizes[i]} and {self.source_sizes[j]} '
                    'samples; the same order needs the same dataset size')
        # the source whose permutation stream each source follows
        self.order_source = [i if j is None else j for i, j in
                             enumerate(order)]

    yields_sample_keys = True

    def _infinite_draws(self, source: int) -> Iterator[Tuple[int, int]]:
        """``(pass, index)`` of the source's global stream (all ranks)."""
        size = self.source_sizes[source]
        g = torch.Generator()
        # reproducible stream per source, shared with same_order_as
        g.manual_seed(self.seed + 1000003 * self.order_source[source])
        for epoch in itertools.count():
            if self.shuffle:
                order = torch.randperm(size, generator=g).tolist()
            else:
                order = range(size)
            for idx in order:
                yield epoch, idx

    def __iter__(self) -> Iterator[int]:
        """Global indices into the ``ConcatDataset``, as
        :class:`~mmsss.datasets.samplers.SampleKey` s seeded by ``(seed,
        source, index, pass over the source)``: the same draw of a sample
        gets the same augmentation on any rank, world size or worker."""
        streams = [
            itertools.islice(
                self._infinite_draws(s), self.rank, None, self.world_size)
            for s in range(len(self.offsets))
        ]
        while True:
            for source, num in enumerate(self.num_per_source):
                offset = self.offsets[source]
                for _ in range(num):
                    epoch, idx = next(streams[source])
                    yield SampleKey(
                        offset + idx,
                        sample_seed(self.seed, source, idx, epoch))

    def __len__(self) -> int:
        return len(self.dataset)

    def iters_per_epoch(self, source: int = -1) -> int:
        """Iterations for one pass over ``source`` (default: the last,
        unlabeled, one) by all ranks together — the iMAS/U2PL 'epoch'."""
        per_iter = self.num_per_source[source] * self.world_size
        return max(1, math.ceil(self.source_sizes[source] / per_iter))

    def set_epoch(self, epoch: int) -> None:
        """Infinite sampler: the stream does not depend on the epoch."""
