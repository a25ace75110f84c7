"""Exact resume (issue 21): a run interrupted and resumed with ``resume``
ends with exactly the weights of the uninterrupted run; the pipeline draws
do not depend on the number of dataloader workers; the seed matters."""
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(autouse=True)
def _fast_config_text(monkeypatch):
    """mmengine formats the config with yapf for every checkpoint and
    dump (most of these runs' time); these tests never read it back."""
    from mmengine.config import Config
    monkeypatch.setattr(Config, 'pretty_text',
                        property(lambda self: repr(self._cfg_dict)))


def _set_data_root(obj, root):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == 'data_root':
                obj[k] = root
            else:
                _set_data_root(v, root)
    elif isinstance(obj, list):
        for v in obj:
            _set_data_root(v, root)


def _shrink(obj):
    """Quarter the channels of the synthetic configs' ResNet-18
    DeepLabV3+ (32 -> 8 base channels) to keep the runs fast."""
    if isinstance(obj, dict):
        bb, head = obj.get('backbone'), obj.get('decode_head')
        if isinstance(bb, dict) and bb.get('base_channels') == 32 and \
                isinstance(head, dict):
            bb.update(stem_channels=8, base_channels=8)
            head.update(in_channels=64, channels=16, c1_in_channels=8,
                        c1_channels=8)
        for v in obj.values():
            _shrink(v)
    elif isinstance(obj, list):
        for v in obj:
            _shrink(v)


def make_cfg(config, root, work_dir, max_iters, ckpt_interval=3,
             num_workers=0, seed=0, batch=4):
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, config))
    _set_data_root(cfg._cfg_dict, root)
    _shrink(cfg._cfg_dict)
    dl = cfg.train_dataloader
    dl.batch_size = batch
    if 'batch_size' in dl.sampler:
        dl.sampler.batch_size = batch
    dl.num_workers = num_workers
    dl.persistent_workers = False
    if cfg.train_cfg.type == 'SelfTrainingRoundsLoop':
        # DARS: two rounds splitting max_iters
        half = max_iters // 2
        cfg.train_cfg.rounds = [
            dict(iters=half),
            dict(iters=max_iters - half, label_ratio=0.4,
                 ratio_range=(0.75, 1.5))
        ]
        rdl = cfg.train_cfg.round_dataloader
        rdl.batch_size = rdl.sampler.batch_size = batch
        rdl.num_workers = num_workers
        rdl.persistent_workers = False
    else:
        cfg.train_cfg.max_iters = max_iters
    cfg.train_cfg.val_begin = 10**9  # no validation
    cfg.default_hooks.checkpoint.interval = ckpt_interval
    cfg.default_hooks.checkpoint.max_keep_ckpts = 10
    cfg.default_hooks.checkpoint.pop('save_best', None)
    cfg.default_hooks.logger.interval = 1
    for h in cfg.get('custom_hooks', []):
        if h.get('type') == 'MeanTeacherHook' and h.get('copy_iters'):
            h.copy_iters = 2  # EMA phase inside these short runs
    cfg.randomness = dict(seed=seed)
    cfg.work_dir = str(work_dir)
    cfg.log_level = 'WARNING'
    return cfg


class Interrupted(Exception):
    pass


def _interrupt_hook():
    """A hook that stops training (an exception, like a kill) after a given
    iteration, once the checkpoint of that iteration is written."""
    from mmengine.hooks import Hook

    class InterruptAfter(Hook):
        priority = 'LOWEST'

        def __init__(self, stop_after):
            self.stop_after = stop_after

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            if runner.iter + 1 == self.stop_after:
                raise Interrupted(runner.iter + 1)

    return InterruptAfter


def train(cfg, resume=False, stop_after=None):
    """Train ``cfg``; with ``stop_after`` the run is interrupted after that
    iteration (same config, so the same schedules)."""
    from mmengine.runner import Runner
    cfg = cfg.copy()
    cfg.resume = resume
    runner = Runner.from_cfg(cfg)
    if stop_after is not None:
        runner.register_hook(_interrupt_hook()(stop_after))
        with pytest.raises(Interrupted):
            runner.train()
        return runner
    runner.train()
    # stop dataloader workers now (left to the garbage collector, their
    # shutdown stalls the next run for seconds)
    it = getattr(runner.train_loop.dataloader_iterator, '_iterator', None)
    if hasattr(it, '_shutdown_workers'):
        it._shutdown_workers()
    return runner


def final_state(work_dir, it):
    from mmsss.utils.checkpoint import load_checkpoint_file
    return load_checkpoint_file(osp.join(work_dir, f'iter_{it}.pth'))


def max_abs_diff(a, b):
    a, b = a['state_dict'], b['state_dict']
    assert a.keys() == b.keys()
    return max(((x.double() - y.double()).abs().max().item()
                if x.is_floating_point() else float((x != y).any()))
               for x, y in ((a[k], b[k]) for k in a))


def assert_identical(a, b):
    sa, sb = a['state_dict'], b['state_dict']
    assert sa.keys() == sb.keys()
    bad = [k for k in sa if not torch.equal(sa[k], sb[k])]
    assert not bad, (f'{len(bad)}/{len(sa)} tensors differ, max |d| = '
                     f'{max_abs_diff(a, b)}, e.g. {bad[:3]}')


CONFIGS = {
    'mean_teacher': 'configs/mean_teacher/synthetic_1-16.py',
    'imas': 'configs/imas/synthetic_1-16.py',
    'esl': 'configs/esl/synthetic_1-16.py',
    'unimatch': 'configs/unimatch/synthetic_1-16.py',
}


@pytest.mark.parametrize('method', list(CONFIGS))
def test_interrupted_run_ends_like_straight_run(method, synthetic_voc_root,
                                                 tmp_path):
    config = CONFIGS[method]
    straight = make_cfg(config, synthetic_voc_root, tmp_path / 'a', 4,
                        ckpt_interval=2)
    train(straight)
    # the same run interrupted after 3 (last checkpoint iter_2), resumed
    cut = make_cfg(config, synthetic_voc_root, tmp_path / 'b', 4,
                   ckpt_interval=2)
    train(cut, stop_after=3)
    train(cut, resume=True)
    assert_identical(
        final_state(tmp_path / 'a', 4), final_state(tmp_path / 'b', 4))
    # logs kept by hooks (iMAS hardness CSV) are those of a straight run
    csvs = sorted(p.name for p in (tmp_path / 'a').glob('*.csv'))
    assert csvs == sorted(p.name for p in (tmp_path / 'b').glob('*.csv'))
    for name in csvs:
        assert (tmp_path / 'a' / name).read_text() == \
            (tmp_path / 'b' / name).read_text(), name
    if method == 'imas':
        assert csvs, 'HardnessLoggerHook wrote no CSV'


def test_workers_and_seed(synthetic_voc_root, tmp_path):
    """0 and 2 dataloader workers train the same weights; another seed
    trains other weights."""
    config = CONFIGS['mean_teacher']
    runs = {}
    for name, workers, seed in (('w0', 0, 0), ('w2', 2, 0), ('s1', 0, 1)):
        train(make_cfg(config, synthetic_voc_root, tmp_path / name, 2,
                       ckpt_interval=2, num_workers=workers, seed=seed))
        runs[name] = final_state(tmp_path / name, 2)
    assert_identical(runs['w0'], runs['w2'])
    assert max_abs_diff(runs['w0'], runs['s1']) > 1e-3


def test_checkpoint_has_every_random_state(synthetic_voc_root, tmp_path):
    """The checkpoint holds this rank's torch/numpy/python states, and
    they are the ones the process had when it wrote it."""
    import random

    import numpy as np

    from mmsss.engine.hooks.random_state_hook import (get_random_state,
                                                      set_random_state)
    runner = train(make_cfg(CONFIGS['mean_teacher'], synthetic_voc_root,
                            tmp_path, 1, ckpt_interval=1))
    saved = final_state(tmp_path, 1)['random_state']
    assert saved['world_size'] == 1 and len(saved['ranks']) == 1
    state = saved['ranks'][0]
    set_random_state(state)
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    set_random_state(state)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == a
    # round trip of the live state
    now = get_random_state()
    b = (random.random(), np.random.rand(), torch.rand(1).item())
    set_random_state(now)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == b
    assert runner.iter == 1


_KILLED_RUN = r'''
import io, os, sys, time
sys.path.insert(0, {root!r})
from mmengine.config import Config
Config.pretty_text = property(lambda self: repr(self._cfg_dict))
import mmengine.runner.runner as runner_mod
import torch
torch.set_num_threads({threads})
from tests.test_engine.test_exact_resume import make_cfg, train
original = runner_mod.save_checkpoint

def slow_save(checkpoint, filepath, *args, **kwargs):
    if checkpoint['meta']['iter'] < 4:
        return original(checkpoint, filepath, *args, **kwargs)
    buf = io.BytesIO()
    import torch
    torch.save(checkpoint, buf)
    with open(filepath, 'wb') as f:  # half of the file, then hang
        f.write(buf.getvalue()[:len(buf.getvalue()) // 2])
        f.flush()
    open({marker!r}, 'w').close()
    time.sleep(120)

runner_mod.save_checkpoint = slow_save
train(make_cfg({config!r}, {data!r}, {work_dir!r}, 4, ckpt_interval=2))
'''


def test_sigkill_during_checkpoint_write(synthetic_voc_root, tmp_path):
    """A training killed while writing iter_4.pth leaves no file under that
    name, last_checkpoint names the complete iter_2.pth, and the resumed
    run ends with the uninterrupted run's weights."""
    config = CONFIGS['mean_teacher']
    work_dir = str(tmp_path / 'killed')
    marker = str(tmp_path / 'writing')
    script = _KILLED_RUN.format(
        root=ROOT, marker=marker, config=config, data=synthetic_voc_root,
        work_dir=work_dir, threads=torch.get_num_threads())
    # the same intra-op thread count as the in-process runs below: another
    # count sums in another order (differences of ~1e-7)
    env = dict(os.environ, OMP_NUM_THREADS=str(torch.get_num_threads()))
    proc = subprocess.Popen([sys.executable, '-c', script], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 240
        while not osp.exists(marker):
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
            assert time.time() < deadline, 'the run never reached iter_4'
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    # the half-written file exists, but only under a temporary name
    assert not osp.exists(osp.join(work_dir, 'iter_4.pth'))
    partial = [f for f in os.listdir(work_dir) if f.startswith('.iter_4')]
    assert partial, os.listdir(work_dir)
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        last = f.read().strip()
    assert osp.basename(last) == 'iter_2.pth'
    assert final_state(work_dir, 2)['meta']['iter'] == 2  # complete
    # resume: the temporary file is cleaned up, the end is exact
    cfg = make_cfg(config, synthetic_voc_root, work_dir, 4, ckpt_interval=2)
    train(cfg, resume=True)
    assert not [f for f in os.listdir(work_dir) if f.startswith('.iter_4')]
    train(make_cfg(config, synthetic_voc_root, tmp_path / 'straight', 4,
                   ckpt_interval=2))
    assert_identical(
        final_state(tmp_path / 'straight', 4), final_state(work_dir, 4))


def test_dars_resume_after_kill_in_pseudo_label_generation(
        synthetic_voc_root, tmp_path, monkeypatch):
    """DARS: a run stopped while round 1's pseudo-labels are written
    resumes from the round-end checkpoint, writes byte-identical
    pseudo-labels and ends with the uninterrupted run's weights."""
    from mmsss.pseudo_labels.generator import PseudoLabelGenerator
    config = 'configs/dars/synthetic_1-8.py'
    train(make_cfg(config, synthetic_voc_root, tmp_path / 'a', 4,
                   ckpt_interval=2))
    finish = PseudoLabelGenerator._finish

    def killed(self, dataset, tmp_dir, out_dir, summary):
        raise Interrupted('inside pseudo-label generation')

    cut = make_cfg(config, synthetic_voc_root, tmp_path / 'b', 4,
                   ckpt_interval=2)
    monkeypatch.setattr(PseudoLabelGenerator, '_finish', killed)
    from mmengine.runner import Runner
    runner = Runner.from_cfg(cut.copy())
    with pytest.raises(Interrupted):
        runner.train()
    assert not osp.exists(tmp_path / 'b/pseudo_labels/round_1/summary.json')
    monkeypatch.setattr(PseudoLabelGenerator, '_finish', finish)
    train(cut, resume=True)
    assert_identical(
        final_state(tmp_path / 'a', 4), final_state(tmp_path / 'b', 4))
    pngs = {}
    for run in 'ab':
        folder = tmp_path / run / 'pseudo_labels' / 'round_1'
        pngs[run] = {
            str(p.relative_to(folder)): p.read_bytes()
            for p in folder.rglob('*.png')
        }
    assert pngs['a'] and pngs['a'] == pngs['b']


def test_stage_pipeline_resumes_exactly(synthetic_voc_root, tmp_path,
                                        monkeypatch):
    """Three-stage pipeline (first two stages): stopped inside the
    pseudo-mask generation, then inside stage 2's training, and resumed
    twice, it writes byte-identical pseudo-masks and the same f_θ weights
    as the uninterrupted pipeline."""
    from mmsss.engine.runner.stages import run_stages
    from mmsss.pseudo_labels.generator import PseudoLabelGenerator
    from tests.test_engine.test_three_stage_pipeline import (Crash,
                                                              crash_hook_cls,
                                                              pipeline_cfg)
    run_stages(pipeline_cfg(synthetic_voc_root, tmp_path / 'a'),
               stop_after=2)
    wd = tmp_path / 'b'
    finish = PseudoLabelGenerator._finish

    def killed(self, dataset, tmp_dir, out_dir, summary):
        raise Interrupted('inside pseudo-mask generation')

    monkeypatch.setattr(PseudoLabelGenerator, '_finish', killed)
    with pytest.raises(Interrupted):
        run_stages(pipeline_cfg(synthetic_voc_root, wd), stop_after=2)
    monkeypatch.setattr(PseudoLabelGenerator, '_finish', finish)
    crash = crash_hook_cls()
    crash.armed = True
    cfg = pipeline_cfg(synthetic_voc_root, wd)
    cfg.multitask.custom_hooks.append(
        dict(type='_ThreeStageTestCrash', stage='stage2', at=3))
    with pytest.raises(Crash):
        run_stages(cfg, stop_after=2)
    crash.armed = False
    records = run_stages(pipeline_cfg(synthetic_voc_root, wd), stop_after=2)
    assert [r['status'] for r in records] == ['finished before', 'resumed']
    for stage in ('stage1', 'stage2'):
        a = torch.load(tmp_path / 'a' / stage / 'final.pth',
                       weights_only=True)
        b = torch.load(wd / stage / 'final.pth', weights_only=True)
        assert_identical(a, b)
    masks = {}
    for run in ('a', 'b'):
        folder = tmp_path / run / 'pseudo_masks' / 'stage1'
        masks[run] = {
            str(p.relative_to(folder)): p.read_bytes()
            for p in folder.rglob('*.png')
        }
    assert len(masks['a']) == 48 and masks['a'] == masks['b']


def test_failed_write_keeps_the_previous_checkpoint(synthetic_voc_root,
                                                    tmp_path, monkeypatch):
    """max_keep_ckpts=1: mmengine deletes the kept checkpoint before
    writing the next one; here it is deleted only once the next one is
    complete, so a write that fails leaves iter_2.pth and a
    last_checkpoint naming it."""
    import mmengine.runner.runner as runner_mod
    original = runner_mod.save_checkpoint

    def failing(checkpoint, filepath, *args, **kwargs):
        if checkpoint['meta']['iter'] >= 4:
            with open(filepath, 'wb') as f:
                f.write(b'truncated')
            raise OSError('disk full')
        return original(checkpoint, filepath, *args, **kwargs)

    monkeypatch.setattr(runner_mod, 'save_checkpoint', failing)
    cfg = make_cfg(CONFIGS['mean_teacher'], synthetic_voc_root, tmp_path, 4,
                   ckpt_interval=2)
    cfg.default_hooks.checkpoint.max_keep_ckpts = 1
    with pytest.raises(OSError, match='disk full'):
        train(cfg)
    assert sorted(f for f in os.listdir(tmp_path) if 'pth' in f) == [
        'iter_2.pth'
    ]
    with open(tmp_path / 'last_checkpoint') as f:
        assert osp.basename(f.read()) == 'iter_2.pth'
    assert final_state(tmp_path, 2)['meta']['iter'] == 2


# ----------------------------------------------- random draws across GPUs
def _rank_draws(rank, world, init_file, out_file):
    """One process of ``test_iteration_draws_per_rank_and_resume``: the
    draws of iterations 0-3 after ``RandomStateHook.before_train_iter``,
    then again from iteration 2 in a fresh hook after unrelated draws (a
    resumed process), for three set-ups; gathered on rank 0."""
    import random
    from types import SimpleNamespace

    import numpy as np
    import torch.distributed as torch_dist

    from mmsss.engine.hooks.random_state_hook import RandomStateHook
    from mmsss.models.utils import rejection_cutmix_boxes
    torch.set_num_threads(1)
    torch_dist.init_process_group(
        'gloo', init_method=f'file://{init_file}', rank=rank,
        world_size=world)

    def draws(hook, runner):
        hook.before_train_iter(runner, runner.iter)
        boxes, trigger = rejection_cutmix_boxes(8, (32, 32))
        return (boxes, trigger, torch.rand(3), np.random.rand(3),
                random.random())

    out = {}
    setups = dict(
        # the model's attribute (MeanTeacherSegmentor False, UniMatch True)
        same=(False, {}, None),
        per_rank=(True, {}, None),
        # mmengine's switch (runner.seed = seed + rank) and the hook's
        diff_rank_seed=(False, dict(seed=5, diff_rank_seed=True), None),
        forced_off=(True, {}, False))
    for name, (flag, randomness, rank_seed) in setups.items():
        model = SimpleNamespace(iteration_seed_per_rank=flag)
        seed = 5 + (rank if randomness.get('diff_rank_seed') else 0)
        runner = SimpleNamespace(
            iter=0, seed=seed, _randomness_cfg=randomness, model=model)
        hook = RandomStateHook(rank_seed=rank_seed)
        straight = []
        for it in range(4):
            runner.iter = it
            straight.append(draws(hook, runner))
        torch.manual_seed(1000 + rank)  # whatever ran before the resume
        random.random(), np.random.rand(), torch.rand(5)
        resumed = RandomStateHook(rank_seed=rank_seed)
        again = []
        for it in (2, 3):
            runner.iter = it
            again.append(draws(resumed, runner))
        out[name] = dict(straight=straight, again=again,
                         base_seed=hook._seed(runner))
    gathered = [None] * world
    torch_dist.all_gather_object(gathered, out)
    if rank == 0:
        torch.save(gathered, out_file)
    torch_dist.destroy_process_group()


def _same(a, b):
    return all(
        torch.equal(torch.as_tensor(x), torch.as_tensor(y))
        for x, y in zip(a, b))


def test_iteration_draws_per_rank_and_resume(tmp_path):
    """Two gloo processes: with the rank in the per-iteration seed (the
    model says so, or ``diff_rank_seed``) rank 0 and rank 1 draw other
    CutMix boxes / triggers / numbers in every iteration; without it
    (mean teacher, iMAS: the official code seeds all ranks alike) the same;
    either way a fresh hook (a resume) repeats each rank's own draws, and
    the per-sample pipeline seed is the same on both ranks."""
    import torch.multiprocessing as mp
    out_file = tmp_path / 'draws.pth'
    mp.spawn(
        _rank_draws,
        args=(2, str(tmp_path / 'init'), str(out_file)),
        nprocs=2,
        join=True)
    r0, r1 = torch.load(out_file, weights_only=False)
    for name in ('same', 'per_rank', 'diff_rank_seed', 'forced_off'):
        for r in (r0, r1):
            s = r[name]['straight']
            # a resumed process draws what the straight one drew
            for it in (2, 3):
                assert _same(s[it], r[name]['again'][it - 2]), (name, it)
            # and every iteration draws anew
            assert not _same(s[0], s[1]), name
        assert r0[name]['base_seed'] == r1[name]['base_seed'] == 5
        per_iter = [
            _same(a, b)
            for a, b in zip(r0[name]['straight'], r1[name]['straight'])
        ]
        if name in ('per_rank', 'diff_rank_seed'):
            assert not any(per_iter), name
            # the boxes themselves differ (not only the other streams)
            assert all(not torch.equal(a[0], b[0]) for a, b in zip(
                r0[name]['straight'], r1[name]['straight'])), name
        else:
            assert all(per_iter), name


def test_methods_declare_their_official_rank_seeding():
    """``iteration_seed_per_rank`` of each method (recipe tables, row
    "random draws across GPUs"): the same draws on every GPU for the
    mean teacher / iMAS (and ESL, on the mean teacher's draws), every GPU
    its own for UniMatch / FixMatch (official boxes drawn per sample in
    each rank's dataloader workers)."""
    from mmsss.models.segmentors import (ESLSegmentor, FixMatchSegmentor,
                                         IMASSegmentor, MeanTeacherSegmentor,
                                         UniMatchSegmentor)
    for cls in (MeanTeacherSegmentor, IMASSegmentor, ESLSegmentor):
        assert cls.iteration_seed_per_rank is False, cls
    for cls in (UniMatchSegmentor, FixMatchSegmentor):
        assert cls.iteration_seed_per_rank is True, cls
    from mmsss.engine.hooks.random_state_hook import RandomStateHook
    with pytest.raises(TypeError, match='rank_seed'):
        RandomStateHook(rank_seed='yes')
