"""Give every method config a globally unique file name for ``mim``.

``mim train/test mmsss CONFIG`` (openmim ``mim/commands/train.py``,
``test.py``) looks a config up by its file name alone when the path does not
exist from the current directory: ``recursively_find`` walks the installed
package (``mmsss/.mim/configs`` included, links followed) and refuses a name
found twice (``voc_1-8.py`` is in several method folders). Each method config
``configs/<method>/[<sub>/]<name>.py`` therefore has a one-line alias
``configs/_aliases_/<method>_<name>.py`` that inherits it unchanged, so
``mim train mmsss imas_voc_1-8.py`` works from anywhere, the method folders
hold only the configs a user reads, and ``configs/imas/voc_1-8.py`` keeps
working as a path. The folder is flat: ``ls configs/_aliases_`` lists every
name mim accepts.

    python tools/misc/make_config_aliases.py           # write missing/stale
                                                       # aliases, remove
                                                       # orphaned ones
    python tools/misc/make_config_aliases.py --check   # exit 1 if any is
                                                       # missing, stale,
                                                       # orphaned or not
                                                       # unique
"""
import argparse
import glob
import os
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(ROOT, 'configs')
ALIAS_DIR_NAME = '_aliases_'
HEADER = '# Unique name of {target} for `mim train mmsss {alias}`.\n'
# Folders walked for clashing names besides configs/: what mim's walk of the
# installed package also sees (the package itself, .mim/tools).
OTHER_WALKED = ('mmsss', 'tools')


def alias_dir():
    return osp.join(CONFIGS, ALIAS_DIR_NAME)


def method_of(path):
    return osp.relpath(path, CONFIGS).split(os.sep)[0]


def alias_name(target_path):
    return f'{method_of(target_path)}_{osp.basename(target_path)}'


def alias_text(target_path):
    """Header line + ``_base_`` relative to configs/_aliases_/."""
    rel_root = osp.relpath(target_path, ROOT).replace(os.sep, '/')
    rel_alias = osp.relpath(target_path, alias_dir()).replace(os.sep, '/')
    return (HEADER.format(target=rel_root, alias=alias_name(target_path)) +
            f"_base_ = '{rel_alias}'\n")


def is_alias(path):
    with open(path) as f:
        return f.readline().startswith('# Unique name of ')


def method_configs(root=None):
    """Configs that need an alias: every .py outside the ``_base_`` and
    ``_aliases_`` folders (any folder named ``_*_``) that is not an alias."""
    root = CONFIGS if root is None else root
    paths = glob.glob(osp.join(root, '**', '*.py'), recursive=True)
    return sorted(
        p for p in paths
        if not any(part.startswith('_') and part.endswith('_')
                   for part in osp.relpath(p, root).split(os.sep)[:-1])
        and not is_alias(p))


def plan():
    """{alias path: text} for every method config."""
    return {osp.join(alias_dir(), alias_name(t)): alias_text(t)
            for t in method_configs()}


def _walked_names():
    """{file name: [paths]} over configs/ and the other folders mim's walk
    of the installed package sees (``__pycache__`` and ``.mim`` aside, the
    latter being links to these same folders)."""
    names = {}
    for top in (CONFIGS, ) + tuple(osp.join(ROOT, d) for d in OTHER_WALKED):
        for d, dirs, files in os.walk(top):
            dirs[:] = [x for x in dirs if x not in ('__pycache__', '.mim')]
            for f in files:
                names.setdefault(f, []).append(osp.join(d, f))
    return names


def problems(wanted):
    """Missing, stale, orphaned and misplaced aliases; names mim would find
    more than once."""
    rel = lambda p: osp.relpath(p, ROOT)  # noqa: E731
    found = []
    for path, text in sorted(wanted.items()):
        if not osp.exists(path):
            found.append(f'missing alias {rel(path)}')
        else:
            with open(path) as f:
                if f.read() != text:
                    found.append(f'stale alias {rel(path)}')
    for path in sorted(glob.glob(osp.join(alias_dir(), '**', '*'),
                                 recursive=True)):
        if osp.isfile(path) and path not in wanted and \
                '__pycache__' not in path:
            found.append(f'orphaned alias {rel(path)} (no config of that '
                         'name; remove it or rerun this script)')
    for path in glob.glob(osp.join(CONFIGS, '**', '*.py'), recursive=True):
        if osp.dirname(path) != alias_dir() and is_alias(path):
            found.append(f'alias outside configs/{ALIAS_DIR_NAME}/: '
                         f'{rel(path)}')
    names = _walked_names()
    for path in sorted(wanted):
        name = osp.basename(path)
        where = set(names.get(name, [])) | {path}
        if len(where) > 1:
            found.append(f'{name} is not unique: ' +
                         ', '.join(sorted(rel(p) for p in where)))
    return found


def _write(path, text):
    os.makedirs(osp.dirname(path), exist_ok=True)
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--check', action='store_true',
                        help='only check; exit 1 on any problem')
    args = parser.parse_args(argv)
    wanted = plan()
    if not args.check:
        for path, text in wanted.items():
            if not osp.exists(path) or open(path).read() != text:
                _write(path, text)
                print('wrote', osp.relpath(path, ROOT))
        for path in glob.glob(osp.join(CONFIGS, '**', '*.py'),
                              recursive=True):
            if path not in wanted and is_alias(path):
                os.remove(path)  # orphaned, or an alias of the old layout
                print('removed', osp.relpath(path, ROOT))
    found = problems(wanted)
    for p in found:
        print(p, file=sys.stdout if args.check else sys.stderr)
    return 1 if found else 0


if __name__ == '__main__':
    sys.exit(main())
