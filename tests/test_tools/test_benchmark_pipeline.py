"""Smoke test of tools/analysis/benchmark_pipeline.py on tiny generated sets:
every source and branch is reported with finite positive rates (nothing
timed is asserted)."""
import importlib.util
import json
import math
import os.path as osp
import subprocess

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MIRROR = '/work/.mirror/LiheYoung+UniMatch/repo'


def _tool():
    path = osp.join(ROOT, 'tools', 'analysis', 'benchmark_pipeline.py')
    spec = importlib.util.spec_from_file_location('benchmark_pipeline', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(tmp_path, config, *extra):
    out = tmp_path / 'result.json'
    result = _tool().main([
        osp.join(ROOT, config), '--image-size', '40', '30', '--n', '2',
        '--repeats', '1', '--num-images', '2', '--work-dir',
        str(tmp_path / 'data'), '--json', str(out), *extra
    ])
    assert json.loads(out.read_text())['sources'] == json.loads(
        json.dumps(result['sources']))
    for s in result['sources']:
        assert math.isfinite(s['ms_per_sample']) and s['ms_per_sample'] > 0
        assert s['samples_per_s_per_worker'] > 0 and s['workers'] >= 1
    assert result['workers_per_gpu'] == sum(s['workers']
                                            for s in result['sources'])
    return result


def _branches(source):
    return sorted(k.split('branch ')[1] for k in source['steps_ms']
                  if 'branch ' in k)


def test_unimatch_reports_every_source_and_branch(tmp_path):
    result = _run(tmp_path, 'configs/unimatch/voc_92.py')
    sources = {s['source']: s for s in result['sources']}
    assert list(sources) == ['labeled', 'unlabeled', 'mix']
    assert _branches(sources['labeled']) == ['sup']
    assert _branches(sources['unlabeled']) == [
        'unsup_strong1', 'unsup_strong2', 'unsup_weak']
    assert _branches(sources['mix']) == [
        'mix_strong1', 'mix_strong2', 'mix_weak']
    assert [s['batch_per_source'] for s in result['sources']] == [2, 2, 2]
    assert any('RandomRescale' in k for k in sources['mix']['steps_ms'])


def test_imas_cityscapes_layout(tmp_path):
    result = _run(tmp_path, 'configs/imas/cityscapes_1-8.py')
    sources = {s['source']: s for s in result['sources']}
    assert list(sources) == ['labeled', 'unlabeled']
    assert _branches(sources['unlabeled']) == ['unsup_strong', 'unsup_weak']
    assert osp.isfile(
        tmp_path / 'data' / 'cityscapes_40x30_c19' / 'gtFine' / 'train' /
        'bench' / 'bench_000000_000019_gtFine_labelTrainIds.png')


@pytest.mark.skipif(not osp.isdir(MIRROR), reason='no UniMatch mirror')
def test_side_by_side_with_official_unimatch(tmp_path):
    official = tmp_path / 'unimatch'
    (official / 'dataset').mkdir(parents=True)
    for name in ('semi.py', 'transform.py'):
        text = subprocess.run(
            ['git', '-C', MIRROR, 'show', f'HEAD:dataset/{name}'],
            check=True, capture_output=True, text=True).stdout
        (official / 'dataset' / name).write_text(text)
    result = _run(tmp_path, 'configs/unimatch/voc_92.py',
                  '--official-unimatch', str(official))
    for s in result['sources']:
        assert s['official_ms_per_sample'] > 0
        assert len(s['ratio_runs']) == 1 and s['ratio_runs'][0] > 0


def test_unknown_layout_needs_data_root(tmp_path):
    with pytest.raises(ValueError, match='no synthetic layout'):
        _tool().main([osp.join(ROOT, 'configs/unimatch/ade20k_1-16.py'),
                      '--work-dir', str(tmp_path)])
