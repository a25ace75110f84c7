"""ESL pieces against independent references: dynamic soft labels (numpy
loop), soft CE (hand computation), seeded K-means, part assignment and MAP
(hand-made map), FIFO queues (deque), pixel-to-part InfoNCE (direct
formula), the negatives' (c, k) queues on a hand-built bank under both rules,
the unit-sphere prototype EMA (hand computation), and ESLSegmentor steps on
the tiny model."""
import collections
import math

import numpy as np
import pytest
import torch

from tests._tiny import NUM_CLASSES, make_multi_batch, tiny_semi_model


pytestmark = pytest.mark.usefixtures('mmseg_scope_one_thread')


# ----------------------------------------------------------------------
# soft labels
def np_dsl(p, eta):
    """Eqs. 3–5 for one pixel, literally."""
    order = np.argsort(-p, kind='stable')
    out, total = np.zeros_like(p), 0.
    for c in order:
        out[c] = p[c]
        total += p[c]
        if total >= eta:
            break
    return out / out.sum()


def np_topk(p, k):
    order = np.argsort(-p, kind='stable')[:k]
    out = np.zeros_like(p)
    out[order] = p[order]
    return out / out.sum()


def _apply_per_pixel(fn, probs, *args):
    p = probs.numpy()
    out = np.zeros_like(p)
    for n in range(p.shape[0]):
        for i in range(p.shape[2]):
            for j in range(p.shape[3]):
                out[n, :, i, j] = fn(p[n, :, i, j], *args)
    return out


@pytest.mark.parametrize('eta', [0.5, 0.8, 0.9, 0.95, 0.99, 1.0])
def test_dynamic_soft_label_matches_numpy_loop(eta):
    from mmsss.models.utils import dynamic_soft_label
    rng = np.random.default_rng(int(eta * 100))
    probs = torch.from_numpy(
        rng.dirichlet(np.full(7, 0.3), size=(2, 5, 6)).transpose(0, 3, 1, 2))
    out = dynamic_soft_label(probs, eta)
    np.testing.assert_allclose(
        out.numpy(), _apply_per_pixel(np_dsl, probs, eta), atol=1e-12)
    assert torch.allclose(out.sum(1), torch.ones(2, 5, 6, dtype=out.dtype))


def test_dynamic_soft_label_ties_and_one_hot():
    from mmsss.models.utils import dynamic_soft_label
    # pixels as columns: exact ties, top class >= eta (one-hot), tied top
    pixels = [[0.25, 0.25, 0.25, 0.25], [0.125, 0.375, 0.375, 0.125],
              [0.96, 0.02, 0.01, 0.01], [0.5, 0.5, 0., 0.],
              [0.0, 0.0, 0.0, 1.0]]
    probs = torch.tensor(pixels, dtype=torch.float64).t().reshape(
        1, 4, 1, len(pixels))
    for eta in (0.4, 0.5, 0.6, 0.75, 0.95):
        out = dynamic_soft_label(probs, eta)
        np.testing.assert_allclose(
            out.numpy(), _apply_per_pixel(np_dsl, probs, eta), atol=1e-12)
    out = dynamic_soft_label(probs, 0.6)
    # 4 ties at 0.25: three kept, the lowest indices, renormalised
    np.testing.assert_allclose(out[0, :, 0, 0], [1 / 3, 1 / 3, 1 / 3, 0])
    # top class alone reaches eta -> one-hot
    np.testing.assert_allclose(out[0, :, 0, 2], [1, 0, 0, 0])
    np.testing.assert_allclose(out[0, :, 0, 4], [0, 0, 0, 1])
    # tied top pair at eta 0.4: class 0 alone (stable order)
    np.testing.assert_allclose(
        dynamic_soft_label(probs, 0.4)[0, :, 0, 3], [1, 0, 0, 0])
    with pytest.raises(ValueError, match='eta'):
        dynamic_soft_label(probs, 0.)


def test_topk_and_hard_labels():
    from mmsss.models.utils import make_soft_label
    rng = np.random.default_rng(1)
    probs = torch.from_numpy(
        rng.dirichlet(np.ones(8), size=(1, 3, 4)).transpose(0, 3, 1, 2))
    out = make_soft_label(probs, dict(type='topk', k=5))
    np.testing.assert_allclose(
        out.numpy(), _apply_per_pixel(np_topk, probs, 5), atol=1e-12)
    hard = make_soft_label(probs, dict(type='hard'))
    assert torch.equal(hard.argmax(1), probs.argmax(1))
    assert torch.equal(hard.sum(1), torch.ones_like(hard.sum(1)))
    with pytest.raises(ValueError, match='soft_label.type'):
        make_soft_label(probs, dict(type='soft'))


def test_soft_cross_entropy_by_hand():
    from mmsss.models.utils import soft_cross_entropy
    logits = torch.tensor([[[[1.0, -2.0]], [[0.5, 0.0]], [[-1.0, 3.0]]]])
    target = torch.tensor([[[[0.7, 0.0]], [[0.3, 0.0]], [[0.0, 1.0]]]])
    total = 0.
    for j in range(2):
        z = [float(logits[0, c, 0, j]) for c in range(3)]
        log_norm = math.log(sum(math.exp(v) for v in z))
        total -= sum(
            float(target[0, c, 0, j]) * (z[c] - log_norm) for c in range(3))
    assert soft_cross_entropy(logits, target).item() == pytest.approx(
        total / 2, rel=1e-6)


# ----------------------------------------------------------------------
# prototypes and bank
def test_seeded_kmeans_reproducible_and_finds_clusters():
    from mmsss.models.utils import seeded_kmeans
    g = torch.Generator().manual_seed(0)
    dirs = torch.eye(6)[:3] * 5
    x = torch.cat([d + 0.3 * torch.randn(40, 6, generator=g) for d in dirs])
    a = seeded_kmeans(x, 3, seed=7)
    assert torch.equal(a, seeded_kmeans(x, 3, seed=7))
    assert torch.allclose(a.norm(dim=1), torch.ones(3))
    # every true direction has a centre within a small angle
    cos = a @ torch.nn.functional.normalize(dirs, dim=1).t()
    assert (cos.max(dim=0).values > 0.98).all()
    # fewer samples than clusters: samples repeated; none: zeros
    few = seeded_kmeans(x[:2], 5, seed=0)
    assert few.shape == (5, 6)
    assert torch.equal(seeded_kmeans(x[:0], 3), torch.zeros(3, 6))


def test_part_assignment_and_map_by_hand():
    from mmsss.models.utils import (assign_parts, masked_average_pool,
                                    part_similarity)
    # 2 classes x 2 parts in 2-D
    protos = torch.tensor([[[1., 0.], [0., 1.]], [[1., 1.], [-1., 0.]]])
    # one image, 2x3 feature map (D=2)
    f = torch.tensor([[[2., 0., 1.], [0., -3., 1.]],
                      [[1., 3., 0.], [1., 0., 1.]]]).unsqueeze(0)
    labels = torch.tensor([[[0, 0, 1], [255, 1, 1]]])
    sim = part_similarity(f, protos)
    parts = assign_parts(sim, labels)
    # pixel (0,0) f=(2,1), class 0: cos with (1,0)=.894 > (0,1)=.447 -> 0
    # pixel (0,1) f=(0,3), class 0 -> part 1
    # pixel (0,2) f=(1,0), class 1: (1,1)=.707 > (-1,0)=-1 -> 0
    # pixel (1,0) ignored -> -1
    # pixel (1,1) f=(-3,0), class 1: (-1,0)=1 -> 1
    # pixel (1,2) f=(1,1), class 1 -> 0
    assert parts.tolist() == [[[0, 1, 0], [-1, 1, 0]]]
    sums, counts = masked_average_pool(f, labels, parts, 2, 2)
    assert counts.tolist() == [[1., 1., 2., 1.]]
    expected = torch.tensor([[2., 1.], [0., 3.], [2., 1.], [-3., 0.]])
    assert torch.equal(sums[0], expected)


def test_prototype_ema_eq12_one_step_by_hand():
    """Eq. 12 on the unit sphere: P <- normalize(θ·P̂ + (1 − θ)·MAP̂), MAP̂
    the direction of the batch sum of normalised features."""
    from mmsss.models.utils import ema_update_prototypes
    protos = torch.tensor([[[1., 0.], [0., 0.]], [[0., 2.], [3., 4.]]])
    sums = torch.tensor([[3., 4.], [0., -2.], [5., 5.], [0., -3.]])
    counts = torch.tensor([2., 2., 0., 4.])
    out = ema_update_prototypes(protos, sums, counts, 0.9)
    # (0,0): MAP direction (3,4)/5 = (.6,.8) (not the raw mean (1.5, 2));
    #        .9*(1,0) + .1*(.6,.8) = (.96,.08), norm sqrt(.928)
    # (0,1): all zeros before: takes the MAP direction (0,-1)
    # (1,0): no pixels: unchanged, even off the sphere
    # (1,1): (3,4) is first brought to (.6,.8):
    #        .9*(.6,.8) + .1*(0,-1) = (.54,.62), norm sqrt(.676)
    exp = torch.tensor([[[.96 / math.sqrt(.928), .08 / math.sqrt(.928)],
                         [0., -1.]],
                        [[0., 2.],
                         [.54 / math.sqrt(.676), .62 / math.sqrt(.676)]]])
    assert torch.allclose(out, exp, atol=1e-6)
    # only the direction of the batch sum matters: features of any scale
    # and any pixel count move a unit prototype by the same θ-weighted step
    again = ema_update_prototypes(protos, 100. * sums, 7. * counts, 0.9)
    assert torch.allclose(again, out, atol=1e-6)


def test_prototype_ema_stays_on_unit_sphere():
    from mmsss.models.utils import ema_update_prototypes, seeded_kmeans
    g = torch.Generator().manual_seed(0)
    c, k, d = 3, 4, 8
    protos = torch.stack([
        seeded_kmeans(5. * torch.randn(40, d, generator=g), k, seed=i)
        for i in range(c)
    ])
    assert torch.allclose(protos.norm(dim=2), torch.ones(c, k))
    start = protos.clone()
    for _ in range(300):
        # raw-scale features (norm ~ 50) and parts missing from some batches
        sums = 50. * torch.randn(c * k, d, generator=g) + 20.
        counts = torch.randint(0, 3, (c * k, ), generator=g).float()
        protos = ema_update_prototypes(protos, sums, counts, 0.99)
        assert torch.allclose(
            protos.norm(dim=2), torch.ones(c, k), atol=1e-5)
    assert not torch.allclose(protos, start)
    # a constant MAP direction u, from a prototype orthogonal to it: the
    # recursion p <- normalize(0.99·p + 0.01·u) in (e1, u) coordinates
    u = torch.zeros(d)
    u[0] = 1.
    p = torch.zeros(1, 1, d)
    p[0, 0, 1] = 1.  # orthogonal to u
    a, b = 1., 0.  # p = a·e1 + b·u, by hand
    for _ in range(50):
        p = ema_update_prototypes(p, u.view(1, d), torch.ones(1), 0.99)
        a, b = 0.99 * a, 0.99 * b + 0.01
        norm = math.hypot(a, b)
        a, b = a / norm, b / norm
    assert p[0, 0, 1].item() == pytest.approx(a, rel=1e-5)
    assert p[0, 0, 0].item() == pytest.approx(b, rel=1e-5)


def test_fifo_order_and_capacity_against_deque():
    from mmsss.models.utils import fifo_enqueue, queue_contents
    num_queues, size, d = 3, 4, 2
    bank = torch.zeros(num_queues, size, d)
    ptr = torch.zeros(num_queues, dtype=torch.long)
    count = torch.zeros(num_queues, dtype=torch.long)
    ref = [collections.deque(maxlen=size) for _ in range(num_queues)]
    g = torch.Generator().manual_seed(0)
    value = 0
    for step, m in enumerate([2, 0, 5, 1, 9, 3]):
        ids = torch.randint(num_queues, (m, ), generator=g)
        if step == 4:
            ids[:] = 1  # 9 values into one queue of size 4 in one call
        vals = torch.arange(value, value + m).float().view(-1, 1).repeat(
            1, d)
        value += m
        fifo_enqueue(bank, ptr, count, ids, vals)
        for i, v in zip(ids.tolist(), vals[:, 0].tolist()):
            ref[i].append(v)
        for q in range(num_queues):
            got = queue_contents(bank, ptr, count, q)[:, 0].tolist()
            assert got == list(ref[q]), (step, q)
            assert int(count[q]) == len(ref[q]) <= size


# a tiny bank, C = 3 classes x K = 2 parts, q = 4 slots; queue c*K + k
_NUM_K, _SIZE = 2, 4
# (0,0): 4, (0,1): 2, (1,0): empty, (1,1): 3, (2,0): 1, (2,1): 4 entries
_COUNT = torch.tensor([4, 2, 0, 3, 1, 4])
# anchors (c, k*): (0,0), (0,1), (1,0) [own queue empty], (2,1), (1,1)
_CLS = torch.tensor([0, 0, 1, 2, 1])
_PART = torch.tensor([0, 1, 0, 1, 1])
# the queues the negatives of each anchor may come from, written by hand:
# filled queues (c', k') != (c, k*) | filled queues with c' != c
_ALLOWED = {
    'other_parts': [{1, 3, 4, 5}, {0, 3, 4, 5}, None, {0, 1, 3, 4},
                    {0, 1, 4, 5}],
    'other_classes': [{3, 4, 5}, {3, 4, 5}, None, {0, 1, 3}, {0, 1, 4, 5}],
}


@pytest.mark.parametrize('negatives', ['other_parts', 'other_classes'])
def test_sample_bank_indices_negative_queues_exactly(negatives):
    from mmsss.models.utils import sample_bank_indices
    g = torch.Generator().manual_seed(0)
    pos, neg, keep = sample_bank_indices(_CLS, _PART, _COUNT, _SIZE, _NUM_K,
                                         2000, negatives=negatives,
                                         generator=g)
    assert keep.tolist() == [True, True, False, True, True]
    # the positive: a filled slot of the anchor's own queue
    own = [0, 1, 2, 5, 3]
    for i in (0, 1, 3, 4):
        assert int(pos[i]) // _SIZE == own[i]
        assert int(pos[i]) % _SIZE < int(_COUNT[own[i]])
    for i, allowed in enumerate(_ALLOWED[negatives]):
        if allowed is None:
            continue
        # 2000 uniform draws reach every filled slot of every allowed
        # queue, and nothing else
        slots = {(q, s) for q in allowed for s in range(int(_COUNT[q]))}
        got = {(j // _SIZE, j % _SIZE) for j in neg[i].tolist()}
        assert got == slots, (negatives, i)


def test_sample_bank_indices_same_class_parts_only():
    """Only the other part of the anchor's class is filled: a negative under
    the paper's rule, none under the ablation."""
    from mmsss.models.utils import sample_bank_indices
    count = torch.tensor([2, 3, 0, 0])  # (0,0), (0,1), (1,0), (1,1)
    cls, part = torch.tensor([0]), torch.tensor([0])
    _, neg, keep = sample_bank_indices(cls, part, count, _SIZE, _NUM_K, 50)
    assert keep.tolist() == [True]
    assert set((neg[0] // _SIZE).tolist()) == {1}
    _, _, keep = sample_bank_indices(
        cls, part, count, _SIZE, _NUM_K, 50, negatives='other_classes')
    assert keep.tolist() == [False]
    with pytest.raises(ValueError, match='negatives'):
        sample_bank_indices(cls, part, count, _SIZE, _NUM_K, 5,
                            negatives='same_class')


@pytest.mark.parametrize('class_mean', ['all', 'present'])
def test_infonce_against_direct_formula(class_mean):
    """Eq. 10 per class by a plain loop; L_CTR = (1/C) Σ_{c=1}^{C} L^c_CTR
    over all C = 4 classes (classes 1 and 3 have no anchors and add 0) or,
    as the switch, the mean over the two classes with anchors."""
    from mmsss.models.utils.contrastive import pixel_to_part_infonce
    g = torch.Generator().manual_seed(3)
    anchors = torch.randn(5, 4, generator=g, dtype=torch.float64)
    bank = torch.randn(12, 4, generator=g, dtype=torch.float64)
    cls = torch.tensor([0, 0, 2, 2, 2])
    pos = torch.tensor([1, 0, 7, 8, 8])
    neg = torch.randint(12, (5, 6), generator=g)
    sigma, num_classes = 0.5, 4

    def phi(a, b):
        return math.exp(
            float(a @ b) / float(a.norm() * b.norm()) / sigma)

    per_class = collections.defaultdict(list)
    for i in range(5):
        num = phi(anchors[i], bank[pos[i]])
        den = num + sum(phi(anchors[i], bank[j]) for j in neg[i])
        per_class[int(cls[i])].append(-math.log(num / den))
    class_losses = [
        np.mean(per_class[c]) if c in per_class else 0.
        for c in range(num_classes)
    ]
    if class_mean == 'all':
        expected = sum(class_losses) / num_classes
    else:
        expected = sum(class_losses) / len(per_class)
    a = anchors.clone().requires_grad_()
    loss = pixel_to_part_infonce(a, cls, bank, pos, neg, sigma, chunk=2,
                                 num_classes=num_classes,
                                 class_mean=class_mean)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    # the two normalisations differ by C / |present| = 2 here
    assert (loss.item() * (2 if class_mean == 'all' else 1)) == \
        pytest.approx(np.mean([np.mean(v) for v in per_class.values()]),
                      rel=1e-6)
    # chunked gather-dot gradient equals autograd of the dense formula
    loss.backward()
    a2 = anchors.clone().requires_grad_()
    an = torch.nn.functional.normalize(a2, dim=1)
    bn = torch.nn.functional.normalize(bank, dim=1)
    idx = torch.cat([pos.view(-1, 1), neg], 1)
    logits = (an.unsqueeze(1) * bn[idx]).sum(-1) / sigma
    per = torch.logsumexp(logits, 1) - logits[:, 0]
    divisor = num_classes if class_mean == 'all' else 2
    dense = (per[:2].mean() + per[2:].mean()) / divisor
    dense.backward()
    assert torch.allclose(a.grad, a2.grad)


def test_infonce_class_mean_errors():
    from mmsss.models.utils.contrastive import pixel_to_part_infonce
    args = (torch.randn(2, 3), torch.tensor([0, 5]), torch.randn(4, 3),
            torch.tensor([0, 1]), torch.tensor([[2, 3], [2, 3]]))
    with pytest.raises(ValueError, match='class_mean'):
        pixel_to_part_infonce(*args, num_classes=6, class_mean='batch')
    with pytest.raises(ValueError, match='num_classes'):
        pixel_to_part_infonce(*args)
    with pytest.raises(ValueError, match=r'\[0, 4\)'):
        pixel_to_part_infonce(*args, num_classes=4)


def test_sample_anchors_ratio_per_class():
    from mmsss.models.utils import sample_anchors
    cls = torch.tensor([0] * 20 + [1] * 7 + [255] * 5 + [3] * 1)
    idx = sample_anchors(cls, 0.1, 4)
    picked = cls[idx]
    assert (picked == 0).sum() == 2 and (picked == 1).sum() == 1
    assert (picked == 3).sum() == 1 and (picked == 255).sum() == 0
    assert idx.unique().numel() == idx.numel()


# ----------------------------------------------------------------------
# the segmentor
def _esl(**cfg):
    base = dict(
        queue_size=4,
        num_negatives=7,
        projector=dict(channels=16),
        conf_thresh=0.0)
    base.update(cfg)
    return tiny_semi_model('ESLSegmentor', **base)


def _init(model):
    g = torch.Generator().manual_seed(0)
    model.init_prototypes(
        [torch.randn(20, 64, generator=g) for _ in range(NUM_CLASSES)])


def test_decoder_split_equals_head_forward():
    from mmsss.models.segmentors.esl import (decoder_features,
                                             seg_logits_from_decoder)
    model = _esl()
    model.eval()
    x = torch.randn(2, 3, 32, 32)
    head = model.student.decode_head
    feats = model.student.extract_feat(x)
    split = seg_logits_from_decoder(head, decoder_features(head, feats))
    assert torch.allclose(split, head.forward(feats), atol=1e-6)


def test_esl_steps_update_bank_prototypes_and_train_projector():
    model = _esl()
    _init(model)
    model.train()
    inputs, samples = make_multi_batch()
    proto0 = model.prototypes.clone()
    losses = model.loss(inputs, samples)
    for k in ('sup_decode.loss_ce', 'unsup_loss_sce', 'unsup_loss_ctr'):
        assert k in losses and torch.isfinite(losses[k])
    # the first step has an empty bank: no anchors, bank filled afterwards
    assert losses['unsup_ctr_anchors'] == 0 and model.bank_count.sum() > 0
    assert not torch.equal(model.prototypes, proto0)
    losses = model.loss(inputs, samples)
    assert losses['unsup_ctr_anchors'] > 0 and losses['unsup_loss_ctr'] > 0
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    grads = [p.grad for p in model.student.projector.parameters()]
    assert all(g is not None and g.abs().sum() > 0 for g in grads)
    assert all(p.grad is None for p in model.teacher.parameters())
    # the EMA hook averages the projector like any other module
    from mmsss.engine.hooks import MeanTeacherHook
    with torch.no_grad():
        for p in model.student.projector.parameters():
            p.add_(1.)
    before = [p.clone() for p in model.teacher.projector.parameters()]
    MeanTeacherHook(momentum=0.5).ema_update(model, decay=0.5)
    after = list(model.teacher.projector.parameters())
    assert all(not torch.equal(a, b) for a, b in zip(after, before))


def test_esl_soft_label_matches_teacher_dsl():
    """Without CutMix, L_SCE equals the soft CE of the student against the
    DSL of the teacher computed independently."""
    from mmsss.models.utils import dynamic_soft_label, soft_cross_entropy
    model = _esl(num_parts=0, cutmix=dict(prob=0.0))
    model.train()
    inputs, samples = make_multi_batch()
    losses = model.loss(inputs, samples)
    x_l, x_w = inputs['sup'], inputs['unsup_weak']
    soft = dynamic_soft_label(
        model.logits_of(model.teacher, x_w).softmax(1), 0.95)
    feats, logits = model.student_forward(torch.cat([x_l, x_w]))
    expected = 0.2 * soft_cross_entropy(
        model.resize_logits(logits[2:], x_w.shape[-2:]), soft)
    assert losses['unsup_loss_sce'].item() == pytest.approx(
        expected.item(), rel=1e-4)


@pytest.mark.parametrize('cfg', [
    dict(num_parts=0),
    dict(soft_label=dict(type='hard')),
    dict(soft_label=dict(type='topk', k=5)),
    dict(num_parts=1),
    dict(num_parts=3, negatives='other_classes'),
])
def test_esl_ablation_switches(cfg):
    model = _esl(**cfg)
    if cfg.get('num_parts', 5) == 0:
        assert not hasattr(model.student, 'projector')
    else:
        _init(model)
    model.train()
    inputs, samples = make_multi_batch()
    for _ in range(2):
        losses = model.loss(inputs, samples)
    assert ('unsup_loss_ctr' in losses) == (cfg.get('num_parts', 5) > 0)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    if cfg.get('soft_label', {}).get('type') == 'hard':
        assert losses['unsup_soft_label_classes'] == 1


def test_esl_negatives_rule_reaches_sampler(monkeypatch):
    import mmsss.models.segmentors.esl as esl_module
    seen = []
    real = esl_module.sample_bank_indices

    def spy(*args, **kwargs):
        seen.append(args[6] if len(args) > 6 else kwargs['negatives'])
        return real(*args, **kwargs)

    monkeypatch.setattr(esl_module, 'sample_bank_indices', spy)
    inputs, samples = make_multi_batch()
    for cfg, expected in ((dict(), 'other_parts'),
                          (dict(negatives='other_classes'), 'other_classes')):
        model = _esl(**cfg)
        _init(model)
        model.train()
        seen.clear()
        model.loss(inputs, samples)
        assert seen == [expected]


def test_esl_ctr_class_mean_reaches_loss(monkeypatch):
    """The segmentor divides by all C classes by default (after Eq. 10) and
    by the classes with anchors under ctr_class_mean='present'."""
    import mmsss.models.segmentors.esl as esl_module
    seen = []
    real = esl_module.pixel_to_part_infonce

    def spy(*args):
        loss = real(*args)
        present = torch.unique(args[1]).numel()
        seen.append((args[7], args[8], present, loss.item(),
                     real(*args[:7], args[7], 'present').item()))
        return loss

    monkeypatch.setattr(esl_module, 'pixel_to_part_infonce', spy)
    inputs, samples = make_multi_batch()
    # anchors of classes 0 and 1 only: labeled ground truth in {0, 1}, no
    # unlabeled pixel reaches the confidence threshold
    for sample in samples['sup']:
        sample.gt_sem_seg.data = sample.gt_sem_seg.data % 2
    for cfg, expected in ((dict(), 'all'),
                          (dict(ctr_class_mean='present'), 'present')):
        model = _esl(conf_thresh=1.5, **cfg)
        _init(model)
        model.train()
        seen.clear()
        for _ in range(2):  # the second step has a filled bank
            model.loss(inputs, samples)
        num_classes, mean, present, loss, present_loss = seen[-1]
        assert (num_classes, mean) == (NUM_CLASSES, expected)
        assert present == 2 < NUM_CLASSES
        scale = present / NUM_CLASSES if expected == 'all' else 1.
        assert loss == pytest.approx(present_loss * scale, rel=1e-5)


def test_esl_prototypes_stay_unit_norm_and_ema_sees_normalised_features(
        monkeypatch):
    import mmsss.models.segmentors.esl as esl_module
    calls = []
    real = esl_module.ema_update_prototypes

    def spy(prototypes, sums, counts, momentum):
        calls.append((sums.clone(), counts.clone()))
        return real(prototypes, sums, counts, momentum)

    monkeypatch.setattr(esl_module, 'ema_update_prototypes', spy)
    model = _esl()
    _init(model)
    model.train()
    inputs, samples = make_multi_batch()
    with torch.no_grad():
        enc = model.teacher_pass(
            torch.cat([inputs['sup'], inputs['unsup_weak']]),
            False)['encoder']
    # the raw encoder features (ReLU outputs, >= 0, none all-zero) are far
    # from unit norm: a raw-scale MAP would not be on the prototypes' sphere
    norms = enc.norm(dim=1)
    assert enc.min() >= 0 and norms.min() > 0 and norms.max() < 0.5
    for _ in range(3):
        model.loss(inputs, samples)
        norms = model.prototypes.norm(dim=2)
        assert torch.allclose(norms, torch.ones_like(norms), atol=1e-5)
    # the EMA's sums are of n L2-normalised non-negative features:
    # sqrt(n) <= |sum| <= n (pairwise cosines in [0, 1])
    for sums, counts in calls:
        present = counts > 0
        assert present.any()
        length = sums[present].norm(dim=1)
        assert (length <= counts[present] + 1e-4).all()
        assert (length >= counts[present].sqrt() - 1e-4).all()


def test_esl_config_errors():
    with pytest.raises(ValueError, match='soft_label.eta'):
        _esl(soft_label=dict(type='dynamic', eta=1.5))
    with pytest.raises(ValueError, match='num_parts'):
        _esl(num_parts=-1)
    with pytest.raises(ValueError, match='use_intensity_branch'):
        _esl(use_intensity_branch=True)
    with pytest.raises(ValueError, match='negatives'):
        _esl(negatives='other_images')
    with pytest.raises(ValueError, match='ctr_class_mean'):
        _esl(ctr_class_mean='classes')
    with pytest.raises(ValueError, match='replaced by'):
        _esl(same_class_negatives=True)
    model = _esl()
    model.train()
    with pytest.raises(RuntimeError, match='PrototypeInitHook'):
        model.loss(*make_multi_batch())
