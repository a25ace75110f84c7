"""docs/model_zoo.md is generated from the metafiles by
tools/misc/make_model_zoo.py: up to date, stale-detection, and clear errors
on a metafile entry that lacks what the page needs."""
import importlib.util
import os.path as osp
import re
import shutil

import pytest
import yaml

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
_spec = importlib.util.spec_from_file_location(
    'make_model_zoo', osp.join(ROOT, 'tools', 'misc', 'make_model_zoo.py'))
zoo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(zoo)


def _models():
    with open(osp.join(ROOT, 'model-index.yml')) as f:
        metafiles = yaml.load(f, Loader=zoo._LOADER)['Import']
    for metafile in metafiles:
        with open(osp.join(ROOT, metafile)) as f:
            for model in yaml.load(f, Loader=zoo._LOADER)['Models']:
                yield metafile, model


def _alias_target(config):
    """A mim alias <method>_<name>.py holds one ``_base_`` line to
    <name>.py: that file; any other config: itself."""
    path = osp.join(ROOT, config)
    with open(path) as f:
        code = [line for line in f.read().splitlines()
                if line and not line.startswith('#')]
    if len(code) == 1 and code[0].startswith('_base_ = '):
        target = osp.normpath(
            osp.join(osp.dirname(path), code[0].split("'")[1]))
        if osp.basename(path).endswith('_' + osp.basename(target)):
            return osp.relpath(target, ROOT)
    return config


@pytest.fixture
def repo_copy(tmp_path):
    """What the generator reads: model-index.yml, configs/, the converter
    scripts and the page."""
    shutil.copy(osp.join(ROOT, 'model-index.yml'), tmp_path)
    shutil.copytree(osp.join(ROOT, 'configs'), tmp_path / 'configs')
    shutil.copytree(osp.join(ROOT, 'tools', 'model_converters'),
                    tmp_path / 'tools' / 'model_converters')
    (tmp_path / 'docs').mkdir()
    shutil.copy(osp.join(ROOT, zoo.PAGE), tmp_path / 'docs')
    return tmp_path


def test_page_is_up_to_date(capsys):
    with open(osp.join(ROOT, zoo.PAGE)) as f:
        committed = f.read()
    assert zoo.render(ROOT) == committed, (
        'docs/model_zoo.md is stale: run python tools/misc/make_model_zoo.py')
    zoo.main(['--check'])
    assert 'up to date' in capsys.readouterr().out


def test_page_rows_against_the_metafiles():
    """Read back independently: one row per entry, in its method's section,
    linking the entry's config (the target of a mim alias) and showing its
    published mIoU, or '–' without one."""
    with open(osp.join(ROOT, zoo.PAGE)) as f:
        page = f.read()
    sections = {
        m.group(1): m.group(2)
        for m in re.finditer(r'^## (.+?)\n(.*?)(?=^## |\Z)', page,
                             re.M | re.S)
    }
    rows = [line for line in page.splitlines()
            if line.startswith('| ') and '](../configs/' in line]
    models = list(_models())
    assert len(rows) == len(models)
    for _, model in models:
        section = sections[model['In Collection']]
        config = _alias_target(model['Config'])
        row = [r for r in section.splitlines() if r.startswith('| ')
               and f'](../{config})' in r.split(' | ')[3]]
        assert len(row) == 1, (model['Name'], config)
        published = row[0].split(' | ')[2]
        if model.get('Results'):
            miou = model['Results'][0]['Metrics']['mIoU']
            assert published.startswith(f'**{miou}**'), (model['Name'],
                                                         published)
        else:
            assert published == '–', model['Name']


def test_alias_resolves_to_its_config(tmp_path):
    (tmp_path / 'configs' / '_aliases_').mkdir(parents=True)
    (tmp_path / 'configs' / 'imas').mkdir()
    (tmp_path / 'configs' / 'imas' / 'voc_1-8.py').write_text(
        "_base_ = '../_base_/x.py'\n")
    (tmp_path / 'configs' / '_aliases_' / 'imas_voc_1-8.py').write_text(
        '# Unique name of configs/imas/voc_1-8.py\n'
        "_base_ = '../imas/voc_1-8.py'\n")
    assert zoo.real_config('configs/_aliases_/imas_voc_1-8.py',
                           str(tmp_path)) == 'configs/imas/voc_1-8.py'
    (tmp_path / 'configs' / 'imas' / 'voc_1-8.py').write_text(
        "_base_ = '../_base_/x.py'\nmodel = dict(x=1)\n")
    assert zoo.real_config('configs/imas/voc_1-8.py',
                           str(tmp_path)) == 'configs/imas/voc_1-8.py'


def test_check_fails_on_a_stale_page(repo_copy, capsys):
    zoo.main(['--check', '--root', str(repo_copy)])
    metafile = repo_copy / 'configs' / 'unimatch' / 'metafile.yaml'
    text = metafile.read_text()
    assert 'mIoU: 75.2' in text
    metafile.write_text(text.replace('mIoU: 75.2', 'mIoU: 75.3', 1))
    with pytest.raises(SystemExit) as e:
        zoo.main(['--check', '--root', str(repo_copy)])
    assert 'stale' in str(e.value)
    zoo.main(['--root', str(repo_copy)])  # regenerate: fresh again
    zoo.main(['--check', '--root', str(repo_copy)])
    assert '**75.3**' in (repo_copy / zoo.PAGE).read_text()


@pytest.mark.parametrize('key', ['Ours', 'Convert Command',
                                 'Official Checkpoint'])
def test_missing_field_names_file_entry_and_key(repo_copy, key):
    page_before = (repo_copy / zoo.PAGE).read_text()
    metafile = repo_copy / 'configs' / 'esl' / 'metafile.yaml'
    lines = metafile.read_text().splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines)
                 if line.startswith(f'    {key}:'))
    del lines[first]
    metafile.write_text(''.join(lines))
    with pytest.raises(SystemExit) as e:
        zoo.main(['--root', str(repo_copy)])
    message = str(e.value)
    assert 'configs/esl/metafile.yaml' in message
    assert "'esl_cityscapes_1488'" in message
    assert f"no Metadata '{key}'" in message
    assert (repo_copy / zoo.PAGE).read_text() == page_before  # untouched


def _entry(**meta):
    base = {
        'Training Data': 'Pascal VOC 2012',
        'Labeled Images': '92 labeled',
        'Architecture': ['R-101-D16', 'DeepLabV3+'],
        'Official Checkpoint': 'none released',
        'Convert Command': 'none (no official checkpoint)',
        'Ours': 'not run',
    }
    base.update(meta)
    return dict(Name='m', **{'In Collection': 'C'},
                Config='configs/_base_/default_runtime.py', Metadata=base)


@pytest.mark.parametrize('meta, expected', [
    ({'Ours': 'synthetic data, CPU: 55.0'}, 'no dataset result'),
    ({'Ours': ''}, "no Metadata 'Ours'"),
    ({'Convert Command': 'tools/x.py a b'}, 'neither "none..."'),
    ({'Convert Command': 'python tools/model_converters/missing.py a b'},
     'not a file'),
    ({'Training Data': 'synthetic shapes', 'Ours': '55.0'},
     'must be "not run" or start with "synthetic"'),
])
def test_entry_checks(meta, expected):
    zoo.check_model(_entry(), 'configs/x/metafile.yaml')  # well-formed
    with pytest.raises(zoo.MetafileError) as e:
        zoo.check_model(_entry(**meta), 'configs/x/metafile.yaml')
    assert expected in str(e.value)
    assert "configs/x/metafile.yaml: model 'm'" in str(e.value)
