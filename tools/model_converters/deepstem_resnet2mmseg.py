"""Convert the deep-stem ImageNet ResNet-50/101 of CPS/U2PL/iMAS/UniMatch
(``resnet50.pth``/``resnet101.pth``) to mmseg ``DeepStemResNet`` keys.

    python tools/model_converters/deepstem_resnet2mmseg.py \
        pretrained/resnet101.pth pretrain/resnet101_deepstem_mmseg.pth

The result is what ``init_cfg=dict(type='Pretrained', checkpoint=...)`` of
the ``*_official-arch`` configs loads. Key layout and checks:
``mmsss/utils/official_weights.py``.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

from mmsss.utils.official_weights import (  # noqa: E402
    OfficialWeightsError, convert_deepstem_resnet, load_official_checkpoint,
    save_mmseg_checkpoint)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='official resnet50.pth / resnet101.pth')
    parser.add_argument('dst', help='output mmseg backbone checkpoint')
    args = parser.parse_args(argv)
    try:
        state, info = convert_deepstem_resnet(
            load_official_checkpoint(args.src), args.src)
    except OfficialWeightsError as e:
        sys.exit(f'error: {e}')
    save_mmseg_checkpoint(state, args.dst, args.src,
                          architecture=f'DeepStemResNet-{info["depth"]}')
    print(f'wrote {len(state)} tensors (ResNet-{info["depth"]}, dropped '
          f'{len(info["dropped"])}: {info["dropped"]}) to {args.dst}')


if __name__ == '__main__':
    main()
