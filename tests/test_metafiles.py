"""The model-zoo metadata (model-index.yml and configs/*/metafile.yaml).

An entry either has no ``Results`` (no published number of its exact
setting; modelindex would read a string there as a results file name) or
mmseg's result list with a numeric
mIoU; a number is always the authors' and names where it comes from
(``Metadata['Results Source']``); ``Weights`` only where a checkpoint
exists. mim's own loader (``modelindex.load`` + ``mim search``'s
``convert2df``) must read back every number.
"""
import numbers
import os.path as osp

import pytest
import yaml

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DATASETS = ('Pascal VOC 2012', 'Cityscapes', 'ADE20K', 'COCO')


def _metafiles():
    with open(osp.join(ROOT, 'model-index.yml')) as f:
        return yaml.safe_load(f)['Import']


def _models():
    for meta in _metafiles():
        with open(osp.join(ROOT, meta)) as f:
            for model in yaml.safe_load(f)['Models']:
                yield meta, model


def entry_problems(model, root=ROOT):
    """What is wrong with one metafile entry (empty list: nothing)."""
    name = model.get('Name', '?')
    meta = model.get('Metadata') or {}
    source = meta.get('Results Source')
    results = model.get('Results')
    found = []
    if results is None:
        if source is not None:
            found.append(f'{name}: Results Source without results')
    elif not isinstance(results, list) or not results:
        found.append(f"{name}: Results must be absent or a non-empty list, "
                     f'got {results!r}')
    else:
        for r in results:
            if not isinstance(r, dict):
                found.append(f'{name}: result {r!r} is not a dict')
                continue
            if r.get('Task') != 'Semantic Segmentation':
                found.append(f'{name}: Task {r.get("Task")!r}')
            dataset = r.get('Dataset')
            if dataset not in DATASETS:
                found.append(f'{name}: Dataset {dataset!r} not in {DATASETS}')
            elif not str(meta.get('Training Data', '')).startswith(dataset):
                found.append(f'{name}: Dataset {dataset!r} vs Training Data '
                             f'{meta.get("Training Data")!r}')
            miou = (r.get('Metrics') or {}).get('mIoU')
            if (not isinstance(miou, numbers.Real) or isinstance(miou, bool)
                    or not 0 < miou <= 100):
                found.append(f'{name}: mIoU {miou!r} is not a number in '
                             '(0, 100]')
        if not isinstance(source, str) or not source.strip():
            found.append(f'{name}: numbers without a Results Source')
        elif 'reported by the authors' not in source:
            found.append(f'{name}: Results Source does not say whose number '
                         f'it is: {source!r}')
    weights = model.get('Weights')
    if weights is not None:
        is_url = isinstance(weights, str) and weights.startswith(
            ('https://', 'http://'))
        is_file = isinstance(weights, str) and osp.isfile(
            osp.join(root, weights))
        if not (is_url or is_file):
            found.append(f'{name}: Weights {weights!r} is neither a URL nor '
                         'an existing file')
    return found


def test_every_entry_is_tbd_or_sourced_results():
    problems, numbered = [], 0
    for meta, model in _models():
        problems += [f'{meta}: {p}' for p in entry_problems(model)]
        numbered += model.get('Results') is not None
    assert not problems, '\n'.join(problems)
    assert numbered > 0  # the published numbers are there


@pytest.mark.parametrize('change, expected', [
    (dict(Results='TBD'), 'must be absent'),
    (dict(Results=[]), 'must be absent'),
    (dict(Metrics={'mIoU': 0}), 'not a number in (0, 100]'),
    (dict(Metrics={'mIoU': 101.0}), 'not a number in (0, 100]'),
    (dict(Metrics={'mIoU': '77.2'}), 'not a number in (0, 100]'),
    (dict(Metrics={'mIoU': True}), 'not a number in (0, 100]'),
    (dict(Metrics={'mAcc': 80.0}), 'not a number in (0, 100]'),
    (dict(Dataset='Cityscapes'), 'vs Training Data'),
    (dict(Dataset='KITTI'), 'not in'),
    (dict(Task='Classification'), 'Task'),
    (dict(source=None), 'without a Results Source'),
    (dict(source='  '), 'without a Results Source'),
    (dict(source='README table'), 'whose number'),
    (dict(Weights='TBD'), 'neither a URL nor'),
    (dict(Weights='work_dirs/missing.pth'), 'neither a URL nor'),
    (dict(no_results_with_source=True), 'Results Source without results'),
])
def test_entry_check_catches(change, expected):
    """The checker above rejects each way an entry can be wrong, and
    accepts the well-formed entry it starts from."""
    result = dict(Task='Semantic Segmentation', Dataset='Pascal VOC 2012',
                  Metrics={'mIoU': 77.2})
    meta = {'Training Data': 'Pascal VOC 2012 Aug',
            'Results Source': 'reported by the authors, not reproduced '
                              'here: X README, VOC table'}
    model = dict(Name='m', Metadata=meta, Results=[result],
                 Config='configs/x/x.py')
    assert entry_problems(model) == []
    model['Weights'] = 'https://example.org/m.pth'
    assert entry_problems(model) == []
    del model['Weights']
    for key in ('Task', 'Dataset', 'Metrics'):
        if key in change:
            result[key] = change[key]
    if 'Results' in change:
        model['Results'] = change['Results']
    if 'source' in change:
        meta['Results Source'] = change['source']
    if 'Weights' in change:
        model['Weights'] = change['Weights']
    if change.get('no_results_with_source'):
        model.pop('Results')
    found = entry_problems(model)
    assert any(expected in p for p in found), found


def test_mim_reads_back_every_number():
    """``mim search`` loads model-index.yml with modelindex and flattens it
    with ``convert2df``: every entry is there, each published mIoU under
    ``<dataset>/miou``, and an entry without Results has no metric."""
    load = pytest.importorskip('modelindex.load_model_index').load
    convert2df = pytest.importorskip('mim.commands.search').convert2df
    index = load(osp.join(ROOT, 'model-index.yml'))
    frame = convert2df(index)
    metric_columns = [c for c in frame.columns if c.endswith('/miou')]
    models = list(_models())
    assert sorted(frame.index) == sorted(m['Name'] for _, m in models)
    for _, model in models:
        row = frame.loc[model['Name']]
        got = {c: row[c] for c in metric_columns if row[c] == row[c]}
        if model.get('Results') is None:
            assert got == {}, model['Name']
        else:
            want = {f'{r["Dataset"].lower()}/miou': r['Metrics']['mIoU']
                    for r in model['Results']}
            assert got == want, model['Name']
        assert row['config'] == model['Config']
    # modelindex's own checks: apart from the README paths (which it
    # resolves against the metafile's folder; mmseg's own model index gets
    # the same message), nothing.
    errors = [
        e for e in index.check(silent=True) or []
        if 'Path to README file' not in e
    ]
    assert errors == []


def test_every_entry_has_the_model_zoo_fields():
    """``Official Checkpoint``, ``Convert Command`` (a converter script that
    exists, or "none ...") and ``Ours`` ("not run"; a synthetic run only on
    a synthetic-data entry) on every entry, as docs/model_zoo.md shows them
    (checker: ``tools/misc/make_model_zoo.py``; its failures are tested in
    ``tests/test_tools/test_model_zoo.py``)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'make_model_zoo', osp.join(ROOT, 'tools', 'misc', 'make_model_zoo.py'))
    zoo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(zoo)
    problems = []
    for meta, model in _models():
        try:
            zoo.check_model(model, meta)
        except zoo.MetafileError as e:
            problems.append(str(e))
    assert not problems, '\n'.join(problems)
