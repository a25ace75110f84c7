"""Three CPU iterations of the UniMatch V2 synthetic config (tiny DINOv2-shaped
ViT + UniMatch V2 DPT head): train, EMA teacher, validate both models,
checkpoint and reload strictly."""
import os.path as osp

import torch

from tests.test_engine.test_train_synthetic import ROOT, data_options

CONFIG = 'configs/unimatch_v2/synthetic_1-16.py'


def _cfg(root, work_dir, max_iters):
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, CONFIG))
    opts = {}
    for kv in data_options(root, batch=4):  # 2 labeled + 2 unlabeled
        k, v = kv.split('=', 1)
        opts[k] = int(v) if v.isdigit() else (False if v == 'False' else v)
    cfg.merge_from_dict(opts)
    cfg.train_cfg.max_iters = max_iters
    cfg.train_cfg.val_interval = max_iters
    cfg.default_hooks.checkpoint.interval = max_iters
    cfg.work_dir = str(work_dir)
    return cfg


def test_synthetic_config_trains_validates_and_checkpoints(
        synthetic_voc_root, tmp_path, monkeypatch):
    from mmengine.config import Config
    from mmengine.runner import Runner, load_checkpoint
    from mmseg.registry import MODELS
    # pretty-printing the config for logs and checkpoints is slow on 2 cores
    monkeypatch.setattr(Config, 'pretty_text',
                        property(lambda self: self.text))
    # three steps: mmengine's PolyLR is 0 at the last one
    cfg = _cfg(synthetic_voc_root, tmp_path, 3)
    # the official EMA schedule is what the config asks the hook for
    ema = [h for h in cfg.custom_hooks if h.type == 'MeanTeacherHook']
    assert len(ema) == 1 and ema[0].decay_schedule == 'imas' and \
        ema[0].max_decay == 0.996
    runner = Runner.from_cfg(cfg)
    model = runner.model
    assert type(model).__name__ == 'UniMatchV2Segmentor'
    taps = model.student.extract_feat(torch.zeros(2, 3, 70, 70))
    assert [tuple(t.shape) for t in taps] == [(2, 24, 5, 5)] * 4
    runner.train()
    scalars = dict(runner.message_hub.log_scalars)
    for k in ('val/teacher/mIoU', 'val/student/mIoU', 'train/unsup_loss_s1',
              'train/unsup_loss_s2', 'train/unsup_conf_ratio',
              'train/unsup_cutmix_rate_s1', 'train/unsup_pseudo_acc'):
        assert k in scalars, k
    # EMA decays 0, 1/2, 2/3: the teacher lags the student
    diff = [
        (t - s).abs().max()
        for t, s in zip(model.teacher.parameters(), model.student.parameters())
    ]
    assert max(diff) > 0
    saved = {k: v.clone() for k, v in model.state_dict().items()}
    fresh = MODELS.build(runner.cfg.model)
    load_checkpoint(fresh,
                    osp.join(str(tmp_path), 'iter_3.pth'),
                    strict=True,
                    map_location='cpu')
    for k, v in fresh.state_dict().items():
        assert torch.equal(v, saved[k]), k
