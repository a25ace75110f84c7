"""Regenerate pseudo-labels at each self-training round boundary."""
import json
import os.path as osp
from typing import Optional, Tuple

from mmengine import dist
from mmengine.hooks import Hook
from mmseg.registry import DATASETS, HOOKS

from ...pseudo_labels import (LIST_FILE, SUMMARY_FILE, PseudoLabelGenerator,
                              model_fingerprint, prediction_settings)
from ..runner.self_training_loop import PSEUDO_LABEL_LIST_KEY

__all__ = ['PseudoLabelRoundHook', 'PSEUDO_LABEL_TEACHER_KEY']

# message-hub info (saved in checkpoints): the teacher of the pseudo-labels
# the current round trains on
PSEUDO_LABEL_TEACHER_KEY = 'pseudo_label_teacher'


def _as_json(obj):
    """``obj`` as it reads back from ``summary.json``."""
    return json.loads(json.dumps(obj))


@HOOKS.register_module()
class PseudoLabelRoundHook(Hook):
    """Make round ``k``'s pseudo-labels with the current model before round
    ``k >= 1`` of :class:`SelfTrainingRoundsLoop` starts.

    Output: ``<work_dir>/<out_dir>/round_<k>/`` (see
    :class:`PseudoLabelGenerator`). ``summary.json`` records the teacher
    (``teacher``: the iteration it was taken at and
    :func:`~mmsss.pseudo_labels.model_fingerprint` of its weights), the
    generator settings (``generator``) and how the teacher predicts
    (``prediction``, :func:`~mmsss.pseudo_labels.prediction_settings`: the
    model's ``test_cfg``, the unlabeled set's prediction pipeline and its
    image names). An existing folder is reused only when it is complete and
    was made for the same round, with the same settings, for the same
    unlabeled images predicted the same way, by the same teacher; otherwise
    it is regenerated (e.g. a rerun in the same work dir after retraining,
    or with another ``test_cfg``, base size or split list).

    On a resume inside round ``k`` the model is no longer the round's
    teacher; the folder is then reused when its teacher is the one recorded
    in the checkpoint (message-hub info ``pseudo_label_teacher``, or, for
    checkpoints without it, a teacher taken at the round's first
    iteration). If it is not, the round's teacher is gone and the labels
    are regenerated with the resumed model (with a warning).

    The KL divergence, the kept fraction and (when the unlabeled set keeps
    its ground truth for analysis) the pseudo-label accuracy go to the
    visualizer backends as ``pseudo_labels/…``.

    Args:
        unlabeled_dataset (dict): Config of the unlabeled set with a test
            pipeline (load, resize, pack).
        labeled_dataset (dict, optional): Config of the labeled set (for the
            class distribution of DARS/DA).
        generator (dict): :class:`PseudoLabelGenerator` arguments except
            ``label_ratio`` and ``round_idx``, which come from the round.
        out_dir (str): Folder under the work dir. Defaults to
            ``'pseudo_labels'``.
    """

    priority = 'NORMAL'

    def __init__(self,
                 unlabeled_dataset: dict,
                 labeled_dataset: Optional[dict] = None,
                 generator: Optional[dict] = None,
                 out_dir: str = 'pseudo_labels') -> None:
        generator = dict(generator or {})
        for key in ('label_ratio', 'round_idx'):
            if key in generator:
                raise ValueError(
                    f'PseudoLabelRoundHook: {key} comes from the round '
                    '(train_cfg.rounds), do not set it in generator')
        # validates the arguments now, before training starts
        PseudoLabelGenerator(**generator)
        self.generator_cfg = generator
        self.unlabeled_dataset_cfg = unlabeled_dataset
        self.labeled_dataset_cfg = labeled_dataset
        self.out_dir = out_dir
        self._datasets = None

    def round_dir(self, runner, round_idx: int) -> str:
        return osp.join(runner.work_dir, self.out_dir, f'round_{round_idx}')

    def build_generator(self, round_idx: int,
                        label_ratio: float) -> PseudoLabelGenerator:
        return PseudoLabelGenerator(
            label_ratio=label_ratio, round_idx=round_idx, **self.generator_cfg)

    def _build_datasets(self):
        if self._datasets is None:
            unlabeled = DATASETS.build(self.unlabeled_dataset_cfg)
            labeled = (None if self.labeled_dataset_cfg is None else
                       DATASETS.build(self.labeled_dataset_cfg))
            self._datasets = (unlabeled, labeled)
        return self._datasets

    def unlabeled_dataset(self):
        """The unlabeled set the pseudo-labels are made for (its order is
        the order of ``list.txt``; read by ``PseudoLabelVisHook``)."""
        return self._build_datasets()[0]

    def before_train(self, runner) -> None:
        # fail on a bad unlabeled/labeled split before any training
        self._build_datasets()

    @staticmethod
    def read_summary(path: str) -> Optional[dict]:
        """``summary.json`` of a finished folder (None if absent or
        unreadable)."""
        summary = osp.join(path, SUMMARY_FILE)
        if not osp.isfile(summary):
            return None
        try:
            with open(summary) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def prediction_settings(self, model, unlabeled) -> dict:
        """The ``prediction`` record of ``summary.json`` for ``model`` on
        the unlabeled set (its configured pipeline)."""
        return prediction_settings(
            model, unlabeled, self.unlabeled_dataset_cfg.get('pipeline'))

    def check_reusable(self, summary: Optional[dict], round_idx: int,
                       generator: PseudoLabelGenerator, num_images: int,
                       prediction: dict) -> Tuple[bool, str]:
        """Whether a finished folder's ``summary`` was made for this round
        with these settings, for ``num_images`` images predicted as
        ``prediction`` says (:meth:`prediction_settings`; the teacher is
        checked by the caller), and if not, why."""
        if summary is None:
            return False, 'no finished pseudo-labels'
        if summary.get('round') != round_idx:
            return False, (f'made for round {summary.get("round")}')
        settings = _as_json(generator.settings())
        if summary.get('generator') != settings:
            old = summary.get('generator') or {}
            diff = sorted(k for k in set(old) | set(settings)
                          if old.get(k) != settings.get(k))
            return False, ('generator settings differ: ' +
                           ', '.join(diff) if old else
                           'no generator settings recorded')
        if summary.get('num_images') != num_images:
            return False, (f'made for {summary.get("num_images")} unlabeled '
                           f'images, the set has {num_images}')
        prediction = _as_json(prediction)
        if summary.get('prediction') != prediction:
            old = summary.get('prediction') or {}
            names = dict(test_cfg='model test_cfg',
                         pipeline='prediction pipeline',
                         image_ids_sha256='unlabeled image names')
            diff = sorted(names.get(k, k)
                          for k in set(old) | set(prediction)
                          if old.get(k) != prediction.get(k))
            return False, ('prediction differs: ' + ', '.join(diff)
                           if old else 'no prediction settings recorded')
        return True, ''

    def _round_start(self, runner, round_idx: int) -> Optional[int]:
        starts = getattr(
            getattr(runner, 'train_loop', None), 'round_starts', None)
        if starts is None or round_idx >= len(starts):
            return None
        return int(starts[round_idx])

    def _decide(self, runner, out: str, round_idx: int,
                generator: PseudoLabelGenerator, num_images: int,
                prediction: dict):
        """(reuse, reason, teacher) on rank 0: ``teacher`` is the record of
        the labels to train on (the folder's when reused)."""
        summary = self.read_summary(out)
        ok, why = self.check_reusable(summary, round_idx, generator,
                                      num_images, prediction)
        start = self._round_start(runner, round_idx)
        current = dict(
            iter=int(runner.iter), fingerprint=model_fingerprint(runner.model))
        if start is None or runner.iter == start:
            if ok and summary.get('teacher') != current:
                ok, why = False, 'made by another teacher (iteration or ' \
                    'weights differ)'
            return ok, why, (summary['teacher'] if ok else current)
        # resumed inside the round: the teacher is not the current model
        recorded = runner.message_hub.get_info(PSEUDO_LABEL_TEACHER_KEY)
        teacher = (summary or {}).get('teacher') or {}
        if ok and recorded is not None and teacher != _as_json(recorded):
            ok, why = False, ('made by another teacher than the one this '
                              'checkpoint trained with')
        elif ok and recorded is None and teacher.get('iter') != start:
            ok, why = False, (f'made by a teacher at iteration '
                              f'{teacher.get("iter")}, not at the round '
                              f'start {start}')
        if not ok:
            why += (f'; resumed at iteration {runner.iter} inside the round '
                    f'(started at {start}), so the resumed model is used as '
                    'the teacher')
        return ok, why, (teacher if ok else current)

    def before_train_round(self, runner, round_idx: int,
                           round_cfg: dict) -> None:
        if round_idx == 0:
            return
        label_ratio = float(round_cfg['label_ratio'])
        gen = self.build_generator(round_idx, label_ratio)
        out = self.round_dir(runner, round_idx)
        unlabeled, labeled = self._build_datasets()
        prediction = self.prediction_settings(runner.model, unlabeled)
        # rank 0 decides for all ranks (they must agree)
        decision = [None, None, None]
        if dist.get_rank() == 0:
            decision = list(
                self._decide(runner, out, round_idx, gen, len(unlabeled),
                             prediction))
        dist.broadcast_object_list(decision)
        reuse, why, teacher = decision
        if reuse:
            runner.logger.info(f'round {round_idx}: reusing the pseudo-labels '
                               f'in {out} (teacher: iteration '
                               f'{teacher["iter"]})')
        else:
            log = (runner.logger.warning
                   if 'resumed model' in why else runner.logger.info)
            log(f'round {round_idx}: generating the pseudo-labels in {out} '
                f'({why})')
            summary = gen.generate(
                runner.model,
                unlabeled,
                out,
                labeled_dataset=labeled,
                extra_summary=dict(
                    round=round_idx,
                    iter=runner.iter,
                    teacher=teacher,
                    prediction=prediction))
            scalars = {
                'pseudo_labels/kept_fraction': summary['kept_fraction']
            }
            for key in ('kl_labeled_pseudo', 'pseudo_label_accuracy'):
                if key in summary:
                    scalars[f'pseudo_labels/{key}'] = summary[key]
            runner.visualizer.add_scalars(scalars, step=runner.iter)
            runner.logger.info(
                f'round {round_idx}: ' +
                ', '.join(f'{k}={v:.5f}' for k, v in scalars.items()))
        runner.message_hub.update_info(PSEUDO_LABEL_TEACHER_KEY,
                                       _as_json(teacher))
        runner.message_hub.update_info(PSEUDO_LABEL_LIST_KEY,
                                       osp.join(out, LIST_FILE))
