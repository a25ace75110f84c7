"""tools/analysis/benchmark_all.py: two methods in subprocesses (CPU, tiny
networks) give one JSON and one Markdown table; a failing method is
reported without stopping the others."""
import importlib.util
import json
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools/analysis/benchmark_all.py')


def _tool():
    spec = importlib.util.spec_from_file_location('benchmark_all', TOOL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_two_methods_one_json_and_table(tmp_path):
    out = tmp_path / 'all'
    proc = subprocess.run([
        sys.executable, TOOL, '--device', 'cpu', '--tiny', '--methods',
        'supervised,unimatch_v2', '--crop', '32', '--n-labeled', '2',
        '--n-unlabeled', '1', '--warmup', '0', '--iters', '1', '--modes',
        'fp32', '--out-dir',
        str(out)
    ], cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={'OMP_NUM_THREADS': '1', 'PATH': '/usr/bin:/bin'})
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((out / 'benchmark_all.json').read_text())
    by_name = {r['name']: r for r in data['results']}
    assert list(by_name) == ['supervised', 'unimatch_v2']
    sup, v2 = by_name['supervised'], by_name['unimatch_v2']
    assert sup['status'] == v2['status'] == 'ok'
    # a ViT crop is cut to a multiple of the patch (14)
    assert sup['crop'] == 32 and v2['crop'] == 28
    for r in sup['rows'] + v2['rows']:
        assert r['mode'] == 'fp32'
        assert r['step_ms'] > 0 and r['bare_ms'] > 0 and r['opt_ema_ms'] > 0
        assert r['peak_mem_gib'] is None
    table = (out / 'benchmark_all.md').read_text().splitlines()
    assert table[0].startswith('benchmark_all: 2 methods, device cpu')
    assert table[2].startswith('| method | config | batch | crop | mode |')
    assert table[4].startswith(
        '| supervised | `configs/supervised/voc_1-8.py` | 2 | 32 | fp32 |')
    assert table[5].startswith(
        '| unimatch_v2 | `configs/unimatch_v2/voc_92_dinov2-b.py` | 2 + 1 | '
        '28 | fp32 |')


def test_step_command_modes_and_crop():
    tool = _tool()
    args = tool.parse_args(['--modes', 'fp32,bf16-cl', '--crop', '64',
                            '--tiny', '--n-labeled', '3'])
    cmd = tool.step_command(args, 'configs/unimatch_v2/voc_92_dinov2-b.py',
                            True, 'x.json')
    assert cmd[cmd.index('--modes') + 1] == 'fp32'  # no channels_last
    assert '--keep-going' in cmd  # one failed mode keeps the others
    assert cmd[cmd.index('--crop') + 1] == '56' and '--tiny' in cmd
    assert cmd[cmd.index('--n-labeled') + 1] == '3'
    assert '--n-unlabeled' not in cmd  # the config's
    cmd = tool.step_command(args, 'configs/imas/voc_1-8.py', False, 'x.json')
    assert cmd[cmd.index('--modes') + 1] == 'fp32,bf16-cl'
    assert cmd[cmd.index('--crop') + 1] == '64'
    args = tool.parse_args(['--modes', 'bf16-cl'])
    assert tool.step_command(args, 'c.py', True, 'x.json') is None


def test_failure_is_reported_and_the_rest_runs(tmp_path, monkeypatch):
    """A failing method (a stand-in tool that exits 1) is reported with its
    error, the next one still runs; a method with too little budget left
    is skipped."""
    tool = _tool()
    fake = tmp_path / 'fake_step.py'
    fake.write_text(
        'import json, sys\n'
        'args = sys.argv[1:]\n'
        "if 'broken' in args[args.index('--config') + 1]:\n"
        "    sys.exit('RuntimeError: CUDA out of memory')\n"
        "json.dump(dict(method='supervised', note='n', device='cpu', "
        "crop=8, n_labeled=2, n_unlabeled=0, rows=[dict(mode='fp32', "
        "step_ms=2., opt_ema_ms=1., bare_ms=2., ratio=1., "
        "peak_mem_gib=None), dict(mode='bf16', error='OutOfMemoryError: "
        "CUDA out of memory', ratio=None, peak_mem_gib=None)]), "
        "open(args[args.index('--json') + 1], 'w'))\n")
    monkeypatch.setattr(tool, 'STEP_TOOL', str(fake))
    monkeypatch.setattr(tool, 'RUNS', {
        'broken': ('configs/broken.py', False),
        'fine': ('configs/fine.py', False),
        'late': ('configs/late.py', False)
    })
    # start; each run: budget check, start, end; the end
    clock = iter([0., 0., 0., 1., 1., 1., 50.])
    monkeypatch.setattr(tool.time, 'perf_counter', lambda: next(clock, 50.))
    results = tool.main(['--out-dir', str(tmp_path), '--budget', '60'])
    assert [r['status'] for r in results] == ['failed', 'ok', 'skipped']
    assert 'CUDA out of memory' in results[0]['error']
    assert results[1]['rows'][0]['ratio'] == 1.
    md = (tmp_path / 'benchmark_all.md').read_text()
    assert '| fine | `configs/fine.py` | 2 | 8 | fp32 | 2.0 | 1.0 | 2.0 | ' \
        '1.000 | n/a |' in md
    assert '- broken (configs/broken.py): failed: RuntimeError: CUDA out ' \
        'of memory' in md
    assert '- late (configs/late.py): skipped: budget: 10 s left' in md
    # a failed mode of a method that ran: n/a in the table, error below
    assert '| fine | `configs/fine.py` | 2 | 8 | bf16 | n/a | n/a | n/a | ' \
        'n/a | n/a |' in md
    assert '- fine bf16: failed: OutOfMemoryError: CUDA out of memory' in md
