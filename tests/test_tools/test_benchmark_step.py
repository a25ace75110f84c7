"""Smoke test of tools/analysis/benchmark_step.py on CPU with a tiny model."""
import importlib.util
import json
import os.path as osp

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _tool():
    spec = importlib.util.spec_from_file_location(
        'benchmark_step', osp.join(ROOT, 'tools/analysis/benchmark_step.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_benchmark_step_runs_on_cpu(tmp_path, capsys):
    tool = _tool()
    out = tmp_path / 'bench.json'
    rows = tool.main([
        '--device', 'cpu', '--crop', '32', '--depth', '18', '--n-labeled',
        '1', '--n-unlabeled', '1', '--warmup', '0', '--iters', '1',
        '--modes', 'fp32', '--json',
        str(out)
    ])
    text = capsys.readouterr().out
    assert 'ratio' in text and 'fp32' in text and 'R18' in text
    (row, ) = rows
    # [labeled, weak, cutmix, intensity] = 1 + 3 x 1 images
    assert row['student_batch'] == 4
    for key in ('step_ms', 'bare_ms', 'hardness_ms', 'teacher_fwd_ms',
                'student_fwd_bwd_ms', 'step_opt_ema_ms'):
        assert row[key] > 0, key
    assert row['ratio'] == row['step_ms'] / row['bare_ms']
    assert 0 < row['hardness_pct'] < 100
    assert json.loads(out.read_text())['rows'][0]['mode'] == 'fp32'


def test_table_formatting():
    tool = _tool()
    row = dict(mode='bf16-cl', step_ms=100., step_opt_ema_ms=110.,
               bare_ms=95., teacher_fwd_ms=10., student_weak_fwd_ms=10.,
               student_fwd_bwd_ms=75., ratio=100 / 95, hardness_ms=0.5,
               hardness_pct=0.5, peak_mem_gib=None)
    table = tool.format_table([row], 'note')
    lines = table.splitlines()
    assert lines[0] == 'note' and lines[1].startswith('mode')
    assert len(lines[3]) == len(lines[1])  # columns line up
    assert '1.053' in lines[3] and 'n/a' in lines[3]
