"""Config loading shared by tools/train.py and tools/test.py."""
import os.path as osp

from mmengine.config import Config

__all__ = ['load_tool_config']


def load_tool_config(args) -> Config:
    """Load ``args.config`` the way mmseg's tools do.

    Applies ``--cfg-options`` and ``--launcher``, defaults the scope to
    mmseg, and picks the work dir: ``--work-dir`` > the config's
    ``work_dir`` > ``./work_dirs/<config name>``.
    """
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if cfg.get('default_scope') is None:
        cfg.default_scope = 'mmseg'
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    return cfg
