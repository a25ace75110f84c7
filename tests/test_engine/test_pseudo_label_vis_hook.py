"""PseudoLabelVisHook / PseudoLabelStatsHook on a tiny mean-teacher run of
the synthetic config (4 iterations, pictures and statistics every 2), checked
against the tensors of each step recorded outside the hooks; the rank-0
rule; the plot tool on the run's scalar log."""
import glob
import json
import math
import os.path as osp
import subprocess
import sys
from unittest import mock

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from mmsss.engine.hooks.pseudo_label_vis_hook import (CHECKER, HEADER, SEP,
                                                      PseudoLabelVisHook,
                                                      upscale_factor)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs/mean_teacher/synthetic_1-16.py')
MAX_ITERS, INTERVAL, NUM_IMAGES = 4, 2, 2
DRAW_ITERS = [i for i in range(1, MAX_ITERS + 1) if i % INTERVAL == 0]


def _cfg(root, work_dir):
    from mmengine.config import Config
    cfg = Config.fromfile(CONFIG)
    for ds in cfg.train_dataloader.dataset.datasets:
        ds.data_root = root
    cfg.val_dataloader.dataset.data_root = root
    cfg.test_dataloader.dataset.data_root = root
    for dl in (cfg.train_dataloader, cfg.val_dataloader,
               cfg.test_dataloader):
        dl.num_workers = 0
        dl.persistent_workers = False
    cfg.train_dataloader.batch_size = 4
    cfg.train_dataloader.sampler.batch_size = 4
    cfg.train_cfg.max_iters = MAX_ITERS
    cfg.train_cfg.val_interval = MAX_ITERS
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = 1000
    cfg.default_hooks.checkpoint.save_best = None
    cfg.custom_hooks = [
        h for h in cfg.custom_hooks
        if h['type'] not in ('PseudoLabelVisHook', 'PseudoLabelStatsHook')
    ] + [
        dict(type='PseudoLabelVisHook', interval=INTERVAL,
             num_images=NUM_IMAGES),
        dict(type='PseudoLabelStatsHook', interval=INTERVAL),
    ]
    cfg.work_dir = str(work_dir)
    # a visualizer of its own: mmengine returns the existing instance of a
    # name (default 'visualizer'), whose save_dir is the work dir of the
    # first runner built in this process
    cfg.visualizer.name = f'pseudo_label_vis_{osp.basename(str(work_dir))}'
    return cfg


@pytest.fixture(scope='module')
def run(synthetic_voc_root, tmp_path_factory):
    """Train, recording each step's targets and statistics inputs."""
    from mmengine.runner import Runner
    work_dir = tmp_path_factory.mktemp('vis_hook')
    runner = Runner.from_cfg(_cfg(synthetic_voc_root, work_dir))
    model = runner.model
    steps, infos = [], []
    unsup_loss, step_info = model.unsup_loss, model._step_info

    def record_targets(logits_u, targets, weights):
        # a young teacher is almost uniform (confidence ≈ 1/7): τ = the
        # step's median confidence keeps about half of the pixels, so that
        # both kept and ignored pixels are checked; the step's loss, the
        # picture and the statistics (all after this call) use it
        tau = targets[0][2].median().item()
        model.semi_train_cfg['conf_thresh'] = tau
        steps.append([(name, labels.clone(), conf.clone(), tau)
                      for name, labels, conf, _ in targets])
        return unsup_loss(logits_u, targets, weights)

    def record_info(pseudo, conf, samples):
        gt = torch.stack([
            s.gt_sem_seg_analysis.data[0] for s in samples['unsup_weak']
        ])
        infos.append((pseudo.clone(), conf.clone(), gt.clone(),
                      model.semi_train_cfg['conf_thresh']))
        return step_info(pseudo, conf, samples)

    model.unsup_loss = record_targets
    model._step_info = record_info
    runner.train()
    vis_dir = glob.glob(osp.join(str(work_dir), '*', 'vis_data'))[0]
    return dict(
        runner=runner,
        steps=steps,
        infos=infos,
        vis_dir=vis_dir,
        root=synthetic_voc_root,
        palette=runner.train_dataloader.dataset.metainfo['palette'],
        num_classes=model.num_classes)


def _read_rgb(path):
    return cv2.imread(path, cv2.IMREAD_COLOR)[..., ::-1]


def test_images_at_expected_iterations_and_size(run):
    files = sorted(
        osp.basename(p) for p in glob.glob(
            osp.join(run['vis_dir'], 'vis_image', 'pseudo_labels_*.png')))
    expected = sorted(f'pseudo_labels_{i}_{it}.png' for it in DRAW_ITERS
                      for i in range(NUM_IMAGES))
    assert files == expected
    # weak | student input | pseudo-label | confidence | student | gt
    n_panels, size = 6, 64
    f = upscale_factor(size, size, 96)
    assert f == 2
    for name in files:
        img = _read_rgb(osp.join(run['vis_dir'], 'vis_image', name))
        assert img.shape == (HEADER + size * f,
                             n_panels * size * f + (n_panels - 1) * SEP, 3)
    # nothing is kept after the hook has drawn
    assert getattr(run['runner'].model, 'last_vis', None) is None
    assert not run['runner'].model.record_vis


def _panel(img, j, size, f):
    x0 = j * (size * f + SEP)
    return img[HEADER:, x0:x0 + size * f][::f, ::f]


@pytest.mark.parametrize('it', DRAW_ITERS)
def test_pseudo_label_panel_is_the_step_target(run, it):
    """Panel 2 shows the CutMix target of iteration ``it`` (teacher argmax,
    confidence < τ ignored) in the palette's colours."""
    name, labels, conf, tau = run['steps'][it - 1][0]
    assert name == 'cutmix'
    palette = np.asarray(run['palette'], np.uint8)
    size, f = 64, 2
    checked_kept = checked_ignored = 0
    for i in range(NUM_IMAGES):
        img = _read_rgb(
            osp.join(run['vis_dir'], 'vis_image',
                     f'pseudo_labels_{i}_{it}.png'))
        panel = _panel(img, 2, size, f)
        lab = labels[i].numpy()
        ignored = conf[i].numpy() < tau
        for y in range(size):
            for x in range(size):
                if ignored[y, x]:
                    assert tuple(panel[y, x]) in CHECKER, (y, x)
                    checked_ignored += 1
                else:
                    assert tuple(panel[y, x]) == tuple(
                        palette[lab[y, x]]), (y, x)
                    checked_kept += 1
    # both kinds of pixels are present, so the check means something
    assert checked_kept > 0 and checked_ignored > 0


def _labeled_distribution(root, num_classes):
    with open(osp.join(root, 'splits/1-16/labeled.txt')) as f:
        ids = [ln.strip() for ln in f if ln.strip()]
    counts = np.zeros(num_classes)
    for i in ids:
        lab = np.asarray(
            Image.open(osp.join(root, 'SegmentationClass', i + '.png')))
        for c in range(num_classes):
            counts[c] += (lab == c).sum()
    return counts


def _scalars(vis_dir):
    rows = []
    with open(osp.join(vis_dir, 'scalars.json')) as f:
        for ln in f:
            rows.append(json.loads(ln))
    return rows


def test_stats_scalars_match_a_plain_loop(run):
    num_classes = run['num_classes']
    p = _labeled_distribution(run['root'], num_classes)
    p = p / p.sum()
    rows = [
        r for r in _scalars(run['vis_dir'])
        if 'pseudo_labels/kl_labeled_pseudo' in r
    ]
    assert [r['step'] for r in rows] == DRAW_ITERS
    classes = run['runner'].train_dataloader.dataset.metainfo['classes']
    for row in rows:
        window = run['infos'][row['step'] - INTERVAL:row['step']]
        n = np.zeros(num_classes)
        tp = np.zeros(num_classes)
        pred = np.zeros(num_classes)
        act = np.zeros(num_classes)
        for pseudo, conf, gt, tau in window:
            for pl, c, g in zip(pseudo.flatten().tolist(),
                                conf.flatten().tolist(),
                                gt.flatten().tolist()):
                keep = c >= tau
                if keep:
                    n[pl] += 1
                if g == 255:
                    continue
                act[g] += 1
                if keep:
                    pred[pl] += 1
                    tp[pl] += pl == g
        q = n / n.sum()
        kl = sum(p[j] * math.log(p[j] / max(q[j], 1e-12))
                 for j in range(num_classes) if p[j] > 0)
        assert row['pseudo_labels/kl_labeled_pseudo'] == pytest.approx(
            kl, rel=1e-6)
        for j, name in enumerate(classes):
            assert row[f'pseudo_labels/frac_{name}'] == pytest.approx(q[j])
            key = f'pseudo_labels/precision_{name}'
            if pred[j] > 0:
                assert row[key] == pytest.approx(tp[j] / pred[j])
            else:
                assert key not in row
            if act[j] > 0:
                assert row[f'pseudo_labels/recall_{name}'] == pytest.approx(
                    tp[j] / act[j])


def test_only_rank_zero_draws(run):
    """On rank 1 the flag is never set, the step keeps nothing and no
    image is written."""
    from tests._tiny import make_multi_batch
    runner = run['runner']
    model = runner.model
    hook = PseudoLabelVisHook(interval=1)
    inputs, samples = make_multi_batch(size=(64, 64))
    with mock.patch.object(runner.visualizer, 'add_image') as add_image:
        with mock.patch('mmengine.dist.get_rank', return_value=1):
            hook.before_train_iter(runner, 0)
            assert not model.record_vis
            model.train()
            model.loss(inputs, samples)
            assert getattr(model, 'last_vis', None) is None
            hook.after_train_iter(runner, 0)
        assert add_image.call_count == 0
        # the same on rank 0 draws one picture per image
        hook.before_train_iter(runner, 0)
        assert model.record_vis
        model.loss(inputs, samples)
        assert model.last_vis is not None
        hook.after_train_iter(runner, 0)
        assert add_image.call_count == NUM_IMAGES
        assert model.last_vis is None and not model.record_vis


def test_plot_training_curves(run, tmp_path):
    out = str(tmp_path / 'curves.png')
    work_dir = osp.dirname(osp.dirname(run['vis_dir']))
    res = subprocess.run(
        [sys.executable,
         osp.join(ROOT, 'tools/analysis/plot_training_curves.py'), work_dir,
         '--out', out],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    img = cv2.imread(out)
    assert img is not None and img.shape[0] > 100
    # the panels it drew are named on stdout
    for what in ('teacher/mIoU', 'pseudo_labels/kl_labeled_pseudo',
                 'pseudo_labels/mean_precision'):
        assert what in res.stdout

