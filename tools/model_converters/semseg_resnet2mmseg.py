"""Convert hszhao/semseg's deep-base ImageNet ``resnet50_v2.pth`` (the
initialisation of DARS's PSPNet-50) to mmseg ``DeepStemResNet`` keys, or,
with ``--pspnet``, a whole semseg/DARS PSPNet checkpoint to an mmseg
EncoderDecoder (``DeepStemResNet`` + ``PSPHead`` + ``FCNHead``).

    python tools/model_converters/semseg_resnet2mmseg.py \
        initmodel/resnet50_v2.pth pretrain/resnet50_v2_semseg_mmseg.pth
    python tools/model_converters/semseg_resnet2mmseg.py --pspnet \
        exp/train_epoch_200.pth dars_pspnet50_mmseg.pth

Key layout and checks: ``mmsss/utils/official_weights.py``.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

from mmsss.utils.official_weights import (  # noqa: E402
    OfficialWeightsError, convert_semseg_pspnet, convert_semseg_resnet,
    dataset_meta_for, load_official_checkpoint, save_mmseg_checkpoint)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='semseg resnet50_v2.pth (or a PSPNet '
                        'checkpoint with --pspnet)')
    parser.add_argument('dst', help='output mmseg checkpoint')
    parser.add_argument('--pspnet', action='store_true',
                        help='src is a whole semseg/DARS PSPNet')
    parser.add_argument('--dataset', choices=['voc', 'cityscapes'],
                        help='classes/palette for meta.dataset_meta '
                        '(default: by the number of classes)')
    args = parser.parse_args(argv)
    try:
        ckpt = load_official_checkpoint(args.src)
        if args.pspnet:
            state, info = convert_semseg_pspnet(ckpt, args.src)
            meta = dict(dataset_meta=dataset_meta_for(info['num_classes'],
                                                      args.dataset))
        else:
            state, info = convert_semseg_resnet(ckpt, args.src)
            meta = {}
    except OfficialWeightsError as e:
        sys.exit(f'error: {e}')
    save_mmseg_checkpoint(state, args.dst, args.src, **meta)
    print(f'wrote {len(state)} tensors (ResNet-{info["depth"]}'
          f'{" PSPNet" if args.pspnet else ""}, dropped '
          f'{len(info["dropped"])}) to {args.dst}')


if __name__ == '__main__':
    main()
