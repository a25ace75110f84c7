"""Smoke test of tools/analysis/benchmark_step.py on CPU with a tiny model."""
import importlib.util
import json
import os.path as osp

import pytest

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


def test_unimatch_v2_runs_on_cpu(tmp_path, capsys):
    """UniMatch V2 path on the synthetic config's tiny ViT: both precision
    modes, the table with measured numbers, the JSON."""
    tool = _tool()
    out = tmp_path / 'bench_v2.json'
    rows = tool.main([
        '--config',
        osp.join(ROOT, 'configs/unimatch_v2/synthetic_1-16.py'), '--device',
        'cpu', '--n-labeled', '1', '--n-unlabeled', '2', '--warmup', '0',
        '--iters', '1', '--json',
        str(out)
    ])
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert lines[0].startswith('UniMatch V2 step, configs/unimatch_v2/'
                               'synthetic_1-16.py')
    assert 'crop 70' in lines[0]  # the config's crop_size by default
    assert 'checkpointing off' in lines[0]
    assert lines[1].split() == [
        'mode', 'cp', 'step', 'opt+ema', 'bare', 't_fwd', 's_lab', 's_strong',
        'ratio', 'peak_GiB'
    ]
    assert [r['mode'] for r in rows] == ['fp32', 'bf16']  # no channels_last
    for row, line in zip(rows, lines[3:5]):
        cells = line.split()
        assert cells[:2] == [row['mode'], 'off'] and cells[-1] == 'n/a'
        assert float(cells[-2]) == round(row['ratio'], 3)
        for key in ('step_ms', 'opt_ema_ms', 'bare_ms', 'teacher_fwd_ms',
                    'student_lab_fwd_bwd_ms', 'student_strong_fwd_bwd_ms'):
            assert row[key] > 0, key
        assert row['ratio'] == row['step_ms'] / row['bare_ms']
        assert row['peak_mem_gib'] is None  # CPU
        # labeled batch, then the two strong views of the 2 unlabeled images
        assert row['student_batches'] == [1, 4]
    saved = json.loads(out.read_text())
    assert saved['method'] == 'unimatch_v2'
    assert [r['mode'] for r in saved['rows']] == ['fp32', 'bf16']


def test_unimatch_v2_model_and_refusals():
    tool = _tool()
    config = osp.join(ROOT, 'configs/unimatch_v2/synthetic_1-16.py')
    cfg, method = tool.load_config(config)
    assert method == 'unimatch_v2' and tool.config_crop(cfg, config) == 70
    model = tool.build_unimatch_v2(cfg, 42, 'cpu', with_cp=True)
    assert model.student.backbone.with_cp and model.teacher.backbone.with_cp
    assert model.semi_train_cfg['cutmix']['prob'] == 1.0  # same batch
    assert model.semi_train_cfg['complementary_dropout'] is not None
    inputs, samples = tool.make_unimatch_v2_batch(model, 1, 2, 42, 'cpu', 0)
    assert sorted(inputs) == [
        'sup', 'unsup_strong1', 'unsup_strong2', 'unsup_weak'
    ]
    assert inputs['unsup_strong2'].shape == (2, 3, 42, 42)
    # unlabeled maps: no padding (all 254)
    assert all((s.gt_sem_seg.data == 254).all()
               for s in samples['unsup_weak'])
    with pytest.raises(ValueError, match='channels_last is irrelevant'):
        tool.main(['--config', config, '--device', 'cpu', '--modes',
                   'bf16-cl'])
    with pytest.raises(ValueError, match='--with-cp is for ViT encoders'):
        tool.main(['--device', 'cpu', '--with-cp'])


def test_unknown_model_type_is_refused(tmp_path):
    tool = _tool()
    config = tmp_path / 'cascade.py'
    config.write_text("model = dict(type='CascadeEncoderDecoder')\n")
    with pytest.raises(ValueError, match="model.type is 'CascadeEncoder"):
        tool.main(['--config', str(config), '--device', 'cpu'])
    with pytest.raises(ValueError, match='--stage is for configs with'):
        tool.main(['--config', str(config), '--stage', 'stage2'])
