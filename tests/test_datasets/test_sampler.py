import itertools
from unittest import mock

import pytest
from torch.utils.data import Dataset


class _Range(Dataset):

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return i


def _concat(n_l, n_u):
    from torch.utils.data import ConcatDataset
    return ConcatDataset([_Range(n_l), _Range(n_u)])


def _sampler(ds, rank=0, world=1, **kw):
    from mmsss.datasets.samplers import multi_source_sampler as mod
    with mock.patch.object(mod, 'get_dist_info', return_value=(rank, world)):
        return mod.MultiSourceSampler(ds, **kw)


def _batches(sampler, batch_size, num):
    it = iter(sampler)
    return [[next(it) for _ in range(batch_size)] for _ in range(num)]


def test_fixed_ratio_in_every_batch_and_labeled_oversampled():
    ds = _concat(5, 40)
    s = _sampler(ds, batch_size=8, source_ratio=[1, 1], seed=3)
    assert s.num_per_source == [4, 4]
    batches = _batches(s, 8, 20)
    for b in batches:
        assert all(i < 5 for i in b[:4]) and all(i >= 5 for i in b[4:])
    labeled = [i for b in batches for i in b[:4]]
    # oversampled: each pass over the 5 labeled images is a permutation
    for k in range(0, 80, 5):
        assert sorted(labeled[k:k + 5]) == list(range(5))
    unlabeled = [i for b in batches for i in b[4:]]
    assert sorted(unlabeled[:40]) == list(range(5, 45))
    assert s.iters_per_epoch() == 10


def test_uneven_ratio():
    s = _sampler(_concat(10, 30), batch_size=6, source_ratio=[1, 2], seed=0)
    assert s.num_per_source == [2, 4]


def test_ranks_split_each_permutation_and_are_reproducible():
    ds = _concat(6, 20)
    world = 2
    per_rank = [
        _batches(
            _sampler(ds, rank=r, world=world, batch_size=4,
                     source_ratio=[1, 1], seed=11), 4, 10)
        for r in range(world)
    ]
    # one pass over the unlabeled set by both ranks together covers it once
    unl = [[i for b in per_rank[r] for i in b[2:]] for r in range(world)]
    first_pass = unl[0][:10] + unl[1][:10]
    assert sorted(first_pass) == list(range(6, 26))
    assert not set(unl[0][:10]) & set(unl[1][:10])
    lab = [[i for b in per_rank[r] for i in b[:2]] for r in range(world)]
    assert sorted(lab[0][:3] + lab[1][:3]) == list(range(6))
    again = _batches(
        _sampler(ds, rank=0, world=world, batch_size=4, source_ratio=[1, 1],
                 seed=11), 4, 10)
    assert again == per_rank[0]
    other_seed = _batches(
        _sampler(ds, rank=0, world=world, batch_size=4, source_ratio=[1, 1],
                 seed=12), 4, 10)
    assert other_seed != per_rank[0]
    s = _sampler(ds, rank=0, world=world, batch_size=4, source_ratio=[1, 1],
                 seed=11)
    assert s.iters_per_epoch() == 5  # 20 / (2 per rank * 2 ranks)


def test_bad_arguments():
    with pytest.raises(TypeError, match='ConcatDataset'):
        _sampler(_Range(4), batch_size=2, source_ratio=[1, 1])
    with pytest.raises(ValueError, match='source_ratio'):
        _sampler(_concat(3, 3), batch_size=2, source_ratio=[1, 1, 1])
    with pytest.raises(ValueError, match='at least one'):
        _sampler(_concat(3, 3), batch_size=1, source_ratio=[1, 1])
    with pytest.raises(ValueError, match='empty'):
        _sampler(_concat(0, 3), batch_size=2, source_ratio=[1, 1])


def test_infinite():
    s = _sampler(_concat(2, 3), batch_size=2, source_ratio=[1, 1], seed=0)
    assert len(list(itertools.islice(iter(s), 1000))) == 1000


def test_same_order_as_repeats_a_source_with_its_own_sample_seeds():
    """UniMatch's official pairing: the mix source (2) draws the unlabeled
    source's (1) images in the same order, on every rank, with other
    augmentation seeds; without the option the orders differ."""
    from torch.utils.data import ConcatDataset
    ds = ConcatDataset([_Range(3), _Range(10), _Range(10)])
    for rank in (0, 1):
        paired = _sampler(ds, rank=rank, world=2, batch_size=6,
                          source_ratio=[1, 1, 1], seed=7,
                          same_order_as=[None, None, 1])
        plain = _sampler(ds, rank=rank, world=2, batch_size=6,
                         source_ratio=[1, 1, 1], seed=7)
        for batches, same in ((_batches(paired, 6, 12), True),
                              (_batches(plain, 6, 12), False)):
            unl = [int(i) - 3 for b in batches for i in b[2:4]]
            mix = [int(i) - 13 for b in batches for i in b[4:6]]
            assert (unl == mix) is same
            if same:
                seeds_u = [i.sample_seed for b in batches for i in b[2:4]]
                seeds_m = [i.sample_seed for b in batches for i in b[4:6]]
                assert all(a != b for a, b in zip(seeds_u, seeds_m))
        # the labeled stream is untouched by the option
        assert [int(i) for b in _batches(paired, 6, 12) for i in b[:2]] == \
            [int(i) for b in _batches(plain, 6, 12) for i in b[:2]]


@pytest.mark.parametrize('order, match', [([None, 1], 'entries'),
                                          ([None, None, 0], 'same dataset'),
                                          ([None, 2, 1], 'its own order'),
                                          ([None, None, 2], 'another source')])
def test_same_order_as_rejects_what_cannot_be_paired(order, match):
    from torch.utils.data import ConcatDataset
    ds = ConcatDataset([_Range(3), _Range(10), _Range(10)])
    with pytest.raises(ValueError, match=match):
        _sampler(ds, batch_size=6, source_ratio=[1, 1, 1], seed=0,
                 same_order_as=order)


# --------------------------------------------------------------------------
# epoch length rules of SemiIterBasedTrainLoop
@pytest.mark.parametrize('n_u, per_rank, world', [
    (9850, 2, 4),  # VOC 732 unlabeled, UniMatch 4 GPUs x 2
    (2603, 2, 4),  # Cityscapes 1/8
    (21, 2, 4),
    (20, 2, 2),
    (7, 3, 1),
])
def test_per_rank_drop_last_is_the_distributed_loader_length(
        n_u, per_rank, world):
    """'per_rank_drop_last' = len(DataLoader(batch b, drop_last=True)) over
    a DistributedSampler, measured on torch's own classes (UniMatch
    unimatch.py:86-93); 'ceil' stays ceil(N / (b W)) (iMAS/U2PL)."""
    import math

    from torch.utils.data import ConcatDataset, DataLoader
    from torch.utils.data.distributed import DistributedSampler

    from mmsss.engine.runner.loops import unlabeled_iters_per_epoch
    ds = ConcatDataset([_Range(5), _Range(n_u), _Range(n_u)])
    s = _sampler(ds, world=world, batch_size=3 * per_rank,
                 source_ratio=[1, 1, 1], seed=0)
    loader = DataLoader(
        _Range(n_u),
        batch_size=per_rank,
        drop_last=True,
        sampler=DistributedSampler(
            _Range(n_u), num_replicas=world, rank=0, shuffle=False))
    assert unlabeled_iters_per_epoch(s, 'per_rank_drop_last') == len(loader)
    ceil = math.ceil(n_u / (per_rank * world))
    assert unlabeled_iters_per_epoch(s, 'ceil') == s.iters_per_epoch() == ceil
    with pytest.raises(ValueError, match='epoch_length'):
        unlabeled_iters_per_epoch(s, 'floor')


def _loop(sampler, **train_cfg):
    from types import SimpleNamespace

    from mmengine.logging import MMLogger
    from torch.utils.data import DataLoader

    from mmsss.engine.runner.loops import SemiIterBasedTrainLoop
    runner = SimpleNamespace(
        logger=MMLogger.get_instance('test_sampler_loop'),
        visualizer=SimpleNamespace())
    loader = DataLoader(sampler.dataset, batch_size=sampler.batch_size,
                        sampler=sampler)
    return SemiIterBasedTrainLoop(runner, loader, **train_cfg)


def test_loop_counts_epochs_with_the_selected_rule():
    """VOC 732 (9,850 unlabeled), 4 GPUs x (2 + 2 + 2): UniMatch's
    1,231 iterations per epoch with its rule, iMAS's 1,232 by default."""
    from torch.utils.data import ConcatDataset
    ds = ConcatDataset([_Range(732), _Range(9850), _Range(9850)])
    s = _sampler(ds, world=4, batch_size=6, source_ratio=[1, 1, 1], seed=0)
    loop = _loop(s, max_epochs=80, val_interval_epochs=1,
                 epoch_length='per_rank_drop_last')
    assert loop.iters_per_epoch == 1231 and loop.max_iters == 80 * 1231
    assert loop.val_interval == 1231
    loop = _loop(s, max_epochs=80)
    assert loop.iters_per_epoch == 1232 and loop.max_iters == 80 * 1232
    with pytest.raises(ValueError, match='epoch_length'):
        _loop(s, max_epochs=80, epoch_length='official')
