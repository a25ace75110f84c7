"""Teacher prediction with the horizontal flip (logits averaged, then the
softmax, as the official DARS pseudo-labelling) against a direct
computation, and sampling keys redrawn in every round."""
import copy
import os
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from mmsss.pseudo_labels import PseudoLabelGenerator, pixel_keys
from mmsss.pseudo_labels.selection import confidence_codes


@pytest.fixture(autouse=True)
def _scope():
    from mmengine.registry import init_default_scope
    import mmsss  # noqa: F401
    init_default_scope('mmseg')


def _tiny_model(mode):
    """A tiny EncoderDecoder with random weights (not flip-equivariant), in
    eval mode; ``mode``: 'whole' or 'slide' (24 px windows, stride 16)."""
    from mmengine.config import ConfigDict
    from mmseg.registry import MODELS

    from tests._tiny import TINY_SEGMENTOR
    cfg = copy.deepcopy(TINY_SEGMENTOR)
    cfg['data_preprocessor'].pop('size')
    cfg['test_cfg'] = (dict(mode='whole') if mode == 'whole' else dict(
        mode='slide', crop_size=(24, 24), stride=(16, 16)))
    torch.manual_seed(0)
    model = MODELS.build(ConfigDict(cfg))
    # larger logits, so that averaging logits and averaging probabilities
    # differ clearly
    with torch.no_grad():
        model.decode_head.conv_seg.weight.normal_(0, 200.)
    return model.eval()


def _sample(h=32, w=40, seed=0):
    from mmseg.structures import SegDataSample
    g = torch.Generator().manual_seed(seed)
    img = torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8)
    s = SegDataSample()
    s.set_metainfo(dict(img_shape=(h, w), ori_shape=(h, w)))
    return dict(inputs=[img], data_samples=[s])


def _direct_logits(model, data):
    """Logits of the image and of its flip (flipped back), computed with
    the segmentor's own inference on the preprocessed tensor."""
    batch = model.data_preprocessor(copy.deepcopy(data), False)
    x = batch['inputs']
    metas = [s.metainfo for s in batch['data_samples']]
    with torch.no_grad():
        plain = model.inference(x, metas)[0]
        flipped = model.inference(x.flip(-1), metas)[0].flip(-1)
    return plain, flipped


@pytest.mark.parametrize('mode', ['whole', 'slide'])
@pytest.mark.parametrize('temperature', [1.0, 2.0])
def test_flip_averages_logits_then_softmax(mode, temperature):
    model = _tiny_model(mode)
    data = _sample()
    plain, flipped = _direct_logits(model, data)
    assert (plain - flipped).abs().max() > 2.  # the flip changes logits
    want = F.softmax((plain + flipped) / 2 / temperature, dim=0)
    gen = PseudoLabelGenerator(temperature=temperature)
    assert gen.flip and gen.flip_average == 'logits'  # the defaults
    got = gen.class_probabilities(model, copy.deepcopy(data))
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    labels, codes = gen.predict(model, copy.deepcopy(data))
    conf, lab = want.max(0)
    assert (labels == lab.numpy()).mean() > 0.999
    close = np.abs(codes.astype(np.int64) -
                   confidence_codes(conf).numpy()) <= 1
    assert close.all()

    # the other averages, for contrast: probabilities, and no flip
    probs = PseudoLabelGenerator(
        temperature=temperature, flip_average='probs').class_probabilities(
            model, copy.deepcopy(data))
    torch.testing.assert_close(
        probs, (F.softmax(plain / temperature, 0) +
                F.softmax(flipped / temperature, 0)) / 2,
        rtol=1e-5, atol=1e-6)
    assert (probs - got).abs().max() > 0.01
    single = PseudoLabelGenerator(
        temperature=temperature, flip=False).class_probabilities(
            model, copy.deepcopy(data))
    torch.testing.assert_close(single, F.softmax(plain / temperature, 0),
                               rtol=1e-5, atol=1e-6)


def test_flip_settings_are_checked_and_recorded():
    with pytest.raises(ValueError, match='flip_average'):
        PseudoLabelGenerator(flip_average='mean')
    s = PseudoLabelGenerator(label_ratio=0.4, round_idx=2).settings()
    assert s['flip'] is True and s['flip_average'] == 'logits'
    assert s['round_idx'] == 2 and s['label_ratio'] == 0.4
    assert PseudoLabelGenerator(flip=False).settings()['flip_average'] is None


def test_pixel_keys_differ_between_rounds():
    shape = (40, 50)
    k1 = pixel_keys('img_0001', 0, shape, round_idx=1)
    k2 = pixel_keys('img_0001', 0, shape, round_idx=2)
    assert torch.equal(k1, pixel_keys('img_0001', 0, shape, round_idx=1))
    assert (k1 != k2).float().mean() > 0.99
    # which pixels fall under a key limit (the sampled ones) changes too
    limit = 1 << 31
    assert ((k1 < limit) != (k2 < limit)).float().mean() > 0.3
    # no round: the keys of (seed, image) alone, as before
    assert torch.equal(
        pixel_keys('img_0001', 0, shape),
        pixel_keys('img_0001', 0, shape, round_idx=None))
    assert not torch.equal(pixel_keys('img_0001', 0, shape), k1)


def _label_arrays(out):
    names = sorted(os.listdir(osp.join(out, 'labels')))
    return {n: np.asarray(Image.open(osp.join(out, 'labels', n)))
            for n in names}


def test_rounds_draw_different_pixels_with_the_same_counts(
        synthetic_voc_root, tmp_path):
    from tests.test_pseudo_labels.test_generator import (FakeSegmentor,
                                                         build_sets)
    unlabeled, labeled = build_sets(synthetic_voc_root)
    outs, summaries = {}, {}
    for r in (1, 2):
        out = str(tmp_path / f'r{r}')
        summaries[r] = PseudoLabelGenerator(
            label_ratio=0.5, seed=3, round_idx=r).generate(
                FakeSegmentor(), unlabeled, out, labeled)
        outs[r] = _label_arrays(out)
    s1, s2 = summaries[1], summaries[2]
    assert s1['threshold_codes'] == s2['threshold_codes']
    assert s1['generator']['round_idx'] == 1
    assert s2['generator']['round_idx'] == 2
    for a, b in zip(s1['kept_counts'], s2['kept_counts']):
        assert abs(a - b) <= 1  # exact sampling: min(n_j, candidates) ±1
    # sampled classes keep other pixels in round 2
    assert any(r < 1 for r in s1['sampling_ratios'])
    kept1 = np.concatenate([(v != 255).ravel() for v in outs[1].values()])
    kept2 = np.concatenate([(v != 255).ravel() for v in outs[2].values()])
    # the candidates round 1's sampling dropped (few of many per class)
    # are almost all kept in round 2, which drops others instead
    dropped = sum(s1['candidate_counts']) - sum(s1['kept_counts'])
    assert dropped > 20
    assert int((kept2 & ~kept1).sum()) > 0.5 * dropped
