"""Gradient accumulation (``optim_wrapper.accumulative_counts=k``) in the
mmsss loops: one runner iteration = one optimiser step of k micro-batches
(``mmsss/utils/accumulation.py``, ``docs/fewer_gpus.md``)."""
import copy
import importlib.util
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

import mmsss  # noqa: F401
from mmsss.datasets.samplers.sample_seed import sample_seed
from mmsss.engine.hooks import MeanTeacherHook, RandomStateHook
from mmsss.engine.hooks.random_state_hook import _ITER_STREAM
from mmsss.engine.runner import SemiIterBasedTrainLoop
from mmsss.engine.runner.loops import unlabeled_iters_per_epoch
from mmsss.utils.accumulation import (accumulative_counts_of, mean_log_vars,
                                      set_accumulative_counts)

NUM_CLASSES = 3
LR, POWER, ETA_MIN = 0.2, 0.9, 1e-3


class _Pixels(Dataset):
    """8 fixed random 3×6×6 images with per-pixel labels (no ignore)."""

    def __init__(self, n=8):
        g = torch.Generator().manual_seed(3)
        self.x = torch.randn(n, 3, 6, 6, generator=g)
        self.y = torch.randint(0, NUM_CLASSES, (n, 6, 6), generator=g)
        self.metainfo = dict(classes=('a', 'b', 'c'))

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return dict(inputs=self.x[i], labels=self.y[i])


def _conv_net():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
        nn.Conv2d(8, NUM_CLASSES, 1))


class _NoBNNet(BaseModel):
    """Two convolutions, no BatchNorm; CE mean over the pixels. Each loss
    forward draws one ``torch.rand`` (recorded) for the seed tests."""

    def __init__(self):
        super().__init__()
        self.net = _conv_net()
        self.draws = []

    def forward(self, inputs, labels=None, mode='loss'):
        self.draws.append(float(torch.rand(1)))
        return dict(loss_ce=F.cross_entropy(self.net(inputs), labels))


class _TeacherStudent(BaseModel):
    """Student trained, teacher updated by MeanTeacherHook only."""

    def __init__(self):
        super().__init__()
        self.student = _conv_net()
        self.teacher = copy.deepcopy(self.student)

    def forward(self, inputs, labels=None, mode='loss'):
        return dict(loss_ce=F.cross_entropy(self.student(inputs), labels))


class _Record(Hook):
    """Student weights and optimiser steps seen once per iteration."""
    priority = 'VERY_HIGH'  # after_train_iter before the EMA hook

    def __init__(self):
        self.students, self.iters, self.step_lrs = [], [], []

    def before_train(self, runner):
        opt = runner.optim_wrapper.optimizer
        step = opt.step

        def counted_step(*args, **kwargs):
            self.step_lrs.append(opt.param_groups[0]['lr'])
            return step(*args, **kwargs)

        opt.step = counted_step

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.iters.append(runner.iter)
        model = runner.model
        if hasattr(model, 'student'):
            self.students.append(copy.deepcopy(model.student.state_dict()))


def _run(tmp_path, model, batch_size, k, max_iters, hooks=(), name='run',
         checkpoint=None, sched_end=None, **runner_kwargs):
    record = _Record()
    runner = Runner(
        model=model,
        work_dir=str(tmp_path / name),
        train_dataloader=dict(
            dataset=_Pixels(),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=batch_size,
            num_workers=0,
            collate_fn=dict(type='default_collate')),
        train_cfg=dict(
            type=SemiIterBasedTrainLoop, max_iters=max_iters,
            val_interval=1000),
        optim_wrapper=dict(
            optimizer=dict(type='SGD', lr=LR, momentum=0.9,
                           weight_decay=0.01),
            accumulative_counts=k),
        param_scheduler=dict(type='PolyLR', power=POWER, eta_min=ETA_MIN,
                             by_epoch=False, begin=0,
                             end=sched_end or max_iters),
        default_hooks=dict(checkpoint=checkpoint, logger=None),
        custom_hooks=[record, *hooks],
        randomness=dict(seed=7),
        log_level='WARNING',
        **runner_kwargs)
    runner.train()
    return runner, record


def _params(model):
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def test_k_micro_batches_equal_one_batch_of_k_b(tmp_path):
    """2 micro-batches of 2 = one batch of 4: same weights after 2 SGD
    steps (momentum, weight decay, poly lr)."""
    init = _params(_NoBNNet())
    whole, _ = _run(tmp_path, _NoBNNet(), batch_size=4, k=1, max_iters=2,
                    name='whole')
    accum, rec = _run(tmp_path, _NoBNNet(), batch_size=2, k=2, max_iters=2,
                      name='accum')
    assert accum.iter == 2 and len(rec.step_lrs) == 2
    assert len(accum.model.draws) == 4  # 4 micro-batches
    a, b = _params(whole.model), _params(accum.model)
    moved = max(float((a[n] - init[n]).abs().max()) for n in a)
    assert moved > 1e-2  # the tolerance below is far smaller than a step
    for n in a:
        torch.testing.assert_close(b[n], a[n], rtol=1e-5, atol=1e-6)


def test_resume_skips_k_batches_per_iteration(tmp_path):
    """4 steps of 2 micro-batches = 2 steps, checkpoint, resume, 2 more."""
    straight, _ = _run(tmp_path, _NoBNNet(), 2, 2, 4, name='straight')
    ckpt = dict(type='CheckpointHook', interval=2, by_epoch=False)
    _run(tmp_path, _NoBNNet(), 2, 2, 2, name='first', checkpoint=ckpt,
         sched_end=4)
    # the same 4-step schedule, resumed at step 2
    first = tmp_path / 'first' / 'iter_2.pth'
    resumed, rec = _run(tmp_path, _NoBNNet(), 2, 2, 4, name='first',
                        resume=True, load_from=str(first))
    assert rec.iters == [2, 3]
    assert resumed.optim_wrapper._inner_count == 8
    a, b = _params(straight.model), _params(resumed.model)
    for n in a:
        torch.testing.assert_close(b[n], a[n], rtol=1e-5, atol=1e-6)


def test_scheduler_and_optimiser_step_once_per_iteration(tmp_path):
    runner, rec = _run(tmp_path, _NoBNNet(), batch_size=2, k=2, max_iters=3)
    assert rec.iters == [0, 1, 2]
    assert runner.optim_wrapper._inner_count == 6  # backwards
    # mmengine PolyLR closed form over 3 optimiser steps (its total_iters
    # is end - begin - 1: eta_min at the last step)
    expected = [(LR - ETA_MIN) * (1 - t / 2)**POWER + ETA_MIN
                for t in range(3)]
    assert rec.step_lrs == pytest.approx(expected, rel=1e-6)


def test_ema_updates_once_per_optimiser_step(tmp_path):
    model = _TeacherStudent()
    start = copy.deepcopy(model.student.state_dict())
    momentum = 0.3
    runner, rec = _run(tmp_path, model, batch_size=2, k=2, max_iters=3,
                       hooks=[MeanTeacherHook(momentum=momentum)])
    assert len(rec.students) == 3 and len(rec.step_lrs) == 3
    # reference: teacher = student at start, then one EMA per step
    teacher = {n: v.clone() for n, v in start.items()}
    for student in rec.students:
        for n in teacher:
            teacher[n] = (1 - momentum) * teacher[n] + momentum * student[n]
    got = runner.model.teacher.state_dict()
    for n in teacher:
        torch.testing.assert_close(got[n], teacher[n], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize('per_rank', [False, True])
def test_micro_batches_get_their_own_seeds(tmp_path, per_rank):
    """Micro-batch j of iteration s is seeded with (seed, s, j): micro-batch
    0 draws as without accumulation, the others differently."""
    hook = dict(per_iteration=True, sample_seeds=False, rank_seed=per_rank)
    plain, _ = _run(tmp_path, _NoBNNet(), 4, 1, 2,
                    hooks=[RandomStateHook(**hook)], name='plain')
    accum, _ = _run(tmp_path, _NoBNNet(), 2, 3, 2,
                    hooks=[RandomStateHook(**hook)], name='accum')

    def first_draw(s, j):
        g = torch.Generator().manual_seed(sample_seed(7, _ITER_STREAM, s, j))
        return float(torch.rand(1, generator=g))

    draws = accum.model.draws
    assert draws == [first_draw(s, j) for s in range(2) for j in range(3)]
    assert draws[0::3] == plain.model.draws
    assert len(set(draws)) == 6


def test_epoch_length_counts_k_micro_batches_as_ranks():
    sampler = SimpleNamespace(
        source_sizes=[10, 100], num_per_source=[2, 2], world_size=2,
        iters_per_epoch=lambda: 25)
    assert unlabeled_iters_per_epoch(sampler, 'ceil', 1) == 25
    assert unlabeled_iters_per_epoch(sampler, 'ceil', 2) == 13  # 100 / 8
    assert unlabeled_iters_per_epoch(sampler, 'per_rank_drop_last', 1) == 25
    # floor(ceil(100 / 4) / 2)
    assert unlabeled_iters_per_epoch(sampler, 'per_rank_drop_last', 2) == 12


def test_helpers_and_config():
    assert accumulative_counts_of(None) == 1
    assert accumulative_counts_of(dict(type='OptimWrapper')) == 1
    assert accumulative_counts_of(dict(accumulative_counts=4)) == 4
    with pytest.raises(ValueError, match='accumulative_counts'):
        accumulative_counts_of(dict(accumulative_counts=0))
    out = mean_log_vars([dict(loss=torch.tensor(1.), a=torch.tensor(2.)),
                         dict(loss=torch.tensor(3.))])
    assert float(out['loss']) == 2. and float(out['a']) == 2.
    cfg = dict(optim_wrapper=dict(type='OptimWrapper'),
               train_cfg=dict(type='IterBasedTrainLoop', max_iters=8))
    assert set_accumulative_counts(cfg, 4)['optim_wrapper'][
        'accumulative_counts'] == 4
    # mmengine's loop counts micro-batches: replaced by the mmsss one
    assert cfg['train_cfg']['type'] == 'SemiIterBasedTrainLoop'
    with pytest.raises(ValueError, match='EpochBasedTrainLoop'):
        set_accumulative_counts(
            dict(optim_wrapper=dict(),
                 train_cfg=dict(type='EpochBasedTrainLoop')), 2)
    with pytest.raises(ValueError, match='auto_scale_lr'):
        set_accumulative_counts(
            dict(optim_wrapper=dict(), auto_scale_lr=dict(enable=True)), 2)
    with pytest.raises(ValueError, match='--accumulate'):
        set_accumulative_counts(cfg, 0)


class _Loader(list):
    """Round 0's dataloader as SelfTrainingRoundsLoop reads it."""
    dataset = list(range(40))
    batch_size = 4


@pytest.mark.parametrize('k, iters', [(1, 20), (2, 10), (4, 4)])
def test_dars_round_epochs_count_k_micro_batches_as_ranks(k, iters):
    """2 epochs of 40 labeled images, 4 per GPU, 1 GPU × k micro-batches:
    2 · floor(ceil(40 / k) / 4) steps (the official drop_last epoch of k
    GPUs)."""
    from mmsss.engine.runner import SelfTrainingRoundsLoop
    runner = SimpleNamespace(
        optim_wrapper=dict(accumulative_counts=k), param_schedulers=[])
    loop = SelfTrainingRoundsLoop(runner, _Loader([0]),
                                  rounds=[dict(epochs=2)])
    assert loop.accumulative_counts == k
    assert loop.max_iters == iters


def test_train_tool_accumulate_option(tmp_path, monkeypatch):
    monkeypatch.setenv('LOCAL_RANK', '0')
    path = osp.join(
        osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
        'tools', 'train.py')
    spec = importlib.util.spec_from_file_location('train_tool', path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    cfg_path = tmp_path / 'cfg.py'
    cfg_path.write_text("optim_wrapper = dict(type='OptimWrapper', "
                        "optimizer=dict(type='SGD', lr=0.1))\n"
                        "train_cfg = dict(type='SemiIterBasedTrainLoop', "
                        "max_iters=4)\n")
    cfg = tool.build_cfg(tool.parse_args([str(cfg_path), '--accumulate',
                                          '4']))
    assert cfg.optim_wrapper.accumulative_counts == 4
    cfg = tool.build_cfg(tool.parse_args([str(cfg_path)]))
    assert 'accumulative_counts' not in cfg.optim_wrapper
