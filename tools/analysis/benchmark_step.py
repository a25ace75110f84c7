"""Time one semi-supervised training step against the network passes it
cannot avoid: iMAS configs (``configs/imas``) and UniMatch V2 configs
(``configs/unimatch_v2``), chosen by the ``model.type`` of ``--config``.

iMAS
----

For each precision mode (fp32, bf16 autocast, bf16 autocast + channels_last)
the tool measures, with warm-up iterations and CUDA events (or
``time.perf_counter`` on CPU), the median of

- ``step``: ``model.loss`` + ``backward`` of the full iMAS step (teacher and
  student weak-view passes, hardness, adaptive intensity/CutMix, one student
  pass on ``[labeled, weak, cutmix, intensity]``, supervised and
  unsupervised losses);
- ``opt+ema``: SGD step + EMA update of the teacher (parameters and buffers);
- ``bare``: the passes any such step needs, back to back: teacher forward on
  the weak view, student forward on the weak view (eval, no grad) and
  student forward + backward on the same concatenated batch (loss = mean of
  the logits);
- ``hardness``: the easiness evaluation alone (on precomputed logits);

(the closures take turns, ``--iters`` rounds after ``--warmup`` calls each)
and prints a table with the ratio ``step / bare``, the hardness share of the
step and the peak memory. The CutMix branch is forced on (trigger
probability 1) so that every step has the same batch.

UniMatch V2
-----------
Modes fp32 and bf16 autocast only: channels_last is irrelevant for a ViT
(the encoder works on (N, tokens, C) tensors; only the patch embedding and
the small DPT head see 4-D maps). Medians of

- ``step``: ``UniMatchV2Segmentor.loss`` + ``backward`` (EMA-teacher pass on
  the weak view, in-batch CutMix of the two strong views, student pass on
  the labeled batch, one on the two strong views with Complementary
  Dropout, the losses);
- ``opt+ema``: AdamW step (the config's betas / weight decay) + EMA update
  of the teacher (the config's ``MeanTeacherHook``: parameters and
  buffers), on the gradients the previous closure left;
- ``bare``: teacher forward on the weak view (eval, no grad), student
  forward + backward on the labeled batch and student forward + backward on
  the two strong views concatenated (loss = mean of the logits);

with the ratio ``step / bare`` and the peak memory of one full iteration
(step + AdamW + EMA; CUDA only, ``n/a`` on CPU). ``--with-cp`` turns on the
activation checkpointing of the encoder blocks (``DINOv2ViT.with_cp``). The
CutMix probability is forced to 1 so that every step has the same batch;
the pretrained weights are not loaded (random init: same cost).

Examples::

    # default: iMAS, DeepLabV3+ R101, 4 labeled + 4 unlabeled, crop 513, CUDA
    python tools/analysis/benchmark_step.py
    # CPU smoke test
    python tools/analysis/benchmark_step.py --device cpu --crop 64 \\
        --depth 18 --n-labeled 1 --n-unlabeled 1 --warmup 1 --iters 1
    # UniMatch V2, DINOv2-B, crop of the config (518), 4 + 4, fp32 and bf16
    python tools/analysis/benchmark_step.py \\
        --config configs/unimatch_v2/voc_92_dinov2-b.py [--with-cp]
"""
import argparse
import contextlib
import copy
import json
import os.path as osp
import statistics
import sys
import time

import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MODES = ('fp32', 'bf16', 'bf16-cl')
# channels_last is irrelevant for a ViT (module docstring)
VIT_MODES = ('fp32', 'bf16')
# model.type of the config -> method of this tool
METHODS = dict(IMASSegmentor='imas', UniMatchV2Segmentor='unimatch_v2')


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='Benchmark one iMAS or UniMatch V2 step')
    p.add_argument(
        '--config',
        default=osp.join(ROOT, 'configs/imas/voc_1-8.py'),
        help='iMAS or UniMatch V2 config whose model is timed')
    p.add_argument('--device', default=None, help='cuda (default) or cpu')
    p.add_argument(
        '--depth', type=int, default=101, help='ResNet depth (iMAS only)')
    p.add_argument(
        '--crop',
        type=int,
        default=None,
        help='square crop; default 513 (iMAS) or the crop_size of a '
        'UniMatch V2 config')
    p.add_argument(
        '--with-cp',
        action='store_true',
        help='UniMatch V2: activation checkpointing of the encoder blocks')
    p.add_argument('--n-labeled', type=int, default=4)
    p.add_argument('--n-unlabeled', type=int, default=4)
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--iters', type=int, default=20)
    p.add_argument(
        '--modes',
        default=None,
        help=f'comma-separated subset of {MODES} (iMAS, the default: all) '
        f'or {VIT_MODES} (UniMatch V2)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument(
        '--semi',
        nargs='*',
        default=[],
        metavar='KEY=VALUE',
        help='override semi_train_cfg keys, e.g. '
        'skip_untriggered_cutmix=False')
    p.add_argument('--json', default=None, help='also write results here')
    return p.parse_args(argv)


# ---------------------------------------------------------------- model
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


def load_config(config):
    """The config and the method of this tool that times it."""
    import mmsss  # noqa: F401  (first: mmcv-lite stand-in)
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    if not osp.isfile(config):
        raise FileNotFoundError(f'--config: no such file {config!r}')
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model_type = cfg.get('model', {}).get('type')
    if model_type not in METHODS:
        raise ValueError(f'--config {config}: model.type is {model_type!r}; '
                         f'this tool times {sorted(METHODS)}')
    return cfg, METHODS[model_type]


def _apply_semi_overrides(semi, overrides):
    for item in overrides:
        key, sep, value = item.partition('=')
        if not sep:
            raise ValueError(f'--semi expects KEY=VALUE, got {item!r}')
        semi[key] = _parse_value(value)


def build_model(config, depth, crop, device, overrides=()):
    from mmseg.registry import MODELS

    cfg, _ = load_config(config)
    model_cfg = copy.deepcopy(cfg.model.to_dict())
    _replace_syncbn(model_cfg)  # one process: plain BN
    seg = model_cfg['segmentor']
    seg['pretrained'] = None
    seg['backbone']['depth'] = depth
    if depth < 50:  # BasicBlock widths
        seg['decode_head']['in_channels'] = 512
        seg['decode_head']['c1_in_channels'] = 64
        if seg.get('auxiliary_head'):
            seg['auxiliary_head']['in_channels'] = 256
    seg['data_preprocessor']['size'] = (crop, crop)
    model_cfg['data_preprocessor']['data_preprocessor']['size'] = (crop, crop)
    semi = model_cfg.setdefault('semi_train_cfg', {})
    # same batch every step: CutMix always on (pairing stays adaptive)
    semi['cutmix'] = dict(semi.get('cutmix', {}), prob=1.0,
                          adaptive_trigger=False)
    _apply_semi_overrides(semi, overrides)
    model = MODELS.build(model_cfg).to(device)
    model.train()
    return model


def build_unimatch_v2(cfg, crop, device, with_cp=False, overrides=()):
    """The config's ``UniMatchV2Segmentor`` without pretrained weights,
    CutMix always on (same batch every step), ``with_cp`` on the encoder."""
    from mmseg.registry import MODELS

    model_cfg = copy.deepcopy(cfg.model.to_dict())
    seg = model_cfg['segmentor']
    seg['backbone']['init_cfg'] = None  # random init: same cost
    seg['backbone']['with_cp'] = with_cp
    seg['data_preprocessor']['size'] = (crop, crop)
    model_cfg['data_preprocessor']['data_preprocessor']['size'] = (crop, crop)
    semi = model_cfg.setdefault('semi_train_cfg', {})
    semi['cutmix'] = dict(semi.get('cutmix') or {}, prob=1.0)
    _apply_semi_overrides(semi, overrides)
    model = MODELS.build(model_cfg).to(device)
    model.train()
    return model


def config_crop(cfg, config):
    crop = cfg.get('crop_size')
    if crop is None:
        raise ValueError(f'--config {config} has no crop_size; pass --crop')
    crop = tuple(crop) if isinstance(crop, (list, tuple)) else (crop, crop)
    if crop[0] != crop[1]:
        raise ValueError(f'--config {config}: crop_size {crop} is not '
                         'square; pass --crop')
    return int(crop[0])


def make_batch(model, n_l, n_u, crop, device, seed):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    g = torch.Generator().manual_seed(seed)
    c = model.num_classes
    size = (crop, crop)

    def sample(label=None):
        s = SegDataSample()
        s.set_metainfo(dict(img_shape=size, ori_shape=size, pad_shape=size))
        if label is None:
            label = torch.full((1, *size), 255, dtype=torch.long)
        s.gt_sem_seg = PixelData(data=label.to(device))
        return s

    x_l = torch.randn(n_l, 3, *size, generator=g)
    x_w = torch.randn(n_u, 3, *size, generator=g)
    x_s = x_w + 0.5 * torch.randn(n_u, 3, *size, generator=g)
    lab = torch.randint(0, c, (n_l, 1, *size), generator=g)
    lab[:, :, :crop // 16] = 255
    inputs = dict(
        sup=x_l.to(device), unsup_weak=x_w.to(device),
        unsup_strong=x_s.to(device))
    samples = dict(
        sup=[sample(lab[i]) for i in range(n_l)],
        unsup_weak=[sample() for _ in range(n_u)],
        unsup_strong=[sample() for _ in range(n_u)])
    return inputs, samples


def make_unimatch_v2_batch(model, n_l, n_u, crop, device, seed):
    """Branches ``sup``, ``unsup_weak``, ``unsup_strong1/2``: random
    images, labeled maps with an ignored band, unlabeled placeholder maps
    without padding (254, ``LoadUnlabeledAnnotations(ignore_index=254)``)."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    g = torch.Generator().manual_seed(seed)
    size = (crop, crop)

    def sample(label):
        s = SegDataSample()
        s.set_metainfo(dict(img_shape=size, ori_shape=size, pad_shape=size))
        s.gt_sem_seg = PixelData(data=label.to(device))
        return s

    x_l = torch.randn(n_l, 3, *size, generator=g)
    x_w = torch.randn(n_u, 3, *size, generator=g)
    lab = torch.randint(0, model.num_classes, (n_l, 1, *size), generator=g)
    lab[:, :, :crop // 16] = 255
    inputs, samples = dict(sup=x_l), dict(sup=[sample(lab_i) for lab_i in lab])
    unlabeled = ['unsup_weak'] + [f'unsup_{n}' for n in model.strong_names]
    for k in unlabeled:
        inputs[k] = x_w if k == 'unsup_weak' else (
            x_w + 0.5 * torch.randn(n_u, 3, *size, generator=g))
        samples[k] = [
            sample(torch.full((1, *size), 254, dtype=torch.long))
            for _ in range(n_u)
        ]
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
    (CUDA; None on CPU)."""
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


def run_mode(mode, args, device):
    """One row of the iMAS table."""
    from mmsss.engine.hooks import MeanTeacherHook
    from mmsss.models.utils import compute_easiness

    torch.manual_seed(args.seed)
    model = build_model(args.config, args.depth, args.crop, device,
                        args.semi)
    inputs, samples = make_batch(model, args.n_labeled, args.n_unlabeled,
                                 args.crop, device, args.seed)
    channels_last = mode.endswith('-cl')
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        inputs = {
            k: v.contiguous(memory_format=torch.channels_last)
            for k, v in inputs.items()
        }
    autocast = autocast_for(mode, device)
    params = [p for p in model.student.parameters() if p.requires_grad]
    optim = torch.optim.SGD(params, lr=1e-4, momentum=0.9, weight_decay=1e-4)
    ema = MeanTeacherHook(decay_schedule='imas', skip_buffers=False)
    cfg = model.semi_train_cfg
    x_l, x_w, x_s = (inputs[k] for k in ('sup', 'unsup_weak', 'unsup_strong'))
    n_student = x_l.shape[0] + x_w.shape[0] * (
        int(cfg['weak_in_student_batch']) + int(cfg['use_cutmix_branch']) +
        int(cfg['use_intensity_branch']))
    reps = -(-n_student // x_w.shape[0])
    x_cat = torch.cat([x_l, *([x_w] * reps)])[:n_student]
    if channels_last:
        x_cat = x_cat.contiguous(memory_format=torch.channels_last)
    timer = Timer(device)

    def step():
        with autocast():
            losses = model.loss(inputs, samples)
            loss = sum(v for k, v in losses.items() if 'loss' in k)
        loss.backward()
        optim.zero_grad(set_to_none=True)

    def opt_ema():
        with autocast():
            losses = model.loss(inputs, samples)
            loss = sum(v for k, v in losses.items() if 'loss' in k)
        loss.backward()
        optim.step()
        optim.zero_grad(set_to_none=True)
        ema.ema_update(model, 0.996)

    def net(m, x):
        return m.decode_head.forward(m.extract_feat(x))

    def teacher_fwd():
        with torch.no_grad(), autocast():
            net(model.teacher, x_w)

    def student_weak_fwd():
        model.student.eval()
        with torch.no_grad(), autocast():
            net(model.student, x_w)
        model.student.train()

    def student_fwd_bwd():
        with autocast():
            out = net(model.student, x_cat)
        out.float().mean().backward()
        optim.zero_grad(set_to_none=True)

    def bare():
        teacher_fwd()
        student_weak_fwd()
        student_fwd_bwd()

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

    fns = dict(
        step=step,
        step_opt_ema=opt_ema,
        bare=bare,
        teacher_fwd=teacher_fwd,
        student_weak_fwd=student_weak_fwd,
        student_fwd_bwd=student_fwd_bwd,
        hardness=hardness)
    res = dict(mode=mode)
    res.update(measure(timer, fns, opt_ema, args.warmup, args.iters))
    res['ratio'] = res['step_ms'] / res['bare_ms']
    res['hardness_pct'] = 100. * res['hardness_ms'] / res['step_ms']
    res['student_batch'] = n_student
    if timer.cuda:
        torch.cuda.empty_cache()
    return res


def run_unimatch_v2_mode(mode, args, device, cfg):
    """One row of the UniMatch V2 table (module docstring)."""
    from mmsss.engine.hooks import MeanTeacherHook

    torch.manual_seed(args.seed)
    model = build_unimatch_v2(cfg, args.crop, device, args.with_cp,
                              args.semi)
    inputs, samples = make_unimatch_v2_batch(model, args.n_labeled,
                                             args.n_unlabeled, args.crop,
                                             device, args.seed)
    autocast = autocast_for(mode, device)
    params = [p for p in model.student.parameters() if p.requires_grad]
    opt_cfg = cfg.get('optim_wrapper', {}).get('optimizer', {})
    optim = torch.optim.AdamW(
        params,
        lr=opt_cfg.get('lr', 5e-6),
        betas=tuple(opt_cfg.get('betas', (0.9, 0.999))),
        weight_decay=opt_cfg.get('weight_decay', 0.01))
    hooks = [
        h for h in cfg.get('custom_hooks', [])
        if h.get('type') == 'MeanTeacherHook'
    ]
    ema_cfg = {k: v for k, v in (hooks[0] if hooks else {}).items()
               if k != 'type'}
    ema = MeanTeacherHook(**ema_cfg)
    x_l, x_w = inputs['sup'], inputs['unsup_weak']
    x_strong = torch.cat(
        [inputs[f'unsup_{n}'] for n in model.strong_names])
    timer = Timer(device)

    def net(m, x):
        return m.decode_head.forward(m.extract_feat(x))

    def step():
        optim.zero_grad(set_to_none=True)
        with autocast():
            losses = model.loss(inputs, samples)
            loss = sum(v for k, v in losses.items() if 'loss' in k)
        loss.backward()  # gradients kept for opt_ema

    def opt_ema():
        if any(p.grad is None for p in params):  # the first call
            step()
        optim.step()
        ema.ema_update(model, ema.max_decay)

    def full_iteration():
        step()
        opt_ema()
        optim.zero_grad(set_to_none=True)

    def teacher_fwd():
        with autocast():
            model.logits_of(model.teacher, x_w)

    def student_fwd_bwd(x):
        optim.zero_grad(set_to_none=True)
        with autocast():
            out = net(model.student, x)
        out.float().mean().backward()

    def bare():
        teacher_fwd()
        student_fwd_bwd(x_l)
        student_fwd_bwd(x_strong)

    fns = dict(
        step=step,
        opt_ema=opt_ema,
        bare=bare,
        teacher_fwd=teacher_fwd,
        student_lab_fwd_bwd=lambda: student_fwd_bwd(x_l),
        student_strong_fwd_bwd=lambda: student_fwd_bwd(x_strong))
    res = dict(mode=mode, with_cp=bool(args.with_cp),
               cp='on' if args.with_cp else 'off')
    res.update(measure(timer, fns, full_iteration, args.warmup, args.iters))
    res['ratio'] = res['step_ms'] / res['bare_ms']
    res['student_batches'] = [x_l.shape[0], x_strong.shape[0]]
    if timer.cuda:
        torch.cuda.empty_cache()
    return res


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
               'step + SGD + EMA; bare = teacher fwd + student weak fwd + '
               'student fwd/bwd; ratio = step / bare; hard_% = hardness / '
               'step')
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
    'opt+ema = AdamW + EMA; bare = teacher fwd (weak) + student fwd/bwd '
    '(labeled) + student fwd/bwd (2 strong views); ratio = step / bare; '
    'peak = step + AdamW + EMA (CUDA); cp = encoder activation '
    'checkpointing; no channels_last mode: irrelevant for a ViT')


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


def main(argv=None):
    args = parse_args(argv)
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    cfg, method = load_config(args.config)
    allowed = MODES if method == 'imas' else VIT_MODES
    modes = [m.strip() for m in (args.modes or ','.join(allowed)).split(',')
             if m.strip()]
    bad = [m for m in modes if m not in allowed]
    if bad:
        why = ' (channels_last is irrelevant for a ViT)' if (
            method == 'unimatch_v2' and 'bf16-cl' in bad) else ''
        raise ValueError(f'unknown modes {bad} for {method}; choose from '
                         f'{allowed}{why}')
    if method == 'imas' and args.with_cp:
        raise ValueError('--with-cp is for UniMatch V2 configs (the encoder '
                         f'blocks); {args.config} is an iMAS config')
    if torch.device(device).type == 'cuda':
        torch.backends.cudnn.benchmark = True
    dev_name = (torch.cuda.get_device_name(device)
                if torch.device(device).type == 'cuda' else 'cpu')
    overrides = (f', semi_train_cfg overrides {args.semi}'
                 if args.semi else '')
    if method == 'imas':
        if args.crop is None:
            args.crop = 513
        rows = [run_mode(m, args, device) for m in modes]
        note = (f'iMAS step, {osp.relpath(args.config, ROOT)} at '
                f'R{args.depth}, {args.n_labeled}+{args.n_unlabeled}, crop '
                f'{args.crop}, student batch '
                f'{rows[0]["student_batch"] if rows else "?"}, {dev_name}, '
                f'torch {torch.__version__}' + overrides)
        table = format_table(rows, note)
    else:
        if args.crop is None:
            args.crop = config_crop(cfg, args.config)
        rows = [run_unimatch_v2_mode(m, args, device, cfg) for m in modes]
        backbone = cfg.model.segmentor.backbone
        arch = backbone.get('arch')
        arch = arch if isinstance(arch, str) else 'custom'
        note = (f'UniMatch V2 step, {osp.relpath(args.config, ROOT)} '
                f'(DINOv2ViT arch {arch}'
                f'{", frozen" if backbone.get("frozen") else ""}), '
                f'{args.n_labeled}+{args.n_unlabeled}, crop {args.crop}, '
                f'activation checkpointing {"on" if args.with_cp else "off"}, '
                f'{dev_name}, torch {torch.__version__}' + overrides)
        table = format_table(rows, note, UNIMATCH_V2_COLUMNS,
                             UNIMATCH_V2_LEGEND)
    print(table)
    if args.json:
        from mmsss.utils import atomic_write_text
        atomic_write_text(
            args.json,
            json.dumps(dict(method=method, note=note, rows=rows), indent=2))
    return rows


if __name__ == '__main__':
    main()
    sys.exit(0)
