"""Any mmseg dataset, semi-supervised: a split file or an image folder.

:class:`SemiSplitDataset` takes the config of any registered mmseg dataset
(``ADE20KDataset``, ``COCOStuffDataset``, a user's ``BaseSegDataset``
subclass, or plain ``BaseSegDataset`` with ``metainfo``) and reads its
classes, palette, folders, suffixes, ``reduce_zero_label`` and
``ignore_index`` from it; the samples come from a split file (labeled or
unlabeled part) or, for the unlabeled part, from every image below a folder
(no mask needed: ``LoadUnlabeledAnnotations`` makes the placeholder map from
the image size). Validation stays on the wrapped type itself (a plain val
dataset config).

Everything is checked when the dataset loads, before training: split file,
missing images / labels, label values (:class:`SemiBaseSegDataset`), plus
empty or unreadable images and folders without images.
"""
import copy
import os
import os.path as osp
from concurrent.futures import ThreadPoolExecutor
from typing import List, Optional, Sequence, Tuple, Union

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS
from PIL import Image

from .semi_datasets import SemiBaseSegDataset, _report

__all__ = [
    'SemiSplitDataset', 'IMG_EXTENSIONS', 'list_image_files',
    'find_image_problem'
]

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def _has_image_ext(path: str) -> bool:
    return osp.splitext(path)[1].lower() in IMG_EXTENSIONS


def list_image_files(folder: str,
                     extensions: Sequence[str] = IMG_EXTENSIONS
                     ) -> List[str]:
    """Image files below ``folder`` (recursive, symlinks followed, hidden
    files and folders skipped), as sorted paths relative to ``folder``;
    extensions are matched case-insensitively.

    Raises:
        FileNotFoundError: ``folder`` is not a folder.
    """
    if not osp.isdir(folder):
        raise FileNotFoundError(
            f'image folder (img_dir) not found or not a folder: {folder}')
    exts = tuple(e.lower() for e in extensions)
    found = []
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith('.'))
        for name in files:
            if not name.startswith('.') and \
                    osp.splitext(name)[1].lower() in exts:
                found.append(
                    osp.relpath(osp.join(root, name), folder).replace(
                        os.sep, '/'))
    return sorted(found)


def find_image_problem(path: str) -> Optional[str]:
    """Why the image at ``path`` cannot be used (None if it can): missing,
    empty file, not decodable as an image (header only, PIL), or 0 pixels."""
    try:
        if os.stat(path).st_size == 0:
            return f'{path}: empty file (0 bytes)'
        with Image.open(path) as im:
            width, height = im.size
    except FileNotFoundError:
        return f'{path}: file not found'
    except (OSError, SyntaxError, ValueError) as e:
        # PIL.UnidentifiedImageError is an OSError
        return f'{path}: cannot read image ({e})'
    if width == 0 or height == 0:
        return f'{path}: empty image ({width}x{height} pixels)'
    return None


def _relative_to(path: str, folder: str) -> Optional[str]:
    """``path`` relative to ``folder`` ('/'-separated), None if outside."""
    p, f = osp.normpath(path), osp.normpath(folder or '.')
    if f == '.':
        return None if osp.isabs(p) or p.startswith('..') else p
    if p.startswith(f + os.sep):
        return p[len(f) + 1:].replace(os.sep, '/')
    return None


@DATASETS.register_module()
class SemiSplitDataset(SemiBaseSegDataset):
    """Labeled or unlabeled part of any mmseg dataset.

    Examples:
        >>> ade = dict(type='ADE20KDataset',
        ...            data_root='data/ade/ADEChallengeData2016',
        ...            data_prefix=dict(img_path='images/training',
        ...                             seg_map_path='annotations/training'))
        >>> labeled = dict(type='SemiSplitDataset', dataset=ade,
        ...                ann_file='splits/1_64/labeled.txt')
        >>> unlabeled = dict(type='SemiSplitDataset', dataset=ade,
        ...                  img_dir='images/unlabeled', is_labeled=False)

    Args:
        dataset (dict | BaseSegDataset): The wrapped dataset (config or
            instance). It is built with ``lazy_init=True`` (no file scan) and
            supplies ``metainfo`` (classes, palette, ``label_map``),
            ``data_root``, ``data_prefix``, ``img_suffix``,
            ``seg_map_suffix``, ``reduce_zero_label``, ``ignore_index`` and
            ``backend_args``; set those there, not here. Its own
            ``ann_file`` is not read.
        ann_file (str): Split file; a relative path is joined to the wrapped
            ``data_root``. A line is either an image path with an image
            extension, relative to ``data_root`` (UniMatch / U2PL style,
            e.g. ``images/training/x.jpg``), or an mmseg name without suffix
            relative to ``data_prefix['img_path']`` (``x`` ->
            ``<img_path>/x<img_suffix>``). The label is the optional second
            column (relative to ``data_root``), else derived as mmseg does:
            the image path relative to ``data_prefix['img_path']`` with
            ``img_suffix`` replaced by ``seg_map_suffix``, under
            ``data_prefix['seg_map_path']``. ``img_id``: that relative path
            without suffix (or the line's path without extension).
        img_dir (str, optional): Unlabeled sets only, instead of
            ``ann_file``: every image (:data:`IMG_EXTENSIONS`, any case)
            below this folder, recursively, in sorted order; relative to the
            wrapped ``data_root``. ``img_id``: the path relative to
            ``img_dir`` without extension.
        is_labeled (bool): See :class:`SemiBaseSegDataset`.
            Defaults to True.
        keep_gt_for_analysis (bool): See :class:`SemiBaseSegDataset`; needs
            ``ann_file``. Defaults to False.
        check_images (bool): Open every image's header once when loading
            and reject missing, empty (0 bytes or 0 pixels) and undecodable
            files, naming them. Defaults to True.
        pipeline (list, optional): Pipeline; None takes the wrapped config's
            ``pipeline``. Defaults to None.
        **kwargs: Other :class:`SemiBaseSegDataset` /
            :class:`~mmseg.datasets.BaseSegDataset` arguments
            (``check_label_values``, ``indices``, ``serialize_data``,
            ``lazy_init``...).
    """

    # taken from the wrapped dataset; passing them here is an error
    FROM_WRAPPED = ('metainfo', 'data_root', 'data_prefix', 'img_suffix',
                    'seg_map_suffix', 'reduce_zero_label', 'ignore_index',
                    'backend_args')

    def __init__(self,
                 dataset: Union[dict, BaseSegDataset],
                 ann_file: str = '',
                 img_dir: Optional[str] = None,
                 is_labeled: bool = True,
                 keep_gt_for_analysis: bool = False,
                 check_images: bool = True,
                 pipeline: Optional[list] = None,
                 lazy_init: bool = False,
                 **kwargs) -> None:
        given = [k for k in self.FROM_WRAPPED if k in kwargs]
        if given:
            raise ValueError(
                f'SemiSplitDataset: set {", ".join(given)} on the wrapped '
                f'dataset (the "dataset" argument), not on the wrapper')
        if bool(ann_file) == (img_dir is not None):
            raise ValueError(
                'SemiSplitDataset needs exactly one of ann_file (a split '
                f'file) and img_dir (an image folder), got ann_file='
                f'{ann_file!r}, img_dir={img_dir!r}')
        if img_dir is not None and is_labeled:
            raise ValueError(
                f'SemiSplitDataset(img_dir={img_dir!r}): an image folder can '
                'only be an unlabeled set (is_labeled=False); list labeled '
                'samples in a split file (tools/misc/make_splits.py)')
        if img_dir is not None and keep_gt_for_analysis:
            raise ValueError(
                f'SemiSplitDataset(img_dir={img_dir!r}): '
                'keep_gt_for_analysis needs a split file (ann_file) that '
                'pairs images with labels')
        wrapped, wrapped_pipeline = self._build_wrapped(dataset)
        if pipeline is None:
            pipeline = wrapped_pipeline
        elif wrapped_pipeline:
            raise ValueError(
                'SemiSplitDataset: pipeline given both on the wrapper and on '
                f'the wrapped {type(wrapped).__name__}; keep one')
        meta = dict(wrapped.metainfo)
        if meta.get('classes') is None:
            raise ValueError(
                f'the wrapped dataset {type(wrapped).__name__} has no '
                'classes: give it metainfo=dict(classes=(...), '
                'palette=[...])')
        data_root = wrapped.data_root
        self.wrapped_type = type(wrapped).__name__
        self.img_dir = None if img_dir is None else self._join(
            data_root, img_dir)
        self.check_images = bool(check_images)
        # raw label values before label_map: the wrapped class's classes
        wrapped_classes = type(wrapped).METAINFO.get('classes')
        self._num_source_classes = len(
            wrapped_classes if wrapped.label_map is not None
            and wrapped_classes is not None else meta['classes'])
        for key in ('label_map', 'reduce_zero_label'):
            meta.pop(key, None)
        super().__init__(
            ann_file=self._join(data_root, ann_file) if ann_file else '',
            is_labeled=is_labeled,
            keep_gt_for_analysis=keep_gt_for_analysis,
            metainfo=meta,
            data_root=None,  # the wrapped prefixes are already joined
            data_prefix=dict(wrapped.data_prefix),
            img_suffix=wrapped.img_suffix,
            seg_map_suffix=wrapped.seg_map_suffix,
            reduce_zero_label=wrapped.reduce_zero_label,
            ignore_index=wrapped.ignore_index,
            backend_args=wrapped.backend_args,
            pipeline=pipeline,
            lazy_init=True,
            **kwargs)
        self.data_root = data_root
        self.label_map = wrapped.label_map
        self._metainfo.update(label_map=self.label_map)
        if not lazy_init:
            self.full_init()

    @staticmethod
    def _join(root: Optional[str], path: str) -> str:
        return osp.join(root, path) if root and not osp.isabs(path) else path

    @staticmethod
    def _build_wrapped(dataset) -> Tuple[BaseSegDataset, list]:
        if isinstance(dataset, BaseSegDataset):
            return dataset, []
        if not isinstance(dataset, dict) or 'type' not in dataset:
            raise TypeError(
                'SemiSplitDataset(dataset=...) must be a dataset config with '
                'a "type" (e.g. dict(type="ADE20KDataset", data_root=...)) '
                f'or a BaseSegDataset, got {dataset!r}')
        cfg = copy.deepcopy(dict(dataset))
        pipeline = list(cfg.pop('pipeline', None) or [])
        cfg.update(lazy_init=True, pipeline=[])
        wrapped = DATASETS.build(cfg)
        if not isinstance(wrapped, BaseSegDataset):
            raise TypeError(
                f'SemiSplitDataset wraps segmentation datasets '
                f'(BaseSegDataset subclasses); {cfg["type"]} is a '
                f'{type(wrapped).__name__}')
        return wrapped, pipeline

    @property
    def _source(self) -> str:
        return (self.ann_file if self.img_dir is None else
                f'image folder {self.img_dir}')

    def _num_raw_label_values(self) -> int:
        return self._num_source_classes + int(bool(self.reduce_zero_label))

    # ---------------------------------------------------------------- parsing
    def parse_line(self, cols):
        img_dir = self.data_prefix.get('img_path', '') or ''
        seg_dir = self.data_prefix.get('seg_map_path', '') or ''
        first = cols[0]
        if _has_image_ext(first) or first.endswith(self.img_suffix):
            img_path = self._join(self.data_root, first)
            rel = _relative_to(img_path, img_dir)
        else:  # an mmseg name: relative to img_dir, without suffix
            img_path = osp.join(img_dir, first + self.img_suffix)
            rel = first + self.img_suffix
        stem_of = rel if rel is not None else first
        if stem_of.endswith(self.img_suffix):
            img_id = stem_of[:-len(self.img_suffix)]
        else:
            img_id = osp.splitext(stem_of)[0]
        if len(cols) > 1:
            seg_path = self._join(self.data_root, cols[1])
        elif rel is not None and rel.endswith(self.img_suffix):
            seg_path = osp.join(
                seg_dir, rel[:-len(self.img_suffix)] + self.seg_map_suffix)
        elif self.is_labeled or self.keep_gt_for_analysis:
            raise ValueError(
                f'cannot derive the label of {first!r}: it is not below the '
                f'image folder {img_dir!r} with suffix {self.img_suffix!r}; '
                'give the label path as a second column')
        else:
            seg_path = None
        return img_id, img_path, seg_path

    def load_data_list(self) -> List[dict]:
        """The split file's samples (see :class:`SemiBaseSegDataset`) or
        every image below ``img_dir``; then the image check."""
        if self.img_dir is None:
            data_list = super().load_data_list()
        else:
            data_list = self._load_folder()
        if self.check_images:
            self._check_images([d['img_path'] for d in data_list])
        return data_list

    def _load_folder(self) -> List[dict]:
        names = list_image_files(self.img_dir)
        if not names:
            raise ValueError(
                f'unlabeled image folder {self.img_dir} has no images '
                f'(searched recursively for {", ".join(IMG_EXTENSIONS)})')
        return [
            dict(
                img_path=osp.join(self.img_dir, name),
                seg_map_path=None,
                label_map=self.label_map,
                reduce_zero_label=self.reduce_zero_label,
                seg_fields=[],
                is_labeled=False,
                img_id=osp.splitext(name)[0]) for name in names
        ]

    def _check_images(self, paths: List[str]) -> None:
        if len(paths) > 8 and self.label_check_workers > 1:
            with ThreadPoolExecutor(self.label_check_workers) as ex:
                problems = list(ex.map(find_image_problem, paths))
        else:
            problems = [find_image_problem(p) for p in paths]
        problems = [p for p in problems if p is not None]
        if problems:
            raise ValueError(
                f'{len(problems)} image(s) of the {self._set_name} set '
                f'({self._source}) cannot be used:\n' + _report(problems) +
                '\nFix or remove them, or pass check_images=False.')
