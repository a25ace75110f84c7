"""Checkpoints that are never seen half-written.

mmengine's ``Runner.save_checkpoint`` writes ``iter_N.pth`` in place and
``CheckpointHook`` then writes ``last_checkpoint`` in place, after removing
the oldest kept checkpoint *before* the new one is saved; a run killed
during the write leaves a truncated ``iter_N.pth`` (and, with
``max_keep_ckpts=1``, a ``last_checkpoint`` naming a deleted file).

:class:`AtomicCheckpointHook` is ``CheckpointHook`` with, for local folders:

- every checkpoint the runner saves (this hook's, ``save_best``'s, the
  self-training round ends') written to a temporary name in the same
  folder and renamed when complete (:func:`os.replace`);
- ``last_checkpoint`` written the same way, after the checkpoint is in
  place, so it always names a complete file;
- the checkpoints beyond ``max_keep_ckpts`` removed after that, not before;
- temporary files left by a killed run removed when training starts.
"""
import glob
import os
import os.path as osp
import secrets
from functools import wraps

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook
from mmseg.registry import HOOKS

from ...utils.atomic import atomic_write_text

__all__ = ['AtomicCheckpointHook', 'make_runner_save_atomic']

_TMP_MARK = '.partial-'


def _is_local(path) -> bool:
    return isinstance(path, str) and '://' not in path


def make_runner_save_atomic(runner) -> None:
    """Wrap ``runner.save_checkpoint`` (this runner only) so that a local
    checkpoint is written as ``.<name>.partial-<random>`` and renamed to
    ``<name>`` once complete. Idempotent."""
    save = runner.save_checkpoint
    if getattr(save, '_mmsss_atomic', False):
        return

    @wraps(save)
    def atomic_save_checkpoint(out_dir, filename, *args, **kwargs):
        if not _is_local(out_dir):
            return save(out_dir, filename, *args, **kwargs)
        tmp_name = f'.{filename}{_TMP_MARK}{secrets.token_hex(4)}'
        tmp_path = osp.join(out_dir, tmp_name)
        try:
            save(out_dir, tmp_name, *args, **kwargs)
            if osp.exists(tmp_path):  # only the main process writes
                os.replace(tmp_path, osp.join(out_dir, filename))
        except BaseException:
            if osp.exists(tmp_path):
                os.remove(tmp_path)
            raise

    atomic_save_checkpoint._mmsss_atomic = True
    runner.save_checkpoint = atomic_save_checkpoint


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` with atomic checkpoint and ``last_checkpoint``
    writes (see the module docstring); same arguments."""

    def before_train(self, runner) -> None:
        super().before_train(runner)
        make_runner_save_atomic(runner)
        if is_main_process() and _is_local(self.out_dir):
            for stale in glob.glob(
                    osp.join(glob.escape(self.out_dir), f'.*{_TMP_MARK}*')):
                os.remove(stale)

    def _save_checkpoint_with_step(self, runner, step, meta):
        if not _is_local(self.out_dir):
            return super()._save_checkpoint_with_step(runner, step, meta)
        removed = None
        # the ids and last_ckpt go into the message hub saved with the
        # checkpoint, so they are updated first; files are removed last
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and
                                            self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                removed = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir,
                                                     ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            ckpt_filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        atomic_write_text(
            osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        if removed is not None:
            old = self.file_backend.join_path(
                self.out_dir, self.filename_tmpl.format(removed))
            if osp.isfile(old):
                os.remove(old)
