"""Checkpoint safe globals (torch weights_only loads) and the tools scripts.

The end-to-end part trains a tiny plain mmseg EncoderDecoder with
``tools/train.py`` in a subprocess (2 iterations), resumes it to 4, tests
the last checkpoint with ``tools/test.py`` and loads it with plain
``torch.load`` with and without ``import mmsss``.
"""
import importlib.util
import io
import os
import os.path as osp
import pickle
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from PIL import Image

from mmengine.logging.history_buffer import HistoryBuffer

import mmsss  # noqa: F401  (registers the safe globals)
from mmsss.utils import checkpoint as ckpt_utils

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(REPO, 'tools')

needs_safe_globals = pytest.mark.skipif(
    not hasattr(torch.serialization, 'get_unsafe_globals_in_checkpoint'),
    reason='torch < 2.6 has no weights_only default / tuple safe globals')


def _env():
    env = dict(os.environ)
    env['PYTHONPATH'] = REPO + os.pathsep + env.get('PYTHONPATH', '')
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    env.pop('TORCH_FORCE_WEIGHTS_ONLY_LOAD', None)
    env.setdefault('OMP_NUM_THREADS', '2')
    return env


def _run(cmd, cwd, timeout=300):
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout)
    assert proc.returncode == 0, (f'{cmd} failed ({proc.returncode}):\n'
                                  f'{proc.stdout[-6000:]}')
    return proc.stdout


# ---------------------------------------------------------------- tiny setup
def _write_tiny_dataset(root, num_train=4, num_val=2, size=32, seed=0):
    """Images + PNG labels in mmseg's img_dir/ann_dir layout (3 classes)."""
    rng = np.random.default_rng(seed)
    for split, num in (('train', num_train), ('val', num_val)):
        os.makedirs(osp.join(root, 'img_dir', split))
        os.makedirs(osp.join(root, 'ann_dir', split))
        for i in range(num):
            label = np.zeros((size, size), np.uint8)
            label[:, size // 2:] = 1
            label[size // 2:, :size // 4] = 2
            label = np.roll(label, int(rng.integers(0, size)), axis=1)
            img = rng.integers(0, 60, (size, size, 3)).astype(np.uint8)
            img += (label[..., None] * 80).astype(np.uint8)  # learnable
            Image.fromarray(img).save(
                osp.join(root, 'img_dir', split, f'{i:03d}.png'))
            Image.fromarray(label).save(
                osp.join(root, 'ann_dir', split, f'{i:03d}.png'))


TINY_CONFIG = '''
default_scope = 'mmseg'
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0,
        seg_pad_val=255, size=(32, 32)),
    backbone=dict(
        type='ResNet', depth=18, in_channels=3, stem_channels=8,
        base_channels=8, num_stages=2, strides=(1, 2), dilations=(1, 1),
        out_indices=(1, ), norm_cfg=norm_cfg, norm_eval=False),
    decode_head=dict(
        type='FCNHead', in_channels=16, in_index=0, channels=8, num_convs=1,
        concat_input=False, dropout_ratio=0.0, num_classes=3,
        norm_cfg=norm_cfg, align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
dataset = dict(
    type='BaseSegDataset', data_root={data_root!r}, img_suffix='.png',
    seg_map_suffix='.png',
    metainfo=dict(classes=('bg', 'a', 'b'),
                  palette=[[0, 0, 0], [255, 0, 0], [0, 255, 0]]))
train_pipeline = [
    dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5), dict(type='PackSegInputs')]
test_pipeline = [
    dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')]
train_dataloader = dict(
    batch_size=2, num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        **dataset, pipeline=train_pipeline,
        data_prefix=dict(img_path='img_dir/train',
                         seg_map_path='ann_dir/train')))
val_dataloader = dict(
    batch_size=1, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        **dataset, pipeline=test_pipeline,
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val')))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.5, by_epoch=False, begin=0, end=2),
    dict(type='PolyLR', power=0.9, eta_min=1e-4, by_epoch=False, begin=2,
         end=4),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=2, val_interval=2)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=1, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=2,
                    save_best='mIoU'),
    sampler_seed=dict(type='DistSamplerSeedHook'))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0)
'''


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """Train 2 iters, resume to 4; return paths and logs."""
    root = str(tmp_path_factory.mktemp('tiny_seg'))
    data_root = osp.join(root, 'data')
    _write_tiny_dataset(data_root)
    cfg_path = osp.join(root, 'tiny_fcn.py')
    with open(cfg_path, 'w') as f:
        f.write(TINY_CONFIG.format(data_root=data_root))
    work_dir = osp.join(root, 'work_dir')
    train = [
        sys.executable,
        osp.join(TOOLS, 'train.py'), cfg_path, '--work-dir', work_dir
    ]
    log1 = _run(train, cwd=root)
    log2 = _run(
        train + [
            '--resume', '--cfg-options', 'train_cfg.max_iters=4',
            'train_cfg.val_interval=4'
        ],
        cwd=root)
    return dict(
        root=root, cfg=cfg_path, work_dir=work_dir, log1=log1, log2=log2)


@needs_safe_globals
def test_train_then_resume_continues(trained):
    work_dir = trained['work_dir']
    assert osp.isfile(osp.join(work_dir, 'iter_2.pth'))
    assert 'Iter(train) [2/2]' in trained['log1']
    log2 = trained['log2']
    assert 'resumed epoch: 0, iter: 2' in log2, log2[-3000:]
    assert 'Iter(train) [3/4]' in log2 and 'Iter(train) [4/4]' in log2
    assert 'Iter(train) [1/4]' not in log2
    ckpt = torch.load(osp.join(work_dir, 'iter_4.pth'), map_location='cpu')
    assert ckpt['meta']['iter'] == 4
    # optimizer, scheduler and message hub state came through the resume
    assert ckpt['optimizer']['state'], 'SGD momentum buffers missing'
    assert [s['_global_step'] for s in ckpt['param_schedulers']] == [4, 4]
    hub = ckpt['message_hub']
    assert hub['runtime_info']['iter'] == 3  # hub holds the last iter run
    loss_hist = hub['log_scalars']['train/loss'].data[0]
    assert len(loss_hist) == 4  # 2 iters before and 2 after the resume
    # LinearLR (x0.5 -> x1) over iters 0-1, then PolyLR down to eta_min
    np.testing.assert_allclose(hub['log_scalars']['train/lr'].data[0],
                               [0.005, 0.01, 0.01, 1e-4])
    # CheckpointHook(save_best) stored a numpy scalar (IoUMetric's output)
    assert isinstance(hub['runtime_info']['best_score'], np.floating)


@needs_safe_globals
def test_test_script_reports_miou(trained):
    out = _run([
        sys.executable,
        osp.join(TOOLS, 'test.py'), trained['cfg'],
        osp.join(trained['work_dir'], 'iter_4.pth'), '--work-dir',
        osp.join(trained['root'], 'test_dir')
    ],
               cwd=trained['root'])
    assert 'Load checkpoint from' in out
    match = re.search(r'Iter\(test\).*mIoU: ([0-9.]+)', out)
    assert match, out[-3000:]
    assert 0.0 <= float(match.group(1)) <= 100.0


@needs_safe_globals
def test_plain_torch_load_needs_registration(trained):
    """Without mmsss the default weights-only load fails; with it, works."""
    code = textwrap.dedent('''
        import pickle, sys, torch
        path = sys.argv[1]
        try:
            torch.load(path, map_location='cpu')
            print('PLAIN_LOAD_OK')
        except pickle.UnpicklingError as e:
            print('PLAIN_LOAD_FAILED', str(e).splitlines()[-3:])
        assert 'mmsss' not in sys.modules
        import mmsss
        ckpt = torch.load(path, map_location='cpu')
        print('MMSSS_LOAD_OK', ckpt['meta']['iter'])
    ''')
    out = _run([
        sys.executable, '-c', code,
        osp.join(trained['work_dir'], 'iter_4.pth')
    ],
               cwd=trained['root'])
    assert 'PLAIN_LOAD_FAILED' in out and 'PLAIN_LOAD_OK' not in out, out
    assert 'MMSSS_LOAD_OK 4' in out, out


# ------------------------------------------------------------- unit tests
class _NotAllowed:

    def __init__(self):
        self.x = 1


class _GetattrPayload:
    """Pickles as ``getattr(obj, name)``, like HistoryBuffer's methods."""

    def __init__(self, obj, name):
        self.obj, self.name = obj, name

    def __reduce__(self):
        return getattr, (self.obj, self.name)


def _roundtrip(obj, legacy=False):
    buf = io.BytesIO()
    torch.save(obj, buf, _use_new_zipfile_serialization=not legacy)
    return buf.getvalue()


@needs_safe_globals
def test_registration_is_idempotent_and_in_torch():
    before = len(torch.serialization.get_safe_globals())
    assert ckpt_utils.register_checkpoint_safe_globals() is True
    assert ckpt_utils.register_checkpoint_safe_globals() is True
    safe = torch.serialization.get_safe_globals()
    assert len(safe) == before
    for entry in ckpt_utils.get_checkpoint_safe_globals():
        assert entry in safe


@needs_safe_globals
def test_allow_list_is_explicit_and_narrow():
    import builtins
    import functools
    import operator

    names = {}
    for entry in ckpt_utils.get_checkpoint_safe_globals():
        if isinstance(entry, tuple):
            obj, name = entry
        else:
            obj, name = entry, f'{entry.__module__}.{entry.__qualname__}'
        names[name] = obj
    # documented one-to-one
    assert set(names) == set(ckpt_utils.SAFE_GLOBAL_SOURCES)
    # only numpy, mmengine and the restricted getattr stand-in
    for name in names:
        assert name.split('.')[0] in ('numpy', 'mmengine', 'builtins'), name
    assert [n for n in names if n.startswith('builtins.')] == \
        ['builtins.getattr']
    dangerous = [
        builtins.getattr, builtins.eval, builtins.exec, builtins.compile,
        builtins.__import__, builtins.setattr, builtins.open, builtins.type,
        builtins.object, functools.partial, functools.reduce,
        operator.attrgetter, operator.methodcaller, os.system, np.load,
        np.fromfile, torch.load, subprocess.Popen, pickle.loads
    ]
    for obj in names.values():
        assert all(obj is not bad for bad in dangerous), obj
    assert names['builtins.getattr'] is ckpt_utils._history_buffer_getattr
    # the stand-in only resolves HistoryBuffer's statistics methods
    assert ckpt_utils._history_buffer_getattr(HistoryBuffer, 'mean') is \
        HistoryBuffer.mean
    for obj, attr in [(HistoryBuffer, '__init__'), (np.ndarray, 'tofile'),
                      (torch.Tensor, 'mean'), (os, 'system')]:
        with pytest.raises(pickle.UnpicklingError):
            ckpt_utils._history_buffer_getattr(obj, attr)


@needs_safe_globals
def test_non_allowed_globals_still_rejected():
    with pytest.raises(pickle.UnpicklingError, match='_NotAllowed'):
        torch.load(io.BytesIO(_roundtrip({'x': _NotAllowed()})))
    for obj, attr in [(np.ndarray, 'tofile'), (HistoryBuffer, '__init__'),
                      (torch.Tensor, 'new_empty')]:
        with pytest.raises(pickle.UnpicklingError, match='not allowed'):
            torch.load(io.BytesIO(_roundtrip([_GetattrPayload(obj, attr)])))
    # object arrays stay rejected (ObjectDType and the items are not allowed)
    arr = np.empty(1, dtype=object)
    arr[0] = _NotAllowed()
    with pytest.raises(pickle.UnpicklingError):
        torch.load(io.BytesIO(_roundtrip({'a': arr})))


@needs_safe_globals
@pytest.mark.parametrize('legacy', [False, True])
def test_message_hub_objects_roundtrip(legacy):
    buf = HistoryBuffer([0.5, 0.25], [1, 2])
    obj = {
        'buf': buf,
        'f64': np.float64(71.25),
        'f32': np.float32(1.5),
        'i64': np.int64(7),
        'flag': np.bool_(True),
        'arr': np.arange(6, dtype=np.uint8).reshape(2, 3),
    }
    out = torch.load(io.BytesIO(_roundtrip(obj, legacy)))
    np.testing.assert_array_equal(out['buf'].data[0], [0.5, 0.25])
    np.testing.assert_array_equal(out['buf'].data[1], [1, 2])
    assert out['buf'].mean() == pytest.approx(buf.mean())
    for key in ('f64', 'f32', 'i64', 'flag'):
        assert type(out[key]) is type(obj[key]) and out[key] == obj[key]
    np.testing.assert_array_equal(out['arr'], obj['arr'])
    assert out['arr'].dtype == np.uint8


@needs_safe_globals
def test_numpy1_module_paths_load():
    """Checkpoints written under numpy 1.x name ``numpy.core.multiarray``."""
    obj = {'arr': np.linspace(0, 1, 5), 'score': np.float64(42.5)}
    raw = _roundtrip(obj, legacy=True)
    assert raw.count(b'numpy._core.multiarray') >= 2
    old = raw.replace(b'numpy._core.multiarray', b'numpy.core.multiarray')
    assert b'numpy._core' not in old
    out = torch.load(io.BytesIO(old))
    np.testing.assert_array_equal(out['arr'], obj['arr'])
    assert out['score'] == 42.5 and isinstance(out['score'], np.float64)


# ------------------------------------------------------ tools: pure logic
def _load_tool(name):
    spec = importlib.util.spec_from_file_location(
        f'_mmsss_tool_{name}', osp.join(TOOLS, f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def train_tool():
    return _load_tool('train')


@pytest.fixture(autouse=True)
def _local_rank_env(monkeypatch):
    # parse_args() exports LOCAL_RANK when unset; keep it out of os.environ
    monkeypatch.setenv('LOCAL_RANK', '0')


def _cfg_file(tmp_path, wrapper='OptimWrapper'):
    path = tmp_path / 'cfg.py'
    path.write_text(f'optim_wrapper = dict(type={wrapper!r}, '
                    "optimizer=dict(type='SGD', lr=0.1))\nresume = False\n")
    return str(path)


@pytest.mark.parametrize('cuda,bf16,expected', [(False, False, None),
                                                (True, False, 'float16'),
                                                (True, True, 'bfloat16')])
def test_train_amp(train_tool, tmp_path, monkeypatch, cuda, bf16, expected):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: cuda)
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda *a, **k: bf16)
    args = train_tool.parse_args([_cfg_file(tmp_path), '--amp'])
    cfg = train_tool.build_cfg(args)
    if expected is None:
        assert cfg.optim_wrapper.type == 'OptimWrapper'
        assert 'dtype' not in cfg.optim_wrapper
    else:
        assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
        assert cfg.optim_wrapper.dtype == expected
        assert cfg.optim_wrapper.loss_scale == 'dynamic'
    assert cfg.default_scope == 'mmseg'
    assert cfg.work_dir == osp.join('./work_dirs', 'cfg')


def test_train_amp_rejects_other_wrappers(train_tool, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    args = train_tool.parse_args(
        [_cfg_file(tmp_path, 'OptimWrapperDict'), '--amp'])
    with pytest.raises(ValueError, match='OptimWrapperDict'):
        train_tool.build_cfg(args)
    args = train_tool.parse_args(
        [_cfg_file(tmp_path, 'AmpOptimWrapper'), '--amp'])
    assert train_tool.build_cfg(args).optim_wrapper.type == 'AmpOptimWrapper'


def test_train_resume_and_options(train_tool, tmp_path):
    cfg_path = _cfg_file(tmp_path)
    cfg = train_tool.build_cfg(train_tool.parse_args([cfg_path]))
    assert cfg.resume is False and cfg.launcher == 'none'
    cfg = train_tool.build_cfg(
        train_tool.parse_args([cfg_path, '--resume', '--work-dir', 'w']))
    assert cfg.resume is True and cfg.load_from is None and cfg.work_dir == 'w'
    cfg = train_tool.build_cfg(
        train_tool.parse_args([
            cfg_path, '--resume', 'w/iter_8.pth', '--cfg-options',
            'optim_wrapper.optimizer.lr=0.5', '--launcher', 'pytorch',
            '--local-rank', '0'
        ]))
    assert cfg.resume is True and cfg.load_from == 'w/iter_8.pth'
    assert cfg.optim_wrapper.optimizer.lr == 0.5
    assert cfg.launcher == 'pytorch'


# ------------------------------------------------------ tools: shell scripts
def _fake_exe(directory, name):
    path = osp.join(directory, name)
    with open(path, 'w') as f:
        f.write('#!/usr/bin/env bash\nprintf "%s\\n" "$0" "$@"\n')
    os.chmod(path, 0o755)
    return path


def _script_argv(script, args, env_extra, tmp_path):
    env = dict(os.environ, **env_extra)
    env['PATH'] = str(tmp_path) + os.pathsep + env['PATH']
    proc = subprocess.run(
        ['bash', osp.join(TOOLS, script)] + args,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=30)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()[1:]


def test_dist_scripts_call_torchrun(tmp_path):
    fake = _fake_exe(str(tmp_path), 'fakepython')
    argv = _script_argv(
        'dist_train.sh', ['cfg.py', '4', '--amp', '--cfg-options', 'a=1 2'],
        dict(
            PYTHON=fake,
            NNODES='2',
            NODE_RANK='1',
            PORT='1234',
            MASTER_ADDR='10.0.0.1'), tmp_path)
    assert argv == [
        '-m', 'torch.distributed.run', '--nnodes=2', '--node_rank=1',
        '--master_addr=10.0.0.1', '--nproc_per_node=4', '--master_port=1234',
        osp.join(TOOLS, 'train.py'), 'cfg.py', '--launcher', 'pytorch',
        '--amp', '--cfg-options', 'a=1 2'
    ]
    argv = _script_argv('dist_test.sh', ['cfg.py', 'ck.pth', '2', '--tta'],
                        dict(PYTHON=fake), tmp_path)
    assert argv == [
        '-m', 'torch.distributed.run', '--nnodes=1', '--node_rank=0',
        '--master_addr=127.0.0.1', '--nproc_per_node=2', '--master_port=29500',
        osp.join(TOOLS, 'test.py'), 'cfg.py', 'ck.pth', '--launcher',
        'pytorch', '--tta'
    ]


def test_slurm_scripts_call_srun(tmp_path):
    _fake_exe(str(tmp_path), 'srun')
    argv = _script_argv('slurm_train.sh',
                        ['part', 'job', 'cfg.py', 'wd', '--amp'],
                        dict(PYTHON='py', GPUS='8',
                             GPUS_PER_NODE='8'), tmp_path)
    assert argv == [
        '-p', 'part', '--job-name=job', '--gres=gpu:8', '--ntasks=8',
        '--ntasks-per-node=8', '--cpus-per-task=5', '--kill-on-bad-exit=1',
        'py', '-u',
        osp.join(TOOLS, 'train.py'), 'cfg.py', '--work-dir=wd',
        '--launcher=slurm', '--amp'
    ]
    argv = _script_argv('slurm_test.sh', ['part', 'job', 'cfg.py', 'ck.pth'],
                        dict(PYTHON='py', SRUN_ARGS='--quotatype=auto'),
                        tmp_path)
    assert argv[-7:] == [
        '--quotatype=auto', 'py', '-u',
        osp.join(TOOLS, 'test.py'), 'cfg.py', 'ck.pth', '--launcher=slurm'
    ]
