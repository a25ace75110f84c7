# Copyright (c) mmsss contributors.
"""Run every stage of a multi-stage config (three-stage self-training).

Stage after stage: train (a fresh model, re-initialised from the config),
evaluate f_θ, export it as a plain mmseg checkpoint (``<stage>/final.pth``),
predict the pseudo-masks of L ∪ U with it (argmax, shared engine,
distributed) for the next stage. Run it again to resume an interrupted
pipeline: finished stages are skipped, the interrupted stage resumes from
its latest checkpoint. Prints one table of per-stage mIoU and pseudo-mask
accuracy. See ``mmsss/engine/runner/stages.py`` for the config format.

Examples:
    python tools/train_stages.py configs/three_stage/synthetic_1-8.py
    bash tools/dist_train.sh ... (or)
    python -m torch.distributed.launch --nproc_per_node=8 \\
        tools/train_stages.py CONFIG --launcher pytorch
"""
import argparse
import json
import os
import os.path as osp
import sys

try:
    import mmsss  # noqa: F401  registers modules + checkpoint safe globals
except ImportError:  # running from a checkout that is not pip-installed
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
    import mmsss  # noqa: F401

from mmengine import dist
from mmengine.config import DictAction
from mmengine.registry import init_default_scope

from mmsss.engine.runner.stages import format_table, run_stages
from mmsss.utils import (atomic_write_text, init_tool_distributed,
                         load_tool_config)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train all stages of a multi-stage config')
    parser.add_argument('config', help='config with a `stages` list')
    parser.add_argument('--work-dir', help='work dir (default as train.py)')
    parser.add_argument(
        '--stop-after', type=int, help='stop after this many stages')
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


def main(argv=None):
    args = parse_args(argv)
    cfg = load_tool_config(args)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    init_tool_distributed(cfg)  # gloo without CUDA
    records = run_stages(cfg, stop_after=args.stop_after)
    table = format_table(records)
    if dist.get_rank() == 0:
        print(table)
        os.makedirs(cfg.work_dir, exist_ok=True)
        atomic_write_text(
            osp.join(cfg.work_dir, 'stages.json'),
            json.dumps(records, indent=2))
    return records


if __name__ == '__main__':
    main()
