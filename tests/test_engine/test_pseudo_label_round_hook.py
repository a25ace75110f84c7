"""PseudoLabelRoundHook reuses a round's pseudo-labels only when they were
made by the same teacher (iteration and weights fingerprint) with the same
generator settings; otherwise it regenerates them."""
import json
import os.path as osp

import pytest
import torch

from mmsss.engine.hooks import PseudoLabelRoundHook
from mmsss.engine.hooks.pseudo_label_hook import PSEUDO_LABEL_TEACHER_KEY
from mmsss.pseudo_labels import PseudoLabelGenerator, model_fingerprint
from tests.test_pseudo_labels.test_generator import FakeSegmentor

PREFIX = dict(img_path='JPEGImages', seg_map_path='SegmentationClass')


@pytest.fixture(autouse=True)
def _scope():
    from mmengine.registry import init_default_scope
    import mmsss  # noqa: F401
    init_default_scope('mmseg')


class _Loop:

    def __init__(self, round_starts):
        self.round_starts = round_starts


class _Visualizer:

    def add_scalars(self, scalars, step=0):
        pass


class _Runner:
    """What the hook touches of a runner."""

    def __init__(self, work_dir, model, iteration, round_starts=(0, 2, 4)):
        from mmengine.logging import MessageHub, MMLogger
        self.work_dir = str(work_dir)
        self.model = model
        self.iter = iteration
        self.train_loop = _Loop(list(round_starts))
        self.message_hub = MessageHub.get_instance(f'hook_test_{id(self)}')
        self.logger = MMLogger.get_instance('hook_test')
        self.visualizer = _Visualizer()


PREDICT_PIPELINE = [dict(type='LoadImageFromFile'), dict(type='PackSegInputs')]


def _hook(root, unlabeled_pipeline=PREDICT_PIPELINE,
          unlabeled_list='splits/1-8/unlabeled.txt', **generator):
    def ds(ann_file, is_labeled, pipeline):
        return dict(
            type='SemiSyntheticDataset',
            data_root=root,
            ann_file=ann_file,
            data_prefix=PREFIX,
            is_labeled=is_labeled,
            pipeline=pipeline)

    return PseudoLabelRoundHook(
        unlabeled_dataset=ds(unlabeled_list, False, unlabeled_pipeline),
        labeled_dataset=ds('splits/1-8/labeled.txt', True, []),
        generator=dict(seed=3, **generator))


@pytest.fixture
def calls(monkeypatch):
    """Counts PseudoLabelGenerator.generate calls."""
    made = []
    real = PseudoLabelGenerator.generate

    def counting(self, *args, **kwargs):
        made.append(self.settings())
        return real(self, *args, **kwargs)

    monkeypatch.setattr(PseudoLabelGenerator, 'generate', counting)
    return made


def _summary(runner, k=1):
    with open(osp.join(runner.work_dir, f'pseudo_labels/round_{k}',
                       'summary.json')) as f:
        return json.load(f)


def test_same_teacher_reuses_other_weights_or_settings_regenerate(
        synthetic_voc_root, tmp_path, calls):
    hook = _hook(synthetic_voc_root)
    model = FakeSegmentor()
    runner = _Runner(tmp_path, model, 2)
    round1 = dict(label_ratio=0.5)
    hook.before_train_round(runner, 1, round1)
    assert len(calls) == 1
    s = _summary(runner)
    fp = model_fingerprint(model)
    assert s['teacher'] == dict(iter=2, fingerprint=fp)
    assert s['generator'] == json.loads(json.dumps(calls[0]))
    assert s['generator']['round_idx'] == 1
    assert runner.message_hub.get_info(PSEUDO_LABEL_TEACHER_KEY) == \
        s['teacher']

    # same weights, same settings: reused
    hook.before_train_round(runner, 1, round1)
    hook.before_train_round(_Runner(tmp_path, FakeSegmentor(), 2), 1, round1)
    assert len(calls) == 1

    # other weights (a rerun in the same work dir after retraining)
    with torch.no_grad():
        model.proj.add_(0.5)
    assert model_fingerprint(model) != fp
    hook.before_train_round(runner, 1, round1)
    assert len(calls) == 2
    s2 = _summary(runner)
    assert s2['teacher'] == dict(iter=2, fingerprint=model_fingerprint(model))
    assert s2['kept_counts'] != s['kept_counts']
    hook.before_train_round(runner, 1, round1)
    assert len(calls) == 2

    # same weights, round 1 starting at another iteration
    hook.before_train_round(
        _Runner(tmp_path, model, 4, round_starts=(0, 4, 6)), 1, round1)
    assert len(calls) == 3 and _summary(runner)['teacher']['iter'] == 4
    hook.before_train_round(runner, 1, round1)
    assert len(calls) == 4

    # other generator settings, or another α
    _hook(synthetic_voc_root, temperature=2.0).before_train_round(
        runner, 1, round1)
    assert len(calls) == 5 and calls[-1]['temperature'] == 2.0
    hook.before_train_round(runner, 1, dict(label_ratio=0.6))
    assert len(calls) == 6 and calls[-1]['label_ratio'] == 0.6
    hook.before_train_round(runner, 1, dict(label_ratio=0.6))
    assert len(calls) == 6


def test_other_test_cfg_pipeline_or_image_names_regenerate(
        synthetic_voc_root, tmp_path, calls):
    """The folder records how the teacher predicted (summary.json
    'prediction'); the same teacher and generator settings with another
    test_cfg, prediction pipeline or set of unlabeled image names (as many
    images) regenerate, with the reason in the log."""
    hook = _hook(synthetic_voc_root)
    model = FakeSegmentor()
    model.test_cfg = dict(mode='whole')
    runner = _Runner(tmp_path, model, 2)
    logged = []
    runner.logger = type('L', (), dict(
        info=lambda self, msg: logged.append(msg),
        warning=lambda self, msg: logged.append(msg)))()
    round1 = dict(label_ratio=0.5)
    hook.before_train_round(runner, 1, round1)
    recorded = _summary(runner)['prediction']
    assert recorded['test_cfg'] == dict(mode='whole')
    assert recorded['pipeline'] == PREDICT_PIPELINE
    hook.before_train_round(runner, 1, round1)
    assert len(calls) == 1

    def regenerates(hook, runner, reason):
        n = len(calls)
        logged.clear()
        hook.before_train_round(runner, 1, round1)
        assert len(calls) == n + 1
        assert any(reason in msg for msg in logged), logged
        # and the new folder is reused as it is
        hook.before_train_round(runner, 1, round1)
        assert len(calls) == n + 1

    # test_cfg (e.g. sliding windows instead of the whole image)
    model.test_cfg = dict(mode='slide', crop_size=(32, 32), stride=(21, 21))
    regenerates(hook, runner, 'prediction differs: model test_cfg')
    assert _summary(runner)['prediction']['test_cfg']['mode'] == 'slide'
    # the prediction pipeline (e.g. another base size)
    resized = [PREDICT_PIPELINE[0],
               dict(type='Resize', scale=(48, 48), keep_ratio=True),
               PREDICT_PIPELINE[1]]
    regenerates(_hook(synthetic_voc_root, unlabeled_pipeline=resized),
                runner, 'prediction differs: prediction pipeline')
    # as many unlabeled images, one name replaced by another image
    with open(osp.join(synthetic_voc_root, 'splits/1-8/unlabeled.txt')) as f:
        names = f.read().split()
    with open(osp.join(synthetic_voc_root, 'splits/1-8/labeled.txt')) as f:
        other = f.read().split()[0]
    swapped = tmp_path / 'unlabeled_swapped.txt'
    swapped.write_text('\n'.join(names[:-1] + [other]) + '\n')
    regenerates(
        _hook(synthetic_voc_root, unlabeled_pipeline=resized,
              unlabeled_list=str(swapped)), runner,
        'prediction differs: unlabeled image names')
    assert _summary(runner)['num_images'] == len(names)


def test_resume_inside_a_round_checks_the_recorded_teacher(
        synthetic_voc_root, tmp_path, calls):
    hook = _hook(synthetic_voc_root)
    teacher = FakeSegmentor()
    start = _Runner(tmp_path, teacher, 2)
    hook.before_train_round(start, 1, dict(label_ratio=0.5))
    recorded = start.message_hub.get_info(PSEUDO_LABEL_TEACHER_KEY)
    assert len(calls) == 1

    # resumed at iteration 3 with the checkpoint's record: reused although
    # the model's weights are no longer the teacher's
    student = FakeSegmentor()
    with torch.no_grad():
        student.proj.add_(0.5)
    resumed = _Runner(tmp_path, student, 3)
    resumed.message_hub.update_info(PSEUDO_LABEL_TEACHER_KEY, recorded)
    hook.before_train_round(resumed, 1, dict(label_ratio=0.5))
    assert len(calls) == 1
    # a checkpoint without the record (older runs): the folder's teacher
    # must be from the round's first iteration
    hook.before_train_round(_Runner(tmp_path, student, 3), 1,
                            dict(label_ratio=0.5))
    assert len(calls) == 1

    # the folder was remade by another teacher since: regenerated with the
    # resumed model, recorded as such
    other = _Runner(tmp_path, student, 3)
    other.message_hub.update_info(PSEUDO_LABEL_TEACHER_KEY,
                                  dict(recorded, fingerprint='0' * 64))
    hook.before_train_round(other, 1, dict(label_ratio=0.5))
    assert len(calls) == 2
    s = _summary(other)
    assert s['teacher'] == dict(
        iter=3, fingerprint=model_fingerprint(student))
    assert other.message_hub.get_info(PSEUDO_LABEL_TEACHER_KEY) == \
        s['teacher']
    # and now its teacher is not at the round start: a resume without a
    # record regenerates
    hook.before_train_round(_Runner(tmp_path, student, 3), 1,
                            dict(label_ratio=0.5))
    assert len(calls) == 3


def test_fingerprint_is_of_the_weights():
    a, b = FakeSegmentor(), FakeSegmentor()
    assert model_fingerprint(a) == model_fingerprint(b)
    with torch.no_grad():
        b.proj[0, 0] += 1e-6
    assert model_fingerprint(a) != model_fingerprint(b)
    bn = torch.nn.BatchNorm2d(3)
    before = model_fingerprint(bn)
    bn.running_mean += 1  # buffers count too
    assert model_fingerprint(bn) != before
    assert len(model_fingerprint(a)) == 64


def test_round_idx_and_label_ratio_come_from_the_round(synthetic_voc_root):
    for key in ('label_ratio', 'round_idx'):
        with pytest.raises(ValueError, match=key):
            _hook(synthetic_voc_root, **{key: 1})
