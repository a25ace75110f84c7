"""Give every method config a globally unique file name for ``mim``.

``mim train mmsss CONFIG`` looks a config up by its file name alone when the
path does not exist from the current directory, and refuses names that occur
twice (``voc_1-8.py`` is in several method folders). Each method config
``configs/<method>/[<sub>/]<name>.py`` therefore has a one-line alias
``configs/<method>/[<sub>/]<method>_<name>.py`` next to it that inherits it
unchanged, so ``mim train mmsss imas_voc_1-8.py`` works from anywhere while
``configs/imas/voc_1-8.py`` keeps working as a path.

    python tools/misc/make_config_aliases.py           # write missing aliases
    python tools/misc/make_config_aliases.py --check   # exit 1 if any is
                                                       # missing, stale or
                                                       # not unique
"""
import argparse
import glob
import os
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(ROOT, 'configs')
HEADER = '# Unique name of {target} for `mim train mmsss {alias}`.\n'


def alias_text(target_path):
    alias = alias_name(target_path)
    rel = osp.relpath(target_path, ROOT)
    return (HEADER.format(target=rel, alias=alias) +
            f"_base_ = './{osp.basename(target_path)}'\n")


def method_of(path):
    return osp.relpath(path, CONFIGS).split(os.sep)[0]


def alias_name(target_path):
    return f'{method_of(target_path)}_{osp.basename(target_path)}'


def is_alias(path):
    with open(path) as f:
        return f.readline().startswith('# Unique name of ')


def method_configs(root=CONFIGS):
    """Configs that need an alias: every .py outside _base_ that is not one."""
    paths = glob.glob(osp.join(root, '**', '*.py'), recursive=True)
    return sorted(p for p in paths
                  if '_base_' not in osp.relpath(p, root).split(os.sep)
                  and not is_alias(p))


def plan():
    """{alias path: text} for every method config."""
    out = {}
    for target in method_configs():
        if osp.basename(target).startswith(method_of(target) + '_'):
            continue  # already unique by its own name
        out[osp.join(osp.dirname(target), alias_name(target))] = \
            alias_text(target)
    return out


def problems(wanted):
    """Missing/stale aliases, aliases without a target, duplicate names."""
    found = []
    for path, text in wanted.items():
        if not osp.exists(path):
            found.append(f'missing alias {osp.relpath(path, ROOT)}')
        elif open(path).read() != text:
            found.append(f'stale alias {osp.relpath(path, ROOT)}')
    all_py = glob.glob(osp.join(CONFIGS, '**', '*.py'), recursive=True)
    for path in all_py:
        if is_alias(path) and path not in wanted:
            found.append(f'alias without its config {osp.relpath(path, ROOT)}')
    counts = {}
    for path in set(all_py) | set(wanted):
        counts.setdefault(osp.basename(path), []).append(path)
    unique_names = [osp.basename(p) for p in wanted] + [
        osp.basename(p) for p in method_configs()
        if osp.basename(p).startswith(method_of(p) + '_')
    ]
    for name in sorted(set(unique_names)):
        if len(counts.get(name, [])) > 1:
            found.append(f'{name} is not unique: ' + ', '.join(
                sorted(osp.relpath(p, ROOT) for p in counts[name])))
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--check', action='store_true',
                        help='only check; exit 1 on any problem')
    args = parser.parse_args(argv)
    wanted = plan()
    if args.check:
        found = problems(wanted)
        for p in found:
            print(p)
        return 1 if found else 0
    for path, text in wanted.items():
        if not osp.exists(path) or open(path).read() != text:
            tmp = path + '.tmp'
            with open(tmp, 'w') as f:
                f.write(text)
            os.replace(tmp, path)
            print('wrote', osp.relpath(path, ROOT))
    found = problems(wanted)
    for p in found:
        print(p, file=sys.stderr)
    return 1 if found else 0


if __name__ == '__main__':
    sys.exit(main())
