"""Per-class pseudo-label counts, KL against the labeled distribution and
precision/recall, against a hand computation on a 2x3 map; the opt-in
recording of the segmentors."""
import math

import pytest
import torch

from mmsss.models.utils.pseudo_label_stats import (class_counts,
                                                   class_statistics)
from mmsss.models.utils.vis_record import denormalize, store_vis, wants_vis


def test_counts_kl_precision_recall_by_hand():
    # C = 3; a 2x3 map
    pseudo = torch.tensor([[[0, 1, 1], [2, 2, 0]]])
    valid = torch.tensor([[[True, True, False], [True, True, True]]])
    gt = torch.tensor([[[0, 2, 1], [2, 255, 1]]])
    counts = class_counts(pseudo, valid, 3, gt)
    # confident pixels: (0,0)=0 (0,1)=1 (1,0)=2 (1,1)=2 (1,2)=0
    assert counts['pseudo'].tolist() == [2, 1, 2]
    # confident and known: (0,0) 0 vs 0 ok, (0,1) 1 vs 2, (1,0) 2 vs 2 ok,
    # (1,2) 0 vs 1; (1,1) has no ground truth
    assert counts['tp'].tolist() == [1, 0, 1]
    assert counts['pred_known'].tolist() == [2, 1, 1]
    # known ground truth: 0, 2, 1, 2, 1 (the unconfident (0,2) included)
    assert counts['gt_known'].tolist() == [1, 2, 2]

    stats = class_statistics(counts, labeled_distribution=[2, 1, 1])
    assert stats['fractions'] == pytest.approx([0.4, 0.2, 0.4])
    p, q = [0.5, 0.25, 0.25], [0.4, 0.2, 0.4]
    kl = sum(a * math.log(a / b) for a, b in zip(p, q))
    assert kl == pytest.approx(0.0498567, abs=1e-6)  # written out by hand
    assert stats['kl_labeled_pseudo'] == pytest.approx(kl, rel=1e-9)
    assert stats['precision'] == pytest.approx([0.5, 0.0, 1.0])
    assert stats['recall'] == pytest.approx([1.0, 0.0, 0.5])


def test_undefined_and_without_ground_truth():
    pseudo = torch.tensor([[[0, 0], [0, 1]]])
    valid = torch.tensor([[[True, True], [False, False]]])
    gt = torch.tensor([[[0, 0], [255, 255]]])
    stats = class_statistics(
        class_counts(pseudo, valid, 3, gt), labeled_distribution=[1, 1, 0])
    # class 1 never confident with a known truth, class 2 never in gt
    assert stats['precision'] == [1.0, None, None]
    assert stats['recall'] == [1.0, None, None]
    # q_1 = 0 where p_1 > 0: the floored q gives a large, finite KL
    assert stats['kl_labeled_pseudo'] > 10
    no_gt = class_statistics(class_counts(pseudo, valid, 3), [1, 1, 1])
    assert 'precision' not in no_gt and 'recall' not in no_gt
    nothing = class_statistics(
        class_counts(pseudo, torch.zeros_like(valid), 3), [1, 1, 1])
    assert 'kl_labeled_pseudo' not in nothing
    with pytest.raises(ValueError, match='has 2 classes'):
        class_statistics(class_counts(pseudo, valid, 3), [1, 1])


class _Pre(torch.nn.Module):
    """A SegDataPreProcessor-like normaliser (RGB after conversion)."""

    def __init__(self):
        super().__init__()
        self.register_buffer('mean', torch.tensor([10., 20., 30.]).view(
            3, 1, 1))
        self.register_buffer('std', torch.tensor([2., 4., 5.]).view(3, 1, 1))
        self._enable_normalize = True
        self.channel_conversion = True


class _Model(torch.nn.Module):

    def __init__(self):
        super().__init__()
        self.data_preprocessor = _Pre()
        self.num_classes = 3


def test_store_vis_only_when_asked():
    model = _Model()
    rgb = torch.randint(0, 256, (3, 3, 4, 4)).float()
    x = (rgb - model.data_preprocessor.mean) / model.data_preprocessor.std
    labels = torch.randint(0, 3, (3, 4, 4))
    conf = torch.rand(3, 4, 4)
    assert torch.equal(denormalize(model, x),
                       rgb.permute(0, 2, 3, 1).to(torch.uint8))
    store_vis(model, weak=x, student_view=x, pseudo_label=labels)
    assert not wants_vis(model) and not hasattr(model, 'last_vis')
    model.record_vis, model.vis_max_images = True, 2
    store_vis(
        model,
        weak=x,
        student_view=x,
        pseudo_label=labels,
        confidence=conf,
        ignore=conf < 0.5,
        student_logits=torch.randn(3, 3, 2, 2))
    panels = {t: (k, v) for t, k, v in model.last_vis['panels']}
    assert list(panels) == [
        'weak view', 'student input', 'pseudo-label', 'confidence',
        'student prediction'
    ]
    pl = panels['pseudo-label'][1]
    assert pl.shape == (2, 4, 4) and pl.device.type == 'cpu'
    want = torch.where(conf[:2] < 0.5, 255, labels[:2])
    assert torch.equal(pl.long(), want)
    assert panels['student prediction'][1].shape == (2, 4, 4)
