"""A pure-PyTorch stand-in for ``mmcv.ops`` on mmcv-lite.

Why it exists: mmsegmentation 1.2.2 imports ``mmcv.ops`` without a guard in
four modules (``mmseg/utils/mask_classification.py``,
``mmseg/models/utils/point_sample.py``, ``mmseg/models/losses/focal_loss.py``,
``mmseg/models/decode_heads/san_head.py``), so ``import mmseg.models`` needs
mmcv's compiled extension although mmsss never calls a compiled op. mmcv-lite
(a pure-Python wheel, nothing to compile) lacks that extension. When it is
missing, :func:`install` puts this module in ``sys.modules['mmcv.ops']``
before mmseg is imported. It provides the two names those modules use, with
mmcv's signatures and numerics:

- :func:`point_sample`: mmcv's wrapper around ``F.grid_sample`` for points in
  ``[0, 1]^2``;
- :func:`sigmoid_focal_loss`: mmcv's kernel formula
  (``mmcv/ops/csrc/common/cuda/sigmoid_focal_loss_cuda_kernel.cuh``) in
  PyTorch, differentiated by autograd.

Every other public name raises ``ModuleNotFoundError`` naming the op, so
mmseg's guarded imports (``try: from mmcv.ops import CrissCrossAttention
except ModuleNotFoundError``) fall back as they do without ops.

With a compiled mmcv (``mmcv._ext`` importable) nothing is touched. Delete
this module once mmseg guards those imports (or mmsss requires an mmseg that
does).
"""
import importlib
import importlib.util
import sys
import types
import warnings

STAND_IN_FLAG = '__mmsss_stand_in__'
PROVIDED = ('point_sample', 'sigmoid_focal_loss')


def compiled_ops_available(package='mmcv'):
    """Whether ``package`` (mmcv) ships its compiled extension ``_ext``.

    Returns False when the package itself is not installed.
    """
    try:
        return importlib.util.find_spec(f'{package}._ext') is not None
    except ImportError:  # the package itself is missing
        return False


def point_sample(input, points, align_corners=False, **kwargs):
    """Sample ``input`` (N, C, H, W) at ``points`` in ``[0, 1]^2``.

    Same signature and result as ``mmcv.ops.point_sample``: ``points`` of
    shape (N, P, 2) give (N, C, P); (N, Hg, Wg, 2) give (N, C, Hg, Wg).
    ``kwargs`` go to ``F.grid_sample`` (``mode``, ``padding_mode``).
    """
    import torch.nn.functional as F
    squeeze = points.dim() == 3
    grid = points.unsqueeze(2) if squeeze else points
    out = F.grid_sample(
        input, 2.0 * grid - 1.0, align_corners=align_corners, **kwargs)
    return out.squeeze(3) if squeeze else out


def sigmoid_focal_loss(input,
                       target,
                       gamma=2.0,
                       alpha=0.25,
                       weight=None,
                       reduction='mean'):
    """mmcv's ``sigmoid_focal_loss`` in PyTorch.

    Args:
        input (Tensor): (N, C) logits.
        target (LongTensor): (N,) class indices; a value outside
            ``[0, C)`` makes every class a negative.
        weight (Tensor, optional): (C,) weights, applied as ``weight[target]``
            to every entry of row n.
        reduction (str): 'none' | 'mean' (sum / N) | 'sum'.
    """
    import torch
    if target.dtype != torch.long or input.dim() != 2 or target.dim() != 1 \
            or input.size(0) != target.size(0):
        raise ValueError(
            'sigmoid_focal_loss expects input (N, C) and a long target (N,), '
            f'got input {tuple(input.shape)} and target '
            f'{tuple(target.shape)} of {target.dtype}')
    if reduction not in ('none', 'mean', 'sum'):
        raise ValueError(f"reduction must be 'none', 'mean' or 'sum', got "
                         f'{reduction!r}')
    tiny = torch.finfo(torch.float32).tiny  # FLT_MIN in the kernel
    p = torch.sigmoid(input)
    classes = torch.arange(input.size(1), device=input.device)
    positive = target[:, None] == classes[None, :]
    loss_pos = -alpha * (1 - p).pow(gamma) * p.clamp(min=tiny).log()
    loss_neg = -(1 - alpha) * p.pow(gamma) * (1 - p).clamp(min=tiny).log()
    loss = torch.where(positive, loss_pos, loss_neg)
    if weight is not None:
        if weight.dim() != 1 or weight.numel() != input.size(1):
            raise ValueError(f'weight must have shape ({input.size(1)},), '
                             f'got {tuple(weight.shape)}')
        loss = loss * weight[target][:, None]
    if reduction == 'mean':
        return loss.sum() / input.size(0)
    if reduction == 'sum':
        return loss.sum()
    return loss


class _OpsStandIn(types.ModuleType):
    """Module type whose unknown public names raise a clear error."""

    def __getattr__(self, name):
        if name.startswith('_'):
            raise AttributeError(name)
        raise ModuleNotFoundError(
            f"mmcv.ops.{name} needs mmcv's compiled ops, which this mmcv "
            '(mmcv-lite, or mmcv built without ops) does not have; mmsss '
            'only provides point_sample and sigmoid_focal_loss in pure '
            f'PyTorch. To use {name}, install the full mmcv 2.0.x-2.1.x '
            '(`MMSSS_MMCV=full bash tools/setup_env.sh`, or '
            '`mim install "mmcv>=2.0.0rc4,<2.2.0"`).',
            name=f'mmcv.ops.{name}')


def make_stand_in(package='mmcv'):
    """Build the stand-in module for ``{package}.ops``."""
    module = _OpsStandIn(
        f'{package}.ops', 'mmsss stand-in for mmcv.ops (no compiled ops)')
    module.point_sample = point_sample
    module.sigmoid_focal_loss = sigmoid_focal_loss
    module.__all__ = list(PROVIDED)
    setattr(module, STAND_IN_FLAG, True)
    return module


def install(package='mmcv'):
    """Put the stand-in at ``{package}.ops`` when the compiled ops are absent.

    Does nothing (returns False) when ``{package}.ops`` is already imported,
    when ``package`` is not installed, or when its compiled extension exists.

    Returns:
        bool: True if the stand-in was installed by this call.
    """
    name = f'{package}.ops'
    if name in sys.modules:
        return False
    try:
        parent = importlib.import_module(package)
    except ImportError:
        return False
    if compiled_ops_available(package):
        return False
    module = make_stand_in(package)
    sys.modules[name] = module
    setattr(parent, 'ops', module)
    # mmcv.cnn's guarded import of this op warns on every start with lite;
    # expected here, so silenced (the op itself still raises if used).
    warnings.filterwarnings(
        'ignore', message='Fail to import ``MultiScaleDeformableAttention``')
    return True


def is_stand_in(module):
    """Whether ``module`` is the stand-in made here."""
    return bool(getattr(module, STAND_IN_FLAG, False))
