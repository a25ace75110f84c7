"""The recipe tables of ``configs/<method>/README.md`` as data.

A recipe table has the columns ``setting | paper | official code (file:line)
| ours | note``. Its ``ours`` cell states what the configs do, and the values
it writes in backticks are claims that ``tests/test_recipe_tables.py`` checks
against every config the row is about, so the table is the source and the
configs cannot drift from it:

* ``key=value`` (``value`` a Python literal, ``dict(...)`` allowed): every
  node whose dotted path ends with ``key`` equals ``value``, and there is at
  least one. The nodes are looked for in the model first (``model`` of the
  resolved config and the built model's settings: segmentor with its class
  defaults merged, backbone, heads, the ``@model`` lines of
  ``tests/config_snapshots``), then in the run's other sections
  (dataloaders, optimiser, loops, hooks), where a key that starts with a
  top-level name (``train_dataloader.batch_size``) is a full path;
* ``Type(k=v, ...)`` (a registered type with literal keywords): some dict of
  the resolved config has ``type='Type'`` and these items.

Which configs a claim is about: the method's main configs (not the
synthetic, ablation or variant ones: ``*_official-arch``,
``*_mmseg-arch``, ``*_os8``, ``*_frozen``, which the recipe tests compare
with their base config, and the ``*_dinov2-*`` configs of a ResNet method),
narrowed by a dataset or network named in the ``setting`` cell
("…, VOC", "…, Cityscapes", "DeepLabV2 …") and by the last such word before
the claim in the ``ours`` cell ("VOC `conf_thresh=0.95`, Cityscapes
`conf_thresh=0.7`"); both must select a config.
Backticked text that is not such a claim (a class name, a file, an
expression) is prose. Switches that are not the default belong in the
``note`` cell, which is not parsed.
"""
import ast
import copy
import glob
import os.path as osp
import re

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
HEADER = ('setting', 'paper', 'official code (file:line)', 'ours', 'note')
VARIANT_SUFFIXES = ('_official-arch', '_mmseg-arch', '_os8', '_frozen')
# DINOv2 configs in a ResNet method's folder (issue 27): pinned by
# tests/test_configs_recipe_unimatch_v2.py, not by that method's table
DINOV2_PART = '_dinov2-'
# words of a cell -> the configs they select: datasets, or networks (a
# part of the config name)
SCOPE_WORDS = (
    (r'\bVOC classic\b', ('voc',)),
    (r'\bVOC blended\b|\bblended\b', ('voc_blended',)),
    (r'\bVOC\b', ('voc', 'voc_blended')),
    (r'\bCityscapes\b', ('cityscapes',)),
    (r'\bCOCO\b', ('coco',)),
    (r'\bADE20K\b', ('ade20k',)),
    (r'\bPSPNet\b', ('pspnet',)),
    (r'\bDeepLabV2\b', ('deeplabv2',)),
)


# datasets a config name starts with (voc_blended before voc)
DATASETS = ('voc_blended', 'voc', 'cityscapes', 'coco', 'ade20k', 'synthetic')


def in_scope(name, scope):
    """Whether the config ``name`` is one a scope (a tuple of dataset names
    or, for networks, parts of the name, see :data:`SCOPE_WORDS`) selects;
    None selects all."""
    return scope is None or any(
        part == dataset_of(name) if part in DATASETS else part in name
        for part in scope)


def dataset_of(name):
    """The dataset of a config name, one of :data:`DATASETS`."""
    for d in DATASETS:
        if name.startswith(d):
            return d
    raise ValueError(f'no dataset in the config name {name!r}')


def main_configs(method):
    """Names of the method's main configs (no synthetic, ablation or
    network variant)."""
    out = []
    for p in sorted(glob.glob(osp.join(ROOT, 'configs', method, '*.py'))):
        name = osp.basename(p)[:-3]
        if name.endswith(VARIANT_SUFFIXES) or \
                dataset_of(name) == 'synthetic' or \
                (method != 'unimatch_v2' and DINOV2_PART in name):
            continue
        out.append(name)
    return out


def _cells(line):
    return [c.strip() for c in line.strip().strip('|').split('|')]


def _split_row(line):
    """Cells of a table row; ``|`` inside backticks does not split."""
    parts, cur, code = [], '', False
    for ch in line.strip().strip('|'):
        if ch == '`':
            code = not code
        if ch == '|' and not code:
            parts.append(cur.strip())
            cur = ''
        else:
            cur += ch
    parts.append(cur.strip())
    return parts


def recipe_rows(method):
    """Rows of the recipe table of ``configs/<method>/README.md`` as dicts
    keyed by :data:`HEADER`; the README must have exactly one such table."""
    path = osp.join(ROOT, 'configs', method, 'README.md')
    lines = open(path, encoding='utf-8').read().splitlines()
    starts = [i for i, l in enumerate(lines)
              if l.startswith('|') and tuple(_cells(l)) == HEADER]
    if len(starts) != 1:
        raise AssertionError(f'{path}: expected one recipe table with the '
                             f'header {HEADER}, found {len(starts)}')
    rows = []
    for line in lines[starts[0] + 2:]:
        if not line.startswith('|'):
            break
        cells = _split_row(line)
        if len(cells) != len(HEADER):
            raise AssertionError(f'{path}: row with {len(cells)} cells, '
                                 f'expected {len(HEADER)}: {line[:80]}')
        rows.append(dict(zip(HEADER, cells)))
    return rows


def _literal(node):
    """The value of a literal node (``dict(k=v)`` calls allowed)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
            and node.func.id == 'dict' and not node.args:
        return {k.arg: _literal(k.value) for k in node.keywords}
    return ast.literal_eval(node)


def parse_claim(text):
    """``('value', key, value)``, ``('type', Type, kwargs)`` or None."""
    try:
        tree = ast.parse(text.strip(), mode='exec')
    except SyntaxError:
        return None
    if len(tree.body) != 1:
        return None
    stmt = tree.body[0]
    try:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            key = ast.unparse(stmt.targets[0])
            if re.fullmatch(r'[A-Za-z_][\w.]*', key):
                return ('value', key, _literal(stmt.value))
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            call = stmt.value
            if (isinstance(call.func, ast.Name) and call.func.id[0].isupper()
                    and not call.args and call.keywords
                    and all(k.arg for k in call.keywords)):
                return ('type', call.func.id,
                        {k.arg: _literal(k.value) for k in call.keywords})
    except (ValueError, TypeError, SyntaxError):
        return None
    return None


def _last_scope(text):
    """The scope of the last scope word in ``text``, None if none."""
    found = [(w.end(), d) for p, d in SCOPE_WORDS for w in re.finditer(p, text)]
    return max(found, key=lambda t: t[0])[1] if found else None


def claims(row):
    """``[(scopes, claim)]`` of a row's ``ours`` cell; ``scopes`` are the
    setting's and the cell's scope (None: no narrowing)."""
    setting = _last_scope(row['setting'])
    out, scope, pos = [], None, 0
    cell = row['ours']
    for m in re.finditer(r'`([^`]*)`', cell):
        scope = _last_scope(cell[pos:m.start()]) or scope
        pos = m.end()
        claim = parse_claim(m.group(1))
        if claim is not None:
            out.append(((setting, scope), claim))
    return out


def normalise(value):
    """Tuples as lists, recursively (configs mix the two)."""
    if isinstance(value, (list, tuple)):
        return [normalise(v) for v in value]
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    return value


def nodes(tree, path=()):
    """Every ``(path, value)`` of a nested dict/list, inner nodes too."""
    yield path, tree
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from nodes(v, path + (str(k), ))
    elif isinstance(tree, (list, tuple)):
        for i, v in enumerate(tree):
            yield from nodes(v, path + (str(i), ))


# top-level sections of a resolved config that configure the run (other
# top-level names are building blocks that only count where referenced)
SECTIONS = ('model', 'train_dataloader', 'val_dataloader', 'test_dataloader',
            'optim_wrapper', 'param_scheduler', 'train_cfg', 'val_cfg',
            'test_cfg', 'default_hooks', 'custom_hooks', 'randomness',
            'env_cfg', 'load_from', 'resume',
            # three-stage: the stage list and the multi-task stage template
            'stages', 'multitask', 'mt_train_dataloader', 'pseudo_masks')


def _matches(parts, config, model_settings):
    """Nodes whose dotted path ends with ``parts``, from the first place that
    has any: the built model's settings (class defaults merged), the
    ``model`` of the resolved config, the node at that full path for a key
    that starts with a top-level name of the config, the run's other
    sections."""
    def ending(tree, root):
        return [(p, v) for p, v in nodes(tree, root) if p[-len(parts):] == parts]

    found = ending(model_settings, ('@model', ))
    found = found or ending(config.get('model', {}), ('model', ))
    if found:
        return found
    if parts[0] in config:
        node = config
        for k in parts:
            if isinstance(node, dict) and k in node:
                node = node[k]
            elif isinstance(node, (list, tuple)) and k.isdigit() and \
                    int(k) < len(node):
                node = node[int(k)]
            else:
                return []
        return [(parts, node)]
    return [(p, v) for s in SECTIONS if s != 'model' and s in config
            for p, v in nodes(config[s], (s, )) if p[-len(parts):] == parts]


def check_claim(claim, config, model_settings):
    """None if ``claim`` holds for one config, else why not.

    ``config`` is the resolved config as a dict, ``model_settings`` the
    built model's settings as a nested dict. A ``key=value`` claim looks in
    the model first (a key the model has is about the model), then in the
    other sections of the run (:func:`_matches`); every node it names must
    equal ``value``.
    """
    kind, key, value = claim
    if kind == 'type':
        for s in SECTIONS:
            for _, node in nodes(config.get(s)):
                if isinstance(node, dict) and node.get('type') == key and all(
                        k in node and normalise(node[k]) == normalise(v)
                        for k, v in value.items()):
                    return None
        return f'no {key}(...) with {value}'
    found = _matches(tuple(key.split('.')), config, model_settings)
    if not found:
        return f'{key} names nothing'
    wrong = [('.'.join(p), v) for p, v in found
             if normalise(v) != normalise(value)]
    if wrong:
        return f'{key}={value!r}, but ' + ', '.join(
            f'{p}={v!r}' for p, v in wrong[:3])
    return None


def model_settings_from_snapshot(method):
    """``{config name: nested dict}`` of the ``@model`` lines of
    ``tests/config_snapshots/<method>.txt`` (the built model's
    settings)."""
    path = osp.join(ROOT, 'tests', 'config_snapshots',
                    f'{method}.txt')
    out, name = {}, None
    for line in open(path, encoding='utf-8'):
        line = line.rstrip('\n')
        if line.startswith('[') and line.endswith(']'):
            name = line[1:-1][:-3]
            out[name] = {}
        elif line.startswith('@model.'):
            key, _, value = line.partition(' = ')
            try:
                value = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                pass
            node = out[name]
            *inner, last = key[len('@model.'):].split('.')
            for k in inner:
                node = node.setdefault(k, {})
            node[last] = value
    return out


def resolved_config(method, name):
    """The run part of a resolved config with the argument defaults of its
    typed dicts filled in, as the snapshot holds it."""
    import sys
    sys.path.insert(0, osp.join(ROOT, 'tools', 'misc'))
    import mmsss  # noqa: F401
    import snapshot_configs
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, 'configs', method, f'{name}.py'))
    # a class's argument defaults are read once (a registry look-up tries
    # imports: ~2 ms a type, thousands of times)
    plain = snapshot_configs._signature_defaults

    def signature_defaults_once(type_name):
        if type_name not in _SIGNATURE_DEFAULTS:
            _SIGNATURE_DEFAULTS[type_name] = plain(type_name)
        return copy.deepcopy(_SIGNATURE_DEFAULTS[type_name])

    snapshot_configs._signature_defaults = signature_defaults_once
    try:
        return snapshot_configs.with_defaults(
            snapshot_configs.run_part(copy.deepcopy(cfg.to_dict())))
    finally:
        snapshot_configs._signature_defaults = plain


_SIGNATURE_DEFAULTS = {}  # type name -> its class's argument defaults
