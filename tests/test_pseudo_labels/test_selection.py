"""Thresholds, sampling ratios and KL of the pseudo-label selection against a
full-sort numpy reference on float16 confidences with many ties."""
import numpy as np
import pytest
import torch

from mmsss.pseudo_labels import (NUM_CONF_BINS, class_histogram,
                                 code_to_confidence, confidence_codes,
                                 kl_divergence, pixel_keys, radix_boundary,
                                 select_thresholds)

C = 5


def random_predictions(seed, n=20000, levels=40):
    """Labels skewed towards class 0 and float16 confidences drawn from a few
    dozen values, so thresholds fall inside large groups of ties."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(C, size=n, p=[0.5, 0.25, 0.15, 0.1, 0.0])
    conf = rng.integers(levels // 5, levels + 1, size=n) / levels
    conf = conf.astype(np.float16)
    return labels, conf


def reference(labels, conf, mode, alpha, r=None, fixed=None):
    """Per-class (threshold, desired, candidates, ratio) by full sorting;
    threshold None = keep nothing."""
    n_total = len(labels)
    out = []
    if mode == 'ST':
        if fixed is not None:
            t = np.float16(fixed)
        else:
            k = int(round(alpha * n_total))
            t = np.sort(conf)[::-1][k - 1]
    for j in range(C):
        cj = np.sort(conf[labels == j])[::-1]
        if mode in ('DARS', 'DA', 'CBST'):
            if mode == 'CBST':
                want = int(round(alpha * len(cj)))
            else:
                want = int(round(alpha * r[j] / np.sum(r) * n_total))
            if want == 0 or len(cj) == 0:
                t = None
            elif want >= len(cj):
                t = cj[-1]
            else:
                t = cj[want - 1]
        cand = 0 if t is None else int(np.sum(cj >= t))
        if mode in ('ST', 'argmax'):
            want = cand
        ratio = (min(1., want / cand) if cand else 0.) if mode == 'DARS' \
            else (1. if cand else 0.)
        out.append((t, want, cand, ratio))
    return out


@pytest.mark.parametrize('mode', ['DARS', 'DA', 'CBST', 'ST'])
@pytest.mark.parametrize('alpha', [0.05, 0.4, 0.9, 1.0])
@pytest.mark.parametrize('seed', [0, 1])
def test_thresholds_match_full_sort(mode, alpha, seed):
    labels, conf = random_predictions(seed)
    r = [0.2, 0.3, 0.3, 0.1, 0.1]  # class 4 wanted but never predicted
    codes = confidence_codes(torch.from_numpy(conf.astype(np.float32)))
    hist = class_histogram(torch.from_numpy(labels), codes, C, NUM_CONF_BINS)
    sel = select_thresholds(hist, mode, alpha, r)
    ref = reference(labels, conf, mode, alpha, r)
    for j, (t, want, cand, ratio) in enumerate(ref):
        got_t = code_to_confidence(sel['codes'][j])
        assert (got_t == np.inf) if t is None else got_t == float(t), j
        assert sel['desired'][j] == want, j
        assert sel['candidates'][j] == cand, j
        assert sel['ratios'][j] == pytest.approx(ratio), j
    if mode == 'DARS':
        # the ties at t_j make the candidates exceed n_j somewhere
        assert any(c > d for c, d in zip(sel['candidates'], sel['desired']))


def test_st_fixed_threshold_and_argmax():
    labels, conf = random_predictions(3)
    codes = confidence_codes(torch.from_numpy(conf.astype(np.float32)))
    hist = class_histogram(torch.from_numpy(labels), codes, C, NUM_CONF_BINS)
    sel = select_thresholds(hist, 'ST', 1.0, fixed_threshold=0.7)
    ref = reference(labels, conf, 'ST', 1.0, fixed=0.7)
    assert sel['candidates'] == [c for _, _, c, _ in ref]
    sel = select_thresholds(hist, 'argmax', 1.0)
    assert sel['candidates'] == np.bincount(labels, minlength=C).tolist()


def test_confidence_codes_are_monotone_float16():
    x = torch.rand(10000)
    codes = confidence_codes(x)
    order = torch.argsort(x.half().float(), stable=True)
    assert torch.all(codes[order].diff() >= 0)
    assert int(confidence_codes(torch.tensor(1.0))) == NUM_CONF_BINS - 1
    assert code_to_confidence(int(codes[0])) == float(x[0].half())


def test_bad_arguments():
    hist = torch.zeros(C, NUM_CONF_BINS, dtype=torch.int64)
    with pytest.raises(ValueError, match='label_ratio'):
        select_thresholds(hist, 'DARS', 1.5, [1] * C)
    with pytest.raises(ValueError, match='label_ratio'):
        select_thresholds(hist, 'DARS', 0., [1] * C)
    with pytest.raises(ValueError, match='class_distribution'):
        select_thresholds(hist, 'DARS', 0.5, [1, 2])
    with pytest.raises(ValueError, match='mode'):
        select_thresholds(hist, 'XX', 0.5)


def test_kl_hand_computed():
    p, q = [0.5, 0.3, 0.2, 0.0], [40, 40, 20, 0]
    want = 0.5 * np.log(0.5 / 0.4) + 0.3 * np.log(0.3 / 0.4) + 0.2 * np.log(
        0.2 / 0.2)
    assert kl_divergence(p, q) == pytest.approx(want, rel=1e-12)
    assert kl_divergence([1, 2, 3], [2, 4, 6]) == pytest.approx(0., abs=1e-15)


def test_pixel_keys_depend_on_image_and_seed_only():
    a = pixel_keys('2007_000033', 0, (7, 9))
    assert torch.equal(a, pixel_keys('2007_000033', 0, (7, 9)))
    assert not torch.equal(a, pixel_keys('2007_000034', 0, (7, 9)))
    assert not torch.equal(a, pixel_keys('2007_000033', 1, (7, 9)))
    assert a.min() >= 0 and a.max() < 2**32


def test_radix_boundary_finds_kth_smallest():
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 2**32, size=3000, dtype=np.int64)
    hist = torch.zeros(1, 65536, dtype=torch.int64)
    hist[0] = torch.bincount(torch.from_numpy(keys >> 16), minlength=65536)
    for k in (1, 17, 1500, 3000):
        (hi, ), (rest, ) = radix_boundary(hist, [k])
        low = keys[(keys >> 16) == hi] & 0xFFFF
        h2 = torch.zeros(1, 65536, dtype=torch.int64)
        h2[0] = torch.bincount(torch.from_numpy(low), minlength=65536)
        (lo, ), _ = radix_boundary(h2, [rest])
        assert hi * 65536 + lo == np.sort(keys)[k - 1]


def test_class_histogram_into_out_counts_as_numpy():
    """``out=`` (added in place, issue 28) against a numpy count."""
    rng = np.random.default_rng(0)
    out = torch.zeros(C, 7, dtype=torch.int64)
    ref = np.zeros((C, 7), np.int64)
    for _ in range(3):
        labels = rng.integers(0, C, (9, 11))
        values = rng.integers(0, 7, (9, 11))
        np.add.at(ref, (labels.ravel(), values.ravel()), 1)
        got = class_histogram(torch.from_numpy(labels),
                              torch.from_numpy(values), C, 7, out=out)
        assert got is out
    assert out.tolist() == ref.tolist()
    with pytest.raises(ValueError, match='contiguous int64'):
        class_histogram(torch.zeros(2, dtype=torch.long),
                        torch.zeros(2, dtype=torch.long), C, 7,
                        out=torch.zeros(C, 7))
