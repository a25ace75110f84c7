# Copyright (c) mmsss contributors. Built on mmseg 1.2.2's MMSegInferencer.
"""Run a trained model on an image, a folder of images or a video.

    python tools/infer.py CONFIG CHECKPOINT INPUT --out-dir DIR
        [--opacity 0.5] [--device cpu|cuda:0] [--batch-size N]
        [--model teacher|student] [--show-progress | --no-progress]
        [--cfg-options KEY=VALUE ...]

INPUT is
- an image (``.jpg .jpeg .png .bmp .tif .tiff .webp``),
- a folder: every image under it, recursively, in sorted order (other
  files and names starting with ``.`` are skipped),
- a video (``.mp4 .avi .mov .mkv .webm .m4v .mpg .mpeg``), read frame by
  frame with ``cv2.VideoCapture``.

Written under DIR (``<rel>``: the image's path relative to the folder
without its extension; its name for a single image; ``<stem>``: the video's
name without extension):

- ``vis/<rel>.png``: the colour overlay, ``(1 - opacity) · image +
  opacity · palette[label]`` per pixel, rounded (mmseg's
  ``SegLocalVisualizer._draw_sem_seg`` blend without the class-name boxes);
- ``pred/<rel>.png``: the predicted label map, a single-channel uint8 PNG
  of class indices (0 .. num_classes - 1; 255 is never written) at the
  input's own size;
- video: ``vis/<stem>.mp4`` (the overlay frames, mp4v, the input's frame
  rate) and ``pred/<stem>/<frame index:06d>.png`` per frame.

The model, its test-time mode (mmseg's ``whole``/``slide`` or mmsss's
``slide_official``/``resize_multiple``) and the test pipeline
(``test_dataloader.dataset.pipeline`` less ``LoadAnnotations``) come from
CONFIG, through mmseg's ``MMSegInferencer`` (``mmseg/apis/
mmseg_inferencer.py``). Teacher-student models predict with the model named
by ``semi_test_cfg.predict_on``; ``--model`` overrides it. A plain config
(supervised, DARS, three-stage's stage-1 config) also takes a teacher-student
checkpoint: ``--model`` (default: the teacher, or the student of a
teacher-free method) picks which half's weights it loads. The palette is the
dataset's (``test_dataloader.dataset``: its ``metainfo`` or the class's
``METAINFO``), else the checkpoint's ``meta.dataset_meta``.

The checkpoint is loaded with ``torch.load(weights_only=True)`` and mmsss's
allow-list (``mmsss/utils/checkpoint.py``); every weight of the predicting
model must be in it with the same shape (errors name the missing ones).
"""
import argparse
import os
import os.path as osp
import sys
import warnings
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

try:
    import mmsss  # noqa: F401  registers modules + checkpoint safe globals
except ImportError:  # running from a checkout that is not pip-installed
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
    import mmsss  # noqa: F401

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff',
                    '.webp')
VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v', '.mpg',
                    '.mpeg')
MODEL_CHOICES = ('teacher', 'student')
VIS_DIR, PRED_DIR = 'vis', 'pred'


def parse_args(argv=None):
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(
        description='Predict label maps and colour overlays for an image, '
        'a folder of images or a video.')
    p.add_argument('config', help='mmsss/mmseg config file')
    p.add_argument('checkpoint', help='checkpoint (.pth) of that config')
    p.add_argument('input', help='an image, a folder of images (searched '
                   'recursively) or a video')
    p.add_argument('--out-dir', required=True,
                   help='writes vis/ (overlays) and pred/ (label PNGs)')
    p.add_argument('--opacity', type=float, default=0.5,
                   help='weight of the class colour in the overlay, in '
                   '[0, 1] (default 0.5)')
    p.add_argument('--device', default=None,
                   help="'cpu', 'cuda:0', ... (default: cuda:0 if "
                   'available, else cpu)')
    p.add_argument('--batch-size', type=int, default=1,
                   help='images (or frames) per forward pass')
    p.add_argument('--model', choices=MODEL_CHOICES, default=None,
                   help='teacher or student of a teacher-student model '
                   '(default: semi_test_cfg.predict_on)')
    p.add_argument('--show-progress', dest='show_progress',
                   action='store_true', default=True,
                   help='progress bar (default)')
    p.add_argument('--no-progress', dest='show_progress',
                   action='store_false', help='no progress bar')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config keys, as in tools/test.py')
    args = p.parse_args(argv)
    if not 0. <= args.opacity <= 1.:
        p.error(f'--opacity must be in [0, 1], got {args.opacity}')
    if args.batch_size < 1:
        p.error(f'--batch-size must be >= 1, got {args.batch_size}')
    return args


# ----------------------------------------------------------------------
# config and checkpoint
def is_semi_model(model_cfg) -> bool:
    """Whether ``model_cfg.type`` is a teacher-student segmentor."""
    from mmseg.registry import MODELS

    from mmsss.models.segmentors.semi_base import SemiBaseSegmentor
    cls = MODELS.get(model_cfg.get('type', ''))
    return isinstance(cls, type) and issubclass(cls, SemiBaseSegmentor)


def load_config(config: str, model_choice: Optional[str] = None,
                cfg_options: Optional[dict] = None):
    """CONFIG with ``--cfg-options`` and ``--model`` applied.

    Raises:
        FileNotFoundError: no such config.
        ValueError: ``--model teacher`` for a teacher-free method; no
            ``test_dataloader.dataset.pipeline``.
    """
    from mmengine.config import Config
    from mmseg.registry import MODELS
    if not osp.isfile(config):
        raise FileNotFoundError(f'config {config} not found')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if cfg.get('default_scope') is None:
        cfg.default_scope = 'mmseg'
    try:
        cfg.test_dataloader.dataset.pipeline
    except AttributeError:
        raise ValueError(f'{config} has no test_dataloader.dataset.pipeline '
                         '(tools/infer.py runs the test pipeline)') from None
    if cfg.get('visualizer') is not None:  # nothing is logged here
        cfg.visualizer.pop('vis_backends', None)
    if model_choice is not None and is_semi_model(cfg.model):
        cls = MODELS.get(cfg.model.type)
        if model_choice == 'teacher' and not cls.with_teacher:
            raise ValueError(
                f'--model teacher: {cfg.model.type} ({config}) is '
                'teacher-free; it predicts with its student')
        cfg.model.setdefault('semi_test_cfg', {})
        cfg.model.semi_test_cfg['predict_on'] = model_choice
    return cfg


def _prefixed(state: dict) -> set:
    return {k.split('.', 1)[0] for k in state} & set(MODEL_CHOICES)


def select_weights(model, state: dict, filename: str,
                   model_choice: Optional[str] = None):
    """``(module, weights)``: the module of ``model`` that predicts and its
    weights from the checkpoint's ``state``, without prefixes.

    A teacher-student model predicts with ``model._predict_model()``; its
    weights are ``<teacher|student>.*`` of a teacher-student checkpoint or
    the whole of a plain (converted, exported) one. A plain model takes a
    plain checkpoint as it is, or ``model_choice``'s half (default: the
    teacher if the checkpoint has one) of a teacher-student checkpoint.

    Raises:
        KeyError: the checkpoint has no weights of the chosen half.
    """
    from mmsss.models.segmentors.semi_base import SemiBaseSegmentor
    from mmsss.utils.export import default_export_model
    halves = _prefixed(state)
    if isinstance(model, SemiBaseSegmentor):
        module = model._predict_model()
        half = ('teacher' if module is getattr(model, 'teacher', None) else
                'student')
    else:
        module = model
        if not halves:
            if model_choice is not None:
                raise ValueError(
                    f'--model {model_choice}: the config\'s model '
                    f'{type(model).__name__} is not teacher-student and '
                    f'{filename} has no teacher./student. weights')
            return module, state
        half = model_choice or default_export_model(state)
    if not halves:  # plain checkpoint into a teacher-student model
        return module, state
    prefix = half + '.'
    own = {k[len(prefix):]: v for k, v in state.items()
           if k.startswith(prefix)}
    if not own:
        raise KeyError(
            f'{filename} has no {half} weights ({prefix}*); it has '
            f'{sorted(halves)}' + (' (use --model student)'
                                   if half == 'teacher' else ''))
    return module, own


def check_weights_fit(module, weights: dict, filename: str,
                      config: str) -> List[str]:
    """Raise unless every weight of ``module`` is in ``weights`` with the
    same shape; returns the names of ``weights`` that ``module`` lacks
    (ignored, e.g. ESL's projector).

    Raises:
        KeyError: weights missing (count and the first ten named).
        ValueError: shapes differ (the first five named).
    """
    own = module.state_dict()
    missing = [k for k in own if k not in weights]
    if missing:
        raise KeyError(
            f'{filename} does not fit {config}: {len(missing)} of the '
            f'{len(own)} weights of the predicting model are missing, e.g. '
            + ', '.join(missing[:10]))
    bad = [
        f'{k}: checkpoint {tuple(weights[k].shape)} vs model '
        f'{tuple(v.shape)}' for k, v in own.items()
        if tuple(weights[k].shape) != tuple(v.shape)
    ]
    if bad:
        raise ValueError(
            f'{filename} does not fit {config} (another num_classes or '
            'architecture?):\n  ' + '\n  '.join(bad[:5]))
    return [k for k in weights if k not in own]


def dataset_meta(cfg, checkpoint_meta: Optional[dict],
                 num_classes: Optional[int]) -> dict:
    """``{'classes', 'palette'}`` of the test dataset: the config's
    ``metainfo``, else the dataset class's ``METAINFO`` (of a wrapper's
    ``dataset`` if the wrapper has none), else the checkpoint's
    ``meta.dataset_meta``, else generated colours. The palette
    is extended with generated colours if it has fewer than
    ``num_classes`` entries."""
    from mmseg.registry import DATASETS
    ds = cfg.test_dataloader.dataset
    meta = {}
    while ds is not None and not meta.get('palette'):
        cls = ds.get('type')
        cls = DATASETS.get(cls) if isinstance(cls, str) else cls
        if cls is not None:
            meta.update({k: v for k, v in getattr(cls, 'METAINFO', {}).items()
                         if k in ('classes', 'palette') and v})
        meta.update({k: v for k, v in (ds.get('metainfo') or {}).items()
                     if k in ('classes', 'palette') and v})
        ds = ds.get('dataset')  # a wrapper (SemiSplitDataset, ...)
    if not meta.get('palette') and checkpoint_meta:
        saved = checkpoint_meta.get('dataset_meta') or {}
        meta.update({k: saved[k] for k in ('classes', 'palette')
                     if saved.get(k)})
    palette = [list(map(int, c)) for c in (meta.get('palette') or [])]
    n = max(num_classes or 0, len(meta.get('classes') or ()))
    if len(palette) < n:
        rng = np.random.RandomState(42)  # mmseg's random palette seed
        palette += rng.randint(0, 256, (n - len(palette), 3)).tolist()
    classes = list(meta.get('classes') or [str(i) for i in range(n)])
    return dict(classes=classes, palette=palette)


def _num_classes(module) -> Optional[int]:
    head = getattr(module, 'decode_head', None)
    return getattr(head, 'num_classes', None)


# ----------------------------------------------------------------------
def _inferencer_class():
    from mmseg.apis import MMSegInferencer

    class MMSSSInferencer(MMSegInferencer):
        """``MMSegInferencer`` whose checkpoint loading is mmsss's
        (weights-only, checked against the predicting model, teacher or
        student) and whose palette is the config's dataset's."""

        def __init__(self, cfg, weights: str, device: Optional[str] = None,
                     model_choice: Optional[str] = None,
                     config_name: str = 'the config') -> None:
            self._model_choice = model_choice
            self._config_name = config_name
            super().__init__(model=cfg, weights=weights, device=device)

        def _init_model(self, cfg, weights, device='cpu'):
            from mmseg.registry import MODELS

            from mmsss.utils.checkpoint import (checkpoint_state_dict,
                                                load_checkpoint_file)
            if cfg.model.get('pretrained') is not None:
                del cfg.model.pretrained
            model = MODELS.build(cfg.model)
            model.cfg = cfg
            ckpt = load_checkpoint_file(weights, map_location='cpu')
            state = checkpoint_state_dict(ckpt, weights)
            module, own = select_weights(model, state, weights,
                                         self._model_choice)
            extra = check_weights_fit(module, own, weights,
                                      self._config_name)
            if extra:
                warnings.warn(f'{weights}: {len(extra)} weights not used '
                              f'for prediction, e.g. {extra[:3]}')
            module.load_state_dict({k: v for k, v in own.items()
                                    if k not in extra}, strict=True)
            self.predicting = (type(model).__name__ if module is model else
                               f'{type(model).__name__}.' +
                               ('teacher' if module is getattr(
                                   model, 'teacher', None) else 'student'))
            model.dataset_meta = dataset_meta(
                cfg, ckpt.get('meta') if isinstance(ckpt, dict) else None,
                _num_classes(module))
            model.to(device)
            model.eval()
            return model

        def _init_collate(self, cfg):
            # mmseg's looks the name up in a 'function' registry mmseg lacks
            # (a warning per call); mmsss configs set no collate_fn here
            if cfg.test_dataloader.get('collate_fn') is None:
                from mmengine.dataset import pseudo_collate
                return pseudo_collate
            return super()._init_collate(cfg)

        def predict_labels(self, inputs: Sequence) -> List[np.ndarray]:
            """Label maps (H×W int64 arrays at each input's size) of
            ``inputs`` (paths or BGR arrays): one forward pass per size
            after the test pipeline (mmseg's test-time preprocessor only
            stacks equal sizes)."""
            samples = [self.pipeline(x) for x in inputs]
            groups = {}
            for i, s in enumerate(samples):
                groups.setdefault(tuple(s['inputs'].shape), []).append(i)
            labels = [None] * len(samples)
            for idx in groups.values():
                batch = self.collate_fn([samples[i] for i in idx])
                for i, p in zip(idx, self.forward(batch)):
                    labels[i] = p.pred_sem_seg.data[0].cpu().numpy()
            return labels

    return MMSSSInferencer


def build_inferencer(config: str, checkpoint: str,
                     device: Optional[str] = None,
                     model_choice: Optional[str] = None,
                     cfg_options: Optional[dict] = None):
    """The inferencer of CONFIG with CHECKPOINT's weights.

    Raises:
        FileNotFoundError: config or checkpoint missing.
    """
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint} not found')
    cfg = load_config(config, model_choice, cfg_options)
    if device is None:
        import torch
        device = 'cuda:0' if torch.cuda.is_available() else 'cpu'
    return _inferencer_class()(
        cfg, checkpoint, device=device, model_choice=model_choice,
        config_name=config)


# ----------------------------------------------------------------------
# outputs
def overlay(image_bgr: np.ndarray, label: np.ndarray, palette,
            opacity: float) -> np.ndarray:
    """``round((1 - opacity) · image + opacity · palette[label])`` (BGR
    image, RGB palette); pixels whose label has no colour are left as
    they are."""
    pal = np.asarray(palette, np.float64).reshape(-1, 3)[:, ::-1]  # BGR
    img = image_bgr.astype(np.float64)
    has_colour = (label >= 0) & (label < len(pal))
    colour = pal[np.where(has_colour, label, 0)]
    blended = (1. - opacity) * img + opacity * colour
    out = np.where(has_colour[..., None], blended, img)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def label_png(label: np.ndarray) -> np.ndarray:
    if label.size and (label.min() < 0 or label.max() > 254):
        raise ValueError(f'class indices {label.min()}..{label.max()} do '
                         'not fit a uint8 label PNG (0..254)')
    return label.astype(np.uint8)


def write_png(path: str, array: np.ndarray) -> None:
    """Write ``array`` to ``path`` via a temporary file and a rename."""
    import cv2

    from mmsss.utils.atomic import atomic_path
    with atomic_path(path, suffix='.png') as tmp:
        if not cv2.imwrite(tmp, array):
            raise OSError(f'could not write {path}')


def collect_images(folder: str) -> List[Tuple[str, str]]:
    """``(path, <rel>)`` of every image under ``folder``, recursively,
    sorted; ``<rel>`` is the relative path without extension.

    Raises:
        ValueError: no images, or two images share ``<rel>``.
    """
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith('.'))
        for name in sorted(files):
            if not name.startswith('.') and \
                    osp.splitext(name)[1].lower() in IMAGE_EXTENSIONS:
                path = osp.join(root, name)
                found.append((path, osp.splitext(osp.relpath(path,
                                                             folder))[0]))
    if not found:
        raise ValueError(f'no images ({" ".join(IMAGE_EXTENSIONS)}) under '
                         f'{folder}')
    seen = {}
    for path, rel in found:
        if rel in seen:
            raise ValueError(f'{seen[rel]} and {path} would both be written '
                             f'as {rel}.png; rename one')
        seen[rel] = path
    return found


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _progress(total: int, show: bool):
    if not show:
        return None
    from mmengine.utils import ProgressBar
    return ProgressBar(total, file=sys.stdout)


def infer_images(inferencer, items: Sequence[Tuple[str, str]], out_dir: str,
                 opacity: float, batch_size: int = 1,
                 show_progress: bool = True) -> int:
    """Write ``vis/<rel>.png`` and ``pred/<rel>.png`` for every
    ``(path, rel)``; returns the number of images."""
    import mmcv
    palette = inferencer.model.dataset_meta['palette']
    bar = _progress(len(items), show_progress)
    for chunk in _chunks(items, batch_size):
        labels = inferencer.predict_labels([p for p, _ in chunk])
        for (path, rel), label in zip(chunk, labels):
            image = mmcv.imread(path)  # BGR, as LoadImageFromFile reads it
            write_png(osp.join(out_dir, PRED_DIR, rel + '.png'),
                      label_png(label))
            write_png(osp.join(out_dir, VIS_DIR, rel + '.png'),
                      overlay(image, label, palette, opacity))
            if bar is not None:
                bar.update()
    if bar is not None:
        sys.stdout.write('\n')
    return len(items)


def _frames(capture) -> Iterator[np.ndarray]:
    while True:
        ok, frame = capture.read()
        if not ok:
            return
        yield frame


def infer_video(inferencer, video: str, out_dir: str, opacity: float,
                batch_size: int = 1, show_progress: bool = True) -> int:
    """Write ``vis/<stem>.mp4`` and ``pred/<stem>/<index:06d>.png``;
    returns the number of frames.

    Raises:
        ValueError: the video cannot be read or has no frames.
    """
    import cv2

    from mmsss.utils.atomic import atomic_path
    stem = osp.splitext(osp.basename(video))[0]
    capture = cv2.VideoCapture(video)
    if not capture.isOpened():
        raise ValueError(f'cv2.VideoCapture cannot open {video}')
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    palette = inferencer.model.dataset_meta['palette']
    out_video = osp.join(out_dir, VIS_DIR, stem + '.mp4')
    bar = _progress(max(total, 0), show_progress)
    index = 0
    writer = None
    try:
        with atomic_path(out_video, suffix='.mp4') as tmp:
            for chunk in _chunks(_frames(capture), batch_size):
                labels = inferencer.predict_labels(chunk)
                for frame, label in zip(chunk, labels):
                    if writer is None:
                        writer = cv2.VideoWriter(
                            tmp, cv2.VideoWriter_fourcc(*'mp4v'), fps,
                            (frame.shape[1], frame.shape[0]))
                        if not writer.isOpened():
                            raise OSError(f'cv2.VideoWriter cannot write '
                                          f'{out_video} (mp4v)')
                    write_png(osp.join(out_dir, PRED_DIR, stem,
                                       f'{index:06d}.png'),
                              label_png(label))
                    writer.write(overlay(frame, label, palette, opacity))
                    index += 1
                    if bar is not None:
                        bar.update()
            if writer is None:
                raise ValueError(f'{video} has no frames cv2 can read')
            writer.release()
    finally:
        if writer is not None:
            writer.release()
        capture.release()
    if bar is not None:
        sys.stdout.write('\n')
    return index


def run(args) -> int:
    """Infer ``args.input``; returns the number of images/frames."""
    src = args.input
    if not osp.exists(src):
        raise FileNotFoundError(f'input {src} not found')
    ext = osp.splitext(src)[1].lower()
    if osp.isdir(src):
        items = collect_images(src)
    elif ext in IMAGE_EXTENSIONS:
        items = [(src, osp.splitext(osp.basename(src))[0])]
    elif ext not in VIDEO_EXTENSIONS:
        raise ValueError(
            f'{src} is neither an image ({" ".join(IMAGE_EXTENSIONS)}), a '
            f'video ({" ".join(VIDEO_EXTENSIONS)}) nor a folder')
    inferencer = build_inferencer(args.config, args.checkpoint, args.device,
                                  args.model, args.cfg_options)
    print(f'[infer] predicting with {inferencer.predicting} on '
          f'{next(inferencer.model.parameters()).device}')
    if osp.isdir(src) or ext in IMAGE_EXTENSIONS:
        n = infer_images(inferencer, items, args.out_dir, args.opacity,
                         args.batch_size, args.show_progress)
        what = 'image' if n == 1 else 'images'
    else:
        n = infer_video(inferencer, src, args.out_dir, args.opacity,
                        args.batch_size, args.show_progress)
        what = 'frame' if n == 1 else 'frames'
    print(f'[infer] {n} {what}: overlays in '
          f'{osp.join(args.out_dir, VIS_DIR)}, label maps in '
          f'{osp.join(args.out_dir, PRED_DIR)}')
    return n


def main(argv=None) -> int:
    return run(parse_args(argv))


if __name__ == '__main__':
    main()
