"""DARS self-training in one run: rounds loop, pseudo-label hook, resume,
the offline tool; the self-training segmentor and the ASPP-v2 head."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs/dars/synthetic_1-8.py')


def small_unlabeled_list(root, n=10):
    """The first ``n`` unlabeled images of the 1/8 split (keeps the
    pseudo-labelling passes short)."""
    path = osp.join(root, 'splits/1-8/unlabeled_small.txt')
    if not osp.exists(path):
        with open(osp.join(root, 'splits/1-8/unlabeled.txt')) as f:
            lines = f.readlines()[:n]
        with open(path, 'w') as f:
            f.writelines(lines)
    return path


def dars_cfg(root, work_dir, iters=(2, 2, 2)):
    from mmengine.config import Config
    cfg = Config.fromfile(CONFIG)
    cfg.custom_hooks[0].unlabeled_dataset.ann_file = small_unlabeled_list(
        root)
    tc = cfg.train_cfg
    for k, n in enumerate(iters):
        tc.rounds[k].iters = n
    tc.val_interval = 1000
    tc.val_begin = 1000  # no validation: keeps the test short
    datasets = [
        cfg.train_dataloader.dataset, cfg.val_dataloader.dataset,
        cfg.test_dataloader.dataset, *tc.round_dataloader.dataset.datasets,
        cfg.custom_hooks[0].unlabeled_dataset,
        cfg.custom_hooks[0].labeled_dataset
    ]
    for ds in datasets:
        ds.data_root = root
    for dl in (cfg.train_dataloader, tc.round_dataloader, cfg.val_dataloader,
               cfg.test_dataloader):
        dl.num_workers = 0
        dl.persistent_workers = False
    cfg.train_dataloader.batch_size = 2
    tc.round_dataloader.batch_size = 4
    tc.round_dataloader.sampler.batch_size = 4
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = 1
    cfg.default_hooks.checkpoint.max_keep_ckpts = 10
    cfg.work_dir = str(work_dir)
    # a visualizer of its own (mmengine reuses an instance of the same name,
    # with an earlier test's save dir)
    cfg.visualizer.name = f'dars_{id(cfg)}'
    return cfg


@pytest.fixture(scope='module')
def trained(synthetic_voc_root, tmp_path_factory):
    from mmengine.runner import Runner
    work_dir = tmp_path_factory.mktemp('dars')
    runner = Runner.from_cfg(dars_cfg(synthetic_voc_root, work_dir))
    runner.train()
    return dict(
        runner=runner,
        work_dir=str(work_dir),
        root=synthetic_voc_root,
        scalars=dict(runner.message_hub.log_scalars))


def test_rounds_make_pseudo_labels_and_train_on_them(trained):
    wd = trained['work_dir']
    for k, alpha in ((1, 0.4), (2, 0.65)):
        with open(osp.join(wd, f'pseudo_labels/round_{k}/summary.json')) as f:
            s = json.load(f)
        assert s['round'] == k and s['label_ratio'] == alpha
        assert s['iter'] == 2 * k  # made at the round boundary
        assert s['kl_labeled_pseudo'] >= 0
        # the teacher and the settings, to tell stale folders apart
        assert s['teacher']['iter'] == 2 * k
        assert len(s['teacher']['fingerprint']) == 64
        assert s['generator']['round_idx'] == k
        assert s['generator']['flip'] is True
        assert s['generator']['flip_average'] == 'logits'
    assert not osp.exists(osp.join(wd, 'pseudo_labels/round_0'))
    assert trained['runner'].iter == 6
    assert 'train/unsup_decode.loss_ce' in trained['scalars']
    # KL / kept fraction / accuracy reach the visualizer backends
    import glob
    [scalars] = glob.glob(osp.join(wd, '*/vis_data/scalars.json'))
    with open(scalars) as f:
        logged = [json.loads(ln) for ln in f if 'pseudo_labels/' in ln]
    assert [r['step'] for r in logged] == [2, 4]
    assert all('pseudo_labels/kl_labeled_pseudo' in r for r in logged)


def test_learning_rate_is_the_official_schedule_across_rounds(trained):
    """lr_schedule='extend' (the synthetic config's): every iteration trains
    with 0.05 * (1 - t / E_k) ** 0.9, E_k = the end of its round (2, 4, 6),
    as logged by the runner."""
    import glob
    [scalars] = glob.glob(osp.join(trained['work_dir'],
                                   '*/vis_data/scalars.json'))
    with open(scalars) as f:
        logged = {r['step']: r['lr'] for r in map(json.loads, f)
                  if 'lr' in r}
    assert sorted(logged) == [1, 2, 3, 4, 5, 6]
    for step, lr in logged.items():
        t = step - 1  # the logger's step is the 1-based iteration
        end = 2 * (t // 2 + 1)
        assert lr == pytest.approx(0.05 * (1 - t / end)**0.9, rel=1e-6), t
    assert logged[3] == pytest.approx(0.05 * 0.5**0.9)  # round 1's start
    assert logged[5] == pytest.approx(0.05 * (1 / 3)**0.9)  # round 2's


def test_round_dataloader_uses_round_scale_range(trained):
    loop = trained['runner'].train_loop
    assert loop.current_round == 2
    datasets = loop.dataloader.dataset.datasets
    assert datasets[1].ann_file.endswith('round_2/list.txt')
    for ds in datasets:
        rr = [t for t in ds.pipeline.transforms
              if type(t).__name__ == 'RandomResize']
        assert rr and rr[0].ratio_range == (0.75, 2.0)


def test_resume_inside_a_round_reuses_its_pseudo_labels(trained):
    from mmengine.runner import Runner
    wd = trained['work_dir']
    summary = osp.join(wd, 'pseudo_labels/round_1/summary.json')
    before = os.stat(summary).st_mtime_ns
    cfg = dars_cfg(trained['root'], wd, iters=(2, 2, 2))
    cfg.load_from = osp.join(wd, 'iter_3.pth')
    cfg.resume = True
    cfg.train_cfg.rounds[2].iters = 3  # one more iteration in round 2
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 7
    assert os.stat(summary).st_mtime_ns == before
    # the checkpoint carries the teacher of the labels its round trains on
    with open(osp.join(wd, 'pseudo_labels/round_1/summary.json')) as f:
        teacher = json.load(f)['teacher']
    ckpt = torch.load(osp.join(wd, 'iter_3.pth'), map_location='cpu',
                      weights_only=False)
    assert ckpt['message_hub']['runtime_info'][
        'pseudo_label_teacher'] == teacher
    with open(osp.join(wd, 'pseudo_labels/round_2/summary.json')) as f:
        teacher = json.load(f)['teacher']
    assert runner.message_hub.get_info('pseudo_label_teacher') == teacher
    # after the resume, round 2's horizon is its new end (7)
    with open(osp.join(runner.log_dir, 'vis_data/scalars.json')) as f:
        logged = {r['step']: r['lr'] for r in map(json.loads, f)
                  if 'lr' in r}
    assert sorted(logged) == [4, 5, 6, 7]
    assert logged[4] == pytest.approx(0.05 * (1 - 3 / 4)**0.9)
    for t in (4, 5, 6):
        assert logged[t + 1] == pytest.approx(0.05 * (1 - t / 7)**0.9)


def test_offline_tool_matches_hook_and_checks_inputs(trained, tmp_path):
    wd, root = trained['work_dir'], trained['root']
    opts = [
        f'{k}={root}' for k in (
            'custom_hooks.0.unlabeled_dataset.data_root',
            'custom_hooks.0.labeled_dataset.data_root')
    ] + [
        'custom_hooks.0.unlabeled_dataset.ann_file=' +
        small_unlabeled_list(root)
    ]
    cmd = [
        sys.executable,
        osp.join(ROOT, 'tools/generate_pseudo_labels.py'), CONFIG,
        osp.join(wd, 'iter_2.pth'), '--round', '1', '--out',
        str(tmp_path / 'r1'), '--work-dir', str(tmp_path), '--cfg-options',
        *opts
    ]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'KL(labeled || pseudo)' in out.stdout
    hook_dir = osp.join(wd, 'pseudo_labels/round_1/labels')
    for name in os.listdir(hook_dir):
        with open(osp.join(hook_dir, name), 'rb') as a, open(
                tmp_path / 'r1' / 'labels' / name, 'rb') as b:
            assert a.read() == b.read(), name
    # the same teacher record as the hook's (so the hook would reuse it)
    summaries = []
    for d in (osp.join(wd, 'pseudo_labels/round_1'), tmp_path / 'r1'):
        with open(osp.join(d, 'summary.json')) as f:
            summaries.append(json.load(f))
    assert summaries[0]['teacher'] == summaries[1]['teacher']
    assert summaries[0]['generator'] == summaries[1]['generator']
    # a checkpoint for another number of classes
    bad = subprocess.run(
        cmd[:-len(opts)] + opts + [
            'model.decode_head.num_classes=5'
        ], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0
    assert 'num_classes' in bad.stderr and 'decode_head.conv_seg' in \
        bad.stderr
    bad = subprocess.run(
        cmd + ['--label-ratio', '1.5'],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and 'label_ratio' in bad.stderr


def test_loop_rejects_bad_rounds():
    from mmsss.engine.runner import SelfTrainingRoundsLoop

    class FakeRunner:
        pass

    with pytest.raises(ValueError, match=r'rounds\[1\].label_ratio'):
        SelfTrainingRoundsLoop(
            FakeRunner(), None, rounds=[dict(iters=2),
                                        dict(iters=2, label_ratio=0)],
            round_dataloader={})
    with pytest.raises(ValueError, match='iters'):
        SelfTrainingRoundsLoop(FakeRunner(), None, rounds=[dict(iters=0)])
    with pytest.raises(ValueError, match='round_dataloader'):
        SelfTrainingRoundsLoop(
            FakeRunner(), None,
            rounds=[dict(iters=1), dict(iters=1, label_ratio=0.5)])


def test_set_ratio_range_reaches_multibranch_pipelines():
    from mmsss.engine.runner import set_ratio_range
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='RandomResize', scale=(8, 8), ratio_range=(0.5, 2.0)),
        dict(
            type='MultiBranch',
            sup=[dict(type='RandomResize', scale=(8, 8),
                      ratio_range=(1, 1))]),
    ]
    assert set_ratio_range(pipeline, (0.5, 3.0)) == 2
    assert pipeline[1]['ratio_range'] == (0.5, 3.0)
    assert pipeline[2]['sup'][0]['ratio_range'] == (0.5, 3.0)


def test_self_training_loss_equals_encoder_decoder_per_branch():
    from mmengine.config import ConfigDict
    from mmseg.registry import MODELS
    import copy

    from tests._tiny import TINY_SEGMENTOR, make_sample
    torch.manual_seed(0)
    cfg = copy.deepcopy(TINY_SEGMENTOR)
    cfg['type'] = 'SelfTrainingSegmentor'
    cfg['pseudo_weight'] = 0.5
    model = MODELS.build(ConfigDict(cfg))
    plain = MODELS.build(ConfigDict(copy.deepcopy(TINY_SEGMENTOR)))
    plain.load_state_dict(model.state_dict())
    model.eval()  # BN on running stats: branches independent of batching
    plain.eval()
    x_l, x_p = torch.randn(2, 3, 32, 32), torch.randn(3, 3, 32, 32)
    lab = lambda: make_sample(torch.randint(0, 4, (1, 32, 32)))  # noqa
    s_l, s_p = [lab() for _ in range(2)], [lab() for _ in range(3)]
    losses = model.loss({'sup': x_l, 'pseudo': x_p},
                        {'sup': s_l, 'pseudo': s_p})
    ref_l = plain.loss(x_l, s_l)['decode.loss_ce']
    ref_p = plain.loss(x_p, s_p)['decode.loss_ce']
    torch.testing.assert_close(losses['sup_decode.loss_ce'], ref_l)
    torch.testing.assert_close(losses['unsup_decode.loss_ce'], 0.5 * ref_p)
    only_sup = model.loss(x_l, s_l)
    assert set(only_sup) == {'sup_decode.loss_ce', 'sup_decode.acc_seg'}


def test_aspp_v2_head_is_sum_of_dilated_convs():
    from mmsss.models.decode_heads import ASPPV2Head
    head = ASPPV2Head(in_channels=8, num_classes=5, in_index=0,
                      dropout_ratio=0.)
    head.init_weights()
    x = torch.randn(2, 8, 40, 40)
    out = head([x])
    ref = sum(
        F.conv2d(x, c.weight, c.bias, padding=d, dilation=d)
        for c, d in zip(head.aspp, (6, 12, 18, 24)))
    torch.testing.assert_close(out, ref)
    assert out.shape == (2, 5, 40, 40)
    assert not hasattr(head, 'conv_seg')
    w = torch.cat([c.weight.flatten() for c in head.aspp])
    assert 0.005 < float(w.std()) < 0.02  # N(0, 0.01^2)


class _FakeLoader:

    def __init__(self, items=(0, 1, 2, 3)):
        self.items = list(items)
        self.dataset = object()

    def __iter__(self):
        return iter(self.items)


class _FakeRunner:
    """What SelfTrainingRoundsLoop touches when it enters a round."""

    def __init__(self):
        from mmengine.logging import MessageHub
        self.message_hub = MessageHub.get_instance('fake_rounds_runner')
        self.message_hub.update_info('pseudo_label_list', '/x/list.txt')
        self.optim_wrapper = type('O', (), {})()
        self.optim_wrapper.param_groups = [dict(lr=0.001, initial_lr=0.01)]
        self.seed, self._randomness_cfg = 0, {}
        self.hooks_called, self.built = [], []

    def call_hook(self, name, **kwargs):
        self.hooks_called.append((name, kwargs.get('round_idx')))

    def build_dataloader(self, cfg, seed=None, diff_rank_seed=False):
        self.built.append(cfg)
        return _FakeLoader(items=('a', 'b', 'c'))


@pytest.mark.parametrize('schedule', ['continue', 'restart'])
def test_entering_a_round(schedule):
    from mmsss.engine.runner import SelfTrainingRoundsLoop
    pipeline = [dict(type='RandomResize', scale=(8, 8), ratio_range=(1, 1))]
    runner = _FakeRunner()
    loop = SelfTrainingRoundsLoop(
        runner,
        _FakeLoader(),
        rounds=[
            dict(iters=2),
            dict(iters=3, label_ratio=0.5, ratio_range=(0.5, 3.0))
        ],
        round_dataloader=dict(
            dataset=dict(datasets=[
                dict(pipeline=pipeline),
                dict(ann_file=None, pipeline=pipeline)
            ])),
        lr_schedule=schedule)
    assert loop.max_iters == 5 and loop.round_of(1) == 0
    assert loop.round_of(2) == 1 and loop.round_end(1) == 5
    loop._iter = 2  # the boundary
    loop._enter_round(1)
    assert runner.hooks_called == [('before_train_round', 1)]
    [cfg] = runner.built
    assert cfg['dataset']['datasets'][1]['ann_file'] == '/x/list.txt'
    assert all(d['pipeline'][0]['ratio_range'] == (0.5, 3.0)
               for d in cfg['dataset']['datasets'])
    lr = runner.optim_wrapper.param_groups[0]['lr']
    assert lr == (0.01 if schedule == 'restart' else 0.001)
    assert next(loop.dataloader_iterator) == 'a'
    # resumed inside the round: no lr reset, trained batches skipped
    runner.optim_wrapper.param_groups[0]['lr'] = 0.002
    loop._iter = 4
    loop._enter_round(1)
    assert runner.optim_wrapper.param_groups[0]['lr'] == 0.002
    assert next(loop.dataloader_iterator) == 'c'


def test_restart_schedule_needs_one_scheduler_per_round():
    import torch
    from mmengine.optim.scheduler import PolyLR

    from mmsss.engine.runner import SelfTrainingRoundsLoop
    loop = SelfTrainingRoundsLoop(
        _FakeRunner(),
        _FakeLoader(),
        rounds=[dict(iters=4), dict(iters=6, label_ratio=0.5)],
        round_dataloader=dict(dataset=dict(datasets=[{}, {}])),
        lr_schedule='restart')
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)

    def poly(begin, end):
        return PolyLR(opt, power=0.9, begin=begin, end=end, by_epoch=False)

    loop.check_restart_schedulers([poly(0, 4), poly(4, 10)])
    loop.check_restart_schedulers({'g': [poly(0, 2), poly(4, 10)]})
    with pytest.raises(ValueError, match=r'PolyLR runs from 0 to 10'):
        loop.check_restart_schedulers([poly(0, 10)])
    with pytest.raises(ValueError, match='one scheduler per round'):
        loop.check_restart_schedulers([poly(0, 4), poly(3, 10)])
