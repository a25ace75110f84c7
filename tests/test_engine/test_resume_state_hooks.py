"""Hook state across a resume (issue 21): the iMAS hardness CSV after a
kill that came after a flush past the checkpoint; atomic checkpoints keep
the previous checkpoint until the new one is complete."""
import csv
import os.path as osp

from tests.test_engine.test_hardness_hook import _info, _runner


def _iters(path):
    with open(path, newline='') as f:
        return [r[0] for r in list(csv.reader(f))[1:]]


def test_hardness_csv_after_kill_past_checkpoint(tmp_path):
    from mmsss.engine.hooks import HardnessLoggerHook
    runner = _runner(tmp_path, 'resume_hardness')
    path = osp.join(str(tmp_path), 'hardness_rank0.csv')
    hook = HardnessLoggerHook(flush_interval=1)
    hook.before_train(runner)
    for it in range(5):  # checkpoint written after iteration index 2
        runner.iter = it
        runner.model.last_unsup_info = _info(it)
        hook.after_train_iter(runner, it)
        if it == 2:
            hook.before_save_checkpoint(runner, {})
    # killed after iteration 4: rows of 0..4 are on disk
    assert _iters(path) == [str(i) for i in range(5) for _ in range(3)]
    runner.iter = 3  # resumed from the checkpoint (3 iterations done)
    hook2 = HardnessLoggerHook(flush_interval=100)
    hook2.before_train(runner)
    assert _iters(path) == [str(i) for i in range(3) for _ in range(3)]
    for it in (3, 4):
        runner.iter = it
        runner.model.last_unsup_info = _info(it)
        hook2.after_train_iter(runner, it)
    hook2.after_train(runner)
    assert _iters(path) == [str(i) for i in range(5) for _ in range(3)]


def test_checkpoint_buffered_rows_flushed(tmp_path):
    """Rows buffered when a checkpoint is written are flushed with it, so a
    kill right after the checkpoint loses none."""
    from mmsss.engine.hooks import HardnessLoggerHook
    runner = _runner(tmp_path, 'resume_hardness_2')
    path = osp.join(str(tmp_path), 'hardness_rank0.csv')
    hook = HardnessLoggerHook(flush_interval=100)
    hook.before_train(runner)
    for it in range(2):
        runner.iter = it
        runner.model.last_unsup_info = _info(it)
        hook.after_train_iter(runner, it)
    assert _iters(path) == []
    hook.before_save_checkpoint(runner, {})
    assert _iters(path) == ['0'] * 3 + ['1'] * 3
