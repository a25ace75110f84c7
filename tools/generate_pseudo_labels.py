# Copyright (c) mmsss contributors.
"""Generate pseudo-labels offline with a trained checkpoint.

Reads the unlabeled/labeled sets and the generator settings from the
config's ``PseudoLabelRoundHook`` and α from ``train_cfg.rounds[ROUND]``
(or ``--label-ratio``); writes what the hook writes at that round boundary
(the round's sampling keys, and the teacher record in ``summary.json``: the
checkpoint's iteration and weights fingerprint, so the hook reuses the
folder only for the same weights; and the ``prediction`` record: test_cfg,
prediction pipeline and image names).

Examples:
    python tools/generate_pseudo_labels.py configs/dars/synthetic_1-8.py \\
        work_dirs/dars/iter_1000.pth --round 1
    bash tools/dist_generate_pseudo_labels.sh CONFIG CKPT 8 --round 1
"""
import argparse
import os
import os.path as osp
import sys

try:
    import mmsss  # noqa: F401  registers modules + checkpoint safe globals
except ImportError:  # running from a checkout that is not pip-installed
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
    import mmsss  # noqa: F401

import torch
from mmengine.config import DictAction
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, MODELS

from mmsss.pseudo_labels import (PseudoLabelGenerator, model_fingerprint,
                                 prediction_settings)
from mmsss.utils import (init_tool_distributed, load_checkpoint_checked,
                         load_tool_config)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Generate pseudo-labels of the unlabeled set')
    parser.add_argument('config', help='training config (with a '
                        'PseudoLabelRoundHook)')
    parser.add_argument('checkpoint', help='checkpoint of the teacher')
    parser.add_argument(
        '--round',
        type=int,
        default=1,
        help='round whose α (and sampling keys) are used')
    parser.add_argument('--label-ratio', type=float, help='override α')
    parser.add_argument('--mode', help='override the generator mode')
    parser.add_argument(
        '--out',
        help='output folder (default: <work_dir>/pseudo_labels/round_<k>)')
    parser.add_argument('--work-dir', help='work dir (default as train.py)')
    parser.add_argument(
        '--device',
        default='cuda' if torch.cuda.is_available() else 'cpu',
        help='device of the inference pass')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def find_hook(cfg, config_path):
    for hook in cfg.get('custom_hooks', []):
        if hook.get('type') == 'PseudoLabelRoundHook':
            return hook
    raise KeyError(f'{config_path}: custom_hooks has no PseudoLabelRoundHook '
                   '(it names the unlabeled set and the generator settings)')


def main(argv=None):
    args = parse_args(argv)
    cfg = load_tool_config(args)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    init_tool_distributed(cfg)  # gloo without CUDA
    hook = find_hook(cfg, args.config)
    rounds = cfg.get('train_cfg', {}).get('rounds') or []
    label_ratio = args.label_ratio
    if label_ratio is None:
        if not 0 < args.round < len(rounds):
            raise ValueError(
                f'--round {args.round}: train_cfg.rounds has rounds '
                f'1..{len(rounds) - 1}; or pass --label-ratio')
        label_ratio = rounds[args.round]['label_ratio']
    gen_cfg = dict(hook.get('generator') or {})
    if args.mode:
        gen_cfg['mode'] = args.mode
    generator = PseudoLabelGenerator(
        label_ratio=label_ratio, round_idx=args.round, **gen_cfg)

    unlabeled = DATASETS.build(hook['unlabeled_dataset'])
    labeled = (DATASETS.build(hook['labeled_dataset'])
               if hook.get('labeled_dataset') else None)
    model = MODELS.build(cfg.model)
    # any missing weight or shape mismatch (e.g. a checkpoint trained for
    # another number of classes) fails; extra weights are only logged
    ckpt = load_checkpoint_checked(model, args.checkpoint, strict=False)
    meta = ckpt.get('meta') if isinstance(ckpt, dict) else None
    iteration = meta.get('iter') if isinstance(meta, dict) else None
    # as PseudoLabelRoundHook records its teacher (the fingerprint covers the
    # weights the model has, whatever extra ones the checkpoint holds)
    teacher = dict(
        iter=None if iteration is None else int(iteration),
        fingerprint=model_fingerprint(model))
    model.to(args.device)
    out = args.out or osp.join(cfg.work_dir, hook.get(
        'out_dir', 'pseudo_labels'), f'round_{args.round}')
    summary = generator.generate(
        model,
        unlabeled,
        out,
        labeled_dataset=labeled,
        extra_summary=dict(
            round=args.round,
            checkpoint=args.checkpoint,
            teacher=teacher,
            # as the hook records it: the folder is reused for the same
            # test_cfg, prediction pipeline and image names only
            prediction=prediction_settings(
                model, unlabeled, hook['unlabeled_dataset'].get('pipeline'))))
    kl = summary.get('kl_labeled_pseudo')
    print(f'{out}: {summary["num_images"]} images, kept '
          f'{summary["kept_fraction"]:.4f} of pixels'
          + ('' if kl is None else f', KL(labeled || pseudo) = {kl:.6f}'))


if __name__ == '__main__':
    main()
