"""Smoke test of tools/analysis/benchmark_pseudo_labels.py: generation
against plain inference (tiny synthetic set, 1×1 projection model); the
ratio is measured, not asserted."""
import importlib.util
import json
import os.path as osp

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _tool():
    path = osp.join(ROOT, 'tools', 'analysis', 'benchmark_pseudo_labels.py')
    spec = importlib.util.spec_from_file_location('bench_pl', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_generation_against_plain_inference(tmp_path, capsys):
    out = tmp_path / 'bench.json'
    rows = _tool().main([
        '--sizes', '16', '--image-size', '16', '--repeats', '2', '--data-dir',
        str(tmp_path / 'data'), '--json', str(out)
    ])
    text = capsys.readouterr().out
    assert 'Generation against plain inference' in text
    [row] = rows
    assert row['images'] == 16
    assert len(row['plain_seconds']) == len(row['plain_cpu_seconds']) == 3
    assert row['ratio'] > 0 and row['cpu_ratio'] > 0
    assert len(row['cpu_ratios']) == len(row['generation_seconds']) == 2
    assert {'inference pass', 'network (in the inference pass)',
            'exact sampling', 'writing'} <= set(row['phases'])
    saved = json.loads(out.read_text())
    assert saved['rows'][0]['images'] == 16
    assert saved['model'] == '1x1 projection'
