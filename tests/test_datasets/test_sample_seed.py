"""Per-sample pipeline seeds (issue 21): keys survive ConcatDataset and
pickling, the seeded context restores the global streams, and the
MultiSourceSampler's draws are the same for every world size."""
import collections
import itertools
import pickle
import random
from unittest import mock

import numpy as np
import torch
from torch.utils.data import ConcatDataset, Dataset


class _Echo(Dataset):

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return i


def test_sample_key_survives_concat_and_pickle():
    from mmsss.datasets.samplers import SampleKey
    key = SampleKey(7, sample_seed=123)
    assert key == 7 and isinstance(key, int)
    back = pickle.loads(pickle.dumps(key))
    assert back == 7 and back.sample_seed == 123
    ds = ConcatDataset([_Echo(5), _Echo(4)])
    local = ds[key]  # 7 - 5 -> index 2 of the second dataset
    assert local == 2 and local.sample_seed == 123
    assert (key - 5).sample_seed == 123 and (1 + key).sample_seed == 123


def _draws():
    return (random.random(), float(np.random.rand()), torch.rand(1).item())


def test_seeded_rng_is_reproducible_and_restores_the_streams():
    from mmsss.datasets.samplers import seeded_rng
    random.seed(5)
    np.random.seed(5)
    torch.manual_seed(5)
    reference = [_draws(), _draws()]
    random.seed(5)
    np.random.seed(5)
    torch.manual_seed(5)
    first = _draws()
    with seeded_rng(99):
        inside_a = _draws()
    second = _draws()
    assert [first, second] == reference  # the outer streams did not move
    with seeded_rng(99):
        inside_b = _draws()
    assert inside_a == inside_b
    with seeded_rng(100):
        assert _draws() != inside_a


def _keys(world, rank, batch, n_batches, sizes=(3, 10)):
    from mmsss.datasets.samplers import multi_source_sampler as mod
    ds = ConcatDataset([_Echo(s) for s in sizes])
    with mock.patch.object(mod, 'get_dist_info', return_value=(rank, world)):
        sampler = mod.MultiSourceSampler(
            ds, batch_size=batch, source_ratio=[1, 1], seed=3)
    return [(int(k), k.sample_seed)
            for k in itertools.islice(iter(sampler), batch * n_batches)]


def test_multi_source_draws_do_not_depend_on_world_size():
    """Two ranks with batch 2 draw, step by step, the same (index, seed)
    pairs as one rank with batch 4; every draw of an index (pass over its
    source) has its own seed."""
    one = _keys(1, 0, 4, 8)
    two = [_keys(2, r, 2, 8) for r in range(2)]
    for step in range(8):
        want = collections.Counter(one[4 * step:4 * step + 4])
        got = collections.Counter(two[0][2 * step:2 * step + 2] +
                                  two[1][2 * step:2 * step + 2])
        assert got == want, step
    # labeled source (3 images) is drawn 16 times: 6 passes, 16 seeds
    labeled = [k for k in one if k[0] < 3]
    assert len(labeled) == 16 and len({s for _, s in labeled}) == 16
    assert _keys(1, 0, 4, 8) == one  # reproducible


def test_sample_seed_sampler_counts_draws_per_index():
    from mmsss.datasets.samplers import SampleSeedSampler, sample_seed
    base = [2, 0, 2, 1, 2]
    sampler = SampleSeedSampler(base, seed=11)
    keys = list(sampler)
    assert [int(k) for k in keys] == base and len(sampler) == 5
    assert [k.sample_seed for k in keys] == [
        sample_seed(11, 2, 0, 0), sample_seed(11, 0, 0, 0),
        sample_seed(11, 2, 1, 0), sample_seed(11, 1, 0, 0),
        sample_seed(11, 2, 2, 0)]
    assert [k.sample_seed for k in sampler] == [k.sample_seed for k in keys]
    assert len({k.sample_seed for k in keys}) == 5


def test_sample_seed_sampler_epochs_differ():
    """An epoch-based sampler restarts its counts every epoch: its epoch
    keeps the epochs' draws apart."""
    from mmengine.dataset import DefaultSampler

    from mmsss.datasets.samplers import SampleSeedSampler
    sampler = SampleSeedSampler(
        DefaultSampler(_Echo(4), shuffle=False, seed=0), seed=1)
    first = [k.sample_seed for k in sampler]
    sampler.set_epoch(1)
    second = [k.sample_seed for k in sampler]
    assert [int(k) for k in sampler] == [0, 1, 2, 3]
    assert not set(first) & set(second)


def test_wrapped_infinite_sampler_survives_a_closed_earlier_iterator():
    """mmengine's InfiniteSampler shares one index generator between its
    iterators: closing the iterator made before the wrapping (what happens
    when RandomStateHook rebuilds the loop's dataloader iterator) must not
    end the wrapped sampler's stream (it did: StopIteration at the first
    batch of the supervised configs with persistent workers)."""
    import itertools

    from mmengine.dataset import InfiniteSampler

    from mmsss.datasets.samplers.sample_seed import SampleSeedSampler
    inner = InfiniteSampler(list(range(5)), shuffle=True, seed=3)
    before = iter(inner)
    first = [next(before) for _ in range(3)]
    wrapped = SampleSeedSampler(inner, seed=0)
    it = iter(wrapped)
    before.close()  # closes the shared generator of the inner sampler
    keys = list(itertools.islice(it, 12))
    assert len(keys) == 12
    # the same shuffled order as a fresh InfiniteSampler, from its start
    fresh = InfiniteSampler(list(range(5)), shuffle=True, seed=3)
    assert [int(k) for k in keys] == list(itertools.islice(iter(fresh), 12))
    assert first == [int(k) for k in keys[:3]]
