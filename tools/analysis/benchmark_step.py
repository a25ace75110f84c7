"""Time one training step of any mmsss method config against the network
passes it cannot avoid (its *bare* passes), chosen by the ``model.type`` of
``--config``: supervised (``EncoderDecoder``), mean teacher, iMAS, ESL,
three-stage (stage 2 or 3 of the ``stages`` list), UniMatch, FixMatch
(ResNet or DINOv2 encoder), UniMatch V2 (and the V2 FixMatch of
``configs/fixmatch/voc_92_dinov2-b.py``) and the DARS self-training step.

For each precision mode (fp32, bf16 autocast, bf16 autocast + channels_last;
a ViT encoder: fp32 and bf16 only, channels_last being irrelevant for
(N, tokens, C) tensors) the tool measures, after ``--warmup`` calls and with
the closures taking turns in ``--iters`` rounds (CUDA events on GPU,
``time.perf_counter`` on CPU), the median of

- ``step``: the segmentor's ``loss`` + ``backward``;
- ``opt+ema``: the config's optimiser step (``optim_wrapper.optimizer`` with
  its ``paramwise_cfg``) + the EMA update of the teacher when the config has
  a ``MeanTeacherHook`` (or subclass, e.g. ``MultiStepEMAHook``), on the
  gradients the step left;
- ``bare``: the method's bare passes back to back (:data:`BARE_PASSES`;
  no-grad passes in eval mode, training passes with one backward of the sum
  of their output means);

and prints ``step / bare`` and the peak CUDA memory of one full iteration
(step + optimiser + EMA; ``n/a`` on CPU), as a table and (``--json``) JSON.
Random init (no pretrained weights: same cost); CutMix triggers are forced
on (probability 1) so that every step sees the same batch. The batch is the
config's per-GPU batch (labeled / unlabeled / mix sources of its
``MultiSourceSampler``; the DARS rounds' ``round_dataloader``; stage 2's
``multitask`` loader) and the crop its ``crop_size``, unless ``--n-labeled``,
``--n-unlabeled`` or ``--crop`` say otherwise. ``--tiny`` swaps in a tiny
network for CPU checks: ResNet-18 at width 16 (heads at 1/4 of their
channels) or the tiny ViT of ``configs/unimatch_v2/synthetic_1-16.py``.

iMAS rows keep their own columns (teacher, student weak-view and student
passes timed alone, the hardness share); UniMatch V2 rows time the two
student passes alone. ``--with-cp`` turns on the activation checkpointing of
a ViT encoder (``DINOv2ViT.with_cp``). ``--keep-going`` gives a mode that
fails (e.g. CUDA out of memory) a row with its error and runs the others.

Examples::

    # iMAS voc_1-8 at its per-GPU batch (2 + 2), crop 513, CUDA
    python tools/analysis/benchmark_step.py
    # any method; the iMAS README's numbers are 4 + 4
    python tools/analysis/benchmark_step.py --config configs/unimatch/voc_92.py
    python tools/analysis/benchmark_step.py \\
        --config configs/imas/voc_1-8.py --n-labeled 4 --n-unlabeled 4
    # three-stage: stage 2 (default) or stage 3 of the `stages` list
    python tools/analysis/benchmark_step.py \\
        --config configs/three_stage/voc_aug_1-8.py --stage stage3
    # CPU smoke test with a tiny network
    python tools/analysis/benchmark_step.py --config configs/esl/voc_92.py \\
        --device cpu --tiny --crop 64 --n-labeled 1 --n-unlabeled 1 \\
        --warmup 1 --iters 1
    # every method at once: tools/analysis/benchmark_all.py
"""
import argparse
import contextlib
import copy
import gc
import json
import os.path as osp
import statistics
import sys
import time
from typing import Callable, Dict, List, NamedTuple

import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MODES = ('fp32', 'bf16', 'bf16-cl')
# channels_last is irrelevant for a ViT (module docstring)
VIT_MODES = ('fp32', 'bf16')
# model.type of the config -> method family of this tool
METHODS = dict(
    EncoderDecoder='supervised',
    TestModesEncoderDecoder='supervised',
    MeanTeacherSegmentor='mean_teacher',
    IMASSegmentor='imas',
    ESLSegmentor='esl',
    ThreeStageSegmentor='three_stage',
    UniMatchSegmentor='unimatch',
    FixMatchSegmentor='fixmatch',
    UniMatchV2Segmentor='unimatch_v2',
    SelfTrainingSegmentor='dars')
TINY_VIT_CONFIG = 'configs/unimatch_v2/synthetic_1-16.py'


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='Benchmark one training step of a method config '
        'against its bare network passes')
    p.add_argument(
        '--config',
        default=osp.join(ROOT, 'configs/imas/voc_1-8.py'),
        help='method config whose model is timed')
    p.add_argument(
        '--stage',
        default=None,
        help='multi-stage configs (three-stage): name of the stage to time;'
        ' default: the first stage with a template (stage2)')
    p.add_argument('--device', default=None, help='cuda (default) or cpu')
    p.add_argument(
        '--depth',
        type=int,
        default=None,
        help='ResNet depth (default: the config\'s)')
    p.add_argument(
        '--tiny',
        action='store_true',
        help='tiny network for CPU checks: ResNet-18 at width 16 (heads at '
        f'1/4 of their channels) or the tiny ViT of {TINY_VIT_CONFIG}')
    p.add_argument(
        '--crop',
        type=int,
        default=None,
        help='square crop; default: the config\'s crop_size')
    p.add_argument(
        '--with-cp',
        action='store_true',
        help='ViT encoders: activation checkpointing of the blocks')
    p.add_argument(
        '--n-labeled',
        type=int,
        default=None,
        help='labeled images per step (default: the config\'s per-GPU '
        'batch)')
    p.add_argument(
        '--n-unlabeled',
        type=int,
        default=None,
        help='unlabeled (UniMatch: and mix; DARS: pseudo-labeled) images '
        'per step (default: the config\'s per-GPU batch)')
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--iters', type=int, default=20)
    p.add_argument(
        '--modes',
        default=None,
        help=f'comma-separated subset of {MODES} (ViT encoders: '
        f'{VIT_MODES}); default: all')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument(
        '--semi',
        nargs='*',
        default=[],
        metavar='KEY=VALUE',
        help='override semi_train_cfg keys, e.g. '
        'skip_untriggered_cutmix=False')
    p.add_argument(
        '--keep-going',
        action='store_true',
        help='a mode that fails (e.g. out of memory) gets a row with its '
        'error; the other modes still run')
    p.add_argument('--json', default=None, help='also write results here')
    return p.parse_args(argv)


# ---------------------------------------------------------------- config
def _replace_syncbn(obj):
    if isinstance(obj, dict):
        if obj.get('type') == 'SyncBN':
            obj['type'] = 'BN'
        for v in obj.values():
            _replace_syncbn(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _replace_syncbn(v)


def _parse_value(text):
    import ast
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _stage_config(cfg, config, stage):
    """The runner config of one stage of a ``stages`` config
    (``mmsss/engine/runner/stages.py``); default: the first stage built
    from a template (three-stage: stage 2)."""
    from mmsss.engine.runner.stages import build_stage_config
    stages = cfg.get('stages')
    names = [s.get('name') for s in stages]
    if stage is None:
        with_template = [i for i, s in enumerate(stages) if s.get('template')]
        k = with_template[0] if with_template else 0
    elif stage in names:
        k = names.index(stage)
    else:
        raise ValueError(f'--stage {stage!r}: {config} has the stages '
                         f'{names}')
    if not cfg.get('work_dir'):
        cfg.work_dir = osp.join('work_dirs', 'benchmark_step')
    # a later stage reads the previous stage's pseudo-masks: never loaded
    # here (random maps), any folder name will do
    return build_stage_config(
        cfg, k, osp.join(cfg.work_dir, 'pseudo_masks') if k else None)


def load_config(config, stage=None):
    """The config (of ``stage`` for a ``stages`` config) and the method
    family of this tool that times it."""
    import mmsss  # noqa: F401  (first: mmcv-lite stand-in)
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    if not osp.isfile(config):
        raise FileNotFoundError(f'--config: no such file {config!r}')
    cfg = Config.fromfile(config)
    if cfg.get('stages'):
        cfg = _stage_config(cfg, config, stage)
    elif stage is not None:
        raise ValueError(f'--stage is for configs with a `stages` list; '
                         f'{config} has none')
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model_type = cfg.get('model', {}).get('type')
    if model_type not in METHODS:
        raise ValueError(f'--config {config}: model.type is {model_type!r}; '
                         f'this tool times {sorted(METHODS)}')
    return cfg, METHODS[model_type]


def config_crop(cfg, config):
    crop = cfg.get('crop_size')
    if crop is None:
        raise ValueError(f'--config {config} has no crop_size; pass --crop')
    crop = tuple(crop) if isinstance(crop, (list, tuple)) else (crop, crop)
    if crop[0] != crop[1]:
        raise ValueError(f'--config {config}: crop_size {crop} is not '
                         'square; pass --crop')
    return int(crop[0])


def config_batch(cfg, method):
    """Per-GPU images of each source: ``(labeled, unlabeled, mix)``.

    Semi-supervised configs: the sources of the ``MultiSourceSampler``
    (``mmsss/datasets/samplers/multi_source_sampler.py``: source ``i > 0``
    gets ``int(batch * r_i / Σr)``, source 0 the rest); DARS: its rounds'
    ``round_dataloader`` (labeled, pseudo-labeled); supervised: the
    dataloader's ``batch_size`` (0 unlabeled)."""
    loader = cfg.get('train_dataloader') or {}
    if method == 'dars' and cfg.get('round_dataloader'):
        loader = cfg.round_dataloader
    sampler = loader.get('sampler') or {}
    if sampler.get('type') != 'MultiSourceSampler':
        if method not in ('supervised', 'dars'):
            raise ValueError(f'{method}: the train_dataloader has no '
                             'MultiSourceSampler; pass --n-labeled and '
                             '--n-unlabeled')
        return int(loader.get('batch_size', 1)), 0, 0
    batch, ratio = int(sampler['batch_size']), list(sampler['source_ratio'])
    counts = [int(batch * r / sum(ratio)) for r in ratio]
    counts[0] = batch - sum(counts[1:])
    counts += [counts[-1]] * (3 - len(counts))
    return counts[0], counts[1], counts[2]


def backbone_of(cfg):
    model = cfg.model
    return model.get('segmentor', model)['backbone']


def is_vit(cfg):
    return backbone_of(cfg).get('type') == 'DINOv2ViT'


# ---------------------------------------------------------------- model
def _map_channels(value, mapping):
    if isinstance(value, (list, tuple)):
        return type(value)(mapping.get(v, v) for v in value)
    return mapping.get(value, value)


def shrink_resnet(seg, depth=None, tiny=False):
    """ResNet ``depth`` (and with ``tiny`` width 16, heads at 1/4 of their
    channels) in the segmentor config ``seg``; the heads' ``in_channels``
    follow the stage widths (BasicBlock below depth 50)."""
    bb = seg['backbone']
    old_depth = bb.get('depth', 50)
    new_depth = depth or (18 if tiny else old_depth)
    old_exp, new_exp = (1 if d < 50 else 4 for d in (old_depth, new_depth))
    old_base = bb.get('base_channels', 64)
    new_base = 16 if tiny else old_base
    bb['depth'] = new_depth
    if tiny:
        bb['base_channels'] = new_base
        bb['stem_channels'] = max(8, bb.get('stem_channels', 64) // 4)
    mapping = {
        old_base * 2**i * old_exp: new_base * 2**i * new_exp
        for i in range(4)
    }
    aux = seg.get('auxiliary_head') or []
    heads = [seg['decode_head']] + (aux if isinstance(aux, list) else [aux])
    for head in heads:
        for key in ('in_channels', 'c1_in_channels'):
            if head.get(key) is not None:
                head[key] = _map_channels(head[key], mapping)
        if tiny:
            for key in ('channels', 'c1_channels'):
                if head.get(key):
                    head[key] = max(8, head[key] // 4)


def tiny_vit(seg):
    """The tiny DINOv2-shaped ViT and DPT head of ``TINY_VIT_CONFIG`` in
    place of ``seg``'s (its classes, loss and ``frozen`` flag kept)."""
    from mmengine.config import Config
    tiny = Config.fromfile(osp.join(ROOT, TINY_VIT_CONFIG)).segmentor
    backbone = copy.deepcopy(tiny['backbone'].to_dict())
    backbone['frozen'] = seg['backbone'].get('frozen', False)
    head = copy.deepcopy(tiny['decode_head'].to_dict())
    for key in ('num_classes', 'loss_decode', 'align_corners'):
        if key in seg['decode_head']:
            head[key] = seg['decode_head'][key]
    seg['backbone'], seg['decode_head'] = backbone, head
    seg.pop('auxiliary_head', None)


def _apply_semi_overrides(semi, overrides):
    for item in overrides:
        key, sep, value = item.partition('=')
        if not sep:
            raise ValueError(f'--semi expects KEY=VALUE, got {item!r}')
        semi[key] = _parse_value(value)


def build_segmentor(cfg,
                    method,
                    crop,
                    device,
                    depth=None,
                    tiny=False,
                    with_cp=False,
                    overrides=()):
    """The config's model, random init, one process (SyncBN -> BN), the
    preprocessors at ``crop``, CutMix triggers forced on (same batch every
    step); ESL prototypes set to random unit vectors (as if
    ``PrototypeInitHook`` had run)."""
    import torch.nn.functional as F
    from mmseg.registry import MODELS

    model_cfg = copy.deepcopy(cfg.model.to_dict())
    _replace_syncbn(model_cfg)
    semi_model = 'segmentor' in model_cfg
    seg = model_cfg['segmentor'] if semi_model else model_cfg
    seg['pretrained'] = None
    seg['backbone']['init_cfg'] = None  # random init: same cost
    if seg['backbone'].get('type') == 'DINOv2ViT':
        if depth:
            raise ValueError('--depth is for ResNet encoders; use --tiny for '
                             'a tiny ViT')
        if tiny:
            tiny_vit(seg)
        seg['backbone']['with_cp'] = with_cp
    else:
        if with_cp:
            raise ValueError('--with-cp is for ViT encoders (DINOv2ViT '
                             'blocks); this config has a '
                             f"{seg['backbone'].get('type')}")
        if depth or tiny:
            shrink_resnet(seg, depth, tiny)
    for holder in (seg, model_cfg):
        pre = holder.get('data_preprocessor') or {}
        # MultiBranchSegDataPreProcessor wraps the segmentor's own
        pre = pre.get('data_preprocessor') or pre
        if pre:
            pre['size'] = (crop, crop)
    if semi_model:
        semi = model_cfg.setdefault('semi_train_cfg', {})
        if method == 'imas':  # CutMix always on (pairing stays adaptive)
            semi['cutmix'] = dict(semi.get('cutmix') or {}, prob=1.0,
                                  adaptive_trigger=False)
        elif method != 'three_stage':
            semi['cutmix'] = dict(semi.get('cutmix') or {}, prob=1.0)
        if method == 'esl' and tiny:
            semi['projector'] = dict(semi.get('projector') or {},
                                     channels=32)
        _apply_semi_overrides(semi, overrides)
    elif overrides:
        raise ValueError(f'--semi: {method} configs have no semi_train_cfg')
    model = MODELS.build(model_cfg).to(device)
    model.train()
    if method == 'esl' and model.use_contrast:
        with torch.no_grad():
            model.prototypes.copy_(
                F.normalize(torch.randn_like(model.prototypes), dim=-1))
            model.prototypes_initialized.fill_(True)
    return model


def build_model(config, depth, crop, device, overrides=()):
    """The iMAS model of ``config`` (see :func:`build_segmentor`)."""
    cfg, method = load_config(config)
    return build_segmentor(cfg, method, crop, device, depth=depth,
                           overrides=overrides)


def build_unimatch_v2(cfg, crop, device, with_cp=False, overrides=(),
                      tiny=False):
    """The config's ``UniMatchV2Segmentor`` without pretrained weights,
    CutMix always on (same batch every step), ``with_cp`` on the encoder."""
    return build_segmentor(cfg, 'unimatch_v2', crop, device, tiny=tiny,
                           with_cp=with_cp, overrides=overrides)


def build_optimizer(model, cfg):
    """The config's optimiser (``optim_wrapper.optimizer`` with its
    ``paramwise_cfg`` and gradient clipping) in a plain ``OptimWrapper``."""
    from mmengine.logging import MMLogger
    from mmengine.optim import build_optim_wrapper

    # quiet: mmengine logs every paramwise option at INFO
    MMLogger.get_instance('benchmark_step', log_level='WARNING')
    wrapper = copy.deepcopy(cfg.get('optim_wrapper', {}).to_dict())
    if not wrapper.get('optimizer'):
        raise ValueError('the config has no optim_wrapper.optimizer')
    wrapper['type'] = 'OptimWrapper'
    wrapper.pop('loss_scale', None)
    wrapper.pop('dtype', None)
    return build_optim_wrapper(model, wrapper)


def build_ema(cfg, model):
    """``(hook, decay)`` of the config's EMA teacher hook (a
    ``MeanTeacherHook`` or subclass; its final decay), or ``(None, None)``
    when the config has none or the model no teacher."""
    from mmseg.registry import HOOKS

    from mmsss.engine.hooks import MeanTeacherHook
    if not getattr(model, 'with_teacher', False):
        return None, None
    for hook_cfg in cfg.get('custom_hooks', []):
        hook_cls = HOOKS.get(hook_cfg.get('type'))
        if isinstance(hook_cls, type) and issubclass(hook_cls,
                                                     MeanTeacherHook):
            hook = HOOKS.build(copy.deepcopy(dict(hook_cfg)))
            return hook, hook.decay_at(10**6)
    return None, None


def total_loss(losses):
    """Sum of the loss entries (``'loss'`` in the key, lists summed)."""
    total = 0.
    for key, value in losses.items():
        if 'loss' not in key:
            continue
        for v in value if isinstance(value, (list, tuple)) else [value]:
            total = total + v.float()
    return total


# ---------------------------------------------------------------- batches
def _seg_sample(label, size, device, img_path=None, **maps):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    s = SegDataSample()
    meta = dict(img_shape=size, ori_shape=size, pad_shape=size)
    if img_path is not None:
        meta['img_path'] = img_path
    s.set_metainfo(meta)
    s.gt_sem_seg = PixelData(data=label.to(device))
    for key, value in maps.items():
        setattr(s, key, PixelData(data=value.to(device)))
    return s


def make_batch(model, n_l, n_u, crop, device, seed):
    """iMAS / mean-teacher branches ``sup``, ``unsup_weak``,
    ``unsup_strong`` (labeled maps with an ignored band, unlabeled maps
    255)."""
    return make_method_batch(model, 'imas', n_l, n_u, crop, device, seed)


def make_unimatch_v2_batch(model, n_l, n_u, crop, device, seed):
    """Branches ``sup``, ``unsup_weak``, ``unsup_strong1/2``: random
    images, labeled maps with an ignored band, unlabeled placeholder maps
    without padding (254, ``LoadUnlabeledAnnotations(ignore_index=254)``)."""
    return make_method_batch(model, 'unimatch_v2', n_l, n_u, crop, device,
                             seed)


def make_method_batch(model, method, n_l, n_u, crop, device, seed):
    """Random images and maps in the branches the method's ``loss`` reads
    (supervised: a plain ``(inputs, samples)`` batch)."""
    g = torch.Generator().manual_seed(seed)
    size = (crop, crop)
    num_classes = model.decode_head.num_classes if hasattr(
        model, 'decode_head') else model.num_classes

    def images(n):
        return torch.randn(n, 3, *size, generator=g)

    def labels(n, band=True):
        lab = torch.randint(0, num_classes, (n, 1, *size), generator=g)
        if band:
            lab[:, :, :max(1, crop // 16)] = 255
        return lab

    def filled(value):
        return torch.full((1, *size), value, dtype=torch.long)

    def labeled(n):
        x = images(n)
        return x, [_seg_sample(lab, size, device) for lab in labels(n)]

    inputs, samples = {}, {}
    if method == 'supervised':
        x, s = labeled(n_l)
        return x.to(device), s
    inputs['sup'], samples['sup'] = labeled(n_l)
    if method == 'dars':
        if n_u:
            inputs['pseudo'], samples['pseudo'] = labeled(n_u)
    elif method in ('imas', 'mean_teacher', 'esl'):
        x_w = images(n_u)
        inputs['unsup_weak'] = x_w
        inputs['unsup_strong'] = x_w + 0.5 * torch.randn(
            x_w.shape, generator=g)
        for k in ('unsup_weak', 'unsup_strong'):
            samples[k] = [_seg_sample(filled(255), size, device)
                          for _ in range(n_u)]
    elif method == 'three_stage':
        samples['sup'] = [
            _seg_sample(lab, size, device, gt_pseudo_mask=pm)
            for lab, pm in zip(labels(n_l), labels(n_l, band=False))
        ]
        rows, cols = torch.meshgrid(
            torch.arange(crop), torch.arange(crop), indexing='ij')
        identity = torch.stack([rows, cols])  # the warp B of no op
        x_w = images(n_u)
        inputs['unsup_weak'] = x_w
        inputs['unsup_strong'] = x_w + 0.5 * torch.randn(
            x_w.shape, generator=g)
        masks = labels(n_u)
        samples['unsup_weak'] = [_seg_sample(m, size, device) for m in masks]
        samples['unsup_strong'] = [
            _seg_sample(m, size, device, strong_aug_index=identity)
            for m in masks
        ]
    elif method in ('unimatch', 'fixmatch', 'unimatch_v2'):
        streams = ['unsup'] if method == 'unimatch_v2' else ['unsup', 'mix']
        for stream in streams:
            x_w = images(n_u)
            inputs[f'{stream}_weak'] = x_w
            for name in model.strong_names:
                inputs[f'{stream}_{name}'] = x_w + 0.5 * torch.randn(
                    x_w.shape, generator=g)
            for branch in [f'{stream}_weak'] + [
                    f'{stream}_{n}' for n in model.strong_names]:
                # mix image i: another view of unlabeled image i (the
                # official same_image pairing); 254 inside the image
                samples[branch] = [
                    _seg_sample(filled(254), size, device,
                                img_path=f'bench_{i}.jpg')
                    for i in range(n_u)
                ]
    else:
        raise ValueError(f'no batch for method {method!r}')
    return {k: v.to(device) for k, v in inputs.items()}, samples


# --------------------------------------------------------------- timing
class Timer:
    """Wall time of a closure in ms (CUDA events on GPU)."""

    def __init__(self, device):
        self.cuda = torch.device(device).type == 'cuda'

    def sync(self):
        if self.cuda:
            torch.cuda.synchronize()

    def once(self, fn):
        if self.cuda:
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            torch.cuda.synchronize()
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            return start.elapsed_time(end)
        t0 = time.perf_counter()
        fn()
        return (time.perf_counter() - t0) * 1e3

    def interleaved(self, fns, warmup, iters):
        """Median ms of every closure; the closures take turns in each of
        ``iters`` rounds so that clock or allocator drift hits all alike."""
        for fn in fns.values():
            for _ in range(warmup):
                fn()
        self.sync()
        times = {k: [] for k in fns}
        for _ in range(iters):
            for k, fn in fns.items():
                times[k].append(self.once(fn))
        return {k: statistics.median(v) for k, v in times.items()}


def autocast_for(mode, device):
    """Context factory of a precision mode: bf16 autocast or nothing."""
    if mode.startswith('bf16'):
        dev_type = torch.device(device).type
        return lambda: torch.autocast(dev_type, dtype=torch.bfloat16)
    return contextlib.nullcontext


def measure(timer, fns, full_iteration, warmup, iters):
    """``<name>_ms`` medians of the closures ``fns`` (taking turns) and
    ``peak_mem_gib``: the peak of one ``full_iteration`` after the warm-up
    (CUDA; None on CPU). The one timing loop of every method."""
    res = {
        f'{k}_ms': v
        for k, v in timer.interleaved(fns, warmup, iters).items()
    }
    res['peak_mem_gib'] = None
    if timer.cuda:  # steady state of a full iteration (after warm-up)
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        full_iteration()
        torch.cuda.synchronize()
        res['peak_mem_gib'] = torch.cuda.max_memory_allocated() / 2**30
    return res


# ------------------------------------------------------------ bare passes
class Passes(NamedTuple):
    """Bare passes of one step: ``no_grad`` closures (eval mode, no
    gradient), ``train`` returning the output tensors of the training
    passes (one backward of the sum of their means follows), and the batch
    of every pass, ``(network, images)``."""
    no_grad: List[Callable]
    train: Callable
    batches: List[tuple]


def _eval_pass(net, x):
    from mmsss.models.segmentors.semi_base import eval_mode

    def run():
        with eval_mode(net):
            net.decode_head.forward(net.extract_feat(x))
    return run


def _train_outputs(net, feats, logits, n_aux):
    """Decode logits plus the auxiliary heads on the first ``n_aux`` images
    (``head_losses``: the labeled part only)."""
    import torch.nn as nn
    outs = list(logits) if isinstance(logits, (list, tuple)) else [logits]
    if getattr(net, 'with_auxiliary_head', False) and n_aux:
        aux = net.auxiliary_head
        for head in aux if isinstance(aux, nn.ModuleList) else [aux]:
            outs.append(head.forward([f[:n_aux] for f in feats]))
    return outs


def _train_pass(net, x, n_aux):
    feats = net.extract_feat(x)
    return _train_outputs(net, feats, net.decode_head.forward(feats), n_aux)


def bare_supervised(model, inputs):
    """Supervised (``EncoderDecoder.loss``): one training pass (backbone,
    decode and auxiliary heads) + backward; step / bare ≈ 1 is the tool's
    own check."""
    return Passes([], lambda: _train_pass(model, inputs, len(inputs)),
                  [('model', inputs.shape[0])])


def bare_dars(model, inputs):
    """DARS self-training step (``mmsss/models/segmentors/
    self_training.py``): ``bn_passes='separate'`` (official) one training
    pass on the labeled and one on the pseudo-labeled batch, ``'joint'``
    one pass on both; auxiliary head on each branch; one backward."""
    branches = [inputs[b] for b in model.BRANCHES if b in inputs]
    if model.bn_passes == 'joint':
        x = torch.cat(branches)
        return Passes([], lambda: _train_pass(model, x, x.shape[0]),
                      [('model', x.shape[0])])

    def train():
        outs = []
        for x in branches:
            outs += _train_pass(model, x, x.shape[0])
        return outs
    return Passes([], train, [('model', x.shape[0]) for x in branches])


def bare_mean_teacher(model, inputs):
    """Mean teacher (``mean_teacher.py``, ``MeanTeacherSegmentor.loss``):
    teacher forward on the weak view; one student training pass on
    ``[labeled, cutmix, strong]`` (the branches that are on)."""
    cfg = model.semi_train_cfg
    x_l, x_w = inputs['sup'], inputs['unsup_weak']
    reps = int(cfg['use_cutmix_branch']) + int(cfg['use_intensity_branch'])
    x = torch.cat([x_l] + [x_w] * reps)
    return Passes([_eval_pass(model.teacher, x_w)],
                  lambda: _train_pass(model.student, x, x_l.shape[0]),
                  [('teacher', x_w.shape[0]), ('student', x.shape[0])])


def bare_imas(model, inputs):
    """iMAS (``imas.py``, ``IMASSegmentor.loss``): teacher forward and
    student forward (eval, the easiness) on the weak view; one student
    training pass on ``[labeled, weak, cutmix, intensity]``."""
    cfg = model.semi_train_cfg
    x_l, x_w = inputs['sup'], inputs['unsup_weak']
    reps = (int(cfg['weak_in_student_batch']) + int(cfg['use_cutmix_branch'])
            + int(cfg['use_intensity_branch']))
    x = torch.cat([x_l] + [x_w] * reps)
    return Passes(
        [_eval_pass(model.teacher, x_w), _eval_pass(model.student, x_w)],
        lambda: _train_pass(model.student, x, x_l.shape[0]),
        [('teacher', x_w.shape[0]), ('student', x_w.shape[0]),
         ('student', x.shape[0])])


def bare_esl(model, inputs):
    """ESL (``esl.py``, ``ESLSegmentor.loss``): teacher pass (encoder,
    decoder, segmentation head and, with the contrastive term, projector)
    on ``[labeled, weak]`` (weak only without it); one student training
    pass on ``[labeled, cutmix]`` with the projector on the decoder output
    when the contrastive term is on."""
    x_l, x_w = inputs['sup'], inputs['unsup_weak']
    ctr = model.use_contrast
    x_t = torch.cat([x_l, x_w]) if ctr else x_w
    x_s = torch.cat([x_l, x_w])

    def teacher():
        model.teacher_pass(x_t, ctr)

    def train():
        s = model._pass(model.student, x_s, False)
        outs = _train_outputs(model.student, s['feats'], s['logits'],
                              x_l.shape[0])
        if ctr:
            outs.append(model.student.projector(s['dec']))
        return outs
    return Passes([teacher], train, [('teacher', x_t.shape[0]),
                                     ('student', x_s.shape[0])])


def bare_three_stage(model, inputs):
    """Three-stage, stages 2/3 (``three_stage.py``,
    ``ThreeStageSegmentor.loss``): teacher forward on ``[labeled, weak]``
    (when λ1 > 0); one student training pass on ``[labeled, strong]``
    feeding f_θ's heads and the pseudo-mask branch (ĝ or g̃, when λ2 > 0)."""
    cfg = model.semi_train_cfg
    x_l, x_w = inputs['sup'], inputs['unsup_weak']
    x_u = inputs['unsup_strong' if cfg['use_strong_aug'] else 'unsup_weak']
    x_s = torch.cat([x_l, x_u])
    no_grad, batches = [], []
    if cfg['con_weight'] > 0:
        x_t = torch.cat([x_l, x_w])
        no_grad.append(_eval_pass(model.teacher, x_t))
        batches.append(('teacher', x_t.shape[0]))

    def train():
        feats = model.student.extract_feat(x_s)
        outs = _train_outputs(model.student, feats,
                              model.student.decode_head.forward(feats),
                              x_l.shape[0])
        if model.aux_branch is not None and cfg['pl_weight'] > 0:
            outs.append(model.aux_branch(feats))
        return outs
    return Passes(no_grad, train, batches + [('student', x_s.shape[0])])


def bare_unimatch(model, inputs):
    """UniMatch / FixMatch (``unimatch.py``, ``UniMatchSegmentor.loss``):
    eval pass (no gradient) on the mix images; one training pass on
    ``[labeled, weak]`` whose decoder runs on ``[features, dropout(
    features)]`` when FP is on (UniMatch; FixMatch: plain); one training
    pass on the strong views concatenated."""
    x_l, x_w = inputs['sup'], inputs['unsup_weak']
    x_m = inputs['mix_weak']
    x_lw = torch.cat([x_l, x_w])
    x_s = torch.cat([inputs[f'unsup_{n}'] for n in model.strong_names])
    use_fp = model.semi_train_cfg['use_fp']

    def train():
        feats = model.student.extract_feat(x_lw)
        logits = model.decode_with_fp(feats) if use_fp else \
            model.student.decode_head.forward(feats)
        outs = _train_outputs(model.student, feats, logits, x_l.shape[0])
        return outs + [model.student_forward(x_s)[1]]
    return Passes([_eval_pass(model.student, x_m)], train,
                  [('student', x_m.shape[0]), ('student', x_lw.shape[0]),
                   ('student', x_s.shape[0])])


def bare_unimatch_v2(model, inputs):
    """UniMatch V2 and the V2 FixMatch (``unimatch_v2.py``,
    ``UniMatchV2Segmentor.loss``): teacher forward on the weak view; one
    student training pass on the labeled batch, one on the strong views
    concatenated (Complementary Dropout on their encoder taps)."""
    x_l, x_w = inputs['sup'], inputs['unsup_weak']
    x_s = torch.cat([inputs[f'unsup_{n}'] for n in model.strong_names])

    def train():
        feats = model.complementary_dropout(model.student.extract_feat(x_s))
        return (_train_pass(model.student, x_l, x_l.shape[0]) +
                [model.student.decode_head.forward(feats)])
    return Passes([_eval_pass(model.teacher, x_w)], train,
                  [('teacher', x_w.shape[0]), ('student', x_l.shape[0]),
                   ('student', x_s.shape[0])])


#: method family -> its bare passes (the network passes its step cannot
#: avoid), one function per method mirroring its segmentor's ``loss``
BARE_PASSES = dict(
    supervised=bare_supervised,
    dars=bare_dars,
    mean_teacher=bare_mean_teacher,
    imas=bare_imas,
    esl=bare_esl,
    three_stage=bare_three_stage,
    unimatch=bare_unimatch,
    fixmatch=bare_unimatch,
    unimatch_v2=bare_unimatch_v2)


# ------------------------------------------------------------- one mode
class Bench(NamedTuple):
    """What one precision mode times: the model, the closures ``fns``
    (``step``, ``opt_ema``/``step_opt_ema``, ``bare``, method extras), one
    ``full_iteration`` (step + optimiser + EMA) and facts for the row."""
    model: torch.nn.Module
    fns: Dict[str, Callable]
    full_iteration: Callable
    info: dict


def prepare(method, mode, args, cfg, device):
    """Model, batch, optimiser, EMA and closures of one precision mode."""
    torch.manual_seed(args.seed)
    model = build_segmentor(cfg, method, args.crop, device, depth=args.depth,
                            tiny=args.tiny, with_cp=args.with_cp,
                            overrides=args.semi)
    inputs, samples = make_method_batch(model, method, args.n_labeled,
                                        args.n_unlabeled, args.crop, device,
                                        args.seed)
    if mode.endswith('-cl'):
        model = model.to(memory_format=torch.channels_last)
        if isinstance(inputs, dict):
            inputs = {
                k: v.contiguous(memory_format=torch.channels_last)
                for k, v in inputs.items()
            }
        else:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
    autocast = autocast_for(mode, device)
    optim = build_optimizer(model, cfg)
    ema, decay = build_ema(cfg, model)
    passes = BARE_PASSES[method](model, inputs)
    state = dict(grads=False)

    def step():
        optim.zero_grad(set_to_none=True)
        with autocast():
            loss = total_loss(model.loss(inputs, samples))
        loss.backward()  # gradients kept for opt_ema
        state['grads'] = True

    def opt_ema():
        if not state['grads']:
            step()
        optim.step()
        if ema is not None:
            ema.ema_update(model, decay)

    def full_iteration():
        step()
        opt_ema()
        optim.zero_grad(set_to_none=True)

    def bare():
        optim.zero_grad(set_to_none=True)
        state['grads'] = False
        with torch.no_grad(), autocast():
            for fn in passes.no_grad:
                fn()
        with autocast():
            outs = passes.train()
        sum(o.float().mean() for o in outs).backward()

    fns = dict(step=step, opt_ema=opt_ema, bare=bare)
    info = dict(passes=[list(b) for b in passes.batches],
                optimizer=type(optim.optimizer).__name__,
                ema=None if ema is None else type(ema).__name__)
    if method == 'imas':
        _imas_extras(model, inputs, fns, autocast, optim, ema, decay, step,
                     info)
    elif method == 'unimatch_v2':
        _unimatch_v2_extras(model, inputs, fns, autocast, optim, info)
    return Bench(model, fns, full_iteration, info)


def _imas_extras(model, inputs, fns, autocast, optim, ema, decay, step,
                 info):
    """iMAS columns: step + optimiser + EMA, each bare pass alone, the
    easiness computation alone."""
    from mmsss.models.utils import compute_easiness
    cfg = model.semi_train_cfg
    x_w = inputs['unsup_weak']
    teacher_fwd, student_weak_fwd = BARE_PASSES['imas'](model,
                                                        inputs).no_grad
    train = BARE_PASSES['imas'](model, inputs).train

    def step_opt_ema():
        step()
        optim.step()
        optim.zero_grad(set_to_none=True)
        if ema is not None:
            ema.ema_update(model, decay)

    def no_grad(fn):
        def run():
            with torch.no_grad(), autocast():
                fn()
        return run

    def student_fwd_bwd():
        optim.zero_grad(set_to_none=True)
        with autocast():
            outs = train()
        sum(o.float().mean() for o in outs).backward()

    with torch.no_grad():
        t_logits = model.logits_of(model.teacher, x_w)
        s_logits = model.logits_of(model.student, x_w)

    def hardness():
        compute_easiness(
            t_logits,
            s_logits,
            cfg['conf_thresh'],
            strategy=cfg['hardness_strategy'],
            ignore_background=cfg['ignore_background'])

    fns.pop('opt_ema')
    fns.update(
        step_opt_ema=step_opt_ema,
        teacher_fwd=no_grad(teacher_fwd),
        student_weak_fwd=no_grad(student_weak_fwd),
        student_fwd_bwd=student_fwd_bwd,
        hardness=hardness)
    info['student_batch'] = info['passes'][-1][1]


def _unimatch_v2_extras(model, inputs, fns, autocast, optim, info):
    """UniMatch V2 columns: the teacher pass and each student pass alone
    (forward + backward)."""
    x_l, x_w = inputs['sup'], inputs['unsup_weak']
    x_s = torch.cat([inputs[f'unsup_{n}'] for n in model.strong_names])

    def teacher_fwd():
        with autocast():
            model.logits_of(model.teacher, x_w)

    def student_fwd_bwd(x):
        optim.zero_grad(set_to_none=True)
        with autocast():
            out = model.student.decode_head.forward(
                model.student.extract_feat(x))
        out.float().mean().backward()

    fns.update(
        teacher_fwd=teacher_fwd,
        student_lab_fwd_bwd=lambda: student_fwd_bwd(x_l),
        student_strong_fwd_bwd=lambda: student_fwd_bwd(x_s))
    info['student_batches'] = [x_l.shape[0], x_s.shape[0]]


def run_method_mode(method, mode, args, cfg, device):
    """One row of the table: the medians of :func:`prepare`'s closures,
    ``ratio = step / bare`` and the peak memory."""
    bench = prepare(method, mode, args, cfg, device)
    timer = Timer(device)
    res = dict(mode=mode)
    if method == 'unimatch_v2':
        res.update(with_cp=bool(args.with_cp),
                   cp='on' if args.with_cp else 'off')
    res.update(
        measure(timer, bench.fns, bench.full_iteration, args.warmup,
                args.iters))
    res['ratio'] = res['step_ms'] / res['bare_ms']
    if method == 'imas':
        res['hardness_pct'] = 100. * res['hardness_ms'] / res['step_ms']
        # step + SGD + EMA less the step (a difference of medians)
        res['opt_ema_ms'] = res['step_opt_ema_ms'] - res['step_ms']
    res.update(bench.info)
    del bench
    free_memory(device)
    return res


def free_memory(device):
    gc.collect()
    if torch.device(device).type == 'cuda':
        torch.cuda.empty_cache()


def run_modes(method, modes, args, cfg, device):
    """Rows of every mode. With ``--keep-going`` a mode that raises (e.g.
    CUDA out of memory) gets a row with its ``error`` and no times, and the
    next mode still runs."""
    rows = []
    for mode in modes:
        try:
            rows.append(run_method_mode(method, mode, args, cfg, device))
        except RuntimeError as exc:  # torch.OutOfMemoryError included
            if not args.keep_going:
                raise
            first = (str(exc).strip().splitlines() or [''])[0]
            rows.append(dict(mode=mode, error=f'{type(exc).__name__}: '
                             f'{first[:300]}', ratio=None,
                             peak_mem_gib=None))
            free_memory(device)
    return rows


# ------------------------------------------------------------- tables
IMAS_COLUMNS = [('mode', 8, '{}', 'mode'), ('step', 9, '{:.1f}', 'step_ms'),
                ('+opt+ema', 9, '{:.1f}', 'step_opt_ema_ms'),
                ('bare', 9, '{:.1f}', 'bare_ms'),
                ('t_fwd', 8, '{:.1f}', 'teacher_fwd_ms'),
                ('s_wfwd', 8, '{:.1f}', 'student_weak_fwd_ms'),
                ('s_fwdbwd', 9, '{:.1f}', 'student_fwd_bwd_ms'),
                ('ratio', 6, '{:.3f}', 'ratio'),
                ('hard_ms', 8, '{:.2f}', 'hardness_ms'),
                ('hard_%', 7, '{:.2f}', 'hardness_pct'),
                ('peak_GiB', 9, '{:.2f}', 'peak_mem_gib')]
IMAS_LEGEND = ('times in ms (median); step = loss + backward; +opt+ema = '
               'step + optimiser + EMA; bare = teacher fwd + student weak '
               'fwd + student fwd/bwd; ratio = step / bare; hard_% = '
               'hardness / step')
UNIMATCH_V2_COLUMNS = [('mode', 6, '{}', 'mode'),
                       ('cp', 4, '{}', 'cp'),
                       ('step', 9, '{:.1f}', 'step_ms'),
                       ('opt+ema', 9, '{:.1f}', 'opt_ema_ms'),
                       ('bare', 9, '{:.1f}', 'bare_ms'),
                       ('t_fwd', 8, '{:.1f}', 'teacher_fwd_ms'),
                       ('s_lab', 9, '{:.1f}', 'student_lab_fwd_bwd_ms'),
                       ('s_strong', 9, '{:.1f}', 'student_strong_fwd_bwd_ms'),
                       ('ratio', 6, '{:.3f}', 'ratio'),
                       ('peak_GiB', 9, '{:.2f}', 'peak_mem_gib')]
UNIMATCH_V2_LEGEND = (
    'times in ms (median); step = UniMatchV2Segmentor.loss + backward; '
    'opt+ema = optimiser + EMA; bare = teacher fwd (weak) + student fwd '
    '(labeled) + student fwd (strong views) + one backward; ratio = step / '
    'bare; peak = step + optimiser + EMA (CUDA); cp = encoder activation '
    'checkpointing; no channels_last mode: irrelevant for a ViT')
COLUMNS = [('mode', 8, '{}', 'mode'), ('step', 9, '{:.1f}', 'step_ms'),
           ('opt+ema', 9, '{:.1f}', 'opt_ema_ms'),
           ('bare', 9, '{:.1f}', 'bare_ms'),
           ('ratio', 6, '{:.3f}', 'ratio'),
           ('peak_GiB', 9, '{:.2f}', 'peak_mem_gib')]
LEGEND = ('times in ms (median); step = loss + backward; opt+ema = the '
          "config's optimiser + EMA of the teacher (if any); bare = the "
          "method's bare passes (passes: network, images); ratio = step / "
          'bare; peak = step + optimiser + EMA (CUDA)')


def format_table(rows, header_note='', columns=None, legend=IMAS_LEGEND):
    cols = IMAS_COLUMNS if columns is None else columns
    lines = [header_note] if header_note else []
    head = ' '.join(
        name.ljust(w) if i == 0 else name.rjust(w)
        for i, (name, w, _, _) in enumerate(cols))
    lines += [head, '-' * len(head)]
    for r in rows:
        cells = []
        for i, (_, w, fmt, key) in enumerate(cols):
            v = r.get(key)
            text = 'n/a' if v is None else fmt.format(v)
            cells.append(text.ljust(w) if i == 0 else text.rjust(w))
        lines.append(' '.join(cells))
    lines.append(legend)
    return '\n'.join(lines)


def network_name(cfg, args):
    bb = backbone_of(cfg)
    if bb.get('type') == 'DINOv2ViT':
        arch = bb.get('arch')
        arch = arch if isinstance(arch, str) else 'custom'
        return (f'DINOv2ViT arch {"tiny" if args.tiny else arch}'
                f'{", frozen" if bb.get("frozen") else ""}')
    depth = args.depth or (18 if args.tiny else bb.get('depth'))
    return f'R{depth}{" width 16" if args.tiny else ""}'


def main(argv=None):
    args = parse_args(argv)
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    cfg, method = load_config(args.config, args.stage)
    vit = is_vit(cfg)
    allowed = VIT_MODES if vit else MODES
    modes = [m.strip() for m in (args.modes or ','.join(allowed)).split(',')
             if m.strip()]
    bad = [m for m in modes if m not in allowed]
    if bad:
        why = ' (channels_last is irrelevant for a ViT)' if (
            vit and 'bf16-cl' in bad) else ''
        raise ValueError(f'unknown modes {bad} for {method}; choose from '
                         f'{allowed}{why}')
    if args.with_cp and not vit:
        raise ValueError('--with-cp is for ViT encoders (DINOv2ViT blocks); '
                         f'{args.config} has a {backbone_of(cfg).get("type")}')
    if args.crop is None:
        args.crop = config_crop(cfg, args.config)
    if args.n_labeled is None or args.n_unlabeled is None:
        n_l, n_u, n_m = config_batch(cfg, method)
        if method in ('unimatch', 'fixmatch') and n_m != n_u:
            raise ValueError(f'{args.config}: {n_m} mix images for {n_u} '
                             'unlabeled; the tool pairs them one to one')
        args.n_labeled = n_l if args.n_labeled is None else args.n_labeled
        args.n_unlabeled = n_u if args.n_unlabeled is None else \
            args.n_unlabeled
    if method == 'supervised':
        args.n_unlabeled = 0
    if torch.device(device).type == 'cuda':
        torch.backends.cudnn.benchmark = True
    dev_name = (torch.cuda.get_device_name(device)
                if torch.device(device).type == 'cuda' else 'cpu')
    rows = run_modes(method, modes, args, cfg, device)
    ok = [r for r in rows if 'error' not in r] or [{}]
    config = osp.relpath(osp.abspath(args.config), ROOT)
    stage = f' {cfg.experiment_name}' if method == 'three_stage' else ''
    batch = (f'{args.n_labeled}' if method == 'supervised' else
             f'{args.n_labeled}+{args.n_unlabeled}')
    overrides = (f', semi_train_cfg overrides {args.semi}'
                 if args.semi else '')
    if method == 'imas':
        note = (f'iMAS step, {config} at {network_name(cfg, args)}, {batch}, '
                f'crop {args.crop}, student batch '
                f'{ok[0].get("student_batch", "?")}, {dev_name}, '
                f'torch {torch.__version__}' + overrides)
        table = format_table(rows, note)
    elif method == 'unimatch_v2':
        note = (f'UniMatch V2 step, {config} ({network_name(cfg, args)}), '
                f'{batch}, crop {args.crop}, activation checkpointing '
                f'{"on" if args.with_cp else "off"}, {dev_name}, torch '
                f'{torch.__version__}' + overrides)
        table = format_table(rows, note, UNIMATCH_V2_COLUMNS,
                             UNIMATCH_V2_LEGEND)
    else:
        passes = ', '.join(f'{n} {b}' for n, b in ok[0].get('passes', []))
        ema = f' + {ok[0]["ema"]}' if ok[0].get('ema') else ''
        note = (f'{method}{stage} step, {config} at '
                f'{network_name(cfg, args)}, {batch}, crop {args.crop}, '
                f'bare passes [{passes}], {ok[0].get("optimizer", "?")}{ema}'
                f', {dev_name}, torch {torch.__version__}' + overrides)
        table = format_table(rows, note, COLUMNS, LEGEND)
    print(table)
    for r in rows:
        if 'error' in r:
            print(f'{r["mode"]}: failed: {r["error"]}')
    if args.json:
        from mmsss.utils import atomic_write_text
        atomic_write_text(
            args.json,
            json.dumps(
                dict(method=method, config=config, note=note,
                     device=dev_name, crop=args.crop,
                     n_labeled=args.n_labeled, n_unlabeled=args.n_unlabeled,
                     tiny=bool(args.tiny), rows=rows), indent=2))
    return rows


if __name__ == '__main__':
    main()
    sys.exit(0)
