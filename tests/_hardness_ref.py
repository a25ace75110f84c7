"""Independent per-image numpy reference of the iMAS easiness, written after
the official ``meanIOU`` / ``compute_ulb_hardness_all``
(ZhenZHAO/iMAS, imas/utils/loss_helper.py): one image at a time, a
``bincount`` confusion matrix ``hist[true, pred]`` and ``np.nansum``."""
import numpy as np


def np_softmax(x):
    z = x - x.max(axis=0, keepdims=True)
    ez = np.exp(z)
    return ez / ez.sum(axis=0, keepdims=True)


def np_wiou(ref, other, c, ignore_bg, weighted=True):
    """wIoU of one image with ``ref`` as the reference ("ground truth")."""
    ref = np.asarray(ref).astype(np.int64)
    other = np.asarray(other).astype(np.int64)
    hist = np.bincount(
        c * ref.ravel() + other.ravel(), minlength=c * c).reshape(c, c)
    counts = np.array([(ref == k).sum() for k in range(c)], dtype=np.float64)
    with np.errstate(divide='ignore', invalid='ignore'):
        iu = np.diag(hist) / (hist.sum(1) + hist.sum(0) - np.diag(hist))
        if not weighted:
            return np.nanmean(iu)
        w = counts.copy()
        if ignore_bg:
            w[0] = 0
        w = w / w.sum()
        return np.nansum(iu * w)


def np_easiness(t_logits, s_logits, tau, ignore_bg, weighted=True):
    """(ρ_t·wIoU(ref=t) + ρ_s·wIoU(ref=s)) / 2 per image, float64."""
    out = []
    for t, s in zip(t_logits, s_logits):
        pt = np_softmax(np.asarray(t, np.float64))
        ps = np_softmax(np.asarray(s, np.float64))
        lt, ls = pt.argmax(0), ps.argmax(0)
        rt = (pt.max(0) >= tau).mean()
        rs = (ps.max(0) >= tau).mean()
        c = t.shape[0]
        out.append((rt * np_wiou(lt, ls, c, ignore_bg, weighted) +
                    rs * np_wiou(ls, lt, c, ignore_bg, weighted)) / 2)
    return np.array(out)
