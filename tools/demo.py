"""Main job on the embedded default: semi-supervised training on the
synthetic shapes dataset, on CPU, in a few minutes.

1. generates the synthetic VOC-layout dataset if it is missing,
2. trains the mean-teacher baseline (ResNet-18 DeepLabV3+, 1/16 labels),
3. evaluates teacher and student, prints the teacher's mIoU,
4. writes a PNG of [image | ground truth | teacher prediction] rows,
5. writes the pseudo-label pictures of the last drawing step of
   ``PseudoLabelVisHook`` (weak view | student input | pseudo-label |
   confidence | student prediction | ground truth, one row per image) as
   ``pseudo_labels.png`` next to it, and the training curves
   (``tools/analysis/plot_training_curves.py``) as ``training_curves.png``.

    python tools/demo.py [--config CONFIG] [--work-dir DIR] [--iters N]
"""
import argparse
import os
import os.path as osp
import sys
import time

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        '--config', default='configs/mean_teacher/synthetic_1-16.py')
    p.add_argument('--work-dir', default='work_dirs/demo')
    p.add_argument('--data-root', default='data/synthetic_voc')
    p.add_argument(
        '--iters', type=int, default=None, help='override max_iters')
    p.add_argument('--num-vis', type=int, default=6)
    return p.parse_args()


def colorize(label: np.ndarray, palette) -> np.ndarray:
    pal = np.zeros((256, 3), np.uint8)
    pal[:len(palette)] = np.asarray(palette, np.uint8)
    pal[255] = (255, 255, 255)
    return pal[label]


def save_prediction_grid(model, dataset, out_file, num, palette):
    """Rows of [RGB image | ground truth | prediction] for the first ``num``
    samples of ``dataset`` (its test pipeline), written as one PNG."""
    import mmcv
    import torch
    from mmengine.dataset import pseudo_collate

    rows = []
    model.eval()
    for idx in range(min(num, len(dataset))):
        data = pseudo_collate([dataset[idx]])
        with torch.no_grad():
            pred = model.test_step(data)[0]
        img = mmcv.imread(pred.img_path)[..., ::-1]
        gt = pred.gt_sem_seg.data[0].cpu().numpy().astype(np.uint8)
        seg = pred.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)
        sep = np.full((img.shape[0], 4, 3), 255, np.uint8)
        rows.append(
            np.concatenate(
                [img, sep, colorize(gt, palette), sep,
                 colorize(seg, palette)], axis=1))
    grid = np.concatenate(
        [np.pad(r, ((0, 4), (0, 0), (0, 0)), constant_values=255)
         for r in rows])
    mmcv.imwrite(grid[..., ::-1], out_file)


def ensure_vis_hook(cfg) -> None:
    """Add a PseudoLabelVisHook when the config has none, and make it draw
    at least once (on the last iteration) in a short run."""
    hooks = cfg.get('custom_hooks') or []
    vis = [h for h in hooks if h.get('type') == 'PseudoLabelVisHook']
    max_iters = int(cfg.train_cfg.get('max_iters') or 0)
    if not vis:
        hooks.append(
            dict(type='PseudoLabelVisHook',
                 interval=max(1, max_iters // 6) if max_iters else 250))
        cfg.custom_hooks = hooks
        vis = hooks[-1:]
    if max_iters and vis[0].get('interval', 50) > max_iters:
        vis[0]['interval'] = max_iters


def save_pseudo_label_pictures(runner, out_file):
    """Stack the grids of the hook's last drawing step into ``out_file``;
    returns (out_file or None, folder of all the pictures)."""
    import mmcv
    hooks = [h for h in runner.hooks if type(h).__name__ ==
             'PseudoLabelVisHook']
    folder = osp.join(runner.log_dir, 'vis_data', 'vis_image')
    if not hooks or not hooks[0].written:
        return None, folder
    names = hooks[0].written
    last_step = names[-1].rsplit('_', 1)[1]
    grids = [
        mmcv.imread(osp.join(folder, f'{n}.png')) for n in names
        if n.rsplit('_', 1)[1] == last_step and '_round' not in n
    ]
    if not grids:
        return None, folder
    width = max(g.shape[1] for g in grids)
    rows = [
        np.pad(g, ((0, 4), (0, width - g.shape[1]), (0, 0)),
               constant_values=255) for g in grids
    ]
    mmcv.imwrite(np.concatenate(rows), out_file)
    return out_file, folder


def main():
    args = parse_args()
    from mmengine.config import Config
    from mmengine.runner import Runner

    import mmsss  # noqa: F401  registers everything
    from mmsss.datasets.synthetic import generate_synthetic_voc
    from mmsss.utils import unwrap_model

    t0 = time.time()
    info = generate_synthetic_voc(args.data_root, overwrite=True)
    print(f'[demo] synthetic dataset ready at {args.data_root} '
          f'({info.get("num_train", "?")} train / '
          f'{info.get("num_val", "?")} val)')

    cfg = Config.fromfile(args.config)
    cfg.work_dir = args.work_dir
    cfg.launcher = 'none'
    if args.iters is not None:
        cfg.train_cfg.max_iters = args.iters
        cfg.train_cfg.val_interval = args.iters
        cfg.default_hooks.checkpoint.interval = args.iters
    ensure_vis_hook(cfg)
    runner = Runner.from_cfg(cfg)
    runner.train()
    scalars = runner.message_hub.log_scalars
    teacher = scalars.get('val/teacher/mIoU')
    student = scalars.get('val/student/mIoU')
    t_miou = teacher.current() if teacher is not None else float('nan')
    s_miou = student.current() if student is not None else float('nan')

    model = unwrap_model(runner.model)
    out_png = osp.join(args.work_dir, 'predictions.png')
    save_prediction_grid(model, runner.val_dataloader.dataset, out_png,
                         args.num_vis,
                         runner.val_dataloader.dataset.metainfo['palette'])
    pl_png, pl_dir = save_pseudo_label_pictures(
        runner, osp.join(args.work_dir, 'pseudo_labels.png'))
    curves_png = osp.join(args.work_dir, 'training_curves.png')
    try:
        import importlib.util
        spec = importlib.util.spec_from_file_location(
            'plot_training_curves',
            osp.join(osp.dirname(osp.abspath(__file__)), 'analysis',
                     'plot_training_curves.py'))
        curves = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(curves)
        curves.plot(
            curves.read_series(curves.scalar_files(args.work_dir)),
            curves_png)
    except Exception as e:  # the demo's result does not depend on it
        print(f'[demo] no training curves: {e}')
        curves_png = None
    print(f'[demo] teacher mIoU: {t_miou:.2f}   student mIoU: {s_miou:.2f}')
    print(f'[demo] predictions: {out_png}')
    if pl_png:
        print(f'[demo] pseudo-labels (weak view | student input | '
              f'pseudo-label | confidence | student prediction | ground '
              f'truth) at the last drawn iteration: {pl_png}; every drawn '
              f'iteration: {pl_dir}')
    if curves_png:
        print(f'[demo] training curves: {curves_png}')
    print(f'[demo] {time.time() - t0:.0f} s in total')


if __name__ == '__main__':
    os.environ.setdefault('OMP_NUM_THREADS', str(os.cpu_count() or 1))
    main()
