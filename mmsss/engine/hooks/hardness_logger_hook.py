"""Log iMAS per-image easiness/hardness during training."""
import csv
import io
import os.path as osp
from typing import List, Optional

import torch
from mmengine.dist import all_reduce, get_rank, get_world_size
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

from ...utils.atomic import atomic_write_text
from ...utils.dist import unwrap_model

__all__ = ['HardnessLoggerHook']

CSV_COLUMNS = ('iter', 'img_id', 'easiness', 'ratio_teacher', 'ratio_student')


@HOOKS.register_module()
class HardnessLoggerHook(Hook):
    """Per-iteration hardness statistics and per-instance CSV rows.

    Reads ``model.last_unsup_info`` (filled by :class:`IMASSegmentor`) after
    every training iteration and

    - updates the message hub with ``train/hardness/{easiness,hardness}_
      {mean,std}``, ``train/hardness/high_conf_ratio`` (teacher),
      ``train/hardness/high_conf_ratio_student`` and
      ``train/hardness/cutmix_rate`` (hardness γ = 1 − e, the paper's name).
      The values are over the whole distributed batch. ``LoggerHook`` then
      prints them and passes them to every visualizer backend
      (TensorBoard, W&B, ...) at its own interval; with ``vis_interval`` the
      raw per-iteration values also go to the visualizer directly, under
      ``hardness_iter/...``;
    - appends one row ``iter, img_id, easiness, ratio_teacher,
      ratio_student`` per unlabeled image to ``{work_dir}/{prefix}_rank{r}.
      csv`` (one file per rank, no communication). The header is written
      once, when the file is created; a run that starts from iteration 0
      replaces an old file, a resumed run appends (after dropping the rows
      of iterations from the resume point on, written after the checkpoint
      by the interrupted run). Rows are buffered and appended every
      ``flush_interval`` iterations, with every checkpoint and at the end.

    ``tools/analysis/plot_hardness.py`` draws Figure 3(c) of the paper from
    these files.

    Args:
        flush_interval (int): Append buffered rows every this many
            iterations. Defaults to 50.
        vis_interval (int, optional): Also write the raw values to the
            visualizer every this many iterations. Defaults to None.
        file_prefix (str): CSV name prefix. Defaults to 'hardness'.
        reduce_across_ranks (bool): Batch statistics over all ranks (one
            small all-reduce per iteration). Defaults to True.
    """

    priority = 'NORMAL'  # before LoggerHook (BELOW_NORMAL)

    def __init__(self,
                 flush_interval: int = 50,
                 vis_interval: Optional[int] = None,
                 file_prefix: str = 'hardness',
                 reduce_across_ranks: bool = True) -> None:
        if flush_interval < 1:
            raise ValueError(
                f'flush_interval must be >= 1, got {flush_interval}')
        if vis_interval is not None and vis_interval < 1:
            raise ValueError(
                f'vis_interval must be >= 1 or None, got {vis_interval}')
        self.flush_interval = flush_interval
        self.vis_interval = vis_interval
        self.file_prefix = file_prefix
        self.reduce_across_ranks = reduce_across_ranks
        self.csv_path: Optional[str] = None
        self._rows: List[tuple] = []

    # ------------------------------------------------------------------
    def before_train(self, runner) -> None:
        self.csv_path = osp.join(runner.work_dir,
                                 f'{self.file_prefix}_rank{get_rank()}.csv')
        self._rows = []
        fresh = runner.iter == 0
        if fresh or not osp.isfile(self.csv_path) or osp.getsize(
                self.csv_path) == 0:
            # whole-file write of the header (rows are appended by flush)
            atomic_write_text(
                self.csv_path, self._format_rows([CSV_COLUMNS]), newline='')
        else:
            self._drop_rows_from(runner.iter)

    def _drop_rows_from(self, iteration: int) -> None:
        """Resumed at ``iteration``: drop the rows of iterations >= it
        (written after the checkpoint by the interrupted run; they are
        trained, and logged, again), so the file equals the one of an
        uninterrupted run."""
        with open(self.csv_path, newline='') as f:
            rows = list(csv.reader(f))
        kept = rows[:1] + [
            r for r in rows[1:] if r and r[0].isdigit() and
            int(r[0]) < iteration
        ]
        if len(kept) != len(rows):
            atomic_write_text(
                self.csv_path, self._format_rows(kept), newline='')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # the rows up to the checkpoint are on disk with it, so a resume
        # from it loses none
        self.flush()

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        model = unwrap_model(runner.model)
        info = getattr(model, 'last_unsup_info', None) or {}
        if 'easiness' not in info:
            return
        e = info['easiness'].detach().float().flatten()
        ratio_t = info.get('ratio_teacher', torch.full_like(e, float('nan')))
        ratio_s = info.get('ratio_student', torch.full_like(e, float('nan')))
        # batch sums, reduced over ranks in one call
        zero = e.new_zeros(())
        cut = info.get('cutmix_rate')
        sums = torch.stack([
            e.sum(), (e * e).sum(),
            e.new_tensor(float(e.numel())),
            ratio_t.detach().float().sum(),
            ratio_s.detach().float().sum(),
            zero + (cut.float() if cut is not None else 0.),
            zero + (1. if cut is not None else 0.)
        ])
        if self.reduce_across_ranks and get_world_size() > 1:
            all_reduce(sums, op='sum')
        # one host copy for the scalars and the rows
        host = torch.cat([sums, e, ratio_t.float().flatten(),
                          ratio_s.float().flatten()]).cpu().tolist()
        s_e, s_e2, n, s_rt, s_rs, s_cut, n_cut = host[:7]
        n = max(n, 1.)
        mean = s_e / n
        std = max(s_e2 / n - mean * mean, 0.)**0.5
        scalars = {
            'easiness_mean': mean,
            'easiness_std': std,
            'hardness_mean': 1. - mean,
            'hardness_std': std,
            'high_conf_ratio': s_rt / n,
            'high_conf_ratio_student': s_rs / n,
        }
        if n_cut > 0:
            scalars['cutmix_rate'] = s_cut / n_cut
        hub = runner.message_hub
        for k, v in scalars.items():
            hub.update_scalar(f'train/hardness/{k}', v)
        if self.vis_interval and (runner.iter + 1) % self.vis_interval == 0:
            runner.visualizer.add_scalars(
                {f'hardness_iter/{k}': v
                 for k, v in scalars.items()},
                step=runner.iter + 1)

        k = e.numel()
        vals = host[7:]
        names = list(info.get('img_ids') or [])
        names += [''] * (k - len(names))
        for i in range(k):
            self._rows.append((runner.iter, names[i], f'{vals[i]:.6f}',
                               f'{vals[k + i]:.6f}', f'{vals[2 * k + i]:.6f}'))
        if (runner.iter + 1) % self.flush_interval == 0:
            self.flush()

    def after_train(self, runner) -> None:
        self.flush()

    # ------------------------------------------------------------------
    def flush(self) -> None:
        """Append the buffered rows with one write."""
        if not self._rows or self.csv_path is None:
            return
        text = self._format_rows(self._rows)
        self._rows = []
        with open(self.csv_path, 'a', newline='') as f:
            f.write(text)
            f.flush()

    @staticmethod
    def _format_rows(rows) -> str:
        buf = io.StringIO()
        csv.writer(buf, lineterminator='\n').writerows(rows)
        return buf.getvalue()
