"""Key mapping from the official U2PL/iMAS/UniMatch/CPS/semseg checkpoints
to mmseg modules (:class:`~mmsss.models.backbones.DeepStemResNet`,
:class:`~mmsss.models.decode_heads.OfficialDeepLabV3PlusHead`, mmseg's
``FCNHead``/``PSPHead``).

Source layouts (module names of the official code):

* deep-stem ImageNet ResNet ``resnet50.pth``/``resnet101.pth`` of
  CPS/U2PL/iMAS/UniMatch, a bare state dict: ``conv1.{0,1,3,4,6}``,
  ``bn1``, ``layer{1-4}.*``, maybe ``fc`` (ZhenZHAO/iMAS
  ``imas/models/resnet.py:179-192``);
* semseg ``resnet50_v2.pth``: ``conv1 bn1 conv2 bn2 conv3 bn3``,
  ``layer{1-4}.*``, ``fc`` (hszhao/semseg ``model/resnet.py:106-121``);
  a whole semseg/DARS PSPNet: ``layer0.{0,1,3,4,6,7}``, ``layer{1-4}``,
  ``ppm.features.i.{1,2}``, ``cls.{0,1,4}``, ``aux.{0,1,4}``
  (``model/pspnet.py:46-78``), saved as ``{'state_dict': ...}`` with the
  DDP ``module.`` prefix;
* iMAS/U2PL segmentor: ``encoder.*`` (as above), ``decoder.aspp.conv1-5``,
  ``decoder.head``, ``decoder.low_conv``, ``decoder.classifier``,
  ``auxor.aux`` (``imas/models/decoder.py``, ``model_helper.py:9-26``),
  saved by ``train_semi.py:225-242`` as ``{'model_state': student,
  'teacher_state': EMA teacher, ...}``, both DDP (``module.`` prefix);
  U2PL (``u2pl/models/decoder.py:45-124``) has dropouts inside
  ``classifier`` (so other indices), a 3x3 projection, biases and a
  training-only ``representation`` head;
* UniMatch segmentor: ``backbone.*`` (deep stem), ``head.b0-b4``,
  ``head.project``, ``reduce``, ``fuse``, ``classifier``
  (``model/semseg/deeplabv3plus.py``), saved by ``unimatch.py:238-246``
  as ``{'model': DDP state dict, 'optimizer', 'epoch', 'previous_best'}``.

Each ``convert_*`` function returns ``(state_dict, info)``; it raises
:class:`OfficialWeightsError` naming the keys it could not map, and
:func:`check_state_dict` compares the result with the target mmseg model
(built on the ``meta`` device, no memory) key by key and shape by shape.
"""
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from .atomic import atomic_save

__all__ = [
    'OfficialWeightsError', 'load_official_checkpoint', 'strip_prefixes',
    'convert_deepstem_resnet', 'convert_semseg_resnet',
    'convert_semseg_pspnet', 'convert_imas_segmentor',
    'convert_unimatch_segmentor', 'deepstem_backbone_cfg',
    'official_deeplabv3plus_cfg', 'semseg_pspnet_cfg', 'check_state_dict',
    'dataset_meta_for', 'save_mmseg_checkpoint'
]

# (regex on the module path, replacement); the parameter name is kept
Rule = Tuple[str, str]

_BLOCK = r'layer(\d+)\.(\d+)\.(conv[123]|bn[123]|downsample\.[01])'
DEEPSTEM_RULES: List[Rule] = [
    (r'conv1\.(0|1|3|4|6)', r'stem.\1'),
    (r'bn1', 'stem.7'),
    (_BLOCK, r'layer\1.\2.\3'),
]
SEMSEG_RESNET_RULES: List[Rule] = [
    (r'conv1', 'stem.0'), (r'bn1', 'stem.1'),
    (r'conv2', 'stem.3'), (r'bn2', 'stem.4'),
    (r'conv3', 'stem.6'), (r'bn3', 'stem.7'),
    (_BLOCK, r'layer\1.\2.\3'),
]
SEMSEG_PSPNET_RULES: List[Rule] = [
    (r'layer0\.(0|1|3|4|6|7)', r'backbone.stem.\1'),
    (_BLOCK, r'backbone.layer\1.\2.\3'),
    (r'ppm\.features\.(\d+)\.1', r'decode_head.psp_modules.\1.1.conv'),
    (r'ppm\.features\.(\d+)\.2', r'decode_head.psp_modules.\1.1.bn'),
    (r'cls\.0', 'decode_head.bottleneck.conv'),
    (r'cls\.1', 'decode_head.bottleneck.bn'),
    (r'cls\.4', 'decode_head.conv_seg'),
    (r'aux\.0', 'auxiliary_head.convs.0.conv'),
    (r'aux\.1', 'auxiliary_head.convs.0.bn'),
    (r'aux\.4', 'auxiliary_head.conv_seg'),
]
# iMAS/U2PL decoder without the classifier (which differs, see below)
_IMAS_DECODER_RULES: List[Rule] = [
    (r'decoder\.aspp\.conv1\.1', 'decode_head.image_pool.1.conv'),
    (r'decoder\.aspp\.conv1\.2', 'decode_head.image_pool.1.bn'),
    (r'decoder\.aspp\.conv2\.0', 'decode_head.aspp_modules.0.conv'),
    (r'decoder\.aspp\.conv2\.1', 'decode_head.aspp_modules.0.bn'),
    (r'decoder\.aspp\.conv3\.0', 'decode_head.aspp_modules.1.conv'),
    (r'decoder\.aspp\.conv3\.1', 'decode_head.aspp_modules.1.bn'),
    (r'decoder\.aspp\.conv4\.0', 'decode_head.aspp_modules.2.conv'),
    (r'decoder\.aspp\.conv4\.1', 'decode_head.aspp_modules.2.bn'),
    (r'decoder\.aspp\.conv5\.0', 'decode_head.aspp_modules.3.conv'),
    (r'decoder\.aspp\.conv5\.1', 'decode_head.aspp_modules.3.bn'),
    (r'decoder\.head\.0', 'decode_head.bottleneck.conv'),
    (r'decoder\.head\.1', 'decode_head.bottleneck.bn'),
    (r'decoder\.low_conv\.0', 'decode_head.c1_bottleneck.conv'),
    (r'decoder\.low_conv\.1', 'decode_head.c1_bottleneck.bn'),
]
# classifier Sequential indices: iMAS has no dropout in it
# (imas/models/decoder.py:53-66), U2PL one after each ReLU
# (u2pl/models/decoder.py:82-92)
_CLASSIFIER_INDICES = {
    'imas': dict(fuse0=(0, 1), fuse1=(3, 4), cls=6, aux=(0, 1, 3)),
    'u2pl': dict(fuse0=(0, 1), fuse1=(4, 5), cls=8, aux=(0, 1, 4)),
}
UNIMATCH_DECODER_RULES: List[Rule] = [
    (r'head\.b0\.0', 'decode_head.aspp_modules.0.conv'),
    (r'head\.b0\.1', 'decode_head.aspp_modules.0.bn'),
    (r'head\.b([123])\.0', r'decode_head.aspp_modules.\1.conv'),
    (r'head\.b([123])\.1', r'decode_head.aspp_modules.\1.bn'),
    (r'head\.b4\.gap\.1', 'decode_head.image_pool.1.conv'),
    (r'head\.b4\.gap\.2', 'decode_head.image_pool.1.bn'),
    (r'head\.project\.0', 'decode_head.bottleneck.conv'),
    (r'head\.project\.1', 'decode_head.bottleneck.bn'),
    (r'reduce\.0', 'decode_head.c1_bottleneck.conv'),
    (r'reduce\.1', 'decode_head.c1_bottleneck.bn'),
    (r'fuse\.0', 'decode_head.fuse.0.conv'),
    (r'fuse\.1', 'decode_head.fuse.0.bn'),
    (r'fuse\.3', 'decode_head.fuse.1.conv'),
    (r'fuse\.4', 'decode_head.fuse.1.bn'),
    (r'classifier', 'decode_head.conv_seg'),
]

_PARAM_NAMES = ('weight', 'bias', 'running_mean', 'running_var',
                'num_batches_tracked')


class OfficialWeightsError(ValueError):
    """A checkpoint does not have the expected official layout."""


def _listing(keys: Sequence[str], limit: int = 20) -> str:
    keys = list(keys)
    more = f'\n  ... and {len(keys) - limit} more' if len(keys) > limit \
        else ''
    return '\n  ' + '\n  '.join(keys[:limit]) + more


def load_official_checkpoint(filename: str) -> dict:
    """``torch.load(filename, weights_only=True)`` on CPU.

    Raises:
        OfficialWeightsError: the file is missing or not a weights-only
            readable dict (the message names the file).
    """
    if not osp.isfile(filename):
        raise OfficialWeightsError(f'{filename}: no such file')
    try:
        ckpt = torch.load(filename, map_location='cpu', weights_only=True)
    except Exception as e:  # truncated zip, pickle with foreign objects
        raise OfficialWeightsError(
            f'{filename}: cannot be read as a weights-only torch checkpoint '
            f'({type(e).__name__}: {str(e).splitlines()[0][:200]})') from e
    if not isinstance(ckpt, dict):
        raise OfficialWeightsError(
            f'{filename}: expected a dict, got {type(ckpt).__name__}')
    return ckpt


def strip_prefixes(state: dict, prefixes=('module.', )) -> dict:
    """Drop leading DDP/wrapper prefixes (repeatedly, e.g.
    ``module.module.``)."""
    out = {}
    for k, v in state.items():
        stripped = True
        while stripped:
            stripped = False
            for p in prefixes:
                if k.startswith(p):
                    k, stripped = k[len(p):], True
        out[k] = v
    return out


def _apply_rules(state: dict, rules: Sequence[Rule],
                 drop: Sequence[str] = ()) -> Tuple[dict, list, list]:
    """Rename ``state`` by ``rules``; returns (mapped, unmapped keys,
    dropped keys). ``drop`` are regexes of module paths to drop."""
    compiled = [(re.compile(p), r) for p, r in rules]
    dropped = [re.compile(p) for p in drop]
    out, unmapped, gone = {}, [], []
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            unmapped.append(f'{key} (not a tensor)')
            continue
        module, _, param = key.rpartition('.')
        if param not in _PARAM_NAMES:
            unmapped.append(key)
            continue
        for pattern, repl in compiled:
            if pattern.fullmatch(module):
                out[f'{pattern.sub(repl, module)}.{param}'] = value
                break
        else:
            if any(d.fullmatch(module) for d in dropped):
                gone.append(key)
            else:
                unmapped.append(key)
    return out, unmapped, gone


def _require_mapped(unmapped: list, filename: str, what: str) -> None:
    if unmapped:
        raise OfficialWeightsError(
            f'{filename} is not a {what}: {len(unmapped)} keys could not be '
            f'mapped:{_listing(unmapped)}')


def _depth_of(state: dict, layer3_prefix: str, filename: str) -> int:
    blocks = {int(m.group(1)) for k in state
              for m in [re.match(re.escape(layer3_prefix) + r'(\d+)\.', k)]
              if m}
    depth = {6: 50, 23: 101, 36: 152}.get(len(blocks))
    if depth is None:
        raise OfficialWeightsError(
            f'{filename}: found {len(blocks)} blocks under '
            f'"{layer3_prefix}*", expected 6 (ResNet-50), 23 (ResNet-101) '
            'or 36 (ResNet-152)')
    return depth


def _state_of(ckpt: dict, filename: str, keys: Sequence[str]) -> dict:
    """The first of ``keys`` in ``ckpt`` that is a dict, else ``ckpt``
    itself if it is a bare state dict of tensors."""
    for k in keys:
        if isinstance(ckpt.get(k), dict):
            return ckpt[k]
    if ckpt and all(isinstance(v, torch.Tensor) for v in ckpt.values()):
        return ckpt
    raise OfficialWeightsError(
        f'{filename} holds none of {list(keys)} and is no bare state dict '
        f'(top-level keys: {sorted(ckpt)[:10]})')


# --------------------------------------------------------------------------
# target model configs (used for the checks and documented in the configs)


def deepstem_backbone_cfg(depth: int, ceil_mode: bool = True,
                          **kwargs) -> dict:
    """:class:`DeepStemResNet` config (OS16, as the official configs)."""
    cfg = dict(
        type='DeepStemResNet',
        depth=depth,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 1, 2),
        strides=(1, 2, 2, 1),
        multi_grid=None,
        contract_dilation=True,
        ceil_mode=ceil_mode,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch')
    cfg.update(kwargs)
    return cfg


def _fcn_aux_head_cfg(num_classes: int, dropout_ratio: float) -> dict:
    """The official auxiliary head on layer3 (1024 channels): one 3x3 conv
    to 256 channels, BN, ReLU, dropout, 1x1 classifier."""
    return dict(
        type='FCNHead',
        in_channels=1024,
        in_index=2,
        channels=256,
        num_convs=1,
        concat_input=False,
        dropout_ratio=dropout_ratio,
        num_classes=num_classes,
        norm_cfg=dict(type='BN', requires_grad=True),
        align_corners=True)


def official_deeplabv3plus_cfg(depth: int,
                               num_classes: int,
                               variant: str = 'imas',
                               aux: bool = False,
                               ceil_mode: Optional[bool] = None,
                               c1_channels: int = 48) -> dict:
    """EncoderDecoder of the official DeepLabV3+ (``variant``: ``'imas'``,
    ``'u2pl'`` or ``'unimatch'``) at OS16: iMAS/U2PL with max-pool
    ``ceil_mode`` and the multi-grid last stage (rates 2/4/8) of their
    configs, UniMatch without either."""
    norm = dict(type='BN', requires_grad=True)
    official = variant != 'unimatch'
    if ceil_mode is None:
        ceil_mode = official
    head = dict(
        type='OfficialDeepLabV3PlusHead',
        in_channels=2048,
        in_index=3,
        channels=256,
        dilations=(1, 6, 12, 18),
        c1_in_channels=256,
        c1_channels=c1_channels,
        c1_bias=variant != 'unimatch',
        dropout_ratio=0.,
        num_classes=num_classes,
        norm_cfg=norm,
        align_corners=True)
    if variant == 'u2pl':
        head.update(project_kernel_size=3, fuse_bias=True, inner_dropout=0.1,
                    dropout_ratio=0.1)
    cfg = dict(
        type='EncoderDecoder',
        backbone=deepstem_backbone_cfg(
            depth,
            ceil_mode=ceil_mode,
            multi_grid=(2, 4, 8) if official else None),
        decode_head=head,
        test_cfg=dict(mode='whole'))
    if aux:
        cfg['auxiliary_head'] = _fcn_aux_head_cfg(num_classes, 0.)
    return cfg


def semseg_pspnet_cfg(depth: int, num_classes: int, aux: bool = True) -> dict:
    """EncoderDecoder of semseg's/DARS's PSPNet (OS8, every 3x3 conv of
    layer3/4 at rate 2/4, ``model/pspnet.py:49-58``)."""
    norm = dict(type='BN', requires_grad=True)
    cfg = dict(
        type='EncoderDecoder',
        backbone=deepstem_backbone_cfg(
            depth,
            ceil_mode=False,
            dilations=(1, 1, 2, 4),
            strides=(1, 2, 1, 1),
            contract_dilation=False),
        decode_head=dict(
            type='PSPHead',
            in_channels=2048,
            in_index=3,
            channels=512,
            pool_scales=(1, 2, 3, 6),
            dropout_ratio=0.1,
            num_classes=num_classes,
            norm_cfg=norm,
            align_corners=True),
        test_cfg=dict(mode='whole'))
    if aux:
        cfg['auxiliary_head'] = _fcn_aux_head_cfg(num_classes, 0.1)
    return cfg


def check_state_dict(state: dict, model_cfg: dict, filename: str,
                     prefix: str = '') -> None:
    """Compare ``state`` with the weights of the model ``model_cfg`` builds
    (on the ``meta`` device).

    ``num_batches_tracked`` may be missing (torch < 0.4.1 wrote none, e.g.
    in older ImageNet weights): such keys are added to ``state`` as 0, so
    the result loads with ``strict=True``.

    Raises:
        OfficialWeightsError: missing or extra weights, or other shapes
            (all listed, ``filename`` named).
    """
    import mmsss.models  # noqa: F401  (registers DeepStemResNet, heads)
    from mmseg.registry import MODELS
    with torch.device('meta'):
        model = MODELS.build(model_cfg)
    own = {prefix + k: v for k, v in model.state_dict().items()}
    missing = [k for k in own if k not in state
               and not k.endswith('num_batches_tracked')]
    extra = [k for k in state if k not in own]
    shapes = [
        f'{k}: {tuple(state[k].shape)}, expected {tuple(v.shape)}'
        for k, v in own.items() if k in state and state[k].shape != v.shape
    ]
    problems = []
    if missing:
        problems.append(f'{len(missing)} weights missing:{_listing(missing)}')
    if extra:
        problems.append(f'{len(extra)} unexpected weights:{_listing(extra)}')
    if shapes:
        problems.append(f'{len(shapes)} weights of another shape:'
                        f'{_listing(shapes)}')
    if problems:
        raise OfficialWeightsError(
            f'{filename} does not fit {model_cfg["type"]}'
            f'({model_cfg.get("backbone", model_cfg).get("type")}):\n' +
            '\n'.join(problems))
    for k in own:
        if k not in state:  # only num_batches_tracked gets here
            state[k] = torch.tensor(0, dtype=torch.long)


# --------------------------------------------------------------------------
# converters


def convert_deepstem_resnet(ckpt: dict, filename: str = 'checkpoint'
                            ) -> Tuple[dict, dict]:
    """CPS/U2PL/iMAS/UniMatch deep-stem ImageNet ResNet -> DeepStemResNet
    keys (``fc`` dropped)."""
    state = strip_prefixes(_state_of(ckpt, filename, ('state_dict', )))
    out, unmapped, dropped = _apply_rules(state, DEEPSTEM_RULES, drop=['fc'])
    _require_mapped(unmapped, filename, 'deep-stem ResNet (conv1.0, '
                    'conv1.1, ..., bn1, layer1-4)')
    depth = _depth_of(state, 'layer3.', filename)
    check_state_dict(out, deepstem_backbone_cfg(depth), filename)
    return out, dict(depth=depth, dropped=dropped)


def convert_semseg_resnet(ckpt: dict, filename: str = 'checkpoint'
                          ) -> Tuple[dict, dict]:
    """hszhao/semseg ``resnet50_v2.pth`` (``deep_base=True``) ->
    DeepStemResNet keys (``fc`` dropped)."""
    state = strip_prefixes(_state_of(ckpt, filename, ('state_dict', )))
    out, unmapped, dropped = _apply_rules(state, SEMSEG_RESNET_RULES,
                                          drop=['fc'])
    _require_mapped(unmapped, filename, 'semseg deep-base ResNet (conv1, '
                    'bn1, conv2, bn2, conv3, bn3, layer1-4)')
    depth = _depth_of(state, 'layer3.', filename)
    check_state_dict(out, deepstem_backbone_cfg(depth, ceil_mode=False),
                     filename)
    return out, dict(depth=depth, dropped=dropped)


def convert_semseg_pspnet(ckpt: dict, filename: str = 'checkpoint'
                          ) -> Tuple[dict, dict]:
    """A whole semseg/DARS PSPNet (``{'state_dict': {'module.layer0...'}}``)
    -> EncoderDecoder(DeepStemResNet, PSPHead, FCNHead) keys."""
    state = strip_prefixes(_state_of(ckpt, filename, ('state_dict', )))
    out, unmapped, dropped = _apply_rules(state, SEMSEG_PSPNET_RULES)
    _require_mapped(unmapped, filename, 'semseg/DARS PSPNet (layer0-4, ppm, '
                    'cls, aux)')
    depth = _depth_of(state, 'layer3.', filename)
    cls = out.get('decode_head.conv_seg.weight')
    if cls is None:
        raise OfficialWeightsError(f'{filename}: no cls.4.weight (classifier)')
    aux = 'auxiliary_head.conv_seg.weight' in out
    check_state_dict(out, semseg_pspnet_cfg(depth, cls.shape[0], aux),
                     filename)
    return out, dict(depth=depth, num_classes=cls.shape[0], aux=aux,
                     dropped=dropped)


def _segmentor_state(ckpt: dict, filename: str, model: str,
                     keys: Dict[str, Sequence[str]]) -> dict:
    if model not in keys:
        raise ValueError(f'model must be one of {sorted(keys)}, got {model!r}')
    for k in keys[model]:
        if isinstance(ckpt.get(k), dict):
            return strip_prefixes(ckpt[k])
    if model == 'student' or not any(
            isinstance(ckpt.get(k), dict) for ks in keys.values()
            for k in ks):
        # a bare state dict (e.g. saved with torch.save(model.state_dict()))
        if ckpt and all(isinstance(v, torch.Tensor) for v in ckpt.values()):
            return strip_prefixes(ckpt)
    others = [m for m in keys if m != model and any(
        isinstance(ckpt.get(k), dict) for k in keys[m])]
    hint = f'; it has {others[0]} weights' if others else ''
    raise OfficialWeightsError(
        f'{filename} holds no {model} weights (looked for '
        f'{list(keys[model])}; top-level keys: {sorted(ckpt)[:10]}{hint})')


def convert_imas_segmentor(ckpt: dict,
                           filename: str = 'checkpoint',
                           model: str = 'teacher',
                           with_aux: bool = True) -> Tuple[dict, dict]:
    """iMAS/U2PL ``ckpt.pth``/``ckpt_best.pth`` -> EncoderDecoder keys.

    Args:
        model: ``'teacher'`` (``teacher_state``, the EMA model the papers
            evaluate) or ``'student'`` (``model_state``).
        with_aux: keep the auxiliary head (``auxor``) as
            ``auxiliary_head``; without it the aux weights are dropped.
    """
    state = _segmentor_state(
        ckpt, filename, model,
        dict(teacher=('teacher_state', ), student=('model_state',
                                                   'state_dict', 'model')))
    if any(k.startswith('decoder.classifier.8.') for k in state):
        variant = 'u2pl'
    elif any(k.startswith('decoder.classifier.6.') for k in state):
        variant = 'imas'
    else:
        tops = sorted({k.split('.')[0] for k in state})
        raise OfficialWeightsError(
            f'{filename}: no decoder.classifier.6 (iMAS) or '
            'decoder.classifier.8 (U2PL) weights; not an iMAS/U2PL '
            f'DeepLabV3+ (top-level modules: {tops})')
    idx = _CLASSIFIER_INDICES[variant]
    rules = [(r'encoder\.' + p, 'backbone.' + r) for p, r in DEEPSTEM_RULES]
    rules += _IMAS_DECODER_RULES
    rules += [
        (rf'decoder\.classifier\.{idx["fuse0"][0]}',
         'decode_head.fuse.0.conv'),
        (rf'decoder\.classifier\.{idx["fuse0"][1]}', 'decode_head.fuse.0.bn'),
        (rf'decoder\.classifier\.{idx["fuse1"][0]}',
         'decode_head.fuse.1.conv'),
        (rf'decoder\.classifier\.{idx["fuse1"][1]}', 'decode_head.fuse.1.bn'),
        (rf'decoder\.classifier\.{idx["cls"]}', 'decode_head.conv_seg'),
    ]
    drop = [r'decoder\.representation\.\d+']  # U2PL training-only head
    if with_aux:
        a = idx['aux']
        rules += [(rf'auxor\.aux\.{a[0]}', 'auxiliary_head.convs.0.conv'),
                  (rf'auxor\.aux\.{a[1]}', 'auxiliary_head.convs.0.bn'),
                  (rf'auxor\.aux\.{a[2]}', 'auxiliary_head.conv_seg')]
    else:
        drop.append(r'auxor\.aux\.\d+')
    out, unmapped, dropped = _apply_rules(state, rules, drop)
    _require_mapped(unmapped, filename, f'{variant} DeepLabV3+ ({model})')
    if variant == 'u2pl' and 'auxiliary_head.convs.0.conv.bias' in out:
        raise OfficialWeightsError(
            f'{filename}: U2PL\'s auxiliary head has a conv bias that '
            "mmseg's FCNHead lacks; convert with --no-aux (it is only used "
            'in training)')
    depth = _depth_of(state, 'encoder.layer3.', filename)
    num_classes = out['decode_head.conv_seg.weight'].shape[0]
    c1 = out['decode_head.c1_bottleneck.conv.weight'].shape[0]
    aux = any(k.startswith('auxiliary_head.') for k in out)
    cfg = official_deeplabv3plus_cfg(
        depth, num_classes, variant, aux=aux, c1_channels=c1)
    check_state_dict(out, cfg, filename)
    return out, dict(depth=depth, num_classes=num_classes, variant=variant,
                     aux=aux, model=model, dropped=dropped, model_cfg=cfg)


def _unimatch_project(weight: torch.Tensor) -> torch.Tensor:
    """UniMatch concatenates (b0 1x1, b1-b3 rates, b4 pooling); ours
    (pooling, 1x1, rates): move the last fifth of the input channels
    first."""
    c = weight.shape[1] // 5
    return torch.cat([weight[:, 4 * c:], weight[:, :4 * c]], dim=1)


def convert_unimatch_segmentor(ckpt: dict, filename: str = 'checkpoint'
                               ) -> Tuple[dict, dict]:
    """UniMatch ``best.pth``/``latest.pth`` (``{'model': DDP state dict}``,
    or a bare state dict) -> EncoderDecoder keys."""
    state = strip_prefixes(_state_of(ckpt, filename, ('model', 'state_dict')))
    rules = [(r'backbone\.' + p, 'backbone.' + r) for p, r in DEEPSTEM_RULES]
    rules += UNIMATCH_DECODER_RULES
    out, unmapped, dropped = _apply_rules(state, rules)
    _require_mapped(unmapped, filename, 'UniMatch DeepLabV3+ with a ResNet '
                    'backbone')
    key = 'decode_head.bottleneck.conv.weight'
    if key not in out or out[key].shape[1] % 5:
        raise OfficialWeightsError(
            f'{filename}: head.project.0.weight missing or its input '
            'channels are not 5 ASPP branches')
    out[key] = _unimatch_project(out[key])
    depth = _depth_of(state, 'backbone.layer3.', filename)
    num_classes = out['decode_head.conv_seg.weight'].shape[0]
    cfg = official_deeplabv3plus_cfg(depth, num_classes, 'unimatch')
    check_state_dict(out, cfg, filename)
    return out, dict(depth=depth, num_classes=num_classes,
                     variant='unimatch', aux=False, dropped=dropped,
                     model_cfg=cfg)


# --------------------------------------------------------------------------
# output


def dataset_meta_for(num_classes: int, dataset: Optional[str] = None
                     ) -> dict:
    """``dataset_meta`` (classes, palette) of PASCAL VOC (21 classes) or
    Cityscapes (19), picked by ``dataset`` or else by ``num_classes``."""
    from mmseg.datasets import CityscapesDataset, PascalVOCDataset
    metas = dict(voc=PascalVOCDataset.METAINFO,
                 cityscapes=CityscapesDataset.METAINFO)
    if dataset is None:
        dataset = {21: 'voc', 19: 'cityscapes'}.get(num_classes)
        if dataset is None:
            raise OfficialWeightsError(
                f'{num_classes} classes: pass the dataset '
                f'({"/".join(metas)}) explicitly')
    if dataset not in metas:
        raise OfficialWeightsError(f'unknown dataset {dataset!r}; known: '
                                   f'{sorted(metas)}')
    meta = metas[dataset]
    if len(meta['classes']) != num_classes:
        raise OfficialWeightsError(
            f'{dataset} has {len(meta["classes"])} classes, the checkpoint '
            f'{num_classes}')
    return dict(classes=list(meta['classes']),
                palette=[list(p) for p in meta['palette']])


def save_mmseg_checkpoint(state: dict,
                          out_file: str,
                          source: str,
                          dataset_meta: Optional[dict] = None,
                          **meta) -> None:
    """Write ``{'state_dict', 'meta'}`` atomically (temp file + rename)."""
    meta = dict(meta, converted_from=osp.basename(source))
    if dataset_meta is not None:
        meta['dataset_meta'] = dataset_meta
    atomic_save(dict(state_dict=state, meta=meta), out_file)

