"""ESL end to end on the synthetic data (CPU): prototype initialisation by
the hook, a few training iterations, resume restoring prototypes and memory
bank bit-for-bit (and the hook not re-running K-means), and export of the
teacher/student to a plain mmseg checkpoint that ``tools/test.py``
evaluates with a plain ``EncoderDecoder`` config to the same mIoU."""
import importlib.util
import os.path as osp

import pytest
import torch

from tests.test_engine.test_train_synthetic import (data_options,
                                                   run_test_tool)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs/esl/synthetic_1-16.py')
PLAIN_CONFIG = osp.join(ROOT, 'configs/supervised/synthetic_1-16.py')
BUFFERS = ('prototypes', 'prototypes_initialized', 'bank', 'bank_ptr',
           'bank_count')


def _cfg(root, work_dir, max_iters):
    from mmengine.config import Config
    cfg = Config.fromfile(CONFIG)
    opts = {}
    for kv in data_options(root):
        k, v = kv.split('=', 1)
        opts[k] = int(v) if v.isdigit() else (False if v == 'False' else v)
    cfg.merge_from_dict(opts)
    cfg.train_cfg.max_iters = max_iters
    cfg.train_cfg.val_interval = max_iters
    cfg.work_dir = str(work_dir)
    return cfg


@pytest.fixture(scope='module')
def trained(synthetic_voc_root, tmp_path_factory):
    from mmengine.runner import Runner
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    work_dir = tmp_path_factory.mktemp('esl_synthetic')
    runner = Runner.from_cfg(_cfg(synthetic_voc_root, work_dir, 3))
    runner.train()
    model = runner.model
    first = dict(
        buffers={k: getattr(model, k).clone() for k in BUFFERS},
        teacher={k: v.clone()
                 for k, v in model.teacher.state_dict().items()},
        scalars=dict(runner.message_hub.log_scalars))
    cfg = _cfg(synthetic_voc_root, work_dir, 4)
    cfg.resume = True
    runner2 = Runner.from_cfg(cfg)
    runner2._train_loop = runner2.build_train_loop(runner2._train_loop)
    runner2.call_hook('before_run')
    runner2.load_or_resume()
    resumed = {k: getattr(runner2.model, k).clone() for k in BUFFERS}
    runner2.call_hook('before_train')  # PrototypeInitHook must skip
    after_hooks = runner2.model.prototypes.clone()
    torch.set_num_threads(threads)
    yield dict(
        work_dir=str(work_dir),
        root=synthetic_voc_root,
        first=first,
        resumed_iter=runner2.iter,
        resumed=resumed,
        after_hooks=after_hooks)


def test_training_logs_esl_losses_and_fills_bank(trained):
    scalars = trained['first']['scalars']
    for k in ('train/sup_decode.loss_ce', 'train/unsup_loss_sce',
              'train/unsup_loss_ctr', 'train/unsup_ctr_anchors',
              'train/unsup_bank_fill', 'val/teacher/mIoU'):
        assert k in scalars, k
    assert scalars['train/unsup_loss_ctr'].current() > 0
    buffers = trained['first']['buffers']
    assert bool(buffers['prototypes_initialized'])
    assert buffers['bank_count'].sum() > 0
    # K-means gave unit prototypes; the Eq. 12 EMA keeps them on the unit
    # sphere (all-zero only for a class without labeled pixels)
    assert buffers['prototypes'].abs().sum() > 0
    norms = buffers['prototypes'].norm(dim=2)
    assert (((norms - 1).abs() < 1e-4) | (norms == 0)).all(), norms


def test_resume_restores_prototypes_and_bank_bit_for_bit(trained):
    assert trained['resumed_iter'] == 3
    for k in BUFFERS:
        assert torch.equal(trained['resumed'][k],
                           trained['first']['buffers'][k]), k
    assert torch.equal(trained['after_hooks'],
                       trained['first']['buffers']['prototypes'])


def test_export_plain_segmentor_and_tools_test(trained, tmp_path,
                                               monkeypatch):
    from mmsss.utils.export import export_plain_segmentor
    ckpt = osp.join(trained['work_dir'], 'iter_3.pth')
    out = str(tmp_path / 'teacher.pth')
    # the tool, in process (its import is what a subprocess would cost)
    spec = importlib.util.spec_from_file_location(
        'export_tool',
        osp.join(ROOT, 'tools/model_converters/export_plain_segmentor.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    tool.main([ckpt, out])
    exported = torch.load(out, weights_only=True)
    assert 'meta' in exported and exported['meta']['exported_from'][
        'model'] == 'teacher'
    state = exported['state_dict']
    teacher = trained['first']['teacher']
    plain_keys = {k for k in teacher if not k.startswith('projector.')}
    assert set(state) == plain_keys
    assert all(torch.equal(state[k], teacher[k]) for k in state)
    student = export_plain_segmentor(ckpt, str(tmp_path / 's.pth'),
                                     'student')
    assert set(student) == plain_keys
    assert not all(torch.equal(student[k], state[k]) for k in state)
    # a checkpoint without student/teacher keys: clear error
    torch.save(dict(state_dict=state), str(tmp_path / 'plain.pth'))
    with pytest.raises(KeyError, match="no 'teacher"):
        export_plain_segmentor(str(tmp_path / 'plain.pth'),
                               str(tmp_path / 'x.pth'))
    assert not osp.exists(tmp_path / 'x.pth')

    opts = [o for o in data_options(trained['root'])
            if o.startswith(('val_', 'test_'))]
    metrics = run_test_tool(
        [PLAIN_CONFIG, out, '--work-dir', str(tmp_path / 'test'),
         '--cfg-options', *opts], monkeypatch)
    miou = metrics['mIoU']
    # the exported teacher scores what the teacher scored in training
    val = trained['first']['scalars']['val/teacher/mIoU'].current()
    assert miou == pytest.approx(float(val), abs=0.01)
