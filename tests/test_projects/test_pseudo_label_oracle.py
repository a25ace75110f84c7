"""projects/pseudo_label_oracle: oracle teacher logits and the oracle round
hook, against per-pixel numpy references."""
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

from tests._tiny import (NUM_CLASSES, TINY_SEGMENTOR, make_multi_batch,
                         tiny_semi_model)


@pytest.fixture(autouse=True)
def _scope():
    from mmengine.registry import init_default_scope
    import mmsss  # noqa: F401
    import projects.pseudo_label_oracle.pseudo_label_oracle  # noqa: F401
    init_default_scope('mmseg')
    torch.manual_seed(0)


def _gt_with_ignore(samples):
    for i, s in enumerate(samples['unsup_weak']):
        s.gt_sem_seg_analysis.data[0, :3, :] = 255  # ignore band
        s.gt_sem_seg_analysis.data[0, :, i] = 255


@pytest.mark.parametrize('mode', ['gt', 'correct', 'confident_correct'])
def test_oracle_teacher_logits_match_per_pixel_reference(mode):
    from mmsss.models.segmentors import MeanTeacherSegmentor
    model = tiny_semi_model('OracleMeanTeacherSegmentor', conf_thresh=0.9)
    model.oracle_mode = mode
    inputs, samples = make_multi_batch(seed=3)
    _gt_with_ignore(samples)
    x_w = inputs['unsup_weak']
    plain = MeanTeacherSegmentor.logits_of(model, model.teacher, x_w)
    model._unsup_samples = samples['unsup_weak']
    got = model.logits_of(model.teacher, x_w).numpy()
    plain = plain.numpy()
    for n, s in enumerate(samples['unsup_weak']):
        gt = s.gt_sem_seg_analysis.data[0].numpy()
        for y in range(gt.shape[0]):
            for x in range(gt.shape[1]):
                g, p = int(gt[y, x]), plain[n, :, y, x]
                want = np.zeros(NUM_CLASSES, np.float32)
                if g == 255 or (mode != 'gt' and p.argmax() != g):
                    pass  # uniform: confidence 1/C, under any τ > 1/C
                elif mode == 'confident_correct':
                    want = p
                else:
                    want[g] = 30.
                np.testing.assert_allclose(got[n, :, y, x], want, atol=1e-6)
    # the teacher itself is untouched outside the unsupervised step
    model._unsup_samples = None
    torch.testing.assert_close(
        model.logits_of(model.teacher, x_w), torch.from_numpy(plain))


@pytest.mark.parametrize('mode', ['gt', 'correct', 'confident_correct'])
def test_oracle_step_uses_only_correct_pseudo_labels(mode):
    from mmsss.models.segmentors import MeanTeacherSegmentor
    # τ above 1/C: the uniform logits of dropped pixels fall under it
    model = tiny_semi_model('OracleMeanTeacherSegmentor', conf_thresh=0.3)
    model.oracle_mode = mode
    with torch.no_grad():  # a teacher with varied predictions and confidences
        model.teacher.decode_head.conv_seg.weight.mul_(100.)
    model.train()
    inputs, samples = make_multi_batch(seed=4)
    _gt_with_ignore(samples)
    losses = model.loss(inputs, samples)
    assert float(losses['unsup_pseudo_acc']) == 1.0
    ratio = float(losses['unsup_high_conf_ratio'])
    gt = torch.stack([s.gt_sem_seg_analysis.data[0]
                      for s in samples['unsup_weak']])
    teacher = MeanTeacherSegmentor.logits_of(model, model.teacher,
                                             inputs['unsup_weak'])
    correct = (teacher.argmax(1) == gt) & (gt != 255)
    confident = teacher.softmax(1).amax(1) >= 0.3
    want = {
        'gt': gt != 255,  # every pixel but the ignore band and column
        'correct': correct,
        'confident_correct': correct & confident,
    }[mode]
    assert ratio == pytest.approx(float(want.float().mean()))
    assert 0 < ratio < 1
    assert model._unsup_samples is None


def test_oracle_needs_unlabeled_ground_truth():
    model = tiny_semi_model('OracleMeanTeacherSegmentor')
    model.train()
    inputs, samples = make_multi_batch(with_gt=False)
    with pytest.raises(KeyError, match='keep_gt_for_analysis'):
        model.loss(inputs, samples)
    with pytest.raises(ValueError, match='oracle_mode'):
        type(model)(segmentor=TINY_SEGMENTOR, oracle_mode='bad')


def test_mask_incorrect_matches_numpy_loop():
    from projects.pseudo_label_oracle.pseudo_label_oracle.oracle_round_hook \
        import mask_incorrect
    rng = np.random.default_rng(0)
    pseudo = rng.integers(0, 4, (9, 7)).astype(np.uint8)
    gt = rng.integers(0, 4, (9, 7)).astype(np.uint8)
    gt[0] = 255
    pseudo[1] = 255
    got = mask_incorrect(pseudo, gt)
    for y in range(9):
        for x in range(7):
            ok = pseudo[y, x] == gt[y, x] and gt[y, x] != 255
            assert got[y, x] == (pseudo[y, x] if ok else 255)
    with pytest.raises(ValueError, match='differ in size'):
        mask_incorrect(pseudo, gt[:3])


def test_round_hook_masks_a_finished_round_in_place(synthetic_voc_root,
                                                    tmp_path):
    """A finished round folder (reused by the parent hook) is rewritten:
    every kept pixel equals the ground truth; running it twice changes
    nothing."""
    from mmengine.logging import MessageHub, MMLogger
    from mmsss.pseudo_labels import LIST_FILE, SUMMARY_FILE
    from projects.pseudo_label_oracle.pseudo_label_oracle import \
        OracleCorrectPseudoLabelRoundHook
    unlabeled = dict(
        type='SemiSyntheticDataset',
        data_root=synthetic_voc_root,
        ann_file='splits/1-8/unlabeled.txt',
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClass'),
        is_labeled=False,
        keep_gt_for_analysis=True,
        pipeline=[])
    hook = OracleCorrectPseudoLabelRoundHook(
        unlabeled_dataset=unlabeled, generator=dict(mode='argmax'))

    from mmsss.pseudo_labels import model_fingerprint
    from mmsss.testing import ProjectionSegmentor

    class Runner:
        work_dir = str(tmp_path)
        logger = MMLogger.get_instance('oracle_test')
        message_hub = MessageHub.get_instance('oracle_test')
        model = ProjectionSegmentor(7)
        iter = 2

        class train_loop:
            round_starts = [0, 2]

    out = hook.round_dir(Runner, 1)
    os.makedirs(osp.join(out, 'labels'))
    with open(osp.join(synthetic_voc_root, 'splits/1-8/unlabeled.txt')) as f:
        ids = [ln.split()[0] for ln in f if ln.strip()]
    rng = np.random.default_rng(1)
    lines, gts = [], {}
    for img_id in ids:
        gt = np.array(Image.open(osp.join(synthetic_voc_root,
                                          'SegmentationClass',
                                          img_id + '.png')))
        noisy = np.where(rng.random(gt.shape) < 0.3,
                         rng.integers(0, 7, gt.shape), gt).astype(np.uint8)
        path = osp.join(out, 'labels', img_id + '.png')
        Image.fromarray(noisy).save(path)
        lines.append(f'{img_id} {path}\n')
        gts[path] = (gt, noisy)
    with open(osp.join(out, LIST_FILE), 'w') as f:
        f.writelines(lines)
    with open(osp.join(out, SUMMARY_FILE), 'w') as f:
        # what the parent hook checks before reusing a folder
        json.dump(
            dict(
                round=1,
                label_ratio=0.4,
                mode='argmax',
                num_images=len(ids),
                generator=hook.build_generator(1, 0.4).settings(),
                teacher=dict(
                    iter=2, fingerprint=model_fingerprint(Runner.model)),
                prediction=hook.prediction_settings(
                    Runner.model, hook.unlabeled_dataset())),
            f)
    hook.before_train_round(Runner, 1, dict(label_ratio=0.4))
    first = {}
    for path, (gt, noisy) in gts.items():
        got = np.array(Image.open(path))
        keep = (noisy == gt) & (gt != 255)
        np.testing.assert_array_equal(got, np.where(keep, gt, 255))
        assert 0 < keep.sum() < gt.size
        first[path] = got
    hook.before_train_round(Runner, 1, dict(label_ratio=0.4))
    for path, got in first.items():
        np.testing.assert_array_equal(np.array(Image.open(path)), got)
    assert not [p for p in os.listdir(osp.join(out, 'labels'))
                if 'tmp' in p]


def test_object_records_count_objects_and_hue():
    import cv2
    from projects.pseudo_label_oracle.tools.object_errors_by_hue import (
        hue_distance, object_records)
    from mmsss.datasets.synthetic import render_synthetic_sample
    assert hue_distance(350., 10.) == pytest.approx(20.)
    assert hue_distance(10., 300.) == pytest.approx(70.)
    rng = np.random.default_rng(3)
    img, gt = render_synthetic_sample(rng, 128)
    bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    n_objects = sum(
        int((cv2.connectedComponentsWithStats(
            (gt == c).astype(np.uint8))[2][1:, cv2.CC_STAT_AREA] >= 20).sum())
        for c in range(1, 7))
    perfect = object_records(bgr, gt, gt.astype(np.int64), 40., 20)
    assert len(perfect) == n_objects > 0
    assert all(ok and acc == 1. for _, ok, acc in perfect)
    background = object_records(bgr, gt, np.zeros_like(gt, np.int64), 40.,
                                20)
    assert not any(ok or acc for _, ok, acc in background)


def test_project_configs_parse_and_build():
    import glob
    from mmengine.config import Config
    from mmseg.registry import HOOKS, MODELS
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    paths = sorted(glob.glob(osp.join(
        root, 'projects', 'pseudo_label_oracle', 'configs', '*.py')))
    assert len(paths) == 5
    modes = set()
    for path in paths:
        cfg = Config.fromfile(path)
        assert 'projects.pseudo_label_oracle.pseudo_label_oracle' in \
            cfg.custom_imports.imports
        if cfg.model.type == 'OracleMeanTeacherSegmentor':
            modes.add(MODELS.build(cfg.model).oracle_mode)
        else:
            hook = cfg.custom_hooks[0]
            assert hook.type == 'OracleCorrectPseudoLabelRoundHook'
            assert HOOKS.get(hook.type) is not None
            modes.add(hook.generator['mode'])
    assert modes == {'gt', 'correct', 'confident_correct', 'argmax', 'DARS'}
