"""``lr_schedule='extend'`` of SelfTrainingRoundsLoop (the official DARS
learning rate across rounds) against the formula
``lr(t) = base * (1 - t / E_k) ** 0.9`` for the global iteration ``t`` of
round ``k`` ending at ``E_k``: at the first and last iteration of every
round, with a resume inside a round, and with per-group ``lr_mult``."""
import pytest
import torch
from mmengine.optim import OptimWrapper
from mmengine.optim.scheduler import LinearLR, PolyLR

from mmsss.engine.runner import SelfTrainingRoundsLoop
from mmsss.engine.schedulers import RoundPolyLR

ROUNDS = [
    dict(iters=3),
    dict(iters=5, label_ratio=0.4),
    dict(iters=4, label_ratio=0.6)
]
ENDS = [3, 8, 12]  # E_k
BASES = [0.01, 0.1]  # backbone, head (lr_mult 10)


def official_lr(t, base, ends=ENDS, power=0.9):
    """CVMI-Lab/DARS util poly_learning_rate(base, it, max_it) with the
    global iteration and the current round's total as max_it."""
    end = next(e for e in ends if t < e)
    return base * (1 - t / end)**power


class _Loader(list):
    dataset = object()


class _Runner:

    def __init__(self, schedulers):
        self.param_schedulers = schedulers


def _optim(total=ENDS[-1]):
    """An SGD optimizer wrapper with two groups (head x10) and a whole-run
    PolyLR, as the runner builds them from configs/_base_/schedules."""
    params = [torch.nn.Parameter(torch.zeros(2)) for _ in BASES]
    opt = torch.optim.SGD([
        dict(params=[p], lr=b) for p, b in zip(params, BASES)
    ], lr=BASES[0], momentum=0.9)
    wrapper = OptimWrapper(opt)
    sched = PolyLR(wrapper, power=0.9, eta_min=0., begin=0, end=total,
                   by_epoch=False)
    return params, wrapper, sched


def _loop(runner, rounds=ROUNDS):
    return SelfTrainingRoundsLoop(
        runner,
        _Loader([0]),
        rounds=rounds,
        round_dataloader=dict(dataset=dict(datasets=[{}, {}])),
        lr_schedule='extend')


def _train(params, wrapper, schedulers, iters):
    """Run iterations ``iters`` like IterBasedTrainLoop + ParamSchedulerHook,
    returning the learning rates each iteration trained with."""
    used = {}
    for t in iters:
        used[t] = [g['lr'] for g in wrapper.param_groups]
        loss = sum((p - 1).pow(2).sum() for p in params)
        wrapper.update_params(loss)
        for s in schedulers:
            s.step()
    return used


def test_extend_is_the_loop_default():
    loop = SelfTrainingRoundsLoop(_Runner([]), _Loader([0]), rounds=ROUNDS,
                                  round_dataloader={})
    assert loop.lr_schedule == 'extend'


def test_extend_matches_the_official_formula_at_round_boundaries():
    params, wrapper, sched = _optim()
    runner = _Runner([sched])
    loop = _loop(runner)
    assert loop._iter == 0
    loop.install_round_poly_lr()
    [installed] = runner.param_schedulers
    assert isinstance(installed, RoundPolyLR)
    assert installed.round_ends == ENDS
    used = _train(params, wrapper, runner.param_schedulers, range(ENDS[-1]))
    for t, lrs in used.items():
        for lr, base in zip(lrs, BASES):
            assert lr == pytest.approx(official_lr(t, base), rel=1e-12), t
    starts = [0] + ENDS[:-1]
    for k, (start, end) in enumerate(zip(starts, ENDS)):
        # first iteration: (1 - E_{k-1}/E_k)^0.9 of the base lr
        assert used[start][0] == pytest.approx(
            BASES[0] * (1 - start / end)**0.9, rel=1e-12)
        # last iteration: one step before 0
        assert used[end - 1][1] == pytest.approx(
            BASES[1] * (1 / end)**0.9, rel=1e-12)
    # (mmengine's OptimWrapper adds a third group, of the base settings)
    assert used[0][:2] == BASES
    assert used[3][0] == pytest.approx(0.01 * (5 / 8)**0.9)  # not 1.0x, 0.x
    # the plain PolyLR ('continue') would be mid-schedule at round 0's end
    assert used[2][0] < 0.01 * (1 - 2 / 11)**0.9
    # after the last round: eta_min
    assert all(g['lr'] == 0. for g in wrapper.param_groups)


def test_extend_resumes_inside_a_round():
    """Checkpoint at iteration 5 (inside round 1), then a fresh runner: a
    whole-run PolyLR built from the config, the optimizer and scheduler
    states loaded (mmengine resume), the loop at iteration 5."""
    params, wrapper, sched = _optim()
    runner = _Runner([sched])
    loop = _loop(runner)
    loop.install_round_poly_lr()
    full = _train(params, wrapper, runner.param_schedulers, range(12))

    params, wrapper, sched = _optim()
    runner = _Runner([sched])
    loop = _loop(runner)
    loop.install_round_poly_lr()
    _train(params, wrapper, runner.param_schedulers, range(5))
    opt_state = wrapper.state_dict()
    sched_states = [s.state_dict() for s in runner.param_schedulers]

    params2, wrapper2, sched2 = _optim()
    with torch.no_grad():
        for p, q in zip(params2, params):
            p.copy_(q)
    wrapper2.load_state_dict(opt_state)
    sched2.load_state_dict(sched_states[0])
    runner2 = _Runner([sched2])
    loop2 = _loop(runner2)
    loop2._iter = 5
    loop2.install_round_poly_lr()
    resumed = _train(params2, wrapper2, runner2.param_schedulers,
                     range(5, 12))
    for t in range(5, 12):
        assert resumed[t] == pytest.approx(full[t], rel=1e-12), t
        assert resumed[t][0] == pytest.approx(official_lr(t, BASES[0]))
    # round 2's first and last iterations after the resume
    assert resumed[8][0] == pytest.approx(0.01 * (1 - 8 / 12)**0.9)
    assert resumed[11][1] == pytest.approx(0.1 * (1 / 12)**0.9)


def test_extend_uses_each_rounds_own_end():
    """Changing a later round's length changes the horizon of that round
    only."""
    params, wrapper, sched = _optim(total=18)
    runner = _Runner([sched])
    rounds = [dict(r) for r in ROUNDS]
    rounds[2]['iters'] = 10  # E_2 = 18
    loop = _loop(runner, rounds)
    loop.install_round_poly_lr()
    used = _train(params, wrapper, runner.param_schedulers, range(18))
    for t in range(18):
        assert used[t][0] == pytest.approx(
            official_lr(t, 0.01, ends=[3, 8, 18]), rel=1e-12), t


def test_extend_refuses_schedules_it_cannot_re_horizon():
    _, wrapper, _ = _optim()
    short = PolyLR(wrapper, power=0.9, begin=0, end=5, by_epoch=False)
    with pytest.raises(ValueError, match='PolyLR'):
        _loop(_Runner([short])).install_round_poly_lr()
    warm = LinearLR(wrapper, start_factor=0.1, begin=0, end=2,
                    by_epoch=False)
    with pytest.raises(ValueError, match='LinearLR'):
        _loop(_Runner([warm])).install_round_poly_lr()
    with pytest.raises(ValueError, match='needs a PolyLR'):
        _loop(_Runner([])).install_round_poly_lr()
    with pytest.raises(ValueError, match='lr_schedule'):
        SelfTrainingRoundsLoop(_Runner([]), _Loader([0]), rounds=ROUNDS,
                               round_dataloader={}, lr_schedule='official')


def test_round_poly_lr_builds_by_type_from_mmseg_registry():
    """mmsss.engine.schedulers registers RoundPolyLR in mmseg's
    PARAM_SCHEDULERS (configs' default scope), so a config may name it by
    type; the built scheduler trains with the official rates."""
    from mmengine.registry import init_default_scope
    from mmseg.registry import PARAM_SCHEDULERS
    import mmsss.engine  # noqa: F401
    init_default_scope('mmseg')
    params, wrapper, _ = _optim()
    sched = PARAM_SCHEDULERS.build(
        dict(type='RoundPolyLR', round_ends=ENDS, power=0.9),
        default_args=dict(optimizer=wrapper))
    assert type(sched) is RoundPolyLR
    used = _train(params, wrapper, [sched], range(ENDS[-1]))
    assert len(used) == ENDS[-1]
    for t, lrs in used.items():  # lrs[2]: OptimWrapper's base settings
        assert lrs[:2] == pytest.approx([official_lr(t, b) for b in BASES],
                                        rel=1e-12), t
