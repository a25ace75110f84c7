"""Convert a UniMatch checkpoint (``best.pth``/``latest.pth``:
``{'model', 'optimizer', 'epoch', 'previous_best'}``) to an mmseg
checkpoint of ``EncoderDecoder(DeepStemResNet(ceil_mode=False),
OfficialDeepLabV3PlusHead(c1_bias=False))``.

    python tools/model_converters/unimatch2mmseg.py \
        exp/pascal/unimatch/r101/732/best.pth unimatch_voc_732_mmseg.pth

The feature-perturbation dropout of UniMatch has no weights; the ASPP
projection's input channels are reordered to this head's branch order.
Key layout and checks: ``mmsss/utils/official_weights.py``.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

from mmsss.utils.official_weights import (  # noqa: E402
    OfficialWeightsError, convert_unimatch_segmentor, dataset_meta_for,
    load_official_checkpoint, save_mmseg_checkpoint)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='UniMatch checkpoint')
    parser.add_argument('dst', help='output mmseg checkpoint')
    parser.add_argument('--dataset', choices=['voc', 'cityscapes'],
                        help='classes/palette for meta.dataset_meta '
                        '(default: by the number of classes)')
    args = parser.parse_args(argv)
    try:
        ckpt = load_official_checkpoint(args.src)
        state, info = convert_unimatch_segmentor(ckpt, args.src)
        dataset_meta = dataset_meta_for(info['num_classes'], args.dataset)
    except OfficialWeightsError as e:
        sys.exit(f'error: {e}')
    extra = {}
    if isinstance(ckpt.get('previous_best'), (int, float)):
        extra['official_best_miou'] = float(ckpt['previous_best'])
    save_mmseg_checkpoint(state, args.dst, args.src, dataset_meta, **extra)
    print(f'wrote {len(state)} tensors (UniMatch DeepLabV3+ '
          f'R-{info["depth"]}, {info["num_classes"]} classes) to {args.dst}')


if __name__ == '__main__':
    main()
