"""Write docs/model_zoo.md from the metafiles (model-index.yml ->
configs/<method>/metafile.yaml).

    python tools/misc/make_model_zoo.py           # (re)write the page
    python tools/misc/make_model_zoo.py --check   # exit 1 if it is stale

Per metafile entry (mmseg model-index style, ``Models:`` list) the page shows
the setting, the network, the published mIoU with its source (``Results`` +
``Metadata['Results Source']``), the config (a mim alias in
``Config`` is shown as the config it inherits), the official checkpoint
(``Metadata['Official Checkpoint']``), the command converting it
(``Metadata['Convert Command']``: ``python tools/model_converters/...`` or
``none...``) and our own result (``Metadata['Ours']``: ``not run``, or a
``synthetic ...`` run on a synthetic-data entry). A missing or malformed
field stops the script with the metafile, the entry and what was expected.
"""
import argparse
import os
import os.path as osp
import re
import sys
import tempfile

import yaml

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PAGE = osp.join('docs', 'model_zoo.md')
CONVERTERS = 'tools/model_converters/'
AUTHORS = 'reported by the authors, not reproduced here: '
_LOADER = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)  # libyaml: 10x
REQUIRED_METADATA = ('Training Data', 'Labeled Images', 'Architecture',
                     'Official Checkpoint', 'Convert Command', 'Ours')


class MetafileError(ValueError):
    """A metafile entry lacks a field the page needs, or has a bad one."""


def _load_yaml(path, root):
    try:
        with open(path) as f:
            return yaml.load(f, Loader=_LOADER)
    except (OSError, yaml.YAMLError) as e:
        raise MetafileError(f'{osp.relpath(path, root)}: cannot be read '
                            f'({type(e).__name__}: {e})') from e


def real_config(config, root):
    """The config a mim alias (``configs/_aliases_/<method>_<name>.py``, a
    lone ``_base_ = '<path>'`` line) inherits; any other config itself."""
    path = osp.join(root, config)
    with open(path) as f:
        lines = [
            line for line in f if line.strip() and not line.startswith('#')
        ]
    match = re.fullmatch(r"_base_ = '([^']+)'\n?", lines[0]) \
        if len(lines) == 1 else None
    if match is None:
        return config
    target = osp.normpath(osp.join(osp.dirname(path), match.group(1)))
    return osp.relpath(target, root).replace(os.sep, '/')


def check_model(model, metafile, root=ROOT):
    """Raise :class:`MetafileError` naming ``metafile``, the entry and the
    field when ``model`` cannot be shown on the page."""
    name = model.get('Name') if isinstance(model, dict) else None
    where = f'{metafile}: model {name!r}'
    if not isinstance(name, str) or not name:
        raise MetafileError(f'{metafile}: an entry of Models has no Name')
    for key in ('In Collection', 'Config', 'Metadata'):
        if not model.get(key):
            raise MetafileError(f'{where} has no {key!r}')
    meta = model['Metadata']
    for key in REQUIRED_METADATA:
        value = meta.get(key)
        if not value or (isinstance(value, str) and not value.strip()):
            raise MetafileError(
                f'{where} has no Metadata {key!r} (expected '
                f'{_EXPECTED.get(key, "a non-empty value")})')
    if not osp.isfile(osp.join(root, model['Config'])):
        raise MetafileError(
            f'{where}: Config {model["Config"]!r} is not a file')
    command = meta['Convert Command']
    if not isinstance(command, str) or not (
            command.startswith('none') or command.startswith(
                f'python {CONVERTERS}')):
        raise MetafileError(
            f'{where}: Convert Command {command!r} is neither "none..." nor '
            f'"python {CONVERTERS}<script>.py ..."')
    if command.startswith('python'):
        script = command.split()[1]
        if not osp.isfile(osp.join(root, script)):
            raise MetafileError(
                f'{where}: Convert Command names {script}, which is not a '
                'file')
    ours = meta['Ours']
    synthetic_data = str(meta['Training Data']).startswith('synthetic')
    if not isinstance(ours, str):
        raise MetafileError(f'{where}: Ours {ours!r} is not a string')
    if synthetic_data and not (ours == 'not run'
                               or ours.startswith('synthetic')):
        raise MetafileError(
            f'{where}: Ours of a synthetic-data entry must be "not run" or '
            f'start with "synthetic", got {ours!r}')
    if not synthetic_data and 'synthetic' in ours.lower():
        raise MetafileError(
            f'{where}: Ours gives a synthetic run on a '
            f'{meta["Training Data"]!r} entry (a synthetic number is no '
            'dataset result)')
    if model.get('Results') and not meta.get('Results Source'):
        raise MetafileError(f'{where}: Results without a Results Source')


_EXPECTED = {
    'Official Checkpoint': 'where the authors\' trained checkpoint is, or '
    '"none ..." and why',
    'Convert Command': f'"python {CONVERTERS}<script>.py ..." or "none ..."',
    'Ours': '"not run", or "synthetic ..." on a synthetic-data entry',
}


def load(root=ROOT):
    """[(metafile, collection dict, [model dicts])] in model-index order."""
    index = _load_yaml(osp.join(root, 'model-index.yml'), root)
    out = []
    for metafile in index['Import']:
        data = _load_yaml(osp.join(root, metafile), root)
        if not isinstance(data, dict) or not data.get('Models'):
            raise MetafileError(f'{metafile}: no Models list')
        collections = {c['Name']: c for c in data.get('Collections') or []}
        models = data['Models']
        for model in models:
            check_model(model, metafile, root)
            if model['In Collection'] not in collections:
                raise MetafileError(
                    f'{metafile}: model {model["Name"]!r} is in collection '
                    f'{model["In Collection"]!r}, which the file does not '
                    f'define (defined: {sorted(collections)})')
        for collection in collections.values():
            mine = [m for m in models if m['In Collection'] ==
                    collection['Name']]
            out.append((metafile, collection, mine))
    return out


def _cell(text):
    return str(text).replace('|', '\\|').replace('\n', ' ')


def _link(path, root):
    """Markdown link from docs/ to a repository path."""
    return f'[{osp.basename(path)}](../{path})'


def _linkify_paths(text):
    return re.sub(r'\b(configs/[\w./-]+\.py)\b',
                  lambda m: f'[{osp.basename(m.group(1))}](../{m.group(1)})',
                  text)


def _convert_cell(command):
    if command.startswith('python'):
        return f'`{command}`'
    return _cell(_linkify_paths(command))


def _published(model):
    results = model.get('Results') or []
    if not results:
        return '–'
    source = model['Metadata']['Results Source']
    if source.startswith(AUTHORS):
        source = source[len(AUTHORS):]
    numbers = ', '.join(f'{r["Metrics"]["mIoU"]}' for r in results)
    return _cell(f'**{numbers}** ({source})')


def _shared(models, key):
    values = {m['Metadata'][key] for m in models}
    return values.pop() if len(values) == 1 else None


def _paper(collection):
    paper = collection.get('Paper') or {}
    if isinstance(paper, str):
        return paper
    title, url = paper.get('Title'), paper.get('URL')
    if title and url:
        return f'[{title}]({url})'
    return title or url


def _code(collection):
    code = collection.get('Code')
    if isinstance(code, dict):
        code = code.get('URL')
    return code


def render(root=ROOT):
    """The page's text."""
    groups = load(root)
    lines = [
        '# Model zoo',
        '',
        '<!-- Generated by tools/misc/make_model_zoo.py from '
        'configs/*/metafile.yaml: do not edit by hand. -->',
        '',
        'Every config of the metafiles (`configs/<method>/metafile.yaml`, '
        'listed in `model-index.yml`;',
        '`mim search mmsss` reads the same entries), one row per setting. '
        'Regenerate after changing a',
        'metafile: `python tools/misc/make_model_zoo.py` '
        '(`--check` fails when this page is stale).',
        '',
        '- **published mIoU**: the authors\' number of that setting with '
        'where it is written; reported',
        '  by the authors, **not reproduced here**. "–": no published number '
        'of exactly this setting',
        '  (method, data, labels, network, crop, output stride) was found.',
        '- **official checkpoint**: where the authors\' trained weights of '
        'this setting are, if anywhere.',
        '- **convert**: the command that turns an official checkpoint of '
        'this setting (a released one,',
        '  or one trained with the official code) into one for the config. '
        'Then',
        '  `python tools/test.py CONFIG CONVERTED.pth` evaluates it and '
        '`tools/infer.py` runs it on',
        '  images ([inference](inference.md)). The ImageNet/DINOv2 '
        'initialisation weights for training:',
        '  [official networks and weights](official_weights.md).',
        '- **ours**: a run of the config here. No run on a real dataset has '
        'been made (no GPU time);',
        '  synthetic-data runs on CPU are labelled as such and are no dataset '
        'results. More synthetic',
        '  runs of the ResNet configs are in the method READMEs.',
        '',
        '| method | settings | with a published number | with a link to '
        'official checkpoints | with a convert command | ours |',
        '| --- | --- | --- | --- | --- | --- |',
    ]
    for _, collection, models in groups:
        name = collection['Name']
        anchor = _slug(name)
        linked = sum('https://' in m['Metadata']['Official Checkpoint']
                     for m in models)
        convertible = sum(m['Metadata']['Convert Command'].startswith(
            'python') for m in models)
        run = sum(m['Metadata']['Ours'] != 'not run' for m in models)
        synthetic = sum(m['Metadata']['Ours'].startswith('synthetic')
                        for m in models)
        ours = 'not run' if not run else (
            f'{run} (synthetic data, CPU)' if synthetic == run else
            f'{run} ({synthetic} on synthetic data)')
        lines.append(
            f'| [{name}](#{anchor}) | {len(models)} | '
            f'{sum(bool(m.get("Results")) for m in models)} | {linked} | '
            f'{convertible} | {ours} |')
    for metafile, collection, models in groups:
        lines += ['', f'## {collection["Name"]}', '']
        readme = collection.get('README') or osp.join(
            osp.dirname(metafile), 'README.md')
        facts = []
        if collection.get('Paper'):
            facts.append(f'paper: {_paper(collection)}')
        if collection.get('Code'):
            facts.append(f'official code: {_code(collection)}')
        if osp.isfile(osp.join(root, readme)):
            facts.append(f'notes and recipe table: [{readme}](../{readme})')
        facts.append(f'metafile: [{metafile}](../{metafile})')
        lines.append(' · '.join(facts) + '.')
        columns = ['setting', 'network', 'published mIoU', 'config']
        shared = {}
        for key, column in (('Official Checkpoint', 'official checkpoint'),
                            ('Convert Command', 'convert'),
                            ('Ours', 'ours')):
            value = _shared(models, key)
            if value is None:
                columns.append(column)
            else:
                shared[column] = value
        if shared:
            lines.append('')
            for column, value in shared.items():
                shown = (_convert_cell(value) if column == 'convert' else
                         _cell(_linkify_paths(value)))
                lines.append(f'- {column} (every setting): {shown}')
        lines += ['', '| ' + ' | '.join(columns) + ' |',
                  '|' + ' --- |' * len(columns)]
        for model in models:
            meta = model['Metadata']
            config = real_config(model['Config'], root)
            row = [
                _cell(f'{meta["Training Data"]}, {meta["Labeled Images"]}' +
                      (f', crop {meta["Training Resolution"]}'
                       if meta.get('Training Resolution') else '')),
                _cell(' + '.join(meta['Architecture']) if isinstance(
                    meta['Architecture'], list) else meta['Architecture']),
                _published(model),
                _link(config, root),
            ]
            if 'official checkpoint' in columns:
                row.append(_cell(meta['Official Checkpoint']))
            if 'convert' in columns:
                row.append(_convert_cell(meta['Convert Command']))
            if 'ours' in columns:
                row.append(_cell(meta['Ours']))
            lines.append('| ' + ' | '.join(row) + ' |')
    return '\n'.join(lines) + '\n'


def _slug(heading):
    """GitHub's anchor of a Markdown heading."""
    slug = re.sub(r'[^\w\- ]', '', heading.strip().lower())
    return slug.replace(' ', '-')


def write_atomic(path, text):
    directory = osp.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.model_zoo.')
    try:
        with os.fdopen(fd, 'w') as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--check', action='store_true',
                        help=f'exit 1 if {PAGE} differs from the metafiles')
    parser.add_argument('--root', default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        text = render(args.root)
    except MetafileError as e:
        sys.exit(f'error: {e}')
    page = osp.join(args.root, PAGE)
    if args.check:
        current = open(page).read() if osp.isfile(page) else None
        if current != text:
            sys.exit(f'{PAGE} is stale (or missing): run '
                     f'python tools/misc/make_model_zoo.py')
        print(f'{PAGE} is up to date')
        return
    write_atomic(page, text)
    print(f'wrote {PAGE}')


if __name__ == '__main__':
    main()
