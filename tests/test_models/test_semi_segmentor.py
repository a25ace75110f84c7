import numpy as np
import pytest
import torch

from tests._tiny import NUM_CLASSES, make_multi_batch, tiny_semi_model


@pytest.fixture(autouse=True)
def _scope():
    from mmengine.registry import init_default_scope
    import mmsss  # noqa: F401
    init_default_scope('mmseg')
    torch.manual_seed(0)


def test_teacher_frozen_and_in_eval_mode():
    model = tiny_semi_model()
    assert all(not p.requires_grad for p in model.teacher.parameters())
    assert all(p.requires_grad for p in model.student.parameters())
    model.train()  # mmengine calls this at every run
    assert model.student.training
    assert not model.teacher.training
    assert not any(m.training for m in model.teacher.modules())


def test_only_student_gets_gradients_and_teacher_bn_untouched():
    model = tiny_semi_model(conf_thresh=0.0)
    model.train()
    before = {k: v.clone() for k, v in model.teacher.state_dict().items()}
    inputs, samples = make_multi_batch()
    losses = model.loss(inputs, samples)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    assert all(p.grad is None for p in model.teacher.parameters())
    grads = [p.grad for p in model.student.parameters()]
    assert all(g is not None for g in grads)
    for k, v in model.teacher.state_dict().items():
        assert torch.equal(v, before[k]), k  # BN stats unchanged
    assert {'sup_decode.loss_ce', 'unsup_loss_ce'} <= set(losses)


def test_unlabeled_ground_truth_never_reaches_a_loss():
    model = tiny_semi_model(conf_thresh=0.0)
    model.train()
    inputs, samples_a = make_multi_batch(seed=1)
    _, samples_b = make_multi_batch(seed=2)  # different analysis GT
    for s in samples_b['unsup_weak']:
        s.gt_sem_seg.data[:] = 1  # and garbage "labels"
    inputs_b = {k: v.clone() for k, v in inputs.items()}
    torch.manual_seed(5)
    la = model.loss(inputs, samples_a)
    torch.manual_seed(5)
    lb = model.loss(inputs_b, dict(samples_a, unsup_weak=samples_b[
        'unsup_weak']))
    for k in la:
        if 'loss' in k:
            assert torch.equal(la[k], lb[k]), k
    # the analysis GT is used, but only for the pseudo-label accuracy
    assert 'unsup_pseudo_acc' in la and 'loss' not in 'unsup_pseudo_acc'


def test_pseudo_labels_come_from_teacher_in_same_view():
    """With CutMix off and τ = 0 the unsupervised target is the teacher's
    argmax on the weak view: a student equal to the teacher, fed the weak
    view as 'strong', has the smallest possible CE of its own argmax."""
    model = tiny_semi_model(
        conf_thresh=0.0, use_cutmix_branch=False, unsup_reduction='all_pixels')
    model.eval()
    inputs, samples = make_multi_batch()
    inputs['unsup_strong'] = inputs['unsup_weak'].clone()
    model.teacher.load_state_dict(model.student.state_dict())
    logits = model.logits_of(model.teacher, inputs['unsup_weak'])
    expected = torch.nn.functional.cross_entropy(
        logits, logits.argmax(1), reduction='none').mean()
    losses = model.loss(inputs, samples)
    torch.testing.assert_close(losses['unsup_loss_ce'], expected,
                               rtol=1e-4, atol=1e-5)


def test_per_image_ce_matches_numpy_loop():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, NUM_CLASSES, 5, 6)).astype(np.float32)
    labels = rng.integers(0, NUM_CLASSES, size=(3, 5, 6))
    valid = rng.random((3, 5, 6)) > 0.4
    from mmsss.models.segmentors import SemiBaseSegmentor
    got_all = SemiBaseSegmentor.per_image_ce(
        torch.from_numpy(logits), torch.from_numpy(labels),
        torch.from_numpy(valid), all_pixels=True)
    got_valid = SemiBaseSegmentor.per_image_ce(
        torch.from_numpy(logits), torch.from_numpy(labels),
        torch.from_numpy(valid), all_pixels=False)
    for b in range(3):
        total, n_valid = 0., 0
        for y in range(5):
            for x in range(6):
                z = logits[b, :, y, x].astype(np.float64)
                logp = z - np.log(np.exp(z - z.max()).sum()) - z.max()
                if valid[b, y, x]:
                    total += -logp[labels[b, y, x]]
                    n_valid += 1
        assert got_all[b].item() == pytest.approx(total / 30, rel=1e-5)
        assert got_valid[b].item() == pytest.approx(total / n_valid,
                                                    rel=1e-5)


def test_plain_checkpoint_initialises_student_and_teacher():
    from mmengine.config import ConfigDict
    from mmseg.registry import MODELS
    from tests._tiny import TINY_SEGMENTOR
    plain = MODELS.build(ConfigDict(TINY_SEGMENTOR))
    model = tiny_semi_model()
    missing = model.load_state_dict(plain.state_dict(), strict=True)
    assert not missing.missing_keys and not missing.unexpected_keys
    for k, v in plain.state_dict().items():
        assert torch.equal(model.student.state_dict()[k], v)
        assert torch.equal(model.teacher.state_dict()[k], v)
    # a semi checkpoint loads as is
    model2 = tiny_semi_model()
    model2.load_state_dict(model.state_dict(), strict=True)


def test_predict_on_switches_model():
    model = tiny_semi_model()
    model.eval()
    with torch.no_grad():
        for p in model.teacher.parameters():
            p.add_(torch.randn_like(p))
    x = torch.randn(1, 3, 32, 32)
    model.semi_test_cfg['predict_on'] = 'teacher'
    t = model.predict(x)[0].seg_logits.data
    model.semi_test_cfg['predict_on'] = 'student'
    s = model.predict(x)[0].seg_logits.data
    assert torch.allclose(t, model.teacher.predict(x)[0].seg_logits.data)
    assert torch.allclose(s, model.student.predict(x)[0].seg_logits.data)
    assert not torch.allclose(t, s)


def test_bad_semi_cfg_is_rejected():
    with pytest.raises(ValueError, match='unsup_reduction'):
        tiny_semi_model(unsup_reduction='mean')
    with pytest.raises(ValueError, match='at least one'):
        tiny_semi_model(use_cutmix_branch=False, use_intensity_branch=False)


@pytest.mark.parametrize('segmentor_type', [
    'MeanTeacherSegmentor', 'IMASSegmentor', 'ESLSegmentor',
    'ThreeStageSegmentor'
])
@pytest.mark.parametrize('key', ['pretrained', 'train_cfg'])
def test_encoder_decoder_only_keys_must_be_none(key, segmentor_type):
    """mmseg's init_model sets them to None (accepted); anything else is an
    error naming the key and where it belongs."""
    from mmseg.registry import MODELS
    from tests._tiny import TINY_SEGMENTOR
    cfg = dict(
        type=segmentor_type,
        segmentor=TINY_SEGMENTOR,
        data_preprocessor=dict(
            type='MultiBranchSegDataPreProcessor',
            data_preprocessor=TINY_SEGMENTOR['data_preprocessor']))
    MODELS.build(dict(cfg, **{key: None}))
    with pytest.raises(ValueError, match=f'model.{key} .*segmentor'):
        MODELS.build(dict(cfg, **{key: 'x.pth' if key == 'pretrained'
                                  else dict()}))


def test_multi_branch_preprocessor_groups_and_pads():
    from mmseg.registry import MODELS
    from tests._tiny import TINY_SEGMENTOR, make_sample
    pre = MODELS.build(
        dict(
            type='MultiBranchSegDataPreProcessor',
            data_preprocessor=TINY_SEGMENTOR['data_preprocessor']))
    img = lambda h, w: torch.randint(0, 255, (3, h, w), dtype=torch.uint8)  # noqa
    gt = torch.zeros(1, 30, 28, dtype=torch.long)
    data = dict(
        inputs=dict(
            sup=[img(32, 32), None, None],
            unsup_weak=[None, img(30, 28), img(32, 32)]),
        data_samples=dict(
            sup=[make_sample(torch.zeros(1, 32, 32, dtype=torch.long)),
                 None, None],
            unsup_weak=[
                None,
                make_sample(size=(30, 28), analysis=gt.clone()),
                make_sample(analysis=torch.zeros(1, 32, 32,
                                                 dtype=torch.long))
            ]))
    # the 30x28 sample needs its placeholder at its own size
    data['data_samples']['unsup_weak'][1].gt_sem_seg.data = torch.full(
        (1, 30, 28), 255, dtype=torch.long)
    out = pre(data, training=True)
    assert out['inputs']['sup'].shape == (1, 3, 32, 32)
    assert out['inputs']['unsup_weak'].shape == (2, 3, 32, 32)
    padded = out['data_samples']['unsup_weak'][0].gt_sem_seg_analysis.data
    assert padded.shape == (1, 32, 32)
    assert (padded[:, 30:, :] == 255).all() and (padded[:, :, 28:] == 255
                                                 ).all()
    assert (padded[:, :30, :28] == 0).all()
