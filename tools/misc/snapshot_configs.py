"""Reviewed snapshots of every method config, resolved.

A recipe drifts silently when a base file, a class default or a network
default changes under a config that does not name it. This tool writes, per
method folder, one text file ``tests/config_snapshots/<method>.txt``
holding for every config (aliases excluded):

* the resolved config (``Config.fromfile``, every ``_base_`` merged), with
  the argument defaults of every typed dict outside ``model`` filled in
  (transforms, hooks, samplers, loops, schedulers, optimiser), one
  ``dotted.key = value`` line per leaf, lists indexed, so the pipeline order,
  ``pad_val``/``seg_pad_val``, ``cat_max_ratio``, the optimiser wrapper and
  every ``paramwise_cfg`` key show up;
* what the built model adds (built on the ``meta`` device: no memory, no
  weights): the segmentor's own settings with its class defaults merged
  (``semi_train_cfg``, ``bn_passes``, ...), the plain settings of the
  backbone and of every decode/auxiliary head (channels, ``c1_channels``,
  dropout, ``align_corners``, ``contract_dilation``, ...), the parameter
  count and a digest of the whole module tree (any layer that changes
  changes it).

``tests/test_config_snapshots.py`` compares the files with the configs, so a
change of any of these values fails until the snapshot is rewritten, and the
rewritten lines show up in review::

    python tools/misc/snapshot_configs.py            # rewrite the files
    python tools/misc/snapshot_configs.py --check    # exit 1 on a difference
"""
import argparse
import difflib
import hashlib
import os
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SNAPSHOT_DIR = osp.join(ROOT, 'tests', 'config_snapshots')
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
import mmsss  # noqa: E402,F401  (registries; mmcv.ops stand-in before mmseg)
from make_config_aliases import CONFIGS, method_configs, method_of  # noqa

SIMPLE = (bool, int, float, str, type(None))


def _plain(value):
    """``value`` if it is made of plain Python values only, else None."""
    if isinstance(value, SIMPLE):
        return value
    if isinstance(value, (list, tuple)):
        items = [_plain(v) for v in value]
        if all(i is not None or v is None for i, v in zip(items, value)):
            return type(value)(items)
        return None
    if isinstance(value, dict):
        items = {k: _plain(v) for k, v in value.items()}
        if all(isinstance(k, str) for k in items) and all(
                items[k] is not None or value[k] is None for k in items):
            return items
    return None


def flatten(value, prefix=''):
    """``[(dotted key, repr)]`` of every leaf; list items are indexed."""
    if isinstance(value, dict) and value:
        out = []
        for k, v in value.items():
            out += flatten(v, f'{prefix}.{k}' if prefix else str(k))
        return out
    if isinstance(value, (list, tuple)) and value and any(
            isinstance(v, (dict, list, tuple)) for v in value):
        out = []
        for i, v in enumerate(value):
            out += flatten(v, f'{prefix}.{i}')
        return out
    return [(prefix, repr(value))]


def _class_settings(cls):
    """Plain public class attributes (``with_teacher``, ...) of ``cls`` and
    its bases, up to the torch / mmengine classes."""
    out = {}
    for base in cls.__mro__:
        if base.__module__.split('.')[0] in ('torch', 'mmengine',
                                              'builtins'):
            break
        for k, v in base.__dict__.items():
            if k.startswith('_') or k in out or callable(v) or isinstance(
                    v, (property, staticmethod, classmethod)):
                continue
            v = _plain(v)
            if v is not None or base.__dict__[k] is None:
                out[k] = v
    return out


def _module_settings(module):
    """The plain attributes of a module (its settings, not its layers),
    class-level ones included."""
    out = _class_settings(type(module))
    for k, v in sorted(vars(module).items()):
        if k.startswith('_') or k == 'training':
            continue
        v = _plain(v)
        if v is not None or getattr(module, k) is None:
            out[k] = v
    for name, child in module.named_children():
        p = getattr(child, 'p', None)  # dropout layers
        if isinstance(p, float):
            out[f'{name}.p'] = p
    return out


def model_lines(model_cfg):
    """Settings of the built model: segmentor (class defaults merged),
    backbone and heads, parameter count, digest of the module tree."""
    import torch
    from mmseg.models.decode_heads.decode_head import BaseDecodeHead
    from mmseg.registry import MODELS
    with torch.device('meta'):
        model = MODELS.build(model_cfg)
    settings = {'segmentor': _module_settings(model)}
    for name, module in model.named_modules():
        if name.count('.') > 1 or name.startswith('teacher'):
            continue  # the teacher is a copy of the student
        if isinstance(module, BaseDecodeHead) or name.endswith('backbone'):
            settings[name] = _module_settings(module)
            for loss_name, loss in module.named_modules():
                if loss_name.startswith('loss_decode'):
                    settings[f'{name}.{loss_name}'] = _module_settings(loss)
    lines = flatten(settings, '@model')
    text = repr(model)
    lines.append(('@model.num_params',
                  repr(sum(p.numel() for p in model.parameters()))))
    lines.append(('@model.module_tree_sha1',
                  repr(hashlib.sha1(text.encode()).hexdigest()[:16])))
    return lines


def _registries():
    """Registries of the typed dicts outside ``model``, in lookup order."""
    from mmseg import registry as r
    return (r.TRANSFORMS, r.HOOKS, r.DATA_SAMPLERS, r.DATASETS, r.LOOPS,
            r.PARAM_SCHEDULERS, r.OPTIM_WRAPPERS, r.OPTIMIZERS,
            r.EVALUATOR, r.METRICS)


def _signature_defaults(type_name):
    """``{argument: default}`` of the class registered as ``type_name``
    (the first of :func:`_registries` that has it), plain values only."""
    import inspect
    for registry in _registries():
        cls = registry.get(type_name)
        if cls is not None:
            break
    else:
        return {}
    try:
        params = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return {}
    out = {}
    for p in params:
        if p.default is inspect.Parameter.empty or p.kind in (
                p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        v = _plain(p.default)
        if v is not None or p.default is None:
            out[p.name] = v
    return out


def with_defaults(value, in_model=False):
    """A copy of a resolved config in which every typed dict outside
    ``model`` also holds the defaults of its class's arguments that it does
    not set (``RandomCrop.cat_max_ratio``, ``Pad.seg_pad_val``, ...)."""
    if isinstance(value, dict):
        out = {k: with_defaults(v, in_model or k == 'model')
               for k, v in value.items()}
        if not in_model and isinstance(out.get('type'), str):
            for k, v in _signature_defaults(out['type']).items():
                out.setdefault(k, v)
        return out
    if isinstance(value, (list, tuple)):
        return type(value)(with_defaults(v, in_model) for v in value)
    return value


def run_part(cfg_dict):
    """What a run reads of a resolved config: the runner's keys, the
    stage list, pseudo-mask settings and stage templates of a multi-stage
    config, and top-level scalars; helper dicts and lists of the config
    file (pipelines, datasets) count where they are used."""
    from mmsss.engine.runner.stages import RUNNER_CONFIG_KEYS
    keep = set(RUNNER_CONFIG_KEYS) | {'stages', 'pseudo_masks'}
    keep |= {s.get('template') for s in cfg_dict.get('stages') or []}
    return {k: v for k, v in cfg_dict.items()
            if k in keep or not isinstance(v, (dict, list, tuple))}


def snapshot_of(path):
    """The snapshot text of one config."""
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    lines = flatten(with_defaults(run_part(cfg.to_dict())))
    lines += model_lines(cfg.model)
    name = osp.relpath(path, osp.join(CONFIGS, method_of(path)))
    body = ''.join(f'{k} = {v}\n' for k, v in lines)
    return f'[{name}]\n{body}\n'


def snapshots():
    """{method: text} for every method folder."""
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')
    out = {}
    for path in method_configs():
        text = snapshot_of(path)
        out[method_of(path)] = out.get(method_of(path), '') + text
    return out


def snapshot_path(method):
    return osp.join(SNAPSHOT_DIR, f'{method}.txt')


def differences(wanted):
    """Unified diffs between the files and ``wanted``; [] when equal."""
    found = []
    for method, text in sorted(wanted.items()):
        path = snapshot_path(method)
        old = open(path).read() if osp.exists(path) else ''
        if old != text:
            found.append(''.join(difflib.unified_diff(
                old.splitlines(True), text.splitlines(True),
                osp.relpath(path, ROOT), 'configs now', n=0)))
    if osp.isdir(SNAPSHOT_DIR):
        for f in sorted(os.listdir(SNAPSHOT_DIR)):
            if f.endswith('.txt') and f[:-4] not in wanted:
                found.append(f'snapshot of a missing method folder: {f}')
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--check', action='store_true',
                        help='only compare; exit 1 on a difference')
    args = parser.parse_args(argv)
    wanted = snapshots()
    if args.check:
        found = differences(wanted)
        print('\n'.join(found) if found else 'snapshots up to date')
        return 1 if found else 0
    os.makedirs(SNAPSHOT_DIR, exist_ok=True)
    for method, text in wanted.items():
        path = snapshot_path(method)
        if osp.exists(path) and open(path).read() == text:
            continue
        tmp = path + '.tmp'
        with open(tmp, 'w') as f:
            f.write(text)
        os.replace(tmp, path)
        print('wrote', osp.relpath(path, ROOT))
    return 0


if __name__ == '__main__':
    sys.exit(main())
