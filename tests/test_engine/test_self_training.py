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


def test_offline_tool_matches_hook_and_checks_inputs(trained, tmp_path,
                                                     monkeypatch):
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
    # the refusals, through the tool's main() in this process (a
    # subprocess each would re-import torch): a checkpoint for another
    # number of classes, an α out of range
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'generate_pseudo_labels', cmd[1])
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    monkeypatch.setenv('LOCAL_RANK', '0')  # parse_args sets it
    with pytest.raises(Exception) as bad:
        tool.main(cmd[2:] + ['model.decode_head.num_classes=5'])
    assert 'num_classes' in str(bad.value) and 'decode_head.conv_seg' in \
        str(bad.value)
    with pytest.raises(ValueError, match='label_ratio'):
        tool.main(cmd[2:] + ['--label-ratio', '1.5'])


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


def test_aspp_v2_head_official_early_return():
    """official_early_return=True: the official DARS classifier's loop
    returns inside its first pass, so only rates 6 and 12 are summed; an
    emulation of that loop over four convolutions (the last two with
    arbitrary weights) gives our two-branch output."""
    from mmsss.models.decode_heads import ASPPV2Head
    torch.manual_seed(0)
    head = ASPPV2Head(in_channels=8, num_classes=5, in_index=0,
                      dropout_ratio=0., official_early_return=True)
    head.init_weights()
    assert len(head.aspp) == 2 and head.dilations == (6, 12)
    extra = [torch.nn.Conv2d(8, 5, 3, padding=d, dilation=d)
             for d in (18, 24)]
    convs = list(head.aspp) + extra
    x = torch.randn(2, 8, 40, 40)

    def official_like(x):
        out = convs[0](x)
        for i in range(len(convs) - 1):
            out = out + convs[i + 1](x)
            return out  # inside the loop, as the official code

    torch.testing.assert_close(head([x]), official_like(x))
    four = ASPPV2Head(in_channels=8, num_classes=5, in_index=0,
                      dropout_ratio=0.)
    assert len(four.aspp) == 4 and not four.official_early_return
    with pytest.raises(ValueError, match='two dilation rates'):
        ASPPV2Head(in_channels=8, num_classes=5, dilations=(6, ),
                   official_early_return=True)


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
        self.model = None  # one process: nothing to synchronise
        self.hooks_called, self.built, self.seeds = [], [], []

    def call_hook(self, name, **kwargs):
        self.hooks_called.append((name, kwargs.get('round_idx')))

    def build_dataloader(self, cfg, seed=None, diff_rank_seed=False):
        self.built.append(cfg)
        self.seeds.append(seed)
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


def test_each_round_draws_a_fresh_stream_and_a_resume_the_same():
    """Rounds 1 and 2 build their dataloader with different seeds (fresh
    order and augmentation draws, as the official new process per round),
    derived from (run seed, round) only: re-entering a round (a resume)
    gives the same seed, another run seed another one. The seeds, given to
    a MultiSourceSampler, give different streams (indices and per-sample
    seeds) for rounds 1 and 2 and the same one for round 1 twice."""
    import itertools

    from torch.utils.data import ConcatDataset

    from mmsss.datasets.samplers import MultiSourceSampler
    from mmsss.engine.runner import SelfTrainingRoundsLoop
    from mmsss.engine.runner.self_training_loop import round_seed

    def make_loop(seed):
        runner = _FakeRunner()
        runner.seed = seed
        loop = SelfTrainingRoundsLoop(
            runner,
            _FakeLoader(),
            rounds=[
                dict(iters=2),
                dict(iters=3, label_ratio=0.5),
                dict(iters=3, label_ratio=0.6)
            ],
            round_dataloader=dict(
                dataset=dict(datasets=[dict(), dict(ann_file=None)])),
            lr_schedule='continue')
        return runner, loop

    runner, loop = make_loop(seed=7)
    for k, it in ((1, 2), (2, 5), (1, 3)):  # the last: resumed in round 1
        loop._iter = it
        loop._enter_round(k)
    s1, s2, s1_again = runner.seeds
    assert s1 != s2 and s1 == s1_again
    assert s1 != 7 and s2 != 7 and 0 <= s1 < 2**31 and 0 <= s2 < 2**31
    assert round_seed(7, 0) == 7 and round_seed(None, 1) is None
    other, loop_b = make_loop(seed=8)
    loop_b._iter = 2
    loop_b._enter_round(1)
    assert other.seeds[0] not in (s1, s2)

    dataset = ConcatDataset([list(range(12)), list(range(40))])

    def stream(seed, n=64):
        sampler = MultiSourceSampler(
            dataset, batch_size=4, source_ratio=[1, 1], seed=seed)
        return [(int(key), key.sample_seed)
                for key in itertools.islice(iter(sampler), n)]

    first, second = stream(s1), stream(s2)
    assert stream(s1_again) == first
    assert [i for i, _ in first] != [i for i, _ in second]
    # the same (index, pass) of a sample is augmented differently
    assert not set(first) & set(second)


def test_rank0_bn_statistics_before_pseudo_labels_and_validation(
        monkeypatch):
    """The loop puts rank 0's buffers on every rank (sync_buffers_from_rank0,
    tested on two gloo ranks in tests/test_pseudo_labels/test_generator.py)
    right before each pseudo-label round hook and each validation, and not
    before round 0 (no pseudo-labels)."""
    from mmsss.engine.runner import SelfTrainingRoundsLoop
    from mmsss.engine.runner import self_training_loop as stl
    events = []
    runner = _FakeRunner()
    runner.call_hook = lambda name, **kw: events.append(
        (name, kw.get('round_idx')))
    runner.model = type('M', (), {'train': lambda self: None})()
    runner.val_loop = type(
        'V', (), {'run': lambda self: events.append(('val', None))})()
    monkeypatch.setattr(stl, 'sync_buffers_from_rank0',
                        lambda model: events.append(('sync', model)))
    loop = SelfTrainingRoundsLoop(
        runner,
        _FakeLoader(),
        rounds=[dict(iters=2), dict(iters=2, label_ratio=0.5)],
        round_dataloader=dict(
            dataset=dict(datasets=[dict(), dict(ann_file=None)])),
        lr_schedule='continue',
        save_round_ends=False,
        val_interval=3)

    def run_iter(data_batch):
        loop._iter += 1

    loop.run_iter = run_iter
    loop.run()
    sync = ('sync', runner.model)
    assert [e for e in events if e[0] != 'before_train_epoch'] == [
        ('before_train', None), ('before_train_round', 0),
        sync, ('val', None),  # round 0's end
        sync, ('before_train_round', 1),
        sync, ('val', None),  # iteration 3 (val_interval)
        sync, ('val', None),  # round 1's end
        ('after_train_epoch', None), ('after_train', None)]


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


# ---------------------------------------------------------------------------
# Rounds given in the official epochs (issue 16, point 3)


def _official_loader_len(num_images, per_gpu, world):
    """Length of the official training loader: a DistributedSampler over
    ``num_images`` (rank 0 of ``world``) in a DataLoader with
    ``drop_last=True`` (CVMI-Lab/DARS tool/train.py lines 437-447)."""
    from torch.utils.data import DataLoader, DistributedSampler
    data = list(range(num_images))
    sampler = DistributedSampler(
        data, num_replicas=world, rank=0, shuffle=False)
    return len(DataLoader(data, batch_size=per_gpu, sampler=sampler,
                          drop_last=True))


@pytest.mark.parametrize('num_images', [1, 7, 372, 744, 1464, 2231, 2603])
@pytest.mark.parametrize('per_gpu,world', [(1, 1), (2, 4), (4, 4), (8, 2),
                                           (3, 5), (16, 1)])
def test_iters_per_epoch_is_the_official_loader_length(
        num_images, per_gpu, world):
    from mmsss.engine.runner.self_training_loop import iters_per_epoch
    want = max(1, _official_loader_len(num_images, per_gpu, world))
    assert iters_per_epoch(num_images, per_gpu, world) == want


@pytest.mark.parametrize(
    'epochs,num_images,per_gpu,world,iters',
    [
        # Cityscapes 1/8 PSPNet: round 0 over the 372 labeled images at
        # 4 GPUs x 4; rounds 1-2 over the 2,603 unlabeled at 4 GPUs x (2+2)
        (200, 372, 4, 4, 4600),
        (200, 2603, 2, 4, 65000),
        # the crop-361 yamls: 2 GPUs x 8, then 2 GPUs x (4+4): same lengths
        (200, 372, 8, 2, 4600),
        (200, 2603, 4, 2, 65000),
        # Cityscapes 1/4 (8 GPUs in the 713 yamls; 4 GPUs x 4 here)
        (200, 744, 2, 8, 9200),
        (200, 744, 4, 4, 9200),
        (200, 2231, 1, 8, 55800),
        (200, 2231, 2, 4, 55800),
        # DeepLabV2 1/8: round 0 over labeled_match_len (2,603) at 2 x 8,
        # rounds 1-2 at 2 GPUs x (2+2)
        (200, 2603, 8, 2, 32400),
        (200, 2603, 2, 2, 130200),
        # VOC 1,464: 50 epochs per round, 4 GPUs x 4 then 4 x (2+2)
        (50, 1464, 4, 4, 4550),
        (50, 9118, 2, 4, 57000),
        # fractional epochs round up, without float noise
        (0.1, 300, 1, 1, 30),
        (0.25, 10, 1, 1, 3),
    ])
def test_epoch_iterations_of_the_official_recipes(epochs, num_images,
                                                  per_gpu, world, iters):
    from mmsss.engine.runner.self_training_loop import epoch_iterations
    assert epoch_iterations(epochs, num_images, per_gpu, world) == iters


@pytest.mark.parametrize('batch,ratio', [(4, [1, 1]), (8, [1, 1]),
                                         (6, [1, 2]), (5, [1, 1]),
                                         (7, [2, 5])])
def test_source_counts_are_multi_source_samplers(batch, ratio):
    from torch.utils.data import ConcatDataset

    from mmsss.datasets.samplers import MultiSourceSampler
    from mmsss.engine.runner.self_training_loop import source_counts
    ds = ConcatDataset([list(range(10)), list(range(20))])
    sampler = MultiSourceSampler(ds, batch, ratio, seed=0)
    assert source_counts(batch, ratio) == sampler.num_per_source


def _synthetic_set(root, ann_file, labeled=True):
    return dict(
        type='SemiSyntheticDataset',
        data_root=root,
        ann_file=ann_file,
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClass'),
        is_labeled=labeled,
        pipeline=[])


class _SizedLoader(_FakeLoader):

    def __init__(self, n, batch_size):
        super().__init__()
        self.dataset = list(range(n))
        self.batch_size = batch_size


@pytest.mark.parametrize('world', [1, 2, 4])
def test_rounds_in_epochs_become_iterations(synthetic_voc_root, monkeypatch,
                                            world):
    """rounds given in epochs: round 0 over the runner's training set at its
    batch, later rounds over the unlabeled set of the PseudoLabelRoundHook
    (or the labeled set of round_dataloader) at their share of
    MultiSourceSampler's batch, for 1, 2 and 4 ranks."""
    from mmsss.engine.hooks import PseudoLabelRoundHook
    from mmsss.engine.runner import SelfTrainingRoundsLoop
    from mmsss.engine.runner import self_training_loop as stl
    monkeypatch.setattr(stl, 'get_world_size', lambda: world)
    root = synthetic_voc_root
    n_lab = len(open(osp.join(root, 'splits/1-8/labeled.txt')).readlines())
    n_unl = len(open(osp.join(root,
                              'splits/1-8/unlabeled.txt')).readlines())
    assert (n_lab, n_unl) == (6, 42)
    runner = _FakeRunner()
    runner.hooks = [
        PseudoLabelRoundHook(
            unlabeled_dataset=_synthetic_set(
                root, 'splits/1-8/unlabeled.txt', labeled=False))
    ]
    round_dataloader = dict(
        batch_size=6,
        sampler=dict(type='MultiSourceSampler', batch_size=6,
                     source_ratio=[1, 2]),  # 2 labeled + 4 pseudo per GPU
        dataset=dict(
            type='ConcatDataset',
            datasets=[
                _synthetic_set(root, 'splits/1-8/labeled.txt'),
                _synthetic_set(root, None)
            ]))
    loop = SelfTrainingRoundsLoop(
        runner,
        _SizedLoader(n_lab, batch_size=1),
        rounds=[
            dict(epochs=3),  # 'labeled' by default in round 0
            dict(epochs=2, label_ratio=0.4),  # 'unlabeled' by default
            dict(epochs=1.5, epoch_over='labeled', label_ratio=0.5),
            dict(iters=5, label_ratio=0.5),
        ],
        round_dataloader=round_dataloader)
    ceil_div = lambda a, b: -(-a // b)  # noqa: E731
    want = [
        3 * max(1, ceil_div(n_lab, world) // 1),
        2 * max(1, ceil_div(n_unl, world) // 4),
        -(-3 * max(1, ceil_div(n_lab, world) // 2) // 2),  # ceil(1.5 x)
        5,
    ]
    assert loop.round_iters == want
    assert loop.round_starts == [0, want[0], sum(want[:2]), sum(want[:3])]
    assert loop.max_iters == sum(want)
    assert [r.get('epoch_over') for r in loop.rounds] == [
        'labeled', 'unlabeled', 'labeled', None]
    assert not loop.epoch_based  # round 3 in iterations
    if world == 1:
        assert want == [18, 20, 5, 5]


def test_rounds_in_epochs_need_what_they_count(synthetic_voc_root):
    from mmsss.engine.runner import SelfTrainingRoundsLoop
    root = synthetic_voc_root
    rd = dict(
        batch_size=4,
        sampler=dict(type='MultiSourceSampler', batch_size=4,
                     source_ratio=[1, 1]),
        dataset=dict(datasets=[
            _synthetic_set(root, 'splits/1-8/labeled.txt'),
            _synthetic_set(root, None)
        ]))
    rounds = [dict(epochs=1), dict(epochs=1, label_ratio=0.5)]
    with pytest.raises(ValueError, match='PseudoLabelRoundHook'):
        SelfTrainingRoundsLoop(_FakeRunner(), _SizedLoader(6, 2), rounds,
                               round_dataloader=rd)
    bad = dict(rd, sampler=dict(type='InfiniteSampler'))
    with pytest.raises(ValueError, match='MultiSourceSampler'):
        SelfTrainingRoundsLoop(
            _FakeRunner(), _SizedLoader(6, 2),
            [dict(epochs=1), dict(epochs=1, epoch_over='labeled',
                                  label_ratio=0.5)],
            round_dataloader=bad)
    for r, msg in ((dict(epochs=1, iters=2), 'exactly one of iters'),
                   (dict(), 'exactly one of iters'),
                   (dict(epochs=0), 'epochs > 0'),
                   (dict(epochs=1, epoch_over='pseudo'), 'epoch_over'),
                   (dict(iters=3, epoch_over='labeled'), 'epoch_over')):
        with pytest.raises(ValueError, match=msg):
            SelfTrainingRoundsLoop(_FakeRunner(), _SizedLoader(6, 2), [r])


def _official_lrs(base, epochs, per_epoch, power=0.9):
    """The learning rate of every step of the official DARS rounds, as
    tool/train.py and tool/train_func.py set it: round k resumes with
    start_epoch = the checkpoint's epoch and ``epochs`` raised to the
    cumulative total, runs ``per_epoch[k]`` iterations per epoch, and
    after every step sets poly(base, epoch * L + i + 1, epochs * L); the
    first step of a resumed round uses the optimizer's restored lr."""
    lrs, lr, total = [], base, 0
    for e_k, L in zip(epochs, per_epoch):
        start_epoch, total = total, total + e_k
        max_iter = total * L
        for epoch in range(start_epoch, total):
            for i in range(L):
                lrs.append(lr)  # this step trains with the current lr
                current_iter = epoch * L + i + 1
                lr = base * (1 - current_iter / max_iter)**power
    return lrs


def test_round_poly_lr_in_epochs_is_the_official_schedule():
    """RoundPolyLR with round_spans = epochs against a step-by-step
    emulation of the official loop whose epochs have different lengths per
    round (round 0 short, later rounds long, as Cityscapes' 23 vs 325
    iterations), at every iteration, also when built mid-round (resume)."""
    from mmsss.engine.schedulers import RoundPolyLR
    epochs, per_epoch = [4, 4, 4], [3, 11, 11]
    iters = [e * L for e, L in zip(epochs, per_epoch)]
    ends = [sum(iters[:k + 1]) for k in range(3)]
    want = _official_lrs(0.01, epochs, per_epoch)
    assert len(want) == ends[-1] == 100

    def sched(last_step=-1):
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=0.01)
        for g in opt.param_groups:
            g['initial_lr'] = 0.01
        return opt, RoundPolyLR(opt, ends, round_spans=epochs,
                                last_step=last_step)

    opt, s = sched()
    got = []
    for t in range(ends[-1]):
        got.append(opt.param_groups[0]['lr'])
        s.step()
    assert opt.param_groups[0]['lr'] == 0.  # after the last round
    for t in range(ends[-1]):
        if t in ends[:-1]:  # first step of a resumed official round: 0
            assert want[t] == pytest.approx(0., abs=1e-12)
            continue
        assert got[t] == pytest.approx(want[t], rel=1e-9), t
    # round k starts at (1 - E_{k-1}/E_k)^0.9 of the base (epochs 4, 8, 12)
    assert got[ends[0]] == pytest.approx(0.01 * 0.5**0.9)
    assert got[ends[1]] == pytest.approx(0.01 * (1 / 3)**0.9)
    # in iterations the horizon would be 12 / 56 / 100: round 1 would start
    # at 0.84x the base instead of 0.54x
    assert (1 - 12 / 56)**0.9 > 0.8
    # built at a resume point inside round 1 (and at round 2's start): the
    # value depends on the iteration only
    for resume in (20, ends[1]):
        opt, s = sched(last_step=resume - 1)
        for t in range(resume, ends[-1]):
            assert opt.param_groups[0]['lr'] == pytest.approx(
                got[t], rel=1e-12), (resume, t)
            s.step()


def test_round_poly_lr_restart():
    from mmsss.engine.schedulers import RoundPolyLR
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1)
    s = RoundPolyLR(opt, [4, 10], round_spans=[1, 7], restart=True)
    got = []
    for _ in range(10):
        got.append(opt.param_groups[0]['lr'])
        s.step()
    want = [0.1 * (1 - j / 4)**0.9 for j in range(4)] + \
        [0.1 * (1 - j / 6)**0.9 for j in range(6)]
    assert got == pytest.approx(want, rel=1e-12)
    with pytest.raises(ValueError, match='round_spans'):
        RoundPolyLR(opt, [4, 10], round_spans=[1])


def _epoch_cfg(root, work_dir, name):
    """The synthetic DARS config with rounds in epochs: round 0 = 1 epoch
    over the 6 labeled images at 2 per step (3 iterations), rounds 1-2 =
    0.4 epoch over the 10 unlabeled images at 2 + 2 per step (2
    iterations each)."""
    cfg = dars_cfg(root, work_dir)
    cfg.train_cfg.rounds = [
        dict(epochs=1, epoch_over='labeled'),
        dict(epochs=0.4, epoch_over='unlabeled', label_ratio=0.4,
             ratio_range=(0.75, 1.5)),
        dict(epochs=0.4, epoch_over='unlabeled', label_ratio=0.65,
             ratio_range=(0.75, 2.0)),
    ]
    cfg.visualizer.name = f'dars_epochs_{name}_{id(cfg)}'
    # the hook saves iterations 2, 4, 6 and the last (7); the loop adds the
    # round ends 3 and 5
    cfg.default_hooks.checkpoint.interval = 2
    return cfg


def _logged_lrs(log_dir):
    with open(osp.join(log_dir, 'vis_data/scalars.json')) as f:
        return {r['step']: r['lr'] for r in map(json.loads, f) if 'lr' in r}


def test_rounds_in_epochs_train_and_resume(synthetic_voc_root, tmp_path):
    """A real run with rounds in epochs: the lengths come from the dataset
    sizes, the lr follows the official schedule in epochs (round 1 starts
    at (1 - 1/1.4)^0.9), and a resume inside round 1 ends at the same
    iteration with the same learning rates."""
    from mmengine.runner import Runner
    wd = str(tmp_path / 'run')
    runner = Runner.from_cfg(_epoch_cfg(synthetic_voc_root, wd, 'a'))
    runner.train()
    loop = runner.train_loop
    assert loop.round_iters == [3, 2, 2] and runner.iter == 7
    assert loop.epoch_based
    logged = _logged_lrs(runner.log_dir)
    assert sorted(logged) == list(range(1, 8))
    spans, ends = [1, 0.4, 0.4], [3, 5, 7]
    starts = [0, 3, 5]

    def want(t):
        k = next(i for i, e in enumerate(ends) if t < e)
        done = sum(spans[:k])
        pos = done + (t - starts[k]) / (ends[k] - starts[k]) * spans[k]
        return 0.05 * (1 - pos / (done + spans[k]))**0.9

    for step, lr in logged.items():
        assert lr == pytest.approx(want(step - 1), rel=1e-6), step
    assert logged[4] == pytest.approx(0.05 * (1 - 1 / 1.4)**0.9)
    with open(osp.join(wd, 'pseudo_labels/round_1/summary.json')) as f:
        assert json.load(f)['iter'] == 3
    ckpts = sorted(int(f[5:-4]) for f in os.listdir(wd)
                   if f.startswith('iter_'))
    assert ckpts == [2, 3, 4, 5, 6, 7]
    # a round-end checkpoint resumes at the next round's first iteration
    ckpt, by_hook = (torch.load(osp.join(wd, f'iter_{i}.pth'),
                                map_location='cpu', weights_only=False)
                     for i in (3, 4))
    assert ckpt['meta']['iter'] == 3 and by_hook['meta']['iter'] == 4
    assert set(ckpt) == set(by_hook)  # optimizer, schedulers, message hub
    assert ckpt['message_hub']['runtime_info']['iter'] == 2  # as the hook's
    assert by_hook['message_hub']['runtime_info']['iter'] == 3
    # resume inside round 1 (after 4 of the 7 iterations)
    cfg = _epoch_cfg(synthetic_voc_root, wd, 'b')
    cfg.load_from = osp.join(wd, 'iter_4.pth')
    cfg.resume = True
    resumed = Runner.from_cfg(cfg)
    resumed.train()
    assert resumed.iter == 7
    assert resumed.train_loop.round_iters == [3, 2, 2]
    again = _logged_lrs(resumed.log_dir)
    assert sorted(again) == [5, 6, 7]
    for step in again:
        assert again[step] == pytest.approx(logged[step], rel=1e-9), step
    # resume from the loop's round-end checkpoint: round 1's labels are
    # reused (same teacher weights), the run ends at the same iteration
    summary = osp.join(wd, 'pseudo_labels/round_1/summary.json')
    before = os.stat(summary).st_mtime_ns
    cfg = _epoch_cfg(synthetic_voc_root, wd, 'c')
    cfg.load_from = osp.join(wd, 'iter_3.pth')
    cfg.resume = True
    again = Runner.from_cfg(cfg)
    again.train()
    assert again.iter == 7
    assert os.stat(summary).st_mtime_ns == before
    lrs = _logged_lrs(again.log_dir)
    assert sorted(lrs) == [4, 5, 6, 7]
    for step in lrs:
        assert lrs[step] == pytest.approx(logged[step], rel=1e-9), step


@pytest.mark.parametrize('schedule', ['extend', 'restart'])
def test_whole_run_poly_becomes_round_poly(schedule, synthetic_voc_root):
    """A whole-run PolyLR is replaced by a RoundPolyLR over the rounds'
    boundaries: 'extend' counts epochs when every round is given in epochs,
    'restart' restarts it in every round; a PolyLR that stops early is
    refused by 'extend'."""
    from mmengine.optim.scheduler import PolyLR

    from mmsss.engine.runner import SelfTrainingRoundsLoop
    from mmsss.engine.schedulers import RoundPolyLR
    runner = _FakeRunner()
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    runner.param_schedulers = [
        PolyLR(opt, power=0.9, eta_min=0., begin=0, by_epoch=False)
    ]
    loop = SelfTrainingRoundsLoop(
        runner, _SizedLoader(8, batch_size=2),
        rounds=[dict(epochs=2), dict(epochs=2, epoch_over='labeled',
                                     label_ratio=0.5)],
        round_dataloader=dict(
            sampler=dict(type='MultiSourceSampler', batch_size=2,
                         source_ratio=[1, 1]),
            dataset=dict(datasets=[
                _synthetic_set(synthetic_voc_root,
                               'splits/1-8/labeled.txt'), {}
            ])),
        lr_schedule=schedule)
    # 2 x 8 / 2 iterations, then 2 x 6 labeled images / 1 per step
    assert loop.round_iters == [8, 12] and loop.epoch_based
    loop.prepare_lr_schedule()
    [s] = runner.param_schedulers
    assert isinstance(s, RoundPolyLR) and s.round_ends == [8, 20]
    assert s.restart == (schedule == 'restart')
    assert s.round_spans == [2., 2.]
    # round 1's first iteration: epoch 2 of 4 ('extend'), or a restart
    want = 0.5**0.9 if schedule == 'extend' else 1.
    assert s.value_at(8)[0] == pytest.approx(0.1 * want)
    runner.param_schedulers = [
        PolyLR(opt, power=0.9, eta_min=0., begin=0, end=10, by_epoch=False)
    ]
    loop.lr_schedule = 'extend'
    with pytest.raises(ValueError, match='one iteration-based PolyLR'):
        loop.prepare_lr_schedule()


def test_round0_ratio_range_reaches_the_round0_dataloader():
    from mmsss.engine.runner import SelfTrainingRoundsLoop
    runner = _FakeRunner()
    pipeline = [dict(type='RandomResize', scale=(8, 8), ratio_range=(1, 1))]
    cfg = dict(dataset=dict(pipeline=pipeline))
    SelfTrainingRoundsLoop(
        runner, cfg, rounds=[dict(iters=2, ratio_range=(0.25, 1.0))])
    [built] = runner.built
    assert built['dataset']['pipeline'][0]['ratio_range'] == (0.25, 1.0)
    assert pipeline[0]['ratio_range'] == (1, 1)  # the config is untouched
    with pytest.raises(ValueError, match='no RandomResize'):
        SelfTrainingRoundsLoop(
            _FakeRunner(), dict(dataset=dict(pipeline=[])),
            rounds=[dict(iters=2, ratio_range=(0.25, 1.0))])
    with pytest.raises(ValueError, match='as a config'):
        SelfTrainingRoundsLoop(
            _FakeRunner(), _FakeLoader(),
            rounds=[dict(iters=2, ratio_range=(0.25, 1.0))])
