"""CutMix partners: the mean teacher's default is the official
``torch.randperm`` (issue 25 point 6: an image is its own partner with
probability 1/N); the ``'shift'`` switch (issue 17, bug 1) never pairs an
image with itself when the batch has two or more images and draws the other
images uniformly; the logged ``unsup_cutmix_rate`` is the fraction of images
really mixed.
"""
import pytest
import torch

from tests._tiny import make_multi_batch, tiny_semi_model

DRAWS = 2000


pytestmark = pytest.mark.usefixtures('mmseg_scope_one_thread')


def _partner_counts(plan_fn, num):
    """(num, num) counts of ``pair_index[i] == j`` over DRAWS plans; every
    plan must be a permutation."""
    counts = torch.zeros(num, num, dtype=torch.long)
    rows = torch.arange(num)
    for _ in range(DRAWS):
        pair = plan_fn()['pair_index']
        assert torch.equal(pair.sort().values, rows)  # every partner used
        counts[rows, pair] += 1
    return counts


@pytest.mark.parametrize('num', range(2, 9))
def test_shift_pairing_partners_are_other_images_uniformly(num):
    model = tiny_semi_model(cutmix=dict(pairing='shift'))
    counts = _partner_counts(
        lambda: model.cutmix_plan({}, num, (8, 8), 'cpu'), num)
    assert counts.diagonal().sum() == 0  # never the image itself
    # the other N - 1 images equally often: binomial, 5 sigma
    p = 1. / (num - 1)
    expected = DRAWS * p
    tol = 5 * (DRAWS * p * (1 - p))**0.5 + 1e-9
    off = counts[~torch.eye(num, dtype=torch.bool)].double()
    assert (off - expected).abs().max() <= tol, counts


@pytest.mark.parametrize('num', [2, 3, 5])
def test_default_pairing_is_the_official_randperm(num):
    """Default partners: uniform permutations (official ``torch.randperm``,
    imas/dataset/cutmix_tensor.py:165), so ``pair[i] == j`` with
    probability 1/N for every j, the image itself included."""
    model = tiny_semi_model()
    assert model.semi_train_cfg['cutmix']['pairing'] == 'randperm'
    counts = _partner_counts(
        lambda: model.cutmix_plan({}, num, (8, 8), 'cpu'), num)
    p = 1. / num
    tol = 5 * (DRAWS * p * (1 - p))**0.5
    assert (counts.double() - DRAWS * p).abs().max() <= tol, counts
    # the image itself about DRAWS / N times per row: not the shift
    assert (counts.diagonal().double() > DRAWS * p - tol).all()
    with pytest.raises(ValueError, match='pairing'):
        tiny_semi_model(cutmix=dict(pairing='random'))


def test_single_image_mixes_with_itself_logs_rate_zero_and_warns_once(
        monkeypatch):
    import mmsss.models.segmentors.mean_teacher as mt
    messages = []
    monkeypatch.setattr(mt, 'print_log',
                        lambda msg, **kw: messages.append(msg))
    model = tiny_semi_model(conf_thresh=0.0, cutmix=dict(prob=1.0))
    model.train()
    inputs, samples = make_multi_batch(n_u=1)
    for _ in range(2):
        plan = model.cutmix_plan({}, 1, (32, 32), 'cpu')
        assert plan['pair_index'].tolist() == [0]
        losses = model.loss(inputs, samples)
        assert losses['unsup_cutmix_rate'].item() == 0.
        assert losses['unsup_cutmix_trigger_rate'].item() == 1.
    assert len(messages) == 1 and 'one unlabeled image' in messages[0]


def _record_inputs(model, name, student_only=False):
    """Record the input batch of ``model.<name>`` (ESL's ``_pass(model, x,
    ...)``: the student's calls only)."""
    seen = []
    orig = getattr(model, name)

    def recording(*args, **kwargs):
        if student_only:
            if args[0] is model.student:
                seen.append(args[1].detach().clone())
        else:
            seen.append(args[0].detach().clone())
        return orig(*args, **kwargs)

    setattr(model, name, recording)
    return seen


def test_mean_teacher_logged_rate_is_the_real_rate_hand_built():
    model = tiny_semi_model(conf_thresh=0.0, use_intensity_branch=False)
    model.train()
    n_l, n_u, size = 2, 4, (32, 32)
    inputs, samples = make_multi_batch(n_l=n_l, n_u=n_u)
    masks = torch.zeros(n_u, *size, dtype=torch.bool)
    masks[0, 2:10, 3:12] = True  # from image 1: mixed
    masks[1, 0:5, 0:5] = True  # from itself: not mixed
    masks[3, 20:30, 1:9] = True  # from image 0: mixed
    # image 2: empty box (from image 3): not mixed
    pair = torch.tensor([1, 1, 3, 0])
    trigger = torch.tensor([True, True, False, True])
    model.cutmix_plan = lambda *a: dict(
        masks=masks, pair_index=pair, trigger=trigger)
    seen = _record_inputs(model, 'student_forward')
    losses = model.loss(inputs, samples)
    x_cut = seen[-1][n_l:n_l + n_u]
    x_w = inputs['unsup_weak']
    real = (x_cut != x_w).flatten(1).any(1).float().mean().item()
    assert real == 0.5
    assert losses['unsup_cutmix_rate'].item() == real
    assert losses['unsup_cutmix_trigger_rate'].item() == 0.75


def test_esl_mixes_every_image_with_another_one():
    """ESL (the issue's case): 2 unlabeled images, CutMix on every image;
    each mixed view differs from its weak view and the rate says so."""
    model = tiny_semi_model(
        'ESLSegmentor', num_parts=0, conf_thresh=0.0,
        projector=dict(channels=16))
    assert model.semi_train_cfg['cutmix']['pairing'] == 'shift'
    model.train()
    n_l, n_u = 2, 2
    inputs, samples = make_multi_batch(n_l=n_l, n_u=n_u)
    seen = _record_inputs(model, '_pass', student_only=True)
    for _ in range(20):
        losses = model.loss(inputs, samples)
        x_cut = seen[-1][n_l:]
        changed = (x_cut != inputs['unsup_weak']).flatten(1).any(1)
        assert changed.all()
        assert losses['unsup_cutmix_rate'].item() == 1.


@pytest.mark.parametrize('num', range(1, 9))
def test_imas_reverse_rank_pairs_self_only_the_median_of_odd_batches(num):
    """iMAS's own pairing is unchanged: never self for an even N; for an
    odd N exactly the median image (as the official code)."""
    from mmsss.models.utils import reverse_rank_pairs
    g = torch.Generator().manual_seed(num)
    for _ in range(200):
        e = torch.rand(num, generator=g)
        pair = reverse_rank_pairs(e)
        own = pair == torch.arange(num)
        assert torch.equal(pair.sort().values, torch.arange(num))
        if num % 2 == 0:
            assert not own.any()
        else:
            median = torch.argsort(e)[num // 2]
            assert own.nonzero().flatten().tolist() == [median.item()]


def test_imas_logged_rate_counts_the_odd_median_as_not_mixed():
    from mmsss.models.utils import reverse_rank_pairs
    model = tiny_semi_model('IMASSegmentor', conf_thresh=0.0)
    model.train()
    n_l, n_u, size = 2, 3, (32, 32)
    inputs, samples = make_multi_batch(n_l=n_l, n_u=n_u)
    masks = torch.zeros(n_u, *size, dtype=torch.bool)
    masks[:, 4:20, 8:30] = True
    pair = reverse_rank_pairs(torch.tensor([0.2, 0.9, 0.5]))
    assert pair.tolist() == [1, 0, 2]  # image 2 is the median

    def plan(*args):
        return dict(
            masks=masks,
            pair_index=pair,
            trigger=torch.tensor(True),
            prob=torch.tensor(0.5))

    model.cutmix_plan = plan
    seen = _record_inputs(model, 'student_forward')
    losses = model.loss(inputs, samples)
    # student batch: [labeled, weak, cutmix, intensity]
    x_cut = seen[-1][n_l + n_u:n_l + 2 * n_u]
    real = (x_cut != inputs['unsup_weak']).flatten(1).any(1).float().mean()
    assert real.item() == pytest.approx(2 / 3)
    assert losses['unsup_cutmix_rate'].item() == pytest.approx(real.item())
    assert losses['unsup_cutmix_trigger_rate'].item() == 1.


def test_imas_random_pairing_is_randperm_unless_shift():
    """iMAS with adaptive CutMix off: the official ``cut_mix_using_v``
    partners (``torch.randperm``, the image itself included) by default,
    never the image itself with ``pairing='shift'``."""
    e = torch.full((4, ), 0.5)
    model = tiny_semi_model(
        'IMASSegmentor', adaptive_cutmix=False, cutmix=dict(prob=1.0))
    counts = _partner_counts(
        lambda: model.cutmix_plan({'easiness': e}, 4, (8, 8), 'cpu'), 4)
    assert (counts.diagonal().double() > DRAWS / 4 * 0.8).all()
    model = tiny_semi_model(
        'IMASSegmentor', adaptive_cutmix=False,
        cutmix=dict(prob=1.0, pairing='shift'))
    counts = _partner_counts(
        lambda: model.cutmix_plan({'easiness': e}, 4, (8, 8), 'cpu'), 4)
    assert counts.diagonal().sum() == 0
    assert (counts + torch.eye(4, dtype=torch.long) * DRAWS).min() > 0


def test_mixing_rate_by_hand():
    from mmsss.models.utils import mixing_rate
    masks = torch.zeros(4, 3, 3, dtype=torch.bool)
    masks[0, 0, 0] = masks[1, 1, 1] = masks[3, 2, 2] = True
    pair = torch.tensor([2, 1, 0, 0])
    # 0: box from 2 (mixed); 1: from itself; 2: empty box; 3: from 0
    assert mixing_rate(masks, pair).item() == 0.5
