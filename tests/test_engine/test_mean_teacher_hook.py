from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn


class _Pair(nn.Module):

    def __init__(self):
        super().__init__()
        self.student = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
        self.teacher = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))


def _hook(**kw):
    from mmsss.engine.hooks import MeanTeacherHook
    return MeanTeacherHook(**kw)


def test_imas_schedule_values():
    hook = _hook(decay_schedule='imas', max_decay=0.996)
    assert hook.decay_at(0) == 0.0
    assert hook.decay_at(1) == pytest.approx(0.5)
    assert hook.decay_at(9) == pytest.approx(0.9)
    assert hook.decay_at(249) == pytest.approx(0.996)
    assert hook.decay_at(10_000) == pytest.approx(0.996)
    assert _hook(momentum=0.01).decay_at(5) == pytest.approx(0.99)


def test_ema_exact_numbers_parameters_only():
    torch.manual_seed(0)
    m = _Pair()
    m.student[1].running_mean.fill_(3.)
    t0 = {k: v.clone() for k, v in m.teacher.state_dict().items()}
    s0 = {k: v.clone() for k, v in m.student.state_dict().items()}
    _hook(momentum=0.25, skip_buffers=True).ema_update(m, decay=0.75)
    for k, v in m.teacher.named_parameters():
        assert torch.allclose(v, 0.75 * t0[k] + 0.25 * s0[k])
    assert torch.equal(m.teacher[1].running_mean, t0['1.running_mean'])


def test_ema_buffers_and_integer_copy():
    m = _Pair()
    m.student[1].running_mean.fill_(4.)
    m.student[1].num_batches_tracked.fill_(7)
    m.teacher[1].running_mean.fill_(0.)
    _hook(skip_buffers=False).ema_update(m, decay=0.5)
    assert torch.allclose(m.teacher[1].running_mean, torch.full((2, ), 2.))
    assert m.teacher[1].num_batches_tracked.item() == 7


def test_hook_interval_and_first_iteration_copy():
    m = _Pair()
    runner = SimpleNamespace(model=m, iter=0)
    hook = _hook(decay_schedule='imas', interval=2)
    hook.before_train(runner)  # teacher := student
    for (_, t), (_, s) in zip(m.teacher.named_parameters(),
                              m.student.named_parameters()):
        assert torch.equal(t, s)
    with torch.no_grad():
        for p in m.student.parameters():
            p.add_(1.)
    t_before = [p.clone() for p in m.teacher.parameters()]
    runner.iter = 2  # (2 + 1) % 2 != 0 -> no update
    hook.after_train_iter(runner, 0)
    assert all(
        torch.equal(a, b) for a, b in zip(t_before, m.teacher.parameters()))
    runner.iter = 3  # decay = min(1 - 1/4, .996) = .75
    hook.after_train_iter(runner, 0)
    for t, tb, s in zip(m.teacher.parameters(), t_before,
                        m.student.parameters()):
        assert torch.allclose(t, 0.75 * tb + 0.25 * s)


def test_bad_arguments():
    with pytest.raises(ValueError, match='momentum'):
        _hook(momentum=0.)
    with pytest.raises(ValueError, match='decay_schedule'):
        _hook(decay_schedule='cosine')
    with pytest.raises(TypeError, match='teacher'):
        _hook().before_train(SimpleNamespace(model=nn.Linear(1, 1), iter=0))
