"""Make mmengine checkpoints loadable under ``torch.load(weights_only=True)``.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True``: its
unpickler only rebuilds tensors, containers and an allow-list of globals.
mmengine 0.10.7 calls ``torch.load(filename, map_location)`` without
``weights_only`` (``mmengine.runner.checkpoint._load_checkpoint``), and the
checkpoints its ``Runner`` writes hold a few non-tensor objects (the message
hub's ``HistoryBuffer`` with numpy arrays, numpy scalars from metrics), so
resuming or loading them fails with ``UnpicklingError``.

We do not switch the safety off. :func:`register_checkpoint_safe_globals`
adds exactly the globals those checkpoints need to torch's allow-list
(``torch.serialization.add_safe_globals``); anything else in a pickle still
raises. The list was found with
``torch.serialization.get_unsafe_globals_in_checkpoint`` on checkpoints
written by an mmengine ``Runner`` (IterBasedTrainLoop, SGD/AdamW,
OptimWrapper/AmpOptimWrapper, PolyLR/LinearLR, CheckpointHook with
``save_best``, mmseg IoUMetric) plus the classes that the unpickler's BUILD
step checks (numpy dtype classes).

``builtins.getattr`` deserves a note: ``HistoryBuffer.__getstate__`` stores
its statistics methods (``HistoryBuffer.min`` ...), which pickle protocol 2
writes as ``getattr(HistoryBuffer, 'min')``. Allowing the real ``getattr``
would let a pickle reach any attribute of any allowed object, so we register
:func:`_history_buffer_getattr` under that name instead: it resolves only
those four methods and raises for anything else.

:func:`load_checkpoint_file` is the weights-only load with those globals,
and :func:`load_checkpoint_checked` loads a checkpoint into a model with
errors that name the file and the offending weights.
"""
import os.path as osp
import pickle
from typing import Any, Callable, List, Tuple, Union

import torch

__all__ = [
    'register_checkpoint_safe_globals', 'get_checkpoint_safe_globals',
    'SAFE_GLOBAL_SOURCES', 'load_checkpoint_file', 'checkpoint_state_dict',
    'load_checkpoint_checked'
]

# Dotted name in the pickle -> who writes it. Kept in sync with
# ``get_checkpoint_safe_globals`` (a unit test checks it).
SAFE_GLOBAL_SOURCES = {
    # mmengine MessageHub.state_dict()['log_scalars'][key] (losses, lr,
    # time, val metrics), saved by Runner.save_checkpoint as 'message_hub'.
    'mmengine.logging.history_buffer.HistoryBuffer':
    'mmengine MessageHub log_scalars',
    # HistoryBuffer.__getstate__ stores {'min': HistoryBuffer.min, ...};
    # protocol 2 pickles those as getattr(HistoryBuffer, 'min'). Restricted
    # stand-in, see _history_buffer_getattr.
    'builtins.getattr': 'HistoryBuffer statistics_methods (restricted)',
    # HistoryBuffer._log_history/_count_history are numpy arrays.
    'numpy._core.multiarray._reconstruct': 'numpy>=2 ndarray pickles',
    'numpy.core.multiarray._reconstruct': 'numpy<2 ndarray pickles (alias)',
    'numpy.ndarray': 'ndarray pickles (subtype passed to _reconstruct)',
    # Numpy scalars: mmseg IoUMetric returns np.float64 (np.round), stored
    # by CheckpointHook(save_best) as runtime_info['best_score'] and by
    # RuntimeInfoHook as 'val/mIoU' etc.; IterTimerHook's eta may be one.
    'numpy._core.multiarray.scalar': 'numpy>=2 numpy scalar pickles',
    'numpy.core.multiarray.scalar': 'numpy<2 numpy scalar pickles (alias)',
    # Every ndarray/scalar pickle carries its dtype as numpy.dtype(...).
    'numpy.dtype': 'dtype of arrays and scalars',
    # The unpickler's BUILD step only sets state on allow-listed types; a
    # rebuilt dtype is an instance of its numpy.dtypes.*DType class.
    'numpy.dtypes.BoolDType': 'bool arrays/scalars (BUILD of dtype)',
    'numpy.dtypes.Int8DType': 'int8 (BUILD of dtype)',
    'numpy.dtypes.UInt8DType': 'uint8 (BUILD of dtype)',
    'numpy.dtypes.Int16DType': 'int16 (BUILD of dtype)',
    'numpy.dtypes.UInt16DType': 'uint16 (BUILD of dtype)',
    'numpy.dtypes.Int32DType': 'int32 (BUILD of dtype)',
    'numpy.dtypes.UInt32DType': 'uint32 (BUILD of dtype)',
    'numpy.dtypes.Int64DType': 'int64, HistoryBuffer counts (BUILD)',
    'numpy.dtypes.UInt64DType': 'uint64 (BUILD of dtype)',
    'numpy.dtypes.LongLongDType': "'q' int64 on some platforms (BUILD)",
    'numpy.dtypes.ULongLongDType': "'Q' uint64 on some platforms (BUILD)",
    'numpy.dtypes.Float16DType': 'float16 (BUILD of dtype)',
    'numpy.dtypes.Float32DType': 'float32 metrics (BUILD of dtype)',
    'numpy.dtypes.Float64DType': 'float64 HistoryBuffer/metrics (BUILD)',
}

# HistoryBuffer's default statistics (HistoryBuffer._set_default_statistics).
_HISTORY_BUFFER_METHODS = ('min', 'max', 'current', 'mean')

_registered = False

SafeGlobal = Union[Callable, Tuple[Callable, str]]


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """Stand-in for ``builtins.getattr`` during weights-only unpickling.

    Resolves only ``HistoryBuffer.{min,max,current,mean}``.

    Raises:
        pickle.UnpicklingError: for any other object or attribute.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    if obj is HistoryBuffer and name in _HISTORY_BUFFER_METHODS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'getattr({obj!r}, {name!r}) is not allowed in a weights_only load: '
        'mmsss only allows HistoryBuffer statistics methods '
        f'{_HISTORY_BUFFER_METHODS}.')


def _torch_version() -> Tuple[int, int]:
    parts = torch.__version__.split('+')[0].split('.')
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return 0, 0


def get_checkpoint_safe_globals() -> List[SafeGlobal]:
    """Return the entries for ``torch.serialization.add_safe_globals``.

    Each entry is an object (registered under its ``module.qualname``) or an
    ``(object, 'dotted.name')`` tuple for names that differ from the object's
    own (numpy 1.x aliases, the restricted getattr). Entries whose package is
    missing are skipped.
    """
    entries: List[SafeGlobal] = []
    try:
        from mmengine.logging.history_buffer import HistoryBuffer
    except ImportError:  # pragma: no cover - mmengine is a hard dependency
        HistoryBuffer = None
    if HistoryBuffer is not None:
        entries.append(HistoryBuffer)
        entries.append((_history_buffer_getattr, 'builtins.getattr'))

    try:
        import numpy as np
    except ImportError:  # pragma: no cover
        return entries
    try:  # numpy >= 2
        from numpy._core import multiarray
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray
    for fn_name in ('_reconstruct', 'scalar'):
        fn = getattr(multiarray, fn_name)
        # Register under both spellings, whichever numpy wrote the file.
        entries.append((fn, f'numpy._core.multiarray.{fn_name}'))
        entries.append((fn, f'numpy.core.multiarray.{fn_name}'))
    entries += [np.ndarray, np.dtype]
    dtypes = getattr(np, 'dtypes', None)  # numpy >= 1.25
    for name in SAFE_GLOBAL_SOURCES:
        if name.startswith('numpy.dtypes.') and dtypes is not None:
            cls = getattr(dtypes, name.rsplit('.', 1)[1], None)
            if cls is not None:
                entries.append((cls, name))
    return entries


def register_checkpoint_safe_globals() -> bool:
    """Allow-list the globals in mmengine checkpoints for weights-only loads.

    Idempotent and cheap (runs once per process; later calls return at
    once). Does nothing on torch without ``add_safe_globals`` (< 2.4); on
    torch 2.4/2.5 (which default to ``weights_only=False`` and do not accept
    ``(obj, name)`` entries) only the plainly named entries are added.

    Returns:
        bool: True if the globals are registered.
    """
    global _registered
    if _registered:
        return True
    serialization = getattr(torch, 'serialization', None)
    add_safe_globals = getattr(serialization, 'add_safe_globals', None)
    if add_safe_globals is None:
        return False
    entries = get_checkpoint_safe_globals()
    if _torch_version() < (2, 6):
        entries = [e for e in entries if not isinstance(e, tuple)]
    add_safe_globals(entries)
    _registered = True
    return True


def load_checkpoint_file(filename: str, map_location='cpu') -> Any:
    """Load a checkpoint with the safe globals registered.

    A local file goes through ``torch.load(weights_only=True)`` (whatever
    torch's default); anything else (``http(s)://``, ``open-mmlab://``,
    ... and missing files, which it reports) through mmengine's
    ``_load_checkpoint``.
    """
    register_checkpoint_safe_globals()
    if osp.isfile(filename):
        return torch.load(
            filename, map_location=map_location, weights_only=True)
    from mmengine.runner.checkpoint import _load_checkpoint
    return _load_checkpoint(filename, map_location=map_location)


def checkpoint_state_dict(ckpt: Any, filename: str) -> dict:
    """``ckpt['state_dict']``, or ``ckpt`` itself if it is a bare state
    dict.

    Raises:
        KeyError: ``ckpt`` holds no state dict (``filename`` is named).
    """
    state_dict = None
    if isinstance(ckpt, dict):
        state_dict = ckpt.get('state_dict', ckpt)
    if not isinstance(state_dict, dict):
        raise KeyError(f'{filename} holds no state dict')
    return state_dict


def load_checkpoint_checked(model: torch.nn.Module,
                            filename: str,
                            strict: bool = True,
                            map_location='cpu') -> dict:
    """Load the weights of ``filename`` into ``model``, failing clearly.

    Every weight (parameter or buffer) of ``model`` must be in the
    checkpoint with the same shape, e.g. a checkpoint trained for another
    number of classes is refused. Weights of the checkpoint that the model
    lacks are an error with ``strict``, else mmengine's
    ``load_state_dict`` logs them.

    Returns:
        dict: The loaded checkpoint (``meta`` etc.).

    Raises:
        ValueError: some weights differ in shape (the first five listed).
        KeyError: the model has weights the checkpoint lacks; with
            ``strict``, the checkpoint has weights the model lacks; the file
            holds no state dict.
    """
    from mmengine.runner import load_state_dict
    ckpt = load_checkpoint_file(filename, map_location=map_location)
    state = checkpoint_state_dict(ckpt, filename)
    own = model.state_dict()
    bad = [
        f'{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}'
        for k, v in state.items() if k in own and v.shape != own[k].shape
    ]
    if bad:
        raise ValueError(
            f'{filename} does not fit the config\'s model (different '
            'num_classes?):\n  ' + '\n  '.join(bad[:5]))
    missing = [k for k in own if k not in state]
    if missing:
        raise KeyError(f'{filename} lacks {len(missing)} weights of '
                       f'the model, e.g. {missing[:3]}')
    if strict:
        unexpected = [k for k in state if k not in own]
        if unexpected:
            raise KeyError(
                f'{filename} has {len(unexpected)} weights the model '
                f'lacks, e.g. {unexpected[:3]}')
    load_state_dict(model, state, strict=False)
    return ckpt
