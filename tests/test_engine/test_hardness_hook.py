"""HardnessLoggerHook: message-hub scalars, per-instance CSV (header once,
fresh run vs resume) and the Figure 3(c) plot tool."""
import csv
import importlib.util
import os.path as osp
from types import SimpleNamespace

import numpy as np
import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


class _Vis:

    def __init__(self):
        self.calls = []

    def add_scalars(self, scalars, step=0, **kwargs):
        self.calls.append((step, dict(scalars)))


def _runner(tmp_path, name):
    from mmengine.logging import MessageHub
    model = SimpleNamespace(last_unsup_info={})
    return SimpleNamespace(
        model=model,
        work_dir=str(tmp_path),
        iter=0,
        message_hub=MessageHub.get_instance(name),
        visualizer=_Vis())


def _info(it):
    e = torch.tensor([0.1, 0.5, 0.9]) + 0.01 * it
    return dict(
        easiness=e,
        ratio_teacher=torch.tensor([0.2, 0.4, 0.6]),
        ratio_student=torch.tensor([0.3, 0.3, 0.3]),
        cutmix_rate=torch.tensor(float(it % 2)),
        img_ids=['2007_000033', 'a,b', '2007_000129'])


def _read(path):
    with open(path, newline='') as f:
        return list(csv.reader(f))


def test_scalars_and_csv_rows(tmp_path):
    from mmsss.engine.hooks import HardnessLoggerHook
    runner = _runner(tmp_path, 'hardness_hook_1')
    hook = HardnessLoggerHook(flush_interval=2, vis_interval=1)
    hook.before_train(runner)
    path = osp.join(str(tmp_path), 'hardness_rank0.csv')
    assert _read(path) == [[
        'iter', 'img_id', 'easiness', 'ratio_teacher', 'ratio_student'
    ]]
    for it in range(3):
        runner.iter = it
        runner.model.last_unsup_info = _info(it)
        hook.after_train_iter(runner, it)
        e = _info(it)['easiness'].numpy()
        hub = runner.message_hub
        get = lambda k: hub.get_scalar(f'train/hardness/{k}').current()  # noqa
        assert get('easiness_mean') == pytest.approx(e.mean(), abs=1e-6)
        assert get('easiness_std') == pytest.approx(e.std(), abs=1e-6)
        assert get('hardness_mean') == pytest.approx(1 - e.mean(), abs=1e-6)
        assert get('high_conf_ratio') == pytest.approx(0.4)
        assert get('high_conf_ratio_student') == pytest.approx(0.3)
        assert get('cutmix_rate') == float(it % 2)
        step, scalars = runner.visualizer.calls[-1]
        assert step == it + 1
        assert scalars['hardness_iter/easiness_mean'] == pytest.approx(
            e.mean(), abs=1e-6)
        if it == 0:  # buffered until the flush interval
            assert len(_read(path)) == 1
    rows = _read(path)
    assert len(rows) == 1 + 6  # iterations 0 and 1 flushed
    hook.after_train(runner)
    rows = _read(path)
    assert len(rows) == 1 + 9 and rows.count(rows[0]) == 1
    assert rows[2] == ['0', 'a,b', '0.500000', '0.400000', '0.300000']
    assert [r[0] for r in rows[1:]] == ['0'] * 3 + ['1'] * 3 + ['2'] * 3
    assert float(rows[-1][2]) == pytest.approx(0.92)

    # a resumed run appends without a second header
    runner.iter = 3
    hook2 = HardnessLoggerHook()
    hook2.before_train(runner)
    runner.model.last_unsup_info = _info(3)
    hook2.after_train_iter(runner, 0)
    hook2.after_train(runner)
    rows = _read(path)
    assert len(rows) == 1 + 12 and rows.count(rows[0]) == 1
    # a fresh run (iteration 0) starts a new file
    runner.iter = 0
    HardnessLoggerHook().before_train(runner)
    assert len(_read(path)) == 1


def test_no_info_is_a_no_op_and_bad_args(tmp_path):
    from mmsss.engine.hooks import HardnessLoggerHook
    runner = _runner(tmp_path, 'hardness_hook_2')
    hook = HardnessLoggerHook()
    hook.before_train(runner)
    hook.after_train_iter(runner, 0)  # e.g. a supervised-only model
    hook.after_train(runner)
    assert len(_read(osp.join(str(tmp_path), 'hardness_rank0.csv'))) == 1
    assert 'train/hardness/easiness_mean' not in runner.message_hub.log_scalars
    with pytest.raises(ValueError, match='flush_interval'):
        HardnessLoggerHook(flush_interval=0)
    with pytest.raises(ValueError, match='vis_interval'):
        HardnessLoggerHook(vis_interval=0)


def test_hook_reads_an_imas_model_step(tmp_path):
    """End to end with the real model: ids and values land in the CSV."""
    from mmengine.registry import init_default_scope
    from mmsss.engine.hooks import HardnessLoggerHook
    from tests._tiny import make_multi_batch, tiny_semi_model
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = tiny_semi_model('IMASSegmentor', conf_thresh=0.3)
    model.train()
    inputs, samples = make_multi_batch(n_l=1, n_u=2)
    for i, s in enumerate(samples['unsup_weak']):
        s.set_metainfo(dict(img_id=f'img_{i}'))
    model.loss(inputs, samples)
    runner = _runner(tmp_path, 'hardness_hook_3')
    runner.model = model
    hook = HardnessLoggerHook()
    hook.before_train(runner)
    hook.after_train_iter(runner, 0)
    hook.after_train(runner)
    rows = _read(osp.join(str(tmp_path), 'hardness_rank0.csv'))
    assert [r[1] for r in rows[1:]] == ['img_0', 'img_1']
    np.testing.assert_allclose([float(r[2]) for r in rows[1:]],
                               model.last_unsup_info['easiness'].numpy(),
                               atol=1e-6)


def _plot_tool():
    spec = importlib.util.spec_from_file_location(
        'plot_hardness', osp.join(ROOT, 'tools/analysis/plot_hardness.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_plot_hardness_draws_a_png(tmp_path):
    pytest.importorskip('matplotlib')
    tool = _plot_tool()
    rng = np.random.default_rng(0)
    for rank in range(2):
        with open(tmp_path / f'hardness_rank{rank}.csv', 'w') as f:
            f.write('iter,img_id,easiness,ratio_teacher,ratio_student\n')
            for it in range(40):
                for k in range(3):
                    e = min(1, it / 40 + 0.1 * rng.random())
                    f.write(f'{it},r{rank}_{k % 2},{e:.4f},0.5,0.5\n')
    out = tmp_path / 'fig' / 'hardness.png'
    assert tool.main([str(tmp_path / 'hardness_rank*.csv'), '--out',
                      str(out), '--bins', '8', '--hardness']) == 0
    data = out.read_bytes()
    assert data[:8] == b'\x89PNG\r\n\x1a\n' and len(data) > 5000
    it, names, vals = tool.read_rows([str(tmp_path / 'hardness_rank*.csv')])
    assert len(vals) == 2 * 40 * 3
    c, m, s = tool.binned_stats(it, vals, 4)
    assert len(c) == 4 and np.all(np.diff(m) > 0)  # rising easiness
    with pytest.raises(FileNotFoundError):
        tool.read_rows([str(tmp_path / 'missing*.csv')])
    bad = tmp_path / 'bad.csv'
    bad.write_text('a,b\n1,2\n')
    with pytest.raises(ValueError, match='easiness'):
        tool.read_rows([str(bad)])
