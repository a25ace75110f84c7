"""tools/train_stages.py on synthetic data: three stages with tiny
iteration counts give three plain f_θ checkpoints and two pseudo-mask sets,
an interrupted pipeline resumes at the stage it stopped in; every
configs/three_stage config derives valid stage configs."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs/three_stage/synthetic_1-8.py')
CONFIGS = sorted(
    glob.glob(osp.join(ROOT, 'configs/three_stage/**/*.py'), recursive=True))


class Crash(RuntimeError):
    pass


def crash_hook_cls():
    from mmengine.hooks import Hook
    from mmseg.registry import HOOKS

    @HOOKS.register_module(name='_ThreeStageTestCrash', force=True)
    class _Crash(Hook):
        """Raises once, after iteration ``at`` of the stage ``stage``."""
        armed = True

        def __init__(self, stage, at):
            self.stage, self.at = stage, at

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            if (_Crash.armed and runner.iter + 1 == self.at
                    and osp.basename(runner.work_dir) == self.stage):
                _Crash.armed = False
                raise Crash(f'simulated interruption at {runner.iter + 1}')

    return _Crash


def pipeline_cfg(root, work_dir, iters=3):
    from mmengine.config import Config
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = str(work_dir)
    mt = cfg.multitask
    cfg.train_cfg.max_iters = iters
    mt.train_cfg.max_iters = iters
    datasets = [cfg.train_dataloader.dataset, cfg.val_dataloader.dataset,
                *mt.train_dataloader.dataset.datasets,
                *cfg.pseudo_masks.dataset.datasets]
    for ds in datasets:
        ds.data_root = root
    cfg.val_dataloader.dataset.ann_file = 'ImageSets/Segmentation/val.txt'
    for dl in (cfg.train_dataloader, mt.train_dataloader, cfg.val_dataloader,
               cfg.test_dataloader):
        dl.num_workers = 0
        dl.persistent_workers = False
    cfg.train_dataloader.batch_size = 2
    mt.train_dataloader.batch_size = 4
    mt.train_dataloader.sampler.batch_size = 4
    cfg.val_dataloader.batch_size = 16
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.checkpoint.max_keep_ckpts = 5
    cfg.default_hooks.pop('visualization')
    return cfg


@pytest.fixture
def fast_config_text(monkeypatch):
    """mmengine formats every dumped config (work dir, log, checkpoint meta)
    with yapf, which takes most of this test's CPU time and plays no part
    in it: use the plain dict text instead."""
    from mmengine.config import Config
    monkeypatch.setattr(
        Config, 'pretty_text',
        property(lambda self: repr(self._cfg_dict.to_dict())))


def test_stage_pipeline_and_resume(synthetic_voc_root, tmp_path,
                                   fast_config_text):
    from mmengine.config import ConfigDict
    from mmseg.registry import MODELS

    from mmsss.engine.runner.stages import format_table, run_stages
    import mmsss  # noqa: F401
    crash = crash_hook_cls()
    wd = tmp_path / 'ts'
    cfg = pipeline_cfg(synthetic_voc_root, wd)
    cfg.multitask.custom_hooks.append(
        dict(type='_ThreeStageTestCrash', stage='stage2', at=3))
    with pytest.raises(Crash):
        run_stages(cfg)
    # stopped inside stage 2: stage 1 and its pseudo-masks are complete
    assert osp.isfile(wd / 'stage1/final.pth')
    assert osp.isfile(wd / 'stage1/metrics.json')
    assert osp.isfile(wd / 'pseudo_masks/stage1/summary.json')
    assert osp.isfile(wd / 'stage2/iter_2.pth')
    assert not osp.exists(wd / 'stage2/iter_3.pth')
    assert not osp.exists(wd / 'stage2/metrics.json')
    stage1_mtime = os.stat(wd / 'stage1/final.pth').st_mtime_ns

    crash.armed = False
    cfg = pipeline_cfg(synthetic_voc_root, wd)
    records = run_stages(cfg)
    assert [r['status'] for r in records] == [
        'finished before', 'resumed', 'trained']
    assert os.stat(wd / 'stage1/final.pth').st_mtime_ns == stage1_mtime
    # three checkpoints of f_θ, each a plain mmseg segmentor
    f_theta = ConfigDict(cfg.model.to_dict())
    for name in ('stage1', 'stage2', 'stage3'):
        with open(wd / name / 'metrics.json') as f:
            m = json.load(f)
        assert m['iter'] == 3 and 0 <= m['mIoU'] <= 100
        # every periodic validation is kept; the best is reported too
        with open(wd / name / 'val_history.json') as f:
            history = json.load(f)
        key = 'mIoU' if name == 'stage1' else 'teacher/mIoU'
        values = [h['metrics'][key] for h in history]
        assert history[-1]['iter'] == 3 and values[-1] == m['mIoU']
        assert m['best_mIoU'] == max(values)
        ckpt = torch.load(wd / name / 'final.pth', weights_only=True)
        model = MODELS.build(f_theta)
        model.load_state_dict(ckpt['state_dict'], strict=True)
    assert records[1]['metrics']['teacher/mIoU'] == records[1]['mIoU']
    # two pseudo-mask sets over L ∪ U (all 48 train images), argmax mode
    assert sorted(os.listdir(wd / 'pseudo_masks')) == ['stage1', 'stage2']
    for name in ('stage1', 'stage2'):
        d = wd / 'pseudo_masks' / name
        with open(d / 'summary.json') as f:
            s = json.load(f)
        assert s['mode'] == 'argmax' and s['kept_fraction'] == 1.0
        assert s['num_images'] == 48 and s['stage'] == name
        assert s['checkpoint'].endswith(f'{name}/final.pth')
        with open(d / 'list.txt') as f:
            assert len(f.readlines()) == 48
        assert 0 <= s['pseudo_label_accuracy'] <= 1
    assert records[0]['pseudo_mask_accuracy'] == pytest.approx(
        json.load(open(wd / 'pseudo_masks/stage1/summary.json'))[
            'pseudo_label_accuracy'])
    table = format_table(records)
    assert table.count('\n') == 4 and 'stage3' in table
    assert 'best mIoU @ iter' in table

    # a lost pseudo-mask set is made again, finished stages are kept
    os.remove(wd / 'pseudo_masks/stage2/summary.json')
    records = run_stages(pipeline_cfg(synthetic_voc_root, wd))
    assert [r['status'] for r in records] == ['finished before'] * 3
    assert records[1]['pseudo_masks_status'] == 'made'
    assert records[0]['pseudo_masks_status'] == 'finished before'


def test_two_process_gloo_stages(synthetic_voc_root, tmp_path):
    """tools/train_stages.py under torch.distributed.run with two CPU ranks:
    the first two stages train, rank 0 alone writes each f_θ, and the two
    ranks' shards of the pseudo-masks make one complete set."""
    wd = tmp_path / 'ts'
    cfg = pipeline_cfg(synthetic_voc_root, wd, iters=2)
    # as the real-dataset configs: the CPU set-up must switch to gloo
    cfg.env_cfg.dist_cfg = dict(backend='nccl')
    cfg_file = tmp_path / 'pipeline.py'
    cfg.dump(str(cfg_file))
    env = dict(os.environ, OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='')
    cmd = [
        sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
        '--master_port=29523',
        osp.join(ROOT, 'tools/train_stages.py'),
        str(cfg_file), '--launcher', 'pytorch', '--stop-after', '2',
        '--work-dir', str(wd)
    ]
    out = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-5000:]
    with open(wd / 'stages.json') as f:
        records = json.load(f)
    assert [r['status'] for r in records] == ['trained', 'trained']
    for name in ('stage1', 'stage2'):
        assert json.load(open(wd / name / 'metrics.json'))['iter'] == 2
        ckpt = torch.load(wd / name / 'final.pth', weights_only=True)
        assert ckpt['meta']['stage'] == name
        d = wd / 'pseudo_masks' / name
        s = json.load(open(d / 'summary.json'))
        assert s['num_images'] == 48
        with open(d / 'list.txt') as f:
            names = [line.split()[0] for line in f if line.strip()]
        assert len(names) == len(set(names)) == 48
        assert len(os.listdir(d / 'labels')) == 48
    assert not glob.glob(str(wd / '**' / '*.tmp*'), recursive=True)


@pytest.mark.parametrize(
    'path', CONFIGS, ids=lambda p: osp.relpath(p, ROOT))
def test_stage_configs_build(path, tmp_path):
    """Every stage of every three-stage config: the token is replaced, the
    pipelines, hooks, loops and sampler build; the multi-task model builds
    for the synthetic configs (the R101 ones: its settings are checked)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import (DATA_SAMPLERS, DATASETS, HOOKS, LOOPS,
                                MODELS, TRANSFORMS)

    from mmsss.engine.runner.stages import (PSEUDO_MASK_TOKEN,
                                            build_stage_config)
    import mmsss  # noqa: F401
    init_default_scope('mmseg')
    cfg = Config.fromfile(path)
    cfg.work_dir = str(tmp_path)
    assert cfg.pseudo_masks.generator.mode == 'argmax'
    assert DATASETS.get(cfg.pseudo_masks.dataset.type) is not None
    for k, stage in enumerate(cfg.stages):
        scfg = build_stage_config(cfg, k, None if k == 0 else '/pm')
        text = str(scfg._cfg_dict.to_dict())
        assert PSEUDO_MASK_TOKEN not in str(scfg.train_dataloader)
        if k == 0:
            assert scfg.model.type == 'EncoderDecoder'
            assert scfg.train_dataloader.dataset.is_labeled
            continue
        assert '/pm/list.txt' in text
        m = scfg.model
        assert m.type == 'ThreeStageSegmentor'
        assert m.aux_branch is None or m.aux_branch.type in ('hat', 'tilde')
        assert LOOPS.get(scfg.train_cfg.type) is not None
        assert scfg.val_cfg.type == 'TeacherStudentValLoop'
        for h in scfg.custom_hooks:
            HOOKS.build(h)
        sampler = scfg.train_dataloader.sampler
        assert DATA_SAMPLERS.get(sampler.type) is not None
        assert sampler.batch_size == scfg.train_dataloader.batch_size
        for ds in scfg.train_dataloader.dataset.datasets:
            for t in ds.pipeline:
                TRANSFORMS.build(t)
        if 'synthetic' in path:
            model = MODELS.build(m)
            assert model.aux_type == m.aux_branch.type
    expected = dict(
        no_con=('no-con', 'con_weight', 0.), no_pl=('no-pl', 'pl_weight', 0.),
        no_aug=('no-strong-aug', 'use_strong_aug', False))
    for tag, key, value in expected.values():
        if tag in path:
            assert scfg.model.semi_train_cfg[key] == value
    types = [build_stage_config(cfg, k, '/pm').model.get('aux_branch')
             for k in range(1, len(cfg.stages))]
    types = [t and t['type'] for t in types]
    if 'no-pl' in path:
        assert types == [None, None]
    elif 'stage3-hat' in path:
        assert types == ['hat', 'hat']
    elif '4-stages' in path:
        assert types == ['hat', 'tilde', 'tilde']
    else:
        assert types == ['hat', 'tilde']
    if 'no-ema' in path:
        assert scfg.custom_hooks[0].decays == (0., )


# (labeled, L ∪ U) images per step of stages 2 and 3 and labeled images per
# step of stage 1, on one GPU. Official main.py: Cityscapes 4 and 1 + 4
# (534, 565-566, 595, 605), VOC 10 and 1 + 9 (550, 620, 630); no official
# run for 1488 labels or VOC 1/8: the paper's minibatch of 5 and 10 with 3
# and 2 labeled images (Sec. IV-B).
SUB_BATCHES = {
    'cityscapes_100': (4, 1, 4),
    'cityscapes_372': (4, 1, 4),
    'cityscapes_744': (4, 1, 4),
    'cityscapes_1488': (4, 3, 2),
    'voc_aug_1-100': (10, 1, 9),
    'voc_aug_1-50': (10, 1, 9),
    'voc_aug_1-20': (10, 1, 9),
    'voc_aug_1-8': (10, 2, 8),
    'synthetic_1-8': (8, 2, 6),
}


def _recipe_name(path):
    name = osp.splitext(osp.basename(path))[0]
    if name.startswith('three_stage_'):
        name = name[len('three_stage_'):]
    if name.startswith('cityscapes_100_'):  # the ablations
        name = 'cityscapes_100'
    return name


def test_every_config_has_a_sub_batch_entry():
    assert {_recipe_name(p) for p in CONFIGS} == set(SUB_BATCHES)


@pytest.mark.parametrize(
    'path', CONFIGS, ids=lambda p: osp.relpath(p, ROOT))
def test_sub_batches_and_supervised_loss_normalisation(path, tmp_path):
    """What the sampler really draws per step (labeled first), and L_seg
    averaged over valid pixels (official main.py:125) in every stage."""
    from mmengine.config import Config
    from torch.utils.data import ConcatDataset

    from mmsss.datasets.samplers import MultiSourceSampler
    from mmsss.engine.runner.stages import build_stage_config
    stage1_batch, n_l, n_u = SUB_BATCHES[_recipe_name(path)]
    cfg = Config.fromfile(path)
    cfg.work_dir = str(tmp_path)
    for k in range(len(cfg.stages)):
        scfg = build_stage_config(cfg, k, None if k == 0 else '/pm')
        f_theta = scfg.model if k == 0 else scfg.model.segmentor
        assert f_theta.decode_head.loss_decode.avg_non_ignore is True
        loader = scfg.train_dataloader
        if k == 0:
            assert loader.batch_size == stage1_batch
            continue
        s = loader.sampler
        assert s.batch_size == loader.batch_size == n_l + n_u
        sampler = MultiSourceSampler(
            ConcatDataset([list(range(50)), list(range(500))]),
            batch_size=s.batch_size, source_ratio=s.source_ratio, seed=0)
        assert sampler.num_per_source == [n_l, n_u]
        first = list(zip(range(n_l + n_u), iter(sampler)))
        assert sum(i < 50 for _, i in first) == n_l


def test_readme_documents_the_one_gpu_launch():
    """The README's commands for the real-data configs run on one GPU (the
    configs' sub-batches are per GPU; official main.py:60 uses one)."""
    import re
    with open(osp.join(ROOT, 'configs/three_stage/README.md')) as f:
        text = f.read()
    blocks = re.findall(r'```bash\n(.*?)```', text, flags=re.S)
    commands = [line for b in blocks for line in b.splitlines()
                if 'train_stages.py' in line]
    assert any('voc_aug_1-8.py' in c for c in commands)
    assert any('cityscapes_372.py' in c for c in commands)
    for b in blocks:
        assert 'nproc_per_node' not in b and '--launcher' not in b, b


def test_best_of_periodic_validations_and_table():
    """The official code reports the best of its per-epoch validations
    (main.py:409-412,421): the highest f_θ mIoU, the earliest on ties."""
    from mmsss.engine.runner.stages import best_of_history, format_table
    history = [
        dict(iter=1000, metrics={'teacher/mIoU': 40., 'student/mIoU': 60.}),
        dict(iter=2000, metrics={'teacher/mIoU': 52.5}),
        dict(iter=3000, metrics={'teacher/mIoU': 52.5}),
        dict(iter=4000, metrics={'teacher/mIoU': 50.}),
    ]
    assert best_of_history(history, 'teacher/mIoU') == dict(
        best_mIoU=52.5, best_iter=2000)
    assert best_of_history(history, 'mIoU') == dict(
        best_mIoU=None, best_iter=None)
    records = [dict(stage='stage2', mIoU=50., best_mIoU=52.5,
                    best_iter=2000, pseudo_mask_accuracy=None,
                    status='trained')]
    row = format_table(records).splitlines()[2]
    assert [c.strip() for c in row.split('|')] == [
        'stage2', '50.00', '52.50 @ 2000', '-', 'trained']


def test_missing_ego_vehicle_mask_fails_before_stage_1(tmp_path):
    """A Cityscapes config needs the official ego-vehicle mask in stage 2:
    run_stages refuses to start without it, naming the key and file."""
    from mmengine.config import Config

    from mmsss.engine.runner.stages import check_input_files, run_stages
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs/three_stage/cityscapes_100.py'))
    cfg.work_dir = str(tmp_path)
    missing = str(tmp_path / 'no_ego_vehicle.png')
    for ds in cfg.multitask.train_dataloader.dataset.datasets:
        for t in ds.pipeline:
            if t.type == 'IgnoreFixedRegion':
                t.mask_file = missing
    with pytest.raises(FileNotFoundError, match='IgnoreFixedRegion.mask_file'):
        run_stages(cfg)
    assert not osp.exists(tmp_path / 'stage1')
    open(missing, 'wb').close()
    check_input_files(cfg)  # present: no error


def test_cityscapes_data_path_on_a_tiny_fake_dataset(tmp_path):
    """The Cityscapes loaders of the configs, end to end on 16x32 files:
    the official half size (2x2 mean, labelIds voted then train ids), the
    ego-vehicle region ignored in both sub-batches' pseudo-masks (stored at
    the half size) and evaluation samples whose original shape is the half
    size (so mmseg scores at 512x1024 for real data)."""
    import numpy as np
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS
    from PIL import Image

    import mmsss  # noqa: F401
    from mmsss.engine.runner.stages import build_stage_config
    init_default_scope('mmseg')
    rng = np.random.default_rng(0)
    root = tmp_path / 'cityscapes'
    names = ['aachen_000000_000019', 'bochum_000000_000313']
    lines = []
    for name in names:
        city = name.split('_')[0]
        img_dir = root / 'leftImg8bit/train' / city
        gt_dir = root / 'gtFine/train' / city
        img_dir.mkdir(parents=True, exist_ok=True)
        gt_dir.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (16, 32, 3), dtype=np.uint8)
                        ).save(img_dir / f'{name}_leftImg8bit.png')
        ids = np.full((16, 32), 26, np.uint8)  # car
        ids[:, :2] = 0  # unlabeled columns: void after the vote
        Image.fromarray(ids).save(gt_dir / f'{name}_gtFine_labelIds.png')
        lines.append(f'leftImg8bit/train/{city}/{name}_leftImg8bit.png')
    split = tmp_path / 'split'
    split.mkdir()
    (split / 'labeled.txt').write_text(lines[0] + '\n')
    (split / 'all.txt').write_text('\n'.join(lines) + '\n')
    # pseudo-masks at the half size, as the generator stores them
    pm_dir = tmp_path / 'pm'
    pm_dir.mkdir()
    pm_lines = []
    for k, line in enumerate(lines):
        path = pm_dir / f'{k}.png'
        Image.fromarray(np.full((8, 16), 7, np.uint8)).save(path)
        pm_lines.append(f'{line} {path}')
    (pm_dir / 'list.txt').write_text('\n'.join(pm_lines) + '\n')
    ego = np.zeros((16, 32), np.uint8)
    ego[12:, :] = 1  # the bottom quarter
    Image.fromarray(ego).save(tmp_path / 'ego.png')

    cfg = Config.fromfile(
        osp.join(ROOT, 'configs/three_stage/cityscapes_100.py'))
    cfg.work_dir = str(tmp_path / 'wd')
    scfg = build_stage_config(cfg, 1, str(pm_dir))
    labeled_cfg, union_cfg = scfg.train_dataloader.dataset.datasets
    labeled_cfg.ann_file = str(split / 'labeled.txt')
    for ds in (labeled_cfg, union_cfg):
        ds.data_root = str(root)
        for t in ds.pipeline:
            if t.type == 'IgnoreFixedRegion':
                t.mask_file = str(tmp_path / 'ego.png')
    labeled = DATASETS.build(labeled_cfg)[0]['data_samples']['sup']
    assert labeled.gt_sem_seg.data.shape[-2:] == (8, 16)
    gt = labeled.gt_sem_seg.data[0]
    assert set(gt[:, gt.shape[1] // 2].tolist()) == {13}  # car
    pm = labeled.gt_pseudo_mask.data[0]
    # the bottom quarter of the half-size mask (rows 6-7) is ignored
    assert set(pm[6:].flatten().tolist()) == {255}
    assert set(pm[:6].flatten().tolist()) == {7}
    union = DATASETS.build(union_cfg)[1]
    for branch in ('unsup_weak', 'unsup_strong'):
        sample = union['data_samples'][branch]
        assert sample.gt_sem_seg.data.shape[-2:] == (8, 16)
    weak = union['data_samples']['unsup_weak'].gt_sem_seg.data[0]
    assert set(weak[6:].flatten().tolist()) == {255}
    assert set(weak[:6].flatten().tolist()) == {7}
    assert union['inputs']['unsup_strong'].dtype == torch.float32

    val_cfg = cfg.val_dataloader.dataset
    val_cfg.data_root = str(root)
    val_cfg.ann_file = str(split / 'all.txt')
    val = DATASETS.build(val_cfg)[0]
    meta = val['data_samples'].metainfo
    assert meta['ori_shape'] == meta['img_shape'] == (8, 16)
    gt = val['data_samples'].gt_sem_seg.data[0]
    assert gt[:, 0].eq(255).all() and gt[:, 1:].eq(13).all()
    pred_cfg = cfg.pseudo_masks.dataset.datasets[1]
    pred_cfg.data_root = str(root)
    pred_cfg.ann_file = str(split / 'all.txt')
    pred = DATASETS.build(pred_cfg)[1]
    assert pred['data_samples'].metainfo['ori_shape'] == (8, 16)
