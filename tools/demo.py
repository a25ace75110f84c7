"""Main job on the embedded default: semi-supervised training on the
synthetic shapes dataset, on CPU, in a few minutes.

1. generates the synthetic VOC-layout dataset if it is missing,
2. trains the mean-teacher baseline (ResNet-18 DeepLabV3+, 1/16 labels),
3. evaluates teacher and student, prints the teacher's mIoU,
4. writes a PNG of [image | ground truth | teacher prediction] rows.

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


def main():
    args = parse_args()
    from mmengine.config import Config
    from mmengine.runner import Runner

    import mmsss  # noqa: F401  registers everything
    from mmsss.datasets.synthetic import generate_synthetic_voc

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
    runner = Runner.from_cfg(cfg)
    runner.train()
    scalars = runner.message_hub.log_scalars
    teacher = scalars.get('val/teacher/mIoU')
    student = scalars.get('val/student/mIoU')
    t_miou = teacher.current() if teacher is not None else float('nan')
    s_miou = student.current() if student is not None else float('nan')

    model = runner.model.module if hasattr(runner.model,
                                           'module') else runner.model
    out_png = osp.join(args.work_dir, 'predictions.png')
    save_prediction_grid(model, runner.val_dataloader.dataset, out_png,
                         args.num_vis,
                         runner.val_dataloader.dataset.metainfo['palette'])
    print(f'[demo] teacher mIoU: {t_miou:.2f}   student mIoU: {s_miou:.2f}')
    print(f'[demo] predictions: {out_png}   '
          f'({time.time() - t0:.0f} s in total)')


if __name__ == '__main__':
    os.environ.setdefault('OMP_NUM_THREADS', str(os.cpu_count() or 1))
    main()
