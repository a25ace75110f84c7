"""Convert an iMAS (or U2PL) checkpoint (``ckpt.pth``/``ckpt_best.pth`` with
``model_state``/``teacher_state``) to an mmseg checkpoint for the
``*_official-arch`` configs (``tools/test.py``, ``init_model``,
``MMSegInferencer``).

    python tools/model_converters/imas2mmseg.py \
        exps/voc_semi183/checkpoints/ckpt_best.pth imas_voc_183_mmseg.pth
    python tools/test.py configs/imas/voc_1-8_official-arch.py \
        imas_voc_183_mmseg.pth

The EMA teacher (what the papers evaluate) is taken by default,
``--model student`` takes the student. The printed architecture names the
config to use. Key layout and checks: ``mmsss/utils/official_weights.py``.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

from mmsss.utils.official_weights import (  # noqa: E402
    OfficialWeightsError, convert_imas_segmentor, dataset_meta_for,
    load_official_checkpoint, save_mmseg_checkpoint)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='iMAS/U2PL checkpoint')
    parser.add_argument('dst', help='output mmseg checkpoint')
    parser.add_argument('--model', choices=['teacher', 'student'],
                        default='teacher',
                        help='teacher_state (default) or model_state')
    parser.add_argument('--no-aux', action='store_true',
                        help='drop the auxiliary head (for configs '
                        'without one; needed for U2PL checkpoints)')
    parser.add_argument('--dataset', choices=['voc', 'cityscapes'],
                        help='classes/palette for meta.dataset_meta '
                        '(default: by the number of classes)')
    args = parser.parse_args(argv)
    try:
        state, info = convert_imas_segmentor(
            load_official_checkpoint(args.src), args.src, args.model,
            with_aux=not args.no_aux)
        dataset_meta = dataset_meta_for(info['num_classes'], args.dataset)
    except OfficialWeightsError as e:
        hint = ('\n(use --model student)' if 'it has student weights' in
                str(e) else '')
        sys.exit(f'error: {e}{hint}')
    save_mmseg_checkpoint(state, args.dst, args.src, dataset_meta,
                          official_model=info['model'])
    print(f'wrote {len(state)} tensors of the {info["model"]} '
          f'({info["variant"]} DeepLabV3+ R-{info["depth"]}, '
          f'{info["num_classes"]} classes, auxiliary head: {info["aux"]}, '
          f'dropped {len(info["dropped"])}) to {args.dst}')


if __name__ == '__main__':
    main()
