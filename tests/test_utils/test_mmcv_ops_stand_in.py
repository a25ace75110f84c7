"""The pure-PyTorch ``mmcv.ops`` stand-in used on mmcv-lite.

References are written out independently: per-point bilinear sampling in a
numpy loop, and mmcv's CUDA focal-loss kernels (forward and backward) per
element in float64.
"""
import importlib
import os
import os.path as osp
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from mmsss import mmcv_ops_stand_in as stand_in


def _bilinear_reference(feat, points, align_corners):
    """feat (N, C, H, W), points (N, P, 2) in [0, 1] -> (N, C, P)."""
    n, c, h, w = feat.shape
    out = np.zeros((n, c, points.shape[1]))
    for b in range(n):
        for k, (px, py) in enumerate(points[b]):
            if align_corners:
                x, y = px * (w - 1), py * (h - 1)
            else:
                x, y = px * w - 0.5, py * h - 0.5
            x0, y0 = int(np.floor(x)), int(np.floor(y))
            for yy in (y0, y0 + 1):
                for xx in (x0, x0 + 1):
                    if 0 <= yy < h and 0 <= xx < w:  # zeros padding
                        wgt = (1 - abs(x - xx)) * (1 - abs(y - yy))
                        out[b, :, k] += wgt * feat[b, :, yy, xx]
    return out


@pytest.mark.parametrize('align_corners', [False, True])
def test_point_sample_matches_bilinear_loop(align_corners):
    g = torch.Generator().manual_seed(0)
    feat = torch.randn(2, 3, 5, 7, generator=g, dtype=torch.float64)
    # include points outside the centre lattice and on the border
    points = torch.rand(2, 11, 2, generator=g, dtype=torch.float64)
    points[:, 0] = 0.0
    points[:, 1] = 1.0
    ref = _bilinear_reference(feat.numpy(), points.numpy(), align_corners)

    out3 = stand_in.point_sample(feat, points, align_corners=align_corners)
    assert out3.shape == (2, 3, 11)
    np.testing.assert_allclose(out3.numpy(), ref, atol=1e-10)

    grid = points.view(2, 11, 1, 2)  # 4-D points: (N, Hg, Wg, 2)
    out4 = stand_in.point_sample(feat, grid, align_corners=align_corners)
    assert out4.shape == (2, 3, 11, 1)
    np.testing.assert_allclose(out4[..., 0].numpy(), ref, atol=1e-10)


def _focal_reference(x, t, gamma, alpha, weight):
    """mmcv's forward and backward kernels, element by element."""
    tiny = np.finfo(np.float32).tiny
    loss = np.zeros_like(x)
    grad = np.zeros_like(x)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            p = 1.0 / (1.0 + np.exp(-x[n, c]))
            if t[n] == c:
                loss[n, c] = -alpha * (1 - p)**gamma * np.log(max(p, tiny))
                grad[n, c] = -alpha * (1 - p)**gamma * (
                    1 - p - gamma * p * np.log(max(p, tiny)))
            else:
                loss[n, c] = -(1 - alpha) * p**gamma * np.log(
                    max(1 - p, tiny))
                grad[n, c] = -(1 - alpha) * p**gamma * (
                    gamma * (1 - p) * np.log(max(1 - p, tiny)) - p)
            if weight is not None:
                loss[n, c] *= weight[t[n]]
                grad[n, c] *= weight[t[n]]
    return loss, grad


@pytest.mark.parametrize('reduction', ['none', 'mean', 'sum'])
@pytest.mark.parametrize('use_weight', [False, True])
def test_sigmoid_focal_loss_matches_mmcv_kernels(reduction, use_weight):
    g = torch.Generator().manual_seed(1)
    x = (3 * torch.randn(6, 4, generator=g, dtype=torch.float64))
    x.requires_grad_(True)
    t = torch.tensor([0, 3, 1, 1, 2, 0])
    weight = torch.tensor([0.5, 1.0, 2.0, 3.0], dtype=torch.float64) \
        if use_weight else None
    gamma, alpha = 1.5, 0.3
    loss = stand_in.sigmoid_focal_loss(x, t, gamma, alpha, weight, reduction)
    ref_loss, ref_grad = _focal_reference(
        x.detach().numpy(), t.numpy(), gamma, alpha,
        None if weight is None else weight.numpy())
    if reduction == 'none':
        np.testing.assert_allclose(loss.detach().numpy(), ref_loss, rtol=1e-9)
        loss.sum().backward()
    else:
        scale = 1.0 / x.shape[0] if reduction == 'mean' else 1.0
        np.testing.assert_allclose(
            loss.item(), ref_loss.sum() * scale, rtol=1e-9)
        ref_grad = ref_grad * scale
        loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), ref_grad, rtol=1e-7,
                               atol=1e-12)


def test_sigmoid_focal_loss_rejects_bad_shapes():
    with pytest.raises(ValueError, match='long target'):
        stand_in.sigmoid_focal_loss(torch.zeros(3, 2), torch.zeros(3))
    with pytest.raises(ValueError, match='reduction'):
        stand_in.sigmoid_focal_loss(
            torch.zeros(3, 2), torch.zeros(3, dtype=torch.long),
            reduction='avg')


def test_missing_op_raises_clear_error_and_guarded_import_falls_back():
    module = stand_in.make_stand_in('mmcv')
    with pytest.raises(ModuleNotFoundError, match='CrissCrossAttention'):
        module.CrissCrossAttention
    with pytest.raises(AttributeError):  # private/dunder: plain attribute
        module.__path__
    # mmseg's cc_head pattern, against the module in sys.modules
    code = textwrap.dedent("""
        try:
            from mmcv.ops import CrissCrossAttention
        except ModuleNotFoundError:
            CrissCrossAttention = None
    """)
    scope = {}
    saved = sys.modules.get('mmcv.ops')
    sys.modules['mmcv.ops'] = module
    try:
        exec(code, scope)
    finally:
        if saved is None:
            sys.modules.pop('mmcv.ops')
        else:
            sys.modules['mmcv.ops'] = saved
    assert scope['CrissCrossAttention'] is None


def _make_fake_mmcv(root, name, with_ext):
    pkg = root / name
    (pkg / 'ops').mkdir(parents=True)
    (pkg / '__init__.py').write_text('')
    (pkg / 'ops' / '__init__.py').write_text('REAL = True\n')
    if with_ext:
        (pkg / '_ext.py').write_text('')


@pytest.mark.parametrize('with_ext', [False, True])
def test_install_decision_on_fake_package(tmp_path, monkeypatch, with_ext):
    name = f'fake_mmcv_{int(with_ext)}'
    _make_fake_mmcv(tmp_path, name, with_ext)
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    try:
        assert stand_in.compiled_ops_available(name) is with_ext
        installed = stand_in.install(name)
        assert installed is (not with_ext)
        ops = importlib.import_module(f'{name}.ops')
        if with_ext:
            assert getattr(ops, 'REAL', False)  # the real module, untouched
            assert not stand_in.is_stand_in(ops)
        else:
            assert stand_in.is_stand_in(ops)
            assert ops.point_sample is stand_in.point_sample
            assert importlib.import_module(name).ops is ops
        assert stand_in.install(name) is False  # idempotent
    finally:
        for mod in [m for m in sys.modules if m.startswith(name)]:
            del sys.modules[mod]


def test_install_without_package_does_nothing():
    assert stand_in.compiled_ops_available('no_such_mmcv_pkg') is False
    assert stand_in.install('no_such_mmcv_pkg') is False
    assert 'no_such_mmcv_pkg.ops' not in sys.modules


def test_mmseg_imports_after_mmsss_in_fresh_interpreter():
    """mmseg's models, apis, datasets, visualization import after mmsss; on a
    compiled mmcv the real ops are kept."""
    code = textwrap.dedent("""
        import mmsss
        import mmseg.apis, mmseg.datasets, mmseg.models, mmseg.visualization
        import mmcv.ops
        from mmsss.mmcv_ops_stand_in import compiled_ops_available, is_stand_in
        assert is_stand_in(mmcv.ops) is (not compiled_ops_available()), (
            mmcv.ops)
        from mmseg.models.utils import point_sample
        print('stand-in' if is_stand_in(mmcv.ops) else 'compiled')
    """)
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=root)
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, cwd='/', env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() in ('stand-in', 'compiled')


def test_entry_points_import_mmsss_before_mmseg():
    """Tools and project modules import mmsss (which installs the stand-in)
    before their first mmseg import, so they run on mmcv-lite."""
    import glob
    import re
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    files = glob.glob(osp.join(root, 'tools', '**', '*.py'), recursive=True)
    files += glob.glob(
        osp.join(root, 'projects', '**', '*.py'), recursive=True)
    mmsss_re = re.compile(r'^\s*(import mmsss\b|from mmsss[ .])')
    mmseg_re = re.compile(r'^\s*(import mmseg\b|from mmseg[ .])')
    late = []
    for path in files:
        with open(path) as f:
            lines = f.read().splitlines()
        first_seg = next(
            (i for i, s in enumerate(lines) if mmseg_re.match(s)), None)
        if first_seg is None:
            continue
        first_sss = next(
            (i for i, s in enumerate(lines) if mmsss_re.match(s)), None)
        if first_sss is None or first_sss > first_seg:
            late.append(osp.relpath(path, root))
    assert late == []
