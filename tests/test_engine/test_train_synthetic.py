"""Short CPU trainings of the mean-teacher baseline on the synthetic data:
train → checkpoint → resume to more iterations → tools/test.py, and a
2-process gloo run."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs/mean_teacher/synthetic_1-16.py')


def data_options(root, batch=4):
    """--cfg-options that point the config at ``root`` and keep it small."""
    return [
        f'train_dataloader.dataset.datasets.0.data_root={root}',
        f'train_dataloader.dataset.datasets.1.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        f'train_dataloader.batch_size={batch}',
        f'train_dataloader.sampler.batch_size={batch}',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0', 'test_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        'test_dataloader.persistent_workers=False',
        'default_hooks.logger.interval=1',
        'default_hooks.checkpoint.interval=2',
    ]


def run_test_tool(argv, monkeypatch):
    """tools/test.py's ``main(argv)`` in this process (a subprocess
    re-imports torch and mmseg: seconds); its metrics. The command line
    itself runs as a subprocess in test_tools/test_checkpoint.py."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'mmsss_tools_test', osp.join(ROOT, 'tools/test.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    monkeypatch.setenv('LOCAL_RANK', '0')  # parse_args sets it
    return tool.main(argv)


def _cfg(root, work_dir, max_iters):
    from mmengine.config import Config, DictAction  # noqa: F401
    cfg = Config.fromfile(CONFIG)
    opts = {}
    for kv in data_options(root):
        k, v = kv.split('=', 1)
        opts[k] = int(v) if v.isdigit() else (
            False if v == 'False' else v)
    cfg.merge_from_dict(opts)
    cfg.train_cfg.max_iters = max_iters
    cfg.train_cfg.val_interval = max_iters
    cfg.work_dir = str(work_dir)
    # EMA from the first step (the config copies the student for the first
    # 19 iterations, longer than these runs)
    cfg.custom_hooks[0].copy_iters = None
    return cfg


@pytest.fixture(scope='module')
def trained(synthetic_voc_root, tmp_path_factory):
    """2 iterations, then resume to 4."""
    from mmengine.runner import Runner
    work_dir = tmp_path_factory.mktemp('mt_synthetic')
    runner = Runner.from_cfg(_cfg(synthetic_voc_root, work_dir, 2))
    runner.train()
    scalars = dict(runner.message_hub.log_scalars)
    model = runner.model
    first = dict(
        iter=runner.iter,
        teacher={k: v.clone() for k, v in model.teacher.state_dict().items()},
        student={k: v.clone() for k, v in model.student.state_dict().items()},
        scalars=scalars)
    cfg = _cfg(synthetic_voc_root, work_dir, 4)
    cfg.resume = True
    runner2 = Runner.from_cfg(cfg)
    # load the checkpoint as training would, then compare before stepping
    runner2._train_loop = runner2.build_train_loop(runner2._train_loop)
    runner2.call_hook('before_run')
    runner2.load_or_resume()
    resumed_iter = runner2.iter
    resumed_teacher = {
        k: v.clone()
        for k, v in runner2.model.teacher.state_dict().items()
    }
    return dict(
        work_dir=str(work_dir),
        first=first,
        resumed_iter=resumed_iter,
        resumed_teacher=resumed_teacher,
        root=synthetic_voc_root,
        cfg=cfg)


def test_train_logs_teacher_and_student_metrics(trained):
    scalars = trained['first']['scalars']
    assert 'val/teacher/mIoU' in scalars and 'val/student/mIoU' in scalars
    for k in ('train/sup_decode.loss_ce', 'train/unsup_loss_ce',
              'train/unsup_high_conf_ratio', 'train/unsup_pseudo_acc'):
        assert k in scalars, k
    assert osp.exists(osp.join(trained['work_dir'], 'iter_2.pth'))


def test_teacher_is_ema_not_copy(trained):
    t, s = trained['first']['teacher'], trained['first']['student']
    diff = [k for k in t if t[k].is_floating_point()
            and not torch.equal(t[k], s[k])]
    assert diff, 'teacher should lag behind the student'
    # BN running statistics are averaged too (buffers), not left at init
    means = [v for k, v in t.items() if k.endswith('running_mean')]
    assert means and all(m.abs().sum() > 0 for m in means)


def test_resume_restores_iteration_and_teacher(trained):
    assert trained['resumed_iter'] == 2
    for k, v in trained['first']['teacher'].items():
        assert torch.equal(trained['resumed_teacher'][k], v), k


def test_resume_trains_to_more_iterations_then_tools_test(trained,
                                                          monkeypatch):
    from mmengine.runner import Runner
    runner = Runner.from_cfg(trained['cfg'])
    runner.train()
    assert runner.iter == 4
    ckpt = osp.join(trained['work_dir'], 'iter_4.pth')
    assert osp.exists(ckpt)
    metrics = run_test_tool(
        [CONFIG, ckpt, '--work-dir', osp.join(trained['work_dir'], 'test'),
         '--cfg-options', *data_options(trained['root'])], monkeypatch)
    assert 0 <= metrics['mIoU'] <= 100, metrics


def test_mmseg_inference_api_predicts_with_the_teacher(trained):
    """mmseg's ``init_model``/``inference_model`` take a teacher-student
    config and checkpoint (``init_model`` sets ``model.pretrained`` and
    ``model.train_cfg`` to None) and predict exactly what a plain
    ``EncoderDecoder`` holding the teacher's weights predicts."""
    from mmengine.config import Config
    from mmengine.runner.checkpoint import _load_checkpoint
    from mmseg.apis import inference_model, init_model

    from mmsss.utils.export import plain_segmentor_state_dict
    ckpt = osp.join(trained['work_dir'], 'iter_2.pth')
    img = osp.join(trained['root'], 'JPEGImages', 'val_000000.jpg')
    semi = init_model(CONFIG, ckpt, device='cpu')
    cfg = Config.fromfile(CONFIG)
    cfg.model = cfg.model.segmentor
    plain = init_model(cfg, None, device='cpu')
    state = _load_checkpoint(ckpt, map_location='cpu')['state_dict']
    plain.load_state_dict(
        plain_segmentor_state_dict(state, 'teacher'), strict=True)
    got = inference_model(semi, img)
    want = inference_model(plain, img)
    torch.testing.assert_close(got.seg_logits.data, want.seg_logits.data)
    assert torch.equal(got.pred_sem_seg.data, want.pred_sem_seg.data)


def test_two_process_gloo_training(synthetic_voc_root, tmp_path):
    """Two gloo processes train 4 iterations and validate, every rank with
    its own CutMix draws (``rank_seed=True``); a run resumed from
    ``iter_2.pth`` ends with bit-identical weights (each rank's
    per-iteration seeds and saved random states come back)."""
    from mmsss.utils.checkpoint import load_checkpoint_file
    env = dict(os.environ, OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='')

    def launch(work_dir, *options, cfg_options=()):
        cmd = [
            sys.executable, '-m', 'torch.distributed.run',
            '--nproc_per_node=2', '--master_port=29517',
            osp.join(ROOT, 'tools/train.py'), CONFIG, '--launcher',
            'pytorch', '--work-dir', str(work_dir), *options,
            '--cfg-options', *data_options(synthetic_voc_root, batch=2),
            'train_cfg.max_iters=4', 'env_cfg.dist_cfg.backend=gloo',
            'default_hooks.random_state.rank_seed=True', *cfg_options
        ]
        out = subprocess.run(
            cmd, cwd=ROOT, capture_output=True, text=True, timeout=400,
            env=env)
        log = out.stdout + out.stderr
        assert out.returncode == 0, log[-5000:]
        return log

    straight = tmp_path / 'straight'
    log = launch(straight)  # validates once, after the last iteration
    assert 'teacher/mIoU' in log
    saved = load_checkpoint_file(osp.join(straight, 'iter_2.pth'))
    assert saved['random_state']['world_size'] == 2
    resumed = tmp_path / 'resumed'
    launch(resumed, '--resume', osp.join(straight, 'iter_2.pth'),
           cfg_options=['train_cfg.val_begin=100'])
    a = load_checkpoint_file(osp.join(straight, 'iter_4.pth'))['state_dict']
    b = load_checkpoint_file(osp.join(resumed, 'iter_4.pth'))['state_dict']
    assert a.keys() == b.keys()
    bad = [k for k in a if not torch.equal(a[k], b[k])]
    assert not bad, bad[:5]
