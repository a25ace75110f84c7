"""End-to-end pseudo-label generation on the synthetic VOC layout with a
deterministic fake segmentor: exact per-class counts, 1 vs 2 ranks, restart
after an interruption, bad inputs."""
import filecmp
import json
import os
import os.path as osp
import socket

import numpy as np
import pytest
import torch
from PIL import Image

from mmsss.pseudo_labels import (LIST_FILE, SUMMARY_FILE, PseudoLabelGenerator,
                                 class_histogram, select_thresholds)
from mmsss.pseudo_labels.selection import NUM_CONF_BINS
from mmsss.testing import ProjectionSegmentor

NUM_CLASSES = 7


class FakeSegmentor(ProjectionSegmentor):
    """Logits = a fixed 1x1 projection of the normalised image, rounded to
    0.25 so that confidences tie a lot."""

    def __init__(self, num_classes=NUM_CLASSES):
        super().__init__(num_classes, round_to=0.25)


def build_sets(root, split='1-8', pipeline_gt=True):
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS
    import mmsss  # noqa: F401
    init_default_scope('mmseg')
    prefix = dict(img_path='JPEGImages', seg_map_path='SegmentationClass')
    unlabeled = DATASETS.build(
        dict(
            type='SemiSyntheticDataset',
            data_root=root,
            ann_file=f'splits/{split}/unlabeled.txt',
            data_prefix=prefix,
            is_labeled=False,
            keep_gt_for_analysis=pipeline_gt,
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='PackSegInputs')
            ]))
    labeled = DATASETS.build(
        dict(
            type='SemiSyntheticDataset',
            data_root=root,
            ann_file=f'splits/{split}/labeled.txt',
            data_prefix=prefix,
            is_labeled=True,
            pipeline=[]))
    return unlabeled, labeled


def read_outputs(out):
    with open(osp.join(out, SUMMARY_FILE)) as f:
        summary = json.load(f)
    with open(osp.join(out, LIST_FILE)) as f:
        lines = f.read().split('\n')
    return summary, [ln for ln in lines if ln]


def label_counts(out):
    counts = np.zeros(256, np.int64)
    for name in os.listdir(osp.join(out, 'labels')):
        arr = np.asarray(Image.open(osp.join(out, 'labels', name)))
        counts += np.bincount(arr.ravel(), minlength=256)
    return counts


MODES = ['DARS', 'DA', 'CBST', 'ST', 'argmax']


@pytest.fixture(scope='module')
def generated(synthetic_voc_root, tmp_path_factory):
    """One generation per mode (seed 3), shared by the tests below."""
    unlabeled, labeled = build_sets(synthetic_voc_root)
    root = tmp_path_factory.mktemp('pseudo')
    outs = {}
    for mode in MODES:
        out = str(root / mode)
        summary = PseudoLabelGenerator(
            mode=mode, label_ratio=0.5, seed=3).generate(
                FakeSegmentor(), unlabeled, out, labeled)
        outs[mode] = (out, summary)
    return unlabeled, labeled, outs


@pytest.fixture(scope='module')
def reference_histogram(generated):
    """Histogram of every unlabeled prediction, computed image by image
    outside the generator's passes."""
    unlabeled = generated[0]
    gen, model = PseudoLabelGenerator(), FakeSegmentor()
    labels, codes = [], []
    for i in range(len(unlabeled)):
        sample = {k: [v] for k, v in unlabeled[i].items()}
        lab, code = gen.predict(model, sample)
        labels.append(lab.ravel())
        codes.append(code.ravel())
    labels = torch.from_numpy(np.concatenate(labels)).long()
    codes = torch.from_numpy(np.concatenate(codes)).long()
    return class_histogram(labels, codes, NUM_CLASSES, NUM_CONF_BINS)


@pytest.mark.parametrize('mode', MODES)
def test_counts_match_selection(generated, reference_histogram, mode):
    unlabeled, _, outs = generated
    out, summary = outs[mode]
    s, lines = read_outputs(out)
    assert s == json.loads(json.dumps(summary))
    assert len(lines) == len(unlabeled)
    assert all(osp.isfile(ln.split()[1]) for ln in lines)
    assert not osp.exists(out + '.tmp')
    counts = label_counts(out)
    assert counts[:NUM_CLASSES].tolist() == summary['kept_counts']
    assert counts[NUM_CLASSES:255].sum() == 0
    sel = select_thresholds(reference_histogram, mode, 0.5,
                            summary['class_distribution'])
    assert sel['codes'] == summary['threshold_codes']
    if mode == 'DARS':
        # exact sampling: min(n_j, #{conf >= t_j}) per class, ±1
        for j in range(NUM_CLASSES):
            want = min(sel['desired'][j], sel['candidates'][j])
            assert abs(summary['kept_counts'][j] - want) <= 1, j
        assert any(c > d for c, d in zip(sel['candidates'], sel['desired']))
    else:
        assert summary['kept_counts'] == sel['candidates']
    assert 0. <= summary['pseudo_label_accuracy'] <= 1.
    assert summary['kl_labeled_pseudo'] >= 0.


def test_dars_aligns_better_than_st(generated):
    outs = generated[2]
    assert outs['DARS'][1]['kl_labeled_pseudo'] < outs['ST'][1][
        'kl_labeled_pseudo']


def test_bernoulli_sampling_close_to_ratio(synthetic_voc_root, tmp_path):
    unlabeled, labeled = build_sets(synthetic_voc_root)
    s = PseudoLabelGenerator(
        mode='DARS', label_ratio=0.5, sampling='bernoulli').generate(
            FakeSegmentor(), unlabeled, str(tmp_path / 'b'), labeled)
    for j in range(NUM_CLASSES):
        expect = s['sampling_ratios'][j] * s['candidate_counts'][j]
        sd = np.sqrt(max(expect, 1.))
        assert abs(s['kept_counts'][j] - expect) <= 5 * sd + 1, j


def test_restart_after_interruption_gives_identical_files(
        generated, tmp_path, monkeypatch):
    unlabeled, labeled, outs = generated
    clean = outs['DARS'][0]
    out = str(tmp_path / 'interrupted')
    real_save = Image.Image.save
    calls = {'n': 0}

    def failing_save(self, *args, **kwargs):
        calls['n'] += 1
        if calls['n'] == 5:
            raise KeyboardInterrupt('simulated kill')
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(Image.Image, 'save', failing_save)
    with pytest.raises(KeyboardInterrupt):
        PseudoLabelGenerator(label_ratio=0.5, seed=3).generate(
            FakeSegmentor(), unlabeled, out, labeled)
    monkeypatch.setattr(Image.Image, 'save', real_save)
    assert not osp.exists(out) and osp.isdir(out + '.tmp')
    PseudoLabelGenerator(label_ratio=0.5, seed=3).generate(
        FakeSegmentor(), unlabeled, out, labeled)
    assert not osp.exists(out + '.tmp')
    assert_same_labels(clean, out)


def assert_same_labels(a, b):
    names = sorted(os.listdir(osp.join(a, 'labels')))
    assert names == sorted(os.listdir(osp.join(b, 'labels')))
    match, mismatch, errors = filecmp.cmpfiles(
        osp.join(a, 'labels'), osp.join(b, 'labels'), names, shallow=False)
    assert not mismatch and not errors
    sa, _ = read_outputs(a)
    sb, _ = read_outputs(b)
    for key in ('threshold_codes', 'kept_counts', 'kl_labeled_pseudo'):
        assert sa[key] == sb[key]


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class BNSegmentor(FakeSegmentor):
    """FakeSegmentor behind a BatchNorm of the normalised image whose running
    statistics (what eval mode uses) are drawn from ``stats_seed``: the
    per-rank BN statistics of a network trained without SyncBN."""

    def __init__(self, stats_seed):
        super().__init__()
        self.bn = torch.nn.BatchNorm2d(3)
        g = torch.Generator().manual_seed(100 + stats_seed)
        self.bn.running_mean.copy_(torch.randn(3, generator=g) * 0.5)
        self.bn.running_var.copy_(torch.rand(3, generator=g) + 0.5)

    def predict(self, inputs, data_samples):
        return super().predict(self.bn(inputs), data_samples)


def _rank_worker(rank, world, port, root, out, bn_out):
    """Rank ``rank`` of two runs in one process group: FakeSegmentor at
    round 2 into ``out``; BNSegmentor with this rank's own statistics,
    synchronised from rank 0, into ``bn_out``."""
    import torch.distributed as dist

    from mmsss.engine.runner.self_training_loop import sync_buffers_from_rank0
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group('gloo', rank=rank, world_size=world)
    try:
        unlabeled, labeled = build_sets(root)
        PseudoLabelGenerator(label_ratio=0.5, seed=3, round_idx=2).generate(
            FakeSegmentor(), unlabeled, out, labeled)
        model = BNSegmentor(stats_seed=rank)  # each rank its own statistics
        assert sync_buffers_from_rank0(model) == len(list(model.buffers()))
        PseudoLabelGenerator(label_ratio=0.5, seed=3, round_idx=1).generate(
            model, unlabeled, bn_out, labeled)
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope='module')
def two_ranks(synthetic_voc_root, tmp_path_factory):
    """The outputs of _rank_worker on two gloo ranks (one spawn)."""
    import torch.multiprocessing as mp
    tmp = tmp_path_factory.mktemp('two_ranks')
    outs = dict(round2=str(tmp / 'round2'), bn=str(tmp / 'bn'))
    mp.spawn(
        _rank_worker,
        args=(2, _free_port(), synthetic_voc_root, outs['round2'],
              outs['bn']),
        nprocs=2,
        join=True)
    return outs


def test_one_rank_and_two_ranks_write_identical_files(
        synthetic_voc_root, generated, two_ranks, tmp_path):
    """With the round mixed into the sampling keys (round 2 here): the same
    files on 1 and 2 ranks, and other files than without the round."""
    unlabeled, labeled = generated[:2]
    one = str(tmp_path / 'one')
    PseudoLabelGenerator(label_ratio=0.5, seed=3, round_idx=2).generate(
        FakeSegmentor(), unlabeled, one, labeled)
    two = two_ranks['round2']
    assert_same_labels(one, two)
    assert read_outputs(two)[0]['world_size'] == 2
    assert read_outputs(two)[0]['generator']['round_idx'] == 2
    no_round = generated[2]['DARS'][0]
    _, mismatch, _ = filecmp.cmpfiles(
        osp.join(one, 'labels'), osp.join(no_round, 'labels'),
        sorted(os.listdir(osp.join(one, 'labels'))), shallow=False)
    assert mismatch


def test_two_ranks_with_their_own_bn_statistics_write_rank0_files(
        synthetic_voc_root, two_ranks, tmp_path):
    """Without SyncBN every rank has its own running statistics; after
    sync_buffers_from_rank0 (what SelfTrainingRoundsLoop does before
    pseudo-labelling and validation) two ranks write the files one process
    writes with rank 0's statistics. Rank 1's statistics alone give other
    files, so a shard predicted with them would show."""
    unlabeled, labeled = build_sets(synthetic_voc_root)
    outs = {}
    for stats in (0, 1):
        outs[stats] = str(tmp_path / f'one_stats{stats}')
        PseudoLabelGenerator(label_ratio=0.5, seed=3, round_idx=1).generate(
            BNSegmentor(stats), unlabeled, outs[stats], labeled)
    names = sorted(os.listdir(osp.join(outs[0], 'labels')))
    _, mismatch, _ = filecmp.cmpfiles(
        osp.join(outs[0], 'labels'), osp.join(outs[1], 'labels'), names,
        shallow=False)
    assert len(mismatch) > len(names) // 2
    assert_same_labels(outs[0], two_ranks['bn'])
    assert read_outputs(two_ranks['bn'])[0]['world_size'] == 2


def test_bad_inputs(synthetic_voc_root, tmp_path):
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS
    init_default_scope('mmseg')
    for ratio in (0, 1.5, -0.1):
        with pytest.raises(ValueError, match='label_ratio'):
            PseudoLabelGenerator(label_ratio=ratio)
    with pytest.raises(ValueError, match='mode'):
        PseudoLabelGenerator(mode='dars')
    unlabeled, labeled = build_sets(synthetic_voc_root)
    with pytest.raises(ValueError, match='num_classes=5'):
        PseudoLabelGenerator().generate(
            FakeSegmentor(5), unlabeled, str(tmp_path / 'x'), labeled)
    with pytest.raises(ValueError, match='class_distribution has 3'):
        PseudoLabelGenerator(class_distribution=[1, 1, 1]).generate(
            FakeSegmentor(), unlabeled, str(tmp_path / 'x'), labeled)
    bad_list = tmp_path / 'unlabeled.txt'
    bad_list.write_text('img_0000\ndoes_not_exist\n')
    with pytest.raises(FileNotFoundError, match='does_not_exist'):
        DATASETS.build(
            dict(
                type='SemiSyntheticDataset',
                data_root=synthetic_voc_root,
                ann_file=str(bad_list),
                is_labeled=False,
                pipeline=[]))
