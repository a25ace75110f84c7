"""Multi-stage training pipeline (three-stage self-training).

One config describes every stage (see ``configs/three_stage/``):

- the top-level keys are stage 1 (an ordinary supervised mmseg run of f_θ,
  which ``tools/train.py`` also trains on its own);
- ``stages``: one dict per stage, in order: ``name``, optional ``template``
  (the name of a top-level dict whose keys *replace* the top-level keys for
  this stage, e.g. ``'multitask'`` with ``model``, ``train_dataloader``,
  ``train_cfg``, ``val_cfg``, ``custom_hooks``) and optional ``cfg_options``
  (merged afterwards like ``--cfg-options``, e.g.
  ``{'model.aux_branch.type': 'tilde'}``);
- ``pseudo_masks``: ``dataset`` (L ∪ U with a test pipeline) and
  ``generator`` (:class:`~mmsss.pseudo_labels.PseudoLabelGenerator`
  arguments, ``mode='argmax'``).

Every string of a stage's ``model``, dataloaders, ``train_cfg`` and
``custom_hooks`` containing ``<pseudo_masks>`` gets the folder of the
previous stage's pseudo-masks instead (e.g. the pseudo-mask list
``<pseudo_masks>/list.txt`` of the L ∪ U dataset and of ``LoadPseudoMask``).
Helper dicts and lists of the config file (pipelines, templates, ``stages``)
are left out of a stage config (see ``RUNNER_CONFIG_KEYS``).

Work dir layout: ``<work_dir>/<stage>/`` is the stage's mmengine work dir
(checkpoints, logs) plus ``final.pth`` (f_θ as a plain mmseg segmentor
checkpoint: the model named by ``semi_test_cfg.predict_on``, the teacher by
default), ``val_history.json`` (every periodic validation) and
``metrics.json`` (the final weights' validation metrics and the best of the
periodic ones, ``best_mIoU``/``best_iter``; written last: a stage is
finished when it exists); ``<work_dir>/pseudo_masks/<stage>/`` holds the
pseudo-masks predicted by that stage's f_θ for the next stage (finished when
its ``summary.json`` exists; the engine writes atomically). Running the
pipeline again skips finished stages, resumes an interrupted stage from its
latest checkpoint and regenerates missing pseudo-masks.
"""
import copy
import gc
import json
import os
import os.path as osp
from typing import List, Optional

import torch
from mmengine import dist
from mmengine.config import Config, ConfigDict
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import Runner, find_latest_checkpoint
from mmseg.registry import DATASETS, MODELS

from ...pseudo_labels import SUMMARY_FILE, PseudoLabelGenerator
from ...utils.atomic import atomic_save, atomic_write_text
from ...utils.checkpoint import load_checkpoint_checked
from ...utils.dist import unwrap_model

__all__ = [
    'PSEUDO_MASK_TOKEN', 'FINAL_CHECKPOINT', 'METRICS_FILE',
    'VAL_HISTORY_FILE', 'RUNNER_CONFIG_KEYS', 'build_stage_config',
    'f_theta_config', 'best_of_history', 'check_input_files',
    'run_stages', 'format_table',
    'stage_dirs'
]

PSEUDO_MASK_TOKEN = '<pseudo_masks>'
FINAL_CHECKPOINT = 'final.pth'
METRICS_FILE = 'metrics.json'
# top-level keys of an mmengine/mmseg run config (Runner.from_cfg, tools)
RUNNER_CONFIG_KEYS = (
    'model', 'train_dataloader', 'val_dataloader', 'test_dataloader',
    'train_cfg', 'val_cfg', 'test_cfg', 'auto_scale_lr', 'optim_wrapper',
    'param_scheduler', 'val_evaluator', 'test_evaluator', 'default_hooks',
    'custom_hooks', 'data_preprocessor', 'env_cfg', 'log_processor',
    'visualizer', 'randomness', 'custom_imports', 'tta_model',
    'tta_pipeline', 'vis_backends', 'load_from', 'resume', 'launcher',
    'default_scope', 'log_level', 'work_dir', 'experiment_name',
    'model_wrapper_cfg', 'find_unused_parameters')
# config keys the runner reads that may name the previous pseudo-masks
_RUNNER_KEYS = ('model', 'train_dataloader', 'val_dataloader',
                'test_dataloader', 'train_cfg', 'custom_hooks')


def _stages(cfg) -> list:
    stages = cfg.get('stages')
    if not stages:
        raise KeyError('the config has no `stages` list')
    names = [s.get('name') for s in stages]
    if any(not n for n in names) or len(set(names)) != len(names):
        raise ValueError(f'every stage needs a unique name, got {names}')
    return stages


def stage_dirs(cfg, k: int) -> dict:
    """Work dir of stage ``k`` and the folder of its pseudo-masks."""
    name = _stages(cfg)[k]['name']
    # absolute: split-file datasets join relative paths to their data_root
    return dict(
        work_dir=osp.join(cfg.work_dir, name),
        pseudo_masks=osp.abspath(
            osp.join(cfg.work_dir, 'pseudo_masks', name)))


def _replace_token(obj, value: Optional[str], where: str):
    if isinstance(obj, str) and PSEUDO_MASK_TOKEN in obj:
        if value is None:
            raise ValueError(f'{where} uses {PSEUDO_MASK_TOKEN} but this '
                             'stage has no previous stage with pseudo-masks')
        return obj.replace(PSEUDO_MASK_TOKEN, value)
    if isinstance(obj, dict):
        for k in list(obj.keys()):
            obj[k] = _replace_token(obj[k], value, f'{where}.{k}')
        return obj
    if isinstance(obj, (list, tuple)):
        out = [
            _replace_token(v, value, f'{where}[{i}]')
            for i, v in enumerate(obj)
        ]
        return type(obj)(out) if isinstance(obj, tuple) else out
    return obj


def build_stage_config(cfg: Config,
                       k: int,
                       pseudo_dir: Optional[str] = None) -> Config:
    """The mmengine config of stage ``k`` (see the module docstring).

    Args:
        cfg (Config): The pipeline config.
        k (int): Stage index.
        pseudo_dir (str, optional): Folder of the previous stage's
            pseudo-masks (replaces ``<pseudo_masks>``).
    """
    stages = _stages(cfg)
    stage = stages[k]
    out = copy.deepcopy(cfg._cfg_dict.to_dict())
    template = stage.get('template')
    if template is not None:
        if template not in out:
            raise KeyError(f'stage {stage["name"]!r}: template {template!r} '
                           'is not a top-level key of the config')
        for key, value in out[template].items():
            out[key] = copy.deepcopy(value)
    # the stage config holds what the runner reads: helper dicts and lists
    # of the config file (pipelines, templates, `stages`) stay out (they
    # would only bloat every dumped config and checkpoint meta)
    for key in list(out):
        if key not in RUNNER_CONFIG_KEYS and isinstance(
                out[key], (dict, list)):
            out.pop(key)
    scfg = Config(out, filename=cfg.filename)
    if stage.get('cfg_options'):
        scfg.merge_from_dict(dict(stage['cfg_options']))
    replaced = scfg._cfg_dict.to_dict()
    for key in _RUNNER_KEYS:
        if key in replaced:
            replaced[key] = _replace_token(replaced[key], pseudo_dir,
                                           f'{stage["name"]}: {key}')
    scfg = Config(replaced, filename=cfg.filename)
    dirs = stage_dirs(cfg, k)
    scfg.work_dir = dirs['work_dir']
    scfg.experiment_name = stage['name']
    scfg.launcher = cfg.get('launcher', 'none')
    return scfg


def f_theta_config(stage_cfg: Config) -> dict:
    """Config of f_θ (the plain segmentor exported at the end of a stage)
    and which half of a teacher–student model it is (None: the model)."""
    model = copy.deepcopy(stage_cfg.model.to_dict() if hasattr(
        stage_cfg.model, 'to_dict') else dict(stage_cfg.model))
    if 'segmentor' in model:
        which = (model.get('semi_test_cfg') or {}).get('predict_on',
                                                       'teacher')
        return dict(model=model['segmentor'], which=which)
    return dict(model=model, which=None)


VAL_HISTORY_FILE = 'val_history.json'


class _ValHistoryHook(Hook):
    """Records every validation of a stage (iteration and scalar metrics)
    in ``<work_dir>/val_history.json``, kept across a resume, so that the
    best of the periodic evaluations can be reported next to the final one
    (the official ``Best_mIoU``, ``main.py:409-412,421``)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.iter, self.metrics = None, None
        self.history = (_read_json(path) or []) if path else []

    def after_val_epoch(self, runner, metrics=None) -> None:
        self.iter, self.metrics = runner.iter, dict(metrics or {})
        self.history = [h for h in self.history if h['iter'] != runner.iter]
        self.history.append(
            dict(iter=int(runner.iter), metrics=_scalar_metrics(
                self.metrics)))
        if dist.get_rank() == 0:
            atomic_write_text(self.path, json.dumps(self.history, indent=1))


def best_of_history(history: List[dict], key: str) -> dict:
    """``best_mIoU`` and ``best_iter`` of the validation with the highest
    ``key`` (the earliest on ties, as the official strict ``<``); None
    without one."""
    best = None
    for h in history:
        value = h.get('metrics', {}).get(key)
        if value is not None and (best is None or value > best[0]):
            best = (value, h['iter'])
    return dict(best_mIoU=None if best is None else best[0],
                best_iter=None if best is None else best[1])


def _f_theta_state(model, which: Optional[str]) -> dict:
    model = unwrap_model(model)
    if which is not None:
        model = getattr(model, which)
    return {k: v.detach().cpu() for k, v in model.state_dict().items()}


def _scalar_metrics(metrics: dict) -> dict:
    """JSON-able scalars of an evaluator's output (numpy scalars too)."""
    out = {}
    for k, v in metrics.items():
        if isinstance(v, torch.Tensor) and v.numel() == 1:
            v = v.item()
        if hasattr(v, 'item') and getattr(v, 'size', 0) == 1:
            v = v.item()
        if isinstance(v, (int, float)):
            out[k] = float(v)
    return out


def _f_theta_miou(metrics: dict, which: Optional[str]):
    key = 'mIoU' if which is None else f'{which}/mIoU'
    return metrics.get(key)


def _train_stage(cfg: Config, k: int, pseudo_dir: Optional[str]) -> dict:
    stage = _stages(cfg)[k]
    scfg = build_stage_config(cfg, k, pseudo_dir)
    work_dir = scfg.work_dir
    os.makedirs(work_dir, exist_ok=True)
    latest = find_latest_checkpoint(work_dir)
    scfg.resume = latest is not None
    scfg.load_from = None
    print_log(
        f'[{stage["name"]}] ' +
        (f'resuming from {latest}' if latest else 'training') +
        f' in {work_dir}',
        logger='current')
    runner = Runner.from_cfg(scfg)
    last_val = _ValHistoryHook(osp.join(work_dir, VAL_HISTORY_FILE))
    runner.register_hook(last_val, priority='LOWEST')
    runner.train()
    metrics = {}
    if runner.val_loop is not None:
        if last_val.iter == runner.iter and last_val.metrics is not None:
            metrics = last_val.metrics  # the loop validated at its end
        else:
            metrics = runner.val_loop.run()  # recorded by the hook too
        metrics = _scalar_metrics(metrics)
    f_cfg = f_theta_config(scfg)
    state = _f_theta_state(runner.model, f_cfg['which'])
    key = 'mIoU' if f_cfg['which'] is None else f'{f_cfg["which"]}/mIoU'
    record = dict(
        stage=stage['name'],
        iter=int(runner.iter),
        resumed_from=latest,
        f_theta=f_cfg['which'] or 'model',
        mIoU=_f_theta_miou(metrics, f_cfg['which']),
        **best_of_history(last_val.history, key),
        metrics=metrics)
    if dist.get_rank() == 0:
        atomic_save(
            dict(
                meta=dict(stage=stage['name'], iter=int(runner.iter),
                          f_theta=record['f_theta']),
                state_dict=state), osp.join(work_dir, FINAL_CHECKPOINT))
        atomic_write_text(
            osp.join(work_dir, METRICS_FILE), json.dumps(record, indent=2))
    dist.barrier()
    del runner
    gc.collect()
    return record


def _make_pseudo_masks(cfg: Config, k: int,
                       prev_pseudo_dir: Optional[str]) -> dict:
    """Pseudo-masks of L ∪ U by stage ``k``'s f_θ (``final.pth``)."""
    stage = _stages(cfg)[k]
    dirs = stage_dirs(cfg, k)
    pm = cfg.get('pseudo_masks')
    if not pm or 'dataset' not in pm:
        raise KeyError('the config needs pseudo_masks=dict(dataset=..., '
                       'generator=...) to make pseudo-masks')
    gen_cfg = dict(pm.get('generator') or {})
    gen_cfg.setdefault('mode', 'argmax')
    generator = PseudoLabelGenerator(**gen_cfg)
    scfg = build_stage_config(cfg, k, prev_pseudo_dir)
    f_cfg = f_theta_config(scfg)
    model_cfg = f_cfg['model']
    model_cfg.pop('pretrained', None)
    model_cfg.pop('init_cfg', None)
    backbone = model_cfg.get('backbone', {})
    backbone.pop('init_cfg', None)
    backbone.pop('pretrained', None)
    model = MODELS.build(ConfigDict(model_cfg))
    ckpt_path = osp.join(dirs['work_dir'], FINAL_CHECKPOINT)
    load_checkpoint_checked(model, ckpt_path, strict=True)
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    model.to(device)
    dataset = DATASETS.build(copy.deepcopy(pm['dataset']))
    # the generator reports progress with ETA on each of its passes
    print_log(f'[{stage["name"]}] pseudo-masks of {len(dataset)} images '
              f'-> {dirs["pseudo_masks"]}', logger='current')
    return generator.generate(
        model,
        dataset,
        dirs['pseudo_masks'],
        extra_summary=dict(stage=stage['name'], checkpoint=ckpt_path))


def _read_json(path: str) -> Optional[dict]:
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


# transforms that read a fixed input file: type -> argument
_INPUT_FILES = dict(IgnoreFixedRegion='mask_file')


def check_input_files(cfg: Config) -> None:
    """Fail before stage 1 if a fixed input file that a later stage reads
    (e.g. the ego-vehicle mask of ``IgnoreFixedRegion``) is missing."""

    def walk(obj, where):
        if isinstance(obj, dict):
            arg = _INPUT_FILES.get(obj.get('type'))
            if arg is not None and not osp.isfile(str(obj.get(arg))):
                raise FileNotFoundError(
                    f'{where}: {obj["type"]}.{arg} = {obj.get(arg)!r} does '
                    'not exist (see the method README for where to get it)')
            for k, v in obj.items():
                walk(v, f'{where}.{k}')
        elif isinstance(obj, (list, tuple)):
            for i, v in enumerate(obj):
                walk(v, f'{where}[{i}]')

    cfg_dict = cfg._cfg_dict.to_dict()
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader',
                'pseudo_masks', *{s.get('template') for s in _stages(cfg)
                                  if s.get('template')}):
        walk(cfg_dict.get(key), key)


def run_stages(cfg: Config, stop_after: Optional[int] = None) -> List[dict]:
    """Run (or resume) every stage of ``cfg`` in order.

    Args:
        cfg (Config): The pipeline config (``work_dir`` set).
        stop_after (int, optional): Stop after this many stages (for
            debugging and tests).

    Returns:
        list[dict]: One record per stage: ``stage``, ``status``
        (``'trained'``, ``'resumed'`` or ``'finished before'``), ``mIoU``
        (of f_θ), ``pseudo_mask_accuracy`` (None without ground truth or
        for the last stage), the stage's ``metrics`` and the folders.
    """
    stages = _stages(cfg)
    check_input_files(cfg)
    n = len(stages) if stop_after is None else min(stop_after, len(stages))
    records, pseudo_dir = [], None
    for k in range(n):
        stage = stages[k]
        dirs = stage_dirs(cfg, k)
        metrics_path = osp.join(dirs['work_dir'], METRICS_FILE)
        done = _read_json(metrics_path)
        if done is not None and osp.isfile(
                osp.join(dirs['work_dir'], FINAL_CHECKPOINT)):
            status = 'finished before'
            print_log(f'[{stage["name"]}] finished before: {metrics_path}',
                      logger='current')
        else:
            done = _train_stage(cfg, k, pseudo_dir)
            status = 'resumed' if done.get('resumed_from') else 'trained'
        record = dict(
            stage=stage['name'],
            status=status,
            mIoU=done.get('mIoU'),
            best_mIoU=done.get('best_mIoU'),
            best_iter=done.get('best_iter'),
            metrics=done.get('metrics', {}),
            work_dir=dirs['work_dir'],
            pseudo_masks=None,
            pseudo_mask_accuracy=None,
            pseudo_masks_status=None)
        if k + 1 < len(stages):
            summary_path = osp.join(dirs['pseudo_masks'], SUMMARY_FILE)
            summary = _read_json(summary_path)
            if summary is None:
                summary = _make_pseudo_masks(cfg, k, pseudo_dir)
                record['pseudo_masks_status'] = 'made'
            else:
                record['pseudo_masks_status'] = 'finished before'
            record['pseudo_masks'] = dirs['pseudo_masks']
            record['pseudo_mask_accuracy'] = summary.get(
                'pseudo_label_accuracy')
            pseudo_dir = dirs['pseudo_masks']
        records.append(record)
    return records


def format_table(records: List[dict]) -> str:
    """One table of per-stage f_θ mIoU (final weights and the best of the
    periodic validations, which the official code reports) and
    pseudo-mask accuracy."""

    def fmt(v, scale=1.):
        return '-' if v is None else f'{v * scale:.2f}'

    def best(r):
        if r.get('best_mIoU') is None:
            return '-'
        return f'{fmt(r["best_mIoU"])} @ {r["best_iter"]}'

    rows = [('stage', 'final mIoU (f_θ)', 'best mIoU @ iter',
             'pseudo-mask acc. (%)', 'status')]
    for r in records:
        rows.append((r['stage'], fmt(r['mIoU']), best(r),
                     fmt(r['pseudo_mask_accuracy'], 100.), r['status']))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        ' | '.join(c.ljust(w) for c, w in zip(row, widths)) for row in rows
    ]
    lines.insert(1, '-+-'.join('-' * w for w in widths))
    return '\n'.join(lines)
