"""Datasets read from public semi-supervised split files.

Split files follow the U2PL / iMAS / UniMatch format: one sample per line, a
VOC image id (``2007_000733``) or a Cityscapes image path relative to the data
root (``leftImg8bit/train/<city>/<name>_leftImg8bit.png``), optionally followed
by a second whitespace-separated column with the label path. Empty lines and
lines starting with ``#`` are skipped.

Every split is validated when the dataset loads (``full_init``): data root,
split file, empty split, missing image / label files and (for labeled sets)
label values, so a bad setup fails before training starts with an error that
names the offending file.
"""
import os
import os.path as osp
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmseg.datasets import BaseSegDataset, CityscapesDataset, PascalVOCDataset
from mmseg.registry import DATASETS
from PIL import Image

from .samplers.sample_seed import seeded_rng
from .synthetic import SYNTHETIC_CLASSES, SYNTHETIC_PALETTE

__all__ = [
    'SemiBaseSegDataset', 'SemiVOCDataset', 'SemiCityscapesDataset',
    'SemiSyntheticDataset', 'check_num_classes', 'read_split_file',
    'find_bad_label_values'
]

_MAX_REPORTED = 5

# (path, size, mtime_ns, num_allowed) -> tuple of bad values; avoids re-reading
# label maps when the same split is built again in one process.
_LABEL_CHECK_CACHE: Dict[tuple, Tuple[int, ...]] = {}
_CACHE_LOCK = threading.Lock()


def read_split_file(path: str) -> List[Tuple[int, List[str]]]:
    """Parse a split file.

    Args:
        path (str): Split file.

    Returns:
        list[tuple[int, list[str]]]: ``(line_number, columns)`` per sample,
        line numbers 1-based, 1 or 2 columns.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: a line has more than two columns.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'split file (ann_file) not found: {path}')
    entries = []
    with open(path, encoding='utf-8') as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith('#'):
                continue
            cols = line.split()
            if len(cols) > 2:
                raise ValueError(
                    f'{path}, line {lineno}: expected 1 or 2 whitespace-'
                    f'separated columns (image [label]), got {len(cols)}: '
                    f'{line!r}')
            entries.append((lineno, cols))
    return entries


def _label_values(path: str) -> np.ndarray:
    """Distinct values of a single-channel label map (palette PNGs give the
    class indices, as mmseg's pillow-backed LoadAnnotations reads them)."""
    with Image.open(path) as im:
        if im.mode not in ('L', 'P', 'I', 'I;16', 'I;16B', 'I;16L', '1'):
            raise ValueError(
                f'label map {path} has mode {im.mode!r}; expected a '
                f'single-channel map of class indices (L/P PNG)')
        arr = np.asarray(im)
    if arr.dtype == np.uint8:
        return np.flatnonzero(np.bincount(arr.ravel(), minlength=256))
    return np.unique(arr)


def find_bad_label_values(path: str, num_allowed: int,
                          ignore_index: int = 255) -> Tuple[int, ...]:
    """Values of the label map at ``path`` outside
    ``[0, num_allowed) U {ignore_index}`` (empty tuple if all valid)."""
    st = os.stat(path)
    key = (osp.abspath(path), st.st_size, st.st_mtime_ns, num_allowed,
           ignore_index)
    with _CACHE_LOCK:
        if key in _LABEL_CHECK_CACHE:
            return _LABEL_CHECK_CACHE[key]
    vals = _label_values(path)
    bad = tuple(
        int(v) for v in vals
        if not (0 <= v < num_allowed or v == ignore_index))
    with _CACHE_LOCK:
        _LABEL_CHECK_CACHE[key] = bad
    return bad


def check_num_classes(dataset_meta: Optional[dict], num_classes: int,
                      where: str = 'model') -> None:
    """Check that a model's ``num_classes`` matches the dataset classes.

    Args:
        dataset_meta (dict): Dataset metainfo with ``classes``.
        num_classes (int): The number of classes the model predicts.
        where (str): Which component / config key ``num_classes`` belongs to
            (used in the message, e.g. ``'model.decode_head'``).

    Raises:
        ValueError: the numbers disagree or the metainfo has no classes.
    """
    classes = (dataset_meta or {}).get('classes')
    if classes is None:
        raise ValueError(
            f'cannot check {where}.num_classes={num_classes}: the dataset '
            f'metainfo has no "classes"')
    if isinstance(num_classes, bool) or not isinstance(
            num_classes, (int, np.integer)):
        raise TypeError(f'{where}.num_classes must be an int, got '
                        f'{num_classes!r}')
    if int(num_classes) != len(classes):
        shown = ', '.join(map(str, list(classes)[:8]))
        more = ', ...' if len(classes) > 8 else ''
        raise ValueError(
            f'{where}.num_classes={num_classes} but the dataset has '
            f'{len(classes)} classes ({shown}{more}); set num_classes='
            f'{len(classes)} or fix the dataset metainfo')


def _report(items: Sequence[str]) -> str:
    lines = [f'  {s}' for s in items[:_MAX_REPORTED]]
    if len(items) > _MAX_REPORTED:
        lines.append(f'  and {len(items) - _MAX_REPORTED} more')
    return '\n'.join(lines)


class SemiBaseSegDataset(BaseSegDataset):
    """Base of segmentation datasets read from a semi-supervised split file.

    Subclasses implement :meth:`parse_line`, which maps one split line to
    ``(img_id, img_path, seg_map_path)``.

    Args:
        ann_file (str): Split file (``labeled.txt``, ``unlabeled.txt``,
            ``val.txt``...); a relative path is joined to ``data_root``.
        is_labeled (bool): Labeled set (labels required and validated) or
            unlabeled set (``seg_map_path`` is None). Defaults to True.
        keep_gt_for_analysis (bool): Unlabeled sets only: set
            ``seg_map_path`` to the label file when it exists (else None) so
            pseudo-label accuracy can be measured. Combining it with
            ``is_labeled=True`` raises an error (a config that forgot
            ``is_labeled=False`` on its unlabeled set). Defaults to False.
        check_label_values (bool): Labeled sets: read every label map once
            and reject values outside ``[0, num_classes) U {ignore_index}``.
            Defaults to True.
        label_check_workers (int): Threads reading label maps. Defaults to 4.
        **kwargs: :class:`mmseg.datasets.BaseSegDataset` arguments.

    Every data info holds ``img_path``, ``seg_map_path``, ``label_map``,
    ``reduce_zero_label``, ``seg_fields``, ``is_labeled`` and ``img_id`` (the
    first column of the split line, or the VOC id for a VOC path).
    """

    def __init__(self,
                 ann_file: str = '',
                 is_labeled: bool = True,
                 keep_gt_for_analysis: bool = False,
                 check_label_values: bool = True,
                 label_check_workers: int = 4,
                 **kwargs) -> None:
        if keep_gt_for_analysis and is_labeled:
            raise ValueError(
                f'{type(self).__name__}(ann_file={ann_file!r}): '
                'keep_gt_for_analysis=True only applies to unlabeled sets; '
                'set is_labeled=False on the unlabeled dataset (or drop '
                'keep_gt_for_analysis)')
        self.is_labeled = bool(is_labeled)
        self.keep_gt_for_analysis = bool(keep_gt_for_analysis)
        self.check_label_values = bool(check_label_values)
        self.label_check_workers = max(1, int(label_check_workers))
        super().__init__(ann_file=ann_file, **kwargs)

    def __getitem__(self, idx):
        """``BaseDataset.__getitem__``; a
        :class:`~mmsss.datasets.samplers.SampleKey` index (from
        ``MultiSourceSampler`` / ``SampleSeedSampler``) runs the pipeline
        with ``random``/``np.random``/torch seeded by its ``sample_seed``
        (and restored afterwards), so the draws do not depend on the
        worker."""
        seed = getattr(idx, 'sample_seed', None)
        if seed is None:
            return super().__getitem__(idx)
        with seeded_rng(seed):
            return super().__getitem__(int(idx))

    # ---------------------------------------------------------------- parsing
    def parse_line(self, cols: List[str]) -> Tuple[str, str, Optional[str]]:
        """Map the columns of one split line to
        ``(img_id, img_path, label_path)``; ``label_path`` is where the label
        should be (existence is checked by the caller)."""
        raise NotImplementedError

    @property
    def _set_name(self) -> str:
        return 'labeled' if self.is_labeled else 'unlabeled'

    def _num_raw_label_values(self) -> int:
        """Number of valid raw label values before label_map /
        reduce_zero_label are applied."""
        if self.label_map is not None:
            n = len(type(self).METAINFO['classes'])
        else:
            n = len(self._metainfo['classes'])
        return n + int(bool(self.reduce_zero_label))

    def _validate_paths(self) -> None:
        if self.data_root is not None and not osp.isdir(self.data_root):
            raise FileNotFoundError(
                f'data_root does not exist or is not a folder: '
                f'{self.data_root} (split file {self.ann_file})')
        if not self.ann_file:
            raise ValueError(
                f'{type(self).__name__} needs ann_file: the split file '
                f'listing the {self._set_name} samples')
        if osp.isdir(self.ann_file):
            raise ValueError(
                f'ann_file must be a split file, got a folder: '
                f'{self.ann_file}')

    def load_data_list(self) -> List[dict]:
        """Read and validate the split file; return the data infos."""
        self._validate_paths()
        entries = read_split_file(self.ann_file)
        if not entries:
            raise ValueError(f'{self._set_name} set is empty: {self.ann_file}')

        data_list, missing, to_check = [], [], []
        for lineno, cols in entries:
            try:
                img_id, img_path, seg_path = self.parse_line(cols)
            except ValueError as e:
                raise ValueError(
                    f'{self.ann_file}, line {lineno}: {e}') from None
            if not osp.isfile(img_path):
                missing.append(f'line {lineno}: image {img_path}')
            if self.is_labeled:
                if seg_path is None or not osp.isfile(seg_path):
                    missing.append(f'line {lineno}: label {seg_path}')
                else:
                    to_check.append((lineno, seg_path))
            elif self.keep_gt_for_analysis:
                seg_path = (
                    seg_path
                    if seg_path is not None and osp.isfile(seg_path) else None)
            else:
                seg_path = None
            data_list.append(
                dict(
                    img_path=img_path,
                    seg_map_path=seg_path,
                    label_map=self.label_map,
                    reduce_zero_label=self.reduce_zero_label,
                    seg_fields=[],
                    is_labeled=self.is_labeled,
                    img_id=img_id))
        if missing:
            raise FileNotFoundError(
                f'{len(missing)} file(s) listed in split file '
                f'{self.ann_file} do not exist (data_root={self.data_root}):\n'
                + _report(missing))
        if self.is_labeled and self.check_label_values:
            self._check_label_values(to_check)
        return data_list

    def _check_label_values(self, items: List[Tuple[int, str]]) -> None:
        num = self._num_raw_label_values()
        ign = self.ignore_index

        def check(item):
            lineno, path = item
            try:
                bad = find_bad_label_values(path, num, ign)
            except ValueError as e:
                return f'line {lineno}: {e}'
            except OSError as e:
                return f'line {lineno}: cannot read label map {path}: {e}'
            if bad:
                shown = list(bad[:10]) + (['...'] if len(bad) > 10 else [])
                return (f'line {lineno}: {path} has values '
                        f'{", ".join(map(str, shown))}')
            return None

        if len(items) > 8 and self.label_check_workers > 1:
            with ThreadPoolExecutor(self.label_check_workers) as ex:
                results = list(ex.map(check, items))
        else:
            results = [check(it) for it in items]
        errors = [r for r in results if r is not None]
        if errors:
            classes = self._metainfo.get('classes', ())
            raise ValueError(
                f'{len(errors)} label map(s) listed in split file '
                f'{self.ann_file} have values outside [0, {num}) U '
                f'{{{ign}}} ({len(classes)} classes'
                f'{", reduce_zero_label" if self.reduce_zero_label else ""})'
                f':\n' + _report(errors) + '\nFix the labels or the dataset '
                'classes, or pass check_label_values=False.')


@DATASETS.register_module()
class SemiVOCDataset(SemiBaseSegDataset):
    """PASCAL VOC read from a split file of image ids.

    Typical settings: ``data_prefix=dict(img_path='JPEGImages',
    seg_map_path='SegmentationClass')`` (classic 1,464) or
    ``seg_map_path='SegmentationClassAug'`` (blended 10,582).

    A line is an id (``2007_000733``: image ``<img_path>/<id>.jpg``, label
    ``<seg_map_path>/<id>.png``) or a path relative to ``data_root``
    (``JPEGImages/2007_000733.jpg``, img_id = the stem). An optional second
    column is the label path relative to ``data_root``.
    """
    METAINFO = dict(
        classes=tuple(PascalVOCDataset.METAINFO['classes']),
        palette=[list(c) for c in PascalVOCDataset.METAINFO['palette']])

    def __init__(self,
                 ann_file: str = '',
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 data_prefix: dict = dict(
                     img_path='JPEGImages', seg_map_path='SegmentationClass'),
                 **kwargs) -> None:
        super().__init__(
            ann_file=ann_file,
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            data_prefix=data_prefix,
            **kwargs)

    def _root_join(self, rel: str) -> str:
        return osp.join(self.data_root, rel) if self.data_root else rel

    def parse_line(self, cols):
        first = cols[0]
        img_dir = self.data_prefix.get('img_path', '') or ''
        seg_dir = self.data_prefix.get('seg_map_path', '') or ''
        if '/' in first or first.endswith(self.img_suffix):
            img_path = self._root_join(first)
            img_id = osp.basename(first)
            if img_id.endswith(self.img_suffix):
                img_id = img_id[:-len(self.img_suffix)]
        else:
            img_id = first
            img_path = osp.join(img_dir, first + self.img_suffix)
        if len(cols) > 1:
            seg_path = self._root_join(cols[1])
        else:
            seg_path = osp.join(seg_dir, img_id + self.seg_map_suffix)
        return img_id, img_path, seg_path


@DATASETS.register_module()
class SemiCityscapesDataset(SemiBaseSegDataset):
    """Cityscapes read from a split file of relative image paths.

    A line is ``leftImg8bit/train/<city>/<name>_leftImg8bit.png`` (relative to
    ``data_prefix['img_path']``, by default ``data_root``); the label is the
    optional second column (relative to ``data_prefix['seg_map_path']``, by
    default ``data_root``) or derived: path component ``leftImg8bit`` ->
    ``gtFine`` and suffix ``_leftImg8bit.png`` ->
    ``_gtFine_labelTrainIds.png``.
    ``img_id`` is the first column.
    """
    METAINFO = dict(
        classes=tuple(CityscapesDataset.METAINFO['classes']),
        palette=[list(c) for c in CityscapesDataset.METAINFO['palette']])

    def __init__(self,
                 ann_file: str = '',
                 img_suffix: str = '_leftImg8bit.png',
                 seg_map_suffix: str = '_gtFine_labelTrainIds.png',
                 data_prefix: dict = dict(img_path='', seg_map_path=''),
                 **kwargs) -> None:
        super().__init__(
            ann_file=ann_file,
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            data_prefix=data_prefix,
            **kwargs)

    def label_rel_path(self, img_rel: str) -> str:
        """Derive the label path (relative) from an image path (relative)."""
        if not img_rel.endswith(self.img_suffix):
            raise ValueError(
                f'image path {img_rel!r} does not end with '
                f'{self.img_suffix!r}; give the label as a second column')
        parts = img_rel[:-len(self.img_suffix)].split('/')
        parts = ['gtFine' if p == 'leftImg8bit' else p for p in parts]
        return '/'.join(parts) + self.seg_map_suffix

    def parse_line(self, cols):
        img_dir = self.data_prefix.get('img_path', '') or ''
        seg_dir = self.data_prefix.get('seg_map_path', '') or ''
        img_path = osp.join(img_dir, cols[0])
        if len(cols) > 1:
            seg_path = osp.join(seg_dir, cols[1])
        elif self.is_labeled or self.keep_gt_for_analysis:
            seg_path = osp.join(seg_dir, self.label_rel_path(cols[0]))
        else:
            seg_path = None
        return cols[0], img_path, seg_path


@DATASETS.register_module()
class SemiSyntheticDataset(SemiVOCDataset):
    """The synthetic shapes dataset (:func:`generate_synthetic_voc`) in VOC
    layout: same split-file format as :class:`SemiVOCDataset`, with the
    synthetic classes and palette."""
    METAINFO = dict(
        classes=tuple(SYNTHETIC_CLASSES),
        palette=[list(c) for c in SYNTHETIC_PALETTE])
