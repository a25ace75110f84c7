"""Convert official DINOv2 weights (``dinov2_vit{s,b,l,g}14_pretrain.pth``)
or an OpenMMLab-hosted mmpretrain DINOv2 checkpoint to ``DINOv2ViT`` keys.

    python tools/model_converters/dinov2_to_mmsss.py \
        pretrained/dinov2_vitb14_pretrain.pth \
        pretrained/dinov2_vitb14_mmsss.pth

The size is read from the weights (or checked against ``--arch``); every
key and shape is compared with ``DINOv2ViT(arch)``. The result is what
``init_cfg=dict(type='Pretrained', checkpoint=...)`` of the backbone loads
(which also takes the official file directly). Key layout:
``mmsss/models/backbones/dinov2.py``.
"""
import argparse
import os.path as osp
import sys
from typing import Optional, Tuple

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

from mmsss.models.backbones.dinov2 import (  # noqa: E402,F401
    DINOV2_ARCHS, convert_dinov2_state_dict, dinov2_arch_of)
from mmsss.utils.official_weights import (  # noqa: E402
    OfficialWeightsError, _state_of, check_state_dict,
    load_official_checkpoint, save_mmseg_checkpoint)


def convert(ckpt: dict,
            filename: str = 'checkpoint',
            arch: Optional[str] = None) -> Tuple[dict, str]:
    """A loaded checkpoint (bare state dict or ``{'state_dict': ...}``) ->
    (``DINOv2ViT`` state dict, arch name); raises
    :class:`OfficialWeightsError` for files that do not fit."""
    state = convert_dinov2_state_dict(
        _state_of(ckpt, filename, ('state_dict', 'model')), filename)
    found = dinov2_arch_of(state)
    if found is None:
        width = state['cls_token'].shape[-1]
        depth = len({k.split('.')[1] for k in state
                     if k.startswith('layers.')})
        sizes = ', '.join(f'{n} {a["embed_dims"]}x{a["num_layers"]}'
                          for n, a in DINOV2_ARCHS.items())
        raise OfficialWeightsError(
            f'{filename}: width {width} and {depth} blocks are none of the '
            f'released DINOv2 sizes ({sizes})')
    if arch is not None and arch != found:
        raise OfficialWeightsError(
            f'{filename} holds DINOv2-{found} weights, --arch is {arch}')
    check_state_dict(state, dict(type='DINOv2ViT', arch=found), filename)
    return state, found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='dinov2_vit{s,b,l,g}14_pretrain.pth or '
                        'an mmpretrain DINOv2 checkpoint')
    parser.add_argument('dst', help='output DINOv2ViT checkpoint')
    parser.add_argument('--arch', choices=sorted(DINOV2_ARCHS),
                        help='expected size (default: read from the weights)')
    args = parser.parse_args(argv)
    try:
        state, arch = convert(
            load_official_checkpoint(args.src), args.src, args.arch)
    except OfficialWeightsError as e:
        sys.exit(f'error: {e}')
    save_mmseg_checkpoint(state, args.dst, args.src,
                          architecture=f'DINOv2ViT-{arch}')
    print(f'wrote {len(state)} tensors (DINOv2ViT {arch}) to {args.dst}')


if __name__ == '__main__':
    main()
