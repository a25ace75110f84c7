"""mmsss: semi-supervised semantic segmentation for MMSegmentation.

Importing the package registers every component into the mmseg registries
(``custom_imports = dict(imports=['mmsss'])`` in a config does it). Import it
before mmseg: on mmcv-lite it first installs a pure-PyTorch stand-in for the
``mmcv.ops`` names mmseg imports unguarded (see ``mmsss.mmcv_ops_stand_in``).
"""
import importlib.util

from . import mmcv_ops_stand_in

if importlib.util.find_spec('mmcv') is None:
    raise ImportError(
        'mmsss needs mmcv >=2.0.0rc4,<2.2.0: `pip install "mmcv-lite==2.1.0"` '
        '(pure Python, nothing to compile) or the full mmcv with compiled '
        'ops (see tools/setup_env.sh).')
mmcv_ops_stand_in.install()

from .version import __version__, version_info  # noqa: E402
from .utils import register_checkpoint_safe_globals  # noqa: E402

register_checkpoint_safe_globals()

from . import datasets, engine, models, pseudo_labels  # noqa: E402,F401

__all__ = ['__version__', 'version_info']
