"""Config loading shared by tools/train.py and tools/test.py."""
import os.path as osp

from mmengine.config import Config

__all__ = ['load_tool_config', 'remember_config_formatting']


def remember_config_formatting(max_texts=16):
    """Format each config text with yapf once per process.

    mmengine's ``Config.pretty_text`` (mmengine/config/config.py) formats
    the config with yapf's ``FormatCode`` at the runner's start, in the
    log, at the config dump and in every checkpoint's meta: the same text
    each time, about 1-2 s of a CPU core for a method config. The result
    is remembered per input text (the output is the same); idempotent.
    """
    from mmengine.config import config as config_module
    format_code = config_module.FormatCode
    if getattr(format_code, 'remembers_texts', False):
        return
    formatted = {}

    def format_code_once(text, style_config=None, **kwargs):
        key = (text, repr(style_config), repr(sorted(kwargs.items())))
        if key not in formatted:
            if len(formatted) >= max_texts:
                formatted.clear()
            formatted[key] = format_code(
                text, style_config=style_config, **kwargs)
        return formatted[key]

    format_code_once.remembers_texts = True
    config_module.FormatCode = format_code_once


def load_tool_config(args) -> Config:
    """Load ``args.config`` the way mmseg's tools do.

    Applies ``--cfg-options`` and ``--launcher``, defaults the scope to
    mmseg, and picks the work dir: ``--work-dir`` > the config's
    ``work_dir`` > ``./work_dirs/<config name>``. The config text is
    yapf-formatted once per process (:func:`remember_config_formatting`).
    """
    remember_config_formatting()
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
