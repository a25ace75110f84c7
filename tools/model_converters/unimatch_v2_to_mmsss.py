"""Convert a released UniMatch V2 / FixMatch / supervised checkpoint of
LiheYoung/UniMatch-V2 to an mmsss checkpoint for ``tools/test.py`` with
``configs/unimatch_v2/*.py``.

    python tools/model_converters/unimatch_v2_to_mmsss.py \\
        exp/pascal/unimatch_v2/dinov2_base/92/best.pth unimatch_v2_voc_92.pth
    python tools/test.py configs/unimatch_v2/voc_92_dinov2-b.py \\
        unimatch_v2_voc_92.pth

Source layout: ``{'model': DDP state dict, 'model_ema': DDP state dict,
'optimizer', 'epoch', 'previous_best', 'previous_best_ema', ...}``
(``unimatch_v2.py:265-277``, ``fixmatch.py:256-268``; ``supervised.py:257-265``
has no ``model_ema``); a bare state dict is read as ``model``. Module names:
``backbone.*`` (DINOv2, ``model/backbone/dinov2.py``: converted by
``convert_dinov2_state_dict``, ``mmsss/models/backbones/dinov2.py``, as
``dinov2_to_mmsss.py`` does) and ``head.*``
(``model/semseg/dpt.py:22-108``: renamed to
:class:`~mmsss.models.decode_heads.UniMatchV2DPTHead` by
:func:`convert_head_state_dict`; ``head.scratch.refinenet4.resConfUnit1`` is
dropped: ``dpt.py:102`` calls ``refinenet4`` with one input, so it is never
used and our head does not build it). ``module.`` prefixes are stripped.

``--model both`` (default when ``model_ema`` exists): ``student.*`` from
``model`` and ``teacher.*`` from ``model_ema``, the state dict of
``UniMatchV2Segmentor`` (which predicts with the teacher, the EMA model the
published numbers come from). ``--model ema`` / ``student``: one network as
plain ``EncoderDecoder`` keys (they load into any mmsss config of this
network, teacher and student alike).
"""
import argparse
import os.path as osp
import sys
from typing import Optional, Tuple, Union

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

from mmsss.models.backbones.dinov2 import (  # noqa: E402
    DINOV2_ARCHS, convert_dinov2_state_dict, dinov2_arch_of)
from mmsss.utils.official_weights import (  # noqa: E402
    OfficialWeightsError, _apply_rules, check_state_dict, dataset_meta_for,
    load_official_checkpoint, save_mmseg_checkpoint, strip_prefixes)

# official DPTHead module path (after ``head.``) -> UniMatchV2DPTHead's
HEAD_RULES = [
    (r'projects\.([0-3])', r'projects.\1'),
    (r'resize_layers\.([013])', r'resize_layers.\1'),
    (r'scratch\.output_conv\.0', 'output_conv'),
    (r'scratch\.output_conv\.2', 'conv_seg'),
]
for _i in range(4):
    HEAD_RULES += [
        (rf'scratch\.layer{_i + 1}_rn', f'level_convs.{_i}'),
        (rf'scratch\.refinenet{_i + 1}\.resConfUnit2\.(conv[12])',
         rf'fusion_blocks.{_i}.residual_unit.\1'),
        (rf'scratch\.refinenet{_i + 1}\.out_conv',
         f'fusion_blocks.{_i}.out_conv'),
    ]
    if _i < 3:
        HEAD_RULES.append(
            (rf'scratch\.refinenet{_i + 1}\.resConfUnit1\.(conv[12])',
             rf'fusion_blocks.{_i}.lateral_unit.\1'))
HEAD_DROP = [r'scratch\.refinenet4\.resConfUnit1\.conv[12]']

def convert_head_state_dict(state: dict, filename: str = 'checkpoint'
                            ) -> Tuple[dict, list]:
    """Official ``DPTHead`` weights (keys without ``head.``) ->
    ``UniMatchV2DPTHead`` keys; returns (state, dropped keys)."""
    out, unmapped, dropped = _apply_rules(state, HEAD_RULES, HEAD_DROP)
    if unmapped:
        raise OfficialWeightsError(
            f'{filename}: head weights that are not those of UniMatch V2\'s '
            f'DPTHead (dpt.py): {sorted(unmapped)[:10]}')
    return out, dropped


def head_cfg_of(head_state: dict, filename: str = 'checkpoint') -> dict:
    """``UniMatchV2DPTHead`` arguments read off converted head weights."""
    try:
        level_channels = [
            head_state[f'projects.{i}.weight'].shape[0] for i in range(4)
        ]
        return dict(
            type='UniMatchV2DPTHead',
            in_channels=head_state['projects.0.weight'].shape[1],
            channels=head_state['level_convs.0.weight'].shape[0],
            level_channels=level_channels,
            num_classes=head_state['conv_seg.weight'].shape[0])
    except KeyError as e:
        raise OfficialWeightsError(
            f'{filename}: the head has no {e.args[0]} (head.projects.0-3, '
            'head.scratch.layer1_rn, head.scratch.output_conv.2 expected)'
        ) from None


def convert_network(state: dict,
                    filename: str = 'checkpoint',
                    arch: Optional[Union[str, dict]] = None
                    ) -> Tuple[dict, dict]:
    """One official ``DPT`` state dict -> ``EncoderDecoder(DINOv2ViT,
    UniMatchV2DPTHead)`` keys, checked against that model; returns (state,
    info with the model config).

    Args:
        arch: ``DINOv2ViT`` arch; None: the released size the weights have
            (a dict: a custom size, e.g. the tiny ViT of the tests).
    """
    state = strip_prefixes(state)
    parts = {'backbone': {}, 'head': {}}
    other = []
    for key, value in state.items():
        top, _, rest = key.partition('.')
        if top in parts:
            parts[top][rest] = value
        else:
            other.append(key)
    if other or not parts['backbone'] or not parts['head']:
        raise OfficialWeightsError(
            f'{filename}: not a UniMatch V2 DPT (backbone.* and head.* '
            f'expected; other top-level keys: {sorted(other)[:10]}, '
            f'backbone weights: {len(parts["backbone"])}, head weights: '
            f'{len(parts["head"])})')
    head, dropped = convert_head_state_dict(parts['head'], filename)
    head_cfg = head_cfg_of(head, filename)
    backbone = convert_dinov2_state_dict(parts['backbone'],
                                         f'{filename} (backbone)')
    width = backbone['cls_token'].shape[-1]
    if arch is None:
        arch = dinov2_arch_of(backbone)
        if arch is None:
            raise OfficialWeightsError(
                f'{filename}: the backbone (width {width}) is none of the '
                f'released DINOv2 sizes ({sorted(DINOV2_ARCHS)})')
    if head_cfg['in_channels'] != width:
        raise OfficialWeightsError(
            f'{filename}: the head reads {head_cfg["in_channels"]} channels, '
            f'the DINOv2 backbone has {width}')
    out = {f'backbone.{k}': v for k, v in backbone.items()}
    out.update({f'decode_head.{k}': v for k, v in head.items()})
    model_cfg = dict(
        type='EncoderDecoder',
        backbone=dict(type='DINOv2ViT', arch=arch),
        decode_head=head_cfg)
    check_state_dict(out, model_cfg, filename)
    return out, dict(arch=arch, num_classes=head_cfg['num_classes'],
                     dropped=dropped, model_cfg=model_cfg)


def convert_unimatch_v2(ckpt: dict,
                        filename: str = 'checkpoint',
                        model: Optional[str] = None,
                        arch: Optional[Union[str, dict]] = None
                        ) -> Tuple[dict, dict]:
    """A UniMatch V2 checkpoint -> mmsss state dict.

    Args:
        model: ``'both'`` (``student.`` from ``model``, ``teacher.`` from
            ``model_ema``), ``'ema'`` or ``'student'`` (plain keys); None:
            ``'both'`` if the file has ``model_ema``, else ``'student'``.
        arch: see :func:`convert_network`.
    """
    if 'model' in ckpt and isinstance(ckpt['model'], dict):
        nets = {'student': ckpt['model']}
        if isinstance(ckpt.get('model_ema'), dict):
            nets['ema'] = ckpt['model_ema']
    elif ckpt and all(hasattr(v, 'shape') for v in ckpt.values()):
        nets = {'student': ckpt}  # a bare state dict
    else:
        raise OfficialWeightsError(
            f'{filename}: no \'model\' state dict and no bare state dict '
            f'(top-level keys: {sorted(ckpt)[:10]})')
    if model is None:
        model = 'both' if 'ema' in nets else 'student'
    needed = ['student', 'ema'] if model == 'both' else [model]
    for name in needed:
        if name not in nets:
            raise OfficialWeightsError(
                f'{filename} has no \'model_ema\' (a supervised.py '
                'checkpoint or a bare state dict): use --model student')
    converted = {
        n: convert_network(nets[n], f'{filename}[{n}]', arch)
        for n in needed
    }
    if model == 'both':
        out = {}
        for name, prefix in (('student', 'student.'), ('ema', 'teacher.')):
            out.update({prefix + k: v
                        for k, v in converted[name][0].items()})
        info = dict(converted['ema'][1])
    else:
        out, info = converted[model]
    info['model'] = model
    return out, info


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='UniMatch V2 checkpoint (best.pth, '
                        'latest.pth)')
    parser.add_argument('dst', help='output mmsss checkpoint')
    parser.add_argument('--model', choices=['both', 'ema', 'student'],
                        help='both (student. and teacher. keys: '
                        'UniMatchV2Segmentor; default when the file has '
                        'model_ema), ema or student (plain keys)')
    parser.add_argument('--dataset', choices=['voc', 'cityscapes'],
                        help='classes/palette for meta.dataset_meta '
                        '(default: by the number of classes; none for '
                        'other class counts)')
    args = parser.parse_args(argv)
    try:
        ckpt = load_official_checkpoint(args.src)
        state, info = convert_unimatch_v2(ckpt, args.src, args.model)
        dataset_meta = None
        if args.dataset or info['num_classes'] in (19, 21):
            dataset_meta = dataset_meta_for(info['num_classes'],
                                            args.dataset)
    except OfficialWeightsError as e:
        sys.exit(f'error: {e}')
    extra = dict(official_model=info['model'])
    for key in ('previous_best', 'previous_best_ema', 'epoch'):
        if isinstance(ckpt.get(key), (int, float)):
            extra[f'official_{key}'] = ckpt[key]
    save_mmseg_checkpoint(state, args.dst, args.src, dataset_meta, **extra)
    print(f'wrote {len(state)} tensors (UniMatch V2 DPT, DINOv2 '
          f'ViT-{info["arch"]}, {info["num_classes"]} classes, '
          f'{info["model"]}; dropped {len(info["dropped"])} unused head '
          f'weights per network) to {args.dst}')


if __name__ == '__main__':
    main()
