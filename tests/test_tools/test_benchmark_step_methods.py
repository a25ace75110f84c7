"""tools/analysis/benchmark_step.py on every method family, CPU, tiny
networks: the tool runs through ``main`` on the real configs and writes
measured times, and each method's bare closure runs the same network passes
(network, batch size) as its full step: backbone forwards counted with
hooks, against a hand-written list per method."""
import importlib.util
import json
import math
import os.path as osp
from collections import Counter
from types import SimpleNamespace

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# (family, config, extra args, n_labeled, n_unlabeled, crop, backbone
# forwards of one step: (network, images)); ASPP / PSP image pooling needs
# 2 images in every training pass, hence 1 + 2 (DARS, supervised: 2 + 2)
CASES = [
    ('supervised', 'configs/supervised/voc_1-8.py', [], 2, 0, 32,
     [('model', 2)]),
    ('supervised', 'configs/supervised/voc_92_dinov2-b.py', [], 2, 0, 28,
     [('model', 2)]),
    ('dars', 'configs/dars/voc_1464_pspnet50_321.py', [], 2, 2, 32,
     [('model', 2), ('model', 2)]),
    ('mean_teacher', 'configs/mean_teacher/voc_1-8.py', [], 1, 2, 32,
     [('teacher', 2), ('student', 5)]),
    ('imas', 'configs/imas/voc_1-8.py', [], 1, 2, 32,
     [('teacher', 2), ('student', 2), ('student', 7)]),
    ('esl', 'configs/esl/voc_92.py', [], 1, 2, 32,
     [('teacher', 3), ('student', 3)]),
    ('three_stage', 'configs/three_stage/voc_aug_1-8.py', [], 1, 2, 32,
     [('teacher', 3), ('student', 3)]),
    ('unimatch', 'configs/unimatch/voc_92.py', [], 1, 2, 32,
     [('student', 2), ('student', 3), ('student', 4)]),
    ('unimatch', 'configs/unimatch/voc_92_dinov2-b.py', [], 1, 2, 28,
     [('student', 2), ('student', 3), ('student', 4)]),
    ('fixmatch', 'configs/fixmatch/voc_92.py', [], 1, 2, 32,
     [('student', 2), ('student', 3), ('student', 2)]),
    ('unimatch_v2', 'configs/fixmatch/voc_92_dinov2-b.py', [], 1, 2, 28,
     [('teacher', 2), ('student', 1), ('student', 2)]),
]
IDS = [f'{c[0]}-{osp.basename(c[1])[:-3]}' for c in CASES]


def _tool():
    spec = importlib.util.spec_from_file_location(
        'benchmark_step', osp.join(ROOT, 'tools/analysis/benchmark_step.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _backbones(model):
    if hasattr(model, 'student'):
        nets = dict(student=model.student)
        if getattr(model, 'with_teacher', False):
            nets['teacher'] = model.teacher
        return {k: v.backbone for k, v in nets.items()}
    return dict(model=model.backbone)


def _count_forwards(model, fn):
    calls = []
    handles = [
        bb.register_forward_pre_hook(
            lambda m, inp, name=name: calls.append((name, inp[0].shape[0])))
        for name, bb in _backbones(model).items()
    ]
    try:
        fn()
    finally:
        for h in handles:
            h.remove()
    return Counter(calls)


@pytest.mark.parametrize('case', CASES, ids=IDS)
def test_method_runs_and_bare_passes_match_the_step(case, tmp_path, capsys):
    family, config, extra, n_l, n_u, crop, forwards = case
    tool = _tool()
    out = tmp_path / 'bench.json'
    rows = tool.main([
        '--config', osp.join(ROOT, config), '--device', 'cpu', '--tiny',
        '--crop', str(crop), '--n-labeled', str(n_l), '--n-unlabeled',
        str(n_u), '--warmup', '1', '--iters', '1', '--modes', 'fp32',
        '--json', str(out), *extra
    ])
    text = capsys.readouterr().out
    assert config in text.splitlines()[0] and 'ratio' in text
    saved = json.loads(out.read_text())
    assert saved['method'] == family and saved['crop'] == crop
    assert saved['n_labeled'] == n_l and saved['tiny'] is True
    (row, ) = saved['rows']
    assert row['mode'] == 'fp32' and row['peak_mem_gib'] is None  # CPU
    opt_key = 'step_opt_ema_ms' if family == 'imas' else 'opt_ema_ms'
    for key in ('step_ms', 'bare_ms', opt_key):
        assert math.isfinite(row[key]) and row[key] > 0, key
    assert row['ratio'] == pytest.approx(row['step_ms'] / row['bare_ms'])
    assert rows[0]['ratio'] == row['ratio']
    assert sorted(map(tuple, row['passes'])) == sorted(forwards)

    # the bare closure runs the step's network passes, no more, no less
    cfg, method = tool.load_config(osp.join(ROOT, config))
    args = SimpleNamespace(seed=0, crop=crop, depth=None, tiny=True,
                           with_cp=False, semi=[], n_labeled=n_l,
                           n_unlabeled=n_u)
    bench = tool.prepare(method, 'fp32', args, cfg, 'cpu')
    torch.manual_seed(0)
    step = _count_forwards(bench.model, bench.fns['step'])
    bare = _count_forwards(bench.model, bench.fns['bare'])
    assert step == Counter(forwards), step
    assert bare == Counter(forwards), bare


def test_config_batches_and_stage_choice():
    """Per-GPU batch from the samplers; three-stage: stage 2 by default."""
    tool = _tool()
    cfg, method = tool.load_config(
        osp.join(ROOT, 'configs/three_stage/voc_aug_1-8.py'))
    assert method == 'three_stage' and cfg.experiment_name == 'stage2'
    assert tool.config_batch(cfg, method) == (2, 8, 8)
    cfg3, _ = tool.load_config(
        osp.join(ROOT, 'configs/three_stage/voc_aug_1-8.py'), 'stage3')
    assert cfg3.model.aux_branch.type == 'tilde'
    cfg1, method1 = tool.load_config(
        osp.join(ROOT, 'configs/three_stage/voc_aug_1-8.py'), 'stage1')
    assert method1 == 'supervised'
    with pytest.raises(ValueError, match="--stage 'stage9'"):
        tool.load_config(
            osp.join(ROOT, 'configs/three_stage/voc_aug_1-8.py'), 'stage9')
    cfg, method = tool.load_config(
        osp.join(ROOT, 'configs/unimatch/voc_92.py'))
    assert tool.config_batch(cfg, method) == (2, 2, 2)
    cfg, method = tool.load_config(
        osp.join(ROOT, 'configs/dars/voc_1464_pspnet50_321.py'))
    assert tool.config_batch(cfg, method) == (2, 2, 2)  # round_dataloader
    cfg, method = tool.load_config(
        osp.join(ROOT, 'configs/supervised/voc_1-8.py'))
    assert tool.config_batch(cfg, method)[1:] == (0, 0)


def test_shrink_resnet_maps_stage_widths():
    tool = _tool()
    seg = dict(
        backbone=dict(type='ResNetV1c', depth=101),
        decode_head=dict(in_channels=2048, c1_in_channels=256, channels=512,
                         c1_channels=48),
        auxiliary_head=dict(in_channels=1024, channels=256))
    tool.shrink_resnet(seg, tiny=True)
    assert seg['backbone'] == dict(type='ResNetV1c', depth=18,
                                   base_channels=16, stem_channels=16)
    # BasicBlock stage outputs at width 16: 16, 32, 64, 128
    assert seg['decode_head'] == dict(in_channels=128, c1_in_channels=16,
                                      channels=128, c1_channels=12)
    assert seg['auxiliary_head'] == dict(in_channels=64, channels=64)


def test_keep_going_records_a_failed_mode(monkeypatch):
    tool = _tool()

    def run(method, mode, args, cfg, device):
        if mode == 'bf16':
            raise torch.OutOfMemoryError('CUDA out of memory. Tried to '
                                         'allocate 2.00 GiB\nmore text')
        return dict(mode=mode, ratio=1.)

    monkeypatch.setattr(tool, 'run_method_mode', run)
    modes = ['fp32', 'bf16', 'bf16-cl']
    rows = tool.run_modes('imas', modes, SimpleNamespace(keep_going=True),
                          None, 'cpu')
    assert [r['mode'] for r in rows] == modes
    assert rows[1] == dict(
        mode='bf16', ratio=None, peak_mem_gib=None,
        error='OutOfMemoryError: CUDA out of memory. Tried to allocate '
        '2.00 GiB')
    assert rows[2]['ratio'] == 1.
    with pytest.raises(torch.OutOfMemoryError):
        tool.run_modes('imas', modes, SimpleNamespace(keep_going=False),
                       None, 'cpu')
