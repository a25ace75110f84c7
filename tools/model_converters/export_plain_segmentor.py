"""Export the teacher (default; the student of a teacher-free method such as
UniMatch) or the student of an mmsss semi-supervised checkpoint as a plain
mmseg segmentor checkpoint.

    python tools/model_converters/export_plain_segmentor.py \
        work_dirs/esl_voc_732/iter_80000.pth esl_voc_732_teacher.pth
    python tools/test.py PLAIN_MMSEG_CONFIG esl_voc_732_teacher.pth

Method-only modules (e.g. ESL's projector head, prototypes and memory bank)
are dropped; the checkpoint's ``meta`` is kept.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

from mmsss.utils.export import export_plain_segmentor  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('checkpoint', help='mmsss checkpoint')
    parser.add_argument('out', help='output file')
    parser.add_argument(
        '--model',
        choices=['teacher', 'student'],
        default=None,
        help='which model to export (default: the teacher, or the student '
        'of a teacher-free checkpoint)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        state = export_plain_segmentor(args.checkpoint, args.out, args.model)
    except (KeyError, ValueError) as e:
        sys.exit(f'error: {e}')
    print(f'wrote {len(state)} tensors of the {args.model or "default model"}'
          f' to {args.out}')


if __name__ == '__main__':
    main()
