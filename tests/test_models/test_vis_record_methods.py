"""Every teacher–student method keeps pictures and class counts only when a
hook asks, and asking does not change its losses."""
import pytest
import torch

from tests._tiny import NUM_CLASSES, make_multi_batch, tiny_semi_model

METHODS = {
    'MeanTeacherSegmentor': dict(conf_thresh=0.2),
    'IMASSegmentor': dict(conf_thresh=0.2, skip_untriggered_cutmix=False),
    'ESLSegmentor': dict(num_parts=0, conf_thresh=0.2),
}


@pytest.fixture(autouse=True)
def _scope():
    from mmengine.registry import init_default_scope
    import mmsss  # noqa: F401
    init_default_scope('mmseg')


def _losses(model, inputs, samples):
    torch.manual_seed(0)
    out = model.loss(inputs, samples)
    return {k: v.detach().clone() for k, v in out.items()}


def _check_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


@pytest.mark.parametrize('method', list(METHODS))
def test_online_methods(method):
    torch.manual_seed(0)
    model = tiny_semi_model(method, **METHODS[method])
    model.train()
    inputs, samples = make_multi_batch()
    plain = _losses(model, inputs, samples)
    assert getattr(model, 'last_vis', None) is None
    assert getattr(model, 'last_class_counts', None) is None
    model.record_vis, model.vis_max_images = True, 1
    model.record_class_stats = True
    _check_same(plain, _losses(model, inputs, samples))
    titles = [t for t, _, _ in model.last_vis['panels']]
    assert titles == [
        'weak view', 'student input', 'pseudo-label', 'confidence',
        'student prediction', 'ground truth'
    ]
    for _, kind, v in model.last_vis['panels']:
        assert v.shape[:3] == (1, 32, 32) and v.device.type == 'cpu'
    counts = model.last_class_counts
    # the confident pixels of the weak view, the step's high_conf_ratio
    n_u = inputs['unsup_weak'].shape[0]
    ratio = plain['unsup_high_conf_ratio'].item()
    assert counts['pseudo'].sum().item() == round(ratio * n_u * 32 * 32)
    assert counts['gt_known'].sum().item() == n_u * 32 * 32


def test_three_stage_shows_the_warped_teacher_target_and_the_mask():
    from tests.test_models.test_three_stage import batch, build
    model = build('hat')
    model.train()
    inputs, samples, ref = batch()
    plain = _losses(model, inputs, samples)
    model.record_vis, model.vis_max_images = True, 2
    model.record_class_stats = True
    _check_same(plain, _losses(model, inputs, samples))
    panels = {t: v for t, _, v in model.last_vis['panels']}
    assert list(panels) == [
        'weak view', 'student input', 'pseudo-label', 'pseudo-mask',
        'confidence', 'student prediction'
    ]
    shift = ref['shift']
    with torch.no_grad():
        t = model.logits_of(model.teacher, inputs['unsup_weak'])
    want = torch.full((2, 32, 32), 255, dtype=torch.long)
    want[..., shift:] = t.argmax(1)[..., :32 - shift]
    assert torch.equal(panels['pseudo-label'].long(), want)
    assert torch.equal(panels['pseudo-mask'].long(), ref['pm_s'])
    assert (panels['confidence'][..., :shift] == 0).all()
    counts = model.last_class_counts['pseudo']
    assert counts.tolist() == torch.bincount(
        want[want != 255], minlength=NUM_CLASSES).tolist()
