# Copyright (c) mmsss contributors. Interface follows mmsegmentation 1.x.
"""Train a segmentor (supervised or semi-supervised) from a config.

Examples:
    python tools/train.py configs/imas/voc_1-8.py
    python tools/train.py CONFIG --work-dir work_dirs/x --amp
    python tools/train.py CONFIG --resume                # latest in work_dir
    python tools/train.py CONFIG --resume work_dirs/x/iter_4000.pth
    bash tools/dist_train.sh CONFIG 8 [same options]
    bash tools/dist_train.sh CONFIG 2 --accumulate 4  # 8 GPUs' batch on 2
"""
import argparse
import logging
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
from mmengine.logging import print_log
from mmengine.runner import Runner
from mmseg.registry import RUNNERS
from mmseg.utils import register_all_modules

from mmsss.utils import load_tool_config, setup_cpu_distributed
from mmsss.utils.accumulation import set_accumulative_counts


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume training: alone, from the latest checkpoint in the '
        'work_dir; with a path, from that checkpoint')
    parser.add_argument(
        '--amp',
        action='store_true',
        default=False,
        help='enable automatic-mixed-precision training (bfloat16 on GPUs '
        'that support it, else float16; float32 without a GPU)')
    parser.add_argument(
        '--accumulate',
        type=int,
        default=None,
        metavar='K',
        help='gradient accumulation: K micro-batches of the per-GPU batch '
        'per optimiser step (optim_wrapper.accumulative_counts=K); run on '
        'official GPUs / K GPUs to keep the official total batch. '
        'Iterations, schedules and EMA stay in optimiser steps '
        '(docs/fewer_gpus.md)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file. If the value to '
        'be overwritten is a list, it should be like key="[a,b]" or key=a,b '
        'It also allows nested list/tuple values, e.g. key="[(a,b),(c,d)]" '
        'Note that the quotation marks are necessary and that no white space '
        'is allowed.')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch/run may pass --local-rank (torch >= 2.0) or
    # --local_rank (older).
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def amp_dtype():
    """Autocast dtype for ``--amp`` on this machine.

    Returns:
        str | None: 'bfloat16' on CUDA devices that support it, 'float16' on
        other CUDA devices, None without CUDA (mmengine's AmpOptimWrapper
        only runs on GPU/NPU/MLU/MUSA).
    """
    if not torch.cuda.is_available():
        return None
    return 'bfloat16' if torch.cuda.is_bf16_supported() else 'float16'


def enable_amp(cfg):
    """Switch ``cfg.optim_wrapper`` to ``AmpOptimWrapper`` (``--amp``)."""
    wrapper_type = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if wrapper_type == 'AmpOptimWrapper':
        print_log(
            'AMP training is already enabled in your config.',
            logger='current',
            level=logging.WARNING)
        return cfg
    if wrapper_type != 'OptimWrapper':
        raise ValueError(
            '`--amp` is only supported when the optimizer wrapper type is '
            f'`OptimWrapper`, but the config has `{wrapper_type}`.')
    dtype = amp_dtype()
    if dtype is None:
        print_log(
            '`--amp` ignored: no CUDA device, and mmengine\'s '
            'AmpOptimWrapper only runs on GPU/NPU/MLU/MUSA; training in '
            'float32.',
            logger='current',
            level=logging.WARNING)
        return cfg
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.loss_scale = 'dynamic'
    cfg.optim_wrapper.dtype = dtype
    print_log(
        f'AMP enabled: AmpOptimWrapper with dtype={dtype}.', logger='current')
    return cfg


def build_cfg(args):
    """Load the config and apply the command-line options."""
    cfg = load_tool_config(args)

    if args.amp:
        enable_amp(cfg)
    if args.accumulate is not None:
        set_accumulative_counts(cfg, args.accumulate)

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


def main(argv=None):
    args = parse_args(argv)
    register_all_modules(init_default_scope=False)
    cfg = build_cfg(args)
    # --launcher pytorch/slurm without CUDA: gloo group, DDP without devices
    setup_cpu_distributed(cfg)

    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    runner.train()


if __name__ == '__main__':
    main()
