"""Two CPU iterations of the UniMatch and FixMatch synthetic configs:
train, validate the model itself (no teacher), checkpoint and reload it."""
import os.path as osp

import pytest
import torch

from tests.test_engine.test_train_synthetic import ROOT, data_options


def _cfg(config, root, work_dir, max_iters):
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, config))
    opts = {}
    # the synthetic configs have a third (mix) source; 2 + 2 + 2 per step
    for kv in data_options(root, batch=6) + [
            f'train_dataloader.dataset.datasets.2.data_root={root}'
    ]:
        k, v = kv.split('=', 1)
        opts[k] = int(v) if v.isdigit() else (False if v == 'False' else v)
    cfg.merge_from_dict(opts)
    cfg.train_cfg.max_iters = max_iters
    cfg.train_cfg.val_interval = max_iters
    cfg.default_hooks.checkpoint.interval = max_iters
    cfg.work_dir = str(work_dir)
    return cfg


@pytest.mark.parametrize('method', ['unimatch', 'fixmatch'])
def test_synthetic_config_trains_validates_and_checkpoints(
        method, synthetic_voc_root, tmp_path, monkeypatch):
    from mmengine.config import Config
    from mmengine.runner import Runner
    # yapf-formatting these long configs for the logs and checkpoint metas
    # takes ~2.5 s per call on 2 cores, most of this test; the raw text is
    # enough here
    monkeypatch.setattr(Config, 'pretty_text',
                        property(lambda self: self.text))
    config = f'configs/{method}/synthetic_1-16.py'
    runner = Runner.from_cfg(_cfg(config, synthetic_voc_root, tmp_path, 2))
    runner.train()
    scalars = dict(runner.message_hub.log_scalars)
    assert 'val/student/mIoU' in scalars
    assert not any('teacher' in k for k in scalars)
    keys = ['train/unsup_loss_s1', 'train/unsup_conf_ratio',
            'train/unsup_cutmix_rate_s1', 'train/unsup_pseudo_acc']
    if method == 'unimatch':
        keys += ['train/unsup_loss_s2', 'train/unsup_loss_fp']
    for k in keys:
        assert k in scalars, k
    model = runner.model
    assert not hasattr(model, 'teacher')
    saved = {k: v.clone() for k, v in model.state_dict().items()}
    ckpt = torch.load(
        osp.join(str(tmp_path), 'iter_2.pth'), map_location='cpu',
        weights_only=False)
    assert all(k.startswith('student.') for k in ckpt['state_dict'])
    # the checkpoint restores the whole (teacher-free) model, strictly
    from mmengine.runner import load_checkpoint
    from mmseg.registry import MODELS
    fresh = MODELS.build(runner.cfg.model)
    load_checkpoint(
        fresh, osp.join(str(tmp_path), 'iter_2.pth'), strict=True,
        map_location='cpu')
    for k, v in fresh.state_dict().items():
        assert torch.equal(v, saved[k]), k
    # exported as a plain mmseg segmentor: the student by default; a
    # teacher request names the reason it cannot be met
    from mmsss.utils.export import export_plain_segmentor
    out = osp.join(str(tmp_path), 'plain.pth')
    plain = export_plain_segmentor(osp.join(str(tmp_path), 'iter_2.pth'), out)
    fresh.student.load_state_dict(plain, strict=True)
    with pytest.raises(KeyError, match='teacher-free'):
        export_plain_segmentor(
            osp.join(str(tmp_path), 'iter_2.pth'), out, model='teacher')
